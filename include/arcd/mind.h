/*
 * mind.h: the MindAR 1.2.5 image-target file (".mind", format version 2) in
 * memory, and its msgpack encoding and decoding.
 *
 * The encoder writes exactly what @msgpack/msgpack 2.8 writes for the JS objects
 * MindAR's CompilerBase.exportData() builds: keys in insertion order, every
 * integral number in its smallest integer form and every other number as
 * float64, tracking pixels as bin, the root cluster's centre as nil and every
 * other centre as a decimal string. The decoder reads any version-2 file into
 * the same structures (it is what `arcd inspect` and the fidelity tests use),
 * and rejects anything else with a readable message.
 *
 * Ownership: an arc_mind_t owns everything below it; free it with
 * arc_mind_free(). Pure computation, no I/O except arc_mind_load().
 */
#ifndef ARCD_MIND_H
#define ARCD_MIND_H

#include <stddef.h>
#include <stdint.h>

#include "arcd/error.h"

#define ARC_MIND_VERSION 2
#define ARC_MIND_DESC_WORDS 21 /* 666 FREAK comparisons in 32-bit words */

/* One matching feature point of a keyframe. */
typedef struct arc_mind_point_s {
    double x, y;  /* in keyframe pixels */
    double scale; /* 2^octave */
    double angle; /* radians, a float32 value */
    uint32_t desc[ARC_MIND_DESC_WORDS];
    int maxima; /* 1 for a DoG maximum, 0 for a minimum */
} arc_mind_point_t;

/* A node of a hierarchical k-medoids tree over a keyframe's point list. */
typedef struct arc_mind_node_s {
    int64_t center; /* index of the centre point; -1 for the root (null) */
    int leaf;
    size_t count;                     /* points (leaf) or children (inner node) */
    uint32_t *points;                 /* leaf: point indexes */
    struct arc_mind_node_s *children; /* inner node */
} arc_mind_node_t;

typedef struct arc_mind_keyframe_s {
    arc_mind_point_t *maxima;
    size_t n_maxima;
    arc_mind_point_t *minima;
    size_t n_minima;
    arc_mind_node_t maxima_tree;
    arc_mind_node_t minima_tree;
    int width, height;
    double scale;
} arc_mind_keyframe_t;

typedef struct arc_mind_tpoint_s {
    double x, y; /* integral in files MindAR writes */
} arc_mind_tpoint_t;

/* One tracking image: the grey pixels themselves and the template points. */
typedef struct arc_mind_tracking_s {
    uint8_t *data;
    size_t data_len;
    double scale;
    int width, height;
    arc_mind_tpoint_t *points;
    size_t n_points;
} arc_mind_tracking_t;

typedef struct arc_mind_target_s {
    int width, height;
    arc_mind_tracking_t *tracking;
    size_t n_tracking;
    arc_mind_keyframe_t *keyframes;
    size_t n_keyframes;
} arc_mind_target_t;

typedef struct arc_mind_s {
    int version;
    arc_mind_target_t *targets;
    size_t n_targets;
} arc_mind_t;

/* Returns a new empty file with n_targets zeroed targets; free with arc_mind_free(). */
arc_mind_t *arc_mind_create(size_t n_targets);

/* Frees m and everything it owns; accepts NULL. */
void arc_mind_free(arc_mind_t *m);

/* Frees what a node owns (not the node itself); accepts NULL. */
void arc_mind_node_dispose(arc_mind_node_t *node);

/*
 * Encodes m as MindAR's msgpack. Returns 0 and an owned buffer in *out (free
 * with free()) of *len bytes.
 */
int arc_mind_encode(const arc_mind_t *m, uint8_t **out, size_t *len);

/*
 * Decodes a .mind held in buf (borrowed). Returns 0 and an owned file in *out
 * (free with arc_mind_free()), or ARC_EEMPTY / ARC_EFORMAT (not msgpack, not a
 * .mind, or a version other than 2) / ARC_ECORRUPT (a .mind with a missing or
 * malformed field) with the reason in err.
 */
int arc_mind_decode(const uint8_t *buf, size_t len, arc_mind_t **out, arc_err_t *err);

/* Reads and decodes path; ARC_EIO when it cannot be read. */
int arc_mind_load(const char *path, arc_mind_t **out, arc_err_t *err);

/* Counts and depth of a tree: nodes, leaves, deepest level (root = 1). */
void arc_mind_tree_stats(const arc_mind_node_t *root, size_t *nodes, size_t *leaves, size_t *depth);

/* 1 when two trees are identical (centres, leaf flags, point lists, order). */
int arc_mind_tree_equal(const arc_mind_node_t *a, const arc_mind_node_t *b);

/* The outcome of comparing a candidate file with a reference, feature by
 * feature, with the rules of the reference tool's `run compare`. */
typedef struct arc_mind_cmp_s {
    int structure_ok;
    size_t ref_points, cand_points;
    size_t position_matched; /* within 0.05 px at the same scale */
    size_t fully_matched;    /* and angle within 1e-3 and identical descriptors */
    size_t tracking_levels, tracking_data_identical;
    size_t tracking_ref_points, tracking_cand_points, tracking_matched;
    size_t trees_compared, trees_identical;
    double keypoint_agreement; /* percent of max(ref, cand) points fully matched */
    double tracking_agreement; /* percent of max(ref, cand) tracking points matched */
} arc_mind_cmp_t;

/* Compares cand against ref; when log is not NULL, the first differences are
 * described on it, one line each. Never fails. */
void arc_mind_compare(const arc_mind_t *ref, const arc_mind_t *cand, arc_mind_cmp_t *out,
                      void *log /* FILE * */);

#endif
