/*
 * GET /objects/ar-storage/:id/:file: a project's files, read through libuv's
 * threadpool in 64 KiB pieces and written as the socket drains, with ETag,
 * Last-Modified, Accept-Ranges and single-range 206 answers (iPhones ask for
 * "bytes=0-1" before they play a video). The id has been checked as a UUID;
 * the file must be one of the names a project produces, so no request can
 * reach outside the project's folder. The uploads themselves (photo.*,
 * video.*) are never served: they carry the customer's camera and location
 * metadata, and a failed project's may be anything.
 *
 * GET /vendor/:file and /vendor/:version/:file: the viewer's scripts. Pages
 * load them by version (daemon.c's vendor_version), and that URL is cached
 * for a year, immutable (unless the file changed after the daemon took the
 * version: scripts replaced under a running daemon); another version (a
 * page written before an upgrade) and the plain URL get today's scripts
 * for five minutes.
 *
 * The scripts and marker.mind are kept precompressed beside themselves
 * (NAME.br and NAME.gz, made by scripts/vendor.sh and the marker stage):
 * a client that accepts brotli or gzip gets that file as it is, with
 * Content-Encoding and Vary: Accept-Encoding; 3.1 MB of scripts are 0.5 MB
 * in brotli, which on a phone's network is most of the wait.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arcd/limits.h"
#include "files.h"

#define CHUNK 65536

static const struct {
    const char *name;
    const char *type;
} served[] = {
    {"marker.mind", "application/octet-stream"},
    {"index.html", "text/html; charset=utf-8"},
    {"qr-code.png", "image/png"},
    {"qr-code.svg", "image/svg+xml"},
    {"enhanced-photo.jpg", "image/jpeg"},
    {"print.jpg", "image/jpeg"},
    {"print-sheet.pdf", "application/pdf"},
    {"poster.jpg", "image/jpeg"},
    {"features.png", "image/png"},
    {"thumbnail.jpg", "image/jpeg"},
    {"ar-video.mp4", "video/mp4"},
};

/* 1 when the 8 characters at s are lower-case hex digits. */
static int hex8(const char *s)
{
    for (int i = 0; i < 8; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* The served name of file: itself, or without the marks of a pair or of a
 * replaced video: a multi-target project's item n ("poster-2.jpg") drops
 * "-<n>", a video made again after the print ("ar-video-2.0badf00d.mp4",
 * "poster.0badf00d.jpg") drops ".<8 hex>" too. */
static int served_as(const char *file, char *base, size_t size)
{
    char plain[ARC_MAX_FILE_NAME + 16];
    const char *dot = strrchr(file, '.');

    if (dot != NULL && dot - file > 9 && dot[-9] == '.' && hex8(dot - 8) &&
        (strncmp(file, "ar-video", 8) == 0 || strncmp(file, "poster", 6) == 0) &&
        snprintf(plain, sizeof(plain), "%.*s%s", (int)(dot - 9 - file), file, dot) <
            (int)sizeof(plain)) {
        file = plain;
        dot = strrchr(file, '.');
    }
    const char *dash = dot ? dot : file;

    while (dash > file && dash[-1] >= '0' && dash[-1] <= '9')
        dash--;
    if (dot == NULL || dash == dot || dash == file || dash[-1] != '-' || dash[0] == '0' ||
        dot - dash > 3)
        return snprintf(base, size, "%s", file) < (int)size ? 0 : -1;
    return snprintf(base, size, "%.*s%s", (int)(dash - 1 - file), file, dot) < (int)size ? 0 : -1;
}

/* The encodings a file may be kept in, best first ("" is the file itself). */
enum { ENC_BR, ENC_GZIP, ENC_IDENTITY, N_ENC };
static const struct {
    const char *suffix, *name;
} encodings[N_ENC] = {{".br", "br"}, {".gz", "gzip"}, {"", NULL}};

typedef struct fsend_s {
    arc_http_req_t *req; /* NULL once aborted */
    arc_daemon_t *d;
    uv_fs_t fs;
    int busy;
    uv_file fd;
    uint64_t pos, end; /* bytes [pos, end) still to send */
    char *buf;
    int writing;
    const char *type;
    const char *cache; /* the Cache-Control value */
    int immutable;     /* the version's: immutable unless the file changed since it was taken */
    int negotiated;    /* the answer varies by Accept-Encoding */
    unsigned accepted; /* bit per encoding the client takes */
    int enc;           /* the encoding being opened or sent */
    char path[4200];   /* the file itself, without suffix */
} fsend_t;

static void on_closed(uv_fs_t *fs)
{
    fsend_t *f = fs->data;

    uv_fs_req_cleanup(fs);
    free(f->buf);
    free(f);
}

/* Frees f once nothing of it is in flight; its file is closed on the
 * threadpool first (a close can wait on network storage). */
static void fs_free(fsend_t *f)
{
    if (f->busy || f->writing)
        return;
    if (f->fd >= 0) {
        f->fs.data = f;
        uv_fs_close(f->d->loop, &f->fs, f->fd, on_closed);
        f->fd = -1;
        return;
    }
    free(f->buf);
    free(f);
}

/* Detaches the request to answer it for the last time: after this, nothing
 * here touches it and on_abort will not run. */
static arc_http_req_t *take_req(fsend_t *f)
{
    arc_http_req_t *req = f->req;

    f->req = NULL;
    req->on_abort = NULL;
    return req;
}

static void on_abort(arc_http_req_t *req)
{
    fsend_t *f = req->data;

    f->req = NULL;
    fs_free(f);
}

static void read_next(fsend_t *f);

static void on_chunk_written(arc_http_req_t *req, int status, void *arg)
{
    fsend_t *f = arg;

    (void)req;
    f->writing = 0;
    if (f->req == NULL || status < 0) {
        /* A failed write: the server closes the connection right after this
         * callback, which must then not call on_abort on what is freed here
         * (found by the load benchmark: clients leaving mid-download). */
        if (f->req != NULL)
            take_req(f);
        fs_free(f);
        return;
    }
    read_next(f);
}

static void on_read(uv_fs_t *fs)
{
    fsend_t *f = fs->data;
    ssize_t n = fs->result;

    uv_fs_req_cleanup(fs);
    f->busy = 0;
    if (f->req == NULL) {
        fs_free(f);
        return;
    }
    if (n <= 0) {
        /* The file shrank or failed under us: end the response short. */
        arc_http_end(take_req(f));
        fs_free(f);
        return;
    }
    f->pos += (uint64_t)n;
    f->writing = 1;
    arc_http_write(f->req, f->buf, (size_t)n, on_chunk_written, f);
}

static void read_next(fsend_t *f)
{
    if (f->pos >= f->end) {
        arc_http_end(take_req(f));
        fs_free(f);
        return;
    }
    uint64_t left = f->end - f->pos;
    uv_buf_t b = uv_buf_init(f->buf, (unsigned)(left < CHUNK ? left : CHUNK));
    f->fs.data = f;
    f->busy = 1;
    uv_fs_read(f->d->loop, &f->fs, f->fd, &b, 1, (int64_t)f->pos, on_read);
}

/* Parses "bytes=a-b", "bytes=a-" or "bytes=-n" against size. Returns 1 with
 * [*from, *to] inclusive, 0 to ignore the header (malformed, or several
 * ranges: the whole file is sent), -1 when it cannot be satisfied. */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
    char *end;

    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
        return 0;
    h += 6;
    if (*h == '-') {
        unsigned long long n = strtoull(h + 1, &end, 10);
        if (end == h + 1 || *end != '\0')
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return 1;
    }
    unsigned long long a = strtoull(h, &end, 10);
    if (end == h || *end != '-')
        return 0;
    const char *b = end + 1;
    unsigned long long z = size ? size - 1 : 0;
    if (*b != '\0') {
        z = strtoull(b, &end, 10);
        if (end == b || *end != '\0' || z < a)
            return 0;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = z >= size ? size - 1 : z;
    return 1;
}

static void on_stat(uv_fs_t *fs)
{
    fsend_t *f = fs->data;
    uv_stat_t st = fs->statbuf;
    int rc = (int)fs->result;

    uv_fs_req_cleanup(fs);
    f->busy = 0;
    if (f->req == NULL) {
        fs_free(f);
        return;
    }
    arc_http_req_t *req = f->req;
    if (rc < 0 || !S_ISREG(st.st_mode)) {
        arc_http_error(take_req(f), 404, "not_found", NULL, "no such file");
        fs_free(f);
        return;
    }
    uint64_t size = st.st_size;
    char etag[80], lm[64], headers[768];
    const char *enc = encodings[f->enc].name;
    /* Each encoding is its own representation, with its own tag. */
    snprintf(etag, sizeof(etag), "\"%llx-%llx%s%s\"", (unsigned long long)size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec,
             enc ? "-" : "", enc ? enc : "");
    time_t mt = (time_t)st.st_mtim.tv_sec;
    struct tm tm;
    gmtime_r(&mt, &tm);
    strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    const char *cache = f->cache;
    if (f->immutable && (int64_t)st.st_mtim.tv_sec < f->d->vendor_stamp)
        cache = "public, max-age=31536000, immutable";
    int n = snprintf(headers, sizeof(headers),
                     "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n"
                     "Cache-Control: %s\r\nAccess-Control-Allow-Origin: *\r\n%s%s%s%s",
                     etag, lm, cache, f->negotiated ? "Vary: Accept-Encoding\r\n" : "",
                     enc ? "Content-Encoding: " : "", enc ? enc : "", enc ? "\r\n" : "");
    const char *inm = arc_http_header(req, "if-none-match");
    if (inm != NULL && strcmp(inm, etag) == 0) {
        arc_http_respond(take_req(f), 304, NULL, headers, "", 0);
        fs_free(f);
        return;
    }
    uint64_t from = 0, to = size ? size - 1 : 0;
    int status = 200;
    const char *range = arc_http_header(req, "range");
    const char *if_range = arc_http_header(req, "if-range");
    if (range != NULL && (if_range == NULL || strcmp(if_range, etag) == 0)) {
        int pr = parse_range(range, size, &from, &to);
        if (pr < 0) {
            snprintf(headers + n, sizeof(headers) - (size_t)n, "Content-Range: bytes */%llu\r\n",
                     (unsigned long long)size);
            arc_http_respond(take_req(f), 416, "text/plain", headers, "", 0);
            fs_free(f);
            return;
        }
        if (pr > 0) {
            status = 206;
            snprintf(headers + n, sizeof(headers) - (size_t)n,
                     "Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)from,
                     (unsigned long long)to, (unsigned long long)size);
        }
    }
    uint64_t len = size ? to - from + 1 : 0;
    arc_http_start(req, status, f->type, headers, (int64_t)len);
    if (strcmp(req->method, "HEAD") == 0 || len == 0) {
        arc_http_end(take_req(f));
        fs_free(f);
        return;
    }
    f->pos = from;
    f->end = to + 1;
    f->buf = arc_xmalloc(CHUNK);
    read_next(f);
}

static void open_next(fsend_t *f);

static void on_open(uv_fs_t *fs)
{
    fsend_t *f = fs->data;
    int fd = (int)fs->result;

    uv_fs_req_cleanup(fs);
    f->busy = 0;
    if (fd >= 0)
        f->fd = fd;
    if (f->req == NULL) {
        fs_free(f);
        return;
    }
    if (fd < 0 && f->enc != ENC_IDENTITY) {
        /* Not kept in that encoding: the next one the client takes. */
        f->enc++;
        open_next(f);
        return;
    }
    if (fd < 0) {
        arc_http_error(take_req(f), 404, "not_found", NULL, "no such file");
        fs_free(f);
        return;
    }
    f->busy = 1;
    uv_fs_fstat(f->d->loop, &f->fs, f->fd, on_stat);
}

static void serve_path(arc_http_req_t *req, arc_daemon_t *d, const char *path, const char *type,
                       const char *cache, int negotiated, int immutable);

void arc_files_on_object(arc_http_req_t *req)
{
    arc_daemon_t *d = ARC_DAEMON(req);
    const char *id = arc_http_param(req, "id"), *file = arc_http_param(req, "file");
    const char *type = NULL;
    char path[4200], base[64];

    if (!arc_daemon_valid_id(id)) {
        arc_http_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    if (served_as(file, base, sizeof(base)) != 0)
        base[0] = '\0';
    for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++)
        if (strcmp(served[i].name, base) == 0)
            type = served[i].type;
    if (type == NULL) {
        arc_http_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    snprintf(path, sizeof(path), "%s/ar-storage/%s/%s", d->storage, id, file);
    serve_path(req, d, path, type, "public, max-age=300", strcmp(base, "marker.mind") == 0, 0);
}

void arc_files_on_vendor(arc_http_req_t *req)
{
    arc_daemon_t *d = ARC_DAEMON(req);
    const char *file = arc_http_param(req, "file"), *version = arc_http_param(req, "version");
    char path[4200];

    if (strcmp(file, "aframe.min.js") != 0 && strcmp(file, "mindar-image-aframe.prod.js") != 0) {
        arc_http_error(req, 404, "not_found", NULL, "no such file");
        return;
    }
    int current =
        version != NULL && d->vendor_version[0] != '\0' && strcmp(version, d->vendor_version) == 0;
    snprintf(path, sizeof(path), "%s/%s", d->vendor, file);
    serve_path(req, d, path, "application/javascript; charset=utf-8", "public, max-age=300", 1,
               current);
}

static void open_next(fsend_t *f)
{
    char path[4300];

    while (f->enc != ENC_IDENTITY && !(f->accepted & (1u << f->enc)))
        f->enc++;
    snprintf(path, sizeof(path), "%s%s", f->path, encodings[f->enc].suffix);
    f->fs.data = f;
    f->busy = 1;
    uv_fs_open(f->d->loop, &f->fs, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0, on_open);
}

static void serve_path(arc_http_req_t *req, arc_daemon_t *d, const char *path, const char *type,
                       const char *cache, int negotiated, int immutable)
{
    fsend_t *f = arc_xcalloc(1, sizeof(*f));
    f->req = req;
    f->d = d;
    f->fd = -1;
    f->type = type;
    f->cache = cache;
    f->negotiated = negotiated;
    f->immutable = immutable;
    snprintf(f->path, sizeof(f->path), "%s", path);
    if (negotiated) {
        const char *ae = arc_http_header(req, "accept-encoding");
        for (int e = 0; e < ENC_IDENTITY; e++)
            if (ae != NULL && arc_http_accepts(ae, encodings[e].name))
                f->accepted |= 1u << e;
    }
    f->enc = negotiated ? ENC_BR : ENC_IDENTITY;
    req->data = f;
    req->on_abort = on_abort;
    open_next(f);
}
