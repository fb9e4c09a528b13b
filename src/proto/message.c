/*
 * The protocol's messages: encode and decode (see include/arcd/proto.h).
 * Decoding checks every field the way an untrusted input is checked: the
 * daemon reads what a worker says, and a worker whose decoder was taken
 * over by an upload may say anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arcd/proto.h"
#include "arcd/tpl.h"

/* The protocol's ranges: what a sane job or answer can hold. */
#define MAX_ID 64
#define MAX_PATH_LEN 4000
#define MAX_URL 2048
#define MAX_REASON ARC_PROTO_MAX_REASON
#define MAX_FILES 64
#define MAX_MS 2147483647 /* an SQL integer */

static const char *const fit_names[] = {"contain", "cover", "fill", "exact"};

static const char *const stage_names[] = {"photo", "border", "marker", "features",
                                          "video", "viewer", "qr",     "sheet"};
#define N_STAGES 8

static const arc_paper_t papers[] = {
    {"10x15", 102, 152}, {"13x18", 127, 178}, {"15x21", 152, 216},
    {"A5", 148, 210},    {"A4", 210, 297},
};

const arc_paper_t *arc_paper_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(papers) / sizeof(papers[0]); i++)
        if (strcasecmp(name, papers[i].name) == 0)
            return &papers[i];
    return NULL;
}

const char *arc_paper_names(void)
{
    return "10x15, 13x18, 15x21, A5, A4";
}

int arc_sheet_language_known(const char *lang)
{
    return lang != NULL && (strcmp(lang, "ru") == 0 || strcmp(lang, "en") == 0);
}

const char *arc_stage_name(unsigned bit)
{
    for (int i = 0; i < N_STAGES; i++)
        if (bit == 1u << i)
            return stage_names[i];
    return NULL;
}

const char *arc_fit_name(arc_fit_t fit)
{
    return (unsigned)fit < 4 ? fit_names[fit] : "contain";
}

int arc_fit_parse(const char *name, arc_fit_t *out)
{
    for (int i = 0; i < 4; i++)
        if (name != NULL && strcmp(name, fit_names[i]) == 0) {
            *out = (arc_fit_t)i;
            return 0;
        }
    return ARC_EINVAL;
}

/* ---- checked getters: each returns 0 or ARC_ECORRUPT naming the field ---- */

static int bad(arc_err_t *err, const char *what, const char *key, const char *why)
{
    return arc_err_set(err, ARC_ECORRUPT, "protocol: %s: '%s' %s", what, key, why);
}

static int get_str(const json_t *o, const char *what, const char *key, size_t max, char **out,
                   arc_err_t *err)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        return bad(err, what, key, "is missing or not a string");
    if (json_string_length(v) > max)
        return bad(err, what, key, "is too long");
    *out = arc_xstrdup(json_string_value(v));
    return 0;
}

static int get_int(const json_t *o, const char *what, const char *key, int64_t min, int64_t max,
                   int64_t *out, arc_err_t *err)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return bad(err, what, key, "is missing or not an integer");
    if (json_integer_value(v) < min || json_integer_value(v) > max)
        return bad(err, what, key, "is out of range");
    *out = json_integer_value(v);
    return 0;
}

static int get_i32(const json_t *o, const char *what, const char *key, int min, int max, int *out,
                   arc_err_t *err)
{
    int64_t v = 0;
    int rc = get_int(o, what, key, min, max, &v, err);

    *out = (int)v;
    return rc;
}

static int get_num(const json_t *o, const char *what, const char *key, double min, double max,
                   double *out, arc_err_t *err)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_number(v))
        return bad(err, what, key, "is missing or not a number");
    if (!(json_number_value(v) >= min && json_number_value(v) <= max))
        return bad(err, what, key, "is out of range");
    *out = json_number_value(v);
    return 0;
}

static int get_bool(const json_t *o, const char *what, const char *key, int *out, arc_err_t *err)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_boolean(v))
        return bad(err, what, key, "is missing or not a boolean");
    *out = json_is_true(v);
    return 0;
}

