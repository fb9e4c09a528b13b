/*
 * compiler_internal.h: the stages of the MindAR 1.2.5 compiler port, shared by
 * the files of workers/compiler/ and by their unit tests. Not a public API.
 *
 * Every stage mirrors one part of mind-ar/src/image-target and names it. The
 * exactness rules (where JS rounds to float32, where it computes in double, the
 * order of every sum) are in docs/compiler.md; the code keeps intermediates in
 * double and casts to float exactly where MindAR rounds.
 */
#ifndef ARCD_COMPILER_INTERNAL_H
#define ARCD_COMPILER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "arcd/mind.h"

/* Hot loops get an AVX2 clone picked at load time; the arithmetic is the same
 * IEEE double/float arithmetic either way (no FMA: -ffp-contract=off). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ARC_NO_CLONES)
#define ARC_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ARC_HOT
#endif

/* v clamped to [lo, hi]: the kernels' edge-replicating reads. */
static inline int arc__clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#define ARC_MAX_SCALES 64
#define ARC_PYRAMID_MAX_OCTAVES 5
#define ARC_PRUNE_ROWS 500 /* 10 x 10 buckets x 5 features */

/* ---- fdmath.c: Math.sin, Math.cos and Math.atan2 as Node 20 computes them ---- */

double arc__sin(double x);
double arc__cos(double x);
double arc__atan2(double y, double x);

/* ---- image_list.c: utils/images.js resize() and image-list.js ---- */

/* buildImageList()'s scales, largest (1) first. Returns how many (<= cap). */
size_t arc__matching_scales(int width, int height, double *scales, size_t cap);

/* buildTrackingImageList()'s two scales: 256 and 128 px on the short side. */
void arc__tracking_scales(int width, int height, double scales[2]);

/* resize()'s output size: Math.round(width * ratio) x Math.round(height * ratio). */
void arc__resize_dims(int width, int height, double ratio, int *out_w, int *out_h);

/* resize(): box average over MindAR's windows, floor of the mean; an empty
 * window (upscaling) gives 0 as JS's NaN does. dst holds out_w x out_h. */
void arc__resize(const uint8_t *src, int width, int height, double ratio, uint8_t *dst, int out_w,
                 int out_h);

/* The summed-area table behind resize(): (width + 1) x (height + 1) sums,
 * modulo 2^32. Owned; free with free(). */
uint32_t *arc__integral(const uint8_t *src, int width, int height);

/* resize() from a table made by arc__integral(), for sharing one table
 * among all of a target's images. */
void arc__resize_integral(const uint8_t *src, const uint32_t *integral, int width, int height,
                          double ratio, uint8_t *dst, int out_w, int out_h);

/* ---- pyramid.c: the BinomialFilter and DownsampleBilinear kernels ---- */

/* Detector constructor: octaves while both sides >= 8 (real halving), at most 5. */
int arc__num_octaves(int width, int height);

/* [1 4 6 4 1] x [1 4 6 4 1] / 256 with edge replication; out is w x h. */
void arc__binomial_u8(const uint8_t *in, int w, int h, float *out);
void arc__binomial_f32(const float *in, int w, int h, float *out);

/* 2x2 mean into floor(w/2) x floor(h/2), accumulated in float32 as the JS does. */
void arc__downsample(const float *in, int w, int h, float *out);

/* a -= b, elementwise in float32 (the DoG image). */
void arc__subtract(float *a, const float *b, size_t n);

/* The UpsampleBilinear kernel's output (j, i), reading in (w x h).
 *
 * sj = fround(0.5 j) - 0.25 lands a quarter pixel off the grid, so the weights
 * are 0.25 / 0.75 by parity and their float32 products exact: even j reads
 * rows j/2 - 1 (weight 0.25) and j/2 (0.75), odd j reads (j-1)/2 (0.75) and
 * (j+1)/2 (0.25). Reads clamp, weights do not. The four terms are summed in
 * double in the kernel's order and rounded once. */
