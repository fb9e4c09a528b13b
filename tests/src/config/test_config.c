/*
 * Tests for src/config/config.c: the defaults against config/README.md, every
 * key's type and range checks (driven by arc_config_keys(), so a key added
 * later is tested without a new line here), several problems reported at
 * once, auth.tokens and $ARCD_ADMIN_TOKEN, file errors, the choice of file and
 * the environment overrides of arc_config_load_all(), and the media settings
 * a job carries.
 */
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../test.h"
#include "arcd/buf.h"
#include "arcd/config.h"
#include "arcd/error.h"

/* ---- helpers ---------------------------------------------------------- */

/* The defaults, types and ranges config/README.md documents, copied here by
 * hand so that a change to either side is noticed. */
static const struct {
    const char *key; /* "section.name" */
    const char *str; /* a string key's default */
    double num;      /* any other key's default (on = 1) */
    int64_t min, max;
} documented[] = {
    {"server.listen", "127.0.0.1:8080", 0, 0, 0},
    {"server.publicUrl", "http://127.0.0.1:8080", 0, 0, 0},
    {"server.maxHeaderBytes", NULL, 16384, 1024, 1 << 20},
    {"server.headerTimeoutMs", NULL, 10000, 100, 600000},
    {"server.idleTimeoutMs", NULL, 60000, 100, 3600000},
    {"server.minBytesPerSecond", NULL, 1024, 0, 1 << 30},
    {"server.maxConnections", NULL, 1024, 1, 100000},
    {"limits.uploadBytes", NULL, 230686720, 1024, (int64_t)8 << 30},
    {"limits.photoBytes", NULL, 41943040, 1024, (int64_t)1 << 30},
    {"limits.videoBytes", NULL, 209715200, 1024, (int64_t)8 << 30},
    {"limits.uploadsPerMinute", NULL, 30, 0, 1000000},
    {"database.url", "", 0, 0, 0},
    {"database.poolSize", NULL, 4, 1, 100},
    {"database.acquireTimeoutMs", NULL, 5000, 10, 600000},
    {"database.statementTimeoutMs", NULL, 10000, 10, 600000},
    {"storage.dir", "var/storage", 0, 0, 0},
    {"storage.minFreeMb", NULL, 1024, 0, (int64_t)1 << 30},
    {"queue.leaseSeconds", NULL, 30, 2, 3600},
    {"queue.maxAttempts", NULL, 3, 1, 100},
    {"queue.retryBaseSeconds", NULL, 5, 0, 3600},
    {"queue.pollSeconds", NULL, 5, 1, 3600},
    {"workers.count", NULL, 0, 0, 256},
    {"workers.memoryMb", NULL, 1536, 64, 1 << 20},
    {"workers.jobTimeoutSeconds", NULL, 300, 1, 86400},
    {"workers.nice", NULL, 10, 0, 19},
    {"workers.user", "nobody", 0, 0, 0},
    {"compile.maxPixels", NULL, 40000000, 1, (int64_t)1 << 40},
    {"compile.threads", NULL, 0, 0, 256},
    {"demo.ttlHours", NULL, 24, 0, 8760},
    {"demo.sweepSeconds", NULL, 300, 1, 86400},
    {"status.maxWaitSeconds", NULL, 60, 0, 600},
    {"log.level", "info", 0, 0, 0},
    {"viewer.template", "config/viewer.html", 0, 0, 0},
    {"viewer.vendorDir", "var/vendor", 0, 0, 0},
    {"viewer.vendorUrl", "/vendor", 0, 0, 0},
    {"viewer.pagesDir", "", 0, 0, 0},
    {"viewer.filterMinCF", NULL, 0.0001, 0, 1},
    {"viewer.filterBeta", NULL, 0.001, 0, 100000},
    {"photo.maxSide", NULL, 1920, 64, 8192},
    {"photo.border", NULL, 1, 0, 1},
    {"photo.borderRatio", NULL, 0.12, 0, 1},
    {"photo.jpegQuality", NULL, 92, 50, 100},
    {"photo.maxPixels", NULL, 200000000, 1, (int64_t)1 << 40},
    {"video.maxSide", NULL, 1280, 160, 1920},
    {"video.maxSeconds", NULL, 120, 1, 3600},
    {"video.maxPixels", NULL, 16777216, 1, (int64_t)1 << 32},
    {"video.crf", NULL, 23, 0, 51},
    {"video.preset", "veryfast", 0, 0, 0},
    {"video.copy", NULL, 1, 0, 1},
};

#define N_DOCUMENTED (sizeof(documented) / sizeof(documented[0]))

static int is_numeric(const arc_config_key_t *k)
{
    return k->type == ARC_CONFIG_INT || k->type == ARC_CONFIG_U64 || k->type == ARC_CONFIG_INT32 ||
           k->type == ARC_CONFIG_DOUBLE;
}

static const arc_config_key_t *key_named(const char *dotted)
{
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);
    char name[128];

    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s.%s", keys[i].section, keys[i].name);
        if (strcmp(name, dotted) == 0)
            return &keys[i];
    }
    return NULL;
}

/* The keys naming files or folders (relative to the settings file). */
static int is_path(const arc_config_key_t *k)
{
    static const char *const paths[] = {"storage.dir",      "viewer.template",
                                        "viewer.vendorDir", "viewer.pagesDir",
                                        "app.dir",          "notify.templatesDir"};
    char name[128];

    snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(name, paths[i]) == 0)
            return 1;
    return 0;
}

/* A key's field read back through its offset and type. */
static const void *field(const arc_config_t *cfg, const arc_config_key_t *k)
{
    return (const char *)cfg + k->offset;
}

static int64_t field_int(const arc_config_t *cfg, const arc_config_key_t *k)
{
    switch (k->type) {
    case ARC_CONFIG_INT: return *(const int64_t *)field(cfg, k);
    case ARC_CONFIG_U64: return (int64_t)(*(const uint64_t *)field(cfg, k));
    case ARC_CONFIG_INT32:
    case ARC_CONFIG_ONOFF: return *(const int *)field(cfg, k);
    default: return 0;
    }
}

static double field_double(const arc_config_t *cfg, const arc_config_key_t *k)
{
    return *(const double *)field(cfg, k);
}

static const char *field_str(const arc_config_t *cfg, const arc_config_key_t *k)
{
    return *(char *const *)field(cfg, k);
}

static char *const *field_list(const arc_config_t *cfg, const arc_config_key_t *k)
{
    return *(char *const *const *)field(cfg, k);
}

/* Whether a key holds the same value in a and b. */
static int same_value(const arc_config_t *a, const arc_config_t *b, const arc_config_key_t *k)
{
    if (k->type == ARC_CONFIG_STR) {
        const char *x = field_str(a, k), *y = field_str(b, k);
        return x != NULL && y != NULL && strcmp(x, y) == 0;
    }
    if (k->type == ARC_CONFIG_DOUBLE)
        return field_double(a, k) == field_double(b, k);
    if (k->type == ARC_CONFIG_CIDRS || k->type == ARC_CONFIG_ORIGINS) {
        char *const *x = field_list(a, k), *const *y = field_list(b, k);
        size_t i = 0;
        for (; x && y && x[i] && y[i]; i++)
            if (strcmp(x[i], y[i]) != 0)
                return 0;
        return x && y && x[i] == NULL && y[i] == NULL;
    }
    return field_int(a, k) == field_int(b, k);
}

/* Checks that every key of cfg holds its default. */
static void check_all_default(const arc_config_t *cfg, const char *what)
{
    arc_config_t def;
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);

    arc_config_defaults(&def);
    for (size_t i = 0; i < n; i++)
        CHECK_MSG(same_value(cfg, &def, &keys[i]), "%s: %s.%s is not its default", what,
                  keys[i].section, keys[i].name);
    CHECK_EQ_INT(cfg->auth.n_tokens, 0);
    arc_config_dispose(&def);
}

/* Checks that cfg was disposed: every string freed and cleared, no token left. */
static void check_disposed(const arc_config_t *cfg, const char *what)
{
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);

    for (size_t i = 0; i < n; i++)
        if (keys[i].type == ARC_CONFIG_STR || keys[i].type == ARC_CONFIG_CIDRS ||
            keys[i].type == ARC_CONFIG_ORIGINS)
            CHECK_MSG(field_str(cfg, &keys[i]) == NULL, "%s: %s.%s still set after a failure", what,
                      keys[i].section, keys[i].name);
    CHECK_MSG(cfg->auth.tokens == NULL && cfg->auth.n_tokens == 0, "%s: tokens left", what);
}

