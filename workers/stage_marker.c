/*
 * Pipeline stage "marker": compiles the prints' grey images into one
 * marker.mind (MindAR 1.2.5's format, workers/compiler/), one target per
 * item, writes it atomically and rates each target's trackability.
 *
 * Compiled markers are cached: the SHA-256 of the compiler's version and of
 * every target's size and grey pixels names <cacheDir>/<hash>.mind, so the
 * same photos compile once. A cache entry is written atomically after a
 * compile; a hit is linked (or copied) into the project and sets the entry's
 * mtime to now: the daemon's sweep (src/daemon/sweep.c) prunes the cache by
 * that mtime, the entry's last use.
 *
 * Beside marker.mind go marker.mind.br and marker.mind.gz, its brotli and
 * gzip forms, which the daemon serves to phones that take them (a 720 KB
 * marker is 300 KB in brotli). The old forms are removed before the new
 * marker is written, so a form never stands beside a marker it is not.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "arcd/compiler.h"
#include "arcd/compress.h"
#include "arcd/log.h"
#include "arcd/worker.h"

static void cache_key(const arc_job_t *job, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, ARC_COMPILER_VERSION, strlen(ARC_COMPILER_VERSION)) == 1;

    for (size_t i = 0; ok && i < job->n_items; i++) {
        const arc_image_t *img = &job->items[i].grey;
        unsigned char dims[8] = {
            (unsigned char)(img->width >> 24),  (unsigned char)(img->width >> 16),
            (unsigned char)(img->width >> 8),   (unsigned char)img->width,
            (unsigned char)(img->height >> 24), (unsigned char)(img->height >> 16),
            (unsigned char)(img->height >> 8),  (unsigned char)img->height};
        ok = EVP_DigestUpdate(ctx, dims, sizeof(dims)) == 1 &&
             EVP_DigestUpdate(ctx, img->data, (size_t)img->width * (size_t)img->height) == 1;
    }
    if (!ok || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        arc_log_msg(ARC_LOG_ERROR, "worker: SHA-256 failed");
        abort();
    }
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Brotli's quality 7: within 1% of quality 9's size at two thirds of its
 * time (0.13 s for a 720 KB marker); 11 saves 8% more for 12 times the time. */
#define BROTLI_QUALITY 7

/* Removes path.br and path.gz. Returns 0, or ARC_EIO when one stays: it
 * would be served beside a marker it is not, so the job must not go on. */
static int compressed_drop(const char *path, arc_err_t *err)
{
    static const char *const forms[] = {".br", ".gz"};
    char side[4200];

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(side, sizeof(side), "%s%s", path, forms[i]);
        if (unlink(side) != 0 && errno != ENOENT)
            return arc_err_set(err, ARC_EIO, "cannot remove the old %s: %s", side, strerror(errno));
    }
    return 0;
}

/* Writes path.br and path.gz for data, and lists each (named name.br,
 * name.gz) in the job's files. A form that fails is left out (the daemon
 * then serves the marker as it is): it costs bytes, not the job. */
static void compressed_write(arc_job_t *job, const char *path, const char *name,
                             const uint8_t *data, size_t len)
{
    char side[4200];
    arc_err_t ignored;
    uint8_t *out = NULL;
    size_t n = 0;

    if (arc_compress_brotli(data, len, BROTLI_QUALITY, &out, &n) == 0) {
        snprintf(side, sizeof(side), "%s.br", path);
        if (arc_file_write_atomic(side, out, n, &ignored) == 0)
            json_array_append_new(job->files, json_sprintf("%s.br", name));
        free(out);
    }
    if (arc_compress_gzip(data, len, &out, &n) == 0) {
        snprintf(side, sizeof(side), "%s.gz", path);
        if (arc_file_write_atomic(side, out, n, &ignored) == 0)
            json_array_append_new(job->files, json_sprintf("%s.gz", name));
        free(out);
    }
}

/* Puts the cached marker at dst: a hard link, or a copy across file systems.
 * The sweep of any daemon sharing the storage may remove the entry at any
 * moment: a link already made keeps the project's copy; a link or a read
 * that finds the entry gone fails, and the caller compiles instead. */
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

/* Rates every target; the job's rating is the weakest one's. */
static void rate(arc_job_t *job)
{
    int weakest = -1;

    for (size_t i = 0; i < job->n_items && i < job->mind->n_targets; i++) {
        arc_rating_t r;
        arc_rating_compute(&job->mind->targets[i], &r);
        job->items[i].rating = arc_rating_json(&r);
        if (weakest < 0 || r.score < weakest) {
            weakest = r.score;
            json_decref(job->rating);
            job->rating = json_incref(job->items[i].rating);
        }
    }
}

int arc_stage_marker(arc_job_t *job, arc_err_t *err)
{
    arc_compile_opts_t opts = {.threads = job->in->threads,
                               .max_pixels = job->in->max_pixels,
                               .progress = on_progress,
                               .progress_arg = job};
    arc_image_t *greys = arc_xcalloc(job->n_items, sizeof(*greys));
    uint8_t *buf = NULL;
    size_t len = 0;
    char path[4096];
    int rc;

    char key[65], cached[4200];
    snprintf(path, sizeof(path), "%s/marker.mind", job->dir);
    cached[0] = '\0';
    if ((rc = compressed_drop(path, err)) != 0)
        goto out;
    if (job->in->cache_dir[0] != '\0') {
        cache_key(job, key);
        snprintf(cached, sizeof(cached), "%s/%s.mind", job->in->cache_dir, key);
        arc_err_t ignored;
        if (from_cache(cached, path, &ignored) == 0 &&
            arc_mind_load(path, &job->mind, &ignored) == 0) {
            /* A hit is a use: it keeps the entry from the sweep's pruning,
             * which goes by mtime (link() never reads the file, so the atime
             * says nothing). The project's hard link shares the inode, so its
             * mtime moves too; its bytes do not. A failed touch (an entry
             * another user wrote) only makes the entry look older. */
            utimensat(AT_FDCWD, cached, NULL, 0);
            job->marker_cached = 1;
            json_array_append_new(job->files, json_string("marker.mind"));
            if (arc_file_read_all(path, 1u << 30, &buf, &len, &ignored) == 0)
                compressed_write(job, path, "marker.mind", buf, len);
            rc = 0;
            goto rated;
        }
    }
    for (size_t i = 0; i < job->n_items; i++)
        greys[i] = job->items[i].grey;
    rc = arc_compile(greys, job->n_items, &opts, &job->mind, err);
    if (rc != 0) {
        job->permanent = 1;
        goto out;
    }
    arc_mind_encode(job->mind, &buf, &len);
    rc = arc_file_write_atomic(path, buf, len, err);
    if (rc != 0)
        goto out;
    json_array_append_new(job->files, json_string("marker.mind"));
    compressed_write(job, path, "marker.mind", buf, len);
    if (cached[0] != '\0') {
        arc_err_t ignored;
        /* A failed cache write only costs a later compile. */
        arc_file_write_atomic(cached, buf, len, &ignored);
    }
rated:
    rate(job);
out:
    free(greys);
    free(buf);
    return rc;
}
