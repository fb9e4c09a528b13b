/* The worker pipeline: its stages in order and the loop that runs them. */
#include <stdio.h>
#include <string.h>

#include "arcd/clock.h"
#include "arcd/log.h"
#include "arcd/worker.h"

/* The media pipeline: decode the photos, draw the printable borders, compile
 * and rate the marker, draw its features, convert the videos, write the
 * viewer page, draw the QR code, lay out the print sheet. Weights: the share of the job's time each
 * takes on a typical 1920 px photo with a 10 s video. */
const arc_stage_t arc_pipeline[] = {
    {"photo", arc_stage_photo, 4, ARC_STAGE_PHOTO},
    {"border", arc_stage_border, 3, ARC_STAGE_BORDER},
    {"marker", arc_stage_marker, 60, ARC_STAGE_MARKER},
    {"features", arc_stage_features, 2, ARC_STAGE_FEATURES},
    {"video", arc_stage_video, 26, ARC_STAGE_VIDEO},
    {"viewer", arc_stage_viewer, 1, ARC_STAGE_VIEWER},
    {"qr", arc_stage_qr, 2, ARC_STAGE_QR},
    {"sheet", arc_stage_sheet, 2, ARC_STAGE_SHEET},
    {NULL, NULL, 0, 0},
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

/* ---- what a job that skips stages is given instead ---- */

/* A print size and a photo inside it, as an earlier run reported them. */
static int print_given(const arc_job_print_t *p)
{
    return p->width > 0 && p->height > 0 && p->w > 0 && p->h > 0 && p->x >= 0 && p->y >= 0 &&
           p->x <= p->width - p->w && p->y <= p->height - p->h;
}

/* Each stage to run must find its inputs: made by a stage that runs before
 * it, or given by the message. A job asking otherwise is the daemon's
 * mistake, and retrying it cannot help. */
static int check_inputs(arc_job_t *job, arc_err_t *err)
{
    unsigned s = job->in->stages;
    const char *stage = NULL, *why = NULL;

    if ((s & ARC_STAGE_ALL) == 0)
        return arc_err_set(err, ARC_EINVAL, "the job runs no stage");
    if ((s & ARC_STAGE_BORDER) && !(s & ARC_STAGE_PHOTO))
        stage = "border", why = "draws the print around the decoded photo, and the job does not "
                                "run the photo stage";
    else if ((s & ARC_STAGE_MARKER) && !(s & ARC_STAGE_BORDER))
        stage = "marker", why = "compiles the marker from the print's pixels, and the job does "
                                "not run the border stage";
    else if ((s & ARC_STAGE_FEATURES) && !(s & ARC_STAGE_MARKER))
        stage = "features", why = "draws the marker's features, and the job does not run the "
                                  "marker stage";
    else if ((s & ARC_STAGE_SHEET) && !(s & ARC_STAGE_BORDER))
        stage = "sheet", why = "lays out the prints the border stage draws, and the job does "
                               "not run the border stage";
    if (why != NULL)
        return arc_err_set(err, ARC_EINVAL, "%s: this stage %s", stage, why);
    if (!(s & ARC_STAGE_BORDER) && (s & (ARC_STAGE_VIDEO | ARC_STAGE_VIEWER))) {
        stage = (s & ARC_STAGE_VIDEO) ? "video" : "viewer";
        for (size_t i = 0; i < job->n_items; i++)
            if (i >= job->in->n_items || !print_given(&job->in->items[i].print))
                return arc_err_set(err, ARC_EINVAL,
                                   "%s: the job does not draw the print again (no border "
                                   "stage) and gives no print size for photo %zu",
                                   stage, i + 1);
    }
    return 0;
}

/* Fills the items with what the message gives for the stages it skips: the
 * print's geometry without the border stage, and each pair's web video from
 * an earlier run (the video stage replaces the ones it makes again). */
static void items_from_message(arc_job_t *job)
{
    for (size_t i = 0; i < job->n_items && i < job->in->n_items; i++) {
        const arc_job_input_t *in = &job->in->items[i];
        arc_item_t *it = &job->items[i];
        if (!(job->in->stages & ARC_STAGE_BORDER)) {
            it->print_width = in->print.width;
            it->print_height = in->print.height;
            it->inner_x = in->print.x;
            it->inner_y = in->print.y;
            it->inner_w = in->print.w;
            it->inner_h = in->print.h;
        }
        snprintf(it->video_out, sizeof(it->video_out), "%s",
                 in->video_out != NULL ? in->video_out : "");
    }
}

int arc_pipeline_run(arc_job_t *job, arc_err_t *err)
{
    unsigned stages = job->in->stages;
    int rc = 0, total = 0, done = 0;

    if (job->files == NULL)
        job->files = json_array();
    if (job->timings == NULL)
        job->timings = json_object();
    if ((rc = check_inputs(job, err)) != 0) {
        job->permanent = 1;
        return rc;
    }
    items_from_message(job);
    for (const arc_stage_t *st = arc_pipeline; st->name != NULL; st++)
        if (stages & st->bit)
            total += st->weight;
    /* The stages that run share the job's 0 to 100 by their weights. */
    job->overall = -1;
    for (const arc_stage_t *st = arc_pipeline; st->name != NULL; st++) {
        if (!(stages & st->bit))
            continue;
        job->stage_name = st->name;
        job->stage_base = done * 100 / total;
        job->stage_weight = (done + st->weight) * 100 / total - job->stage_base;
        arc_job_progress(job, 0);
        double t0 = arc_now_ms();
        rc = st->run(job, err);
        json_int_t ms = (json_int_t)(arc_now_ms() - t0);
        json_object_set_new(job->timings, st->name, json_integer(ms));
        if (rc != 0) {
            char msg[sizeof(err->msg)];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            arc_err_set(err, rc, "%s: %s", st->name, msg);
            arc_log_event(ARC_LOG_WARN, "stage failed",
                          json_pack("{s:s, s:I, s:s}", "stage", st->name, "ms", ms, "error", msg));
            return rc;
        }
        arc_log_event(ARC_LOG_DEBUG, "stage done",
                      json_pack("{s:s, s:I}", "stage", st->name, "ms", ms));
        arc_job_progress(job, 100);
        done += st->weight;
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
