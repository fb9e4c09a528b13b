/*
 * Pipeline stage "viewer": the project's index.html, from the template named
 * in the settings (config/viewer.html): A-Frame 1.5.0 and mind-ar 1.2.5 from
 * the daemon's /vendor/ (or a CDN), the marker, and one entity per target
 * whose video (ar-video.mp4, its poster first) plays muted and inline on
 * targetFound, pauses on targetLost, with a tap-to-unmute button; the video
 * sits on the photo inside the printed border, sized by the fit mode.
 * `{{name}}` fields are filled here; values are HTML-escaped.
 *
 * Each pair's video is its item's video_out: the one this job's video stage
 * made, or the one an earlier run made (a job replacing another pair's
 * video, or not running the video stage), so a kept pair's <video> element
 * is the same as before. Its poster is the one named after it, when that
 * file is there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arcd/buf.h"
#include "arcd/image.h"
#include "arcd/tpl.h"
#include "arcd/worker.h"

typedef struct page_s {
    const arc_job_t *job;
    arc_buf_t videos, targets;
} page_t;

static int page_field(void *arg, const char *key, arc_buf_t *out)
{
    const page_t *pg = arg;
    const arc_job_t *job = pg->job;
    const arc_job_viewer_t *v = &job->in->viewer;

    if (strcmp(key, "vendorUrl") == 0) {
        arc_buf_put_html(out, v->vendor_url);
    } else if (strcmp(key, "markerUrl") == 0) {
        arc_buf_puts(out, "marker.mind");
    } else if (strcmp(key, "filterMinCF") == 0) {
        arc_buf_printf(out, "%.9g", v->filter_min_cf);
    } else if (strcmp(key, "filterBeta") == 0) {
        arc_buf_printf(out, "%.9g", v->filter_beta);
    } else if (strcmp(key, "fitMode") == 0) {
        arc_buf_put_html(out, arc_fit_name(job->in->fit));
    } else if (strcmp(key, "photoAspect") == 0) {
        const arc_item_t *first = &job->items[0];
        arc_buf_printf(out, "%.6f",
                       first->print_width > 0 ? (double)first->print_height / first->print_width
                                              : 1.0);
    } else if (strcmp(key, "scaleWidth") == 0) {
        arc_buf_printf(out, "%d", job->in->scale_width);
    } else if (strcmp(key, "scaleHeight") == 0) {
        arc_buf_printf(out, "%d", job->in->scale_height);
    } else if (strcmp(key, "shopName") == 0) {
        arc_buf_put_html(out, v->shop_name);
    } else if (strcmp(key, "logoUrl") == 0) {
        arc_buf_put_html(out, v->logo_url);
    } else if (strcmp(key, "accentColor") == 0) {
        /* Checked as "#rrggbb" by the protocol: safe in CSS as it is. */
        arc_buf_puts(out, v->accent_color);
    } else if (strcmp(key, "videos") == 0) {
        arc_buf_append(out, pg->videos.data, pg->videos.len);
    } else if (strcmp(key, "targets") == 0) {
        arc_buf_append(out, pg->targets.data, pg->targets.len);
    } else {
        return -1;
    }
    return 0;
}

/* The poster of the web video named video, when it is in the job's folder. */
static void poster_of(const arc_job_t *job, const char *video, char *out, size_t size)
{
    char path[4200];
    struct stat st;

    if (arc_video_poster_name(video, out, size) != 0)
        return;
    snprintf(path, sizeof(path), "%s/%s", job->dir, out);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        out[0] = '\0';
}

int arc_stage_viewer(arc_job_t *job, arc_err_t *err)
{
    page_t pg = {job, ARC_BUF_INIT, ARC_BUF_INIT};
    arc_buf_t out = ARC_BUF_INIT;
    uint8_t *tpl = NULL;
    size_t tlen = 0;
    char path[4200];
    int rc;

    rc = arc_file_read_all(job->in->viewer.template_path, 1 << 20, &tpl, &tlen, err);
    if (rc != 0)
        return rc;
    tpl[tlen] = '\0';
    /* One entity per target; its video's box is the photo inside the print
     * (MindAR's target is 1 wide, centred on the print). */
    for (size_t i = 0; i < job->n_items; i++) {
        const arc_item_t *it = &job->items[i];
        arc_buf_printf(&pg.targets, "  <a-entity mindar-image-target=\"targetIndex: %zu\">\n", i);
        if (it->video_out[0] != '\0' && it->print_width > 0) {
            double W = it->print_width, H = it->print_height;
            char poster[ARC_MAX_FILE_NAME + 16];
            poster_of(job, it->video_out, poster, sizeof(poster));
            double bw = it->inner_w / W, bh = it->inner_h / W;
            double cx = (it->inner_x + it->inner_w / 2.0) / W - 0.5;
            double cy = (0.5 - (it->inner_y + it->inner_h / 2.0) / H) * (H / W);
            /* No src and no poster yet: the page sets them once the AR
             * engine is ready, so the scripts and the marker have the
             * phone's bandwidth first (preload="none" also keeps a-assets
             * from waiting for the video). */
            arc_buf_printf(&pg.videos, "    <video id=\"video%zu\" data-src=\"", i);
            arc_buf_put_html(&pg.videos, it->video_out);
            if (poster[0] != '\0') {
                arc_buf_puts(&pg.videos, "\" data-poster=\"");
                arc_buf_put_html(&pg.videos, poster);
            }
            arc_buf_puts(&pg.videos, "\" preload=\"none\" muted playsinline webkit-playsinline "
                                     "loop crossorigin=\"anonymous\"></video>\n");
            /* data-print and data-inner (the photo's place in the print,
             * as fractions) for the page's fallback without AR. */
            arc_buf_printf(&pg.targets,
                           "    <a-video src=\"#video%zu\" data-video=\"#video%zu\" "
                           "width=\"%.6f\" height=\"%.6f\" "
                           "position=\"%.6f %.6f 0\" data-box=\"%.6f %.6f\" "
                           "data-print=\"enhanced-photo%s.jpg\" "
                           "data-inner=\"%.6f %.6f %.6f %.6f\"></a-video>\n",
                           i, i, bw, bh, cx, cy, bw, bh, it->suffix, it->inner_x / W,
                           it->inner_y / H, it->inner_w / W, it->inner_h / H);
        }
        arc_buf_puts(&pg.targets, "  </a-entity>\n");
    }
    rc = arc_tpl_render((const char *)tpl, page_field, &pg, &out, err);
    if (rc != 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        arc_err_set(err, rc, "the viewer template: %s", msg);
        job->permanent = 1;
        goto out;
    }
    snprintf(path, sizeof(path), "%s/index.html", job->dir);
    rc = arc_file_write_atomic(path, out.data, out.len, err);
    if (rc == 0)
        json_array_append_new(job->files, json_string("index.html"));
out:
    free(tpl);
    arc_buf_dispose(&out);
    arc_buf_dispose(&pg.videos);
    arc_buf_dispose(&pg.targets);
    return rc;
}
