/*
 * compiler.h: the native MindAR 1.2.5 image-target compiler.
 *
 * arc_compile() turns grey images into the same .mind data MindAR 1.2.5's
 * CompilerBase.compileImageTargets() builds on the tfjs CPU backend: for each
 * target, its matching keyframes (feature points with FREAK descriptors and
 * their k-medoids trees) and its two tracking images with template points.
 * The work is split into one task per keyframe and per tracking image and run
 * on a pool of threads; the result does not depend on the thread count.
 *
 * Runs in the CLI and in worker processes (never on the daemon's loop: it is
 * the heavy part). Design notes: docs/compiler.md.
 */
#ifndef ARCD_COMPILER_H
#define ARCD_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arcd/error.h"
#include "arcd/image.h"
#include "arcd/mind.h"

/* The compiler's version, part of the compiled-marker cache key. */
#define ARC_COMPILER_VERSION "arcd-mindar-1.2.5-port.1"

/* The short side below which MindAR's detector has no pyramid (and crashes). */
#define ARC_COMPILE_MIN_SIDE 8

/* Progress in percent (0-100), called from worker threads one call at a time,
 * never after arc_compile() returns. */
typedef void (*arc_compile_progress_cb)(void *arg, double percent);

typedef struct arc_compile_opts_s {
    int threads;         /* 0: the number of online CPUs */
    uint64_t max_pixels; /* limit on every image the compiler builds; 0: default */
    arc_compile_progress_cb progress;
    void *progress_arg;
} arc_compile_opts_t;

/*
 * Checks that MindAR can compile a width x height target within max_pixels:
 * the short side must be at least ARC_COMPILE_MIN_SIDE, and neither the
 * keyframes (MindAR scales the short side to 100 px, up if need be) nor the
 * tracking images (256 px on the short side) may exceed the limit. Returns 0,
 * ARC_ETOOSMALL or ARC_ETOOBIG with the reason in err.
 */
int arc_compile_check(int width, int height, uint64_t max_pixels, arc_err_t *err);

/*
 * Compiles n targets (borrowed; the pixels must stay valid until it returns)
 * into a new .mind, targets in input order. opts may be NULL. Returns 0 and
 * *out (owned, free with arc_mind_free()), or the error of arc_compile_check()
 * for the first target that fails it.
 */
int arc_compile(const arc_image_t *targets, size_t n, const arc_compile_opts_t *opts,
                arc_mind_t **out, arc_err_t *err);

/*
 * Trackability, which no MindAR tool tells: how well a compiled target is
 * likely to be found and followed. From the matching keypoints (how many,
 * over all keyframes), their spread (the share of a 10 x 10 grid over the
 * target holding at least one) and the tracking points of the full-size
 * tracking image, a score of 0-100 and 0-5 stars; a flat image scores 0.
 * Calibrated on MindAR's example targets (docs/compiler.md).
 */
typedef struct arc_rating_s {
    int score; /* 0-100 */
    int stars; /* 0-5 */
    size_t keypoints;
    double coverage; /* 0-1 */
    size_t tracking_points;
    size_t n_reasons;
    char reasons[3][160]; /* why it may not track, when stars < 3 */
} arc_rating_t;

void arc_rating_compute(const arc_mind_target_t *t, arc_rating_t *out);

/* {score, stars, keypoints, coverage, trackingPoints[, warnings]} (new reference). */
json_t *arc_rating_json(const arc_rating_t *r);

#endif
