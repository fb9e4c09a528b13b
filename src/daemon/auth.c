/*
 * API tokens: `Authorization: Bearer <token>` on the API's project routes
 * (create-demo, create, status, events). Tokens come from auth.tokens in the
 * config and $ARCD_ADMIN_TOKEN; an owner token sees the projects it made,
 * an admin token every project. The viewer and the project files stay public
 * (their ids are 128 random bits). With no token configured, the API answers
 * 401 to everyone: arcd is closed by default.
 *
 * The presented token is compared with every configured one by SHA-256 and
 * CRYPTO_memcmp, without stopping at a match, so the time taken does not
 * tell how much of a token was right.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "auth.h"

const arc_token_t *arc_auth_require(const arc_daemon_t *d, arc_http_req_t *req)
{
    static const char challenge[] = "WWW-Authenticate: Bearer realm=\"arcd\"\r\n";
    const char *h = arc_http_header(req, "authorization");
    const arc_token_t *found = NULL;
    unsigned char want[SHA256_DIGEST_LENGTH], have[SHA256_DIGEST_LENGTH];

    if (d->cfg->auth.n_tokens == 0) {
        arc_http_error(req, 401, "unauthorized", challenge,
                       "no API token is configured on this server (auth.tokens or "
                       "ARCD_ADMIN_TOKEN)");
        return NULL;
    }
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
        arc_http_error(req, 401, "unauthorized", challenge,
                       "this endpoint needs an 'Authorization: Bearer <token>' header");
        return NULL;
    }
    SHA256((const unsigned char *)h + 7, strlen(h + 7), have);
    for (size_t i = 0; i < d->cfg->auth.n_tokens; i++) {
        const arc_token_t *t = &d->cfg->auth.tokens[i];
        SHA256((const unsigned char *)t->token, strlen(t->token), want);
        if (CRYPTO_memcmp(want, have, sizeof(want)) == 0 && found == NULL)
            found = t;
    }
    if (found == NULL)
        arc_http_error(req, 401, "unauthorized", challenge, "the API token is not valid");
    return found;
}

int arc_auth_sees(const arc_token_t *t, const char *owner)
{
    return t == NULL || t->admin || (owner != NULL && strcmp(owner, t->owner) == 0);
}