static inline float arc__upsample_at(const float *in, int w, int h, int j, int i)
{
    int j0 = (j & 1) ? (j - 1) / 2 : j / 2 - 1;
    int i0 = (i & 1) ? (i - 1) / 2 : i / 2 - 1;
    double wj0 = (j & 1) ? 0.75 : 0.25, wj1 = 1.0 - wj0; /* sj1 - sj, sj - sj0 */
    double wi0 = (i & 1) ? 0.75 : 0.25, wi1 = 1.0 - wi0; /* si1 - si, si - si0 */
    int r0 = j0 < 0 ? 0 : (j0 > h - 1 ? h - 1 : j0);
    int r1 = j0 + 1 > h - 1 ? h - 1 : j0 + 1;
    int c0 = i0 < 0 ? 0 : (i0 > w - 1 ? w - 1 : i0);
    int c1 = i0 + 1 > w - 1 ? w - 1 : i0 + 1;
    double s = 0.0;

    s += (double)in[(size_t)r0 * (size_t)w + (size_t)c0] * (wi0 * wj0);
    s += (double)in[(size_t)r1 * (size_t)w + (size_t)c0] * (wi0 * wj1);
    s += (double)in[(size_t)r0 * (size_t)w + (size_t)c1] * (wi1 * wj0);
    s += (double)in[(size_t)r1 * (size_t)w + (size_t)c1] * (wi1 * wj1);
    return (float)s;
}

/* ---- detector.c, orientation.c, freak.c: one keyframe's feature points ---- */

typedef struct arc__pyramid_s {
    int n; /* octaves */
    int w[ARC_PYRAMID_MAX_OCTAVES];
    int h[ARC_PYRAMID_MAX_OCTAVES];
    float *gauss[ARC_PYRAMID_MAX_OCTAVES]; /* B_i (second blur), octaves >= 1 */
    float *dog[ARC_PYRAMID_MAX_OCTAVES];   /* A_i - B_i, octaves >= 1 */
    float *dog0_down;                      /* downsample(DoG_0), for octave 1's extrema */
} arc__pyramid_t;

/* One pruned, localised extremum: the float32 row of prunedExtremasT. */
typedef struct arc__extremum_s {
    float score;
    int octave;
    float y, x;
} arc__extremum_t;

void arc__pyramid_build(const uint8_t *img, int w, int h, arc__pyramid_t *p);
void arc__pyramid_dispose(arc__pyramid_t *p);

/* _buildExtremas + ExtremaReduction + _applyPrune + _computeLocalization:
 * fills rows[ARC_PRUNE_ROWS], empty slots with score 0. */
void arc__extrema_prune_localize(const arc__pyramid_t *p, arc__extremum_t *rows);

/* The orientation radial table: 69 entries of (y, x, float32 weight). */
typedef struct arc__radial_s {
    int y, x;
    float w;
} arc__radial_t;
size_t arc__radial_table(arc__radial_t *out, size_t cap);

/* ComputeOrientationHistograms + SmoothHistograms + ComputeExtremaAngles for
 * one extremum: the float32 angle. */
float arc__orientation(const arc__pyramid_t *p, const arc__extremum_t *e);

/* The 37 FREAK sample values (ComputeExtremaFreak) and the 666-comparison
 * descriptor packed into 21 words (ComputeFreakDescriptors + detect()). */
void arc__freak_sample(const arc__pyramid_t *p, const arc__extremum_t *e, float angle,
                       float values[37]);
void arc__freak_descriptor(const float values[37], uint32_t desc[21]);

/* Detector.detect() on one keyframe image: maxima then minima in the order
 * MindAR emits them. Owned arrays, free with free(). */
void arc__detect(const uint8_t *img, int w, int h, arc_mind_point_t **maxima, size_t *n_maxima,
                 arc_mind_point_t **minima, size_t *n_minima);

/* ---- clustering.c: matching/hierarchical-clustering.js ---- */

/* The randomizer of utils/randomizer.js: seed 1234, MSVC's LCG. */
typedef struct arc__rand_s {
    uint64_t seed;
} arc__rand_t;
void arc__rand_init(arc__rand_t *r);
uint32_t arc__rand_next(arc__rand_t *r); /* (seed >> 16) & 0x7fff after one step */

/* build({points}): the k-medoids tree over pts; root owned by the caller
 * (arc_mind_node_dispose()). */
void arc__cluster_build(const arc_mind_point_t *pts, size_t n, arc_mind_node_t *root);

/* ---- tracking.c: tracker/extract.js ---- */

/* extract(): the tracking template points of one tracking image. Owned array. */
void arc__tracking_extract(const uint8_t *img, int w, int h, arc_mind_tpoint_t **pts, size_t *n);

#endif
