/*
 * Tests for src/daemon/auth.c, the API token set, without a PostgreSQL
 * server: the database's rows are PGresults made by hand (libpq's
 * PQmakeEmptyPGresult and PQsetvalue), and the tokens are made by the CLI's
 * own maker (src/cli/token_cmd.c), so the two sides are checked to hash a
 * token the same way. The lifetime rule is checked by reading a token a
 * request would still hold after its reload dropped it (AddressSanitizer
 * builds make a freed record a failure). The last test starts the set's
 * reloads against a server that is not there and checks the loop closes
 * clean.
 */
#include <openssl/sha.h>

#include "../../test.h"
#include "arcd/cli.h"
#include "arcd/error.h"
#include "arcd/pg.h"
#include "auth.h"

typedef struct row_s {
    const char *id, *hash, *owner, *role;
} row_t;

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* A result as arc_auth_load_sql's (columns named as there), or with a
 * column missing when missing is set. */
static PGresult *result(const row_t *rows, int n, int missing)
{
    static const char *const names[] = {"id", "hash", "owner", "role"};
    PGresAttDesc attrs[4];
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    int ncols = missing ? 3 : 4;

    memset(attrs, 0, sizeof(attrs));
    for (int c = 0; c < ncols; c++) {
        attrs[c].name = (char *)names[c];
        attrs[c].typid = 25; /* text */
        attrs[c].typlen = -1;
        attrs[c].atttypmod = -1;
    }
    CHECK(PQsetResultAttrs(r, ncols, attrs));
    for (int i = 0; i < n; i++) {
        const char *v[4] = {rows[i].id, rows[i].hash, rows[i].owner, rows[i].role};
        for (int c = 0; c < ncols; c++)
            CHECK(PQsetvalue(r, i, c, (char *)v[c], v[c] ? (int)strlen(v[c]) : -1));
    }
    return r;
}

static int apply(arc_auth_t *a, const row_t *rows, int n, size_t *skipped)
{
    PGresult *r = result(rows, n, 0);
    arc_err_t err = {{0}};
    int rc = arc_auth_apply(a, r, skipped, &err);

    PQclear(r);
    return rc;
}

static const arc_token_t *find(const arc_auth_t *a, const char *token)
{
    return arc_auth_find(a, token, strlen(token));
}

/* A config like the daemon's: an owner token and $ARCD_ADMIN_TOKEN's. */
static arc_token_t cfg_tokens[] = {
    {"shop-a-token-0123456789", "shop-a", 0},
    {"test-admin-token-0123456789", "admin", 1},
};

static void config(arc_config_t *cfg, size_t n_tokens)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->auth.tokens = cfg_tokens;
    cfg->auth.n_tokens = n_tokens;
    cfg->database.statement_timeout_ms = 1000;
}

/* A new token from the CLI and the hex of its hash, as the table gives it. */
static void made(char text[ARC_CLI_TOKEN_LEN + 1], char hash_hex[65])
{
    unsigned char hash[32];

    CHECK(arc_cli_token_new(text, hash) == 0);
    hex(hash, sizeof(hash), hash_hex);
}

TEST(test_token_format)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char a[ARC_CLI_TOKEN_LEN + 1], b[ARC_CLI_TOKEN_LEN + 1];
    unsigned char ha[32], hb[32], want[32];

    CHECK(arc_cli_token_new(a, ha) == 0);
    CHECK(arc_cli_token_new(b, hb) == 0);
    CHECK_EQ_INT(strlen(a), 48);
    CHECK(strncmp(a, "arcd_", 5) == 0);
    CHECK_EQ_INT(strspn(a + 5, alphabet), 43);
    /* 256 bits in 43 sextets: the last holds 4 bits and two zero bits, as a
     * canonical base64url encoding has them. */
    CHECK(strchr("AEIMQUYcgkosw048", a[47]) != NULL);
    CHECK(strcmp(a, b) != 0);
    /* What is stored is the SHA-256 of the whole text the client sends. */
    SHA256((const unsigned char *)a, strlen(a), want);
    CHECK(memcmp(ha, want, 32) == 0);
    CHECK(memcmp(ha, hb, 32) != 0);
}

