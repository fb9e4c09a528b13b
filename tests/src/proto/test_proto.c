/*
 * Tests for src/proto/ (include/arcd/proto.h): every message comes back
 * field for field through encode, frame, reader and decode; a message of
 * another version, of an unknown type, with a field missing, of the wrong
 * type or out of its range is refused with ARC_ECORRUPT naming the field and
 * leaves its output empty; frames are reassembled whatever the chunking and
 * bad lengths or bodies are refused; the blocking fd helpers carry messages
 * across a pipe; arc_job_msg_check and the fit-mode names.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../test.h"
#include "arcd/proto.h"

/* ---- helpers ---- */

/* A string of n copies of c, as JSON. */
static json_t *json_str_of(char c, size_t n)
{
    char *s = arc_xmalloc(n + 1);
    json_t *js;

    memset(s, c, n);
    s[n] = '\0';
    js = json_stringn(s, n);
    free(s);
    return js;
}

static int is_zeroed(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

/* A job with three items (the second without a video), every field set to
 * a value that is not a default, and large numbers where the type allows. */
static void job_fill(arc_msg_t *m, arc_fit_t fit, const char *cache_dir)
{
    arc_job_msg_t *j = &m->u.job;
    arc_job_media_t *md = &j->media;

    memset(m, 0, sizeof(*m));
    m->type = ARC_MSG_JOB;
    j->id = arc_xstrdup("3f2a9c1e-7b4d-4e8a-9f00-123456789abc");
    j->dir = arc_xstrdup("/srv/arcd/projects/3f2a9c1e-7b4d-4e8a-9f00-123456789abc");
    j->attempt = 2;
    snprintf(j->request_id, sizeof(j->request_id), "crm-7f3a.91:x_-");
    j->n_items = 3;
    j->items = arc_xcalloc(3, sizeof(*j->items));
    j->items[0].photo = arc_xstrdup("photo.jpg");
    j->items[0].video = arc_xstrdup("video.webm");
    j->items[1].photo = arc_xstrdup("photo-1.png");
    j->items[1].video = arc_xstrdup("");
    j->items[2].photo = arc_xstrdup("photo-2.jpeg");
    j->items[2].video = arc_xstrdup("video-2.mp4");
    j->stages = ARC_STAGE_ALL;
    j->fit = fit;
    j->scale_width = fit == ARC_FIT_EXACT ? 1280 : 0;
    j->scale_height = fit == ARC_FIT_EXACT ? 720 : 0;
    j->max_pixels = ((uint64_t)1 << 32) + 12345;
    j->threads = 7;
    j->view_url =
        arc_xstrdup("https://public.example/ar/view/3f2a9c1e-7b4d-4e8a-9f00-123456789abc");
    j->cache_dir = arc_xstrdup(cache_dir);
    md->max_side = 1920;
    md->border = (int)fit % 2;
    md->border_ratio = 0.12;
    md->jpeg_quality = 92;
    md->photo_max_pixels = ((uint64_t)1 << 34) + 3;
    md->video_max_side = 1280;
    md->video_max_seconds = 120;
    md->video_max_pixels = ((uint64_t)1 << 33) + 7;
    md->video_crf = 23;
    snprintf(md->video_preset, sizeof(md->video_preset), "%s", "veryfast");
    md->video_copy = !((int)fit % 2);
    md->video_threads = 3;
    md->video_smart_crop = (int)fit % 3 == 1;
    j->viewer.template_path = arc_xstrdup("/srv/arcd/share/viewer.html");
    j->viewer.vendor_url = arc_xstrdup("/vendor");
    j->viewer.shop_name = arc_xstrdup("Фото & Co <shop>");
    j->viewer.logo_url = arc_xstrdup("https://shop.example/logo.png");
    j->viewer.accent_color = arc_xstrdup("#e91e63");
    j->viewer.filter_min_cf = 0.0001;
    j->viewer.filter_beta = 0.001;
    snprintf(j->sheet.paper, sizeof(j->sheet.paper), "%s", fit == ARC_FIT_COVER ? "10x15" : "A5");
    j->sheet.photo_mm = (int)fit * 40.5;
    snprintf(j->sheet.language, sizeof(j->sheet.language), "%s", (int)fit % 2 ? "en" : "ru");
}

/* job_fill()'s job running only some stages (a video replaced after the
 * print): every item with its print, its current web video and whether its
 * video is new, each value different. */
static void job_fill_partial(arc_msg_t *m, unsigned stages)
{
    arc_job_msg_t *j = &m->u.job;

    job_fill(m, ARC_FIT_COVER, "/srv/arcd/cache");
    j->stages = stages;
    for (size_t i = 0; i < j->n_items; i++) {
        arc_job_input_t *it = &j->items[i];
        int k = (int)i;
        it->print = (arc_job_print_t){.width = 1920 - k,
                                      .height = 1080 + k,
                                      .x = 113 + k,
                                      .y = 97 + 2 * k,
                                      .w = 1500 - 3 * k,
                                      .h = 800 + 5 * k};
        it->video_out = arc_xstrdup(i == 0   ? "ar-video.mp4"
                                    : i == 1 ? ""
                                             : "ar-video-2.0badf00d.mp4");
        it->redo_video = i == 0;
    }
    /* The largest print the protocol takes, the photo filling it. */
    j->items[2].print = (arc_job_print_t){1000000, 1000000, 0, 0, 1000000, 1000000};
}

static void check_job_equal(const arc_job_msg_t *a, const arc_job_msg_t *b)
{
    CHECK_STR(b->id, a->id);
    CHECK_STR(b->dir, a->dir);
    CHECK_EQ_INT(b->n_items, a->n_items);
    CHECK_EQ_INT(b->stages, a->stages);
    for (size_t i = 0; i < a->n_items && i < b->n_items; i++) {
        const arc_job_input_t *x = &a->items[i], *y = &b->items[i];
        CHECK_STR(y->photo, x->photo);
        CHECK_STR(y->video, x->video ? x->video : "");
        if (a->stages == ARC_STAGE_ALL) {
            /* A whole job makes every pair's web video: nothing is kept. */
            CHECK_STR(y->video_out, "");
            CHECK_EQ_INT(y->redo_video, 1);
            CHECK(is_zeroed(&y->print, sizeof(y->print)));
        } else {
            CHECK_STR(y->video_out, x->video_out ? x->video_out : "");
            CHECK_EQ_INT(y->redo_video, x->redo_video);
            CHECK_EQ_INT(y->print.width, x->print.width);
            CHECK_EQ_INT(y->print.height, x->print.height);
            CHECK_EQ_INT(y->print.x, x->print.x);
            CHECK_EQ_INT(y->print.y, x->print.y);
            CHECK_EQ_INT(y->print.w, x->print.w);
            CHECK_EQ_INT(y->print.h, x->print.h);
        }
    }
    CHECK_EQ_INT(b->fit, a->fit);
    CHECK_EQ_INT(b->scale_width, a->scale_width);
    CHECK_EQ_INT(b->scale_height, a->scale_height);
    CHECK_EQ_INT(b->max_pixels, a->max_pixels);
    CHECK_EQ_INT(b->threads, a->threads);
    CHECK_STR(b->view_url, a->view_url);
    CHECK_STR(b->cache_dir, a->cache_dir ? a->cache_dir : "");
    CHECK_EQ_INT(b->media.max_side, a->media.max_side);
    CHECK_EQ_INT(b->media.border, a->media.border);
    CHECK(b->media.border_ratio == a->media.border_ratio);
    CHECK_EQ_INT(b->media.jpeg_quality, a->media.jpeg_quality);
    CHECK_EQ_INT(b->media.video_max_side, a->media.video_max_side);
    CHECK_EQ_INT(b->media.video_max_seconds, a->media.video_max_seconds);
    CHECK_EQ_INT(b->media.video_max_pixels, a->media.video_max_pixels);
    CHECK_EQ_INT(b->media.photo_max_pixels, a->media.photo_max_pixels);
    CHECK_EQ_INT(b->media.video_crf, a->media.video_crf);
    CHECK_STR(b->media.video_preset, a->media.video_preset);
    CHECK_EQ_INT(b->media.video_copy, a->media.video_copy);
    CHECK_EQ_INT(b->media.video_threads, a->media.video_threads);
    CHECK_EQ_INT(b->media.video_smart_crop, a->media.video_smart_crop);
    CHECK_STR(b->viewer.template_path, a->viewer.template_path);
    CHECK_STR(b->viewer.vendor_url, a->viewer.vendor_url);
    CHECK_STR(b->viewer.shop_name, a->viewer.shop_name);
    CHECK_STR(b->viewer.logo_url, a->viewer.logo_url);
    CHECK_STR(b->viewer.accent_color, a->viewer.accent_color);
    CHECK(b->viewer.filter_min_cf == a->viewer.filter_min_cf);
    CHECK(b->viewer.filter_beta == a->viewer.filter_beta);
    CHECK_STR(b->sheet.paper, a->sheet.paper);
    CHECK(b->sheet.photo_mm == a->sheet.photo_mm);
    CHECK_STR(b->sheet.language, a->sheet.language);
}

static void progress_fill(arc_msg_t *m, const char *stage, int progress)
{
    memset(m, 0, sizeof(*m));
    m->type = ARC_MSG_PROGRESS;
    m->u.progress.id = arc_xstrdup("3f2a9c1e-7b4d-4e8a-9f00-123456789abc");
    snprintf(m->u.progress.stage, sizeof(m->u.progress.stage), "%s", stage);
    m->u.progress.progress = progress;
}

/* A successful done whose JSON members are all set (hit) or null (miss). */
static void done_ok_fill(arc_msg_t *m, int hit)
{
    arc_done_msg_t *d = &m->u.done;

    memset(m, 0, sizeof(*m));
    m->type = ARC_MSG_DONE;
    d->id = arc_xstrdup("3f2a9c1e-7b4d-4e8a-9f00-123456789abc");
    d->ok = 1;
    d->files = json_pack("[s, s, s, s]", "marker.mind", "enhanced-photo.jpg", "ar-video.mp4",
                         "index.html");
    d->photo_width = 1920;
    d->photo_height = 1080;
    if (hit) {
        d->video = json_pack("{s:i, s:i, s:f, s:s, s:b}", "width", 1280, "height", 720, "seconds",
                             12.5, "codec", "h264", "audio", 1);
        d->rating = json_pack("{s:i, s:i, s:[i, i]}", "score", 3, "points", 412, "levels", 1, 2);
        d->items = json_pack("[{s:{s:i, s:i}, s:{s:i}, s:{s:i}, s:s}, {s:{s:i, s:i}, s:n, s:n}]",
                             "photo", "width", 1920, "height", 1080, "rating", "score", 3, "video",
                             "width", 1280, "videoFile", "ar-video.mp4", "photo", "width", 800,
                             "height", 600, "rating", "video");
        d->timings = json_pack("{s:i, s:i, s:i}", "photo", 12, "marker", 300, "video", 0);
        d->ms = 345;
    } else {
        d->video = json_null();
        d->rating = json_null();
        d->items = json_pack("[{}]");
        d->timings = json_object();
        d->ms = 2147483647;
    }
    d->marker_cached = hit;
}

static void done_failed_fill(arc_msg_t *m, int permanent)
{
    arc_done_msg_t *d = &m->u.done;

    memset(m, 0, sizeof(*m));
    m->type = ARC_MSG_DONE;
    d->id = arc_xstrdup("3f2a9c1e-7b4d-4e8a-9f00-123456789abc");
    d->ok = 0;
    d->error = arc_xstrdup("the photo is not a JPEG, PNG or WebP: « ünïcode » \"quoted\"\n");
    d->permanent = permanent;
    d->timings = json_pack("{s:i, s:i}", "photo", 5, "border", 2147483647);
}

/* Compares two JSON members: both NULL, or equal. */
static int same_json(const json_t *a, const json_t *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && json_equal(a, b));
}

