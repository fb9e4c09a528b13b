/*
 * `arcd serve`: start-up, the loop, metrics and graceful shutdown.
 *
 * Start-up happens before the loop runs and may block: settings are checked
 * (fail fast), the storage folders are made, the migrations applied under an
 * advisory lock. Then everything runs on the loop. SIGTERM or SIGINT stops
 * accepting connections, answers long polls, ends event streams, stops the
 * workers and returns their jobs to the queue (for this daemon's next start
 * or another daemon), closes the pool and exits.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "arcd/cli.h"
#include "arcd/daemon.h"
#include "arcd/db.h"

static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* Uploads that were in flight when a daemon died have no row: their temporary
 * folders can go once they are old enough not to belong to a live upload of
 * another daemon sharing the storage. */
static void sweep_tmp(const char *tmpdir)
{
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    time_t now = time(NULL);

    if (dir == NULL)
        return;
    while ((e = readdir(dir)) != NULL) {
        char path[PATH_MAX + 300], file[PATH_MAX + 600];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        if (stat(path, &st) != 0 || now - st.st_mtime < 3600)
            continue;
        DIR *sub = opendir(path);
        struct dirent *f;
        while (sub != NULL && (f = readdir(sub)) != NULL) {
            if (f->d_name[0] == '.')
                continue;
            snprintf(file, sizeof(file), "%s/%s", path, f->d_name);
            unlink(file);
        }
        if (sub != NULL)
            closedir(sub);
        rmdir(path);
    }
    closedir(dir);
}

/* ---- metrics ---- */

static const double buckets_ms[ARC_METRIC_BUCKETS] = {1,   2.5, 5,   10,   25,   50,
                                                      100, 250, 500, 1000, 5000, 1e300};

void arc_daemon_observe_compile(arc_daemon_t *d, double ms)
{
    static const double le[ARC_METRIC_BUCKETS] = {100,   250,   500,   1000,   2500,   5000,
                                                  10000, 30000, 60000, 120000, 300000, 1e300};
    d->compile_count++;
    d->compile_sum_ms += ms;
    for (int b = 0; b < ARC_METRIC_BUCKETS; b++)
        if (ms <= le[b])
            d->compile_buckets[b]++;
}

typedef struct sbuf_s {
    char *s;
    size_t len, cap;
} sbuf_t;

static void put(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;

    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n) * 2;
        b->s = arc_xrealloc(b->s, b->cap, 1);
    }
}

static void le_label(char *out, size_t n, double le)
{
    if (le > 1e299)
        snprintf(out, n, "+Inf");
    else
        snprintf(out, n, "%g", le);
}

