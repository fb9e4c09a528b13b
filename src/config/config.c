/*
 * The configuration file and environment overrides (include/arcd/config.h).
 * One table describes every key: where it lives in arc_config_t, its type and
 * its range; loading, checking and documentation all follow from it.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <jansson.h>

#include "arcd/config.h"
#include "arcd/file.h"
#include "arcd/limits.h"
#include "arcd/log.h"
#include "arcd/net.h"
#include "arcd/tpl.h"

#define T_INT ARC_CONFIG_INT
#define T_U64 ARC_CONFIG_U64
#define T_INT32 ARC_CONFIG_INT32
#define T_STR ARC_CONFIG_STR
#define T_DBL ARC_CONFIG_DOUBLE
#define T_ONOFF ARC_CONFIG_ONOFF
#define T_CIDRS ARC_CONFIG_CIDRS
#define T_ORIGINS ARC_CONFIG_ORIGINS

typedef arc_config_key_t key_t_;

#define K(sec, name, type, field, min, max)                                                        \
    {                                                                                              \
        sec, name, type, offsetof(arc_config_t, field), min, max                                   \
    }

/* A string key's max is its longest value in bytes (0: any). The base URLs
 * are built into every URL arcd hands out and the viewer pages, in buffers
 * of 1 KB (status URLs) and messages of 2 KB (a job's viewUrl and
 * vendorUrl): past those a URL was silently cut, or every job failed as a
 * damaged message. 512 leaves room for the path after the base. */
