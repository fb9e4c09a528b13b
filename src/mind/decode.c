/*
 * The .mind decoder: msgpack-c unpacks the file into its object tree, which is
 * then checked field by field and copied into an arc_mind_t. Every missing or
 * mistyped field is an error naming where it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "arcd/file.h"
#include "arcd/mind.h"

typedef struct walk_s {
    arc_err_t *err;
    char where[160];
} walk_t;

static int bad(walk_t *w, const char *what)
{
    return arc_err_set(w->err, ARC_ECORRUPT, "not a valid .mind: %s%s%s", w->where,
                       w->where[0] ? ": " : "", what);
}

static const msgpack_object *field(const msgpack_object *map, const char *key)
{
    size_t n = strlen(key);

    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == n &&
            memcmp(kv->key.via.str.ptr, key, n) == 0)
            return &kv->val;
    }
    return NULL;
}

static int as_number(const msgpack_object *o, double *v)
{
    if (o == NULL)
        return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return 0;
    default: return -1;
    }
}

static int num_field(walk_t *w, const msgpack_object *map, const char *key, double *v)
{
    if (as_number(field(map, key), v) != 0) {
        char what[64];
        snprintf(what, sizeof(what), "'%s' is missing or not a number", key);
        return bad(w, what);
    }
    return 0;
}

static int dim_field(walk_t *w, const msgpack_object *map, const char *key, int *v)
{
    double d;
    int rc = num_field(w, map, key, &d);

    if (rc != 0)
        return rc;
    if (!(d >= 0 && d <= 1e7) || d != (double)(int)d) {
        char what[64];
        snprintf(what, sizeof(what), "'%s' is not a plausible size", key);
        return bad(w, what);
    }
    *v = (int)d;
    return 0;
}

static const msgpack_object *array_field(walk_t *w, const msgpack_object *map, const char *key,
                                         int *rc)
{
    const msgpack_object *o = field(map, key);

    if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY) {
        char what[64];
        snprintf(what, sizeof(what), "'%s' is missing or not an array", key);
        *rc = bad(w, what);
        return NULL;
    }
    return o;
}

static int decode_node(walk_t *w, const msgpack_object *o, arc_mind_node_t *node, int depth)
{
    const msgpack_object *c = field(o, "centerPointIndex");
    const msgpack_object *leaf = field(o, "leaf");
    int rc = 0;

    if (o->type != MSGPACK_OBJECT_MAP || depth > 64)
        return bad(w, "a cluster node is not a map or nests too deep");
    if (c == NULL || c->type == MSGPACK_OBJECT_NIL) {
        node->center = -1;
    } else if (c->type == MSGPACK_OBJECT_STR) {
        char num[24];
        char *end = NULL;
        if (c->via.str.size == 0 || c->via.str.size >= sizeof(num))
            return bad(w, "a cluster centre is not a number");
        memcpy(num, c->via.str.ptr, c->via.str.size);
        num[c->via.str.size] = '\0';
        errno = 0;
        long long v = strtoll(num, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0)
            return bad(w, "a cluster centre is not a number");
        node->center = v;
    } else if (c->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        node->center = (int64_t)c->via.u64;
    } else {
        return bad(w, "a cluster centre is neither null, a string nor a number");
    }
    if (leaf == NULL || leaf->type != MSGPACK_OBJECT_BOOLEAN)
        return bad(w, "a cluster node has no boolean 'leaf'");
    node->leaf = leaf->via.boolean;
    if (node->leaf) {
        const msgpack_object *pts = array_field(w, o, "pointIndexes", &rc);
        if (pts == NULL)
            return rc;
        node->count = pts->via.array.size;
        node->points = arc_xmallocarray(node->count ? node->count : 1, sizeof(uint32_t));
        for (size_t i = 0; i < node->count; i++) {
            const msgpack_object *p = &pts->via.array.ptr[i];
            if (p->type != MSGPACK_OBJECT_POSITIVE_INTEGER || p->via.u64 > UINT32_MAX)
                return bad(w, "a point index is not a non-negative integer");
            node->points[i] = (uint32_t)p->via.u64;
        }
        return 0;
    }
    const msgpack_object *ch = array_field(w, o, "children", &rc);
    if (ch == NULL)
        return rc;
    node->count = ch->via.array.size;
    node->children = arc_xcalloc(node->count ? node->count : 1, sizeof(arc_mind_node_t));
    for (size_t i = 0; i < node->count; i++) {
        rc = decode_node(w, &ch->via.array.ptr[i], &node->children[i], depth + 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_points(walk_t *w, const msgpack_object *kf, const char *key,
                         arc_mind_point_t **out, size_t *n)
{
    int rc = 0;
    const msgpack_object *arr = array_field(w, kf, key, &rc);

    if (arr == NULL)
        return rc;
    *n = arr->via.array.size;
    *out = arc_xcalloc(*n ? *n : 1, sizeof(arc_mind_point_t));
    for (size_t i = 0; i < *n; i++) {
        const msgpack_object *p = &arr->via.array.ptr[i];
        arc_mind_point_t *pt = &(*out)[i];
        const msgpack_object *mx = field(p, "maxima");
        if (mx == NULL || mx->type != MSGPACK_OBJECT_BOOLEAN)
            return bad(w, "a feature point has no boolean 'maxima'");
        pt->maxima = mx->via.boolean;
        if ((rc = num_field(w, p, "x", &pt->x)) != 0 || (rc = num_field(w, p, "y", &pt->y)) != 0 ||
            (rc = num_field(w, p, "scale", &pt->scale)) != 0 ||
            (rc = num_field(w, p, "angle", &pt->angle)) != 0)
            return rc;
        const msgpack_object *d = field(p, "descriptors");
        if (d == NULL || d->type != MSGPACK_OBJECT_ARRAY ||
            d->via.array.size != ARC_MIND_DESC_WORDS)
            return bad(w, "a feature point's descriptors are not 21 words");
        for (int k = 0; k < ARC_MIND_DESC_WORDS; k++) {
            const msgpack_object *v = &d->via.array.ptr[k];
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > UINT32_MAX)
                return bad(w, "a descriptor word is not a 32-bit unsigned integer");
            pt->desc[k] = (uint32_t)v->via.u64;
        }
    }
    return 0;
}

static int decode_tree(walk_t *w, const msgpack_object *kf, const char *key, arc_mind_node_t *root)
{
    const msgpack_object *t = field(kf, key);
    const msgpack_object *r = t ? field(t, "rootNode") : NULL;

    if (r == NULL) {
        char what[80];
        snprintf(what, sizeof(what), "'%s' has no rootNode", key);
        return bad(w, what);
    }
    return decode_node(w, r, root, 0);
}

static int decode_target(walk_t *w, const msgpack_object *o, arc_mind_target_t *t, size_t ti)
{
    const msgpack_object *img = field(o, "targetImage");
    const msgpack_object *arr;
    int rc = 0;

    snprintf(w->where, sizeof(w->where), "target %zu", ti);
    if (o->type != MSGPACK_OBJECT_MAP)
        return bad(w, "not a map");
    if (img == NULL)
        return bad(w, "no targetImage");
    if ((rc = dim_field(w, img, "width", &t->width)) != 0 ||
        (rc = dim_field(w, img, "height", &t->height)) != 0)
        return rc;

    if ((arr = array_field(w, o, "trackingData", &rc)) == NULL)
        return rc;
    t->n_tracking = arr->via.array.size;
    t->tracking = arc_xcalloc(t->n_tracking ? t->n_tracking : 1, sizeof(*t->tracking));
    for (size_t i = 0; i < t->n_tracking; i++) {
        const msgpack_object *e = &arr->via.array.ptr[i];
        arc_mind_tracking_t *tr = &t->tracking[i];
        const msgpack_object *data = field(e, "data");
        const msgpack_object *pts;
        snprintf(w->where, sizeof(w->where), "target %zu tracking image %zu", ti, i);
        if ((rc = dim_field(w, e, "width", &tr->width)) != 0 ||
            (rc = dim_field(w, e, "height", &tr->height)) != 0 ||
            (rc = num_field(w, e, "scale", &tr->scale)) != 0)
            return rc;
        if (data == NULL || data->type != MSGPACK_OBJECT_BIN)
            return bad(w, "'data' is missing or not binary");
        if ((uint64_t)data->via.bin.size != (uint64_t)tr->width * (uint64_t)tr->height)
            return bad(w, "'data' does not hold width x height pixels");
        tr->data_len = data->via.bin.size;
        tr->data = arc_xmalloc(tr->data_len);
        if (tr->data_len > 0)
            memcpy(tr->data, data->via.bin.ptr, tr->data_len);
        if ((pts = array_field(w, e, "points", &rc)) == NULL)
            return rc;
        tr->n_points = pts->via.array.size;
        tr->points = arc_xcalloc(tr->n_points ? tr->n_points : 1, sizeof(*tr->points));
        for (size_t k = 0; k < tr->n_points; k++) {
            const msgpack_object *p = &pts->via.array.ptr[k];
            if ((rc = num_field(w, p, "x", &tr->points[k].x)) != 0 ||
                (rc = num_field(w, p, "y", &tr->points[k].y)) != 0)
                return rc;
        }
    }

    snprintf(w->where, sizeof(w->where), "target %zu", ti);
    if ((arr = array_field(w, o, "matchingData", &rc)) == NULL)
        return rc;
    t->n_keyframes = arr->via.array.size;
    t->keyframes = arc_xcalloc(t->n_keyframes ? t->n_keyframes : 1, sizeof(*t->keyframes));
    for (size_t i = 0; i < t->n_keyframes; i++) {
        const msgpack_object *e = &arr->via.array.ptr[i];
        arc_mind_keyframe_t *kf = &t->keyframes[i];
        snprintf(w->where, sizeof(w->where), "target %zu keyframe %zu", ti, i);
        if (e->type != MSGPACK_OBJECT_MAP)
            return bad(w, "not a map");
        if ((rc = dim_field(w, e, "width", &kf->width)) != 0 ||
            (rc = dim_field(w, e, "height", &kf->height)) != 0 ||
            (rc = num_field(w, e, "scale", &kf->scale)) != 0 ||
            (rc = decode_points(w, e, "maximaPoints", &kf->maxima, &kf->n_maxima)) != 0 ||
            (rc = decode_points(w, e, "minimaPoints", &kf->minima, &kf->n_minima)) != 0 ||
            (rc = decode_tree(w, e, "maximaPointsCluster", &kf->maxima_tree)) != 0 ||
            (rc = decode_tree(w, e, "minimaPointsCluster", &kf->minima_tree)) != 0)
            return rc;
    }
    return 0;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/*
 * Walks the msgpack encoding once without building anything and checks that
 * every length stays inside the buffer and that no container claims more
 * elements than there are bytes left (each element takes at least one).
 * msgpack-c allocates a container's elements as soon as it reads the header,
 * so without this a 5-byte file could make it reserve gigabytes.
 * Returns 0, 1 (ends early) or -1 (malformed).
 */
