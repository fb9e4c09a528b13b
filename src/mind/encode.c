/*
 * The .mind encoder: MindAR's exportData() object, written as @msgpack/msgpack
 * 2.8.0 writes it, with msgpack-c's packer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "arcd/mind.h"

/* @msgpack/msgpack picks the encoding per value: a safe integer (including -0)
 * takes the smallest integer form, anything else (NaN, infinities and
 * fractions included) is a float64. */
static void pack_number(msgpack_packer *pk, double v)
{
    if (isfinite(v) && v == trunc(v) && fabs(v) <= 9007199254740991.0) {
        if (v >= 0)
            msgpack_pack_uint64(pk, (uint64_t)v);
        else
            msgpack_pack_int64(pk, (int64_t)v);
    } else {
        msgpack_pack_double(pk, v);
    }
}

static void pack_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);

    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, key, n);
}

static void pack_node(msgpack_packer *pk, const arc_mind_node_t *node)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "centerPointIndex");
    if (node->center < 0) {
        msgpack_pack_nil(pk);
    } else {
        /* Object.keys() hands the child's centre over as a string. */
        char num[32];
        int n = snprintf(num, sizeof(num), "%lld", (long long)node->center);
        msgpack_pack_str(pk, (size_t)n);
        msgpack_pack_str_body(pk, num, (size_t)n);
    }
    pack_key(pk, "leaf");
    if (node->leaf) {
        msgpack_pack_true(pk);
        pack_key(pk, "pointIndexes");
        msgpack_pack_array(pk, node->count);
        for (size_t i = 0; i < node->count; i++)
            msgpack_pack_uint32(pk, node->points[i]);
    } else {
        msgpack_pack_false(pk);
        pack_key(pk, "children");
        msgpack_pack_array(pk, node->count);
        for (size_t i = 0; i < node->count; i++)
            pack_node(pk, &node->children[i]);
    }
}

static void pack_points(msgpack_packer *pk, const arc_mind_point_t *pts, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        const arc_mind_point_t *p = &pts[i];
        msgpack_pack_map(pk, 6);
        pack_key(pk, "maxima");
        if (p->maxima)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        pack_key(pk, "x");
        pack_number(pk, p->x);
        pack_key(pk, "y");
        pack_number(pk, p->y);
        pack_key(pk, "scale");
        pack_number(pk, p->scale);
        pack_key(pk, "angle");
        pack_number(pk, p->angle);
        pack_key(pk, "descriptors");
        msgpack_pack_array(pk, ARC_MIND_DESC_WORDS);
        for (int w = 0; w < ARC_MIND_DESC_WORDS; w++)
            msgpack_pack_uint32(pk, p->desc[w]);
    }
}

static void pack_tree(msgpack_packer *pk, const arc_mind_node_t *root)
{
    msgpack_pack_map(pk, 1);
    pack_key(pk, "rootNode");
    pack_node(pk, root);
}

static void pack_target(msgpack_packer *pk, const arc_mind_target_t *t)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "targetImage");
    msgpack_pack_map(pk, 2);
    pack_key(pk, "width");
    pack_number(pk, t->width);
    pack_key(pk, "height");
    pack_number(pk, t->height);

    pack_key(pk, "trackingData");
    msgpack_pack_array(pk, t->n_tracking);
    for (size_t i = 0; i < t->n_tracking; i++) {
        const arc_mind_tracking_t *tr = &t->tracking[i];
        msgpack_pack_map(pk, 5);
        pack_key(pk, "data");
        msgpack_pack_bin(pk, tr->data_len);
        msgpack_pack_bin_body(pk, tr->data, tr->data_len);
        pack_key(pk, "scale");
        pack_number(pk, tr->scale);
        pack_key(pk, "width");
        pack_number(pk, tr->width);
        pack_key(pk, "height");
        pack_number(pk, tr->height);
        pack_key(pk, "points");
        msgpack_pack_array(pk, tr->n_points);
        for (size_t k = 0; k < tr->n_points; k++) {
            msgpack_pack_map(pk, 2);
            pack_key(pk, "x");
            pack_number(pk, tr->points[k].x);
            pack_key(pk, "y");
            pack_number(pk, tr->points[k].y);
        }
    }

    pack_key(pk, "matchingData");
    msgpack_pack_array(pk, t->n_keyframes);
    for (size_t i = 0; i < t->n_keyframes; i++) {
        const arc_mind_keyframe_t *kf = &t->keyframes[i];
        msgpack_pack_map(pk, 7);
        pack_key(pk, "maximaPoints");
        pack_points(pk, kf->maxima, kf->n_maxima);
        pack_key(pk, "minimaPoints");
        pack_points(pk, kf->minima, kf->n_minima);
        pack_key(pk, "maximaPointsCluster");
        pack_tree(pk, &kf->maxima_tree);
        pack_key(pk, "minimaPointsCluster");
        pack_tree(pk, &kf->minima_tree);
        pack_key(pk, "width");
        pack_number(pk, kf->width);
        pack_key(pk, "height");
        pack_number(pk, kf->height);
        pack_key(pk, "scale");
        pack_number(pk, kf->scale);
    }
}

/* msgpack_sbuffer_write fails only when it cannot grow: out of memory. */
static int write_or_abort(void *data, const char *buf, size_t len)
{
    if (msgpack_sbuffer_write(data, buf, len) != 0) {
        fprintf(stderr, "arcd: out of memory encoding a .mind\n");
        abort();
    }
    return 0;
}

int arc_mind_encode(const arc_mind_t *m, uint8_t **out, size_t *len)
{
    msgpack_sbuffer sbuf;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, write_or_abort);
    msgpack_pack_map(&pk, 2);
    pack_key(&pk, "v");
    pack_number(&pk, m->version);
    pack_key(&pk, "dataList");
    msgpack_pack_array(&pk, m->n_targets);
    for (size_t i = 0; i < m->n_targets; i++)
        pack_target(&pk, &m->targets[i]);
    *out = (uint8_t *)sbuf.data;
    *len = sbuf.size;
    return 0;
}
