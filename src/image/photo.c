/* Colour photos: decoding upright at the size wanted, the area filter, EXIF
 * orientation, and MindAR's grey. */
#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>

#include "image_internal.h"

int arc__image_exif_orientation(const uint8_t *exif, size_t len)
{
    static const uint8_t header[6] = {'E', 'x', 'i', 'f', 0, 0};
    uint8_t *copy = NULL;
    int orientation = 1;

    /* libexif wants the APP1 header; a PNG eXIf chunk starts at the TIFF header. */
    if (len < 6 || memcmp(exif, header, 6) != 0) {
        copy = arc_xmalloc(len + 6);
        memcpy(copy, header, 6);
        memcpy(copy + 6, exif, len);
        exif = copy;
        len += 6;
    }
    ExifData *ed = exif_data_new_from_data(exif, (unsigned int)len);
    if (ed != NULL) {
        ExifEntry *e = exif_data_get_entry(ed, EXIF_TAG_ORIENTATION);
        if (e != NULL && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2) {
            int v = exif_get_short(e->data, exif_data_get_byte_order(ed));
            if (v >= 1 && v <= 8)
                orientation = v;
        }
        exif_data_unref(ed);
    }
    free(copy);
    return orientation;
}

void arc_photo_create(arc_photo_t *p, int width, int height, uint8_t r, uint8_t g, uint8_t b)
{
    size_t n = (size_t)width * (size_t)height;

    p->width = width;
    p->height = height;
    p->data = arc_xmallocarray(n, 3);
    for (size_t i = 0; i < n; i++) {
        p->data[3 * i] = r;
        p->data[3 * i + 1] = g;
        p->data[3 * i + 2] = b;
    }
}

/* For one axis: the source pixels each output pixel covers and their shares. */
typedef struct span_s {
    int first, count;
    float *w; /* count weights summing to 1 */
} span_t;

static span_t *spans_make(int src, int dst)
{
    span_t *sp = arc_xcalloc((size_t)dst, sizeof(*sp));
    double scale = (double)src / dst;

    for (int i = 0; i < dst; i++) {
        double a = i * scale, b = (i + 1) * scale;
        if (scale < 1.0) {
            /* Enlarging: the source pixel under the output pixel's centre, and
             * its neighbour, linearly. */
            double c = (i + 0.5) * scale - 0.5;
            int j = c < 0 ? 0 : (int)c;
            double f = c - j;
            if (j >= src - 1) {
                j = src - 1;
                f = 0;
            }
            sp[i].first = j;
            sp[i].count = f > 0 ? 2 : 1;
            sp[i].w = arc_xmallocarray(2, sizeof(float));
            sp[i].w[0] = (float)(1.0 - f);
            sp[i].w[1] = (float)f;
            continue;
        }
        int first = (int)a, last = (int)b;
        if (last >= src || (double)last == b)
            last--;
        if (last < first)
            last = first;
        sp[i].first = first;
        sp[i].count = last - first + 1;
        sp[i].w = arc_xmallocarray((size_t)sp[i].count, sizeof(float));
        for (int j = first; j <= last; j++) {
            double lo = j > a ? j : a, hi = j + 1 < b ? j + 1 : b;
            sp[i].w[j - first] = (float)((hi - lo) / scale);
        }
    }
    return sp;
}

static void spans_free(span_t *sp, int n)
{
    for (int i = 0; i < n; i++)
        free(sp[i].w);
    free(sp);
}

