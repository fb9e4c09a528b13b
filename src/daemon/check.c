/* The checks of a configuration before it serves (include/arcd/check.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <libpq-fe.h>

#include "arcd/check.h"
#include "arcd/db.h"
#include "arcd/file.h"
#include "arcd/log.h"
#include "app.h"
#include "notify.h"
#include "pages.h"

static arc_check_t *begin(arc_check_report_t *r, const char *name, int fatal)
{
    arc_check_t *c = &r->items[r->n++];

    memset(c, 0, sizeof(*c));
    c->name = name;
    c->fatal = fatal;
    c->state = ARC_CHECK_PASS;
    return c;
}

/* Appends a line to c's detail ("; " between parts). */
static void note(arc_check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(arc_check_t *c, const char *fmt, ...)
{
    size_t used = strlen(c->detail);
    va_list ap;

    if (used > 0 && used + 2 < sizeof(c->detail)) {
        memcpy(c->detail + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(c->detail + used, sizeof(c->detail) - used, fmt, ap);
    va_end(ap);
}

/* Marks c failed, with a note and (the first) fix. */
static void fail(arc_check_t *c, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(arc_check_t *c, const char *fix, const char *fmt, ...)
{
    char line[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    note(c, "%s", line);
    c->state = ARC_CHECK_FAIL;
    if (c->fix[0] == '\0')
        snprintf(c->fix, sizeof(c->fix), "%s", fix);
}

/* ---- database, schema and the tokens kept there ---- */

static PGconn *db_connect(const arc_config_t *cfg)
{
    /* The settings' URL or key=value string, with a bounded wait. */
    const char *const keys[] = {"dbname", "connect_timeout", NULL};
    const char *const values[] = {cfg->database.url, "5", NULL};

    return PQconnectdbParams(keys, values, 1);
}

static long long db_count(PGconn *db, const char *sql, int *ok)
{
    PGresult *res = PQexec(db, sql);
    long long n = -1;

    *ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (*ok)
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static void check_database(arc_check_report_t *r, const arc_config_t *cfg, long long *db_tokens)
{
    arc_check_t *c = begin(r, "database", 1);
    int ok, newest = arc_migrations[arc_migrations_count - 1].version;
    PGconn *db = db_connect(cfg);

    *db_tokens = -1;
    if (PQstatus(db) != CONNECTION_OK) {
        char why[512];
        snprintf(why, sizeof(why), "%s", PQerrorMessage(db));
        why[strcspn(why, "\n")] = '\0';
        fail(c,
             "start PostgreSQL, or set database.url / DATABASE_URL (the service: "
             "createuser arcd; createdb -O arcd arcd, as postgres)",
             "cannot connect to PostgreSQL (%s): %s",
             cfg->database.url[0] ? "database.url" : "libpq's defaults", why);
        r->db_failed = 1;
        goto out;
    }
    note(c, "PostgreSQL %s, database %s as %s", PQparameterStatus(db, "server_version"), PQdb(db),
         PQuser(db));
    long long exists =
        db_count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'arcd_migrations'", &ok);
    long long have = 0, top = 0;
    if (ok && exists > 0) {
        int ok2;
        have = db_count(db, "SELECT count(*) FROM arcd_migrations", &ok);
        top = db_count(db, "SELECT coalesce(max(version), 0) FROM arcd_migrations", &ok2);
        ok = ok && ok2;
    }
    if (!ok) {
        fail(c, "grant the database's user access to it", "cannot read the schema: %s",
             PQerrorMessage(db));
        r->db_failed = 1;
    } else if (top > newest) {
        fail(c, "run the arcd that made this schema, or a newer one",
             "schema at migration %lld, newer than this arcd's %d", top, newest);
        r->db_failed = 1;
    } else if (have < (long long)arc_migrations_count) {
        /* Not a failure: serve applies them as it starts. */
        long long pending = (long long)arc_migrations_count - have;
        note(c,
             "schema at %lld of %zu migrations: %lld to apply (arcd serve does as it starts, "
             "or arcd migrate)",
             have, arc_migrations_count, pending);
    } else {
        note(c, "schema current (migration %d)", newest);
        *db_tokens = db_count(db, "SELECT count(*) FROM arcd_tokens WHERE revoked_at IS NULL", &ok);
        if (!ok)
            *db_tokens = -1;
    }
out:
    PQfinish(db);
}

/* ---- storage ---- */

/* A daemon started as root runs its workers as workers.user: every folder
 * above the storage must let that user through, or every job fails with
 * "Permission denied" (a storage under /root, or under a 0700 folder). */
static int workers_cannot_reach(arc_check_t *c, const arc_config_t *cfg, const char *existing,
                                int self)
{
    struct passwd *pw = getpwnam(cfg->workers.user);
    char path[PATH_MAX + 2];

    if (pw == NULL || pw->pw_uid == 0 || realpath(existing, path) == NULL)
        return 0; /* the daemon itself says so, or runs its workers as root */
    /* existing itself too when the storage is still to be made below it
     * (the daemon opens the storage folder itself to its workers). */
    if (self)
        memcpy(path + strlen(path), "/.", 3);
    for (char *slash = strrchr(path, '/'); slash != NULL; slash = strrchr(path, '/')) {
        struct stat st;
        if (slash == path)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (stat(path, &st) != 0)
            break;
        /* The kernel's rule: the owner's bits for the owner, else the
         * group's for the group, else the others'. */
        int through = st.st_uid == pw->pw_uid   ? (st.st_mode & S_IXUSR) != 0
                      : st.st_gid == pw->pw_gid ? (st.st_mode & S_IXGRP) != 0
                                                : (st.st_mode & S_IXOTH) != 0;
        if (!through) {
            fail(c, "chmod o+x that folder, or put the storage elsewhere (storage.dir)",
                 "the workers' user %s cannot pass through %s (mode %03o) to reach the storage: "
                 "every job would fail",
                 cfg->workers.user, path, (unsigned)(st.st_mode & 0777));
            return 1;
        }
        if (slash == path)
            break;
    }
    return 0;
}

static void check_storage(arc_check_report_t *r, const arc_config_t *cfg)
{
    arc_check_t *c = begin(r, "storage", 1);
    const char *dir = cfg->storage.dir;
    char probe[PATH_MAX + 64];
    struct statvfs vfs;

    /* Nothing is made here (a check run as root would leave root's
     * folders where the service's user must write): a missing storage
     * is made by arcd serve, if its nearest existing folder lets it. */
    char existing[PATH_MAX];
    struct stat st;
    snprintf(existing, sizeof(existing), "%s", dir);
    while (stat(existing, &st) != 0) {
        char *slash = strrchr(existing, '/');
        if (slash == NULL || slash == existing) {
            snprintf(existing, sizeof(existing), "%s", slash == existing ? "/" : ".");
            break;
        }
        *slash = '\0';
    }
    if (strcmp(existing, dir) != 0) {
        if (access(existing, W_OK) != 0) {
            fail(c, "create it for the daemon's user, or set storage.dir / ARCD_STORAGE_DIR",
                 "%s does not exist and %s is not writable: %s", dir, existing, strerror(errno));
            return;
        }
        note(c, "%s will be made by arcd serve (in %s)", dir, existing);
    } else {
        snprintf(probe, sizeof(probe), "%s/.arcd-check-%d", dir, (int)getpid());
        int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, "x", 1) != 1) {
            fail(c, "give the daemon's user write access to it (chown), or set storage.dir",
                 "%s is not writable: %s", dir, strerror(errno));
            if (fd >= 0)
                close(fd);
            unlink(probe);
            return;
        }
        close(fd);
        unlink(probe);
        note(c, "%s writable", dir);
    }
    if (geteuid() == 0 && workers_cannot_reach(c, cfg, existing, strcmp(existing, dir) != 0))
        return;
    /* Low space is not fatal: the customers' viewers keep working. */
    c = begin(r, "space", 0);
    if (statvfs(existing, &vfs) != 0) {
        fail(c, "", "cannot read the free space of %s: %s", dir, strerror(errno));
    } else {
        unsigned long long free_mb =
            (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize >> 20;
        if (free_mb < (unsigned long long)cfg->storage.min_free_mb)
            fail(c, "free some space, or lower storage.minFreeMb",
                 "%llu MB free, below storage.minFreeMb (%lld)", free_mb,
                 (long long)cfg->storage.min_free_mb);
        else
            note(c, "%llu MB free", free_mb);
    }
}

/* ---- the viewer's files, the pages, the mails, the web app ---- */

static int readable(const char *dir, const char *name)
{
    char path[PATH_MAX + 128];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, R_OK) == 0;
}

static void check_viewer(arc_check_report_t *r, const arc_config_t *cfg)
{
    arc_check_t *c = begin(r, "viewer", 1);
    char dir[PATH_MAX];
    arc_err_t err = {{0}};
    arc_pages_t *pages = NULL;

    if (access(cfg->viewer.template_path, R_OK) != 0)
        fail(c, "install arcd's share/arcd files, or set viewer.template",
             "the viewer template %s: %s", cfg->viewer.template_path, strerror(errno));
    else
        note(c, "template %s", cfg->viewer.template_path);

    arc_config_beside_template(cfg->viewer.pages_dir, cfg->viewer.template_path, "pages", dir,
                               sizeof(dir));
    if (arc_pages_load(dir, &pages, &err) != 0)
        fail(c, "install arcd's share/arcd files, or set viewer.pagesDir", "pages: %s", err.msg);
    else
        note(c, "pages %s", dir);
    arc_pages_free(pages);

    /* The mail templates as the notifier reads them (every field known). */
    arc_config_beside_template(cfg->notify.templates_dir, cfg->viewer.template_path, "mail", dir,
                               sizeof(dir));
    if (arc_notify_check_templates(dir, cfg->notify.language, &err) != 0)
        fail(c, "install arcd's share/arcd files, or set notify.templatesDir", "mail: %s", err.msg);

    /* Scripts arcd serves itself (vendorUrl "/vendor"); a CDN's are its own. */
    if (cfg->viewer.vendor_url[0] != '/') {
        note(c, "scripts from %s", cfg->viewer.vendor_url);
        return;
    }
    static const char *const scripts[] = {"aframe.min.js", "mindar-image-aframe.prod.js"};
    int plain = 1, packed = 1;
    for (size_t i = 0; i < 2; i++) {
        char name[64];
        plain &= readable(cfg->viewer.vendor_dir, scripts[i]);
        snprintf(name, sizeof(name), "%s.br", scripts[i]);
        packed &= readable(cfg->viewer.vendor_dir, name);
        snprintf(name, sizeof(name), "%s.gz", scripts[i]);
        packed &= readable(cfg->viewer.vendor_dir, name);
    }
    if (!plain)
        fail(c,
             "scripts/vendor.sh DIR fetches them (the package ships them in "
             "/usr/share/arcd/vendor), or set viewer.vendorDir",
             "the viewer's scripts (A-Frame, mind-ar) are not in %s: every viewer page would "
             "fail",
             cfg->viewer.vendor_dir);
    else
        note(c, "scripts %s", cfg->viewer.vendor_dir);
    /* Without their compressed forms pages still work, only slower. */
    c = begin(r, "compressed", 0);
    if (!plain)
        c->state = ARC_CHECK_SKIP;
    else if (!packed)
        fail(c, "scripts/vendor.sh DIR makes the .br and .gz forms beside them",
             "the viewer's scripts in %s have no brotli or gzip form: 3.1 MB to every phone",
             cfg->viewer.vendor_dir);
    else
        note(c, "the viewer's scripts in brotli and gzip");
}

/* The web app as serve reads it: missing, it is a warning (the API works);
 * there but unservable (an unknown file type, a mistyped {{field}} in
 * index.html), serve refuses to start. */
static void check_app(arc_check_report_t *r, const arc_config_t *cfg)
{
    arc_check_t *c = begin(r, "app", 0);
    arc_app_t *app = NULL;
    arc_err_t err = {{0}};

    int rc = arc_app_load(cfg->app.dir, cfg->server.public_url, &app, &err);
    if (rc == 0 && !readable(cfg->app.dir, "app.js"))
        rc = arc_err_set(&err, ARC_EIO, "%s has no app.js", cfg->app.dir);
    if (rc == ARC_EIO) {
        fail(c, "install arcd's share/arcd files, or set app.dir",
             "the web app is not whole (%s): / would answer 404 (the API works)", err.msg);
    } else if (rc != 0) {
        c->fatal = 1;
        fail(c, "mend the file, or install arcd's share/arcd files", "%s", err.msg);
    } else {
        note(c, "%s", cfg->app.dir);
    }
    arc_app_free(app);
}

/* ---- the public URL ---- */

/* Whether host (n bytes, no port; IPv6 in brackets) is this machine:
 * localhost, 127.0.0.0/8, ::1 or ::ffff:127.x.x.x, read as addresses. */
static int loopback(const char *host, size_t n)
{
    char h[64];
    unsigned char a[16];

    if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
        return 1;
    if (n >= sizeof(h))
        return 0;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        if (inet_pton(AF_INET6, h, a) != 1)
            return 0;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a) ||
               (memcmp(a, mapped, 12) == 0 && a[12] == 127);
    }
    memcpy(h, host, n);
    h[n] = '\0';
    return inet_pton(AF_INET, h, a) == 1 && a[0] == 127;
}

/* The host of "host:port", "[v6]:port" or a URL's authority (after any
 * user@): *start and its length. */
static size_t host_of(const char *s, const char **start)
{
    size_t auth = strcspn(s, "/?#");
    const char *at = memrchr(s, '@', auth);

    if (at != NULL) {
        auth -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    *start = s;
    if (s[0] == '[') {
        const char *end = memchr(s, ']', auth);
        return end != NULL ? (size_t)(end - s) + 1 : auth;
    }
    size_t n = strcspn(s, ":/?#");
    return n < auth ? n : auth;
}

static void check_public_url(arc_check_report_t *r, const arc_config_t *cfg)
{
    arc_check_t *c = begin(r, "publicUrl", 1);
    const char *u = cfg->server.public_url;
    const char *host = strncmp(u, "https://", 8) == 0  ? u + 8
                       : strncmp(u, "http://", 7) == 0 ? u + 7
                                                       : NULL;
    const char *fix = "set server.publicUrl (or ARCD_PUBLIC_URL) to the https address phones "
                      "open, such as https://ar.example.com";

    if (u[0] == '\0') {
        fail(c, fix, "server.publicUrl is not set: every QR code and link is made from it");
        return;
    }
    int plain = host == u + 7;
    size_t hn = host != NULL ? host_of(host, &host) : 0;
    if (host == NULL || hn == 0) {
        fail(c, fix, "'%s' is not an absolute http(s) URL with a host", u);
        return;
    }
    int local = loopback(host, hn);
    if (!local && plain) {
        fail(c, fix, "'%s' is plain http: phones open the camera only over https (or on localhost)",
             u);
        return;
    }
    const char *l = cfg->server.listen, *lh;
    size_t ln = host_of(l, &lh);
    if (local && !loopback(lh, ln)) {
        fail(c, fix,
             "'%s' points at this machine while arcd listens on %s: phones would get links "
             "to themselves",
             u, l);
        return;
    }
    note(c, "%s", u);
}

/* ---- SMTP ---- */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static void check_smtp(arc_check_report_t *r, const arc_config_t *cfg, unsigned flags)
{
    arc_check_t *c = begin(r, "smtp", 0);
    char errbuf[CURL_ERROR_SIZE] = "";

    if (cfg->notify.smtp_url[0] == '\0') {
        c->state = ARC_CHECK_SKIP;
        note(c, "no notify.smtp.url: no email");
        return;
    }
    if (flags & ARC_CHECK_FOR_SERVE) {
        c->state = ARC_CHECK_SKIP;
        note(c, "checked by arcd check");
        return;
    }
    CURL *e = curl_easy_init();
    if (e == NULL) {
        fail(c, "", "libcurl could not start");
        return;
    }
    arc_notify_smtp_options(e, cfg);
    /* The greeting, EHLO, STARTTLS and the login, then a NOOP: no mail. */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "NOOP");
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(e);
    if (rc != CURLE_OK)
        fail(c, "check notify.smtp.url, user and password, and that this machine may reach it",
             "%s: %s", cfg->notify.smtp_url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else
        note(c, "%s answers%s", cfg->notify.smtp_url,
             cfg->notify.smtp_user[0] ? ", login accepted" : "");
    curl_easy_cleanup(e);
}

/* ---- tokens ---- */

static void check_tokens(arc_check_report_t *r, const arc_config_t *cfg, long long db_tokens)
{
    arc_check_t *c = begin(r, "tokens", 0);

    if (cfg->auth.n_tokens > 0)
        note(c, "%zu in the settings and the environment", cfg->auth.n_tokens);
    if (db_tokens > 0)
        note(c, "%lld made with arcd token create", db_tokens);
    if (cfg->auth.n_tokens > 0 || db_tokens > 0)
        return;
    if (db_tokens < 0) {
        /* The database's tokens are unknown: its own check says why. */
        c->state = ARC_CHECK_SKIP;
        note(c, "none in the settings; the database's could not be read");
        return;
    }
    fail(c, "arcd token create --role admin --owner NAME (or ARCD_ADMIN_TOKEN, or auth.tokens)",
         "no API token: nobody could use the API");
}

int arc_check_run(const arc_config_t *cfg, const char *config_path, unsigned flags,
                  arc_check_report_t *out)
{
    long long db_tokens = -1;

    memset(out, 0, sizeof(*out));
    arc_check_t *c = begin(out, "config", 1);
    note(c, "%s", config_path != NULL ? config_path : "built-in defaults (no settings file)");
    check_database(out, cfg, &db_tokens);
    check_storage(out, cfg);
    check_viewer(out, cfg);
    check_app(out, cfg);
    check_public_url(out, cfg);
    check_smtp(out, cfg, flags);
    check_tokens(out, cfg, db_tokens);
    for (size_t i = 0; i < out->n; i++) {
        if (out->items[i].state != ARC_CHECK_FAIL)
            continue;
        out->failed++;
        out->fatal_failed += out->items[i].fatal;
    }
    return out->failed;
}

void arc_check_print(const arc_check_report_t *r, FILE *f, int failures_only)
{
    static const char *const word[] = {"ok  ", "FAIL", "skip"};

    for (size_t i = 0; i < r->n; i++) {
        const arc_check_t *c = &r->items[i];
        if (failures_only && c->state != ARC_CHECK_FAIL)
            continue;
        fprintf(f, "%s  %-9s  %s\n", word[c->state], c->name, c->detail);
        if (c->state == ARC_CHECK_FAIL && c->fix[0] != '\0')
            fprintf(f, "      %-9s  fix: %s\n", "", c->fix);
        if (c->state == ARC_CHECK_FAIL && !c->fatal)
            fprintf(f, "      %-9s  (not fatal: arcd serve starts anyway)\n", "");
    }
}

void arc_check_log(const arc_check_report_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const arc_check_t *c = &r->items[i];
        if (c->state != ARC_CHECK_FAIL)
            continue;
        char detail[sizeof(c->detail)], fix[sizeof(c->fix)];
        snprintf(detail, sizeof(detail), "%s", c->detail);
        snprintf(fix, sizeof(fix), "%s", c->fix);
        arc_log_utf8(detail); /* a cut may split a character */
        arc_log_utf8(fix);
        arc_log_event(c->fatal ? ARC_LOG_ERROR : ARC_LOG_WARN, "check failed",
                      json_pack("{s:s, s:s, s:s, s:b}", "check", c->name, "detail", detail, "fix",
                                fix, "fatal", c->fatal));
    }
}
