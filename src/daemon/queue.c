/*
 * The job queue (see include/arcd/daemon.h and sql/001_projects.sql).
 *
 * A project row is its own job. An idle worker makes the daemon claim the
 * next runnable row with FOR UPDATE SKIP LOCKED, so daemons sharing one
 * database never take the same job; the claim is a lease, renewed while the
 * job runs. A row whose lease lapsed (its daemon died) is claimed again. A
 * failed attempt goes back to 'pending' with exponential backoff, unless it
 * failed for good (bad input) or used its last attempt: then 'error' with the
 * reason. Every update is guarded by lease_owner, so a daemon that lost its
 * lease cannot overwrite the new owner's work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arcd/assert.h"
#include "arcd/log.h"
#include "fields.h"
#include "metrics.h"
#include "queue.h"
#include "workers.h"

/* RUNNING: a worker has it; CHECKING: the worker says it is done, and its
 * files are being checked; DONE: its outcome is being recorded. */
typedef enum { J_RUNNING, J_CHECKING, J_DONE } jstate_t;

typedef struct job_s {
    arc_worker_job_t w; /* first: the worker pool's view of it */
    arc_queue_t *q;
    int attempts, max_attempts;
    uv_timer_t lease;
    jstate_t state;
    int update_in_flight; /* a progress update is running */
    char stage[32];
    int progress, sent_progress;
    arc_done_msg_t done; /* CHECKING: the worker's answer (owned) */
    uv_work_t check;
    char **files; /* CHECKING: the files to find, NULL-ended */
    char missing[512];
    /* A job of the video and viewer stages only (a new video, job_kind
     * 'video'): the project's result before it, which its own is merged
     * into, and the files of the videos it replaced (removed once the new
     * result is recorded). */
    json_t *prev; /* NULL for a whole run */
    json_t *replaced;
    json_t *last_files; /* a whole run: the files of the run before it, or NULL */
    uv_work_t unlink;
    struct job_s *next;
} job_t;

struct arc_queue_s {
    arc_daemon_t *d;
    uv_timer_t poll;
    int claiming;
    int stopping;
    int pending_ops; /* queries the queue still waits for */
    job_t *jobs;
    json_t *counts;
    void (*stop_cb)(arc_daemon_t *d);
};

/* The claimed row's columns. */
enum {
    C_ID,
    C_ATTEMPTS,
    C_MAX_ATTEMPTS,
    C_FIT,
    C_SCALE_W,
    C_SCALE_H,
    C_CONFIG,
    C_ITEMS,
    C_KIND,
    C_TARGETS,
    C_RESULT,
    C_REQUEST_ID,
    C_LEGACY,
    C_N
};
static const char *const claim_cols[C_N] = {
    [C_ID] = "id",           [C_ATTEMPTS] = "attempts",   [C_MAX_ATTEMPTS] = "max_attempts",
    [C_FIT] = "fit_mode",    [C_SCALE_W] = "scale_width", [C_SCALE_H] = "scale_height",
    [C_CONFIG] = "config",   [C_ITEMS] = "items",         [C_KIND] = "job_kind",
    [C_TARGETS] = "targets", [C_RESULT] = "result",       [C_REQUEST_ID] = "request_id",
    [C_LEGACY] = "legacy",
};

static const char *claim_sql =
    "WITH c AS (SELECT id FROM ar_projects"
    "           WHERE (status = 'pending' AND run_after <= now())"
    "              OR (status = 'processing' AND lease_expires_at < now())"
    "           ORDER BY run_after, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " UPDATE ar_projects p SET status = 'processing', stage = 'starting', progress = 0,"
    "   attempts = p.attempts + 1, lease_owner = $1,"
    "   lease_expires_at = now() + make_interval(secs => $2::int),"
    "   started_at = coalesce(p.started_at, now()), updated_at = now()"
    " FROM c WHERE p.id = c.id"
    " RETURNING p.id::text AS id, p.attempts, p.max_attempts, p.fit_mode, p.scale_width,"
    "   p.scale_height, p.config::text AS config,"
    "   (SELECT json_agg(json_build_object('photo', i.photo_file, 'video', i.video_file)"
    "                    ORDER BY i.position)::text"
    "      FROM ar_project_items i WHERE i.project_id = p.id) AS items,"
    "   p.job_kind, array_to_json(p.video_targets)::text AS targets, p.result::text AS result,"
    "   coalesce(p.request_id, '') AS request_id, p.legacy IS NOT NULL AS legacy";

static void check_stopped(arc_queue_t *q);

