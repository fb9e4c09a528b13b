/*
 * Pipeline stage "video": until the media pipeline (FFmpeg) arrives, the video
 * is kept as uploaded (the daemon has checked its container by its magic
 * bytes and stored it as video.<container>); this stage checks it is there
 * and lists it among the project's files.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "arcd/worker.h"

int arc_stage_video(arc_job_t *job, arc_err_t *err)
{
    char path[4096];
    struct stat st;

    if (job->video == NULL || job->video[0] == '\0')
        return 0;
    snprintf(path, sizeof(path), "%s/%s", job->dir, job->video);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        job->permanent = 1;
        return arc_err_set(err, ARC_EIO, "the uploaded video %s is missing", job->video);
    }
    const char *dot = strrchr(job->video, '.');
    job->video_info = json_pack("{s:I, s:s}", "bytes", (json_int_t)st.st_size, "container",
                                dot ? dot + 1 : "unknown");
    json_array_append_new(job->files, json_string(job->video));
    return 0;
}
