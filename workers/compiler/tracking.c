/*
 * Tracking template points: MindAR's tracker/extract.js extract(), with
 * utils/cumsum.js.
 *
 * The feature map is the costly part: for each candidate, the best normalised
 * cross-correlation of its 13x13 template with the templates around it. The
 * correlation sums are exact integers, computed here 21 offsets at a time over
 * a zero-padded copy of the image so the inner loop vectorises; everything
 * after the integer sums follows the JS arithmetic in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/error.h"
#include "compiler_internal.h"

#define SEARCH_SIZE1 10
#define SEARCH_SIZE2 2
#define TEMPLATE_SIZE 6
#define TEMPLATE_WIDTH (2 * TEMPLATE_SIZE + 1)
#define TEMPLATE_PIXELS (TEMPLATE_WIDTH * TEMPLATE_WIDTH)
#define TEMPLATE_SD_THRESH 5.0
#define MAX_SIM_THRESH 0.95
#define MAX_THRESH 0.9
#define MIN_THRESH 0.2
#define SD_THRESH 8.0
#define PAD 16   /* >= SEARCH_SIZE1 + TEMPLATE_SIZE */
#define LANES 24 /* 21 horizontal offsets, rounded up */

typedef struct track_s {
    const uint8_t *img;
    int w, h;
    int64_t *sum; /* (w+1) x (h+1) inclusive prefix sums */
    int64_t *sqr;
    uint8_t *pad; /* the image with PAD zero pixels on every side */
    int pw;
} track_t;

/* Cumsum.query(x1, y1, x2, y2), inclusive, on a table with a zero first row
 * and column (the same integer the JS gets). */
static double query(const int64_t *t, int w, int x1, int y1, int x2, int y2)
{
    size_t s = (size_t)w + 1;
    return (double)(t[(size_t)(y2 + 1) * s + (size_t)(x2 + 1)] -
                    t[(size_t)y1 * s + (size_t)(x2 + 1)] - t[(size_t)(y2 + 1) * s + (size_t)x1] +
                    t[(size_t)y1 * s + (size_t)x1]);
}

/* The sum and the sum of squares of the 13x13 window centred at (cx, cy);
 * -1 when the window leaves the image (JS's null). */
static int window_sums(const track_t *t, int cx, int cy, double *sum, double *sqr)
{
    if (cx - TEMPLATE_SIZE < 0 || cx + TEMPLATE_SIZE >= t->w)
        return -1;
    if (cy - TEMPLATE_SIZE < 0 || cy + TEMPLATE_SIZE >= t->h)
        return -1;
    *sum = query(t->sum, t->w, cx - TEMPLATE_SIZE, cy - TEMPLATE_SIZE, cx + TEMPLATE_SIZE,
                 cy + TEMPLATE_SIZE);
    *sqr = query(t->sqr, t->w, cx - TEMPLATE_SIZE, cy - TEMPLATE_SIZE, cx + TEMPLATE_SIZE,
                 cy + TEMPLATE_SIZE);
    return 0;
}

/* _templateVar: returns 0 and the template's vlen, or -1 for JS's null. */
static int template_var(const track_t *t, int cx, int cy, double sd_thresh, double *vlen)
{
    double s, v;

    if (window_sums(t, cx, cy, &s, &v) != 0)
        return -1;
    double average = s / TEMPLATE_PIXELS;
    v -= 2 * average * s;
    v += TEMPLATE_PIXELS * average * average;
    if (v / TEMPLATE_PIXELS < sd_thresh * sd_thresh)
        return -1;
    *vlen = sqrt(v);
    return 0;
}

/* The template side of a similarity: its vlen and the mean of its pixels. */
typedef struct tmpl_s {
    double vlen;
    double avg;
} tmpl_t;

/* _templateVar for the template at (tx, ty), plus its mean; -1 for null. */
static int template_init(const track_t *t, int tx, int ty, double sd_thresh, tmpl_t *tp)
{
    double s, q;

    if (template_var(t, tx, ty, sd_thresh, &tp->vlen) != 0)
        return -1;
    window_sums(t, tx, ty, &s, &q);
    tp->avg = s / TEMPLATE_PIXELS;
    return 0;
}

/* _getSimilarity of the window at (cx, cy) with a template, from the exact
 * correlation sum sxy: returns 0 and sim, or -1 for null. */
