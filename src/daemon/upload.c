/*
 * POST /api/ar/create-demo and POST /api/ar/create: multipart/form-data
 * uploads streamed to disk.
 *
 * create-demo takes one `photo` and one `video` and makes a demo project
 * that expires (demo.ttlHours); create takes up to ARC_MAX_TARGETS pairs,
 * repeated `photo` and `video` parts paired in order (a photo may go
 * without its video only at the end), and makes a lasting multi-target
 * project whose pairs are rows of ar_project_items.
 *
 * Parts arrive through the streaming multipart parser; photos and videos
 * go to temporary files under storage/tmp/<id>/ (checked by their magic
 * bytes as soon as the first bytes are in), written through libuv's
 * threadpool while the connection is paused, so neither memory nor the loop
 * holds the upload. When the body is complete the files are fsynced and
 * moved into storage/ar-storage/<id>/, and only then is the project row
 * inserted (which queues the job). Any failure answers a JSON error and
 * removes what was written; an accepted upload always has its row.
 *
 * No file-system call runs on the loop (slow or network storage would stop
 * the daemon): creating the folders and files, writing, fsync, moving into
 * place and cleaning up all go through the threadpool, one operation of an
 * upload at a time, in order (the op queue below).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "arcd/addrmap.h"
#include "arcd/limits.h"
#include "arcd/log.h"
#include "arcd/multipart.h"
#include "arcd/sniff.h"
#include "fields.h"
#include "projects.h"
#include "status.h"
#include "upload.h"

#define FIELD_LIMIT 65536

typedef struct ufile_s {
    int fd;
    char tmp[4096];
    char name[32]; /* photo.jpg, video.webm, photo-1.png, ... */
    uint64_t bytes;
    uint8_t sniff[ARC_SNIFF_BYTES];
    size_t sniff_len;
    int checked;
    int present;
} ufile_t;

/* An operation on an upload's files, done on the threadpool in order. */
typedef enum { OP_OPEN, OP_WRITE } op_kind_t;

typedef struct op_s {
    op_kind_t kind;
    char *data; /* OP_WRITE */
    size_t len;
    ufile_t *file;
    struct op_s *next;
} op_t;

typedef enum { PART_NONE, PART_PHOTO, PART_VIDEO, PART_FIELD } part_t;

/* What an upload makes. */
typedef enum { U_DEMO, U_CREATE, U_VIDEO } umode_t;

typedef struct upload_s {
    arc_daemon_t *d;
    umode_t mode;
    int multi;           /* U_CREATE: up to ARC_MAX_TARGETS pairs */
    char owner[130];     /* the API token's owner */
    arc_http_req_t *req; /* NULL once answered or aborted */
    char id[40];
    char request_id[65]; /* its X-Request-Id, kept with the job for the logs */
    char tmpdir[3800];
    arc_multipart_t *mp;
    part_t part;
    char field[32];
    char *value;
    size_t value_len;
    ufile_t photos[ARC_MAX_TARGETS], videos[ARC_MAX_TARGETS];
    int n_photos, n_videos;
    ufile_t *cur; /* the file part being received */
    op_t *q_head, *q_tail;
    int tmpdir_made;
    uv_fs_t fs;
    uv_work_t work; /* the threadpool jobs that are not one uv_fs call */
    int fs_busy;
    int cleaning;   /* the cleanup job runs: u is freed when it is done */
    int work_errno; /* the last threadpool job's error (0: none) */
    char work_what[80];
    int body_done;
    int finalizing;
    int in_feed; /* inside the multipart parser: cleanup waits */
    int failed;
    char fit_mode[16];
    int fit_given; /* the form chose fitMode (U_VIDEO changes the project's then) */
    int scale_w, scale_h;
    json_t *config;
    int smart_crop; /* useSmartCrop: -1 not given, 0, 1 */
    json_t *print;  /* the print sheet's options given as form fields */
    json_t *fields; /* the project's fields (fields.h) given: name -> text */
    arc_pg_query_t *query;
    /* U_VIDEO: the pair whose video is new, and the project's owner filter. */
    int target;
    int committing; /* the statement that makes the project (or swaps its video) runs */
    char who[130];  /* '' for an admin token */
    char old_video[ARC_MAX_FILE_NAME + 1];
} upload_t;

/* ---- rate limit: uploads per client per minute ----
 * A token bucket per client address (the real client's, behind a trusted
 * proxy): `uploadsPerMinute` tokens at most, refilled at that rate, one
 * token per upload. Each address has its own entry (arcd/addrmap.h); the
 * least recently seen give way when the map is full. */

#define RATE_ENTRIES 65536

struct arc_uploads_s {
    arc_daemon_t *d;
    arc_addrmap_t *rates;
};

arc_uploads_t *arc_uploads_create(arc_daemon_t *d)
{
    arc_uploads_t *u = arc_xcalloc(1, sizeof(*u));

    u->d = d;
    u->rates = arc_addrmap_create(RATE_ENTRIES);
    return u;
}

void arc_uploads_free(arc_uploads_t *u)
{
    if (u == NULL)
        return;
    arc_addrmap_free(u->rates);
    free(u);
}

/* Returns 0, or the seconds until the client may upload again. */
static int rate_check(arc_uploads_t *ups, const arc_ip_t *client)
{
    arc_daemon_t *d = ups->d;
    double limit = (double)d->cfg->limits.uploads_per_minute;
    uint64_t now = uv_now(d->loop);
    int created;

    if (limit <= 0)
        return 0;
    arc_addr_entry_t *r = arc_addrmap_get(ups->rates, client, &created);
    if (r == NULL)
        return 60; /* cannot happen: no entry is ever in use */
    if (created) {
        r->tokens = limit;
        r->last_ms = now;
    }
    r->tokens += (double)(now - r->last_ms) * limit / 60000.0;
    if (r->tokens > limit)
        r->tokens = limit;
    r->last_ms = now;
    if (r->tokens < 1.0)
        return (int)((1.0 - r->tokens) * 60.0 / limit) + 1;
    r->tokens -= 1.0;
    return 0;
}