/* A plain file name inside a project folder: no folder part, not "." or "..". */
static int is_file_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ARC_MAX_FILE_NAME || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int get_file(const json_t *o, const char *what, const char *key, int may_be_empty,
                    char **out, arc_err_t *err)
{
    int rc = get_str(o, what, key, ARC_MAX_FILE_NAME, out, err);

    if (rc == 0 && !is_file_name(*out) && !(may_be_empty && (*out)[0] == '\0'))
        return bad(err, what, key, "is not a file name");
    return rc;
}

static int get_abs_path(const json_t *o, const char *what, const char *key, int may_be_empty,
                        char **out, arc_err_t *err)
{
    int rc = get_str(o, what, key, MAX_PATH_LEN, out, err);

    if (rc == 0 && (*out)[0] != '/' && !(may_be_empty && (*out)[0] == '\0'))
        return bad(err, what, key, "is not an absolute path");
    return rc;
}

static int get_id(const json_t *o, const char *what, char **out, arc_err_t *err)
{
    int rc = get_str(o, what, "id", MAX_ID, out, err);

    if (rc != 0)
        return rc;
    if ((*out)[0] == '\0')
        return bad(err, what, "id", "is empty");
    for (const char *p = *out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return bad(err, what, "id", "holds a character other than letters, digits, - and _");
    return 0;
}

/* ---- job ---- */

static json_t *job_encode(const arc_job_msg_t *j)
{
    json_t *items = json_array(), *stages = json_array();

    for (size_t i = 0; i < j->n_items; i++) {
        const arc_job_input_t *it = &j->items[i];
        json_t *item = json_pack("{s:s, s:s}", "photo", it->photo ? it->photo : "", "video",
                                 it->video ? it->video : "");
        if (j->stages != ARC_STAGE_ALL) {
            const arc_job_print_t *pr = &it->print;
            json_object_set_new(item, "print",
                                json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "width", pr->width,
                                          "height", pr->height, "x", pr->x, "y", pr->y, "w", pr->w,
                                          "h", pr->h));
            json_object_set_new(item, "videoOut", json_string(it->video_out ? it->video_out : ""));
            json_object_set_new(item, "redoVideo", json_boolean(it->redo_video));
        }
        json_array_append_new(items, item);
    }
    for (int i = 0; i < N_STAGES; i++)
        if (j->stages & (1u << i))
            json_array_append_new(stages, json_string(stage_names[i]));
    const arc_job_media_t *m = &j->media;
    json_t *media = json_pack(
        "{s:i, s:b, s:f, s:i, s:I, s:i, s:i, s:I, s:i, s:s, s:b, s:i, s:b}", "maxSide", m->max_side,
        "border", m->border, "borderRatio", m->border_ratio, "jpegQuality", m->jpeg_quality,
        "photoMaxPixels", (json_int_t)m->photo_max_pixels, "videoMaxSide", m->video_max_side,
        "videoMaxSeconds", m->video_max_seconds, "videoMaxPixels", (json_int_t)m->video_max_pixels,
        "videoCrf", m->video_crf, "videoPreset", m->video_preset, "videoCopy", m->video_copy,
        "videoThreads", m->video_threads, "videoSmartCrop", m->video_smart_crop);
    json_t *viewer =
        json_pack("{s:s, s:s, s:f, s:f, s:s, s:s, s:s}", "template", j->viewer.template_path,
                  "vendorUrl", j->viewer.vendor_url, "filterMinCF", j->viewer.filter_min_cf,
                  "filterBeta", j->viewer.filter_beta, "shopName", j->viewer.shop_name, "logoUrl",
                  j->viewer.logo_url, "accentColor", j->viewer.accent_color);
    json_t *sheet = json_pack("{s:s, s:f, s:s}", "paper", j->sheet.paper, "photoMm",
                              j->sheet.photo_mm, "language", j->sheet.language);
    return json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:s, s:i, s:i, s:I, s:i, s:s, s:s, s:o, s:o, "
                     "s:o, s:i, s:s}",
                     "v", ARC_PROTO_VERSION, "type", "job", "id", j->id, "dir", j->dir, "items",
                     items, "stages", stages, "fitMode", arc_fit_name(j->fit), "scaleWidth",
                     j->scale_width, "scaleHeight", j->scale_height, "maxPixels",
                     (json_int_t)j->max_pixels, "threads", j->threads, "viewUrl", j->view_url,
                     "cacheDir", j->cache_dir ? j->cache_dir : "", "media", media, "viewer", viewer,
                     "sheet", sheet, "attempt", j->attempt, "requestId", j->request_id);
}

