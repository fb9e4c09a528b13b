/*
 * The worker processes (see include/arcd/daemon.h): spawned with uv_spawn as
 * `arcd worker`, fed jobs over their stdin, read over their stdout
 * (include/arcd/proto.h). A worker that crashes, breaks the protocol or runs
 * past the job time limit is killed and replaced (with a growing delay if it
 * keeps dying); its job is reported back as failed with the reason.
 *
 * A worker gets an environment of its own, not the daemon's: the daemon's
 * holds the admin token and the database's address and password, which a
 * worker never needs and an exploited decoder must not find in
 * /proc/self/environ.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/assert.h"
#include "arcd/log.h"
#include "arcd/proto.h"
#include "queue.h"
#include "workers.h"

typedef enum { W_STARTING, W_IDLE, W_BUSY, W_DEAD, W_STOPPED } wstate_t;

typedef struct wproc_s {
    arc_workers_t *pool;
    int index;
    wstate_t state;
    uv_process_t proc;
    uv_pipe_t to;     /* the worker's stdin */
    uv_pipe_t from;   /* the worker's stdout */
    uv_timer_t timer; /* job time limit, or restart delay */
    int handles;      /* open handles of this process */
    int exited;
    int killed;
    arc_proto_reader_t reader;
    arc_worker_job_t *job;
    char reason[600]; /* why the job failed, when the process goes */
    uint64_t backoff_ms;
} wproc_t;

struct arc_workers_s {
    arc_daemon_t *d;
    char **env; /* the workers' environment, NULL-terminated (owned) */
    wproc_t *procs;
    int count;
    uint64_t restarts;
    int stopping;
    void (*stop_cb)(arc_daemon_t *d);
};

static void spawn(wproc_t *w);

/* The workers' whole environment: a PATH, and of the daemon's variables only
 * the test hooks and the sanitizers' options (a sanitizer build's workers
 * report as its daemon does). Returns owned, free with env_free(). */
static char **env_create(void)
{
    static const char *const passed[] = {"ARCD_TEST_FORBIDDEN_CALL", "ARCD_TEST_WORKER_LIE",
                                         "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    const size_t n_passed = sizeof(passed) / sizeof(passed[0]);
    char **env = arc_xcalloc(n_passed + 2, sizeof(*env));
    size_t n = 0;

    env[n++] = arc_xstrdup("PATH=/usr/bin:/bin");
    for (size_t i = 0; i < n_passed; i++) {
        const char *value = getenv(passed[i]);
        if (value == NULL)
            continue;
        size_t size = strlen(passed[i]) + strlen(value) + 2;
        env[n] = arc_xmalloc(size);
        snprintf(env[n++], size, "%s=%s", passed[i], value);
    }
    return env;
}

static void env_free(char **env)
{
    if (env == NULL)
        return;
    for (char **e = env; *e != NULL; e++)
        free(*e);
    free(env);
}

static void finish_job(wproc_t *w, const arc_done_msg_t *done, const char *reason)
{
    arc_worker_job_t *job = w->job;

    w->job = NULL;
    uv_timer_stop(&w->timer);
    if (job != NULL)
        job->on_done(job, done, reason);
}

static void check_stopped(arc_workers_t *p)
{
    if (!p->stopping || p->stop_cb == NULL)
        return;
    for (int i = 0; i < p->count; i++)
        if (p->procs[i].handles > 0)
            return;
    void (*cb)(arc_daemon_t *) = p->stop_cb;
    p->stop_cb = NULL;
    cb(p->d);
}

static void on_restart_timer(uv_timer_t *t)
{
    wproc_t *w = t->data;

    if (!w->pool->stopping && w->state == W_DEAD)
        spawn(w);
}

static void on_handle_closed(uv_handle_t *h)
{
    wproc_t *w = h->data;

    if (--w->handles > 0)
        return;
    arc_proto_reader_dispose(&w->reader);
    if (w->pool->stopping) {
        w->state = W_STOPPED;
        check_stopped(w->pool);
        return;
    }
    /* Replace it, after a delay that grows while it keeps dying early. */
    w->state = W_DEAD;
    w->pool->restarts++;
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : 100;
    if (w->backoff_ms > 10000)
        w->backoff_ms = 10000;
    uv_timer_start(&w->timer, on_restart_timer, w->backoff_ms, 0);
}

/* Ends this worker process: the job (if any) fails with reason; its pipes
 * close now and the process handle when it has exited. */
static void retire(wproc_t *w, const char *reason)
{
    if (w->handles == 0)
        return;
    if (w->job != NULL)
        finish_job(w, NULL, reason);
    if (w->state != W_STOPPED)
        w->state = W_DEAD;
    if (!w->exited && !w->killed) {
        w->killed = 1;
        uv_process_kill(&w->proc, SIGKILL);
    }
    if (!uv_is_closing((uv_handle_t *)&w->to))
        uv_close((uv_handle_t *)&w->to, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&w->from))
        uv_close((uv_handle_t *)&w->from, on_handle_closed);
}

