/*
 * Pipeline stage "photo": decodes the uploaded photo into the grey image the
 * marker is compiled from, refusing it (permanently) when it is not a photo
 * MindAR can compile. The media pipeline will add EXIF orientation, resizing
 * and the printable border here.
 */
#include <stdio.h>

#include "arcd/compiler.h"
#include "arcd/worker.h"

int arc_stage_photo(arc_job_t *job, arc_err_t *err)
{
    char path[4096];
    int rc;

    snprintf(path, sizeof(path), "%s/%s", job->dir, job->photo);
    rc = arc_image_load_grey(path, job->max_pixels, &job->grey, err);
    if (rc == 0)
        rc = arc_compile_check(job->grey.width, job->grey.height, job->max_pixels, err);
    if (rc != 0) {
        job->permanent = rc != ARC_EIO;
        return rc;
    }
    job->photo_width = job->grey.width;
    job->photo_height = job->grey.height;
    return 0;
}