static const key_t_ keys[] = {
    K("server", "listen", T_STR, server.listen, 0, 0),
    K("server", "publicUrl", T_STR, server.public_url, 0, 512),
    K("server", "maxHeaderBytes", T_INT, server.max_header_bytes, 1024, 1 << 20),
    K("server", "headerTimeoutMs", T_INT, server.header_timeout_ms, 100, 600000),
    K("server", "idleTimeoutMs", T_INT, server.idle_timeout_ms, 100, 3600000),
    K("server", "minBytesPerSecond", T_INT, server.min_bytes_per_second, 0, 1 << 30),
    K("server", "maxConnections", T_INT, server.max_connections, 1, 100000),
    K("server", "maxConnectionsPerAddress", T_INT, server.max_connections_per_address, 1, 100000),
    K("server", "maxHeaders", T_INT, server.max_headers, 8, 10000),
    K("server", "trustedProxies", T_CIDRS, server.trusted_proxies, 0, 0),
    K("server", "metricsListen", T_STR, server.metrics_listen, 0, 0),
    K("server", "corsOrigins", T_ORIGINS, server.cors_origins, 0, 0),
    K("limits", "uploadBytes", T_INT, limits.upload_bytes, 1024, (int64_t)8 << 30),
    K("limits", "photoBytes", T_INT, limits.photo_bytes, 1024, (int64_t)1 << 30),
    K("limits", "videoBytes", T_INT, limits.video_bytes, 1024, (int64_t)8 << 30),
    K("limits", "uploadsPerMinute", T_INT, limits.uploads_per_minute, 0, 1000000),
    K("database", "url", T_STR, database.url, 0, 0),
    K("database", "poolSize", T_INT, database.pool_size, 1, 100),
    K("database", "acquireTimeoutMs", T_INT, database.acquire_timeout_ms, 10, 600000),
    K("database", "statementTimeoutMs", T_INT, database.statement_timeout_ms, 10, 600000),
    K("storage", "dir", T_STR, storage.dir, 0, 0),
    K("storage", "cacheMaxMb", T_INT, storage.cache_max_mb, 0, 1 << 24),
    K("storage", "cacheMaxDays", T_INT, storage.cache_max_days, 0, 36500),
    K("storage", "minFreeMb", T_INT, storage.min_free_mb, 0, (int64_t)1 << 30),
    K("queue", "leaseSeconds", T_INT, queue.lease_seconds, 2, 3600),
    K("queue", "maxAttempts", T_INT, queue.max_attempts, 1, 100),
    K("queue", "retryBaseSeconds", T_INT, queue.retry_base_seconds, 0, 3600),
    K("queue", "pollSeconds", T_INT, queue.poll_seconds, 1, 3600),
    K("workers", "count", T_INT, workers.count, 0, 256),
    K("workers", "memoryMb", T_INT, workers.memory_mb, 64, 1 << 20),
    K("workers", "jobTimeoutSeconds", T_INT, workers.job_timeout_seconds, 1, 86400),
    K("workers", "nice", T_INT, workers.nice, 0, 19),
    K("workers", "user", T_STR, workers.user, 0, 0),
    K("compile", "maxPixels", T_U64, compile.max_pixels, 1, (int64_t)1 << 40),
    K("compile", "threads", T_INT32, compile.threads, 0, 256),
    K("demo", "ttlHours", T_DBL, demo.ttl_hours, 0, 24 * 365),
    K("demo", "sweepSeconds", T_INT, demo.sweep_seconds, 1, 86400),
    K("demo", "maxExpiryDays", T_INT, demo.max_expiry_days, 1, 3650),
    K("status", "maxWaitSeconds", T_INT, status.max_wait_seconds, 0, 600),
    K("status", "maxEventStreams", T_INT, status.max_event_streams, 0, 100000),
    K("status", "maxEventStreamsPerAddress", T_INT, status.max_event_streams_per_address, 0,
      100000),
    K("status", "maxEventSeconds", T_INT, status.max_event_seconds, 1, 86400),
    K("viewer", "template", T_STR, viewer.template_path, 0, 0),
    K("viewer", "vendorDir", T_STR, viewer.vendor_dir, 0, 0),
    K("viewer", "vendorUrl", T_STR, viewer.vendor_url, 0, 512),
    K("viewer", "pagesDir", T_STR, viewer.pages_dir, 0, 0),
    K("viewer", "filterMinCF", T_DBL, viewer.filter_min_cf, 0, 1),
    K("viewer", "filterBeta", T_DBL, viewer.filter_beta, 0, 100000),
    K("viewer", "shopName", T_STR, viewer.shop_name, 0, 200),
    K("viewer", "logoUrl", T_STR, viewer.logo_url, 0, 512),
    K("viewer", "accentColor", T_STR, viewer.accent_color, 0, 0), /* "#rrggbb": str_ok */
    K("photo", "maxSide", T_INT32, photo.max_side, 64, 8192),
    K("photo", "border", T_ONOFF, photo.border, 0, 1),
    K("photo", "borderRatio", T_DBL, photo.border_ratio, 0, 1),
    K("photo", "jpegQuality", T_INT32, photo.jpeg_quality, 50, 100),
    K("photo", "maxPixels", T_U64, photo.max_pixels, 1, (int64_t)1 << 40),
    K("video", "maxSide", T_INT32, video.max_side, 160, 1920),
    K("video", "maxSeconds", T_INT32, video.max_seconds, 1, 3600),
    K("video", "maxPixels", T_U64, video.max_pixels, 1, (int64_t)1 << 32),
    K("video", "crf", T_INT32, video.crf, 0, 51),
    K("video", "preset", T_STR, video.preset, 0, 0),
    K("video", "copy", T_ONOFF, video.copy, 0, 1),
    K("video", "smartCrop", T_ONOFF, video.smart_crop, 0, 1),
    K("app", "dir", T_STR, app.dir, 0, 0),
    K("print", "size", T_STR, print.size, 0, 0),
    K("print", "photoMm", T_DBL, print.photo_mm, 0, 1000),
    K("print", "language", T_STR, print.language, 0, 0),
    K("notify", "webhookUrl", T_STR, notify.webhook_url, 0, 0),
    K("notify", "webhookSecret", T_STR, notify.webhook_secret, 0, 0),
    K("notify", "allowPrivateTargets", T_ONOFF, notify.allow_private, 0, 1),
    K("notify", "timeoutMs", T_INT, notify.timeout_ms, 100, 600000),
    K("notify", "retryHours", T_DBL, notify.retry_hours, 0, 720),
    K("notify", "concurrency", T_INT, notify.concurrency, 1, 1000),
    K("notify", "language", T_STR, notify.language, 0, 0),
    K("notify", "templatesDir", T_STR, notify.templates_dir, 0, 0),
    K("notify.smtp", "url", T_STR, notify.smtp_url, 0, 0),
    K("notify.smtp", "user", T_STR, notify.smtp_user, 0, 0),
    K("notify.smtp", "password", T_STR, notify.smtp_password, 0, 0),
    K("notify.smtp", "from", T_STR, notify.smtp_from, 0, 0),
    K("log", "level", T_STR, log.level, 0, 0),
};

