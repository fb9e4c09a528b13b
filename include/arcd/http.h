/*
 * http.h: arcd's HTTP/1.1 server on libuv with Node's http-parser.
 *
 * Runs on the daemon's loop and never blocks it. Each connection parses one
 * request at a time (pipelined requests wait their turn in a bounded
 * buffer); keep-alive is honoured. While a request is answered the
 * connection keeps reading, so a client that leaves is noticed at once: a
 * route that waits (a long poll, an event stream) sets abort_on_eof and is
 * aborted then. Limits: the request head's size and field count (431), a
 * body limit chosen per request by the handler (413), a head deadline (from
 * the connection's start, or from a later request's first byte), an idle
 * timeout between requests, a minimum rate for bodies arriving and for
 * responses leaving (a slow sender gets 408; a slow reader is cut off), a
 * cap per client address (503; an IPv6 client counts by its /64, see
 * arc_ip_limit_key) and a connection cap (503, after closing the
 * longest-idle keep-alive connection if one can make room; an address at
 * its own cap is refused first and closes no one's). A refused connection
 * is closed a moment after its 503 and holds no slot of either cap
 * meanwhile. Every error is JSON {"error": "...", "code": "..."}.
 *
 * The client's address is the TCP peer's, unless the peer is one of the
 * trusted proxies: then it is the last address of X-Forwarded-For that is
 * not a trusted proxy itself (entries may carry a port, and IPv6 brackets:
 * "192.0.2.7:5678", "[2001:db8::1]:443"), and X-Forwarded-Proto says
 * whether the client used HTTPS.
 *
 * Requests are routed by a table (include/arcd/router.h): an unknown path is
 * answered 404 and a known path with another method 405 (with Allow) by the
 * server itself. A matched request goes to the handler's on_route hook (for
 * policies every route shares, such as tokens; it may answer), then to its
 * route's on_head when its head is complete (which picks how the body is
 * taken, or answers at once), and its route's on_request when the body has
 * arrived. It is answered exactly once, at once or later, with
 * arc_http_respond*() or by streaming (arc_http_start / arc_http_write /
 * arc_http_end).
 *
 * The request is freed when its response has ended and been written. If it
 * cannot end normally (the client goes away before the end of the response,
 * or the server itself refuses the body: too large, too slow), on_abort runs
 * first: the handler must cancel there everything that would still touch the
 * request (a pool wait, a file stream, temporary files), and must not answer
 * or use it afterwards. A handler with asynchronous work pending sets
 * on_abort.
 */
#ifndef ARCD_HTTP_H
#define ARCD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "arcd/error.h"
#include "arcd/net.h"
#include "arcd/router.h"

typedef struct arc_http_server_s arc_http_server_t;

typedef struct arc_http_header_s {
    char *name; /* lower-cased */
    char *value;
} arc_http_header_t;

/* How on_head wants the body. */
typedef enum arc_http_body_e {
    ARC_HTTP_BODY_NONE = 0, /* no body expected; one that comes is refused (413) */
    ARC_HTTP_BODY_BUFFER,   /* collect up to body_limit bytes in req->body */
    ARC_HTTP_BODY_STREAM    /* hand each piece to on_body as it arrives */
} arc_http_body_t;

typedef void (*arc_http_abort_cb)(arc_http_req_t *req);
/* Returns 0, or a status code to refuse the rest of the body with. */
typedef int (*arc_http_body_cb)(arc_http_req_t *req, const char *data, size_t len);

struct arc_http_req_s {
    arc_http_server_t *server;
    const char *method; /* "GET", "POST", ... */
    char *path;         /* decoded? no: the raw path, without the query */
    char *query;        /* the raw query string after '?', or "" */
    arc_http_header_t *headers;
    size_t n_headers;
    uint64_t content_length; /* UINT64_MAX when absent (chunked or none) */
    char peer[64];           /* the TCP peer's address */
    char client[64];         /* the client's: the peer, or X-Forwarded-For from a trusted proxy */
    arc_ip_t client_ip;
    int https;           /* X-Forwarded-Proto: https from a trusted proxy */
    char request_id[65]; /* X-Request-Id: the client's, or made; sent back, logged */
    double start_ms;     /* when the head began */
    int abort_on_eof;    /* set by the route: a client that closes its side has left */

    /* Set by on_head: */
    arc_http_body_t body_mode;
    uint64_t body_limit;
    arc_http_body_cb on_body;
    arc_http_abort_cb on_abort;
    void *data;              /* the route's own */
    void *ctx;               /* the on_route hook's own (such as the API token) */
    const char *route;       /* a label for metrics: the route's name, or "unmatched" */
    arc_route_match_t match; /* the route and its path parameters */

    /* ARC_HTTP_BODY_BUFFER's result (NUL-terminated). */
    char *body;
    size_t body_len;

    uint64_t body_received;
    int status; /* what was answered, 0 until then */
    int aborted;
};

typedef struct arc_http_handler_s {
    const arc_route_t *routes; /* the route table (borrowed; static data) */
    size_t n_routes;
    /* A route matched: may answer (refuse) the request before the route's
     * on_head runs. Optional. */
    void (*on_route)(arc_http_req_t *req);
    /* Every answered request, for metrics and logs. */
    void (*on_done)(arc_http_req_t *req, double ms);
    void *data;
    /* CORS, for a browser frontend on another origin: the routes whose
     * flags have cors_flag answer a preflight (OPTIONS with Origin and
     * Access-Control-Request-Method) themselves, and every answer of theirs
     * carries `Vary: Origin` and, when the request's Origin is one of
     * cors_origins (exact, NULL-ended, borrowed), Access-Control-Allow-Origin
     * naming it (never "*"; no credentials: the API takes bearer tokens).
     * NULL or empty: no CORS at all. */
    const char *const *cors_origins;
    unsigned cors_flag;
} arc_http_handler_t;

