/*
 * `arcd backup DIR` and `arcd restore BACKUP` (include/arcd/cli.h).
 *
 * A backup is a folder DIR/arcd-YYYYMMDDTHHMMSSZ holding
 *   database.dump   pg_dump's custom format of the whole database
 *   storage/        every project's files (storage.dir/ar-storage/), as hard
 *                   links when DIR is on the storage's file system, else as
 *                   copies; arcd writes every file whole under a temporary
 *                   name and renames it, so a link keeps the bytes of the
 *                   moment it was made (the marker cache and uploads in
 *                   flight are left out: both are remade)
 *   MANIFEST.sha256 the SHA-256 of every file above, as sha256sum -c reads it
 *   backup.json     when, which arcd, which schema, how many projects and bytes
 * It is made under a hidden name and renamed when complete, so a backup that
 * was cut short never looks like one. The database is dumped first: a
 * project made during the backup may have files and no row (ignored on
 * restore), never a row without the files it had then.
 *
 * pg_dump and pg_restore get the connection through libpq's environment
 * variables (PGHOST, PGPASSWORD, ...), never on their command line, where
 * other users could read a password.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include "arcd/buf.h"
#include "arcd/cli.h"
#include "arcd/config.h"
#include "arcd/db.h"
#include "arcd/error.h"
#include "arcd/file.h"

extern char **environ;

#define PREFIX "arcd-"
#define STAMP_LEN 16 /* YYYYMMDDTHHMMSSZ */

typedef struct walk_s {
    arc_buf_t manifest; /* "hex  path\n" lines */
    long long files, bytes, linked, projects;
    int copy_only; /* a link failed with EXDEV: copy the rest */
} walk_t;

/* ---- files: digests, copies, folders ---- */

