/*
 * The asynchronous PostgreSQL pool (see include/arcd/pg.h).
 *
 * Each connection moves DOWN -> CONNECTING -> SETUP (session SQL) -> IDLE
 * <-> BUSY; the listening one goes SETUP -> LISTEN (its LISTEN statements in
 * flight) -> LISTENING (notifications only) <-> CHECK (a SELECT 1 in flight,
 * after a quiet spell). A failure anywhere, or no progress within the I/O
 * timeout, takes it back to DOWN and schedules a reconnect. libpq is used
 * only in non-blocking mode, driven by uv_poll events on its socket.
 *
 * One timer per connection serves every wait a connection can be in: while
 * DOWN it is the reconnect delay, while LISTENING the quiet spell before
 * the check, in every other state but IDLE the deadline for the server's
 * next answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/assert.h"
#include "arcd/log.h"
#include "arcd/pg.h"

/* libpq's limit on the parameters of one statement. */
#define MAX_PARAMS 65535

typedef enum {
    S_DOWN,
    S_CONNECTING,
    S_SETUP,
    S_IDLE,
    S_BUSY,
    S_LISTEN,    /* the LISTEN statements are in flight */
    S_LISTENING, /* notifications only */
    S_CHECK      /* listening, and a SELECT 1 is in flight: is the server still there? */
} cstate_t;

struct arc_pg_query_s {
    arc_pg_pool_t *pool;
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
    /* The socket's watcher, or NULL. On the heap: when libpq replaces its
     * socket while connecting, the old watcher closes on its own time while
     * the new one is made. */
    uv_poll_t *poll;
    int fd;
    uv_timer_t timer; /* DOWN: the reconnect delay; else the answer's deadline */
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
    uint64_t io_timeout_ms;
    uint64_t listen_check_ms;
    arc_pg_listener_t listener;
    char *listen_sql;
    pgconn_t *conns;
    arc_pg_query_t *head, *tail; /* waiting queries, cancelled ones included */
    int waiting;                 /* waiting queries not cancelled */
    uv_timer_t sweep;
    int closing;
    int handles_closing; /* the timers are being closed */
    int open_handles;
    void (*close_cb)(arc_pg_pool_t *, void *);
    void *close_arg;
    arc_pg_stats_t stats;
};

static void connect_start(pgconn_t *c);
static void try_close(arc_pg_pool_t *p);
static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static void dispatch(arc_pg_pool_t *p);
static int send_sql(pgconn_t *c, const char *sql, int nparams, char *const *params);

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

static void poll_closed(uv_handle_t *h)
{
    handle_closed(h);
    free(h);
}

static void stop_poll(pgconn_t *c)
{
    if (c->poll != NULL) {
        uv_poll_stop(c->poll);
        c->poll->data = c->pool; /* handle_closed() counts on the pool */
        uv_close((uv_handle_t *)c->poll, poll_closed);
        c->poll = NULL;
    }
}

/* Watches the connection's socket for events; a new socket (libpq can change
 * it while connecting) gets a new watcher. */
static void watch(pgconn_t *c, int events)
{
    int fd = PQsocket(c->pg);

    if (c->poll != NULL && fd != c->fd)
        stop_poll(c);
    if (c->poll == NULL) {
        c->poll = arc_xmalloc(sizeof(*c->poll));
        c->fd = fd;
        uv_poll_init(c->pool->loop, c->poll, fd);
        c->poll->data = c;
        c->pool->open_handles++;
    }
    uv_poll_start(c->poll, events, on_poll);
}

/* Waits at most the I/O timeout for the server's next answer. */
static void arm_deadline(pgconn_t *c)
{
    uv_timer_start(&c->timer, on_timer, c->pool->io_timeout_ms, 0);
}

/* The listening connection has just heard from the server: it checks the
 * server is still there after the next quiet spell. */