static int similarity(const track_t *t, int cx, int cy, const tmpl_t *tp, double sxy, double *sim)
{
    double sx, sxx;

    if (window_sums(t, cx, cy, &sx, &sxx) != 0)
        return -1;
    double vlen = tp->vlen;
    sxy -= tp->avg * sx;
    double vlen2 = sxx - sx * sx / TEMPLATE_PIXELS;
    if (vlen2 == 0)
        return -1;
    vlen2 = sqrt(vlen2);
    *sim = 1.0 * sxy / (vlen * vlen2);
    return 0;
}

/* The correlation of the template at (tx, ty) with the windows centred at
 * (tx + ii, ty + dy) for ii = -10..10, into out[ii + 10]. Reads the padded
 * image; offsets whose window leaves the image get meaningless sums, which
 * similarity() then rejects as JS does.
 *
 * Written with GCC vector types: each template pixel multiplies 16 + 8
 * neighbouring pixels at once in 16 bits (255 * 255 fits) and the products
 * are widened into 32-bit sums, which are exact. */
typedef uint8_t v16u8 __attribute__((vector_size(16)));
typedef uint8_t v8u8 __attribute__((vector_size(8)));
typedef uint16_t v16u16 __attribute__((vector_size(32)));
typedef uint16_t v8u16 __attribute__((vector_size(16)));
typedef uint32_t v8u32 __attribute__((vector_size(32)));

ARC_HOT static void correlate_row(const track_t *t, int tx, int ty, int dy, int32_t out[LANES])
{
    v8u32 acc0 = {0}, acc1 = {0}, acc2 = {0};
    const int pw = t->pw;

    for (int r = 0; r < TEMPLATE_WIDTH; r++) {
        const uint8_t *trow = t->pad + (size_t)(ty - TEMPLATE_SIZE + r + PAD) * (size_t)pw +
                              (tx - TEMPLATE_SIZE + PAD);
        const uint8_t *srow = t->pad + (size_t)(ty + dy - TEMPLATE_SIZE + r + PAD) * (size_t)pw +
                              (tx - TEMPLATE_SIZE - SEARCH_SIZE1 + PAD);
        for (int c = 0; c < TEMPLATE_WIDTH; c++) {
            v16u8 a;
            v8u8 b;
            memcpy(&a, srow + c, sizeof(a));
            memcpy(&b, srow + c + 16, sizeof(b));
            v16u16 pa = __builtin_convertvector(a, v16u16) * (uint16_t)trow[c];
            v8u16 pb = __builtin_convertvector(b, v8u16) * (uint16_t)trow[c];
            v8u16 lo = {pa[0], pa[1], pa[2], pa[3], pa[4], pa[5], pa[6], pa[7]};
            v8u16 hi = {pa[8], pa[9], pa[10], pa[11], pa[12], pa[13], pa[14], pa[15]};
            acc0 += __builtin_convertvector(lo, v8u32);
            acc1 += __builtin_convertvector(hi, v8u32);
            acc2 += __builtin_convertvector(pb, v8u32);
        }
    }
    memcpy(out, &acc0, sizeof(acc0));
    memcpy(out + 8, &acc1, sizeof(acc1));
    memcpy(out + 16, &acc2, sizeof(acc2));
}

/* Exact sum of products for one offset pair (the selection step's few). */
static double correlate_one(const track_t *t, int cx, int cy, int tx, int ty)
{
    int64_t s = 0;

    for (int r = -TEMPLATE_SIZE; r <= TEMPLATE_SIZE; r++) {
        const uint8_t *a = t->img + (size_t)(cy + r) * (size_t)t->w + (cx - TEMPLATE_SIZE);
        const uint8_t *b = t->img + (size_t)(ty + r) * (size_t)t->w + (tx - TEMPLATE_SIZE);
        for (int c = 0; c < TEMPLATE_WIDTH; c++)
            s += (int32_t)a[c] * (int32_t)b[c];
    }
    return (double)s;
}

static void prefix_sums(track_t *t)
{
    size_t s = (size_t)t->w + 1;

    t->sum = arc_xcalloc(s * ((size_t)t->h + 1), sizeof(int64_t));
    t->sqr = arc_xcalloc(s * ((size_t)t->h + 1), sizeof(int64_t));
    for (int y = 0; y < t->h; y++) {
        int64_t rs = 0, rq = 0;
        for (int x = 0; x < t->w; x++) {
            int64_t v = t->img[(size_t)y * (size_t)t->w + (size_t)x];
            rs += v;
            rq += v * v;
            t->sum[(size_t)(y + 1) * s + (size_t)(x + 1)] =
                t->sum[(size_t)y * s + (size_t)(x + 1)] + rs;
            t->sqr[(size_t)(y + 1) * s + (size_t)(x + 1)] =
                t->sqr[(size_t)y * s + (size_t)(x + 1)] + rq;
        }
    }
}