static int count_lines(const char *msg)
{
    int n = msg[0] != '\0';

    for (const char *p = msg; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

/* Writes text to a new file under /tmp; path (64 bytes) receives its name. */
static void tmp_text(char *path, const char *text)
{
    size_t len = strlen(text);
    int fd;

    snprintf(path, 64, "/tmp/arcd_cfg_XXXXXX");
    fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

/* Loads the JSON text over the defaults into cfg (dispose it after). */
static int load_text(const char *text, arc_config_t *cfg, arc_err_t *err)
{
    char path[64];
    int rc;

    tmp_text(path, text);
    arc_config_defaults(cfg);
    rc = arc_config_load(path, cfg, err);
    unlink(path);
    return rc;
}

/* The object of a (maybe dotted: "notify.smtp") section inside root, made
 * if need be (borrowed). */
static json_t *section_of(json_t *root, const char *section)
{
    char name[64];
    const char *dot = strchr(section, '.');
    size_t n = dot ? (size_t)(dot - section) : strlen(section);

    snprintf(name, sizeof(name), "%.*s", (int)n, section);
    json_t *sec = json_object_get(root, name);
    if (sec == NULL) {
        sec = json_object();
        json_object_set_new(root, name, sec);
    }
    return dot ? section_of(sec, dot + 1) : sec;
}

/* Loads {"section": {"name": value}} over the defaults; takes ownership of
 * value (freed on every path). */
static int load_value(const arc_config_key_t *k, json_t *value, arc_config_t *cfg, arc_err_t *err)
{
    json_t *root = json_object();
    json_object_set_new(section_of(root, k->section), k->name, value);
    char *text = json_dumps(root, 0);
    int rc = load_text(text, cfg, err);

    free(text);
    json_decref(root);
    return rc;
}

/* A value of k must be refused with one line naming "section.name", and
 * leave the field at its default. Takes ownership of value. */
static void expect_refused(const arc_config_key_t *k, json_t *value)
{
    char *shown = json_dumps(value, JSON_ENCODE_ANY);
    char want[128];
    arc_config_t cfg, def;
    arc_err_t err;
    int rc;

    snprintf(want, sizeof(want), "%s.%s", k->section, k->name);
    rc = load_value(k, value, &cfg, &err);
    CHECK_MSG(rc == ARC_EINVAL, "%s = %s: returned %d", want, shown, rc);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s = %s: message '%s'", want, shown, err.msg);
    CHECK_MSG(count_lines(err.msg) == 1, "%s = %s: one problem, one line: '%s'", want, shown,
              err.msg);
    arc_config_defaults(&def);
    CHECK_MSG(same_value(&cfg, &def, k), "%s = %s: the refused value was stored", want, shown);
    arc_config_dispose(&def);
    arc_config_dispose(&cfg);
    free(shown);
}

/* The smallest step that changes x (no libm: the tests link without it). */
static double nudge(double x, double dir)
{
    double d = 1e-9;

    while (x + dir * d == x)
        d *= 2;
    return x + dir * d;
}

/* The environment the loader reads, cleared for a test and put back after,
 * with the current folder. */
static const char *const env_names[] = {
    "ARCD_CONFIG",      "DATABASE_URL", "ARCD_LISTEN",    "ARCD_PUBLIC_URL",
    "ARCD_STORAGE_DIR", "ARCD_WORKERS", "ARCD_POOL_SIZE", "ARCD_ADMIN_TOKEN",
};

#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

typedef struct saved_env_s {
    char *value[N_ENV];
    char cwd[PATH_MAX];
} saved_env_t;

static void env_clear(saved_env_t *s)
{
    CHECK(getcwd(s->cwd, sizeof(s->cwd)) != NULL);
    for (size_t i = 0; i < N_ENV; i++) {
        const char *v = getenv(env_names[i]);
        s->value[i] = v != NULL ? strdup(v) : NULL;
        unsetenv(env_names[i]);
    }
}

static void env_restore(saved_env_t *s)
{
    for (size_t i = 0; i < N_ENV; i++) {
        if (s->value[i] != NULL)
            setenv(env_names[i], s->value[i], 1);
        else
            unsetenv(env_names[i]);
        free(s->value[i]);
    }
    CHECK(chdir(s->cwd) == 0);
}

/* A new folder under /tmp (dir, 64 bytes), holding config/arcd.json with
 * text when text is not NULL. */
static void tmp_folder(char *dir, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(dir, 64, "/tmp/arcd_cfg_XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    if (text == NULL)
        return;
    snprintf(path, sizeof(path), "%s/config", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/config/arcd.json", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs(text, f);
    fclose(f);
}

static void tmp_folder_remove(const char *dir)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/config/arcd.json", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/config", dir);
    rmdir(path);
    CHECK(rmdir(dir) == 0);
}

/* A file of the source tree (config/README.md, config/arcd.json): found from
 * the test data folder, else from this file's own path. */
static const char *source_file(const char *rel, char *buf, size_t size)
{
    const char *tail = strstr(__FILE__, "tests/src/config/test_config.c");

    snprintf(buf, size, "%s/../../%s", ARCD_TEST_DATA, rel);
    if (access(buf, R_OK) == 0)
        return buf;
    if (tail != NULL) {
        snprintf(buf, size, "%.*s%s", (int)(tail - __FILE__), __FILE__, rel);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

/* The keys config/README.md documents: the first `quoted` word of each row
 * of its "## Keys" table, as the members of a JSON object. */
static json_t *readme_keys(const char *path)
{
    json_t *set = json_object();
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int in_keys = 0;

    if (f == NULL)
        return set;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "## ", 3) == 0)
            in_keys = strncmp(line, "## Keys", 7) == 0;
        if (!in_keys || strncmp(line, "| `", 3) != 0)
            continue;
        char *end = strchr(line + 3, '`');
        if (end == NULL)
            continue;
        *end = '\0';
        if (strchr(line + 3, '.') != NULL)
            json_object_set_new(set, line + 3, json_true());
    }
    free(line);
    fclose(f);
    return set;
}

/* ---- 1. defaults ------------------------------------------------------ */

TEST(test_defaults_are_the_documented_ones)
{
    arc_config_t cfg;

    arc_config_defaults(&cfg);
    for (size_t i = 0; i < N_DOCUMENTED; i++) {
        const arc_config_key_t *k = key_named(documented[i].key);
        CHECK_MSG(k != NULL, "%s is documented but not in arc_config_keys()", documented[i].key);
        if (k == NULL)
            continue;
        if (documented[i].str != NULL) {
            CHECK_MSG(k->type == ARC_CONFIG_STR, "%s: not a string key", documented[i].key);
            /* A path's default is the layout's: in a build tree (this
             * test's), the source tree's folder of that name. */
            if (k->type == ARC_CONFIG_STR && is_path(k) && documented[i].str[0] != '\0') {
                const char *v = field_str(&cfg, k);
                size_t lv = strlen(v), ld = strlen(documented[i].str);
                CHECK_MSG(v[0] == '/' && lv > ld && v[lv - ld - 1] == '/' &&
                              strcmp(v + lv - ld, documented[i].str) == 0,
                          "%s: default '%s', documented '%s' in the checkout", documented[i].key, v,
                          documented[i].str);
            } else if (k->type == ARC_CONFIG_STR) {
                CHECK_STR(field_str(&cfg, k), documented[i].str);
            }
            continue;
        }
        CHECK_MSG(k->type != ARC_CONFIG_STR, "%s: a string key", documented[i].key);
        if (k->type == ARC_CONFIG_STR)
            continue;
        double v =
            k->type == ARC_CONFIG_DOUBLE ? field_double(&cfg, k) : (double)field_int(&cfg, k);
        CHECK_MSG(v == documented[i].num, "%s: default %.17g, documented %.17g", documented[i].key,
                  v, documented[i].num);
        CHECK_MSG(k->min == documented[i].min && k->max == documented[i].max,
                  "%s: range %lld - %lld, documented %lld - %lld", documented[i].key,
                  (long long)k->min, (long long)k->max, (long long)documented[i].min,
                  (long long)documented[i].max);
    }
    CHECK(cfg.auth.tokens == NULL);
    CHECK_EQ_INT(cfg.auth.n_tokens, 0);
    arc_config_dispose(&cfg);
    /* Disposing twice, and disposing NULL, are harmless. */
    arc_config_dispose(&cfg);
    arc_config_dispose(NULL);
}

TEST(test_keys_table_matches_readme_and_shipped_file)
{
    char rbuf[PATH_MAX], jbuf[PATH_MAX];
    const char *readme = source_file("config/README.md", rbuf, sizeof(rbuf));
    const char *shipped = source_file("config/arcd.json", jbuf, sizeof(jbuf));
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);
    char name[128];

    CHECK_MSG(readme != NULL && shipped != NULL, "config/README.md or config/arcd.json not found");
    if (readme == NULL || shipped == NULL)
        return;

    /* The table and the README's list of keys are the same set. */
    json_t *doc = readme_keys(readme);
    const char *dk;
    json_t *dv;
    CHECK_MSG(json_object_size(doc) > 40, "only %zu keys read from %s", json_object_size(doc),
              readme);
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s.%s", keys[i].section, keys[i].name);
        CHECK_MSG(json_object_get(doc, name) != NULL,
                  "%s is in arc_config_keys() but not documented in config/README.md", name);
        /* A string's max is its longest length; lists have none. */
        CHECK_MSG(is_numeric(&keys[i]) || keys[i].type == ARC_CONFIG_ONOFF ||
                      (keys[i].min == 0 && keys[i].max == 0) ||
                      (keys[i].type == ARC_CONFIG_STR && keys[i].min == 0 && keys[i].max > 0),
                  "%s: a string or list key with a range", name);
        CHECK_MSG(!is_numeric(&keys[i]) || keys[i].min <= keys[i].max, "%s: empty range", name);
    }
    json_object_foreach(doc, dk, dv)
    {
        if (strcmp(dk, "auth.tokens") != 0)
            CHECK_MSG(key_named(dk) != NULL,
                      "%s is documented in config/README.md but not in arc_config_keys()", dk);
    }
    json_decref(doc);

    /* Every key of the shipped file is in the table (auth.tokens aside). */
    arc_err_t rerr;
    json_t *root = NULL;
    const char *section, *key;
    json_t *obj, *v;
    CHECK_MSG(arc_config_read(shipped, &root, &rerr) == 0, "%s", rerr.msg);
    json_object_foreach(root, section, obj)
    {
        json_object_foreach(obj, key, v)
        {
            snprintf(name, sizeof(name), "%s.%s", section, key);
            if (json_is_object(v)) { /* a subsection: notify.smtp */
                const char *sub;
                json_t *sv;
                json_object_foreach(v, sub, sv)
                {
                    char full[192];
                    snprintf(full, sizeof(full), "%s.%s", name, sub);
                    CHECK_MSG(key_named(full) != NULL, "%s: %s is not in arc_config_keys()",
                              shipped, full);
                }
                continue;
            }
            CHECK_MSG(key_named(name) != NULL || strcmp(name, "auth.tokens") == 0,
                      "%s: %s is not in arc_config_keys()", shipped, name);
        }
    }
    json_decref(root);

    /* The shipped file loads cleanly and states the defaults. */
    arc_config_t cfg;
    arc_err_t err;
    arc_config_defaults(&cfg);
    int rc = arc_config_load(shipped, &cfg, &err);
    CHECK_MSG(rc == 0, "%s: %s", shipped, err.msg);
    check_all_default(&cfg, shipped);
    arc_config_dispose(&cfg);
}