const arc_config_key_t *arc_config_keys(size_t *n)
{
    *n = sizeof(keys) / sizeof(keys[0]);
    return keys;
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = arc_xstrdup(v);
}

/* The keys naming a file or a folder: a relative value in a settings file
 * is relative to that file's folder. */
static int is_path_key(const key_t_ *k)
{
    static const size_t paths[] = {
        offsetof(arc_config_t, storage.dir),       offsetof(arc_config_t, viewer.template_path),
        offsetof(arc_config_t, viewer.vendor_dir), offsetof(arc_config_t, viewer.pages_dir),
        offsetof(arc_config_t, app.dir),           offsetof(arc_config_t, notify.templates_dir),
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (k->offset == paths[i])
            return 1;
    return 0;
}

void arc_config_defaults(arc_config_t *cfg)
{
    const arc_layout_t *layout = arc_layout();

    memset(cfg, 0, sizeof(*cfg));
    set_str(&cfg->server.listen, "127.0.0.1:8080");
    set_str(&cfg->server.public_url, "http://127.0.0.1:8080");
    cfg->server.max_header_bytes = 16384;
    cfg->server.header_timeout_ms = 10000;
    cfg->server.idle_timeout_ms = 60000;
    cfg->server.min_bytes_per_second = 1024;
    cfg->server.max_connections = 1024;
    cfg->server.max_connections_per_address = 64;
    cfg->server.max_headers = 100;
    cfg->server.trusted_proxies = arc_xcalloc(1, sizeof(char *));
    cfg->server.cors_origins = arc_xcalloc(1, sizeof(char *));
    set_str(&cfg->server.metrics_listen, "");
    cfg->limits.upload_bytes = 220 << 20;
    cfg->limits.photo_bytes = 40 << 20;
    cfg->limits.video_bytes = 200 << 20;
    cfg->limits.uploads_per_minute = 30;
    set_str(&cfg->database.url, "");
    cfg->database.pool_size = 4;
    cfg->database.acquire_timeout_ms = 5000;
    cfg->database.statement_timeout_ms = 10000;
    set_str(&cfg->storage.dir, layout->storage_dir);
    cfg->storage.cache_max_mb = 1024;
    cfg->storage.cache_max_days = 30;
    cfg->storage.min_free_mb = 1024;
    cfg->queue.lease_seconds = 30;
    cfg->queue.max_attempts = 3;
    cfg->queue.retry_base_seconds = 5;
    cfg->queue.poll_seconds = 5;
    cfg->workers.count = 0;
    cfg->workers.memory_mb = 1536;
    cfg->workers.job_timeout_seconds = 300;
    cfg->workers.nice = 10;
    set_str(&cfg->workers.user, "nobody");
    cfg->compile.max_pixels = ARC_IMAGE_DEFAULT_MAX_PIXELS;
    cfg->photo.max_pixels = ARC_PHOTO_DEFAULT_MAX_PIXELS;
    cfg->compile.threads = 0;
    cfg->demo.ttl_hours = 24;
    cfg->demo.sweep_seconds = 300;
    cfg->demo.max_expiry_days = 90;
    cfg->status.max_wait_seconds = 60;
    cfg->status.max_event_streams = 1000;
    cfg->status.max_event_streams_per_address = 8;
    cfg->status.max_event_seconds = 900;
    set_str(&cfg->viewer.template_path, layout->template_path);
    set_str(&cfg->viewer.vendor_dir, layout->vendor_dir);
    set_str(&cfg->viewer.vendor_url, "/vendor");
    set_str(&cfg->viewer.pages_dir, "");
    cfg->viewer.filter_min_cf = 0.0001;
    cfg->viewer.filter_beta = 0.001;
    set_str(&cfg->viewer.shop_name, "");
    set_str(&cfg->viewer.logo_url, "");
    set_str(&cfg->viewer.accent_color, "#1e88e5");
    cfg->photo.max_side = 1920;
    cfg->photo.border = 1;
    cfg->photo.border_ratio = 0.12;
    cfg->photo.jpeg_quality = 92;
    cfg->video.max_side = 1280;
    cfg->video.max_seconds = 120;
    cfg->video.max_pixels = 4096ULL * 4096ULL;
    cfg->video.crf = 23;
    set_str(&cfg->video.preset, "veryfast");
    cfg->video.copy = 1;
    cfg->video.smart_crop = 1;
    set_str(&cfg->app.dir, layout->app_dir);
    set_str(&cfg->print.size, "A4");
    cfg->print.photo_mm = 0;
    set_str(&cfg->print.language, "ru");
    set_str(&cfg->notify.webhook_url, "");
    set_str(&cfg->notify.webhook_secret, "");
    cfg->notify.allow_private = 0;
    cfg->notify.timeout_ms = 10000;
    cfg->notify.retry_hours = 24;
    cfg->notify.concurrency = 16;
    set_str(&cfg->notify.language, "ru");
    set_str(&cfg->notify.templates_dir, "");
    set_str(&cfg->notify.smtp_url, "");
    set_str(&cfg->notify.smtp_user, "");
    set_str(&cfg->notify.smtp_password, "");
    set_str(&cfg->notify.smtp_from, "");
    set_str(&cfg->log.level, "info");
}

static void tokens_clear(arc_config_t *cfg)
{
    for (size_t i = 0; i < cfg->auth.n_tokens; i++) {
        free(cfg->auth.tokens[i].token);
        free(cfg->auth.tokens[i].owner);
    }
    free(cfg->auth.tokens);
    cfg->auth.tokens = NULL;
    cfg->auth.n_tokens = 0;
}

static void token_add(arc_config_t *cfg, const char *token, const char *owner, int admin)
{
    cfg->auth.tokens =
        arc_xrealloc(cfg->auth.tokens, cfg->auth.n_tokens + 1, sizeof(*cfg->auth.tokens));
    arc_token_t *t = &cfg->auth.tokens[cfg->auth.n_tokens++];
    t->token = arc_xstrdup(token);
    t->owner = arc_xstrdup(owner);
    t->admin = admin;
}

static void list_free(char **list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        free(list[i]);
    free(list);
}

void arc_config_dispose(arc_config_t *cfg)
{
    if (cfg == NULL)
        return;
    tokens_clear(cfg);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].type == T_STR) {
            char **slot = (char **)((char *)cfg + keys[i].offset);
            free(*slot);
            *slot = NULL;
        } else if (keys[i].type == T_CIDRS || keys[i].type == T_ORIGINS) {
            char ***slot = (char ***)((char *)cfg + keys[i].offset);
            list_free(*slot);
            *slot = NULL;
        }
    }
}

