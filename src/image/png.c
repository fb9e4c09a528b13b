/* PNG with libpng: decoding (palette, grey, 16-bit, alpha, interlaced, eXIf) to
 * MindAR grey or to RGB over white, and encoding RGB. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image_internal.h"

typedef struct png_src_s {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    char message[256];
} png_src_t;

static void on_read(png_structp png, png_bytep data, size_t n)
{
    png_src_t *src = png_get_io_ptr(png);

    if (n > src->len - src->pos) {
        snprintf(src->message, sizeof(src->message), "the file ends early (truncated)");
        png_error(png, "truncated");
    }
    memcpy(data, src->buf + src->pos, n);
    src->pos += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
    png_src_t *src = png_get_error_ptr(png);

    if (src->message[0] == '\0')
        snprintf(src->message, sizeof(src->message), "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* One decoded row (3 or 4 channels) to the caller's pixels. */
static void put_row(const uint8_t *src, int ch, int width, int channels, uint8_t *dst)
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

int arc__image_decode_png(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err)
{
    png_src_t src = {.buf = buf, .len = len};
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile grey = NULL;
    uint8_t *volatile rgba = NULL;
    png_bytep *volatile rows = NULL; /* interlaced: every row until the last pass */
    int rc = 0;

    /* libpng's png_read_info() reads on to the first IDAT; the size sits at a
     * fixed place in IHDR, so check it first and refuse a huge image even when
     * the rest of the file is missing. */
    if (len >= 24 && memcmp(buf + 12, "IHDR", 4) == 0) {
        uint32_t w =
            (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 | (uint32_t)buf[18] << 8 | buf[19];
        uint32_t h =
            (uint32_t)buf[20] << 24 | (uint32_t)buf[21] << 16 | (uint32_t)buf[22] << 8 | buf[23];
        if (w != 0 && h != 0 && (rc = arc__image_check_size(w, h, px->max_pixels, err)) != 0)
            return rc;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    if (png == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "libpng: cannot create a reader");
    info = png_create_info_struct(png);
    if (info == NULL) {
        rc = arc_err_set(err, ARC_EINTERNAL, "libpng: cannot create an info struct");
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = arc_err_set(err, ARC_ECORRUPT, "corrupt PNG: %s", src.message);
        goto out;
    }
    png_set_read_fn(png, &src, on_read);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info);
    png_uint_32 h = png_get_image_height(png, info);
    rc = arc__image_check_size(w, h, px->max_pixels, err);
    if (rc != 0)
        goto out;
    px->stored_width = (int)w;
    px->stored_height = (int)h;

    png_set_expand(png);
    png_set_scale_16(png);
    png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int ch = png_get_channels(png, info);
    if (ch != 3 && ch != 4) {
        rc = arc_err_set(err, ARC_ECORRUPT, "PNG decodes to %d channels", ch);
        goto out;
    }
    size_t stride = (size_t)w * (size_t)ch;
    size_t out_stride = (size_t)w * (size_t)px->channels;
    grey = arc_xmallocarray(out_stride, (size_t)h);
    if (passes > 1) {
        /* Interlaced images need every row in memory until the last pass. */
        rgba = arc_xmallocarray(stride, h);
        rows = arc_xmallocarray(h, sizeof(*rows));
        for (png_uint_32 y = 0; y < h; y++)
            rows[y] = rgba + (size_t)y * stride;
        png_read_image(png, rows);
        for (png_uint_32 y = 0; y < h; y++)
            put_row(rgba + (size_t)y * stride, ch, (int)w, px->channels,
                    grey + (size_t)y * out_stride);
    } else {
        rgba = arc_xmalloc(stride);
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, rgba, NULL);
            put_row(rgba, ch, (int)w, px->channels, grey + (size_t)y * out_stride);
        }
    }
    png_read_end(png, info);
    px->orientation = 1;
#ifdef PNG_eXIf_SUPPORTED
    png_bytep exif = NULL;
    png_uint_32 exif_len = 0;
    if (px->channels == 3 && png_get_eXIf_1(png, info, &exif_len, &exif) != 0 && exif != NULL)
        px->orientation = arc__image_exif_orientation(exif, exif_len);
#endif
    px->width = (int)w;
    px->height = (int)h;
    px->data = grey;
    grey = NULL;
out:
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    free(rows);
    free(rgba);
    free(grey);
    return rc;
}

typedef struct png_dst_s {
    uint8_t *buf;
    size_t len, cap;
} png_dst_t;

static void on_write(png_structp png, png_bytep data, size_t n)
{
    png_dst_t *dst = png_get_io_ptr(png);

    if (dst->len + n > dst->cap) {
        dst->cap = (dst->len + n) * 2;
        dst->buf = arc_xrealloc(dst->buf, dst->cap, 1);
    }
    memcpy(dst->buf + dst->len, data, n);
    dst->len += n;
}

static void on_flush(png_structp png)
{
    (void)png;
}

int arc_photo_encode_png(const arc_photo_t *p, int level, uint8_t **out, size_t *len,
                         arc_err_t *err)
{
    png_src_t msg = {0};
    png_dst_t dst = {0};
    png_structp png = NULL;
    png_infop info = NULL;
    volatile int rc = 0;

    *out = NULL;
    *len = 0;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &msg, on_error, on_warning);
    if (png == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "libpng: cannot create a writer");
    info = png_create_info_struct(png);
    if (info == NULL) {
        rc = arc_err_set(err, ARC_EINTERNAL, "libpng: cannot create an info struct");
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = arc_err_set(err, ARC_EINTERNAL, "PNG encoding failed: %s", msg.message);
        goto out;
    }
    png_set_write_fn(png, &dst, on_write, on_flush);
    png_set_compression_level(png, level);
    /* IHDR, IDAT and IEND only: no text, eXIf, iCCP or tIME chunk (docs/media.md). */
    png_set_IHDR(png, info, (png_uint_32)p->width, (png_uint_32)p->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < p->height; y++)
        png_write_row(png, p->data + (size_t)y * (size_t)p->width * 3);
    png_write_end(png, info);
    *out = dst.buf;
    *len = dst.len;
    dst.buf = NULL;
out:
    png_destroy_write_struct(&png, info ? &info : NULL);
    free(dst.buf);
    return rc;
}