/* ---- 2. every key, every bad value ------------------------------------ */

TEST(test_every_key_refuses_wrong_types)
{
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);

    for (size_t i = 0; i < n; i++) {
        const arc_config_key_t *k = &keys[i];
        if (k->type == ARC_CONFIG_ORIGINS) {
            /* An array of origins, each a scheme, a host and maybe a port. */
            expect_refused(k, json_string("https://a.example"));
            expect_refused(k, json_integer(5));
            expect_refused(k, json_null());
            expect_refused(k, json_pack("[i]", 1));
            expect_refused(k, json_pack("[s]", "a.example"));
            expect_refused(k, json_pack("[s]", "ftp://a.example"));
            expect_refused(k, json_pack("[s]", "https://a.example/path"));
            expect_refused(k, json_pack("[s]", "https://"));
            expect_refused(k, json_pack("[s]", "*"));
            continue;
        }
        if (k->type == ARC_CONFIG_CIDRS) {
            /* An array of addresses or ranges, each checked. */
            expect_refused(k, json_string("10.0.0.0/8"));
            expect_refused(k, json_integer(5));
            expect_refused(k, json_true());
            expect_refused(k, json_null());
            expect_refused(k, json_pack("{s:s}", "value", "10.0.0.0/8"));
            expect_refused(k, json_pack("[i]", 1));
            expect_refused(k, json_pack("[s]", "example.com"));
            expect_refused(k, json_pack("[s, s]", "10.0.0.0/8", "10.0.0.1/8"));
            expect_refused(k, json_pack("[s]", "10.0.0.0/33"));
            expect_refused(k, json_pack("[s]", ""));
            continue;
        }
        /* Values of every JSON type but the key's own. */
        if (k->type != ARC_CONFIG_STR)
            expect_refused(k, json_string("5"));
        if (k->type == ARC_CONFIG_STR)
            expect_refused(k, json_integer(5));
        if (k->type == ARC_CONFIG_STR || k->type == ARC_CONFIG_ONOFF)
            expect_refused(k, json_real(0.5));
        if (k->type != ARC_CONFIG_ONOFF)
            expect_refused(k, json_true());
        if (k->type == ARC_CONFIG_ONOFF)
            expect_refused(k, json_integer(1));
        expect_refused(k, json_null());
        expect_refused(k, json_pack("[i]", 1));
        expect_refused(k, json_pack("{s:i}", "value", 1));
    }
}

TEST(test_every_numeric_key_refuses_out_of_range)
{
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);

    for (size_t i = 0; i < n; i++) {
        const arc_config_key_t *k = &keys[i];
        if (!is_numeric(k))
            continue;
        if (k->type == ARC_CONFIG_DOUBLE) {
            expect_refused(k, json_real(nudge((double)k->min, -1)));
            expect_refused(k, json_real(nudge((double)k->max, 1)));
        } else {
            expect_refused(k, json_integer(k->min - 1));
            expect_refused(k, json_integer(k->max + 1));
            /* 2^32 past the range: a value an int field would wrap into it. */
            expect_refused(k, json_integer(k->max + ((int64_t)1 << 32)));
            expect_refused(k, json_integer(k->min - ((int64_t)1 << 32)));
            expect_refused(k, json_integer(INT64_MIN));
            expect_refused(k, json_integer(INT64_MAX));
        }
    }
}

TEST(test_every_integer_key_refuses_fractions)
{
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);

    for (size_t i = 0; i < n; i++) {
        const arc_config_key_t *k = &keys[i];
        if (is_numeric(k) && k->type != ARC_CONFIG_DOUBLE) {
            expect_refused(k, json_real(1.5));
            expect_refused(k, json_real((double)k->min + 0.5));
        }
    }
}

TEST(test_every_onoff_key_refuses_other_strings)
{
    static const char *const bad[] = {"yes", "no", "ON", "Off", "", "true", "1", "on "};
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);
    int seen = 0;

    for (size_t i = 0; i < n; i++) {
        if (keys[i].type != ARC_CONFIG_ONOFF)
            continue;
        seen++;
        for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
            expect_refused(&keys[i], json_string(bad[j]));
    }
    CHECK(seen >= 2); /* photo.border, video.copy */
}

TEST(test_every_numeric_key_accepts_min_and_max)
{
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);
    arc_config_t cfg;
    arc_err_t err;

    for (size_t i = 0; i < n; i++) {
        const arc_config_key_t *k = &keys[i];
        if (!is_numeric(k))
            continue;
        for (int end = 0; end < 2; end++) {
            int64_t want = end ? k->max : k->min;
            json_t *v = k->type == ARC_CONFIG_DOUBLE ? json_real((double)want) : json_integer(want);
            int rc = load_value(k, v, &cfg, &err);
            CHECK_MSG(rc == 0, "%s.%s = %lld: %s", k->section, k->name, (long long)want, err.msg);
            if (k->type == ARC_CONFIG_DOUBLE)
                CHECK_MSG(field_double(&cfg, k) == (double)want, "%s.%s: %.17g stored, not %lld",
                          k->section, k->name, field_double(&cfg, k), (long long)want);
            else
                CHECK_MSG(field_int(&cfg, k) == want, "%s.%s: %lld stored, not %lld", k->section,
                          k->name, (long long)field_int(&cfg, k), (long long)want);
            arc_config_dispose(&cfg);
        }
        /* A number key takes integers too, and fractions within its range. */
        if (k->type == ARC_CONFIG_DOUBLE) {
            double mid = ((double)k->min + (double)k->max) / 2 + 0.25;
            int rc = load_value(k, json_real(mid), &cfg, &err);
            CHECK_MSG(rc == 0 && field_double(&cfg, k) == mid, "%s.%s = %.17g: %s", k->section,
                      k->name, mid, err.msg);
            arc_config_dispose(&cfg);
            rc = load_value(k, json_integer(k->max), &cfg, &err);
            CHECK_MSG(rc == 0 && field_double(&cfg, k) == (double)k->max, "%s.%s = %lld: %s",
                      k->section, k->name, (long long)k->max, err.msg);
            arc_config_dispose(&cfg);
        }
    }
}

TEST(test_every_string_and_onoff_key_is_stored)
{
    static const struct {
        const char *json;
        int want;
    } onoff[] = {{"true", 1}, {"false", 0}, {"\"on\"", 1}, {"\"off\"", 0}};
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);
    arc_config_t cfg;
    arc_err_t err;

    for (size_t i = 0; i < n; i++) {
        const arc_config_key_t *k = &keys[i];
        /* video.preset takes only x264's presets (test_video_preset), the
         * listen addresses only addresses (test_listen_addresses), the
         * accent colour only colours (test_accent_color), the print
         * sheet's paper and language only theirs (test_print_section). */
        int print_checked = strcmp(k->section, "print") == 0 &&
                            (strcmp(k->name, "size") == 0 || strcmp(k->name, "language") == 0);
        if (k->type == ARC_CONFIG_STR && strcmp(k->name, "preset") != 0 &&
            strcmp(k->name, "listen") != 0 && strcmp(k->name, "metricsListen") != 0 &&
            strcmp(k->name, "accentColor") != 0 && !print_checked &&
            strcmp(k->section, "log") != 0) {
            int rc = load_value(k, json_string("some value/é"), &cfg, &err);
            CHECK_MSG(rc == 0, "%s.%s: %s", k->section, k->name, err.msg);
            /* A path is made relative to the file's folder (/tmp). */
            CHECK_STR(field_str(&cfg, k), is_path(k) ? "/tmp/some value/é" : "some value/é");
            arc_config_dispose(&cfg);
            rc = load_value(k, json_string(""), &cfg, &err);
            CHECK_MSG(rc == 0, "%s.%s: %s", k->section, k->name, err.msg);
            CHECK_STR(field_str(&cfg, k), "");
            arc_config_dispose(&cfg);
        } else if (k->type == ARC_CONFIG_ONOFF) {
            for (size_t j = 0; j < sizeof(onoff) / sizeof(onoff[0]); j++) {
                int rc =
                    load_value(k, json_loads(onoff[j].json, JSON_DECODE_ANY, NULL), &cfg, &err);
                CHECK_MSG(rc == 0, "%s.%s = %s: %s", k->section, k->name, onoff[j].json, err.msg);
                CHECK_MSG(field_int(&cfg, k) == onoff[j].want, "%s.%s = %s: stored %lld",
                          k->section, k->name, onoff[j].json, (long long)field_int(&cfg, k));
                arc_config_dispose(&cfg);
            }
        }
    }
}

/* The shop's colour goes into the customer's page's CSS as it is: only
 * "#rrggbb" gets there. */
