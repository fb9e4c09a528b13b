/*
 * `arcd worker`: the process the daemon starts for running jobs. It limits
 * itself first (niceness, address space), says hello, then reads jobs from
 * stdin and answers each with progress messages and one "done" on stdout
 * (include/arcd/proto.h). It exits when stdin closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "arcd/proto.h"
#include "arcd/clock.h"
#include "arcd/worker.h"

static void send_progress(arc_job_t *job, const char *stage, int percent)
{
    json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:i}", "v", ARC_PROTO_VERSION, "type", "progress",
                          "id", job->id, "stage", stage, "progress", percent);
    arc_proto_write_fd(STDOUT_FILENO, m);
    json_decref(m);
}

static const char *str(json_t *msg, const char *key)
{
    const char *s = json_string_value(json_object_get(msg, key));
    return s ? s : "";
}

/* The job's photo/video pairs: "items" [{photo, video}], or the single
 * "photo" and "video" of a one-target project. */
static int read_items(arc_job_t *job, json_t *msg, arc_err_t *err)
{
    json_t *items = json_object_get(msg, "items");
    size_t n = json_is_array(items) ? json_array_size(items) : 0;

    job->n_items = n > 0 ? n : 1;
    job->items = arc_xcalloc(job->n_items, sizeof(*job->items));
    for (size_t i = 0; i < job->n_items; i++) {
        json_t *it = n > 0 ? json_array_get(items, i) : msg;
        job->items[i].photo = str(it, "photo");
        job->items[i].video = str(it, "video");
        if (i > 0)
            snprintf(job->items[i].suffix, sizeof(job->items[i].suffix), "-%zu", i);
        if (job->items[i].photo[0] == '\0')
            return arc_err_set(err, ARC_EINVAL, "the job's item %zu names no photo", i + 1);
    }
    return 0;
}

static json_t *done_ok(arc_job_t *job, double t0)
{
    const arc_item_t *first = &job->items[0];
    json_t *items = json_array();

    for (size_t i = 0; i < job->n_items; i++) {
        const arc_item_t *it = &job->items[i];
        json_array_append_new(items,
                              json_pack("{s:O?, s:O?, s:O?, s:s?}", "photo", it->photo_info,
                                        "rating", it->rating, "video", it->video_info, "videoFile",
                                        it->video_out[0] ? it->video_out : NULL));
    }
    json_t *reply =
        json_pack("{s:i, s:s, s:s, s:b, s:O, s:{s:i, s:i}, s:O?, s:O?, s:o, s:O, s:I}", "v",
                  ARC_PROTO_VERSION, "type", "done", "id", job->id, "ok", 1, "files", job->files,
                  "photo", "width", first->print.width, "height", first->print.height, "video",
                  first->video_info, "rating", job->rating, "items", items, "timings", job->timings,
                  "ms", (json_int_t)(arc_now_ms() - t0));
    json_object_set_new(reply, "markerCache", json_string(job->marker_cached ? "hit" : "miss"));
    return reply;
}

json_t *arc_worker_run_job(json_t *msg, void (*progress)(arc_job_t *, const char *, int))
{
    arc_job_t job;
    arc_err_t err = {{0}};
    double t0 = arc_now_ms();
    json_t *reply;

    memset(&job, 0, sizeof(job));
    job.id = str(msg, "id");
    job.dir = str(msg, "dir");
    job.fit_mode = str(msg, "fitMode");
    job.view_url = str(msg, "viewUrl");
    job.viewer = json_object_get(msg, "viewer");
    job.media = json_object_get(msg, "media");
    job.cache_dir = str(msg, "cacheDir");
    job.scale_width = (int)json_integer_value(json_object_get(msg, "scaleWidth"));
    job.scale_height = (int)json_integer_value(json_object_get(msg, "scaleHeight"));
    job.config = json_object_get(msg, "config");
    job.max_pixels = (uint64_t)json_integer_value(json_object_get(msg, "maxPixels"));
    job.threads = (int)json_integer_value(json_object_get(msg, "threads"));
    job.progress = progress;
    if (job.threads <= 0)
        job.threads = 1;

    int rc = job.dir[0] == '\0' ? arc_err_set(&err, ARC_EINVAL, "the job names no folder")
                                : read_items(&job, msg, &err);
    if (rc == 0)
        rc = arc_pipeline_run(&job, &err);
    if (rc == 0) {
        reply = done_ok(&job, t0);
    } else {
        reply = json_pack("{s:i, s:s, s:s, s:b, s:s, s:b, s:O}", "v", ARC_PROTO_VERSION, "type",
                          "done", "id", job.id, "ok", 0, "error", err.msg, "permanent",
                          job.permanent || rc == ARC_EINVAL, "timings",
                          job.timings ? job.timings : json_object());
    }
    arc_job_dispose(&job);
    free(job.items);
    return reply;
}

int arc_worker_main(int argc, char **argv)
{
    long memory_mb = 0, niceness = 0;
    arc_proto_reader_t reader;
    arc_err_t err = {{0}};

    for (int i = 1; i + 1 < argc; i += 2) {
        char *end = NULL;
        long v = strtol(argv[i + 1], &end, 10);
        if (*end != '\0' || v < 0) {
            fprintf(stderr, "arcd worker: bad value for %s\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--memory-mb") == 0)
            memory_mb = v;
        else if (strcmp(argv[i], "--nice") == 0)
            niceness = v;
    }
    /* The daemon stays responsive: workers yield the CPU to it, and a photo
     * that would need too much memory fails its job instead of the machine. */
    if (niceness > 0 && nice((int)niceness) == -1)
        perror("arcd worker: nice");
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer reserves terabytes of address space: no limit then. */
    memory_mb = 0;
#endif
    if (memory_mb > 0) {
        struct rlimit rl = {.rlim_cur = (rlim_t)memory_mb << 20,
                            .rlim_max = (rlim_t)memory_mb << 20};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            perror("arcd worker: setrlimit");
    }
    /* No network and no exec from here on. */
    if (arc_sandbox_enter(&err) != 0) {
        fprintf(stderr, "arcd worker: %s\n", err.msg);
        return 3;
    }
    json_t *hello =
        json_pack("{s:i, s:s, s:i}", "v", ARC_PROTO_VERSION, "type", "hello", "pid", (int)getpid());
    arc_proto_write_fd(STDOUT_FILENO, hello);
    json_decref(hello);

    arc_proto_reader_init(&reader);
    for (;;) {
        json_t *msg = NULL;
        int rc = arc_proto_read_fd(STDIN_FILENO, &reader, &msg, &err);
        if (rc == 0)
            break; /* the daemon closed our stdin: we are done */
        if (rc < 0) {
            fprintf(stderr, "arcd worker: %s\n", err.msg);
            arc_proto_reader_dispose(&reader);
            return 3;
        }
        if (strcmp(str(msg, "type"), "job") == 0) {
            arc_sandbox_selftest();
            json_t *reply = arc_worker_run_job(msg, send_progress);
            rc = arc_proto_write_fd(STDOUT_FILENO, reply);
            json_decref(reply);
        }
        json_decref(msg);
        if (rc != 0)
            break;
    }
    arc_proto_reader_dispose(&reader);
    return 0;
}
