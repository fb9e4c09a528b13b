/* Tests for src/http/server.c on a real loopback socket, the loop driven by
 * the test: the server's lifetime at close, HEAD answers, header limits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../test.h"
#include "arcd/buf.h"
#include "arcd/http.h"

static void on_stream(arc_http_req_t *req)
{
    static const char body[] = "a streamed body";

    arc_http_start(req, 200, "text/plain", NULL, -1);
    arc_http_write(req, body, sizeof(body) - 1, NULL, NULL);
    arc_http_end(req);
}

static void on_hello(arc_http_req_t *req)
{
    arc_http_respond(req, 200, "text/plain", NULL, "hello", 5);
}

static const arc_route_t routes[] = {
    {"GET", "/stream", "stream", NULL, on_stream, 0},
    {"GET", "/hello", "hello", NULL, on_hello, 0},
};

typedef struct env_s {
    uv_loop_t loop;
    arc_http_server_t *server;
    int closed;
} env_t;

static void start(env_t *e, size_t max_headers)
{
    arc_http_limits_t limits = {.max_header_bytes = 16384,
                                .max_headers = max_headers,
                                .header_timeout_ms = 5000,
                                .idle_timeout_ms = 5000,
                                .min_bytes_per_second = 0,
                                .max_connections = 16,
                                .max_connections_per_address = 16};
    arc_http_handler_t handler = {routes, 2, NULL, NULL, e};
    arc_err_t err = {{0}};

    memset(e, 0, sizeof(*e));
    CHECK(uv_loop_init(&e->loop) == 0);
    CHECK_MSG(
        arc_http_server_create(&e->loop, "127.0.0.1:0", &limits, &handler, &e->server, &err) == 0,
        "%s", err.msg);
}

/* A blocking client socket connected to the server. */
static int client(env_t *e)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)arc_http_server_port(e->server))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    return fd;
}

/* Runs the loop until cond holds or about 2 s pass. */
#define RUN_UNTIL(e, cond)                                                                         \
    for (int spin_ = 0; !(cond) && spin_ < 2000; spin_++) {                                        \
        uv_run(&(e)->loop, UV_RUN_NOWAIT);                                                         \
        usleep(1000);                                                                              \
    }

/* Sends req and reads the whole answer (the server closes after it). */
static size_t exchange(env_t *e, const char *req, char *out, size_t size)
{
    int fd = client(e);
    size_t got = 0;

    CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    shutdown(fd, SHUT_WR);
    for (int spin = 0; spin < 2000; spin++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, out + got, size - 1 - got, MSG_DONTWAIT);
        if (n == 0)
            break;
        if (n > 0)
            got += (size_t)n;
        else
            usleep(1000);
    }
    out[got] = '\0';
    close(fd);
    return got;
}

static void on_closed_free(arc_http_server_t *s)
{
    env_t *e = arc_http_server_data(s);

    arc_http_server_free(s);
    e->server = NULL;
    e->closed = 1;
}

static void finish(env_t *e)
{
    if (e->server != NULL) {
        arc_http_server_close(e->server, on_closed_free);
        RUN_UNTIL(e, e->closed);
    }
    uv_run(&e->loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(uv_loop_close(&e->loop), 0);
}

TEST(test_regression_freed_only_after_every_connection_is_gone)
{
    /* Closing a server with an idle connection: the listener's close
     * callback could run before the connection's, and the owner freed the
     * server the connection's callback then read (AddressSanitizer saw the
     * use after free when a daemon stopped). */
    env_t e;

    start(&e, 100);
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = client(&e);
    RUN_UNTIL(&e, arc_http_server_connections(e.server) == 3);
    CHECK_EQ_INT(arc_http_server_connections(e.server), 3);
    arc_http_server_close(e.server, on_closed_free);
    RUN_UNTIL(&e, e.closed);
    CHECK(e.closed);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    finish(&e);
}

TEST(test_regression_head_has_no_body)
{
    /* HEAD of a streamed answer (an event stream's) sent the body too. */
    env_t e;
    char out[4096];

    start(&e, 100);
    exchange(&e, "HEAD /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out, sizeof(out));
    CHECK_MSG(strncmp(out, "HTTP/1.1 200", 12) == 0, "%s", out);
    char *end = strstr(out, "\r\n\r\n");
    CHECK_MSG(end != NULL && end[4] == '\0', "a body after the head: '%s'", end ? end + 4 : out);
    exchange(&e, "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out, sizeof(out));
    CHECK_MSG(strstr(out, "a streamed body") != NULL, "GET has its body: %s", out);
    finish(&e);
}

TEST(test_regression_header_fields_are_capped)
{
    /* 16,000 empty fields (64 KB on the wire) once cost 1.2 MB a
     * connection: now the count and each field's bookkeeping are capped. */
    env_t e;
    char out[4096];
    arc_buf_t req = ARC_BUF_INIT;

    start(&e, 10);
    arc_buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 11; i++)
        arc_buf_printf(&req, "X-%d: 1\r\n", i);
    arc_buf_puts(&req, "Connection: close\r\n\r\n");
    exchange(&e, req.data, out, sizeof(out));
    CHECK_MSG(strncmp(out, "HTTP/1.1 431", 12) == 0, "12 fields over a cap of 10: %.40s", out);
    arc_buf_clear(&req);
    arc_buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    exchange(&e, req.data, out, sizeof(out));
    CHECK_MSG(strncmp(out, "HTTP/1.1 200", 12) == 0, "a plain request: %.40s", out);
    finish(&e);

    /* Empty fields count 64 bytes each against the 16 KB head. */
    start(&e, 10000);
    arc_buf_clear(&req);
    arc_buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 300; i++)
        arc_buf_printf(&req, "X%d:\r\n", i);
    arc_buf_puts(&req, "Connection: close\r\n\r\n");
    exchange(&e, req.data, out, sizeof(out));
    CHECK_MSG(strncmp(out, "HTTP/1.1 431", 12) == 0, "300 empty fields: %.40s", out);
    finish(&e);
    arc_buf_dispose(&req);
}
