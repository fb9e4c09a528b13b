/*
 * daemon.h: `arcd serve`, the daemon, and the parts of it that share its
 * state: the HTTP API (api.c, upload.c, files.c), the job queue (queue.c) and
 * the worker processes (workers.c). Everything here runs on the daemon's one
 * libuv loop and never blocks it: database work goes through the async pool,
 * file work through libuv's threadpool, compiling through worker processes.
 *
 * The daemon owns one arc_daemon_t for its whole life; the modules keep their
 * own state behind the pointers below.
 */
#ifndef ARCD_DAEMON_H
#define ARCD_DAEMON_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "arcd/config.h"
#include "arcd/http.h"
#include "arcd/pg.h"

typedef struct arc_daemon_s arc_daemon_t;
typedef struct arc_workers_s arc_workers_t;
typedef struct arc_queue_s arc_queue_t;
typedef struct arc_watch_s arc_watch_t;

/* Request counts and latency histogram per route, for /metrics. */
#define ARC_METRIC_BUCKETS 12
typedef struct arc_route_metrics_s {
    const char *route;
    uint64_t count, errors;
    uint64_t buckets[ARC_METRIC_BUCKETS]; /* cumulative counts <= le */
    double sum_ms;
} arc_route_metrics_t;

struct arc_daemon_s {
    uv_loop_t *loop;
    arc_config_t cfg;
    char *exe;           /* this program, for spawning workers */
    char *storage;       /* absolute storage folder */
    char *template_path; /* absolute path of the viewer template */
    char *vendor;        /* absolute folder of the viewer's scripts */
    char node[96];       /* this daemon's name in leases: host:pid:random */
    int worker_user;     /* workers run as worker_uid/worker_gid (workers.user) */
    unsigned worker_uid, worker_gid;
    arc_http_server_t *http;
    arc_pg_pool_t *pool;
    arc_workers_t *workers;
    arc_queue_t *queue;
    arc_watch_t *watches; /* long polls and event streams */
    uv_signal_t sigterm, sigint;
    uv_timer_t heartbeat; /* event-stream keep-alives */
    struct {
        uv_timer_t timer;
        arc_pg_query_t *query; /* in flight, or NULL */
        void *job;             /* the batch being removed, or NULL */
        int busy;
        uint64_t total; /* projects swept */
    } sweep;
    int stopping;
    int exit_code;
    arc_route_metrics_t routes[16];
    int n_routes;
    uint64_t compile_buckets[ARC_METRIC_BUCKETS];
    uint64_t compile_count;
    double compile_sum_ms;
};

/* ---- serve.c ---- */

/* `arcd serve [--config FILE]`. */
int arc_serve_main(int argc, char **argv);

/* Records a compile time for /metrics. */
void arc_daemon_observe_compile(arc_daemon_t *d, double ms);

/* The Prometheus text of /metrics (owned, free()). */
char *arc_daemon_metrics(arc_daemon_t *d);

/* ---- api.c ---- */

/* The HTTP handler of the daemon. */
extern const arc_http_handler_t arc_api_handler;
void arc_api_on_head(arc_http_req_t *req);
void arc_api_on_request(arc_http_req_t *req);

/* A project's status changed (NOTIFY arcd_status, or this daemon's own
 * update): wakes its long polls and event streams. */
void arc_api_status_changed(arc_daemon_t *d, const char *id);

/* Sends a keep-alive comment down every event stream. */
void arc_api_heartbeat(arc_daemon_t *d);

/* The status cache (see api.c): dropped entirely when notifications may have
 * been missed; hits counted for /metrics. */
void arc_api_status_cache_clear(void);
uint64_t arc_api_status_cache_hits(void);

/* Wakes every watcher (after missed notifications or at shutdown). */
void arc_api_wake_all(arc_daemon_t *d, int closing);

/* 1 when s is a project id: a lower-case UUID. */
int arc_api_valid_id(const char *s);

/* ---- auth.c ---- */

