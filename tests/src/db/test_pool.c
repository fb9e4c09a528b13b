/*
 * Tests for src/db/pool.c, the asynchronous PostgreSQL pool, driven without a
 * PostgreSQL server.
 *
 * With nothing listening, queries wait and time out, can be cancelled, and
 * fail when the pool closes. Then a fake server on the test's own loop
 * (127.0.0.1, a port the kernel picks) speaks just enough of the v3 wire
 * protocol for libpq: the startup, simple queries (the session SQL, LISTEN)
 * and the extended protocol PQsendQueryParams uses, answered with one text
 * column, "value", that echoes the first parameter. It can also hold its
 * answers, answer with an error, close a connection in the middle of a query
 * and send notifications, so each state of the pool is reached on purpose
 * rather than by timing. It can also misbehave as real servers do: refuse
 * the first startup (libpq then retries on a new socket), never answer a
 * startup, hold its answer to LISTEN, stop reading a connection and hang
 * up, or go deaf on one (read nothing, answer nothing, close nothing: a
 * server behind a cut network). Every wait is bounded (WAIT_MS) and each
 * test ends by checking that its loop closes with no handle left open. The
 * regression tests at the end are each named after the defect of an earlier
 * pool they guard against.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../test.h"
#include "arcd/buf.h"
#include "arcd/error.h"
#include "arcd/pg.h"

/* The bound on every wait: far above what any step needs, even on a loaded
 * machine, and short enough that a broken pool fails rather than hangs. */
#define WAIT_MS 5000
#define MAX_CONNS 16

/* Two statements, as the daemon's session SQL has. */
#define SESSION_SQL "SET statement_timeout = 5000; SET application_name = 'arcd'"
#define SELECT_SQL "SELECT $1::text AS value"

/* ---- the fake server ---- */

typedef enum { FAKE_ANSWER, FAKE_HOLD, FAKE_FAIL, FAKE_DROP, FAKE_COPY } fake_mode_t;

typedef struct fake_s fake_t;

/* What the server saw on one connection; kept after the connection closes. */
typedef struct seen_s {
    int simple;      /* simple queries ('Q') */
    int extended;    /* extended queries (Parse ... Sync) */
    char first[128]; /* the first statement: "Q:<sql>" or "P:<sql>" */
    char listen[96]; /* the simple query that sent LISTEN, if one did */
    int client_fd;   /* the pool's end of the connection, at its startup */
} seen_t;

typedef struct fake_conn_s {
    uv_tcp_t tcp;
    fake_t *fake;
    int index;       /* in fake->seen and fake->conns (-1: refused) */
    int started;     /* the StartupMessage has been answered */
    int held;        /* an extended query waits for fake_release() */
    int listen_held; /* a LISTEN waits for fake_release() */
    int param_null;
    char param[64]; /* the first parameter of the last Bind */
    arc_buf_t in;
    char rbuf[4096];
} fake_conn_t;

struct fake_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    fake_mode_t mode; /* how the next extended queries are answered */
    int accepted;
    int simple, extended, held;
    int listen_conn; /* the connection that last sent LISTEN, or -1 */
    char order[32];  /* the first parameters, in the order the queries came */
    /* Misbehaviours, all off after fake_start(). */
    int reject_first;   /* refuse the first startup (FATAL 28000) and close */
    int rejected;       /* it did */
    int free_at_reject; /* a descriptor to close then, or -1 */
    int mute;           /* never answer a startup */
    int hold_listen;    /* hold LISTEN statements until fake_release() */
    int listen_held;
    fake_conn_t *conns[MAX_CONNS];
    seen_t seen[MAX_CONNS];
};

enum { PROTOCOL_3_0 = 196608, SSL_REQUEST = 80877103, GSSENC_REQUEST = 80877104 };

typedef struct wreq_s {
    uv_write_t req; /* first: the callback gets this back */
    char *data;
} wreq_t;

static uint32_t get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static int get_u16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    return u[0] << 8 | u[1];
}

/* The NUL-terminated string at *off in body, or NULL when it runs past len. */
static const char *take_str(const char *body, size_t len, size_t *off)
{
    const char *s = body + *off;
    const char *nul = *off < len ? memchr(s, '\0', len - *off) : NULL;

    if (nul == NULL)
        return NULL;
    *off += (size_t)(nul - s) + 1;
    return s;
}

static void put_i16(arc_buf_t *b, int v)
{
    uint16_t n = htons((uint16_t)v);

    arc_buf_append(b, &n, 2);
}

static void put_i32(arc_buf_t *b, int32_t v)
{
    uint32_t n = htonl((uint32_t)v);

    arc_buf_append(b, &n, 4);
}

static void put_str(arc_buf_t *b, const char *s)
{
    arc_buf_append(b, s, strlen(s) + 1);
}

/* Starts a message; msg_end() fills in its length. */
static size_t msg_begin(arc_buf_t *b, char type)
{
    size_t at;

    arc_buf_append(b, &type, 1);
    at = b->len;
    put_i32(b, 0);
    return at;
}

static void msg_end(arc_buf_t *b, size_t at)
{
    uint32_t n = htonl((uint32_t)(b->len - at));

    memcpy(b->data + at, &n, 4);
}

static void put_ready(arc_buf_t *b)
{
    size_t at = msg_begin(b, 'Z');

    arc_buf_append(b, "I", 1);
    msg_end(b, at);
}

static void on_fake_written(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;

    (void)status; /* a connection closed under its write: nothing to do */
    free(w->data);
    free(w);
}

/* Sends what b holds and empties it. */
static void fake_send(fake_conn_t *c, arc_buf_t *b)
{
    size_t len = b->len;
    wreq_t *w;
    uv_buf_t buf;

    if (len == 0 || uv_is_closing((uv_handle_t *)&c->tcp)) {
        arc_buf_dispose(b);
        return;
    }
    w = arc_xcalloc(1, sizeof(*w));
    w->data = arc_buf_detach(b);
    buf = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_fake_written) != 0) {
        free(w->data);
        free(w);
    }
}

static void on_fake_conn_closed(uv_handle_t *h)
{
    fake_conn_t *c = h->data;

    arc_buf_dispose(&c->in);
    free(c);
}

static void fake_conn_close(fake_conn_t *c)
{
    fake_t *f = c->fake;

    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->held) {
        c->held = 0;
        f->held--;
    }
    if (c->listen_held) {
        c->listen_held = 0;
        f->listen_held--;
    }
    if (c->index >= 0)
        f->conns[c->index] = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_fake_conn_closed);
}

/* The pool's end of connection c, found by its address, or -1. */
static int client_fd(fake_conn_t *c)
{
    struct sockaddr_in peer, local;
    int n = sizeof(peer);

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &n) != 0)
        return -1;
    for (int fd = 0; fd < 1024; fd++) {
        socklen_t len = sizeof(local);
        if (getsockname(fd, (struct sockaddr *)&local, &len) == 0 && local.sin_family == AF_INET &&
            local.sin_port == peer.sin_port && local.sin_addr.s_addr == peer.sin_addr.s_addr)
            return fd;
    }
    return -1;
}

/* What the server sends when pg_hba.conf has no entry for the client (for
 * a connection without SSL, say), then the close. */
static void fake_reject(fake_conn_t *c)
{
    arc_buf_t b = ARC_BUF_INIT;
    size_t at = msg_begin(&b, 'E');

    arc_buf_append(&b, "S", 1);
    put_str(&b, "FATAL");
    arc_buf_append(&b, "C", 1);
    put_str(&b, "28000");
    arc_buf_append(&b, "M", 1);
    put_str(&b, "no pg_hba.conf entry for host \"127.0.0.1\", no encryption");
    arc_buf_append(&b, "", 1);
    msg_end(&b, at);
    fake_send(c, &b);
    fake_conn_close(c);
}

/* AuthenticationOk, the parameters libpq looks at, BackendKeyData, and
 * ReadyForQuery: a server that trusts everyone. */
