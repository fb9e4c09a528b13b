/*
 * Project status: the status row, its JSON, the watchers of the status,
 * events and view routes, and the status cache (see status.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/addrmap.h"
#include "arcd/assert.h"
#include "arcd/buf.h"
#include "arcd/limits.h"
#include "arcd/log.h"
#include "arcd/proto.h"
#include "auth.h"
#include "pages.h"
#include "status.h"

/* ---- the status row ---- */

/* One row, always: the project's document (arcd_project_doc(), NULL when
 * there is no such project), its owner, whether it has expired, and why it
 * was removed when it is gone (a tombstone: "deleted" or "expired"). An
 * expired demo stays readable by the view route (its "gone" page) until the
 * sweep removes it; every other route treats it as no project. */
enum { C_DOC, C_OWNER, C_EXPIRED, C_REMOVED, C_N };

static const char *const status_cols[C_N] = {
    [C_DOC] = "doc",
    [C_OWNER] = "owner",
    [C_EXPIRED] = "expired",
    [C_REMOVED] = "removed",
};

/* A project being deleted (sql/003: deleting_at) is gone already. */
static const char *status_sql =
    "SELECT d.doc, d.owner, coalesce(d.expired, false) AS expired, t.reason AS removed"
    " FROM (SELECT $1::text AS id) k"
    " LEFT JOIN LATERAL (SELECT arcd_project_doc(p)::text AS doc, p.owner,"
    "                           p.expires_at <= now() AS expired"
    "                    FROM ar_projects p WHERE p.id = k.id AND p.deleting_at IS NULL) d ON true"
    " LEFT JOIN ar_tombstones t ON t.id = k.id";

/* A result row with its columns found by name, and its document parsed. */
typedef struct row_s {
    PGresult *res;
    int col[C_N];
    json_t *doc; /* NULL when there is no project */
} row_t;

static const char *get(const row_t *r, int c)
{
    return arc_pg_value(r->res, 0, r->col[c]);
}

static const char *doc_str(const row_t *r, const char *key)
{
    return json_string_value(json_object_get(r->doc, key));
}

static int doc_int(const row_t *r, const char *key)
{
    return (int)json_integer_value(json_object_get(r->doc, key));
}

/* A member of the document as it is (JSON null when absent). */
static json_t *member(const json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return v ? json_incref(v) : json_null();
}

/* The URL of file want when the result lists it, else JSON null. */
static json_t *file_url(const arc_daemon_t *d, const char *id, json_t *files, const char *want)
{
    size_t i;
    json_t *f;

    json_array_foreach(files, i, f)
    {
        const char *name = json_string_value(f);
        if (name && strcmp(name, want) == 0) {
            char url[1024];
            snprintf(url, sizeof(url), "%s/objects/ar-storage/%s/%s", d->cfg->server.public_url, id,
                     name);
            return json_string(url);
        }
    }
    return json_null();
}