/* Room kept at the end of err for the line saying how many did not fit. */
#define TAIL_ROOM 48

/* Appends one line to err's message; a line that does not fit whole is
 * left out and counted in a last line "(and N more problems)". */
static void complain(arc_err_t *err, int *bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void complain(arc_err_t *err, int *bad, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    size_t used = strlen(err->msg);

    (*bad)++;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    char *more = strstr(err->msg, "\n(and ");
    if (more == NULL && used + (size_t)n + 2 < sizeof(err->msg) - TAIL_ROOM) {
        snprintf(err->msg + used, sizeof(err->msg) - used, "%s%s", used ? "\n" : "", line);
        return;
    }
    /* Full: count it in the last line. */
    int left = 1;
    if (more != NULL) {
        left += (int)strtol(more + 6, NULL, 10);
        *more = '\0';
        used = (size_t)(more - err->msg);
    }
    snprintf(err->msg + used, sizeof(err->msg) - used, "\n(and %d more problem%s)", left,
             left == 1 ? "" : "s");
}

static const key_t_ *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int section_known(const char *section)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].section, section) == 0)
            return 1;
    return 0;
}

/* Stores an integer after checking its range; returns 0 or -1. */
static int store_int(arc_config_t *cfg, const key_t_ *k, int64_t v)
{
    void *slot = (char *)cfg + k->offset;

    if (v < k->min || v > k->max)
        return -1;
    if (k->type == T_INT)
        *(int64_t *)slot = v;
    else if (k->type == T_U64)
        *(uint64_t *)slot = (uint64_t)v;
    else
        *(int *)slot = (int)v;
    return 0;
}

