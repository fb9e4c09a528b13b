/* Binary PGM (P5, 8-bit) reading and writing: the exact-pixels input of the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads one unsigned decimal header field, skipping white space and comments. */
static int header_field(const uint8_t *buf, size_t len, size_t *pos, uint64_t *value)
{
    size_t p = *pos;
    uint64_t v = 0;
    int digits = 0;

    for (;;) {
        while (p < len && is_space(buf[p]))
            p++;
        if (p < len && buf[p] == '#') {
            while (p < len && buf[p] != '\n')
                p++;
            continue;
        }
        break;
    }
    while (p < len && buf[p] >= '0' && buf[p] <= '9') {
        if (v > 100000000)
            return -1;
        v = v * 10 + (uint64_t)(buf[p] - '0');
        p++;
        digits++;
    }
    if (digits == 0)
        return -1;
    *pos = p;
    *value = v;
    return 0;
}

int arc__image_decode_pgm(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err)
{
    uint64_t w = 0, h = 0, maxval = 0;
    size_t pos = 2;
    int rc;

    if (header_field(buf, len, &pos, &w) != 0 || header_field(buf, len, &pos, &h) != 0 ||
        header_field(buf, len, &pos, &maxval) != 0 || pos >= len || !is_space(buf[pos]))
        return arc_err_set(err, ARC_ECORRUPT, "corrupt PGM: bad header");
    pos++; /* the single white space character before the pixels */
    if (maxval == 0 || maxval > 255)
        return arc_err_set(err, ARC_EFORMAT,
                           "PGM with maxval %llu: only 8-bit grey (maxval <= 255) is read",
                           (unsigned long long)maxval);
    rc = arc__image_check_size(w, h, px->max_pixels, err);
    if (rc != 0)
        return rc;
    if (len - pos < w * h)
        return arc_err_set(err, ARC_ECORRUPT,
                           "truncated PGM: %llux%llu needs %llu bytes of pixels, the file has "
                           "%zu",
                           (unsigned long long)w, (unsigned long long)h,
                           (unsigned long long)(w * h), len - pos);
    /* As the reference compiler does, the samples are taken as grey levels as
     * they are, whatever maxval says. */
    px->width = px->stored_width = (int)w;
    px->height = px->stored_height = (int)h;
    px->orientation = 1;
    px->data = arc_xmallocarray((size_t)(w * h), (size_t)px->channels);
    if (px->channels == 1) {
        memcpy(px->data, buf + pos, (size_t)(w * h));
    } else {
        for (size_t i = 0; i < w * h; i++)
            memset(px->data + 3 * i, buf[pos + i], 3);
    }
    return 0;
}

int arc_image_save_pgm(const arc_image_t *img, const char *path, arc_err_t *err)
{
    char header[64];
    int n = snprintf(header, sizeof(header), "P5\n%d %d\n255\n", img->width, img->height);
    size_t px = (size_t)img->width * (size_t)img->height;
    uint8_t *buf = arc_xmalloc((size_t)n + px);
    int rc;

    memcpy(buf, header, (size_t)n);
    memcpy(buf + n, img->data, px);
    rc = arc_file_write_atomic(path, buf, (size_t)n + px, err);
    free(buf);
    return rc;
}
