/*
 * app.h: the operator's web app (src/app/: HTML, CSS and JavaScript
 * modules, no build step), served by the daemon itself at / and
 * /app/<version>/<file>, so that a shop can use arcd the day it is
 * installed, on a LAN without internet.
 *
 * The folder (app.dir) is read once at start-up into memory (the whole app
 * is tens of KB), each file kept as it is and in brotli and gzip forms made
 * then, sent by the request's Accept-Encoding. Its version is the first 16
 * hex digits of the SHA-256 of every file: the page at / (never cached)
 * loads the rest from /app/<version>/, cached for a year as immutable; an
 * older version's URL (a tab left open across an upgrade) gets today's file,
 * not cached. index.html's {{base}} is that folder's URL.
 *
 * Every answer carries a strict Content-Security-Policy (scripts, styles,
 * fonts and connections from the app's own origin and server.publicUrl's
 * only; no inline script, no eval, no plugin, no framing), nosniff,
 * no-referrer and DENY for frames. Loop only: nothing is read after start.
 */
#ifndef ARCD_DAEMON_APP_H
#define ARCD_DAEMON_APP_H

#include "arcd/error.h"
#include "arcd/http.h"

typedef struct arc_app_s arc_app_t;

/* Reads dir's files (blocking: at start-up). public_url is
 * server.publicUrl, whose origin the policy allows beside the app's own.
 * Returns 0 and *out (free with arc_app_free()); ARC_EIO when dir has no
 * index.html (*out is then an app that answers 404), ARC_EINVAL naming a
 * file that cannot be served (an unknown type, a sub-folder, a mistyped
 * {{field}} in index.html), ARC_ETOOBIG for a file too large. */
int arc_app_load(const char *dir, const char *public_url, arc_app_t **out, arc_err_t *err);

/* GET / : index.html. */
void arc_app_on_index(arc_http_req_t *req);

/* GET /app/:version/:file */
void arc_app_on_asset(arc_http_req_t *req);

/* The app's version (16 hex digits), "" when none was loaded. */
const char *arc_app_version(const arc_app_t *a);

/* Accepts NULL. */
void arc_app_free(arc_app_t *a);

#endif
