/*
 * Pipeline stage "marker": compiles the grey photo into marker.mind (MindAR
 * 1.2.5's format, workers/compiler/) and writes it atomically.
 */
#include <stdio.h>
#include <stdlib.h>

#include "arcd/compiler.h"
#include "arcd/worker.h"

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

    rc = arc_compile(&job->grey, 1, &opts, &m, err);
    if (rc != 0) {
        job->permanent = 1;
        goto out;
    }
    arc_mind_encode(m, &buf, &len);
    snprintf(path, sizeof(path), "%s/marker.mind", job->dir);
    rc = arc_file_write_atomic(path, buf, len, err);
    if (rc != 0)
        goto out;
    json_array_append_new(job->files, json_string("marker.mind"));
out:
    free(buf);
    arc_mind_free(m);
    return rc;
}
