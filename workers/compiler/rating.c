/* The trackability rating of a compiled target (include/arcd/compiler.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arcd/compiler.h"

#define GRID 10

/* The measures saturate at what MindAR's well-tracking examples reach. */
#define GOOD_KEYPOINTS 800.0
#define GOOD_TRACKING 40.0

static void mark(unsigned char cells[GRID][GRID], const arc_mind_keyframe_t *kf,
                 const arc_mind_point_t *pts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int cx = (int)(pts[i].x / kf->width * GRID), cy = (int)(pts[i].y / kf->height * GRID);
        cx = cx < 0 ? 0 : cx >= GRID ? GRID - 1 : cx;
        cy = cy < 0 ? 0 : cy >= GRID ? GRID - 1 : cy;
        cells[cy][cx] = 1;
    }
}

static void reason(arc_rating_t *r, const char *msg)
{
    if (r->n_reasons < 3)
        snprintf(r->reasons[r->n_reasons++], sizeof(r->reasons[0]), "%s", msg);
}

void arc_rating_compute(const arc_mind_target_t *t, arc_rating_t *out)
{
    unsigned char cells[GRID][GRID];
    size_t covered = 0;

    memset(out, 0, sizeof(*out));
    memset(cells, 0, sizeof(cells));
    for (size_t k = 0; k < t->n_keyframes; k++) {
        const arc_mind_keyframe_t *kf = &t->keyframes[k];
        out->keypoints += kf->n_maxima + kf->n_minima;
        mark(cells, kf, kf->maxima, kf->n_maxima);
        mark(cells, kf, kf->minima, kf->n_minima);
    }
    for (int y = 0; y < GRID; y++)
        for (int x = 0; x < GRID; x++)
            covered += cells[y][x];
    out->coverage = (double)covered / (GRID * GRID);
    out->tracking_points = t->n_tracking > 0 ? t->tracking[0].n_points : 0;

    /* Keypoints count on a log scale (the first hundred matter most), spread
     * as it is, tracking points linearly; all are needed, so the score is a
     * weighted geometric mean: no keypoints or no spread sinks it to 0; no
     * tracking points leave a target that is found but not followed (at most
     * one star). */
    double fk = log1p((double)out->keypoints) / log1p(GOOD_KEYPOINTS);
    double ft = (double)out->tracking_points / GOOD_TRACKING;
    fk = fk > 1 ? 1 : fk;
    ft = ft > 1 ? 1 : ft;
    double s = pow(fk, 0.375) * pow(out->coverage, 0.375) * pow(0.02 + 0.98 * ft, 0.25);
    out->score = (int)lround(100 * s);
    out->stars = out->score >= 85   ? 5
                 : out->score >= 70 ? 4
                 : out->score >= 50 ? 3
                 : out->score >= 30 ? 2
                 : out->score >= 10 ? 1
                                    : 0;

    if (out->stars < 3) {
        char msg[160];
        if (fk < 0.75) {
            snprintf(msg, sizeof(msg),
                     "few distinctive details: %zu keypoints (well-tracking photos have %d or "
                     "more)",
                     out->keypoints, (int)GOOD_KEYPOINTS / 4);
            reason(out, msg);
        }
        if (out->coverage < 0.5) {
            snprintf(msg, sizeof(msg),
                     "details cover only %.0f%% of the image; large plain areas do not track",
                     out->coverage * 100);
            reason(out, msg);
        }
        if (ft < 0.5) {
            snprintf(msg, sizeof(msg),
                     "only %zu tracking points: the video may drift or drop while the phone "
                     "moves",
                     out->tracking_points);
            reason(out, msg);
        }
        if (out->n_reasons == 0)
            reason(out, "low contrast overall: print it larger or choose a busier photo");
    }
}

json_t *arc_rating_json(const arc_rating_t *r)
{
    json_t *js =
        json_pack("{s:i, s:i, s:I, s:f, s:I}", "score", r->score, "stars", r->stars, "keypoints",
                  (json_int_t)r->keypoints, "coverage", round(r->coverage * 100) / 100,
                  "trackingPoints", (json_int_t)r->tracking_points);
    if (r->n_reasons > 0) {
        json_t *w = json_array();
        for (size_t i = 0; i < r->n_reasons; i++)
            json_array_append_new(w, json_string(r->reasons[i]));
        json_object_set_new(js, "warnings", w);
    }
    return js;
}