/* A path parameter of the request's route (":id" -> "id"), or NULL. */
const char *arc_http_param(const arc_http_req_t *req, const char *name);

typedef struct arc_http_limits_s {
    size_t max_header_bytes;    /* the head, counting 64 bytes of bookkeeping per field */
    size_t max_headers;         /* header fields per head */
    uint64_t header_timeout_ms; /* from the connection's start, or a later head's first byte */
    uint64_t idle_timeout_ms;
    /* The slowest a body may arrive (on average, after 10 s) or a response
     * be taken: a response's client may fall behind this rate by 10 s worth
     * of it, or 64 KiB when that is more (TCP shows a slow reader's progress
     * in steps of up to a segment), before the connection is reset. Only
     * time in which the kernel's send buffer is full counts against it.
     * 0: no minimum. */
    uint64_t min_bytes_per_second;
    size_t max_connections;
    size_t max_connections_per_address; /* not counting trusted proxies */
    const arc_cidr_t *trusted;          /* proxies whose X-Forwarded-* are believed (copied) */
    size_t n_trusted;
    /* arc_http_server_close(): how long open connections may take to finish
     * before they are aborted. 0: 15 s. */
    uint64_t close_timeout_ms;
} arc_http_limits_t;

/* Starts listening on host:port ("127.0.0.1:8080"; port 0 picks one). The
 * server is owned by the caller: arc_http_server_close(), then
 * arc_http_server_free() in close_cb. */
int arc_http_server_create(uv_loop_t *loop, const char *listen, const arc_http_limits_t *limits,
                           const arc_http_handler_t *handler, arc_http_server_t **out,
                           arc_err_t *err);

/* The port actually bound. */
int arc_http_server_port(const arc_http_server_t *s);

/* Open connections and requests in progress (the connections the caps
 * count: not refused ones lingering after their 503). */
size_t arc_http_server_connections(const arc_http_server_t *s);

/* Stops accepting; idle connections close at once, busy ones after their
 * request. Those still open after limits.close_timeout_ms are aborted (the
 * on_abort of each unfinished request runs, as when a client leaves), so a
 * slow client cannot hold the close. cb runs once every handle is closed;
 * then the server may be freed with arc_http_server_free(). */
void arc_http_server_close(arc_http_server_t *s, void (*cb)(arc_http_server_t *s));

/* Frees a closed server; accepts NULL. */
void arc_http_server_free(arc_http_server_t *s);

/* Handler data given at creation. */
void *arc_http_server_data(const arc_http_server_t *s);

/* A header's value (name lower-case), or NULL. */
const char *arc_http_header(const arc_http_req_t *req, const char *name);

/* Steps through a comma-separated list with weights, as Accept-Encoding and
 * Accept-Language are ("br;q=1.0, gzip ; Q=0.5"): from *pos (the header's
 * value, or NULL) writes the next element's token (*tok, *len: parameters
 * and spaces excluded) and its q-value (1 when absent, 0 when unreadable,
 * at most 1), moves *pos past it and returns 1; returns 0 at the end. */
int arc_http_list_next(const char **pos, const char **tok, size_t *len, double *q);

/* 1 when an Accept-Encoding list takes coding (by name, or "*") with a
 * q-value above 0; gzip is also x-gzip. */
int arc_http_accepts(const char *list, const char *coding);

/* A query parameter's raw value copied into buf, or NULL when absent. */
const char *arc_http_query_param(const arc_http_req_t *req, const char *name, char *buf,
                                 size_t len);

/* A query parameter's value, percent-decoded ('+' is a space) into buf:
 * returns 1, 0 when absent (buf ""), or -1 when it does not fit in len - 1
 * bytes, holds a bad escape or decodes to a NUL byte. The first of repeated
 * parameters counts. */
int arc_http_query_get(const arc_http_req_t *req, const char *name, char *buf, size_t len);

/* Answers with a complete body (copied). extra_headers: "Name: value\r\n"
 * lines, or NULL. */
void arc_http_respond(arc_http_req_t *req, int status, const char *content_type,
                      const char *extra_headers, const void *body, size_t len);

/* Answers with JSON (takes ownership of js). */
void arc_http_respond_json(arc_http_req_t *req, int status, json_t *js);

/* Answers {"error": message, "code": code}; extra_headers as above. */
void arc_http_error(arc_http_req_t *req, int status, const char *code, const char *extra_headers,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Streaming: the head (no Content-Length when content_length is negative,
 * then the connection closes after the body), then pieces, then the end.
 * arc_http_write's cb runs when the piece is handed to the kernel (or the
 * client has gone: status < 0); data must stay valid until then. */
void arc_http_start(arc_http_req_t *req, int status, const char *content_type,
                    const char *extra_headers, int64_t content_length);
typedef void (*arc_http_write_cb)(arc_http_req_t *req, int status, void *arg);
void arc_http_write(arc_http_req_t *req, const void *data, size_t len, arc_http_write_cb cb,
                    void *arg);
void arc_http_end(arc_http_req_t *req);

/* Flow control for streamed bodies: stop reading the connection until
 * arc_http_resume() (e.g. while a body piece is written to disk). Pieces
 * already read are still delivered. */
void arc_http_pause(arc_http_req_t *req);
void arc_http_resume(arc_http_req_t *req);

/* The reason phrase of a status code. */
const char *arc_http_reason(int status);

#endif
