/*
 * auth.h: API tokens. `Authorization: Bearer <token>` on the project
 * routes; an owner token sees the projects it made, an admin token every
 * project; with no token at all the API answers 401 to everyone (closed by
 * default). Loop only.
 *
 * The tokens are the config's (auth.tokens and $ARCD_ADMIN_TOKEN) and the
 * database's (arcd_tokens, made with `arcd token create`, of which only the
 * SHA-256 is stored). The database's are read once at start-up (before the
 * loop runs, on a connection of their own), then again through the pool on
 * every NOTIFY arcd_tokens, whenever the LISTEN connection comes back, and
 * every second while it is down or the last read failed: a token made or
 * revoked is seen by every daemon within a second, without a restart.
 *
 * Lifetime: the arc_token_t a request gets (its req->ctx) must stay valid
 * while the request lives, which may be long after a reload dropped its
 * token (a long poll, an event stream, an upload). A token's record is
 * therefore never freed before the auth object: a reload makes a new list of
 * the valid tokens, reusing the record of a token it already knew, and a
 * revoked token's record stays behind, unreachable, until the daemon exits.
 * Memory grows with the tokens this daemon has seen, not with reloads.
 */
#ifndef ARCD_DAEMON_AUTH_H
#define ARCD_DAEMON_AUTH_H

#include <stddef.h>

#include <libpq-fe.h>
#include <uv.h>

#include "core.h"

/* Creates the token set with the config's tokens (cfg borrowed: it must
 * outlive the set). The database's tokens are unknown until the first load.
 * Returns owned, free with arc_auth_free(). */
arc_auth_t *arc_auth_create(const arc_config_t *cfg);

/*
 * Loads the database's tokens now, synchronously, on a connection of its own
 * (start-up only: blocks; the caller has just applied the migrations, so the
 * table exists), then keeps them current through pool on loop: a reload on
 * arc_auth_reload() and every second while the pool's LISTEN connection is
 * down or the last load failed. If this first load fails, tokens that are not
 * the config's are answered 503 until a load succeeds. loop and pool must
 * stay valid until arc_auth_stop().
 */
void arc_auth_start(arc_auth_t *a, uv_loop_t *loop, arc_pg_pool_t *pool);

/* Reads the database's tokens again (NOTIFY arcd_tokens, LISTEN back up).
 * A reload asked for while one runs runs once more after it, so the last
 * change is always seen. Accepts NULL. */
void arc_auth_reload(arc_auth_t *a);

/* At shutdown, before the pool closes: cancels a running load and closes
 * the timer. The set stays usable (requests still being answered). Accepts
 * NULL. */
void arc_auth_stop(arc_auth_t *a);

/* Frees the set and every token record, once the loop has ended (no request
 * may hold a token any more). Accepts NULL. */
void arc_auth_free(arc_auth_t *a);

/*
 * The token of the request's `Authorization: Bearer` header, or NULL once
 * the request has been answered: 401 (no header, no such token, no token
 * anywhere), or 503 with Retry-After while the database's tokens have not
 * been loaded yet and the token is not one of the config's. The token is
 * the auth object's and stays valid until arc_auth_free(), even after it is
 * revoked (see the lifetime above).
 */
const arc_token_t *arc_auth_require(const arc_daemon_t *d, arc_http_req_t *req);

/* 1 when token t may see a project of owner (admins see all; NULL t: a
 * public route, which sees all). */
int arc_auth_sees(const arc_token_t *t, const char *owner);

/* ---- the set itself (arc_auth_require's parts; tested on their own) ---- */

/* Replaces the database's tokens with res's rows (columns id, hash as 64 hex
 * digits, owner, role), reusing the record of a token already known. Rows
 * that are not well formed are skipped (counted in *skipped, may be NULL).
 * Marks the set loaded. Returns 0, or ARC_EINTERNAL (a column is missing;
 * the set is left as it was), message in err. */
int arc_auth_apply(arc_auth_t *a, const PGresult *res, size_t *skipped, arc_err_t *err);

/* The token whose SHA-256 is that of presented[0..len), config tokens
 * first, or NULL. Takes the same time whether and wherever a token matches:
 * the presented token is hashed once and compared with every token with
 * CRYPTO_memcmp. */
const arc_token_t *arc_auth_find(const arc_auth_t *a, const char *presented, size_t len);

/* 1 once the database's tokens have been loaded (a failed reload later
 * keeps the last set). */
int arc_auth_loaded(const arc_auth_t *a);

/* How many tokens are valid now: the config's plus the database's. */
size_t arc_auth_count(const arc_auth_t *a);

/* The SQL that reads the database's valid tokens, with the columns
 * arc_auth_apply() takes. */
extern const char arc_auth_load_sql[];

#endif