TEST(test_accent_color)
{
    static const char *const good[] = {"#1e88e5", "#ABCDEF", "#000000"};
    static const char *const bad[] = {"",        "red",          "#12345", "#1234567",
                                      "#12345g", "#fff;}body{x", "1e88e5#"};
    arc_config_t cfg;
    arc_err_t err;
    char text[128];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "{\"viewer\": {\"accentColor\": \"%s\"}}", good[i]);
        CHECK_MSG(load_text(text, &cfg, &err) == 0, "%s: %s", good[i], err.msg);
        CHECK_STR(cfg.viewer.accent_color, good[i]);
        arc_config_dispose(&cfg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"viewer\": {\"accentColor\": \"%s\"}}", bad[i]);
        CHECK_MSG(load_text(text, &cfg, &err) != 0 && strstr(err.msg, "accentColor") != NULL,
                  "%s accepted (%s)", bad[i], err.msg);
        arc_config_dispose(&cfg); /* a refused file leaves the defaults to free */
    }
}

/* The print sheet's defaults: a paper arcd lays out (any case, kept by its
 * own name), a caption language it speaks, and they reach a job. */
TEST(test_print_section)
{
    static const char *const good[][2] = {
        {"A4", "A4"}, {"a5", "A5"}, {"10x15", "10x15"}, {"13X18", "13x18"}, {"15x21", "15x21"}};
    static const char *const bad[] = {"", "A3", "Letter", "10x15 ", "9x13"};
    arc_job_sheet_t sheet;
    arc_config_t cfg;
    arc_err_t err;
    char text[160];

    CHECK(load_text("{}", &cfg, &err) == 0);
    arc_config_job_sheet(&cfg, &sheet);
    CHECK_STR(sheet.paper, "A4");
    CHECK_STR(sheet.language, "ru");
    CHECK(sheet.photo_mm == 0);
    arc_config_dispose(&cfg);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text),
                 "{\"print\": {\"size\": \"%s\", \"language\": \"en\", \"photoMm\": 120}}",
                 good[i][0]);
        CHECK_MSG(load_text(text, &cfg, &err) == 0, "%s: %s", good[i][0], err.msg);
        arc_config_job_sheet(&cfg, &sheet);
        CHECK_STR(sheet.paper, good[i][1]);
        CHECK_STR(sheet.language, "en");
        CHECK(sheet.photo_mm == 120);
        arc_config_dispose(&cfg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"print\": {\"size\": \"%s\"}}", bad[i]);
        CHECK_MSG(load_text(text, &cfg, &err) != 0 && strstr(err.msg, "print.size") != NULL &&
                      strstr(err.msg, "10x15, 13x18, 15x21, A5, A4") != NULL,
                  "%s accepted (%s)", bad[i], err.msg);
        arc_config_dispose(&cfg);
    }
    CHECK(load_text("{\"print\": {\"language\": \"de\"}}", &cfg, &err) != 0 &&
          strstr(err.msg, "print.language") != NULL);
    arc_config_dispose(&cfg);
    CHECK(load_text("{\"print\": {\"photoMm\": -1}}", &cfg, &err) != 0 &&
          strstr(err.msg, "print.photoMm") != NULL);
    arc_config_dispose(&cfg);
    /* Below the smallest printed photo every sheet would fail (review). */
    CHECK(load_text("{\"print\": {\"photoMm\": 5}}", &cfg, &err) != 0 &&
          strstr(err.msg, "print.photoMm must be 0") != NULL);
    arc_config_dispose(&cfg);
}

TEST(test_file_sets_only_what_it_names)
{
    arc_config_t cfg;
    arc_err_t err;
    const arc_config_key_t *nice = key_named("workers.nice");
    const arc_config_key_t *dir = key_named("storage.dir");
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);
    arc_config_t def;

    int rc = load_text("{\"workers\": {\"nice\": 3}, \"storage\": {\"dir\": \"/srv/x\"}, "
                       "\"demo\": {}}",
                       &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.workers.nice, 3);
    CHECK_STR(cfg.storage.dir, "/srv/x");
    arc_config_defaults(&def);
    for (size_t i = 0; i < n; i++)
        if (&keys[i] != nice && &keys[i] != dir)
            CHECK_MSG(same_value(&cfg, &def, &keys[i]), "%s.%s changed", keys[i].section,
                      keys[i].name);
    arc_config_dispose(&def);
    arc_config_dispose(&cfg);

    /* An empty object is a valid file: the defaults stay. */
    rc = load_text("{}", &cfg, &err);
    CHECK_EQ_INT(rc, 0);
    check_all_default(&cfg, "{}");
    arc_config_dispose(&cfg);
}

/* ---- 3. several problems at once -------------------------------------- */

TEST(test_several_problems_are_all_reported)
{
    static const char *const want[] = {
        "unknown key 'bogus'", "unknown key 'server.bogusKey'",
        "server.listen",       "server.maxConnections",
        "demo.ttlHours",       "'photo' must be an object",
        "'auth.extra'",
    };
    arc_config_t cfg;
    arc_err_t err;
    int rc = load_text("{\n"
                       "  \"bogus\": 1,\n"
                       "  \"server\": {\"bogusKey\": 1, \"listen\": 5, \"maxConnections\": 0,\n"
                       "             \"maxHeaderBytes\": 2048},\n"
                       "  \"demo\": {\"ttlHours\": \"24\"},\n"
                       "  \"photo\": 7,\n"
                       "  \"auth\": {\"extra\": []}\n"
                       "}\n",
                       &cfg, &err);

    CHECK_EQ_INT(rc, ARC_EINVAL);
    CHECK_MSG(count_lines(err.msg) == (int)(sizeof(want) / sizeof(want[0])),
              "%d lines, want %zu: '%s'", count_lines(err.msg), sizeof(want) / sizeof(want[0]),
              err.msg);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CHECK_MSG(strstr(err.msg, want[i]) != NULL, "'%s' not in '%s'", want[i], err.msg);
    /* No line is empty. */
    CHECK(err.msg[0] != '\0' && strstr(err.msg, "\n\n") == NULL &&
          err.msg[strlen(err.msg) - 1] != '\n');
    arc_config_dispose(&cfg);

    /* A known section that is not an object, of each JSON type. */
    static const char *const not_object[] = {"1", "\"x\"", "[]", "null", "true"};
    for (size_t i = 0; i < sizeof(not_object) / sizeof(not_object[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"queue\": %s}", not_object[i]);
        rc = load_text(text, &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "'queue' must be an object") != NULL,
                  "%s: %d '%s'", text, rc, err.msg);
        arc_config_dispose(&cfg);
        snprintf(text, sizeof(text), "{\"auth\": %s}", not_object[i]);
        rc = load_text(text, &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "'auth' must be an object") != NULL,
                  "%s: %d '%s'", text, rc, err.msg);
        arc_config_dispose(&cfg);
    }

    /* A key of one section written in another is unknown there. */
    rc = load_text("{\"server\": {\"poolSize\": 4}}", &cfg, &err);
    CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "'server.poolSize'") != NULL, "'%s'", err.msg);
    arc_config_dispose(&cfg);
}

/* config.h promises "every problem found, one per line": even when every key
 * is wrong at once. */
TEST(test_every_key_wrong_at_once_is_all_reported)
{
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n);
    json_t *root = json_object();
    char name[128];

    for (size_t i = 0; i < n; i++) {
        json_t *sec = section_of(root, keys[i].section);
        /* An array is wrong for every key but a list, which takes no number. */
        json_object_set_new(sec, keys[i].name,
                            keys[i].type == ARC_CONFIG_CIDRS || keys[i].type == ARC_CONFIG_ORIGINS
                                ? json_integer(5)
                                : json_array());
    }
    char *text = json_dumps(root, 0);
    arc_config_t cfg;
    arc_err_t err;
    int rc = load_text(text, &cfg, &err);

    CHECK_EQ_INT(rc, ARC_EINVAL);
    CHECK_MSG(count_lines(err.msg) == (int)n, "%d lines for %zu bad keys", count_lines(err.msg), n);
    size_t missing = 0;
    const arc_config_key_t *first = NULL;
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s.%s ", keys[i].section, keys[i].name);
        if (strstr(err.msg, name) == NULL && missing++ == 0)
            first = &keys[i];
    }
    CHECK_MSG(missing == 0, "%zu of %zu bad keys not reported (the first: %s.%s)", missing, n,
              first ? first->section : "", first ? first->name : "");
    arc_config_dispose(&cfg);
    free(text);
    json_decref(root);
}

/* ---- 4. auth.tokens ---------------------------------------------------- */

#define TOKEN16 "0123456789abcdef"

TEST(test_auth_tokens_load)
{
    arc_config_t cfg;
    arc_err_t err;
    int rc = load_text("{\"auth\": {\"tokens\": [\n"
                       "  {\"token\": \"" TOKEN16 "\", \"owner\": \"alice\"},\n"
                       "  {\"token\": \"" TOKEN16 "-admin\", \"owner\": \"ops\", \"role\": "
                       "\"admin\"},\n"
                       "  {\"token\": \"" TOKEN16 "-bob\", \"owner\": \"bob\", \"role\": "
                       "\"owner\"}\n"
                       "]}}",
                       &cfg, &err);

    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.auth.n_tokens, 3);
    if (cfg.auth.n_tokens == 3) {
        CHECK_STR(cfg.auth.tokens[0].token, TOKEN16);
        CHECK_STR(cfg.auth.tokens[0].owner, "alice");
        CHECK_EQ_INT(cfg.auth.tokens[0].admin, 0);
        CHECK_STR(cfg.auth.tokens[1].token, TOKEN16 "-admin");
        CHECK_STR(cfg.auth.tokens[1].owner, "ops");
        CHECK_EQ_INT(cfg.auth.tokens[1].admin, 1);
        CHECK_STR(cfg.auth.tokens[2].owner, "bob");
        CHECK_EQ_INT(cfg.auth.tokens[2].admin, 0);
    }
    arc_config_dispose(&cfg);

    /* An empty list is no token. */
    rc = load_text("{\"auth\": {\"tokens\": []}}", &cfg, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(cfg.auth.n_tokens, 0);
    arc_config_dispose(&cfg);
}

