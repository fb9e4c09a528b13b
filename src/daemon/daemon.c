/*
 * `arcd serve`: start-up, the loop, notifications and graceful shutdown (see
 * include/arcd/daemon.h).
 *
 * Start-up happens before the loop runs and may block: the storage folders
 * are made, the page templates checked, the migrations applied under an
 * advisory lock. Then everything runs on the loop. SIGTERM or SIGINT stops
 * accepting connections, answers long polls, ends event streams, stops the
 * workers and returns their jobs to the queue (for this daemon's next start
 * or another daemon), closes the pool and returns.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "arcd/assert.h"
#include "arcd/check.h"
#include "arcd/daemon.h"
#include "arcd/db.h"
#include "arcd/file.h"
#include "arcd/log.h"
#include "arcd/net.h"
#include "api.h"
#include "auth.h"
#include "metrics.h"
#include "notify.h"
#include "pages.h"
#include "app.h"
#include "queue.h"
#include "status.h"
#include "sweep.h"
#include "upload.h"
#include "workers.h"

/* The daemon and what only this file uses: the signals, the heartbeat and
 * the shutdown's bookkeeping. */
typedef struct run_s {
    arc_daemon_t d; /* first: callbacks get &run->d */
    uv_signal_t sigterm, sigint;
    uv_timer_t heartbeat;
    unsigned ticks;
    int pending_parts; /* parts still stopping before the pool may close */
    int pool_closing;
} run_t;

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

/* The viewer scripts' version: the first 16 hex digits of the SHA-256 of
 * both and of their brotli and gzip forms (what is sent), so that pages
 * load them from a URL that changes with them and phones may keep them for
 * a year (files.c; a file changed after vendor_stamp is not sent as that
 * version). Read at start-up, before the loop runs; "" when a script is
 * missing. */
static void vendor_version(arc_daemon_t *d)
{
    static const char *const names[] = {"aframe.min.js", "mindar-image-aframe.prod.js"};
    static const char *const forms[] = {"", ".br", ".gz"};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    d->vendor_version[0] = '\0';
    d->vendor_stamp = (int64_t)time(NULL);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
            char path[PATH_MAX + 64];
            uint8_t *data = NULL;
            size_t len = 0;
            arc_err_t err;
            snprintf(path, sizeof(path), "%s/%s%s", d->vendor, names[i], forms[f]);
            if (arc_file_read_all(path, 64u << 20, &data, &len, &err) != 0) {
                if (f == 0)
                    goto out;
                continue; /* not kept in that form: none is sent */
            }
            EVP_DigestUpdate(md, forms[f], strlen(forms[f]) + 1);
            EVP_DigestUpdate(md, data, len);
            free(data);
        }
    }
    EVP_DigestFinal_ex(md, sum, &n);
    for (int i = 0; i < 8; i++)
        snprintf(d->vendor_version + 2 * i, 3, "%02x", sum[i]);
out:
    EVP_MD_CTX_free(md);
}

/* workers.user: a daemon started as root runs its workers as that user
 * (a daemon started as another user runs them as itself: unprivileged
 * already). The storage folders become traversable (0711) but not listable,
 * the marker cache the workers' own; each project's folder and uploads are
 * handed over as they are made (arc_daemon_hand_to_workers). */
static int worker_user(arc_daemon_t *d)
{
    struct passwd *pw = getpwnam(d->cfg->workers.user);
    char sub[PATH_MAX + 32];

    if (geteuid() != 0)
        return 0;
    if (pw == NULL) {
        arc_log_msg(ARC_LOG_ERROR, "workers.user '%s': no such user", d->cfg->workers.user);
        return -1;
    }
    if (pw->pw_uid == 0) {
        arc_log_msg(ARC_LOG_ERROR, "workers.user '%s' is root: workers must not run as root",
                    d->cfg->workers.user);
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
        arc_log_msg(ARC_LOG_ERROR, "cannot prepare the storage for workers.user: %s",
                    strerror(errno));
        return -1;
    }
    return 0;
}

