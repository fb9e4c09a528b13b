/*
 * A point's orientation: MindAR's ComputeOrientationHistograms (both kernels),
 * SmoothHistograms and ComputeExtremaAngles CPU kernels, and the radial table
 * built in Detector._computeOrientationHistograms().
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "compiler_internal.h"

#define ORIENTATION_NUM_BINS 36
#define ORIENTATION_SMOOTHING_ITERATIONS 5
#define GAUSSIAN_EXPANSION_FACTOR 3.0
#define REGION_EXPANSION_FACTOR 1.5
#define ONE_OVER_2PI 0.159154943091895
#define RADIAL_MAX 128

size_t arc__radial_table(arc__radial_t *out, size_t cap)
{
    const double gw_scale = -1.0 / (2 * GAUSSIAN_EXPANSION_FACTOR * GAUSSIAN_EXPANSION_FACTOR);
    const double radius = GAUSSIAN_EXPANSION_FACTOR * REGION_EXPANSION_FACTOR;
    const int radius_ceil = (int)ceil(radius);
    size_t n = 0;

    for (int y = -radius_ceil; y <= radius_ceil; y++) {
        for (int x = -radius_ceil; x <= radius_ceil; x++) {
            double d2 = x * x + y * y;
            if (d2 > radius * radius || n >= cap)
                continue;
            /* MindAR's "fast exponential": a Taylor polynomial times
             * 0.0013888888 (not 1/720), stored in a float32 tensor. */
            double t = d2 * gw_scale;
            double w =
                (720 + t * (720 + t * (360 + t * (120 + t * (30 + t * (6 + t)))))) * 0.0013888888;
            out[n].y = y;
            out[n].x = x;
            out[n].w = (float)w;
            n++;
        }
    }
    return n;
}

/* The radial weights, a constant of the algorithm, built once for every
 * thread of every compile. */
static arc__radial_t radial_table[RADIAL_MAX];
static size_t radial_count;
static pthread_once_t radial_once = PTHREAD_ONCE_INIT;

static void radial_build(void)
{
    radial_count = arc__radial_table(radial_table, RADIAL_MAX);
}

static const arc__radial_t *radial(size_t *n)
{
    pthread_once(&radial_once, radial_build);
    *n = radial_count;
    return radial_table;
}

static inline int imod(int x, int y)
{
    int m = x % y;
    return m < 0 ? m + y : m;
}

float arc__orientation(const arc__pyramid_t *p, const arc__extremum_t *e)
{
    size_t nr;
    const arc__radial_t *rad = radial(&nr);
    double acc[ORIENTATION_NUM_BINS] = {0};
    float hist[ORIENTATION_NUM_BINS];
    int o = e->octave;

    if (o >= 1 && o < p->n) {
        const float *img = p->gauss[o];
        int w = p->w[o], h = p->h[o];
        /* this.int(): truncation toward zero of the float32 coordinates. */
        int y = (int)truncf(e->y), x = (int)truncf(e->x);
#define PX(yy, xx)                                                                                 \
    ((double)img[(size_t)arc__clampi((yy), 0, h - 1) * (size_t)w +                                 \
                 (size_t)arc__clampi((xx), 0, w - 1)])
        for (size_t r = 0; r < nr; r++) {
            int xp = x + rad[r].x, yp = y + rad[r].y;
            double dy = PX(yp + 1, xp) - PX(yp - 1, xp);
            double dx = PX(yp, xp + 1) - PX(yp, xp - 1);
            /* Kernel 1 stores both values as float32. */
            float fbin = (float)((arc__atan2(dy, dx) + M_PI) * ORIENTATION_NUM_BINS * ONE_OVER_2PI);
            float mag = (float)((double)rad[r].w * sqrt(dx * dx + dy * dy));
            /* Kernel 2: each bin sums its contributions in double, in radial
             * order, and rounds once. */
            /* fbin is in [0, 36], so bin is in [-1, 35]. */
            int bin = (int)floor((double)fbin - 0.5);
            int b1 = bin < 0 ? bin + ORIENTATION_NUM_BINS : bin;
            int b2 = bin + 1 >= ORIENTATION_NUM_BINS ? bin + 1 - ORIENTATION_NUM_BINS : bin + 1;
            double w2 = (double)fbin - bin - 0.5;
            double w1 = w2 * -1. + 1.;
            acc[b1] += w1 * (double)mag;
            acc[b2] += w2 * (double)mag;
        }
#undef PX
    }
    for (int b = 0; b < ORIENTATION_NUM_BINS; b++)
        hist[b] = (float)acc[b];

    /* SmoothHistograms: five circular passes, a Float32Array after each. */
    for (int it = 0; it < ORIENTATION_SMOOTHING_ITERATIONS; it++) {
        float next[ORIENTATION_NUM_BINS];
        for (int b = 0; b < ORIENTATION_NUM_BINS; b++) {
            int prev = imod(b - 1 + ORIENTATION_NUM_BINS, ORIENTATION_NUM_BINS);
            int nx = imod(b + 1, ORIENTATION_NUM_BINS);
            next[b] =
                (float)(0.274068619061197 * (double)hist[prev] +
                        0.451862761877606 * (double)hist[b] + 0.274068619061197 * (double)hist[nx]);
        }
        memcpy(hist, next, sizeof(hist));
    }

    /* ComputeExtremaAngles: the first strict maximum and a parabola through
     * it and its wrapped neighbours at the unwrapped positions m-1, m, m+1. */
    int m = 0;
    for (int b = 1; b < ORIENTATION_NUM_BINS; b++)
        if (hist[b] > hist[m])
            m = b;
    int prev = imod(m - 1 + ORIENTATION_NUM_BINS, ORIENTATION_NUM_BINS);
    int nx = imod(m + 1, ORIENTATION_NUM_BINS);
    double p10 = m - 1, p11 = hist[prev];
    double p20 = m, p21 = hist[m];
    double p30 = m + 1, p31 = hist[nx];
    double d1 = (p30 - p20) * (p30 - p10);
    double d2 = (p10 - p20) * (p30 - p10);
    double d3 = p10 - p20;
    double fbin = m;
    if (fabs(d1) > 0.00001 && fabs(d2) > 0.00001 && fabs(d3) > 0.00001) {
        double a = p10 * p10;
        double b = p20 * p20;
        double A = ((p31 - p21) / d1) - ((p11 - p21) / d2);
        if (isnan(A))
            A = 0;
        double B = ((p11 - p21) + (A * (b - a))) / d3;
        fbin = -B / (2.0 * A);
        if (isnan(fbin))
            fbin = 0;
    }
    return (float)(2.0 * M_PI * (fbin + 0.5) / ORIENTATION_NUM_BINS - M_PI);
}