static void answer_startup(fake_conn_t *c)
{
    static const char *const params[][2] = {
        {"server_version", "15.0"},
        {"client_encoding", "UTF8"},
        {"standard_conforming_strings", "on"},
        {"integer_datetimes", "on"},
        {"DateStyle", "ISO, MDY"},
    };
    arc_buf_t b = ARC_BUF_INIT;
    size_t at = msg_begin(&b, 'R');

    put_i32(&b, 0);
    msg_end(&b, at);
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        at = msg_begin(&b, 'S');
        put_str(&b, params[i][0]);
        put_str(&b, params[i][1]);
        msg_end(&b, at);
    }
    at = msg_begin(&b, 'K');
    put_i32(&b, 1000 + c->index);
    put_i32(&b, 4242);
    msg_end(&b, at);
    put_ready(&b);
    fake_send(c, &b);
}

/* One CommandComplete per statement, tagged with its first word, as the
 * server does for "SET ...; SET ..." or "LISTEN a;LISTEN b;". */
static void answer_simple(fake_conn_t *c, const char *sql)
{
    arc_buf_t b = ARC_BUF_INIT;
    const char *s = sql;
    int n = 0;

    while (*s != '\0') {
        s += strspn(s, " \t\n;");
        size_t word = strcspn(s, " \t\n;");
        if (word == 0)
            break;
        size_t at = msg_begin(&b, 'C');
        arc_buf_append(&b, s, word);
        arc_buf_append(&b, "", 1);
        msg_end(&b, at);
        n++;
        s += strcspn(s, ";");
    }
    if (n == 0)
        msg_end(&b, msg_begin(&b, 'I')); /* EmptyQueryResponse */
    put_ready(&b);
    fake_send(c, &b);
}

/* The answer to Parse, Bind, Describe (portal), Execute, Sync: one row of
 * one text column, "value", holding the first parameter. */
static void answer_row(fake_conn_t *c)
{
    arc_buf_t b = ARC_BUF_INIT;
    size_t at;

    msg_end(&b, msg_begin(&b, '1'));
    msg_end(&b, msg_begin(&b, '2'));
    at = msg_begin(&b, 'T');
    put_i16(&b, 1);
    put_str(&b, "value");
    put_i32(&b, 0);  /* table */
    put_i16(&b, 0);  /* column of the table */
    put_i32(&b, 25); /* text */
    put_i16(&b, -1); /* variable length */
    put_i32(&b, -1); /* no type modifier */
    put_i16(&b, 0);  /* text format */
    msg_end(&b, at);
    at = msg_begin(&b, 'D');
    put_i16(&b, 1);
    if (c->param_null) {
        put_i32(&b, -1);
    } else {
        put_i32(&b, (int32_t)strlen(c->param));
        arc_buf_append(&b, c->param, strlen(c->param));
    }
    msg_end(&b, at);
    at = msg_begin(&b, 'C');
    put_str(&b, "SELECT 1");
    msg_end(&b, at);
    put_ready(&b);
    fake_send(c, &b);
}

/* What the server sends for a statement naming a missing table. */
static void answer_error(fake_conn_t *c)
{
    arc_buf_t b = ARC_BUF_INIT;
    size_t at = msg_begin(&b, 'E');

    arc_buf_append(&b, "S", 1);
    put_str(&b, "ERROR");
    arc_buf_append(&b, "V", 1);
    put_str(&b, "ERROR");
    arc_buf_append(&b, "C", 1);
    put_str(&b, "42P01");
    arc_buf_append(&b, "M", 1);
    put_str(&b, "relation \"nope\" does not exist");
    arc_buf_append(&b, "", 1);
    msg_end(&b, at);
    put_ready(&b);
    fake_send(c, &b);
}

/* Keeps the first parameter of a Bind for the answer. Returns 0 or -1. */
static int read_bind(fake_conn_t *c, const char *body, size_t len)
{
    size_t off = 0;
    int nparams;
    int32_t plen;

    if (take_str(body, len, &off) == NULL || take_str(body, len, &off) == NULL || len - off < 2)
        return -1;
    off += 2 + 2 * (size_t)get_u16(body + off); /* the parameter formats */
    if (off + 2 > len)
        return -1;
    nparams = get_u16(body + off);
    off += 2;
    c->param_null = 1;
    c->param[0] = '\0';
    if (nparams == 0)
        return 0;
    if (off + 4 > len)
        return -1;
    plen = (int32_t)get_u32(body + off);
    off += 4;
    if (plen < 0)
        return 0; /* SQL NULL */
    if ((size_t)plen > len - off)
        return -1;
    c->param_null = 0;
    snprintf(c->param, sizeof(c->param), "%.*s", (int)plen, body + off);
    return 0;
}

/* Sync ends an extended query: answer it as the mode says. Returns -1 when
 * the connection was closed. */
static int fake_sync(fake_conn_t *c)
{
    fake_t *f = c->fake;
    size_t n = strlen(f->order);

    f->extended++;
    f->seen[c->index].extended++;
    if (n + 1 < sizeof(f->order)) {
        f->order[n] = c->param_null ? '-' : c->param[0];
        f->order[n + 1] = '\0';
    }
    switch (f->mode) {
    case FAKE_ANSWER: answer_row(c); return 0;
    case FAKE_HOLD:
        c->held = 1;
        f->held++;
        return 0;
    case FAKE_FAIL: answer_error(c); return 0;
    case FAKE_COPY: {
        /* A COPY TO STDOUT's answer, which the pool never asks for. */
        arc_buf_t b = ARC_BUF_INIT;
        size_t at;
        msg_end(&b, msg_begin(&b, '1'));
        msg_end(&b, msg_begin(&b, '2'));
        at = msg_begin(&b, 'H'); /* CopyOutResponse: text, one column */
        arc_buf_append(&b, "", 1);
        put_i16(&b, 1);
        put_i16(&b, 0);
        msg_end(&b, at);
        at = msg_begin(&b, 'd');
        arc_buf_append(&b, "x\n", 2);
        msg_end(&b, at);
        msg_end(&b, msg_begin(&b, 'c'));
        at = msg_begin(&b, 'C');
        put_str(&b, "COPY 1");
        msg_end(&b, at);
        put_ready(&b);
        fake_send(c, &b);
        return 0;
    }
    case FAKE_DROP:
        f->mode = FAKE_ANSWER; /* once */
        fake_conn_close(c);
        return -1;
    }
    return 0;
}

/* One message after the startup. Returns -1 when the connection was closed. */
static int fake_message(fake_conn_t *c, int type, const char *body, size_t len)
{
    fake_t *f = c->fake;
    seen_t *seen = &f->seen[c->index];
    size_t off = 0;
    const char *sql;

    switch (type) {
    case 'Q':
        if ((sql = take_str(body, len, &off)) == NULL)
            break;
        f->simple++;
        seen->simple++;
        if (seen->first[0] == '\0')
            snprintf(seen->first, sizeof(seen->first), "Q:%s", sql);
        if (strncmp(sql, "LISTEN", 6) == 0) {
            snprintf(seen->listen, sizeof(seen->listen), "%s", sql);
            f->listen_conn = c->index;
            if (f->hold_listen) {
                c->listen_held = 1;
                f->listen_held++;
                return 0;
            }
        }
        answer_simple(c, sql);
        return 0;
    case 'P':
        if (take_str(body, len, &off) == NULL || (sql = take_str(body, len, &off)) == NULL)
            break;
        if (seen->first[0] == '\0')
            snprintf(seen->first, sizeof(seen->first), "P:%s", sql);
        return 0;
    case 'B':
        if (read_bind(c, body, len) != 0)
            break;
        return 0;
    case 'S': return fake_sync(c);
    case 'X': /* Terminate */ break;
    default: return 0; /* Describe, Execute: answered at Sync */
    }
    fake_conn_close(c);
    return -1;
}

/* Handles every whole message that has arrived. */
static void fake_parse(fake_conn_t *c)
{
    for (;;) {
        const char *p = c->in.data;
        size_t avail = c->in.len;
        size_t len;

        if (!c->started) {
            /* The StartupMessage and the SSL and GSS requests have no type byte. */
            if (avail < 8)
                return;
            len = get_u32(p);
            if (len < 8 || len > 10000) {
                fake_conn_close(c);
                return;
            }
            if (avail < len)
                return;
            uint32_t code = get_u32(p + 4);
            arc_buf_consume(&c->in, len);
            if (code == SSL_REQUEST || code == GSSENC_REQUEST) {
                arc_buf_t b = ARC_BUF_INIT;
                arc_buf_append(&b, "N", 1);
                fake_send(c, &b);
            } else if (code == PROTOCOL_3_0) {
                c->fake->seen[c->index].client_fd = client_fd(c);
                if (c->fake->mute)
                    continue; /* read, never answered */
                if (c->fake->reject_first && !c->fake->rejected) {
                    c->fake->rejected = 1;
                    if (c->fake->free_at_reject >= 0)
                        close(c->fake->free_at_reject);
                    c->fake->free_at_reject = -1;
                    fake_reject(c);
                    return;
                }
                c->started = 1;
                answer_startup(c);
            } else {
                fake_conn_close(c);
                return;
            }
            continue;
        }
        if (avail < 5)
            return;
        len = get_u32(p + 1);
        if (len < 4 || len > (1u << 20)) {
            fake_conn_close(c);
            return;
        }
        if (avail < 1 + len)
            return;
        int rc = fake_message(c, p[0], p + 5, len - 4);
        arc_buf_consume(&c->in, 1 + len);
        if (rc != 0)
            return;
    }
}