/* "auth": {"tokens": [{"token": "...", "owner": "...", "role": "owner"|"admin"}]} */
static void load_auth(arc_config_t *cfg, json_t *obj, arc_err_t *err, int *bad)
{
    const char *name;
    json_t *v, *t;
    size_t i;

    if (!json_is_object(obj)) {
        complain(err, bad, "config: 'auth' must be an object");
        return;
    }
    json_object_foreach(obj, name, v)
    {
        if (strcmp(name, "tokens") != 0) {
            complain(err, bad, "config: unknown key 'auth.%s'", name);
            continue;
        }
        if (!json_is_array(v)) {
            complain(err, bad, "config: auth.tokens must be an array");
            continue;
        }
        tokens_clear(cfg);
        json_array_foreach(v, i, t)
        {
            const char *token = json_string_value(json_object_get(t, "token"));
            const char *owner = json_string_value(json_object_get(t, "owner"));
            const char *role = json_string_value(json_object_get(t, "role"));
            if (!json_is_object(t) || token == NULL || strlen(token) < 16 || owner == NULL ||
                owner[0] == '\0' || strlen(owner) > 128 ||
                (role != NULL && strcmp(role, "owner") != 0 && strcmp(role, "admin") != 0) ||
                json_object_size(t) > (size_t)(role ? 3 : 2)) {
                complain(err, bad,
                         "config: auth.tokens[%zu] must be {\"token\": at least 16 characters, "
                         "\"owner\": a name, \"role\": \"owner\" or \"admin\"}",
                         i);
                continue;
            }
            token_add(cfg, token, owner, role != NULL && strcmp(role, "admin") == 0);
        }
    }
}

/* x264's speed presets: anything else fails every video job. */
static int preset_known(const char *p)
{
    static const char *const presets[] = {"ultrafast", "superfast", "veryfast", "faster",
                                          "fast",      "medium",    "slow",     "slower",
                                          "veryslow",  "placebo",   NULL};
    for (const char *const *q = presets; *q != NULL; q++)
        if (strcmp(p, *q) == 0)
            return 1;
    return 0;
}

/* An array of origins ("https://shop.example", "http://localhost:3000"): a
 * scheme, a host and maybe a port, nothing else (CORS compares exactly). */
static int origin_ok(const char *o)
{
    const char *host = strncmp(o, "https://", 8) == 0  ? o + 8
                       : strncmp(o, "http://", 7) == 0 ? o + 7
                                                       : NULL;

    if (host == NULL || *host == '\0' || strlen(o) > 255)
        return 0;
    for (const char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
              *p == ':' || *p == '[' || *p == ']'))
            return 0;
    return 1;
}

/* A listen address: an IPv4 address or an IPv6 one, the IPv6 one in
 * brackets as in a URL ("[::1]:8080"; bare, "::1:8080" still reads, the
 * last colon before the port), then a port, 0 to 65535 (0: the system
 * picks). Host names are not looked up: the daemon binds to an address. */
static int listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    unsigned char addr[16];
    size_t n;

    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5 ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || strtol(colon + 1, NULL, 10) > 65535)
        return 0;
    n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        if (n - 2 >= sizeof(host))
            return 0;
        memcpy(host, s + 1, n - 2);
        host[n - 2] = '\0';
        return inet_pton(AF_INET6, host, addr) == 1;
    }
    if (n == 0 || n >= sizeof(host))
        return 0;
    memcpy(host, s, n);
    host[n] = '\0';
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* A string key's value: its length, and the form of the keys that have
 * one. Returns 1, or 0 with the end of the complaint in why. */