void arc_daemon_hand_to_workers(const arc_daemon_t *d, const char *path)
{
    if (d->worker_user && chown(path, (uid_t)d->worker_uid, (gid_t)d->worker_gid) != 0)
        arc_log_msg(ARC_LOG_WARN, "chown %s: %s", path, strerror(errno));
}

/* ---- the loop ---- */

static void on_notify(const char *channel, const char *payload, void *arg)
{
    arc_daemon_t *d = arg;

    if (strcmp(channel, "arcd_jobs") == 0)
        arc_queue_kick(d->queue);
    else if (strcmp(channel, "arcd_status") == 0 && payload != NULL)
        arc_status_changed(d->status, payload);
    else if (strcmp(channel, "arcd_deliveries") == 0)
        arc_notify_kick(d->notify);
    else if (strcmp(channel, "arcd_tokens") == 0)
        arc_auth_reload(d->auth);
}

static void on_listen_up(void *arg)
{
    arc_daemon_t *d = arg;

    /* Notifications may have been missed while the connection was down. */
    arc_queue_kick(d->queue);
    arc_status_wake_all(d->status, 0);
    arc_auth_reload(d->auth);
    arc_notify_kick(d->notify);
}

static void on_heartbeat(uv_timer_t *t)
{
    run_t *run = t->data;
    arc_daemon_t *d = &run->d;
    arc_pg_stats_t ps;

    arc_pg_pool_stats(d->pool, &ps);
    if (!ps.listening)
        arc_status_wake_all(d->status, 0); /* no NOTIFY to wake watchers: look every 2 s */
    if (++run->ticks % 8 == 0)
        arc_status_heartbeat(d->status);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_pool_closed(arc_pg_pool_t *pool, void *arg)
{
    run_t *run = arg;

    free(pool);
    run->d.pool = NULL;
    close_handle((uv_handle_t *)&run->sigterm);
    close_handle((uv_handle_t *)&run->sigint);
    close_handle((uv_handle_t *)&run->heartbeat);
    arc_log_msg(ARC_LOG_INFO, "stopped");
}

/* The pool closes once every part has stopped and no held work needs it. */
static void maybe_close_pool(run_t *run)
{
    if (run->pending_parts > 0 || run->d.holds > 0 || run->pool_closing)
        return;
    run->pool_closing = 1;
    arc_pg_pool_close(run->d.pool, on_pool_closed, run);
}

/* The HTTP server and the queue (after the workers) have stopped: the pool
 * may close. */
static void part_done(arc_daemon_t *d)
{
    run_t *run = (run_t *)d;

    run->pending_parts--;
    maybe_close_pool(run);
}

void arc_daemon_hold(arc_daemon_t *d)
{
    d->holds++;
}

void arc_daemon_release(arc_daemon_t *d)
{
    run_t *run = (run_t *)d;

    ARC_ASSERT(d->holds > 0);
    d->holds--;
    if (d->stopping)
        maybe_close_pool(run);
}

static void on_http_closed(arc_http_server_t *s)
{
    arc_daemon_t *d = arc_http_server_data(s);

    arc_http_server_free(s);
    d->http = NULL;
    part_done(d);
}

static void on_http_closed_at_start(arc_http_server_t *s)
{
    arc_daemon_t *d = arc_http_server_data(s);

    arc_http_server_free(s);
    d->http = NULL;
}

static void on_metrics_http_closed(arc_http_server_t *s)
{
    arc_daemon_t *d = arc_http_server_data(s);

    arc_http_server_free(s);
    d->metrics_http = NULL;
    part_done(d);
}

static void on_workers_stopped(arc_daemon_t *d)
{
    /* The workers no longer report on their jobs: return those to the queue. */
    arc_queue_stop(d->queue, part_done);
}

static void shutdown_daemon(run_t *run)
{
    arc_daemon_t *d = &run->d;

    if (d->stopping)
        return;
    d->stopping = 1;
    arc_log_msg(ARC_LOG_INFO, "shutting down");
    /* The HTTP servers; the workers and the queue; the notifier. */
    run->pending_parts = d->metrics_http != NULL ? 4 : 3;
    arc_sweep_stop(d->sweep);
    d->sweep = NULL;
    arc_auth_stop(d->auth);
    arc_status_wake_all(d->status, 1);
    arc_http_server_close(d->http, on_http_closed);
    if (d->metrics_http != NULL)
        arc_http_server_close(d->metrics_http, on_metrics_http_closed);
    arc_workers_stop(d->workers, on_workers_stopped);
    arc_notify_stop(d->notify, part_done);
}

static void on_signal(uv_signal_t *s, int signum)
{
    run_t *run = s->data;

    if (run->d.stopping) {
        arc_log_msg(ARC_LOG_ERROR, "signal %d again: exiting now", signum);
        exit(1);
    }
    shutdown_daemon(run);
}

/* ---- start-up ---- */

/* The storage folders, the workers' user, the viewer template and scripts,
 * the pages: everything the daemon needs from the file system, checked
 * before it serves. Returns 0 or the exit status. */
static int prepare_files(arc_daemon_t *d)
{
    const arc_config_t *cfg = d->cfg;
    char path[PATH_MAX], sub[PATH_MAX + 32];
    size_t plen = sizeof(path);
    arc_err_t err = {{0}};

    if (uv_exepath(path, &plen) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "cannot find its own program file");
        return 70;
    }
    d->exe = arc_xstrdup(path);
    if (arc_file_mkdirs_mode(cfg->storage.dir, geteuid() == 0 ? 0711 : 0750, &err) != 0 ||
        realpath(cfg->storage.dir, path) == NULL) {
        arc_log_msg(ARC_LOG_ERROR, "storage.dir '%s': %s", cfg->storage.dir,
                    err.msg[0] ? err.msg : strerror(errno));
        return 2;
    }
    d->storage = arc_xstrdup(path);
    static const char *const subs[] = {"ar-storage", "cache", "tmp"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(sub, sizeof(sub), "%s/%s", d->storage, subs[i]);
        if (arc_file_mkdirs(sub, &err) != 0)
            break;
    }
    if (err.msg[0] != '\0' || access(d->storage, W_OK) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "storage.dir '%s' is not writable: %s", d->storage,
                    err.msg[0] ? err.msg : strerror(errno));
        return 2;
    }
    snprintf(sub, sizeof(sub), "%s/tmp", d->storage);
    sweep_tmp(sub);
    if (worker_user(d) != 0)
        return 2;
    if (!d->worker_user) {
        /* Workers of a daemon that is not root run as its own user: a
         * non-dumpable daemon cannot be ptraced, nor its memory read through
         * /proc/<pid>/mem, by a process of that user (a worker taken over
         * by an upload), whatever its sandbox lets through. */
        if (prctl(PR_SET_DUMPABLE, 0) != 0)
            arc_log_msg(ARC_LOG_WARN, "PR_SET_DUMPABLE: %s", strerror(errno));
    }
    if (realpath(cfg->viewer.template_path, path) == NULL || access(path, R_OK) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "viewer.template '%s': %s", cfg->viewer.template_path,
                    strerror(errno));
        return 2;
    }
    d->template_path = arc_xstrdup(path);
    d->vendor = arc_xstrdup(realpath(cfg->viewer.vendor_dir, path) ? path : cfg->viewer.vendor_dir);
    vendor_version(d);
    if (d->vendor_version[0] != '\0' && strcmp(cfg->viewer.vendor_url, "/vendor") == 0) {
        snprintf(sub, sizeof(sub), "/vendor/%s", d->vendor_version);
        d->vendor_url = arc_xstrdup(sub);
    } else {
        d->vendor_url = arc_xstrdup(cfg->viewer.vendor_url);
    }
    arc_config_beside_template(cfg->viewer.pages_dir, d->template_path, "pages", sub, sizeof(sub));
    if (arc_pages_load(sub, &d->pages, &err) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "viewer.pagesDir: %s", err.msg);
        return 2;
    }
    /* The operator's web app: without it the API still serves, / says so. */
    int rc = arc_app_load(cfg->app.dir, cfg->server.public_url, &d->app, &err);
    if (rc == ARC_EIO)
        arc_log_msg(ARC_LOG_WARN, "%s; / will answer 404", err.msg);
    else if (rc != 0) {
        arc_log_msg(ARC_LOG_ERROR, "%s", err.msg);
        return 2;
    }
    return 0;
}