static void on_fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    fake_conn_t *c = h->data;

    (void)suggested;
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fake_conn_t *c = s->data;

    if (n < 0) {
        fake_conn_close(c);
        return;
    }
    arc_buf_append(&c->in, buf->base, (size_t)n);
    fake_parse(c);
}

static void on_fake_connection(uv_stream_t *server, int status)
{
    fake_t *f = server->data;
    fake_conn_t *c;

    if (status < 0)
        return;
    c = arc_xcalloc(1, sizeof(*c));
    c->fake = f;
    c->index = -1;
    uv_tcp_init(f->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || f->accepted == MAX_CONNS) {
        fake_conn_close(c);
        return;
    }
    c->index = f->accepted++;
    f->conns[c->index] = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_fake_alloc, on_fake_read);
}

/* Starts listening on 127.0.0.1 at a port the kernel picks; returns it, or 0. */
static int fake_start(fake_t *f, uv_loop_t *loop)
{
    struct sockaddr_in sa;
    int n = sizeof(sa);

    memset(f, 0, sizeof(*f));
    f->loop = loop;
    f->listen_conn = -1;
    f->free_at_reject = -1;
    uv_tcp_init(loop, &f->listener);
    f->listener.data = f;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    if (uv_tcp_bind(&f->listener, (const struct sockaddr *)&sa, 0) != 0 ||
        uv_listen((uv_stream_t *)&f->listener, 16, on_fake_connection) != 0 ||
        uv_tcp_getsockname(&f->listener, (struct sockaddr *)&sa, &n) != 0)
        return 0;
    return ntohs(sa.sin_port);
}

