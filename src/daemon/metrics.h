/*
 * metrics.h: the daemon's counters and histograms, and the Prometheus text
 * of /metrics. Request latency per route and whole-job time are histograms
 * over the one set of bucket boundaries each kind has (metrics.c); the
 * gauges (pool, workers, jobs, connections) are read from their parts when
 * the page is rendered. Loop only.
 */
#ifndef ARCD_DAEMON_METRICS_H
#define ARCD_DAEMON_METRICS_H

#include "core.h"

arc_metrics_t *arc_metrics_create(void);
void arc_metrics_free(arc_metrics_t *m);

/* An answered HTTP request: its route's label, status and time to the start
 * of the answer. */
void arc_metrics_http(arc_metrics_t *m, const char *route, int status, double ms);

/* A finished job's whole time. */
void arc_metrics_job(arc_metrics_t *m, double ms);

/* The Prometheus text of every metric (owned, free()). */
char *arc_metrics_render(const arc_daemon_t *d);

#endif
