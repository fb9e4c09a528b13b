/*
 * workers.h: the worker processes, seen from the daemon. workers.count
 * processes of `arcd worker` started with uv_spawn (fork and exec, never a
 * bare fork of the daemon), each fed one job at a time over its stdin and
 * read over its stdout (include/arcd/proto.h). A worker that crashes, breaks
 * the protocol or runs past the job time limit is killed and replaced, with
 * a growing delay while it keeps dying; its job is reported back as failed
 * with the reason. Loop only.
 */
#ifndef ARCD_DAEMON_WORKERS_H
#define ARCD_DAEMON_WORKERS_H

#include <stdint.h>

#include "arcd/proto.h"
#include "core.h"

typedef struct arc_worker_job_s arc_worker_job_t;

/* A running job as the queue sees it; the worker pool calls back on it. */
struct arc_worker_job_s {
    char id[40];
    arc_job_msg_t message; /* what is sent to the worker (owned by the queue) */
    void (*on_progress)(arc_worker_job_t *job, const arc_progress_msg_t *p);
    /* done: the worker's answer (checked by the protocol's decoder), or NULL
     * with reason when the worker died or overran (the job may be retried). */
    void (*on_done)(arc_worker_job_t *job, const arc_done_msg_t *done, const char *reason);
};

/* Starts count workers. Returns 0 and *out. */
int arc_workers_start(arc_daemon_t *d, int count, arc_workers_t **out);

/* Idle workers ready for a job. */
int arc_workers_idle(const arc_workers_t *w);

/* Hands job (which must stay valid until its on_done runs) to an idle
 * worker; returns 0 or ARC_EUNAVAIL. */
int arc_workers_run(arc_workers_t *w, arc_worker_job_t *job);

void arc_workers_stats(const arc_workers_t *w, int *busy, int *idle, uint64_t *restarts);

/* Stops the workers (closing their stdin); running jobs are abandoned (the
 * queue returns them first). cb runs when every process has exited. */
void arc_workers_stop(arc_workers_t *w, void (*cb)(arc_daemon_t *d));

/* Frees a stopped worker pool; accepts NULL. */
void arc_workers_free(arc_workers_t *w);

#endif