static void on_process_exit(uv_process_t *p, int64_t status, int term_signal)
{
    wproc_t *w = p->data;
    char why[600];

    w->exited = 1;
    if (term_signal == SIGKILL && w->reason[0] != '\0')
        snprintf(why, sizeof(why), "%s", w->reason);
    else if (term_signal != 0)
        snprintf(why, sizeof(why), "the worker crashed (signal %d, %s)", term_signal,
                 term_signal == SIGSEGV   ? "a memory fault"
                 : term_signal == SIGABRT ? "an abort, such as running out of memory"
                 : term_signal == SIGKILL ? "killed"
                 : term_signal == SIGSYS  ? "a forbidden system call, stopped by the sandbox"
                                          : "a signal");
    else
        snprintf(why, sizeof(why), "the worker exited with status %lld", (long long)status);
    if (w->job != NULL || (w->state != W_DEAD && !w->pool->stopping && w->state != W_STOPPED))
        arc_log_msg(ARC_LOG_INFO, "worker %d (pid %d): %s", w->index, w->proc.pid, why);
    retire(w, why);
    if (!uv_is_closing((uv_handle_t *)p))
        uv_close((uv_handle_t *)p, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
    wproc_t *w = t->data;

    snprintf(w->reason, sizeof(w->reason),
             "the job ran past its time limit of %lld s and was stopped",
             (long long)w->pool->d->cfg->workers.job_timeout_seconds);
    arc_log_msg(ARC_LOG_INFO, "worker %d: %s", w->index, w->reason);
    retire(w, w->reason);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = arc_xmalloc(suggested);
    buf->len = suggested;
}

static void handle_message(wproc_t *w, const arc_msg_t *msg)
{
    switch (msg->type) {
    case ARC_MSG_HELLO:
        if (w->state == W_STARTING) {
            w->state = W_IDLE;
            w->backoff_ms = 0;
            arc_queue_kick(w->pool->d->queue);
        }
        break;
    case ARC_MSG_PROGRESS:
        if (w->job != NULL && strcmp(msg->u.progress.id, w->job->id) == 0)
            w->job->on_progress(w->job, &msg->u.progress);
        break;
    case ARC_MSG_DONE:
        if (w->job != NULL && strcmp(msg->u.done.id, w->job->id) == 0) {
            ARC_ASSERT(w->state == W_BUSY);
            w->state = W_IDLE;
            finish_job(w, &msg->u.done, NULL);
            arc_queue_kick(w->pool->d->queue);
        }
        break;
    default: break;
    }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    wproc_t *w = st->data;
    arc_err_t err = {{0}};

    if (n > 0) {
        arc_proto_reader_feed(&w->reader, buf->base, (size_t)n);
        arc_msg_t msg;
        int rc = 0;
        while (w->handles > 0 && (rc = arc_proto_reader_next(&w->reader, &msg, &err)) == 1) {
            handle_message(w, &msg);
            arc_msg_dispose(&msg);
        }
        if (rc < 0) {
            snprintf(w->reason, sizeof(w->reason), "the worker broke the protocol: %.400s",
                     err.msg);
            retire(w, w->reason);
        }
    } else if (n < 0 && !w->pool->stopping && w->state != W_DEAD) {
        /* stdout closed: the process is going; on_process_exit tells why. */
        uv_read_stop(st);
    }
    free(buf->base);
}

static void spawn(wproc_t *w)
{
    arc_daemon_t *d = w->pool->d;
    char mem[32], nice[32];
    char *args[] = {d->exe, "worker",      "--memory-mb",     mem, "--nice",
                    nice,   "--log-level", d->cfg->log.level, NULL};
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    int rc;

    snprintf(mem, sizeof(mem), "%lld", (long long)d->cfg->workers.memory_mb);
    snprintf(nice, sizeof(nice), "%lld", (long long)d->cfg->workers.nice);
    ARC_ASSERT(w->handles == 0 && w->job == NULL);
    memset(&o, 0, sizeof(o));
    uv_pipe_init(d->loop, &w->to, 0);
    uv_pipe_init(d->loop, &w->from, 0);
    w->to.data = w->from.data = w->proc.data = w;
    w->handles = 2;
    w->exited = 0;
    w->killed = 0;
    w->reason[0] = '\0';
    arc_proto_reader_init(&w->reader);
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&w->to;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&w->from;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    o.file = d->exe;
    o.args = args;
    o.env = w->pool->env;
    if (d->worker_user) {
        /* An unprivileged user: libuv switches (and drops supplementary
         * groups) in the child before exec. */
        o.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
        o.uid = (uv_uid_t)d->worker_uid;
        o.gid = (uv_gid_t)d->worker_gid;
    }
    o.exit_cb = on_process_exit;
    o.stdio = stdio;
    o.stdio_count = 3;
    w->state = W_STARTING;
    if ((rc = uv_spawn(d->loop, &w->proc, &o)) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "cannot start a worker: %s", uv_strerror(rc));
        w->exited = 1;
        w->handles++; /* the process handle must be closed too */
        uv_close((uv_handle_t *)&w->proc, on_handle_closed);
        retire(w, "the worker could not be started");
        return;
    }
    w->handles++;
    uv_read_start((uv_stream_t *)&w->from, on_alloc, on_read);
}

