/*
 * `arcd import-legacy`: the old system's projects made arcd projects under
 * their own ids, so that every QR code already printed resolves at
 * /ar/view/<id> as before (docs/legacy.md).
 *
 * It reads the old database (ar_projects and ar_project_items, each row as
 * JSON, in a read-only session) and the old storage (objects/ar-storage/
 * <id>/), and for each project the old system had ready:
 *   - copies marker.mind byte for byte (the prints in customers' hands were
 *     made for it; its brotli and gzip forms beside it), the prints
 *     (enhanced-photo.jpg, written again as a JPEG if the old one was not)
 *     and the videos into a folder of storage/tmp, with a thumbnail of the
 *     first print, and moves it into storage/ar-storage/<id>/;
 *   - then inserts the row and its pairs in one statement: the old id,
 *     is_demo and expires_at, order_id as orderRef, created_at, the fit
 *     mode, the old row itself (column legacy), a result holding the kept
 *     files, each print's geometry and each target's rating (computed from
 *     the old marker), and job_kind 'import'. That queues the video, viewer
 *     and QR stages for the daemons' workers (src/daemon/queue.c); no job of
 *     an imported project ever compiles its marker.
 * Files before the row, as an upload does: an import interrupted half-way
 * leaves a folder without a row, which the next run replaces. A project
 * arcd already has (a row, or a tombstone: deleted or expired since) is
 * skipped and said so, so the command may run again and again. A demo
 * already expired becomes a tombstone ('expired': its link says it has
 * expired, as one of arcd's would). A project the old system had not made
 * (pending, processing, error) is reported and skipped; one whose files are
 * missing or damaged is reported as not imported, the exit status is 3, and
 * a later run, once the files are there, imports it.
 *
 * Why the workers make the videos rather than this command: the video stage
 * is FFmpeg on files arcd did not make, which the workers run sandboxed,
 * leased and retried, with their progress in the status routes; the import
 * itself is then a copy of files, seconds for hundreds of projects.
 *
 * libpq is used synchronously: this is a command, not the daemon's loop.
 * One import runs at a time (an advisory lock on arcd's database).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "arcd/cli.h"
#include "arcd/compiler.h"
#include "arcd/compress.h"
#include "arcd/config.h"
#include "arcd/db.h"
#include "arcd/id.h"
#include "arcd/image.h"
#include "arcd/limits.h"
#include "arcd/mind.h"
#include "arcd/sniff.h"

/* Any constant: one import at a time (the migrations use another). */
#define IMPORT_LOCK_KEY "6172636420696d70"
/* As the marker stage writes marker.mind.br (workers/stage_marker.c). */
#define BROTLI_QUALITY 7
/* As the border stage writes thumbnail.jpg (workers/stage_border.c). */
#define THUMB_SIDE 320
#define THUMB_QUALITY 80
/* A print that is not a JPEG is written again as one, as the border stage
 * writes enhanced-photo.jpg. */
#define PRINT_QUALITY 92
/* A print whose shape differs more than this from its marker's would place
 * the video off the photo: the marker's shape is used then. */
#define ASPECT_TOLERANCE 0.02
#define MAX_ORDER_REF 64
#define MAX_OWNER 128

/* ---- the old system's URLs ---- */

int arc_cli_legacy_file(const char *url, char id[ARC_ID_MAX + 1], char file[ARC_MAX_FILE_NAME + 1])
{
    static const char *const prefixes[] = {"/api/ar/storage/", "/ar-storage/"};
    const char *path = url, *rest = NULL;

    if (url == NULL)
        return -1;
    if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
        path = strchr(strstr(url, "://") + 3, '/');
        if (path == NULL)
            return -1;
    } else if (url[0] != '/') {
        return -1;
    }
    const char *end = path + strcspn(path, "?#");
    for (size_t i = 0; rest == NULL && i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        const char *at = strstr(path, prefixes[i]);
        if (at != NULL && at + strlen(prefixes[i]) <= end)
            rest = at + strlen(prefixes[i]);
    }
    if (rest == NULL)
        return -1;
    const char *slash = memchr(rest, '/', (size_t)(end - rest));
    if (slash == NULL || slash - rest > ARC_ID_MAX || end - slash - 1 < 1 ||
        end - slash - 1 > ARC_MAX_FILE_NAME || slash[1] == '.')
        return -1;
    for (const char *p = slash + 1; p < end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return -1;
    snprintf(id, ARC_ID_MAX + 1, "%.*s", (int)(slash - rest), rest);
    if (arc_id_kind(id) == ARC_ID_NONE)
        return -1;
    snprintf(file, ARC_MAX_FILE_NAME + 1, "%.*s", (int)(end - slash - 1), slash + 1);
    return 0;
}

/* ---- the run and its projects ---- */

typedef enum { R_IMPORTED, R_ALREADY, R_EXPIRED, R_NOT_READY, R_FAILED, R_N } outcome_t;

typedef struct run_s {
    const char *root; /* the old storage's ar-storage folder */
    char storage[PATH_MAX];
    const char *public_url;
    const char *owner; /* the imported projects' owner, or NULL */
    int dry_run;
    int chown; /* hand the files to the workers' user (as the daemon does) */
    uid_t uid;
    gid_t gid;
    PGconn *old, *db;
    int db_has_tables; /* a dry run against a database never migrated: 0 */
    json_t *items;     /* project id -> its old item rows, by target_index */
    json_t *bases;     /* where old QR codes lead, when not arcd's public URL */
    int count[R_N];
} run_t;

/* One photo/video pair of a project. */
typedef struct pair_s {
    char print[PATH_MAX]; /* the old files */
    char video[PATH_MAX];
    char video_ext[8]; /* mp4, mov, webm: by its first bytes */
    int convert;       /* the print is not a JPEG */
    int width, height; /* the print's geometry, as the viewer places the video */
    long long print_bytes, video_bytes;
} pair_t;