/* ---- cleanup ---- */

/* The i-th file of the upload: the photos, then the videos. */
static ufile_t *file_at(upload_t *u, int i)
{
    return i < ARC_MAX_TARGETS ? &u->photos[i] : &u->videos[i - ARC_MAX_TARGETS];
}

/* On the threadpool: closes the files and, for a refused upload, removes
 * everything it wrote. */
static void cleanup_work(uv_work_t *w)
{
    upload_t *u = w->data;
    char dir[4096], path[4200];

    snprintf(dir, sizeof(dir), "%s/ar-storage/%s", u->d->storage, u->id);
    for (int i = 0; i < 2 * ARC_MAX_TARGETS; i++) {
        ufile_t *f = file_at(u, i);
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        if (!u->failed)
            continue;
        /* Nothing of a refused upload stays behind. */
        if (f->tmp[0])
            unlink(f->tmp);
        if (f->name[0]) {
            snprintf(path, sizeof(path), "%s/%s", dir, f->name);
            unlink(path);
        }
    }
    if (u->failed && u->mode != U_VIDEO) /* a new video's project folder stays */
        rmdir(dir);
    rmdir(u->tmpdir);
}

static void cleanup_done(uv_work_t *w, int status)
{
    upload_t *u = w->data;

    (void)status;
    for (op_t *o = u->q_head, *n; o; o = n) {
        n = o->next;
        free(o->data);
        free(o);
    }
    arc_multipart_free(u->mp);
    free(u->value);
    json_decref(u->config);
    json_decref(u->print);
    json_decref(u->fields);
    free(u);
}

static void cleanup_if_idle(upload_t *u)
{
    if (u->fs_busy || u->query != NULL || u->req != NULL || u->in_feed || u->cleaning)
        return;
    u->cleaning = 1;
    u->work.data = u;
    uv_queue_work(u->d->loop, &u->work, cleanup_work, cleanup_done);
}

