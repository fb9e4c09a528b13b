/*
 * files.h: GET /objects/ar-storage/:id/:file (a project's files) and
 * GET /vendor/:file (the viewer's scripts), read through libuv's threadpool
 * and written as the socket drains, with ETag, Last-Modified and single
 * Range requests. Only the names a project produces are served, so no
 * request reaches outside a project's folder. Loop only.
 */
#ifndef ARCD_DAEMON_FILES_H
#define ARCD_DAEMON_FILES_H

#include "core.h"

void arc_files_on_object(arc_http_req_t *req);
void arc_files_on_vendor(arc_http_req_t *req);

#endif