/* in -> frame -> reader -> out; checks the frame's length prefix and that
 * its body is arc_msg_encode()'s JSON. Returns 1 when out holds a message. */
static int roundtrip(const arc_msg_t *in, arc_msg_t *out)
{
    arc_buf_t frame = ARC_BUF_INIT;
    arc_proto_reader_t r;
    arc_err_t err = {{0}};
    json_t *enc = arc_msg_encode(in), *body = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = arc_proto_frame(in, &frame, &err);
    CHECK_MSG(rc == 0, "arc_proto_frame: %d %s", rc, err.msg);
    if (rc != 0 || frame.len < 4) {
        json_decref(enc);
        arc_buf_dispose(&frame);
        return 0;
    }
    const uint8_t *b = (const uint8_t *)frame.data;
    size_t n = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
    CHECK_EQ_INT(n, frame.len - 4);
    body = json_loadb(frame.data + 4, frame.len - 4, 0, NULL);
    CHECK(enc != NULL && body != NULL && json_equal(enc, body));

    arc_proto_reader_init(&r);
    arc_proto_reader_feed(&r, frame.data, frame.len);
    rc = arc_proto_reader_next(&r, out, &err);
    CHECK_MSG(rc == 1, "arc_proto_reader_next: %d %s", rc, err.msg);
    CHECK_EQ_INT(r.in.len, 0);
    arc_proto_reader_dispose(&r);
    arc_buf_dispose(&frame);
    json_decref(enc);
    json_decref(body);
    return rc == 1;
}

/* ---- 1. round trips ---- */

TEST(test_roundtrip_hello)
{
    const int64_t pids[] = {1, 4242, INT32_MAX};

    for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
        arc_msg_t in = {.type = ARC_MSG_HELLO}, out;
        in.u.hello.pid = pids[i];
        if (roundtrip(&in, &out)) {
            CHECK_EQ_INT(out.type, ARC_MSG_HELLO);
            CHECK_EQ_INT(out.u.hello.pid, pids[i]);
        }
        arc_msg_dispose(&out);
    }
}

TEST(test_roundtrip_job_every_fit_and_cache_dir)
{
    const char *caches[] = {"", "/srv/arcd/cache"};

    for (int fit = ARC_FIT_CONTAIN; fit <= ARC_FIT_EXACT; fit++)
        for (int c = 0; c < 2; c++) {
            arc_msg_t in, out;
            job_fill(&in, (arc_fit_t)fit, caches[c]);
            if (roundtrip(&in, &out)) {
                CHECK_EQ_INT(out.type, ARC_MSG_JOB);
                check_job_equal(&in.u.job, &out.u.job);
                /* An item without a video decodes as "", never NULL. */
                CHECK(out.u.job.items[1].video != NULL && out.u.job.items[1].video[0] == '\0');
            }
            arc_msg_dispose(&out);
            arc_msg_dispose(&in);
        }
}

TEST(test_roundtrip_job_null_video_and_cache_dir_encode_as_empty)
{
    arc_msg_t in, out;

    job_fill(&in, ARC_FIT_COVER, "");
    free(in.u.job.items[1].video);
    in.u.job.items[1].video = NULL;
    free(in.u.job.cache_dir);
    in.u.job.cache_dir = NULL;
    if (roundtrip(&in, &out)) {
        check_job_equal(&in.u.job, &out.u.job);
        CHECK_STR(out.u.job.items[1].video, "");
        CHECK_STR(out.u.job.cache_dir, "");
    }
    arc_msg_dispose(&out);
    arc_msg_dispose(&in);
}

TEST(test_roundtrip_job_of_some_stages_with_every_item_s_print_and_video)
{
    /* The daemon's video replacement, and other masks: one stage, all but
     * one, the first and the last. */
    const unsigned masks[] = {ARC_STAGE_VIDEO | ARC_STAGE_VIEWER, ARC_STAGE_QR,
                              ARC_STAGE_ALL & ~ARC_STAGE_FEATURES, ARC_STAGE_PHOTO | ARC_STAGE_QR};

    for (size_t k = 0; k < sizeof(masks) / sizeof(masks[0]); k++) {
        arc_msg_t in, out;
        job_fill_partial(&in, masks[k]);
        if (roundtrip(&in, &out)) {
            CHECK_EQ_INT(out.type, ARC_MSG_JOB);
            check_job_equal(&in.u.job, &out.u.job);
            CHECK_EQ_INT(out.u.job.stages, masks[k]);
        }
        arc_msg_dispose(&out);
        arc_msg_dispose(&in);
    }
}

