/* Tests for workers/compiler/image_list.c: MindAR's scale lists and resize(). */
#include <math.h>
#include <stdint.h>

#include "../../test.h"
#include "arcd/mind.h"
#include "compiler_internal.h"

TEST(test_scales_card_match_reference_file)
{
    /* The reference file holds the doubles MindAR computed for 674x372; the
     * fifth one shows the repeated multiplication (a closed form differs). */
    arc_mind_t *m = NULL;
    arc_err_t err;
    double s[ARC_MAX_SCALES];
    size_t n = arc__matching_scales(674, 372, s, ARC_MAX_SCALES);

    CHECK(arc_mind_load(test_path("card.ref.mind"), &m, &err) == 0);
    if (m == NULL)
        return;
    CHECK_EQ_INT(n, m->targets[0].n_keyframes);
    for (size_t i = 0; i < n && i < m->targets[0].n_keyframes; i++)
        CHECK_MSG(s[i] == m->targets[0].keyframes[i].scale, "scale %zu: %.17g vs %.17g", i, s[i],
                  m->targets[0].keyframes[i].scale);
    /* The list is [1, c5, c4, ..., c0]; s[4] is c2 = min * step * step, and
     * the closed form min * 2^(2/3) is one ulp off. */
    CHECK_EQ_INT(n, 7);
    double closed = 100.0 / 372 * pow(2.0, 2.0 / 3.0);
    CHECK(s[4] != closed);
    arc_mind_free(m);
}

TEST(test_scales_edge_cases)
{
    double s[ARC_MAX_SCALES];

    /* A short side of 100 gives two identical keyframes. */
    CHECK_EQ_INT(arc__matching_scales(100, 300, s, ARC_MAX_SCALES), 2);
    CHECK(s[0] == 1.0 && s[1] == 1.0);
    /* Below 100 the smallest "scale" is an upscale. */
    size_t n = arc__matching_scales(10, 10, s, ARC_MAX_SCALES);
    CHECK_EQ_INT(n, 2);
    CHECK(s[0] == 1.0 && s[1] == 10.0);
    CHECK(pow(2.0, 1.0 / 3.0) == 0x1.428a2f98d728bp+0);
    arc__tracking_scales(674, 372, s);
    CHECK(s[0] == 256.0 / 372 && s[1] == 128.0 / 372);
}

TEST(test_resize_upscale_leaves_black_lines)
{
    /* Upscaling leaves empty windows, NaN in JS, stored as 0: 200x150 to
     * 341x256 leaves 57,296 of 87,296 pixels at 0. */
    uint8_t *src = malloc(200 * 150), *dst = malloc(341 * 256);
    int w, h;
    size_t zeros = 0;

    memset(src, 200, 200 * 150);
    arc__resize_dims(200, 150, 256.0 / 150, &w, &h);
    CHECK_EQ_INT(w, 341);
    CHECK_EQ_INT(h, 256);
    arc__resize(src, 200, 150, 256.0 / 150, dst, w, h);
    for (int i = 0; i < w * h; i++)
        zeros += dst[i] == 0;
    CHECK_EQ_INT(zeros, 57296);
    free(src);
    free(dst);
}

TEST(test_resize_floors_the_mean)
{
    /* A 2x2 window of 1, 2, 2, 2 averages 1.75: MindAR stores floor(), 1. */
    uint8_t src[16] = {1, 2, 9, 9, 2, 2, 9, 9, 0, 0, 255, 255, 0, 0, 255, 254};
    uint8_t dst[4];

    arc__resize(src, 4, 4, 0.5, dst, 2, 2);
    CHECK_EQ_INT(dst[0], 1);
    CHECK_EQ_INT(dst[1], 9);
    CHECK_EQ_INT(dst[2], 0);
    CHECK_EQ_INT(dst[3], 254);
}
