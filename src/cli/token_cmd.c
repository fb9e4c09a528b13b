/*
 * `arcd token`: API tokens in the database (see include/arcd/cli.h).
 *
 * A token is 32 bytes from RAND_bytes written as "arcd_" and 43 base64url
 * characters; it is printed once, on stdout, and only its SHA-256 is stored
 * (arcd_tokens.hash), with its owner, role and label. The daemons hash a
 * presented token the same way and reload the table on NOTIFY arcd_tokens,
 * which the table's trigger sends on every change. Every command applies the
 * migrations first, so the table exists. libpq is used synchronously: this
 * is a command, not the daemon's loop.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "arcd/cli.h"
#include "arcd/config.h"
#include "arcd/db.h"

#define OWNER_MAX 128
#define LABEL_MAX 256

/* Timestamps as the API writes them: UTC, ISO 8601. */
#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ---- the token ---- */

int arc_cli_token_new(char text[ARC_CLI_TOKEN_LEN + 1], unsigned char hash[32])
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[32];
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    memcpy(text, "arcd_", 5);
    o = 5;
    /* base64url without padding: 256 bits make 42 full sextets and 4 bits. */
    for (size_t i = 0; i < sizeof(raw); i++) {
        acc = acc << 8 | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            text[o++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        text[o++] = b64url[(acc << (6 - bits)) & 63];
    text[o] = '\0';
    SHA256((const unsigned char *)text, o, hash);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(&acc, sizeof(acc));
    return o == ARC_CLI_TOKEN_LEN ? 0 : -1;
}

int arc_cli_token_name_ok(const char *s, size_t min, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    while (*p != '\0') {
        uint32_t c;
        int len;
        if (*p < 0x80) {
            c = *p;
            len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p & 0x1Fu;
            len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p & 0x0Fu;
            len = 3;
        } else if ((*p & 0xF8) == 0xF0) {
            c = *p & 0x07u;
            len = 4;
        } else {
            return -1;
        }
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
                return -1;
            c = c << 6 | (p[i] & 0x3Fu);
        }
        if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
            (len == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
            return -1; /* over-long, out of range, or a surrogate */
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
            return -1;
        p += len;
        n++;
    }
    return n >= min && n <= max ? 0 : -1;
}

/* ---- the database ---- */

/* Loads the settings, applies the migrations and connects. Returns 0 and
 * *out, or the exit status (2 settings, 4 database) after saying why. */
static int open_db(const char *config_path, const char *who, arc_config_t *cfg, PGconn **out)
{
    static const char *const keys[] = {"dbname", "connect_timeout", "fallback_application_name",
                                       NULL};
    arc_err_t err = {{0}};
    int status, applied = 0;

    *out = NULL;
    if ((status = arc_cli_load_config(config_path, who, cfg)) != 0)
        return status;
    if (arc_db_migrate(cfg->database.url, &applied, &err) != 0) {
        fprintf(stderr, "arcd %s: %s\n", who, err.msg);
        return 4;
    }
    if (applied > 0)
        fprintf(stderr, "arcd %s: %d migration%s applied\n", who, applied, applied == 1 ? "" : "s");
    const char *const values[] = {cfg->database.url, "10", "arcd token", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "arcd %s: cannot connect to PostgreSQL: %s", who, PQerrorMessage(c));
        PQfinish(c);
        return 4;
    }
    *out = c;
    return 0;
}

static PGresult *run(PGconn *c, const char *who, const char *sql, int n, const char *const *params)
{
    return arc_cli_sql(c, who, "database", sql, n, params);
}

/* ---- create ---- */