json_t *arc_status_doc_json(const arc_daemon_t *d, const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *base = d->cfg->server.public_url;
    char url[1024];
    json_t *result = json_object_get(doc, "result");
    json_t *files = json_object_get(result, "files");
    json_t *js = json_object();

    if (id == NULL)
        id = "";
    json_object_set_new(js, "arId", json_string(id));
    json_object_set_new(js, "status", member(doc, "status"));
    json_object_set_new(js, "progress", member(doc, "progress"));
    json_object_set_new(js, "stage", member(doc, "stage"));
    snprintf(url, sizeof(url), "%s/ar/view/%s", base, id);
    json_object_set_new(js, "viewUrl", json_string(url));
    snprintf(url, sizeof(url), "%s/api/ar/status/%s", base, id);
    json_object_set_new(js, "statusUrl", json_string(url));
    json_object_set_new(js, "viewerHtmlUrl", file_url(d, id, files, "index.html"));
    json_object_set_new(js, "qrCodeUrl", file_url(d, id, files, "qr-code.png"));
    json_object_set_new(js, "markerUrl", file_url(d, id, files, "marker.mind"));
    /* The first pair's web video has a new name each time it is replaced
     * (a new video after the print): its name is the result's. */
    const char *web = json_string_value(
        json_object_get(json_array_get(json_object_get(result, "items"), 0), "videoFile"));
    char poster[ARC_MAX_FILE_NAME + 16];
    if (arc_video_poster_name(web, poster, sizeof(poster)) != 0)
        snprintf(poster, sizeof(poster), "poster.jpg");
    json_object_set_new(js, "videoUrl", file_url(d, id, files, web ? web : "ar-video.mp4"));
    json_object_set_new(js, "posterUrl", file_url(d, id, files, poster));
    json_object_set_new(js, "enhancedPhotoUrl", file_url(d, id, files, "enhanced-photo.jpg"));
    json_object_set_new(js, "printUrl", file_url(d, id, files, "print.jpg"));
    json_object_set_new(js, "printSheetUrl", file_url(d, id, files, "print-sheet.pdf"));
    json_object_set_new(js, "featuresUrl", file_url(d, id, files, "features.png"));
    json_object_set_new(js, "thumbnailUrl", file_url(d, id, files, "thumbnail.jpg"));
    json_object_set_new(js, "compilationTimeMs", member(doc, "compilation_time_ms"));
    json_object_set_new(js, "isDemo", json_boolean(json_is_true(json_object_get(doc, "is_demo"))));
    json_object_set_new(js, "expiresAt", member(doc, "expires_at"));
    json_object_set_new(js, "errorMessage", member(doc, "error_message"));
    json_object_set_new(js, "fitMode", member(doc, "fit_mode"));
    json_t *photo = json_pack("{s:o, s:o}", "width", member(doc, "photo_width"), "height",
                              member(doc, "photo_height"));
    /* What the printer gets: print.jpg's size and the print sheet's layout,
     * or why either is missing (the worker's report of the first pair). */
    json_t *first = json_object_get(json_array_get(json_object_get(result, "items"), 0), "photo");
    if (json_is_object(json_object_get(first, "fullPrint")))
        json_object_set(photo, "fullPrint", json_object_get(first, "fullPrint"));
    if (json_is_object(json_object_get(first, "printSheet")))
        json_object_set(photo, "printSheet", json_object_get(first, "printSheet"));
    json_object_set_new(js, "photo", photo);
    json_t *meta = json_object_get(doc, "video_meta");
    json_t *video = json_is_object(meta) ? json_deep_copy(meta) : json_object();
    json_object_set_new(video, "format", member(doc, "video_format"));
    json_object_set_new(video, "bytes", member(doc, "video_bytes"));
    json_object_set_new(js, "video", video);
    json_object_set_new(js, "timings", member(doc, "timings"));
    json_object_set_new(js, "rating", member(result, "rating"));
    json_t *items = json_object_get(result, "items");
    if (json_array_size(items) > 1)
        json_object_set_new(js, "targets", json_incref(items));
    json_object_set_new(js, "markerCache", member(result, "markerCache"));
    json_object_set_new(js, "createdAt", member(doc, "created_at"));
    json_object_set_new(js, "updatedAt", member(doc, "updated_at"));
    json_object_set_new(js, "title", member(doc, "title"));
    json_object_set_new(js, "orderRef", member(doc, "order_ref"));
    json_object_set_new(js, "customerName", member(doc, "customer_name"));
    json_object_set_new(js, "customerEmail", member(doc, "customer_email"));
    json_object_set_new(js, "metadata", member(doc, "metadata"));
    json_object_set_new(js, "notifyUrl", member(doc, "notify_url"));
    json_object_set_new(js, "notifyEmail", member(doc, "notify_email"));
    json_object_set_new(js, "notifiedAt", member(doc, "notified_at"));
    json_object_set_new(js, "importedAt", member(doc, "imported_at"));
    return js;
}

/* The status JSON of a row. */
static json_t *status_json(const arc_daemon_t *d, const row_t *r)
{
    return arc_status_doc_json(d, r->doc);
}

/* 1 when a run of the project has made its viewer: the printed photo
 * works, whatever runs again now (a new video, a re-run) or failed since. */
