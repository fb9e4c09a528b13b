/*
 * API tokens: `Authorization: Bearer <token>` on the API's project routes
 * (see auth.h). Tokens come from auth.tokens in the config, $ARCD_ADMIN_TOKEN
 * and the arcd_tokens table; an owner token sees the projects it made, an
 * admin token every project. The viewer and the project files stay public
 * (their ids are 128 random bits). With no token anywhere, the API answers
 * 401 to everyone: arcd is closed by default.
 *
 * The presented token is hashed once with SHA-256 and the hash compared with
 * every known token's (the config's are hashed once, at creation; the
 * database holds only hashes) with CRYPTO_memcmp, without stopping at a
 * match, so the time taken does not tell how much of a token was right, nor
 * which token it was.
 *
 * The database's tokens: a reload builds a new array of the valid tokens
 * and their hashes and swaps it in; the records the arrays point to are
 * immutable and live until arc_auth_free(), because a request keeps its
 * token in req->ctx for as long as it lives and no hook tells this file when
 * a request ends. A token known before keeps its record (found by id), so
 * reloads do not grow the memory; a revoked token's record stays behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "arcd/assert.h"
#include "arcd/error.h"
#include "arcd/log.h"
#include "auth.h"

#define HASH_LEN SHA256_DIGEST_LENGTH
/* The longest owner, in bytes: as the config's auth.tokens and a project's
 * owner (upload.c) hold it. */
#define OWNER_MAX 128

/* A database token: what a request's req->ctx points to. Never changed once
 * made, never freed before the set. */
typedef struct rec_s {
    arc_token_t t; /* .token is NULL: only the hash is known */
    char id[40];   /* the row's uuid */
    unsigned char hash[HASH_LEN];
    struct rec_s *next; /* every record made, for arc_auth_free() */
} rec_t;

struct arc_auth_s {
    const arc_config_t *cfg; /* borrowed */
    unsigned char (*cfg_hash)[HASH_LEN];

    /* The database's valid tokens, sorted by id, and their hashes side by
     * side (the comparison loop reads only these). */
    rec_t **db;
    unsigned char (*db_hash)[HASH_LEN];
    size_t n_db;
    rec_t *all;
    int loaded;

    /* Reloads. */
    arc_pg_pool_t *pool;
    uv_timer_t timer;
    int timer_on;
    arc_pg_query_t *q;
    int loading; /* a load is in flight */
    int again;   /* a reload was asked for while it ran */
    int failed;  /* the last load failed: try again every second */
    int stopped;
};

/* Ordered by id so that a reload finds the records it knew by bsearch. The
 * uuid order is the order of its lower-case text, which is how the rows are
 * compared here. */
const char arc_auth_load_sql[] = "SELECT id::text AS id, encode(hash, 'hex') AS hash, owner, role"
                                 " FROM arcd_tokens WHERE revoked_at IS NULL ORDER BY id";

enum { C_ID, C_HASH, C_OWNER, C_ROLE, C_N };
static const char *const load_cols[C_N] = {
    [C_ID] = "id", [C_HASH] = "hash", [C_OWNER] = "owner", [C_ROLE] = "role"};

arc_auth_t *arc_auth_create(const arc_config_t *cfg)
{
    arc_auth_t *a = arc_xcalloc(1, sizeof(*a));
    size_t n = cfg->auth.n_tokens;

    a->cfg = cfg;
    a->cfg_hash = arc_xcalloc(n ? n : 1, sizeof(*a->cfg_hash));
    for (size_t i = 0; i < n; i++) {
        const char *tok = cfg->auth.tokens[i].token;
        SHA256((const unsigned char *)tok, strlen(tok), a->cfg_hash[i]);
    }
    return a;
}

void arc_auth_free(arc_auth_t *a)
{
    if (a == NULL)
        return;
    ARC_ASSERT(!a->timer_on || a->stopped);
    while (a->all != NULL) {
        rec_t *r = a->all;
        a->all = r->next;
        free(r->t.owner);
        free(r);
    }
    free(a->db);
    free(a->db_hash);
    free(a->cfg_hash);
    free(a);
}

int arc_auth_loaded(const arc_auth_t *a)
{
    return a->loaded;
}

size_t arc_auth_count(const arc_auth_t *a)
{
    return a->cfg->auth.n_tokens + a->n_db;
}

/* ---- the set ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex_decode(const char *s, unsigned char *out, size_t n)
{
    if (s == NULL || strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int by_id(const void *x, const void *y)
{
    const rec_t *const *a = x, *const *b = y;

    return strcmp((*a)->id, (*b)->id);
}

static int key_by_id(const void *key, const void *elem)
{
    const rec_t *const *r = elem;

    return strcmp(key, (*r)->id);
}

/* The record of a token already in the set, if nothing of it changed (the
 * table lets an operator edit a row by hand: then it gets a new record, and
 * requests holding the old one keep what they were given). */