/* Answers an error (once) and lets cleanup run when the disk is idle. */
static int fail(upload_t *u, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(upload_t *u, int status, const char *code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    u->failed = 1;
    if (u->req != NULL) {
        arc_http_req_t *req = u->req;
        u->req = NULL;
        req->data = NULL;
        req->on_abort = NULL;
        arc_http_error(req, status, code, status == 503 ? "Retry-After: 5\r\n" : NULL, "%s", msg);
    }
    cleanup_if_idle(u);
    return status;
}

static void on_abort(arc_http_req_t *req)
{
    upload_t *u = req->data;

    u->req = NULL;
    if (u->committing)
        return; /* it may commit whatever happens to its result: its callback decides */
    u->failed = 1;
    arc_pg_cancel(u->query);
    u->query = NULL;
    cleanup_if_idle(u);
}

/* ---- writing ---- */

static void write_next(upload_t *u);
static void finalize(upload_t *u);

/* A threadpool request of this upload has returned: 1 to go on, 0 when the
 * upload has failed meanwhile (then it is cleaned up if nothing else runs). */
static int fs_returned(upload_t *u, uv_fs_t *fs)
{
    uv_fs_req_cleanup(fs);
    u->fs_busy = 0;
    if (!u->failed)
        return 1;
    cleanup_if_idle(u);
    return 0;
}

/* On the threadpool: the upload's temporary folder (once) and a file of it. */
static void open_work(uv_work_t *w)
{
    upload_t *u = w->data;
    ufile_t *f = u->q_head->file;

    u->work_errno = 0;
    if (!u->tmpdir_made && mkdir(u->tmpdir, 0750) != 0 && errno != EEXIST) {
        u->work_errno = errno;
        snprintf(u->work_what, sizeof(u->work_what), "cannot store uploads");
        return;
    }
    u->tmpdir_made = 1;
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (f->fd < 0) {
        u->work_errno = errno;
        snprintf(u->work_what, sizeof(u->work_what), "cannot store the upload");
    }
}

/* The operation at the head of the queue is done: the next one. */
static void op_done(upload_t *u)
{
    op_t *o = u->q_head;

    u->q_head = o->next;
    if (u->q_head == NULL)
        u->q_tail = NULL;
    free(o->data);
    free(o);
    write_next(u);
}

/* A threadpool job of this upload (work_errno and work_what its outcome)
 * has returned: 1 to go on, 0 when the upload failed meanwhile or the job
 * did (then it is answered and cleaned up). */
static int work_returned(upload_t *u)
{
    u->fs_busy = 0;
    if (u->failed) {
        cleanup_if_idle(u);
        return 0;
    }
    if (u->work_errno != 0) {
        int full = u->work_errno == ENOSPC || u->work_errno == EDQUOT;
        fail(u, full ? 507 : 500, full ? "storage_full" : "storage_error", "%s: %s", u->work_what,
             strerror(u->work_errno));
        return 0;
    }
    return 1;
}

static void on_opened(uv_work_t *w, int status)
{
    (void)status;
    if (work_returned(w->data))
        op_done(w->data);
}

static void on_written(uv_fs_t *fs)
{
    upload_t *u = fs->data;
    ssize_t n = fs->result;
    op_t *o = u->q_head;

    if (!fs_returned(u, fs))
        return;
    if (n < 0) {
        int full = n == UV_ENOSPC || n == -EDQUOT;
        fail(u, full ? 507 : 500, full ? "storage_full" : "storage_error",
             "the upload could not be stored: %s", uv_strerror((int)n));
        return;
    }
    if ((size_t)n < o->len) {
        memmove(o->data, o->data + n, o->len - (size_t)n); /* a short write: the rest again */
        o->len -= (size_t)n;
        write_next(u);
        return;
    }
    op_done(u);
}

static void write_next(upload_t *u)
{
    if (u->fs_busy || u->failed)
        return;
    if (u->q_head == NULL) {
        if (u->req != NULL)
            arc_http_resume(u->req);
        if (u->body_done && !u->finalizing)
            finalize(u);
        return;
    }
    op_t *o = u->q_head;
    u->fs_busy = 1;
    if (o->kind == OP_OPEN) {
        u->work.data = u;
        uv_queue_work(u->d->loop, &u->work, open_work, on_opened);
        return;
    }
    uv_buf_t buf = uv_buf_init(o->data, (unsigned)o->len);
    u->fs.data = u;
    uv_fs_write(u->d->loop, &u->fs, o->file->fd, &buf, 1, -1, on_written);
}

static void enqueue(upload_t *u, op_kind_t kind, ufile_t *f, const char *data, size_t len)
{
    op_t *o = arc_xcalloc(1, sizeof(*o));

    o->kind = kind;
    if (len > 0) {
        o->data = arc_xmalloc(len);
        memcpy(o->data, data, len);
    }
    o->len = len;
    o->file = f;
    if (u->q_tail)
        u->q_tail->next = o;
    else
        u->q_head = o;
    u->q_tail = o;
    if (u->req != NULL)
        arc_http_pause(u->req); /* until the disk has caught up */
    write_next(u);
}

/* ---- parts ---- */

/* Checks a file part's first bytes once enough are in (or at its end). */
static int check_magic(upload_t *u, ufile_t *f, int at_end)
{
    if (f->checked || (!at_end && f->sniff_len < sizeof(f->sniff)))
        return 0;
    f->checked = 1;
    int is_photo = f >= u->photos && f < u->photos + ARC_MAX_TARGETS;
    int index = (int)(is_photo ? f - u->photos : f - u->videos);
    char suffix[16] = "";
    if (index > 0)
        snprintf(suffix, sizeof(suffix), "-%d", index);
    if (u->mode == U_VIDEO) {
        /* A new video of a project: a name of its own, beside the one it
         * replaces (which the running viewer may still be using). */
        unsigned char tag[4];
        if (RAND_bytes(tag, sizeof(tag)) != 1)
            abort();
        snprintf(suffix, sizeof(suffix), "-%02x%02x%02x%02x", tag[0], tag[1], tag[2], tag[3]);
    }
    if (is_photo) {
        arc_image_format_t fmt = arc_image_sniff(f->sniff, f->sniff_len);
        if (fmt == ARC_IMAGE_UNKNOWN || fmt == ARC_IMAGE_PGM)
            return fail(u, 415, "unsupported_photo",
                        "the photo is not a JPEG, PNG, HEIC, AVIF or WebP image (by its first "
                        "bytes)");
        snprintf(f->name, sizeof(f->name), "photo%s.%s", suffix, arc_image_format_ext(fmt));
    } else {
        const char *c = arc_video_sniff(f->sniff, f->sniff_len);
        if (c == NULL)
            return fail(u, 415, "unsupported_video",
                        "the video is not MP4, MOV or WebM (by its first bytes)");
        snprintf(f->name, sizeof(f->name), "video%s.%s", suffix, c);
    }
    return 0;
}

/* ---- the print sheet's options (fields.h) ---- */

/* A print option given as a form field: kept for the project's config. */
static int print_field(upload_t *u, const char *v)
{
    char why[200], *end = NULL;
    json_t *value;

    if (strcmp(u->field, "printPhotoMm") == 0) {
        double mm = strtod(v, &end);
        value = *v != '\0' && *end == '\0' && isfinite(mm) ? json_real(mm) : json_null();
    } else {
        value = json_string(v);
    }
    if (arc_print_option_check(u->field, value, why, sizeof(why)) != 0) {
        json_decref(value);
        return fail(u, 400, "bad_field", "%s", why);
    }
    if (u->print == NULL)
        u->print = json_object();
    json_object_set_new(u->print, u->field, value);
    return 0;
}

/* The print options inside a config object, checked as the fields are. */
static int print_config_ok(upload_t *u)
{
    char why[200];

    for (size_t i = 0; arc_print_options[i] != NULL; i++) {
        json_t *v = json_object_get(u->config, arc_print_options[i]);
        if (v != NULL && arc_print_option_check(arc_print_options[i], v, why, sizeof(why)) != 0)
            return fail(u, 400, "bad_field", "config: %s", why);
    }
    return 0;
}

static int on_part(void *arg, const char *name, const char *filename, const char *ctype)
{
    upload_t *u = arg;
    ufile_t *f = NULL;

    (void)filename;
    (void)ctype;
    /* photoFile and videoFile: the old frontend's names. */
    int is_photo = strcmp(name, "photo") == 0 || strcmp(name, "photoFile") == 0;
    int is_video = strcmp(name, "video") == 0 || strcmp(name, "videoFile") == 0;
    if (is_photo && u->mode == U_VIDEO)
        return fail(u, 400, "unknown_field",
                    "a new video keeps the project's photo: the form takes no '%s'", name);
    if (is_photo || is_video) {
        name = is_photo ? "photo" : "video";
        int *n = is_photo ? &u->n_photos : &u->n_videos;
        if (*n >= (u->multi ? ARC_MAX_TARGETS : 1))
            return u->multi
                       ? fail(u, 400, "too_many_targets",
                              "a project takes at most %d photo/video pairs", ARC_MAX_TARGETS)
                       : fail(u, 400, "duplicate_part", "the form has more than one '%s'", name);
        f = is_photo ? &u->photos[*n] : &u->videos[*n];
        u->part = is_photo ? PART_PHOTO : PART_VIDEO;
        f->present = 1;
        snprintf(f->tmp, sizeof(f->tmp), "%s/%s-%d.part", u->tmpdir, name, *n);
        (*n)++;
        u->cur = f;
        enqueue(u, OP_OPEN, f, NULL, 0);
        return 0;
    }
    int known = strcmp(name, "fitMode") == 0 || strcmp(name, "scaleWidth") == 0 ||
                strcmp(name, "scaleHeight") == 0;
    if (u->mode == U_VIDEO)
        known = known || strcmp(name, "target") == 0;
    else
        known = known || strcmp(name, "config") == 0 || strcmp(name, "useSmartCrop") == 0 ||
                arc_print_option_known(name) || arc_field_find(name) != NULL;
    if (!known) {
        char shown[64];
        snprintf(shown, sizeof(shown), "%s", name);
        arc_str_printable(shown);
        return fail(u, 400, "unknown_field", "unknown form field '%s' (expected %s)", shown,
                    u->mode == U_VIDEO
                        ? "video, fitMode, scaleWidth, scaleHeight, target"
                        : "photo, video, fitMode, scaleWidth, scaleHeight, config, "
                          "useSmartCrop, printSize, printPhotoMm, printLanguage, title, "
                          "orderRef, customerName, customerEmail, "
                          "notifyUrl, notifyEmail, metadata");
    }
    if ((arc_field_find(name) != NULL && json_object_get(u->fields, name) != NULL) ||
        (arc_print_option_known(name) && json_object_get(u->print, name) != NULL))
        return fail(u, 400, "duplicate_part", "the form has more than one '%s'", name);
    u->part = PART_FIELD;
    snprintf(u->field, sizeof(u->field), "%s", name);
    free(u->value);
    u->value = arc_xstrdup("");
    u->value_len = 0;
    return 0;
}

static int on_data(void *arg, const char *data, size_t len)
{
    upload_t *u = arg;
    arc_daemon_t *d = u->d;

    if (u->part == PART_FIELD) {
        if (u->value_len + len > FIELD_LIMIT)
            return fail(u, 413, "field_too_large", "the field '%s' is over %d bytes", u->field,
                        FIELD_LIMIT);
        u->value = arc_xrealloc(u->value, u->value_len + len + 1, 1);
        memcpy(u->value + u->value_len, data, len);
        u->value_len += len;
        u->value[u->value_len] = '\0';
        return 0;
    }
    ufile_t *f = u->cur;
    uint64_t limit =
        (uint64_t)(u->part == PART_PHOTO ? d->cfg->limits.photo_bytes : d->cfg->limits.video_bytes);
    f->bytes += len;
    if (f->bytes > limit)
        return fail(u, 413, "file_too_large", "the %s is over its limit of %llu bytes",
                    u->part == PART_PHOTO ? "photo" : "video", (unsigned long long)limit);
    if (f->sniff_len < sizeof(f->sniff)) {
        size_t take = len < sizeof(f->sniff) - f->sniff_len ? len : sizeof(f->sniff) - f->sniff_len;
        memcpy(f->sniff + f->sniff_len, data, take);
        f->sniff_len += take;
    }
    if (check_magic(u, f, 0) != 0)
        return -1;
    enqueue(u, OP_WRITE, f, data, len);
    return 0;
}

static int parse_dim(upload_t *u, const char *v, int *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);

    if (*v == '\0' || *end != '\0' || n < 1 || n > 10000)
        return fail(u, 400, "bad_field", "'%s' must be a whole number of pixels from 1 to 10000",
                    u->field);
    *out = (int)n;
    return 0;
}