static int token_create(int argc, char **argv)
{
    static const char usage[] =
        "usage: arcd token create --role owner|admin --owner NAME [--label L] [--config FILE]\n";
    const char *config_path = NULL, *role = NULL, *owner = NULL, *label = NULL;
    const arc_opt_t options[] = {
        {"--role", NULL, ARC_OPT_STR, &role, 0, 0},
        {"--owner", NULL, ARC_OPT_STR, &owner, 0, 0},
        {"--label", NULL, ARC_OPT_STR, &label, 0, 0},
        {"--config", NULL, ARC_OPT_STR, &config_path, 0, 0},
    };
    arc_config_t cfg;
    int cfg_loaded = 0;
    PGconn *c = NULL;
    PGresult *r = NULL;
    char text[ARC_CLI_TOKEN_LEN + 1] = "", hex[2 + 2 * 32 + 1];
    unsigned char hash[32];
    int status = 0;

    if (arc_opts_parse(argc, argv, options, sizeof(options) / sizeof(options[0]), NULL, 0, NULL) !=
        0) {
        fputs(usage, stderr);
        return 2;
    }
    if (role == NULL || (strcmp(role, "owner") != 0 && strcmp(role, "admin") != 0)) {
        if (role == NULL)
            fprintf(stderr, "arcd token create: --role is required: owner (sees the projects it "
                            "makes) or admin (sees every project)\n");
        else
            fprintf(stderr, "arcd token create: --role must be owner or admin, not '%s'\n", role);
        fputs(usage, stderr);
        return 2;
    }
    if (owner == NULL) {
        fprintf(stderr, "arcd token create: --owner NAME is required: the projects the token "
                        "makes are that owner's\n");
        fputs(usage, stderr);
        return 2;
    }
    /* The daemon keeps an owner in 128 bytes (a project's owner, as the
     * config's auth.tokens), so a name of 128 characters must fit in those. */
    if (arc_cli_token_name_ok(owner, 1, OWNER_MAX) != 0 || strlen(owner) > OWNER_MAX) {
        fprintf(stderr,
                "arcd token create: --owner must be 1 to %d characters (at most %d bytes of "
                "UTF-8) with no control characters\n",
                OWNER_MAX, OWNER_MAX);
        return 2;
    }
    if (label != NULL && arc_cli_token_name_ok(label, 0, LABEL_MAX) != 0) {
        fprintf(stderr,
                "arcd token create: --label must be at most %d characters of UTF-8 with no "
                "control characters\n",
                LABEL_MAX);
        return 2;
    }
    if (label != NULL && label[0] == '\0')
        label = NULL;
    cfg_loaded = 1;
    if ((status = open_db(config_path, "token create", &cfg, &c)) != 0) {
        cfg_loaded = status != 2; /* arc_cli_load_config() disposes of what it failed to load */
        goto out;
    }
    if (arc_cli_token_new(text, hash) != 0) {
        fprintf(stderr, "arcd token create: no random bytes from OpenSSL\n");
        status = 70;
        goto out;
    }
    memcpy(hex, "\\x", 2);
    for (size_t i = 0; i < sizeof(hash); i++)
        snprintf(hex + 2 + 2 * i, 3, "%02x", hash[i]);
    const char *params[4] = {hex, owner, role, label};
    r = run(c, "token create",
            "INSERT INTO arcd_tokens (hash, owner, role, label) VALUES ($1::bytea, $2, $3, $4)"
            " RETURNING id::text AS id",
            4, params);
    if (r == NULL) {
        status = 4;
        goto out;
    }
    const char *id = PQgetvalue(r, 0, PQfnumber(r, "id"));
    /* Printed only once it is stored: a token that is shown works. */
    if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
        /* Nobody has seen it: it must not stay valid. */
        const char *rp[1] = {id};
        PQclear(run(c, "token create",
                    "UPDATE arcd_tokens SET revoked_at = now() WHERE id = $1::uuid", 1, rp));
        fprintf(stderr, "arcd token create: cannot print the token; token %s revoked\n", id);
        status = 4;
        goto out;
    }
    fprintf(stderr,
            "arcd token create: token %s made (role %s, owner '%s'). It is printed above and "
            "will not be shown again: only its SHA-256 is kept.\n",
            id, role, owner);
out:
    OPENSSL_cleanse(text, sizeof(text));
    PQclear(r);
    PQfinish(c);
    if (cfg_loaded)
        arc_config_dispose(&cfg);
    return status;
}