/* "stages": the names of the stages to run, in any order, each once. */
static int stages_decode(const json_t *js, unsigned *out, arc_err_t *err)
{
    json_t *v = json_object_get(js, "stages");
    size_t i;
    json_t *e;

    *out = 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return bad(err, "job", "stages", "must be an array of stage names");
    json_array_foreach(v, i, e)
    {
        unsigned bit = 0;
        for (int k = 0; k < N_STAGES && bit == 0; k++)
            if (json_is_string(e) && strcmp(json_string_value(e), stage_names[k]) == 0)
                bit = 1u << k;
        if (bit == 0 || (*out & bit))
            return bad(err, "job", "stages", "holds a name that is not a stage, or one twice");
        *out |= bit;
    }
    return 0;
}

/* What a job that skips stages gives each pair instead of their results. */
static int item_extras_decode(const json_t *it, arc_job_input_t *in, arc_err_t *err)
{
    const char *w = "job item";
    json_t *pr = json_object_get(it, "print");
    int rc;

    if (!json_is_object(pr))
        return bad(err, w, "print", "is missing or not an object");
    if ((rc = get_i32(pr, "job item print", "width", 0, 1000000, &in->print.width, err)) != 0 ||
        (rc = get_i32(pr, "job item print", "height", 0, 1000000, &in->print.height, err)) != 0 ||
        (rc = get_i32(pr, "job item print", "x", 0, 1000000, &in->print.x, err)) != 0 ||
        (rc = get_i32(pr, "job item print", "y", 0, 1000000, &in->print.y, err)) != 0 ||
        (rc = get_i32(pr, "job item print", "w", 0, 1000000, &in->print.w, err)) != 0 ||
        (rc = get_i32(pr, "job item print", "h", 0, 1000000, &in->print.h, err)) != 0 ||
        (rc = get_file(it, w, "videoOut", 1, &in->video_out, err)) != 0 ||
        (rc = get_bool(it, w, "redoVideo", &in->redo_video, err)) != 0)
        return rc;
    if (in->print.x + in->print.w > in->print.width || in->print.y + in->print.h > in->print.height)
        return bad(err, "job item", "print", "puts the photo outside its print");
    return 0;
}

