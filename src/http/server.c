/*
 * The HTTP/1.1 server (see include/arcd/http.h). One conn_t per TCP
 * connection; one arc_http_req_t per request, freed once it has been answered
 * and its last byte written (or the client is gone).
 */
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include <http_parser.h>
#include <linux/sockios.h>

#include "arcd/addrmap.h"
#include "arcd/assert.h"
#include "arcd/buf.h"
#include "arcd/clock.h"
#include "arcd/http.h"
#include "arcd/log.h"

typedef enum { C_WAIT, C_HEAD, C_BODY, C_HANDLING, C_DRAIN, C_CLOSING } cstate_t;

typedef struct conn_s conn_t;

/* Bookkeeping counted against maxHeaderBytes for every header field: the
 * memory a field costs beyond its bytes (16,000 empty fields once took 1.2 MB
 * of a 16 KB limit). */
#define HEADER_OVERHEAD 64

/* Bytes of a following request kept while one is answered; past this the
 * connection stops reading until its turn. */
#define PENDING_MAX 65536

/* How far a response's client may fall behind the minimum rate before it
 * is cut off: this long at the minimum rate, or PACE_SLACK_BYTES when that
 * is more. The same amount of credit is kept for a client that ran ahead. */
#define SEND_WINDOW_MS 10000

/* The server sees a reader's progress in steps: the peer acknowledges what
 * its receive window lets through, which on loopback opens a segment (64
 * KiB) at a time, and elsewhere by a sixteenth of the receive buffer or
 * more. A reader at twice the minimum rate may show nothing for the time
 * half a step takes at the minimum, so the slack holds at least that. */
#define PACE_SLACK_BYTES (64 * 1024)

/* A refused connection (503 at accept) lingers this long after its answer,
 * taking what the client still sends, so that the client reads the 503
 * rather than a reset. It holds no slot of the caps meanwhile. */
#define REFUSED_LINGER_MS 1000

/* Closing the server: how long open connections may take to finish before
 * they are aborted, when limits.close_timeout_ms is 0. */
#define CLOSE_TIMEOUT_MS 15000

/* The kernel's send buffer of a connection (Linux doubles what is asked).
 * Without a bound, autotuning lets a reader that stopped reading park
 * megabytes of a response in the kernel's memory; 1 MiB still fills a 100
 * Mbit/s link at 80 ms of round trip. */
#define SEND_BUFFER_BYTES (512 * 1024)

typedef struct req_priv_s {
    arc_http_req_t pub;
    conn_t *conn; /* NULL once the connection is gone */
    int answered; /* a response has begun */
    int ended;    /* the response is complete (or abandoned) */
    int writes;   /* uv_write()s in flight */
    int keep_alive;
    int early; /* answered before its body was read */
    size_t body_cap;
    int cors;      /* CORS_*: what its answer says of CORS */
    uint64_t sent; /* bytes handed to the connection, head included */
} req_priv_t;

/* CORS_VARY: the answer depends on Origin; CORS_ALLOW: and the origin may read it. */
enum { CORS_NONE = 0, CORS_VARY, CORS_ALLOW };

struct conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    arc_http_server_t *server;
    http_parser parser;
    char *url;
    size_t url_len;
    arc_http_header_t *headers;
    size_t n_headers, cap_headers;
    int in_value;
    size_t head_bytes;
    int head_too_big;
    char *pending; /* bytes read while a request was being answered */
    size_t pending_len;
    req_priv_t *req;
    cstate_t state;
    int closing;
    int handles; /* open uv handles (tcp, timer) */
    double body_start_ms;
    unsigned heads;   /* request heads begun on this connection */
    int peer_eof;     /* the client has closed its side */
    int trusted_peer; /* the peer is a trusted proxy */
    int counted;      /* counted in the server's per-address map */
    int admitted;     /* counted in n_conns */
    int refused;      /* answered 503 at accept: counted in n_refused instead */
    int reset_on_close;
    arc_ip_t peer_ip;
    char peer[64];
    double idle_since_ms; /* waiting for a request since */
    uint64_t submitted;   /* response bytes given to uv_write() */
    uint64_t pace_taken;  /* taken by the client (taken()) at pace_ms */
    double pace_ms;
    double pace_debt; /* bytes behind the minimum rate (negative: ahead) */
    conn_t *prev, *next;
};

struct arc_http_server_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    arc_http_limits_t limits;
    arc_http_handler_t handler;
    http_parser_settings settings;
    conn_t *conns;
    size_t n_conns;             /* open connections (counted for the caps) */
    size_t n_refused;           /* refused ones still lingering (REFUSED_LINGER_MS) */
    size_t n_memory;            /* connections not yet freed (their handles still closing) */
    arc_addrmap_t *per_address; /* open connections of each client address */
    arc_cidr_t *trusted;
    int closing;
    void (*close_cb)(arc_http_server_t *);
    uv_timer_t close_timer; /* the deadline for closing */
    enum { TIMER_NONE, TIMER_OPEN, TIMER_CLOSING, TIMER_CLOSED } close_timer_state;
    int port;
};

typedef struct write_s {
    uv_write_t w;
    req_priv_t *req;
    arc_http_write_cb cb;
    void *arg;
    char *owned;  /* freed after the write */
    size_t bytes; /* written by this request */
} write_t;

const char *arc_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

/* ---- lifetime ---- */

static void conn_close(conn_t *c);

