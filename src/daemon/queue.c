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

#include "arcd/daemon.h"

typedef struct job_s {
    arc_worker_job_t w;
    arc_queue_t *q;
    int attempts, max_attempts;
    uv_timer_t lease;
    int done;
    int update_in_flight; /* a progress update is running */
    char stage[32];
    int progress, sent_progress;
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
    " RETURNING p.id::text, p.attempts, p.max_attempts, p.fit_mode, p.scale_width,"
    "   p.scale_height, p.config::text, p.photo_format, p.video_format,"
    "   (SELECT json_agg(json_build_object('photo', i.photo_file, 'video', i.video_file)"
    "                    ORDER BY i.position)::text"
    "      FROM ar_project_items i WHERE i.project_id = p.id)";

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

static void on_lease_closed(uv_handle_t *h)
{
    job_t *j = h->data;
    arc_queue_t *q = j->q;

    json_decref(j->w.message);
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
        fprintf(stderr, "arcd: queue update failed: %s\n",
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
    if (!j->done && j->progress != j->sent_progress)
        send_progress(j);
    else if (j->done)
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
                 " WHERE id = $1::uuid AND lease_owner = $2 AND status = 'processing'",
                 4, params, on_progress_done, j);
}

static void job_progress(arc_worker_job_t *w, const char *stage, int progress)
{
    job_t *j = (job_t *)w;

    snprintf(j->stage, sizeof(j->stage), "%s", stage);
    j->progress = progress > 99 ? 99 : progress; /* 100 means ready */
    if (!j->update_in_flight)
        send_progress(j);
}

/* The job is over: its row says so, guarded by our lease. */
static void job_finish(job_t *j, json_t *reply, const char *reason)
{
    arc_queue_t *q = j->q;
    arc_daemon_t *d = q->d;
    int ok = reply != NULL && json_is_true(json_object_get(reply, "ok"));

    j->done = 1;
    if (ok) {
        json_t *result =
            json_pack("{s:O, s:O, s:O?, s:O?}", "files", json_object_get(reply, "files"),
                      "markerCache", json_object_get(reply, "markerCache"), "rating",
                      json_object_get(reply, "rating"), "items", json_object_get(reply, "items"));
        json_t *photo = json_object_get(reply, "photo");
        char *res_s = json_dumps(result, JSON_COMPACT);
        char *tim_s = json_dumps(json_object_get(reply, "timings"), JSON_COMPACT);
        char *vid_s = json_dumps(json_object_get(reply, "video"), JSON_COMPACT | JSON_ENCODE_ANY);
        char w[16], h[16], ms[32];
        snprintf(w, sizeof(w), "%lld",
                 (long long)json_integer_value(json_object_get(photo, "width")));
        snprintf(h, sizeof(h), "%lld",
                 (long long)json_integer_value(json_object_get(photo, "height")));
        json_int_t total = json_integer_value(json_object_get(reply, "ms"));
        snprintf(ms, sizeof(ms), "%lld", (long long)total);
        arc_daemon_observe_compile(d, (double)total);
        const char *params[8] = {j->w.id, d->node, res_s, tim_s, vid_s, w, h, ms};
        /* A multi-target project's items get their own sizes and video details. */
        update(
            q,
            "WITH items AS (UPDATE ar_project_items i SET"
            "   photo_width = (x.e->'photo'->'print'->>'width')::int,"
            "   photo_height = (x.e->'photo'->'print'->>'height')::int, video_meta = x.e->'video'"
            "   FROM jsonb_array_elements($3::jsonb->'items') WITH ORDINALITY AS x(e, n)"
            "   WHERE i.project_id = $1::uuid AND i.position = x.n - 1"
            "     AND EXISTS (SELECT 1 FROM ar_projects WHERE id = $1::uuid AND lease_owner = $2))"
            " UPDATE ar_projects SET status = 'ready', stage = 'done', progress = 100,"
            " error_message = NULL, result = $3::jsonb, timings = $4::jsonb,"
            " video_meta = $5::jsonb, photo_width = $6::int, photo_height = $7::int,"
            " compilation_time_ms = $8::int, finished_at = now(), lease_owner = NULL,"
            " lease_expires_at = NULL, updated_at = now()"
            " WHERE id = $1::uuid AND lease_owner = $2",
            8, params);
        free(res_s);
        free(tim_s);
        free(vid_s);
        json_decref(result);
    } else {
        const char *msg = reply ? json_string_value(json_object_get(reply, "error")) : reason;
        int permanent = reply != NULL && json_is_true(json_object_get(reply, "permanent"));
        int last = permanent || j->attempts >= j->max_attempts;
        char why[600], delay[32];
        if (last && !permanent)
            snprintf(why, sizeof(why), "%s (gave up after %d attempts)", msg ? msg : "failed",
                     j->attempts);
        else
            snprintf(why, sizeof(why), "%s", msg ? msg : "failed");
        long long backoff = d->cfg.queue.retry_base_seconds
                            << (j->attempts > 10 ? 10 : j->attempts - 1);
        snprintf(delay, sizeof(delay), "%lld", backoff);
        const char *params[4] = {j->w.id, d->node, why, delay};
        if (last)
            update(q,
                   "UPDATE ar_projects SET status = 'error', stage = 'failed',"
                   " error_message = $3, finished_at = now(), lease_owner = NULL,"
                   " lease_expires_at = NULL, updated_at = now()"
                   " WHERE id = $1::uuid AND lease_owner = $2",
                   3, params);
        else
            update(q,
                   "UPDATE ar_projects SET status = 'pending', stage = 'queued', progress = 0,"
                   " error_message = $3, run_after = now() + make_interval(secs => $4::int),"
                   " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
                   " WHERE id = $1::uuid AND lease_owner = $2",
                   4, params);
        fprintf(stderr, "arcd: job %s attempt %d failed%s: %s\n", j->w.id, j->attempts,
                last ? " for good" : ", will retry", why);
    }
    if (!j->update_in_flight)
        job_free(j);
    else
        job_unlink(j); /* freed when its progress update returns */
}

static void job_done(arc_worker_job_t *w, json_t *reply, const char *reason)
{
    job_finish((job_t *)w, reply, reason);
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
           " WHERE id = $1::uuid AND lease_owner = $2",
           2, params);
    j->done = 1;
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
        fprintf(stderr, "arcd: a job's lease was lost (another daemon has taken it over)\n");
    check_stopped(q);
}

