/*
 * config.h: arcd's settings, and where arcd's own files are. A settings file
 * holds them (JSON; a line starting with // is a comment; every key
 * documented in config/README.md): config/arcd.json in a checkout,
 * /etc/arcd/arcd.json installed. Environment variables override a few (DATABASE_URL,
 * ARCD_LISTEN, ARCD_PUBLIC_URL, ARCD_STORAGE_DIR, ARCD_WORKERS,
 * ARCD_POOL_SIZE). Checking is strict and complete: every unknown key, wrong
 * type, out-of-range value and bad environment variable gets its own line in
 * the error, so one start-up shows everything to fix (fail fast).
 *
 * Read once at start-up, before the daemon's loop runs; the struct is plain
 * data owned by the caller (strings freed by arc_config_dispose()).
 */
#ifndef ARCD_CONFIG_H
#define ARCD_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "arcd/error.h"
#include "arcd/proto.h"

/* An API bearer token: its owner sees the projects it made; an admin token
 * sees every project. */
typedef struct arc_token_s {
    char *token;
    char *owner;
    int admin;
} arc_token_t;

typedef struct arc_config_s {
    struct {
        char *listen;     /* "127.0.0.1:8080" */
        char *public_url; /* base of the URLs handed out, e.g. the QR code's */
        int64_t max_header_bytes;
        int64_t header_timeout_ms;
        int64_t idle_timeout_ms;
        int64_t min_bytes_per_second; /* slow-sender guard for bodies */
        int64_t max_connections;
        int64_t max_connections_per_address; /* per client address (not for trusted proxies) */
        int64_t max_headers;                 /* header fields in one request head */
        char **trusted_proxies; /* CIDRs whose X-Forwarded-For/-Proto are believed; NULL-ended */
        char *metrics_listen;   /* host:port serving /metrics alone; "": an admin token */
        char **cors_origins;    /* origins a browser frontend may call the API from; NULL-ended */
    } server;
    struct {
        int64_t upload_bytes;
        int64_t photo_bytes;
        int64_t video_bytes;
        int64_t uploads_per_minute; /* per client address; 0 = unlimited */
    } limits;
    struct {
        char *url; /* libpq connection string or URI; empty: local socket defaults */
        int64_t pool_size;
        int64_t acquire_timeout_ms;
        int64_t statement_timeout_ms;
    } database;
    struct {
        char *dir;
        int64_t cache_max_mb;   /* the compiled-marker cache's size at most */
        int64_t cache_max_days; /* a cache entry unused this long is removed */
        int64_t min_free_mb;    /* free space below this fails `arcd check` */
    } storage;
    struct {
        int64_t lease_seconds;
        int64_t max_attempts;
        int64_t retry_base_seconds;
        int64_t poll_seconds;
    } queue;
    struct {
        int64_t count; /* 0: one per core */
        int64_t memory_mb;
        int64_t job_timeout_seconds;
        int64_t nice;
        char *user; /* a daemon started as root runs its workers as this user */
    } workers;
    struct {
        uint64_t max_pixels;
        int threads;
    } compile;
    struct {
        double ttl_hours;        /* a demo's lifetime (fractions allowed) */
        int64_t sweep_seconds;   /* how often expired projects are removed */
        int64_t max_expiry_days; /* the farthest a demo's expiresAt may be set, from now */
    } demo;
    struct {
        char *template_path;  /* the viewer page's template */
        char *vendor_dir;     /* A-Frame and MindAR scripts, served under /vendor/ */
        char *vendor_url;     /* where pages load them from: "/vendor" or a CDN base */
        char *pages_dir;      /* the daemon's own pages; "": pages/ beside the template */
        double filter_min_cf; /* MindAR's One Euro filter: jitter vs lag */
        double filter_beta;
        char *shop_name;    /* the shop's name on the customer's page ("": none) */
        char *logo_url;     /* its logo's URL ("": none) */
        char *accent_color; /* its colour, "#rrggbb" */
    } viewer;
    struct {
        int max_side;        /* the print's long side at most, border included */
        int border;          /* draw the printable border (1) or not (0) */
        double border_ratio; /* its width as a share of the photo's long side */
        int jpeg_quality;    /* enhanced-photo.jpg */
        uint64_t max_pixels; /* an upload's pixels at most (from its header) */
    } photo;
    struct {
        int max_side;        /* the output's long side at most */
        int max_seconds;     /* longer uploads are refused */
        uint64_t max_pixels; /* per frame of the upload */
        int crf;             /* x264's quality (lower is better) */
        char *preset;        /* x264's speed preset */
        int copy;            /* copy streams that already fit (1) or always re-encode (0) */
        int smart_crop;      /* cover: place the crop by salience (1) or centre it (0) */
    } video;
    struct {
        char *dir; /* the operator's web app (src/app/), served at / */
    } app;
    struct {
        char *size;      /* the print sheet's paper by default: an arc_paper_t's name */
        double photo_mm; /* the photo's long side on it by default; 0: the largest that fits */
        char *language;  /* the caption's language: "ru" or "en" */
    } print;
    struct {
        char *webhook_url;    /* every event also goes here; "": none */
        char *webhook_secret; /* the HMAC key of X-Arcd-Signature */
        int allow_private;    /* targets on loopback/private networks allowed (tests, a LAN) */
        int64_t timeout_ms;   /* one delivery attempt at most */
        double retry_hours;   /* a delivery is retried this long, then given up */
        int64_t concurrency;  /* deliveries in flight at once */
        char *language;       /* the emails' language: "ru" or "en" */
        char *templates_dir;  /* the emails' templates; "": mail/ beside the viewer template */
        char *smtp_url;       /* smtp://host:587 or smtps://host:465; "": no email */
        char *smtp_user, *smtp_password, *smtp_from;
    } notify;
    struct {
        arc_token_t *tokens; /* auth.tokens, then $ARCD_ADMIN_TOKEN */
        size_t n_tokens;
    } auth;
    struct {
        char *level; /* the log lines written: "debug", "info", "warn" or "error" */
    } log;
    struct {
        int64_t max_wait_seconds;
        int64_t max_event_streams;             /* open at once, in all (0: none) */
        int64_t max_event_streams_per_address; /* open at once, per client address (0: none) */
        int64_t max_event_seconds;             /* an event stream's longest life */
    } status;
} arc_config_t;