/* The max similarity of a candidate with its surroundings (Step 2 of
 * extract()), as the float32 the feature map stores; 1.0 when its template is
 * too flat.
 *
 * Only values below 0.9 ever matter: _selectFeature() never looks at the
 * others. JS stops at the first similarity above 0.95 and stores the running
 * maximum, so whenever the stored value is below 0.9 it never stopped early
 * and the value is the maximum over all offsets, in any order. The search
 * therefore visits the rows nearest the candidate first (where similar
 * windows are) and gives up, storing 1.0, as soon as the maximum can no
 * longer round below 0.9. */
static float feature_value(const track_t *t, int i, int j)
{
    static const int row_order[2 * SEARCH_SIZE1 + 1] = {0, 1,  -1, 2,  -2, 3,  -3, 4,  -4, 5,  -5,
                                                        6, -6, 7,  -7, 8,  -8, 9,  -9, 10, -10};
    tmpl_t tp;

    if (template_init(t, i, j, TEMPLATE_SD_THRESH, &tp) != 0)
        return 1.0f;
    double max = -1.0;
    for (int r = 0; r < 2 * SEARCH_SIZE1 + 1; r++) {
        int jj = row_order[r];
        int32_t sums[LANES];
        correlate_row(t, i, j, jj, sums);
        for (int ii = -SEARCH_SIZE1; ii <= SEARCH_SIZE1; ii++) {
            double sim;
            if (ii * ii + jj * jj <= SEARCH_SIZE2 * SEARCH_SIZE2)
                continue;
            if (similarity(t, i + ii, j + jj, &tp, sums[ii + SEARCH_SIZE1], &sim) != 0)
                continue;
            if (sim > max)
                max = sim;
        }
        if ((double)(float)max >= MAX_THRESH)
            return 1.0f;
    }
    return (float)max;
}

typedef struct cand_s {
    float v;
    uint32_t pos;
} cand_t;