void arc_photo_resize(const arc_photo_t *src, int width, int height, arc_photo_t *out)
{
    span_t *xs = spans_make(src->width, width);
    span_t *ys = spans_make(src->height, height);
    size_t row = (size_t)width * 3;
    float *h = arc_xmallocarray(row, sizeof(float));
    float *acc = arc_xmallocarray(row, sizeof(float));

    out->width = width;
    out->height = height;
    out->data = arc_xmallocarray(row, (size_t)height);
    for (int oy = 0; oy < height; oy++) {
        memset(acc, 0, row * sizeof(float));
        for (int k = 0; k < ys[oy].count; k++) {
            const uint8_t *s = src->data + (size_t)(ys[oy].first + k) * (size_t)src->width * 3;
            float wy = ys[oy].w[k];
            /* This source row, resampled across, into h. */
            for (int ox = 0; ox < width; ox++) {
                float r = 0, g = 0, b = 0;
                const uint8_t *p = s + (size_t)xs[ox].first * 3;
                for (int j = 0; j < xs[ox].count; j++, p += 3) {
                    r += xs[ox].w[j] * p[0];
                    g += xs[ox].w[j] * p[1];
                    b += xs[ox].w[j] * p[2];
                }
                h[3 * ox] = r;
                h[3 * ox + 1] = g;
                h[3 * ox + 2] = b;
            }
            for (size_t i = 0; i < row; i++)
                acc[i] += wy * h[i];
        }
        uint8_t *d = out->data + (size_t)oy * row;
        for (size_t i = 0; i < row; i++) {
            float v = acc[i] + 0.5f;
            d[i] = v >= 255.0f ? 255 : v <= 0.0f ? 0 : (uint8_t)v;
        }
    }
    free(h);
    free(acc);
    spans_free(xs, width);
    spans_free(ys, height);
}

int arc_photo_orient(arc_photo_t *p, int orientation)
{
    if (orientation < 1 || orientation > 8)
        return ARC_EINVAL;
    if (orientation == 1)
        return 0;
    int w = p->width, h = p->height;
    int swap = orientation >= 5;
    int ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *d = arc_xmallocarray((size_t)ow * (size_t)oh, 3);

    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            int sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - ox, sy = oy; break;         /* mirrored */
            case 3: sx = w - 1 - ox, sy = h - 1 - oy; break; /* upside down */
            case 4: sx = ox, sy = h - 1 - oy; break;         /* mirrored vertically */
            case 5: sx = oy, sy = ox; break;                 /* transposed */
            case 6: sx = oy, sy = h - 1 - ox; break;         /* turned right */
            case 7: sx = w - 1 - oy, sy = h - 1 - ox; break; /* transversed */
            default: sx = w - 1 - oy, sy = ox; break;        /* 8: turned left */
            }
            memcpy(d + ((size_t)oy * (size_t)ow + (size_t)ox) * 3,
                   p->data + ((size_t)sy * (size_t)w + (size_t)sx) * 3, 3);
        }
    }
    free(p->data);
    p->data = d;
    p->width = ow;
    p->height = oh;
    return 0;
}

int arc_photo_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, int max_side,
                     arc_photo_t *out, arc_photo_info_t *info, arc_err_t *err)
{
    arc__pixels_t px = {.max_pixels = max_pixels, .channels = 3, .min_side = max_side};
    int rc;

    memset(out, 0, sizeof(*out));
    rc = arc__image_decode(buf, len, &px, err);
    if (rc != 0)
        return rc;
    out->width = px.width;
    out->height = px.height;
    out->data = px.data;
    if (info != NULL) {
        info->format = arc_image_sniff(buf, len);
        info->stored_width = px.stored_width;
        info->stored_height = px.stored_height;
        info->orientation = px.orientation;
        info->decoded_width = px.width;
        info->decoded_height = px.height;
    }
    int w, h;
    arc__image_fit(out->width, out->height, max_side, &w, &h);
    if (w != out->width || h != out->height) {
        /* Resize before turning: fewer pixels to move. */
        arc_photo_t small;
        arc_photo_resize(out, w, h, &small);
        arc_photo_dispose(out);
        *out = small;
    }
    arc_photo_orient(out, px.orientation);
    return 0;
}

int arc_photo_load(const char *path, uint64_t max_pixels, int max_side, arc_photo_t *out,
                   arc_photo_info_t *info, arc_err_t *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = arc_file_read_all(path, ARC_IMAGE_MAX_FILE_BYTES, &buf, &len, err);
    if (rc == 0)
        rc = arc_photo_decode(buf, len, max_pixels, max_side, out, info, err);
    free(buf);
    return rc;
}

void arc_photo_grey(const arc_photo_t *p, arc_image_t *out)
{
    out->width = p->width;
    out->height = p->height;
    out->data = arc_xmallocarray((size_t)p->width, (size_t)p->height);
    for (int y = 0; y < p->height; y++)
        arc__image_grey_row(p->data + (size_t)y * (size_t)p->width * 3, 3, p->width,
                            out->data + (size_t)y * (size_t)p->width);
}

void arc_photo_dispose(arc_photo_t *p)
{
    if (p == NULL)
        return;
    free(p->data);
    memset(p, 0, sizeof(*p));
}