static int media_decode(const json_t *o, arc_job_media_t *m, arc_err_t *err)
{
    const char *w = "job media";
    char *preset = NULL;
    int64_t pixels = 0, photo_pixels = 0;
    int rc;

    if (!json_is_object(o))
        return bad(err, "job", "media", "is missing or not an object");
    if ((rc = get_i32(o, w, "maxSide", 64, 8192, &m->max_side, err)) != 0 ||
        (rc = get_bool(o, w, "border", &m->border, err)) != 0 ||
        (rc = get_num(o, w, "borderRatio", 0, 1, &m->border_ratio, err)) != 0 ||
        (rc = get_i32(o, w, "jpegQuality", 1, 100, &m->jpeg_quality, err)) != 0 ||
        (rc = get_int(o, w, "photoMaxPixels", 1, (int64_t)1 << 40, &photo_pixels, err)) != 0 ||
        (rc = get_i32(o, w, "videoMaxSide", 16, 8192, &m->video_max_side, err)) != 0 ||
        (rc = get_i32(o, w, "videoMaxSeconds", 1, 86400, &m->video_max_seconds, err)) != 0 ||
        (rc = get_int(o, w, "videoMaxPixels", 1, (int64_t)1 << 40, &pixels, err)) != 0 ||
        (rc = get_i32(o, w, "videoCrf", 0, 51, &m->video_crf, err)) != 0 ||
        (rc = get_str(o, w, "videoPreset", sizeof(m->video_preset) - 1, &preset, err)) != 0 ||
        (rc = get_bool(o, w, "videoCopy", &m->video_copy, err)) != 0 ||
        (rc = get_i32(o, w, "videoThreads", 0, 256, &m->video_threads, err)) != 0 ||
        (rc = get_bool(o, w, "videoSmartCrop", &m->video_smart_crop, err)) != 0) {
        free(preset);
        return rc;
    }
    m->video_max_pixels = (uint64_t)pixels;
    m->photo_max_pixels = (uint64_t)photo_pixels;
    snprintf(m->video_preset, sizeof(m->video_preset), "%s", preset);
    free(preset);
    return 0;
}

static int sheet_decode(const json_t *o, arc_job_sheet_t *s, arc_err_t *err)
{
    const char *w = "job sheet";
    char *paper = NULL, *lang = NULL;
    int rc;

    if (!json_is_object(o))
        return bad(err, "job", "sheet", "is missing or not an object");
    if ((rc = get_str(o, w, "paper", sizeof(s->paper) - 1, &paper, err)) == 0 &&
        (rc = get_num(o, w, "photoMm", 0, 1000, &s->photo_mm, err)) == 0 &&
        (rc = get_str(o, w, "language", sizeof(s->language) - 1, &lang, err)) == 0) {
        if (arc_paper_find(paper) == NULL)
            rc = bad(err, w, "paper", "is not a paper size arcd knows");
        else if (!arc_sheet_language_known(lang))
            rc = bad(err, w, "language", "is not ru or en");
    }
    if (rc == 0) {
        snprintf(s->paper, sizeof(s->paper), "%s", arc_paper_find(paper)->name);
        snprintf(s->language, sizeof(s->language), "%s", lang);
    }
    free(paper);
    free(lang);
    return rc;
}