static void fake_stop(fake_t *f)
{
    uv_close((uv_handle_t *)&f->listener, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        if (f->conns[i] != NULL)
            fake_conn_close(f->conns[i]);
}

/* Answers the held queries and LISTEN statements; later ones are answered
 * at once. */
static void fake_release(fake_t *f)
{
    f->mode = FAKE_ANSWER;
    f->hold_listen = 0;
    for (int i = 0; i < MAX_CONNS; i++) {
        fake_conn_t *c = f->conns[i];
        if (c != NULL && c->held) {
            c->held = 0;
            f->held--;
            answer_row(c);
        }
        if (c != NULL && c->listen_held) {
            c->listen_held = 0;
            f->listen_held--;
            answer_simple(c, f->seen[i].listen);
        }
    }
}

/* Connection i goes deaf: the server reads nothing more and answers
 * nothing, and neither closes nor resets it, as a server behind a cut
 * network (or on a host that died) looks to the pool. Returns 0 or -1. */
static int fake_deafen(fake_t *f, int i)
{
    if (i < 0 || i >= MAX_CONNS || f->conns[i] == NULL)
        return -1;
    return uv_read_stop((uv_stream_t *)&f->conns[i]->tcp) == 0 ? 0 : -1;
}

/* NotificationResponse on connection i, as NOTIFY in another session sends. */
static int fake_notify(fake_t *f, int i, const char *channel, const char *payload)
{
    arc_buf_t b = ARC_BUF_INIT;
    size_t at;

    if (i < 0 || i >= MAX_CONNS || f->conns[i] == NULL)
        return -1;
    at = msg_begin(&b, 'A');
    put_i32(&b, 77);
    put_str(&b, channel);
    put_str(&b, payload);
    msg_end(&b, at);
    fake_send(f->conns[i], &b);
    return 0;
}

/* ---- the test's side: a loop, a pool, what the callbacks saw ---- */

typedef struct env_s {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps a waiting loop turning, so every wait ends */
    int has_fake;
    fake_t fake;
    int port; /* the fake server's, or one where nothing listens */
    char conninfo[256];
    uint64_t io_timeout_ms;   /* 0: the pool's default */
    uint64_t listen_check_ms; /* 0: the pool's default */
    arc_pg_pool_t *pool;
    int closing; /* arc_pg_pool_close() was called */
    int closed;  /* its callback ran */
    arc_pg_pool_t *closed_pool;
    uint64_t closed_at_ms;
    char order[32]; /* the tags of the query callbacks, in the order they ran */
    int notified, reconnected;
    char channel[64], payload[64];
} env_t;

/* What a query's callback saw. */
typedef struct call_s {
    env_t *env;
    char tag; /* appended to env->order when the callback runs */
    int n;    /* times the callback ran */
    int status;
    int closed_at_cb; /* env->closed when it ran */
    uint64_t at_ms;
    int has_res;
    ExecStatusType res_status;
    int ntuples;
    int col;        /* arc_pg_columns() for "value" */
    int cols_rc;    /* its return */
    int missing_rc; /* arc_pg_columns() for "value" and "missing" */
    arc_err_t missing_err;
    int is_null;
    char value[64];
    char error[256];
    char sqlstate[8];
    struct call_s *nested; /* on_query_then_ask(): the query it makes */
    arc_pg_query_t *nested_q;
} call_t;

static void on_query(int status, PGresult *res, void *arg)
{
    static const char *const cols[] = {"value", "missing"};
    call_t *c = arg;
    env_t *e = c->env;
    arc_err_t err;
    int col[2];

    c->n++;
    c->status = status;
    c->at_ms = uv_now(&e->loop);
    c->closed_at_cb = e->closed;
    if (c->tag != '\0' && strlen(e->order) + 1 < sizeof(e->order))
        e->order[strlen(e->order)] = c->tag;
    if (res == NULL)
        return;
    c->has_res = 1;
    c->res_status = PQresultStatus(res);
    snprintf(c->error, sizeof(c->error), "%s", PQresultErrorMessage(res));
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
    if (c->res_status != PGRES_TUPLES_OK)
        return;
    c->ntuples = PQntuples(res);
    c->cols_rc = arc_pg_columns(res, cols, 1, col, &err);
    c->col = col[0];
    if (c->cols_rc == 0 && c->ntuples > 0) {
        const char *v = arc_pg_value(res, 0, col[0]);
        c->is_null = v == NULL;
        snprintf(c->value, sizeof(c->value), "%s", v ? v : "");
    }
    c->missing_rc = arc_pg_columns(res, cols, 2, col, &c->missing_err);
}

/* Queues SELECT_SQL with one parameter (NULL: SQL NULL) for call c. */
static arc_pg_query_t *ask(env_t *e, call_t *c, const char *param)
{
    const char *params[1] = {param};

    c->env = e;
    c->tag = param ? param[0] : '-';
    return arc_pg_query(e->pool, SELECT_SQL, 1, params, on_query, c);
}

/* A callback that queues another query from inside itself, as a handler
 * that retries would. */
static void on_query_then_ask(int status, PGresult *res, void *arg)
{
    call_t *c = arg;

    on_query(status, res, arg);
    c->nested_q = ask(c->env, c->nested, "n");
}

static void on_closed(arc_pg_pool_t *pool, void *arg)
{
    env_t *e = arg;

    e->closed++;
    e->closed_pool = pool;
    e->closed_at_ms = uv_now(&e->loop);
}

static void on_notify(const char *channel, const char *payload, void *arg)
{
    env_t *e = arg;

    e->notified++;
    snprintf(e->channel, sizeof(e->channel), "%s", channel);
    snprintf(e->payload, sizeof(e->payload), "%s", payload);
}

static void on_reconnected(void *arg)
{
    ((env_t *)arg)->reconnected++;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* A port on 127.0.0.1 where nothing listens: one the kernel has just given
 * out and taken back. */
static int dead_port(void)
{
    struct sockaddr_in sa;
    socklen_t n = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &n) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void env_init(env_t *e, int with_fake)
{
    memset(e, 0, sizeof(*e));
    CHECK_EQ_INT(uv_loop_init(&e->loop), 0);
    uv_timer_init(&e->loop, &e->tick);
    uv_timer_start(&e->tick, on_tick, 10, 10);
    uv_unref((uv_handle_t *)&e->tick); /* referenced only while a test waits */
    e->has_fake = with_fake;
    e->port = with_fake ? fake_start(&e->fake, &e->loop) : dead_port();
    CHECK(e->port > 0);
    snprintf(e->conninfo, sizeof(e->conninfo),
             "host=127.0.0.1 port=%d user=arcd dbname=arcd sslmode=disable gssencmode=disable",
             e->port);
}

static void env_pool(env_t *e, int size, uint64_t acquire_timeout_ms, const char *session_sql,
                     const arc_pg_listener_t *listener)
{
    arc_pg_opts_t o = {.conninfo = e->conninfo,
                       .size = size,
                       .acquire_timeout_ms = acquire_timeout_ms,
                       .io_timeout_ms = e->io_timeout_ms,
                       .listen_check_ms = e->listen_check_ms,
                       .session_sql = session_sql,
                       .listener = listener};
    CHECK_EQ_INT(arc_pg_pool_create(&e->loop, &o, &e->pool), 0);
}

static arc_pg_stats_t stats_of(const env_t *e)
{
    arc_pg_stats_t st;

    arc_pg_pool_stats(e->pool, &st);
    return st;
}

static uint64_t wait_begin(env_t *e)
{
    uv_update_time(&e->loop);
    uv_ref((uv_handle_t *)&e->tick);
    return uv_now(&e->loop) + WAIT_MS;
}

/* Turns the loop once (the tick ends each turn within 10 ms); returns 0 once
 * the time is up. */
static int wait_more(env_t *e, uint64_t until)
{
    if (uv_now(&e->loop) >= until)
        return 0;
    uv_run(&e->loop, UV_RUN_ONCE);
    return 1;
}

static void wait_end(env_t *e)
{
    uv_unref((uv_handle_t *)&e->tick);
}

/* Runs the loop until cond holds, for WAIT_MS at most; if it does not, the
 * test fails and jumps to its out: label. */
#define WAIT(e, cond)                                                                              \
    do {                                                                                           \
        uint64_t until_ = wait_begin(e);                                                           \
        while (!(cond) && wait_more(e, until_))                                                    \
            ;                                                                                      \
        wait_end(e);                                                                               \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s (%s:%d): waited %d ms for %s\n", test_current, __FILE__,      \
                    __LINE__, WAIT_MS, #cond);                                                     \
            test_failures++;                                                                       \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* The loop's time, brought up to date. */
static uint64_t now_ms(env_t *e)
{
    uv_update_time(&e->loop);
    return uv_now(&e->loop);
}

/* Runs the loop for ms: the time for something that must not happen to
 * show up if it were going to. */
static void run_for(env_t *e, uint64_t ms)
{
    uint64_t until = wait_begin(e) - WAIT_MS + ms;

    while (wait_more(e, until))
        ;
    wait_end(e);
}

/*
 * Sets up a send that fails on an idle connection of the pool: fake
 * connection i stops reading, keeps a tiny receive buffer and says goodbye
 * (FIN), and the pool's end gets a tiny send buffer. A large statement then
 * fills both; libpq, unable to write the rest, reads, finds the connection
 * closed and fails the send. (A reset would not do: libpq takes a failed
 * write for a success and reports the close when it next reads.) Waits,
 * outside the loop, for the goodbye to reach the pool's end, so the pool has
 * not looked at its socket since. Returns 0, or -1.
 */
static int stall_under_pool(env_t *e, int i)
{
    fake_conn_t *c = e->fake.conns[i];
    struct pollfd pfd = {.fd = c != NULL ? client_fd(c) : -1, .events = POLLIN};
    int small = 4096;
    uv_os_fd_t fd;

    if (pfd.fd < 0 || uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
        return -1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) != 0 ||
        setsockopt(pfd.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) != 0 ||
        shutdown(fd, SHUT_WR) != 0)
        return -1;
    return poll(&pfd, 1, WAIT_MS) == 1 && (pfd.revents & POLLIN) ? 0 : -1;
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Closes the pool (unless the test did), the fake server and the tick, and
 * checks that the loop then closes: no handle was left open. */
static void env_finish(env_t *e)
{
    uint64_t until;
    int rc;

    if (e->has_fake)
        fake_release(&e->fake); /* running queries must finish for the pool to close */
    if (e->pool != NULL && !e->closing) {
        e->closing = 1;
        arc_pg_pool_close(e->pool, on_closed, e);
    }
    until = wait_begin(e);
    while (e->pool != NULL && !e->closed && wait_more(e, until))
        ;
    CHECK_MSG(e->pool == NULL || e->closed == 1, "the pool's close callback ran %d times",
              e->closed);
    if (e->has_fake)
        fake_stop(&e->fake);
    uv_unref((uv_handle_t *)&e->tick); /* every other handle must end for the loop to */
    while (uv_loop_alive(&e->loop) && wait_more(e, until))
        ;
    uv_close((uv_handle_t *)&e->tick, NULL);
    uv_run(&e->loop, UV_RUN_NOWAIT);
    rc = uv_loop_close(&e->loop);
    CHECK_MSG(rc == 0, "uv_loop_close: %s", uv_strerror(rc));
    if (rc != 0) {
        /* Close what was left, so that the report is the failure, not a leak. */
        uv_walk(&e->loop, close_any, NULL);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        uv_loop_close(&e->loop);
    }
    if (e->closed)
        free(e->pool);
    e->pool = NULL;
}

/* ---- without a server ---- */

TEST(test_no_server_times_out)
{
    env_t e;
    call_t a = {0};
    arc_pg_stats_t st;
    uint64_t asked_ms, reconnects;

    env_init(&e, 0);
    env_pool(&e, 1, 200, NULL, NULL);
    uv_update_time(&e.loop);
    asked_ms = uv_now(&e.loop);
    CHECK(ask(&e, &a, "a") != NULL);
    CHECK_EQ_INT(stats_of(&e).waiting, 1);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, ARC_ETIMEDOUT);
    CHECK(!a.has_res);
    CHECK_MSG(a.at_ms - asked_ms >= 200, "failed after %llu ms",
              (unsigned long long)(a.at_ms - asked_ms));
    st = stats_of(&e);
    CHECK_EQ_INT(st.size, 1);
    CHECK_EQ_INT(st.connected, 0);
    CHECK_EQ_INT(st.in_use, 0);
    CHECK_EQ_INT(st.waiting, 0);
    CHECK_EQ_INT(st.queries, 0);
    CHECK_EQ_INT(st.timeouts, 1);
    CHECK(st.reconnects >= 1);
    /* It keeps trying, with backoff. */
    reconnects = st.reconnects;
    WAIT(&e, stats_of(&e).reconnects > reconnects);
    CHECK_EQ_INT(stats_of(&e).connected, 0);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
}

TEST(test_cancel_waiting_query_never_calls_back)
{
    env_t e;
    call_t a = {0}, b = {0}, c = {0}, d = {0};
    arc_pg_query_t *qa, *qc;

    env_init(&e, 0);
    env_pool(&e, 1, 200, NULL, NULL);
    qa = ask(&e, &a, "a");
    CHECK(qa != NULL);
    CHECK(ask(&e, &b, "b") != NULL);
    arc_pg_cancel(qa);
    arc_pg_cancel(NULL);
    /* b waited as long as a: by its timeout, a's has passed too. */
    WAIT(&e, b.n == 1);
    CHECK_EQ_INT(b.status, ARC_ETIMEDOUT);
    CHECK_EQ_INT(a.n, 0);
    /* A cancelled query is not failed at close either. */
    qc = ask(&e, &c, "c");
    CHECK(ask(&e, &d, "d") != NULL);
    arc_pg_cancel(qc);
    e.closing = 1;
    arc_pg_pool_close(e.pool, on_closed, &e);
    CHECK_EQ_INT(d.n, 1);
    CHECK_EQ_INT(d.status, ARC_ECANCELED);
    CHECK_EQ_INT(c.n, 0);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 0);
    CHECK_EQ_INT(b.n, 1);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(d.n, 1);
}

TEST(test_close_fails_queued_queries_and_refuses_new_ones)
{
    env_t e;
    call_t q[3] = {{0}}, nested = {0}, late = {0};

    env_init(&e, 0);
    env_pool(&e, 2, 10000, NULL, NULL);
    CHECK(ask(&e, &q[0], "0") != NULL);
    q[1].env = &e;
    q[1].nested = &nested;
    CHECK(arc_pg_query(e.pool, SELECT_SQL, 0, NULL, on_query_then_ask, &q[1]) != NULL);
    CHECK(ask(&e, &q[2], "2") != NULL);
    CHECK_EQ_INT(stats_of(&e).waiting, 3);
    e.closing = 1;
    arc_pg_pool_close(e.pool, on_closed, &e);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(q[i].n, 1);
        CHECK_EQ_INT(q[i].status, ARC_ECANCELED);
        CHECK(!q[i].has_res);
    }
    /* Asked from inside a callback of the close, and after it: refused at once. */
    CHECK(q[1].nested_q == NULL);
    CHECK_EQ_INT(nested.n, 1);
    CHECK_EQ_INT(nested.status, ARC_ECANCELED);
    CHECK(ask(&e, &late, "l") == NULL);
    CHECK_EQ_INT(late.n, 1);
    CHECK_EQ_INT(late.status, ARC_ECANCELED);
    CHECK_EQ_INT(stats_of(&e).waiting, 0);
    WAIT(&e, e.closed == 1);
    CHECK(e.closed_pool == e.pool);
out:
    env_finish(&e);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(q[i].n, 1);
    CHECK_EQ_INT(nested.n, 1);
    CHECK_EQ_INT(late.n, 1);
}