char *arc_daemon_metrics(arc_daemon_t *d)
{
    static const double compile_le[ARC_METRIC_BUCKETS] = {
        100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 1e300};
    sbuf_t b = {arc_xmalloc(4096), 0, 4096};
    char le[32];

    put(&b, "# HELP arcd_http_requests_total HTTP requests answered, by route.\n"
            "# TYPE arcd_http_requests_total counter\n");
    for (int i = 0; i < d->n_routes; i++)
        put(&b, "arcd_http_requests_total{route=\"%s\"} %llu\n", d->routes[i].route,
            (unsigned long long)d->routes[i].count);
    put(&b, "# HELP arcd_http_errors_total HTTP requests answered with a 5xx status.\n"
            "# TYPE arcd_http_errors_total counter\n");
    for (int i = 0; i < d->n_routes; i++)
        put(&b, "arcd_http_errors_total{route=\"%s\"} %llu\n", d->routes[i].route,
            (unsigned long long)d->routes[i].errors);
    put(&b, "# HELP arcd_http_request_duration_ms Time to the start of the answer.\n"
            "# TYPE arcd_http_request_duration_ms histogram\n");
    for (int i = 0; i < d->n_routes; i++) {
        arc_route_metrics_t *m = &d->routes[i];
        for (int k = 0; k < ARC_METRIC_BUCKETS; k++) {
            le_label(le, sizeof(le), buckets_ms[k]);
            put(&b, "arcd_http_request_duration_ms_bucket{route=\"%s\",le=\"%s\"} %llu\n", m->route,
                le, (unsigned long long)m->buckets[k]);
        }
        put(&b, "arcd_http_request_duration_ms_sum{route=\"%s\"} %.3f\n", m->route, m->sum_ms);
        put(&b, "arcd_http_request_duration_ms_count{route=\"%s\"} %llu\n", m->route,
            (unsigned long long)m->count);
    }
    put(&b,
        "# HELP arcd_status_cache_hits_total Status reads answered from the cache.\n"
        "# TYPE arcd_status_cache_hits_total counter\narcd_status_cache_hits_total %llu\n",
        (unsigned long long)arc_api_status_cache_hits());
    put(&b,
        "# HELP arcd_http_connections Open HTTP connections.\n"
        "# TYPE arcd_http_connections gauge\narcd_http_connections %zu\n",
        d->http ? arc_http_server_connections(d->http) : 0);

    json_t *counts = NULL;
    arc_queue_counts(d->queue, &counts);
    put(&b, "# HELP arcd_jobs Projects by state (all daemons on the database).\n"
            "# TYPE arcd_jobs gauge\n");
    const char *state;
    json_t *v;
    json_object_foreach(counts, state, v)
        put(&b, "arcd_jobs{state=\"%s\"} %lld\n", state, (long long)json_integer_value(v));
    put(&b,
        "# HELP arcd_jobs_running Jobs running on this daemon's workers.\n"
        "# TYPE arcd_jobs_running gauge\narcd_jobs_running %d\n",
        arc_queue_running(d->queue));

    put(&b, "# HELP arcd_compile_duration_ms Whole-job time of completed jobs.\n"
            "# TYPE arcd_compile_duration_ms histogram\n");
    for (int k = 0; k < ARC_METRIC_BUCKETS; k++) {
        le_label(le, sizeof(le), compile_le[k]);
        put(&b, "arcd_compile_duration_ms_bucket{le=\"%s\"} %llu\n", le,
            (unsigned long long)d->compile_buckets[k]);
    }
    put(&b, "arcd_compile_duration_ms_sum %.3f\narcd_compile_duration_ms_count %llu\n",
        d->compile_sum_ms, (unsigned long long)d->compile_count);

    arc_pg_stats_t ps;
    arc_pg_pool_stats(d->pool, &ps);
    put(&b,
        "# HELP arcd_db_pool_size Most connections the pool may open.\n"
        "# TYPE arcd_db_pool_size gauge\narcd_db_pool_size %d\n"
        "# HELP arcd_db_pool_connected Open connections.\n"
        "# TYPE arcd_db_pool_connected gauge\narcd_db_pool_connected %d\n"
        "# HELP arcd_db_pool_in_use Connections running a query.\n"
        "# TYPE arcd_db_pool_in_use gauge\narcd_db_pool_in_use %d\n"
        "# HELP arcd_db_pool_waiting Queries waiting for a connection.\n"
        "# TYPE arcd_db_pool_waiting gauge\narcd_db_pool_waiting %d\n"
        "# HELP arcd_db_pool_listening 1 while the LISTEN connection is up.\n"
        "# TYPE arcd_db_pool_listening gauge\narcd_db_pool_listening %d\n"
        "# HELP arcd_db_queries_total Queries sent.\n"
        "# TYPE arcd_db_queries_total counter\narcd_db_queries_total %llu\n"
        "# HELP arcd_db_timeouts_total Queries that waited too long for a connection.\n"
        "# TYPE arcd_db_timeouts_total counter\narcd_db_timeouts_total %llu\n"
        "# HELP arcd_db_reconnects_total Connections reopened.\n"
        "# TYPE arcd_db_reconnects_total counter\narcd_db_reconnects_total %llu\n",
        ps.size, ps.connected, ps.in_use, ps.waiting, ps.listening, (unsigned long long)ps.queries,
        (unsigned long long)ps.timeouts, (unsigned long long)ps.reconnects);

    int busy, idle;
    uint64_t restarts;
    arc_workers_stats(d->workers, &busy, &idle, &restarts);
    put(&b,
        "# HELP arcd_workers Worker processes by state.\n# TYPE arcd_workers gauge\n"
        "arcd_workers{state=\"busy\"} %d\narcd_workers{state=\"idle\"} %d\n"
        "# HELP arcd_worker_restarts_total Worker processes replaced.\n"
        "# TYPE arcd_worker_restarts_total counter\narcd_worker_restarts_total %llu\n",
        busy, idle, (unsigned long long)restarts);
    put(&b,
        "# HELP arcd_expired_projects_swept_total Expired projects removed (files and rows).\n"
        "# TYPE arcd_expired_projects_swept_total counter\narcd_expired_projects_swept_total "
        "%llu\n",
        (unsigned long long)d->sweep.total);
    return b.s;
}