static void on_lease_timer(uv_timer_t *t)
{
    job_t *j = t->data;
    char secs[16];
    const char *params[3] = {j->w.id, j->q->d->node, secs};

    snprintf(secs, sizeof(secs), "%lld", (long long)j->q->d->cfg.queue.lease_seconds);
    j->q->pending_ops++;
    arc_pg_query(j->q->d->pool,
                 "UPDATE ar_projects SET lease_expires_at = now() + make_interval(secs => $3::int)"
                 " WHERE id = $1::uuid AND lease_owner = $2 RETURNING id",
                 3, params, on_renewed, j->q);
}

/* ---- claiming ---- */

static void on_claimed(int status, PGresult *res, void *arg)
{
    arc_queue_t *q = arg;
    arc_daemon_t *d = q->d;

    q->claiming = 0;
    q->pending_ops--;
    if (status != 0) {
        if (status != ARC_ECANCELED)
            fprintf(stderr, "arcd: claiming a job failed: %s\n",
                    res ? PQresultErrorMessage(res) : arc_strerror(status));
        check_stopped(q);
        return;
    }
    if (PQntuples(res) == 0) {
        check_stopped(q);
        return;
    }
    job_t *j = arc_xcalloc(1, sizeof(*j));
    j->q = q;
    snprintf(j->w.id, sizeof(j->w.id), "%s", PQgetvalue(res, 0, 0));
    j->attempts = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
    j->max_attempts = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
    j->w.on_progress = job_progress;
    j->w.on_done = job_done;
    j->sent_progress = -1;
    uv_timer_init(d->loop, &j->lease);
    j->lease.data = j;
    j->next = q->jobs;
    q->jobs = j;

    char dir[4096], photo[32], video[32];
    snprintf(dir, sizeof(dir), "%s/ar-storage/%s", d->storage, j->w.id);
    snprintf(photo, sizeof(photo), "photo.%s", PQgetvalue(res, 0, 7));
    snprintf(video, sizeof(video), "video.%s", PQgetvalue(res, 0, 8));
    json_error_t jerr;
    json_t *config = json_loads(PQgetvalue(res, 0, 6), 0, &jerr);
    char view_url[1200];
    snprintf(view_url, sizeof(view_url), "%s/ar/view/%s", d->cfg.server.public_url, j->w.id);
    j->w.message =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:i}", "v", 1, "type", "job", "id",
                  j->w.id, "dir", dir, "photo", photo, "video", PQgetisnull(res, 0, 8) ? "" : video,
                  "fitMode", PQgetvalue(res, 0, 3), "config", config ? config : json_object(),
                  "maxPixels", (json_int_t)d->cfg.compile.max_pixels, "threads",
                  d->cfg.compile.threads > 0 ? d->cfg.compile.threads : 1);
    json_object_set_new(j->w.message, "viewUrl", json_string(view_url));
    char cache_dir[4200];
    snprintf(cache_dir, sizeof(cache_dir), "%s/cache", d->storage);
    json_object_set_new(j->w.message, "cacheDir", json_string(cache_dir));
    json_object_set_new(j->w.message, "scaleWidth",
                        json_integer(strtol(PQgetvalue(res, 0, 4), NULL, 10)));
    json_object_set_new(j->w.message, "scaleHeight",
                        json_integer(strtol(PQgetvalue(res, 0, 5), NULL, 10)));
    /* A multi-target project lists its photo/video pairs. */
    if (!PQgetisnull(res, 0, 9)) {
        json_t *items = json_loads(PQgetvalue(res, 0, 9), 0, &jerr);
        if (json_is_array(items))
            json_object_set_new(j->w.message, "items", items);
        else
            json_decref(items);
    }
    json_t *media = arc_config_media_json(&d->cfg);
    /* The project's own choices (the upload's form fields) win. */
    json_t *border = json_object_get(config, "border");
    if (json_is_boolean(border))
        json_object_set(media, "border", border);
    json_object_set_new(j->w.message, "media", media);
    json_object_set_new(j->w.message, "viewer", arc_config_viewer_json(&d->cfg, d->template_path));

    if (j->attempts > j->max_attempts) {
        /* Its lease lapsed on the last attempt: the daemon or worker running
         * it died each time. */
        job_finish(j, NULL, "the job was interrupted on every attempt (its daemon stopped)");
        return;
    }
    uint64_t every = (uint64_t)d->cfg.queue.lease_seconds * 1000 / 3;
    uv_timer_start(&j->lease, on_lease_timer, every, every);
    if (arc_workers_run(d->workers, &j->w) != 0) {
        /* The worker went away meanwhile: give the job back untouched. */
        job_release(j);
        return;
    }
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
    snprintf(secs, sizeof(secs), "%lld", (long long)d->cfg.queue.lease_seconds);
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

void arc_queue_counts(const arc_queue_t *q, json_t **counts)
{
    *counts = q->counts;
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
    uint64_t every = (uint64_t)d->cfg.queue.poll_seconds * 1000;
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
     * (the workers have been stopped first and no longer report on them). */
    for (job_t *j = q->jobs, *next; j != NULL; j = next) {
        next = j->next;
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
