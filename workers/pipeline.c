/* The worker pipeline: its stages in order and the loop that runs them. */
#include <stdio.h>
#include <string.h>

#include "arcd/clock.h"
#include "arcd/worker.h"

/* The media pipeline: decode the photos, draw the printable borders, compile
 * and rate the marker, draw its features, convert the videos, write the
 * viewer page, draw the QR code. Weights: the share of the job's time each
 * takes on a typical 1920 px photo with a 10 s video. */
const arc_stage_t arc_pipeline[] = {
    {"photo", arc_stage_photo, 4},    {"border", arc_stage_border, 3},
    {"marker", arc_stage_marker, 62}, {"features", arc_stage_features, 2},
    {"video", arc_stage_video, 26},   {"viewer", arc_stage_viewer, 1},
    {"qr", arc_stage_qr, 2},          {NULL, NULL, 0},
};

void arc_job_progress(arc_job_t *job, int percent)
{
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    int overall = job->stage_base + job->stage_weight * percent / 100;
    if (overall == job->overall)
        return;
    job->overall = overall;
    if (job->progress != NULL)
        job->progress(job, job->stage_name, overall);
}

int arc_pipeline_run(arc_job_t *job, arc_err_t *err)
{
    int rc = 0;

    if (job->files == NULL)
        job->files = json_array();
    if (job->timings == NULL)
        job->timings = json_object();
    job->overall = -1;
    job->stage_base = 0;
    for (const arc_stage_t *st = arc_pipeline; st->name != NULL; st++) {
        job->stage_name = st->name;
        job->stage_weight = st->weight;
        arc_job_progress(job, 0);
        double t0 = arc_now_ms();
        rc = st->run(job, err);
        json_object_set_new(job->timings, st->name, json_integer((json_int_t)(arc_now_ms() - t0)));
        if (rc != 0) {
            char msg[sizeof(err->msg)];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            arc_err_set(err, rc, "%s: %s", st->name, msg);
            return rc;
        }
        arc_job_progress(job, 100);
        job->stage_base += st->weight;
    }
    return 0;
}

void arc_job_dispose(arc_job_t *job)
{
    for (size_t i = 0; i < job->n_items; i++) {
        arc_item_t *it = &job->items[i];
        arc_photo_dispose(&it->photo_rgb);
        arc_photo_dispose(&it->print);
        arc_image_dispose(&it->grey);
        json_decref(it->photo_info);
        json_decref(it->rating);
        json_decref(it->video_info);
        it->photo_info = it->rating = it->video_info = NULL;
    }
    arc_mind_free(job->mind);
    json_decref(job->files);
    json_decref(job->timings);
    json_decref(job->rating);
    job->mind = NULL;
    job->files = job->timings = job->rating = NULL;
}