/* Frees the daemon's own strings and parts (which are stopped by then, or
 * were never made: start-up failures come here too). */
static void daemon_dispose(arc_daemon_t *d)
{
    arc_workers_free(d->workers);
    arc_queue_free(d->queue);
    arc_status_free(d->status);
    arc_uploads_free(d->uploads);
    arc_metrics_free(d->metrics);
    arc_pages_free(d->pages);
    arc_app_free(d->app);
    arc_auth_free(d->auth);
    arc_notify_free(d->notify);
    free(d->exe);
    free(d->storage);
    free(d->template_path);
    free(d->vendor);
    free(d->vendor_url);
}

int arc_daemon_run(const arc_config_t *cfg)
{
    run_t *run = arc_xcalloc(1, sizeof(*run));
    arc_daemon_t *d = &run->d;
    arc_err_t err = {{0}};
    char host[64] = "localhost";
    int status, applied = 0;

    d->cfg = cfg;
    arc_log_level_t level = ARC_LOG_INFO;
    arc_log_level_parse(cfg->log.level, &level); /* checked when loaded */
    arc_log_set_level(level);
    signal(SIGPIPE, SIG_IGN);
    /* Descriptors this process inherited (a shell's, a supervisor's) stay
     * out of the workers it starts. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
        arc_log_msg(ARC_LOG_WARN, "cannot mark inherited descriptors close-on-exec: %s",
                    strerror(errno));
    /* The fatal checks first (include/arcd/check.h): a daemon that cannot
     * work refuses to start, saying what to mend; the others warn. */
    arc_check_report_t *checks = arc_xcalloc(1, sizeof(*checks));
    arc_check_run(cfg, NULL, ARC_CHECK_FOR_SERVE, checks);
    arc_check_log(checks);
    int fatal = checks->fatal_failed, db_failed = checks->db_failed;
    free(checks);
    if (fatal > 0) {
        arc_log_msg(ARC_LOG_ERROR,
                    "refusing to start: %d check%s failed (arcd check runs them all, with fixes)",
                    fatal, fatal == 1 ? "" : "s");
        status = db_failed ? 4 : 2;
        goto out;
    }
    if ((status = prepare_files(d)) != 0)
        goto out;
    /* The notify settings and the mail templates. */
    if (arc_notify_create(d, &d->notify, &err) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "%s", err.msg);
        status = 2;
        goto out;
    }
    if (arc_db_migrate(cfg->database.url, &applied, &err) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "%s", err.msg);
        status = 4;
        goto out;
    }
    gethostname(host, sizeof(host) - 1);
    unsigned char rnd[4];
    RAND_bytes(rnd, sizeof(rnd));
    snprintf(d->node, sizeof(d->node), "%s:%d:%02x%02x%02x%02x", host, (int)getpid(), rnd[0],
             rnd[1], rnd[2], rnd[3]);

    d->loop = uv_default_loop();
    d->metrics = arc_metrics_create();
    d->status = arc_status_create(d);
    d->auth = arc_auth_create(cfg);
    d->uploads = arc_uploads_create(d);
    /* Bind first: a taken port stops us before anything else starts. */
    size_t n_trusted = 0;
    while (cfg->server.trusted_proxies[n_trusted] != NULL)
        n_trusted++;
    arc_cidr_t *trusted = arc_xcalloc(n_trusted + 1, sizeof(*trusted));
    for (size_t i = 0; i < n_trusted; i++)
        arc_cidr_parse(cfg->server.trusted_proxies[i], &trusted[i]); /* checked by config */
    arc_http_limits_t limits = {
        .max_header_bytes = (size_t)cfg->server.max_header_bytes,
        .max_headers = (size_t)cfg->server.max_headers,
        .header_timeout_ms = (uint64_t)cfg->server.header_timeout_ms,
        .idle_timeout_ms = (uint64_t)cfg->server.idle_timeout_ms,
        .min_bytes_per_second = (uint64_t)cfg->server.min_bytes_per_second,
        .max_connections = (size_t)cfg->server.max_connections,
        .max_connections_per_address = (size_t)cfg->server.max_connections_per_address,
        .trusted = trusted,
        .n_trusted = n_trusted,
    };
    arc_http_handler_t handler = arc_api_handler(d);
    int rc = arc_http_server_create(d->loop, cfg->server.listen, &limits, &handler, &d->http, &err);
    if (rc == 0 && cfg->server.metrics_listen[0] != '\0') {
        arc_http_handler_t mh = arc_api_metrics_handler(d);
        rc = arc_http_server_create(d->loop, cfg->server.metrics_listen, &limits, &mh,
                                    &d->metrics_http, &err);
    }
    free(trusted);
    if (rc != 0) {
        arc_log_msg(ARC_LOG_ERROR, "%s", err.msg);
        status = 2;
        if (d->http == NULL)
            goto out_loop;
        run->pending_parts = 1;
        arc_http_server_close(d->http, on_http_closed_at_start);
        uv_run(d->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }

    char session[128];
    snprintf(session, sizeof(session),
             "SET statement_timeout = %lld; SET application_name = 'arcd'",
             (long long)cfg->database.statement_timeout_ms);
    static const char *const channels[] = {"arcd_jobs", "arcd_status", "arcd_tokens",
                                           "arcd_deliveries", NULL};
    arc_pg_listener_t listener = {channels, on_notify, on_listen_up, d};
    /* A running statement ends by the server's statement_timeout; an answer
     * later than that means the server or the network is gone. */
    arc_pg_opts_t pool_opts = {
        .conninfo = cfg->database.url,
        .size = (int)cfg->database.pool_size,
        .acquire_timeout_ms = (uint64_t)cfg->database.acquire_timeout_ms,
        .io_timeout_ms = (uint64_t)cfg->database.statement_timeout_ms + 5000,
        .session_sql = session,
        .listener = &listener,
    };
    arc_pg_pool_create(d->loop, &pool_opts, &d->pool);
    /* Its first query writes the notify settings the triggers read. */
    arc_notify_start(d->notify);
    /* The database's tokens, read before the first request is taken. */
    arc_auth_start(d->auth, d->loop, d->pool);

    int workers = (int)cfg->workers.count;
    if (workers <= 0)
        workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    arc_queue_start(d, &d->queue);
    arc_workers_start(d, workers, &d->workers);
    arc_sweep_start(d, &d->sweep);

    uv_signal_init(d->loop, &run->sigterm);
    uv_signal_init(d->loop, &run->sigint);
    run->sigterm.data = run->sigint.data = run;
    uv_signal_start(&run->sigterm, on_signal, SIGTERM);
    uv_signal_start(&run->sigint, on_signal, SIGINT);
    uv_timer_init(d->loop, &run->heartbeat);
    run->heartbeat.data = run;
    uv_timer_start(&run->heartbeat, on_heartbeat, 2000, 2000);

    arc_log_msg(ARC_LOG_INFO,
                "serving on %s (port %d), public URL %s, %d worker%s, pool of %lld, storage %s, "
                "%d migration%s applied, node %s",
                cfg->server.listen, arc_http_server_port(d->http), cfg->server.public_url, workers,
                workers == 1 ? "" : "s", (long long)cfg->database.pool_size, d->storage, applied,
                applied == 1 ? "" : "s", d->node);
    fflush(stderr);
    uv_run(d->loop, UV_RUN_DEFAULT);
    status = 0;
out_loop:
    uv_loop_close(d->loop);
out:
    daemon_dispose(d);
    free(run);
    return status;
}