/* ---- list ---- */

enum { L_ID, L_OWNER, L_ROLE, L_LABEL, L_CREATED, L_REVOKED, L_N };
static const char *const list_cols[L_N] = {
    [L_ID] = "id",       [L_OWNER] = "owner",     [L_ROLE] = "role",
    [L_LABEL] = "label", [L_CREATED] = "created", [L_REVOKED] = "revoked",
};

static const char list_sql[] =
    "SELECT id::text AS id, owner, role, label, " ISO_UTC("created_at") " AS created, " ISO_UTC(
        "revoked_at") " AS revoked FROM arcd_tokens ORDER BY created_at, id";

/* Characters of UTF-8 text (bytes that do not continue one), for columns. */
static int width(const char *s)
{
    int n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A column that may be NULL (label, revoked); the others are NOT NULL. */
static const char *value(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int token_list(int argc, char **argv)
{
    const char *config_path = NULL;
    int as_json = 0;
    const arc_opt_t options[] = {
        {"--json", NULL, ARC_OPT_FLAG, &as_json, 0, 0},
        {"--config", NULL, ARC_OPT_STR, &config_path, 0, 0},
    };
    arc_config_t cfg;
    int cfg_loaded = 1, status, col[L_N];
    PGconn *c = NULL;
    PGresult *r = NULL;

    if (arc_opts_parse(argc, argv, options, sizeof(options) / sizeof(options[0]), NULL, 0, NULL) !=
        0) {
        fprintf(stderr, "usage: arcd token list [--json] [--config FILE]\n");
        return 2;
    }
    if ((status = open_db(config_path, "token list", &cfg, &c)) != 0) {
        cfg_loaded = status != 2;
        goto out;
    }
    r = run(c, "token list", list_sql, 0, NULL);
    if (r == NULL) {
        status = 4;
        goto out;
    }
    for (int i = 0; i < L_N; i++)
        col[i] = PQfnumber(r, list_cols[i]);
    int n = PQntuples(r);
    if (as_json) {
        json_t *all = json_array();
        for (int i = 0; i < n; i++) {
            const char *label = value(r, i, col[L_LABEL]), *revoked = value(r, i, col[L_REVOKED]);
            json_t *t = json_object();
            json_object_set_new(t, "id", json_string(PQgetvalue(r, i, col[L_ID])));
            json_object_set_new(t, "owner", json_string(PQgetvalue(r, i, col[L_OWNER])));
            json_object_set_new(t, "role", json_string(PQgetvalue(r, i, col[L_ROLE])));
            json_object_set_new(t, "label", label ? json_string(label) : json_null());
            json_object_set_new(t, "createdAt", json_string(PQgetvalue(r, i, col[L_CREATED])));
            json_object_set_new(t, "revokedAt", revoked ? json_string(revoked) : json_null());
            json_array_append_new(all, t);
        }
        char *text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(all);
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "arcd token list: no API token in the database (arcd token create "
                        "makes one)\n");
        goto out;
    }
    int w = 5; /* the owner column's width */
    for (int i = 0; i < n; i++) {
        int len = width(PQgetvalue(r, i, col[L_OWNER]));
        w = len > w ? len : w;
    }
    printf("%-36s  %-5s  %-*s  %-20s  %-20s  %s\n", "ID", "ROLE", w, "OWNER", "CREATED", "REVOKED",
           "LABEL");
    for (int i = 0; i < n; i++) {
        const char *label = value(r, i, col[L_LABEL]), *revoked = value(r, i, col[L_REVOKED]);
        const char *owner = PQgetvalue(r, i, col[L_OWNER]);
        printf("%-36s  %-5s  %s%*s  %-20s  %-20s  %s\n", PQgetvalue(r, i, col[L_ID]),
               PQgetvalue(r, i, col[L_ROLE]), owner, w - width(owner), "",
               PQgetvalue(r, i, col[L_CREATED]), revoked ? revoked : "-", label ? label : "-");
    }
out:
    if (fflush(stdout) != 0 && status == 0)
        status = 4;
    PQclear(r);
    PQfinish(c);
    if (cfg_loaded)
        arc_config_dispose(&cfg);
    return status;
}

/* ---- revoke ---- */

/* A uuid as arcd_tokens.id prints it (either case); lower-cased into out. */
static int token_id(const char *s, char out[37])
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (strlen(s) != sizeof(pattern) - 1)
        return -1;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return -1;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[sizeof(pattern) - 1] = '\0';
    return 0;
}