static rec_t *known(const arc_auth_t *a, const char *id, const unsigned char *hash,
                    const char *owner, int admin)
{
    rec_t **found = a->n_db ? bsearch(id, a->db, a->n_db, sizeof(*a->db), key_by_id) : NULL;

    if (found == NULL)
        return NULL;
    rec_t *r = *found;
    if (memcmp(r->hash, hash, HASH_LEN) != 0 || strcmp(r->t.owner, owner) != 0 ||
        r->t.admin != admin)
        return NULL;
    return r;
}

int arc_auth_apply(arc_auth_t *a, const PGresult *res, size_t *skipped, arc_err_t *err)
{
    int col[C_N];
    size_t bad = 0, n = 0;

    if (skipped != NULL)
        *skipped = 0;
    if (arc_pg_columns(res, load_cols, C_N, col, err) != 0)
        return ARC_EINTERNAL;
    size_t rows = (size_t)PQntuples(res);
    rec_t **db = arc_xcalloc(rows ? rows : 1, sizeof(*db));
    for (size_t i = 0; i < rows; i++) {
        const char *id = arc_pg_value(res, (int)i, col[C_ID]);
        const char *owner = arc_pg_value(res, (int)i, col[C_OWNER]);
        const char *role = arc_pg_value(res, (int)i, col[C_ROLE]);
        unsigned char hash[HASH_LEN];
        /* The table's checks and `arcd token create` make these hold; a row
         * that breaks them (made by hand) is left out, with a warning. */
        if (id == NULL || strlen(id) >= sizeof(db[0]->id) || owner == NULL || owner[0] == '\0' ||
            strlen(owner) > OWNER_MAX || role == NULL ||
            (strcmp(role, "owner") != 0 && strcmp(role, "admin") != 0) ||
            hex_decode(arc_pg_value(res, (int)i, col[C_HASH]), hash, HASH_LEN) != 0) {
            bad++;
            continue;
        }
        int admin = strcmp(role, "admin") == 0;
        rec_t *r = known(a, id, hash, owner, admin);
        if (r == NULL) {
            r = arc_xcalloc(1, sizeof(*r));
            snprintf(r->id, sizeof(r->id), "%s", id);
            memcpy(r->hash, hash, HASH_LEN);
            r->t.owner = arc_xstrdup(owner);
            r->t.admin = admin;
            r->next = a->all;
            a->all = r;
        }
        db[n++] = r;
    }
    qsort(db, n, sizeof(*db), by_id);
    unsigned char(*hashes)[HASH_LEN] = arc_xcalloc(n ? n : 1, sizeof(*hashes));
    for (size_t i = 0; i < n; i++)
        memcpy(hashes[i], db[i]->hash, HASH_LEN);
    free(a->db);
    free(a->db_hash);
    a->db = db;
    a->db_hash = hashes;
    a->n_db = n;
    a->loaded = 1;
    if (skipped != NULL)
        *skipped = bad;
    return 0;
}

const arc_token_t *arc_auth_find(const arc_auth_t *a, const char *presented, size_t len)
{
    unsigned char have[HASH_LEN];
    const arc_token_t *found = NULL;

    SHA256((const unsigned char *)presented, len, have);
    for (size_t i = 0; i < a->cfg->auth.n_tokens; i++)
        if (CRYPTO_memcmp(a->cfg_hash[i], have, HASH_LEN) == 0 && found == NULL)
            found = &a->cfg->auth.tokens[i];
    for (size_t i = 0; i < a->n_db; i++)
        if (CRYPTO_memcmp(a->db_hash[i], have, HASH_LEN) == 0 && found == NULL)
            found = &a->db[i]->t;
    return found;
}

/* ---- loading ---- */

static void log_loaded(const arc_auth_t *a, size_t skipped, const char *when)
{
    arc_log_msg(ARC_LOG_INFO, "API tokens %s: %zu from the config, %zu from the database", when,
                a->cfg->auth.n_tokens, a->n_db);
    if (skipped > 0)
        arc_log_msg(ARC_LOG_WARN, "%zu rows of arcd_tokens are not well formed: left out", skipped);
}

static void load_failed(arc_auth_t *a, const char *why)
{
    size_t len = strlen(why);

    while (len > 0 && (why[len - 1] == '\n' || why[len - 1] == ' '))
        len--;
    if (!a->failed)
        arc_log_msg(ARC_LOG_ERROR,
                    "cannot load the API tokens from the database (%.*s); %s, trying again "
                    "every second",
                    (int)len, why,
                    a->loaded ? "keeping the ones loaded last" : "answering 503 to the others");
    a->failed = 1;
}

/* The first load, at start-up, before the loop runs: requests must not meet
 * a set that does not know the database's tokens yet (they would be told
 * 401 for a valid token, or 503), and start-up may block. */
