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

int arc__image_decode_png(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err)
{
    png_src_t src = {.buf = buf, .len = len};
    png_structp png = NULL;
    png_infop info = NULL;
    /* On the heap: what libpng's longjmp leaves of it is then defined. */
    arc__rows_t *const out = arc_xcalloc(1, sizeof(*out));
    uint8_t *volatile rgba = NULL;
    png_bytep *volatile rows = NULL; /* interlaced: every row until the last pass */
    arc__icc_t *volatile icc = NULL;
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
            goto out;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    if (png == NULL) {
        rc = arc_err_set(err, ARC_EINTERNAL, "libpng: cannot create a reader");
        goto out;
    }
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
    /* An embedded profile (iCCP): its colours converted to sRGB. */
    png_charp icc_name = NULL;
    int icc_comp = 0;
    png_bytep icc_data = NULL;
    png_uint_32 icc_len = 0;
    if (png_get_iCCP(png, info, &icc_name, &icc_comp, &icc_data, &icc_len) != 0)
        icc = arc__icc_new(icc_data, icc_len, ch, (uint64_t)w * h);
    size_t stride = (size_t)w * (size_t)ch;
    arc__rows_begin(out, px, (int)w, (int)h, ch);
    if (passes > 1) {
        /* Interlaced images need every row in memory until the last pass. */
        rgba = arc_xmallocarray(stride, h);
        rows = arc_xmallocarray(h, sizeof(*rows));
        for (png_uint_32 y = 0; y < h; y++)
            rows[y] = rgba + (size_t)y * stride;
        png_read_image(png, rows);
        for (png_uint_32 y = 0; y < h; y++) {
            arc__icc_row(icc, rgba + (size_t)y * stride, (int)w);
            arc__rows_put(out, rgba + (size_t)y * stride);
        }
    } else {
        rgba = arc_xmalloc(stride);
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, rgba, NULL);
            arc__icc_row(icc, rgba, (int)w);
            arc__rows_put(out, rgba);
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
    arc__rows_end(out);
out:
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    arc__icc_free(icc);
    arc__rows_dispose(out);
    free(out);
    free(rows);
    free(rgba);
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
