/*
 * The daemon's HTTP API: routing, project status (with long polls and
 * Server-Sent Events), the view redirect, health and metrics. Uploads are in
 * upload.c, project files in files.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/daemon.h"

#define D(req) ((arc_daemon_t *)arc_http_server_data((req)->server))

int arc_api_valid_id(const char *s)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (strlen(s) != sizeof(pattern) - 1)
        return 0;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == '-' ? s[i] != '-'
                              : !isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* ---- project status ---- */

static const char *status_sql =
    "SELECT id::text, status, stage, progress, error_message, is_demo,"
    " to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " result::text, timings::text, compilation_time_ms, photo_width, photo_height,"
    " video_format, video_bytes, video_meta::text, fit_mode,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), owner"
    " FROM ar_projects WHERE id = $1::uuid AND (expires_at IS NULL OR expires_at > now())";

static json_t *val_or_null(PGresult *r, int col, int as_int)
{
    if (PQgetisnull(r, 0, col))
        return json_null();
    if (as_int)
        return json_integer(strtoll(PQgetvalue(r, 0, col), NULL, 10));
    return json_string(PQgetvalue(r, 0, col));
}

static json_t *parse_json(PGresult *r, int col)
{
    json_error_t e;
    json_t *js = PQgetisnull(r, 0, col) ? NULL : json_loads(PQgetvalue(r, 0, col), 0, &e);
    return js ? js : json_null();
}

static json_t *file_url(arc_daemon_t *d, const char *id, json_t *files, const char *prefix)
{
    size_t i;
    json_t *f;

    json_array_foreach(files, i, f)
    {
        const char *name = json_string_value(f);
        if (name && strncmp(name, prefix, strlen(prefix)) == 0) {
            char url[1024];
            snprintf(url, sizeof(url), "%s/objects/ar-storage/%s/%s", d->cfg.server.public_url, id,
                     name);
            return json_string(url);
        }
    }
    return json_null();
}

/* The status JSON of one row of status_sql. */
static json_t *status_json(arc_daemon_t *d, PGresult *r)
{
    const char *id = PQgetvalue(r, 0, 0);
    char url[1024];
    json_t *result = parse_json(r, 7);
    json_t *files = json_object_get(result, "files");
    json_t *js = json_object();

    json_object_set_new(js, "arId", json_string(id));
    json_object_set_new(js, "status", json_string(PQgetvalue(r, 0, 1)));
    json_object_set_new(js, "progress", val_or_null(r, 3, 1));
    json_object_set_new(js, "stage", json_string(PQgetvalue(r, 0, 2)));
    snprintf(url, sizeof(url), "%s/ar/view/%s", d->cfg.server.public_url, id);
    json_object_set_new(js, "viewUrl", json_string(url));
    snprintf(url, sizeof(url), "%s/api/ar/status/%s", d->cfg.server.public_url, id);
    json_object_set_new(js, "statusUrl", json_string(url));
    json_object_set_new(js, "viewerHtmlUrl", file_url(d, id, files, "index.html"));
    json_object_set_new(js, "qrCodeUrl", file_url(d, id, files, "qr-code.png"));
    json_object_set_new(js, "markerUrl", file_url(d, id, files, "marker.mind"));
    json_object_set_new(js, "videoUrl", file_url(d, id, files, "ar-video.mp4"));
    json_object_set_new(js, "posterUrl", file_url(d, id, files, "poster.jpg"));
    json_object_set_new(js, "enhancedPhotoUrl", file_url(d, id, files, "enhanced-photo.jpg"));
    json_object_set_new(js, "featuresUrl", file_url(d, id, files, "features.png"));
    json_object_set_new(js, "compilationTimeMs", val_or_null(r, 9, 1));
    json_object_set_new(js, "isDemo", json_boolean(PQgetvalue(r, 0, 5)[0] == 't'));
    json_object_set_new(js, "expiresAt", val_or_null(r, 6, 0));
    json_object_set_new(js, "errorMessage", val_or_null(r, 4, 0));
    json_object_set_new(js, "fitMode", json_string(PQgetvalue(r, 0, 15)));
    json_object_set_new(
        js, "photo",
        json_pack("{s:o, s:o}", "width", val_or_null(r, 10, 1), "height", val_or_null(r, 11, 1)));
    json_t *video = parse_json(r, 14);
    if (!json_is_object(video)) {
        json_decref(video);
        video = json_object();
    }
    json_object_set_new(video, "format", val_or_null(r, 12, 0));
    json_object_set_new(video, "bytes", val_or_null(r, 13, 1));
    json_object_set_new(js, "video", video);
    json_object_set_new(js, "timings", parse_json(r, 8));
    json_t *rating = json_object_get(result, "rating");
    json_object_set_new(js, "rating", rating ? json_incref(rating) : json_null());
    json_t *items = json_object_get(result, "items");
    if (json_array_size(items) > 1)
        json_object_set_new(js, "targets", json_incref(items));
    json_t *cache = json_object_get(result, "markerCache");
    json_object_set_new(js, "markerCache", cache ? json_incref(cache) : json_null());
    json_object_set_new(js, "createdAt", val_or_null(r, 16, 0));
    json_object_set_new(js, "updatedAt", val_or_null(r, 17, 0));
    json_decref(result);
    return js;
}