static int sha256_file(const char *path, char hex[65], arc_err_t *err)
{
    unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ssize_t n;

    if (fd < 0 || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = arc_err_set(err, ARC_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    if (n < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        rc = arc_err_set(err, ARC_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Copies src to dst (new), with its mode, times and, as root, its owner. */
static int copy_file(const char *src, const char *dst, arc_err_t *err)
{
    char buf[1 << 16];
    struct stat st;
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    ssize_t n;

    if (in < 0 || fstat(in, &st) != 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: %s", src, strerror(errno));
        goto done;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
    if (out < 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: %s", dst, strerror(errno));
        goto done;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0) {
                rc = arc_err_set(err, ARC_EIO, "%s: %s", dst, strerror(errno));
                goto done;
            }
            w += k;
        }
    }
    if (n < 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: %s", src, strerror(errno));
        goto done;
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    futimens(out, times);
    if (geteuid() == 0 && fchown(out, st.st_uid, st.st_gid) != 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: chown: %s", dst, strerror(errno));
        goto done;
    }
    if (fsync(out) != 0)
        rc = arc_err_set(err, ARC_EIO, "%s: %s", dst, strerror(errno));
done:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = arc_err_set(err, ARC_EIO, "%s: %s", dst, strerror(errno));
    return rc;
}

/* Makes dst as a folder like src (mode; owner as root). */
static int mkdir_like(const char *src, const char *dst, arc_err_t *err)
{
    struct stat st;

    if (stat(src, &st) != 0)
        return arc_err_set(err, ARC_EIO, "%s: %s", src, strerror(errno));
    if (mkdir(dst, st.st_mode & 07777) != 0 && errno != EEXIST)
        return arc_err_set(err, ARC_EIO, "%s: %s", dst, strerror(errno));
    if (geteuid() == 0 && chown(dst, st.st_uid, st.st_gid) != 0)
        return arc_err_set(err, ARC_EIO, "%s: chown: %s", dst, strerror(errno));
    chmod(dst, st.st_mode & 07777);
    return 0;
}

/* Removes a folder and everything in it; a symbolic link is removed, never
 * followed (lstat, not d_type: some file systems do not fill it in).
 * Returns 0, or -1 when something could not be removed. */
static int remove_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : -1;
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char sub[PATH_MAX];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub) ||
            remove_tree(sub) != 0)
            rc = -1;
    }
    closedir(d);
    return rmdir(path) == 0 ? rc : -1;
}

/* A file being written under a temporary name (arc_file_write_atomic's
 * NAME.tmp.PID, the QR stage's NAME.tmp, or a dot file): not yet the
 * project's, and still changing. */
static int temporary(const char *name)
{
    const char *t = strstr(name, ".tmp");

    if (name[0] == '.')
        return 1;
    while (t != NULL) {
        if (t[4] == '\0' ||
            (t[4] == '.' && t[5] != '\0' && strspn(t + 5, "0123456789") == strlen(t + 5)))
            return 1;
        t = strstr(t + 1, ".tmp");
    }
    return 0;
}

/*
 * Puts the tree src into dst: links (or copies, link == 0) of its files,
 * folders like its folders. Records each file in w->manifest under the name
 * rel/... Returns 0 or ARC_EIO.
 */
static int put_tree(walk_t *w, const char *src, const char *dst, const char *rel, int link_ok,
                    arc_err_t *err)
{
    DIR *d = opendir(src);
    struct dirent *e;
    int rc = 0;

    if (d == NULL)
        return arc_err_set(err, ARC_EIO, "%s: %s", src, strerror(errno));
    if ((rc = mkdir_like(src, dst, err)) != 0)
        goto out;
    while ((e = readdir(d)) != NULL) {
        char s[PATH_MAX], t[PATH_MAX], r[PATH_MAX];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (temporary(e->d_name))
            continue;
        if ((size_t)snprintf(s, sizeof(s), "%s/%s", src, e->d_name) >= sizeof(s) ||
            (size_t)snprintf(t, sizeof(t), "%s/%s", dst, e->d_name) >= sizeof(t) ||
            (size_t)snprintf(r, sizeof(r), "%s/%s", rel, e->d_name) >= sizeof(r)) {
            rc = arc_err_set(err, ARC_EIO, "%s/%s: path too long", src, e->d_name);
            goto out;
        }
        if (lstat(s, &st) != 0) {
            if (errno == ENOENT) /* removed meanwhile (a sweep, a delete) */
                continue;
            rc = arc_err_set(err, ARC_EIO, "%s: %s", s, strerror(errno));
            goto out;
        }
        if (S_ISDIR(st.st_mode)) {
            if ((rc = put_tree(w, s, t, r, link_ok, err)) != 0)
                goto out;
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        int linked = 0;
        if (link_ok && !w->copy_only) {
            if (link(s, t) == 0)
                linked = 1;
            else if (errno == ENOENT)
                continue;
            else if (errno == EXDEV || errno == EPERM || errno == EMLINK)
                w->copy_only = errno == EXDEV;
            else {
                rc = arc_err_set(err, ARC_EIO, "link %s: %s", s, strerror(errno));
                goto out;
            }
        }
        if (!linked && (rc = copy_file(s, t, err)) != 0)
            goto out;
        char hex[65];
        if ((rc = sha256_file(t, hex, err)) != 0)
            goto out;
        arc_buf_printf(&w->manifest, "%s  %s\n", hex, r);
        w->files++;
        w->bytes += st.st_size;
        w->linked += linked;
    }
out:
    closedir(d);
    return rc;
}

/* ---- pg_dump and pg_restore ---- */

/*
 * Runs argv (a PostgreSQL client program) with the connection of conninfo
 * given through libpq's environment variables. Returns 0, or ARC_EIO with
 * what failed (the program's own messages went to stderr).
 */
static int run_pg(const char *conninfo, char *const argv[], arc_err_t *err)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    char **env = NULL;
    size_t n = 0, added = 0, cap = 1;
    pid_t pid;
    int status = 0, rc = 0, spawn_rc;

    if (opts == NULL) {
        rc = arc_err_set(err, ARC_EINVAL, "database.url: %s", why ? why : "cannot be read");
        PQfreemem(why);
        return rc;
    }
    for (char **e = environ; *e != NULL; e++)
        cap++;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        cap++;
    env = arc_xcalloc(cap, sizeof(char *));
    /* The settings' connection first, as variables... */
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0' || o->envvar == NULL)
            continue;
        size_t len = strlen(o->envvar) + strlen(o->val) + 2;
        env[n] = arc_xmalloc(len);
        snprintf(env[n++], len, "%s=%s", o->envvar, o->val);
    }
    added = n;
    /* ...then the inherited environment, less what they replace. */
    for (char **e = environ; *e != NULL; e++) {
        size_t name = strcspn(*e, "=");
        int replaced = 0;
        for (size_t i = 0; i < added && !replaced; i++)
            replaced = strncmp(env[i], *e, name + 1) == 0;
        if (!replaced)
            env[n++] = *e;
    }
    if ((spawn_rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, env)) != 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: cannot run it (is postgresql-client installed?): %s",
                         argv[0], strerror(spawn_rc));
        goto out;
    }
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (got < 0)
        rc = arc_err_set(err, ARC_EIO, "%s: waitpid: %s", argv[0], strerror(errno));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = arc_err_set(err, ARC_EIO, "%s failed (exit %d)", argv[0],
                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
out:
    for (size_t i = 0; i < added; i++)
        free(env[i]);
    free(env);
    PQconninfoFree(opts);
    return rc;
}

