/*
 * `arcd worker`: the process the daemon starts for running jobs. It closes
 * every descriptor but its stdio, limits itself (niceness, address space),
 * enters its sandbox, says hello, then reads jobs from stdin and answers each
 * with progress messages and one "done" on stdout (include/arcd/proto.h). It
 * exits when stdin closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "arcd/clock.h"
#include "arcd/log.h"
#include "arcd/proto.h"
#include "arcd/worker.h"

/* Closes every descriptor above stderr: whatever the daemon's own parent left
 * open without close-on-exec (a listening socket, a database connection, a
 * log) is not the worker's to use. */
static void close_inherited(void)
{
    if (close_range(3, ~0U, 0) == 0)
        return;
    /* Kernels before 5.9 have no close_range. */
    struct rlimit rl;
    int max =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1 << 20) ? (int)rl.rlim_cur : 1 << 20;
    for (int fd = 3; fd < max; fd++)
        close(fd);
}

static void send_progress(arc_job_t *job, const char *stage, int percent)
{
    arc_msg_t m = {.type = ARC_MSG_PROGRESS};

    m.u.progress.id = (char *)job->id;
    snprintf(m.u.progress.stage, sizeof(m.u.progress.stage), "%s", stage);
    m.u.progress.progress = percent;
    arc_proto_write_fd(STDOUT_FILENO, &m);
}

static void done_ok(arc_job_t *job, double t0, arc_done_msg_t *d)
{
    const arc_item_t *first = &job->items[0];

    d->ok = 1;
    d->items = json_array();
    for (size_t i = 0; i < job->n_items; i++) {
        const arc_item_t *it = &job->items[i];
        json_array_append_new(d->items,
                              json_pack("{s:O?, s:O?, s:O?, s:s?}", "photo", it->photo_info,
                                        "rating", it->rating, "video", it->video_info, "videoFile",
                                        it->video_out[0] ? it->video_out : NULL));
    }
    d->files = json_incref(job->files);
    d->photo_width = first->print_width;
    d->photo_height = first->print_height;
    d->video = first->video_info ? json_incref(first->video_info) : json_null();
    d->rating = job->rating ? json_incref(job->rating) : json_null();
    d->marker_cached = job->marker_cached;
    d->ms = (int64_t)(arc_now_ms() - t0);
}

void arc_worker_run_job(const arc_job_msg_t *in, void (*progress)(arc_job_t *, const char *, int),
                        arc_done_msg_t *done)
{
    arc_job_t job;
    arc_err_t err = {{0}};
    double t0 = arc_now_ms();

    memset(&job, 0, sizeof(job));
    memset(done, 0, sizeof(*done));
    job.in = in;
    job.id = in->id;
    job.dir = in->dir;
    job.progress = progress;
    job.n_items = in->n_items;
    job.items = arc_xcalloc(in->n_items ? in->n_items : 1, sizeof(*job.items));
    for (size_t i = 0; i < in->n_items; i++) {
        job.items[i].photo = in->items[i].photo;
        job.items[i].video = in->items[i].video;
        if (i > 0)
            snprintf(job.items[i].suffix, sizeof(job.items[i].suffix), "-%zu", i);
    }

    int rc = arc_pipeline_run(&job, &err);
    done->id = arc_xstrdup(in->id);
    if (rc == 0) {
        done_ok(&job, t0, done);
    } else {
        /* The reason quotes libraries and inputs: printable and within the
         * protocol's limit, so that the daemon can read it. */
        arc_str_printable(err.msg);
        err.msg[ARC_PROTO_MAX_REASON] = '\0';
        done->ok = 0;
        done->error = arc_xstrdup(err.msg);
        done->permanent = job.permanent || rc == ARC_EINVAL;
    }
    done->timings = job.timings ? json_incref(job.timings) : json_object();
    arc_job_dispose(&job);
    free(job.items);
}

/* A test hook: ARCD_TEST_WORKER_LIE makes a worker answer as one taken over
 * by an upload might, to show that the daemon does not believe it:
 * "nofiles" reports success without files, "missing" reports a file it
 * removed, "ms" reports a time no job takes, "print" a print size that is
 * not a number. */