typedef struct project_s {
    const json_t *row; /* the old row (borrowed) */
    const char *id;
    char dir[PATH_MAX]; /* its old folder */
    const json_t *old_items;
    size_t n;
    pair_t pairs[ARC_MAX_TARGETS];
    arc_mind_t *mind;
    arc_photo_t thumb; /* the first print, small */
    char why[1024];    /* why it cannot be imported */
    char note[512];    /* what the report should add */
} project_t;

static void report(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(const char *id, const char *fmt, ...)
{
    va_list ap;

    printf("%-36s  ", id);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void set_why(project_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(project_t *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->why, sizeof(p->why), fmt, ap);
    va_end(ap);
}

static void add_note(project_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_note(project_t *p, const char *fmt, ...)
{
    size_t used = strlen(p->note);
    va_list ap;

    if (used > 0 && used + 2 < sizeof(p->note))
        used += (size_t)snprintf(p->note + used, sizeof(p->note) - used, "; ");
    va_start(ap, fmt);
    vsnprintf(p->note + used, sizeof(p->note) - used, fmt, ap);
    va_end(ap);
}

/* A string member of the old row, or NULL (a number is given as text). */
static const char *field(const json_t *row, const char *key, char *buf, size_t size)
{
    json_t *v = json_object_get(row, key);

    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

static PGresult *run_sql(PGconn *c, const char *what, const char *sql, int n,
                         const char *const *params)
{
    return arc_cli_sql(c, "import-legacy", what, sql, n, params);
}

/* ---- files ---- */

/* Writes the path fmt makes into out; -1 when it does not fit (a path cut
 * short names another file). */
static int path_of(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int path_of(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int is_file(const char *path, long long *bytes)
{
    struct stat st;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    if (bytes != NULL)
        *bytes = (long long)st.st_size;
    return 1;
}

/* Copies src to dst (made new, 0640) and syncs it. */
static int copy_file(const char *src, const char *dst, arc_err_t *err)
{
    char *buf = arc_xmalloc(1 << 20);
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;

    if (in < 0) {
        rc = arc_err_set(err, ARC_EIO, "cannot read %s: %s", src, strerror(errno));
        goto out;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        rc = arc_err_set(err, ARC_EIO, "cannot write %s: %s", dst, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = arc_err_set(err, ARC_EIO, "cannot read %s: %s", src, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = arc_err_set(err, ARC_EIO, "cannot write %s: %s", dst, strerror(errno));
                goto out;
            }
            done += w;
        }
    }
    if (fsync(out) != 0)
        rc = arc_err_set(err, ARC_EIO, "cannot write %s: %s", dst, strerror(errno));
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = arc_err_set(err, ARC_EIO, "cannot write %s: %s", dst, strerror(errno));
    free(buf);
    return rc;
}

/* Removes a folder of plain files (an earlier import's, left half-done). */
static int remove_folder(const char *dir, arc_err_t *err)
{
    char path[PATH_MAX + 300];
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        return errno == ENOENT
                   ? 0
                   : arc_err_set(err, ARC_EIO, "cannot remove %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (path_of(path, sizeof(path), "%s/%s", dir, e->d_name) != 0 ||
            (unlink(path) != 0 && errno != ENOENT)) {
            closedir(d);
            return arc_err_set(err, ARC_EIO, "cannot remove %s: %s", path, strerror(errno));
        }
    }
    closedir(d);
    if (rmdir(dir) != 0 && errno != ENOENT)
        return arc_err_set(err, ARC_EIO, "cannot remove %s: %s", dir, strerror(errno));
    return 0;
}

/* ---- checking a project ---- */

/* The old file of a pair: its own name in the project's folder when it is
 * there (enhanced-photo.jpg, video.mp4; pair i > 0: enhanced-photo-<i>.jpg,
 * video-<i>.mp4), else the one its URL names. Returns 0 or -1. */
static int find_file(const run_t *run, const project_t *p, const char *own, const char *url,
                     char *out, size_t size)
{
    char id[ARC_ID_MAX + 1], file[ARC_MAX_FILE_NAME + 1];

    if (path_of(out, size, "%s/%s", p->dir, own) == 0 && is_file(out, NULL))
        return 0;
    if (url == NULL || arc_cli_legacy_file(url, id, file) != 0)
        return -1;
    return path_of(out, size, "%s/%s/%s", run->root, id, file) == 0 && is_file(out, NULL) ? 0 : -1;
}

/* The print: a JPEG, PNG, WebP, HEIC or AVIF arcd decodes, its upright size,
 * and (for the first) the thumbnail. */
/* The first bytes of a file, for sniffing its type: how many were read
 * (0 or less when it cannot be read). */
static ssize_t read_head(const char *path, uint8_t head[ARC_SNIFF_BYTES])
{
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        n = read(fd, head, ARC_SNIFF_BYTES);
        close(fd);
    }
    return n;
}

static int check_print(project_t *p, size_t i)
{
    pair_t *pr = &p->pairs[i];
    arc_photo_info_t info;
    arc_photo_t small = {0};
    arc_err_t err = {{0}};
    uint8_t head[ARC_SNIFF_BYTES];
    ssize_t n = read_head(pr->print, head);
    arc_image_format_t fmt = n > 0 ? arc_image_sniff(head, (size_t)n) : ARC_IMAGE_UNKNOWN;
    if (fmt == ARC_IMAGE_UNKNOWN || fmt == ARC_IMAGE_PGM) {
        set_why(p, "the print %s is not an image arcd reads", pr->print);
        return -1;
    }
    pr->convert = fmt != ARC_IMAGE_JPEG;
    if (arc_photo_load(pr->print, 0, THUMB_SIDE, &small, &info, &err) != 0) {
        set_why(p, "the print %s: %s", pr->print, err.msg);
        return -1;
    }
    int w = info.orientation >= 5 ? info.stored_height : info.stored_width;
    int h = info.orientation >= 5 ? info.stored_width : info.stored_height;
    const arc_mind_target_t *t = &p->mind->targets[i];
    double want = (double)t->width / t->height, got = (double)w / h;
    pr->width = w;
    pr->height = h;
    if (fabs(got - want) > ASPECT_TOLERANCE * want) {
        /* The viewer places the video by the print; MindAR by the marker. */
        add_note(p,
                 "print %zu is %dx%d but its marker's target %dx%d: the video is placed by the "
                 "marker's shape",
                 i + 1, w, h, t->width, t->height);
        pr->width = t->width;
        pr->height = t->height;
    }
    if (i == 0)
        p->thumb = small;
    else
        arc_photo_dispose(&small);
    return 0;
}

static int check_video(project_t *p, size_t i)
{
    pair_t *pr = &p->pairs[i];
    uint8_t head[ARC_SNIFF_BYTES];
    ssize_t n = read_head(pr->video, head);
    const char *ext = n > 0 ? arc_video_sniff(head, (size_t)n) : NULL;
    if (ext == NULL) {
        set_why(p, "the video %s is not MP4, MOV or WebM", pr->video);
        return -1;
    }
    snprintf(pr->video_ext, sizeof(pr->video_ext), "%s", ext);
    is_file(pr->video, &pr->video_bytes);
    return 0;
}

/* Finds and checks a ready project's files: its marker, and each pair's
 * print and video. Returns 0, or -1 with the reason in p->why. */
static int check_files(const run_t *run, project_t *p)
{
    char path[PATH_MAX], buf[32];
    arc_err_t err = {{0}};
    size_t n_old = json_array_size(p->old_items);

    if (path_of(path, sizeof(path), "%s/marker.mind", p->dir) != 0 || !is_file(path, NULL)) {
        set_why(p, "%s is missing", path);
        return -1;
    }
    if (arc_mind_load(path, &p->mind, &err) != 0) {
        set_why(p, "%s is not a MindAR marker: %s", path, err.msg);
        return -1;
    }
    /* Its pairs: the old items by target_index, or the project itself. */
    p->n = n_old > 0 ? n_old : 1;
    for (size_t i = 0; i < n_old; i++) {
        json_t *ti = json_object_get(json_array_get(p->old_items, i), "target_index");
        if (!json_is_integer(ti) || json_integer_value(ti) != (json_int_t)i) {
            set_why(p, "its %zu items' target_index values are not 0 to %zu, one each", n_old,
                    n_old - 1);
            return -1;
        }
    }
    if (p->n > ARC_MAX_TARGETS) {
        set_why(p, "it has %zu targets; arcd takes at most %d", p->n, ARC_MAX_TARGETS);
        return -1;
    }
    for (size_t i = 0; i < p->mind->n_targets; i++)
        if (p->mind->targets[i].width <= 0 || p->mind->targets[i].height <= 0) {
            set_why(p, "marker.mind's target %zu has no size", i);
            return -1;
        }
    if (p->mind->n_targets != p->n) {
        set_why(p, "marker.mind holds %zu target%s, the project lists %zu", p->mind->n_targets,
                p->mind->n_targets == 1 ? "" : "s", p->n);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        const json_t *item = n_old > 0 ? json_array_get(p->old_items, i) : p->row;
        char own[64], suffix[24] = "";
        if (i > 0)
            snprintf(suffix, sizeof(suffix), "-%zu", i);
        snprintf(own, sizeof(own), "enhanced-photo%s.jpg", suffix);
        const char *url = field(item, "photo_url", buf, sizeof(buf));
        if (find_file(run, p, own, url, p->pairs[i].print, sizeof(p->pairs[i].print)) != 0) {
            set_why(p, "no print for target %zu (%s/%s, or photo_url %s)", i, p->dir, own,
                    url ? url : "none");
            return -1;
        }
        snprintf(own, sizeof(own), "video%s.mp4", suffix);
        url = field(item, "video_url", buf, sizeof(buf));
        if (find_file(run, p, own, url, p->pairs[i].video, sizeof(p->pairs[i].video)) != 0) {
            set_why(p, "no video for target %zu (%s/%s, or video_url %s)", i, p->dir, own,
                    url ? url : "none");
            return -1;
        }
        if (check_print(p, i) != 0 || check_video(p, i) != 0)
            return -1;
        is_file(p->pairs[i].print, &p->pairs[i].print_bytes);
    }
    return 0;
}

/* ---- what arcd knows of an id ---- */

/* The project's status in arcd, or its tombstone's reason, in state
 * ("" when arcd has neither). Returns 0 or -1 (the database failed). */
static int known(const run_t *run, const char *id, char *state, size_t size)
{
    const char *params[1] = {id};
    PGresult *r;

    state[0] = '\0';
    if (!run->db_has_tables)
        return 0;
    /* id::text: a dry run may meet a database before sql/004 (uuid ids). */
    r = run_sql(run->db, "reading arcd's projects",
                "SELECT (SELECT status FROM ar_projects WHERE id::text = $1) AS status,"
                " (SELECT reason FROM ar_tombstones WHERE id::text = $1) AS removed",
                1, params);
    if (r == NULL)
        return -1;
    int st = PQfnumber(r, "status"), rm = PQfnumber(r, "removed");
    if (!PQgetisnull(r, 0, st))
        snprintf(state, size, "%s in arcd", PQgetvalue(r, 0, st));
    else if (!PQgetisnull(r, 0, rm))
        snprintf(state, size, "%s in arcd since", PQgetvalue(r, 0, rm));
    PQclear(r);
    return 0;
}

/* ---- writing a project ---- */

static void hand_over(const run_t *run, const char *path)
{
    if (run->chown && chown(path, run->uid, run->gid) != 0)
        fprintf(stderr, "arcd import-legacy: chown %s: %s\n", path, strerror(errno));
}

/* Writes data as dir/name, handed to the workers, and lists it. */
static int put(const run_t *run, const char *dir, const char *name, const void *data, size_t len,
               json_t *files, arc_err_t *err)
{
    char path[PATH_MAX + 80];
    int rc;

    if (path_of(path, sizeof(path), "%s/%s", dir, name) != 0)
        return arc_err_set(err, ARC_EIO, "the path of %s in %s is too long", name, dir);
    if ((rc = arc_file_write_atomic(path, data, len, err)) != 0)
        return rc;
    hand_over(run, path);
    json_array_append_new(files, json_string(name));
    return 0;
}

/* The project's files in tmp: the marker as it was, its compressed forms,
 * the prints, the thumbnail and the videos (the workers' inputs). Adds the
 * names of what the result lists to files. */
static int write_files(const run_t *run, project_t *p, const char *tmp, json_t *files,
                       arc_err_t *err)
{
    char src[PATH_MAX], dst[PATH_MAX + 80], name[64];
    uint8_t *mind = NULL, *packed = NULL, *jpg = NULL;
    size_t len = 0, plen = 0, jlen = 0;
    arc_photo_t full = {0};
    int rc;

    if (path_of(src, sizeof(src), "%s/marker.mind", p->dir) != 0) {
        rc = arc_err_set(err, ARC_EIO, "the path of %s's marker is too long", p->id);
        goto out;
    }
    if ((rc = arc_file_read_all(src, (size_t)1 << 30, &mind, &len, err)) != 0 ||
        (rc = put(run, tmp, "marker.mind", mind, len, files, err)) != 0)
        goto out;
    /* A form that cannot be made is left out: the daemon then serves the
     * marker as it is. */
    if (arc_compress_brotli(mind, len, BROTLI_QUALITY, &packed, &plen) == 0) {
        rc = put(run, tmp, "marker.mind.br", packed, plen, files, err);
        free(packed);
        if (rc != 0)
            goto out;
    }
    if (arc_compress_gzip(mind, len, &packed, &plen) == 0) {
        rc = put(run, tmp, "marker.mind.gz", packed, plen, files, err);
        free(packed);
        if (rc != 0)
            goto out;
    }
    for (size_t i = 0; i < p->n; i++) {
        pair_t *pr = &p->pairs[i];
        char suffix[24] = "";
        if (i > 0)
            snprintf(suffix, sizeof(suffix), "-%zu", i);
        snprintf(name, sizeof(name), "enhanced-photo%s.jpg", suffix);
        if (pr->convert) {
            rc = arc_photo_load(pr->print, 0, 0, &full, NULL, err);
            if (rc == 0)
                rc = arc_photo_encode_jpeg(&full, PRINT_QUALITY, &jpg, &jlen, err);
            if (rc == 0)
                rc = put(run, tmp, name, jpg, jlen, files, err);
            free(jpg);
            jpg = NULL;
            arc_photo_dispose(&full);
            if (rc != 0)
                goto out;
        } else {
            if (path_of(dst, sizeof(dst), "%s/%s", tmp, name) != 0) {
                rc = arc_err_set(err, ARC_EIO, "the path of %s in %s is too long", name, tmp);
                goto out;
            }
            if ((rc = copy_file(pr->print, dst, err)) != 0)
                goto out;
            hand_over(run, dst);
            json_array_append_new(files, json_string(name));
        }
        if (path_of(dst, sizeof(dst), "%s/video%s.%s", tmp, suffix, pr->video_ext) != 0) {
            rc = arc_err_set(err, ARC_EIO, "the path of a video in %s is too long", tmp);
            goto out;
        }
        if ((rc = copy_file(pr->video, dst, err)) != 0)
            goto out;
        hand_over(run, dst);
    }
    rc = arc_photo_encode_jpeg(&p->thumb, THUMB_QUALITY, &jpg, &jlen, err);
    if (rc == 0)
        rc = put(run, tmp, "thumbnail.jpg", jpg, jlen, files, err);
out:
    free(jpg);
    free(mind);
    return rc;
}

/* Syncs a folder, so that the names in it last. */
static int sync_dir(const char *dir, arc_err_t *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0 || fsync(fd) != 0)
        rc = arc_err_set(err, ARC_EIO, "cannot sync %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The result the import writes: the files kept, each pair's print geometry
 * (the whole print: the old system's border is not known) and rating, and
 * the weakest rating. The queue merges the workers' videos into it. */
static json_t *result_json(const project_t *p, json_t *files)
{
    json_t *items = json_array(), *weakest = NULL;
    int low = -1;

    for (size_t i = 0; i < p->n; i++) {
        const pair_t *pr = &p->pairs[i];
        arc_rating_t r;
        arc_rating_compute(&p->mind->targets[i], &r);
        json_t *rating = arc_rating_json(&r);
        if (low < 0 || r.score < low) {
            low = r.score;
            json_decref(weakest);
            weakest = json_incref(rating);
        }
        json_t *print = json_pack("{s:i, s:i, s:{s:i, s:i, s:i, s:i}}", "width", pr->width,
                                  "height", pr->height, "photo", "x", 0, "y", 0, "width", pr->width,
                                  "height", pr->height);
        json_array_append_new(
            items, json_pack("{s:{s:o}, s:o}", "photo", "print", print, "rating", rating));
    }
    return json_pack("{s:O, s:o, s:o}", "files", files, "rating", weakest ? weakest : json_null(),
                     "items", items);
}

/* The row and its pairs, in one statement (the INSERT queues the job). */
static int insert(const run_t *run, project_t *p, json_t *files, arc_err_t *err)
{
    char fit_buf[32], exp_buf[32], sw[16], sh[16], pb[32], vb[32], pw[16], ph[16];
    const json_t *row = p->row;
    const char *fit = field(row, "fit_mode", fit_buf, sizeof(fit_buf));
    json_t *sx = json_object_get(row, "scale_width"), *sy = json_object_get(row, "scale_height");
    int scale_w = json_is_integer(sx) ? (int)json_integer_value(sx) : 0;
    int scale_h = json_is_integer(sy) ? (int)json_integer_value(sy) : 0;
    int rc = 0;

    if (scale_w < 1 || scale_w > 10000 || scale_h < 1 || scale_h > 10000)
        scale_w = scale_h = 0;
    if (fit == NULL || (strcmp(fit, "contain") != 0 && strcmp(fit, "cover") != 0 &&
                        strcmp(fit, "fill") != 0 && strcmp(fit, "exact") != 0))
        fit = "contain";
    if (strcmp(fit, "exact") == 0 && scale_w == 0) {
        add_note(p, "fit mode exact without its sizes: contain");
        fit = "contain";
    }
    snprintf(sw, sizeof(sw), "%d", scale_w);
    snprintf(sh, sizeof(sh), "%d", scale_h);
    snprintf(pb, sizeof(pb), "%lld", p->pairs[0].print_bytes);
    snprintf(vb, sizeof(vb), "%lld", p->pairs[0].video_bytes);
    snprintf(pw, sizeof(pw), "%d", p->pairs[0].width);
    snprintf(ph, sizeof(ph), "%d", p->pairs[0].height);
    /* The old frontend's useSmartCrop, as an upload keeps it. */
    json_t *config = json_object();
    json_t *smart = json_object_get(json_object_get(row, "config"), "useSmartCrop");
    if (json_is_boolean(smart))
        json_object_set(config, "useSmartCrop", smart);
    char order_buf[32];
    const char *order = field(row, "order_id", order_buf, sizeof(order_buf));
    if (order != NULL &&
        (order[0] == '\0' || arc_cli_token_name_ok(order, 1, MAX_ORDER_REF) != 0)) {
        add_note(p,
                 "order_id is not an orderRef arcd takes (1 to %d characters): kept in the "
                 "old row only",
                 MAX_ORDER_REF);
        order = NULL;
    }
    json_t *pairs = json_array();
    for (size_t i = 0; i < p->n; i++) {
        char photo[64], video[64], suffix[24] = "";
        if (i > 0)
            snprintf(suffix, sizeof(suffix), "-%zu", i);
        snprintf(photo, sizeof(photo), "enhanced-photo%s.jpg", suffix);
        snprintf(video, sizeof(video), "video%s.%s", suffix, p->pairs[i].video_ext);
        json_array_append_new(pairs, json_pack("{s:i, s:s, s:s}", "position", (int)i, "photo",
                                               photo, "video", video));
    }
    json_t *legacy = json_pack("{s:O, s:o}", "row", row, "items",
                               p->old_items ? json_incref((json_t *)p->old_items) : json_array());
    json_t *result = result_json(p, files);
    char *config_s = json_dumps(config, JSON_COMPACT);
    char *result_s = json_dumps(result, JSON_COMPACT);
    char *legacy_s = json_dumps(legacy, JSON_COMPACT);
    char *pairs_s = json_dumps(pairs, JSON_COMPACT);
    json_t *demo = json_object_get(row, "is_demo");
    const char *params[17] = {p->id,
                              run->owner,
                              json_is_true(demo) ? "true" : "false",
                              field(row, "expires_at", exp_buf, sizeof(exp_buf)),
                              fit,
                              scale_w ? sw : NULL,
                              scale_h ? sh : NULL,
                              config_s,
                              pb,
                              pw,
                              ph,
                              vb,
                              result_s,
                              order,
                              legacy_s,
                              json_string_value(json_object_get(row, "created_at")),
                              pairs_s};
    PGresult *r = PQexecParams(
        run->db,
        "WITH p AS (INSERT INTO ar_projects (id, owner, is_demo, expires_at, fit_mode,"
        "   scale_width, scale_height, config, photo_format, photo_bytes, photo_width,"
        "   photo_height, video_format, video_bytes, result, order_ref, job_kind, legacy,"
        "   created_at)"
        " VALUES ($1, $2, $3::boolean, $4::timestamptz, $5, $6::int, $7::int, $8::jsonb, 'jpg',"
        "   $9::bigint, $10::int, $11::int, 'mp4', $12::bigint, $13::jsonb, $14, 'import',"
        "   $15::jsonb || jsonb_build_object('importedAt', to_char(now() AT TIME ZONE 'UTC',"
        "     'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')), coalesce($16::timestamptz, now()))"
        " ON CONFLICT (id) DO NOTHING RETURNING id)"
        " INSERT INTO ar_project_items (project_id, position, photo_file, video_file)"
        " SELECT p.id, (x.e->>'position')::int, x.e->>'photo', x.e->>'video'"
        " FROM p, jsonb_array_elements($17::jsonb) AS x(e) RETURNING project_id",
        17, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = arc_err_set(err, ARC_EDB, "the database refused the project: %s",
                         PQresultErrorMessage(r));
    else if (PQntuples(r) != (int)p->n)
        rc = arc_err_set(err, ARC_EDB, "the project was made meanwhile by another import");
    PQclear(r);
    free(config_s);
    free(result_s);
    free(legacy_s);
    free(pairs_s);
    json_decref(config);
    json_decref(result);
    json_decref(legacy);
    json_decref(pairs);
    return rc;
}

/* Copies the project's files into place, then makes its row. Returns 0, or
 * an error after which nothing of the project is left. */
static int import_one(const run_t *run, project_t *p, arc_err_t *err)
{
    char tmp[PATH_MAX + 100], dst[PATH_MAX + 100], parent[PATH_MAX + 32];
    json_t *files = json_array();
    int rc, moved = 0;

    if (path_of(tmp, sizeof(tmp), "%s/tmp/legacy-%s.%ld", run->storage, p->id, (long)getpid()) !=
            0 ||
        path_of(dst, sizeof(dst), "%s/ar-storage/%s", run->storage, p->id) != 0 ||
        path_of(parent, sizeof(parent), "%s/ar-storage", run->storage) != 0) {
        json_decref(files);
        return arc_err_set(err, ARC_EIO, "storage.dir's path is too long");
    }
    if ((rc = remove_folder(tmp, err)) != 0)
        goto out;
    if (mkdir(tmp, 0750) != 0) {
        rc = arc_err_set(err, ARC_EIO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    hand_over(run, tmp);
    if ((rc = write_files(run, p, tmp, files, err)) != 0 || (rc = sync_dir(tmp, err)) != 0)
        goto out;
    /* A folder without a row is an earlier import's, interrupted: arcd has
     * no project of this id (known() said so). */
    if ((rc = remove_folder(dst, err)) != 0)
        goto out;
    if (rename(tmp, dst) != 0) {
        rc = arc_err_set(err, ARC_EIO, "cannot move %s into place: %s", tmp, strerror(errno));
        goto out;
    }
    moved = 1;
    if ((rc = sync_dir(parent, err)) != 0)
        goto out;
    rc = insert(run, p, files, err);
out:
    if (rc != 0) {
        /* Nothing of the project stays: a row is made last. */
        arc_err_t ignored;
        remove_folder(moved ? dst : tmp, &ignored);
    }
    json_decref(files);
    return rc;
}

static int record_expired(const run_t *run, const project_t *p, arc_err_t *err)
{
    const char *params[2] = {p->id, run->owner};
    PGresult *r = PQexecParams(run->db,
                               "INSERT INTO ar_tombstones (id, owner, reason)"
                               " VALUES ($1, $2, 'expired') ON CONFLICT (id) DO NOTHING",
                               2, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = arc_err_set(err, ARC_EDB, "the database refused its tombstone: %s",
                         PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

/* ---- one old project ---- */

/* Where the project's old QR code leads, when that is not arcd's public URL
 * (the old view_url without /ar/view/<id>). */
static void note_base(run_t *run, const project_t *p)
{
    char buf[32], tail[64];
    const char *view = field(p->row, "view_url", buf, sizeof(buf));

    if (view == NULL)
        return;
    snprintf(tail, sizeof(tail), "/ar/view/%s", p->id);
    size_t n = strlen(view), t = strlen(tail);
    if (n < t || strcmp(view + n - t, tail) != 0)
        return;
    char *base = arc_xstrdup(view);
    base[n - t] = '\0';
    if (strcmp(base, run->public_url) != 0)
        json_object_set_new(run->bases, base, json_true());
    free(base);
}

/* "demo until <time>, 2 targets, order <ref>" */
static const char *pairs_text(const project_t *p, const char *expires, char *buf, size_t size)
{
    char order_buf[32];
    const char *order = field(p->row, "order_id", order_buf, sizeof(order_buf));
    int demo = json_is_true(json_object_get(p->row, "is_demo"));

    snprintf(buf, size, "%s%s%s, %zu target%s%s%s", demo ? "demo" : "permanent",
             expires[0] ? " until " : "", expires, p->n, p->n == 1 ? "" : "s",
             order ? ", order " : "", order ? order : "");
    return buf;
}

/* Imports one old project (or says why not). Returns 0, or an error of
 * arcd's database or storage, which ends the run. */
static int import_project(run_t *run, const json_t *row, int expired, const char *expires)
{
    project_t p;
    arc_err_t err = {{0}};
    char state[64], buf[32], what[300];
    int rc = 0;

    memset(&p, 0, sizeof(p));
    p.row = row;
    p.id = json_string_value(json_object_get(row, "id"));
    if (p.id == NULL || arc_id_kind(p.id) == ARC_ID_NONE) {
        char shown[80];
        snprintf(shown, sizeof(shown), "%s", p.id ? p.id : "(no id)");
        arc_str_printable(shown);
        report(shown,
               "NOT IMPORTED: not an id arcd can keep (letters, a 10-16 digit timestamp and "
               "4-16 letters or digits, at most %d characters; or a UUID)",
               ARC_ID_MAX);
        run->count[R_FAILED]++;
        return 0;
    }
    p.old_items = json_object_get(run->items, p.id);
    if (path_of(p.dir, sizeof(p.dir), "%s/%s", run->root, p.id) != 0) {
        report(p.id, "NOT IMPORTED: the path of its old folder is too long");
        run->count[R_FAILED]++;
        return 0;
    }
    if (known(run, p.id, state, sizeof(state)) != 0)
        return ARC_EDB;
    if (state[0] != '\0') {
        report(p.id, "already imported (%s)", state);
        run->count[R_ALREADY]++;
        return 0;
    }
    const char *status = field(row, "status", buf, sizeof(buf));
    if (expired) {
        report(p.id, "%s: expired in the old system at %s",
               run->dry_run ? "would record" : "recorded", expires);
        if (!run->dry_run && (rc = record_expired(run, &p, &err)) != 0)
            fprintf(stderr, "arcd import-legacy: %s: %s\n", p.id, err.msg);
        run->count[R_EXPIRED]++;
        return rc;
    }
    if (status == NULL || strcmp(status, "ready") != 0) {
        const char *why = json_string_value(json_object_get(row, "error_message"));
        char shown[300];
        snprintf(shown, sizeof(shown), "%s", why ? why : "");
        arc_str_printable(shown);
        report(p.id, "skipped: %s in the old system%s%s, nothing to import",
               status ? status : "no status", shown[0] ? ": " : "", shown);
        run->count[R_NOT_READY]++;
        return 0;
    }
    note_base(run, &p);
    if (check_files(run, &p) != 0) {
        arc_str_printable(p.why);
        report(p.id, "NOT IMPORTED: %s", p.why);
        run->count[R_FAILED]++;
        goto out;
    }
    pairs_text(&p, expires, what, sizeof(what));
    if (!run->dry_run && (rc = import_one(run, &p, &err)) != 0) {
        /* arcd's storage or database failed: the run cannot go on. */
        fprintf(stderr, "arcd import-legacy: %s: %s\n", p.id, err.msg);
        goto out;
    }
    report(p.id, "%s: %s%s%s%s", run->dry_run ? "would import" : "imported", what,
           run->dry_run ? "" : "; queued for its video, viewer and QR code", p.note[0] ? "; " : "",
           p.note);
    run->count[R_IMPORTED]++;
out:
    arc_mind_free(p.mind);
    arc_photo_dispose(&p.thumb);
    return rc;
}

/* ---- the databases ---- */

/* The old projects (each row as JSON, oldest first, whether its expiry has
 * passed and when that is, as arcd writes times) and their items, grouped by project into
 * run->items. */
static PGresult *read_old(run_t *run)
{
    PGresult *r, *items;

    /* The old database is only read. */
    PQclear(PQexec(run->old, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"));
    r = run_sql(run->old, "reading the old ar_projects",
                "SELECT to_jsonb(p)::text AS row,"
                " coalesce((to_jsonb(p)->>'expires_at')::timestamptz <= now(), false) AS expired,"
                " to_char((to_jsonb(p)->>'expires_at')::timestamptz AT TIME ZONE 'UTC',"
                "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires"
                " FROM ar_projects p"
                " ORDER BY (to_jsonb(p)->>'created_at')::timestamptz NULLS FIRST,"
                " to_jsonb(p)->>'id'",
                0, NULL);
    if (r == NULL)
        return NULL;
    /* A system that never made a multi-target project may lack the table. */
    items = run_sql(run->old, "reading the old schema",
                    "SELECT to_regclass('ar_project_items') IS NOT NULL AS has_items", 0, NULL);
    int has_items = items != NULL && PQgetvalue(items, 0, 0)[0] == 't';
    PQclear(items);
    items = has_items
                ? run_sql(run->old, "reading the old ar_project_items",
                          "SELECT to_jsonb(i)::text AS item FROM ar_project_items i"
                          " ORDER BY to_jsonb(i)->>'project_id',"
                          " (to_jsonb(i)->>'target_index')::int",
                          0, NULL)
                : run_sql(run->old, "reading the old schema", "SELECT 1 WHERE false", 0, NULL);
    if (items == NULL) {
        PQclear(r);
        return NULL;
    }
    for (int i = 0; i < PQntuples(items); i++) {
        json_error_t jerr;
        json_t *item = json_loads(PQgetvalue(items, i, 0), 0, &jerr);
        const char *pid = json_string_value(json_object_get(item, "project_id"));
        if (pid != NULL) {
            json_t *list = json_object_get(run->items, pid);
            if (list == NULL)
                json_object_set_new(run->items, pid, list = json_array());
            json_array_append(list, item);
        }
        json_decref(item);
    }
    PQclear(items);
    return r;
}

/* The workers' user (workers.user), when this runs as root as the daemon
 * does: the workers write the project's videos into its folder. */
static int workers_user(run_t *run, const arc_config_t *cfg)
{
    if (geteuid() != 0 || cfg->workers.user == NULL || cfg->workers.user[0] == '\0')
        return 0;
    struct passwd *pw = getpwnam(cfg->workers.user);
    if (pw == NULL || pw->pw_uid == 0) {
        fprintf(stderr,
                "arcd import-legacy: workers.user '%s' is %s: the daemon would refuse it too\n",
                cfg->workers.user, pw == NULL ? "no such user" : "root");
        return -1;
    }
    run->chown = 1;
    run->uid = pw->pw_uid;
    run->gid = pw->pw_gid;
    return 0;
}

static PGconn *connect_to(const char *url, const char *what)
{
    static const char *const keys[] = {"dbname", "connect_timeout", "fallback_application_name",
                                       NULL};
    const char *const values[] = {url, "10", "arcd import-legacy", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);

    if (PQstatus(c) != CONNECTION_OK) {
        /* The URL may hold a password: libpq's message, not the URL. */
        fprintf(stderr, "arcd import-legacy: cannot connect to %s: %s", what, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* arcd's database: migrated and locked for the run, or (a dry run) only
 * looked at. Returns 0 or the exit status. */
static int open_arcd(run_t *run, const arc_config_t *cfg)
{
    arc_err_t err = {{0}};
    int applied = 0;
    PGresult *r;

    if (!run->dry_run && arc_db_migrate(cfg->database.url, &applied, &err) != 0) {
        fprintf(stderr, "arcd import-legacy: %s\n", err.msg);
        return 4;
    }
    if (applied > 0)
        fprintf(stderr, "arcd import-legacy: %d migration%s applied\n", applied,
                applied == 1 ? "" : "s");
    if ((run->db = connect_to(cfg->database.url, "arcd's database")) == NULL)
        return 4;
    if (run->dry_run) {
        /* What the import would find: a database never migrated has none
         * of arcd's tables yet. */
        r = run_sql(run->db, "reading arcd's schema",
                    "SELECT to_regclass('ar_projects') IS NOT NULL"
                    "   AND to_regclass('ar_tombstones') IS NOT NULL AS tables,"
                    " to_regclass('arcd_migrations') IS NOT NULL AS migrations",
                    0, NULL);
        if (r == NULL)
            return 4;
        run->db_has_tables = PQgetvalue(r, 0, PQfnumber(r, "tables"))[0] == 't';
        int migrations = PQgetvalue(r, 0, PQfnumber(r, "migrations"))[0] == 't';
        PQclear(r);
        int version = 0;
        if (migrations) {
            r = run_sql(run->db, "reading arcd's schema",
                        "SELECT coalesce(max(version), 0) AS version FROM arcd_migrations", 0,
                        NULL);
            if (r == NULL)
                return 4;
            version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
        int latest = arc_migrations_count ? arc_migrations[arc_migrations_count - 1].version : 0;
        if (version < latest)
            printf("arcd's database is at schema version %d: the import would migrate it to %d "
                   "first\n",
                   version, latest);
        return 0;
    }
    run->db_has_tables = 1;
    r = run_sql(run->db, "taking the import's lock",
                "SELECT pg_try_advisory_lock(x'" IMPORT_LOCK_KEY "'::bigint) AS locked", 0, NULL);
    if (r == NULL)
        return 4;
    int locked = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!locked) {
        fprintf(stderr, "arcd import-legacy: another import is running on this database\n");
        return 4;
    }
    return 0;
}

/* ---- arcd import-legacy ---- */

static int usage(void)
{
    fprintf(stderr, "usage: arcd import-legacy --from-database URL --from-storage DIR [--dry-run]\n"
                    "         [--owner NAME] [--config FILE]\n"
                    "  URL: the old system's PostgreSQL (a libpq connection string or URI)\n"
                    "  DIR: the old storage, the folder that holds objects/ar-storage/\n");
    return 2;
}

int arc_cli_import_legacy(int argc, char **argv)
{
    const char *config_path = NULL, *from_db = NULL, *from_storage = NULL, *owner = NULL;
    int dry_run = 0;
    const arc_opt_t options[] = {
        {"--from-database", NULL, ARC_OPT_STR, &from_db, 0, 0},
        {"--from-storage", NULL, ARC_OPT_STR, &from_storage, 0, 0},
        {"--dry-run", NULL, ARC_OPT_FLAG, &dry_run, 0, 0},
        {"--owner", NULL, ARC_OPT_STR, &owner, 0, 0},
        {"--config", NULL, ARC_OPT_STR, &config_path, 0, 0},
    };
    arc_config_t cfg;
    arc_err_t err = {{0}};
    char root[PATH_MAX + 32];
    run_t run;
    PGresult *rows = NULL;
    int status = 0, cfg_loaded = 0;
    struct stat st;

    memset(&run, 0, sizeof(run));
    if (arc_opts_parse(argc, argv, options, sizeof(options) / sizeof(options[0]), NULL, 0, NULL) !=
        0)
        return usage();
    if (from_db == NULL || from_storage == NULL) {
        fprintf(stderr, "arcd import-legacy: %s is required\n",
                from_db == NULL ? "--from-database URL" : "--from-storage DIR");
        return usage();
    }
    if (owner != NULL &&
        (arc_cli_token_name_ok(owner, 1, MAX_OWNER) != 0 || strlen(owner) > MAX_OWNER)) {
        fprintf(stderr,
                "arcd import-legacy: --owner must be 1 to %d characters with no control "
                "characters, as a token's owner\n",
                MAX_OWNER);
        return 2;
    }
    if (path_of(root, sizeof(root), "%s/objects/ar-storage", from_storage) != 0 ||
        stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "arcd import-legacy: %s is not a folder: --from-storage is the old "
                "storage, the folder that holds objects/ar-storage/<id>/\n",
                root);
        return 2;
    }
    if ((status = arc_cli_load_config(config_path, "import-legacy", &cfg)) != 0)
        return status;
    cfg_loaded = 1;
    run.root = root;
    run.public_url = cfg.server.public_url;
    run.owner = owner;
    run.dry_run = dry_run;
    run.items = json_object();
    run.bases = json_object();
    if (!dry_run) {
        /* The daemon's folders, as it makes them at start-up. */
        char sub[PATH_MAX + 32];
        if (arc_file_mkdirs(cfg.storage.dir, &err) != 0 ||
            realpath(cfg.storage.dir, run.storage) == NULL) {
            fprintf(stderr, "arcd import-legacy: storage.dir '%s': %s\n", cfg.storage.dir,
                    err.msg[0] ? err.msg : strerror(errno));
            status = 4;
            goto out;
        }
        static const char *const subs[] = {"ar-storage", "tmp"};
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
            if (path_of(sub, sizeof(sub), "%s/%s", run.storage, subs[i]) != 0 ||
                arc_file_mkdirs(sub, &err) != 0) {
                fprintf(stderr, "arcd import-legacy: %s\n", err.msg);
                status = 4;
                goto out;
            }
        }
        if (workers_user(&run, &cfg) != 0) {
            status = 2;
            goto out;
        }
    }
    if ((run.old = connect_to(from_db, "the old database")) == NULL) {
        status = 4;
        goto out;
    }
    if ((status = open_arcd(&run, &cfg)) != 0)
        goto out;
    if ((rows = read_old(&run)) == NULL) {
        status = 4;
        goto out;
    }
    int row_col = PQfnumber(rows, "row"), exp_col = PQfnumber(rows, "expired");
    int when_col = PQfnumber(rows, "expires");
    for (int i = 0; i < PQntuples(rows); i++) {
        json_error_t jerr;
        json_t *row = json_loads(PQgetvalue(rows, i, row_col), 0, &jerr);
        int rc = import_project(&run, row, PQgetvalue(rows, i, exp_col)[0] == 't',
                                PQgetvalue(rows, i, when_col));
        json_decref(row);
        if (rc != 0) {
            status = 4;
            goto out;
        }
    }
    const char *base;
    json_t *ignored;
    json_object_foreach(run.bases, base, ignored)
    {
        printf("note: old QR codes lead to %s/ar/view/<id>, and arcd's server.publicUrl is %s: "
               "they reach arcd only once %s is arcd's address\n",
               base, run.public_url, base);
    }
    printf("arcd import-legacy: %s%d %s, %d already imported, %d expired (recorded as such), "
           "%d not ready in the old system (skipped), %d could not be imported\n",
           dry_run ? "dry run, nothing changed: " : "", run.count[R_IMPORTED],
           dry_run ? "would be imported" : "imported", run.count[R_ALREADY], run.count[R_EXPIRED],
           run.count[R_NOT_READY], run.count[R_FAILED]);
    if (!dry_run && run.count[R_IMPORTED] > 0)
        printf("the imported projects are queued: a running arcd serve makes their videos, "
               "viewers and QR codes (GET /api/ar/projects?status=pending lists those left)\n");
    if (run.count[R_FAILED] > 0)
        status = 3;
out:
    if (fflush(stdout) != 0 && status == 0)
        status = 4;
    PQclear(rows);
    PQfinish(run.old);
    PQfinish(run.db); /* ends the session, and with it the lock */
    json_decref(run.items);
    json_decref(run.bases);
    if (cfg_loaded)
        arc_config_dispose(&cfg);
    return status;
}