static void arm_quiet(pgconn_t *c)
{
    ARC_ASSERT(c->state == S_LISTENING);
    uv_timer_start(&c->timer, on_timer, c->pool->listen_check_ms, 0);
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

/* The connection broke, could not be made or went silent: fail its query,
 * schedule a reconnect. */
static void conn_down(pgconn_t *c, const char *why)
{
    arc_pg_pool_t *p = c->pool;
    int was_up = c->state == S_IDLE || c->state == S_BUSY || c->state == S_LISTEN ||
                 c->state == S_LISTENING || c->state == S_CHECK;
    const char *reason = why && why[0] ? why : "(no message)";

    ARC_ASSERT(c->state != S_DOWN);
    if (was_up)
        arc_log_msg(ARC_LOG_ERROR, "database connection %d lost: %.*s", c->index,
                    (int)strcspn(reason, "\n"), reason);
    uv_timer_stop(&c->timer);
    stop_poll(c);
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
    c->state = S_DOWN;
    if (c->listener)
        p->stats.listening = 0;
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
    uv_timer_start(&c->timer, on_timer, c->backoff_ms, 0);
}

static void on_timer(uv_timer_t *t)
{
    pgconn_t *c = t->data;
    char why[96];

    if (c->state == S_DOWN) {
        connect_start(c);
        return;
    }
    if (c->state == S_LISTENING) {
        /* Nothing from the server for a while: a LISTEN connection whose
         * peer vanished without a FIN (a network cut, a server's host gone)
         * would wait for ever, and so would every notification. A cheap
         * statement must be answered within the I/O timeout (send_sql()
         * arms it), or the connection is remade. */
        c->state = S_CHECK;
        if (send_sql(c, "SELECT 1", 0, NULL) != 0)
            conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    snprintf(why, sizeof(why), "no answer from the database server in %llu ms",
             (unsigned long long)c->pool->io_timeout_ms);
    conn_down(c, why);
}

static void connect_start(pgconn_t *c)
{
    /* TCP keepalives, before the caller's connection string so that its own
     * settings win: an idle connection whose peer is gone is found in about
     * a minute (30 s idle, 3 probes 10 s apart), not after the system's two
     * hours. libpq applies them to every socket it tries. */
    static const char *const keys[] = {"keepalives",       "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "dbname",          NULL};
    const char *values[] = {"1", "30", "10", "3", c->pool->conninfo, NULL};

    ARC_ASSERT(c->state == S_DOWN && c->pg == NULL && c->q == NULL && c->poll == NULL);
    ARC_ASSERT(!c->pool->closing);
    /* expand_dbname: the conninfo is a whole connection string or URI. */
    c->pg = PQconnectStartParams(keys, values, 1);
    c->state = S_CONNECTING;
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_down(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    PQsetnonblocking(c->pg, 1);
    arm_deadline(c);
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
    arm_deadline(c);
    watch(c, f == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    return 0;
}

static void become_idle(pgconn_t *c)
{
    ARC_ASSERT((c->state == S_CONNECTING || c->state == S_SETUP) && c->q == NULL);
    c->backoff_ms = 0;
    if (c->listener && c->pool->listen_sql != NULL) {
        c->state = S_LISTEN;
        if (send_sql(c, c->pool->listen_sql, 0, NULL) != 0)
            conn_down(c, PQerrorMessage(c->pg));
        return;
    }
    c->state = S_IDLE;
    uv_timer_stop(&c->timer);
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

/* Reads what has arrived; returns 1 when every result of the statement is
 * in, 0 when more is to come, -1 when the connection must go (broken, or
 * an answer the pool never asks for), -2 when a notification's receiver
 * closed the pool meanwhile (the connection is gone). */
static int read_results(pgconn_t *c)
{
    if (!PQconsumeInput(c->pg))
        return -1;
    deliver_notifications(c);
    if (c->pg == NULL)
        return -2;
    while (!PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (r == NULL)
            return 1;
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_COPY_OUT || rs == PGRES_COPY_IN || rs == PGRES_COPY_BOTH) {
            /* A COPY the pool never started: libpq would hand out the same
             * state forever. */
            PQclear(r);
            return -1;
        }
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

static void on_connecting(pgconn_t *c)
{
    arc_pg_pool_t *p = c->pool;
    PostgresPollingStatusType st = PQconnectPoll(c->pg);

    if (st == PGRES_POLLING_FAILED) {
        conn_down(c, PQerrorMessage(c->pg));
    } else if (st == PGRES_POLLING_READING) {
        watch(c, UV_READABLE);
    } else if (st == PGRES_POLLING_WRITING) {
        watch(c, UV_WRITABLE);
    } else if (st == PGRES_POLLING_OK) {
        if (c->backoff_ms > 0 || p->stats.reconnects > 0)
            arc_log_msg(ARC_LOG_INFO, "database connection %d is up", c->index);
        if (p->session_sql != NULL) {
            c->state = S_SETUP;
            if (send_sql(c, p->session_sql, 0, NULL) != 0)
                conn_down(c, PQerrorMessage(c->pg));
        } else {
            become_idle(c);
        }
    }
}

/* Every result of the connection's statement is in. */
static void on_results(pgconn_t *c)
{
    arc_pg_pool_t *p = c->pool;

    switch (c->state) {
    case S_SETUP: {
        int ok =
            PQresultStatus(c->res) == PGRES_COMMAND_OK || PQresultStatus(c->res) == PGRES_TUPLES_OK;
        if (!ok)
            arc_log_msg(ARC_LOG_ERROR, "database session setup failed: %s",
                        PQresultErrorMessage(c->res));
        PQclear(c->res);
        c->res = NULL;
        become_idle(c);
        return;
    }
    case S_LISTEN:
        /* The LISTEN statements have run: from now on only notifications. */
        PQclear(c->res);
        c->res = NULL;
        c->state = S_LISTENING;
        arm_quiet(c);
        p->stats.listening = 1;
        if (p->listener.reconnected != NULL)
            p->listener.reconnected(p->listener.arg);
        return;
    case S_CHECK:
        /* The server answered (whatever it said, it is there). */
        PQclear(c->res);
        c->res = NULL;
        c->state = S_LISTENING;
        arm_quiet(c);
        return;
    case S_BUSY: {
        ARC_ASSERT(c->q != NULL);
        ExecStatusType st = PQresultStatus(c->res);
        int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : ARC_EDB;
        if (rc != 0)
            p->stats.errors++;
        c->state = S_IDLE;
        uv_timer_stop(&c->timer);
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
    default:
        /* Something the server said unasked (an error before it closes an
         * idle connection): nothing waits for it. */
        PQclear(c->res);
        c->res = NULL;
        return;
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    pgconn_t *c = h->data;

    if (c->state == S_CONNECTING) {
        /* libpq looks at the socket's error itself, and moves on to the
         * next address or host of the connection string when one fails. */
        on_connecting(c);
        return;
    }
    if (status < 0) {
        conn_down(c, uv_strerror(status));
        return;
    }
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
    if (done == -2)
        return;
    if (done < 0 || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_down(c, done < 0 && PQstatus(c->pg) == CONNECTION_OK
                         ? "the server answered with a COPY nobody asked for"
                         : PQerrorMessage(c->pg));
        return;
    }
    if (done == 1 && c->res != NULL)
        on_results(c);
    else if (c->state == S_LISTENING)
        arm_quiet(c); /* a notification: the server is there */
}

/* Takes the first query still wanted off the queue, or NULL. */
static arc_pg_query_t *pop(arc_pg_pool_t *p)
{
    while (p->head != NULL) {
        arc_pg_query_t *q = p->head;
        p->head = q->next;
        if (p->head == NULL)
            p->tail = NULL;
        if (!q->cancelled) {
            p->waiting--;
            ARC_ASSERT(p->waiting >= 0);
            return q;
        }
        query_free(q);
    }
    return NULL;
}

/* Puts q back at the head of the queue (it was never sent). */
static void push_front(arc_pg_pool_t *p, arc_pg_query_t *q)
{
    q->running = 0;
    q->next = p->head;
    p->head = q;
    if (p->tail == NULL)
        p->tail = q;
    p->waiting++;
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
        ARC_ASSERT(c->q == NULL && c->res == NULL);
        q->running = 1;
        c->state = S_BUSY;
        if (send_sql(c, q->sql, q->nparams, q->params) != 0) {
            /* Never sent: the query waits for another connection (its
             * callback must not run inside arc_pg_query, which may be what
             * called us), and this connection is remade. */
            push_front(p, q);
            conn_down(c, PQerrorMessage(c->pg));
            continue;
        }
        c->q = q;
        p->stats.queries++;
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
        if (!q->cancelled) {
            p->waiting--;
            p->stats.timeouts++;
            q->cb(ARC_ETIMEDOUT, NULL, q->arg);
        }
        query_free(q);
    }
}

int arc_pg_pool_create(uv_loop_t *loop, const arc_pg_opts_t *opts, arc_pg_pool_t **out)
{
    arc_pg_pool_t *p = arc_xcalloc(1, sizeof(*p));
    const arc_pg_listener_t *listener = opts->listener;

    p->loop = loop;
    p->conninfo = arc_xstrdup(opts->conninfo ? opts->conninfo : "");
    p->session_sql = opts->session_sql ? arc_xstrdup(opts->session_sql) : NULL;
    p->size = opts->size < 1 ? 1 : opts->size;
    p->acquire_timeout_ms = opts->acquire_timeout_ms;
    p->io_timeout_ms = opts->io_timeout_ms ? opts->io_timeout_ms : 30000;
    p->listen_check_ms = opts->listen_check_ms ? opts->listen_check_ms : 30000;
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
        uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        p->open_handles++;
        connect_start(c);
    }
    *out = p;
    return 0;
}

arc_pg_query_t *arc_pg_query(arc_pg_pool_t *p, const char *sql, int nparams,
                             const char *const *params, arc_pg_query_cb cb, void *arg)
{
    if (nparams < 0 || nparams > MAX_PARAMS) {
        /* A programming error, as out-of-memory is: nothing sensible goes on. */
        arc_log_msg(ARC_LOG_ERROR, "a query with %d parameters (libpq takes at most %d)", nparams,
                    MAX_PARAMS);
        abort();
    }
    if (p->closing) {
        /* Never run: the caller learns it now. */
        cb(ARC_ECANCELED, NULL, arg);
        return NULL;
    }
    arc_pg_query_t *q = arc_xcalloc(1, sizeof(*q));
    q->pool = p;
    q->sql = arc_xstrdup(sql);
    q->nparams = nparams;
    q->params = arc_xcalloc((size_t)(nparams ? nparams : 1), sizeof(char *));
    for (int i = 0; i < nparams; i++)
        q->params[i] = params[i] ? arc_xstrdup(params[i]) : NULL;
    q->cb = cb;
    q->arg = arg;
    q->enqueued_ms = uv_now(p->loop);
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
    if (q == NULL || q->cancelled)
        return;
    q->cancelled = 1; /* a queued one is dropped at dispatch or sweep */
    if (!q->running)
        q->pool->waiting--;
}

void arc_pg_pool_stats(const arc_pg_pool_t *p, arc_pg_stats_t *out)
{
    *out = p->stats;
    out->connected = out->in_use = 0;
    for (int i = 0; i < p->size; i++) {
        cstate_t s = p->conns[i].state;
        out->connected += s != S_DOWN && s != S_CONNECTING;
        out->in_use += s == S_BUSY;
    }
    out->waiting = p->waiting;
}

/* Closes every connection that is not running a query; once none is, the
 * timers too (the close callback runs when every handle is closed). */
static void try_close(arc_pg_pool_t *p)
{
    int busy = 0;

    for (int i = 0; i < p->size; i++) {
        pgconn_t *c = &p->conns[i];
        if (c->state == S_BUSY) {
            busy = 1; /* its deadline stays armed: a silent server does not hold the close */
            continue;
        }
        uv_timer_stop(&c->timer);
        stop_poll(c);
        if (c->pg != NULL)
            PQfinish(c->pg);
        c->pg = NULL;
        c->state = S_DOWN;
        if (c->listener)
            p->stats.listening = 0;
    }
    if (busy || p->handles_closing)
        return;
    p->handles_closing = 1;
    uv_timer_stop(&p->sweep);
    uv_close((uv_handle_t *)&p->sweep, handle_closed);
    for (int i = 0; i < p->size; i++) {
        p->conns[i].timer.data = p;
        uv_close((uv_handle_t *)&p->conns[i].timer, handle_closed);
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
        if (!q->cancelled) {
            p->waiting--;
            q->cb(ARC_ECANCELED, NULL, q->arg);
        }
        query_free(q);
    }
    p->tail = NULL;
    try_close(p);
}

int arc_pg_columns(const PGresult *res, const char *const *names, int n, int *col, arc_err_t *err)
{
    for (int i = 0; i < n; i++) {
        col[i] = PQfnumber(res, names[i]);
        if (col[i] < 0)
            return arc_err_set(err, ARC_EINTERNAL, "the query's result has no column '%s'",
                               names[i]);
    }
    return 0;
}

const char *arc_pg_value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}