/* ---- against the fake server ---- */

TEST(test_query_through_fake_server)
{
    env_t e;
    call_t a = {0}, b = {0};
    arc_pg_stats_t st;

    env_init(&e, 1);
    env_pool(&e, 2, 3000, SESSION_SQL, NULL);
    /* Asked before any connection is up: the session SQL still goes first. */
    CHECK(ask(&e, &a, "hello") != NULL);
    CHECK(ask(&e, &b, NULL) != NULL);
    WAIT(&e, a.n == 1 && b.n == 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK(a.has_res);
    CHECK_EQ_INT(a.res_status, PGRES_TUPLES_OK);
    CHECK_EQ_INT(a.ntuples, 1);
    CHECK_EQ_INT(a.cols_rc, 0);
    CHECK_EQ_INT(a.col, 0);
    CHECK_STR(a.value, "hello");
    CHECK_EQ_INT(a.missing_rc, ARC_EINTERNAL);
    CHECK_MSG(strstr(a.missing_err.msg, "'missing'") != NULL, "'%s'", a.missing_err.msg);
    CHECK_EQ_INT(b.status, 0);
    CHECK_EQ_INT(b.ntuples, 1);
    CHECK(b.is_null);
    /* Both connections opened, each ran the session SQL before anything else. */
    WAIT(&e, e.fake.simple == 2 && stats_of(&e).connected == 2);
    CHECK_EQ_INT(e.fake.accepted, 2);
    CHECK_EQ_INT(e.fake.extended, 2);
    for (int i = 0; i < e.fake.accepted; i++) {
        CHECK_STR(e.fake.seen[i].first, "Q:" SESSION_SQL);
        CHECK_EQ_INT(e.fake.seen[i].simple, 1);
    }
    st = stats_of(&e);
    CHECK_EQ_INT(st.size, 2);
    CHECK_EQ_INT(st.connected, 2);
    CHECK_EQ_INT(st.in_use, 0);
    CHECK_EQ_INT(st.waiting, 0);
    CHECK_EQ_INT(st.listening, 0);
    CHECK_EQ_INT(st.queries, 2);
    CHECK_EQ_INT(st.errors, 0);
    CHECK_EQ_INT(st.timeouts, 0);
    CHECK_EQ_INT(st.reconnects, 0);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(b.n, 1);
}

TEST(test_pool_never_exceeds_size)
{
    env_t e;
    call_t q[5] = {{0}};
    const char *tags[5] = {"0", "1", "2", "3", "4"};
    arc_pg_stats_t st;
    int done = 0;

    env_init(&e, 1);
    e.fake.mode = FAKE_HOLD;
    env_pool(&e, 2, 3000, SESSION_SQL, NULL);
    for (int i = 0; i < 5; i++)
        CHECK(ask(&e, &q[i], tags[i]) != NULL);
    WAIT(&e, e.fake.held == 2);
    st = stats_of(&e);
    CHECK_EQ_INT(st.connected, 2);
    CHECK_EQ_INT(st.in_use, 2);
    CHECK_EQ_INT(st.waiting, 3);
    CHECK_EQ_INT(st.queries, 2);
    CHECK_EQ_INT(e.fake.accepted, 2);
    fake_release(&e.fake);
    WAIT(&e, (done = q[0].n + q[1].n + q[2].n + q[3].n + q[4].n) == 5);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(q[i].n, 1);
        CHECK_EQ_INT(q[i].status, 0);
        CHECK_STR(q[i].value, tags[i]);
    }
    CHECK_EQ_INT(e.fake.accepted, 2);
    CHECK_EQ_INT(e.fake.extended, 5);
    st = stats_of(&e);
    CHECK_EQ_INT(st.connected, 2);
    CHECK_EQ_INT(st.in_use, 0);
    CHECK_EQ_INT(st.waiting, 0);
    CHECK_EQ_INT(st.queries, 5);
out:
    env_finish(&e);
    CHECK_EQ_INT(e.fake.accepted, 2);
    CHECK_EQ_INT(done, 5);
}

TEST(test_queries_run_first_in_first_out)
{
    env_t e;
    call_t q[4] = {{0}};
    const char *tags[4] = {"0", "1", "2", "3"};

    env_init(&e, 1);
    env_pool(&e, 1, 3000, NULL, NULL);
    for (int i = 0; i < 4; i++)
        CHECK(ask(&e, &q[i], tags[i]) != NULL);
    WAIT(&e, q[3].n == 1);
    CHECK_STR(e.order, "0123");
    CHECK_STR(e.fake.order, "0123");
out:
    env_finish(&e);
}

TEST(test_cancel_running_query_discards_its_result)
{
    env_t e;
    call_t a = {0}, b = {0};
    arc_pg_query_t *qa;

    env_init(&e, 1);
    e.fake.mode = FAKE_HOLD;
    env_pool(&e, 1, 3000, NULL, NULL);
    qa = ask(&e, &a, "a");
    CHECK(ask(&e, &b, "b") != NULL);
    WAIT(&e, e.fake.held == 1);
    CHECK_EQ_INT(stats_of(&e).in_use, 1);
    arc_pg_cancel(qa);
    fake_release(&e.fake);
    /* a's result is read and dropped; the connection then serves b. */
    WAIT(&e, b.n == 1);
    CHECK_EQ_INT(b.status, 0);
    CHECK_STR(b.value, "b");
    CHECK_STR(e.fake.order, "ab");
    CHECK_EQ_INT(stats_of(&e).queries, 2);
    CHECK_EQ_INT(e.fake.accepted, 1);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 0);
    CHECK_EQ_INT(b.n, 1);
}

TEST(test_close_lets_running_query_finish)
{
    env_t e;
    call_t a = {0}, b = {0};

    env_init(&e, 1);
    e.fake.mode = FAKE_HOLD;
    env_pool(&e, 1, 3000, NULL, NULL);
    CHECK(ask(&e, &a, "a") != NULL);
    CHECK(ask(&e, &b, "b") != NULL);
    WAIT(&e, e.fake.held == 1);
    e.closing = 1;
    arc_pg_pool_close(e.pool, on_closed, &e);
    CHECK_EQ_INT(b.n, 1);
    CHECK_EQ_INT(b.status, ARC_ECANCELED);
    CHECK_EQ_INT(a.n, 0);
    CHECK_EQ_INT(e.closed, 0);
    fake_release(&e.fake);
    WAIT(&e, e.closed == 1);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK_STR(a.value, "a");
    CHECK_EQ_INT(a.closed_at_cb, 0); /* the query's callback ran before the pool's */
    /* The pool said goodbye: the fake server saw its connection close. */
    WAIT(&e, e.fake.conns[0] == NULL);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(b.n, 1);
}