TEST(test_auth_tokens_refused)
{
    static const struct {
        const char *tokens; /* the value of auth.tokens */
        const char *want;   /* in the message */
    } cases[] = {
        {"[{\"token\": \"0123456789abcde\", \"owner\": \"a\"}]", "auth.tokens[0]"},
        {"[{\"token\": \"\", \"owner\": \"a\"}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\"}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"\"}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": 5}]", "auth.tokens[0]"},
        {"[{\"owner\": \"a\"}]", "auth.tokens[0]"},
        {"[{\"token\": 1234567890123456789, \"owner\": \"a\"}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"a\", \"role\": \"root\"}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"a\", \"role\": \"Admin\"}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"a\", \"role\": 1}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"a\", \"role\": null}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"a\", \"admin\": true}]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"a\", \"role\": \"admin\", \"x\": 1}]",
         "auth.tokens[0]"},
        {"[\"" TOKEN16 "\"]", "auth.tokens[0]"},
        {"[[\"" TOKEN16 "\", \"a\"]]", "auth.tokens[0]"},
        {"[{\"token\": \"" TOKEN16 "\", \"owner\": \"a\"}, {\"token\": \"short\", \"owner\": "
         "\"b\"}]",
         "auth.tokens[1]"},
        {"{\"token\": \"" TOKEN16 "\", \"owner\": \"a\"}", "auth.tokens must be an array"},
        {"\"" TOKEN16 "\"", "auth.tokens must be an array"},
        {"null", "auth.tokens must be an array"},
    };
    arc_config_t cfg;
    arc_err_t err;
    char text[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "{\"auth\": {\"tokens\": %s}}", cases[i].tokens);
        int rc = load_text(text, &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL, "%s: returned %d", text, rc);
        CHECK_MSG(strstr(err.msg, cases[i].want) != NULL, "%s: '%s' not in '%s'", text,
                  cases[i].want, err.msg);
        CHECK_MSG(count_lines(err.msg) == 1, "%s: '%s'", text, err.msg);
        arc_config_dispose(&cfg);
    }

    /* Each bad entry has its own line. */
    int rc = load_text("{\"auth\": {\"tokens\": [{\"token\": \"x\", \"owner\": \"a\"}, "
                       "{\"token\": \"" TOKEN16 "\", \"owner\": \"b\"}, {\"owner\": \"c\"}]}}",
                       &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EINVAL);
    CHECK_MSG(count_lines(err.msg) == 2 && strstr(err.msg, "auth.tokens[0]") != NULL &&
                  strstr(err.msg, "auth.tokens[2]") != NULL &&
                  strstr(err.msg, "auth.tokens[1]") == NULL,
              "'%s'", err.msg);
    arc_config_dispose(&cfg);
}

TEST(test_admin_token_from_environment)
{
    saved_env_t s;
    arc_config_t cfg;
    arc_err_t err;
    char path[64];

    env_clear(&s);
    tmp_text(path,
             "{\"auth\": {\"tokens\": [{\"token\": \"" TOKEN16 "\", \"owner\": \"alice\"}]}}");

    /* Added after the file's tokens, as an admin. */
    setenv("ARCD_ADMIN_TOKEN", "fedcba9876543210", 1);
    int rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.auth.n_tokens, 2);
    if (cfg.auth.n_tokens == 2) {
        CHECK_STR(cfg.auth.tokens[0].owner, "alice");
        CHECK_EQ_INT(cfg.auth.tokens[0].admin, 0);
        CHECK_STR(cfg.auth.tokens[1].token, "fedcba9876543210");
        CHECK_EQ_INT(cfg.auth.tokens[1].admin, 1);
    }
    arc_config_dispose(&cfg);

    /* Alone, with no file. */
    arc_config_defaults(&cfg);
    rc = arc_config_apply_env(&cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.auth.n_tokens, 1);
    if (cfg.auth.n_tokens == 1)
        CHECK(cfg.auth.tokens[0].admin == 1 && cfg.auth.tokens[0].owner != NULL);
    arc_config_dispose(&cfg);

    /* Under 16 characters: refused, naming the variable, cfg disposed. */
    setenv("ARCD_ADMIN_TOKEN", "fedcba987654321", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EINVAL);
    CHECK_MSG(strstr(err.msg, "ARCD_ADMIN_TOKEN") != NULL, "'%s'", err.msg);
    check_disposed(&cfg, "short ARCD_ADMIN_TOKEN");

    /* Empty: no token added. */
    setenv("ARCD_ADMIN_TOKEN", "", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.auth.n_tokens, 1);
    arc_config_dispose(&cfg);

    unlink(path);
    env_restore(&s);
}

/* ---- 5. files ----------------------------------------------------------- */

TEST(test_file_errors)
{
    arc_config_t cfg;
    arc_err_t err;
    char path[64];
    int rc;

    /* Missing: an I/O error naming the file. */
    arc_config_defaults(&cfg);
    rc = arc_config_load("/tmp/arcd_cfg_no_such_file.json", &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EIO);
    CHECK_MSG(strstr(err.msg, "/tmp/arcd_cfg_no_such_file.json") != NULL, "'%s'", err.msg);
    check_all_default(&cfg, "missing file");
    arc_config_dispose(&cfg);

    /* Not JSON: the file and the line of the mistake. */
    static const struct {
        const char *text;
        const char *line; /* ":N:" */
    } broken[] = {
        {"{\n  \"server\": {\n    \"listen\": ,\n  }\n}\n", ":3:"},
        {"{\n  \"workers\": {\"nice\": 3}\n\n", ":4:"},
        {"{\"workers\": {\"nice\": 3},}", ":1:"},
        {"{\"workers\": {\"nice\": 03}}", ":1:"},
        {"", ":1:"},
        {"nice = 3\n", ":1:"},
        {"\"text\"", ":1:"},
        {"42", ":1:"},
        {"{} {}", ":1:"},
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        tmp_text(path, broken[i].text);
        arc_config_defaults(&cfg);
        rc = arc_config_load(path, &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL, "'%s': returned %d", broken[i].text, rc);
        CHECK_MSG(strstr(err.msg, path) != NULL && strstr(err.msg, broken[i].line) != NULL,
                  "'%s': message '%s', want %s and line %s", broken[i].text, err.msg, path,
                  broken[i].line);
        check_all_default(&cfg, broken[i].text);
        arc_config_dispose(&cfg);
        unlink(path);
    }

    /* A top level that is valid JSON but not an object. */
    static const char *const not_object[] = {"[]", "[{\"workers\": {\"nice\": 3}}]"};
    for (size_t i = 0; i < sizeof(not_object) / sizeof(not_object[0]); i++) {
        tmp_text(path, not_object[i]);
        arc_config_defaults(&cfg);
        rc = arc_config_load(path, &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "top level must be an object") != NULL &&
                      strstr(err.msg, path) != NULL,
                  "'%s': %d '%s'", not_object[i], rc, err.msg);
        check_all_default(&cfg, not_object[i]);
        arc_config_dispose(&cfg);
        unlink(path);
    }

    /* Duplicate keys, at the top and inside a section: refused, with the line. */
    static const char *const dup[] = {
        "{\"workers\": {\"nice\": 3},\n \"workers\": {\"nice\": 4}}",
        "{\"workers\": {\"nice\": 3,\n \"nice\": 4}}",
        "{\"auth\": {\"tokens\": [{\"token\": \"" TOKEN16 "\",\n \"token\": \"" TOKEN16
        "x\", \"owner\": \"a\"}]}}",
    };
    for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
        tmp_text(path, dup[i]);
        arc_config_defaults(&cfg);
        rc = arc_config_load(path, &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "duplicate") != NULL &&
                      strstr(err.msg, path) != NULL && strstr(err.msg, ":2:") != NULL,
                  "'%s': %d '%s'", dup[i], rc, err.msg);
        arc_config_dispose(&cfg);
        unlink(path);
    }
}

/* ---- 6. arc_config_load_all -------------------------------------------- */

/* load_all(path) must succeed with storage.dir = want. */
static void expect_dir(const char *path, const char *want, const char *what)
{
    arc_config_t cfg;
    arc_err_t err;
    int rc = arc_config_load_all(path, &cfg, &err);

    CHECK_MSG(rc == 0, "%s: %d %s", what, rc, err.msg);
    if (rc == 0)
        CHECK_MSG(strcmp(cfg.storage.dir, want) == 0, "%s: storage.dir '%s', want '%s'", what,
                  cfg.storage.dir, want);
    arc_config_dispose(&cfg);
}