static void reset_head(conn_t *c)
{
    for (size_t i = 0; i < c->n_headers; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    c->n_headers = 0;
    free(c->url);
    c->url = NULL;
    c->url_len = 0;
    c->in_value = 0;
    c->head_bytes = 0;
    c->head_too_big = 0;
}

/* A request's X-Request-Id: the client's (or its proxy's) when it is 1 to
 * 64 of [A-Za-z0-9._:-], else 16 random hex digits. */
static void request_id(arc_http_req_t *q)
{
    const char *given = arc_http_header(q, "x-request-id");
    unsigned char rnd[8] = {0};

    if (given != NULL && given[0] != '\0' && strlen(given) < sizeof(q->request_id) &&
        strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
            strlen(given)) {
        memcpy(q->request_id, given, strlen(given) + 1);
        return;
    }
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
        static uint64_t counter;
        uint64_t v = ++counter ^ (uint64_t)(arc_now_ms() * 1000.0);
        memcpy(rnd, &v, sizeof(rnd));
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(q->request_id + 2 * i, 3, "%02x", rnd[i]);
}

/* The request's log line (include/arcd/log.h), once answered. */
static void log_request(req_priv_t *r)
{
    arc_http_req_t *q = &r->pub;

    if (q->status == 0 || !arc_log_enabled(ARC_LOG_INFO))
        return;
    /* The path as the client sent it, bytes that are not printable ASCII
     * percent-encoded (a line must stay one line of valid JSON, whole). */
    char path[512];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(q->path ? q->path : "-");
         *p && o + 4 < sizeof(path); p++) {
        if (*p >= 0x20 && *p < 0x7f)
            path[o++] = (char)*p;
        else
            o += (size_t)snprintf(path + o, sizeof(path) - o, "%%%02X", *p);
    }
    path[o] = '\0';
    /* The path only: a query string may carry what is not ours to log. */
    arc_log_event(ARC_LOG_INFO, "request",
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:f, s:s, s:s}", "requestId",
                            q->request_id, "method", q->method ? q->method : "-", "route",
                            q->route ? q->route : "unmatched", "path", path, "status", q->status,
                            "bytes", (json_int_t)r->sent, "durationMs",
                            (double)(long long)((arc_now_ms() - q->start_ms) * 100.0) / 100.0,
                            "client", q->client, "proto", q->https ? "https" : "http"));
}

static void req_free(req_priv_t *r)
{
    arc_http_req_t *q = &r->pub;

    log_request(r);
    for (size_t i = 0; i < q->n_headers; i++) {
        free(q->headers[i].name);
        free(q->headers[i].value);
    }
    free(q->headers);
    free(q->path);
    free(q->query);
    free(q->body);
    free(r);
}

/* The server is closed once its listener and every connection's handles
 * are: only then may its owner free it (close callbacks of a connection
 * closed earlier can run after the listener's). */
static void maybe_closed(arc_http_server_t *s);

static void on_close_timer_closed(uv_handle_t *h)
{
    arc_http_server_t *s = h->data;

    s->close_timer_state = TIMER_CLOSED;
    maybe_closed(s);
}

static void maybe_closed(arc_http_server_t *s)
{
    if (!s->closing || s->n_memory > 0 || s->listener.data != NULL)
        return;
    /* The deadline's timer is a handle too: closed before the owner may free
     * the server. */
    if (s->close_timer_state == TIMER_OPEN) {
        s->close_timer_state = TIMER_CLOSING;
        uv_close((uv_handle_t *)&s->close_timer, on_close_timer_closed);
    }
    if (s->close_timer_state != TIMER_CLOSED || s->close_cb == NULL)
        return;
    void (*cb)(arc_http_server_t *) = s->close_cb;
    s->close_cb = NULL;
    cb(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    conn_t *c = h->data;

    if (--c->handles > 0)
        return;
    arc_http_server_t *s = c->server;
    reset_head(c);
    free(c->headers);
    free(c->pending);
    free(c);
    s->n_memory--;
    maybe_closed(s);
}

/* A request whose response is complete and written, or whose client is gone
 * and whose handler has answered, is freed; a live connection then moves on
 * to its next request. */
static void maybe_finish(req_priv_t *r);

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->state = C_CLOSING;
    arc_http_server_t *s = c->server;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->admitted)
        s->n_conns--;
    else if (c->refused)
        s->n_refused--;
    if (c->counted) {
        arc_addr_entry_t *e = arc_addrmap_find(s->per_address, &c->peer_ip);
        ARC_ASSERT(e != NULL && e->count > 0);
        if (e != NULL)
            e->count--;
        c->counted = 0;
    }
    req_priv_t *r = c->req;
    c->req = NULL;
    if (r != NULL) {
        r->conn = NULL;
        if (!r->ended) {
            /* The client is gone before the end of its response: the
             * handler cancels what would still touch the request, which is
             * then freed (its writes, cancelled by the close, drain first). */
            r->pub.aborted = 1;
            if (r->pub.on_abort != NULL)
                r->pub.on_abort(&r->pub);
            r->answered = 1;
            r->ended = 1;
        }
        maybe_finish(r);
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    /* A reader that stopped reading: reset, so that what the kernel still
     * holds for it is dropped now rather than sent at its pace. */
    if (c->reset_on_close && uv_tcp_close_reset(&c->tcp, on_handle_closed) == 0)
        return;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* ---- reading ---- */

static void parse(conn_t *c, const char *data, size_t len);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);
static void on_timer(uv_timer_t *t);

static void arm(conn_t *c, uint64_t ms, uint64_t repeat)
{
    if (ms == 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, ms, repeat);
}

static void next_request(conn_t *c)
{
    ARC_ASSERT(c->req == NULL && !c->closing);
    c->state = C_WAIT;
    c->idle_since_ms = arc_now_ms();
    reset_head(c);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    arm(c, c->server->limits.idle_timeout_ms, 0);
    if (c->server->closing || (c->peer_eof && c->pending_len == 0)) {
        conn_close(c);
        return;
    }
    if (c->pending_len > 0) {
        char *p = c->pending;
        size_t n = c->pending_len;
        c->pending = NULL;
        c->pending_len = 0;
        parse(c, p, n);
        free(p);
    }
    if (!c->closing && !c->peer_eof)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* After an early answer (413 while the body is still coming), closing at once
 * would reset the connection and the client might never read the answer:
 * shut our side down and discard what still arrives, for up to 2 s. */
static void on_drain_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    free(buf->base);
    if (n < 0)
        conn_close(st->data);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    (void)status;
    free(sr);
}

static void drain(conn_t *c)
{
    uv_shutdown_t *sr = arc_xcalloc(1, sizeof(*sr));

    ARC_ASSERT(c->req == NULL && !c->closing);
    c->state = C_DRAIN;
    if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(sr);
        conn_close(c);
        return;
    }
    /* Reading may be on (a request answered while its body came): the new
     * callback takes over only after a stop. */
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_drain_read);
    arm(c, c->refused ? REFUSED_LINGER_MS : 2000, 0);
}

