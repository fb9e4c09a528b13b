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

static json_t *run_job(json_t *msg)
{
    arc_job_t job;
    arc_err_t err = {{0}};
    double t0 = arc_now_ms();
    json_t *reply;

    memset(&job, 0, sizeof(job));
    job.id = str(msg, "id");
    job.dir = str(msg, "dir");
    job.photo = str(msg, "photo");
    job.video = str(msg, "video");
    job.fit_mode = str(msg, "fitMode");
    job.view_url = str(msg, "viewUrl");
    job.viewer = json_object_get(msg, "viewer");
    job.cache_dir = str(msg, "cacheDir");
    job.scale_width = (int)json_integer_value(json_object_get(msg, "scaleWidth"));
    job.scale_height = (int)json_integer_value(json_object_get(msg, "scaleHeight"));
    job.config = json_object_get(msg, "config");
    job.max_pixels = (uint64_t)json_integer_value(json_object_get(msg, "maxPixels"));
    job.threads = (int)json_integer_value(json_object_get(msg, "threads"));
    job.progress = send_progress;
    if (job.threads <= 0)
        job.threads = 1;

    int rc = job.dir[0] == '\0' || job.photo[0] == '\0'
                 ? arc_err_set(&err, ARC_EINVAL, "the job names no folder or photo")
                 : arc_pipeline_run(&job, &err);
    if (rc == 0) {
        reply = json_pack("{s:i, s:s, s:s, s:b, s:O, s:{s:i, s:i}, s:O, s:O, s:I}", "v",
                          ARC_PROTO_VERSION, "type", "done", "id", job.id, "ok", 1, "files",
                          job.files, "photo", "width", job.photo_width, "height", job.photo_height,
                          "video", job.video_info ? job.video_info : json_null(), "timings",
                          job.timings, "ms", (json_int_t)(arc_now_ms() - t0));
        json_object_set_new(reply, "markerCache", json_string(job.marker_cached ? "hit" : "miss"));
    } else {
        reply = json_pack("{s:i, s:s, s:s, s:b, s:s, s:b, s:O}", "v", ARC_PROTO_VERSION, "type",
                          "done", "id", job.id, "ok", 0, "error", err.msg, "permanent",
                          job.permanent || rc == ARC_EINVAL, "timings",
                          job.timings ? job.timings : json_object());
    }
    arc_job_dispose(&job);
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
            json_t *reply = run_job(msg);
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
