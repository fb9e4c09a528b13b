/*
 * Feature-by-feature comparison of two .mind files, with the rules of the
 * reference tool's `run compare`: a reference point is matched by a candidate
 * point within 0.05 px at the same scale; it is fully matched when the angle is
 * within 1e-3 rad and the 21 descriptor words are identical. Trees are compared
 * where both point lists agree completely.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/mind.h"

#define POS_TOL 0.05
#define ANGLE_TOL 1e-3

typedef struct cmp_ctx_s {
    arc_mind_cmp_t *s;
    FILE *log;
    int shown;
} cmp_ctx_t;

static void note(cmp_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(cmp_ctx_t *c, const char *fmt, ...)
{
    va_list ap;

    if (c->log == NULL || c->shown >= 20)
        return;
    c->shown++;
    va_start(ap, fmt);
    vfprintf(c->log, fmt, ap);
    va_end(ap);
    fputc('\n', c->log);
}

static double angle_diff(double a, double b)
{
    double d = fmod(fabs(a - b), 2 * M_PI);

    return d < 2 * M_PI - d ? d : 2 * M_PI - d;
}

/* Returns 1 when both lists agree point for point. */
static int match_points(cmp_ctx_t *c, const arc_mind_point_t *rp, size_t nr,
                        const arc_mind_point_t *cp, size_t nc, const char *where)
{
    unsigned char *used = arc_xcalloc(nc ? nc : 1, 1);
    size_t pos = 0, full = 0;

    c->s->ref_points += nr;
    c->s->cand_points += nc;
    for (size_t i = 0; i < nr; i++) {
        const arc_mind_point_t *p = &rp[i];
        size_t best = nc;
        for (size_t k = 0; k < nc; k++) {
            const arc_mind_point_t *q = &cp[k];
            if (!used[k] && fabs(q->x - p->x) <= POS_TOL && fabs(q->y - p->y) <= POS_TOL &&
                q->scale == p->scale) {
                best = k;
                break;
            }
        }
        if (best == nc) {
            note(c, "  %s: reference point (%.3f, %.3f) scale %g missing", where, p->x, p->y,
                 p->scale);
            continue;
        }
        used[best] = 1;
        pos++;
        const arc_mind_point_t *q = &cp[best];
        int same_desc = memcmp(p->desc, q->desc, sizeof(p->desc)) == 0;
        if (angle_diff(p->angle, q->angle) <= ANGLE_TOL && same_desc)
            full++;
        else
            note(c, "  %s: point (%.3f, %.3f) angle %.9g vs %.9g, descriptors %s", where, p->x,
                 p->y, p->angle, q->angle, same_desc ? "same" : "differ");
    }
    free(used);
    c->s->position_matched += pos;
    c->s->fully_matched += full;
    return pos == nr && full == nr && nc == nr;
}

static double pct(size_t x, size_t y)
{
    return y ? round(10000.0 * (double)x / (double)y) / 100.0 : 100.0;
}

void arc_mind_compare(const arc_mind_t *ref, const arc_mind_t *cand, arc_mind_cmp_t *out, void *log)
{
    cmp_ctx_t c = {.s = out, .log = log};
    size_t nt = ref->n_targets < cand->n_targets ? ref->n_targets : cand->n_targets;

    memset(out, 0, sizeof(*out));
    out->structure_ok = ref->n_targets == cand->n_targets;
    for (size_t t = 0; t < nt; t++) {
        const arc_mind_target_t *R = &ref->targets[t], *C = &cand->targets[t];
        if (R->width != C->width || R->height != C->height) {
            out->structure_ok = 0;
            note(&c, "target %zu: size %dx%d vs %dx%d", t, R->width, R->height, C->width,
                 C->height);
        }
        if (R->n_tracking != C->n_tracking)
            out->structure_ok = 0;
        size_t tl = R->n_tracking < C->n_tracking ? R->n_tracking : C->n_tracking;
        for (size_t l = 0; l < tl; l++) {
            const arc_mind_tracking_t *a = &R->tracking[l], *b = &C->tracking[l];
            out->tracking_levels++;
            if (a->width != b->width || a->height != b->height || a->scale != b->scale) {
                out->structure_ok = 0;
                note(&c, "target %zu tracking %zu: %dx%d@%g vs %dx%d@%g", t, l, a->width, a->height,
                     a->scale, b->width, b->height, b->scale);
            }
            if (a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0)
                out->tracking_data_identical++;
            else
                note(&c, "target %zu tracking %zu: grey pixels differ", t, l);
            out->tracking_ref_points += a->n_points;
            out->tracking_cand_points += b->n_points;
            for (size_t k = 0; k < b->n_points; k++) {
                for (size_t r = 0; r < a->n_points; r++) {
                    if (a->points[r].x == b->points[k].x && a->points[r].y == b->points[k].y) {
                        out->tracking_matched++;
                        break;
                    }
                }
            }
        }
        if (R->n_keyframes != C->n_keyframes) {
            out->structure_ok = 0;
            note(&c, "target %zu: %zu vs %zu keyframes", t, R->n_keyframes, C->n_keyframes);
        }
        size_t kl = R->n_keyframes < C->n_keyframes ? R->n_keyframes : C->n_keyframes;
        for (size_t k = 0; k < kl; k++) {
            const arc_mind_keyframe_t *a = &R->keyframes[k], *b = &C->keyframes[k];
            char where[96];
            if (a->width != b->width || a->height != b->height ||
                fabs(a->scale - b->scale) > 1e-9) {
                out->structure_ok = 0;
                note(&c, "target %zu keyframe %zu: %dx%d vs %dx%d", t, k, a->width, a->height,
                     b->width, b->height);
            }
            for (int pol = 0; pol < 2; pol++) {
                const arc_mind_point_t *ap = pol ? a->minima : a->maxima;
                const arc_mind_point_t *bp = pol ? b->minima : b->maxima;
                size_t an = pol ? a->n_minima : a->n_maxima, bn = pol ? b->n_minima : b->n_maxima;
                snprintf(where, sizeof(where), "target %zu keyframe %zu %s", t, k,
                         pol ? "minima" : "maxima");
                if (!match_points(&c, ap, an, bp, bn, where))
                    continue;
                out->trees_compared++;
                if (arc_mind_tree_equal(pol ? &a->minima_tree : &a->maxima_tree,
                                        pol ? &b->minima_tree : &b->maxima_tree))
                    out->trees_identical++;
                else
                    note(&c, "%s: cluster tree differs", where);
            }
        }
    }
    out->keypoint_agreement =
        pct(out->fully_matched,
            out->ref_points > out->cand_points ? out->ref_points : out->cand_points);
    out->tracking_agreement =
        pct(out->tracking_matched, out->tracking_ref_points > out->tracking_cand_points
                                       ? out->tracking_ref_points
                                       : out->tracking_cand_points);
}