int arc_workers_start(arc_daemon_t *d, int count, arc_workers_t **out)
{
    arc_workers_t *p = arc_xcalloc(1, sizeof(*p));

    p->d = d;
    p->env = env_create();
    p->count = count;
    p->procs = arc_xcalloc((size_t)count, sizeof(wproc_t));
    for (int i = 0; i < count; i++) {
        wproc_t *w = &p->procs[i];
        w->pool = p;
        w->index = i;
        uv_timer_init(d->loop, &w->timer);
        w->timer.data = w;
        spawn(w);
    }
    *out = p;
    return 0;
}

int arc_workers_idle(const arc_workers_t *p)
{
    int n = 0;

    for (int i = 0; i < p->count; i++)
        n += p->procs[i].state == W_IDLE;
    return p->stopping ? 0 : n;
}

static void on_job_written(uv_write_t *req, int status)
{
    free(req->data);
    free(req);
    (void)status; /* a broken pipe shows up as the worker's exit */
}

int arc_workers_run(arc_workers_t *p, arc_worker_job_t *job)
{
    for (int i = 0; i < p->count && !p->stopping; i++) {
        wproc_t *w = &p->procs[i];
        if (w->state != W_IDLE)
            continue;
        arc_buf_t frame = ARC_BUF_INIT;
        arc_msg_t m = {.type = ARC_MSG_JOB, .u.job = job->message};
        arc_err_t err;
        if (arc_proto_frame(&m, &frame, &err) != 0)
            return ARC_EINVAL; /* the queue checked the job: cannot happen */
        uv_write_t *wr = arc_xcalloc(1, sizeof(*wr));
        size_t len = frame.len;
        char *data = arc_buf_detach(&frame);
        uv_buf_t buf = uv_buf_init(data, (unsigned)len);
        wr->data = data;
        ARC_ASSERT(w->job == NULL);
        w->job = job;
        w->state = W_BUSY;
        uv_timer_start(&w->timer, on_timeout,
                       (uint64_t)p->d->cfg->workers.job_timeout_seconds * 1000, 0);
        if (uv_write(wr, (uv_stream_t *)&w->to, &buf, 1, on_job_written) != 0) {
            free(data);
            free(wr);
            retire(w, "the worker's pipe is closed");
        }
        return 0;
    }
    return ARC_EUNAVAIL;
}

void arc_workers_stats(const arc_workers_t *p, int *busy, int *idle, uint64_t *restarts)
{
    *busy = *idle = 0;
    for (int i = 0; i < p->count; i++) {
        *busy += p->procs[i].state == W_BUSY;
        *idle += p->procs[i].state == W_IDLE;
    }
    *restarts = p->restarts;
}

void arc_workers_stop(arc_workers_t *p, void (*cb)(arc_daemon_t *d))
{
    p->stopping = 1;
    p->stop_cb = cb;
    for (int i = 0; i < p->count; i++) {
        wproc_t *w = &p->procs[i];
        uv_timer_stop(&w->timer);
        uv_close((uv_handle_t *)&w->timer, NULL);
        if (w->handles > 0) {
            /* Closing stdin asks an idle worker to exit; a busy one is killed
             * (its job has been returned to the queue already). */
            if (w->state == W_BUSY && !w->exited) {
                w->job = NULL;
                w->killed = 1;
                uv_process_kill(&w->proc, SIGKILL);
            }
            if (!uv_is_closing((uv_handle_t *)&w->to))
                uv_close((uv_handle_t *)&w->to, on_handle_closed);
            w->state = W_DEAD;
        }
    }
    check_stopped(p);
}

void arc_workers_free(arc_workers_t *p)
{
    if (p == NULL)
        return;
    env_free(p->env);
    free(p->procs);
    free(p);
}
