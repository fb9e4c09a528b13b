/*
 * Tests for workers/pipeline.c and the stages a job may skip (proto.h,
 * "stages"): a video replaced after the photo was printed runs only the
 * video and viewer stages, given each pair's print geometry and its current
 * web video. Then marker.mind, the print, the thumbnail, the features and
 * the QR files are not written at all (same bytes, inode and mtime); the
 * new video and poster get new names beside the old ones, which stay; the
 * viewer page points at the new video and keeps the other pairs' elements;
 * the "done" lists only what the job wrote; progress still goes 0 to 100.
 * A job that skips what a stage it runs needs fails permanently, saying
 * why. And the border stage's thumbnail.jpg: 320 px on its long side.
 *
 * Each test runs in its own folder under /tmp, with tests/data/card.png and
 * tests/data/sample.mp4 copied in, and a second clip made by ffmpeg.
 */
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test.h"
#include "arcd/image.h"
#include "arcd/proto.h"
#include "arcd/worker.h"

#define ID "0f3c2a1e-7b4d-4e8a-9f00-123456789abc"

/* ---- helpers ---- */

/* Runs a shell command; returns its exit status (0: success). */
__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* A new folder holding the uploads: photo.png (and photo-1.png) from
 * card.png, video.mp4 (and video-1.mp4) from sample.mp4, and new.mp4, a
 * second clip (2 s of a test pattern, H.264 Main with AAC). */