TEST(test_broken_connection_fails_query_and_reconnects)
{
    env_t e;
    call_t a = {0}, b = {0};
    arc_pg_stats_t st;

    env_init(&e, 1);
    e.fake.mode = FAKE_DROP;
    env_pool(&e, 1, 3000, SESSION_SQL, NULL);
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, ARC_EIO);
    CHECK(!a.has_res);
    CHECK_EQ_INT(e.fake.accepted, 1);
    /* The pool opens a new connection, which runs the session SQL again. */
    WAIT(&e, e.fake.accepted == 2 && e.fake.simple == 2);
    CHECK_STR(e.fake.seen[1].first, "Q:" SESSION_SQL);
    CHECK(ask(&e, &b, "b") != NULL);
    WAIT(&e, b.n == 1);
    CHECK_EQ_INT(b.status, 0);
    CHECK_STR(b.value, "b");
    CHECK_EQ_INT(e.fake.seen[1].extended, 1);
    st = stats_of(&e);
    CHECK_EQ_INT(st.connected, 1);
    CHECK_EQ_INT(st.queries, 2);
    CHECK_EQ_INT(st.errors, 1);
    CHECK_EQ_INT(st.reconnects, 1);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(b.n, 1);
}

TEST(test_error_result_is_edb)
{
    env_t e;
    call_t a = {0}, b = {0};

    env_init(&e, 1);
    e.fake.mode = FAKE_FAIL;
    env_pool(&e, 1, 3000, NULL, NULL);
    a.env = &e;
    CHECK(arc_pg_query(e.pool, "SELECT * FROM nope", 0, NULL, on_query, &a) != NULL);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, ARC_EDB);
    CHECK(a.has_res);
    CHECK_EQ_INT(a.res_status, PGRES_FATAL_ERROR);
    CHECK_MSG(strstr(a.error, "relation \"nope\" does not exist") != NULL, "'%s'", a.error);
    CHECK_STR(a.sqlstate, "42P01");
    CHECK_EQ_INT(stats_of(&e).errors, 1);
    /* The connection is still good. */
    e.fake.mode = FAKE_ANSWER;
    CHECK(ask(&e, &b, "b") != NULL);
    WAIT(&e, b.n == 1);
    CHECK_EQ_INT(b.status, 0);
    CHECK_STR(b.value, "b");
    CHECK_EQ_INT(e.fake.accepted, 1);
    CHECK_EQ_INT(stats_of(&e).errors, 1);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
}

TEST(test_listen_delivers_notifications)
{
    static const char *const channels[] = {"jobs", "tenant_7", NULL};
    env_t e;
    arc_pg_listener_t listener = {channels, on_notify, on_reconnected, NULL};
    call_t a = {0};
    int li;

    env_init(&e, 1);
    listener.arg = &e;
    env_pool(&e, 2, 3000, SESSION_SQL, &listener);
    WAIT(&e, e.reconnected == 1);
    WAIT(&e, e.fake.accepted == 2);
    li = e.fake.listen_conn;
    CHECK(li == 0 || li == 1);
    CHECK_STR(e.fake.seen[li].first, "Q:" SESSION_SQL);
    CHECK_STR(e.fake.seen[li].listen, "LISTEN jobs;LISTEN tenant_7;");
    CHECK_EQ_INT(stats_of(&e).listening, 1);
    /* Queries go to the other connection. */
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK_EQ_INT(e.fake.seen[li].extended, 0);
    CHECK_EQ_INT(e.fake.seen[1 - li].extended, 1);
    CHECK_EQ_INT(fake_notify(&e.fake, li, "jobs", "42"), 0);
    WAIT(&e, e.notified == 1);
    CHECK_STR(e.channel, "jobs");
    CHECK_STR(e.payload, "42");
    /* The listening connection breaks: the pool listens again on a new one
     * and says so, since notifications may have been missed meanwhile. */
    fake_conn_close(e.fake.conns[li]);
    WAIT(&e, e.reconnected == 2);
    CHECK_EQ_INT(e.fake.accepted, 3);
    CHECK_EQ_INT(e.fake.listen_conn, 2);
    CHECK_STR(e.fake.seen[2].first, "Q:" SESSION_SQL);
    CHECK_STR(e.fake.seen[2].listen, "LISTEN jobs;LISTEN tenant_7;");
    CHECK_EQ_INT(fake_notify(&e.fake, 2, "tenant_7", "again"), 0);
    WAIT(&e, e.notified == 2);
    CHECK_STR(e.channel, "tenant_7");
    CHECK_STR(e.payload, "again");
    CHECK_EQ_INT(stats_of(&e).listening, 1);
out:
    env_finish(&e);
    CHECK_EQ_INT(e.reconnected, 2);
    CHECK_EQ_INT(e.notified, 2);
}

/* ---- regressions: each guards against a defect an earlier pool had ---- */

/* libpq may give up on a socket while connecting and go on with a new one:
 * with sslmode=allow, after the server refuses a connection without SSL.
 * When the new socket has another number (a lower one was freed meanwhile),
 * the pool closed its watcher and made the new one in the same handle, which
 * libuv aborts on. */
TEST(test_regression_socket_switch_while_connecting)
{
    env_t e;
    call_t a = {0};
    char *mode;

    env_init(&e, 1);
    mode = strstr(e.conninfo, "sslmode=disable");
    CHECK(mode != NULL);
    if (mode == NULL)
        goto out;
    memcpy(mode, "sslmode=allow  ", strlen("sslmode=disable"));
    e.fake.reject_first = 1;
    e.fake.free_at_reject = open("/dev/null", O_RDONLY);
    CHECK(e.fake.free_at_reject >= 0);
    env_pool(&e, 1, 3000, NULL, NULL);
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK_STR(a.value, "a");
    /* One connection of the pool's, made on libpq's second try, on another
     * socket. */
    CHECK_EQ_INT(e.fake.rejected, 1);
    CHECK_EQ_INT(e.fake.accepted, 2);
    CHECK(e.fake.seen[0].client_fd >= 0 && e.fake.seen[1].client_fd >= 0);
    CHECK(e.fake.seen[0].client_fd != e.fake.seen[1].client_fd);
    CHECK_EQ_INT(stats_of(&e).reconnects, 0);
out:
    if (e.fake.free_at_reject >= 0)
        close(e.fake.free_at_reject);
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
}

/* A query whose send fails on an idle connection (the server has closed it
 * and the pool has not looked yet) waits for another connection. It was
 * failed at once: its callback ran inside arc_pg_query(), which then returned
 * a handle already freed. */
TEST(test_regression_failed_send_waits_for_another_connection)
{
    enum { BIG = 512 * 1024 }; /* far more than the two tiny buffers hold */
    env_t e;
    call_t a = {0}, b = {0}, c = {0};
    arc_pg_query_t *qa, *qb;
    char *big = arc_xmalloc(BIG + 1);

    memset(big, 'a', BIG);
    big[BIG] = '\0';
    env_init(&e, 1);
    env_pool(&e, 1, 3000, NULL, NULL);
    WAIT(&e, stats_of(&e).connected == 1);
    CHECK_EQ_INT(stall_under_pool(&e, 0), 0);
    qa = ask(&e, &a, big);
    CHECK(qa != NULL);
    CHECK_EQ_INT(a.n, 0);
    /* The send did fail: the connection is being remade. */
    CHECK_EQ_INT(stats_of(&e).reconnects, 1);
    CHECK_EQ_INT(stats_of(&e).waiting, 1);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK(a.value[0] == 'a');
    CHECK_EQ_INT(e.fake.accepted, 2);
    /* Again, and its client goes away: the handle is still good to cancel. */
    WAIT(&e, stats_of(&e).connected == 1);
    CHECK_EQ_INT(stall_under_pool(&e, 1), 0);
    big[0] = 'b';
    qb = ask(&e, &b, big);
    CHECK(qb != NULL);
    CHECK_EQ_INT(b.n, 0);
    CHECK_EQ_INT(stats_of(&e).reconnects, 2);
    arc_pg_cancel(qb);
    CHECK(ask(&e, &c, "c") != NULL);
    WAIT(&e, c.n == 1);
    CHECK_EQ_INT(c.status, 0);
    CHECK_STR(c.value, "c");
    CHECK_STR(e.order, "ac");
    CHECK_STR(e.fake.order, "ac");
    CHECK_EQ_INT(stats_of(&e).queries, 2);
out:
    env_finish(&e);
    free(big);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(b.n, 0);
}