TEST(test_job_stages_are_named_in_pipeline_order_and_read_in_any)
{
    arc_msg_t in, out;
    arc_err_t err = {{0}};

    job_fill_partial(&in, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER | ARC_STAGE_PHOTO);
    json_t *js = arc_msg_encode(&in);
    json_t *want = json_pack("[s, s, s]", "photo", "video", "viewer");
    CHECK(json_equal(json_object_get(js, "stages"), want));
    json_object_set_new(js, "stages", json_pack("[s, s, s]", "viewer", "photo", "video"));
    CHECK_MSG(arc_msg_decode(js, &out, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(out.u.job.stages, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER | ARC_STAGE_PHOTO);
    arc_msg_dispose(&out);

    /* A whole job names every stage and sends no print or kept videos. */
    job_fill(&out, ARC_FIT_CONTAIN, "");
    json_decref(js);
    js = arc_msg_encode(&out);
    CHECK_EQ_INT(json_array_size(json_object_get(js, "stages")), 8);
    for (int i = 0; i < 8; i++)
        CHECK_STR(json_string_value(json_array_get(json_object_get(js, "stages"), (size_t)i)),
                  arc_stage_name(1u << i));
    json_t *item = json_array_get(json_object_get(js, "items"), 0);
    CHECK(json_object_get(item, "print") == NULL && json_object_get(item, "videoOut") == NULL &&
          json_object_get(item, "redoVideo") == NULL);
    CHECK(arc_stage_name(0) == NULL && arc_stage_name(1u << 8) == NULL &&
          arc_stage_name(ARC_STAGE_VIDEO | ARC_STAGE_VIEWER) == NULL);
    json_decref(want);
    json_decref(js);
    arc_msg_dispose(&out);
    arc_msg_dispose(&in);
}

TEST(test_roundtrip_progress)
{
    const char *stages[] = {"photo", "marker", "qr", "some_stage"};
    const int percents[] = {0, 40, 100, 99};

    for (int i = 0; i < 4; i++) {
        arc_msg_t in, out;
        progress_fill(&in, stages[i], percents[i]);
        if (roundtrip(&in, &out)) {
            CHECK_EQ_INT(out.type, ARC_MSG_PROGRESS);
            CHECK_STR(out.u.progress.id, in.u.progress.id);
            CHECK_STR(out.u.progress.stage, in.u.progress.stage);
            CHECK_EQ_INT(out.u.progress.progress, in.u.progress.progress);
        }
        arc_msg_dispose(&out);
        arc_msg_dispose(&in);
    }
}

TEST(test_roundtrip_done_ok)
{
    for (int hit = 1; hit >= 0; hit--) {
        arc_msg_t in, out;
        done_ok_fill(&in, hit);
        if (roundtrip(&in, &out)) {
            const arc_done_msg_t *a = &in.u.done, *b = &out.u.done;
            CHECK_EQ_INT(out.type, ARC_MSG_DONE);
            CHECK_STR(b->id, a->id);
            CHECK_EQ_INT(b->ok, 1);
            CHECK(b->error == NULL);
            CHECK_EQ_INT(b->permanent, 0);
            CHECK(same_json(a->files, b->files));
            CHECK_EQ_INT(b->photo_width, a->photo_width);
            CHECK_EQ_INT(b->photo_height, a->photo_height);
            CHECK(same_json(a->video, b->video));
            CHECK(same_json(a->rating, b->rating));
            CHECK(same_json(a->items, b->items));
            CHECK(same_json(a->timings, b->timings));
            CHECK_EQ_INT(b->ms, a->ms);
            CHECK_EQ_INT(b->marker_cached, hit);
            if (!hit)
                CHECK(json_is_null(b->video) && json_is_null(b->rating));
        }
        arc_msg_dispose(&out);
        arc_msg_dispose(&in);
    }
}

TEST(test_roundtrip_done_ok_null_members_encode_as_null)
{
    /* A NULL video or rating is sent as JSON null and comes back as null. */
    arc_msg_t in, out;

    done_ok_fill(&in, 0);
    json_decref(in.u.done.video);
    json_decref(in.u.done.rating);
    in.u.done.video = NULL;
    in.u.done.rating = NULL;
    if (roundtrip(&in, &out))
        CHECK(json_is_null(out.u.done.video) && json_is_null(out.u.done.rating));
    arc_msg_dispose(&out);
    arc_msg_dispose(&in);
}

TEST(test_roundtrip_done_failed)
{
    for (int permanent = 0; permanent < 2; permanent++) {
        arc_msg_t in, out;
        done_failed_fill(&in, permanent);
        if (roundtrip(&in, &out)) {
            const arc_done_msg_t *b = &out.u.done;
            CHECK_EQ_INT(out.type, ARC_MSG_DONE);
            CHECK_STR(b->id, in.u.done.id);
            CHECK_EQ_INT(b->ok, 0);
            CHECK_STR(b->error, in.u.done.error);
            CHECK_EQ_INT(b->permanent, permanent);
            CHECK(same_json(in.u.done.timings, b->timings));
            /* What only a success carries stays empty. */
            CHECK(b->files == NULL && b->video == NULL && b->rating == NULL && b->items == NULL);
            CHECK(b->photo_width == 0 && b->photo_height == 0 && b->ms == 0);
            CHECK_EQ_INT(b->marker_cached, 0);
        }
        arc_msg_dispose(&out);
        arc_msg_dispose(&in);
    }
}

TEST(test_done_without_timings_decodes_empty_timings)
{
    arc_msg_t in, out;
    arc_err_t err = {{0}};

    done_failed_fill(&in, 1);
    json_t *js = arc_msg_encode(&in);
    json_object_del(js, "timings");
    CHECK_MSG(arc_msg_decode(js, &out, &err) == 0, "%s", err.msg);
    CHECK(json_is_object(out.u.done.timings) && json_object_size(out.u.done.timings) == 0);
    arc_msg_dispose(&out);
    arc_msg_dispose(&in);
    json_decref(js);
}

TEST(test_hello_frame_is_the_documented_bytes)
{
    /* The header's example, byte for byte: big-endian length, compact JSON. */
    static const char body[] = "{\"v\":6,\"type\":\"hello\",\"pid\":123}";
    arc_msg_t m = {.type = ARC_MSG_HELLO};
    arc_buf_t frame = ARC_BUF_INIT;
    arc_err_t err = {{0}};

    m.u.hello.pid = 123;
    CHECK(arc_proto_frame(&m, &frame, &err) == 0);
    CHECK_EQ_INT(frame.len, 4 + strlen(body));
    CHECK(frame.len >= 4 && memcmp(frame.data, "\0\0\0\x20", 4) == 0);
    CHECK(frame.len == 4 + strlen(body) && memcmp(frame.data + 4, body, strlen(body)) == 0);
    arc_buf_dispose(&frame);
}

/* ---- refusals: the shared checks ---- */

/* js must be refused by arc_msg_decode and by a reader given it as a frame,
 * with ARC_ECORRUPT and a message holding needle; the output stays empty. */
static void refused(const json_t *js, const char *label, const char *needle)
{
    arc_msg_t out;
    arc_err_t err = {{0}};
    int rc;

    memset(&out, 0xa5, sizeof(out));
    rc = arc_msg_decode(js, &out, &err);
    CHECK_MSG(rc == ARC_ECORRUPT, "%s: decode returned %d (%s)", label, rc, err.msg);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: '%s' does not name %s", label, err.msg, needle);
    CHECK_MSG(is_zeroed(&out, sizeof(out)), "%s: the output is not empty", label);
    if (rc == 0)
        arc_msg_dispose(&out);

    char *body = json_dumps(js, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = strlen(body);
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    arc_proto_reader_t r;
    arc_proto_reader_init(&r);
    arc_proto_reader_feed(&r, len, 4);
    arc_proto_reader_feed(&r, body, n);
    memset(&out, 0xa5, sizeof(out));
    memset(&err, 0, sizeof(err));
    rc = arc_proto_reader_next(&r, &out, &err);
    CHECK_MSG(rc == ARC_ECORRUPT, "%s: reader returned %d (%s)", label, rc, err.msg);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: reader's '%s' does not name %s", label, err.msg,
              needle);
    CHECK_MSG(is_zeroed(&out, sizeof(out)), "%s: the reader's output is not empty", label);
    if (rc == 1)
        arc_msg_dispose(&out);
    arc_proto_reader_dispose(&r);
    free(body);
}

static void accepted(const json_t *js, const char *label)
{
    arc_msg_t out;
    arc_err_t err = {{0}};
    int rc = arc_msg_decode(js, &out, &err);

    CHECK_MSG(rc == 0, "%s: refused: %s", label, err.msg);
    arc_msg_dispose(&out);
}

/* Splits "media/maxSide" or "items/0/photo": returns the container of the
 * last segment inside root (NULL if absent) and copies that segment. */
static json_t *walk(json_t *root, const char *path, char *last, size_t size)
{
    char buf[256];
    char *seg, *save = NULL, *next;
    json_t *node = root;

    snprintf(buf, sizeof(buf), "%s", path);
    seg = strtok_r(buf, "/", &save);
    while (seg != NULL && (next = strtok_r(NULL, "/", &save)) != NULL) {
        node = json_is_array(node) ? json_array_get(node, strtoul(seg, NULL, 10))
                                   : json_object_get(node, seg);
        seg = next;
    }
    snprintf(last, size, "%s", seg ? seg : "");
    return node;
}

/* A copy of base with path set to value (stolen), or removed (value NULL). */
static json_t *with(const json_t *base, const char *path, json_t *value)
{
    json_t *js = json_deep_copy(base);
    char last[64];
    json_t *at = walk(js, path, last, sizeof(last));

    if (json_is_array(at)) {
        size_t i = strtoul(last, NULL, 10);
        if (value != NULL)
            CHECK(json_array_set_new(at, i, value) == 0);
        else
            CHECK(json_array_remove(at, i) == 0);
    } else if (json_is_object(at)) {
        if (value != NULL)
            CHECK(json_object_set_new(at, last, value) == 0);
        else
            CHECK(json_object_del(at, last) == 0);
    } else {
        CHECK_MSG(0, "no container for %s", path);
        json_decref(value);
    }
    return js;
}

/* base with path set to value (stolen; NULL removes it) is refused naming needle. */
static void bad(const json_t *base, const char *path, json_t *value, const char *needle)
{
    char label[512];
    json_t *js = with(base, path, value);
    char *shown = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    snprintf(label, sizeof(label), "%s = %.60s", path, shown ? shown : "(removed)");
    refused(js, label, needle);
    free(shown);
    json_decref(js);
}

static void good(const json_t *base, const char *path, json_t *value)
{
    char label[512];
    json_t *js = with(base, path, value);

    snprintf(label, sizeof(label), "%s (allowed value)", path);
    accepted(js, label);
    json_decref(js);
}

/* The JSON of m, which is then disposed. */
static json_t *encoded(arc_msg_t *m)
{
    json_t *js = arc_msg_encode(m);

    arc_msg_dispose(m);
    return js;
}

static json_t *encoded_job(void)
{
    arc_msg_t m;

    job_fill(&m, ARC_FIT_EXACT, "/srv/arcd/cache");
    return encoded(&m);
}

static json_t *encoded_done_ok(void)
{
    arc_msg_t m;

    done_ok_fill(&m, 1);
    return encoded(&m);
}

static json_t *encoded_done_failed(void)
{
    arc_msg_t m;

    done_failed_fill(&m, 1);
    return encoded(&m);
}

static json_t *encoded_progress(void)
{
    arc_msg_t m;

    progress_fill(&m, "marker", 40);
    return encoded(&m);
}

static json_t *encoded_hello(void)
{
    arc_msg_t m = {.type = ARC_MSG_HELLO};

    m.u.hello.pid = 4242;
    return arc_msg_encode(&m);
}

/* ---- 2. version and type ---- */

TEST(test_other_versions_are_refused)
{
    json_t *(*const makers[])(void) = {encoded_hello, encoded_job, encoded_progress,
                                       encoded_done_ok, encoded_done_failed};

    for (size_t i = 0; i < sizeof(makers) / sizeof(makers[0]); i++) {
        json_t *base = makers[i]();
        accepted(base, "the valid message");
        bad(base, "v", json_integer(1), "version");
        /* Version 2 lacked media.photoMaxPixels: a worker of that version
         * and a daemon of this one must not talk (an upgrade in place
         * without a restart used to fail every job as a damaged message). */
        bad(base, "v", json_integer(2), "version");
        /* Version 3 lacked media.videoSmartCrop. */
        bad(base, "v", json_integer(3), "version");
        /* Version 4 had no print sheet: no "sheet" stage, no settings. */
        bad(base, "v", json_integer(4), "version");
        /* Version 5 had no attempt and requestId (the workers' log lines). */
        bad(base, "v", json_integer(5), "version");
        bad(base, "v", json_integer(7), "version");
        bad(base, "v", json_integer(0), "version");
        bad(base, "v", NULL, "version");
        bad(base, "v", json_string("6"), "version");
        bad(base, "v", json_real(6.0), "version");
        bad(base, "v", json_null(), "version");
        bad(base, "v", json_true(), "version");
        json_decref(base);
    }
}

TEST(test_unknown_or_missing_type_is_refused)
{
    json_t *base = encoded_hello();

    bad(base, "type", json_string("bye"), "type");
    bad(base, "type", json_string("Hello"), "type");
    bad(base, "type", json_string(""), "type");
    bad(base, "type", NULL, "type");
    bad(base, "type", json_integer(1), "type");
    json_decref(base);

    /* Not an object at all. */
    json_t *arr = json_pack("[i, s]", 2, "hello");
    refused(arr, "a JSON array", "not a JSON object");
    json_decref(arr);
}

/* ---- 3. malformed messages ---- */

/* Fields the sweep treats differently from a required, closed field. */
enum { OPTIONAL = 1, NULLABLE = 2, OPAQUE = 4 };

typedef struct rule_s {
    const char *pattern; /* a path; "*" matches any one segment */
    int flags;
    const char *needle; /* what the error names; NULL: the field's own key */
} rule_t;

static int path_matches(const char *pattern, const char *path)
{
    while (*pattern && *path) {
        if (*pattern == '*') {
            pattern++;
            while (*path && *path != '/')
                path++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

static const rule_t *rule_for(const rule_t *rules, const char *path)
{
    for (; rules != NULL && rules->pattern != NULL; rules++)
        if (path_matches(rules->pattern, path))
            return rules;
    return NULL;
}

/* The default needle: the last segment that is a key, quoted ("items/0" ->
 * "'items'", "media/maxSide" -> "'maxSide'"). */
static void default_needle(const char *path, char *out, size_t size)
{
    const char *key = path, *p = path;

    while (*p) {
        const char *seg = p;
        while (*p && *p != '/')
            p++;
        if (!(*seg >= '0' && *seg <= '9'))
            key = seg;
        if (*p == '/')
            p++;
    }
    snprintf(out, size, "'%.*s'", (int)strcspn(key, "/"), key);
}

/* Values of another JSON type than v's (new references). */
static size_t wrong_types(const json_t *v, json_t **out)
{
    size_t n = 0;

    switch (json_typeof(v)) {
    case JSON_STRING:
        out[n++] = json_integer(1);
        out[n++] = json_true();
        out[n++] = json_array();
        break;
    case JSON_INTEGER:
        out[n++] = json_string("1");
        out[n++] = json_real(1.5);
        out[n++] = json_true();
        out[n++] = json_object();
        break;
    case JSON_REAL:
        out[n++] = json_string("0.5");
        out[n++] = json_false();
        out[n++] = json_array();
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        out[n++] = json_integer(1);
        out[n++] = json_string("true");
        break;
    case JSON_OBJECT:
        out[n++] = json_array();
        out[n++] = json_string("x");
        break;
    case JSON_ARRAY:
        out[n++] = json_object();
        out[n++] = json_string("x");
        break;
    case JSON_NULL: break;
    }
    out[n++] = json_null();
    return n;
}

/* For every field under node (at path inside base): removing it, and giving
 * it a value of each wrong JSON type, is refused naming the field, unless
 * the rules allow it. Returns the number of cases tried. */
static int sweep(const json_t *base, const json_t *node, const char *path, const rule_t *rules)
{
    int cases = 0;
    size_t n = json_is_array(node) ? json_array_size(node) : json_object_size(node);
    void *iter = json_is_object(node) ? json_object_iter((json_t *)node) : NULL;

    for (size_t i = 0; i < n; i++) {
        char child[256], needle[80];
        const json_t *v;
        if (json_is_array(node)) {
            snprintf(child, sizeof(child), "%s%s%zu", path, *path ? "/" : "", i);
            v = json_array_get(node, i);
        } else {
            snprintf(child, sizeof(child), "%s%s%s", path, *path ? "/" : "",
                     json_object_iter_key(iter));
            v = json_object_iter_value(iter);
            iter = json_object_iter_next((json_t *)node, iter);
        }
        const rule_t *rule = rule_for(rules, child);
        int flags = rule ? rule->flags : 0;
        if (rule != NULL && rule->needle != NULL)
            snprintf(needle, sizeof(needle), "%s", rule->needle);
        else
            default_needle(child, needle, sizeof(needle));

        if (json_is_object(node)) {
            if (flags & OPTIONAL)
                good(base, child, NULL);
            else
                bad(base, child, NULL, needle);
            cases++;
        }
        json_t *wrong[8];
        size_t k = wrong_types(v, wrong);
        for (size_t w = 0; w < k; w++, cases++) {
            if (json_is_null(wrong[w]) && (flags & NULLABLE))
                good(base, child, wrong[w]);
            else
                bad(base, child, wrong[w], needle);
        }
        if ((json_is_object(v) || json_is_array(v)) && !(flags & OPAQUE))
            cases += sweep(base, v, child, rules);
    }
    return cases;
}

TEST(test_job_every_field_missing_or_of_the_wrong_type)
{
    static const rule_t rules[] = {{"v", 0, "version"}, {"type", 0, "type"}, {NULL, 0, NULL}};
    json_t *base = encoded_job();

    accepted(base, "the valid job");
    /* 14 top-level keys, 3 items of 2, 11 media and 4 viewer keys: each is
     * removed once and given 2 to 5 wrong values. */
    int cases = sweep(base, base, "", rules);
    CHECK_MSG(cases > 150, "only %d cases", cases);
    json_decref(base);
}

TEST(test_hello_progress_done_every_field_missing_or_of_the_wrong_type)
{
    static const rule_t plain[] = {{"v", 0, "version"}, {"type", 0, "type"}, {NULL, 0, NULL}};
    static const rule_t done[] = {{"v", 0, "version"},
                                  {"type", 0, "type"},
                                  {"video", OPTIONAL | NULLABLE | OPAQUE, NULL},
                                  {"rating", OPTIONAL | NULLABLE | OPAQUE, NULL},
                                  {"items/*", OPAQUE, NULL},
                                  {"timings", OPTIONAL, NULL},
                                  {"timings/*", OPTIONAL, "'timings'"},
                                  {NULL, 0, NULL}};
    json_t *js;

    js = encoded_hello();
    CHECK(sweep(js, js, "", plain) > 0);
    json_decref(js);
    js = encoded_progress();
    CHECK(sweep(js, js, "", plain) > 0);
    json_decref(js);
    js = encoded_done_ok();
    CHECK(sweep(js, js, "", done) > 0);
    json_decref(js);
    js = encoded_done_failed();
    CHECK(sweep(js, js, "", done) > 0);
    json_decref(js);
}

TEST(test_partial_job_every_field_missing_or_of_the_wrong_type)
{
    static const rule_t rules[] = {
        {"v", 0, "version"}, {"type", 0, "type"}, {"stages/*", 0, "'stages'"}, {NULL, 0, NULL}};
    arc_msg_t m;

    job_fill_partial(&m, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    json_t *base = encoded(&m);
    accepted(base, "the valid partial job");
    /* Each item's print (6 numbers), videoOut and redoVideo, besides the
     * fields of a whole job. */
    int cases = sweep(base, base, "", rules);
    CHECK_MSG(cases > 300, "only %d cases", cases);
    json_decref(base);
}

TEST(test_job_stages_refused)
{
    json_t *base = encoded_job();

    bad(base, "stages", json_array(), "'stages'");
    bad(base, "stages", json_pack("[s]", "compile"), "'stages'");
    bad(base, "stages", json_pack("[s]", "Video"), "'stages'");
    bad(base, "stages", json_pack("[s]", ""), "'stages'");
    bad(base, "stages", json_pack("[s, s, s]", "video", "viewer", "video"), "'stages'");
    bad(base, "stages", json_pack("[s, s]", "qr", "qr"), "'stages'");
    bad(base, "stages", json_pack("[s, i]", "video", 16), "'stages'");
    bad(base, "stages", json_pack("[s, n]", "video"), "'stages'");
    bad(base, "stages", json_pack("[[s]]", "video"), "'stages'");
    bad(base, "stages", json_string("video,viewer"), "'stages'");
    bad(base, "stages", json_integer(ARC_STAGE_ALL), "'stages'");
    bad(base, "stages", NULL, "'stages'");
    json_decref(base);
}

TEST(test_partial_job_refused_without_print_or_with_the_photo_outside_it)
{
    arc_msg_t m;

    job_fill_partial(&m, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    json_t *base = encoded(&m);

    /* A job that skips the border stage gets each pair's print from the
     * daemon: without one, it is refused. */
    bad(base, "items/0/print", NULL, "'print'");
    bad(base, "items/2/print", NULL, "'print'");
    bad(base, "items/1/print", json_null(), "'print'");
    bad(base, "items/1/videoOut", NULL, "'videoOut'");
    bad(base, "items/1/redoVideo", NULL, "'redoVideo'");
    /* The same job sent as a whole one needs none of it. */
    json_t *whole = with(base, "stages",
                         json_pack("[s, s, s, s, s, s, s, s]", "photo", "border", "marker",
                                   "features", "video", "viewer", "qr", "sheet"));
    json_t *bare = json_deep_copy(whole);
    for (size_t i = 0; i < 3; i++) {
        json_t *it = json_array_get(json_object_get(bare, "items"), i);
        json_object_del(it, "print");
        json_object_del(it, "videoOut");
        json_object_del(it, "redoVideo");
    }
    accepted(bare, "a whole job without print, videoOut and redoVideo");
    json_decref(bare);
    json_decref(whole);

    /* The photo outside its print, on either side, by one pixel. */
    bad(base, "items/0/print/w", json_integer(1920 - 113 + 1), "outside");
    bad(base, "items/0/print/h", json_integer(1080 - 97 + 1), "outside");
    bad(base, "items/1/print/x", json_integer(1919 - 1497 + 1), "outside");
    bad(base, "items/1/print/y", json_integer(1081 - 805 + 1), "outside");
    bad(base, "items/2/print/width", json_integer(999999), "outside");
    bad(base, "items/2/print/height", json_integer(0), "outside");
    good(base, "items/0/print/w", json_integer(1920 - 113));
    good(base, "items/0/print/h", json_integer(1080 - 97));
    /* Out of range, and a kept video that is not a plain file name. */
    bad(base, "items/0/print/x", json_integer(-1), "'x'");
    bad(base, "items/0/print/width", json_integer(1000001), "'width'");
    bad(base, "items/0/print/h", json_integer(-5), "'h'");
    bad(base, "items/0/videoOut", json_string("../ar-video.mp4"), "'videoOut'");
    bad(base, "items/0/videoOut", json_string("a/b.mp4"), "'videoOut'");
    bad(base, "items/0/videoOut", json_str_of('v', 65), "'videoOut'");
    bad(base, "items/0/redoVideo", json_integer(1), "'redoVideo'");
    good(base, "items/0/videoOut", json_string(""));
    json_decref(base);

    /* And as a daemon checks what it is about to send. */
    arc_err_t err = {{0}};
    job_fill_partial(&m, ARC_STAGE_VIDEO | ARC_STAGE_VIEWER);
    CHECK_MSG(arc_job_msg_check(&m.u.job, &err) == 0, "%s", err.msg);
    m.u.job.items[1].print.x = m.u.job.items[1].print.width;
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK_MSG(strstr(err.msg, "outside") != NULL, "%s", err.msg);
    m.u.job.items[1].print.x = 0;
    m.u.job.stages = 0;
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK_MSG(strstr(err.msg, "'stages'") != NULL, "%s", err.msg);
    arc_msg_dispose(&m);
}

TEST(test_job_out_of_range_numbers)
{
    json_t *base = encoded_job();

    bad(base, "scaleWidth", json_integer(10001), "'scaleWidth'");
    bad(base, "scaleWidth", json_integer(-1), "'scaleWidth'");
    bad(base, "scaleHeight", json_integer(10001), "'scaleHeight'");
    bad(base, "threads", json_integer(0), "'threads'");
    bad(base, "threads", json_integer(257), "'threads'");
    bad(base, "maxPixels", json_integer(0), "'maxPixels'");
    bad(base, "maxPixels", json_integer(((json_int_t)1 << 40) + 1), "'maxPixels'");
    bad(base, "media/maxSide", json_integer(10), "'maxSide'");
    bad(base, "media/maxSide", json_integer(8193), "'maxSide'");
    bad(base, "media/jpegQuality", json_integer(0), "'jpegQuality'");
    bad(base, "media/jpegQuality", json_integer(101), "'jpegQuality'");
    bad(base, "media/videoCrf", json_integer(52), "'videoCrf'");
    bad(base, "media/videoCrf", json_integer(-1), "'videoCrf'");
    bad(base, "media/borderRatio", json_real(1.5), "'borderRatio'");
    bad(base, "media/borderRatio", json_real(-0.01), "'borderRatio'");
    bad(base, "media/videoMaxSide", json_integer(15), "'videoMaxSide'");
    bad(base, "media/videoMaxSeconds", json_integer(0), "'videoMaxSeconds'");
    bad(base, "media/videoMaxSeconds", json_integer(86401), "'videoMaxSeconds'");
    bad(base, "media/videoMaxPixels", json_integer(0), "'videoMaxPixels'");
    bad(base, "media/photoMaxPixels", json_integer(0), "'photoMaxPixels'");
    bad(base, "media/videoThreads", json_integer(-1), "'videoThreads'");
    bad(base, "media/videoThreads", json_integer(257), "'videoThreads'");
    bad(base, "media/videoPreset", json_str_of('f', 16), "'videoPreset'");
    bad(base, "viewer/filterMinCF", json_integer(-1), "'filterMinCF'");
    bad(base, "viewer/filterMinCF", json_real(1.01), "'filterMinCF'");
    bad(base, "viewer/filterBeta", json_real(-0.5), "'filterBeta'");
    bad(base, "viewer/filterBeta", json_integer(100001), "'filterBeta'");

    /* The edges themselves are accepted, and integers where a real goes. */
    good(base, "scaleWidth", json_integer(10000));
    good(base, "threads", json_integer(1));
    good(base, "threads", json_integer(256));
    good(base, "maxPixels", json_integer(1));
    good(base, "maxPixels", json_integer((json_int_t)1 << 40));
    good(base, "media/maxSide", json_integer(64));
    good(base, "media/jpegQuality", json_integer(100));
    good(base, "media/videoCrf", json_integer(51));
    good(base, "media/videoCrf", json_integer(0));
    good(base, "media/borderRatio", json_integer(1));
    good(base, "media/borderRatio", json_real(0));
    good(base, "media/videoPreset", json_str_of('f', 15));
    good(base, "media/videoThreads", json_integer(0));
    good(base, "viewer/filterMinCF", json_integer(0));
    good(base, "viewer/filterMinCF", json_integer(1));
    json_decref(base);
}

TEST(test_job_items_count_and_file_names)
{
    json_t *base = encoded_job();
    json_t *nine = json_array(), *eight = json_array();

    for (int i = 0; i < 9; i++) {
        char name[32];
        snprintf(name, sizeof(name), "photo-%d.jpg", i);
        json_t *it = json_pack("{s:s, s:s}", "photo", name, "video", "");
        if (i < 8)
            json_array_append(eight, it);
        json_array_append_new(nine, it);
    }
    bad(base, "items", json_array(), "'items'");
    bad(base, "items", nine, "'items'");
    good(base, "items", eight);

    /* Empty, dot names, folder parts, control characters (octal escapes). */
    const char *names[] = {"",           ".",      "..",    "a/b",  "/photo.jpg",
                           "photo.jpg/", "a\001b", "a\037", "a\177"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        bad(base, "items/0/photo", json_string(names[i]), "'photo'");
        bad(base, "items/2/photo", json_string(names[i]), "'photo'");
        /* A video may be absent (""), but otherwise it is a plain name too. */
        if (names[i][0] != '\0')
            bad(base, "items/0/video", json_string(names[i]), "'video'");
    }
    bad(base, "items/0/photo", json_str_of('p', 65), "'photo'");
    bad(base, "items/0/video", json_str_of('v', 65), "'video'");
    good(base, "items/0/photo", json_str_of('p', 64));
    good(base, "items/0/video", json_str_of('v', 64));
    good(base, "items/0/video", json_string(""));
    good(base, "items/0/photo", json_string("...")); /* a name, if an odd one */
    good(base, "items/0/photo", json_string("fôto ü.jpg"));
    json_decref(base);
}

TEST(test_job_paths_ids_and_fit_mode)
{
    json_t *base = encoded_job();

    bad(base, "dir", json_string("srv/arcd/p"), "'dir'");
    bad(base, "dir", json_string(""), "'dir'");
    bad(base, "dir", json_string("./p"), "'dir'");
    bad(base, "viewer/template", json_string("viewer.html"), "'template'");
    bad(base, "viewer/template", json_string(""), "'template'");
    bad(base, "cacheDir", json_string("cache"), "'cacheDir'");
    good(base, "cacheDir", json_string(""));
    bad(base, "dir", json_str_of('/', 4001), "'dir'");
    good(base, "dir", json_str_of('/', 4000));
    bad(base, "viewUrl", json_str_of('u', 2049), "'viewUrl'");
    bad(base, "viewer/vendorUrl", json_str_of('u', 2049), "'vendorUrl'");

    bad(base, "id", json_string("a b"), "'id'");
    bad(base, "id", json_string("a/b"), "'id'");
    bad(base, "id", json_string("../x"), "'id'");
    bad(base, "id", json_string(""), "'id'");
    bad(base, "id", json_string("a\nb"), "'id'");
    bad(base, "id", json_string("ïd"), "'id'");
    bad(base, "id", json_str_of('a', 65), "'id'");
    good(base, "id", json_str_of('a', 64));
    good(base, "id", json_string("Az09-_"));

    bad(base, "fitMode", json_string("stretch"), "'fitMode'");
    bad(base, "fitMode", json_string("Contain"), "'fitMode'");
    bad(base, "fitMode", json_string(""), "'fitMode'");
    good(base, "fitMode", json_string("fill"));
    json_decref(base);
}

TEST(test_progress_out_of_range)
{
    json_t *base = encoded_progress();

    bad(base, "progress", json_integer(-1), "'progress'");
    bad(base, "progress", json_integer(101), "'progress'");
    bad(base, "stage", json_string("Marker"), "'stage'");
    bad(base, "stage", json_string("mar ker"), "'stage'");
    bad(base, "stage", json_string("marker-1"), "'stage'");
    bad(base, "stage", json_string("marker2"), "'stage'");
    bad(base, "stage", json_str_of('s', 32), "'stage'");
    bad(base, "id", json_string("a b"), "'id'");
    good(base, "progress", json_integer(0));
    good(base, "progress", json_integer(100));
    good(base, "stage", json_str_of('s', 31));
    good(base, "stage", json_string("video_copy"));
    json_decref(base);

    base = encoded_hello();
    bad(base, "pid", json_integer(0), "'pid'");
    bad(base, "pid", json_integer(-1), "'pid'");
    bad(base, "pid", json_integer((json_int_t)INT32_MAX + 1), "'pid'");
    json_decref(base);
}

TEST(test_done_ok_malformed)
{
    json_t *base = encoded_done_ok();
    json_t *files65 = json_array(), *files64 = json_array(), *items9 = json_array();
    json_t *stages33 = json_object(), *stages32 = json_object();

    for (int i = 0; i < 65; i++) {
        char name[32];
        snprintf(name, sizeof(name), "file-%d.bin", i);
        if (i < 64)
            json_array_append_new(files64, json_string(name));
        json_array_append_new(files65, json_string(name));
        if (i < 33) {
            snprintf(name, sizeof(name), "stage_%d", i);
            if (i < 32)
                json_object_set_new(stages32, name, json_integer(i));
            json_object_set_new(stages33, name, json_integer(i));
        }
        if (i < 9)
            json_array_append_new(items9, json_object());
    }

    bad(base, "ok", json_integer(1), "'ok'");
    bad(base, "ok", json_string("true"), "'ok'");
    bad(base, "files", NULL, "'files'");
    bad(base, "files/1", json_string("a/b"), "'files'");
    bad(base, "files/1", json_string(".."), "'files'");
    bad(base, "files/1", json_string(""), "'files'");
    bad(base, "files/1", json_string("a\tb"), "'files'");
    bad(base, "files/1", json_str_of('f', 65), "'files'");
    bad(base, "files", files65, "'files'");
    good(base, "files", files64);
    good(base, "files", json_array());
    bad(base, "photo/width", json_integer(-1), "'width'");
    bad(base, "photo/height", json_integer(1000001), "'height'");
    bad(base, "ms", json_integer(-1), "'ms'");
    bad(base, "ms", json_integer(2147483648LL), "'ms'");
    good(base, "ms", json_integer(0));
    good(base, "ms", json_integer(2147483647));
    bad(base, "markerCache", json_string("maybe"), "'markerCache'");
    bad(base, "markerCache", json_string("HIT"), "'markerCache'");
    bad(base, "markerCache", json_string(""), "'markerCache'");
    bad(base, "markerCache", NULL, "'markerCache'");
    bad(base, "items", json_array(), "'items'");
    bad(base, "items", items9, "'items'");
    bad(base, "items", NULL, "'items'");
    bad(base, "timings/photo", json_integer(-1), "'timings'");
    bad(base, "timings/photo", json_real(1.5), "'timings'");
    bad(base, "timings/photo", json_string("12"), "'timings'");
    bad(base, "timings/photo", json_integer(2147483648LL), "'timings'");
    bad(base, "timings", stages33, "'timings'");
    good(base, "timings", stages32);
    good(base, "timings", json_object());
    bad(base, "timings", json_null(), "'timings'");
    json_decref(base);
}

TEST(test_regression_done_items_numbers_are_checked)
{
    /* The daemon casts an item's print size to int in its final update: a
     * worker reporting "x" or 1e12 there made that update fail, and the job
     * stayed processing until its lease ran out and ran again. */
    json_t *base = encoded_done_ok();
    json_t *print = json_pack("{s:i, s:i, s:{s:i, s:i, s:i, s:i}}", "width", 992, "height", 992,
                              "photo", "x", 96, "y", 96, "width", 800, "height", 800);
    json_t *ok = with(base, "items/0/photo/print", print);

    accepted(ok, "an item with its print");
    bad(ok, "items/0/photo/print/width", json_string("x"), "'width'");
    bad(ok, "items/0/photo/print/width", json_integer(1000000000000LL), "'width'");
    bad(ok, "items/0/photo/print/height", json_integer(0), "'height'");
    bad(ok, "items/0/photo/print/photo/x", json_integer(-1), "'x'");
    bad(ok, "items/0/photo/print/photo/y", json_real(1.5), "'y'");
    bad(ok, "items/0/photo/print/photo", json_string("here"), "'print'");
    bad(ok, "items/0/photo/print", json_array(), "'print'");
    bad(ok, "items/0/photo", json_string("photo.jpg"), "'photo'");
    bad(ok, "items/0/rating", json_integer(3), "'rating'");
    bad(ok, "items/0/rating/stars", json_integer(6), "'stars'");
    bad(ok, "items/0/rating/stars", json_string("5"), "'stars'");
    bad(ok, "items/0/video", json_string("x"), "'video'");
    bad(ok, "items/0/videoFile", json_string("../../config/arcd.json"), "'videoFile'");
    bad(ok, "items/0/videoFile", json_integer(1), "'videoFile'");
    bad(ok, "rating/stars", json_integer(-1), "'stars'");
    good(ok, "items/0/photo/print", json_null());
    good(ok, "items/0/videoFile", json_null());
    good(ok, "items/0/rating/stars", json_integer(5));
    json_decref(ok);
    json_decref(base);
}

TEST(test_done_failed_malformed)
{
    json_t *base = encoded_done_failed();

    bad(base, "error", NULL, "'error'");
    bad(base, "error", json_null(), "'error'");
    bad(base, "error", json_str_of('e', 2001), "'error'");
    good(base, "error", json_str_of('e', 2000));
    bad(base, "permanent", NULL, "'permanent'");
    bad(base, "permanent", json_integer(1), "'permanent'");
    bad(base, "timings/photo", json_integer(-5), "'timings'");
    bad(base, "id", json_string(""), "'id'");
    /* A failure needs none of a success's fields. */
    accepted(base, "a failure without files, photo, items, ms or markerCache");
    json_decref(base);
}

TEST(test_decode_failure_leaves_the_output_empty)
{
    /* Failures late in each message, after most of its members were
     * allocated: the output is zeroed (checked by refused()), and the run
     * under LeakSanitizer shows nothing was left allocated. */
    json_t *job = encoded_job(), *done = encoded_done_ok(), *failed = encoded_done_failed();
    json_t *prog = encoded_progress();

    bad(job, "sheet/paper", json_string("A3"), "'paper'");
    bad(job, "sheet/paper", json_string("A4A4A4A4A4"), "'paper'");
    bad(job, "sheet/photoMm", json_real(-1), "'photoMm'");
    bad(job, "sheet/photoMm", json_string("100"), "'photoMm'");
    bad(job, "sheet/language", json_string("de"), "'language'");
    /* The request id goes into log lines: its own characters only. */
    bad(job, "requestId", json_string("a b"), "'requestId'");
    bad(job, "requestId", json_string("a\nb"), "'requestId'");
    bad(job, "requestId", json_string("\"}{"), "'requestId'");
    bad(job, "requestId",
        json_string("0123456789012345678901234567890123456789012345678901234567890123456789"),
        "'requestId'");
    bad(job, "requestId", NULL, "'requestId'");
    bad(job, "attempt", json_integer(-1), "'attempt'");
    bad(job, "sheet", NULL, "'sheet'");
    bad(job, "viewer/filterBeta", json_integer(-1), "'filterBeta'");
    bad(job, "viewer/shopName", NULL, "'shopName'");
    bad(job, "viewer/accentColor", json_string("red;}body{"), "'accentColor'");
    bad(job, "viewer/accentColor", json_string("#12345g"), "'accentColor'");
    bad(job, "viewer/vendorUrl", NULL, "'vendorUrl'");
    bad(job, "viewer", NULL, "'viewer'");
    bad(job, "media/videoThreads", NULL, "'videoThreads'");
    bad(job, "media/videoSmartCrop", NULL, "'videoSmartCrop'");
    bad(job, "media/videoPreset", json_integer(1), "'videoPreset'");
    bad(job, "items/2/video", json_string("a/b"), "'video'");
    bad(job, "cacheDir", json_string("x"), "'cacheDir'");
    bad(done, "items/1", json_string("x"), "'items'");
    bad(done, "markerCache", json_string("maybe"), "'markerCache'");
    bad(done, "files/3", json_integer(3), "'files'");
    bad(failed, "permanent", NULL, "'permanent'");
    bad(prog, "progress", json_integer(101), "'progress'");
    bad(prog, "stage", json_string("X"), "'stage'");

    /* err may be NULL: the code alone comes back. */
    json_t *js = with(job, "threads", json_integer(0));
    arc_msg_t out;
    memset(&out, 0xa5, sizeof(out));
    CHECK_EQ_INT(arc_msg_decode(js, &out, NULL), ARC_ECORRUPT);
    CHECK(is_zeroed(&out, sizeof(out)));
    json_decref(js);

    /* A zeroed message, and NULL, may be disposed. */
    memset(&out, 0, sizeof(out));
    arc_msg_dispose(&out);
    arc_msg_dispose(NULL);

    json_decref(job);
    json_decref(done);
    json_decref(failed);
    json_decref(prog);
}

/* ---- 4. frames ---- */

/* A string literal and its length, NULs inside included. */
#define LIT(s) s, sizeof(s) - 1

static void frame_raw(arc_buf_t *b, uint32_t n, const char *body, size_t body_len)
{
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

    arc_buf_append(b, len, 4);
    arc_buf_append(b, body, body_len);
}

TEST(test_reader_byte_at_a_time_and_several_per_feed)
{
    arc_msg_t in[4];
    size_t ends[4];

    arc_buf_t all = ARC_BUF_INIT;
    arc_err_t err = {{0}};

    memset(in, 0, sizeof(in));
    in[0].type = ARC_MSG_HELLO;
    in[0].u.hello.pid = 99;
    job_fill(&in[1], ARC_FIT_FILL, "");
    progress_fill(&in[2], "video", 77);
    done_ok_fill(&in[3], 1);
    for (int i = 0; i < 4; i++) {
        CHECK(arc_proto_frame(&in[i], &all, &err) == 0);
        ends[i] = all.len;
    }

    /* One byte at a time: each message appears exactly when its last byte
     * arrives, in order. */
    arc_proto_reader_t r;
    arc_msg_t out;
    int got = 0;
    arc_proto_reader_init(&r);
    for (size_t pos = 0; pos < all.len; pos++) {
        arc_proto_reader_feed(&r, all.data + pos, 1);
        int rc;
        while ((rc = arc_proto_reader_next(&r, &out, &err)) == 1) {
            CHECK(got < 4);
            if (got < 4) {
                CHECK_EQ_INT(pos + 1, ends[got]);
                CHECK_EQ_INT(out.type, in[got].type);
            }
            if (out.type == ARC_MSG_JOB)
                check_job_equal(&in[1].u.job, &out.u.job);
            if (out.type == ARC_MSG_PROGRESS)
                CHECK_EQ_INT(out.u.progress.progress, 77);
            arc_msg_dispose(&out);
            got++;
        }
        CHECK_MSG(rc == 0, "byte %zu: %d %s", pos, rc, err.msg);
        CHECK(is_zeroed(&out, sizeof(out)));
    }
    CHECK_EQ_INT(got, 4);
    CHECK_EQ_INT(r.in.len, 0);
    arc_proto_reader_dispose(&r);

    /* All at once: four messages from one feed, then "need more". */
    arc_proto_reader_init(&r);
    arc_proto_reader_feed(&r, all.data, all.len);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(arc_proto_reader_next(&r, &out, &err), 1);
        CHECK_EQ_INT(out.type, in[i].type);
        arc_msg_dispose(&out);
    }
    CHECK_EQ_INT(arc_proto_reader_next(&r, &out, &err), 0);
    arc_proto_reader_dispose(&r);

    /* Two and a half frames per feed. */
    arc_proto_reader_init(&r);
    got = 0;
    size_t step = ends[0] + (ends[2] - ends[1]) / 2 + 3;
    for (size_t pos = 0; pos < all.len; pos += step) {
        size_t n = all.len - pos < step ? all.len - pos : step;
        arc_proto_reader_feed(&r, all.data + pos, n);
        while (arc_proto_reader_next(&r, &out, &err) == 1) {
            CHECK(got < 4 && out.type == in[got].type);
            arc_msg_dispose(&out);
            got++;
        }
    }
    CHECK_EQ_INT(got, 4);
    arc_proto_reader_dispose(&r);

    for (int i = 0; i < 4; i++)
        arc_msg_dispose(&in[i]);
    arc_buf_dispose(&all);
}

/* The reader's answer to a stream holding only bytes[0..n). */
static int reader_says(const void *bytes, size_t n, arc_err_t *err)
{
    arc_proto_reader_t r;
    arc_msg_t out;
    int rc;

    memset(err, 0, sizeof(*err));
    arc_proto_reader_init(&r);
    arc_proto_reader_feed(&r, bytes, n);
    memset(&out, 0xa5, sizeof(out));
    rc = arc_proto_reader_next(&r, &out, err);
    CHECK(rc == 1 || is_zeroed(&out, sizeof(out)));
    arc_msg_dispose(&out);
    arc_proto_reader_dispose(&r);
    return rc;
}

TEST(test_reader_refuses_bad_lengths)
{
    arc_err_t err;

    /* Refused from the length alone (the message names it), before any
     * body arrives. */
    CHECK_EQ_INT(reader_says("\0\0\0\0", 4, &err), ARC_ECORRUPT);
    CHECK_MSG(strstr(err.msg, "frame of 0 bytes") != NULL, "%s", err.msg);
    CHECK_EQ_INT(reader_says("\0\x10\0\x01", 4, &err), ARC_ECORRUPT);
    CHECK_MSG(strstr(err.msg, "frame of 1048577 bytes") != NULL, "%s", err.msg);
    CHECK_EQ_INT(reader_says("\xff\xff\xff\xff", 4, &err), ARC_ECORRUPT);
    CHECK_EQ_INT(reader_says("\x80\0\0\0", 4, &err), ARC_ECORRUPT);
    /* The largest length is waited for, as are partial headers. */
    CHECK_EQ_INT(reader_says("\0\x10\0\0", 4, &err), 0);
    CHECK_EQ_INT(reader_says("\0\0\0", 3, &err), 0);
    CHECK_EQ_INT(reader_says("", 0, &err), 0);
    CHECK_EQ_INT(reader_says("\0\0\0\x05{\"v\"", 8, &err), 0);
}

TEST(test_reader_refuses_bodies_that_are_not_a_json_object)
{
    static const struct {
        const char *body;
        size_t len;
        const char *needle;
    } cases[] = {
        {LIT("abc"), "not JSON"},
        {LIT("{\"v\":6,"), "not JSON"},
        {LIT("[1,2]"), "not a JSON object"},
        {LIT("[]"), "not a JSON object"},
        {LIT("2"), "not JSON"},
        {LIT("\"hello\""), "not JSON"},
        {LIT("null"), "not JSON"},
        {LIT("{\"v\":6,\"type\":\"hello\",\"pid\":1} x"), "not JSON"},
        {LIT("{\"v\":6,\"type\":\"hello\",\"pid\":1}{}"), "not JSON"},
        {LIT("{\"v\":6,\"v\":2,\"type\":\"hello\",\"pid\":1}"), "not JSON"},
        {LIT("{\"v\":6,\"type\":\"hello\",\"pid\":1,\"x\":\"\xff\"}"), "not JSON"},
        {LIT("{\"v\":6,\"type\":\"hello\",\"pid\":1,\"x\":\"\\u0000\"}"), "not JSON"},
        {LIT("{\"v\":6,\"type\":\"hel\0lo\",\"pid\":1}"), "not JSON"},
    };
    arc_err_t err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        arc_buf_t b = ARC_BUF_INIT;
        frame_raw(&b, (uint32_t)cases[i].len, cases[i].body, cases[i].len);
        int rc = reader_says(b.data, b.len, &err);
        CHECK_MSG(rc == ARC_ECORRUPT, "case %zu: %d", i, rc);
        CHECK_MSG(strstr(err.msg, cases[i].needle) != NULL, "case %zu: '%s'", i, err.msg);
        arc_buf_dispose(&b);
    }
    /* The same bytes, made valid, pass (the cases fail for their reason). */
    arc_buf_t b = ARC_BUF_INIT;
    frame_raw(&b, 30, LIT("{\"v\":6,\"type\":\"hello\",\"pid\":1}"));
    CHECK_EQ_INT(reader_says(b.data, b.len, &err), 1);
    arc_buf_dispose(&b);
}

/* A done that decodes, with a pad string in its first item sized so its
 * compact JSON is exactly bytes long. */
static void done_of_size(arc_msg_t *m, size_t bytes)
{
    char *body;
    size_t base;

    done_ok_fill(m, 0);
    json_array_set_new(m->u.done.items, 0, json_pack("{s:s}", "pad", ""));
    json_t *js = arc_msg_encode(m);
    body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    base = strlen(body);
    free(body);
    json_decref(js);
    json_array_set_new(m->u.done.items, 0,
                       json_pack("{s:o}", "pad", json_str_of('x', bytes - base)));
}

TEST(test_frame_size_limit)
{
    arc_buf_t out = ARC_BUF_INIT;
    arc_err_t err = {{0}};
    arc_msg_t m, got;
    int rc;

    /* A valid done of exactly ARC_PROTO_MAX_FRAME bytes is framed and read. */
    done_of_size(&m, ARC_PROTO_MAX_FRAME);
    rc = arc_proto_frame(&m, &out, &err);
    CHECK_MSG(rc == 0, "%d %s", rc, err.msg);
    CHECK_EQ_INT(out.len, 4 + (size_t)ARC_PROTO_MAX_FRAME);
    CHECK(out.len >= 4 && memcmp(out.data, "\0\x10\0\0", 4) == 0);
    CHECK_EQ_INT(reader_says(out.data, out.len, &err), 1);
    arc_msg_dispose(&m);

    /* One byte more: the done still decodes (its members' size is not a
     * decode limit) but cannot be framed; nothing is added. */
    arc_buf_clear(&out);
    arc_buf_puts(&out, "kept");
    done_of_size(&m, (size_t)ARC_PROTO_MAX_FRAME + 1);
    json_t *js = arc_msg_encode(&m);
    CHECK_EQ_INT(arc_msg_decode(js, &got, &err), 0);
    arc_msg_dispose(&got);
    json_decref(js);
    rc = arc_proto_frame(&m, &out, &err);
    CHECK_EQ_INT(rc, ARC_ETOOBIG);
    CHECK(strstr(err.msg, "over the limit") != NULL);
    CHECK(out.len == 4 && memcmp(out.data, "kept", 5) == 0);
    arc_msg_dispose(&m);

    /* A job cannot reach the limit and still decode (its strings are
     * bounded), but one built with a long viewUrl is refused by the frame. */
    job_fill(&m, ARC_FIT_CONTAIN, "");
    free(m.u.job.view_url);
    m.u.job.view_url = arc_xmalloc((size_t)ARC_PROTO_MAX_FRAME + 1);
    memset(m.u.job.view_url, 'u', ARC_PROTO_MAX_FRAME);
    m.u.job.view_url[ARC_PROTO_MAX_FRAME] = '\0';
    rc = arc_proto_frame(&m, &out, &err);
    CHECK_EQ_INT(rc, ARC_ETOOBIG);
    CHECK(out.len == 4 && memcmp(out.data, "kept", 5) == 0);
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK(strstr(err.msg, "'viewUrl'") != NULL);
    arc_msg_dispose(&m);
    arc_buf_dispose(&out);
}

/* ---- 5. file descriptors ---- */

TEST(test_fd_write_then_read_across_a_pipe)
{
    arc_msg_t in[3], out;
    arc_proto_reader_t r;
    arc_err_t err = {{0}};
    int p[2];

    CHECK(pipe(p) == 0);
    memset(in, 0, sizeof(in));
    in[0].type = ARC_MSG_HELLO;
    in[0].u.hello.pid = 31337;
    job_fill(&in[1], ARC_FIT_COVER, "/srv/arcd/cache");
    done_failed_fill(&in[2], 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(arc_proto_write_fd(p[1], &in[i]), 0);
    close(p[1]);

    arc_proto_reader_init(&r);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 1);
    CHECK(out.type == ARC_MSG_HELLO && out.u.hello.pid == 31337);
    arc_msg_dispose(&out);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 1);
    CHECK_EQ_INT(out.type, ARC_MSG_JOB);
    if (out.type == ARC_MSG_JOB)
        check_job_equal(&in[1].u.job, &out.u.job);
    arc_msg_dispose(&out);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 1);
    CHECK(out.type == ARC_MSG_DONE && !out.u.done.ok);
    CHECK_STR(out.u.done.error, in[2].u.done.error);
    arc_msg_dispose(&out);
    /* The end of input, and again. */
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 0);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 0);
    arc_proto_reader_dispose(&r);
    close(p[0]);
    for (int i = 0; i < 3; i++)
        arc_msg_dispose(&in[i]);
}

TEST(test_fd_largest_frame_across_a_pipe)
{
    /* A frame larger than the pipe's buffer and the reader's read size: a
     * child writes it (blocking until it is read) and a hello after it. */
    arc_msg_t big, out;
    arc_proto_reader_t r;
    arc_err_t err = {{0}};
    int p[2], status = 0;

    done_of_size(&big, ARC_PROTO_MAX_FRAME);
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        arc_msg_t hello = {.type = ARC_MSG_HELLO};
        hello.u.hello.pid = 7;
        close(p[0]);
        int rc = arc_proto_write_fd(p[1], &big) | arc_proto_write_fd(p[1], &hello);
        _exit(rc == 0 ? 0 : 1);
    }
    CHECK(pid > 0);
    close(p[1]);
    arc_proto_reader_init(&r);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 1);
    CHECK(out.type == ARC_MSG_DONE && json_equal(out.u.done.items, big.u.done.items));
    arc_msg_dispose(&out);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 1);
    CHECK(out.type == ARC_MSG_HELLO && out.u.hello.pid == 7);
    arc_msg_dispose(&out);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 0);
    arc_proto_reader_dispose(&r);
    close(p[0]);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    arc_msg_dispose(&big);
}

