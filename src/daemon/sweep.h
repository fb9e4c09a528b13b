/*
 * sweep.h: expiry. Demo projects live demo.ttlHours; every
 * demo.sweepSeconds the daemon removes up to 100 expired projects that no
 * worker holds: their folders on libuv's threadpool first, then their rows.
 * The same round prunes the compiled-marker cache (<storage>/cache) on the
 * threadpool: entries unused for storage.cacheMaxDays, then the least
 * recently used until it is within storage.cacheMaxMb. Several daemons may
 * sweep one storage at once: every step is idempotent. Loop only.
 */
#ifndef ARCD_DAEMON_SWEEP_H
#define ARCD_DAEMON_SWEEP_H

#include <stdint.h>

#include "core.h"

/* Starts the sweep's timer. Returns 0 and *out. */
int arc_sweep_start(arc_daemon_t *d, arc_sweep_t **out);

/* Removes <storage>/ar-storage/<id>, recursively, without following links;
 * what cannot be removed stays (a later removal tries again). Blocking:
 * call it on the threadpool, never on the loop. */
void arc_sweep_remove_folder(const char *storage, const char *id);

/* Projects removed so far, for /metrics; 0 for a NULL sweep. */
uint64_t arc_sweep_total(const arc_sweep_t *s);

/* The marker cache as the last prune left it, and what this daemon's prunes
 * removed so far, for /metrics. */
typedef struct arc_sweep_cache_stats_s {
    uint64_t bytes;   /* the entries' total size (st_size) */
    uint64_t entries; /* <64 hex>.mind files */
    uint64_t pruned;  /* entries removed so far, by age or by size */
} arc_sweep_cache_stats_t;

/* Fills *out: all zero before the first prune ends and for a NULL sweep (the
 * daemon's sweep pointer is NULL once shutdown has begun). */
void arc_sweep_cache_stats(const arc_sweep_t *s, arc_sweep_cache_stats_t *out);

/* Cancels what is in flight and closes the timer; the sweep is freed once
 * the timer has closed and no work of it is left on the threadpool.
 * Accepts NULL. */
void arc_sweep_stop(arc_sweep_t *s);

#endif
