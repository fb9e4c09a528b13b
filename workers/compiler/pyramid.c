/*
 * The Gaussian pyramid's kernels: MindAR's BinomialFilter, DownsampleBilinear
 * and UpsampleBilinear CPU kernels (detector/kernels/cpu/), and the octave
 * count of the Detector constructor.
 *
 * A CPU kernel computes each output in double from float32 inputs and rounds
 * once when it stores; the loops below do the same arithmetic in the same
 * order, written so that the compiler can vectorise them (double lanes).
 */
#include <stdlib.h>
#include <string.h>

#include "arcd/error.h"
#include "compiler_internal.h"

#define PYRAMID_MIN_SIZE 8

int arc__num_octaves(int width, int height)
{
    double w = width, h = height;
    int n = 0;

    while (w >= PYRAMID_MIN_SIZE && h >= PYRAMID_MIN_SIZE) {
        w /= 2;
        h /= 2;
        n++;
        if (n == ARC_PYRAMID_MAX_OCTAVES)
            break;
    }
    return n;
}

/* Kernel 1 at one column with edge replication: p[x-2] + 4p[x-1] + 6p[x] +
 * 4p[x+1] + p[x+2], summed left to right in double, rounded once. */
static inline float hpass_f32_at(const float *p, int w, int x)
{
    double s = p[arc__clampi(x - 2, 0, w - 1)];
    s += (double)p[arc__clampi(x - 1, 0, w - 1)] * 4.0;
    s += (double)p[x] * 6.0;
    s += (double)p[arc__clampi(x + 1, 0, w - 1)] * 4.0;
    s += (double)p[arc__clampi(x + 2, 0, w - 1)];
    return (float)s;
}

/* The same on grey bytes: the sums are small integers, exact in any type. */
static inline float hpass_u8_at(const uint8_t *p, int w, int x)
{
    return (float)(p[arc__clampi(x - 2, 0, w - 1)] + 4 * p[arc__clampi(x - 1, 0, w - 1)] +
                   6 * p[x] + 4 * p[arc__clampi(x + 1, 0, w - 1)] +
                   p[arc__clampi(x + 2, 0, w - 1)]);
}

/* Kernel 1 on a row: the borders clamped, the interior without clamps so
 * that it vectorises. */
ARC_HOT static void hpass_f32(const float *restrict p, int w, float *restrict out)
{
    int x;

    for (x = 0; x < w && x < 2; x++)
        out[x] = hpass_f32_at(p, w, x);
    for (; x < w - 2; x++) {
        double s = p[x - 2];
        s += (double)p[x - 1] * 4.0;
        s += (double)p[x] * 6.0;
        s += (double)p[x + 1] * 4.0;
        s += (double)p[x + 2];
        out[x] = (float)s;
    }
    for (; x < w; x++)
        out[x] = hpass_f32_at(p, w, x);
}

ARC_HOT static void hpass_u8(const uint8_t *restrict p, int w, float *restrict out)
{
    int x;

    for (x = 0; x < w && x < 2; x++)
        out[x] = hpass_u8_at(p, w, x);
    for (; x < w - 2; x++)
        out[x] = (float)(p[x - 2] + 4 * p[x - 1] + 6 * p[x] + 4 * p[x + 1] + p[x + 2]);
    for (; x < w; x++)
        out[x] = hpass_u8_at(p, w, x);
}

/* Kernel 2: the same sum down a column, divided by 256, rounded once. */
ARC_HOT static void vpass(const float *restrict r0, const float *restrict r1,
                          const float *restrict r2, const float *restrict r3,
                          const float *restrict r4, int w, float *restrict out)
{
    for (int x = 0; x < w; x++) {
        double s = r0[x];
        s += (double)r1[x] * 4.0;
        s += (double)r2[x] * 6.0;
        s += (double)r3[x] * 4.0;
        s += (double)r4[x];
        out[x] = (float)(s / 256.0);
    }
}

/*
 * A row stream of the binomial filter: kernel 1 runs into a ring of five rows
 * and kernel 2 reads them, so the intermediate image never exists whole. Its
 * source is a grey image, a float image, or another stream's rows; its output
 * rows go to the caller's buffer or to a ring of their own (the last five
 * rows, enough for a consumer reading rows y-2..y+2). Rows asked for must not
 * go back more than two rows; rows in a window are consecutive, hence
 * distinct modulo 5.
 */
typedef struct fstream_s {
    int w, h;
    const uint8_t *u8;
    const float *f32;
    struct fstream_s *up;
    float *hrows; /* 5 rows of kernel 1 */
    int htag[5];
    float *rows; /* 5 rows of kernel 2, for fstream_row() */
    int tag[5];
} fstream_t;

static const float *fstream_row(fstream_t *s, int y);

static void fstream_init(fstream_t *s, int w, int h, const uint8_t *u8, const float *f32,
                         fstream_t *up, int own_rows)
{
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->h = h;
    s->u8 = u8;
    s->f32 = f32;
    s->up = up;
    s->hrows = arc_xmallocarray((size_t)w * 5, sizeof(float));
    s->rows = own_rows ? arc_xmallocarray((size_t)w * 5, sizeof(float)) : NULL;
    for (int k = 0; k < 5; k++)
        s->htag[k] = s->tag[k] = -1;
}

static void fstream_dispose(fstream_t *s)
{
    free(s->hrows);
    free(s->rows);
}