TEST(test_load_all_chooses_the_file)
{
    saved_env_t s;
    char a[64], b[64], with[64], without[64];
    arc_config_t cfg;
    arc_err_t err;
    int rc;

    env_clear(&s);
    tmp_text(a, "{\"storage\": {\"dir\": \"from-argument\"}}");
    tmp_text(b, "{\"storage\": {\"dir\": \"from-ARCD_CONFIG\"}}");
    tmp_folder(with, "{\"storage\": {\"dir\": \"from-current-folder\"}}");
    tmp_folder(without, NULL);

    /* A relative path in a file is relative to the file's folder (/tmp
     * for a and b), never to the current one. */
    CHECK(chdir(with) == 0);
    setenv("ARCD_CONFIG", b, 1);
    expect_dir(a, "/tmp/from-argument", "path and $ARCD_CONFIG");
    expect_dir(NULL, "/tmp/from-ARCD_CONFIG", "NULL path, $ARCD_CONFIG");
    expect_dir("", "/tmp/from-ARCD_CONFIG", "empty path, $ARCD_CONFIG");
    /* Neither: the layout's file (this build's source tree's
     * config/arcd.json, which leaves storage.dir at its default), never
     * config/arcd.json in the current folder (regression: arcd run from
     * another folder found no templates and no scripts). */
    setenv("ARCD_CONFIG", "", 1);
    expect_dir(NULL, arc_layout()->storage_dir, "empty $ARCD_CONFIG");
    unsetenv("ARCD_CONFIG");
    expect_dir(NULL, arc_layout()->storage_dir, "no path, no $ARCD_CONFIG");
    expect_dir("", arc_layout()->storage_dir, "empty path, no $ARCD_CONFIG");
    expect_dir(a, "/tmp/from-argument", "path, config/arcd.json here");
    CHECK(chdir(without) == 0);
    rc = arc_config_load_all(NULL, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0)
        check_all_default(&cfg, "the layout's file");
    arc_config_dispose(&cfg);

    /* A named file that is missing is an error, never a fall-back. */
    CHECK(chdir(with) == 0);
    setenv("ARCD_CONFIG", "/tmp/arcd_cfg_no_such_file.json", 1);
    rc = arc_config_load_all(NULL, &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EIO);
    CHECK_MSG(strstr(err.msg, "/tmp/arcd_cfg_no_such_file.json") != NULL, "'%s'", err.msg);
    check_disposed(&cfg, "missing $ARCD_CONFIG");
    setenv("ARCD_CONFIG", b, 1);
    rc = arc_config_load_all("/tmp/arcd_cfg_no_such_file.json", &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EIO);
    check_disposed(&cfg, "missing path");

    /* A bad file: ARC_EINVAL, cfg disposed (the leak check sees the rest). */
    unlink(a);
    tmp_text(a, "{\"storage\": {\"dir\": 5}, \"auth\": {\"tokens\": [{\"token\": \"" TOKEN16
                "\", \"owner\": \"a\"}]}}");
    rc = arc_config_load_all(a, &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EINVAL);
    CHECK_MSG(strstr(err.msg, "storage.dir") != NULL, "'%s'", err.msg);
    check_disposed(&cfg, "bad file");
    arc_config_dispose(&cfg);

    unlink(a);
    unlink(b);
    tmp_folder_remove(with);
    tmp_folder_remove(without);
    env_restore(&s);
}

TEST(test_load_all_environment_overrides)
{
    saved_env_t s;
    char path[64];
    arc_config_t cfg;
    arc_err_t err;
    int rc;

    env_clear(&s);
    tmp_text(path, "{\"database\": {\"url\": \"postgres://file/db\", \"poolSize\": 7},\n"
                   " \"server\": {\"listen\": \"10.0.0.1:1\", \"publicUrl\": \"https://file\"},\n"
                   " \"storage\": {\"dir\": \"/file/storage\"},\n"
                   " \"workers\": {\"count\": 3, \"nice\": 5}}");

    /* Without the variables, the file's values. */
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_STR(cfg.database.url, "postgres://file/db");
    CHECK_EQ_INT(cfg.database.pool_size, 7);
    CHECK_EQ_INT(cfg.workers.count, 3);
    arc_config_dispose(&cfg);

    /* With them, theirs, and the file's for the rest. */
    setenv("DATABASE_URL", "postgres://env/db", 1);
    setenv("ARCD_LISTEN", "0.0.0.0:9090", 1);
    setenv("ARCD_PUBLIC_URL", "https://env.example", 1);
    setenv("ARCD_STORAGE_DIR", "/env/storage", 1);
    setenv("ARCD_WORKERS", "12", 1);
    setenv("ARCD_POOL_SIZE", "9", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_STR(cfg.database.url, "postgres://env/db");
    CHECK_STR(cfg.server.listen, "0.0.0.0:9090");
    CHECK_STR(cfg.server.public_url, "https://env.example");
    CHECK_STR(cfg.storage.dir, "/env/storage");
    CHECK_EQ_INT(cfg.workers.count, 12);
    CHECK_EQ_INT(cfg.database.pool_size, 9);
    CHECK_EQ_INT(cfg.workers.nice, 5);
    arc_config_dispose(&cfg);

    /* The ends of the ranges, and an empty string for a string variable. */
    setenv("ARCD_WORKERS", "0", 1);
    setenv("ARCD_POOL_SIZE", "100", 1);
    setenv("DATABASE_URL", "", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.workers.count, 0);
    CHECK_EQ_INT(cfg.database.pool_size, 100);
    CHECK_STR(cfg.database.url, "");
    arc_config_dispose(&cfg);
    setenv("ARCD_WORKERS", "256", 1);
    setenv("ARCD_POOL_SIZE", "1", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.workers.count, 256);
    CHECK_EQ_INT(cfg.database.pool_size, 1);
    arc_config_dispose(&cfg);

    /* Over the defaults when there is no file. */
    char empty[64];
    tmp_folder(empty, NULL);
    CHECK(chdir(empty) == 0);
    rc = arc_config_load_all(NULL, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_STR(cfg.storage.dir, "/env/storage");
    CHECK_EQ_INT(cfg.workers.count, 256);
    CHECK_EQ_INT(cfg.workers.nice, 10);
    arc_config_dispose(&cfg);
    CHECK(chdir(s.cwd) == 0);
    tmp_folder_remove(empty);

    unlink(path);
    env_restore(&s);
}

TEST(test_load_all_refuses_bad_environment)
{
    static const struct {
        const char *var, *value;
    } cases[] = {
        {"ARCD_WORKERS", "abc"},
        {"ARCD_WORKERS", ""},
        {"ARCD_WORKERS", "4x"},
        {"ARCD_WORKERS", "1.5"},
        {"ARCD_WORKERS", "0x10"},
        {"ARCD_WORKERS", "-1"},
        {"ARCD_WORKERS", "257"},
        {"ARCD_WORKERS", "4294967300"},
        {"ARCD_WORKERS", "99999999999999999999999"},
        {"ARCD_POOL_SIZE", "0"},
        {"ARCD_POOL_SIZE", "101"},
        {"ARCD_POOL_SIZE", "four"},
        {"ARCD_POOL_SIZE", ""},
        {"ARCD_POOL_SIZE", "-4294967295"},
    };
    saved_env_t s;
    char path[64];
    arc_config_t cfg;
    arc_err_t err;
    int rc;

    env_clear(&s);
    tmp_text(path, "{\"workers\": {\"nice\": 5}, \"auth\": {\"tokens\": [{\"token\": \"" TOKEN16
                   "\", \"owner\": \"a\"}]}}");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv(cases[i].var, cases[i].value, 1);
        rc = arc_config_load_all(path, &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL, "%s='%s': returned %d", cases[i].var, cases[i].value, rc);
        CHECK_MSG(strstr(err.msg, cases[i].var) != NULL, "%s='%s': message '%s'", cases[i].var,
                  cases[i].value, err.msg);
        CHECK_MSG(count_lines(err.msg) == 1, "%s='%s': '%s'", cases[i].var, cases[i].value,
                  err.msg);
        check_disposed(&cfg, cases[i].var);
        unsetenv(cases[i].var);
    }

    /* Both bad, and a short admin token: one line each. */
    setenv("ARCD_WORKERS", "many", 1);
    setenv("ARCD_POOL_SIZE", "1000", 1);
    setenv("ARCD_ADMIN_TOKEN", "short", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EINVAL);
    CHECK_MSG(count_lines(err.msg) == 3 && strstr(err.msg, "ARCD_WORKERS") != NULL &&
                  strstr(err.msg, "ARCD_POOL_SIZE") != NULL &&
                  strstr(err.msg, "ARCD_ADMIN_TOKEN") != NULL,
              "'%s'", err.msg);
    check_disposed(&cfg, "three bad variables");

    unlink(path);
    env_restore(&s);
}

/* config.h promises "every problem in err": a bad file and a bad variable
 * at one start-up are both reported. */
TEST(test_load_all_reports_file_and_environment_problems_together)
{
    saved_env_t s;
    char path[64];
    arc_config_t cfg;
    arc_err_t err;

    env_clear(&s);
    tmp_text(path, "{\"workers\": {\"nice\": 50}}");
    setenv("ARCD_WORKERS", "many", 1);
    int rc = arc_config_load_all(path, &cfg, &err);
    CHECK_EQ_INT(rc, ARC_EINVAL);
    CHECK_MSG(strstr(err.msg, "workers.nice") != NULL && strstr(err.msg, "ARCD_WORKERS") != NULL,
              "'%s'", err.msg);
    check_disposed(&cfg, "bad file and variable");
    unlink(path);
    env_restore(&s);
}

/* ---- 7. the job's media settings --------------------------------------- */

TEST(test_job_media_copies_photo_and_video)
{
    arc_config_t cfg;
    arc_err_t err;
    arc_job_media_t m;

    int rc = load_text("{\"photo\": {\"maxSide\": 1000, \"border\": true, \"borderRatio\": 0.05,"
                       " \"jpegQuality\": 77, \"maxPixels\": 48000000},\n"
                       " \"video\": {\"maxSide\": 640, \"maxSeconds\": 30, \"maxPixels\": "
                       "4294967296, \"crf\": 30, \"preset\": \"slow\", \"copy\": \"off\","
                       " \"smartCrop\": false}}",
                       &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    memset(&m, 0xa5, sizeof(m));
    arc_config_job_media(&cfg, &m);
    CHECK_EQ_INT(m.max_side, 1000);
    CHECK_EQ_INT(m.border, 1);
    CHECK(m.border_ratio == 0.05);
    CHECK_EQ_INT(m.jpeg_quality, 77);
    CHECK(m.photo_max_pixels == 48000000ULL);
    CHECK_EQ_INT(m.video_max_side, 640);
    CHECK_EQ_INT(m.video_max_seconds, 30);
    CHECK(m.video_max_pixels == 4294967296ULL);
    CHECK_EQ_INT(m.video_crf, 30);
    CHECK_STR(m.video_preset, "slow");
    CHECK_EQ_INT(m.video_copy, 0);
    CHECK_EQ_INT(m.video_smart_crop, 0);
    CHECK_EQ_INT(m.video_threads, 0);
    arc_config_dispose(&cfg);

    /* And the defaults. */
    arc_config_defaults(&cfg);
    arc_config_job_media(&cfg, &m);
    CHECK_EQ_INT(m.max_side, 1920);
    CHECK_EQ_INT(m.border, 1);
    CHECK(m.border_ratio == 0.12);
    CHECK_EQ_INT(m.jpeg_quality, 92);
    CHECK(m.photo_max_pixels == 200000000ULL);
    CHECK_EQ_INT(m.video_max_side, 1280);
    CHECK_EQ_INT(m.video_max_seconds, 120);
    CHECK(m.video_max_pixels == 16777216ULL);
    CHECK_EQ_INT(m.video_crf, 23);
    CHECK_STR(m.video_preset, "veryfast");
    CHECK_EQ_INT(m.video_copy, 1);
    CHECK_EQ_INT(m.video_smart_crop, 1);
    arc_config_dispose(&cfg);
}

TEST(test_video_preset_is_one_of_x264s)
{
    static const char *const good_presets[] = {"ultrafast", "veryfast", "medium", "placebo"};
    static const char *const bad_presets[] = {"", "fastest", "VeryFast", "veryfast "};
    size_t n;
    const arc_config_key_t *keys = arc_config_keys(&n), *k = NULL;
    arc_config_t cfg;
    arc_err_t err;

    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].section, "video") == 0 && strcmp(keys[i].name, "preset") == 0)
            k = &keys[i];
    CHECK(k != NULL);
    if (k == NULL)
        return;
    for (size_t i = 0; i < sizeof(good_presets) / sizeof(good_presets[0]); i++) {
        int rc = load_value(k, json_string(good_presets[i]), &cfg, &err);
        CHECK_MSG(rc == 0, "%s: %s", good_presets[i], err.msg);
        CHECK_STR(cfg.video.preset, good_presets[i]);
        arc_config_dispose(&cfg);
    }
    for (size_t i = 0; i < sizeof(bad_presets) / sizeof(bad_presets[0]); i++) {
        int rc = load_value(k, json_string(bad_presets[i]), &cfg, &err);
        CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "video.preset") != NULL, "'%s': %d %s",
                  bad_presets[i], rc, err.msg);
        arc_config_dispose(&cfg);
    }
}