TEST(test_fd_errors)
{
    arc_msg_t m = {.type = ARC_MSG_HELLO}, out;
    arc_proto_reader_t r;
    arc_err_t err = {{0}};
    int p[2];

    m.u.hello.pid = 1;
    /* A corrupt frame on the pipe is the reader's error. */
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "\0\0\0\0", 4) == 4);
    close(p[1]);
    arc_proto_reader_init(&r);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), ARC_ECORRUPT);
    arc_proto_reader_dispose(&r);
    close(p[0]);

    /* A bad descriptor. */
    arc_proto_reader_init(&r);
    CHECK_EQ_INT(arc_proto_read_fd(-1, &r, &out, &err), ARC_EIO);
    arc_proto_reader_dispose(&r);
    CHECK_EQ_INT(arc_proto_write_fd(-1, &m), ARC_EIO);

    /* A pipe whose reader is gone (SIGPIPE ignored, as a daemon would). */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    CHECK(pipe(p) == 0);
    close(p[0]);
    CHECK_EQ_INT(arc_proto_write_fd(p[1], &m), ARC_EIO);
    close(p[1]);
    signal(SIGPIPE, old);

    /* A message too big to frame is not written at all. */
    arc_msg_t big;
    done_of_size(&big, (size_t)ARC_PROTO_MAX_FRAME + 1);
    CHECK(pipe(p) == 0);
    CHECK(arc_proto_write_fd(p[1], &big) < 0);
    close(p[1]);
    arc_proto_reader_init(&r);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), 0);
    CHECK_EQ_INT(r.in.len, 0);
    arc_proto_reader_dispose(&r);
    close(p[0]);
    arc_msg_dispose(&big);
}

