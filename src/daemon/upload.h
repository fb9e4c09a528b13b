/*
 * upload.h: POST /api/ar/create-demo, POST /api/ar/create and a project's
 * new video (POST /api/ar/projects/:id/video), multipart
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

/* POST /api/ar/projects/:id/video: a new video for one pair of a project
 * (multipart `video`, optional fitMode, scaleWidth, scaleHeight and
 * `target`, the pair's number from 0). 202 and a job of the video and
 * viewer stages: the marker, the print and the QR code stay as they are. */
void arc_upload_video_head(arc_http_req_t *req);

#endif