static int prescan(const uint8_t *buf, size_t len)
{
    uint64_t pending = 1;
    size_t pos = 0;

    while (pending > 0) {
        if (pos >= len)
            return 1;
        uint8_t t = buf[pos++];
        uint64_t items = 0, skip = 0;
        int hdr = 0;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            /* fixint, nil, booleans */
        } else if (t >= 0x80 && t <= 0x8f) {
            items = 2u * (t & 0x0f);
        } else if (t >= 0x90 && t <= 0x9f) {
            items = t & 0x0f;
        } else if (t >= 0xa0 && t <= 0xbf) {
            skip = t & 0x1f;
        } else {
            switch (t) {
            case 0xcc:
            case 0xd0: skip = 1; break;
            case 0xcd:
            case 0xd1: skip = 2; break;
            case 0xca:
            case 0xce:
            case 0xd2: skip = 4; break;
            case 0xcb:
            case 0xcf:
            case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xc4:
            case 0xd9: hdr = 1; break;
            case 0xc5:
            case 0xda: hdr = 2; break;
            case 0xc6:
            case 0xdb: hdr = 4; break;
            case 0xc7:
                hdr = 1;
                skip = 1;
                break;
            case 0xc8:
                hdr = 2;
                skip = 1;
                break;
            case 0xc9:
                hdr = 4;
                skip = 1;
                break;
            case 0xdc:
            case 0xde: hdr = 2; break;
            case 0xdd:
            case 0xdf: hdr = 4; break;
            default: return -1; /* 0xc1 is never used */
            }
            if (hdr > 0) {
                if (len - pos < (size_t)hdr)
                    return 1;
                uint64_t n = be(buf + pos, hdr);
                pos += (size_t)hdr;
                if (t == 0xdc || t == 0xdd)
                    items = n;
                else if (t == 0xde || t == 0xdf)
                    items = 2 * n;
                else
                    skip += n;
            }
        }
        if (items > len - pos)
            return -1;
        if (skip > len - pos)
            return 1;
        pos += (size_t)skip;
        pending = pending - 1 + items;
    }
    return 0;
}

