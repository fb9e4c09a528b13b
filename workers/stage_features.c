/*
 * Pipeline stage "features": features.png, the print (at most 1024 px on its
 * long side) with what the tracker will look for drawn on it, for the CRM to
 * show next to the rating: matching keypoints of every keyframe as rings
 * (orange for DoG maxima, cyan for minima, larger for coarser keyframes) and
 * the tracking points as green squares.
 */
#include <stdio.h>
#include <stdlib.h>

#include "arcd/worker.h"

#define FEATURES_SIDE 1024

static const uint8_t orange[3] = {255, 140, 0}, cyan[3] = {0, 200, 255}, green[3] = {40, 220, 60};

static void draw_points(arc_photo_t *p, const arc_mind_keyframe_t *kf, const arc_mind_point_t *pts,
                        size_t n, const uint8_t rgb[3])
{
    double f = (double)p->width / kf->width;
    double r = 1.5 * f;

    r = r < 2.5 ? 2.5 : r > 12 ? 12 : r;
    for (size_t i = 0; i < n; i++)
        arc_photo_ring(p, (pts[i].x + 0.5) * f, (pts[i].y + 0.5) * f, r, r > 4 ? 2 : 1.2, rgb);
}

static int draw_item(arc_job_t *job, arc_item_t *it, const arc_mind_target_t *t, arc_err_t *err)
{
    const arc_photo_t *src = &it->print;
    int side = src->width > src->height ? src->width : src->height;
    arc_photo_t img = {0};
    uint8_t *png = NULL;
    size_t len = 0;
    char name[64], path[4200];
    int rc;

    if (side > FEATURES_SIDE) {
        double s = (double)FEATURES_SIDE / side;
        int w = (int)(src->width * s + 0.5), h = (int)(src->height * s + 0.5);
        arc_photo_resize(src, w < 1 ? 1 : w, h < 1 ? 1 : h, &img);
    } else {
        arc_photo_resize(src, src->width, src->height, &img);
    }
    /* Coarse keyframes first, so that the fine points stay on top. */
    for (size_t k = t->n_keyframes; k-- > 0;) {
        const arc_mind_keyframe_t *kf = &t->keyframes[k];
        draw_points(&img, kf, kf->maxima, kf->n_maxima, orange);
        draw_points(&img, kf, kf->minima, kf->n_minima, cyan);
    }
    if (t->n_tracking > 0) {
        const arc_mind_tracking_t *tr = &t->tracking[0];
        double f = (double)img.width / tr->width;
        for (size_t i = 0; i < tr->n_points; i++)
            arc_photo_fill_rect(&img, (int)(tr->points[i].x * f) - 2,
                                (int)(tr->points[i].y * f) - 2, 5, 5, green);
    }
    rc = arc_photo_encode_png(&img, 3, &png, &len, err);
    snprintf(name, sizeof(name), "features%s.png", it->suffix);
    snprintf(path, sizeof(path), "%s/%s", job->dir, name);
    if (rc == 0)
        rc = arc_file_write_atomic(path, png, len, err);
    if (rc == 0)
        json_array_append_new(job->files, json_string(name));
    free(png);
    arc_photo_dispose(&img);
    return rc;
}

int arc_stage_features(arc_job_t *job, arc_err_t *err)
{
    for (size_t i = 0; i < job->n_items && i < job->mind->n_targets; i++) {
        int rc = draw_item(job, &job->items[i], &job->mind->targets[i], err);
        if (rc != 0)
            return rc;
        arc_job_progress(job, (int)((i + 1) * 100 / job->n_items));
    }
    return 0;
}