static int cmp_cand(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

void arc__tracking_extract(const uint8_t *img, int w, int h, arc_mind_tpoint_t **pts, size_t *n)
{
    size_t npx = (size_t)w * (size_t)h;
    track_t t = {.img = img, .w = w, .h = h};
    float *dvalue = arc_xmallocarray(npx, sizeof(float));
    uint8_t *selected = arc_xcalloc(npx, 1);
    float *fmap = arc_xmallocarray(npx, sizeof(float));
    uint32_t hist[1000] = {0};
    cand_t *cands = NULL;
    size_t ncand = 0, cap = 0, count = 0;

    *pts = NULL;
    *n = 0;

    /* Step 1.1: the gradient value, -1 on the border. */
    for (size_t i = 0; i < npx; i++)
        dvalue[i] = -1;
    for (int y = 1; y < h - 1; y++) {
        for (int x = 1; x < w - 1; x++) {
            size_t pos = (size_t)y * (size_t)w + (size_t)x;
            int dx = 0, dy = 0;
            for (int k = -1; k <= 1; k++) {
                dx += img[pos + (size_t)((ptrdiff_t)w * k + 1)] -
                      img[pos + (size_t)((ptrdiff_t)w * k - 1)];
                dy += img[pos + (size_t)w + (size_t)k] - img[pos - (size_t)w + (size_t)k];
            }
            double fx = dx / 768.0, fy = dy / 768.0;
            dvalue[pos] = (float)sqrt((fx * fx + fy * fy) / 2);
        }
    }

    /* Step 1.2: local maxima over the 4-neighbourhood, and the histogram that
     * keeps about the top 2%. */
    for (int y = 1; y < h - 1; y++) {
        for (int x = 1; x < w - 1; x++) {
            size_t pos = (size_t)y * (size_t)w + (size_t)x;
            float v = dvalue[pos];
            if (v <= dvalue[pos - 1] || v <= dvalue[pos + 1] || v <= dvalue[pos - (size_t)w] ||
                v <= dvalue[pos + (size_t)w])
                continue;
            double kk = floor((double)v * 1000);
            int k = kk > 999 ? 999 : (kk < 0 ? 0 : (int)kk);
            hist[k]++;
            selected[pos] = 1;
        }
    }
    double max_points = 0.02 * w * h;
    int k = 999;
    uint64_t filtered = 0;
    while (k >= 0) {
        filtered += hist[k];
        if ((double)filtered > max_points)
            break;
        k--;
    }
    for (size_t i = 0; i < npx; i++)
        if (selected[i] && (double)dvalue[i] * 1000 < k)
            selected[i] = 0;

    /* Step 2: the feature map, over a zero-padded copy for correlate_row(). */
    prefix_sums(&t);
    t.pw = w + 2 * PAD + LANES;
    t.pad = arc_xcalloc((size_t)t.pw * (size_t)(h + 2 * PAD), 1);
    for (int y = 0; y < h; y++)
        memcpy(t.pad + (size_t)(y + PAD) * (size_t)t.pw + PAD, img + (size_t)y * (size_t)w,
               (size_t)w);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t pos = (size_t)y * (size_t)w + (size_t)x;
            fmap[pos] = selected[pos] ? feature_value(&t, x, y) : 1.0f;
            if (fmap[pos] < MAX_THRESH) {
                if (ncand == cap) {
                    cap = cap ? cap * 2 : 256;
                    cands = arc_xrealloc(cands, cap, sizeof(*cands));
                }
                cands[ncand].v = fmap[pos];
                cands[ncand].pos = (uint32_t)pos;
                ncand++;
            }
        }
    }

    /* Step 2.2, _selectFeature. Each round scans for the first pixel (row
     * major) strictly below the running minimum, which starts at 0.9: that is
     * the smallest value, earliest on ties. Values only ever rise to 1.0, so
     * walking the candidates sorted by (value, position) and skipping those
     * since set to 1.0 visits them in the same order. */
    if (ncand > 0)
        qsort(cands, ncand, sizeof(*cands), cmp_cand);
    int occ = (w < h ? w : h) / 10;
    int div = TEMPLATE_WIDTH * 3;
    double max_features =
        occ > 0 ? (double)(w / occ) * (double)(h / occ) + (double)(w / div) * (double)(h / div) : 0;
    size_t out_cap = 16;
    arc_mind_tpoint_t *out = arc_xmallocarray(out_cap, sizeof(*out));
    for (size_t c = 0; c < ncand && (double)count < max_features; c++) {
        size_t pos = cands[c].pos;
        if (fmap[pos] >= 1.0f)
            continue; /* covered by an earlier point's occupancy square */
        int cx = (int)(pos % (size_t)w), cy = (int)(pos / (size_t)w);
        double min_sim = fmap[pos];
        tmpl_t tp;
        if (template_init(&t, cx, cy, 0, &tp) != 0 || tp.vlen / TEMPLATE_WIDTH < SD_THRESH) {
            fmap[pos] = 1.0f;
            continue;
        }
        double mn = 1.0, mx = -1.0;
        int reject = 0;
        for (int j = -SEARCH_SIZE2; j <= SEARCH_SIZE2 && !reject; j++) {
            for (int i = -SEARCH_SIZE2; i <= SEARCH_SIZE2; i++) {
                if (i * i + j * j > SEARCH_SIZE2 * SEARCH_SIZE2 || (i == 0 && j == 0))
                    continue;
                double sim;
                if (cx + i - TEMPLATE_SIZE < 0 || cx + i + TEMPLATE_SIZE >= w ||
                    cy + j - TEMPLATE_SIZE < 0 || cy + j + TEMPLATE_SIZE >= h)
                    continue;
                double sxy = correlate_one(&t, cx + i, cy + j, cx, cy);
                if (similarity(&t, cx + i, cy + j, &tp, sxy, &sim) != 0)
                    continue;
                if (sim < mn) {
                    mn = sim;
                    if (mn < MIN_THRESH && mn < min_sim) {
                        reject = 1;
                        break;
                    }
                }
                if (sim > mx) {
                    mx = sim;
                    if (mx > 0.99) {
                        reject = 1;
                        break;
                    }
                }
            }
        }
        if (reject) {
            fmap[pos] = 1.0f;
            continue;
        }
        if (count == out_cap) {
            out_cap *= 2;
            out = arc_xrealloc(out, out_cap, sizeof(*out));
        }
        out[count].x = cx;
        out[count].y = cy;
        count++;
        for (int j = -occ; j <= occ; j++) {
            for (int i = -occ; i <= occ; i++) {
                if (cy + j < 0 || cy + j >= h || cx + i < 0 || cx + i >= w)
                    continue;
                fmap[(size_t)(cy + j) * (size_t)w + (size_t)(cx + i)] = 1.0f;
            }
        }
    }
    *pts = out;
    *n = count;
    free(dvalue);
    free(selected);
    free(fmap);
    free(cands);
    free(t.sum);
    free(t.sqr);
    free(t.pad);
}
