/*
 * One keyframe through MindAR's Detector.detect() (detector/detector.js):
 * extrema of the DoG pyramid (BuildExtremas kernel), the 2x2 reduction
 * (ExtremaReduction), bucket pruning (_applyPrune), sub-pixel localisation
 * (_computeLocalization), then orientation and FREAK per point.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/error.h"
#include "compiler_internal.h"

#define LAPLACIAN_SQR_THRESHOLD 9.0
#define EDGE_HESSIAN_THRESHOLD 6.25 /* (4 + 1)^2 / 4 */
#define FREAK_EXPANSION_FACTOR 7
#define NUM_BUCKETS_PER_DIMENSION 10
#define MAX_FEATURES_PER_BUCKET 5

/* The three DoG images one extremum test reads: its octave (w x h), the one
 * below downsampled to the same size, and the one above (uw x uh), which the
 * kernel upsamples to the same size; only the values a test needs are
 * upsampled. */
typedef struct ext_ctx_s {
    const float *lower, *cur, *upper;
    int w, h, uw, uh;
} ext_ctx_t;

/* The BuildExtremas kernel at (y, x): the DoG value of an accepted
 * extremum, else 0. */
static float extremum(const ext_ctx_t *e, int y, int x)
{
    const int w = e->w, h = e->h;
    const float *c = e->cur + (size_t)y * (size_t)w + x;
    double v = *c;

    if (v * v < LAPLACIAN_SQR_THRESHOLD)
        return 0;
    if (y < FREAK_EXPANSION_FACTOR || y > h - 1 - FREAK_EXPANSION_FACTOR ||
        x < FREAK_EXPANSION_FACTOR || x > w - 1 - FREAK_EXPANSION_FACTOR)
        return 0;

    /* v must be >= all 27 values (a maximum) or <= all of them (a minimum),
     * the centre included, so plateaus pass. The outcome does not depend on
     * the order, so the test stops at the first value that rules out both,
     * and the upper octave is upsampled only for the values it reaches. */
    int is_max = 1, is_min = 1;
    static const int off[8][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1},
                                  {0, 1},   {1, -1}, {1, 0},  {1, 1}};
    for (int k = 0; k < 8; k++) {
        double n = c[off[k][0] * w + off[k][1]];
        is_max &= !(v < n);
        is_min &= !(v > n);
        if (!is_max && !is_min)
            return 0;
    }
    const float *lo = e->lower + (size_t)y * (size_t)w + x;
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            double n = lo[dy * w + dx];
            is_max &= !(v < n);
            is_min &= !(v > n);
        }
        if (!is_max && !is_min)
            return 0;
    }
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            double n = arc__upsample_at(e->upper, e->uw, e->uh, y + dy, x + dx);
            is_max &= !(v < n);
            is_min &= !(v > n);
        }
        if (!is_max && !is_min)
            return 0;
    }

    double dxx = (double)c[1] + (double)c[-1] - 2. * v;
    double dyy = (double)c[w] + (double)c[-w] - 2. * v;
    double dxy =
        0.25 * ((double)c[-w - 1] + (double)c[w + 1] - (double)c[-w + 1] - (double)c[w - 1]);
    double det = dxx * dyy - dxy * dxy;
    if (fabs(det) < 0.0001)
        return 0;
    double edge = (dxx + dyy) * (dxx + dyy) / det;
    if (fabs(edge) >= EDGE_HESSIAN_THRESHOLD)
        return 0;
    return (float)v;
}

typedef struct prune_s {
    double score[NUM_BUCKETS_PER_DIMENSION * NUM_BUCKETS_PER_DIMENSION][MAX_FEATURES_PER_BUCKET];
    double abs_score[NUM_BUCKETS_PER_DIMENSION * NUM_BUCKETS_PER_DIMENSION]
                    [MAX_FEATURES_PER_BUCKET];
    int octave[NUM_BUCKETS_PER_DIMENSION * NUM_BUCKETS_PER_DIMENSION][MAX_FEATURES_PER_BUCKET];
    int y[NUM_BUCKETS_PER_DIMENSION * NUM_BUCKETS_PER_DIMENSION][MAX_FEATURES_PER_BUCKET];
    int x[NUM_BUCKETS_PER_DIMENSION * NUM_BUCKETS_PER_DIMENSION][MAX_FEATURES_PER_BUCKET];
} prune_t;