static int viewable(const row_t *r)
{
    json_t *files = json_object_get(json_object_get(r->doc, "result"), "files");
    size_t i;
    json_t *f;

    json_array_foreach(files, i, f)
    {
        if (json_is_string(f) && strcmp(json_string_value(f), "index.html") == 0)
            return 1;
    }
    return 0;
}

/* ---- a short-lived cache of status answers ----
 * A CRM polling a project asks the same question many times a second. While
 * the LISTEN connection is up, every change to a project arrives as a NOTIFY
 * (from whichever daemon made it) and drops that project's entry, so a cached
 * answer is never stale; entries also expire after a second, and the whole
 * cache is dropped and unused whenever LISTEN is down. */

#define CACHE_SLOTS 1024
#define CACHE_MS 1000

typedef struct cache_entry_s {
    char id[40];
    char *owner;
    char *body;
    size_t len;
    uint64_t at_ms;
} cache_entry_t;

typedef struct arc_watch_s arc_watch_t;

struct arc_status_s {
    arc_daemon_t *d;
    arc_watch_t *watches; /* long polls, event streams, reads in flight */
    cache_entry_t cache[CACHE_SLOTS];
    uint64_t cache_hits;
    int64_t n_streams;          /* event streams open */
    arc_addrmap_t *streams_per; /* event streams open per client address */
    int closing;                /* the daemon shuts down: no wait goes on */
};

static cache_entry_t *cache_slot(arc_status_t *s, const char *id)
{
    unsigned h = 5381;

    for (const char *p = id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return &s->cache[h % CACHE_SLOTS];
}

static int cache_usable(const arc_status_t *s)
{
    arc_pg_stats_t ps;

    arc_pg_pool_stats(s->d->pool, &ps);
    return ps.listening;
}

static void cache_entry_clear(cache_entry_t *e)
{
    free(e->body);
    free(e->owner);
    memset(e, 0, sizeof(*e));
}

static void cache_drop(arc_status_t *s, const char *id)
{
    cache_entry_t *e = cache_slot(s, id);

    if (strcmp(e->id, id) == 0)
        cache_entry_clear(e);
}

static void cache_clear(arc_status_t *s)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        cache_entry_clear(&s->cache[i]);
}

/* Answers from the cache; returns 0 when it had nothing fresh. */
static int cache_answer(arc_status_t *s, arc_http_req_t *req, const char *id,
                        const arc_token_t *who)
{
    cache_entry_t *e = cache_slot(s, id);

    if (strcmp(e->id, id) != 0 || e->body == NULL || !cache_usable(s) ||
        uv_now(s->d->loop) - e->at_ms > CACHE_MS || !arc_auth_sees(who, e->owner))
        return 0;
    s->cache_hits++;
    arc_http_respond(req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
                     e->body, e->len);
    return 1;
}

static void cache_put(arc_status_t *s, const char *id, const char *owner, const char *body)
{
    cache_entry_t *e = cache_slot(s, id);

    if (!cache_usable(s))
        return;
    cache_entry_clear(e);
    e->owner = owner ? arc_xstrdup(owner) : NULL;
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->body = arc_xstrdup(body);
    e->len = strlen(body);
    e->at_ms = uv_now(s->d->loop);
}

uint64_t arc_status_cache_hits(const arc_status_t *s)
{
    return s->cache_hits;
}

/* ---- watchers ----
 * A request waiting on one project's row. Every kind shares the query and
 * the wake-ups; what it does with an answer depends on its kind (ops). */

typedef struct watch_ops_s {
    /* The row was read (the project exists, is visible to the watcher and,
     * but for the view route, has not expired). */
    void (*row)(arc_watch_t *w, const row_t *r);
    /* There is no such project (for this watcher); the row may tell why
     * (it was removed). */
    void (*none)(arc_watch_t *w, const row_t *r);
    /* The database failed the query. */
    void (*failed)(arc_watch_t *w, int status);
    /* The project may have expired (and not yet been swept): the view
     * route's "gone" page. Other routes see no such project. */
    int sees_expired;
} watch_ops_t;