static int job_decode(const json_t *js, arc_job_msg_t *j, arc_err_t *err)
{
    const char *w = "job";
    json_t *items = json_object_get(js, "items");
    json_t *viewer = json_object_get(js, "viewer");
    char *fit = NULL;
    int64_t pixels = 0;
    int rc;

    if ((rc = get_id(js, w, &j->id, err)) != 0 ||
        (rc = get_abs_path(js, w, "dir", 0, &j->dir, err)) != 0)
        return rc;
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > ARC_MAX_TARGETS)
        return bad(err, w, "items", "must be an array of 1 to 8 photo/video pairs");
    j->n_items = json_array_size(items);
    j->items = arc_xcalloc(j->n_items, sizeof(*j->items));
    for (size_t i = 0; i < j->n_items; i++) {
        json_t *it = json_array_get(items, i);
        if (!json_is_object(it))
            return bad(err, w, "items", "must hold objects");
        if ((rc = get_file(it, "job item", "photo", 0, &j->items[i].photo, err)) != 0 ||
            (rc = get_file(it, "job item", "video", 1, &j->items[i].video, err)) != 0)
            return rc;
    }
    if ((rc = stages_decode(js, &j->stages, err)) != 0)
        return rc;
    for (size_t i = 0; i < j->n_items; i++) {
        if (j->stages == ARC_STAGE_ALL) {
            j->items[i].redo_video = 1;
            j->items[i].video_out = arc_xstrdup("");
        } else if ((rc = item_extras_decode(json_array_get(items, i), &j->items[i], err)) != 0) {
            return rc;
        }
    }
    rc = get_str(js, w, "fitMode", 16, &fit, err);
    if (rc == 0 && arc_fit_parse(fit, &j->fit) != 0)
        rc = bad(err, w, "fitMode", "is not contain, cover, fill or exact");
    free(fit);
    if (rc != 0 || (rc = get_i32(js, w, "scaleWidth", 0, 10000, &j->scale_width, err)) != 0 ||
        (rc = get_i32(js, w, "scaleHeight", 0, 10000, &j->scale_height, err)) != 0)
        return rc;
    if (j->fit == ARC_FIT_EXACT && (j->scale_width == 0 || j->scale_height == 0))
        return bad(err, w, "scaleWidth", "and scaleHeight must be given for fitMode exact");
    if ((rc = get_int(js, w, "maxPixels", 1, (int64_t)1 << 40, &pixels, err)) != 0 ||
        (rc = get_i32(js, w, "threads", 1, 256, &j->threads, err)) != 0 ||
        (rc = get_str(js, w, "viewUrl", MAX_URL, &j->view_url, err)) != 0 ||
        (rc = get_abs_path(js, w, "cacheDir", 1, &j->cache_dir, err)) != 0 ||
        (rc = media_decode(json_object_get(js, "media"), &j->media, err)) != 0)
        return rc;
    j->max_pixels = (uint64_t)pixels;
    if (!json_is_object(viewer))
        return bad(err, w, "viewer", "is missing or not an object");
    w = "job viewer";
    if ((rc = get_abs_path(viewer, w, "template", 0, &j->viewer.template_path, err)) != 0 ||
        (rc = get_str(viewer, w, "vendorUrl", MAX_URL, &j->viewer.vendor_url, err)) != 0 ||
        (rc = get_num(viewer, w, "filterMinCF", 0, 1, &j->viewer.filter_min_cf, err)) != 0 ||
        (rc = get_num(viewer, w, "filterBeta", 0, 100000, &j->viewer.filter_beta, err)) != 0 ||
        (rc = get_str(viewer, w, "shopName", 200, &j->viewer.shop_name, err)) != 0 ||
        (rc = get_str(viewer, w, "logoUrl", MAX_URL, &j->viewer.logo_url, err)) != 0 ||
        (rc = get_str(viewer, w, "accentColor", 7, &j->viewer.accent_color, err)) != 0)
        return rc;
    if (!arc_tpl_color_valid(j->viewer.accent_color))
        return bad(err, w, "accentColor", "is not a colour #rrggbb");
    /* The request id goes into log lines: X-Request-Id's own characters only. */
    const char *rid = json_string_value(json_object_get(js, "requestId"));
    if ((rc = get_i32(js, "job", "attempt", 0, 1000, &j->attempt, err)) != 0)
        return rc;
    if (rid == NULL || strlen(rid) >= sizeof(j->request_id) ||
        strspn(rid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") !=
            strlen(rid))
        return bad(err, "job", "requestId", "must be up to 64 of A-Z a-z 0-9 . _ : -");
    memcpy(j->request_id, rid, strlen(rid) + 1);
    return sheet_decode(json_object_get(js, "sheet"), &j->sheet, err);
}

static void job_dispose(arc_job_msg_t *j)
{
    for (size_t i = 0; j->items != NULL && i < j->n_items; i++) {
        free(j->items[i].photo);
        free(j->items[i].video);
        free(j->items[i].video_out);
    }
    free(j->items);
    free(j->id);
    free(j->dir);
    free(j->view_url);
    free(j->cache_dir);
    free(j->viewer.template_path);
    free(j->viewer.vendor_url);
    free(j->viewer.shop_name);
    free(j->viewer.logo_url);
    free(j->viewer.accent_color);
}

int arc_job_msg_check(const arc_job_msg_t *m, arc_err_t *err)
{
    arc_msg_t in = {.type = ARC_MSG_JOB, .u.job = *m}, out;
    json_t *js = arc_msg_encode(&in);
    int rc = js ? arc_msg_decode(js, &out, err)
                : arc_err_set(err, ARC_ECORRUPT, "protocol: a job that cannot be encoded");

    json_decref(js);
    if (rc == 0)
        arc_msg_dispose(&out);
    return rc;
}