/* ---- arcd backup ---- */

static int backup_stamp(const char *name, time_t *when)
{
    struct tm tm = {0};
    const char *end;

    if (strncmp(name, PREFIX, strlen(PREFIX)) != 0 || strlen(name) != strlen(PREFIX) + STAMP_LEN)
        return -1;
    end = strptime(name + strlen(PREFIX), "%Y%m%dT%H%M%SZ", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    *when = timegm(&tm);
    return 0;
}

/* Removes DIR's complete backups older than keep_days (and parts of cut
 * short ones older than a day); prints what went. */
static void prune(const char *dir, int keep_days, time_t now)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        time_t when;
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        /* Folders only: a link or a file of that name is not a backup. */
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (backup_stamp(e->d_name, &when) == 0) {
            if (now - when > (time_t)keep_days * 86400) {
                if (remove_tree(path) == 0)
                    printf("arcd backup: removed %s (older than %d days)\n", path, keep_days);
                else
                    fprintf(stderr, "arcd backup: cannot remove all of %s: %s\n", path,
                            strerror(errno));
            }
        } else if (strncmp(e->d_name, "." PREFIX, strlen(PREFIX) + 1) == 0 &&
                   now - st.st_mtime > 86400) {
            if (remove_tree(path) == 0)
                printf("arcd backup: removed %s (a backup cut short)\n", path);
        }
    }
    closedir(d);
}

static int write_text(const char *path, const char *text, arc_err_t *err)
{
    return arc_file_write_atomic(path, text, strlen(text), err);
}