static void maybe_finish(req_priv_t *r)
{
    ARC_ASSERT(r->writes >= 0);
    if (!r->ended || r->writes > 0)
        return;
    conn_t *c = r->conn;
    if (c != NULL) {
        c->req = NULL;
        if (r->early && !c->closing)
            drain(c);
        else if (!r->keep_alive)
            conn_close(c);
        else
            next_request(c);
    }
    req_free(r);
}

/* Answers an error that ends the connection, from the server itself. */
static void fail(conn_t *c, int status, const char *code, const char *msg)
{
    req_priv_t *r = c->req;

    if (r == NULL) {
        r = arc_xcalloc(1, sizeof(*r));
        r->conn = c;
        r->pub.server = c->server;
        r->pub.method = "?";
        r->pub.path = arc_xstrdup("");
        r->pub.query = arc_xstrdup("");
        r->pub.route = "invalid";
        r->pub.start_ms = arc_now_ms();
        snprintf(r->pub.peer, sizeof(r->pub.peer), "%s", c->peer);
        snprintf(r->pub.client, sizeof(r->pub.client), "%s", c->peer);
        r->pub.client_ip = c->peer_ip;
        c->req = r;
    }
    r->early = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    if (r->answered) {
        conn_close(c);
        return;
    }
    if (!r->pub.aborted && r->pub.on_abort != NULL) {
        /* The handler accepted this request; it will not see it complete. */
        r->pub.aborted = 1;
        r->pub.on_abort(&r->pub);
    }
    c->state = C_HANDLING;
    arc_http_error(&r->pub, status, code, NULL, "%s", msg);
}

/* ---- the client's address ---- */

static int is_trusted(const arc_http_server_t *s, const arc_ip_t *ip)
{
    for (size_t i = 0; i < s->limits.n_trusted; i++)
        if (arc_cidr_contains(&s->trusted[i], ip))
            return 1;
    return 0;
}

/* The client of a request: the peer, unless the peer is a trusted proxy;
 * then the last address of X-Forwarded-For (all of its fields, in order)
 * that is not a trusted proxy, as each proxy appends the address it got
 * the request from (some with its port, IPv6 in brackets:
 * arc_ip_parse_forwarded). An entry that is not an address stops the walk:
 * what is left of it was not written by a proxy we trust. */
static void client_address(conn_t *c, arc_http_req_t *q)
{
    arc_http_server_t *s = c->server;
    arc_buf_t all = ARC_BUF_INIT;

    snprintf(q->peer, sizeof(q->peer), "%s", c->peer);
    snprintf(q->client, sizeof(q->client), "%s", c->peer);
    q->client_ip = c->peer_ip;
    if (!c->trusted_peer)
        return;
    for (size_t i = 0; i < q->n_headers; i++) {
        const arc_http_header_t *h = &q->headers[i];
        if (h->name == NULL)
            continue;
        if (strcmp(h->name, "x-forwarded-for") == 0) {
            arc_buf_puts(&all, all.len ? "," : "");
            arc_buf_puts(&all, h->value);
        } else if (strcmp(h->name, "x-forwarded-proto") == 0) {
            /* The nearest proxy's word: the last value. */
            const char *v = strrchr(h->value, ',');
            v = v ? v + 1 : h->value;
            v += strspn(v, " \t");
            q->https = strncasecmp(v, "https", 5) == 0 && strspn(v + 5, " \t") == strlen(v + 5);
        }
    }
    while (all.len > 0) {
        char *comma = strrchr(all.data, ',');
        char *entry = comma ? comma + 1 : all.data;
        arc_ip_t ip;
        if (arc_ip_parse_forwarded(entry, &ip) != 0)
            break;
        q->client_ip = ip;
        arc_ip_format(&ip, q->client, sizeof(q->client));
        if (!is_trusted(s, &ip))
            break;
        if (comma == NULL)
            break;
        *comma = '\0';
        all.len = (size_t)(comma - all.data);
    }
    arc_buf_dispose(&all);
}

static int on_message_begin(http_parser *p)
{
    conn_t *c = p->data;

    ARC_ASSERT(c->state == C_WAIT && c->req == NULL);
    c->state = C_HEAD;
    reset_head(c);
    /* The first head's deadline runs from the connection's start (armed at
     * accept): a byte now and then must not push it back. A later head's
     * runs from its first byte, after an idle time between requests. */
    if (c->heads++ > 0)
        arm(c, c->server->limits.header_timeout_ms, 0);
    return 0;
}