static int str_ok(const key_t_ *k, const char *v, char *why, size_t size)
{
    size_t len = strlen(v);

    if (k->max > 0 && len > (size_t)k->max) {
        snprintf(why, size, "must be at most %lld bytes long (it has %zu)", (long long)k->max, len);
        return 0;
    }
    if (k->offset == offsetof(arc_config_t, video.preset) && !preset_known(v)) {
        snprintf(why, size,
                 "must be one of x264's presets (ultrafast, superfast, veryfast, faster, fast, "
                 "medium, slow, slower, veryslow, placebo)");
        return 0;
    }
    if (k->offset == offsetof(arc_config_t, print.size) && arc_paper_find(v) == NULL) {
        snprintf(why, size, "must be a paper size: %s (it is '%.80s')", arc_paper_names(), v);
        return 0;
    }
    arc_log_level_t level;
    if (k->offset == offsetof(arc_config_t, log.level) && arc_log_level_parse(v, &level) != 0) {
        snprintf(why, size, "must be debug, info, warn or error (it is '%.80s')", v);
        return 0;
    }
    if (k->offset == offsetof(arc_config_t, print.language) && !arc_sheet_language_known(v)) {
        snprintf(why, size, "must be ru or en (it is '%.80s')", v);
        return 0;
    }
    if (k->offset == offsetof(arc_config_t, viewer.accent_color) && !arc_tpl_color_valid(v)) {
        snprintf(why, size, "must be a colour #rrggbb (it is '%.80s')", v);
        return 0;
    }
    if ((k->offset == offsetof(arc_config_t, server.listen) ||
         (k->offset == offsetof(arc_config_t, server.metrics_listen) && v[0] != '\0')) &&
        !listen_ok(v)) {
        snprintf(why, size,
                 "must be an IP address and a port, such as 127.0.0.1:8080 or [::1]:8080 "
                 "(it is '%.80s')",
                 v);
        return 0;
    }
    return 1;
}

static int load_list(json_t *v, char ***slot, int (*ok)(const char *))
{
    size_t i;
    json_t *e;

    if (!json_is_array(v) || json_array_size(v) > 1024)
        return -1;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !ok(json_string_value(e)))
            return -1;
    }
    char **list = arc_xcalloc(json_array_size(v) + 1, sizeof(char *));
    json_array_foreach(v, i, e)
    {
        list[i] = arc_xstrdup(json_string_value(e));
    }
    list_free(*slot);
    *slot = list;
    return 0;
}

static int cidr_ok(const char *s)
{
    arc_cidr_t c;
    return arc_cidr_parse(s, &c) == 0;
}

/* One section's keys (and its subsections', such as notify.smtp). */
/* A string key's value; a relative path is made relative to base. */
static void set_path_or_str(arc_config_t *cfg, const key_t_ *k, const char *v, const char *base)
{
    char **slot = (char **)((char *)cfg + k->offset);

    if (is_path_key(k) && v[0] != '\0' && v[0] != '/' && base != NULL) {
        size_t n = strlen(base) + strlen(v) + 2;
        char *joined = arc_xmalloc(n);
        snprintf(joined, n, "%s/%s", base, v);
        free(*slot);
        *slot = joined;
        return;
    }
    set_str(slot, v);
}

static void load_section(arc_config_t *cfg, const char *section, json_t *obj, const char *base,
                         arc_err_t *err, int *bad)
{
    const char *name;
    json_t *v;

    json_object_foreach(obj, name, v)
    {
        char sub[64];
        snprintf(sub, sizeof(sub), "%s.%s", section, name);
        const key_t_ *k = find_key(section, name);
        if (k == NULL && section_known(sub)) {
            if (json_is_object(v))
                load_section(cfg, sub, v, base, err, bad);
            else
                complain(err, bad, "config: '%s' must be an object", sub);
        } else if (k == NULL) {
            complain(err, bad, "config: unknown key '%s.%s'", section, name);
        } else if (k->type == T_CIDRS) {
            if (load_list(v, (char ***)((char *)cfg + k->offset), cidr_ok) != 0)
                complain(err, bad,
                         "config: %s.%s must be an array of addresses or CIDR ranges such as "
                         "\"10.0.0.0/8\" or \"::1\"",
                         section, name);
        } else if (k->type == T_ORIGINS) {
            if (load_list(v, (char ***)((char *)cfg + k->offset), origin_ok) != 0)
                complain(err, bad,
                         "config: %s.%s must be an array of origins such as "
                         "\"https://crm.example.com\" (a scheme, a host, maybe a port)",
                         section, name);
        } else if (k->type == T_STR) {
            char why[256];
            if (!json_is_string(v))
                complain(err, bad, "config: %s.%s must be a string", section, name);
            else if (!str_ok(k, json_string_value(v), why, sizeof(why)))
                complain(err, bad, "config: %s.%s %s", section, name, why);
            else
                set_path_or_str(cfg, k, json_string_value(v), base);
        } else if (k->type == T_ONOFF) {
            const char *sv = json_string_value(v);
            if (json_is_boolean(v))
                *(int *)((char *)cfg + k->offset) = json_is_true(v);
            else if (sv != NULL && (strcmp(sv, "on") == 0 || strcmp(sv, "off") == 0))
                *(int *)((char *)cfg + k->offset) = strcmp(sv, "on") == 0;
            else
                complain(err, bad, "config: %s.%s must be \"on\" or \"off\"", section, name);
        } else if (k->type == T_DBL) {
            double x = json_number_value(v);
            if (!json_is_number(v) || x < (double)k->min || x > (double)k->max)
                complain(err, bad, "config: %s.%s must be a number from %lld to %lld", section,
                         name, (long long)k->min, (long long)k->max);
            else if (k->offset == offsetof(arc_config_t, print.photo_mm) && x > 0 && x < 20)
                /* The worker's smallest printed photo (ARC_SHEET_MIN_MM). */
                complain(err, bad,
                         "config: %s.%s must be 0 (the largest that fits) or from 20 to 1000",
                         section, name);
            else
                *(double *)((char *)cfg + k->offset) = x;
        } else if (!json_is_integer(v) || store_int(cfg, k, json_integer_value(v)) != 0) {
            complain(err, bad, "config: %s.%s must be an integer from %lld to %lld", section, name,
                     (long long)k->min, (long long)k->max);
        }
    }
}