/* ---- a short-lived cache of status answers ----
 * A CRM polling a project asks the same question many times a second. While
 * the LISTEN connection is up, every change to a project arrives as a NOTIFY
 * (from whichever daemon made it) and drops that project's entry, so a cached
 * answer is never stale; entries also expire after a second, and the whole
 * cache is dropped and unused whenever LISTEN is down. One daemon per
 * process, so the table is this file's. */

#define STATUS_CACHE_SLOTS 1024
#define STATUS_CACHE_MS 1000

typedef struct status_entry_s {
    char id[40];
    char *owner;
    char *body;
    size_t len;
    uint64_t at_ms;
} status_entry_t;

static status_entry_t status_cache[STATUS_CACHE_SLOTS];
static uint64_t status_cache_hits;

static status_entry_t *status_slot(const char *id)
{
    unsigned h = 5381;

    for (const char *p = id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return &status_cache[h % STATUS_CACHE_SLOTS];
}

static int cache_usable(arc_daemon_t *d)
{
    arc_pg_stats_t ps;

    arc_pg_pool_stats(d->pool, &ps);
    return ps.listening;
}

static void status_cache_drop(const char *id)
{
    status_entry_t *e = status_slot(id);

    if (strcmp(e->id, id) == 0) {
        free(e->body);
        free(e->owner);
        memset(e, 0, sizeof(*e));
    }
}

void arc_api_status_cache_clear(void)
{
    for (size_t i = 0; i < STATUS_CACHE_SLOTS; i++) {
        free(status_cache[i].body);
        free(status_cache[i].owner);
        memset(&status_cache[i], 0, sizeof(status_cache[i]));
    }
}

uint64_t arc_api_status_cache_hits(void)
{
    return status_cache_hits;
}

/* Answers from the cache; returns 0 when it had nothing fresh. */
static int status_from_cache(arc_http_req_t *req, arc_daemon_t *d, const char *id,
                             const arc_token_t *who)
{
    status_entry_t *e = status_slot(id);

    if (strcmp(e->id, id) != 0 || e->body == NULL || !cache_usable(d) ||
        uv_now(d->loop) - e->at_ms > STATUS_CACHE_MS || !arc_auth_sees(who, e->owner))
        return 0;
    status_cache_hits++;
    arc_http_respond(req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
                     e->body, e->len);
    return 1;
}

static void status_cache_put(arc_daemon_t *d, const char *id, const char *owner, const char *body)
{
    status_entry_t *e = status_slot(id);

    if (!cache_usable(d))
        return;
    free(e->body);
    free(e->owner);
    e->owner = owner ? arc_xstrdup(owner) : NULL;
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->body = arc_xstrdup(body);
    e->len = strlen(body);
    e->at_ms = uv_now(d->loop);
}

/* A request waiting on one project: a long poll, an event stream, or a plain
 * status read. */
typedef enum { W_ONCE, W_POLL, W_EVENTS, W_VIEW } wkind_t;

struct arc_watch_s {
    arc_daemon_t *d;
    arc_http_req_t *req;
    wkind_t kind;
    char id[40];
    arc_pg_query_t *query;  /* in flight */
    const arc_token_t *who; /* the API token (NULL on the public view route) */
    int requery;            /* a change arrived while querying */
    int have;               /* last_* hold what the client has seen */
    char last_status[16], last_stage[32];
    int last_progress;
    uv_timer_t timer; /* long-poll deadline */
    int timer_on;
    int finished;
    arc_watch_t *next;
};

static void watch_unlink(arc_watch_t *w)
{
    for (arc_watch_t **p = &w->d->watches; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
}

static void on_watch_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Frees the watch; the request has been answered or aborted. */
static void watch_free(arc_watch_t *w)
{
    watch_unlink(w);
    arc_pg_cancel(w->query);
    if (w->timer_on) {
        uv_timer_stop(&w->timer);
        uv_close((uv_handle_t *)&w->timer, on_watch_timer_closed);
    } else {
        free(w);
    }
}

static void watch_abort(arc_http_req_t *req)
{
    watch_free(req->data);
}

static void query_status(arc_watch_t *w);

static void free_written(arc_http_req_t *req, int status, void *arg)
{
    (void)req;
    (void)status;
    free(arg);
}

static void send_event(arc_watch_t *w, json_t *js)
{
    char *s = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = strlen(s) + 32;
    char *ev = arc_xmalloc(n);
    int len = snprintf(ev, n, "event: status\ndata: %s\n\n", s);

    free(s);
    arc_http_write(w->req, ev, (size_t)len, free_written, ev); /* freed once written */
}

/* Event streams get a comment every 15 s, so proxies keep them open. */
void arc_api_heartbeat(arc_daemon_t *d)
{
    static const char beat[] = ": keep-alive\n\n";

    for (arc_watch_t *w = d->watches; w != NULL; w = w->next)
        if (w->kind == W_EVENTS && w->have)
            arc_http_write(w->req, beat, sizeof(beat) - 1, NULL, NULL);
}

static void on_status(int status, PGresult *res, void *arg)
{
    arc_watch_t *w = arg;
    arc_daemon_t *d = w->d;
    arc_http_req_t *req = w->req;

    w->query = NULL;
    if (status != 0) {
        if (w->kind == W_EVENTS && w->have) {
            arc_http_end(req);
            watch_free(w);
            return;
        }
        arc_http_error(req, 503, "database_unavailable", "Retry-After: 2\r\n",
                       "the database is not available right now (%s)", arc_strerror(status));
        watch_free(w);
        return;
    }
    if (PQntuples(res) == 0 ||
        !arc_auth_sees(w->who, PQgetisnull(res, 0, 18) ? NULL : PQgetvalue(res, 0, 18))) {
        /* Another owner's project looks like no project at all. */
        if (w->kind == W_VIEW) {
            static const char page[] =
                "<!doctype html><meta charset=utf-8><meta name=viewport "
                "content='width=device-width'><title>Not found</title><body style='font:16px "
                "sans-serif;padding:2em'><h1>This AR experience does not exist</h1><p>The link "
                "is wrong, or the demo has expired.</p>";
            arc_http_respond(req, 404, "text/html; charset=utf-8", NULL, page, sizeof(page) - 1);
        } else if (w->kind == W_EVENTS && w->have) {
            arc_http_end(req);
        } else {
            arc_http_error(req, 404, "not_found", NULL, "no project %s (or it has expired)", w->id);
        }
        watch_free(w);
        return;
    }
    const char *st = PQgetvalue(res, 0, 1);
    const char *stage = PQgetvalue(res, 0, 2);
    int progress = (int)strtol(PQgetvalue(res, 0, 3), NULL, 10);
    int terminal = strcmp(st, "ready") == 0 || strcmp(st, "error") == 0;
    int changed = !w->have || strcmp(st, w->last_status) != 0 || strcmp(stage, w->last_stage) != 0;

    if (w->kind == W_VIEW) {
        if (strcmp(st, "ready") == 0) {
            char loc[256];
            snprintf(loc, sizeof(loc), "Location: /objects/ar-storage/%s/index.html\r\n", w->id);
            arc_http_respond(req, 302, "text/plain; charset=utf-8", loc, "", 0);
        } else {
            char page[1024];
            int n = strcmp(st, "error") == 0
                        ? snprintf(page, sizeof(page),
                                   "<!doctype html><meta charset=utf-8><meta name=viewport "
                                   "content='width=device-width'><title>Could not be "
                                   "prepared</title><body style='font:16px "
                                   "sans-serif;padding:2em'><h1>This AR experience could not be "
                                   "prepared</h1><p>Please contact the shop.</p>")
                        : snprintf(page, sizeof(page),
                                   "<!doctype html><meta charset=utf-8><meta name=viewport "
                                   "content='width=device-width'><meta http-equiv=refresh "
                                   "content=3><title>Still preparing</title><body "
                                   "style='font:16px sans-serif;padding:2em'><h1>Still "
                                   "preparing your AR experience: %d%%</h1><p>This page "
                                   "reloads by itself.</p>",
                                   progress);
            arc_http_respond(req, strcmp(st, "error") == 0 ? 500 : 200, "text/html; charset=utf-8",
                             "Cache-Control: no-store\r\n", page, (size_t)n);
        }
        watch_free(w);
        return;
    }
    if (w->kind == W_EVENTS) {
        if (!w->have) {
            arc_http_start(req, 200, "text/event-stream",
                           "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n", -1);
        }
        if (changed || progress != w->last_progress) {
            json_t *js = status_json(d, res);
            send_event(w, js);
            json_decref(js);
        }
    }
    snprintf(w->last_status, sizeof(w->last_status), "%s", st);
    snprintf(w->last_stage, sizeof(w->last_stage), "%s", stage);
    w->last_progress = progress;
    int first = !w->have;
    w->have = 1;

    if (w->kind == W_EVENTS) {
        if (terminal) {
            arc_http_end(req);
            watch_free(w);
        } else if (w->requery) {
            w->requery = 0;
            query_status(w);
        }
        return;
    }
    /* A plain read, or a long poll whose wait is over or whose state moved. */
    if (w->kind == W_ONCE || terminal || (!first && changed) || w->finished) {
        json_t *js = status_json(d, res);
        char *body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
        /* Only when no change has arrived since the query went out. */
        if (!w->requery)
            status_cache_put(d, w->id, PQgetisnull(res, 0, 18) ? NULL : PQgetvalue(res, 0, 18),
                             body);
        arc_http_respond(req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
                         body, strlen(body));
        free(body);
        json_decref(js);
        watch_free(w);
        return;
    }
    if (w->requery) {
        w->requery = 0;
        query_status(w);
    }
}

static void query_status(arc_watch_t *w)
{
    const char *params[1] = {w->id};

    w->query = arc_pg_query(w->d->pool, status_sql, 1, params, on_status, w);
}

static void on_poll_deadline(uv_timer_t *t)
{
    arc_watch_t *w = t->data;

    w->finished = 1;
    if (w->query == NULL)
        query_status(w);
}

void arc_api_status_changed(arc_daemon_t *d, const char *id)
{
    status_cache_drop(id);
    for (arc_watch_t *w = d->watches; w != NULL; w = w->next) {
        if (strcmp(w->id, id) != 0)
            continue;
        /* A query in flight may have read the row before the change: mark
         * it, so its answer is not cached (and watchers look again). */
        if (w->query != NULL)
            w->requery = 1;
        else if (w->have)
            query_status(w);
    }
}

void arc_api_wake_all(arc_daemon_t *d, int closing)
{
    arc_api_status_cache_clear(); /* changes may have been missed */
    for (arc_watch_t *w = d->watches, *next; w != NULL; w = next) {
        next = w->next;
        if (!w->have)
            continue;
        if (closing)
            w->finished = 1;
        if (closing && w->kind == W_EVENTS) {
            arc_http_end(w->req);
            watch_free(w);
            continue;
        }
        if (w->query != NULL)
            w->requery = 1;
        else
            query_status(w);
    }
}

static void start_watch(arc_http_req_t *req, wkind_t kind, const char *id, uint64_t wait_ms,
                        const arc_token_t *who)
{
    arc_daemon_t *d = D(req);
    arc_watch_t *w = arc_xcalloc(1, sizeof(*w));

    w->d = d;
    w->who = who;
    w->req = req;
    w->kind = kind;
    snprintf(w->id, sizeof(w->id), "%s", id);
    w->next = d->watches;
    d->watches = w;
    req->data = w;
    req->on_abort = watch_abort;
    if (kind == W_POLL && wait_ms > 0) {
        uv_timer_init(d->loop, &w->timer);
        w->timer.data = w;
        w->timer_on = 1;
        uv_timer_start(&w->timer, on_poll_deadline, wait_ms, 0);
    }
    if (kind == W_POLL && wait_ms == 0)
        w->kind = W_ONCE;
    query_status(w);
}

/* ---- health and metrics ---- */

static void on_ready_check(int status, PGresult *res, void *arg)
{
    arc_http_req_t *req = arg;
    arc_daemon_t *d = D(req);
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

/* ---- routing ---- */

typedef struct route_s {
    const char *method;
    const char *prefix; /* the path, or its prefix when it ends with '/' */
    const char *name;
} route_t;

static const route_t routes[] = {
    {"POST", "/api/ar/create-demo", "create-demo"},
    {"POST", "/api/ar/create", "create"},
    {"GET", "/api/ar/status/", "status"},
    {"GET", "/api/ar/events/", "events"},
    {"GET", "/ar/view/", "view"},
    {"GET", "/objects/ar-storage/", "objects"},
    {"GET", "/vendor/", "vendor"},
    {"GET", "/healthz", "healthz"},
    {"GET", "/readyz", "readyz"},
    {"GET", "/metrics", "metrics"},
};

static const route_t *match(const char *path, int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t n = strlen(routes[i].prefix);
        int prefix = routes[i].prefix[n - 1] == '/';
        if (prefix ? strncmp(path, routes[i].prefix, n) == 0 && path[n] != '\0'
                   : strcmp(path, routes[i].prefix) == 0) {
            *path_known = 1;
            return &routes[i];
        }
    }
    return NULL;
}

void arc_api_on_head(arc_http_req_t *req)
{
    arc_daemon_t *d = D(req);
    int known;
    const route_t *r = match(req->path, &known);

    req->body_mode = ARC_HTTP_BODY_NONE;
    if (r == NULL) {
        arc_http_error(req, 404, "not_found", NULL, "no such endpoint: %s", req->path);
        return;
    }
    req->route = r->name;
    int is_head = strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
    if (strcmp(req->method, r->method) != 0 && !is_head) {
        char allow[64];
        snprintf(allow, sizeof(allow), "Allow: %s%s\r\n", r->method,
                 strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
        arc_http_error(req, 405, "method_not_allowed", allow, "%s takes %s, not %s", req->path,
                       r->method, req->method);
        return;
    }
    if (d->stopping && strcmp(r->name, "healthz") != 0) {
        arc_http_error(req, 503, "shutting_down", "Retry-After: 5\r\n",
                       "the server is shutting down");
        return;
    }
    if (strcmp(r->name, "create-demo") == 0 || strcmp(r->name, "create") == 0) {
        const arc_token_t *who = arc_auth_require(d, req);
        if (who != NULL)
            arc_upload_head(req, d, strcmp(r->name, "create") == 0, who->owner);
    }
}

void arc_api_on_request(arc_http_req_t *req)
{
    arc_daemon_t *d = D(req);
    const char *route = req->route;
    const char *rest = NULL;
    char buf[32];

    if (strcmp(route, "create-demo") == 0 || strcmp(route, "create") == 0) {
        arc_upload_complete(req);
        return;
    }
    if (strcmp(route, "healthz") == 0) {
        arc_http_respond_json(req, 200, json_pack("{s:s}", "status", "alive"));
        return;
    }
    if (strcmp(route, "metrics") == 0) {
        char *text = arc_daemon_metrics(d);
        arc_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                         "Cache-Control: no-store\r\n", text, strlen(text));
        free(text);
        return;
    }
    if (strcmp(route, "readyz") == 0) {
        req->on_abort = abort_query;
        req->data = arc_pg_query(d->pool, "SELECT 1", 0, NULL, on_ready_check, req);
        return;
    }
    if (strcmp(route, "status") == 0 || strcmp(route, "events") == 0 ||
        strcmp(route, "view") == 0) {
        const arc_token_t *who = NULL;
        if (strcmp(route, "view") != 0 && (who = arc_auth_require(d, req)) == NULL)
            return;
        rest = strrchr(req->path, '/') + 1;
        if (!arc_api_valid_id(rest)) {
            if (strcmp(route, "view") == 0) {
                static const char page[] =
                    "<!doctype html><meta charset=utf-8><title>Not found</title><h1>This AR "
                    "experience does not exist</h1>";
                arc_http_respond(req, 404, "text/html; charset=utf-8", NULL, page,
                                 sizeof(page) - 1);
            } else {
                arc_http_error(req, 404, "not_found", NULL, "'%s' is not a project id", rest);
            }
            return;
        }
        if (strcmp(route, "events") == 0) {
            start_watch(req, W_EVENTS, rest, 0, who);
        } else if (strcmp(route, "view") == 0) {
            start_watch(req, W_VIEW, rest, 0, NULL);
        } else {
            uint64_t wait = 0;
            if (arc_http_query_param(req, "wait", buf, sizeof(buf)) != NULL) {
                char *end = NULL;
                double s = strtod(buf, &end);
                if (*buf == '\0' || *end != '\0' || !(s >= 0)) {
                    arc_http_error(req, 400, "bad_wait", NULL,
                                   "wait must be a number of seconds, not '%s'", buf);
                    return;
                }
                if (s > (double)d->cfg.status.max_wait_seconds)
                    s = (double)d->cfg.status.max_wait_seconds;
                wait = (uint64_t)(s * 1000);
            }
            if (wait == 0 && status_from_cache(req, d, rest, who))
                return;
            start_watch(req, W_POLL, rest, wait, who);
        }
        return;
    }
    if (strcmp(route, "vendor") == 0) {
        arc_files_serve_vendor(req, d, req->path + strlen("/vendor/"));
        return;
    }
    if (strcmp(route, "objects") == 0) {
        /* /objects/ar-storage/<id>/<file> and nothing else. */
        char id[40];
        const char *p = req->path + strlen("/objects/ar-storage/");
        const char *slash = strchr(p, '/');
        if (slash == NULL || (size_t)(slash - p) >= sizeof(id) || strchr(slash + 1, '/')) {
            arc_http_error(req, 404, "not_found", NULL, "no such file");
            return;
        }
        memcpy(id, p, (size_t)(slash - p));
        id[slash - p] = '\0';
        if (!arc_api_valid_id(id)) {
            arc_http_error(req, 404, "not_found", NULL, "no such file");
            return;
        }
        arc_files_serve(req, d, id, slash + 1);
        return;
    }
    arc_http_error(req, 404, "not_found", NULL, "no such endpoint");
}

static void on_done(arc_http_req_t *req, double ms)
{
    arc_daemon_t *d = D(req);
    static const double le[ARC_METRIC_BUCKETS] = {1,   2.5, 5,   10,   25,   50,
                                                  100, 250, 500, 1000, 5000, 1e300};
    arc_route_metrics_t *m = NULL;

    for (int i = 0; i < d->n_routes; i++)
        if (strcmp(d->routes[i].route, req->route) == 0)
            m = &d->routes[i];
    if (m == NULL && d->n_routes < (int)(sizeof(d->routes) / sizeof(d->routes[0]))) {
        m = &d->routes[d->n_routes++];
        m->route = req->route;
    }
    if (m == NULL)
        return;
    m->count++;
    m->errors += req->status >= 500;
    m->sum_ms += ms;
    for (int b = 0; b < ARC_METRIC_BUCKETS; b++)
        if (ms <= le[b])
            m->buckets[b]++;
}

const arc_http_handler_t arc_api_handler = {
    .on_head = arc_api_on_head,
    .on_request = arc_api_on_request,
    .on_done = on_done,
};
