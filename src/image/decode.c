/* Format sniffing and dispatch to the JPEG, PNG and PGM decoders. */
#include <stdlib.h>
#include <string.h>

#include "arcd/image.h"
#include "image_internal.h"

int arc__image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, arc_err_t *err)
{
    if (max_pixels == 0)
        max_pixels = ARC_IMAGE_DEFAULT_MAX_PIXELS;
    if (width == 0 || height == 0)
        return arc_err_set(err, ARC_ECORRUPT, "image has a zero dimension (%llux%llu)",
                           (unsigned long long)width, (unsigned long long)height);
    if (width > 1000000 || height > 1000000 || width * height > max_pixels)
        return arc_err_set(err, ARC_ETOOBIG,
                           "image is %llux%llu (%.1f megapixels), over the limit of %.1f "
                           "megapixels",
                           (unsigned long long)width, (unsigned long long)height,
                           (double)width * (double)height / 1e6, (double)max_pixels / 1e6);
    return 0;
}

void arc__image_grey_row(const uint8_t *src, int channels, int width, uint8_t *dst)
{
    /* MindAR: Math.floor((r + g + b) / 3) on the canvas' RGBA. A fully transparent
     * pixel reads back from a canvas as (0, 0, 0). */
    for (int x = 0; x < width; x++) {
        const uint8_t *p = src + (size_t)x * (size_t)channels;
        if (channels == 4 && p[3] == 0)
            dst[x] = 0;
        else
            dst[x] = (uint8_t)(((unsigned)p[0] + p[1] + p[2]) / 3u);
    }
}

/* Runs the decoder for buf's format. */
int arc__image_decode(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err)
{
    if (len == 0)
        return arc_err_set(err, ARC_EEMPTY, "empty file");
    switch (arc_image_sniff(buf, len)) {
    case ARC_IMAGE_JPEG: return arc__image_decode_jpeg(buf, len, px, err);
    case ARC_IMAGE_PNG: return arc__image_decode_png(buf, len, px, err);
    case ARC_IMAGE_PGM: return arc__image_decode_pgm(buf, len, px, err);
    default:
        return arc_err_set(err, ARC_EFORMAT,
                           "not an image arcd reads (expected JPEG, PNG or binary PGM)");
    }
}

int arc_image_decode_grey(const uint8_t *buf, size_t len, uint64_t max_pixels, arc_image_t *out,
                          arc_err_t *err)
{
    arc__pixels_t px = {.max_pixels = max_pixels, .channels = 1};
    int rc;

    memset(out, 0, sizeof(*out));
    rc = arc__image_decode(buf, len, &px, err);
    if (rc != 0)
        return rc;
    out->width = px.width;
    out->height = px.height;
    out->data = px.data;
    return 0;
}

int arc_image_load_grey(const char *path, uint64_t max_pixels, arc_image_t *out, arc_err_t *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = arc_file_read_all(path, ARC_IMAGE_MAX_FILE_BYTES, &buf, &len, err);
    if (rc != 0)
        goto out;
    rc = arc_image_decode_grey(buf, len, max_pixels, out, err);
out:
    free(buf);
    return rc;
}

void arc_image_dispose(arc_image_t *img)
{
    if (img == NULL)
        return;
    free(img->data);
    memset(img, 0, sizeof(*img));
}
