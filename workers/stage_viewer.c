/*
 * Pipeline stage "viewer": the project's index.html, from the template named
 * in the settings (config/viewer.html): A-Frame 1.5.0 and mind-ar 1.2.5 from
 * the daemon's /vendor/ (or a CDN), the marker, and one entity per target
 * whose video (ar-video.mp4, its poster first) plays muted and inline on
 * targetFound, pauses on targetLost, with a tap-to-unmute button; the video
 * sits on the photo inside the printed border, sized by the fit mode. `{{name}}` fields are filled
 * here; values are HTML-escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/image.h"
#include "arcd/worker.h"

typedef struct buf_s {
    char *s;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = arc_xrealloc(b->s, b->cap, 1);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void put_escaped(buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': put(b, "&amp;", 5); break;
        case '<': put(b, "&lt;", 4); break;
        case '>': put(b, "&gt;", 4); break;
        case '"': put(b, "&quot;", 6); break;
        case '\'': put(b, "&#39;", 5); break;
        default: put(b, s, 1);
        }
    }
}

static const char *field(const json_t *obj, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : dflt;
}

int arc_stage_viewer(arc_job_t *job, arc_err_t *err)
{
    const json_t *v = job->viewer;
    uint8_t *tpl = NULL;
    size_t tlen = 0;
    buf_t out = {0}, videos = {0}, targets = {0};
    char num[64], path[4200];
    int rc;

    rc = arc_file_read_all(field(v, "template", ""), 1 << 20, &tpl, &tlen, err);
    if (rc != 0)
        return rc;
    tpl[tlen] = '\0';
    /* One entity per target; its video's box is the photo inside the print
     * (MindAR's target is 1 wide, centred on the print). */
    for (size_t i = 0; i < job->n_items; i++) {
        const arc_item_t *it = &job->items[i];
        char line[1024];
        int n = snprintf(line, sizeof(line),
                         "  <a-entity mindar-image-target=\"targetIndex: %zu\">\n", i);
        put(&targets, line, (size_t)n);
        if (it->video_out[0] != '\0' && it->print.width > 0) {
            double W = it->print.width, H = it->print.height;
            double bw = it->inner_w / W, bh = it->inner_h / W;
            double cx = (it->inner_x + it->inner_w / 2.0) / W - 0.5;
            double cy = (0.5 - (it->inner_y + it->inner_h / 2.0) / H) * (H / W);
            n = snprintf(line, sizeof(line),
                         "    <video id=\"video%zu\" src=\"%s\" poster=\"poster%s.jpg\" "
                         "preload=\"auto\" muted playsinline webkit-playsinline loop "
                         "crossorigin=\"anonymous\"></video>\n",
                         i, it->video_out, it->suffix);
            put(&videos, line, (size_t)n);
            n = snprintf(line, sizeof(line),
                         "    <a-video src=\"#video%zu\" width=\"%.6f\" height=\"%.6f\" "
                         "position=\"%.6f %.6f 0\" data-box=\"%.6f %.6f\"></a-video>\n",
                         i, bw, bh, cx, cy, bw, bh);
            put(&targets, line, (size_t)n);
        }
        put(&targets, "  </a-entity>\n", 14);
    }

    for (const char *p = (const char *)tpl; *p;) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (open == NULL || close == NULL) {
            put(&out, p, strlen(p));
            break;
        }
        put(&out, p, (size_t)(open - p));
        char key[64];
        size_t klen = (size_t)(close - open - 2);
        snprintf(key, sizeof(key), "%.*s", (int)(klen < sizeof(key) ? klen : sizeof(key) - 1),
                 open + 2);
        if (strcmp(key, "vendorUrl") == 0) {
            put_escaped(&out, field(v, "vendorUrl", "/vendor"));
        } else if (strcmp(key, "markerUrl") == 0) {
            put(&out, "marker.mind", 11);
        } else if (strcmp(key, "filterMinCF") == 0 || strcmp(key, "filterBeta") == 0) {
            snprintf(num, sizeof(num), "%.9g", json_number_value(json_object_get(v, key)));
            put(&out, num, strlen(num));
        } else if (strcmp(key, "fitMode") == 0) {
            put_escaped(&out, job->fit_mode);
        } else if (strcmp(key, "photoAspect") == 0) {
            const arc_photo_t *print = &job->items[0].print;
            snprintf(num, sizeof(num), "%.6f",
                     print->width > 0 ? (double)print->height / print->width : 1.0);
            put(&out, num, strlen(num));
        } else if (strcmp(key, "scaleWidth") == 0 || strcmp(key, "scaleHeight") == 0) {
            snprintf(num, sizeof(num), "%d",
                     strcmp(key, "scaleWidth") == 0 ? job->scale_width : job->scale_height);
            put(&out, num, strlen(num));
        } else if (strcmp(key, "videos") == 0) {
            put(&out, videos.s, videos.len);
        } else if (strcmp(key, "targets") == 0) {
            put(&out, targets.s, targets.len);
        } else {
            rc = arc_err_set(err, ARC_EINVAL, "the viewer template has an unknown field {{%s}}",
                             key);
            job->permanent = 1;
            goto out;
        }
        p = close + 2;
    }
    snprintf(path, sizeof(path), "%s/index.html", job->dir);
    rc = arc_file_write_atomic(path, out.s, out.len, err);
    if (rc == 0)
        json_array_append_new(job->files, json_string("index.html"));
out:
    free(tpl);
    free(out.s);
    free(videos.s);
    free(targets.s);
    return rc;
}
