/*
 * status.h: what clients learn about a project. Four routes read one
 * status row and answer by their kind:
 *   - GET /api/ar/status/:id[?wait=N]: the status JSON now, or held (a long
 *     poll) until the status or stage changes or N seconds pass;
 *   - GET /api/ar/events/:id: the same changes as Server-Sent Events, ending
 *     at ready or error;
 *   - GET /ar/view/:id: 302 to the viewer when ready, else a page (pending,
 *     error, gone, not found; src/daemon/pages.h);
 *   - GET /api/ar/storage/:id/:file: the old system's file URLs (an imported
 *     project's, arcd import-legacy), 301 to the file's URL in arcd.
 * A request waiting for changes is a watcher; a change (NOTIFY arcd_status
 * from whichever daemon made it) wakes the watchers of that project. Plain
 * reads of a project are answered from a short-lived cache that the same
 * notifications keep exact. Loop only.
 */
#ifndef ARCD_DAEMON_STATUS_H
#define ARCD_DAEMON_STATUS_H

#include <stdint.h>

#include <jansson.h>

#include "core.h"

arc_status_t *arc_status_create(arc_daemon_t *d);
void arc_status_free(arc_status_t *s);

/* The routes' request handlers. */
void arc_status_on_status(arc_http_req_t *req);
void arc_status_on_events(arc_http_req_t *req);
void arc_status_on_view(arc_http_req_t *req);
/* GET /api/ar/storage/:id/:file, the old system's file URLs (public): 301 to
 * the project's file under /objects/ar-storage/ (video.mp4: its web
 * video); 404 for an unknown project or file. */
void arc_status_on_legacy_file(arc_http_req_t *req);

/* A project's status changed (NOTIFY arcd_status, or this daemon's own
 * update): drops its cached answer and wakes its watchers. */
void arc_status_changed(arc_status_t *s, const char *id);

/* Wakes every watcher and drops the cache (notifications may have been
 * missed); closing (shutdown): ends them, event streams at once, long polls
 * with the status read now; a watcher whose first read is in flight answers
 * as soon as it comes, and so does one that starts after this. */
void arc_status_wake_all(arc_status_t *s, int closing);

/* Sends a keep-alive comment down every event stream. */
void arc_status_heartbeat(arc_status_t *s);

/* The API's status document of a project document (arcd_project_doc() in
 * sql/002_back_office.sql: the status route's, the project list's and every
 * notification's snapshot). New reference. */
json_t *arc_status_doc_json(const arc_daemon_t *d, const json_t *doc);

/* Status reads answered from the cache, for /metrics. */
uint64_t arc_status_cache_hits(const arc_status_t *s);

#endif
