/*
 * The CRM's project routes: the list, changes, a re-run, deletion (see
 * projects.h).
 *
 * Each request is one statement through the pool (two for a deletion, with
 * the folder's removal on the threadpool in between), its SQL next to its
 * handler. Visibility is one condition in every statement: the token's
 * owner (admins pass '') and not an expired demo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "arcd/buf.h"
#include "arcd/log.h"
#include "fields.h"
#include "projects.h"
#include "status.h"
#include "sweep.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100
#define Q_MAX 200 /* characters of a search */

/* The visibility of project $1 to owner $2 ('' for an admin). */
/* ---- pure helpers ---- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int arc_projects_time_parse(const char *s, int64_t *us)
{
    int Y, M, D, h = 0, m = 0, sec = 0, oh = 0, om = 0, sign = 0;
    int64_t frac = 0;
    size_t n = strlen(s);

    if (n < 10 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D))
        return -1;
    const char *p = s + 10;
    if (*p != '\0') {
        if ((*p != 'T' && *p != 't' && *p != ' ') || digits(p + 1, 2, &h) || p[3] != ':' ||
            digits(p + 4, 2, &m))
            return -1;
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec))
                return -1;
            p += 3;
            if (*p == '.') {
                int k = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, k++)
                    if (k < 6)
                        frac = frac * 10 + (*p - '0');
                if (k == 0)
                    return -1;
                for (; k < 6; k++)
                    frac *= 10;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1 : 1;
            if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
                return -1;
            p += 6;
        } else {
            return -1; /* a time needs its zone */
        }
        if (*p != '\0')
            return -1;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || (M == 2 && D == 29 && !leap) ||
        h > 23 || m > 59 || sec > 59)
        return -1;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    int64_t t = (int64_t)timegm(&tm) - (int64_t)sign * (oh * 3600 + om * 60);
    if (t < 0)
        return -1;
    *us = t * 1000000 + frac;
    return 0;
}