static int on_part_end(void *arg)
{
    upload_t *u = arg;

    if (u->part == PART_PHOTO || u->part == PART_VIDEO) {
        ufile_t *f = u->cur;
        if (f->bytes == 0)
            return fail(u, 400, "empty_file", "the %s is empty",
                        u->part == PART_PHOTO ? "photo" : "video");
        return check_magic(u, f, 1) != 0 ? -1 : 0;
    }
    if (u->part != PART_FIELD)
        return 0;
    const char *v = u->value;
    if (strcmp(u->field, "fitMode") == 0) {
        if (strcmp(v, "contain") && strcmp(v, "cover") && strcmp(v, "fill") && strcmp(v, "exact"))
            return fail(u, 400, "bad_field", "fitMode must be contain, cover, fill or exact");
        snprintf(u->fit_mode, sizeof(u->fit_mode), "%s", v);
        u->fit_given = 1;
    } else if (strcmp(u->field, "scaleWidth") == 0) {
        return parse_dim(u, v, &u->scale_w) ? -1 : 0;
    } else if (strcmp(u->field, "scaleHeight") == 0) {
        return parse_dim(u, v, &u->scale_h) ? -1 : 0;
    } else if (strcmp(u->field, "config") == 0) {
        json_error_t e;
        json_decref(u->config);
        u->config = json_loads(v, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_object(u->config))
            return fail(u, 400, "bad_field", "config must be a JSON object");
        if (print_config_ok(u) != 0)
            return -1;
    } else if (arc_print_option_known(u->field)) {
        if (print_field(u, v) != 0)
            return -1;
    } else if (strcmp(u->field, "useSmartCrop") == 0) {
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
            u->smart_crop = 1;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
            u->smart_crop = 0;
        else
            return fail(u, 400, "bad_field", "useSmartCrop must be true or false");
    } else if (strcmp(u->field, "target") == 0) {
        char *end = NULL;
        long t = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || t < 0 || t >= ARC_MAX_TARGETS)
            return fail(u, 400, "bad_field",
                        "target must be the number of a photo/video pair, from 0 to %d",
                        ARC_MAX_TARGETS - 1);
        u->target = (int)t;
    } else {
        const arc_field_t *f = arc_field_find(u->field);
        char why[200];
        if (f != NULL && arc_field_check(f, v, why, sizeof(why)) != 0)
            return fail(u, 400, "bad_field", "%s", why);
        if (f != NULL)
            json_object_set_new(u->fields, f->name, json_string(v));
    }
    u->part = PART_NONE;
    return 0;
}

