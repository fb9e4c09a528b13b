/*
 * pages.h: the HTML pages the daemon itself sends to people (the view link
 * of a project that is still being prepared, failed, does not exist or has
 * expired). Each is a template under viewer.pagesDir (config/pages/), read
 * and checked once at start-up (a missing file or an unknown field stops the
 * daemon), rendered with include/arcd/tpl.h. No customer-facing HTML lives
 * in C strings.
 */
#ifndef ARCD_DAEMON_PAGES_H
#define ARCD_DAEMON_PAGES_H

#include "arcd/error.h"
#include "arcd/http.h"

typedef struct arc_pages_s arc_pages_t;

typedef enum arc_page_e {
    ARC_PAGE_NOT_FOUND = 0, /* not-found.html: 404 */
    ARC_PAGE_PENDING,       /* pending.html: 200, reloads itself; field {{progress}} */
    ARC_PAGE_ERROR,         /* error.html: 500 */
    ARC_PAGE_GONE,          /* gone.html: 410, a demo past its lifetime */
    ARC_PAGE_REMOVED,       /* removed.html: 410, a project deleted by the shop */
    ARC_PAGE_COUNT
} arc_page_t;

/* Reads and checks every page of dir (blocking: at start-up). Returns 0 and
 * *out (free with arc_pages_free()), or ARC_EIO / ARC_EINVAL naming the
 * file. */
int arc_pages_load(const char *dir, arc_pages_t **out, arc_err_t *err);

/* Answers req with page; progress fills {{progress}} (0-100). */
void arc_pages_respond(const arc_pages_t *p, arc_http_req_t *req, arc_page_t page, int progress);

/* Accepts NULL. */
void arc_pages_free(arc_pages_t *p);

#endif