int arc_config_read(const char *path, json_t **out, arc_err_t *err)
{
    struct stat st;
    uint8_t *text = NULL;
    size_t len = 0;
    json_error_t jerr;
    arc_err_t why = {{0}};

    *out = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return arc_err_set(err, ARC_EIO, "config: %s is a folder, not a settings file", path);
    int rc = arc_file_read_all(path, 4u << 20, &text, &len, &why);
    if (rc != 0)
        return arc_err_set(err, rc, "config: %s", why.msg);
    /* A line whose first characters, after blanks, are // is a comment:
     * blanked, so the parser's line numbers stay the file's. Only whole
     * lines: "//" inside a string (a URL) is never touched. */
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && (text[j] == ' ' || text[j] == '\t'))
            j++;
        int comment = j + 1 < len && text[j] == '/' && text[j + 1] == '/';
        while (j < len && text[j] != '\n') {
            if (comment)
                text[j] = ' ';
            j++;
        }
        i = j + 1;
    }
    *out = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (*out == NULL)
        return arc_err_set(err, ARC_EINVAL, "config: %s:%d: %s", path, jerr.line, jerr.text);
    return 0;
}

int arc_config_load(const char *path, arc_config_t *cfg, arc_err_t *err)
{
    char dir[PATH_MAX];
    const char *section;
    json_t *obj;
    int bad = 0;

    json_t *root;
    int rc;

    err->msg[0] = '\0';
    if ((rc = arc_config_read(path, &root, err)) != 0)
        return rc;
    if (!json_is_object(root)) {
        json_decref(root);
        return arc_err_set(err, ARC_EINVAL, "config: %s: the top level must be an object", path);
    }
    /* Relative paths in the file are relative to the file's own folder. */
    if (realpath(path, dir) != NULL)
        *strrchr(dir, '/') = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (dir[0] == '\0')
        snprintf(dir, sizeof(dir), "/");
    json_object_foreach(root, section, obj)
    {
        if (strcmp(section, "auth") == 0) {
            load_auth(cfg, obj, err, &bad);
            continue;
        }
        if (strchr(section, '.') != NULL || !section_known(section)) {
            complain(err, &bad, "config: unknown key '%s'", section);
            continue;
        }
        if (!json_is_object(obj)) {
            complain(err, &bad, "config: '%s' must be an object", section);
            continue;
        }
        load_section(cfg, section, obj, dir, err, &bad);
    }
    json_decref(root);
    return bad ? ARC_EINVAL : 0;
}