int arc_mind_decode(const uint8_t *buf, size_t len, arc_mind_t **out, arc_err_t *err)
{
    msgpack_unpacked msg;
    walk_t w = {.err = err};
    arc_mind_t *m = NULL;
    const msgpack_object *root, *v, *list;
    size_t off = 0;
    double version = 0;
    int rc = 0;

    *out = NULL;
    if (len == 0)
        return arc_err_set(err, ARC_EEMPTY, "empty file");
    msgpack_unpacked_init(&msg);
    int scan = prescan(buf, len);
    if (scan == 1) {
        rc = arc_err_set(err, ARC_ECORRUPT, "not a valid .mind: the data ends early (truncated)");
        goto out;
    }
    if (scan < 0) {
        rc = arc_err_set(err, ARC_EFORMAT,
                         "not a .mind file: not well-formed msgpack (a length or element count "
                         "runs past the end of the file)");
        goto out;
    }
    msgpack_unpack_return ur = msgpack_unpack_next(&msg, (const char *)buf, len, &off);
    if (ur == MSGPACK_UNPACK_CONTINUE) {
        rc = arc_err_set(err, ARC_ECORRUPT, "not a valid .mind: the data ends early (truncated)");
        goto out;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS && ur != MSGPACK_UNPACK_EXTRA_BYTES) {
        rc = arc_err_set(err, ARC_EFORMAT, "not a .mind file: not msgpack data");
        goto out;
    }
    root = &msg.data;
    if (root->type != MSGPACK_OBJECT_MAP) {
        rc = arc_err_set(err, ARC_EFORMAT, "not a .mind file: it does not hold a msgpack map");
        goto out;
    }
    v = field(root, "v");
    if (v == NULL || as_number(v, &version) != 0) {
        rc = arc_err_set(err, ARC_EFORMAT, "not a .mind file: no version field 'v'");
        goto out;
    }
    if (version != ARC_MIND_VERSION) {
        rc = arc_err_set(err, ARC_EFORMAT,
                         "unsupported .mind version %g (MindAR 1.2.x reads version 2 only)",
                         version);
        goto out;
    }
    list = field(root, "dataList");
    if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY) {
        rc = arc_err_set(err, ARC_ECORRUPT, "not a valid .mind: no 'dataList' array");
        goto out;
    }
    m = arc_mind_create(list->via.array.size);
    for (size_t i = 0; i < m->n_targets; i++) {
        rc = decode_target(&w, &list->via.array.ptr[i], &m->targets[i], i);
        if (rc != 0)
            goto out;
    }
    *out = m;
    m = NULL;
out:
    arc_mind_free(m);
    msgpack_unpacked_destroy(&msg);
    return rc;
}

int arc_mind_load(const char *path, arc_mind_t **out, arc_err_t *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = arc_file_read_all(path, (size_t)1 << 30, &buf, &len, err);
    if (rc == 0)
        rc = arc_mind_decode(buf, len, out, err);
    free(buf);
    return rc;
}