/* workers.user: a daemon started as root runs its workers as that user
 * (a daemon started as another user runs them as itself: unprivileged
 * already). The storage folders become traversable (0711) but not listable,
 * the marker cache the workers' own; each project's folder and uploads are
 * handed over as they are made (arc_daemon_hand_to_workers). */
static int worker_user(arc_daemon_t *d)
{
    struct passwd *pw = getpwnam(d->cfg.workers.user);
    char sub[PATH_MAX + 32];

    if (geteuid() != 0)
        return 0;
    if (pw == NULL) {
        fprintf(stderr, "arcd serve: workers.user '%s': no such user\n", d->cfg.workers.user);
        return -1;
    }
    if (pw->pw_uid == 0) {
        fprintf(stderr, "arcd serve: workers.user '%s' is root: workers must not run as root\n",
                d->cfg.workers.user);
        return -1;
    }
    d->worker_user = 1;
    d->worker_uid = (unsigned)pw->pw_uid;
    d->worker_gid = (unsigned)pw->pw_gid;
    snprintf(sub, sizeof(sub), "%s/ar-storage", d->storage);
    int ok = chmod(d->storage, 0711) == 0 && chmod(sub, 0711) == 0;
    snprintf(sub, sizeof(sub), "%s/cache", d->storage);
    ok = ok && chown(sub, pw->pw_uid, pw->pw_gid) == 0 && chmod(sub, 0700) == 0;
    if (!ok) {
        fprintf(stderr, "arcd serve: cannot prepare the storage for workers.user: %s\n",
                strerror(errno));
        return -1;
    }
    return 0;
}

void arc_daemon_hand_to_workers(arc_daemon_t *d, const char *path)
{
    if (d->worker_user && chown(path, (uid_t)d->worker_uid, (gid_t)d->worker_gid) != 0)
        fprintf(stderr, "arcd: chown %s: %s\n", path, strerror(errno));
}

/* ---- the loop ---- */

static void on_notify(const char *channel, const char *payload, void *arg)
{
    arc_daemon_t *d = arg;

    if (strcmp(channel, "arcd_jobs") == 0)
        arc_queue_kick(d->queue);
    else if (strcmp(channel, "arcd_status") == 0 && payload != NULL)
        arc_api_status_changed(d, payload);
}

static void on_listen_up(void *arg)
{
    arc_daemon_t *d = arg;

    /* Notifications may have been missed while the connection was down. */
    arc_queue_kick(d->queue);
    arc_api_wake_all(d, 0);
}

