/*
 * The asynchronous PostgreSQL pool (see include/arcd/pg.h).
 *
 * Each connection moves DOWN -> CONNECTING -> SETUP (session SQL) -> IDLE
 * <-> BUSY, or LISTEN for the listening one; a failure anywhere takes it back
 * to DOWN and schedules a reconnect. libpq is used only in non-blocking mode,
 * driven by uv_poll events on its socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/pg.h"

typedef enum { S_DOWN, S_CONNECTING, S_SETUP, S_IDLE, S_BUSY, S_LISTEN } cstate_t;

struct arc_pg_query_s {
    char *sql;
    int nparams;
    char **params;
    arc_pg_query_cb cb;
    void *arg;
    uint64_t enqueued_ms;
    int cancelled;
    int running;
    arc_pg_query_t *next;
};

typedef struct pgconn_s {
    arc_pg_pool_t *pool;
    int index;
    cstate_t state;
    PGconn *pg;
    uv_poll_t poll;
    int polling; /* poll handle initialised (and not closed) */
    int fd;
    uv_timer_t retry;
    uint64_t backoff_ms;
    int listener;      /* this is the LISTEN connection */
    arc_pg_query_t *q; /* the running query */
    PGresult *res;     /* its first result */
} pgconn_t;

struct arc_pg_pool_s {
    uv_loop_t *loop;
    char *conninfo;
    char *session_sql;
    int size;
    uint64_t acquire_timeout_ms;
    arc_pg_listener_t listener;
    char *listen_sql;
    pgconn_t *conns;
    arc_pg_query_t *head, *tail;
    int waiting;
    uv_timer_t sweep;
    int closing;
    int open_handles;
    void (*close_cb)(arc_pg_pool_t *, void *);
    void *close_arg;
    arc_pg_stats_t stats;
};

static void connect_start(pgconn_t *c);
static void try_close(arc_pg_pool_t *p);
static void on_poll(uv_poll_t *h, int status, int events);
static void dispatch(arc_pg_pool_t *p);

static void query_free(arc_pg_query_t *q)
{
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q);
}

static void handle_closed(uv_handle_t *h)
{
    arc_pg_pool_t *p = h->data;

    if (--p->open_handles == 0 && p->close_cb != NULL) {
        free(p->conninfo);
        free(p->session_sql);
        free(p->listen_sql);
        free(p->conns);
        p->close_cb(p, p->close_arg);
    }
}

static void stop_poll(pgconn_t *c)
{
    if (c->polling) {
        uv_poll_stop(&c->poll);
        c->poll.data = c->pool; /* handle_closed() counts on the pool */
        uv_close((uv_handle_t *)&c->poll, handle_closed);
        c->polling = 0;
    }
}

/* Watches the connection's socket for events; a new socket (libpq can change
 * it while connecting) gets a new poll handle. */
static void watch(pgconn_t *c, int events)
{
    int fd = PQsocket(c->pg);

    if (c->polling && fd != c->fd)
        stop_poll(c);
    if (!c->polling) {
        c->fd = fd;
        uv_poll_init(c->pool->loop, &c->poll, fd);
        c->poll.data = c;
        c->pool->open_handles++;
        c->polling = 1;
    }
    uv_poll_start(&c->poll, events, on_poll);
}

static void finish_query(pgconn_t *c, int status)
{
    arc_pg_query_t *q = c->q;
    PGresult *res = c->res;

    c->q = NULL;
    c->res = NULL;
    if (q != NULL) {
        if (!q->cancelled)
            q->cb(status, res, q->arg);
        query_free(q);
    }
    PQclear(res);
}

static void on_retry(uv_timer_t *t)
{
    connect_start(t->data);
}

/* The connection broke or could not be made: fail its query, schedule a
 * reconnect. */