TEST(test_owner_names)
{
    char long_ok[2 * 128 + 1] = "", too_long[2 * 129 + 1] = "";

    for (int i = 0; i < 128; i++)
        memcpy(long_ok + 2 * i, "\xc3\xa9", 2); /* é: 128 characters, 256 bytes */
    long_ok[256] = '\0';
    memcpy(too_long, long_ok, 256);
    memcpy(too_long + 256, "\xc3\xa9", 3);
    CHECK(arc_cli_token_name_ok("shop-a", 1, 128) == 0);
    CHECK(arc_cli_token_name_ok("Магазин №1 (CRM)", 1, 128) == 0);
    CHECK(arc_cli_token_name_ok("\xf0\x9f\x93\xb7 photos", 1, 128) == 0);
    CHECK(arc_cli_token_name_ok(long_ok, 1, 128) == 0);
    CHECK(arc_cli_token_name_ok(too_long, 1, 128) != 0);
    CHECK(arc_cli_token_name_ok("", 1, 128) != 0);
    CHECK(arc_cli_token_name_ok("", 0, 256) == 0);
    CHECK(arc_cli_token_name_ok("a\tb", 1, 128) != 0);
    CHECK(arc_cli_token_name_ok("a\nb", 1, 128) != 0);
    CHECK(arc_cli_token_name_ok("a\x7f", 1, 128) != 0);
    CHECK(arc_cli_token_name_ok("a\xc2\x85", 1, 128) != 0);        /* U+0085, a C1 control */
    CHECK(arc_cli_token_name_ok("a\xff", 1, 128) != 0);            /* not UTF-8 */
    CHECK(arc_cli_token_name_ok("\xc0\xaf", 1, 128) != 0);         /* over-long '/' */
    CHECK(arc_cli_token_name_ok("\xed\xa0\x80", 1, 128) != 0);     /* a surrogate */
    CHECK(arc_cli_token_name_ok("\xe2\x82", 1, 128) != 0);         /* cut short */
    CHECK(arc_cli_token_name_ok("\xf4\x90\x80\x80", 1, 128) != 0); /* past U+10FFFF */
}

TEST(test_config_tokens_before_the_first_load)
{
    arc_config_t cfg;
    arc_auth_t *a;
    char text[ARC_CLI_TOKEN_LEN + 1], h[65];

    config(&cfg, 2);
    a = arc_auth_create(&cfg);
    made(text, h);
    CHECK(!arc_auth_loaded(a));
    CHECK(find(a, "shop-a-token-0123456789") == &cfg_tokens[0]);
    CHECK(find(a, "test-admin-token-0123456789") == &cfg_tokens[1]);
    /* Unknown yet: arc_auth_require answers 503 for it, not 401. */
    CHECK(find(a, text) == NULL);
    CHECK(find(a, "shop-a-token-012345678") == NULL);
    CHECK(find(a, "shop-a-token-01234567890") == NULL);
    CHECK(find(a, "") == NULL);
    CHECK_EQ_INT(arc_auth_count(a), 2);
    arc_auth_free(a);
    arc_auth_free(NULL);
}

