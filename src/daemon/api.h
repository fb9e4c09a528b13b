/*
 * api.h: the daemon's HTTP API as data: the route table (method, pattern,
 * handlers) and the policies every route shares (shutting down, tokens),
 * plus the small routes (health, readiness, metrics). The bigger routes
 * live in their own parts: upload.h, status.h, files.h. Loop only.
 */
#ifndef ARCD_DAEMON_API_H
#define ARCD_DAEMON_API_H

#include "core.h"

/* The HTTP handler of the daemon (its data: the arc_daemon_t). */
arc_http_handler_t arc_api_handler(arc_daemon_t *d);

/* The handler of server.metricsListen: GET /metrics alone, no token. */
arc_http_handler_t arc_api_metrics_handler(arc_daemon_t *d);

#endif