/* ---- 6. arc_job_msg_check ---- */

TEST(test_job_msg_check)
{
    arc_msg_t m;
    arc_err_t err = {{0}};

    job_fill(&m, ARC_FIT_CONTAIN, "");
    CHECK_MSG(arc_job_msg_check(&m.u.job, &err) == 0, "%s", err.msg);

    free(m.u.job.items[2].photo);
    m.u.job.items[2].photo = arc_xstrdup("../x");
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK(strstr(err.msg, "'photo'") != NULL);
    /* The job checked is not changed. */
    CHECK_STR(m.u.job.items[2].photo, "../x");
    free(m.u.job.items[2].photo);
    m.u.job.items[2].photo = arc_xstrdup("photo-2.jpeg");

    free(m.u.job.items[0].video);
    m.u.job.items[0].video = arc_xstrdup("../x");
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK(strstr(err.msg, "'video'") != NULL);
    free(m.u.job.items[0].video);
    m.u.job.items[0].video = arc_xstrdup("video.webm");

    m.u.job.threads = 0;
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK(strstr(err.msg, "'threads'") != NULL);
    m.u.job.threads = 1;

    /* A job that cannot be encoded at all (no id) is refused too. */
    char *id = m.u.job.id;
    m.u.job.id = NULL;
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    m.u.job.id = id;
    CHECK_MSG(arc_job_msg_check(&m.u.job, &err) == 0, "%s", err.msg);
    arc_msg_dispose(&m);
}

