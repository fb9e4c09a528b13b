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
    if (width > ARC__IMAGE_MAX_SIDE || height > ARC__IMAGE_MAX_SIDE || width * height > max_pixels)
        return arc_err_set(err, ARC_ETOOBIG,
                           "image is %llux%llu (%.1f megapixels), over the limit of %.1f "
                           "megapixels",
                           (unsigned long long)width, (unsigned long long)height,
                           (double)width * (double)height / 1e6, (double)max_pixels / 1e6);
    return 0;
}

void arc__image_fit(int width, int height, int side, int *w, int *h)
{
    int longest = width > height ? width : height;

    *w = width;
    *h = height;
    if (side <= 0 || longest <= side)
        return;
    double f = (double)side / longest;
    *w = width >= height ? side : (int)(width * f + 0.5);
    *h = height > width ? side : (int)(height * f + 0.5);
    if (*w < 1)
        *w = 1;
    if (*h < 1)
        *h = 1;
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

void arc__image_put_row(const uint8_t *src, int ch, int width, int channels, uint8_t *dst)
{
    if (channels == 1) {
        arc__image_grey_row(src, ch, width, dst);
        return;
    }
    for (int x = 0; x < width; x++) {
        const uint8_t *p = src + (size_t)x * (size_t)ch;
        unsigned a = ch == 4 ? p[3] : 255u;
        for (int c = 0; c < 3; c++)
            dst[3 * x + c] = (uint8_t)((p[c] * a + 255u * (255u - a) + 127u) / 255u);
    }
}

void arc__rows_begin(arc__rows_t *r, arc__pixels_t *px, int width, int height, int ch)
{
    int side = width > height ? width : height;

    memset(r, 0, sizeof(*r));
    r->px = px;
    r->ch = ch;
    r->width = width;
    r->height = height;
    r->k = px->channels == 3 && px->min_side > 0 ? side / px->min_side : 1;
    if (r->k < 2)
        r->k = 1;
    r->out_w = (width + r->k - 1) / r->k;
    r->out_h = (height + r->k - 1) / r->k;
    r->data = arc_xmallocarray((size_t)r->out_w * (size_t)px->channels, (size_t)r->out_h);
    if (r->k > 1) {
        r->rgb = arc_xmallocarray((size_t)width, 3);
        r->sum = arc_xcalloc((size_t)r->out_w * 3, sizeof(*r->sum));
    }
}

/* The block row of sums, averaged into output row oy (rows: how many input
 * rows it holds). */
static void rows_flush(arc__rows_t *r, int oy, int rows)
{
    uint8_t *dst = r->data + (size_t)oy * (size_t)r->out_w * 3;

    for (int ox = 0; ox < r->out_w; ox++) {
        int cols = r->width - ox * r->k < r->k ? r->width - ox * r->k : r->k;
        uint64_t n = (uint64_t)cols * (uint64_t)rows;
        for (int c = 0; c < 3; c++)
            dst[3 * ox + c] = (uint8_t)((r->sum[3 * ox + c] + n / 2) / n);
    }
    memset(r->sum, 0, (size_t)r->out_w * 3 * sizeof(*r->sum));
}

void arc__rows_put(arc__rows_t *r, const uint8_t *row)
{
    int channels = r->px->channels;

    if (r->y >= r->height)
        return;
    if (r->k == 1) {
        arc__image_put_row(row, r->ch, r->width, channels,
                           r->data + (size_t)r->y * (size_t)r->width * (size_t)channels);
        r->y++;
        return;
    }
    arc__image_put_row(row, r->ch, r->width, 3, r->rgb);
    for (int x = 0; x < r->width; x++) {
        uint64_t *s = r->sum + 3 * (x / r->k);
        s[0] += r->rgb[3 * x];
        s[1] += r->rgb[3 * x + 1];
        s[2] += r->rgb[3 * x + 2];
    }
    r->y++;
    if (r->y % r->k == 0 || r->y == r->height)
        rows_flush(r, (r->y - 1) / r->k, r->y % r->k == 0 ? r->k : r->y % r->k);
}

void arc__rows_end(arc__rows_t *r)
{
    r->px->width = r->out_w;
    r->px->height = r->out_h;
    r->px->data = r->data;
    r->data = NULL;
    arc__rows_dispose(r);
}

void arc__rows_dispose(arc__rows_t *r)
{
    free(r->data);
    free(r->rgb);
    free(r->sum);
    r->data = r->rgb = NULL;
    r->sum = NULL;
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
    case ARC_IMAGE_HEIC:
    case ARC_IMAGE_AVIF: return arc__image_decode_heif(buf, len, px, err);
    case ARC_IMAGE_WEBP: return arc__image_decode_webp(buf, len, px, err);
    default:
        return arc_err_set(err, ARC_EFORMAT,
                           "not an image arcd reads (expected JPEG, PNG, HEIC, AVIF, WebP or "
                           "binary PGM)");
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