static int on_body(arc_http_req_t *req, const char *data, size_t len)
{
    upload_t *u = req->data;

    u->in_feed = 1;
    int rc = arc_multipart_feed(u->mp, data, len);
    u->in_feed = 0;
    if (rc != 0 && !u->failed)
        fail(u, 400, "bad_multipart", "the form data is malformed: %s", arc_multipart_error(u->mp));
    else if (u->failed)
        cleanup_if_idle(u);
    return 0; /* an error was answered above: the server sees that */
}

/* ---- completion ---- */

static void on_inserted(int status, PGresult *res, void *arg)
{
    upload_t *u = arg;
    arc_daemon_t *d = u->d;

    u->query = NULL;
    u->committing = 0;
    if (u->req == NULL) { /* the client left meanwhile; the project stands if inserted */
        if (status != 0)
            u->failed = 1;
        cleanup_if_idle(u);
        return;
    }
    if (status != 0) {
        fail(u, 503, "database_unavailable", "the project could not be saved: %s",
             status == ARC_EDB ? PQresultErrorMessage(res) : arc_strerror(status));
        return;
    }
    char status_url[1024], view_url[1024];
    snprintf(status_url, sizeof(status_url), "%s/api/ar/status/%s", d->cfg->server.public_url,
             u->id);
    snprintf(view_url, sizeof(view_url), "%s/ar/view/%s", d->cfg->server.public_url, u->id);
    json_t *js =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:i}", "arId", u->id, "status", "pending",
                  "statusUrl", status_url, "viewUrl", view_url, "isDemo", !u->multi, "expiresAt",
                  PQgetisnull(res, 0, 0) ? json_null() : json_string(PQgetvalue(res, 0, 0)),
                  "targets", u->n_photos);
    arc_http_req_t *req = u->req;
    u->req = NULL;
    req->data = NULL;
    req->on_abort = NULL;
    char loc[1100];
    snprintf(loc, sizeof(loc), "Location: %s\r\n", status_url);
    char *body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    arc_http_respond(req, 202, "application/json; charset=utf-8", loc, body, strlen(body));
    free(body);
    json_decref(js);
    cleanup_if_idle(u);
}