int arc_config_apply_env(arc_config_t *cfg, arc_err_t *err)
{
    static const struct {
        const char *var, *section, *name;
    } env[] = {
        {"DATABASE_URL", "database", "url"},
        {"ARCD_LISTEN", "server", "listen"},
        {"ARCD_PUBLIC_URL", "server", "publicUrl"},
        {"ARCD_STORAGE_DIR", "storage", "dir"},
        {"ARCD_WORKERS", "workers", "count"},
        {"ARCD_POOL_SIZE", "database", "poolSize"},
        {"ARCD_WEBHOOK_SECRET", "notify", "webhookSecret"},
        {"ARCD_NOTIFY_ALLOW_PRIVATE", "notify", "allowPrivateTargets"},
    };
    int bad = 0;

    const char *admin = getenv("ARCD_ADMIN_TOKEN");
    if (admin != NULL && admin[0] != '\0') {
        if (strlen(admin) < 16)
            complain(err, &bad, "config: ARCD_ADMIN_TOKEN must have at least 16 characters");
        else
            token_add(cfg, admin, "admin", 1);
    }
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
        const char *v = getenv(env[i].var);
        const key_t_ *k = find_key(env[i].section, env[i].name);
        if (v == NULL)
            continue;
        if (k->type == T_STR) {
            char why[256];
            /* The file's checks hold for the variables too. */
            if (!str_ok(k, v, why, sizeof(why)))
                complain(err, &bad, "config: %s (%s.%s) %s", env[i].var, k->section, k->name, why);
            else
                set_str((char **)((char *)cfg + k->offset), v);
            continue;
        }
        char *end = NULL;
        long long n = strtoll(v, &end, 10);
        /* Digits only: no sign, no spaces, no base prefix. */
        if (*v < '0' || *v > '9' || *end != '\0' || store_int(cfg, k, n) != 0)
            complain(err, &bad, "config: %s must be an integer from %lld to %lld (it is '%s')",
                     env[i].var, (long long)k->min, (long long)k->max, v);
    }
    return bad ? ARC_EINVAL : 0;
}

const char *arc_config_choose(const char *path)
{
    if (path == NULL || path[0] == '\0')
        path = getenv("ARCD_CONFIG");
    if ((path == NULL || path[0] == '\0') && access(arc_layout()->config_file, R_OK) == 0)
        path = arc_layout()->config_file;
    return path != NULL && path[0] != '\0' ? path : NULL;
}

void arc_config_beside_template(const char *setting, const char *template_path, const char *name,
                                char *out, size_t size)
{
    const char *slash = strrchr(template_path, '/');

    if (setting[0] != '\0')
        snprintf(out, size, "%s", setting);
    else if (slash == NULL)
        snprintf(out, size, "./%s", name);
    else
        snprintf(out, size, "%.*s/%s", (int)(slash - template_path), template_path, name);
}

int arc_config_load_all(const char *path, arc_config_t *cfg, arc_err_t *err)
{
    int rc = 0;

    path = arc_config_choose(path);
    arc_config_defaults(cfg);
    err->msg[0] = '\0';
    if (path != NULL && path[0] != '\0')
        rc = arc_config_load(path, cfg, err);
    /* The environment's problems too: one start shows everything to fix. */
    int env_rc = arc_config_apply_env(cfg, err);
    if (rc == 0)
        rc = env_rc;
    if (rc != 0)
        arc_config_dispose(cfg);
    return rc;
}

void arc_config_job_media(const arc_config_t *c, arc_job_media_t *m)
{
    memset(m, 0, sizeof(*m));
    m->max_side = c->photo.max_side;
    m->border = c->photo.border;
    m->border_ratio = c->photo.border_ratio;
    m->jpeg_quality = c->photo.jpeg_quality;
    m->photo_max_pixels = c->photo.max_pixels;
    m->video_max_side = c->video.max_side;
    m->video_max_seconds = c->video.max_seconds;
    m->video_max_pixels = c->video.max_pixels;
    m->video_crf = c->video.crf;
    snprintf(m->video_preset, sizeof(m->video_preset), "%s", c->video.preset);
    m->video_copy = c->video.copy;
    m->video_smart_crop = c->video.smart_crop;
    m->video_threads = 0;
}

void arc_config_job_sheet(const arc_config_t *c, arc_job_sheet_t *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->paper, sizeof(s->paper), "%s", arc_paper_find(c->print.size)->name);
    s->photo_mm = c->print.photo_mm;
    snprintf(s->language, sizeof(s->language), "%s", c->print.language);
}