/* ---- progress ---- */

static int progress_decode(const json_t *js, arc_progress_msg_t *p, arc_err_t *err)
{
    char *stage = NULL;
    int rc;

    if ((rc = get_id(js, "progress", &p->id, err)) != 0 ||
        (rc = get_str(js, "progress", "stage", sizeof(p->stage) - 1, &stage, err)) != 0 ||
        (rc = get_i32(js, "progress", "progress", 0, 100, &p->progress, err)) != 0) {
        free(stage);
        return rc;
    }
    int named = stage[0] != '\0';
    for (const char *c = stage; *c; c++)
        named = named && ((*c >= 'a' && *c <= 'z') || *c == '_');
    if (!named) {
        free(stage);
        return bad(err, "progress", "stage", "is not a stage name");
    }
    snprintf(p->stage, sizeof(p->stage), "%s", stage);
    free(stage);
    return 0;
}

/* ---- done ---- */

/* A JSON member the daemon stores as it is: of the expected kind (or null
 * where allowed), copied so that the message owns it. */
static int get_json(const json_t *o, const char *what, const char *key, json_type type,
                    int may_be_null, json_t **out, arc_err_t *err)
{
    json_t *v = json_object_get(o, key);

    if ((v == NULL || json_is_null(v)) && may_be_null) {
        *out = json_null();
        return 0;
    }
    if (v == NULL || json_typeof(v) != type)
        return bad(err, what, key, "is missing or of the wrong kind");
    *out = json_deep_copy(v);
    return 0;
}

static int timings_decode(const json_t *js, arc_done_msg_t *d, arc_err_t *err)
{
    const char *stage;
    json_t *v;

    if (json_object_get(js, "timings") == NULL) {
        d->timings = json_object();
        return 0;
    }
    int rc = get_json(js, "done", "timings", JSON_OBJECT, 0, &d->timings, err);
    if (rc != 0)
        return rc;
    if (json_object_size(d->timings) > 32)
        return bad(err, "done", "timings", "has too many stages");
    json_object_foreach(d->timings, stage, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_MS)
            return bad(err, "done", "timings", "holds a time that is not a number of ms");
    }
    return 0;
}

/*
 * One item of a "done": what the daemon keeps of a pair and reads numbers
 * from (the project's items, the status document, a later job of some
 * stages). Each part may be null (a stage that did not run); when there it
 * has the shape the daemon reads:
 *   photo  {"print": {"width", "height", "photo": {"x", "y", "width", "height"}}, ...}
 *   rating {"stars": 0-5 (when there), ...}   video {...}   videoFile "name" (a file name)
 * A worker's numbers are input like any other: one the database would refuse
 * (an integer out of range, a string) made the final update fail and the
 * job run again.
 */
