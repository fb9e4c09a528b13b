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

void arc__resize(const uint8_t *src, int width, int height, double ratio, uint8_t *dst, int out_w,
                 int out_h)
{
    int *col_lo = arc_xmallocarray((size_t)out_w, sizeof(int));
    int *col_hi = arc_xmallocarray((size_t)out_w, sizeof(int));
    uint32_t *col_sum = arc_xmallocarray((size_t)width, sizeof(uint32_t));

    if (out_w == width && out_h == height && ratio == 1.0) {
        /* Every window is one pixel: resize() is a copy. */
        memcpy(dst, src, (size_t)width * (size_t)height);
        goto out;
    }
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
        /* Sum the window's rows per source column, then each output pixel's
         * columns: integer sums are exact, so any order gives the JS sum. */
        memset(col_sum, 0, (size_t)width * sizeof(uint32_t));
        for (int r = r0; r <= r1; r++) {
            const uint8_t *srow = src + (size_t)r * (size_t)width;
            for (int x = 0; x < width; x++)
                col_sum[x] += srow[x];
        }
        uint32_t rows = (uint32_t)(r1 - r0 + 1);
        for (int i = 0; i < out_w; i++) {
            int c0 = col_lo[i], c1 = col_hi[i];
            if (c1 < c0) {
                drow[i] = 0; /* 0 / 0 is NaN, stored in a Uint8Array as 0 */
                continue;
            }
            uint64_t sum = 0;
            for (int c = c0; c <= c1; c++)
                sum += col_sum[c];
            /* floor(sum / count) of exact integers is integer division. */
            drow[i] = (uint8_t)(sum / ((uint64_t)rows * (uint64_t)(c1 - c0 + 1)));
        }
    }
out:
    free(col_lo);
    free(col_hi);
    free(col_sum);
}
