/*
 * pg.h: a small, bounded, asynchronous PostgreSQL connection pool for the
 * daemon's libuv loop.
 *
 * At most `size` connections, opened without blocking (PQconnectStart) and
 * each watched with a uv_poll_t; queries go out with PQsendQueryParams and
 * results are read as the socket becomes readable, so no libpq call ever
 * blocks the loop. Queries wait for a free connection first in, first out; one
 * that waits longer than the acquire timeout fails with ARC_ETIMEDOUT (the API
 * answers 503). A waiting or running query can be cancelled when its client
 * goes away: its callback then never runs. A connection that breaks, or gets
 * no answer within the I/O timeout (connecting, setting up, running a
 * query), fails its query with ARC_EIO and is reopened with exponential
 * backoff (0.1 s to 5 s), so the pool survives a PostgreSQL restart and a
 * server that stops answering.
 *
 * LISTEN: with a listener set and size >= 2, one of the connections is kept
 * for LISTEN on the given channels (the pool never exceeds `size` in all);
 * notifications are delivered to the listener, and `reconnected` runs after
 * the listening connection comes back (notifications may have been missed).
 * A listening connection waits for the server without asking anything, so
 * a dead one (a network cut without FIN or RST) would go unnoticed for
 * hours, its notifications lost: after `listen_check_ms` without a word
 * from the server it sends `SELECT 1`, which must be answered within the
 * I/O timeout like any statement, or the connection is reopened.
 *
 * TCP keepalives are on for every connection (libpq's keepalives: idle 30 s,
 * then a probe every 10 s, 3 unanswered ones close it), so an idle
 * connection whose peer is gone is found within about a minute rather than
 * the system's two hours; keepalive settings in the connection string win.
 *
 * Ownership: the pool is the caller's; a result passed to a callback is the
 * pool's and is freed when the callback returns.
 */
#ifndef ARCD_PG_H
#define ARCD_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#include "arcd/error.h"

typedef struct arc_pg_pool_s arc_pg_pool_t;
typedef struct arc_pg_query_s arc_pg_query_t;

/* status: 0 (res holds rows or a command tag), ARC_EDB (res holds the
 * error: PQresultErrorMessage), ARC_EIO (the connection broke; res NULL; a
 * write may or may not have happened), ARC_ETIMEDOUT (no connection in time),
 * ARC_ECANCELED (the pool is closing). */
typedef void (*arc_pg_query_cb)(int status, PGresult *res, void *arg);

typedef struct arc_pg_listener_s {
    const char *const *channels; /* NULL-terminated */
    void (*notify)(const char *channel, const char *payload, void *arg);
    void (*reconnected)(void *arg);
    void *arg;
} arc_pg_listener_t;

typedef struct arc_pg_stats_s {
    int size;      /* configured maximum */
    int connected; /* open connections */
    int in_use;    /* running a query */
    int waiting;   /* queries waiting for a connection */
    int listening; /* 1 when the LISTEN connection is up */
    uint64_t queries, errors, timeouts, reconnects;
} arc_pg_stats_t;

typedef struct arc_pg_opts_s {
    const char *conninfo;              /* a libpq string or URI; "" or NULL for libpq's defaults */
    int size;                          /* connections at most (at least 1) */
    uint64_t acquire_timeout_ms;       /* longest wait for a connection */
    uint64_t io_timeout_ms;            /* longest wait for the server's next answer; 0: 30 s */
    uint64_t listen_check_ms;          /* quiet LISTEN connection checked after this; 0: 30 s */
    const char *session_sql;           /* run on every new connection first (may be NULL) */
    const arc_pg_listener_t *listener; /* may be NULL */
} arc_pg_opts_t;

/* Creates a pool (opts and what it points to are copied) and starts
 * connecting. Returns 0 and *out. */
int arc_pg_pool_create(uv_loop_t *loop, const arc_pg_opts_t *opts, arc_pg_pool_t **out);

/*
 * Queues sql with nparams (at most 65535) text parameters (copied; NULL
 * entries are SQL NULL). cb runs later, on the loop, exactly once unless the
 * query is cancelled first, and never inside this call; returns a handle for
 * arc_pg_cancel(), valid until cb runs. Only when the pool is closing does cb
 * run at once (ARC_ECANCELED), and NULL is returned.
 */
arc_pg_query_t *arc_pg_query(arc_pg_pool_t *pool, const char *sql, int nparams,
                             const char *const *params, arc_pg_query_cb cb, void *arg);

/* Cancels a query: cb will not run. A running statement finishes on the
 * server and its result is discarded. Accepts NULL. */
void arc_pg_cancel(arc_pg_query_t *q);

void arc_pg_pool_stats(const arc_pg_pool_t *pool, arc_pg_stats_t *out);

/*
 * Named result columns. A query's columns are named once, next to its SQL,
 * as an enum and a table of names in the same order (designated
 * initializers keep the two in step):
 *
 *     enum { C_ID, C_STATUS, C_N };
 *     static const char *const cols[C_N] = {[C_ID] = "id", [C_STATUS] = "status"};
 *     ... SELECT id::text AS id, status FROM ...
 *     int col[C_N];
 *     if (arc_pg_columns(res, cols, C_N, col, &err) != 0) ... (a bug: SQL and names differ)
 *     PQgetvalue(res, row, col[C_STATUS])
 *
 * Fills col[i] with the number of the column called names[i] (PQfnumber,
 * once per result). Returns 0, or ARC_EINTERNAL naming the first column the
 * result does not have.
 */
int arc_pg_columns(const PGresult *res, const char *const *names, int n, int *col, arc_err_t *err);

/* A value of a result, or NULL when it is SQL NULL. */
const char *arc_pg_value(const PGresult *res, int row, int col);

/* Fails queued queries with ARC_ECANCELED, lets running ones finish, closes
 * every connection, then calls cb; free the pool with free() afterwards. */
void arc_pg_pool_close(arc_pg_pool_t *pool, void (*cb)(arc_pg_pool_t *pool, void *arg), void *arg);

#endif