/*
 * Where arcd's own files are, found from the program's path, never from the
 * current folder. An installed arcd (PREFIX/bin/arcd, with PREFIX/share/arcd
 * beside it: `cmake --install`, the .deb) reads /etc/arcd/arcd.json (for
 * the prefix /usr; PREFIX/etc/arcd/arcd.json for another), keeps its
 * storage in /var/lib/arcd/storage (PREFIX/var/lib/arcd/storage) and its
 * templates, web app and viewer scripts in PREFIX/share/arcd. Any other
 * arcd is a build of a checkout: the source tree it was built from
 * (config/, src/app/, var/). These are the defaults of the path keys;
 * a relative path in a settings file is relative to that file's folder.
 */
typedef struct arc_layout_s {
    int installed;
    char prefix[PATH_MAX];        /* installed: the prefix; else "" */
    char data_dir[PATH_MAX];      /* PREFIX/share/arcd, or the source tree */
    char config_file[PATH_MAX];   /* the settings file read when none is named */
    char storage_dir[PATH_MAX];   /* storage.dir's default */
    char template_path[PATH_MAX]; /* viewer.template's default (pages/, mail/ beside it) */
    char vendor_dir[PATH_MAX];    /* viewer.vendorDir's default */
    char app_dir[PATH_MAX];       /* app.dir's default */
} arc_layout_t;

/* The layout of the program at exe (an absolute path; NULL: unknown) built
 * from source_dir. */
void arc_layout_from(const char *exe, const char *source_dir, arc_layout_t *out);

/* The layout of an arcd installed under prefix. */
void arc_layout_installed(const char *prefix, arc_layout_t *out);

