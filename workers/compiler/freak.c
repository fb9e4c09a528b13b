/*
 * FREAK: MindAR's 37 sampling points (detector/freak.js), the bilinear samples
 * of ComputeExtremaFreak and the 666 comparisons of ComputeFreakDescriptors,
 * packed into 21 unsigned words as detect() packs them.
 */
#include <math.h>
#include <string.h>

#include "compiler_internal.h"

#define FREAK_POINTS 37
#define FREAK_EXPANSION_FACTOR 7.0

/* Ring 5 down to ring 0, then the centre: (x, y) as in freak.js. They pass
 * through a float32 tensor, hence the casts at use. */
static const double freak_xy[FREAK_POINTS][2] = {
    {-1.000000, 0.000000},
    {-0.500000, -0.866025},
    {0.500000, -0.866025},
    {1.000000, -0.000000},
    {0.500000, 0.866025},
    {-0.500000, 0.866025},
    {0.000000, 0.930969},
    {-0.806243, 0.465485},
    {-0.806243, -0.465485},
    {-0.000000, -0.930969},
    {0.806243, -0.465485},
    {0.806243, 0.465485},
    {0.847306, -0.000000},
    {0.423653, 0.733789},
    {-0.423653, 0.733789},
    {-0.847306, 0.000000},
    {-0.423653, -0.733789},
    {0.423653, -0.733789},
    {-0.000000, -0.741094},
    {0.641806, -0.370547},
    {0.641806, 0.370547},
    {0.000000, 0.741094},
    {-0.641806, 0.370547},
    {-0.641806, -0.370547},
    {-0.595502, 0.000000},
    {-0.297751, -0.515720},
    {0.297751, -0.515720},
    {0.595502, -0.000000},
    {0.297751, 0.515720},
    {-0.297751, 0.515720},
    {0.000000, 0.362783},
    {-0.314179, 0.181391},
    {-0.314179, -0.181391},
    {-0.000000, -0.362783},
    {0.314179, -0.181391},
    {0.314179, 0.181391},
    {0, 0},
};

static inline double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

void arc__freak_sample(const arc__pyramid_t *p, const arc__extremum_t *e, float angle,
                       float values[37])
{
    int o = e->octave;

    if (o < 1 || o >= p->n) {
        memset(values, 0, sizeof(float) * FREAK_POINTS);
        return;
    }
    const float *img = p->gauss[o];
    int w = p->w[o], h = p->h[o];
    double c = FREAK_EXPANSION_FACTOR * arc__cos((double)angle);
    double s = FREAK_EXPANSION_FACTOR * arc__sin((double)angle);
    double in_y = e->y, in_x = e->x;

    for (int i = 0; i < FREAK_POINTS; i++) {
        double fx = (float)freak_xy[i][0];
        double fy = (float)freak_xy[i][1];
        double yp = in_y + fx * s + fy * c;
        double xp = in_x + fx * c + fy * -s;
        if (!isfinite(xp) || !isfinite(yp)) {
            values[i] = 0; /* NaN through the kernel stores 0 */
            continue;
        }
        /* Weights use the unclamped corners; only the reads clamp. */
        double x0 = floor(xp), x1 = x0 + 1;
        double y0 = floor(yp), y1 = y0 + 1;
        size_t cx0 = (size_t)clampd(x0, 0, w - 1), cx1 = (size_t)clampd(x1, 0, w - 1);
        size_t cy0 = (size_t)clampd(y0, 0, h - 1), cy1 = (size_t)clampd(y1, 0, h - 1);
        double f1 = img[cy0 * (size_t)w + cx0];
        double f2 = img[cy0 * (size_t)w + cx1];
        double f3 = img[cy1 * (size_t)w + cx0];
        double f4 = img[cy1 * (size_t)w + cx1];
        double v = (x1 - xp) * (y1 - yp) * f1 + (xp - x0) * (y1 - yp) * f2 +
                   (x1 - xp) * (yp - y0) * f3 + (xp - x0) * (yp - y0) * f4;
        values[i] = isnan(v) ? 0.0f : (float)v;
    }
}

void arc__freak_descriptor(const float values[37], uint32_t desc[21])
{
    double plus[FREAK_POINTS];
    uint32_t word = 0;
    int c = 0;

    /* v1 < v2 + 0.01 with the double 0.01, as JS compares. */
    for (int i = 0; i < FREAK_POINTS; i++)
        plus[i] = (double)values[i] + 0.01;
    /* Comparison c (pairs a < b in lexicographic order) is bit 31 - c % 32 of
     * word c / 32: the bytes' bit 7 first, bytes joined big-endian. */
    for (int a = 0; a < FREAK_POINTS; a++) {
        double va = values[a];
        for (int b = a + 1; b < FREAK_POINTS; b++, c++) {
            word = word << 1 | (uint32_t)(va < plus[b]);
            if (c % 32 == 31)
                desc[c / 32] = word;
        }
    }
    /* 666 = 20 * 32 + 26: the last word's low 6 bits stay 0. */
    desc[20] = word << 6;
}