static int schema_version(const char *conninfo)
{
    PGconn *db = PQconnectdb(conninfo);
    int v = -1;

    if (PQstatus(db) == CONNECTION_OK) {
        PGresult *r = PQexec(db, "SELECT coalesce(max(version), 0) FROM arcd_migrations");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    PQfinish(db);
    return v;
}

int arc_cli_backup(int argc, char **argv)
{
    const char *config_path = NULL, *dir = NULL;
    int keep_days = 30, n_pos = 0, status = 0;
    const arc_opt_t options[] = {
        {"--config", NULL, ARC_OPT_STR, &config_path, 0, 0},
        {"--keep-days", NULL, ARC_OPT_INT, &keep_days, 1, 36500},
    };
    arc_config_t cfg;
    arc_err_t err = {{0}};
    walk_t w = {.manifest = ARC_BUF_INIT};
    char stamp[STAMP_LEN + 1], part[PATH_MAX] = "", final[PATH_MAX], path[PATH_MAX + 64], hex[65];
    time_t now = time(NULL);
    struct tm tm;
    int loaded = 0, made = 0; /* made: part is ours to remove on a failure */

    if (arc_opts_parse(argc, argv, options, 2, &dir, 1, &n_pos) != 0 || n_pos != 1) {
        fprintf(stderr, "usage: arcd backup DIR [--keep-days N] [--config FILE]\n");
        return 2;
    }
    if ((status = arc_cli_load_config(config_path, "backup", &cfg)) != 0)
        return status;
    loaded = 1;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    if (arc_file_mkdirs(dir, &err) != 0 ||
        (size_t)snprintf(final, sizeof(final), "%s/" PREFIX "%s", dir, stamp) >= sizeof(final) ||
        (size_t)snprintf(part, sizeof(part), "%s/." PREFIX "%s.partial", dir, stamp) >=
            sizeof(part)) {
        fprintf(stderr, "arcd backup: %s: %s\n", dir, err.msg[0] ? err.msg : "path too long");
        status = 1;
        goto out;
    }
    if (access(final, F_OK) == 0) {
        fprintf(stderr, "arcd backup: %s exists already (one backup a second)\n", final);
        status = 1;
        goto out;
    }
    remove_tree(part);
    if (mkdir(part, 0750) != 0) {
        part[0] = '\0';
        fprintf(stderr, "arcd backup: %s: %s\n", part, strerror(errno));
        status = 1;
        goto out;
    }
    made = 1;

    /* 1. The database. */
    snprintf(path, sizeof(path), "%s/database.dump", part);
    char file_opt[sizeof(path) + 8];
    snprintf(file_opt, sizeof(file_opt), "--file=%s", path);
    char *dump[] = {"pg_dump", "--format=custom", "--no-owner", "--no-privileges", file_opt, NULL};
    if (run_pg(cfg.database.url, dump, &err) != 0 || sha256_file(path, hex, &err) != 0) {
        fprintf(stderr, "arcd backup: the database: %s\n", err.msg);
        status = 4;
        goto out;
    }
    arc_buf_printf(&w.manifest, "%s  database.dump\n", hex);
    struct stat st;
    stat(path, &st);
    long long dump_bytes = st.st_size;

    /* 2. The projects' files. */
    char src[PATH_MAX + 16], dst[PATH_MAX + 32];
    snprintf(src, sizeof(src), "%s/ar-storage", cfg.storage.dir);
    snprintf(dst, sizeof(dst), "%s/storage", part);
    if (mkdir(dst, 0750) != 0) {
        fprintf(stderr, "arcd backup: %s: %s\n", dst, strerror(errno));
        status = 1;
        goto out;
    }
    snprintf(dst, sizeof(dst), "%s/storage/ar-storage", part);
    if (access(src, F_OK) == 0) {
        DIR *d = opendir(src);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL)
            w.projects += e->d_name[0] != '.';
        if (d != NULL)
            closedir(d);
        if (put_tree(&w, src, dst, "storage/ar-storage", 1, &err) != 0) {
            fprintf(stderr, "arcd backup: the storage: %s\n", err.msg);
            status = 1;
            goto out;
        }
    }

    /* 3. The manifest and the summary; then the backup is complete. */
    snprintf(path, sizeof(path), "%s/MANIFEST.sha256", part);
    if (write_text(path, w.manifest.data ? w.manifest.data : "", &err) != 0) {
        fprintf(stderr, "arcd backup: %s\n", err.msg);
        status = 1;
        goto out;
    }
    char iso[32];
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *summary = json_pack(
        "{s:i, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I}", "format", 1, "createdAt", iso,
        "arcdVersion", ARCD_VERSION, "schemaVersion", schema_version(cfg.database.url), "projects",
        (json_int_t)w.projects, "files", (json_int_t)w.files, "bytes", (json_int_t)w.bytes,
        "linked", (json_int_t)w.linked, "databaseBytes", (json_int_t)dump_bytes);
    char *text = json_dumps(summary, JSON_INDENT(2));
    json_decref(summary);
    snprintf(path, sizeof(path), "%s/backup.json", part);
    int wrc = write_text(path, text, &err);
    free(text);
    if (wrc != 0 || rename(part, final) != 0) {
        fprintf(stderr, "arcd backup: %s\n", wrc != 0 ? err.msg : strerror(errno));
        status = 1;
        goto out;
    }
    printf("arcd backup: %s: the database (%lld bytes) and %lld projects, %lld files, %lld bytes "
           "(%lld hard links, %lld copies)\n",
           final, dump_bytes, w.projects, w.files, w.bytes, w.linked, w.files - w.linked);
    prune(dir, keep_days, now);
out:
    if (status != 0 && made)
        remove_tree(part);
    arc_buf_dispose(&w.manifest);
    if (loaded)
        arc_config_dispose(&cfg);
    return status;
}