/* Closing while a query runs: the connections that are down stay down. One
 * used to be reopened by its reconnect timer, LISTEN again and report it to
 * a daemon that had already closed the pool. */
TEST(test_regression_no_reconnect_after_close)
{
    static const char *const channels[] = {"jobs", NULL};
    env_t e;
    arc_pg_listener_t listener = {channels, on_notify, on_reconnected, NULL};
    call_t a = {0};
    int li, accepted = 0;

    env_init(&e, 1);
    listener.arg = &e;
    env_pool(&e, 2, 3000, NULL, &listener);
    WAIT(&e, e.reconnected == 1 && stats_of(&e).connected == 2);
    li = e.fake.listen_conn;
    e.fake.mode = FAKE_HOLD;
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, e.fake.held == 1);
    fake_conn_close(e.fake.conns[li]);
    WAIT(&e, stats_of(&e).connected == 1); /* the pool saw it: its reconnect is due */
    e.closing = 1;
    arc_pg_pool_close(e.pool, on_closed, &e);
    accepted = e.fake.accepted;
    /* Well past the reconnect delay (0.1 s) and the time to set up. */
    run_for(&e, 500);
    CHECK_EQ_INT(e.fake.accepted, accepted);
    CHECK_EQ_INT(e.fake.listen_conn, li);
    CHECK_EQ_INT(e.reconnected, 1);
    CHECK_EQ_INT(e.closed, 0);
    /* Had a connection come back and listened, this would reach the daemon. */
    for (int i = accepted; i < e.fake.accepted; i++)
        fake_notify(&e.fake, i, "jobs", "late");
    fake_release(&e.fake);
    WAIT(&e, e.closed == 1);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK_EQ_INT(e.fake.accepted, accepted);
out:
    env_finish(&e);
    CHECK_EQ_INT(e.reconnected, 1);
    CHECK_EQ_INT(e.notified, 0);
    CHECK_EQ_INT(e.fake.accepted, accepted);
}

/* A server that accepts and never answers: the connection is given up after
 * the I/O timeout and made again. It used to wait for ever, connecting. */
TEST(test_regression_mute_server_connection_is_remade)
{
    env_t e;
    call_t a = {0};
    arc_pg_stats_t st;
    uint64_t start_ms;

    env_init(&e, 1);
    e.io_timeout_ms = 300;
    e.fake.mute = 1;
    start_ms = now_ms(&e);
    env_pool(&e, 1, 3000, NULL, NULL);
    WAIT(&e, e.fake.accepted == 2);
    CHECK_MSG(now_ms(&e) - start_ms >= 300, "a second connection after %llu ms",
              (unsigned long long)(now_ms(&e) - start_ms));
    st = stats_of(&e);
    CHECK_EQ_INT(st.connected, 0);
    CHECK(st.reconnects >= 1);
    /* Once the server answers, the pool is up again. */
    e.fake.mute = 0;
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK_STR(a.value, "a");
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
}

/* A server that goes silent under a query: the query fails with ARC_EIO
 * after the I/O timeout and the connection is remade. It used to wait for
 * ever. */
TEST(test_regression_silent_query_fails_after_io_timeout)
{
    env_t e;
    call_t a = {0}, b = {0};
    uint64_t asked_ms;

    env_init(&e, 1);
    e.io_timeout_ms = 300;
    e.fake.mode = FAKE_HOLD;
    env_pool(&e, 1, 3000, NULL, NULL);
    WAIT(&e, stats_of(&e).connected == 1);
    asked_ms = now_ms(&e);
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, ARC_EIO);
    CHECK(!a.has_res);
    CHECK_MSG(a.at_ms - asked_ms >= 300, "failed after %llu ms",
              (unsigned long long)(a.at_ms - asked_ms));
    CHECK_EQ_INT(stats_of(&e).errors, 1);
    e.fake.mode = FAKE_ANSWER;
    CHECK(ask(&e, &b, "b") != NULL);
    WAIT(&e, b.n == 1);
    CHECK_EQ_INT(b.status, 0);
    CHECK_STR(b.value, "b");
    CHECK_EQ_INT(e.fake.accepted, 2);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(b.n, 1);
}

/* Closing while a query's server is silent: the close ends within about the
 * I/O timeout, the query failed first. It used to wait for ever. */
TEST(test_regression_close_with_silent_query_completes)
{
    env_t e;
    call_t a = {0};
    uint64_t asked_ms;

    env_init(&e, 1);
    e.io_timeout_ms = 300;
    e.fake.mode = FAKE_HOLD;
    env_pool(&e, 1, 3000, NULL, NULL);
    WAIT(&e, stats_of(&e).connected == 1);
    asked_ms = now_ms(&e);
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, e.fake.held == 1);
    e.closing = 1;
    arc_pg_pool_close(e.pool, on_closed, &e);
    WAIT(&e, e.closed == 1);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(a.status, ARC_EIO);
    CHECK_EQ_INT(a.closed_at_cb, 0);
    /* Not before the query had its time, and not long after. */
    CHECK_MSG(e.closed_at_ms - asked_ms >= 300 && e.closed_at_ms - asked_ms < 2300,
              "closed after %llu ms", (unsigned long long)(e.closed_at_ms - asked_ms));
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
}

/* A cancelled query is no longer waiting, and is not a timeout when the
 * sweep drops it. Both used to count it. */
TEST(test_regression_cancelled_query_not_counted)
{
    env_t e;
    call_t a = {0}, b = {0};
    arc_pg_query_t *qa;
    arc_pg_stats_t st;

    env_init(&e, 0);
    env_pool(&e, 1, 200, NULL, NULL);
    qa = ask(&e, &a, "a");
    CHECK(qa != NULL);
    CHECK(ask(&e, &b, "b") != NULL);
    CHECK_EQ_INT(stats_of(&e).waiting, 2);
    arc_pg_cancel(qa);
    CHECK_EQ_INT(stats_of(&e).waiting, 1);
    arc_pg_cancel(qa); /* twice is once */
    CHECK_EQ_INT(stats_of(&e).waiting, 1);
    /* b waited as long as a: by its timeout, a is swept too. */
    WAIT(&e, b.n == 1);
    CHECK_EQ_INT(b.status, ARC_ETIMEDOUT);
    st = stats_of(&e);
    CHECK_EQ_INT(st.timeouts, 1);
    CHECK_EQ_INT(st.waiting, 0);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 0);
    CHECK_EQ_INT(b.n, 1);
}

/* `listening` is 0 from the moment the listening connection drops until its
 * LISTEN statements have been answered on the new one. It used to be 1 again
 * as soon as they were sent. */
TEST(test_regression_listening_only_once_listen_answered)
{
    static const char *const channels[] = {"jobs", NULL};
    env_t e;
    arc_pg_listener_t listener = {channels, on_notify, on_reconnected, NULL};
    int listening = 0;

    env_init(&e, 1);
    listener.arg = &e;
    env_pool(&e, 2, 3000, NULL, &listener);
    WAIT(&e, e.reconnected == 1);
    CHECK_EQ_INT(stats_of(&e).listening, 1);
    e.fake.hold_listen = 1;
    fake_conn_close(e.fake.conns[e.fake.listen_conn]);
    WAIT(&e, stats_of(&e).listening == 0);
    /* Looked at on every turn of the loop until the new LISTEN is in. */
    WAIT(&e, (listening |= stats_of(&e).listening, e.fake.listen_held == 1));
    CHECK_EQ_INT(e.fake.listen_conn, 2);
    CHECK_EQ_INT(listening, 0);
    CHECK_EQ_INT(stats_of(&e).listening, 0);
    CHECK_EQ_INT(e.reconnected, 1);
    fake_release(&e.fake);
    WAIT(&e, e.reconnected == 2);
    CHECK_EQ_INT(stats_of(&e).listening, 1);
out:
    env_finish(&e);
    CHECK_EQ_INT(e.reconnected, 2);
}

/* The first host of the connection string refuses; libpq goes on to the
 * next. The pool used to give up on the first error libuv reported on the
 * socket (UV_EBADF), so the next host was never tried. */