/* A project field the form gave, or NULL (also when given empty). */
static const char *field_value(const upload_t *u, const char *name)
{
    const char *v = json_string_value(json_object_get(u->fields, name));
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void insert(upload_t *u)
{
    arc_daemon_t *d = u->d;
    char ttl[32], sw[16], sh[16], pb[32], vb[32], attempts[16];
    char pfmt[8], vfmt[8];
    uint64_t photo_bytes = 0, video_bytes = 0;
    json_t *items = json_array();

    for (int i = 0; i < u->n_photos; i++) {
        photo_bytes += u->photos[i].bytes;
        video_bytes += i < u->n_videos ? u->videos[i].bytes : 0;
        json_array_append_new(items, json_pack("{s:i, s:s, s:s?}", "position", i, "photo",
                                               u->photos[i].name, "video",
                                               i < u->n_videos ? u->videos[i].name : NULL));
    }
    char *items_s = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    if (u->smart_crop >= 0) {
        if (u->config == NULL)
            u->config = json_object();
        json_object_set_new(u->config, "useSmartCrop", json_boolean(u->smart_crop));
    }
    if (u->print != NULL) {
        if (u->config == NULL)
            u->config = json_object();
        json_object_update(u->config, u->print);
    }
    char *config = u->config ? json_dumps(u->config, JSON_COMPACT) : arc_xstrdup("{}");
    const char *metadata = field_value(u, "metadata");
    snprintf(ttl, sizeof(ttl), "%.3f", d->cfg->demo.ttl_hours * 3600.0);
    snprintf(sw, sizeof(sw), "%d", u->scale_w);
    snprintf(sh, sizeof(sh), "%d", u->scale_h);
    snprintf(pb, sizeof(pb), "%llu", (unsigned long long)photo_bytes);
    snprintf(vb, sizeof(vb), "%llu", (unsigned long long)video_bytes);
    snprintf(attempts, sizeof(attempts), "%lld", (long long)d->cfg->queue.max_attempts);
    snprintf(pfmt, sizeof(pfmt), "%s", strchr(u->photos[0].name, '.') + 1);
    snprintf(vfmt, sizeof(vfmt), "%s", u->n_videos ? strchr(u->videos[0].name, '.') + 1 : "");
    const char *params[22] = {u->id,
                              u->multi ? "f" : "t",
                              ttl,
                              u->fit_mode,
                              u->scale_w ? sw : NULL,
                              u->scale_h ? sh : NULL,
                              config,
                              pfmt,
                              pb,
                              u->n_videos ? vfmt : NULL,
                              vb,
                              attempts,
                              items_s,
                              u->owner,
                              field_value(u, "title"),
                              field_value(u, "orderRef"),
                              field_value(u, "customerName"),
                              field_value(u, "customerEmail"),
                              field_value(u, "notifyUrl"),
                              field_value(u, "notifyEmail"),
                              metadata ? metadata : "{}",
                              u->request_id};
    /* One statement: the project and its items are there together when the
     * job's NOTIFY goes out at commit. */
    u->committing = 1;
    u->query = arc_pg_query(
        d->pool,
        "WITH p AS (INSERT INTO ar_projects (id, is_demo, expires_at, fit_mode, scale_width,"
        "   scale_height, config, photo_format, photo_bytes, video_format, video_bytes,"
        "   max_attempts, owner, title, order_ref, customer_name, customer_email,"
        "   notification_url, notification_email, metadata, request_id)"
        " VALUES ($1::text, $2::boolean, CASE WHEN $2::boolean"
        "   THEN now() + make_interval(secs => $3::float8) END, $4, $5::int, $6::int,"
        "   $7::jsonb, $8, $9::bigint, $10, $11::bigint, $12::int, $14, $15, $16, $17, $18,"
        "   $19, $20, $21::jsonb, nullif($22, ''))"
        " RETURNING id, expires_at),"
        " i AS (INSERT INTO ar_project_items (project_id, position, photo_file, video_file)"
        "   SELECT p.id, x.position, x.photo, x.video FROM p,"
        "   json_to_recordset($13::json) AS x(position int, photo text, video text))"
        " SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM p",
        22, params, on_inserted, u);
    free(config);
    free(items_s);
}

/* On the threadpool: the body is in and on disk; make it durable (fsync,
 * close), move it into the project's folder (renames are metadata
 * operations within one file system) and hand it to the workers' user. */
static void publish_work(uv_work_t *w)
{
    upload_t *u = w->data;
    const arc_daemon_t *d = u->d;
    char dir[4096], dst[4200];

    u->work_errno = 0;
    for (int i = 0; i < 2 * ARC_MAX_TARGETS; i++) {
        ufile_t *f = file_at(u, i);
        if (f->fd < 0)
            continue;
        int rc = fsync(f->fd);
        int e = errno;
        close(f->fd);
        f->fd = -1;
        if (rc != 0) {
            u->work_errno = e;
            snprintf(u->work_what, sizeof(u->work_what), "the upload could not be saved");
            return;
        }
    }
    snprintf(dir, sizeof(dir), "%s/ar-storage/%s", d->storage, u->id);
    if (mkdir(dir, 0750) != 0) {
        u->work_errno = errno;
        snprintf(u->work_what, sizeof(u->work_what), "cannot create the project folder");
        return;
    }
    arc_daemon_hand_to_workers(d, dir);
    for (int i = 0; i < 2 * ARC_MAX_TARGETS; i++) {
        ufile_t *f = file_at(u, i);
        if (!f->present)
            continue;
        snprintf(dst, sizeof(dst), "%s/%s", dir, f->name);
        if (rename(f->tmp, dst) != 0) {
            u->work_errno = errno;
            snprintf(u->work_what, sizeof(u->work_what), "cannot move the upload into place");
            return;
        }
        f->tmp[0] = '\0';
        arc_daemon_hand_to_workers(d, dst);
    }
}

static void on_published(uv_work_t *w, int status)
{
    (void)status;
    if (work_returned(w->data))
        insert(w->data);
}

/* ---- a new video for a project (U_VIDEO) ----
 * The project is looked at first (visible, not running, the pair exists),
 * then the video is moved into its folder under a new name, then one
 * statement swaps it in and queues a job, if the project is still idle (a
 * re-run or another new video may have come in between: 409, and the file
 * goes). A project that has been ready once gets a job of the video and
 * viewer stages only (job_kind 'video'), so its marker, print and QR code
 * stay as they are; one that never was runs whole. */

static void video_publish(upload_t *u);

enum { V_STATUS, V_ITEMS, V_N };
static const char *const video_cols[V_N] = {[V_STATUS] = "status", [V_ITEMS] = "items"};

static void on_video_checked(int status, PGresult *res, void *arg)
{
    upload_t *u = arg;
    int col[V_N];
    arc_err_t err = {{0}};

    u->query = NULL;
    if (u->req == NULL) {
        u->failed = 1;
        cleanup_if_idle(u);
        return;
    }
    if (status != 0) {
        fail(u, 503, "database_unavailable", "the project could not be read: %s",
             status == ARC_EDB ? PQresultErrorMessage(res) : arc_strerror(status));
        return;
    }
    if (arc_pg_columns(res, video_cols, V_N, col, &err) != 0) {
        fail(u, 500, "internal", "%s", err.msg);
        return;
    }
    if (PQntuples(res) == 0) {
        fail(u, 404, "not_found", "no project %s (or it has expired)", u->id);
        return;
    }
    const char *st = PQgetvalue(res, 0, col[V_STATUS]);
    int items = (int)strtol(PQgetvalue(res, 0, col[V_ITEMS]), NULL, 10);
    if (strcmp(st, "pending") == 0 || strcmp(st, "processing") == 0) {
        fail(u, 409, "busy", "the project is %s: wait until it is ready or has failed", st);
        return;
    }
    if (u->target >= items) {
        fail(u, 400, "bad_field", "target %d: the project has %d photo/video pair%s (0 to %d)",
             u->target, items, items == 1 ? "" : "s", items - 1);
        return;
    }
    video_publish(u);
}

static void video_check(upload_t *u)
{
    const char *params[2] = {u->id, u->who};

    u->query = arc_pg_query(
        u->d->pool,
        "SELECT p.status,"
        "  (SELECT count(*) FROM ar_project_items i WHERE i.project_id = p.id) AS items"
        " FROM ar_projects p WHERE " ARC_PROJECT_VISIBLE,
        2, params, on_video_checked, u);
}

/* On the threadpool, after the swap: the upload it replaced is not needed
 * any more (the web video made from it stays until the new one is ready). */
static void remove_old_work(uv_work_t *w)
{
    upload_t *u = w->data;
    char path[4200];

    if (u->old_video[0] != '\0') {
        snprintf(path, sizeof(path), "%s/ar-storage/%s/%s", u->d->storage, u->id, u->old_video);
        unlink(path);
    }
}

static void on_old_removed(uv_work_t *w, int status)
{
    upload_t *u = w->data;

    (void)status;
    u->fs_busy = 0;
    cleanup_if_idle(u);
}

enum { W_STATUS, W_QUEUED, W_KIND, W_OLD, W_N };
static const char *const swap_cols[W_N] = {
    [W_STATUS] = "status", [W_QUEUED] = "queued", [W_KIND] = "job_kind", [W_OLD] = "old_video"};

static void on_swapped(int status, PGresult *res, void *arg)
{
    upload_t *u = arg;
    arc_daemon_t *d = u->d;
    int col[W_N];
    arc_err_t err = {{0}};

    u->query = NULL;
    u->committing = 0;
    if (status == 0 && arc_pg_columns(res, swap_cols, W_N, col, &err) != 0)
        status = ARC_EINTERNAL;
    int queued =
        status == 0 && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, col[W_QUEUED]), "t") == 0;
    if (!queued) {
        /* Not swapped in: the new file goes (cleanup of a failed upload). */
        if (u->req == NULL)
            u->failed = 1;
        else if (status != 0)
            fail(u, 503, "database_unavailable", "the new video could not be saved: %s",
                 status == ARC_EDB ? PQresultErrorMessage(res) : err.msg);
        else if (PQntuples(res) == 0)
            fail(u, 404, "not_found", "no project %s (or it has expired)", u->id);
        else
            fail(u, 409, "busy", "the project is %s: wait until it is ready or has failed",
                 PQgetvalue(res, 0, col[W_STATUS]));
        cleanup_if_idle(u);
        return;
    }
    /* The upload the swap replaced (not the one seen at the check: another
     * replacement may have come between). */
    const char *old = arc_pg_value(res, 0, col[W_OLD]);
    snprintf(u->old_video, sizeof(u->old_video), "%s", old ? old : "");
    arc_status_changed(d->status, u->id);
    if (u->req != NULL) {
        char url[1024], loc[1100];
        snprintf(url, sizeof(url), "%s/api/ar/status/%s", d->cfg->server.public_url, u->id);
        snprintf(loc, sizeof(loc), "Location: %s\r\n", url);
        json_t *js =
            json_pack("{s:s, s:s, s:s, s:i, s:s}", "arId", u->id, "status", "pending", "statusUrl",
                      url, "target", u->target, "jobKind", PQgetvalue(res, 0, col[W_KIND]));
        arc_http_req_t *req = u->req;
        u->req = NULL;
        req->data = NULL;
        req->on_abort = NULL;
        char *body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
        arc_http_respond(req, 202, "application/json; charset=utf-8", loc, body, strlen(body));
        free(body);
        json_decref(js);
    }
    u->fs_busy = 1;
    u->work.data = u;
    uv_queue_work(d->loop, &u->work, remove_old_work, on_old_removed);
}