static void on_heartbeat(uv_timer_t *t)
{
    arc_daemon_t *d = t->data;
    arc_pg_stats_t ps;
    static unsigned ticks;

    arc_pg_pool_stats(d->pool, &ps);
    if (!ps.listening)
        arc_api_wake_all(d, 0); /* no NOTIFY to wake watchers: look every 2 s */
    if (++ticks % 8 == 0)
        arc_api_heartbeat(d);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int pending_parts;

static void part_done(arc_daemon_t *d);

static void on_pool_closed(arc_pg_pool_t *pool, void *arg)
{
    arc_daemon_t *d = arg;

    free(pool);
    d->pool = NULL;
    close_handle((uv_handle_t *)&d->sigterm);
    close_handle((uv_handle_t *)&d->sigint);
    close_handle((uv_handle_t *)&d->heartbeat);
    fprintf(stderr, "arcd: stopped\n");
}

static void part_done(arc_daemon_t *d)
{
    if (--pending_parts > 0)
        return;
    arc_pg_pool_close(d->pool, on_pool_closed, d);
}

static void on_http_closed(arc_http_server_t *s)
{
    arc_daemon_t *d = arc_http_server_data(s);

    free(s);
    d->http = NULL;
    part_done(d);
}

static void on_queue_stopped(arc_daemon_t *d)
{
    part_done(d);
}

static void on_workers_stopped(arc_daemon_t *d)
{
    /* The workers no longer report on their jobs: return those to the queue. */
    arc_queue_stop(d->queue, on_queue_stopped);
}

static void shutdown_daemon(arc_daemon_t *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    fprintf(stderr, "arcd: shutting down\n");
    pending_parts = 2; /* the HTTP server; the workers and the queue */
    arc_sweep_stop(d);
    arc_api_wake_all(d, 1);
    arc_http_server_close(d->http, on_http_closed);
    arc_workers_stop(d->workers, on_workers_stopped);
}

static void on_signal(uv_signal_t *s, int signum)
{
    arc_daemon_t *d = s->data;

    if (d->stopping) {
        fprintf(stderr, "arcd: signal %d again: exiting now\n", signum);
        exit(1);
    }
    shutdown_daemon(d);
}

/* Frees the daemon's own strings and itself (its parts are gone by then, or
 * were never made: start-up failures come here too) and returns code. */
static int daemon_free(arc_daemon_t *d, int code)
{
    arc_config_dispose(&d->cfg);
    free(d->exe);
    free(d->storage);
    free(d->template_path);
    free(d->vendor);
    free(d);
    return code;
}

int arc_serve_main(int argc, char **argv)
{
    arc_daemon_t *d = arc_xcalloc(1, sizeof(*d));
    arc_err_t err = {{0}};
    char path[PATH_MAX], host[64] = "localhost";
    size_t plen = sizeof(path);
    int status, applied = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        fprintf(stderr, "usage: arcd serve [--config FILE]\n");
        free(d);
        return 2;
    }
    if ((status = arc_cli_load_config(argc, argv, "serve", &d->cfg)) != 0) {
        free(d);
        return status;
    }
    signal(SIGPIPE, SIG_IGN);

    if (uv_exepath(path, &plen) != 0) {
        fprintf(stderr, "arcd serve: cannot find its own program file\n");
        return daemon_free(d, 70);
    }
    d->exe = arc_xstrdup(path);
    char sub[PATH_MAX + 32];
    if (mkdirs(d->cfg.storage.dir) != 0 || realpath(d->cfg.storage.dir, path) == NULL) {
        fprintf(stderr, "arcd serve: storage.dir '%s': %s\n", d->cfg.storage.dir, strerror(errno));
        return daemon_free(d, 2);
    }
    d->storage = arc_xstrdup(path);
    snprintf(sub, sizeof(sub), "%s/ar-storage", d->storage);
    int ok = mkdirs(sub) == 0;
    snprintf(sub, sizeof(sub), "%s/cache", d->storage);
    ok = ok && mkdirs(sub) == 0;
    snprintf(sub, sizeof(sub), "%s/tmp", d->storage);
    ok = ok && mkdirs(sub) == 0;
    if (!ok || access(d->storage, W_OK) != 0) {
        fprintf(stderr, "arcd serve: storage.dir '%s' is not writable: %s\n", d->storage,
                strerror(errno));
        return daemon_free(d, 2);
    }
    sweep_tmp(sub);
    if (worker_user(d) != 0)
        return daemon_free(d, 2);
    if (realpath(d->cfg.viewer.template_path, path) == NULL || access(path, R_OK) != 0) {
        fprintf(stderr, "arcd serve: viewer.template '%s': %s\n", d->cfg.viewer.template_path,
                strerror(errno));
        return daemon_free(d, 2);
    }
    d->template_path = arc_xstrdup(path);
    d->vendor =
        arc_xstrdup(realpath(d->cfg.viewer.vendor_dir, path) ? path : d->cfg.viewer.vendor_dir);
    snprintf(sub, sizeof(sub), "%s/mindar-image-aframe.prod.js", d->vendor);
    if (access(sub, R_OK) != 0 && d->cfg.viewer.vendor_url[0] == '/')
        fprintf(stderr,
                "arcd: warning: the viewer's scripts are not in %s (run scripts/vendor.sh); "
                "viewer pages will not load\n",
                d->vendor);

    if (arc_db_migrate(d->cfg.database.url, &applied, &err) != 0) {
        fprintf(stderr, "arcd serve: %s\n", err.msg);
        return daemon_free(d, 4);
    }
    gethostname(host, sizeof(host) - 1);
    unsigned char rnd[4];
    RAND_bytes(rnd, sizeof(rnd));
    snprintf(d->node, sizeof(d->node), "%s:%d:%02x%02x%02x%02x", host, (int)getpid(), rnd[0],
             rnd[1], rnd[2], rnd[3]);

    d->loop = uv_default_loop();
    /* Bind first: a taken port stops us before anything else starts. */
    arc_http_limits_t limits = {
        .max_header_bytes = (size_t)d->cfg.server.max_header_bytes,
        .header_timeout_ms = (uint64_t)d->cfg.server.header_timeout_ms,
        .idle_timeout_ms = (uint64_t)d->cfg.server.idle_timeout_ms,
        .min_bytes_per_second = (uint64_t)d->cfg.server.min_bytes_per_second,
        .max_connections = (size_t)d->cfg.server.max_connections,
    };
    arc_http_handler_t handler = arc_api_handler;
    handler.data = d;
    if (arc_http_server_create(d->loop, d->cfg.server.listen, &limits, &handler, &d->http, &err) !=
        0) {
        fprintf(stderr, "arcd serve: %s\n", err.msg);
        uv_loop_close(d->loop);
        return daemon_free(d, 2);
    }

    char session[128];
    snprintf(session, sizeof(session),
             "SET statement_timeout = %lld; SET application_name = 'arcd'",
             (long long)d->cfg.database.statement_timeout_ms);
    static const char *const channels[] = {"arcd_jobs", "arcd_status", NULL};
    arc_pg_listener_t listener = {channels, on_notify, on_listen_up, d};
    arc_pg_pool_create(d->loop, d->cfg.database.url, (int)d->cfg.database.pool_size,
                       (uint64_t)d->cfg.database.acquire_timeout_ms, session, &listener, &d->pool);

    int workers = (int)d->cfg.workers.count;
    if (workers <= 0)
        workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    arc_queue_start(d, &d->queue);
    arc_workers_start(d, workers, &d->workers);
    arc_sweep_start(d);

    uv_signal_init(d->loop, &d->sigterm);
    uv_signal_init(d->loop, &d->sigint);
    d->sigterm.data = d->sigint.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_timer_init(d->loop, &d->heartbeat);
    d->heartbeat.data = d;
    uv_timer_start(&d->heartbeat, on_heartbeat, 2000, 2000);

    fprintf(stderr,
            "arcd: serving on %s (port %d), public URL %s, %d worker%s, pool of %lld, storage %s, "
            "%d migration%s applied, node %s\n",
            d->cfg.server.listen, arc_http_server_port(d->http), d->cfg.server.public_url, workers,
            workers == 1 ? "" : "s", (long long)d->cfg.database.pool_size, d->storage, applied,
            applied == 1 ? "" : "s", d->node);
    fflush(stderr);
    uv_run(d->loop, UV_RUN_DEFAULT);
    uv_loop_close(d->loop);
    arc_api_status_cache_clear();
    arc_workers_free(d->workers);
    arc_queue_free(d->queue);
    return daemon_free(d, 0);
}