TEST(test_database_tokens_reload_and_revoke)
{
    arc_config_t cfg;
    arc_auth_t *a;
    char t1[ARC_CLI_TOKEN_LEN + 1], h1[65], t2[ARC_CLI_TOKEN_LEN + 1], h2[65];
    char t3[ARC_CLI_TOKEN_LEN + 1], h3[65];
    size_t skipped = 9;

    config(&cfg, 2);
    a = arc_auth_create(&cfg);
    made(t1, h1);
    made(t2, h2);
    made(t3, h3);
    /* Not in id order: the set sorts them itself. */
    row_t rows[] = {
        {"bbbbbbbb-0000-4000-8000-000000000002", h2, "crm", "admin"},
        {"aaaaaaaa-0000-4000-8000-000000000001", h1, "shop-x", "owner"},
    };
    CHECK(apply(a, rows, 2, &skipped) == 0);
    CHECK_EQ_INT(skipped, 0);
    CHECK(arc_auth_loaded(a));
    CHECK_EQ_INT(arc_auth_count(a), 4);
    const arc_token_t *p1 = find(a, t1), *p2 = find(a, t2);
    CHECK(p1 != NULL && test_str_eq(p1->owner, "shop-x") && !p1->admin && p1->token == NULL);
    CHECK(p2 != NULL && test_str_eq(p2->owner, "crm") && p2->admin);
    CHECK(find(a, t3) == NULL);
    CHECK(find(a, "shop-a-token-0123456789") == &cfg_tokens[0]);

    /* A reload with nothing changed keeps every record: a NOTIFY storm does
     * not grow the memory, and requests see the same token. */
    for (int i = 0; i < 3; i++) {
        CHECK(apply(a, rows, 2, NULL) == 0);
        CHECK(find(a, t1) == p1 && find(a, t2) == p2);
    }

    /* t1 revoked, t3 made. */
    row_t after[] = {
        {"bbbbbbbb-0000-4000-8000-000000000002", h2, "crm", "admin"},
        {"cccccccc-0000-4000-8000-000000000003", h3, "shop-y", "owner"},
    };
    CHECK(apply(a, after, 2, NULL) == 0);
    CHECK(find(a, t1) == NULL);
    CHECK(find(a, t2) == p2);
    const arc_token_t *p3 = find(a, t3);
    CHECK(p3 != NULL && test_str_eq(p3->owner, "shop-y") && !p3->admin);
    /* A request that got t1 before the reload still reads it. */
    CHECK(test_str_eq(p1->owner, "shop-x") && !p1->admin);
    CHECK(arc_auth_sees(p1, "shop-x") && !arc_auth_sees(p1, "shop-y"));

    /* A row edited by hand (here its role) gets a new record; the old one
     * stays as it was for whoever holds it. */
    row_t edited[] = {
        {"bbbbbbbb-0000-4000-8000-000000000002", h2, "crm", "owner"},
        {"cccccccc-0000-4000-8000-000000000003", h3, "shop-y", "owner"},
    };
    CHECK(apply(a, edited, 2, NULL) == 0);
    const arc_token_t *p2b = find(a, t2);
    CHECK(p2b != NULL && p2b != p2 && !p2b->admin && p2->admin);
    CHECK(find(a, t3) == p3);

    /* Everything revoked: only the config's tokens are left. */
    CHECK(apply(a, NULL, 0, NULL) == 0);
    CHECK(find(a, t2) == NULL && find(a, t3) == NULL);
    CHECK_EQ_INT(arc_auth_count(a), 2);
    CHECK(find(a, "test-admin-token-0123456789") == &cfg_tokens[1]);
    CHECK(test_str_eq(p3->owner, "shop-y"));
    arc_auth_free(a);
}

