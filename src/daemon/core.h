/*
 * core.h: the daemon's shared context. One arc_daemon_t lives for the whole
 * run (src/daemon/daemon.c makes it); every part of the daemon gets it and
 * reads the settings, the loop, the storage paths and the other parts
 * through it. Each part keeps its own state in its own object (the queue in
 * arc_queue_t, the watchers and the status cache in arc_status_t, ...);
 * this struct only holds the pointers to them.
 *
 * Everything here runs on the daemon's one libuv loop and never blocks it:
 * database work goes through the async pool, file work through libuv's
 * threadpool, media work through the worker processes.
 */
#ifndef ARCD_DAEMON_CORE_H
#define ARCD_DAEMON_CORE_H

#include <stdint.h>

#include <uv.h>

#include "arcd/config.h"
#include "arcd/http.h"
#include "arcd/pg.h"

typedef struct arc_daemon_s arc_daemon_t;
typedef struct arc_workers_s arc_workers_t;
typedef struct arc_queue_s arc_queue_t;
typedef struct arc_status_s arc_status_t;
typedef struct arc_sweep_s arc_sweep_t;
typedef struct arc_metrics_s arc_metrics_t;
typedef struct arc_pages_s arc_pages_t;
typedef struct arc_app_s arc_app_t;
typedef struct arc_uploads_s arc_uploads_t;
typedef struct arc_auth_s arc_auth_t;
typedef struct arc_notify_s arc_notify_t;

struct arc_daemon_s {
    uv_loop_t *loop;
    const arc_config_t *cfg; /* borrowed for the whole run */
    char *exe;               /* this program, for spawning workers */
    char *storage;           /* absolute storage folder */
    char *template_path;     /* absolute path of the viewer template */
    char *vendor;            /* absolute folder of the viewer's scripts */
    char vendor_version[17]; /* the scripts' version: 16 hex digits of their SHA-256, or "" */
    int64_t vendor_stamp;    /* when it was taken (a file changed since is not that version) */
    char *vendor_url;        /* where pages load the scripts: "/vendor/<version>" or the config's */
    char node[96];           /* this daemon's name in leases: host:pid:random */
    int worker_user;         /* workers run as worker_uid/worker_gid (workers.user) */
    unsigned worker_uid, worker_gid;

    /* The parts, each owning its state. */
    arc_http_server_t *http;
    arc_http_server_t *metrics_http; /* server.metricsListen's, or NULL */
    arc_pg_pool_t *pool;
    arc_workers_t *workers;
    arc_queue_t *queue;
    arc_status_t *status;
    arc_sweep_t *sweep;
    arc_metrics_t *metrics;
    arc_pages_t *pages;
    arc_app_t *app; /* the operator's web app */
    arc_uploads_t *uploads;
    arc_auth_t *auth;     /* the API tokens (config and database) */
    arc_notify_t *notify; /* webhooks and emails */

    int stopping;
    int holds; /* work that needs the pool after its request ended (arc_daemon_hold) */
};

/* The daemon of a request (the HTTP server's handler data). */
#define ARC_DAEMON(req) ((arc_daemon_t *)arc_http_server_data((req)->server))

/* 1 when s is a project id: a lower-case UUID, or an id of the old system's
 * shape kept by `arcd import-legacy` (arcd/id.h). */
int arc_daemon_valid_id(const char *s);

/* Work that goes on after its client left and needs the database (a
 * deletion half-way): while any is held, a shutdown keeps the pool open.
 * Each hold is released once. */
void arc_daemon_hold(arc_daemon_t *d);
void arc_daemon_release(arc_daemon_t *d);

/* Gives path to the workers' user, when workers run as one (a project's
 * folder and uploads, so that its worker can read and write there).
 * A chown: called on the threadpool or at start-up, never on the loop. */
void arc_daemon_hand_to_workers(const arc_daemon_t *d, const char *path);

#endif