static int add_head_bytes(conn_t *c, size_t n)
{
    c->head_bytes += n;
    if (c->head_bytes > c->server->limits.max_header_bytes) {
        c->head_too_big = 1;
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    conn_t *c = p->data;

    if (add_head_bytes(c, n) != 0)
        return -1;
    c->url = arc_xrealloc(c->url, c->url_len + n + 1, 1);
    memcpy(c->url + c->url_len, at, n);
    c->url_len += n;
    c->url[c->url_len] = '\0';
    return 0;
}

static void append(char **s, const char *at, size_t n)
{
    size_t old = *s ? strlen(*s) : 0;

    *s = arc_xrealloc(*s, old + n + 1, 1);
    memcpy(*s + old, at, n);
    (*s)[old + n] = '\0';
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    conn_t *c = p->data;

    if (add_head_bytes(c, n) != 0)
        return -1;
    if (c->in_value || c->n_headers == 0) {
        if (c->n_headers >= c->server->limits.max_headers ||
            add_head_bytes(c, HEADER_OVERHEAD) != 0) {
            c->head_too_big = 1;
            return -1;
        }
        if (c->n_headers == c->cap_headers) {
            c->cap_headers = c->cap_headers ? c->cap_headers * 2 : 16;
            c->headers = arc_xrealloc(c->headers, c->cap_headers, sizeof(*c->headers));
        }
        c->headers[c->n_headers].name = NULL;
        c->headers[c->n_headers].value = arc_xstrdup("");
        c->n_headers++;
        c->in_value = 0;
    }
    append(&c->headers[c->n_headers - 1].name, at, n);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    conn_t *c = p->data;

    if (add_head_bytes(c, n) != 0)
        return -1;
    c->in_value = 1;
    if (c->n_headers > 0)
        append(&c->headers[c->n_headers - 1].value, at, n);
    return 0;
}

/* ---- CORS (see arc_http_handler_t) ---- */

/* The request's Origin when the handler lets it call the request's route,
 * or NULL. */
static const char *cors_origin(const arc_http_server_t *s, const arc_http_req_t *q)
{
    const char *origin = arc_http_header(q, "origin");

    if (origin == NULL || s->handler.cors_origins == NULL)
        return NULL;
    for (const char *const *o = s->handler.cors_origins; *o != NULL; o++)
        if (strcmp(*o, origin) == 0)
            return origin;
    return NULL;
}

/* 1 when the request's route takes part in CORS. */
static int cors_route(const arc_http_server_t *s, const arc_route_t *route)
{
    return route != NULL && s->handler.cors_origins != NULL && s->handler.cors_origins[0] != NULL &&
           (route->flags & s->handler.cors_flag) != 0;
}

/* A preflight: OPTIONS with Origin and Access-Control-Request-Method, for a
 * path whose route for that method takes part in CORS. Answers it and
 * returns 1, or returns 0 (not a preflight of ours: routed as usual). */
static int cors_preflight(arc_http_server_t *s, arc_http_req_t *q)
{
    const char *want = arc_http_header(q, "access-control-request-method");
    arc_route_match_t m;

    if (strcmp(q->method, "OPTIONS") != 0 || want == NULL || arc_http_header(q, "origin") == NULL ||
        arc_route_match(s->handler.routes, s->handler.n_routes, want, q->path, &m) != 0 ||
        !cors_route(s, m.route))
        return 0;
    q->route = "preflight";
    const char *origin = cors_origin(s, q);
    ((req_priv_t *)q)->cors = origin != NULL ? CORS_ALLOW : CORS_VARY;
    if (origin == NULL) {
        arc_http_error(q, 403, "origin_not_allowed", NULL,
                       "the origin %s may not call this API (server.corsOrigins)",
                       arc_http_header(q, "origin"));
        return 1;
    }
    char allow[96], head[1024];
    arc_route_match(s->handler.routes, s->handler.n_routes, "OPTIONS", q->path, &m);
    snprintf(allow, sizeof(allow), "%s", m.allow);
    snprintf(head, sizeof(head),
             "Access-Control-Allow-Methods: %s\r\n"
             "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
             "Access-Control-Max-Age: 600\r\n",
             allow);
    arc_http_respond(q, 204, NULL, head, NULL, 0);
    return 1;
}

static int on_headers_complete(http_parser *p)
{
    conn_t *c = p->data;
    arc_http_server_t *s = c->server;
    req_priv_t *r = arc_xcalloc(1, sizeof(*r));
    arc_http_req_t *q = &r->pub;

    ARC_ASSERT(c->state == C_HEAD && c->req == NULL);
    r->conn = c;
    r->keep_alive = http_should_keep_alive(p);
    q->server = s;
    q->method = http_method_str((enum http_method)p->method);
    const char *url = c->url ? c->url : "/";
    const char *qm = strchr(url, '?');
    q->path = qm ? strndup(url, (size_t)(qm - url)) : arc_xstrdup(url);
    if (q->path == NULL)
        abort();
    q->query = arc_xstrdup(qm ? qm + 1 : "");
    q->headers = c->headers;
    q->n_headers = c->n_headers;
    for (size_t i = 0; i < q->n_headers; i++)
        for (char *k = q->headers[i].name ? q->headers[i].name : ""; *k; k++)
            if (*k >= 'A' && *k <= 'Z')
                *k = (char)(*k - 'A' + 'a');
    c->headers = NULL;
    c->n_headers = c->cap_headers = 0;
    q->content_length = (p->flags & F_CONTENTLENGTH) ? p->content_length : UINT64_MAX;
    q->start_ms = arc_now_ms();
    q->route = "unmatched";
    client_address(c, q);
    request_id(q);
    c->req = r;
    if (p->upgrade) {
        fail(c, 501, "not_implemented", "protocol upgrades are not supported");
        return -1; /* stop parsing: 1 would only mean "no body" */
    }
    if (cors_preflight(s, q)) {
        /* answered */
    } else if (arc_route_match(s->handler.routes, s->handler.n_routes, q->method, q->path,
                               &q->match) == 404) {
        arc_http_error(q, 404, "not_found", NULL, "no such endpoint: %s", q->path);
    } else if (q->match.status == 405) {
        char allow[96];
        snprintf(allow, sizeof(allow), "Allow: %s\r\n", q->match.allow);
        arc_http_error(q, 405, "method_not_allowed", allow, "%s takes %s, not %s", q->path,
                       q->match.allow, q->method);
    } else {
        q->route = q->match.route->name;
        if (cors_route(s, q->match.route))
            r->cors = cors_origin(s, q) != NULL ? CORS_ALLOW : CORS_VARY;
        if (s->handler.on_route != NULL)
            s->handler.on_route(q);
        if (!r->answered && q->match.route->on_head != NULL)
            q->match.route->on_head(q);
    }
    if (r->answered) {
        /* Refused from its head: the body, if any, is not read. */
        r->early = 1;
        c->state = C_HANDLING;
        uv_read_stop((uv_stream_t *)&c->tcp);
        return -1;
    }
    int has_body =
        (q->content_length != UINT64_MAX && q->content_length > 0) || (p->flags & F_CHUNKED);
    if (has_body && q->body_mode == ARC_HTTP_BODY_NONE) {
        fail(c, 413, "body_not_allowed", "this request takes no body");
        return -1;
    }
    if (q->content_length != UINT64_MAX && q->content_length > q->body_limit &&
        q->body_mode != ARC_HTTP_BODY_NONE) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the body is %llu bytes; the limit here is %llu",
                 (unsigned long long)q->content_length, (unsigned long long)q->body_limit);
        fail(c, 413, "payload_too_large", msg);
        return -1;
    }
    c->state = C_BODY;
    c->body_start_ms = arc_now_ms();
    if (has_body && s->limits.min_bytes_per_second > 0)
        arm(c, 1000, 1000);
    else
        uv_timer_stop(&c->timer);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    conn_t *c = p->data;
    req_priv_t *r = c->req;
    arc_http_req_t *q = &r->pub;

    ARC_ASSERT(c->state == C_BODY && !r->answered);
    q->body_received += n;
    if (q->body_received > q->body_limit) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the body is over the limit of %llu bytes",
                 (unsigned long long)q->body_limit);
        fail(c, 413, "payload_too_large", msg);
        return -1;
    }
    if (q->body_mode == ARC_HTTP_BODY_BUFFER) {
        if (q->body_len + n + 1 > r->body_cap) {
            r->body_cap = (q->body_len + n + 1) * 2;
            q->body = arc_xrealloc(q->body, r->body_cap, 1);
        }
        memcpy(q->body + q->body_len, at, n);
        q->body_len += n;
        q->body[q->body_len] = '\0';
    } else if (q->body_mode == ARC_HTTP_BODY_STREAM && q->on_body != NULL) {
        int st = q->on_body(q, at, n);
        if (st != 0 || r->answered) {
            if (!r->answered)
                fail(c, st, "bad_body", "the request body was refused");
            r->early = 1;
            return -1;
        }
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    conn_t *c = p->data;
    req_priv_t *r = c->req;

    ARC_ASSERT(c->state == C_BODY && r != NULL);
    uv_timer_stop(&c->timer);
    c->state = C_HANDLING;
    if (r->answered)
        return -1; /* refused already: the handler does not see it again */
    if (r->pub.body_mode == ARC_HTTP_BODY_BUFFER && r->pub.body == NULL)
        r->pub.body = arc_xstrdup("");
    http_parser_pause(p, 1);
    r->pub.match.route->on_request(&r->pub);
    return 0;
}