static void job_unlink(job_t *j)
{
    arc_queue_t *q = j->q;

    for (job_t **p = &q->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
}

static void free_files(char **files)
{
    for (size_t i = 0; files != NULL && files[i] != NULL; i++)
        free(files[i]);
    free(files);
}

static void on_lease_closed(uv_handle_t *h)
{
    job_t *j = h->data;
    arc_queue_t *q = j->q;

    arc_msg_t m = {.type = ARC_MSG_JOB, .u.job = j->w.message};
    arc_msg_dispose(&m);
    arc_msg_t done = {.type = ARC_MSG_DONE, .u.done = j->done};
    arc_msg_dispose(&done);
    free_files(j->files);
    json_decref(j->prev);
    json_decref(j->replaced);
    json_decref(j->last_files);
    free(j);
    check_stopped(q);
}

static void job_free(job_t *j)
{
    job_unlink(j);
    uv_timer_stop(&j->lease);
    uv_close((uv_handle_t *)&j->lease, on_lease_closed);
}

/* ---- state changes ---- */

static void on_update_done(int status, PGresult *res, void *arg)
{
    arc_queue_t *q = arg;

    q->pending_ops--;
    if (status != 0)
        arc_log_msg(ARC_LOG_ERROR, "queue update failed: %s",
                    res ? PQresultErrorMessage(res) : arc_strerror(status));
    check_stopped(q);
    arc_queue_kick(q);
}

static void update(arc_queue_t *q, const char *sql, int n, const char *const *params)
{
    q->pending_ops++;
    arc_pg_query(q->d->pool, sql, n, params, on_update_done, q);
}

static void send_progress(job_t *j);

static void on_progress_done(int status, PGresult *res, void *arg)
{
    job_t *j = arg;

    (void)status;
    (void)res;
    j->update_in_flight = 0;
    j->q->pending_ops--;
    if (j->state == J_RUNNING && j->progress != j->sent_progress)
        send_progress(j);
    else if (j->state == J_DONE)
        job_free(j);
    check_stopped(j->q);
}

static void send_progress(job_t *j)
{
    char pct[16];
    const char *params[4] = {j->w.id, j->q->d->node, j->stage, pct};

    snprintf(pct, sizeof(pct), "%d", j->progress);
    j->sent_progress = j->progress;
    j->update_in_flight = 1;
    j->q->pending_ops++;
    arc_pg_query(j->q->d->pool,
                 "UPDATE ar_projects SET stage = $3, progress = $4::int, updated_at = now()"
                 " WHERE id = $1::text AND lease_owner = $2 AND status = 'processing'",
                 4, params, on_progress_done, j);
}

/* A job's log line (include/arcd/log.h): its id, attempt and request id, and
 * the line's own fields (stolen). */
static void job_log(const job_t *j, arc_log_level_t level, const char *msg, json_t *fields)
{
    json_t *line = json_pack("{s:s, s:i, s:s}", "job", j->w.id, "attempt", j->attempts, "requestId",
                             j->w.message.request_id);
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    arc_log_event(level, msg, line);
}

static void job_progress(arc_worker_job_t *w, const arc_progress_msg_t *p)
{
    job_t *j = (job_t *)w;

    ARC_ASSERT(j->state == J_RUNNING);
    if (strcmp(j->stage, p->stage) != 0)
        job_log(j, ARC_LOG_INFO, "job stage",
                json_pack("{s:s, s:i}", "stage", p->stage, "progress", p->progress));
    snprintf(j->stage, sizeof(j->stage), "%s", p->stage);
    j->progress = p->progress > 99 ? 99 : p->progress; /* 100 means ready */
    if (!j->update_in_flight)
        send_progress(j);
}

/* The job is over: its row says so, guarded by our lease. */
static void job_record(job_t *j, const arc_done_msg_t *done, const char *reason)
{
    arc_queue_t *q = j->q;
    arc_daemon_t *d = q->d;

    ARC_ASSERT(j->state == J_RUNNING || j->state == J_CHECKING);
    j->state = J_DONE;
    /* The outcome's update gives the lease up: renewing it meanwhile (while
     * a progress update is still in flight) only logged a lost lease. */
    uv_timer_stop(&j->lease);
    if (done != NULL && done->ok) {
        json_t *result = json_pack("{s:O, s:s, s:O, s:O}", "files", done->files, "markerCache",
                                   done->marker_cached ? "hit" : "miss", "rating", done->rating,
                                   "items", done->items);
        char *res_s = json_dumps(result, JSON_COMPACT);
        char *tim_s = json_dumps(done->timings, JSON_COMPACT);
        char *vid_s = json_dumps(done->video, JSON_COMPACT | JSON_ENCODE_ANY);
        char w[16], h[16], ms[32];
        snprintf(w, sizeof(w), "%d", done->photo_width);
        snprintf(h, sizeof(h), "%d", done->photo_height);
        snprintf(ms, sizeof(ms), "%lld", (long long)done->ms);
        arc_metrics_job(d->metrics, (double)done->ms);
        job_log(j, ARC_LOG_INFO, "job ready",
                json_pack("{s:I, s:O}", "ms", (json_int_t)done->ms, "timings", done->timings));
        const char *params[8] = {j->w.id, d->node, res_s, tim_s, vid_s, w, h, ms};
        /* A multi-target project's items get their own sizes and video details. */
        update(
            q,
            "WITH items AS (UPDATE ar_project_items i SET"
            "   photo_width = (x.e->'photo'->'print'->>'width')::int,"
            "   photo_height = (x.e->'photo'->'print'->>'height')::int, video_meta = x.e->'video'"
            "   FROM jsonb_array_elements($3::jsonb->'items') WITH ORDINALITY AS x(e, n)"
            "   WHERE i.project_id = $1::text AND i.position = x.n - 1"
            "     AND EXISTS (SELECT 1 FROM ar_projects WHERE id = $1::text AND lease_owner = $2))"
            " UPDATE ar_projects SET status = 'ready', stage = 'done', progress = 100,"
            " error_message = NULL, result = $3::jsonb, timings = $4::jsonb,"
            " video_meta = $5::jsonb, photo_width = $6::int, photo_height = $7::int,"
            " compilation_time_ms = $8::int, finished_at = now(), lease_owner = NULL,"
            " lease_expires_at = NULL, job_kind = 'full', video_targets = NULL, updated_at = now()"
            " WHERE id = $1::text AND lease_owner = $2",
            8, params);
        free(res_s);
        free(tim_s);
        free(vid_s);
        json_decref(result);
    } else {
        const char *msg = done != NULL ? done->error : reason;
        int permanent = done != NULL && done->permanent;
        int last = permanent || j->attempts >= j->max_attempts;
        char why[ARC_PROTO_MAX_REASON + 64], delay[32];
        if (last && !permanent)
            snprintf(why, sizeof(why), "%s (gave up after %d attempts)", msg ? msg : "failed",
                     j->attempts);
        else
            snprintf(why, sizeof(why), "%s", msg ? msg : "failed");
        long long backoff = d->cfg->queue.retry_base_seconds
                            << (j->attempts > 10 ? 10 : j->attempts - 1);
        snprintf(delay, sizeof(delay), "%lld", backoff);
        const char *params[4] = {j->w.id, d->node, why, delay};
        if (last)
            update(q,
                   "UPDATE ar_projects SET status = 'error', stage = 'failed',"
                   " error_message = $3, finished_at = now(), lease_owner = NULL,"
                   " lease_expires_at = NULL, updated_at = now()"
                   " WHERE id = $1::text AND lease_owner = $2",
                   3, params);
        else
            update(q,
                   "UPDATE ar_projects SET status = 'pending', stage = 'queued', progress = 0,"
                   " error_message = $3, run_after = now() + make_interval(secs => $4::int),"
                   " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
                   " WHERE id = $1::text AND lease_owner = $2",
                   4, params);
        job_log(j, ARC_LOG_ERROR, last ? "job failed" : "job failed, will retry",
                json_pack("{s:s, s:s, s:b}", "stage", j->stage, "error", why, "final", last));
    }
    if (!j->update_in_flight)
        job_free(j);
    else
        job_unlink(j); /* freed when its progress update returns */
}

static int has_file(const json_t *files, const char *name)
{
    size_t i;
    json_t *f;

    json_array_foreach(files, i, f)
    {
        if (strcmp(json_string_value(f), name) == 0)
            return 1;
    }
    return 0;
}

/* ---- checking a worker's "done" ----
 * A worker's answer is input like any other (a worker whose decoder an
 * upload took over may say anything): a project becomes ready only when
 * every file the viewer needs was reported and is on disk. */

/* On the threadpool: each reported file is a regular, non-empty file in
 * the project's folder. */
static void check_work(uv_work_t *w)
{
    job_t *j = w->data;
    char path[4200];
    struct stat st;

    for (size_t i = 0; j->files[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s/%s", j->w.message.dir, j->files[i]);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
            size_t used = strlen(j->missing);
            snprintf(j->missing + used, sizeof(j->missing) - used, "%s%s", used ? ", " : "",
                     j->files[i]);
        }
    }
    /* The viewer the job wrote plays the new videos: the ones they replaced
     * go. (Their names are the worker's report, checked by merge_result.) */
    size_t k;
    json_t *f;
    if (j->missing[0] == '\0')
        json_array_foreach(j->replaced, k, f)
        {
            snprintf(path, sizeof(path), "%s/%s", j->w.message.dir, json_string_value(f));
            unlink(path);
        }
}

static void check_done(uv_work_t *w, int status)
{
    job_t *j = w->data;
    char why[700];

    (void)status;
    j->q->pending_ops--;
    if (j->missing[0] == '\0') {
        job_record(j, &j->done, NULL);
        return;
    }
    snprintf(why, sizeof(why), "the worker reported success without its files (%s not found)",
             j->missing);
    arc_log_msg(ARC_LOG_INFO, "job %s: %s", j->w.id, why);
    job_record(j, NULL, why);
}

/* The names a finished job must have produced: the marker, the viewer, the
 * QR code, each item's print and, for an item with a video, its web video.
 * Returns 0, or a reason naming the first one missing. */
static int required_files(const job_t *j, const arc_done_msg_t *done, char *why, size_t size)
{
    char name[ARC_MAX_FILE_NAME + 16];
    const arc_job_msg_t *m = &j->w.message;
    static const char *const always[] = {"marker.mind", "index.html", "qr-code.png", "qr-code.svg",
                                         NULL};

    for (size_t i = 0; always[i] != NULL; i++) {
        if (!has_file(done->files, always[i]))
            return snprintf(why, size, "%s", always[i]), -1;
    }
    if (json_array_size(done->items) != m->n_items)
        return snprintf(why, size, "a report for each of the %zu photo/video pairs", m->n_items),
               -1;
    for (size_t i = 0; i < m->n_items; i++) {
        if (i == 0)
            snprintf(name, sizeof(name), "enhanced-photo.jpg");
        else
            snprintf(name, sizeof(name), "enhanced-photo-%zu.jpg", i);
        if (!has_file(done->files, name))
            return snprintf(why, size, "%s", name), -1;
        const char *video =
            json_string_value(json_object_get(json_array_get(done->items, i), "videoFile"));
        if (m->items[i].video[0] != '\0' && (video == NULL || !has_file(done->files, video)))
            return snprintf(why, size, "the web video of pair %zu", i + 1), -1;
    }
    return 0;
}

/* 1 when name is a file a video stage makes: ar-video<rest>.mp4 or
 * poster<rest>.jpg, <rest> of letters, digits, '-' and '.' (a worker's
 * report names the files the daemon removes: nothing else may be named, and
 * without '/' no name leaves the project's folder). */
static int is_video_file(const char *name)
{
    size_t n = strlen(name);
    const char *rest = NULL, *end = NULL;

    if (n > 12 && strncmp(name, "ar-video", 8) == 0 && strcmp(name + n - 4, ".mp4") == 0)
        rest = name + 8, end = name + n - 4;
    else if (n > 10 && strncmp(name, "poster", 6) == 0 && strcmp(name + n - 4, ".jpg") == 0)
        rest = name + 6, end = name + n - 4;
    else if (strcmp(name, "ar-video.mp4") == 0 || strcmp(name, "poster.jpg") == 0)
        return 1;
    if (rest == NULL)
        return 0;
    for (const char *p = rest; p < end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return 0;
    return 1;
}

/*
 * A job of the video and viewer stages reports only what it made: the
 * project's result is the last run's with that merged in. Files: the last
 * run's, without the videos and posters replaced, then the new ones. Items:
 * the last run's (photo, print, rating), each redone pair with its new
 * video. The first pair's video details and the marker's rating follow.
 * The files replaced are kept in j->replaced, for removal once the new ones
 * are found on disk.
 */
static void merge_result(job_t *j)
{
    arc_done_msg_t *d = &j->done;
    const arc_job_msg_t *m = &j->w.message;
    json_t *prev_files = json_object_get(j->prev, "files");
    json_t *prev_items = json_object_get(j->prev, "items");
    json_t *files = json_array(), *items = json_deep_copy(prev_items);
    char poster[ARC_MAX_FILE_NAME + 16];
    size_t i;
    json_t *f;

    j->replaced = json_array();
    for (i = 0; i < m->n_items && i < json_array_size(items); i++) {
        json_t *now = json_array_get(d->items, i), *item = json_array_get(items, i);
        const char *old = json_string_value(json_object_get(item, "videoFile"));
        const char *new = json_string_value(json_object_get(now, "videoFile"));
        if (!m->items[i].redo_video || new == NULL)
            continue;
        if (old != NULL && strcmp(old, new) != 0 && is_video_file(old)) {
            json_array_append_new(j->replaced, json_string(old));
            if (arc_video_poster_name(old, poster, sizeof(poster)) == 0)
                json_array_append_new(j->replaced, json_string(poster));
        }
        json_object_set_new(item, "videoFile", json_string(new));
        json_object_set(item, "video", json_object_get(now, "video"));
    }
    json_array_foreach(prev_files, i, f)
    {
        if (!has_file(j->replaced, json_string_value(f)) &&
            !has_file(d->files, json_string_value(f)))
            json_array_append(files, f);
    }
    json_array_foreach(d->files, i, f)
    {
        json_array_append(files, f);
    }
    json_decref(d->files);
    d->files = files;
    json_decref(d->items);
    d->items = items;
    json_decref(d->rating);
    d->rating = json_incref(json_object_get(j->prev, "rating"));
    if (d->rating == NULL)
        d->rating = json_null();
    d->marker_cached =
        json_is_string(json_object_get(j->prev, "markerCache")) &&
        strcmp(json_string_value(json_object_get(j->prev, "markerCache")), "hit") == 0;
    json_t *video = json_object_get(json_array_get(items, 0), "video");
    json_decref(d->video);
    d->video = video != NULL ? json_incref(video) : json_null();
}

/* A whole run writes the plain names (ar-video.mp4, ...): the web videos a
 * new video made under names of their own before it go, once the run's
 * files are found. */
static void drop_old_videos(job_t *j)
{
    size_t i;
    json_t *f;

    j->replaced = json_array();
    json_array_foreach(j->last_files, i, f)
    {
        const char *name = json_string_value(f);
        if (name != NULL && is_video_file(name) && !has_file(j->done.files, name))
            json_array_append(j->replaced, f);
    }
}

static void job_done(arc_worker_job_t *w, const arc_done_msg_t *done, const char *reason)
{
    job_t *j = (job_t *)w;
    char missing[160], why[300];

    ARC_ASSERT(j->state == J_RUNNING);
    if (done == NULL || !done->ok) {
        job_record(j, done, reason);
        return;
    }
    /* Keep the answer (the worker's message is freed when we return) and
     * look for its files on the threadpool. */
    arc_msg_t copy;
    json_t *js = arc_msg_encode(&(arc_msg_t){.type = ARC_MSG_DONE, .u.done = *done});
    arc_err_t err;
    if (arc_msg_decode(js, &copy, &err) != 0) { /* it was decoded once: cannot happen */
        json_decref(js);
        job_record(j, NULL, err.msg);
        return;
    }
    json_decref(js);
    j->done = copy.u.done;
    if (j->prev != NULL)
        merge_result(j);
    else
        drop_old_videos(j);
    if (required_files(j, &j->done, missing, sizeof(missing)) != 0) {
        snprintf(why, sizeof(why), "the worker reported success without %s", missing);
        arc_log_msg(ARC_LOG_INFO, "job %s: %s", j->w.id, why);
        job_record(j, NULL, why);
        return;
    }
    size_t n = json_array_size(j->done.files);
    j->files = arc_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        j->files[i] = arc_xstrdup(json_string_value(json_array_get(j->done.files, i)));
    j->state = J_CHECKING;
    j->check.data = j;
    j->q->pending_ops++;
    uv_queue_work(j->q->d->loop, &j->check, check_work, check_done);
}

/* Hands a claimed job back to the queue as if it had not been claimed. */
static void job_release(job_t *j)
{
    arc_queue_t *q = j->q;
    const char *params[2] = {j->w.id, q->d->node};

    update(q,
           "UPDATE ar_projects SET status = 'pending', stage = 'queued', progress = 0,"
           " attempts = greatest(attempts - 1, 0), lease_owner = NULL,"
           " lease_expires_at = NULL, run_after = now(), updated_at = now()"
           " WHERE id = $1::text AND lease_owner = $2",
           2, params);
    ARC_ASSERT(j->state == J_RUNNING);
    j->state = J_DONE;
    uv_timer_stop(&j->lease);
    if (!j->update_in_flight)
        job_free(j);
    else
        job_unlink(j);
}

/* ---- leases ---- */

static void on_renewed(int status, PGresult *res, void *arg)
{
    arc_queue_t *q = arg;

    q->pending_ops--;
    if (status == 0 && PQntuples(res) == 0)
        arc_log_msg(ARC_LOG_ERROR, "a job's lease was lost (another daemon has taken it over)");
    check_stopped(q);
}

static void on_lease_timer(uv_timer_t *t)
{
    job_t *j = t->data;
    char secs[16];
    const char *params[3] = {j->w.id, j->q->d->node, secs};

    snprintf(secs, sizeof(secs), "%lld", (long long)j->q->d->cfg->queue.lease_seconds);
    j->q->pending_ops++;
    arc_pg_query(j->q->d->pool,
                 "UPDATE ar_projects SET lease_expires_at = now() + make_interval(secs => $3::int)"
                 " WHERE id = $1::text AND lease_owner = $2 RETURNING id",
                 3, params, on_renewed, j->q);
}

/* ---- claiming ---- */

/* The job message of a claimed row: its files, the settings, the project's
 * own choices (the upload's form fields). Returns 0 or ARC_ECORRUPT. */
/* The project's print option name from its config, or NULL when it has none
 * or one the upload's check refuses (a config written by other hands: the
 * shop's default is used, and said). */
static const json_t *print_option(const json_t *config, const char *name, const char *id)
{
    const json_t *v = json_object_get(config, name);
    char why[200];

    if (v == NULL || arc_print_option_check(name, v, why, sizeof(why)) == 0)
        return v;
    arc_log_event(ARC_LOG_WARN, "print option ignored",
                  json_pack("{s:s, s:s}", "job", id, "reason", why));
    return NULL;
}

static int job_message(arc_queue_t *q, PGresult *res, const int *col, arc_job_msg_t *m,
                       arc_err_t *err)
{
    arc_daemon_t *d = q->d;
    const arc_config_t *cfg = d->cfg;
    char path[4200];
    json_error_t jerr;
    json_t *items = NULL, *config = NULL;
    int rc = 0;

    m->id = arc_xstrdup(PQgetvalue(res, 0, col[C_ID]));
    snprintf(path, sizeof(path), "%s/ar-storage/%s", d->storage, m->id);
    m->dir = arc_xstrdup(path);
    if (arc_fit_parse(PQgetvalue(res, 0, col[C_FIT]), &m->fit) != 0)
        return arc_err_set(err, ARC_ECORRUPT, "the project's fit mode is unknown");
    m->scale_width = (int)strtol(PQgetvalue(res, 0, col[C_SCALE_W]), NULL, 10);
    m->scale_height = (int)strtol(PQgetvalue(res, 0, col[C_SCALE_H]), NULL, 10);
    m->stages = ARC_STAGE_ALL;
    m->attempt = (int)strtol(PQgetvalue(res, 0, col[C_ATTEMPTS]), NULL, 10);
    snprintf(m->request_id, sizeof(m->request_id), "%s", PQgetvalue(res, 0, col[C_REQUEST_ID]));
    m->max_pixels = cfg->compile.max_pixels;
    m->threads = cfg->compile.threads > 0 ? cfg->compile.threads : 1;
    snprintf(path, sizeof(path), "%s/ar/view/%s", cfg->server.public_url, m->id);
    m->view_url = arc_xstrdup(path);
    snprintf(path, sizeof(path), "%s/cache", d->storage);
    m->cache_dir = arc_xstrdup(path);
    arc_config_job_media(cfg, &m->media);
    config = json_loads(PQgetvalue(res, 0, col[C_CONFIG]), 0, &jerr);
    json_t *border = json_object_get(config, "border");
    if (json_is_boolean(border))
        m->media.border = json_is_true(border);
    json_t *smart = json_object_get(config, "useSmartCrop");
    if (json_is_boolean(smart))
        m->media.video_smart_crop = json_is_true(smart);
    /* The print sheet: the shop's defaults, the upload's choices (checked
     * when it was taken, and again here with the same check, for a config
     * written to the database by other hands). */
    arc_config_job_sheet(cfg, &m->sheet);
    const json_t *opt = print_option(config, "printSize", m->id);
    if (opt != NULL)
        snprintf(m->sheet.paper, sizeof(m->sheet.paper), "%s",
                 arc_paper_find(json_string_value(opt))->name);
    if ((opt = print_option(config, "printPhotoMm", m->id)) != NULL)
        m->sheet.photo_mm = json_number_value(opt);
    if ((opt = print_option(config, "printLanguage", m->id)) != NULL)
        snprintf(m->sheet.language, sizeof(m->sheet.language), "%s", json_string_value(opt));
    json_decref(config);
    m->viewer.template_path = arc_xstrdup(d->template_path);
    m->viewer.vendor_url = arc_xstrdup(d->vendor_url);
    m->viewer.filter_min_cf = cfg->viewer.filter_min_cf;
    m->viewer.filter_beta = cfg->viewer.filter_beta;
    m->viewer.shop_name = arc_xstrdup(cfg->viewer.shop_name);
    m->viewer.logo_url = arc_xstrdup(cfg->viewer.logo_url);
    m->viewer.accent_color = arc_xstrdup(cfg->viewer.accent_color);

    const char *items_s = arc_pg_value(res, 0, col[C_ITEMS]);
    items = items_s ? json_loads(items_s, 0, &jerr) : NULL;
    size_t n = json_array_size(items);
    if (n == 0 || n > ARC_MAX_TARGETS) {
        rc = arc_err_set(err, ARC_ECORRUPT, "the project lists %zu photo/video pairs", n);
        goto out;
    }
    m->n_items = n;
    m->items = arc_xcalloc(n, sizeof(*m->items));
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(items, i);
        const char *photo = json_string_value(json_object_get(it, "photo"));
        const char *video = json_string_value(json_object_get(it, "video"));
        m->items[i].photo = arc_xstrdup(photo ? photo : "");
        m->items[i].video = arc_xstrdup(video ? video : "");
        m->items[i].video_out = arc_xstrdup("");
        m->items[i].redo_video = 1;
    }
out:
    json_decref(items);
    return rc;
}

static int json_int_of(const json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

/*
 * A new video (job_kind 'video'): the job runs the video and viewer stages
 * only, and gives each pair what the stages it skips made in the last run
 * (its result): the print's geometry and the web video. The pairs named in
 * video_targets, and any pair with a video but no web video yet, make
 * theirs again. Returns 0, or -1 when the last run's result lacks any of it
 * (the job then runs whole, which makes the same marker and print again).
 */
static int video_job(arc_job_msg_t *m, const json_t *result, const json_t *targets)
{
    json_t *items = json_object_get(result, "items");

    if (json_array_size(items) != m->n_items || !json_is_array(targets))
        return -1;
    for (size_t i = 0; i < m->n_items; i++) {
        json_t *item = json_array_get(items, i);
        json_t *print = json_object_get(json_object_get(item, "photo"), "print");
        json_t *photo = json_object_get(print, "photo");
        arc_job_print_t pr;
        if (json_int_of(print, "width", &pr.width) || json_int_of(print, "height", &pr.height) ||
            json_int_of(photo, "x", &pr.x) || json_int_of(photo, "y", &pr.y) ||
            json_int_of(photo, "width", &pr.w) || json_int_of(photo, "height", &pr.h))
            return -1;
        m->items[i].print = pr;
    }
    for (size_t i = 0; i < m->n_items; i++) {
        const char *out = json_string_value(json_object_get(json_array_get(items, i), "videoFile"));
        int redo = m->items[i].video[0] != '\0' && (out == NULL || out[0] == '\0');
        size_t k;
        json_t *t;
        json_array_foreach(targets, k, t)
        {
            if (json_is_integer(t) && json_integer_value(t) == (json_int_t)i)
                redo = m->items[i].video[0] != '\0';
        }
        free(m->items[i].video_out);
        /* A redone pair's old web video too: its new one gets a name of
         * its own (a phone may be playing the old one). */
        m->items[i].video_out = arc_xstrdup(out == NULL ? "" : out);
        m->items[i].redo_video = redo;
    }
    m->stages = ARC_STAGE_VIDEO | ARC_STAGE_VIEWER;
    return 0;
}

/*
 * An imported project (sql/004: legacy; arcd import-legacy) keeps the old
 * system's marker.mind byte for byte, since the prints in customers' hands
 * were made for it: no job of one runs the marker stage, nor the photo and
 * border stages before it. Its first run (job_kind 'import') and a re-run
 * make every pair's web video from its video (the old system's), the viewer
 * and the QR code, with each print's geometry from the result the import
 * wrote; a new video runs as any project's (video_job). Returns 0, or
 * ARC_ECORRUPT when the result lacks what those stages need: the job then
 * fails for good rather than run whole, which would compile a new marker
 * that no print in a customer's hands matches.
 */
static int legacy_job(job_t *j, PGresult *res, const int *col, arc_err_t *err)
{
    arc_job_msg_t *m = &j->w.message;
    const char *r = arc_pg_value(res, 0, col[C_RESULT]);
    const char *t = arc_pg_value(res, 0, col[C_TARGETS]);
    int video = strcmp(PQgetvalue(res, 0, col[C_KIND]), "video") == 0;
    json_error_t jerr;
    json_t *result = r ? json_loads(r, 0, &jerr) : NULL;
    json_t *targets = video && t ? json_loads(t, 0, &jerr) : json_array();
    int rc = 0;

    for (size_t i = 0; !video && i < m->n_items; i++)
        json_array_append_new(targets, json_integer((json_int_t)i));
    if (video_job(m, result, targets) != 0) {
        rc = arc_err_set(err, ARC_ECORRUPT,
                         "the imported project's result lacks its prints' geometry, and its "
                         "marker (the old system's) is never compiled again: delete it and "
                         "import it again");
        goto out;
    }
    if (!video)
        m->stages |= ARC_STAGE_QR;
    j->prev = json_incref(result);
out:
    json_decref(result);
    json_decref(targets);
    return rc;
}

static void on_claimed(int status, PGresult *res, void *arg)
{
    arc_queue_t *q = arg;
    arc_daemon_t *d = q->d;
    int col[C_N];
    arc_err_t err = {{0}};

    q->claiming = 0;
    q->pending_ops--;
    if (status == 0 && PQntuples(res) > 0 && arc_pg_columns(res, claim_cols, C_N, col, &err) != 0) {
        arc_log_msg(ARC_LOG_INFO, "claiming a job: %s", err.msg);
        status = ARC_EINTERNAL;
    }
    if (status != 0) {
        if (status != ARC_ECANCELED)
            arc_log_msg(ARC_LOG_ERROR, "claiming a job failed: %s",
                        res && status == ARC_EDB ? PQresultErrorMessage(res)
                                                 : arc_strerror(status));
        check_stopped(q);
        return;
    }
    if (PQntuples(res) == 0) {
        check_stopped(q);
        return;
    }
    job_t *j = arc_xcalloc(1, sizeof(*j));
    j->q = q;
    j->state = J_RUNNING;
    snprintf(j->w.id, sizeof(j->w.id), "%s", PQgetvalue(res, 0, col[C_ID]));
    j->attempts = (int)strtol(PQgetvalue(res, 0, col[C_ATTEMPTS]), NULL, 10);
    j->max_attempts = (int)strtol(PQgetvalue(res, 0, col[C_MAX_ATTEMPTS]), NULL, 10);
    j->w.on_progress = job_progress;
    j->w.on_done = job_done;
    j->sent_progress = -1;
    uv_timer_init(d->loop, &j->lease);
    j->lease.data = j;
    j->next = q->jobs;
    q->jobs = j;

    int rc = job_message(q, res, col, &j->w.message, &err);
    if (rc == 0 && (strcmp(PQgetvalue(res, 0, col[C_LEGACY]), "t") == 0 ||
                    strcmp(PQgetvalue(res, 0, col[C_KIND]), "import") == 0)) {
        rc = legacy_job(j, res, col, &err);
    } else if (rc == 0 && strcmp(PQgetvalue(res, 0, col[C_KIND]), "video") != 0 &&
               arc_pg_value(res, 0, col[C_RESULT]) != NULL) {
        json_error_t jerr;
        json_t *last = json_loads(PQgetvalue(res, 0, col[C_RESULT]), 0, &jerr);
        j->last_files = json_incref(json_object_get(last, "files"));
        json_decref(last);
    } else if (rc == 0 && strcmp(PQgetvalue(res, 0, col[C_KIND]), "video") == 0) {
        json_error_t jerr;
        const char *r = arc_pg_value(res, 0, col[C_RESULT]);
        const char *t = arc_pg_value(res, 0, col[C_TARGETS]);
        json_t *result = r ? json_loads(r, 0, &jerr) : NULL;
        json_t *targets = t ? json_loads(t, 0, &jerr) : NULL;
        if (video_job(&j->w.message, result, targets) == 0) {
            j->prev = json_incref(result);
        } else {
            arc_log_msg(ARC_LOG_INFO,
                        "job %s: the last run's result lacks the print or videos: "
                        "the whole pipeline runs",
                        j->w.id);
            for (size_t i = 0; i < j->w.message.n_items; i++)
                memset(&j->w.message.items[i].print, 0, sizeof(j->w.message.items[i].print));
            /* A whole run then: the web videos of earlier new videos go. */
            j->last_files = json_incref(json_object_get(result, "files"));
        }
        json_decref(result);
        json_decref(targets);
    }
    if (rc != 0 || arc_job_msg_check(&j->w.message, &err) != 0) {
        /* The row cannot become a job (its data is damaged): fail it for
         * good rather than claim it again and again. */
        arc_done_msg_t failed = {.ok = 0, .error = err.msg, .permanent = 1};
        job_record(j, &failed, NULL);
        return;
    }
    if (j->attempts > j->max_attempts) {
        /* Its lease lapsed on the last attempt: the daemon or worker running
         * it died each time. */
        job_record(j, NULL, "the job was interrupted on every attempt (its daemon stopped)");
        return;
    }
    uint64_t every = (uint64_t)d->cfg->queue.lease_seconds * 1000 / 3;
    uv_timer_start(&j->lease, on_lease_timer, every, every);
    if (arc_workers_run(d->workers, &j->w) != 0) {
        /* The worker went away meanwhile: give the job back untouched. */
        job_release(j);
        return;
    }
    job_log(j, ARC_LOG_INFO, "job claimed",
            json_pack("{s:s, s:s}", "kind", PQgetvalue(res, 0, col[C_KIND]), "node", d->node));
    arc_queue_kick(q);
}

void arc_queue_kick(arc_queue_t *q)
{
    if (q == NULL || q->stopping || q->claiming || q->d->stopping)
        return;
    arc_daemon_t *d = q->d;
    if (arc_workers_idle(d->workers) <= 0)
        return;
    char secs[16];
    const char *params[2] = {d->node, secs};
    snprintf(secs, sizeof(secs), "%lld", (long long)d->cfg->queue.lease_seconds);
    q->claiming = 1;
    q->pending_ops++;
    arc_pg_query(d->pool, claim_sql, 2, params, on_claimed, q);
}

/* ---- counts for /metrics ---- */

static void on_counts(int status, PGresult *res, void *arg)
{
    arc_queue_t *q = arg;

    q->pending_ops--;
    if (status == 0) {
        json_t *c = json_pack("{s:i, s:i, s:i, s:i}", "pending", 0, "processing", 0, "ready", 0,
                              "error", 0);
        for (int i = 0; i < PQntuples(res); i++)
            json_object_set_new(c, PQgetvalue(res, i, 0),
                                json_integer(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
        json_decref(q->counts);
        q->counts = c;
    }
    check_stopped(q);
}

static void on_poll(uv_timer_t *t)
{
    arc_queue_t *q = t->data;

    arc_queue_kick(q);
    if (!q->stopping) {
        q->pending_ops++;
        arc_pg_query(q->d->pool, "SELECT status, count(*) FROM ar_projects GROUP BY status", 0,
                     NULL, on_counts, q);
    }
}

const json_t *arc_queue_counts(const arc_queue_t *q)
{
    return q->counts;
}

int arc_queue_running(const arc_queue_t *q)
{
    int n = 0;

    for (job_t *j = q->jobs; j; j = j->next)
        n++;
    return n;
}

int arc_queue_start(arc_daemon_t *d, arc_queue_t **out)
{
    arc_queue_t *q = arc_xcalloc(1, sizeof(*q));

    q->d = d;
    q->counts =
        json_pack("{s:i, s:i, s:i, s:i}", "pending", 0, "processing", 0, "ready", 0, "error", 0);
    uv_timer_init(d->loop, &q->poll);
    q->poll.data = q;
    uint64_t every = (uint64_t)d->cfg->queue.poll_seconds * 1000;
    uv_timer_start(&q->poll, on_poll, 200, every);
    *out = q;
    return 0;
}

static void check_stopped(arc_queue_t *q)
{
    if (!q->stopping || q->stop_cb == NULL || q->pending_ops > 0 || q->jobs != NULL)
        return;
    void (*cb)(arc_daemon_t *) = q->stop_cb;
    q->stop_cb = NULL;
    cb(q->d);
}

void arc_queue_stop(arc_queue_t *q, void (*cb)(arc_daemon_t *d))
{
    q->stopping = 1;
    q->stop_cb = cb;
    uv_timer_stop(&q->poll);
    uv_close((uv_handle_t *)&q->poll, NULL);
    /* Running jobs go back to the queue now, for this daemon or another
     * (the workers have been stopped first and no longer report on them);
     * a job whose files are being checked is recorded when that ends. */
    for (job_t *j = q->jobs, *next; j != NULL; j = next) {
        next = j->next;
        if (j->state == J_RUNNING)
            job_release(j);
    }
    check_stopped(q);
}

void arc_queue_free(arc_queue_t *q)
{
    if (q == NULL)
        return;
    json_decref(q->counts);
    free(q);
}
