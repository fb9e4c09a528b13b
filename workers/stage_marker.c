/*
 * Pipeline stage "marker": compiles the grey photo into marker.mind (MindAR
 * 1.2.5's format, workers/compiler/) and writes it atomically.
 *
 * Compiled markers are cached: the SHA-256 of the compiler's version, the
 * size and the grey pixels names <cacheDir>/<hash>.mind, so the same photo
 * compiles once. A cache entry is written atomically after a compile; a hit is
 * linked (or copied) into the project.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "arcd/compiler.h"
#include "arcd/worker.h"

static void cache_key(const arc_image_t *img, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    unsigned char dims[8] = {(unsigned char)(img->width >> 24),  (unsigned char)(img->width >> 16),
                             (unsigned char)(img->width >> 8),   (unsigned char)img->width,
                             (unsigned char)(img->height >> 24), (unsigned char)(img->height >> 16),
                             (unsigned char)(img->height >> 8),  (unsigned char)img->height};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, ARC_COMPILER_VERSION, strlen(ARC_COMPILER_VERSION)) != 1 ||
        EVP_DigestUpdate(ctx, dims, sizeof(dims)) != 1 ||
        EVP_DigestUpdate(ctx, img->data, (size_t)img->width * (size_t)img->height) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        fprintf(stderr, "arcd worker: SHA-256 failed\n");
        abort();
    }
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Puts the cached marker at dst: a hard link, or a copy across file systems. */
static int from_cache(const char *cached, const char *dst, arc_err_t *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    unlink(dst);
    if (link(cached, dst) == 0)
        return 0;
    if (errno == ENOENT)
        return ARC_EIO;
    rc = arc_file_read_all(cached, (size_t)1 << 30, &buf, &len, err);
    if (rc == 0)
        rc = arc_file_write_atomic(dst, buf, len, err);
    free(buf);
    return rc;
}

static void on_progress(void *arg, double percent)
{
    arc_job_progress(arg, (int)percent);
}

int arc_stage_marker(arc_job_t *job, arc_err_t *err)
{
    arc_compile_opts_t opts = {.threads = job->threads,
                               .max_pixels = job->max_pixels,
                               .progress = on_progress,
                               .progress_arg = job};
    arc_mind_t *m = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    char path[4096];
    int rc;

    char key[65], cached[4200];
    snprintf(path, sizeof(path), "%s/marker.mind", job->dir);
    cached[0] = '\0';
    if (job->cache_dir != NULL && job->cache_dir[0] != '\0') {
        cache_key(&job->grey, key);
        snprintf(cached, sizeof(cached), "%s/%s.mind", job->cache_dir, key);
        if (from_cache(cached, path, err) == 0) {
            job->marker_cached = 1;
            json_array_append_new(job->files, json_string("marker.mind"));
            return 0;
        }
    }
    rc = arc_compile(&job->grey, 1, &opts, &m, err);
    if (rc != 0) {
        job->permanent = 1;
        goto out;
    }
    arc_mind_encode(m, &buf, &len);
    rc = arc_file_write_atomic(path, buf, len, err);
    if (rc != 0)
        goto out;
    json_array_append_new(job->files, json_string("marker.mind"));
    if (cached[0] != '\0') {
        arc_err_t ignored;
        /* A failed cache write only costs a later compile. */
        arc_file_write_atomic(cached, buf, len, &ignored);
    }
out:
    free(buf);
    arc_mind_free(m);
    return rc;
}