TEST(test_regression_more_problems_than_fit_are_counted)
{
    /* 300 unknown keys: more lines than a message holds. Those that do not
     * fit are counted in a last line, never cut off silently. */
    arc_buf_t text = ARC_BUF_INIT;
    arc_config_t cfg;
    arc_err_t err;

    arc_buf_puts(&text, "{\"server\": {");
    for (int i = 0; i < 300; i++)
        arc_buf_printf(&text, "%s\"unknownKeyNumber%03d\": 1", i ? ", " : "", i);
    arc_buf_puts(&text, "}}");
    CHECK_EQ_INT(load_text(text.data, &cfg, &err), ARC_EINVAL);
    int shown = count_lines(err.msg) - 1;
    const char *last = strrchr(err.msg, '\n');
    int more = 0;
    CHECK_MSG(last != NULL && sscanf(last, "\n(and %d more problems)", &more) == 1, "%s",
              last ? last : err.msg);
    CHECK_MSG(shown + more == 300, "%d shown + %d more", shown, more);
    CHECK(strstr(err.msg, "unknownKeyNumber000") != NULL);
    /* Every shown line is whole. */
    char *copy = arc_xstrdup(err.msg), *save = NULL;
    int whole = 0;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        whole += strncmp(line, "config: unknown key 'server.unknownKeyNumber", 44) == 0 &&
                 strlen(line) == 48;
    CHECK_EQ_INT(whole, shown);
    free(copy);
    arc_config_dispose(&cfg);
    arc_buf_dispose(&text);
}

TEST(test_trusted_proxies_are_kept_in_order)
{
    arc_config_t cfg;
    arc_err_t err;

    CHECK_EQ_INT(load_text("{\"server\": {\"trustedProxies\": [\"127.0.0.1\", \"10.0.0.0/8\", "
                           "\"2001:db8::/32\", \"::1\"]}}",
                           &cfg, &err),
                 0);
    char *const *t = cfg.server.trusted_proxies;
    CHECK(t != NULL && test_str_eq(t[0], "127.0.0.1") && test_str_eq(t[1], "10.0.0.0/8") &&
          test_str_eq(t[2], "2001:db8::/32") && test_str_eq(t[3], "::1") && t[4] == NULL);
    arc_config_dispose(&cfg);
    CHECK(cfg.server.trusted_proxies == NULL);
    /* The default: none (nobody's X-Forwarded-For is believed). */
    arc_config_defaults(&cfg);
    CHECK(cfg.server.trusted_proxies != NULL && cfg.server.trusted_proxies[0] == NULL);
    arc_config_dispose(&cfg);
}

/* ---- 8. what a string may hold ------------------------------------------ */

/* A string of n bytes of c (owned). */
static json_t *string_of(size_t n, char c)
{
    char *v = arc_xmalloc(n + 1);

    memset(v, c, n);
    v[n] = '\0';
    json_t *js = json_stringn(v, n);
    free(v);
    return js;
}

/* Every string key with a longest length takes a value of that length and
 * refuses one byte more, one line naming the key. */
TEST(test_string_keys_refuse_values_over_their_length)
{
    size_t n, limited = 0;
    const arc_config_key_t *keys = arc_config_keys(&n);
    arc_config_t cfg;
    arc_err_t err;

    for (size_t i = 0; i < n; i++) {
        const arc_config_key_t *k = &keys[i];
        if (k->type != ARC_CONFIG_STR || k->max == 0)
            continue;
        limited++;
        int rc = load_value(k, string_of((size_t)k->max, 'a'), &cfg, &err);
        CHECK_MSG(rc == 0 && strlen(field_str(&cfg, k)) == (size_t)k->max, "%s.%s, %lld bytes: %s",
                  k->section, k->name, (long long)k->max, err.msg);
        arc_config_dispose(&cfg);
        expect_refused(k, string_of((size_t)k->max + 1, 'a'));
    }
    CHECK_MSG(limited >= 2, "only %zu string keys have a longest length", limited);
}

/* server.publicUrl and viewer.vendorUrl had no limit: past about 2,000
 * characters every job failed as a damaged message, and status URLs were
 * cut at 1 KB without a word. Over-long values are refused at load, from
 * the file and from $ARCD_PUBLIC_URL, naming the key. */
TEST(test_regression_long_urls_are_refused_at_load)
{
    static const char *const url_keys[] = {"server.publicUrl", "viewer.vendorUrl"};
    arc_buf_t text = ARC_BUF_INIT, url = ARC_BUF_INIT;
    saved_env_t s;
    char path[64];
    arc_config_t cfg;
    arc_err_t err;
    int rc;

    for (size_t i = 0; i < sizeof(url_keys) / sizeof(url_keys[0]); i++) {
        const arc_config_key_t *k = key_named(url_keys[i]);
        CHECK(k != NULL);
        if (k == NULL)
            continue;
        CHECK_MSG(k->max > 0 && k->max <= 512, "%s: at most %lld bytes", url_keys[i],
                  (long long)k->max);
        expect_refused(k, string_of(2100, 'x'));
    }
    arc_buf_puts(&url, "https://prints.example.com/");
    while (url.len < 2100)
        arc_buf_puts(&url, "a/");
    arc_buf_printf(&text, "{\"server\": {\"publicUrl\": \"%s\"}}", url.data);
    rc = load_text(text.data, &cfg, &err);
    CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "server.publicUrl") != NULL &&
                  strstr(err.msg, "at most 512 bytes") != NULL,
              "a 2,100-byte publicUrl: %d '%s'", rc, err.msg);
    arc_config_dispose(&cfg);

    env_clear(&s);
    tmp_text(path, "{}");
    setenv("ARCD_PUBLIC_URL", url.data, 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "ARCD_PUBLIC_URL") != NULL &&
                  strstr(err.msg, "server.publicUrl") != NULL && count_lines(err.msg) == 1,
              "a 2,100-byte ARCD_PUBLIC_URL: %d '%s'", rc, err.msg);
    check_disposed(&cfg, "ARCD_PUBLIC_URL");
    setenv("ARCD_PUBLIC_URL", "https://prints.example.com", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_STR(cfg.server.public_url, "https://prints.example.com");
    arc_config_dispose(&cfg);
    unlink(path);
    env_restore(&s);
    arc_buf_dispose(&text);
    arc_buf_dispose(&url);
}

/* The listen addresses: an IP address and a port, an IPv6 one in brackets
 * as in a URL ("[::1]:8080", which was refused), checked at load, from the
 * file and from $ARCD_LISTEN, rather than found unusable when the daemon
 * binds. metricsListen may be "" (none). */