void arc_projects_cursor_encode(int64_t created_us, const char *id, char *out, size_t size)
{
    char plain[80];
    unsigned char b64[128];

    int n = snprintf(plain, sizeof(plain), "%lld.%s", (long long)created_us, id);
    int len = EVP_EncodeBlock(b64, (const unsigned char *)plain, n);
    /* URL-safe, without padding: it goes into a query string as it is. */
    while (len > 0 && b64[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    snprintf(out, size, "%.*s", len, (const char *)b64);
}

int arc_projects_cursor_decode(const char *s, int64_t *created_us, char id[40])
{
    char b64[128];
    unsigned char plain[100];
    size_t n = strlen(s);

    if (n == 0 || n > 100)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return -1;
        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    if (n % 4 == 1)
        return -1;
    while (n % 4 != 0)
        b64[n++] = '=';
    int len = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)n);
    if (len < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding's zero bytes. */
    while (len > 0 && plain[len - 1] == '\0')
        len--;
    plain[len] = '\0';
    const char *dot = strchr((const char *)plain, '.');
    if (dot == NULL || dot == (const char *)plain || dot - (const char *)plain > 18)
        return -1;
    int64_t v = 0;
    for (const char *p = (const char *)plain; p < dot; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (!arc_daemon_valid_id(dot + 1))
        return -1;
    *created_us = v;
    snprintf(id, 40, "%s", dot + 1);
    return 0;
}

char *arc_projects_like_contains(const char *s)
{
    arc_buf_t b = {0};

    arc_buf_puts(&b, "%");
    for (; *s; s++) {
        if (*s == '\\' || *s == '%' || *s == '_')
            arc_buf_append(&b, "\\", 1);
        arc_buf_append(&b, s, 1);
    }
    arc_buf_puts(&b, "%");
    return arc_buf_detach(&b);
}

/* ---- a request and its statement ---- */

typedef struct preq_s {
    arc_http_req_t *req; /* NULL once the client left */
    arc_daemon_t *d;
    arc_pg_query_t *query;
    char id[40];
    char owner[130]; /* '' for an admin token */
    int limit;       /* the list's page size */
    int finish;      /* a deletion: goes on when the client leaves */
    uv_work_t work;
} preq_t;

static void preq_abort(arc_http_req_t *req)
{
    preq_t *p = req->data;

    p->req = NULL;
    if (p->finish)
        return; /* the deletion ends on its own and frees p */
    arc_pg_cancel(p->query);
    free(p);
}

/* A request of route req, with its token's owner and (for /:id routes) its
 * project id. Answers 404 and returns NULL when the id is not one. */
static preq_t *preq_new(arc_http_req_t *req, int with_id)
{
    const arc_token_t *who = req->ctx;
    const char *id = arc_http_param(req, "id");

    if (with_id && (id == NULL || !arc_daemon_valid_id(id))) {
        arc_http_error(req, 404, "not_found", NULL, "'%s' is not a project id", id ? id : "");
        return NULL;
    }
    preq_t *p = arc_xcalloc(1, sizeof(*p));
    p->req = req;
    p->d = ARC_DAEMON(req);
    snprintf(p->id, sizeof(p->id), "%s", with_id ? id : "");
    snprintf(p->owner, sizeof(p->owner), "%s", who->admin ? "" : who->owner);
    req->data = p;
    req->on_abort = preq_abort;
    return p;
}

/* The query of p has answered: 1 with the request still there to answer
 * (the database's failure already answered: 0), else p is freed. */
static int preq_answerable(preq_t *p, int status, PGresult *res)
{
    p->query = NULL;
    if (p->req == NULL) {
        free(p);
        return 0;
    }
    if (status != 0) {
        arc_log_msg(ARC_LOG_INFO, "%s %s: %s", p->req->method, p->req->path,
                    status == ARC_EDB ? PQresultErrorMessage(res) : arc_strerror(status));
        arc_http_error(p->req, 503, "database_unavailable", "Retry-After: 2\r\n",
                       "the database is not answering; try again");
        p->req->data = NULL;
        p->req->on_abort = NULL;
        free(p);
        return 0;
    }
    return 1;
}

/* Detaches p from its request (which the caller answers next) and frees it. */
static arc_http_req_t *preq_done(preq_t *p)
{
    arc_http_req_t *req = p->req;

    req->data = NULL;
    req->on_abort = NULL;
    free(p);
    return req;
}

static void not_found(preq_t *p)
{
    char id[40];

    snprintf(id, sizeof(id), "%s", p->id);
    arc_http_error(preq_done(p), 404, "not_found", NULL, "no project %s (or it has expired)", id);
}

/* ---- GET /api/ar/projects ---- */

enum {
    L_ID,
    L_STATUS,
    L_TITLE,
    L_ORDER,
    L_CUSTOMER,
    L_DEMO,
    L_CREATED,
    L_UPDATED,
    L_EXPIRES,
    L_STARS,
    L_THUMB,
    L_CREATED_US,
    L_N
};
static const char *const list_cols[L_N] = {
    [L_ID] = "id",
    [L_STATUS] = "status",
    [L_TITLE] = "title",
    [L_ORDER] = "order_ref",
    [L_CUSTOMER] = "customer_name",
    [L_DEMO] = "is_demo",
    [L_CREATED] = "created_at",
    [L_UPDATED] = "updated_at",
    [L_EXPIRES] = "expires_at",
    [L_STARS] = "stars",
    [L_THUMB] = "thumb",
    [L_CREATED_US] = "created_us",
};

/* Parameters: $1 owner, $2 status, $3 isDemo, $4 the search's pattern, $5
 * orderRef, $6 createdAfter and $7 createdBefore (microseconds), $8 and $9
 * the cursor, $10 the page's size plus one (is there a next page). A NULL
 * parameter filters nothing; the statement is planned with its values, so
 * each filter that is off folds away. The search's expression is the one
 * the trigram index of sql/002 is built on. */
static const char list_sql[] =
    "SELECT id::text AS id, status, title, order_ref, customer_name, is_demo,"
    "  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,"
    "  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at,"
    "  to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at,"
    "  result->'rating'->>'stars' AS stars,"
    "  coalesce(result->'files' ? 'thumbnail.jpg', false) AS thumb,"
    "  (extract(epoch FROM created_at) * 1000000)::bigint AS created_us"
    " FROM ar_projects p"
    " WHERE ($1 = '' OR owner = $1) AND (expires_at IS NULL OR expires_at > now())"
    "   AND deleting_at IS NULL"
    "   AND ($2::text IS NULL OR status = $2)"
    "   AND ($3::boolean IS NULL OR is_demo = $3)"
    "   AND ($4::text IS NULL OR (coalesce(title, '') || ' ' || coalesce(order_ref, '') || ' ' ||"
    "        coalesce(customer_name, '')) ILIKE $4)"
    "   AND ($5::text IS NULL OR order_ref = $5)"
    "   AND ($6::bigint IS NULL"
    "        OR created_at >= timestamptz 'epoch' + $6::bigint * interval '1 microsecond')"
    "   AND ($7::bigint IS NULL"
    "        OR created_at < timestamptz 'epoch' + $7::bigint * interval '1 microsecond')"
    "   AND ($8::bigint IS NULL OR (p.created_at, p.id) <"
    "        (timestamptz 'epoch' + $8::bigint * interval '1 microsecond', $9::text))"
    /* The table's columns, not the text ones of the same names above. */
    " ORDER BY p.created_at DESC, p.id DESC LIMIT $10::int";

static json_t *opt_string(const PGresult *res, int row, int col)
{
    const char *v = arc_pg_value(res, row, col);
    return v ? json_string(v) : json_null();
}

static json_t *list_item(const arc_daemon_t *d, const PGresult *res, int row, const int *col)
{
    const char *id = PQgetvalue(res, row, col[L_ID]);
    const char *base = d->cfg->server.public_url;
    const char *stars = arc_pg_value(res, row, col[L_STARS]);
    char url[1024];

    json_t *it = json_object();
    json_object_set_new(it, "arId", json_string(id));
    json_object_set_new(it, "status", json_string(PQgetvalue(res, row, col[L_STATUS])));
    json_object_set_new(it, "title", opt_string(res, row, col[L_TITLE]));
    json_object_set_new(it, "orderRef", opt_string(res, row, col[L_ORDER]));
    json_object_set_new(it, "customerName", opt_string(res, row, col[L_CUSTOMER]));
    json_object_set_new(it, "isDemo",
                        json_boolean(strcmp(PQgetvalue(res, row, col[L_DEMO]), "t") == 0));
    json_object_set_new(it, "createdAt", json_string(PQgetvalue(res, row, col[L_CREATED])));
    json_object_set_new(it, "updatedAt", json_string(PQgetvalue(res, row, col[L_UPDATED])));
    json_object_set_new(it, "expiresAt", opt_string(res, row, col[L_EXPIRES]));
    json_object_set_new(it, "stars", stars ? json_integer(strtoll(stars, NULL, 10)) : json_null());
    snprintf(url, sizeof(url), "%s/ar/view/%s", base, id);
    json_object_set_new(it, "viewUrl", json_string(url));
    snprintf(url, sizeof(url), "%s/api/ar/projects/%s", base, id);
    json_object_set_new(it, "url", json_string(url));
    if (strcmp(PQgetvalue(res, row, col[L_THUMB]), "t") == 0) {
        snprintf(url, sizeof(url), "%s/objects/ar-storage/%s/thumbnail.jpg", base, id);
        json_object_set_new(it, "thumbnailUrl", json_string(url));
    } else {
        json_object_set_new(it, "thumbnailUrl", json_null());
    }
    return it;
}

static void on_list(int status, PGresult *res, void *arg)
{
    preq_t *p = arg;
    int col[L_N];
    arc_err_t err = {{0}};

    if (!preq_answerable(p, status, res))
        return;
    if (arc_pg_columns(res, list_cols, L_N, col, &err) != 0) {
        arc_http_error(preq_done(p), 500, "internal", NULL, "%s", err.msg);
        return;
    }
    int rows = PQntuples(res), n = rows > p->limit ? p->limit : rows;
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, list_item(p->d, res, i, col));
    json_t *next = json_null();
    if (rows > p->limit) {
        char cursor[128];
        arc_projects_cursor_encode(strtoll(PQgetvalue(res, n - 1, col[L_CREATED_US]), NULL, 10),
                                   PQgetvalue(res, n - 1, col[L_ID]), cursor, sizeof(cursor));
        next = json_string(cursor);
    }
    arc_http_respond_json(preq_done(p), 200,
                          json_pack("{s:o, s:o}", "items", items, "nextCursor", next));
}

/* The list's query parameters, each with its buffer. */
static const char *const list_params[] = {
    "status", "isDemo", "q", "orderRef", "createdAfter", "createdBefore", "limit", "cursor", NULL,
};

/* Refuses a query with a parameter the list does not take (a CRM asking
 * for "page=2" would otherwise get page one again, silently). */
static int unknown_param(arc_http_req_t *req, char *name, size_t size)
{
    const char *p = req->query;

    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        size_t klen = strcspn(p, "=&");
        if (klen > seg)
            klen = seg;
        int known = 0;
        for (size_t i = 0; list_params[i] != NULL; i++)
            if (strlen(list_params[i]) == klen && strncmp(list_params[i], p, klen) == 0)
                known = 1;
        if (!known && seg > 0) {
            snprintf(name, size, "%.*s", (int)(klen < 64 ? klen : 64), p);
            arc_str_printable(name);
            return 1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

void arc_projects_on_list(arc_http_req_t *req)
{
    char st[32], demo[16], q[4 * Q_MAX + 1], order[512], after[64], before[64], limit[16],
        cursor[160], bad[72];
    char owner_s[130], after_s[32], before_s[32], cur_s[32], cur_id[40], limit_s[16];
    int64_t after_us = 0, before_us = 0, cur_us = 0;
    char why[200];

    if (unknown_param(req, bad, sizeof(bad))) {
        arc_http_error(req, 400, "bad_parameter", NULL,
                       "the list takes no parameter '%s' (it takes status, isDemo, q, orderRef, "
                       "createdAfter, createdBefore, limit, cursor)",
                       bad);
        return;
    }
    int has_st = arc_http_query_get(req, "status", st, sizeof(st));
    int has_demo = arc_http_query_get(req, "isDemo", demo, sizeof(demo));
    int has_q = arc_http_query_get(req, "q", q, sizeof(q));
    int has_order = arc_http_query_get(req, "orderRef", order, sizeof(order));
    int has_after = arc_http_query_get(req, "createdAfter", after, sizeof(after));
    int has_before = arc_http_query_get(req, "createdBefore", before, sizeof(before));
    int has_limit = arc_http_query_get(req, "limit", limit, sizeof(limit));
    int has_cursor = arc_http_query_get(req, "cursor", cursor, sizeof(cursor));
    const char *bad_msg = NULL;

    if (has_st < 0 || (has_st > 0 && strcmp(st, "pending") && strcmp(st, "processing") &&
                       strcmp(st, "ready") && strcmp(st, "error")))
        bad_msg = "status must be pending, processing, ready or error";
    else if (has_demo < 0 || (has_demo > 0 && strcmp(demo, "true") && strcmp(demo, "false")))
        bad_msg = "isDemo must be true or false";
    else if (has_q < 0 || (has_q > 0 && !arc_field_text_ok(q, Q_MAX)))
        bad_msg = "q must be text of at most 200 characters";
    else if (has_order < 0 || (has_order > 0 && arc_field_check(arc_field_find("orderRef"), order,
                                                                why, sizeof(why)) != 0))
        bad_msg = "orderRef must be text of at most 64 characters";
    else if (has_after < 0 || (has_after > 0 && arc_projects_time_parse(after, &after_us) != 0))
        bad_msg = "createdAfter must be a time such as 2026-11-30T12:00:00Z or a date";
    else if (has_before < 0 || (has_before > 0 && arc_projects_time_parse(before, &before_us) != 0))
        bad_msg = "createdBefore must be a time such as 2026-11-30T12:00:00Z or a date";
    else if (has_cursor < 0 ||
             (has_cursor > 0 && arc_projects_cursor_decode(cursor, &cur_us, cur_id) != 0))
        bad_msg = "cursor is not one this list gave: pass nextCursor as it came";
    int n = LIST_DEFAULT;
    if (bad_msg == NULL && has_limit != 0) {
        char *end = NULL;
        long v = has_limit > 0 ? strtol(limit, &end, 10) : 0;
        if (has_limit < 0 || *limit == '\0' || *end != '\0' || v < 1 || v > LIST_MAX)
            bad_msg = "limit must be a whole number from 1 to 100";
        else
            n = (int)v;
    }
    if (bad_msg != NULL) {
        arc_http_error(req, 400, "bad_parameter", NULL, "%s", bad_msg);
        return;
    }
    preq_t *p = preq_new(req, 0);
    p->limit = n;
    char *pattern = has_q > 0 ? arc_projects_like_contains(q) : NULL;
    snprintf(owner_s, sizeof(owner_s), "%s", p->owner);
    snprintf(after_s, sizeof(after_s), "%lld", (long long)after_us);
    snprintf(before_s, sizeof(before_s), "%lld", (long long)before_us);
    snprintf(cur_s, sizeof(cur_s), "%lld", (long long)cur_us);
    snprintf(limit_s, sizeof(limit_s), "%d", n + 1);
    const char *params[10] = {owner_s,
                              has_st > 0 ? st : NULL,
                              has_demo > 0 ? (demo[0] == 't' ? "t" : "f") : NULL,
                              pattern,
                              has_order > 0 ? order : NULL,
                              has_after > 0 ? after_s : NULL,
                              has_before > 0 ? before_s : NULL,
                              has_cursor > 0 ? cur_s : NULL,
                              has_cursor > 0 ? cur_id : NULL,
                              limit_s};
    p->query = arc_pg_query(p->d->pool, list_sql, 10, params, on_list, p);
    free(pattern);
}

/* ---- PATCH /api/ar/projects/:id ---- */

void arc_projects_patch_head(arc_http_req_t *req)
{
    const char *ct = arc_http_header(req, "content-type");

    /* application/json, perhaps with parameters (a charset), in any case. */
    if (ct != NULL && (strncasecmp(ct, "application/json", 16) != 0 ||
                       (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ' && ct[16] != '\t'))) {
        arc_http_error(req, 415, "unsupported_media_type", NULL,
                       "PATCH takes a JSON object (application/json), not %s", ct);
        return;
    }
    req->body_mode = ARC_HTTP_BODY_BUFFER;
    req->body_limit = ARC_PROJECTS_PATCH_MAX;
}

/* $1 the id, $2 the owner, $3 whether expiresAt is set (only a demo has
 * one); the SET list follows from the body. Answers the project's document
 * (found: 0 when there is no such project; doc NULL when it is not a demo
 * and expiresAt was given). */
enum { P_FOUND, P_DOC, P_N };
static const char *const patch_cols[P_N] = {[P_FOUND] = "found", [P_DOC] = "doc"};

static void on_patched(int status, PGresult *res, void *arg)
{
    preq_t *p = arg;
    int col[P_N];
    arc_err_t err = {{0}};
    json_error_t jerr;

    if (!preq_answerable(p, status, res))
        return;
    if (arc_pg_columns(res, patch_cols, P_N, col, &err) != 0) {
        arc_http_error(preq_done(p), 500, "internal", NULL, "%s", err.msg);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, col[P_FOUND]), "t") != 0) {
        not_found(p);
        return;
    }
    const char *doc = arc_pg_value(res, 0, col[P_DOC]);
    if (doc == NULL) {
        arc_http_error(preq_done(p), 409, "not_a_demo", NULL,
                       "the project is permanent: only a demo has an expiry to change");
        return;
    }
    arc_status_changed(p->d->status, p->id);
    json_t *js = json_loads(doc, 0, &jerr);
    json_t *out = arc_status_doc_json(p->d, js);
    json_decref(js);
    arc_http_respond_json(preq_done(p), 200, out);
}

/* The text of a field's value in a PATCH: "" clears (from "" or null). */
static int patch_value(const arc_field_t *f, json_t *v, char **out, char *why, size_t size)
{
    if (json_is_null(v)) {
        *out = arc_xstrdup(f->kind == ARC_FIELD_JSON ? "{}" : "");
        return 0;
    }
    if (f->kind == ARC_FIELD_JSON) {
        if (!json_is_object(v)) {
            snprintf(why, size, "%s must be a JSON object of at most %zu bytes (or null)", f->name,
                     f->max);
            return -1;
        }
        *out = json_dumps(v, JSON_COMPACT);
    } else {
        if (!json_is_string(v)) {
            snprintf(why, size, "%s must be a string (or null, to clear it)", f->name);
            return -1;
        }
        *out = arc_xstrdup(json_string_value(v));
    }
    if (arc_field_check(f, *out, why, size) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void arc_projects_on_patch(arc_http_req_t *req)
{
    arc_daemon_t *d = ARC_DAEMON(req);
    json_error_t jerr;
    json_t *body = NULL;
    char why[300] = "";
    const char *key;
    json_t *v;
    /* Parameters: $1 id, $2 owner, $3 expiresAt given, then one per change. */
    const char *params[3 + 16];
    char *owned[16] = {0};
    int n = 3, n_owned = 0, status = 400;
    const char *code = "bad_field";
    arc_buf_t set = {0};
    char expiry[32] = "";

    if (req->body_len == 0 ||
        (body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
        !json_is_object(body)) {
        snprintf(why, sizeof(why), "the body must be a JSON object%s%s",
                 body == NULL && req->body_len > 0 ? ": " : "",
                 body == NULL && req->body_len > 0 ? jerr.text : "");
        code = "bad_json";
        goto out;
    }
    json_object_foreach(body, key, v)
    {
        const arc_field_t *f = arc_field_find(key);
        if (f != NULL) {
            if (patch_value(f, v, &owned[n_owned], why, sizeof(why)) != 0)
                goto out;
            params[n] = owned[n_owned++];
            n++;
            if (f->kind == ARC_FIELD_JSON)
                arc_buf_printf(&set, "%s = $%d::jsonb, ", f->column, n);
            else
                arc_buf_printf(&set, "%s = nullif($%d, ''), ", f->column, n);
        } else if (strcmp(key, "isDemo") == 0) {
            if (!json_is_false(v)) {
                snprintf(why, sizeof(why),
                         "isDemo takes only false (a demo made permanent); a project cannot "
                         "become a demo");
                goto out;
            }
            if (json_object_get(body, "expiresAt") != NULL) {
                snprintf(why, sizeof(why),
                         "isDemo false makes the project permanent: it takes no expiresAt");
                goto out;
            }
            arc_buf_puts(&set, "is_demo = false, expires_at = NULL, ");
        } else if (strcmp(key, "expiresAt") == 0) {
            int64_t us, now_us = (int64_t)time(NULL) * 1000000;
            int64_t max_us = now_us + d->cfg->demo.max_expiry_days * 86400LL * 1000000;
            if (!json_is_string(v) || arc_projects_time_parse(json_string_value(v), &us) != 0) {
                snprintf(why, sizeof(why), "expiresAt must be a time such as 2026-12-31T12:00:00Z");
                goto out;
            }
            if (us <= now_us || us > max_us) {
                snprintf(why, sizeof(why),
                         "expiresAt must be in the future and at most %lld days from now "
                         "(demo.maxExpiryDays)",
                         (long long)d->cfg->demo.max_expiry_days);
                goto out;
            }
            snprintf(expiry, sizeof(expiry), "%lld", (long long)us);
            params[n++] = expiry;
            arc_buf_printf(&set,
                           "expires_at = timestamptz 'epoch' + $%d::bigint * interval "
                           "'1 microsecond', ",
                           n);
        } else {
            snprintf(why, sizeof(why),
                     "unknown field '%.64s' (a PATCH takes title, orderRef, customerName, "
                     "customerEmail, notifyUrl, notifyEmail, metadata, isDemo, expiresAt)",
                     key);
            arc_str_printable(why);
            code = "unknown_field";
            goto out;
        }
    }
    status = 0;
out:
    json_decref(body);
    if (status != 0) {
        arc_http_error(req, status, code, NULL, "%s", why);
        goto done;
    }
    preq_t *p = preq_new(req, 1);
    if (p == NULL)
        goto done;
    params[0] = p->id;
    params[1] = p->owner;
    params[2] = expiry[0] ? "t" : "f";
    arc_buf_t sql = {0};
    arc_buf_printf(&sql,
                   "WITH t AS (SELECT id, is_demo FROM ar_projects WHERE " ARC_PROJECT_VISIBLE
                   " FOR UPDATE),"
                   " u AS (UPDATE ar_projects p SET %supdated_at = now() FROM t"
                   "   WHERE p.id = t.id AND (NOT $3::boolean OR t.is_demo)"
                   "   RETURNING arcd_project_doc(p)::text AS doc)"
                   " SELECT EXISTS (SELECT 1 FROM t) AS found, (SELECT doc FROM u) AS doc",
                   set.data ? set.data : "");
    p->query = arc_pg_query(d->pool, sql.data, n, params, on_patched, p);
    arc_buf_dispose(&sql);
done:
    arc_buf_dispose(&set);
    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
}

/* ---- POST /api/ar/projects/:id/rerun ---- */

enum { R_STATUS, R_QUEUED, R_N };
static const char *const rerun_cols[R_N] = {[R_STATUS] = "status", [R_QUEUED] = "queued"};

static void busy(preq_t *p, const char *status)
{
    arc_http_error(preq_done(p), 409, "busy", "Retry-After: 5\r\n",
                   "the project is %s: wait until it is ready or has failed", status);
}

static void on_rerun(int status, PGresult *res, void *arg)
{
    preq_t *p = arg;
    int col[R_N];
    arc_err_t err = {{0}};
    char url[1024];

    if (!preq_answerable(p, status, res))
        return;
    if (arc_pg_columns(res, rerun_cols, R_N, col, &err) != 0) {
        arc_http_error(preq_done(p), 500, "internal", NULL, "%s", err.msg);
        return;
    }
    if (PQntuples(res) == 0) {
        not_found(p);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, col[R_QUEUED]), "t") != 0) {
        busy(p, PQgetvalue(res, 0, col[R_STATUS]));
        return;
    }
    arc_status_changed(p->d->status, p->id);
    snprintf(url, sizeof(url), "%s/api/ar/status/%s", p->d->cfg->server.public_url, p->id);
    json_t *js = json_pack("{s:s, s:s, s:s}", "arId", p->id, "status", "pending", "statusUrl", url);
    char loc[1100];
    snprintf(loc, sizeof(loc), "Location: %s\r\n", url);
    char *text = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    arc_http_respond(preq_done(p), 202, "application/json; charset=utf-8", loc, text, strlen(text));
    free(text);
    json_decref(js);
}

void arc_projects_on_rerun(arc_http_req_t *req)
{
    preq_t *p = preq_new(req, 1);

    if (p == NULL)
        return;
    const char *params[3] = {p->id, p->owner, req->request_id};
    p->query = arc_pg_query(
        p->d->pool,
        "WITH t AS (SELECT id, status FROM ar_projects WHERE " ARC_PROJECT_VISIBLE " FOR UPDATE),"
        " u AS (UPDATE ar_projects p SET status = 'pending', stage = 'queued', progress = 0,"
        "   attempts = 0, error_message = NULL, run_after = now(), job_kind = 'full',"
        "   video_targets = NULL, started_at = NULL, finished_at = NULL, updated_at = now(),"
        "   request_id = nullif($3, '')"
        "   FROM t WHERE p.id = t.id AND t.status IN ('ready', 'error') RETURNING p.id)"
        " SELECT t.status, EXISTS (SELECT 1 FROM u) AS queued FROM t",
        3, params, on_rerun, p);
}

/* ---- DELETE /api/ar/projects/:id ----
 * First the row is marked (deleting_at; run_after 'infinity', so that no
 * daemon claims it; one being processed is refused, 409): from then on no
 * route but this one sees it, and nothing re-queues it. Then its folder
 * goes, on the threadpool, then the row (its trigger leaves the tombstone
 * and the notifications). Files go before the row, as in the sweep: a
 * daemon dying in between leaves a marked row without files, which a DELETE
 * again, or the sweep after a while, finishes; never files without a row.
 * Once sent, the deletion goes on if the client leaves, and the daemon's
 * pool stays open for it at shutdown (arc_daemon_hold). */

enum { D_STATUS, D_HELD, D_N };
static const char *const hold_cols[D_N] = {[D_STATUS] = "status", [D_HELD] = "held"};

/* The deletion is over (done or refused): the daemon may close its pool. */
static void delete_end(preq_t *p)
{
    p->finish = 0;
    arc_daemon_release(p->d);
}

static void on_deleted(int status, PGresult *res, void *arg)
{
    preq_t *p = arg;

    delete_end(p);
    if (status == 0)
        arc_status_changed(p->d->status, p->id);
    if (!preq_answerable(p, status, res))
        return;
    arc_http_respond(preq_done(p), 204, NULL, NULL, NULL, 0);
}

static void remove_work(uv_work_t *w)
{
    preq_t *p = w->data;

    arc_sweep_remove_folder(p->d->storage, p->id);
}

static void on_removed(uv_work_t *w, int status)
{
    preq_t *p = w->data;
    const char *params[1] = {p->id};

    (void)status;
    /* Only a marked row, and never one a worker holds (none can: a marked
     * row is not claimed). */
    p->query = arc_pg_query(p->d->pool,
                            "DELETE FROM ar_projects WHERE id = $1::text"
                            " AND deleting_at IS NOT NULL AND status <> 'processing'",
                            1, params, on_deleted, p);
}

static void on_held(int status, PGresult *res, void *arg)
{
    preq_t *p = arg;
    int col[D_N];
    arc_err_t err = {{0}};

    p->query = NULL;
    int cols = status == 0 ? arc_pg_columns(res, hold_cols, D_N, col, &err) : -1;
    if (cols == 0 && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, col[D_HELD]), "t") == 0) {
        /* Marked: the folder goes, whether the client waits or not. */
        p->work.data = p;
        uv_queue_work(p->d->loop, &p->work, remove_work, on_removed);
        return;
    }
    delete_end(p);
    if (!preq_answerable(p, status, res))
        return;
    if (cols != 0)
        arc_http_error(preq_done(p), 500, "internal", NULL, "%s", err.msg);
    else if (PQntuples(res) == 0)
        not_found(p);
    else
        busy(p, PQgetvalue(res, 0, col[D_STATUS]));
}

void arc_projects_on_delete(arc_http_req_t *req)
{
    preq_t *p = preq_new(req, 1);

    if (p == NULL)
        return;
    const char *params[2] = {p->id, p->owner};
    /* The statement that marks the row goes on if the client leaves: the
     * row marked, its deletion must end. */
    p->finish = 1;
    arc_daemon_hold(p->d);
    /* An expired demo the sweep has not removed yet may be deleted too, and
     * a deletion left half-done is finished. */
    p->query =
        arc_pg_query(p->d->pool,
                     "WITH t AS (SELECT id, status FROM ar_projects"
                     "           WHERE id = $1::text AND ($2 = '' OR owner = $2) FOR UPDATE),"
                     " u AS (UPDATE ar_projects p SET run_after = 'infinity',"
                     "   deleting_at = coalesce(p.deleting_at, now()) FROM t"
                     "   WHERE p.id = t.id AND t.status <> 'processing' RETURNING p.id)"
                     " SELECT t.status, EXISTS (SELECT 1 FROM u) AS held FROM t",
                     2, params, on_held, p);
}