TEST(test_regression_failover_to_next_host)
{
    env_t e;
    call_t a = {0};

    env_init(&e, 1);
    snprintf(e.conninfo, sizeof(e.conninfo),
             "host=127.0.0.1,127.0.0.1 port=%d,%d user=arcd dbname=arcd sslmode=disable "
             "gssencmode=disable",
             dead_port(), e.port);
    env_pool(&e, 1, 3000, NULL, NULL);
    CHECK(ask(&e, &a, "a") != NULL);
    WAIT(&e, a.n == 1);
    CHECK_EQ_INT(a.status, 0);
    CHECK_STR(a.value, "a");
    CHECK_EQ_INT(e.fake.accepted, 1);
    CHECK_EQ_INT(stats_of(&e).reconnects, 0);
out:
    env_finish(&e);
    CHECK_EQ_INT(a.n, 1);
}

static void on_notify_then_close(const char *channel, const char *payload, void *arg)
{
    env_t *e = arg;

    on_notify(channel, payload, arg);
    if (!e->closing) {
        e->closing = 1;
        arc_pg_pool_close(e->pool, on_closed, e);
    }
}

TEST(test_regression_close_inside_a_notification)
{
    /* Closing the pool from the listener's notify callback finished the
     * connection under read_results(), which then took it down again (an
     * assertion in Debug builds, PQstatus(NULL) in release). */
    static const char *const channels[] = {"jobs", NULL};
    env_t e;
    arc_pg_listener_t listener = {channels, on_notify_then_close, on_reconnected, NULL};

    env_init(&e, 1);
    listener.arg = &e;
    env_pool(&e, 2, 3000, NULL, &listener);
    WAIT(&e, e.reconnected == 1);
    fake_notify(&e.fake, e.fake.listen_conn, "jobs", "bye");
    WAIT(&e, e.closed == 1);
    CHECK_EQ_INT(e.notified, 1);
out:
    env_finish(&e);
}

static void on_copy_alarm(int sig)
{
    static const char msg[] = "FAIL test_regression_a_copy_answer_drops_the_connection: still "
                              "spinning in read_results after 5 s\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

TEST(test_regression_a_copy_answer_drops_the_connection)
{
    /* A server answering with COPY made read_results() spin for ever:
     * libpq hands out PGRES_COPY_OUT again and again and is never busy. The
     * connection is dropped instead (the query fails with ARC_EIO) and made
     * again. An alarm ends the program if the loop spins. */
    env_t e;
    call_t a = {0};

    env_init(&e, 1);
    env_pool(&e, 1, 3000, NULL, NULL);
    WAIT(&e, stats_of(&e).connected == 1);
    e.fake.mode = FAKE_COPY;
    signal(SIGALRM, on_copy_alarm);
    alarm(5);
    a.env = &e;
    CHECK(arc_pg_query(e.pool, "COPY t TO STDOUT", 0, NULL, on_query, &a) != NULL);
    WAIT(&e, a.n == 1);
    alarm(0);
    CHECK_EQ_INT(a.status, ARC_EIO);
    e.fake.mode = FAKE_ANSWER;
    WAIT(&e, stats_of(&e).connected == 1);
out:
    alarm(0);
    env_finish(&e);
}

/* The listening connection's server goes deaf (no FIN, no RST: a network
 * cut): after a quiet spell the pool asks it something, gets no answer
 * within the I/O timeout, and listens again on a new connection, telling
 * the listener (notifications may have been missed). It used to wait in
 * LISTENING for ever, `listening` still 1, every notification lost. */
TEST(test_regression_dead_listen_connection_is_found)
{
    static const char *const channels[] = {"jobs", NULL};
    env_t e;
    arc_pg_listener_t listener = {channels, on_notify, on_reconnected, NULL};
    uint64_t deaf_ms;
    int li;

    env_init(&e, 1);
    e.io_timeout_ms = 300;
    e.listen_check_ms = 200;
    listener.arg = &e;
    env_pool(&e, 2, 3000, NULL, &listener);
    WAIT(&e, e.reconnected == 1);
    li = e.fake.listen_conn;
    CHECK_EQ_INT(fake_deafen(&e.fake, li), 0);
    deaf_ms = now_ms(&e);
    WAIT(&e, e.reconnected == 2);
    CHECK_MSG(now_ms(&e) - deaf_ms >= 300, "listening again after %llu ms",
              (unsigned long long)(now_ms(&e) - deaf_ms));
    CHECK(e.fake.listen_conn != li);
    CHECK_STR(e.fake.seen[e.fake.listen_conn].listen, "LISTEN jobs;");
    CHECK_EQ_INT(stats_of(&e).listening, 1);
    CHECK(stats_of(&e).reconnects >= 1);
    CHECK_EQ_INT(fake_notify(&e.fake, e.fake.listen_conn, "jobs", "after"), 0);
    WAIT(&e, e.notified == 1);
    CHECK_STR(e.payload, "after");
out:
    env_finish(&e);
}

/* A quiet listening connection whose server is there is asked (SELECT 1)
 * and kept: no reconnect, `listening` stays 1, and notifications arrive as
 * before. */
TEST(test_quiet_listen_connection_is_checked_and_kept)
{
    static const char *const channels[] = {"jobs", NULL};
    env_t e;
    arc_pg_listener_t listener = {channels, on_notify, on_reconnected, NULL};
    int li, listening = 1;

    env_init(&e, 1);
    e.io_timeout_ms = 300;
    e.listen_check_ms = 100;
    listener.arg = &e;
    env_pool(&e, 2, 3000, NULL, &listener);
    WAIT(&e, e.reconnected == 1);
    li = e.fake.listen_conn;
    /* LISTEN, then a check every 100 ms or so. */
    WAIT(&e, (listening &= stats_of(&e).listening, e.fake.seen[li].simple >= 4));
    CHECK_EQ_INT(listening, 1);
    CHECK_EQ_INT(e.reconnected, 1);
    CHECK_EQ_INT(e.fake.listen_conn, li);
    CHECK_EQ_INT(e.fake.accepted, 2);
    CHECK_EQ_INT(stats_of(&e).reconnects, 0);
    CHECK_EQ_INT(fake_notify(&e.fake, li, "jobs", "still"), 0);
    WAIT(&e, e.notified == 1);
    CHECK_STR(e.payload, "still");
out:
    env_finish(&e);
}

/* What TCP keepalive is set on a connection's socket: SO_KEEPALIVE, and its
 * idle time, interval and count. */
static void keepalive_of(int fd, int *on, int *idle, int *intvl, int *cnt)
{
    socklen_t n = sizeof(int);

    *on = *idle = *intvl = *cnt = -1;
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, on, &n);
    n = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle, &n);
    n = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl, &n);
    n = sizeof(int);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt, &n);
}

/* Every connection has TCP keepalives of about a minute, so an idle one
 * whose peer is gone is found; the system's default waited two hours
 * before its first probe. Keepalive settings in the connection string
 * win. */
TEST(test_regression_connections_have_tcp_keepalives)
{
    static const char *const channels[] = {"jobs", NULL};
    env_t e;
    arc_pg_listener_t listener = {channels, on_notify, on_reconnected, NULL};
    int on, idle, intvl, cnt;

    env_init(&e, 1);
    listener.arg = &e;
    env_pool(&e, 2, 3000, NULL, &listener);
    WAIT(&e, e.reconnected == 1 && stats_of(&e).connected == 2);
    for (int i = 0; i < 2; i++) {
        keepalive_of(e.fake.seen[i].client_fd, &on, &idle, &intvl, &cnt);
        CHECK_MSG(on == 1 && idle == 30 && intvl == 10 && cnt == 3,
                  "connection %d: keepalive %d, idle %d s, interval %d s, count %d", i, on, idle,
                  intvl, cnt);
    }
    env_finish(&e);

    env_init(&e, 1);
    snprintf(e.conninfo + strlen(e.conninfo), sizeof(e.conninfo) - strlen(e.conninfo),
             " keepalives_idle=45");
    env_pool(&e, 1, 3000, NULL, NULL);
    WAIT(&e, stats_of(&e).connected == 1);
    keepalive_of(e.fake.seen[0].client_fd, &on, &idle, &intvl, &cnt);
    CHECK_MSG(on == 1 && idle == 45 && intvl == 10 && cnt == 3,
              "with keepalives_idle=45: keepalive %d, idle %d s, interval %d s, count %d", on, idle,
              intvl, cnt);
out:
    env_finish(&e);
}