static int token_revoke(int argc, char **argv)
{
    static const char usage[] = "usage: arcd token revoke ID [--config FILE]   (ID: from arcd "
                                "token list)\n";
    const char *config_path = NULL, *pos[1] = {NULL};
    const arc_opt_t options[] = {{"--config", NULL, ARC_OPT_STR, &config_path, 0, 0}};
    arc_config_t cfg;
    int cfg_loaded = 1, status, npos = 0;
    PGconn *c = NULL;
    PGresult *r = NULL;
    char id[37];

    if (arc_opts_parse(argc, argv, options, 1, pos, 1, &npos) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    if (npos != 1) {
        fprintf(stderr, "arcd token revoke: which token? give its ID\n");
        fputs(usage, stderr);
        return 2;
    }
    if (token_id(pos[0], id) != 0) {
        fprintf(stderr,
                "arcd token revoke: '%s' is not a token ID (a UUID, as `arcd token list` shows)\n",
                pos[0]);
        return 2;
    }
    if ((status = open_db(config_path, "token revoke", &cfg, &c)) != 0) {
        cfg_loaded = status != 2;
        goto out;
    }
    const char *params[1] = {id};
    r = run(c, "token revoke",
            "UPDATE arcd_tokens SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL"
            " RETURNING owner, role",
            1, params);
    if (r == NULL) {
        status = 4;
        goto out;
    }
    if (PQntuples(r) == 1) {
        printf("arcd token revoke: token %s (role %s, owner '%s') revoked; every daemon refuses "
               "it within a second\n",
               id, PQgetvalue(r, 0, PQfnumber(r, "role")), PQgetvalue(r, 0, PQfnumber(r, "owner")));
        goto out;
    }
    PQclear(r);
    r = run(c, "token revoke",
            "SELECT " ISO_UTC("revoked_at") " AS revoked FROM arcd_tokens WHERE id = $1::uuid", 1,
            params);
    if (r == NULL) {
        status = 4;
        goto out;
    }
    if (PQntuples(r) == 0)
        fprintf(stderr, "arcd token revoke: no token has the ID %s (see arcd token list)\n", id);
    else
        fprintf(stderr, "arcd token revoke: token %s was already revoked, at %s\n", id,
                PQgetvalue(r, 0, PQfnumber(r, "revoked")));
    status = 3;
out:
    PQclear(r);
    PQfinish(c);
    if (cfg_loaded)
        arc_config_dispose(&cfg);
    return status;
}

/* ---- arcd token ---- */

int arc_cli_token(int argc, char **argv)
{
    static const struct {
        const char *verb;
        int (*run)(int argc, char **argv);
    } verbs[] = {{"create", token_create}, {"list", token_list}, {"revoke", token_revoke}};
    char name[32];

    for (size_t i = 0; argc > 1 && i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(argv[1], verbs[i].verb) != 0)
            continue;
        /* "arcd token create: ..." in the option parser's messages. */
        snprintf(name, sizeof(name), "token %s", verbs[i].verb);
        argv[1] = name;
        return verbs[i].run(argc - 1, argv + 1);
    }
    if (argc > 1)
        fprintf(stderr, "arcd token: unknown command '%s'\n", argv[1]);
    fprintf(stderr, "usage: arcd token create --role owner|admin --owner NAME [--label L]\n"
                    "       arcd token list [--json]\n"
                    "       arcd token revoke ID\n"
                    "each with [--config FILE]\n");
    return 2;
}
