/*
 * The compiler's image lists: mind-ar image-list.js (buildImageList,
 * buildTrackingImageList) and utils/images.js resize().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/error.h"
#include "compiler_internal.h"

#define MIN_IMAGE_PIXEL_SIZE 100

size_t arc__matching_scales(int width, int height, double *scales, size_t cap)
{
    int min_side = width < height ? width : height;
    double min_scale = (double)MIN_IMAGE_PIXEL_SIZE / (double)min_side;
    /* pow(2, 1/3) is 0x3FF428A2F98D728B in glibc and V8 alike. */
    double step = pow(2.0, 1.0 / 3.0);
    double tmp[ARC_MAX_SCALES];
    size_t n = 0;
    double c = min_scale;

    /* Repeated multiplication, not min_scale * step^i: the file stores these
     * doubles and they drive resize(). */
    for (;;) {
        tmp[n++] = c;
        c *= step;
        if (c >= 0.95) {
            c = 1;
            break;
        }
        if (n + 1 >= ARC_MAX_SCALES)
            abort(); /* min_scale >= 100 / 1e6: cannot take 60 steps */
    }
    tmp[n++] = c;
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        scales[i] = tmp[n - 1 - i];
    return n;
}

void arc__tracking_scales(int width, int height, double scales[2])
{
    int min_side = width < height ? width : height;

    scales[0] = 256.0 / (double)min_side;
    scales[1] = 128.0 / (double)min_side;
}

void arc__resize_dims(int width, int height, double ratio, int *out_w, int *out_h)
{
    *out_w = (int)round((double)width * ratio);
    *out_h = (int)round((double)height * ratio);
}

/* The source window [lo, hi] of output index i; hi < lo when it is empty.
 * Only the upper bound is clamped, as in resize(). */
static void window(int i, double ratio, int size, int *lo, int *hi)
{
    *lo = (int)round((double)i / ratio);
    *hi = (int)round((double)(i + 1) / ratio) - 1;
    if (*hi >= size)
        *hi = size - 1;
}

uint32_t *arc__integral(const uint8_t *src, int width, int height)
{
    size_t s = (size_t)width + 1;
    uint32_t *t = arc_xcalloc(s * ((size_t)height + 1), sizeof(uint32_t));

    /* Sums wrap modulo 2^32 on images over 16.8 megapixels; a window's sum
     * (at most 255 x its pixels) is still exact as a difference. */
    for (int y = 0; y < height; y++) {
        const uint8_t *row = src + (size_t)y * (size_t)width;
        const uint32_t *up = t + (size_t)y * s;
        uint32_t *cur = t + (size_t)(y + 1) * s;
        uint32_t run = 0;
        for (int x = 0; x < width; x++) {
            run += row[x];
            cur[x + 1] = up[x + 1] + run;
        }
    }
    return t;
}

void arc__resize_integral(const uint8_t *src, const uint32_t *integral, int width, int height,
                          double ratio, uint8_t *dst, int out_w, int out_h)
{
    size_t s = (size_t)width + 1;
    int *col_lo = NULL, *col_hi = NULL;

    if (out_w == width && out_h == height && ratio == 1.0) {
        /* Every window is one pixel: resize() is a copy. */
        memcpy(dst, src, (size_t)width * (size_t)height);
        return;
    }
    col_lo = arc_xmallocarray((size_t)out_w, sizeof(int));
    col_hi = arc_xmallocarray((size_t)out_w, sizeof(int));
    for (int i = 0; i < out_w; i++)
        window(i, ratio, width, &col_lo[i], &col_hi[i]);
    for (int j = 0; j < out_h; j++) {
        int r0, r1;
        window(j, ratio, height, &r0, &r1);
        uint8_t *drow = dst + (size_t)j * (size_t)out_w;
        if (r1 < r0) {
            memset(drow, 0, (size_t)out_w);
            continue;
        }
        const uint32_t *top = integral + (size_t)r0 * s;
        const uint32_t *bot = integral + (size_t)(r1 + 1) * s;
        double rows = r1 - r0 + 1;
        for (int i = 0; i < out_w; i++) {
            int c0 = col_lo[i], c1 = col_hi[i];
            if (c1 < c0) {
                drow[i] = 0; /* 0 / 0 is NaN, stored in a Uint8Array as 0 */
                continue;
            }
            uint32_t sum = bot[c1 + 1] - top[c1 + 1] - bot[c0] + top[c0];
            /* floor(sum / count) of integers below 2^32: the double quotient
             * is exact for integer results and stays more than 2^-32 away
             * from the next integer otherwise, so floor() of it is exact. */
            drow[i] = (uint8_t)((double)sum / (rows * (double)(c1 - c0 + 1)));
        }
    }
    free(col_lo);
    free(col_hi);
}

void arc__resize(const uint8_t *src, int width, int height, double ratio, uint8_t *dst, int out_w,
                 int out_h)
{
    uint32_t *integral = arc__integral(src, width, height);

    arc__resize_integral(src, integral, width, height, ratio, dst, out_w, out_h);
    free(integral);
}
