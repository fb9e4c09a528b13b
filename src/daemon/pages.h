/*
 * pages.h: the HTML pages the daemon itself sends to people (the view link
 * of a project that is still being prepared, failed, does not exist or has
 * expired, or that was opened in an app's built-in browser). Each is a
 * template under viewer.pagesDir (config/pages/, in English) and, in
 * Russian, under its ru/ folder; read and checked once at start-up (a
 * missing English page or an unknown field stops the daemon), rendered
 * with include/arcd/tpl.h in the language the request's Accept-Language
 * prefers. No customer-facing HTML lives in C strings.
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
    ARC_PAGE_IN_APP,        /* open-in-browser.html: 200, {{url}}, {{intentUrl}}, {{viewerUrl}} */
    ARC_PAGE_COUNT
} arc_page_t;

/* The values of a page's fields (NULL strings render empty). */
typedef struct arc_page_fields_s {
    int progress;           /* pending.html: 0-100 */
    const char *url;        /* open-in-browser.html: the view URL to open in a browser */
    const char *intent_url; /* Android's intent: URL that opens it in Chrome */
    const char *viewer_url; /* the viewer page, to try in the app anyway */
} arc_page_fields_t;

/* Reads and checks every page of dir (blocking: at start-up). Returns 0 and
 * *out (free with arc_pages_free()), or ARC_EIO / ARC_EINVAL naming the
 * file. */
int arc_pages_load(const char *dir, arc_pages_t **out, arc_err_t *err);

/* Answers req with page in the language its Accept-Language prefers, with
 * the fields of f (NULL: none). */
void arc_pages_respond(const arc_pages_t *p, arc_http_req_t *req, arc_page_t page,
                       const arc_page_fields_t *f);

/* The index of the language an Accept-Language header (NULL: none) prefers
 * among the pages' (0: English, also when it names none of them). */
int arc_pages_language(const char *accept);

/* The app whose built-in browser sent User-Agent ua (Instagram, Facebook,
 * Telegram, WhatsApp, VK, TikTok), or NULL (also for a User-Agent without
 * "Mozilla/": a link-preview robot). Those browsers do not give a page the
 * camera (or not reliably), so the view link explains how to open it in
 * Safari or Chrome instead. */
const char *arc_pages_in_app(const char *ua);

/* Accepts NULL. */
void arc_pages_free(arc_pages_t *p);

#endif
