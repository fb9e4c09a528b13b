/* The worker pipeline: its stages in order and the loop that runs them. */
#include <stdio.h>
#include <string.h>

#include "arcd/clock.h"
#include "arcd/worker.h"

/* The media pipeline as far as it exists: decode, compile, keep the video,
 * write the viewer page, draw the QR code. */
const arc_stage_t arc_pipeline[] = {
    {"photo", arc_stage_photo, 10}, {"marker", arc_stage_marker, 81},
    {"video", arc_stage_video, 5},  {"viewer", arc_stage_viewer, 1},
    {"qr", arc_stage_qr, 3},        {NULL, NULL, 0},
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
    arc_image_dispose(&job->grey);
    json_decref(job->files);
    json_decref(job->video_info);
    json_decref(job->timings);
    job->files = job->video_info = job->timings = NULL;
}