static void video_swap(upload_t *u)
{
    char target[16], sw[16], sh[16], vb[32];
    const ufile_t *f = &u->videos[0];
    const char *params[10] = {u->id,
                              u->who,
                              target,
                              f->name,
                              strchr(f->name, '.') + 1,
                              vb,
                              u->fit_given ? u->fit_mode : NULL,
                              u->scale_w ? sw : NULL,
                              u->scale_h ? sh : NULL,
                              u->request_id};

    snprintf(target, sizeof(target), "%d", u->target);
    snprintf(sw, sizeof(sw), "%d", u->scale_w);
    snprintf(sh, sizeof(sh), "%d", u->scale_h);
    snprintf(vb, sizeof(vb), "%llu", (unsigned long long)f->bytes);
    /* The video's format and size describe the first pair's (the status
     * document's "video"). */
    u->committing = 1;
    u->query = arc_pg_query(
        u->d->pool,
        "WITH t AS (SELECT id, status, result FROM ar_projects"
        "           WHERE " ARC_PROJECT_VISIBLE " FOR UPDATE),"
        /* The upload replaced, as the statement sees it: a replacement that
         * committed before this statement began is seen, and one that commits
         * while this waits for t's lock leaves the project pending, which
         * this one's u then refuses. */
        " o AS (SELECT video_file FROM ar_project_items"
        "       WHERE project_id = $1::text AND position = $3::int),"
        " k AS (SELECT CASE WHEN t.result ? 'files' THEN 'video'"
        "              ELSE 'full' END AS kind FROM t),"
        " u AS (UPDATE ar_projects p SET status = 'pending', stage = 'queued', progress = 0,"
        "   attempts = 0, error_message = NULL, run_after = now(), job_kind = k.kind,"
        "   video_targets = CASE WHEN k.kind = 'video' THEN ARRAY[$3::int] END,"
        "   fit_mode = coalesce($7, p.fit_mode),"
        "   scale_width = CASE WHEN $7 IS NULL THEN p.scale_width ELSE $8::int END,"
        "   scale_height = CASE WHEN $7 IS NULL THEN p.scale_height ELSE $9::int END,"
        "   video_format = CASE WHEN $3::int = 0 THEN $5 ELSE p.video_format END,"
        "   video_bytes = CASE WHEN $3::int = 0 THEN $6::bigint ELSE p.video_bytes END,"
        "   started_at = NULL, finished_at = NULL, updated_at = now(),"
        "   request_id = nullif($10, '')"
        "   FROM t, k WHERE p.id = t.id AND t.status IN ('ready', 'error') RETURNING p.id),"
        " i AS (UPDATE ar_project_items SET video_file = $4"
        "   WHERE project_id = $1::text AND position = $3::int AND EXISTS (SELECT 1 FROM u)"
        "   RETURNING position)"
        " SELECT t.status, EXISTS (SELECT 1 FROM u) AND EXISTS (SELECT 1 FROM i) AS queued,"
        "   k.kind AS job_kind, (SELECT video_file FROM o) AS old_video FROM t, k",
        10, params, on_swapped, u);
}