/* ---- arcd restore ---- */

/* The files a backup's manifest names, each checked. */
typedef struct listed_s {
    char **names; /* relative to the backup: "database.dump", "storage/ar-storage/..." */
    size_t n;
} listed_t;

static void listed_free(listed_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

/* A manifest's name: database.dump, or a path under storage/ar-storage/
 * with no empty, "." or ".." part. */
static int name_ok(const char *name)
{
    static const char store[] = "storage/ar-storage/";

    if (strcmp(name, "database.dump") == 0)
        return 1;
    if (strncmp(name, store, sizeof(store) - 1) != 0)
        return 0;
    for (const char *p = name + sizeof(store) - 1; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
        if (*p == '/' && *++p == '\0')
            return 0;
    }
    return 1;
}

/*
 * Checks the backup against its manifest: every line names a file of the
 * backup itself (no link leading out of it) whose SHA-256 is the manifest's,
 * and the database's dump is there. Returns 0 with the names in out, or
 * ARC_EINVAL.
 */
static int verify(const char *backup, listed_t *out, arc_err_t *err)
{
    char path[PATH_MAX + 32], line[PATH_MAX + 80], root[PATH_MAX];
    int rc = 0, dump = 0;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "%s/MANIFEST.sha256", backup);
    FILE *f = fopen(path, "re");
    if (f == NULL || realpath(backup, root) == NULL) {
        rc = arc_err_set(err, ARC_EINVAL, "%s: %s (not an arcd backup?)", path, strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char hex[65], file[PATH_MAX + 16], real[PATH_MAX];
        line[strcspn(line, "\n")] = '\0';
        if (strlen(line) < 67 || line[64] != ' ' || line[65] != ' ' || !name_ok(line + 66)) {
            rc = arc_err_set(err, ARC_EINVAL, "%s: a damaged line: %.80s", path, line);
            goto out;
        }
        snprintf(file, sizeof(file), "%s/%s", backup, line + 66);
        size_t rn = strlen(root);
        if (realpath(file, real) == NULL || strncmp(real, root, rn) != 0 || real[rn] != '/') {
            rc = arc_err_set(err, ARC_EINVAL, "%s: missing, or a link out of the backup", file);
            goto out;
        }
        if (sha256_file(file, hex, err) != 0 || strncmp(hex, line, 64) != 0) {
            rc = arc_err_set(err, ARC_EINVAL, "%s: its SHA-256 differs from the manifest's", file);
            goto out;
        }
        dump |= strcmp(line + 66, "database.dump") == 0;
        out->names = arc_xrealloc(out->names, out->n + 1, sizeof(char *));
        out->names[out->n++] = arc_xstrdup(line + 66);
    }
    if (!dump)
        rc = arc_err_set(err, ARC_EINVAL, "%s: names no database.dump (not a whole backup)", path);
out:
    if (f != NULL)
        fclose(f);
    if (rc != 0)
        listed_free(out);
    return rc;
}

/* Copies the backup's file name (a manifest's "storage/ar-storage/...") into
 * the storage folder, its folders made like the backup's. */
static int restore_file(walk_t *w, const char *backup, const char *storage, const char *name,
                        arc_err_t *err)
{
    const char *rel = name + strlen("storage/");
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    struct stat st;
    int rc;

    for (const char *slash = strchr(rel, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        snprintf(src, sizeof(src), "%s/storage/%.*s", backup, (int)(slash - rel), rel);
        snprintf(dst, sizeof(dst), "%s/%.*s", storage, (int)(slash - rel), rel);
        if ((rc = mkdir_like(src, dst, err)) != 0)
            return rc;
    }
    snprintf(src, sizeof(src), "%s/%s", backup, name);
    snprintf(dst, sizeof(dst), "%s/%s", storage, rel);
    if ((rc = copy_file(src, dst, err)) != 0)
        return rc;
    if (stat(dst, &st) == 0)
        w->bytes += st.st_size;
    w->files++;
    return 0;
}

static int folder_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int empty = 1;

    if (d == NULL)
        return 1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

int arc_cli_restore(int argc, char **argv)
{
    const char *config_path = NULL, *backup = NULL;
    const arc_opt_t options[] = {{"--config", NULL, ARC_OPT_STR, &config_path, 0, 0}};
    arc_config_t cfg;
    arc_err_t err = {{0}};
    walk_t w = {.manifest = ARC_BUF_INIT};
    listed_t listed = {0};
    int n_pos = 0, status;

    if (arc_opts_parse(argc, argv, options, 1, &backup, 1, &n_pos) != 0 || n_pos != 1) {
        fprintf(stderr, "usage: arcd restore BACKUP [--config FILE]\n");
        return 2;
    }
    if ((status = arc_cli_load_config(config_path, "restore", &cfg)) != 0)
        return status;
    /* 1. The backup is whole. */
    if (verify(backup, &listed, &err) != 0) {
        fprintf(stderr, "arcd restore: %s\n", err.msg);
        status = 1;
        goto out;
    }
    /* 2. Into an empty database and an empty storage only. */
    PGconn *db = PQconnectdb(cfg.database.url);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "arcd restore: cannot connect to PostgreSQL: %s", PQerrorMessage(db));
        PQfinish(db);
        status = 4;
        goto out;
    }
    PGresult *r = PQexec(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
    int tables =
        PQresultStatus(r) == PGRES_TUPLES_OK ? (int)strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    PQfinish(db);
    if (tables != 0) {
        fprintf(stderr,
                "arcd restore: the database is not empty (%d tables): restore into a new one "
                "(dropdb, createdb -O arcd arcd as postgres)\n",
                tables);
        status = 1;
        goto out;
    }
    char dst[PATH_MAX + 16];
    snprintf(dst, sizeof(dst), "%s/ar-storage", cfg.storage.dir);
    if (!folder_empty(dst)) {
        fprintf(stderr, "arcd restore: %s is not empty: restore into an empty storage.dir\n", dst);
        status = 1;
        goto out;
    }
    /* 3. The database, in one transaction. */
    char dump[PATH_MAX + 32];
    snprintf(dump, sizeof(dump), "%s/database.dump", backup);
    /* --dbname= with nothing: the database is the environment's (PGDATABASE). */
    char *restore[] = {"pg_restore",
                       "--no-owner",
                       "--no-privileges",
                       "--exit-on-error",
                       "--single-transaction",
                       "--dbname=",
                       dump,
                       NULL};
    if (run_pg(cfg.database.url, restore, &err) != 0) {
        fprintf(stderr, "arcd restore: the database: %s\n", err.msg);
        status = 4;
        goto out;
    }
    /* 4. The files the manifest names, copied (a restore owes nothing to
     * the backup's disk). The database is in by now: a failure here leaves
     * it restored and the storage partial (said so). */
    if (arc_file_mkdirs(dst, &err) != 0) {
        fprintf(stderr, "arcd restore: %s\n", err.msg);
        status = 1;
        goto out;
    }
    for (size_t i = 0; i < listed.n; i++) {
        if (strcmp(listed.names[i], "database.dump") == 0)
            continue;
        if (restore_file(&w, backup, cfg.storage.dir, listed.names[i], &err) != 0) {
            fprintf(stderr,
                    "arcd restore: the storage: %s (the database is restored, the storage "
                    "partly: empty both to try again)\n",
                    err.msg);
            status = 1;
            goto out;
        }
    }
    printf("arcd restore: %s: the database and %lld files (%lld bytes) restored, every file's "
           "SHA-256 checked (%zu)\n",
           backup, w.files, w.bytes, listed.n);
out:
    listed_free(&listed);
    arc_buf_dispose(&w.manifest);
    arc_config_dispose(&cfg);
    return status;
}
