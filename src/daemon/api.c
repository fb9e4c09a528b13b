/*
 * The daemon's HTTP API: the route table, the policies every route shares,
 * and the health, readiness and metrics routes (see api.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/id.h"
#include "api.h"
#include "app.h"
#include "auth.h"
#include "files.h"
#include "metrics.h"
#include "notify.h"
#include "projects.h"
#include "status.h"
#include "upload.h"
#include "workers.h"

/* Route flags. */
#define NEEDS_TOKEN 1u    /* the project routes: a bearer token */
#define WHILE_STOPPING 2u /* still answered while the daemon shuts down */
#define NEEDS_ADMIN 4u    /* an admin token (the operator routes) */
#define CORS 8u           /* callable from a browser page on server.corsOrigins */

int arc_daemon_valid_id(const char *s)
{
    return arc_id_kind(s) != ARC_ID_NONE;
}

/* ---- health, readiness, metrics ---- */

static void on_healthz(arc_http_req_t *req)
{
    arc_http_respond_json(req, 200, json_pack("{s:s}", "status", "alive"));
}

static void on_ready_check(int status, PGresult *res, void *arg)
{
    arc_http_req_t *req = arg;
    arc_daemon_t *d = ARC_DAEMON(req);
    int busy, idle;
    uint64_t restarts;

    (void)res;
    req->data = NULL;
    arc_workers_stats(d->workers, &busy, &idle, &restarts);
    int ok = status == 0 && busy + idle > 0 && !d->stopping;
    json_t *js = json_pack("{s:b, s:b, s:i, s:i, s:b}", "ready", ok, "database", status == 0,
                           "workersBusy", busy, "workersIdle", idle, "stopping", d->stopping);
    arc_http_respond_json(req, ok ? 200 : 503, js);
}

static void abort_query(arc_http_req_t *req)
{
    arc_pg_cancel(req->data);
}

static void on_readyz(arc_http_req_t *req)
{
    req->on_abort = abort_query;
    req->data = arc_pg_query(ARC_DAEMON(req)->pool, "SELECT 1", 0, NULL, on_ready_check, req);
}

static void on_metrics(arc_http_req_t *req)
{
    char *text = arc_metrics_render(ARC_DAEMON(req));

    arc_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                     "Cache-Control: no-store\r\n", text, strlen(text));
    free(text);
}

/* ---- the table ---- */

#define API (NEEDS_TOKEN | CORS)

static const arc_route_t routes[] = {
    {"POST", "/api/ar/create-demo", "create-demo", arc_upload_demo_head, arc_upload_complete, API},
    {"POST", "/api/ar/create", "create", arc_upload_create_head, arc_upload_complete, API},
    {"GET", "/api/ar/status/:id", "status", NULL, arc_status_on_status, API},
    {"GET", "/api/ar/events/:id", "events", NULL, arc_status_on_events, API},
    {"GET", "/api/ar/projects", "projects", NULL, arc_projects_on_list, API},
    {"GET", "/api/ar/projects/:id", "project", NULL, arc_status_on_status, API},
    {"PATCH", "/api/ar/projects/:id", "project-patch", arc_projects_patch_head,
     arc_projects_on_patch, API},
    {"DELETE", "/api/ar/projects/:id", "project-delete", NULL, arc_projects_on_delete, API},
    {"POST", "/api/ar/projects/:id/video", "project-video", arc_upload_video_head,
     arc_upload_complete, API},
    {"POST", "/api/ar/projects/:id/rerun", "project-rerun", NULL, arc_projects_on_rerun, API},
    {"GET", "/api/ar/projects/:id/notifications", "notifications", NULL, arc_notify_on_list, API},
    {"POST", "/api/ar/projects/:id/notifications/:deliveryId/redeliver", "redeliver", NULL,
     arc_notify_on_redeliver, API},
    {"GET", "/ar/view/:id", "view", NULL, arc_status_on_view, 0},
    {"GET", "/objects/ar-storage/:id/:file", "objects", NULL, arc_files_on_object, 0},
    {"GET", "/api/ar/storage/:id/:file", "legacy-file", NULL, arc_status_on_legacy_file, 0},
    {"GET", "/vendor/:file", "vendor", NULL, arc_files_on_vendor, 0},
    {"GET", "/vendor/:version/:file", "vendor", NULL, arc_files_on_vendor, 0},
    {"GET", "/", "app", NULL, arc_app_on_index, 0},
    {"GET", "/app/:version/:file", "app-asset", NULL, arc_app_on_asset, 0},
    {"GET", "/healthz", "healthz", NULL, on_healthz, WHILE_STOPPING},
    {"GET", "/readyz", "readyz", NULL, on_readyz, 0},
    {"GET", "/metrics", "metrics", NULL, on_metrics, NEEDS_TOKEN | NEEDS_ADMIN},
};

/* server.metricsListen: /metrics alone, for a private network. */
static const arc_route_t metrics_routes[] = {
    {"GET", "/metrics", "metrics", NULL, on_metrics, 0},
};

/* Before any route's own handler: the daemon's shutdown and the tokens. */
static void on_route(arc_http_req_t *req)
{
    arc_daemon_t *d = ARC_DAEMON(req);
    unsigned flags = req->match.route->flags;

    if (d->stopping && !(flags & WHILE_STOPPING)) {
        arc_http_error(req, 503, "shutting_down", "Retry-After: 5\r\n",
                       "the server is shutting down");
        return;
    }
    if (flags & NEEDS_TOKEN) {
        const arc_token_t *who = arc_auth_require(d, req); /* answered 401 when NULL */
        req->ctx = (void *)who;
        if (who != NULL && (flags & NEEDS_ADMIN) && !who->admin)
            arc_http_error(req, 403, "forbidden", NULL, "%s needs an admin token", req->path);
    }
}

static void on_done(arc_http_req_t *req, double ms)
{
    arc_metrics_http(ARC_DAEMON(req)->metrics, req->route, req->status, ms);
}

arc_http_handler_t arc_api_handler(arc_daemon_t *d)
{
    arc_http_handler_t h = {
        .routes = routes,
        .n_routes = sizeof(routes) / sizeof(routes[0]),
        .on_route = on_route,
        .on_done = on_done,
        .data = d,
        .cors_origins = (const char *const *)d->cfg->server.cors_origins,
        .cors_flag = CORS,
    };
    return h;
}

arc_http_handler_t arc_api_metrics_handler(arc_daemon_t *d)
{
    arc_http_handler_t h = {
        .routes = metrics_routes,
        .n_routes = sizeof(metrics_routes) / sizeof(metrics_routes[0]),
        .on_route = NULL,
        .on_done = on_done,
        .data = d,
    };
    return h;
}
