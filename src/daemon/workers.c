/*
 * The worker processes (see include/arcd/daemon.h): spawned with uv_spawn as
 * `arcd worker`, fed jobs over their stdin, read over their stdout
 * (include/arcd/proto.h). A worker that crashes, breaks the protocol or runs
 * past the job time limit is killed and replaced (with a growing delay if it
 * keeps dying); its job is reported back as failed with the reason.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/daemon.h"
#include "arcd/proto.h"

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
    wproc_t *procs;
    int count;
    uint64_t restarts;
    int stopping;
    void (*stop_cb)(arc_daemon_t *d);
};

static void spawn(wproc_t *w);

static void finish_job(wproc_t *w, json_t *reply, const char *reason)
{
    arc_worker_job_t *job = w->job;

    w->job = NULL;
    uv_timer_stop(&w->timer);
    if (job != NULL)
        job->on_done(job, reply, reason);
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
        fprintf(stderr, "arcd: worker %d (pid %d): %s\n", w->index, w->proc.pid, why);
    retire(w, why);
    if (!uv_is_closing((uv_handle_t *)p))
        uv_close((uv_handle_t *)p, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
    wproc_t *w = t->data;

    snprintf(w->reason, sizeof(w->reason),
             "the job ran past its time limit of %lld s and was stopped",
             (long long)w->pool->d->cfg.workers.job_timeout_seconds);
    fprintf(stderr, "arcd: worker %d: %s\n", w->index, w->reason);
    retire(w, w->reason);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = arc_xmalloc(suggested);
    buf->len = suggested;
}

static void handle_message(wproc_t *w, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));

    if (strcmp(type, "hello") == 0) {
        if (w->state == W_STARTING) {
            w->state = W_IDLE;
            w->backoff_ms = 0;
            arc_queue_kick(w->pool->d->queue);
        }
    } else if (strcmp(type, "progress") == 0 && w->job != NULL) {
        const char *stage = json_string_value(json_object_get(msg, "stage"));
        w->job->on_progress(w->job, stage ? stage : "",
                            (int)json_integer_value(json_object_get(msg, "progress")));
    } else if (strcmp(type, "done") == 0 && w->job != NULL) {
        w->state = W_IDLE;
        finish_job(w, msg, NULL);
        arc_queue_kick(w->pool->d->queue);
    }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    wproc_t *w = st->data;
    arc_err_t err = {{0}};

    if (n > 0) {
        arc_proto_reader_feed(&w->reader, buf->base, (size_t)n);
        json_t *msg;
        int rc;
        while ((rc = arc_proto_reader_next(&w->reader, &msg, &err)) == 1) {
            handle_message(w, msg);
            json_decref(msg);
        }
        if (rc < 0) {
            snprintf(w->reason, sizeof(w->reason), "the worker broke the protocol: %s", err.msg);
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
    char *args[] = {d->exe, "worker", "--memory-mb", mem, "--nice", nice, NULL};
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    int rc;

    snprintf(mem, sizeof(mem), "%lld", (long long)d->cfg.workers.memory_mb);
    snprintf(nice, sizeof(nice), "%lld", (long long)d->cfg.workers.nice);
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
        fprintf(stderr, "arcd: cannot start a worker: %s\n", uv_strerror(rc));
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
        size_t len;
        char *frame = arc_proto_encode(job->message, &len);
        uv_write_t *wr = arc_xcalloc(1, sizeof(*wr));
        uv_buf_t buf = uv_buf_init(frame, (unsigned)len);
        wr->data = frame;
        w->job = job;
        w->state = W_BUSY;
        uv_timer_start(&w->timer, on_timeout,
                       (uint64_t)p->d->cfg.workers.job_timeout_seconds * 1000, 0);
        if (uv_write(wr, (uv_stream_t *)&w->to, &buf, 1, on_job_written) != 0) {
            free(frame);
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
    free(p->procs);
    free(p);
}
