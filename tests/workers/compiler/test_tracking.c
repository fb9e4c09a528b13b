/* Tests for workers/compiler/tracking.c: MindAR's tracking template extraction. */
#include <math.h>
#include <stdint.h>

#include "../../test.h"
#include "arcd/image.h"
#include "compiler_internal.h"

TEST(test_flat_image_has_no_points)
{
    uint8_t *img = malloc(256 * 300);
    arc_mind_tpoint_t *pts = NULL;
    size_t n = 99;

    memset(img, 90, 256 * 300);
    arc__tracking_extract(img, 256, 300, &pts, &n);
    CHECK_EQ_INT(n, 0);
    free(pts);
    free(img);
}

TEST(test_points_respect_occupancy)
{
    /* On a textured image, no two points are within the occupancy square
     * (min side / 10) of each other, and none sits on the template border. */
    arc_image_t im;
    arc_err_t err;
    arc_mind_tpoint_t *pts = NULL;
    size_t n = 0;

    CHECK(arc_image_load_grey(test_path("card.pgm"), 0, &im, &err) == 0);
    int w, h;
    arc__resize_dims(im.width, im.height, 256.0 / 372, &w, &h);
    uint8_t *t = malloc((size_t)w * h);
    arc__resize(im.data, im.width, im.height, 256.0 / 372, t, w, h);
    arc__tracking_extract(t, w, h, &pts, &n);
    CHECK(n > 10);
    int occ = (w < h ? w : h) / 10;
    for (size_t i = 0; i < n; i++) {
        CHECK(pts[i].x >= 6 && pts[i].y >= 6 && pts[i].x < w - 6 && pts[i].y < h - 6);
        for (size_t j = 0; j < i; j++)
            CHECK(fabs(pts[i].x - pts[j].x) > occ || fabs(pts[i].y - pts[j].y) > occ);
    }
    free(pts);
    free(t);
    arc_image_dispose(&im);
}