static void load_now(arc_auth_t *a)
{
    static const char *const keys[] = {"dbname", "connect_timeout", "fallback_application_name",
                                       NULL};
    const char *const values[] = {a->cfg->database.url, "10", "arcd", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    PGresult *r = NULL;
    arc_err_t err = {{0}};
    char sql[64];
    size_t skipped = 0;

    if (PQstatus(c) != CONNECTION_OK) {
        load_failed(a, PQerrorMessage(c));
        goto out;
    }
    snprintf(sql, sizeof(sql), "SET statement_timeout = %lld",
             (long long)a->cfg->database.statement_timeout_ms);
    PQclear(PQexec(c, sql));
    r = PQexec(c, arc_auth_load_sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        load_failed(a, PQresultErrorMessage(r));
        goto out;
    }
    if (arc_auth_apply(a, r, &skipped, &err) != 0) {
        load_failed(a, err.msg);
        goto out;
    }
    log_loaded(a, skipped, "loaded");
out:
    PQclear(r);
    PQfinish(c);
}

static void on_loaded(int status, PGresult *res, void *arg)
{
    arc_auth_t *a = arg;
    arc_err_t err = {{0}};
    size_t skipped = 0;
    int was_loaded = a->loaded, was_failed = a->failed;

    a->q = NULL;
    a->loading = 0;
    if (status == ARC_ECANCELED)
        return; /* the pool is closing */
    if (status == ARC_EDB)
        load_failed(a, PQresultErrorMessage(res));
    else if (status != 0)
        load_failed(a, arc_strerror(status));
    else if (arc_auth_apply(a, res, &skipped, &err) != 0)
        load_failed(a, err.msg);
    else {
        a->failed = 0;
        if (!was_loaded || was_failed || skipped > 0)
            log_loaded(a, skipped, was_loaded ? "loaded again" : "loaded");
    }
    if (a->again)
        arc_auth_reload(a);
}

void arc_auth_reload(arc_auth_t *a)
{
    if (a == NULL || a->stopped || a->pool == NULL)
        return;
    if (a->loading) {
        /* The running load may have read the table before the change. */
        a->again = 1;
        return;
    }
    a->loading = 1;
    a->again = 0;
    arc_pg_query_t *q = arc_pg_query(a->pool, arc_auth_load_sql, 0, NULL, on_loaded, a);
    if (a->loading)
        a->q = q; /* else on_loaded has run already (the pool is closing) */
}

/* Every second: with the LISTEN connection down no NOTIFY tells of a
 * change, so look; likewise after a failed load. */
static void on_tick(uv_timer_t *t)
{
    arc_auth_t *a = t->data;
    arc_pg_stats_t ps;

    arc_pg_pool_stats(a->pool, &ps);
    if (!ps.listening || a->failed || !a->loaded)
        arc_auth_reload(a);
}

void arc_auth_start(arc_auth_t *a, uv_loop_t *loop, arc_pg_pool_t *pool)
{
    ARC_ASSERT(a->pool == NULL && !a->stopped);
    load_now(a);
    a->pool = pool;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    a->timer_on = 1;
    uv_timer_start(&a->timer, on_tick, 1000, 1000);
}

void arc_auth_stop(arc_auth_t *a)
{
    if (a == NULL || a->stopped)
        return;
    a->stopped = 1;
    arc_pg_cancel(a->q);
    a->q = NULL;
    a->loading = 0;
    if (a->timer_on)
        uv_close((uv_handle_t *)&a->timer, NULL); /* freed with a, after the loop */
}

/* ---- the routes' side ---- */

const arc_token_t *arc_auth_require(const arc_daemon_t *d, arc_http_req_t *req)
{
    static const char challenge[] = "WWW-Authenticate: Bearer realm=\"arcd\"\r\n";
    const arc_auth_t *a = d->auth;
    const char *h = arc_http_header(req, "authorization");
    const arc_token_t *found;

    if (a->loaded && arc_auth_count(a) == 0) {
        arc_http_error(req, 401, "unauthorized", challenge,
                       "no API token is configured on this server (auth.tokens, "
                       "ARCD_ADMIN_TOKEN or `arcd token create`)");
        return NULL;
    }
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
        arc_http_error(req, 401, "unauthorized", challenge,
                       "this endpoint needs an 'Authorization: Bearer <token>' header");
        return NULL;
    }
    found = arc_auth_find(a, h + 7, strlen(h + 7));
    if (found == NULL && !a->loaded) {
        /* It may be a database token: not known yet is not "not valid". */
        arc_http_error(req, 503, "tokens_loading", "Retry-After: 1\r\n",
                       "the server has not loaded its API tokens from the database yet; try "
                       "again in a second");
        return NULL;
    }
    if (found == NULL)
        arc_http_error(req, 401, "unauthorized", challenge, "the API token is not valid");
    return found;
}

int arc_auth_sees(const arc_token_t *t, const char *owner)
{
    return t == NULL || t->admin || (owner != NULL && strcmp(owner, t->owner) == 0);
}