static void parse(conn_t *c, const char *data, size_t len)
{
    size_t done = http_parser_execute(&c->parser, &c->server->settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

    if (c->closing)
        return;
    if (e == HPE_PAUSED) {
        /* A request is complete and being answered: keep what follows. */
        http_parser_pause(&c->parser, 0);
        if (done < len) {
            c->pending = arc_xrealloc(c->pending, c->pending_len + (len - done), 1);
            memcpy(c->pending + c->pending_len, data + done, len - done);
            c->pending_len += len - done;
        }
        if (c->pending_len >= PENDING_MAX)
            uv_read_stop((uv_stream_t *)&c->tcp);
        return;
    }
    if (e == HPE_OK)
        return;
    if (c->req != NULL && c->req->answered)
        return; /* the callback that stopped parsing has answered already */
    if (c->head_too_big)
        fail(c, 431, "header_too_large", "the request head is over the size limit");
    else
        fail(c, 400, "bad_request", http_errno_description(e));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = arc_xmalloc(65536);
    buf->len = 65536;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    conn_t *c = st->data;
    req_priv_t *r = c->req;

    if (n == UV_EOF && c->state == C_HANDLING && r != NULL && !r->pub.abort_on_eof) {
        /* The client closed its side after its request: it may still read
         * the answer (a half-close), after which the connection closes. */
        c->peer_eof = 1;
        r->keep_alive = 0;
        uv_read_stop(st);
    } else if (n < 0) {
        /* Gone (or, for a route that waits, as good as gone). */
        conn_close(c);
    } else if (n > 0) {
        if (c->state == C_HANDLING || (r != NULL && r->answered)) {
            /* The next request, while this one is answered: keep it for
             * its turn (reading on, to notice a client that leaves). */
            c->pending = arc_xrealloc(c->pending, c->pending_len + (size_t)n, 1);
            memcpy(c->pending + c->pending_len, buf->base, (size_t)n);
            c->pending_len += (size_t)n;
            if (c->state != C_HANDLING || c->pending_len >= PENDING_MAX)
                uv_read_stop(st);
        } else {
            parse(c, buf->base, (size_t)n);
        }
    }
    free(buf->base);
}

/* Response bytes the client has taken: given to uv_write(), less what
 * libuv still queues and what the kernel holds unacknowledged (SIOCOUTQ).
 * Counting at write completions instead saw nothing for as long as the
 * kernel's full send buffer took to drain by a third, and counting what the
 * kernel accepted credited a reader with a megabyte it had never read. */
static uint64_t taken(conn_t *c)
{
    uint64_t held = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    uv_os_fd_t fd;
    int outq = 0;

    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, SIOCOUTQ, &outq) == 0 && outq > 0)
        held += (uint64_t)outq;
    return held < c->submitted ? c->submitted - held : 0;
}

/* Starts judging the pace of a response from now. */
static void pace_start(conn_t *c)
{
    c->pace_ms = arc_now_ms();
    c->pace_taken = taken(c);
    c->pace_debt = 0;
}

/* Each second of a response: 1 when its client has fallen too far behind
 * the minimum rate. Time counts against the client only while libuv queues
 * bytes the kernel would not take (the send buffer is full: the client is
 * what holds the response up); what it takes counts for it. */
static int pace_too_slow(conn_t *c)
{
    double now = arc_now_ms(), min = (double)c->server->limits.min_bytes_per_second;
    double slack = min * SEND_WINDOW_MS / 1000.0;
    uint64_t took = taken(c);

    if (slack < PACE_SLACK_BYTES)
        slack = PACE_SLACK_BYTES;
    if (took > c->pace_taken)
        c->pace_debt -= (double)(took - c->pace_taken);
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 0)
        c->pace_debt += min * (now - c->pace_ms) / 1000.0;
    if (c->pace_debt < -slack)
        c->pace_debt = -slack;
    c->pace_taken = took;
    c->pace_ms = now;
    return c->pace_debt > slack;
}

static void on_timer(uv_timer_t *t)
{
    conn_t *c = t->data;
    arc_http_limits_t *l = &c->server->limits;

    switch (c->state) {
    case C_WAIT:
    case C_DRAIN: conn_close(c); break;
    case C_HEAD: fail(c, 408, "timeout", "the request head took too long"); break;
    case C_BODY: {
        double secs = (arc_now_ms() - c->body_start_ms) / 1000.0;
        uint64_t got = c->req ? c->req->pub.body_received : 0;
        if (secs >= 10.0 && (double)got / secs < (double)l->min_bytes_per_second)
            fail(c, 408, "timeout", "the request body is arriving too slowly");
        break;
    }
    case C_HANDLING:
        if (pace_too_slow(c)) {
            c->reset_on_close = 1;
            conn_close(c);
        }
        break;
    default: break;
    }
}