static void test_lie(arc_done_msg_t *d, const char *dir)
{
    const char *lie = getenv("ARCD_TEST_WORKER_LIE");
    char path[4200];

    if (lie == NULL || !d->ok)
        return;
    if (strcmp(lie, "nofiles") == 0) {
        json_decref(d->files);
        d->files = json_array();
    } else if (strcmp(lie, "missing") == 0 && d->files != NULL) {
        snprintf(path, sizeof(path), "%s/index.html", dir);
        unlink(path);
    } else if (strcmp(lie, "ms") == 0) {
        d->ms = (int64_t)1000000000000LL;
    } else if (strcmp(lie, "print") == 0) {
        json_t *photo = json_object_get(json_array_get(d->items, 0), "photo");
        json_object_set_new(json_object_get(photo, "print"), "width", json_string("wide"));
    }
}

int arc_worker_main(const arc_worker_opts_t *opts)
{
    arc_proto_reader_t reader;
    arc_err_t err = {{0}};
    long memory_mb = opts->memory_mb;
    int status = 0;

    close_inherited();
    /* The daemon stays responsive: workers yield the CPU to it, and a photo
     * that would need too much memory fails its job instead of the machine. */
    if (opts->nice > 0 && nice((int)opts->nice) == -1)
        perror("arcd worker: nice");
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer reserves terabytes of address space: no limit then. */
    memory_mb = 0;
#endif
    if (memory_mb > 0) {
        struct rlimit rl = {.rlim_cur = (rlim_t)memory_mb << 20,
                            .rlim_max = (rlim_t)memory_mb << 20};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            perror("arcd worker: setrlimit");
    }
    /* The print sheet's font, while fontconfig may still read its
     * configuration and caches; a machine without one gets sheets that say
     * so (workers/stage_sheet.c). */
    if (arc_sheet_prepare() != 0)
        arc_log_msg(ARC_LOG_WARN, "worker: no font for the print sheet's caption");
    /* From here on, only the calls a job needs (workers/sandbox.c). */
    if (arc_sandbox_enter(&err) != 0) {
        arc_log_msg(ARC_LOG_ERROR, "worker: %s", err.msg);
        return 3;
    }
    arc_msg_t hello = {.type = ARC_MSG_HELLO};
    hello.u.hello.pid = (int64_t)getpid();
    arc_proto_write_fd(STDOUT_FILENO, &hello);

    arc_proto_reader_init(&reader);
    for (;;) {
        arc_msg_t msg, reply = {.type = ARC_MSG_DONE};
        int rc = arc_proto_read_fd(STDIN_FILENO, &reader, &msg, &err);
        if (rc == 0)
            break; /* the daemon closed our stdin: we are done */
        if (rc < 0) {
            arc_log_msg(ARC_LOG_ERROR, "worker: %s", err.msg);
            status = 3;
            break;
        }
        if (msg.type == ARC_MSG_JOB) {
            /* This job's lines carry its id, attempt and the request that made it. */
            arc_log_context(json_pack("{s:s, s:s, s:i, s:s}", "process", "worker", "job",
                                      msg.u.job.id, "attempt", msg.u.job.attempt, "requestId",
                                      msg.u.job.request_id));
            arc_sandbox_selftest();
            arc_worker_run_job(&msg.u.job, send_progress, &reply.u.done);
            arc_log_context(NULL);
            test_lie(&reply.u.done, msg.u.job.dir);
            rc = arc_proto_write_fd(STDOUT_FILENO, &reply);
            if (rc == ARC_ETOOBIG) {
                /* Its report does not fit a frame: the job fails, saying so,
                 * rather than leaving the daemon without an answer. */
                json_t *timings = json_incref(reply.u.done.timings);
                char *id = arc_xstrdup(reply.u.done.id);
                arc_msg_dispose(&reply);
                reply.type = ARC_MSG_DONE;
                reply.u.done.id = id;
                reply.u.done.error = arc_xstrdup("the job's report is over the protocol's limit");
                reply.u.done.timings = timings;
                rc = arc_proto_write_fd(STDOUT_FILENO, &reply);
            }
            arc_msg_dispose(&reply);
        }
        arc_msg_dispose(&msg);
        if (rc != 0) {
            arc_log_msg(ARC_LOG_ERROR, "worker: cannot answer the daemon: %s", arc_strerror(rc));
            status = 4;
            break;
        }
    }
    arc_proto_reader_dispose(&reader);
    return status;
}