static void folder_make(char *dir, size_t size, int pairs)
{
    snprintf(dir, size, "/tmp/arcd-stages-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(run("cp %s %s/photo.png", test_path("card.png"), dir) == 0);
    CHECK(run("cp %s %s/video.mp4", test_path("sample.mp4"), dir) == 0);
    if (pairs > 1) {
        CHECK(run("cp %s %s/photo-1.png", test_path("card.png"), dir) == 0);
        CHECK(run("cp %s %s/video-1.mp4", test_path("sample.mp4"), dir) == 0);
    }
    CHECK(run("ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=24 -f lavfi -i "
              "sine=frequency=500:sample_rate=48000 -t 2 -c:v libx264 -profile:v main -pix_fmt "
              "yuv420p -g 24 -c:a aac %s/new.mp4",
              dir) == 0);
}

static void folder_remove(const char *dir)
{
    CHECK(run("rm -rf %s", dir) == 0);
}

/* A job of n pairs on dir, with the settings a daemon sends by default;
 * every pair's photo and video are the uploads folder_make() made. */
static void job_make(arc_msg_t *m, const char *dir, size_t n, unsigned stages)
{
    arc_job_msg_t *j = &m->u.job;
    char tpl[PATH_MAX];

    memset(m, 0, sizeof(*m));
    m->type = ARC_MSG_JOB;
    j->id = arc_xstrdup(ID);
    j->dir = arc_xstrdup(dir);
    j->n_items = n;
    j->items = arc_xcalloc(n, sizeof(*j->items));
    for (size_t i = 0; i < n; i++) {
        j->items[i].photo = arc_xstrdup(i == 0 ? "photo.png" : "photo-1.png");
        j->items[i].video = arc_xstrdup(i == 0 ? "video.mp4" : "video-1.mp4");
        j->items[i].video_out = arc_xstrdup("");
        j->items[i].redo_video = 1;
    }
    j->stages = stages;
    j->fit = ARC_FIT_CONTAIN;
    j->max_pixels = ARC_IMAGE_DEFAULT_MAX_PIXELS;
    j->threads = 2;
    j->view_url = arc_xstrdup("https://prints.example.com/ar/view/" ID);
    j->cache_dir = arc_xstrdup("");
    j->media.max_side = 1920;
    j->media.border = 1;
    j->media.border_ratio = 0.12;
    j->media.jpeg_quality = 92;
    j->media.photo_max_pixels = 200000000;
    j->media.video_max_side = 1280;
    j->media.video_max_seconds = 120;
    j->media.video_max_pixels = 16777216;
    j->media.video_crf = 23;
    snprintf(j->media.video_preset, sizeof(j->media.video_preset), "veryfast");
    j->media.video_copy = 1;
    j->media.video_smart_crop = 1;
    j->media.video_threads = 0;
    CHECK(realpath(ARCD_TEST_DATA "/../../config/viewer.html", tpl) != NULL);
    j->viewer.template_path = arc_xstrdup(tpl);
    j->viewer.vendor_url = arc_xstrdup("/vendor");
    j->viewer.shop_name = arc_xstrdup("Фото & Co <shop>");
    j->viewer.logo_url = arc_xstrdup("https://shop.example/logo.png");
    j->viewer.accent_color = arc_xstrdup("#e91e63");
    j->viewer.filter_min_cf = 0.0001;
    j->viewer.filter_beta = 0.001;
    snprintf(j->sheet.paper, sizeof(j->sheet.paper), "A5");
    snprintf(j->sheet.language, sizeof(j->sheet.language), "en");
}

/* Pair i of a partial job: its print as done (the first run's answer)
 * reported it, its current web video, and whether its video is new. */
static void job_pair_from(arc_msg_t *m, size_t i, const arc_done_msg_t *done, const char *video,
                          int redo)
{
    arc_job_input_t *in = &m->u.job.items[i];
    json_t *item = json_array_get(done->items, i);
    json_t *print = json_object_get(json_object_get(item, "photo"), "print");
    json_t *photo = json_object_get(print, "photo");

    in->print.width = (int)json_integer_value(json_object_get(print, "width"));
    in->print.height = (int)json_integer_value(json_object_get(print, "height"));
    in->print.x = (int)json_integer_value(json_object_get(photo, "x"));
    in->print.y = (int)json_integer_value(json_object_get(photo, "y"));
    in->print.w = (int)json_integer_value(json_object_get(photo, "width"));
    in->print.h = (int)json_integer_value(json_object_get(photo, "height"));
    CHECK(in->print.width > 0 && in->print.w > 0);
    free(in->video_out);
    in->video_out = arc_xstrdup(json_string_value(json_object_get(item, "videoFile")));
    in->redo_video = redo;
    if (video != NULL) {
        free(in->video);
        in->video = arc_xstrdup(video);
    }
}

/* The percents a job reported, in order. */
static int seen[512];
static size_t n_seen;

static void on_progress(arc_job_t *job, const char *stage, int percent)
{
    (void)job;
    (void)stage;
    if (n_seen < sizeof(seen) / sizeof(seen[0]))
        seen[n_seen++] = percent;
}

/* Runs the job as a worker does, after checking it as a daemon does. */
static void job_run(arc_msg_t *job, arc_msg_t *reply)
{
    arc_err_t err = {{0}};

    CHECK_MSG(arc_job_msg_check(&job->u.job, &err) == 0, "%s", err.msg);
    memset(reply, 0, sizeof(*reply));
    reply->type = ARC_MSG_DONE;
    n_seen = 0;
    arc_worker_run_job(&job->u.job, on_progress, &reply->u.done);
}

static void check_progress_0_to_100(void)
{
    CHECK(n_seen >= 2);
    if (n_seen < 2)
        return;
    CHECK_EQ_INT(seen[0], 0);
    CHECK_EQ_INT(seen[n_seen - 1], 100);
    for (size_t i = 1; i < n_seen; i++)
        CHECK_MSG(seen[i] >= seen[i - 1], "progress went back from %d to %d", seen[i - 1], seen[i]);
}

/* What a file was: its bytes, inode and mtime. */
typedef struct snap_s {
    char name[64];
    uint8_t *bytes;
    size_t len;
    struct stat st;
} snap_t;

static void snap_take(snap_t *s, const char *dir, const char *name)
{
    char path[PATH_MAX];
    arc_err_t err = {{0}};

    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CHECK_MSG(stat(path, &s->st) == 0, "%s is missing", name);
    CHECK_MSG(arc_file_read_all(path, 64u << 20, &s->bytes, &s->len, &err) == 0, "%s", err.msg);
}

/* The file is byte for byte what it was, and was not written again: the
 * same inode (an atomic write makes a new one) and the same mtime. */
static void snap_check_untouched(const snap_t *s, const char *dir)
{
    snap_t now;

    snap_take(&now, dir, s->name);
    CHECK_MSG(now.len == s->len && s->bytes != NULL && now.bytes != NULL &&
                  memcmp(now.bytes, s->bytes, s->len) == 0,
              "%s changed", s->name);
    CHECK_MSG(now.st.st_ino == s->st.st_ino, "%s is another file (inode %lu, was %lu)", s->name,
              (unsigned long)now.st.st_ino, (unsigned long)s->st.st_ino);
    CHECK_MSG(now.st.st_mtim.tv_sec == s->st.st_mtim.tv_sec &&
                  now.st.st_mtim.tv_nsec == s->st.st_mtim.tv_nsec,
              "%s was written again", s->name);
    free(now.bytes);
}

static char *read_text(const char *dir, const char *name)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    arc_err_t err = {{0}};

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (arc_file_read_all(path, 1 << 20, &data, &len, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return arc_xstrdup("");
    }
    data[len] = '\0';
    return (char *)data;
}

/* s with every old replaced by new (owned). */
static char *replaced(const char *s, const char *old, const char *new)
{
    arc_buf_t b = ARC_BUF_INIT;
    const char *p;

    while ((p = strstr(s, old)) != NULL) {
        arc_buf_append(&b, s, (size_t)(p - s));
        arc_buf_puts(&b, new);
        s = p + strlen(old);
    }
    arc_buf_puts(&b, s);
    arc_buf_append(&b, "", 1);
    return (char *)b.data;
}

/* "ar-video<suffix>.<8 hex>.mp4": the name of a replaced web video. */
static int is_new_video_name(const char *name, const char *suffix)
{
    char prefix[32];
    size_t n = name ? strlen(name) : 0, p;

    snprintf(prefix, sizeof(prefix), "ar-video%s.", suffix);
    p = strlen(prefix);
    if (n != p + 8 + 4 || strncmp(name, prefix, p) != 0 || strcmp(name + n - 4, ".mp4") != 0)
        return 0;
    for (size_t i = p; i < p + 8; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return 1;
}

static int exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* The video decodes from end to end and its first stream is H.264. */
static void check_plays(const char *dir, const char *name)
{
    char path[PATH_MAX], cmd[PATH_MAX + 200], codec[64] = "";

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 %s",
             path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL && fgets(codec, sizeof(codec), p) != NULL);
    if (p != NULL)
        pclose(p);
    codec[strcspn(codec, "\n")] = '\0';
    CHECK_MSG(strcmp(codec, "h264") == 0, "ffprobe reads %s's video as '%s'", name, codec);
    CHECK_MSG(run("ffmpeg -v error -xerror -i %s -f null - 2>&1", path) == 0, "%s does not decode",
              name);
}

static const char *item_video_file(const arc_done_msg_t *d, size_t i)
{
    return json_string_value(json_object_get(json_array_get(d->items, i), "videoFile"));
}

/* The done's files are exactly names, in order. */
static void check_files(const arc_done_msg_t *d, const char *const *names, size_t n)
{
    char *got = json_dumps(d->files, JSON_COMPACT);

    CHECK_MSG(json_array_size(d->files) == n, "files: %s", got);
    for (size_t i = 0; i < n && i < json_array_size(d->files); i++)
        CHECK_MSG(test_str_eq(json_string_value(json_array_get(d->files, i)), names[i]),
                  "files: %s, want %s at %zu", got, names[i], i);
    free(got);
}

/* ---- tests ---- */

TEST(test_a_replaced_video_leaves_the_print_marker_and_qr_untouched)
{
    static const char *const kept[] = {"marker.mind",        "marker.mind.br", "marker.mind.gz",
                                       "enhanced-photo.jpg", "print.jpg",      "thumbnail.jpg",
                                       "qr-code.png",        "qr-code.svg",    "features.png",
                                       "ar-video.mp4",       "poster.jpg",     "print-sheet.pdf"};
    enum { N_KEPT = sizeof(kept) / sizeof(kept[0]) };
    snap_t before[N_KEPT];
    arc_msg_t job, first, second;
    char dir[64], poster[80];

    folder_make(dir, sizeof(dir), 1);
    job_make(&job, dir, 1, ARC_STAGE_ALL);
    job_run(&job, &first);
    arc_msg_dispose(&job);
    CHECK_MSG(first.u.done.ok, "the first run failed: %s", test_str_shown(first.u.done.error));
    check_progress_0_to_100();
    CHECK_STR(item_video_file(&first.u.done, 0), "ar-video.mp4");
    for (size_t i = 0; i < N_KEPT; i++)
        snap_take(&before[i], dir, kept[i]);
    char *page_before = read_text(dir, "index.html");
    /* Whatever the file system's timestamp granularity, a file written
     * again now would get another mtime. */
    usleep(50000);

    /* The video replaced: only the video and viewer stages. */
    job_make(&job, dir, 1, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    job_pair_from(&job, 0, &first.u.done, "new.mp4", 1);
    job_run(&job, &second);
    const arc_done_msg_t *d = &second.u.done;
    CHECK_MSG(d->ok, "the video-only job failed: %s", test_str_shown(d->error));
    check_progress_0_to_100();
    for (size_t i = 0; i < N_KEPT; i++)
        snap_check_untouched(&before[i], dir);

    /* A new name for the new video and its poster; the old ones stay for a
     * phone that is playing them (the daemon removes them later). */
    const char *video = item_video_file(d, 0);
    CHECK_MSG(is_new_video_name(video, ""), "the new video is '%s'", test_str_shown(video));
    if (video == NULL)
        video = "ar-video.mp4";
    CHECK(arc_video_poster_name(video, poster, sizeof(poster)) == 0);
    CHECK(strcmp(poster, "poster.jpg") != 0 && exists(dir, poster));
    CHECK(exists(dir, "ar-video.mp4") && exists(dir, "poster.jpg"));
    check_plays(dir, video);
    check_plays(dir, "ar-video.mp4");
    const char *files[] = {video, poster, "index.html"};
    check_files(d, files, 3);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_object_get(json_array_get(d->items, 0), "video"), "output"),
                  "file")),
              video);
    /* What the job did not do, it neither timed nor reports. */
    CHECK(json_object_size(d->timings) == 2 && json_object_get(d->timings, "video") != NULL &&
          json_object_get(d->timings, "viewer") != NULL);
    CHECK_EQ_INT(d->photo_width, first.u.done.photo_width);
    CHECK_EQ_INT(d->photo_height, first.u.done.photo_height);

    /* The page plays the new video; with the new names put back, it is the
     * page the first run wrote: the box on the print is the same. */
    char *page = read_text(dir, "index.html");
    char *a = replaced(page, video, "ar-video.mp4"), *b = replaced(a, poster, "poster.jpg");
    CHECK(strstr(page, video) != NULL && strstr(page, "\"ar-video.mp4\"") == NULL);
    CHECK_MSG(strcmp(b, page_before) == 0, "the page changed beyond the video's names:\n%s", page);
    free(a);
    free(b);
    free(page);
    free(page_before);

    /* No temporary file is left behind. */
    CHECK(run("test -z \"$(ls -A %s | grep -e '\\.tmp')\"", dir) == 0);

    /* The same upload once more: the same bytes, so the live file is the
     * one the job names, and it is not written again either. */
    snap_t live;
    snap_take(&live, dir, video);
    arc_msg_t third;
    usleep(50000);
    arc_msg_dispose(&job);
    job_make(&job, dir, 1, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    /* The print as the first run drew it (a job without the photo and
     * border stages reports none), the web video as the second made it. */
    job_pair_from(&job, 0, &first.u.done, "new.mp4", 1);
    free(job.u.job.items[0].video_out);
    job.u.job.items[0].video_out = arc_xstrdup(video);
    job_run(&job, &third);
    CHECK_MSG(third.u.done.ok, "%s", test_str_shown(third.u.done.error));
    CHECK_STR(item_video_file(&third.u.done, 0), video);
    const char *only_page[] = {"index.html"};
    check_files(&third.u.done, only_page, 1);
    snap_check_untouched(&live, dir);
    free(live.bytes);

    for (size_t i = 0; i < N_KEPT; i++)
        free(before[i].bytes);
    arc_msg_dispose(&third);
    arc_msg_dispose(&job);
    arc_msg_dispose(&first);
    arc_msg_dispose(&second);
    folder_remove(dir);
}