static int item_decode(const json_t *it, arc_err_t *err)
{
    const char *w = "done item";
    json_t *photo = json_object_get(it, "photo"), *rating = json_object_get(it, "rating");
    json_t *video = json_object_get(it, "video"), *file = json_object_get(it, "videoFile");
    int v;
    int rc;

    if (!json_is_object(it))
        return bad(err, "done", "items", "must hold objects");
    if (photo != NULL && !json_is_null(photo)) {
        if (!json_is_object(photo))
            return bad(err, w, "photo", "is not an object");
        json_t *print = json_object_get(photo, "print");
        if (print != NULL && !json_is_null(print)) {
            json_t *inner = json_object_get(print, "photo");
            if (!json_is_object(print) || !json_is_object(inner))
                return bad(err, w, "print", "is not an object with the photo's place");
            if ((rc = get_i32(print, "done item print", "width", 1, 1000000, &v, err)) != 0 ||
                (rc = get_i32(print, "done item print", "height", 1, 1000000, &v, err)) != 0 ||
                (rc = get_i32(inner, "done item print photo", "x", 0, 1000000, &v, err)) != 0 ||
                (rc = get_i32(inner, "done item print photo", "y", 0, 1000000, &v, err)) != 0 ||
                (rc = get_i32(inner, "done item print photo", "width", 1, 1000000, &v, err)) != 0 ||
                (rc = get_i32(inner, "done item print photo", "height", 1, 1000000, &v, err)) != 0)
                return rc;
        }
    }
    if (rating != NULL && !json_is_null(rating)) {
        if (!json_is_object(rating))
            return bad(err, w, "rating", "is not an object");
        if (json_object_get(rating, "stars") != NULL &&
            (rc = get_i32(rating, "done item rating", "stars", 0, 5, &v, err)) != 0)
            return rc;
    }
    if (video != NULL && !json_is_null(video) && !json_is_object(video))
        return bad(err, w, "video", "is not an object");
    if (file != NULL && !json_is_null(file) &&
        (!json_is_string(file) || !is_file_name(json_string_value(file))))
        return bad(err, w, "videoFile", "is not a file name");
    return 0;
}

static int done_decode(const json_t *js, arc_done_msg_t *d, arc_err_t *err)
{
    const char *w = "done";
    json_t *photo = json_object_get(js, "photo");
    char *cache = NULL;
    size_t i;
    json_t *f;
    int rc;

    if ((rc = get_id(js, w, &d->id, err)) != 0 || (rc = get_bool(js, w, "ok", &d->ok, err)) != 0 ||
        (rc = timings_decode(js, d, err)) != 0)
        return rc;
    if (!d->ok)
        return (rc = get_str(js, w, "error", MAX_REASON, &d->error, err)) != 0
                   ? rc
                   : get_bool(js, w, "permanent", &d->permanent, err);
    if ((rc = get_json(js, w, "files", JSON_ARRAY, 0, &d->files, err)) != 0)
        return rc;
    if (json_array_size(d->files) > MAX_FILES)
        return bad(err, w, "files", "lists too many files");
    json_array_foreach(d->files, i, f)
    {
        if (!json_is_string(f) || !is_file_name(json_string_value(f)))
            return bad(err, w, "files", "holds something that is not a file name");
    }
    if (!json_is_object(photo))
        return bad(err, w, "photo", "is missing or not an object");
    if ((rc = get_i32(photo, "done photo", "width", 0, 1000000, &d->photo_width, err)) != 0 ||
        (rc = get_i32(photo, "done photo", "height", 0, 1000000, &d->photo_height, err)) != 0 ||
        (rc = get_json(js, w, "video", JSON_OBJECT, 1, &d->video, err)) != 0 ||
        (rc = get_json(js, w, "rating", JSON_OBJECT, 1, &d->rating, err)) != 0 ||
        (rc = get_json(js, w, "items", JSON_ARRAY, 0, &d->items, err)) != 0 ||
        (rc = get_int(js, w, "ms", 0, MAX_MS, &d->ms, err)) != 0 ||
        (rc = get_str(js, w, "markerCache", 8, &cache, err)) != 0)
        return rc;
    rc = strcmp(cache, "hit") == 0 || strcmp(cache, "miss") == 0
             ? 0
             : bad(err, w, "markerCache", "is not hit or miss");
    d->marker_cached = strcmp(cache, "hit") == 0;
    free(cache);
    if (rc != 0)
        return rc;
    if (json_array_size(d->items) == 0 || json_array_size(d->items) > ARC_MAX_TARGETS)
        return bad(err, w, "items", "must describe 1 to 8 photo/video pairs");
    json_array_foreach(d->items, i, f)
    {
        if ((rc = item_decode(f, err)) != 0)
            return rc;
    }
    if (json_object_get(d->rating, "stars") != NULL &&
        (rc = get_i32(d->rating, "done rating", "stars", 0, 5, &(int){0}, err)) != 0)
        return rc;
    return 0;
}

