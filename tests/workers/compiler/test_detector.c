/* Tests for the detector stages: pyramid.c, orientation.c, freak.c. */
#include <math.h>
#include <stdint.h>

#include "../../test.h"
#include "compiler_internal.h"

TEST(test_octave_count)
{
    CHECK_EQ_INT(arc__num_octaves(100, 100), 4); /* 100, 50, 25, 12.5 */
    CHECK_EQ_INT(arc__num_octaves(128, 128), 5);
    CHECK_EQ_INT(arc__num_octaves(1654, 1654), 5);
    CHECK_EQ_INT(arc__num_octaves(15, 200), 1); /* 15 -> 7.5: halving is real */
    CHECK_EQ_INT(arc__num_octaves(7, 200), 0);
}

TEST(test_binomial_constant_and_unnormalised_first_pass)
{
    uint8_t img[7 * 6];
    float out[7 * 6];

    memset(img, 77, sizeof(img));
    arc__binomial_u8(img, 7, 6, out);
    for (int i = 0; i < 42; i++)
        CHECK(out[i] == 77.0f);
    /* An impulse spreads as the outer product of [1 4 6 4 1] / 256. */
    memset(img, 0, sizeof(img));
    img[3 * 7 + 3] = 255;
    arc__binomial_u8(img, 7, 6, out);
    CHECK(out[3 * 7 + 3] == (float)(255.0 * 36 / 256));
    CHECK(out[1 * 7 + 2] == (float)(255.0 * 4 / 256));
}

TEST(test_downsample_accumulates_in_float)
{
    /* 16777216 + 1 + 1 + 1 in float32 stays 16777216 after each step when
     * the quarters are added one by one; a double sum would differ. */
    float in[4] = {67108864.0f, 4.0f, 4.0f, 4.0f}; /* rows: (0,0) (0,1) / (1,0) (1,1) */
    float out[1];

    arc__downsample(in, 2, 2, out);
    CHECK(out[0] == 16777216.0f);
    CHECK((float)((67108864.0 + 12.0) * 0.25) != out[0]);
}

TEST(test_upsample_weights)
{
    float in[4] = {0, 16, 32, 48}; /* 2x2 */

    /* Pixel (1,1): rows 0 (0.75) and 1 (0.25), columns 0 (0.75) and 1 (0.25). */
    CHECK(arc__upsample_at(in, 2, 2, 1, 1) ==
          (float)(0.5625 * 0 + 0.1875 * 32 + 0.1875 * 16 + 0.0625 * 48));
    /* Corner (0,0) reads row/column -1, clamped to 0: 0.25 * 0.25 of nothing. */
    CHECK(arc__upsample_at(in, 2, 2, 0, 0) == 0.0f);
    /* Pixel (2,3): rows 0 (0.25) and 1 (0.75); columns 1 (0.75) and 2, clamped to 1. */
    CHECK(arc__upsample_at(in, 2, 2, 2, 3) ==
          (float)(0.1875 * 16 + 0.5625 * 48 + 0.0625 * 16 + 0.1875 * 48));
}

TEST(test_radial_table)
{
    arc__radial_t t[128];
    size_t n = arc__radial_table(t, 128);

    CHECK_EQ_INT(n, 69);
    CHECK(t[0].y == -4 && t[0].x == -2); /* y outer, x inner, from -5 */
    /* The centre's weight: 720 * 0.0013888888, rounded to float32. */
    for (size_t i = 0; i < n; i++)
        if (t[i].x == 0 && t[i].y == 0)
            CHECK(t[i].w == (float)(720 * 0.0013888888));
}

TEST(test_freak_descriptor_packing)
{
    float v[37];
    uint32_t d[21];

    /* Increasing values: every pair (a < b) compares v_a < v_b + 0.01, so
     * all 666 bits are set and the last word's low 6 bits stay clear. */
    for (int i = 0; i < 37; i++)
        v[i] = (float)i;
    arc__freak_descriptor(v, d);
    for (int k = 0; k < 20; k++)
        CHECK(d[k] == 0xffffffffu);
    CHECK(d[20] == 0xffffffc0u);
    /* Decreasing by 1: no bit. Equal values: every bit (0.01 slack). */
    for (int i = 0; i < 37; i++)
        v[i] = (float)(37 - i);
    arc__freak_descriptor(v, d);
    for (int k = 0; k < 21; k++)
        CHECK(d[k] == 0);
    /* Only pair (0, 1) differs: comparison 0 is the top bit of word 0. */
    for (int i = 0; i < 37; i++)
        v[i] = 5.0f;
    v[0] = 6.0f;
    arc__freak_descriptor(v, d);
    /* Comparisons 0-35 are (0, b): 6 < 5.01 is false; the rest are set. */
    CHECK(d[0] == 0);
    CHECK(d[1] == 0x0fffffffu);
}

TEST(test_freak_threshold_is_double)
{
    float v[37];
    uint32_t d[21];

    /* va < vb + 0.01 with the sum in double: 1.01f (1.00999999...) is below
     * 1.0 + 0.01 in double, but equal to 1.0f + 0.01f in float. */
    for (int i = 0; i < 37; i++)
        v[i] = 100.0f;
    v[0] = 1.01f;
    v[1] = 1.0f;
    arc__freak_descriptor(v, d);
    volatile float one = 1.0f, hundredth = 0.01f;
    CHECK((double)1.01f < 1.0 + 0.01);
    CHECK(!(1.01f < one + hundredth));
    CHECK((d[0] >> 31) == 1);
}