struct arc_watch_s {
    arc_status_t *s;
    arc_http_req_t *req;
    const watch_ops_t *ops;
    char id[40];
    arc_pg_query_t *query;  /* in flight */
    const arc_token_t *who; /* the API token (NULL on the public view route) */
    int requery;            /* a change arrived while querying */
    int have;               /* last_* hold what the client has seen */
    char last_status[16], last_stage[32];
    int last_progress;
    uv_timer_t timer; /* a long poll's deadline, an event stream's end */
    int timer_on;
    int finished; /* the wait is over (a deadline, shutdown): answer whatever comes next */
    int stream;   /* an event stream, counted in n_streams and streams_per */
    arc_ip_t client;
    arc_watch_t *next;
};

static void query_status(arc_watch_t *w);

static void watch_unlink(arc_watch_t *w)
{
    for (arc_watch_t **p = &w->s->watches; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
}

static void on_watch_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Frees the watch; its request has been answered or aborted. */
static void watch_free(arc_watch_t *w)
{
    if (w->stream) {
        arc_addr_entry_t *e = arc_addrmap_find(w->s->streams_per, &w->client);
        if (e != NULL && e->count > 0)
            e->count--;
        w->s->n_streams--;
    }
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

/* Remembers what the client has now seen; returns 1 when it differs from
 * what it saw before (or it saw nothing yet). */
static int remember(arc_watch_t *w, const row_t *r, int *progress_changed)
{
    const char *st = doc_str(r, "status"), *stage = doc_str(r, "stage");
    int progress = doc_int(r, "progress");
    int changed = !w->have || strcmp(st, w->last_status) != 0 || strcmp(stage, w->last_stage) != 0;

    if (progress_changed != NULL)
        *progress_changed = changed || progress != w->last_progress;
    snprintf(w->last_status, sizeof(w->last_status), "%s", st);
    snprintf(w->last_stage, sizeof(w->last_stage), "%s", stage);
    w->last_progress = progress;
    w->have = 1;
    return changed;
}

static int is_terminal(const row_t *r)
{
    const char *st = doc_str(r, "status");
    return strcmp(st, "ready") == 0 || strcmp(st, "error") == 0;
}

/* A change arrived while the last query ran: look again. */
static void requery_if_needed(arc_watch_t *w)
{
    if (w->requery) {
        w->requery = 0;
        query_status(w);
    }
}

static void on_status_row(int status, PGresult *res, void *arg)
{
    arc_watch_t *w = arg;
    row_t r = {res, {0}, NULL};
    arc_err_t err;
    json_error_t jerr;

    w->query = NULL;
    if (status == 0 &&
        (PQntuples(res) != 1 || arc_pg_columns(res, status_cols, C_N, r.col, &err) != 0)) {
        arc_log_msg(ARC_LOG_INFO, "status: %s", PQntuples(res) != 1 ? "no row" : err.msg);
        status = ARC_EINTERNAL;
    }
    if (status != 0) {
        w->ops->failed(w, status);
        return;
    }
    if (get(&r, C_DOC) != NULL)
        r.doc = json_loads(get(&r, C_DOC), 0, &jerr);
    /* Another owner's project looks like no project at all. */
    int visible = r.doc != NULL && arc_auth_sees(w->who, get(&r, C_OWNER)) &&
                  (w->ops->sees_expired || get(&r, C_EXPIRED)[0] != 't');
    if (!visible)
        w->ops->none(w, &r);
    else
        w->ops->row(w, &r);
    json_decref(r.doc);
}

static void query_status(arc_watch_t *w)
{
    const char *params[1] = {w->id};

    ARC_ASSERT(w->query == NULL);
    w->query = arc_pg_query(w->s->d->pool, status_sql, 1, params, on_status_row, w);
}

/* ---- the status route: a plain read, or a long poll ---- */

static void status_answer(arc_watch_t *w, const row_t *r)
{
    json_t *js = status_json(w->s->d, r);
    char *body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);

    /* Cached only when no change has arrived since the query went out. */
    if (!w->requery)
        cache_put(w->s, w->id, get(r, C_OWNER), body);
    arc_http_respond(w->req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
                     body, strlen(body));
    free(body);
    json_decref(js);
    watch_free(w);
}

static void poll_row(arc_watch_t *w, const row_t *r)
{
    int first = !w->have;
    int changed = remember(w, r, NULL);

    /* A plain read, or a long poll whose wait is over or whose state moved. */
    if (!w->timer_on || is_terminal(r) || (!first && changed) || w->finished) {
        status_answer(w, r);
        return;
    }
    requery_if_needed(w);
}

static void api_none(arc_watch_t *w, const row_t *r)
{
    (void)r;
    arc_http_error(w->req, 404, "not_found", NULL, "no project %s (or it has expired)", w->id);
    watch_free(w);
}

static void api_failed(arc_watch_t *w, int status)
{
    arc_http_error(w->req, 503, "database_unavailable", "Retry-After: 2\r\n",
                   "the database is not available right now (%s)", arc_strerror(status));
    watch_free(w);
}

static const watch_ops_t poll_ops = {poll_row, api_none, api_failed, 0};

/* ---- the events route: Server-Sent Events ---- */

static void free_written(arc_http_req_t *req, int status, void *arg)
{
    (void)req;
    (void)status;
    free(arg);
}

static void send_event(arc_watch_t *w, json_t *js)
{
    char *s = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    arc_buf_t ev = ARC_BUF_INIT;

    arc_buf_printf(&ev, "event: status\ndata: %s\n\n", s);
    free(s);
    size_t len = ev.len;
    char *data = arc_buf_detach(&ev);
    arc_http_write(w->req, data, len, free_written, data); /* freed once written */
}

static void events_row(arc_watch_t *w, const row_t *r)
{
    int moved;

    if (!w->have)
        arc_http_start(w->req, 200, "text/event-stream",
                       "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n", -1);
    if (strcmp(w->req->method, "HEAD") == 0) {
        /* The head says what a GET would stream; no stream follows. */
        arc_http_end(w->req);
        watch_free(w);
        return;
    }
    remember(w, r, &moved);
    if (moved) {
        json_t *js = status_json(w->s->d, r);
        send_event(w, js);
        json_decref(js);
    }
    if (is_terminal(r) || w->finished) {
        arc_http_end(w->req);
        watch_free(w);
        return;
    }
    requery_if_needed(w);
}

/* Once the stream has begun, a missing project or an error can only end it. */
static void events_none(arc_watch_t *w, const row_t *r)
{
    if (!w->have) {
        api_none(w, r);
        return;
    }
    arc_http_end(w->req);
    watch_free(w);
}

static void events_failed(arc_watch_t *w, int status)
{
    if (!w->have) {
        api_failed(w, status);
        return;
    }
    arc_http_end(w->req);
    watch_free(w);
}

static const watch_ops_t events_ops = {events_row, events_none, events_failed, 0};

/* Event streams get a comment every 15 s, so proxies keep them open. */
void arc_status_heartbeat(arc_status_t *s)
{
    static const char beat[] = ": keep-alive\n\n";

    for (arc_watch_t *w = s->watches; w != NULL; w = w->next)
        if (w->ops == &events_ops && w->have)
            arc_http_write(w->req, beat, sizeof(beat) - 1, NULL, NULL);
}

/* ---- the view route: a redirect or a page ---- */

/* A ready project opened in an app's built-in browser (Instagram, Telegram,
 * ...): how to open it in Safari or Chrome, with the link to copy, an
 * intent: link that opens Chrome on Android, and the viewer to try anyway. */
static void in_app_page(arc_watch_t *w)
{
    const char *pub = w->s->d->cfg->server.public_url;
    const char *rest = strstr(pub, "://");
    arc_buf_t url = ARC_BUF_INIT, intent = ARC_BUF_INIT;
    char viewer[200];

    /* publicUrl is up to 512 bytes, and encoded three times as long: sized
     * by the buffers, never cut (a cut intent: link does nothing). */
    arc_buf_printf(&url, "%s/ar/view/%s", pub, w->id);
    arc_buf_printf(&intent,
                   "intent://%s/ar/view/%s#Intent;scheme=%.*s;package=com.android.chrome;"
                   "S.browser_fallback_url=",
                   rest ? rest + 3 : pub, w->id, rest ? (int)(rest - pub) : 5,
                   rest ? pub : "https");
    /* browser_fallback_url: where Android goes without Chrome, encoded. */
    for (size_t i = 0; i < url.len; i++) {
        char c = url.data[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c) != NULL)
            arc_buf_printf(&intent, "%c", c);
        else
            arc_buf_printf(&intent, "%%%02X", (unsigned char)c);
    }
    arc_buf_puts(&intent, ";end");
    snprintf(viewer, sizeof(viewer), "/objects/ar-storage/%s/index.html", w->id);
    arc_page_fields_t f = {.url = url.data, .intent_url = intent.data, .viewer_url = viewer};
    arc_pages_respond(w->s->d->pages, w->req, ARC_PAGE_IN_APP, &f);
    arc_buf_dispose(&url);
    arc_buf_dispose(&intent);
}

