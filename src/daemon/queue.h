/*
 * queue.h: the job queue (docs/daemon.md, sql/001_projects.sql). A project
 * row is its own job; an idle worker makes the daemon claim the next
 * runnable row with FOR UPDATE SKIP LOCKED under a lease it renews while the
 * job runs, so daemons sharing one database never take the same job and a
 * dead daemon's job is taken over. The queue builds each job's message
 * (include/arcd/proto.h) from the row and the settings, hands it to a worker
 * and records the outcome, every update guarded by the lease. Loop only.
 */
#ifndef ARCD_DAEMON_QUEUE_H
#define ARCD_DAEMON_QUEUE_H

#include <jansson.h>

#include "core.h"

/* Creates the queue and starts its poll timer. Returns 0 and *out. */
int arc_queue_start(arc_daemon_t *d, arc_queue_t **out);

/* Looks for work now (a NOTIFY, a free worker, a timer). */
void arc_queue_kick(arc_queue_t *q);

/* Jobs by state for /metrics, refreshed in the background (borrowed). */
const json_t *arc_queue_counts(const arc_queue_t *q);

/* Running jobs, for readiness and shutdown. */
int arc_queue_running(const arc_queue_t *q);

/* Returns running jobs to the queue (status pending, lease cleared) and stops
 * claiming; cb runs when that is done. */
void arc_queue_stop(arc_queue_t *q, void (*cb)(arc_daemon_t *d));

/* Frees a stopped queue; accepts NULL. */
void arc_queue_free(arc_queue_t *q);

#endif
