/*
 * auth.h: API tokens. `Authorization: Bearer <token>` on the project
 * routes; tokens come from auth.tokens and $ARCD_ADMIN_TOKEN. An owner token
 * sees the projects it made, an admin token every project; with no token
 * configured the API answers 401 to everyone (closed by default). Loop only.
 */
#ifndef ARCD_DAEMON_AUTH_H
#define ARCD_DAEMON_AUTH_H

#include "core.h"

/* The token of the request's `Authorization: Bearer` header (borrowed from
 * the config), or NULL once the request has been answered 401. */
const arc_token_t *arc_auth_require(const arc_daemon_t *d, arc_http_req_t *req);

/* 1 when token t may see a project of owner (admins see all; NULL t: a
 * public route, which sees all). */
int arc_auth_sees(const arc_token_t *t, const char *owner);

#endif