TEST(test_a_two_pair_job_keeps_the_video_of_the_pair_not_replaced)
{
    arc_msg_t job, first, second;
    char dir[64], poster[80];
    snap_t video0, poster0;

    folder_make(dir, sizeof(dir), 2);
    job_make(&job, dir, 2, ARC_STAGE_ALL);
    job_run(&job, &first);
    arc_msg_dispose(&job);
    CHECK_MSG(first.u.done.ok, "the first run failed: %s", test_str_shown(first.u.done.error));
    CHECK_STR(item_video_file(&first.u.done, 0), "ar-video.mp4");
    CHECK_STR(item_video_file(&first.u.done, 1), "ar-video-1.mp4");
    snap_take(&video0, dir, "ar-video.mp4");
    snap_take(&poster0, dir, "poster.jpg");
    char *page_before = read_text(dir, "index.html");

    /* Only pair 1's video is new. */
    job_make(&job, dir, 2, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    job_pair_from(&job, 0, &first.u.done, NULL, 0);
    job_pair_from(&job, 1, &first.u.done, "new.mp4", 1);
    job_run(&job, &second);
    const arc_done_msg_t *d = &second.u.done;
    CHECK_MSG(d->ok, "the job failed: %s", test_str_shown(d->error));
    check_progress_0_to_100();
    CHECK_STR(item_video_file(d, 0), "ar-video.mp4");
    const char *video1 = item_video_file(d, 1);
    CHECK_MSG(is_new_video_name(video1, "-1"), "pair 1's new video is '%s'",
              test_str_shown(video1));
    if (video1 == NULL)
        video1 = "ar-video-1.mp4";
    CHECK(arc_video_poster_name(video1, poster, sizeof(poster)) == 0);
    const char *files[] = {video1, poster, "index.html"};
    check_files(d, files, 3);
    /* A kept pair is reported without video details: the job made none. */
    CHECK(json_is_null(json_object_get(json_array_get(d->items, 0), "video")));
    snap_check_untouched(&video0, dir);
    snap_check_untouched(&poster0, dir);
    CHECK(exists(dir, "ar-video-1.mp4"));
    check_plays(dir, video1);

    char *page = read_text(dir, "index.html");
    CHECK(
        strstr(page, "<video id=\"video0\" data-src=\"ar-video.mp4\" data-poster=\"poster.jpg\"") !=
        NULL);
    char want[256];
    snprintf(want, sizeof(want), "<video id=\"video1\" data-src=\"%s\" data-poster=\"%s\"", video1,
             poster);
    CHECK_MSG(strstr(page, want) != NULL, "no %s in\n%s", want, page);
    char *a = replaced(page, video1, "ar-video-1.mp4"), *b = replaced(a, poster, "poster-1.jpg");
    CHECK_MSG(strcmp(b, page_before) == 0, "the page changed beyond pair 1's names:\n%s", page);
    free(a);
    free(b);
    free(page);
    free(page_before);
    free(video0.bytes);
    free(poster0.bytes);
    arc_msg_dispose(&job);
    arc_msg_dispose(&first);
    arc_msg_dispose(&second);
    folder_remove(dir);
}

TEST(test_a_job_lacking_what_a_stage_needs_fails_permanently)
{
    arc_msg_t job, first, reply;
    char dir[64];

    folder_make(dir, sizeof(dir), 1);
    job_make(&job, dir, 1, ARC_STAGE_ALL);
    job_run(&job, &first);
    arc_msg_dispose(&job);
    CHECK_MSG(first.u.done.ok, "the first run failed: %s", test_str_shown(first.u.done.error));
    snap_t page;
    snap_take(&page, dir, "index.html");

    /* Video and viewer without the print's geometry (all 0: unknown). */
    job_make(&job, dir, 1, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    free(job.u.job.items[0].video_out);
    job.u.job.items[0].video_out = arc_xstrdup("ar-video.mp4");
    free(job.u.job.items[0].video);
    job.u.job.items[0].video = arc_xstrdup("new.mp4");
    job_run(&job, &reply);
    CHECK(!reply.u.done.ok && reply.u.done.permanent);
    CHECK_MSG(reply.u.done.error != NULL && strstr(reply.u.done.error, "print size") != NULL &&
                  strstr(reply.u.done.error, "photo 1") != NULL,
              "'%s'", test_str_shown(reply.u.done.error));
    CHECK_EQ_INT(json_object_size(reply.u.done.timings), 0); /* no stage ran */
    snap_check_untouched(&page, dir);
    CHECK(run("test -z \"$(ls -A %s | grep -E '^(ar-video|poster)\\.[0-9a-f]{8}\\.|\\.tmp')\"",
              dir) == 0);
    arc_msg_dispose(&reply);
    arc_msg_dispose(&job);

    /* The viewer alone needs the print's size just the same. */
    job_make(&job, dir, 1, ARC_STAGE_VIEWER);
    job_run(&job, &reply);
    CHECK(!reply.u.done.ok && reply.u.done.permanent);
    CHECK(reply.u.done.error != NULL && strstr(reply.u.done.error, "viewer: ") != NULL);
    arc_msg_dispose(&reply);
    arc_msg_dispose(&job);

    /* The marker without the print it is compiled from. */
    job_make(&job, dir, 1, ARC_STAGE_MARKER | ARC_STAGE_QR);
    job_pair_from(&job, 0, &first.u.done, NULL, 0);
    job_run(&job, &reply);
    CHECK(!reply.u.done.ok && reply.u.done.permanent);
    CHECK_MSG(reply.u.done.error != NULL && strstr(reply.u.done.error, "marker: ") != NULL &&
                  strstr(reply.u.done.error, "border stage") != NULL,
              "'%s'", test_str_shown(reply.u.done.error));
    arc_msg_dispose(&reply);
    arc_msg_dispose(&job);

    /* The print sheet without the prints it lays out. */
    job_make(&job, dir, 1, ARC_STAGE_SHEET | ARC_STAGE_QR);
    job_pair_from(&job, 0, &first.u.done, NULL, 0);
    job_run(&job, &reply);
    CHECK(!reply.u.done.ok && reply.u.done.permanent);
    CHECK_MSG(reply.u.done.error != NULL && strstr(reply.u.done.error, "sheet: ") != NULL &&
                  strstr(reply.u.done.error, "border stage") != NULL,
              "'%s'", test_str_shown(reply.u.done.error));
    arc_msg_dispose(&reply);
    arc_msg_dispose(&job);

    /* The QR code alone needs nothing: it is drawn again, and that is all. */
    job_make(&job, dir, 1, ARC_STAGE_QR);
    job_pair_from(&job, 0, &first.u.done, NULL, 0);
    job_run(&job, &reply);
    CHECK_MSG(reply.u.done.ok, "%s", test_str_shown(reply.u.done.error));
    const char *qr[] = {"qr-code.png", "qr-code.svg"};
    check_files(&reply.u.done, qr, 2);
    check_progress_0_to_100();
    snap_check_untouched(&page, dir);
    arc_msg_dispose(&reply);
    arc_msg_dispose(&job);

    free(page.bytes);
    arc_msg_dispose(&first);
    folder_remove(dir);
}

TEST(test_the_thumbnail_is_the_print_320_px_on_its_long_side)
{
    arc_msg_t job, reply;
    char dir[64], path[PATH_MAX];
    arc_photo_t thumb = {0}, print = {0};
    arc_photo_info_t info;
    arc_err_t err = {{0}};

    folder_make(dir, sizeof(dir), 1);
    job_make(&job, dir, 1, ARC_STAGE_ALL);
    job_run(&job, &reply);
    CHECK_MSG(reply.u.done.ok, "%s", test_str_shown(reply.u.done.error));
    const char *files[] = {"enhanced-photo.jpg", "print.jpg",      "thumbnail.jpg", "marker.mind",
                           "marker.mind.br",     "marker.mind.gz", "features.png",  "ar-video.mp4",
                           "poster.jpg",         "index.html",     "qr-code.png",   "qr-code.svg",
                           "print-sheet.pdf"};
    check_files(&reply.u.done, files, sizeof(files) / sizeof(files[0]));

    snprintf(path, sizeof(path), "%s/thumbnail.jpg", dir);
    CHECK_MSG(arc_photo_load(path, 0, 0, &thumb, &info, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(info.format, ARC_IMAGE_JPEG);
    int pw = reply.u.done.photo_width, ph = reply.u.done.photo_height;
    int side = thumb.width > thumb.height ? thumb.width : thumb.height;
    CHECK_EQ_INT(side, 320);
    /* The print's shape: portrait card 534 x 836 -> 204 x 320. */
    CHECK_MSG((pw > ph) == (thumb.width > thumb.height) &&
                  abs(thumb.width * ph - thumb.height * pw) <= (pw > ph ? pw : ph),
              "thumbnail %dx%d of a %dx%d print", thumb.width, thumb.height, pw, ph);
    /* And its pixels: close to the print's, scaled down. */
    snprintf(path, sizeof(path), "%s/enhanced-photo.jpg", dir);
    CHECK(arc_photo_load(path, 0, 320, &print, NULL, &err) == 0);
    if (print.width == thumb.width && print.height == thumb.height) {
        double diff = 0;
        size_t n = (size_t)thumb.width * (size_t)thumb.height * 3;
        for (size_t i = 0; i < n; i++)
            diff += abs((int)thumb.data[i] - (int)print.data[i]);
        CHECK_MSG(diff / (double)n < 8, "mean difference %.1f", diff / (double)n);
    } else {
        CHECK_MSG(0, "print at 320: %dx%d, thumbnail %dx%d", print.width, print.height, thumb.width,
                  thumb.height);
    }
    arc_photo_dispose(&thumb);
    arc_photo_dispose(&print);
    arc_msg_dispose(&reply);
    arc_msg_dispose(&job);
    folder_remove(dir);
}

TEST(test_a_replacement_job_runs_in_the_worker_s_sandbox)
{
    arc_msg_t job, first, second;
    char dir[64];
    int status = 0;

    /* A worker runs its jobs under the seccomp allow-list (workers/sandbox.c):
     * what the replacement does (the MP4 read back for its name and synced,
     * the poster checked for the page, renames) must be among what it allows,
     * or the worker dies of SIGSYS. */
    folder_make(dir, sizeof(dir), 1);
    /* Both messages are made before the sandbox (realpath of the template
     * is no call a worker makes: its messages come made). */
    arc_msg_t replace;
    job_make(&job, dir, 1, ARC_STAGE_ALL);
    job_make(&replace, dir, 1, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        arc_err_t err = {{0}};
        int bad = 0;
        if (arc_sandbox_enter(&err) != 0)
            _exit(3);
        job_run(&job, &first);
        bad |= !first.u.done.ok;
        job_pair_from(&replace, 0, &first.u.done, "new.mp4", 1);
        job_run(&replace, &second);
        bad |= !second.u.done.ok || !is_new_video_name(item_video_file(&second.u.done, 0), "");
        if (!second.u.done.ok)
            fprintf(stderr, "%s\n", test_str_shown(second.u.done.error));
        arc_msg_dispose(&job);
        arc_msg_dispose(&replace);
        arc_msg_dispose(&first);
        arc_msg_dispose(&second);
        _exit(bad || test_failures != 0 ? 1 : 0);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the sandboxed jobs %s %d (SIGSYS is %d)",
              WIFSIGNALED(status) ? "were killed by signal" : "exited with",
              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), SIGSYS);
    arc_msg_dispose(&job);
    arc_msg_dispose(&replace);
    folder_remove(dir);
}