TEST(test_listen_addresses)
{
    static const char *const good[] = {"127.0.0.1:8080",  "0.0.0.0:0", "[::1]:8080",
                                       "[::]:443",        "::1:8080",  "10.1.2.3:65535",
                                       "[2001:db8::42]:9"};
    static const char *const bad[] = {"",
                                      "localhost:8080",
                                      "[::1]",
                                      "::1",
                                      "[::1]8080",
                                      "1.2.3.4",
                                      "1.2.3.4:",
                                      ":8080",
                                      "1.2.3.4:65536",
                                      "1.2.3.4:80x",
                                      "1.2.3.4:-1",
                                      "[1.2.3.4]:80",
                                      "[::1:8080",
                                      "1.2.3.4:+80",
                                      " 1.2.3.4:80",
                                      "1.2.3.4:123456"};
    static const char *const keys[] = {"server.listen", "server.metricsListen"};
    saved_env_t s;
    char path[64];
    arc_config_t cfg;
    arc_err_t err;
    int rc;

    for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
        const arc_config_key_t *k = key_named(keys[j]);
        CHECK(k != NULL);
        if (k == NULL)
            continue;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
            rc = load_value(k, json_string(good[i]), &cfg, &err);
            CHECK_MSG(rc == 0, "%s = '%s': %s", keys[j], good[i], err.msg);
            if (rc == 0)
                CHECK_STR(field_str(&cfg, k), good[i]);
            arc_config_dispose(&cfg);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            if (bad[i][0] == '\0' && strcmp(keys[j], "server.metricsListen") == 0) {
                rc = load_value(k, json_string(""), &cfg, &err);
                CHECK_MSG(rc == 0, "metricsListen = '': %s", err.msg);
                arc_config_dispose(&cfg);
                continue;
            }
            expect_refused(k, json_string(bad[i]));
        }
    }

    env_clear(&s);
    tmp_text(path, "{}");
    setenv("ARCD_LISTEN", "[::1]:9090", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "ARCD_LISTEN=[::1]:9090: %s", err.msg);
    if (rc == 0)
        CHECK_STR(cfg.server.listen, "[::1]:9090");
    arc_config_dispose(&cfg);
    setenv("ARCD_LISTEN", "localhost:9090", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, "ARCD_LISTEN") != NULL &&
                  strstr(err.msg, "server.listen") != NULL,
              "ARCD_LISTEN=localhost:9090: %d '%s'", rc, err.msg);
    check_disposed(&cfg, "ARCD_LISTEN");
    unlink(path);
    env_restore(&s);
}

/* ---- 7. the layout and the settings file's own rules -------------------- */

static void make_dirs(const char *base, const char *const *subs)
{
    char path[256];

    for (; *subs != NULL; subs++) {
        snprintf(path, sizeof(path), "%s/%s", base, *subs);
        CHECK_MSG(mkdir(path, 0700) == 0, "mkdir %s", path);
    }
}

TEST(test_layout_installed_and_checkout)
{
    static const char *const tree[] = {"bin", "share", "share/arcd", NULL};
    char root[64] = "/tmp/arcd_layout_XXXXXX", exe[128], want[192];
    arc_layout_t l;

    CHECK(mkdtemp(root) != NULL);
    make_dirs(root, tree);
    snprintf(exe, sizeof(exe), "%s/bin/arcd", root);
    /* PREFIX/bin/arcd with PREFIX/share/arcd: everything under the prefix. */
    arc_layout_from(exe, "/src/tree", &l);
    CHECK_EQ_INT(l.installed, 1);
    CHECK_STR(l.prefix, root);
    snprintf(want, sizeof(want), "%s/share/arcd/viewer.html", root);
    CHECK_STR(l.template_path, want);
    snprintf(want, sizeof(want), "%s/share/arcd/vendor", root);
    CHECK_STR(l.vendor_dir, want);
    snprintf(want, sizeof(want), "%s/share/arcd/app", root);
    CHECK_STR(l.app_dir, want);
    snprintf(want, sizeof(want), "%s/etc/arcd/arcd.json", root);
    CHECK_STR(l.config_file, want);
    snprintf(want, sizeof(want), "%s/var/lib/arcd/storage", root);
    CHECK_STR(l.storage_dir, want);

    /* Without share/arcd beside bin/: a build of the checkout it names. */
    snprintf(want, sizeof(want), "%s/share/arcd", root);
    CHECK(rmdir(want) == 0);
    arc_layout_from(exe, "/src/tree", &l);
    CHECK_EQ_INT(l.installed, 0);
    CHECK_STR(l.template_path, "/src/tree/config/viewer.html");
    CHECK_STR(l.vendor_dir, "/src/tree/var/vendor");
    CHECK_STR(l.app_dir, "/src/tree/src/app");
    CHECK_STR(l.config_file, "/src/tree/config/arcd.json");
    CHECK_STR(l.storage_dir, "/src/tree/var/storage");
    arc_layout_from(NULL, "/src/tree", &l);
    CHECK_EQ_INT(l.installed, 0);
    CHECK_STR(l.storage_dir, "/src/tree/var/storage");
    snprintf(want, sizeof(want), "%s/share", root);
    CHECK(rmdir(want) == 0);
    snprintf(want, sizeof(want), "%s/bin", root);
    CHECK(rmdir(want) == 0);
    CHECK(rmdir(root) == 0);

    /* This test's own program is a build, found as such. */
    CHECK_EQ_INT(arc_layout()->installed, 0);
}

TEST(test_usr_prefix_uses_etc_and_var_lib)
{
    arc_layout_t l;

    /* The .deb's prefix: settings in /etc, storage in /var/lib (where its
     * unit and backup timer look). */
    arc_layout_installed("/usr", &l);
    CHECK_EQ_INT(l.installed, 1);
    CHECK_STR(l.config_file, "/etc/arcd/arcd.json");
    CHECK_STR(l.storage_dir, "/var/lib/arcd/storage");
    CHECK_STR(l.template_path, "/usr/share/arcd/viewer.html");
    arc_layout_installed("/usr/local", &l);
    CHECK_STR(l.config_file, "/usr/local/etc/arcd/arcd.json");
    CHECK_STR(l.storage_dir, "/usr/local/var/lib/arcd/storage");
}

TEST(test_comment_lines_and_relative_paths)
{
    char path[64];
    arc_config_t cfg;
    arc_err_t err;
    int rc;

    /* Whole-line comments, indented or not; "//" inside a value is data. */
    tmp_text(path, "// arcd's settings\n"
                   "{\n"
                   "  // the public address\n"
                   "  \"server\": {\"publicUrl\": \"https://ar.example.com//x\"},\n"
                   "\t// where it lives\n"
                   "  \"storage\": {\"dir\": \"../data/storage\"},\n"
                   "  \"viewer\": {\"template\": \"/abs/viewer.html\", \"vendorDir\": \"vendor\",\n"
                   "              \"pagesDir\": \"\"}\n"
                   "}\n");
    arc_config_defaults(&cfg);
    rc = arc_config_load(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK_STR(cfg.server.public_url, "https://ar.example.com//x");
        CHECK_STR(cfg.storage.dir, "/tmp/../data/storage");
        CHECK_STR(cfg.viewer.template_path, "/abs/viewer.html");
        CHECK_STR(cfg.viewer.vendor_dir, "/tmp/vendor");
        CHECK_STR(cfg.viewer.pages_dir, ""); /* "": beside the template, not a path */
    }
    arc_config_dispose(&cfg);
    unlink(path);

    /* An error after comments is reported on the file's own line. */
    tmp_text(path, "// one\n// two\n{\n  \"server\": {\"listen\": }\n}\n");
    arc_config_defaults(&cfg);
    rc = arc_config_load(path, &cfg, &err);
    CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, ":4:") != NULL, "%d '%s'", rc, err.msg);
    arc_config_dispose(&cfg);
    unlink(path);

    /* A comment is a whole line: text after a value is still an error. */
    tmp_text(path, "{\"server\": {\"listen\": \"127.0.0.1:1\"} // no\n}\n");
    arc_config_defaults(&cfg);
    rc = arc_config_load(path, &cfg, &err);
    CHECK_MSG(rc == ARC_EINVAL && strstr(err.msg, ":1:") != NULL, "%d '%s'", rc, err.msg);
    arc_config_dispose(&cfg);
    unlink(path);

    /* The environment's storage folder is the caller's, as given. */
    saved_env_t s;
    env_clear(&s);
    tmp_text(path, "{\"storage\": {\"dir\": \"here\"}}");
    setenv("ARCD_STORAGE_DIR", "env/storage", 1);
    rc = arc_config_load_all(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0)
        CHECK_STR(cfg.storage.dir, "env/storage");
    arc_config_dispose(&cfg);
    unlink(path);
    env_restore(&s);
}

TEST(test_log_level)
{
    static const char *const good[] = {"debug", "info", "warn", "error"};
    static const char *const bad[] = {"", "INFO", "warning", "trace", "info "};
    const arc_config_key_t *k = key_named("log.level");
    arc_config_t cfg;
    arc_err_t err;

    CHECK(k != NULL);
    if (k == NULL)
        return;
    for (size_t i = 0; i < 4; i++) {
        int rc = load_value(k, json_string(good[i]), &cfg, &err);
        CHECK_MSG(rc == 0, "log.level %s: %s", good[i], err.msg);
        if (rc == 0)
            CHECK_STR(cfg.log.level, good[i]);
        arc_config_dispose(&cfg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(k, json_string(bad[i]));
}
