/*
 * The operator's web app: its files read once, compressed once, and served
 * from memory with a strict policy (see app.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "arcd/buf.h"
#include "arcd/compress.h"
#include "arcd/file.h"
#include "arcd/tpl.h"
#include "app.h"
#include "core.h"

#define MAX_FILES 64
#define MAX_FILE_BYTES (1u << 20)
#define BROTLI_QUALITY 11 /* once, at start-up: the smallest form */

/* The encodings kept, best first; the last is the file itself. */
enum { ENC_BR, ENC_GZIP, ENC_IDENTITY, N_ENC };
static const char *const enc_names[N_ENC] = {"br", "gzip", NULL};

typedef struct app_file_s {
    char name[64];
    const char *type;
    uint8_t *body[N_ENC];
    size_t len[N_ENC];
} app_file_t;

struct arc_app_s {
    app_file_t files[MAX_FILES];
    size_t n_files;
    app_file_t *index; /* index.html, its {{base}} filled in; NULL when missing */
    char version[17];
    char headers[2560]; /* the policy and its companions, on every answer */
};

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".json", "application/json"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* A name a URL segment can carry as it is. */
static int name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= sizeof(((app_file_t *)0)->name) || name[0] == '.')
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* index.html's one field: where the other files are, /app/<version>. */
static int base_field(void *arg, const char *name, arc_buf_t *out)
{
    if (strcmp(name, "base") != 0)
        return -1;
    arc_buf_puts(out, arg);
    return 0;
}

/* f (index.html) rendered as a template (include/arcd/tpl.h) with base:
 * a field other than {{base}} is refused at start-up, as the viewer's and
 * the daemon's pages are. Returns 0 or ARC_EINVAL. */
static int fill_base(app_file_t *f, const char *base, arc_err_t *err)
{
    arc_buf_t out = ARC_BUF_INIT;
    arc_err_t why;

    f->body[ENC_IDENTITY][f->len[ENC_IDENTITY]] = '\0';
    if (arc_tpl_render((const char *)f->body[ENC_IDENTITY], base_field, (void *)base, &out, &why) !=
        0) {
        arc_buf_dispose(&out);
        return arc_err_set(err, ARC_EINVAL, "app.dir's index.html: %s", why.msg);
    }
    free(f->body[ENC_IDENTITY]);
    f->len[ENC_IDENTITY] = out.len;
    f->body[ENC_IDENTITY] = (uint8_t *)arc_buf_detach(&out);
    if (f->body[ENC_IDENTITY] == NULL)
        f->body[ENC_IDENTITY] = (uint8_t *)arc_xstrdup("");
    return 0;
}

static void compress_forms(app_file_t *f)
{
    const uint8_t *src = f->body[ENC_IDENTITY];
    size_t len = f->len[ENC_IDENTITY];

    /* A form no smaller than the file is not worth its header. */
    if (arc_compress_brotli(src, len, BROTLI_QUALITY, &f->body[ENC_BR], &f->len[ENC_BR]) == 0 &&
        f->len[ENC_BR] >= len) {
        free(f->body[ENC_BR]);
        f->body[ENC_BR] = NULL;
    }
    if (arc_compress_gzip(src, len, &f->body[ENC_GZIP], &f->len[ENC_GZIP]) == 0 &&
        f->len[ENC_GZIP] >= len) {
        free(f->body[ENC_GZIP]);
        f->body[ENC_GZIP] = NULL;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const app_file_t *)a)->name, ((const app_file_t *)b)->name);
}

/* The origin (scheme://host[:port]) of url into out, or "" when it has none. */
static void origin_of(const char *url, char *out, size_t size)
{
    const char *scheme = strstr(url, "://");
    const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    size_t n = scheme == NULL ? 0 : path ? (size_t)(path - url) : strlen(url);

    snprintf(out, size, "%.*s", (int)n, url);
    /* Only what a policy's source list takes: no spaces, quotes or ';'. */
    if (strcspn(out, " ;'\",\r\n") != strlen(out))
        out[0] = '\0';
}

static void make_headers(arc_app_t *a, const char *public_url)
{
    char origin[512];

    origin_of(public_url, origin, sizeof(origin));
    const char *o = origin[0] ? " " : "";
    snprintf(a->headers, sizeof(a->headers),
             "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
             "img-src 'self' blob: data:%s%s; media-src 'self' blob:%s%s; connect-src 'self'%s%s; "
             "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'\r\n"
             "X-Content-Type-Options: nosniff\r\n"
             "Referrer-Policy: no-referrer\r\n"
             "X-Frame-Options: DENY\r\n"
             "Cross-Origin-Opener-Policy: same-origin\r\n",
             o, origin, o, origin, o, origin);
}

