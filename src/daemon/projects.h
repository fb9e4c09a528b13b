/*
 * projects.h: the CRM's project routes (the back office). An owner token
 * sees and changes the projects it made, an admin token all of them; a
 * project another owner made, or an expired demo, is "no such project"
 * (404) rather than "forbidden", so ids cannot be probed.
 *
 *   GET    /api/ar/projects           the list: filters, search, newest first,
 *                                     keyset pages (an opaque cursor)
 *   PATCH  /api/ar/projects/:id       the CRM's fields; a demo made permanent
 *                                     or given a later expiry
 *   POST   /api/ar/projects/:id/rerun the whole pipeline again, same id
 *   DELETE /api/ar/projects/:id       files, then the row (its tombstone
 *                                     and notifications come with it)
 *
 * GET /api/ar/projects/:id is the status route's (status.h); a new video is
 * an upload (upload.h). Loop only: database work goes through the pool,
 * file work through the threadpool.
 */
#ifndef ARCD_DAEMON_PROJECTS_H
#define ARCD_DAEMON_PROJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* The SQL condition on ar_projects for the project a /:id route may see,
 * with $1 the id and $2 the token's owner ('' for an admin): its owner's,
 * not expired, not being deleted (sql/003: deleting_at). Every route that
 * reads or changes one project (PATCH, re-run, a new video) uses it. */
#define ARC_PROJECT_VISIBLE                                                                        \
    "id = $1::text AND ($2 = '' OR owner = $2) AND (expires_at IS NULL OR expires_at > now())"     \
    " AND deleting_at IS NULL"

void arc_projects_on_list(arc_http_req_t *req);
void arc_projects_patch_head(arc_http_req_t *req);
void arc_projects_on_patch(arc_http_req_t *req);
void arc_projects_on_rerun(arc_http_req_t *req);
void arc_projects_on_delete(arc_http_req_t *req);

/* The largest PATCH body. */
#define ARC_PROJECTS_PATCH_MAX 16384

/* ---- pure helpers, exported for their tests ---- */

/* Parses an RFC 3339 time ("2026-11-30T12:00:00Z", "...:00.250+03:00")
 * or a date ("2026-11-30", midnight UTC) into microseconds since the Unix
 * epoch. Returns 0 or -1 (not such a time, or out of the years 1970-9999). */
int arc_projects_time_parse(const char *s, int64_t *us);

/* The list's cursor: where the next page starts (the last item's creation
 * time in microseconds and its id), as an opaque URL-safe string, and back.
 * Decode returns 0, or -1 for anything encode did not make. */
void arc_projects_cursor_encode(int64_t created_us, const char *id, char *out, size_t size);
int arc_projects_cursor_decode(const char *s, int64_t *created_us, char id[40]);

/* Escapes s for a LIKE pattern (\, % and _ get a backslash) and wraps it in
 * '%': the pattern "contains s". Returns the new string (owned). */
char *arc_projects_like_contains(const char *s);

#endif
