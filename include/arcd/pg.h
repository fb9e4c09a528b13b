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
 * goes away: its callback then never runs. A connection that breaks fails its
 * query with ARC_EIO and is reopened with exponential backoff (0.1 s to 5 s),
 * so the pool survives a PostgreSQL restart.
 *
 * LISTEN: with a listener set and size >= 2, one of the connections is kept
 * for LISTEN on the given channels (the pool never exceeds `size` in all);
 * notifications are delivered to the listener, and `reconnected` runs after
 * the listening connection comes back (notifications may have been missed).
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

/*
 * Creates a pool and starts connecting. conninfo is a libpq string or URI
 * ("" for libpq's defaults); session_sql (may be NULL) runs on every new
 * connection before it serves queries (SET statement_timeout ...). listener
 * may be NULL. Returns 0 and *out.
 */
int arc_pg_pool_create(uv_loop_t *loop, const char *conninfo, int size, uint64_t acquire_timeout_ms,
                       const char *session_sql, const arc_pg_listener_t *listener,
                       arc_pg_pool_t **out);

/*
 * Queues sql with text parameters (copied; NULL entries are SQL NULL). cb runs
 * later, on the loop, exactly once unless the query is cancelled first.
 * Returns a handle for arc_pg_cancel(), valid until cb runs.
 */
arc_pg_query_t *arc_pg_query(arc_pg_pool_t *pool, const char *sql, int nparams,
                             const char *const *params, arc_pg_query_cb cb, void *arg);

/* Cancels a query: cb will not run. A running statement finishes on the
 * server and its result is discarded. Accepts NULL. */
void arc_pg_cancel(arc_pg_query_t *q);

void arc_pg_pool_stats(const arc_pg_pool_t *pool, arc_pg_stats_t *out);

/* Fails queued queries with ARC_ECANCELED, lets running ones finish, closes
 * every connection, then calls cb; free the pool with free() afterwards. */
void arc_pg_pool_close(arc_pg_pool_t *pool, void (*cb)(arc_pg_pool_t *pool, void *arg), void *arg);

#endif