static void view_row(arc_watch_t *w, const row_t *r)
{
    const char *st = doc_str(r, "status");

    if (get(r, C_EXPIRED)[0] == 't') {
        arc_pages_respond(w->s->d->pages, w->req, ARC_PAGE_GONE, NULL);
    } else if (viewable(r) && arc_pages_in_app(arc_http_header(w->req, "user-agent")) != NULL) {
        in_app_page(w);
    } else if (viewable(r)) {
        /* Ready, or running again (a new video, a re-run) with the last
         * run's viewer still in place: the printed photo keeps working. */
        /* The answer depends on the User-Agent (an app's browser gets
         * in_app_page): no cache may keep one for the other. */
        char loc[320];
        snprintf(loc, sizeof(loc),
                 "Location: /objects/ar-storage/%s/index.html\r\nCache-Control: no-store\r\n"
                 "Vary: User-Agent\r\n",
                 w->id);
        arc_http_respond(w->req, 302, "text/plain; charset=utf-8", loc, "", 0);
    } else if (strcmp(st, "error") == 0) {
        arc_pages_respond(w->s->d->pages, w->req, ARC_PAGE_ERROR, NULL);
    } else {
        arc_page_fields_t f = {.progress = doc_int(r, "progress")};
        arc_pages_respond(w->s->d->pages, w->req, ARC_PAGE_PENDING, &f);
    }
    watch_free(w);
}