/* The token of the request's `Authorization: Bearer` header (borrowed from
 * the config), or NULL once the request has been answered 401. */
const arc_token_t *arc_auth_require(arc_daemon_t *d, arc_http_req_t *req);

/* 1 when token t may see a project of owner (admins see all; NULL t: a
 * public route, which sees all). */
int arc_auth_sees(const arc_token_t *t, const char *owner);

/* Gives path to the workers' user, when workers run as one (a project's
 * folder and uploads, so that its worker can read and write there). */
void arc_daemon_hand_to_workers(arc_daemon_t *d, const char *path);

/* ---- sweep.c ---- */

/* The expiry sweep: every demo.sweepSeconds, expired projects lose their
 * files, then their rows. Stop cancels what is in flight. */
void arc_sweep_start(arc_daemon_t *d);
void arc_sweep_stop(arc_daemon_t *d);

/* ---- upload.c ---- */

/* The most photo/video pairs (targets) of one project. */
#define ARC_MAX_TARGETS 8

/* POST /api/ar/create-demo (multi 0: one pair, a demo that expires) and
 * POST /api/ar/create (multi 1: up to ARC_MAX_TARGETS pairs, lasting):
 * on_head sets up the streamed upload. */
void arc_upload_head(arc_http_req_t *req, arc_daemon_t *d, int multi, const char *owner);
/* The upload's body is complete (from the API's on_request). */
void arc_upload_complete(arc_http_req_t *req);

/* ---- files.c ---- */

/* GET /objects/ar-storage/:id/:file with ETag, Last-Modified, Range. */
void arc_files_serve(arc_http_req_t *req, arc_daemon_t *d, const char *id, const char *file);

/* GET /vendor/:file: A-Frame and MindAR for the viewer pages. */
void arc_files_serve_vendor(arc_http_req_t *req, arc_daemon_t *d, const char *file);

/* ---- workers.c ---- */

typedef struct arc_worker_job_s arc_worker_job_t;

/* A running job as the queue sees it; the worker module calls back on it. */
struct arc_worker_job_s {
    char id[40];
    json_t *message; /* the "job" message sent */
    void (*on_progress)(arc_worker_job_t *job, const char *stage, int progress);
    /* reply: the worker's "done" message, or NULL with reason when the
     * worker died or overran (then permanent is 0). */
    void (*on_done)(arc_worker_job_t *job, json_t *reply, const char *reason);
    void *data;
};

int arc_workers_start(arc_daemon_t *d, int count, arc_workers_t **out);
/* Idle workers ready for a job. */
int arc_workers_idle(const arc_workers_t *w);
/* Hands job to an idle worker; returns 0 or ARC_EUNAVAIL. */
int arc_workers_run(arc_workers_t *w, arc_worker_job_t *job);
void arc_workers_stats(const arc_workers_t *w, int *busy, int *idle, uint64_t *restarts);
/* Stops the workers (closing their stdin); running jobs are abandoned (the
 * queue returns them first). cb runs when every process has exited. */
void arc_workers_stop(arc_workers_t *w, void (*cb)(arc_daemon_t *d));
/* Frees a stopped worker pool; accepts NULL. */
void arc_workers_free(arc_workers_t *w);

/* ---- queue.c ---- */

int arc_queue_start(arc_daemon_t *d, arc_queue_t **out);
/* Looks for work now (a NOTIFY, a free worker, a timer). */
void arc_queue_kick(arc_queue_t *q);
/* Jobs by state for /metrics (refreshed in the background). */
void arc_queue_counts(const arc_queue_t *q, json_t **counts);
/* Running jobs, for readiness and shutdown. */
int arc_queue_running(const arc_queue_t *q);
/* Returns running jobs to the queue (status pending, lease cleared) and stops
 * claiming; cb runs when that is done. */
void arc_queue_stop(arc_queue_t *q, void (*cb)(arc_daemon_t *d));
/* Frees a stopped queue; accepts NULL. */
void arc_queue_free(arc_queue_t *q);

#endif