/* _applyPrune's insertion: a newcomer goes after every entry whose |score| is
 * at least its own; the sixth drops out. */
static void prune_insert(prune_t *pr, int bucket, double score, int octave, int y, int x)
{
    double a = fabs(score);
    int t = MAX_FEATURES_PER_BUCKET;

    while (t >= 1 && a > pr->abs_score[bucket][t - 1])
        t--;
    if (t >= MAX_FEATURES_PER_BUCKET)
        return;
    for (int k = MAX_FEATURES_PER_BUCKET - 1; k >= t + 1; k--) {
        pr->abs_score[bucket][k] = pr->abs_score[bucket][k - 1];
        pr->score[bucket][k] = pr->score[bucket][k - 1];
        pr->octave[bucket][k] = pr->octave[bucket][k - 1];
        pr->y[bucket][k] = pr->y[bucket][k - 1];
        pr->x[bucket][k] = pr->x[bucket][k - 1];
    }
    pr->abs_score[bucket][t] = a;
    pr->score[bucket][t] = score;
    pr->octave[bucket][t] = octave;
    pr->y[bucket][t] = y;
    pr->x[bucket][t] = x;
}

/* Extrema of one octave, reduced 2x2 and fed to the buckets in MindAR's visit
 * order: reduced rows, then reduced columns. */
static void prune_octave(const arc__pyramid_t *p, int o, prune_t *pr)
{
    int w = p->w[o], h = p->h[o];
    const float *i1 = p->dog[o];
    float *i0 = NULL;
    int rw = w / 2, rh = h / 2;
    double bucket_w = (double)rw * 2 / NUM_BUCKETS_PER_DIMENSION;
    double bucket_h = (double)rh * 2 / NUM_BUCKETS_PER_DIMENSION;

    if (o == 1) {
        i0 = p->dog0_down;
    } else {
        i0 = arc_xmallocarray((size_t)w * (size_t)h, sizeof(float));
        arc__downsample(p->dog[o - 1], p->w[o - 1], p->h[o - 1], i0);
    }
    ext_ctx_t e = {i0, i1, p->dog[o + 1], w, h, p->w[o + 1], p->h[o + 1]};

    for (int j = 0; j < rh; j++) {
        for (int i = 0; i < rw; i++) {
            int y = j * 2, x = i * 2;
            const float *r0 = i1 + (size_t)y * (size_t)w + x, *r1 = r0 + w;
            double loc = 0;
            float v;
            /* v * v < 9 in double is |v| < 3 exactly (a float's square is
             * exact in double): most blocks end here. */
            if (fabsf(r0[0]) < 3.0f && fabsf(r0[1]) < 3.0f && fabsf(r1[0]) < 3.0f &&
                fabsf(r1[1]) < 3.0f)
                continue;
            /* ExtremaReduction keeps one extremum per block, in this order. */
            if ((v = extremum(&e, y + 1, x)) != 0)
                loc = 1;
            else if ((v = extremum(&e, y, x + 1)) != 0)
                loc = 2;
            else if ((v = extremum(&e, y + 1, x + 1)) != 0)
                loc = 3;
            else
                v = extremum(&e, y, x);
            /* The kernel stores loc * +-1000 + v as float32 and _applyPrune
             * reads score back as encoded % 1000: the float32 round trip is
             * part of the score that ranks the points. */
            float enc = v < 0 ? (float)(loc * -1000.0 + v) : (float)(loc * 1000.0 + v);
            if (enc == 0)
                continue;
            double score = fmod((double)enc, 1000.0);
            int l = (int)floor(fabs((double)enc) / 1000.0);
            int px = x + (l == 2 || l == 3 ? 1 : 0);
            int py = y + (l == 1 || l == 3 ? 1 : 0);
            int bx = (int)floor(px / bucket_w);
            int by = (int)floor(py / bucket_h);
            prune_insert(pr, by * NUM_BUCKETS_PER_DIMENSION + bx, score, o, py, px);
        }
    }
    if (o != 1)
        free(i0);
}