static void view_none(arc_watch_t *w, const row_t *r)
{
    const char *removed = r != NULL ? get(r, C_REMOVED) : NULL;

    /* A printed QR code of a removed project says so rather than "never
     * existed". */
    arc_pages_respond(w->s->d->pages, w->req,
                      removed == NULL                   ? ARC_PAGE_NOT_FOUND
                      : strcmp(removed, "deleted") == 0 ? ARC_PAGE_REMOVED
                                                        : ARC_PAGE_GONE,
                      NULL);
    watch_free(w);
}

static const watch_ops_t view_ops = {view_row, view_none, api_failed, 1};

/* ---- the old system's file URLs: a redirect ----
 * Its pages linked a project's files as /api/ar/storage/<id>/<file>; an
 * imported project's are arcd's (arcd import-legacy), under the same id. */

/* The old system's names and arcd's; NULL: the first pair's web video,
 * whose name is the result's (a replaced video has a name of its own). */
static const struct {
    const char *old, *now;
} legacy_names[] = {
    {"index.html", "index.html"},
    {"marker.mind", "marker.mind"},
    {"qr-code.png", "qr-code.png"},
    {"enhanced-photo.jpg", "enhanced-photo.jpg"},
    {"video.mp4", NULL},
};

static void legacy_file_row(arc_watch_t *w, const row_t *r)
{
    const char *file = arc_http_param(w->req, "file");
    json_t *result = json_object_get(r->doc, "result");
    const char *now = NULL;
    int known = 0;

    for (size_t i = 0; i < sizeof(legacy_names) / sizeof(legacy_names[0]); i++) {
        if (file == NULL || strcmp(file, legacy_names[i].old) != 0)
            continue;
        known = 1;
        now = legacy_names[i].now;
        if (now == NULL)
            now = json_string_value(
                json_object_get(json_array_get(json_object_get(result, "items"), 0), "videoFile"));
    }
    /* Only a file the project has now (a project still being prepared has
     * no viewer yet). */
    json_t *url = known && now != NULL
                      ? file_url(w->s->d, w->id, json_object_get(result, "files"), now)
                      : json_null();
    if (json_is_null(url)) {
        arc_http_error(w->req, 404, "not_found", NULL, "no such file");
    } else {
        char loc[320];
        /* Five minutes, as the files themselves: the web video's name
         * changes when it is replaced. */
        snprintf(loc, sizeof(loc),
                 "Location: /objects/ar-storage/%s/%s\r\nCache-Control: public, max-age=300\r\n",
                 w->id, now);
        arc_http_respond(w->req, 301, "text/plain; charset=utf-8", loc, "", 0);
    }
    json_decref(url);
    watch_free(w);
}

