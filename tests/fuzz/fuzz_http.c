/*
 * libFuzzer harness for the HTTP request path: the real server
 * (src/http/server.c: request line, headers, limits, Content-Length and
 * chunked bodies, keep-alive, pipelining) on a real loopback socket, with a
 * handler that streams multipart/form-data bodies through the real parser
 * (src/http/multipart.c), as the upload route does. Each input is written
 * by a client that then half-closes; the loop runs until the server has
 * closed the connection.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "arcd/http.h"
#include "arcd/multipart.h"

static uv_loop_t *loop;
static arc_http_server_t *server;
static int port;

typedef struct upload_s {
    arc_multipart_t *mp;
    size_t bytes, parts;
} upload_t;

static int on_part(void *arg, const char *name, const char *filename, const char *ctype)
{
    upload_t *u = arg;
    (void)name, (void)filename, (void)ctype;
    u->parts++;
    return 0;
}

static int on_data(void *arg, const char *data, size_t len)
{
    upload_t *u = arg;
    (void)data;
    u->bytes += len;
    return 0;
}

static int on_part_end(void *arg)
{
    (void)arg;
    return 0;
}

static void on_abort(arc_http_req_t *req)
{
    upload_t *u = req->data;
    arc_multipart_free(u->mp);
    free(u);
}

static int on_body(arc_http_req_t *req, const char *data, size_t len)
{
    upload_t *u = req->data;
    return arc_multipart_feed(u->mp, data, len) == 0 ? 0 : 400;
}

static void on_head(arc_http_req_t *req)
{
    char boundary[ARC_MULTIPART_MAX_BOUNDARY + 2];

    (void)arc_http_query_param(req, "wait", boundary, sizeof(boundary));
    if (arc_multipart_boundary(arc_http_header(req, "content-type"), boundary, sizeof(boundary)) !=
        0) {
        req->body_mode = ARC_HTTP_BODY_BUFFER;
        req->body_limit = 4096;
        return;
    }
    upload_t *u = calloc(1, sizeof(*u));
    arc_multipart_cb_t cb = {on_part, on_data, on_part_end, u};
    u->mp = arc_multipart_create(boundary, &cb);
    req->data = u;
    req->on_abort = on_abort;
    req->body_mode = ARC_HTTP_BODY_STREAM;
    req->body_limit = 1 << 20;
    req->on_body = on_body;
}

static void on_request(arc_http_req_t *req)
{
    upload_t *u = req->data;
    char msg[128];

    if (u != NULL) {
        int ok = arc_multipart_finish(u->mp) == 0;
        snprintf(msg, sizeof(msg), "{\"parts\": %zu, \"bytes\": %zu}", u->parts, u->bytes);
        arc_multipart_free(u->mp);
        free(u);
        req->data = NULL;
        req->on_abort = NULL;
        arc_http_respond(req, ok ? 200 : 400, "application/json", NULL, msg, strlen(msg));
        return;
    }
    const char *id = arc_http_param(req, "id"), *file = arc_http_param(req, "file");
    arc_http_error(req, 404, "not_found", NULL, "%s %s (%s/%s)", req->method, req->path,
                   id ? id : "-", file ? file : "-");
}

static void on_done(arc_http_req_t *req, double ms)
{
    (void)req, (void)ms;
}

/* ---- the client ---- */

typedef struct client_s {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_shutdown_t shutdown;
    uv_buf_t buf;
    int closed;
} client_t;

static void on_client_closed(uv_handle_t *h)
{
    ((client_t *)h->data)->closed = 1;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    static char scratch[65536];
    (void)h, (void)size;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0 && !uv_is_closing((uv_handle_t *)s))
        uv_close((uv_handle_t *)s, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req, (void)status;
}

static void on_written(uv_write_t *w, int status)
{
    client_t *c = w->data;
    (void)status;
    uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
}

static void on_connected(uv_connect_t *req, int status)
{
    client_t *c = req->data;

    if (status != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    c->write.data = c;
    uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->buf, 1, on_written);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    arc_http_limits_t limits = {.max_header_bytes = 8192,
                                .header_timeout_ms = 2000,
                                .idle_timeout_ms = 2000,
                                .min_bytes_per_second = 0,
                                .max_connections = 64};
    /* Routes with parameters and a catch-all, so the router is fuzzed too. */
    static const arc_route_t routes[] = {
        {"GET", "/objects/:id/:file", "objects", NULL, on_request, 0},
        {"GET", "/status/:id", "status", NULL, on_request, 0},
        {"GET", "/*", "get", NULL, on_request, 0},
        {"POST", "/*", "post", on_head, on_request, 0},
    };
    static arc_http_handler_t handler = {routes, sizeof(routes) / sizeof(routes[0]), NULL, on_done,
                                         NULL};
    arc_err_t err = {{0}};

    (void)argc, (void)argv;
    loop = uv_default_loop();
    if (arc_http_server_create(loop, "127.0.0.1:0", &limits, &handler, &server, &err) != 0) {
        fprintf(stderr, "fuzz_http: %s\n", err.msg);
        abort();
    }
    port = arc_http_server_port(server);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    client_t c;
    struct sockaddr_in addr;

    memset(&c, 0, sizeof(c));
    c.buf = uv_buf_init(malloc(size ? size : 1), (unsigned)size);
    memcpy(c.buf.base, data, size);
    uv_tcp_init(loop, &c.tcp);
    c.tcp.data = c.connect.data = &c;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr, on_connected);
    while (!c.closed)
        uv_run(loop, UV_RUN_ONCE);
    /* Let the server finish with its side too. */
    while (arc_http_server_connections(server) > 0)
        uv_run(loop, UV_RUN_ONCE);
    free(c.buf.base);
    return 0;
}
