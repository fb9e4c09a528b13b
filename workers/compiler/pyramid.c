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

static inline int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Kernel 1 on a float row: p[x-2] + 4p[x-1] + 6p[x] + 4p[x+1] + p[x+2], summed
 * left to right in double, rounded once. */
ARC_HOT static void hpass_f32(const float *restrict p, int w, float *restrict out)
{
    int x;

    for (x = 0; x < w && x < 2; x++) {
        double s = p[clampi(x - 2, 0, w - 1)];
        s += (double)p[clampi(x - 1, 0, w - 1)] * 4.0;
        s += (double)p[x] * 6.0;
        s += (double)p[clampi(x + 1, 0, w - 1)] * 4.0;
        s += (double)p[clampi(x + 2, 0, w - 1)];
        out[x] = (float)s;
    }
    for (; x < w - 2; x++) {
        double s = p[x - 2];
        s += (double)p[x - 1] * 4.0;
        s += (double)p[x] * 6.0;
        s += (double)p[x + 1] * 4.0;
        s += (double)p[x + 2];
        out[x] = (float)s;
    }
    for (; x < w; x++) {
        double s = p[clampi(x - 2, 0, w - 1)];
        s += (double)p[clampi(x - 1, 0, w - 1)] * 4.0;
        s += (double)p[x] * 6.0;
        s += (double)p[clampi(x + 1, 0, w - 1)] * 4.0;
        s += (double)p[clampi(x + 2, 0, w - 1)];
        out[x] = (float)s;
    }
}

/* Kernel 1 on grey bytes: the sums are small integers, exact in any type. */
ARC_HOT static void hpass_u8(const uint8_t *restrict p, int w, float *restrict out)
{
    int x;

    for (x = 0; x < w && x < 2; x++)
        out[x] = (float)(p[clampi(x - 2, 0, w - 1)] + 4 * p[clampi(x - 1, 0, w - 1)] + 6 * p[x] +
                         4 * p[clampi(x + 1, 0, w - 1)] + p[clampi(x + 2, 0, w - 1)]);
    for (; x < w - 2; x++)
        out[x] = (float)(p[x - 2] + 4 * p[x - 1] + 6 * p[x] + 4 * p[x + 1] + p[x + 2]);
    for (; x < w; x++)
        out[x] = (float)(p[clampi(x - 2, 0, w - 1)] + 4 * p[clampi(x - 1, 0, w - 1)] + 6 * p[x] +
                         4 * p[clampi(x + 1, 0, w - 1)] + p[clampi(x + 2, 0, w - 1)]);
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

/* Runs kernel 1 into a ring of five rows and kernel 2 from it, so the
 * intermediate image never exists whole. Source rows in the window are
 * consecutive, hence distinct modulo 5. */
static void binomial(const void *in, int is_u8, int w, int h, float *out)
{
    float *ring = arc_xmallocarray((size_t)w * 5, sizeof(float));
    int tag[5] = {-1, -1, -1, -1, -1};

    for (int y = 0; y < h; y++) {
        const float *r[5];
        for (int k = 0; k < 5; k++) {
            int sy = clampi(y + k - 2, 0, h - 1);
            float *slot = ring + (size_t)(sy % 5) * (size_t)w;
            if (tag[sy % 5] != sy) {
                if (is_u8)
                    hpass_u8((const uint8_t *)in + (size_t)sy * (size_t)w, w, slot);
                else
                    hpass_f32((const float *)in + (size_t)sy * (size_t)w, w, slot);
                tag[sy % 5] = sy;
            }
            r[k] = slot;
        }
        vpass(r[0], r[1], r[2], r[3], r[4], w, out + (size_t)y * (size_t)w);
    }
    free(ring);
}

void arc__binomial_u8(const uint8_t *in, int w, int h, float *out)
{
    binomial(in, 1, w, h, out);
}

void arc__binomial_f32(const float *in, int w, int h, float *out)
{
    binomial(in, 0, w, h, out);
}

ARC_HOT void arc__downsample(const float *restrict in, int w, int h, float *restrict out)
{
    int ow = w / 2, oh = h / 2;

    for (int y = 0; y < oh; y++) {
        const float *a = in + (size_t)(2 * y) * (size_t)w;
        const float *b = a + w;
        float *o = out + (size_t)y * (size_t)ow;
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
}

ARC_HOT void arc__subtract(float *restrict a, const float *restrict b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] -= b[i];
}

void arc__pyramid_build(const uint8_t *img, int w, int h, arc__pyramid_t *p)
{
    float *a = NULL, *b = NULL;

    memset(p, 0, sizeof(*p));
    p->n = arc__num_octaves(w, h);
    if (p->n == 0)
        return;
    for (int i = 0; i < p->n; i++) {
        p->w[i] = i == 0 ? w : p->w[i - 1] / 2;
        p->h[i] = i == 0 ? h : p->h[i - 1] / 2;
    }

    /* Octave 0: A0 = filter(image), B0 = filter(A0), DoG0 = A0 - B0. Only
     * downsample(B0) (the next octave's A) and downsample(DoG0) (the lower
     * neighbour of octave 1's extrema) are kept. */
    size_t n0 = (size_t)w * (size_t)h;
    a = arc_xmallocarray(n0, sizeof(float));
    b = arc_xmallocarray(n0, sizeof(float));
    arc__binomial_u8(img, w, h, a);
    arc__binomial_f32(a, w, h, b);
    if (p->n > 1) {
        arc__subtract(a, b, n0);
        size_t n1 = (size_t)p->w[1] * (size_t)p->h[1];
        float *next = arc_xmallocarray(n1, sizeof(float));
        arc__downsample(b, w, h, next);
        p->dog0_down = arc_xmallocarray(n1, sizeof(float));
        arc__downsample(a, w, h, p->dog0_down);
        free(a);
        free(b);
        a = next;
        b = NULL;
    }
    for (int i = 1; i < p->n; i++) {
        size_t ni = (size_t)p->w[i] * (size_t)p->h[i];
        b = arc_xmallocarray(ni, sizeof(float));
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
        b = NULL;
    }
    free(a);
    free(b);
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