static void legacy_file_none(arc_watch_t *w, const row_t *r)
{
    (void)r;
    arc_http_error(w->req, 404, "not_found", NULL, "no such file");
    watch_free(w);
}

static const watch_ops_t legacy_file_ops = {legacy_file_row, legacy_file_none, api_failed, 0};

/* ---- routes ---- */

static void on_poll_deadline(uv_timer_t *t)
{
    arc_watch_t *w = t->data;

    w->finished = 1;
    if (w->query == NULL)
        query_status(w);
}

/* An event stream's time is up: it ends (an EventSource reconnects). */
static void on_stream_deadline(uv_timer_t *t)
{
    arc_watch_t *w = t->data;

    if (!w->have) {
        w->finished = 1; /* its first answer has not come: end when it does */
        return;
    }
    arc_http_end(w->req);
    watch_free(w);
}

static void watch_start(arc_http_req_t *req, const watch_ops_t *ops, const char *id,
                        uint64_t wait_ms)
{
    arc_status_t *s = ARC_DAEMON(req)->status;
    arc_watch_t *w = arc_xcalloc(1, sizeof(*w));

    w->s = s;
    w->who = req->ctx;
    w->req = req;
    w->ops = ops;
    w->finished = s->closing;
    snprintf(w->id, sizeof(w->id), "%s", id);
    w->next = s->watches;
    s->watches = w;
    req->data = w;
    req->on_abort = watch_abort;
    req->abort_on_eof = 1; /* a client that leaves a wait is gone at once */
    if (ops == &events_ops) {
        arc_addr_entry_t *e = arc_addrmap_get(s->streams_per, &req->client_ip, NULL);
        if (e != NULL)
            e->count++;
        w->client = req->client_ip;
        w->stream = 1;
        s->n_streams++;
        wait_ms = (uint64_t)s->d->cfg->status.max_event_seconds * 1000;
    }
    if (wait_ms > 0) {
        uv_timer_init(s->d->loop, &w->timer);
        w->timer.data = w;
        w->timer_on = 1;
        uv_timer_start(&w->timer, w->stream ? on_stream_deadline : on_poll_deadline, wait_ms, 0);
    }
    query_status(w);
}

/* The project id of an API route, or NULL once answered 404. */
static const char *api_id(arc_http_req_t *req)
{
    const char *id = arc_http_param(req, "id");

    if (!arc_daemon_valid_id(id)) {
        arc_http_error(req, 404, "not_found", NULL, "'%s' is not a project id", id);
        return NULL;
    }
    return id;
}