static json_t *done_encode(const arc_done_msg_t *d)
{
    json_t *timings = d->timings ? json_incref(d->timings) : json_object();

    if (!d->ok)
        return json_pack("{s:i, s:s, s:s, s:b, s:s, s:b, s:o}", "v", ARC_PROTO_VERSION, "type",
                         "done", "id", d->id, "ok", 0, "error", d->error ? d->error : "failed",
                         "permanent", d->permanent, "timings", timings);
    json_t *js =
        json_pack("{s:i, s:s, s:s, s:b, s:O, s:{s:i, s:i}, s:O, s:O, s:O, s:o, s:I}", "v",
                  ARC_PROTO_VERSION, "type", "done", "id", d->id, "ok", 1, "files", d->files,
                  "photo", "width", d->photo_width, "height", d->photo_height, "video",
                  d->video ? d->video : json_null(), "rating", d->rating ? d->rating : json_null(),
                  "items", d->items, "timings", timings, "ms", (json_int_t)d->ms);
    json_object_set_new(js, "markerCache", json_string(d->marker_cached ? "hit" : "miss"));
    return js;
}

static void done_dispose(arc_done_msg_t *d)
{
    free(d->id);
    free(d->error);
    json_decref(d->files);
    json_decref(d->video);
    json_decref(d->rating);
    json_decref(d->items);
    json_decref(d->timings);
}

/* ---- any message ---- */

json_t *arc_msg_encode(const arc_msg_t *m)
{
    switch (m->type) {
    case ARC_MSG_HELLO:
        return json_pack("{s:i, s:s, s:I}", "v", ARC_PROTO_VERSION, "type", "hello", "pid",
                         (json_int_t)m->u.hello.pid);
    case ARC_MSG_JOB: return job_encode(&m->u.job);
    case ARC_MSG_PROGRESS:
        return json_pack("{s:i, s:s, s:s, s:s, s:i}", "v", ARC_PROTO_VERSION, "type", "progress",
                         "id", m->u.progress.id, "stage", m->u.progress.stage, "progress",
                         m->u.progress.progress);
    case ARC_MSG_DONE: return done_encode(&m->u.done);
    }
    return NULL;
}

int arc_msg_decode(const json_t *js, arc_msg_t *out, arc_err_t *err)
{
    json_t *v = json_object_get(js, "v");
    const char *type = json_string_value(json_object_get(js, "type"));
    int rc;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(js))
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a message is not a JSON object");
    if (!json_is_integer(v) || json_integer_value(v) != ARC_PROTO_VERSION)
        return arc_err_set(err, ARC_ECORRUPT,
                           "protocol: a message of another version (this is version %d)",
                           ARC_PROTO_VERSION);
    if (type == NULL)
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a message without a type");
    if (strcmp(type, "hello") == 0) {
        out->type = ARC_MSG_HELLO;
        rc = get_int(js, "hello", "pid", 1, INT32_MAX, &out->u.hello.pid, err);
    } else if (strcmp(type, "job") == 0) {
        out->type = ARC_MSG_JOB;
        rc = job_decode(js, &out->u.job, err);
    } else if (strcmp(type, "progress") == 0) {
        out->type = ARC_MSG_PROGRESS;
        rc = progress_decode(js, &out->u.progress, err);
    } else if (strcmp(type, "done") == 0) {
        out->type = ARC_MSG_DONE;
        rc = done_decode(js, &out->u.done, err);
    } else {
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a message of unknown type '%.40s'", type);
    }
    if (rc != 0)
        arc_msg_dispose(out);
    return rc;
}

void arc_msg_dispose(arc_msg_t *m)
{
    if (m == NULL)
        return;
    switch (m->type) {
    case ARC_MSG_JOB: job_dispose(&m->u.job); break;
    case ARC_MSG_PROGRESS: free(m->u.progress.id); break;
    case ARC_MSG_DONE: done_dispose(&m->u.done); break;
    default: break;
    }
    memset(m, 0, sizeof(*m));
}