/* ---- 7. fit modes ---- */

TEST(test_fit_parse_and_name)
{
    static const char *const names[] = {"contain", "cover", "fill", "exact"};
    arc_fit_t fit;

    for (int i = ARC_FIT_CONTAIN; i <= ARC_FIT_EXACT; i++) {
        CHECK_STR(arc_fit_name((arc_fit_t)i), names[i]);
        fit = (arc_fit_t)-1;
        CHECK_EQ_INT(arc_fit_parse(arc_fit_name((arc_fit_t)i), &fit), 0);
        CHECK_EQ_INT(fit, i);
    }
    const char *bad_names[] = {"", "Contain", "stretch", "contain ", "fit"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        fit = ARC_FIT_EXACT;
        CHECK_EQ_INT(arc_fit_parse(bad_names[i], &fit), ARC_EINVAL);
        CHECK_EQ_INT(fit, ARC_FIT_EXACT);
    }
    fit = ARC_FIT_COVER;
    CHECK_EQ_INT(arc_fit_parse(NULL, &fit), ARC_EINVAL);
    CHECK_EQ_INT(fit, ARC_FIT_COVER);
}

/* ---- regressions: defects found by this file's first version ---- */

TEST(test_regression_a_null_photo_is_refused_not_dropped)
{
    arc_msg_t m;
    arc_err_t err = {{0}};

    /* It used to vanish from the encoded items (json_pack of NULL), so a
     * two-item job passed the check and went out with one item. */
    job_fill(&m, ARC_FIT_CONTAIN, "");
    free(m.u.job.items[1].photo);
    m.u.job.items[1].photo = NULL;
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK_MSG(strstr(err.msg, "'photo'") != NULL, "%s", err.msg);
    arc_msg_dispose(&m);
}