/* This program's layout, found on first use (not thread-safe before that). */
const arc_layout_t *arc_layout(void);

/* Reads a settings file: JSON whose lines starting with // (after blanks)
 * are comments. Returns 0 with *out (the caller's reference), ARC_EIO
 * (unreadable), ARC_ETOOBIG (over 4 MB) or ARC_EINVAL (not JSON, with its
 * line). */
int arc_config_read(const char *path, json_t **out, arc_err_t *err);

/* Fills cfg with the built-in defaults (strings owned by cfg; the path
 * keys from arc_layout()). */
void arc_config_defaults(arc_config_t *cfg);

/* Reads the JSON file at path over the values in cfg. Returns 0, ARC_EIO
 * (unreadable) or ARC_EINVAL with every problem found, one per line, in err. */
int arc_config_load(const char *path, arc_config_t *cfg, arc_err_t *err);

/* Applies the environment overrides; ARC_EINVAL names each bad variable,
 * one line each, appended to what err already holds. */
int arc_config_apply_env(arc_config_t *cfg, arc_err_t *err);

/* Frees the strings cfg owns; accepts NULL. */
void arc_config_dispose(arc_config_t *cfg);

/*
 * The one loader every subcommand uses: the file at path (the --config
 * option; NULL or "" when not given), else $ARCD_CONFIG, else the layout's
 * settings file when it exists, else the defaults alone; then the
 * environment overrides. Returns 0 with cfg filled (free with
 * arc_config_dispose()), or ARC_EIO / ARC_EINVAL with every problem in err
 * (cfg is then disposed).
 */
int arc_config_load_all(const char *path, arc_config_t *cfg, arc_err_t *err);

/* The file arc_config_load_all(path) reads, or NULL for the defaults alone. */
const char *arc_config_choose(const char *path);

/* A folder that lives beside the viewer template unless set (viewer.pagesDir:
 * "pages", notify.templatesDir: "mail"): setting when not "", else NAME in
 * template_path's folder. */
void arc_config_beside_template(const char *setting, const char *template_path, const char *name,
                                char *out, size_t size);

/* The photo and video settings a job carries (include/arcd/proto.h). */
void arc_config_job_media(const arc_config_t *cfg, arc_job_media_t *out);
/* The print sheet's settings a job carries, the shop's defaults. */
void arc_config_job_sheet(const arc_config_t *cfg, arc_job_sheet_t *out);

/* The keys of the configuration file, for tools and tests: their section,
 * name, type and range (integers and numbers; for a string, max is its
 * longest value in bytes, 0 for any). Besides, server.listen and
 * server.metricsListen must be an IP address and a port ("127.0.0.1:8080",
 * "[::1]:8080"; metricsListen may be ""), video.preset one of x264's
 * presets, print.size a paper arcd knows and print.language ru or en; the environment's values are
 * checked as the file's. */
typedef enum arc_config_type_e {
    ARC_CONFIG_INT,    /* an int64_t */
    ARC_CONFIG_U64,    /* a uint64_t */
    ARC_CONFIG_INT32,  /* an int */
    ARC_CONFIG_STR,    /* a string, owned by the config */
    ARC_CONFIG_DOUBLE, /* a number */
    ARC_CONFIG_ONOFF,  /* true/false or "on"/"off", stored as an int 1/0 */
    ARC_CONFIG_CIDRS,  /* an array of "a.b.c.d/n" or IPv6 CIDRs, as a NULL-ended char ** */
    ARC_CONFIG_ORIGINS /* an array of "scheme://host[:port]", as a NULL-ended char ** */
} arc_config_type_t;

typedef struct arc_config_key_s {
    const char *section;
    const char *name;
    arc_config_type_t type;
    size_t offset;    /* of its field in arc_config_t */
    int64_t min, max; /* a number's range; a string's longest length (max, 0: any) */
} arc_config_key_t;

/* Every key but auth.tokens (an array of objects), in file order. */
const arc_config_key_t *arc_config_keys(size_t *n);

#endif
