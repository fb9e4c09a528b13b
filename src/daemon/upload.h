/*
 * upload.h: POST /api/ar/create-demo and POST /api/ar/create, multipart
 * uploads streamed to disk through libuv's threadpool, then one row per
 * project (which queues its job). Also the per-client upload rate limit,
 * whose buckets the uploads object owns. Loop only.
 */
#ifndef ARCD_DAEMON_UPLOAD_H
#define ARCD_DAEMON_UPLOAD_H

#include "core.h"

arc_uploads_t *arc_uploads_create(arc_daemon_t *d);
void arc_uploads_free(arc_uploads_t *u);

/* The routes' handlers: on_head sets up the streamed upload (create-demo:
 * one pair, a demo that expires; create: up to ARC_MAX_TARGETS pairs, a
 * lasting project); on_request finishes it once the body is in. */
void arc_upload_demo_head(arc_http_req_t *req);
void arc_upload_create_head(arc_http_req_t *req);
void arc_upload_complete(arc_http_req_t *req);

#endif