TEST(test_bad_rows_and_columns)
{
    arc_config_t cfg;
    arc_auth_t *a;
    char t1[ARC_CLI_TOKEN_LEN + 1], h1[65], t2[ARC_CLI_TOKEN_LEN + 1], h2[65];
    size_t skipped = 0;
    arc_err_t err = {{0}};
    char long_owner[130];

    memset(long_owner, 'o', 129); /* a project's owner holds 128 bytes */
    long_owner[129] = '\0';
    config(&cfg, 0);
    a = arc_auth_create(&cfg);
    made(t1, h1);
    made(t2, h2);
    row_t rows[] = {
        {"aaaaaaaa-0000-4000-8000-000000000001", h1, "shop-x", "owner"},
        {"aaaaaaaa-0000-4000-8000-000000000002", "abcd", "shop-x", "owner"}, /* short hash */
        {"aaaaaaaa-0000-4000-8000-000000000003", h2, "shop-x", "root"},      /* no such role */
        {"aaaaaaaa-0000-4000-8000-000000000004", h2, NULL, "owner"},         /* no owner */
        {NULL, h2, "shop-x", "owner"},                                       /* no id */
        {"aaaaaaaa-0000-4000-8000-000000000005", NULL, "shop-x", "admin"},   /* no hash */
        {"aaaaaaaa-0000-4000-8000-000000000006", h2, long_owner, "owner"},
    };
    CHECK(apply(a, rows, 7, &skipped) == 0);
    CHECK_EQ_INT(skipped, 6);
    CHECK(find(a, t1) != NULL && find(a, t2) == NULL);

    /* A result without the columns the SQL names is a bug: the set stays. */
    PGresult *r = result(rows, 1, 1);
    CHECK(arc_auth_apply(a, r, NULL, &err) == ARC_EINTERNAL);
    CHECK(strstr(err.msg, "role") != NULL);
    PQclear(r);
    CHECK(find(a, t1) != NULL);
    arc_auth_free(a);
}

TEST(test_config_token_wins_over_the_same_in_the_database)
{
    arc_config_t cfg;
    arc_auth_t *a;
    unsigned char hash[32];
    char h[65];

    config(&cfg, 2);
    a = arc_auth_create(&cfg);
    SHA256((const unsigned char *)cfg_tokens[0].token, strlen(cfg_tokens[0].token), hash);
    hex(hash, 32, h);
    row_t rows[] = {{"aaaaaaaa-0000-4000-8000-000000000001", h, "someone-else", "admin"}};
    CHECK(apply(a, rows, 1, NULL) == 0);
    CHECK(find(a, cfg_tokens[0].token) == &cfg_tokens[0]);
    arc_auth_free(a);
}

/* ---- the reloads' handles ---- */

typedef struct run_s {
    arc_auth_t *a;
    arc_pg_pool_t *pool;
    uv_timer_t stop;
    int closed;
} run_t;

static void on_pool_closed(arc_pg_pool_t *pool, void *arg)
{
    run_t *run = arg;

    free(pool);
    run->closed = 1;
}

static void on_stop(uv_timer_t *t)
{
    run_t *run = t->data;

    /* As the daemon's shutdown: the set stops, then the pool closes. */
    arc_auth_reload(run->a); /* a load in flight when the pool closes */
    arc_auth_stop(run->a);
    arc_auth_stop(run->a);
    arc_pg_pool_close(run->pool, on_pool_closed, run);
    uv_close((uv_handle_t *)t, NULL);
}

TEST(test_reloads_without_a_server_close_clean)
{
    arc_config_t cfg;
    uv_loop_t loop;
    run_t run = {0};
    /* Port 1 on loopback: refused at once. */
    static char url[] = "host=127.0.0.1 port=1 connect_timeout=2";

    config(&cfg, 1);
    cfg.database.url = url;
    CHECK(uv_loop_init(&loop) == 0);
    arc_pg_opts_t opts = {.conninfo = url, .size = 2, .acquire_timeout_ms = 200};
    CHECK(arc_pg_pool_create(&loop, &opts, &run.pool) == 0);
    run.a = arc_auth_create(&cfg);
    arc_auth_start(run.a, &loop, run.pool); /* the first load fails: logged */
    CHECK(!arc_auth_loaded(run.a));
    uv_timer_init(&loop, &run.stop);
    run.stop.data = &run;
    uv_timer_start(&run.stop, on_stop, 2500, 0); /* past two of the set's ticks */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(run.closed);
    CHECK(!arc_auth_loaded(run.a));
    /* The config's token still works; others wait for a load (503). */
    CHECK(find(run.a, "shop-a-token-0123456789") == &cfg_tokens[0]);
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
    arc_auth_free(run.a);
}