int arc_app_load(const char *dir, const char *public_url, arc_app_t **out, arc_err_t *err)
{
    arc_app_t *a = arc_xcalloc(1, sizeof(*a));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned sum_len = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;

    *out = a;
    make_headers(a, public_url);
    if (d == NULL) {
        rc = arc_err_set(err, ARC_EIO, "app.dir %s: %s", dir, strerror(errno));
        goto out;
    }
    while ((e = readdir(d)) != NULL && rc == 0) {
        char path[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !name_ok(e->d_name) ||
            type_of(e->d_name) == NULL) {
            rc = arc_err_set(err, ARC_EINVAL,
                             "app.dir: %s is not a file the app can serve (plain files named "
                             "with letters, digits, '.', '_' and '-', of a web type)",
                             path);
            break;
        }
        if (a->n_files == MAX_FILES) {
            rc = arc_err_set(err, ARC_EINVAL, "app.dir: more than %d files", MAX_FILES);
            break;
        }
        app_file_t *f = &a->files[a->n_files];
        if ((rc = arc_file_read_all(path, MAX_FILE_BYTES, &f->body[ENC_IDENTITY],
                                    &f->len[ENC_IDENTITY], err)) != 0)
            break;
        snprintf(f->name, sizeof(f->name), "%.*s", (int)sizeof(f->name) - 1, e->d_name);
        f->type = type_of(e->d_name);
        a->n_files++;
    }
    if (rc != 0)
        goto out;
    /* The version: every file by name, in a fixed order. */
    qsort(a->files, a->n_files, sizeof(a->files[0]), by_name);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < a->n_files; i++) {
        app_file_t *f = &a->files[i];
        EVP_DigestUpdate(md, f->name, strlen(f->name) + 1);
        EVP_DigestUpdate(md, f->body[ENC_IDENTITY], f->len[ENC_IDENTITY]);
    }
    EVP_DigestFinal_ex(md, sum, &sum_len);
    for (int i = 0; i < 8; i++)
        snprintf(a->version + 2 * i, 3, "%02x", sum[i]);
    char base[64];
    snprintf(base, sizeof(base), "/app/%s", a->version);
    for (size_t i = 0; i < a->n_files && rc == 0; i++) {
        app_file_t *f = &a->files[i];
        if (strcmp(f->name, "index.html") == 0) {
            rc = fill_base(f, base, err);
            a->index = f;
        }
        compress_forms(f);
    }
    if (rc == 0 && a->index == NULL)
        rc = arc_err_set(err, ARC_EIO, "app.dir %s has no index.html", dir);
out:
    if (d != NULL)
        closedir(d);
    EVP_MD_CTX_free(md);
    if (rc != 0 && rc != ARC_EIO) {
        arc_app_free(a);
        *out = NULL;
    }
    return rc;
}

const char *arc_app_version(const arc_app_t *a)
{
    return a != NULL && a->index != NULL ? a->version : "";
}

/* Sends f in the best form the request takes. */
static void send_file(arc_http_req_t *req, const arc_app_t *a, const app_file_t *f,
                      const char *cache)
{
    const char *ae = arc_http_header(req, "accept-encoding");
    const char *inm = arc_http_header(req, "if-none-match");
    char headers[3072], etag[64];
    int enc = ENC_IDENTITY;

    for (int e = 0; e < ENC_IDENTITY && enc == ENC_IDENTITY; e++)
        if (f->body[e] != NULL && ae != NULL && arc_http_accepts(ae, enc_names[e]))
            enc = e;
    snprintf(etag, sizeof(etag), "\"%s%s%s\"", a->version, enc_names[enc] ? "-" : "",
             enc_names[enc] ? enc_names[enc] : "");
    int n = snprintf(headers, sizeof(headers),
                     "%sCache-Control: %s\r\nETag: %s\r\nVary: Accept-Encoding\r\n", a->headers,
                     cache, etag);
    if (enc != ENC_IDENTITY && n > 0 && (size_t)n < sizeof(headers))
        snprintf(headers + n, sizeof(headers) - (size_t)n, "Content-Encoding: %s\r\n",
                 enc_names[enc]);
    if (inm != NULL && strstr(inm, etag) != NULL) {
        arc_http_respond(req, 304, NULL, headers, NULL, 0);
        return;
    }
    arc_http_respond(req, 200, f->type, headers, f->body[enc], f->len[enc]);
}

void arc_app_on_index(arc_http_req_t *req)
{
    const arc_app_t *a = ARC_DAEMON(req)->app;

    if (a == NULL || a->index == NULL) {
        arc_http_error(req, 404, "not_found", NULL,
                       "the web app is not installed here (app.dir has no index.html)");
        return;
    }
    /* The page names the version it loads: never kept. */
    send_file(req, a, a->index, "no-cache");
}

void arc_app_on_asset(arc_http_req_t *req)
{
    const arc_app_t *a = ARC_DAEMON(req)->app;
    const char *version = arc_route_param(&req->match, "version");
    const char *name = arc_route_param(&req->match, "file");

    for (size_t i = 0; a != NULL && a->index != NULL && i < a->n_files; i++) {
        const app_file_t *f = &a->files[i];
        if (strcmp(f->name, name) != 0 || f == a->index)
            continue;
        /* Another version's URL gets today's file, which it may not be. */
        send_file(req, a, f,
                  strcmp(version, a->version) == 0 ? "public, max-age=31536000, immutable"
                                                   : "no-cache");
        return;
    }
    arc_http_error(req, 404, "not_found", NULL, "no such file in the web app: %s", name);
}

void arc_app_free(arc_app_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_files; i++)
        for (int e = 0; e < N_ENC; e++)
            free(a->files[i].body[e]);
    free(a);
}
