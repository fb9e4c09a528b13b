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

/* One output row: window sums from two rows of the summed-area table. An
 * empty window has lo == hi == 0 and count 1, so its sum, and pixel, is 0
 * (0 / 0 is NaN in JS, stored in a Uint8Array as 0). The quotient of two
 * integers below 2^32 is exact in double when it is an integer and more than
 * 2^-32 away from one otherwise, so truncating it is MindAR's floor(). */
ARC_HOT static void resize_row(const uint32_t *restrict top, const uint32_t *restrict bot,
                               const uint32_t *restrict lo, const uint32_t *restrict hi,
                               const double *restrict count, int out_w, uint8_t *restrict dst)
{
    for (int i = 0; i < out_w; i++) {
        uint32_t sum = bot[hi[i]] - top[hi[i]] - bot[lo[i]] + top[lo[i]];
        dst[i] = (uint8_t)(int)((double)sum / count[i]);
    }
}

void arc__resize_integral(const uint8_t *src, const uint32_t *integral, int width, int height,
                          double ratio, uint8_t *dst, int out_w, int out_h)
{
    size_t s = (size_t)width + 1;
    uint32_t *lo = NULL, *hi = NULL;
    double *cols = NULL, *count = NULL;

    if (out_w == width && out_h == height && ratio == 1.0) {
        /* Every window is one pixel: resize() is a copy. */
        memcpy(dst, src, (size_t)width * (size_t)height);
        return;
    }
    lo = arc_xmallocarray((size_t)out_w, sizeof(uint32_t));
    hi = arc_xmallocarray((size_t)out_w, sizeof(uint32_t));
    cols = arc_xmallocarray((size_t)out_w, sizeof(double));
    count = arc_xmallocarray((size_t)out_w, sizeof(double));
    for (int i = 0; i < out_w; i++) {
        int c0, c1;
        window(i, ratio, width, &c0, &c1);
        int empty = c1 < c0;
        lo[i] = empty ? 0 : (uint32_t)c0;
        hi[i] = empty ? 0 : (uint32_t)c1 + 1;
        cols[i] = empty ? 1 : c1 - c0 + 1;
    }
    for (int j = 0; j < out_h; j++) {
        int r0, r1;
        window(j, ratio, height, &r0, &r1);
        uint8_t *drow = dst + (size_t)j * (size_t)out_w;
        if (r1 < r0) {
            memset(drow, 0, (size_t)out_w);
            continue;
        }
        double rows = r1 - r0 + 1;
        for (int i = 0; i < out_w; i++)
            count[i] = rows * cols[i];
        resize_row(integral + (size_t)r0 * s, integral + (size_t)(r1 + 1) * s, lo, hi, count, out_w,
                   drow);
    }
    free(lo);
    free(hi);
    free(cols);
    free(count);
}

void arc__resize(const uint8_t *src, int width, int height, double ratio, uint8_t *dst, int out_w,
                 int out_h)
{
    uint32_t *integral = arc__integral(src, width, height);

    arc__resize_integral(src, integral, width, height, ratio, dst, out_w, out_h);
    free(integral);
}