/* On the threadpool: the new video, durable, into the project's folder. */
static void video_publish_work(uv_work_t *w)
{
    upload_t *u = w->data;
    ufile_t *f = &u->videos[0];
    char dst[4200];

    u->work_errno = 0;
    int rc = fsync(f->fd);
    int e = errno;
    close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        u->work_errno = e;
        snprintf(u->work_what, sizeof(u->work_what), "the upload could not be saved");
        return;
    }
    snprintf(dst, sizeof(dst), "%s/ar-storage/%s/%s", u->d->storage, u->id, f->name);
    if (rename(f->tmp, dst) != 0) {
        u->work_errno = errno;
        snprintf(u->work_what, sizeof(u->work_what), "cannot move the upload into place");
        return;
    }
    f->tmp[0] = '\0';
    arc_daemon_hand_to_workers(u->d, dst);
}

static void on_video_published(uv_work_t *w, int status)
{
    (void)status;
    if (work_returned(w->data))
        video_swap(w->data);
}

static void video_publish(upload_t *u)
{
    u->fs_busy = 1;
    u->work.data = u;
    uv_queue_work(u->d->loop, &u->work, video_publish_work, on_video_published);
}

static void finalize(upload_t *u)
{
    u->finalizing = 1;
    if (u->mode == U_VIDEO) {
        video_check(u);
        return;
    }
    u->fs_busy = 1;
    u->work.data = u;
    uv_queue_work(u->d->loop, &u->work, publish_work, on_published);
}

void arc_upload_complete(arc_http_req_t *req)
{
    upload_t *u = req->data;

    if (u == NULL || u->failed)
        return;
    if (arc_multipart_finish(u->mp) != 0) {
        fail(u, 400, "bad_multipart", "the form data is malformed: %s", arc_multipart_error(u->mp));
        return;
    }
    if (u->mode == U_VIDEO && u->n_videos == 0) {
        fail(u, 400, "missing_video", "the form has no 'video' part (MP4, MOV or WebM)");
        return;
    }
    if (u->n_photos == 0 && u->mode != U_VIDEO) {
        fail(u, 400, "missing_photo",
             "the form has no 'photo' part (a JPEG, PNG, HEIC, AVIF or WebP)");
        return;
    }
    if (u->n_videos == 0 && !u->multi) {
        fail(u, 400, "missing_video", "the form has no 'video' part (MP4, MOV or WebM)");
        return;
    }
    if (u->n_videos > u->n_photos && u->mode != U_VIDEO) {
        fail(u, 400, "unpaired_video", "%d videos for %d photos: each video needs its photo",
             u->n_videos, u->n_photos);
        return;
    }
    if (strcmp(u->fit_mode, "exact") == 0 && (u->scale_w == 0 || u->scale_h == 0)) {
        fail(u, 400, "bad_field", "fitMode exact needs scaleWidth and scaleHeight");
        return;
    }
    u->body_done = 1;
    write_next(u); /* finalizes once the last piece is on disk */
}

static void make_id(char out[40])
{
    unsigned char b[16];

    if (RAND_bytes(b, sizeof(b)) != 1) {
        arc_log_msg(ARC_LOG_ERROR, "the random generator failed");
        abort();
    }
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void upload_head(arc_http_req_t *req, umode_t mode)
{
    static const char *const names[] = {"create-demo", "create", "a new video"};
    arc_daemon_t *d = ARC_DAEMON(req);
    const arc_token_t *who = req->ctx;
    char boundary[ARC_MULTIPART_MAX_BOUNDARY + 2];
    const char *ct = arc_http_header(req, "content-type");
    const char *project = arc_http_param(req, "id");

    if (mode == U_VIDEO && (project == NULL || !arc_daemon_valid_id(project))) {
        arc_http_error(req, 404, "not_found", NULL, "'%s' is not a project id",
                       project ? project : "");
        return;
    }
    if (arc_multipart_boundary(ct, boundary, sizeof(boundary)) != 0) {
        arc_http_error(req, 415, "unsupported_media_type", NULL,
                       "%s takes multipart/form-data with a boundary, not %s", names[mode],
                       ct ? ct : "no Content-Type");
        return;
    }
    int wait = rate_check(d->uploads, &req->client_ip);
    if (wait > 0) {
        char h[64];
        snprintf(h, sizeof(h), "Retry-After: %d\r\n", wait);
        arc_http_error(req, 429, "rate_limited", h, "too many uploads from %s; try again in %d s",
                       req->client, wait);
        return;
    }
    upload_t *u = arc_xcalloc(1, sizeof(*u));
    u->d = d;
    u->req = req;
    snprintf(u->request_id, sizeof(u->request_id), "%s", req->request_id);
    u->mode = mode;
    u->multi = mode == U_CREATE;
    u->smart_crop = -1;
    u->fields = json_object();
    snprintf(u->owner, sizeof(u->owner), "%s", who->owner);
    snprintf(u->who, sizeof(u->who), "%s", who->admin ? "" : who->owner);
    for (int i = 0; i < 2 * ARC_MAX_TARGETS; i++)
        file_at(u, i)->fd = -1;
    snprintf(u->fit_mode, sizeof(u->fit_mode), "contain");
    /* The temporary folder has a name of its own; a new video's id is its
     * project's. */
    char tmp_id[40];
    make_id(tmp_id);
    snprintf(u->id, sizeof(u->id), "%s", mode == U_VIDEO ? project : tmp_id);
    snprintf(u->tmpdir, sizeof(u->tmpdir), "%s/tmp/%s", d->storage, tmp_id);
    arc_multipart_cb_t cb = {on_part, on_data, on_part_end, u};
    u->mp = arc_multipart_create(boundary, &cb);
    req->data = u;
    req->on_abort = on_abort;
    req->body_mode = ARC_HTTP_BODY_STREAM;
    req->body_limit = (uint64_t)d->cfg->limits.upload_bytes;
    req->on_body = on_body;
}

void arc_upload_demo_head(arc_http_req_t *req)
{
    upload_head(req, U_DEMO);
}

void arc_upload_create_head(arc_http_req_t *req)
{
    upload_head(req, U_CREATE);
}

void arc_upload_video_head(arc_http_req_t *req)
{
    upload_head(req, U_VIDEO);
}