/* ---- accepting ---- */

/* At the connection cap: closes the connection that has waited longest for
 * a request (a keep-alive between requests, or one that never sent a byte),
 * so that an idle crowd does not lock everyone else out. */
static void evict_idle(arc_http_server_t *s, conn_t *except)
{
    conn_t *oldest = NULL;

    for (conn_t *c = s->conns; c != NULL; c = c->next)
        if (c != except && c->state == C_WAIT && c->req == NULL && c->pending_len == 0 &&
            (oldest == NULL || c->idle_since_ms < oldest->idle_since_ms))
            oldest = c;
    if (oldest != NULL)
        conn_close(oldest);
}

/* Answers 503 and closes. A refused connection leaves the caps at once: it
 * lingers (REFUSED_LINGER_MS) counted apart, so that a client opening
 * connections faster than they are refused cannot fill the server with its
 * refusals. Past max_connections lingering, more are reset unanswered. */
static void refuse(conn_t *c, const char *msg)
{
    arc_http_server_t *s = c->server;

    ARC_ASSERT(!c->admitted && !c->counted);
    if (s->n_refused >= s->limits.max_connections) {
        c->reset_on_close = 1;
        conn_close(c);
        return;
    }
    c->refused = 1;
    s->n_refused++;
    fail(c, 503, "overloaded", msg);
}

static void on_connection(uv_stream_t *listener, int status)
{
    arc_http_server_t *s = listener->data;
    arc_addr_entry_t *e = NULL;
    conn_t *c;

    if (status < 0)
        return;
    c = arc_xcalloc(1, sizeof(*c));
    c->server = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_memory++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int sndbuf = SEND_BUFFER_BYTES;
    uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->idle_since_ms = arc_now_ms();
    struct sockaddr_storage sa;
    int salen = sizeof(sa);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen) == 0) {
        if (sa.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&sa, c->peer, sizeof(c->peer));
        else if (sa.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&sa, c->peer, sizeof(c->peer));
    }
    if (arc_ip_parse(c->peer, &c->peer_ip) == 0)
        c->trusted_peer = is_trusted(s, &c->peer_ip);
    if (s->closing) {
        refuse(c, "the server is stopping; try again shortly");
        return;
    }
    /* The address's own cap first: an address at its cap is refused
     * without closing anyone else's idle connection to make room. */
    if (!c->trusted_peer) {
        e = arc_addrmap_get(s->per_address, &c->peer_ip, NULL);
        if (e == NULL || (size_t)e->count >= s->limits.max_connections_per_address) {
            refuse(c, "too many connections from your address");
            return;
        }
    }
    if (s->n_conns >= s->limits.max_connections)
        evict_idle(s, c);
    if (s->n_conns >= s->limits.max_connections) {
        refuse(c, "too many connections; try again shortly");
        return;
    }
    /* e is still valid: closing another connection only lowers a count. */
    c->admitted = 1;
    s->n_conns++;
    if (e != NULL) {
        e->count++;
        c->counted = 1;
    }
    c->state = C_WAIT;
    arm(c, s->limits.header_timeout_ms, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int arc_http_server_create(uv_loop_t *loop, const char *listen, const arc_http_limits_t *limits,
                           const arc_http_handler_t *handler, arc_http_server_t **out,
                           arc_err_t *err)
{
    arc_http_server_t *s = NULL;
    char host[256];
    const char *colon = strrchr(listen, ':');
    struct sockaddr_storage addr;
    int rc, port;

    *out = NULL;
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) || colon[1] == '\0')
        return arc_err_set(err, ARC_EINVAL, "listen address '%s' is not host:port", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end = NULL;
    port = (int)strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return arc_err_set(err, ARC_EINVAL, "listen address '%s' has a bad port", listen);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host[0] == '[' ? host + 1 : host, port, (struct sockaddr_in6 *)&addr) != 0)
        return arc_err_set(err, ARC_EINVAL, "listen address '%s': '%s' is not an IP address",
                           listen, host);
    s = arc_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->limits = *limits;
    if (s->limits.max_headers == 0)
        s->limits.max_headers = 100;
    if (s->limits.max_connections_per_address == 0)
        s->limits.max_connections_per_address = s->limits.max_connections;
    s->trusted = arc_xcalloc(limits->n_trusted ? limits->n_trusted : 1, sizeof(*s->trusted));
    if (limits->n_trusted > 0)
        memcpy(s->trusted, limits->trusted, limits->n_trusted * sizeof(*s->trusted));
    s->limits.trusted = s->trusted;
    /* Room for every connection's address, and more for idle entries. */
    s->per_address = arc_addrmap_create(s->limits.max_connections * 2 + 16);
    s->handler = *handler;
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)) != 0) {
        arc_err_set(err, ARC_EIO, "cannot listen on %s: %s", listen, uv_strerror(rc));
        s->listener.data = NULL;
        uv_close((uv_handle_t *)&s->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT); /* let the close complete before freeing */
        arc_http_server_free(s);
        return ARC_EIO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    *out = s;
    return 0;
}

int arc_http_server_port(const arc_http_server_t *s)
{
    return s->port;
}

size_t arc_http_server_connections(const arc_http_server_t *s)
{
    return s->n_conns;
}

void *arc_http_server_data(const arc_http_server_t *s)
{
    return s->handler.data;
}

static void on_listener_closed(uv_handle_t *h)
{
    arc_http_server_t *s = h->data;

    h->data = NULL;
    s->listener.data = NULL;
    maybe_closed(s);
}

void arc_http_server_free(arc_http_server_t *s)
{
    if (s == NULL)
        return;
    arc_addrmap_free(s->per_address);
    free(s->trusted);
    free(s);
}

/* The deadline for closing has passed: whatever is still open is aborted
 * (each unfinished request's on_abort runs in conn_close), so that a client
 * trickling an upload just above the minimum rate cannot hold a stopping
 * daemon open. */