/* Kernel 2 for output row y, into dst. */
static void fstream_filter(fstream_t *s, int y, float *dst)
{
    const float *r[5];
    const size_t w = (size_t)s->w;

    for (int k = 0; k < 5; k++) {
        int sy = arc__clampi(y + k - 2, 0, s->h - 1);
        float *slot = s->hrows + (size_t)(sy % 5) * w;
        if (s->htag[sy % 5] != sy) {
            if (s->u8 != NULL)
                hpass_u8(s->u8 + (size_t)sy * w, s->w, slot);
            else if (s->f32 != NULL)
                hpass_f32(s->f32 + (size_t)sy * w, s->w, slot);
            else
                hpass_f32(fstream_row(s->up, sy), s->w, slot);
            s->htag[sy % 5] = sy;
        }
        r[k] = slot;
    }
    vpass(r[0], r[1], r[2], r[3], r[4], s->w, dst);
}

static const float *fstream_row(fstream_t *s, int y)
{
    float *slot = s->rows + (size_t)(y % 5) * (size_t)s->w;

    if (s->tag[y % 5] != y) {
        fstream_filter(s, y, slot);
        s->tag[y % 5] = y;
    }
    return slot;
}

static void binomial(const uint8_t *u8, const float *f32, int w, int h, float *out)
{
    fstream_t s;

    fstream_init(&s, w, h, u8, f32, NULL, 0);
    for (int y = 0; y < h; y++)
        fstream_filter(&s, y, out + (size_t)y * (size_t)w);
    fstream_dispose(&s);
}

void arc__binomial_u8(const uint8_t *in, int w, int h, float *out)
{
    binomial(in, NULL, w, h, out);
}

void arc__binomial_f32(const float *in, int w, int h, float *out)
{
    binomial(NULL, in, w, h, out);
}

/* One output row of DownsampleBilinear from source rows a (2y) and b (2y+1). */
ARC_HOT static void downsample_rows(const float *restrict a, const float *restrict b, int ow,
                                    float *restrict o)
{
    for (int x = 0; x < ow; x++) {
        /* A Float32Array cell: each addition rounds to float32, in the
         * kernel's order (y,x), (y+1,x), (y,x+1), (y+1,x+1). */
        float s = a[2 * x] * 0.25f;
        s += b[2 * x] * 0.25f;
        s += a[2 * x + 1] * 0.25f;
        s += b[2 * x + 1] * 0.25f;
        o[x] = s;
    }
}

void arc__downsample(const float *in, int w, int h, float *out)
{
    int ow = w / 2, oh = h / 2;

    for (int y = 0; y < oh; y++) {
        const float *a = in + (size_t)(2 * y) * (size_t)w;
        downsample_rows(a, a + w, ow, out + (size_t)y * (size_t)ow);
    }
}

ARC_HOT void arc__subtract(float *restrict a, const float *restrict b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] -= b[i];
}

/* Octave 0 as a stream: A0 = filter(image) and B0 = filter(A0) row by row,
 * DoG0 = A0 - B0, and each pair of rows downsampled at once into the next
 * octave's A and into downsample(DoG0). Nothing of octave 0 is kept whole:
 * later stages read only octaves 1 and up. */
static void octave0(const uint8_t *img, int w, int h, float *next_a, float *dog0_down)
{
    fstream_t a, b;
    int ow = w / 2, oh = h / 2;
    float *dog = arc_xmallocarray((size_t)w * 2, sizeof(float));

    fstream_init(&a, w, h, img, NULL, NULL, 1);
    fstream_init(&b, w, h, NULL, NULL, &a, 1);
    for (int y = 0; y < 2 * oh; y++) {
        const float *brow = fstream_row(&b, y);
        const float *arow = fstream_row(&a, y); /* still in a's ring */
        float *drow = dog + (size_t)(y & 1) * (size_t)w;
        memcpy(drow, arow, (size_t)w * sizeof(float));
        arc__subtract(drow, brow, (size_t)w);
        if (y & 1) {
            downsample_rows(fstream_row(&b, y - 1), brow, ow, next_a + (size_t)(y / 2) * ow);
            downsample_rows(dog, dog + w, ow, dog0_down + (size_t)(y / 2) * ow);
        }
    }
    fstream_dispose(&a);
    fstream_dispose(&b);
    free(dog);
}

void arc__pyramid_build(const uint8_t *img, int w, int h, arc__pyramid_t *p)
{
    float *a = NULL;

    memset(p, 0, sizeof(*p));
    p->n = arc__num_octaves(w, h);
    for (int i = 0; i < p->n; i++) {
        p->w[i] = i == 0 ? w : p->w[i - 1] / 2;
        p->h[i] = i == 0 ? h : p->h[i - 1] / 2;
    }
    /* With fewer than three octaves there are no extrema: nothing to build. */
    if (p->n < 3)
        return;

    size_t n1 = (size_t)p->w[1] * (size_t)p->h[1];
    a = arc_xmallocarray(n1, sizeof(float));
    p->dog0_down = arc_xmallocarray(n1, sizeof(float));
    octave0(img, w, h, a, p->dog0_down);
    for (int i = 1; i < p->n; i++) {
        size_t ni = (size_t)p->w[i] * (size_t)p->h[i];
        float *b = arc_xmallocarray(ni, sizeof(float));
        arc__binomial_f32(a, p->w[i], p->h[i], b);
        float *next = NULL;
        if (i + 1 < p->n) {
            next = arc_xmallocarray((size_t)p->w[i + 1] * (size_t)p->h[i + 1], sizeof(float));
            arc__downsample(b, p->w[i], p->h[i], next);
        }
        arc__subtract(a, b, ni);
        p->dog[i] = a;
        p->gauss[i] = b;
        a = next;
    }
}

void arc__pyramid_dispose(arc__pyramid_t *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < ARC_PYRAMID_MAX_OCTAVES; i++) {
        free(p->gauss[i]);
        free(p->dog[i]);
    }
    free(p->dog0_down);
    memset(p, 0, sizeof(*p));
}