TEST(test_regression_an_empty_stage_is_refused)
{
    arc_msg_t m;

    progress_fill(&m, "marker", 10);
    json_t *js = arc_msg_encode(&m);
    json_object_set_new(js, "stage", json_string(""));
    refused(js, "empty stage", "'stage'");
    json_decref(js);
    arc_msg_dispose(&m);
}

TEST(test_regression_exact_needs_its_size)
{
    arc_msg_t m;
    arc_err_t err = {{0}};

    job_fill(&m, ARC_FIT_EXACT, "");
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), 0);
    m.u.job.scale_height = 0;
    CHECK_EQ_INT(arc_job_msg_check(&m.u.job, &err), ARC_ECORRUPT);
    CHECK_MSG(strstr(err.msg, "exact") != NULL, "%s", err.msg);
    arc_msg_dispose(&m);
}

TEST(test_regression_input_ending_inside_a_frame_is_an_error)
{
    arc_msg_t hello = {.type = ARC_MSG_HELLO}, out;
    arc_buf_t frame = ARC_BUF_INIT;
    arc_proto_reader_t r;
    arc_err_t err = {{0}};
    int p[2];

    hello.u.hello.pid = 7;
    CHECK_EQ_INT(arc_proto_frame(&hello, &frame, &err), 0);
    CHECK(pipe(p) == 0);
    /* Half a frame, then the end: not a clean end of input. */
    CHECK(write(p[1], frame.data, frame.len / 2) == (ssize_t)(frame.len / 2));
    close(p[1]);
    arc_proto_reader_init(&r);
    CHECK_EQ_INT(arc_proto_read_fd(p[0], &r, &out, &err), ARC_ECORRUPT);
    CHECK_MSG(strstr(err.msg, "ends inside a frame") != NULL, "%s", err.msg);
    arc_proto_reader_dispose(&r);
    arc_buf_dispose(&frame);
    close(p[0]);
}

TEST(test_regression_write_fd_refuses_what_does_not_fit_and_says_why)
{
    arc_msg_t m;
    int p[2];

    done_of_size(&m, ARC_PROTO_MAX_FRAME + 1);
    CHECK(pipe(p) == 0);
    CHECK_EQ_INT(arc_proto_write_fd(p[1], &m), ARC_ETOOBIG);
    close(p[1]);
    char c;
    CHECK(read(p[0], &c, 1) == 0); /* nothing was written */
    close(p[0]);
    arc_msg_dispose(&m);
}