static void on_close_deadline(uv_timer_t *t)
{
    arc_http_server_t *s = t->data;

    /* conn_close unlinks the connection it closes, and an on_abort it runs
     * may close others: take the list's head each time. */
    while (s->conns != NULL) {
        conn_t *c = s->conns;
        c->reset_on_close = c->state != C_DRAIN;
        conn_close(c);
    }
}

void arc_http_server_close(arc_http_server_t *s, void (*cb)(arc_http_server_t *s))
{
    uint64_t ms = s->limits.close_timeout_ms ? s->limits.close_timeout_ms : CLOSE_TIMEOUT_MS;

    s->closing = 1;
    s->close_cb = cb;
    uv_timer_init(s->loop, &s->close_timer);
    s->close_timer.data = s;
    s->close_timer_state = TIMER_OPEN;
    uv_timer_start(&s->close_timer, on_close_deadline, ms, 0);
    /* Idle connections go now; busy ones after their response, or at the
     * deadline. */
    for (conn_t *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->state == C_WAIT)
            conn_close(c);
    }
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

/* ---- answering ---- */

const char *arc_http_param(const arc_http_req_t *req, const char *name)
{
    return arc_route_param(&req->match, name);
}

const char *arc_http_header(const arc_http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (req->headers[i].name != NULL && strcmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

int arc_http_list_next(const char **pos, const char **tok, size_t *len, double *q)
{
    const char *p = *pos;

    while (p != NULL && (*p == ' ' || *p == '\t' || *p == ','))
        p++;
    if (p == NULL || *p == '\0')
        return 0;
    const char *end = strchr(p, ',');
    if (end == NULL)
        end = p + strlen(p);
    size_t n = 0;
    while (p + n < end && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
        n++;
    *tok = p;
    *len = n;
    *q = 1;
    for (const char *s = p + n; s < end; s++) {
        if (*s != ';')
            continue;
        s++;
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (end - s >= 2 && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
            char *e;
            double v = strtod(s + 2, &e);
            *q = e == s + 2 || e > end || !(v >= 0) ? 0 : v > 1 ? 1 : v;
        }
    }
    *pos = end;
    return 1;
}

int arc_http_accepts(const char *list, const char *coding)
{
    const char *pos = list, *tok;
    size_t len, cl = strlen(coding);
    double q;
    int star = 0, named = -1;

    while (arc_http_list_next(&pos, &tok, &len, &q)) {
        int is = (len == cl && strncasecmp(tok, coding, cl) == 0) ||
                 (strcmp(coding, "gzip") == 0 && len == 6 && strncasecmp(tok, "x-gzip", 6) == 0);
        if (is)
            named = q > 0;
        else if (len == 1 && *tok == '*')
            star = q > 0;
    }
    return named >= 0 ? named : star;
}

const char *arc_http_query_param(const arc_http_req_t *req, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    const char *p = req->query;

    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg >= n && strncmp(p, name, n) == 0 && (seg == n || p[n] == '=')) {
            size_t vlen = seg > n ? seg - n - 1 : 0;
            if (vlen >= len)
                vlen = len - 1;
            memcpy(buf, p + n + (seg > n ? 1 : 0), vlen);
            buf[vlen] = '\0';
            return buf;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int arc_http_query_get(const arc_http_req_t *req, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name), out = 0;
    const char *p = req->query;

    if (len > 0)
        buf[0] = '\0';
    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg >= n && strncmp(p, name, n) == 0 && (seg == n || p[n] == '=')) {
            for (size_t i = n + 1; i < seg; i++) {
                int c = (unsigned char)p[i];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = i + 2 < seg ? hex_digit(p[i + 1]) : -1;
                    int lo = hi >= 0 ? hex_digit(p[i + 2]) : -1;
                    if (lo < 0 || (hi == 0 && lo == 0))
                        break;
                    c = hi << 4 | lo;
                    i += 2;
                }
                if (out + 1 >= len)
                    break;
                buf[out++] = (char)c;
                if (i + 1 == seg) {
                    buf[out] = '\0';
                    return 1;
                }
            }
            if (seg <= n + 1) {
                buf[0] = '\0';
                return 1; /* "v" or "v=": present, empty */
            }
            buf[0] = '\0';
            return -1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

static void on_written(uv_write_t *w, int status)
{
    write_t *wr = (write_t *)w;
    req_priv_t *r = wr->req;

    /* The write still counts while its callback runs, so a callback that
     * ends the response cannot free the request under us. */
    if (wr->cb != NULL)
        wr->cb(&r->pub, status, wr->arg);
    free(wr->owned);
    free(wr);
    if (status < 0 && r->conn != NULL)
        conn_close(r->conn);
    r->writes--;
    maybe_finish(r);
}

static void send_bufs(req_priv_t *r, char *owned, const void *data, size_t len,
                      arc_http_write_cb cb, void *arg, const char *head, size_t head_len)
{
    write_t *wr = arc_xcalloc(1, sizeof(*wr));
    uv_buf_t bufs[2];
    unsigned nb = 0;

    wr->req = r;
    wr->cb = cb;
    wr->arg = arg;
    wr->owned = owned;
    if (head_len > 0)
        bufs[nb++] = uv_buf_init((char *)head, (unsigned)head_len);
    if (len > 0)
        bufs[nb++] = uv_buf_init((char *)data, (unsigned)len);
    if (nb == 0)
        bufs[nb++] = uv_buf_init((char *)"", 0); /* completes like any write */
    wr->bytes = head_len + len;
    r->sent += wr->bytes;
    r->writes++;
    int rc = r->conn ? uv_write(&wr->w, (uv_stream_t *)&r->conn->tcp, bufs, nb, on_written)
                     : UV_ECANCELED;
    if (rc == 0)
        r->conn->submitted += wr->bytes;
    if (rc != 0) {
        /* No connection: report as if written with an error. */
        wr->w.data = NULL;
        on_written(&wr->w, rc);
    }
}

/* The status line and headers, in one owned buffer. */
static char *build_head(req_priv_t *r, int status, const char *content_type,
                        const char *extra_headers, int64_t content_length, size_t *len)
{
    conn_t *c = r->conn;
    int keep =
        r->keep_alive && !r->early && content_length >= 0 && c != NULL && !c->server->closing;
    const char *origin = r->cors == CORS_ALLOW ? arc_http_header(&r->pub, "origin") : NULL;
    size_t cap = 768 + (extra_headers ? strlen(extra_headers) : 0) +
                 (content_type ? strlen(content_type) : 0) + (origin ? strlen(origin) : 0);
    char *h = arc_xmalloc(cap);
    if (r->pub.request_id[0] == '\0') /* answered before its head was read */
        request_id(&r->pub);
    int n = snprintf(h, cap, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n", status,
                     arc_http_reason(status), r->pub.request_id);
    if (r->cors != CORS_NONE)
        n += snprintf(h + n, cap - (size_t)n, "Vary: Origin\r\n");
    if (origin != NULL)
        n += snprintf(h + n, cap - (size_t)n,
                      "Access-Control-Allow-Origin: %s\r\n"
                      "Access-Control-Expose-Headers: Location, Retry-After, X-Request-Id\r\n",
                      origin);
    if (content_type != NULL)
        n += snprintf(h + n, cap - (size_t)n, "Content-Type: %s\r\n", content_type);
    if (content_length >= 0)
        n +=
            snprintf(h + n, cap - (size_t)n, "Content-Length: %lld\r\n", (long long)content_length);
    n += snprintf(h + n, cap - (size_t)n, "Connection: %s\r\n%s\r\n", keep ? "keep-alive" : "close",
                  extra_headers ? extra_headers : "");
    r->keep_alive = keep;
    *len = (size_t)n;
    return h;
}

static int begin(req_priv_t *r, int status)
{
    if (r->answered) {
        arc_log_msg(ARC_LOG_ERROR, "a request to %s was answered twice", r->pub.path);
        return -1;
    }
    r->answered = 1;
    r->pub.status = status;
    if (r->conn != NULL) {
        conn_t *c = r->conn;
        arc_http_handler_t *h = &c->server->handler;
        /* Answered before its body is in (a handler's refusal, from a
         * callback of its own): the rest of the body is never parsed, and
         * the connection ends after the answer, for what follows on it is
         * body, not requests. */
        if (c->state == C_BODY)
            r->early = 1;
        if (h->on_done != NULL)
            h->on_done(&r->pub, arc_now_ms() - r->pub.start_ms);
        /* From now on the client must take the answer at the minimum rate. */
        pace_start(c);
        if (c->state == C_HANDLING && c->server->limits.min_bytes_per_second > 0)
            arm(c, 1000, 1000);
    }
    return 0;
}

void arc_http_respond(arc_http_req_t *req, int status, const char *content_type,
                      const char *extra_headers, const void *body, size_t len)
{
    req_priv_t *r = (req_priv_t *)req;
    size_t hlen;

    if (begin(r, status) != 0)
        return;
    r->ended = 1;
    if (r->conn == NULL) {
        maybe_finish(r);
        return;
    }
    int head_only = strcmp(req->method, "HEAD") == 0;
    char *head = build_head(r, status, content_type, extra_headers, (int64_t)len, &hlen);
    char *copy = head_only || len == 0 ? NULL : arc_xmalloc(len);
    if (copy)
        memcpy(copy, body, len);
    /* One allocation owns both: the head is freed with the body below. */
    size_t total = hlen + (copy ? len : 0);
    char *all = arc_xmalloc(total ? total : 1);
    memcpy(all, head, hlen);
    if (copy)
        memcpy(all + hlen, copy, len);
    free(head);
    free(copy);
    send_bufs(r, all, NULL, 0, NULL, NULL, all, total);
}

void arc_http_respond_json(arc_http_req_t *req, int status, json_t *js)
{
    char *s = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);

    arc_http_respond(req, status, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
                     s, s ? strlen(s) : 0);
    free(s);
    json_decref(js);
}

void arc_http_error(arc_http_req_t *req, int status, const char *code, const char *extra_headers,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Messages quote what the client sent (paths, field names), which need
     * not be UTF-8; JSON strings must be. */
    arc_str_printable(msg);
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    json_t *js = json_pack("{s:s, s:s}", "error", msg, "code", code);
    char *s = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char headers[512];
    snprintf(headers, sizeof(headers), "Cache-Control: no-store\r\n%s",
             extra_headers ? extra_headers : "");
    arc_http_respond(req, status, "application/json; charset=utf-8", headers, s, strlen(s));
    free(s);
    json_decref(js);
}

void arc_http_start(arc_http_req_t *req, int status, const char *content_type,
                    const char *extra_headers, int64_t content_length)
{
    req_priv_t *r = (req_priv_t *)req;
    size_t hlen;

    if (begin(r, status) != 0)
        return;
    if (r->conn == NULL)
        return;
    char *head = build_head(r, status, content_type, extra_headers, content_length, &hlen);
    send_bufs(r, head, NULL, 0, NULL, NULL, head, hlen);
}

void arc_http_write(arc_http_req_t *req, const void *data, size_t len, arc_http_write_cb cb,
                    void *arg)
{
    req_priv_t *r = (req_priv_t *)req;

    /* A HEAD request's answer is its head alone, whatever the route sends. */
    if (strcmp(req->method, "HEAD") == 0)
        len = 0;
    send_bufs(r, NULL, data, len, cb, arg, NULL, 0);
}

void arc_http_end(arc_http_req_t *req)
{
    req_priv_t *r = (req_priv_t *)req;

    if (!r->answered)
        begin(r, 500);
    r->ended = 1;
    maybe_finish(r);
}

void arc_http_pause(arc_http_req_t *req)
{
    req_priv_t *r = (req_priv_t *)req;

    if (r->conn != NULL && r->conn->state == C_BODY)
        uv_read_stop((uv_stream_t *)&r->conn->tcp);
}

void arc_http_resume(arc_http_req_t *req)
{
    req_priv_t *r = (req_priv_t *)req;

    conn_t *c = r->conn;

    if (c == NULL || r->answered || c->closing || c->peer_eof)
        return;
    /* While the request is handled too: reading on is how a client that
     * leaves is noticed (its next request waits in pending meanwhile). */
    if (c->state == C_BODY || (c->state == C_HANDLING && c->pending_len < PENDING_MAX))
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}