void arc_status_on_status(arc_http_req_t *req)
{
    arc_daemon_t *d = ARC_DAEMON(req);
    const char *id = api_id(req);
    char buf[32];
    uint64_t wait = 0;

    if (id == NULL)
        return;
    if (arc_http_query_param(req, "wait", buf, sizeof(buf)) != NULL) {
        char *end = NULL;
        double secs = strtod(buf, &end);
        if (*buf == '\0' || *end != '\0' || !(secs >= 0)) {
            arc_http_error(req, 400, "bad_wait", NULL, "wait must be a number of seconds, not '%s'",
                           buf);
            return;
        }
        if (secs > (double)d->cfg->status.max_wait_seconds)
            secs = (double)d->cfg->status.max_wait_seconds;
        wait = (uint64_t)(secs * 1000);
    }
    if (wait == 0 && cache_answer(d->status, req, id, req->ctx))
        return;
    watch_start(req, &poll_ops, id, wait);
}

void arc_status_on_events(arc_http_req_t *req)
{
    arc_status_t *s = ARC_DAEMON(req)->status;
    const arc_config_t *cfg = s->d->cfg;
    const char *id = api_id(req);

    if (id == NULL)
        return;
    /* Streams are long-lived: a cap in all and per client, so that no
     * client can hold the daemon's connections with them. */
    if (s->n_streams >= cfg->status.max_event_streams) {
        arc_http_error(req, 503, "too_many_streams", "Retry-After: 10\r\n",
                       "too many event streams are open; poll /api/ar/status/%s?wait=N instead",
                       id);
        return;
    }
    /* A client with no stream open has no entry yet: it counts as 0, so
     * that a cap of 0 refuses every stream, as the global cap of 0 does. */
    arc_addr_entry_t *e = arc_addrmap_find(s->streams_per, &req->client_ip);
    int64_t open = e != NULL ? e->count : 0;
    if (open >= cfg->status.max_event_streams_per_address) {
        arc_http_error(req, 429, "too_many_streams", "Retry-After: 10\r\n",
                       "at most %lld event streams may be open from one address (%s has %lld); "
                       "poll /api/ar/status/%s?wait=N instead",
                       (long long)cfg->status.max_event_streams_per_address, req->client,
                       (long long)open, id);
        return;
    }
    watch_start(req, &events_ops, id, 0);
}

void arc_status_on_view(arc_http_req_t *req)
{
    const char *id = arc_http_param(req, "id");

    if (!arc_daemon_valid_id(id)) {
        arc_pages_respond(ARC_DAEMON(req)->pages, req, ARC_PAGE_NOT_FOUND, NULL);
        return;
    }
    watch_start(req, &view_ops, id, 0);
}

void arc_status_on_legacy_file(arc_http_req_t *req)
{
    const char *id = arc_http_param(req, "id");

    if (!arc_daemon_valid_id(id)) {
        arc_http_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    watch_start(req, &legacy_file_ops, id, 0);
}

/* ---- changes ---- */

void arc_status_changed(arc_status_t *s, const char *id)
{
    cache_drop(s, id);
    for (arc_watch_t *w = s->watches; w != NULL; w = w->next) {
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

void arc_status_wake_all(arc_status_t *s, int closing)
{
    cache_clear(s); /* changes may have been missed */
    if (closing)
        s->closing = 1;
    for (arc_watch_t *w = s->watches, *next; w != NULL; w = next) {
        next = w->next;
        /* Shutting down, every wait is over, including that of a watcher
         * whose first read is still in flight: when its row comes it
         * answers at once (a long poll the status, an event stream one
         * event and its end). Left waiting, it held the HTTP server, and
         * so the daemon's exit, for up to status.maxEventSeconds. */
        if (closing)
            w->finished = 1;
        if (!w->have)
            continue; /* its first read wakes it */
        if (closing && w->ops == &events_ops) {
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

arc_status_t *arc_status_create(arc_daemon_t *d)
{
    arc_status_t *s = arc_xcalloc(1, sizeof(*s));

    s->d = d;
    s->streams_per = arc_addrmap_create((size_t)d->cfg->status.max_event_streams + 64);
    return s;
}

void arc_status_free(arc_status_t *s)
{
    if (s == NULL)
        return;
    cache_clear(s);
    arc_addrmap_free(s->streams_per);
    free(s);
}