static void conn_down(pgconn_t *c, const char *why)
{
    arc_pg_pool_t *p = c->pool;
    int was_up = c->state == S_IDLE || c->state == S_BUSY || c->state == S_LISTEN;

    if (was_up)
        fprintf(stderr, "arcd: database connection %d lost: %s", c->index,
                why ? why : "(no message)\n");
    stop_poll(c);
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
    c->state = S_DOWN;
    if (c->q != NULL) {
        p->stats.errors++;
        finish_query(c, ARC_EIO);
    }
    if (p->closing) {
        try_close(p);
        return;
    }
    p->stats.reconnects++;
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 100;
    if (c->backoff_ms > 5000)
        c->backoff_ms = 5000;
    uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
}

static void connect_start(pgconn_t *c)
{
    c->pg = PQconnectStart(c->pool->conninfo);
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_down(c, c->pg ? PQerrorMessage(c->pg) : "out of memory\n");
        return;
    }
    PQsetnonblocking(c->pg, 1);
    c->state = S_CONNECTING;
    watch(c, UV_WRITABLE);
}

static int send_sql(pgconn_t *c, const char *sql, int nparams, char *const *params)
{
    int ok = nparams > 0 || c->state == S_BUSY
                 ? PQsendQueryParams(c->pg, sql, nparams, NULL, (const char *const *)params, NULL,
                                     NULL, 0)
                 : PQsendQuery(c->pg, sql);
    if (!ok)
        return -1;
    int f = PQflush(c->pg);
    if (f < 0)
        return -1;
    watch(c, f == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    return 0;
}

static void become_idle(pgconn_t *c)
{
    c->backoff_ms = 0;
    if (c->listener && c->pool->listen_sql != NULL && c->state != S_LISTEN) {
        c->state = S_LISTEN; /* the LISTEN statements are in flight */
        if (send_sql(c, c->pool->listen_sql, 0, NULL) != 0)
            conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    c->state = S_IDLE;
    watch(c, UV_READABLE); /* notices a server-side close while idle */
    dispatch(c->pool);
}

static void deliver_notifications(pgconn_t *c)
{
    PGnotify *n;

    while ((n = PQnotifies(c->pg)) != NULL) {
        if (c->pool->listener.notify != NULL)
            c->pool->listener.notify(n->relname, n->extra, c->pool->listener.arg);
        PQfreemem(n);
    }
}

/* Reads what has arrived; returns 1 when every result of the statement is in. */
static int read_results(pgconn_t *c)
{
    if (!PQconsumeInput(c->pg))
        return -1;
    deliver_notifications(c);
    while (!PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (r == NULL)
            return 1;
        if (c->res == NULL)
            c->res = r;
        else if (PQresultStatus(r) == PGRES_FATAL_ERROR &&
                 PQresultStatus(c->res) != PGRES_FATAL_ERROR) {
            PQclear(c->res); /* a later statement of a script failed: report that */
            c->res = r;
        } else
            PQclear(r);
    }
    return 0;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    pgconn_t *c = h->data;
    arc_pg_pool_t *p = c->pool;

    if (status < 0) {
        conn_down(c, uv_strerror(status));
        return;
    }
    switch (c->state) {
    case S_CONNECTING: {
        PostgresPollingStatusType st = PQconnectPoll(c->pg);
        if (st == PGRES_POLLING_FAILED) {
            conn_down(c, PQerrorMessage(c->pg));
        } else if (st == PGRES_POLLING_READING) {
            watch(c, UV_READABLE);
        } else if (st == PGRES_POLLING_WRITING) {
            watch(c, UV_WRITABLE);
        } else if (st == PGRES_POLLING_OK) {
            if (c->backoff_ms > 0 || p->stats.reconnects > 0)
                fprintf(stderr, "arcd: database connection %d is up\n", c->index);
            if (p->session_sql != NULL) {
                c->state = S_SETUP;
                if (send_sql(c, p->session_sql, 0, NULL) != 0)
                    conn_down(c, PQerrorMessage(c->pg));
            } else {
                become_idle(c);
            }
        }
        return;
    }
    case S_SETUP:
    case S_BUSY:
    case S_LISTEN:
    case S_IDLE: {
        if (events & UV_WRITABLE) {
            int f = PQflush(c->pg);
            if (f < 0) {
                conn_down(c, PQerrorMessage(c->pg));
                return;
            }
            if (f == 0)
                watch(c, UV_READABLE);
        }
        if (!(events & UV_READABLE))
            return;
        int done = read_results(c);
        if (done < 0 || PQstatus(c->pg) == CONNECTION_BAD) {
            conn_down(c, PQerrorMessage(c->pg));
            return;
        }
        if (c->state == S_IDLE || (c->state == S_LISTEN && c->res == NULL && done == 1))
            return;
        if (done == 0)
            return;
        if (c->state == S_SETUP) {
            int ok = PQresultStatus(c->res) == PGRES_COMMAND_OK ||
                     PQresultStatus(c->res) == PGRES_TUPLES_OK;
            if (!ok)
                fprintf(stderr, "arcd: database session setup failed: %s",
                        PQresultErrorMessage(c->res));
            PQclear(c->res);
            c->res = NULL;
            become_idle(c);
            return;
        }
        if (c->state == S_LISTEN) {
            /* The LISTEN statements have run: from now on only notifications. */
            PQclear(c->res);
            c->res = NULL;
            p->stats.listening = 1;
            if (p->listener.reconnected != NULL)
                p->listener.reconnected(p->listener.arg);
            return;
        }
        ExecStatusType st = PQresultStatus(c->res);
        int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : ARC_EDB;
        if (rc != 0)
            p->stats.errors++;
        c->state = S_IDLE;
        finish_query(c, rc);
        if (p->closing) {
            try_close(p);
            return;
        }
        if (c->state == S_IDLE) {
            watch(c, UV_READABLE);
            dispatch(p);
        }
        return;
    }
    default: return;
    }
}

/* Takes the first query still wanted off the queue, or NULL. */
static arc_pg_query_t *pop(arc_pg_pool_t *p)
{
    while (p->head != NULL) {
        arc_pg_query_t *q = p->head;
        p->head = q->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->waiting--;
        if (!q->cancelled)
            return q;
        query_free(q);
    }
    return NULL;
}

static void dispatch(arc_pg_pool_t *p)
{
    for (int i = 0; i < p->size && p->head != NULL; i++) {
        pgconn_t *c = &p->conns[i];
        if (c->state != S_IDLE)
            continue;
        arc_pg_query_t *q = pop(p);
        if (q == NULL)
            return;
        c->q = q;
        q->running = 1;
        c->state = S_BUSY;
        p->stats.queries++;
        if (send_sql(c, q->sql, q->nparams, q->params) != 0)
            conn_down(c, PQerrorMessage(c->pg));
    }
}

static void on_sweep(uv_timer_t *t)
{
    arc_pg_pool_t *p = t->data;
    uint64_t now = uv_now(p->loop);

    /* The queue is in arrival order: the longest waiters are at the head. */
    while (p->head != NULL && now - p->head->enqueued_ms >= p->acquire_timeout_ms) {
        arc_pg_query_t *q = p->head;
        p->head = q->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->waiting--;
        p->stats.timeouts++;
        if (!q->cancelled)
            q->cb(ARC_ETIMEDOUT, NULL, q->arg);
        query_free(q);
    }
}

int arc_pg_pool_create(uv_loop_t *loop, const char *conninfo, int size, uint64_t acquire_timeout_ms,
                       const char *session_sql, const arc_pg_listener_t *listener,
                       arc_pg_pool_t **out)
{
    arc_pg_pool_t *p = arc_xcalloc(1, sizeof(*p));

    p->loop = loop;
    p->conninfo = arc_xstrdup(conninfo ? conninfo : "");
    p->session_sql = session_sql ? arc_xstrdup(session_sql) : NULL;
    p->size = size < 1 ? 1 : size;
    p->acquire_timeout_ms = acquire_timeout_ms;
    p->conns = arc_xcalloc((size_t)p->size, sizeof(pgconn_t));
    p->stats.size = p->size;
    if (listener != NULL && listener->channels != NULL && p->size >= 2) {
        p->listener = *listener;
        size_t len = 1;
        for (const char *const *ch = listener->channels; *ch; ch++)
            len += strlen(*ch) + 16;
        p->listen_sql = arc_xmalloc(len);
        size_t used = 0;
        p->listen_sql[0] = '\0';
        for (const char *const *ch = listener->channels; *ch; ch++)
            used += (size_t)snprintf(p->listen_sql + used, len - used, "LISTEN %s;", *ch);
    }
    uv_timer_init(loop, &p->sweep);
    p->sweep.data = p;
    p->open_handles++;
    uv_timer_start(&p->sweep, on_sweep, 50, 50);
    for (int i = 0; i < p->size; i++) {
        pgconn_t *c = &p->conns[i];
        c->pool = p;
        c->index = i;
        c->fd = -1;
        c->listener = p->listen_sql != NULL && i == 0;
        uv_timer_init(loop, &c->retry);
        c->retry.data = c;
        p->open_handles++;
        connect_start(c);
    }
    *out = p;
    return 0;
}

arc_pg_query_t *arc_pg_query(arc_pg_pool_t *p, const char *sql, int nparams,
                             const char *const *params, arc_pg_query_cb cb, void *arg)
{
    arc_pg_query_t *q = arc_xcalloc(1, sizeof(*q));

    q->sql = arc_xstrdup(sql);
    q->nparams = nparams;
    q->params = arc_xcalloc((size_t)(nparams ? nparams : 1), sizeof(char *));
    for (int i = 0; i < nparams; i++)
        q->params[i] = params[i] ? arc_xstrdup(params[i]) : NULL;
    q->cb = cb;
    q->arg = arg;
    q->enqueued_ms = uv_now(p->loop);
    if (p->closing) {
        /* Never run: report on the next loop turn would need a handle; the
         * caller learns it now instead. */
        cb(ARC_ECANCELED, NULL, arg);
        query_free(q);
        return NULL;
    }
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    p->waiting++;
    dispatch(p);
    return q;
}

void arc_pg_cancel(arc_pg_query_t *q)
{
    if (q != NULL)
        q->cancelled = 1; /* a queued one is dropped at dispatch or sweep */
}

void arc_pg_pool_stats(const arc_pg_pool_t *p, arc_pg_stats_t *out)
{
    *out = p->stats;
    out->connected = out->in_use = 0;
    for (int i = 0; i < p->size; i++) {
        cstate_t s = p->conns[i].state;
        out->connected += s == S_IDLE || s == S_BUSY || s == S_LISTEN || s == S_SETUP;
        out->in_use += s == S_BUSY;
    }
    out->waiting = p->waiting;
    if (p->listen_sql != NULL && p->conns[0].state != S_LISTEN)
        out->listening = 0;
}

static void try_close(arc_pg_pool_t *p)
{
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state == S_BUSY)
            return; /* finish_query() will call back here */
    if (p->open_handles == 0)
        return;
    uv_timer_stop(&p->sweep);
    if (!uv_is_closing((uv_handle_t *)&p->sweep))
        uv_close((uv_handle_t *)&p->sweep, handle_closed);
    for (int i = 0; i < p->size; i++) {
        pgconn_t *c = &p->conns[i];
        stop_poll(c);
        if (c->pg != NULL)
            PQfinish(c->pg);
        c->pg = NULL;
        c->state = S_DOWN;
        uv_timer_stop(&c->retry);
        c->retry.data = p;
        if (!uv_is_closing((uv_handle_t *)&c->retry))
            uv_close((uv_handle_t *)&c->retry, handle_closed);
    }
}

void arc_pg_pool_close(arc_pg_pool_t *p, void (*cb)(arc_pg_pool_t *, void *), void *arg)
{
    p->closing = 1;
    p->close_cb = cb;
    p->close_arg = arg;
    while (p->head != NULL) {
        arc_pg_query_t *q = p->head;
        p->head = q->next;
        p->waiting--;
        if (!q->cancelled)
            q->cb(ARC_ECANCELED, NULL, q->arg);
        query_free(q);
    }
    p->tail = NULL;
    try_close(p);
}