void arc__extrema_prune_localize(const arc__pyramid_t *p, arc__extremum_t *rows)
{
    prune_t *pr = arc_xcalloc(1, sizeof(*pr));

    for (int o = 1; o < p->n - 1; o++)
        prune_octave(p, o, pr);

    for (int b = 0; b < NUM_BUCKETS_PER_DIMENSION * NUM_BUCKETS_PER_DIMENSION; b++) {
        for (int k = 0; k < MAX_FEATURES_PER_BUCKET; k++) {
            arc__extremum_t *e = &rows[b * MAX_FEATURES_PER_BUCKET + k];
            double score = pr->score[b][k];
            double y = pr->y[b][k], x = pr->x[b][k];
            int o = pr->octave[b][k];
            if (score != 0) {
                /* _computeLocalization: a 3x3 window of DoG_octave, clamped. */
                int w = p->w[o], h = p->h[o];
                const float *img = p->dog[o];
                double px[3][3];
                for (int r = 0; r < 3; r++)
                    for (int c = 0; c < 3; c++)
                        px[r][c] = img[(size_t)arc__clampi((int)y + r - 1, 0, h - 1) * (size_t)w +
                                       (size_t)arc__clampi((int)x + c - 1, 0, w - 1)];
                double dx = 0.5 * (px[1][2] - px[1][0]);
                double dy = 0.5 * (px[2][1] - px[0][1]);
                double dxx = px[1][2] + px[1][0] - 2 * px[1][1];
                double dyy = px[2][1] + px[0][1] - 2 * px[1][1];
                double dxy = 0.25 * (px[0][0] + px[2][2] - px[0][2] - px[2][0]);
                double det = dxx * dyy - dxy * dxy;
                if (!(fabs(det) < 0.0001)) {
                    double ux = (dyy * -dx + -dxy * -dy) / det;
                    double uy = (-dxy * -dx + dxx * -dy) / det;
                    y = y + uy;
                    x = x + ux;
                }
            }
            /* tf.tensor(localizedExtremas, ..., 'float32') rounds each field. */
            e->score = (float)score;
            e->octave = o;
            e->y = (float)y;
            e->x = (float)x;
        }
    }
    free(pr);
}

void arc__detect(const uint8_t *img, int w, int h, arc_mind_point_t **maxima, size_t *n_maxima,
                 arc_mind_point_t **minima, size_t *n_minima)
{
    arc__pyramid_t pyr;
    arc__extremum_t *rows = arc_xcalloc(ARC_PRUNE_ROWS, sizeof(*rows));
    size_t nmax = 0, nmin = 0;

    *maxima = arc_xcalloc(ARC_PRUNE_ROWS, sizeof(arc_mind_point_t));
    *minima = arc_xcalloc(ARC_PRUNE_ROWS, sizeof(arc_mind_point_t));
    arc__pyramid_build(img, w, h, &pyr);
    if (pyr.n >= 3)
        arc__extrema_prune_localize(&pyr, rows);

    for (int i = 0; i < ARC_PRUNE_ROWS; i++) {
        const arc__extremum_t *e = &rows[i];
        float values[37];
        if (e->score == 0)
            continue;
        float angle = arc__orientation(&pyr, e);
        arc_mind_point_t *pt = e->score > 0 ? &(*maxima)[nmax++] : &(*minima)[nmin++];
        arc__freak_sample(&pyr, e, angle, values);
        arc__freak_descriptor(values, pt->desc);
        /* detect(): x * 2^o + 2^(o-1) - 0.5 in double, from the float32 x. */
        double s = ldexp(1.0, e->octave);
        double half = ldexp(1.0, e->octave - 1);
        pt->maxima = e->score > 0;
        pt->x = (double)e->x * s + half - 0.5;
        pt->y = (double)e->y * s + half - 0.5;
        pt->scale = s;
        pt->angle = angle;
    }
    *n_maxima = nmax;
    *n_minima = nmin;
    arc__pyramid_dispose(&pyr);
    free(rows);
}
