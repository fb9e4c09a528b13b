/*
 * Pipeline stage "photo": decodes each uploaded photo into an upright RGB
 * image (EXIF orientation applied, so that the marker matches the photo as
 * printed) whose long side leaves room for the border within the print's
 * maximum (media.maxSide, 1920 px by default). JPEGs are DCT-scaled while
 * decoding, larger PNG and HEIF photos shrunk by a whole factor as their
 * rows come and WebP scaled by libwebp, then area-resized; a photo over
 * photo.maxPixels (200 MP by default) is refused from its header, before any
 * pixel is decoded. Its colour profile is applied (lcms2).
 */
#include <stdio.h>

#include "arcd/worker.h"

/* The long side the photo itself may have: the print's, less the border. */
static int photo_side(const arc_job_t *job)
{
    int side = job->in->media.max_side;
    double ratio = job->in->media.border_ratio;

    if (job->in->media.border != 0)
        side = (int)(side / (1.0 + 2.0 * ratio));
    return side;
}

int arc_stage_photo(arc_job_t *job, arc_err_t *err)
{
    int side = photo_side(job);

    for (size_t i = 0; i < job->n_items; i++) {
        arc_item_t *it = &job->items[i];
        arc_photo_info_t info;
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", job->dir, it->photo);
        int rc =
            arc_photo_load(path, job->in->media.photo_max_pixels, side, &it->photo_rgb, &info, err);
        if (rc != 0) {
            job->permanent = rc != ARC_EIO;
            if (job->n_items > 1) {
                char msg[sizeof(err->msg)];
                snprintf(msg, sizeof(msg), "%s", err->msg);
                arc_err_set(err, rc, "photo %zu: %s", i + 1, msg);
            }
            return rc;
        }
        it->photo_info = json_pack(
            "{s:s, s:i, s:i, s:i, s:i, s:i}", "format", arc_image_format_name(info.format),
            "storedWidth", info.stored_width, "storedHeight", info.stored_height, "orientation",
            info.orientation, "width", it->photo_rgb.width, "height", it->photo_rgb.height);
        arc_job_progress(job, (int)((i + 1) * 100 / job->n_items));
    }
    return 0;
}
