/*
 * router.h: routes as data. A route table holds, for each endpoint, its
 * method, its path pattern, a name (for metrics and logs) and the functions
 * that handle it; the HTTP server (include/arcd/http.h) matches every
 * request against the table and calls the route's functions, so no
 * handler dispatches on names.
 *
 * A pattern is a path whose segments are literal ("api"), a parameter
 * (":id" matches one non-empty segment) or, as the last segment, "*" (the
 * rest of the path, possibly empty, slashes included). Literal patterns are
 * compared exactly. A path that matches a pattern whose method differs is
 * a 405 with the methods allowed; GET routes answer HEAD too.
 *
 * Pure computation; used on the daemon's loop. Tables are static data.
 */
#ifndef ARCD_ROUTER_H
#define ARCD_ROUTER_H

#include <stddef.h>

#define ARC_ROUTE_MAX_PARAMS 4
#define ARC_ROUTE_MAX_VALUE 256 /* a longer segment does not match */

typedef struct arc_http_req_s arc_http_req_t;

typedef struct arc_route_s {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/ar/status/:id" */
    const char *name;    /* "status" */
    /* The head is complete: choose how the body is taken (or answer now).
     * NULL for routes that take no body. */
    void (*on_head)(arc_http_req_t *req);
    /* The body is complete (or there was none): answer, now or later. */
    void (*on_request)(arc_http_req_t *req);
    unsigned flags; /* the application's own (such as "needs a token") */
} arc_route_t;

typedef struct arc_route_match_s {
    const arc_route_t *route; /* NULL when nothing matched */
    int status;               /* 0 matched, 404 no such path, 405 wrong method */
    char allow[64];           /* with 405: the methods the path takes ("GET, HEAD") */
    size_t n_params;
    struct {
        const char *name; /* borrowed from the pattern, without ':' */
        char value[ARC_ROUTE_MAX_VALUE];
    } params[ARC_ROUTE_MAX_PARAMS];
} arc_route_match_t;

/* Matches method and path (without the query) against table[0..n) in
 * order; the first route whose pattern and method match wins. Fills *out
 * (status 0, 404 or 405) and returns out->status. */
int arc_route_match(const arc_route_t *table, size_t n, const char *method, const char *path,
                    arc_route_match_t *out);

/* The value of parameter name ("id" for ":id", "*" for the rest), or NULL. */
const char *arc_route_param(const arc_route_match_t *m, const char *name);

#endif
