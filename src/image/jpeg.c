/*
 * JPEG with libjpeg-turbo: decoding one scanline at a time, straight to
 * MindAR grey or to RGB, DCT-scaled down when the caller only needs a smaller
 * image, with the EXIF orientation read from APP1; and encoding RGB for print.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image_internal.h"

typedef struct jpeg_guard_s {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int truncated;
} jpeg_guard_t;

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_guard_t *g = (jpeg_guard_t *)cinfo->err;

    g->pub.format_message(cinfo, g->message);
    longjmp(g->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level)
{
    jpeg_guard_t *g = (jpeg_guard_t *)cinfo->err;

    /* libjpeg only warns when the data ends early and then pads the image with
     * grey; a marker compiled from a half-grey photo would be silently wrong, so
     * premature end is an error. Other warnings (extraneous bytes) are common in
     * camera files and harmless. */
    if (level < 0 && g->pub.msg_code == JWRN_JPEG_EOF) {
        g->truncated = 1;
        g->pub.format_message(cinfo, g->message);
        longjmp(g->jump, 1);
    }
}

static void guard_init(jpeg_guard_t *guard, struct jpeg_error_mgr **err)
{
    memset(guard, 0, sizeof(*guard));
    *err = jpeg_std_error(&guard->pub);
    guard->pub.error_exit = on_error_exit;
    guard->pub.emit_message = on_emit_message;
}

/* The smallest n/8 (n = 1..8) keeping the long side at least min_side. */
static unsigned dct_scale(unsigned width, unsigned height, int min_side)
{
    unsigned side = width > height ? width : height;

    if (min_side <= 0)
        return 8;
    for (unsigned n = 1; n < 8; n++)
        if ((side * n + 7) / 8 >= (unsigned)min_side)
            return n;
    return 8;
}

static int exif_from_markers(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0\0", 6) == 0)
            return arc__image_exif_orientation(m->data, m->data_length);
    return 1;
}

int arc__image_decode_jpeg(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_guard_t guard;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile row = NULL;
    arc__icc_t *volatile icc = NULL;
    volatile int created = 0;
    int rc = 0;

    guard_init(&guard, &cinfo.err);
    if (setjmp(guard.jump)) {
        rc = arc_err_set(err, ARC_ECORRUPT, "%s JPEG: %s",
                         guard.truncated ? "truncated" : "corrupt", guard.message);
        goto out;
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    if (px->channels == 3)
        jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xffff); /* ICC_PROFILE */
    jpeg_read_header(&cinfo, TRUE);
    rc = arc__image_check_size(cinfo.image_width, cinfo.image_height, px->max_pixels, err);
    if (rc != 0)
        goto out;
    px->stored_width = (int)cinfo.image_width;
    px->stored_height = (int)cinfo.image_height;
    px->orientation = px->channels == 3 ? exif_from_markers(&cinfo) : 1;

    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    cinfo.scale_num = dct_scale(cinfo.image_width, cinfo.image_height, px->min_side);
    cinfo.scale_denom = 8;
    jpeg_start_decompress(&cinfo);

    int w = (int)cinfo.output_width;
    int h = (int)cinfo.output_height;
    int ch = cinfo.output_components;
    /* An embedded profile (APP2 ICC_PROFILE, in one or more markers): an RGB
     * photo's colours converted to sRGB. */
    JOCTET *profile = NULL;
    unsigned profile_len = 0;
    if (!cmyk && jpeg_read_icc_profile(&cinfo, &profile, &profile_len)) {
        icc = arc__icc_new(profile, profile_len, 3, (uint64_t)w * (uint64_t)h);
        free(profile);
    }
    pixels = arc_xmallocarray((size_t)w * (size_t)px->channels, (size_t)h);
    row = arc_xmallocarray((size_t)w, (size_t)ch);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[1] = {row};
        uint8_t *dst = pixels + (size_t)cinfo.output_scanline * (size_t)w * (size_t)px->channels;
        jpeg_read_scanlines(&cinfo, rows, 1);
        arc__icc_row(icc, row, w);
        if (cmyk) {
            /* Adobe CMYK JPEGs store inverted ink; R = C * K / 255 on the
             * stored values, as browsers do. */
            for (int x = 0; x < w; x++) {
                const uint8_t *p = row + (size_t)x * 4;
                unsigned r = (unsigned)p[0] * p[3] / 255u, g = (unsigned)p[1] * p[3] / 255u,
                         b = (unsigned)p[2] * p[3] / 255u;
                if (px->channels == 1) {
                    dst[x] = (uint8_t)((r + g + b) / 3u);
                } else {
                    dst[3 * x] = (uint8_t)r;
                    dst[3 * x + 1] = (uint8_t)g;
                    dst[3 * x + 2] = (uint8_t)b;
                }
            }
        } else if (px->channels == 1) {
            arc__image_grey_row(row, 3, w, dst);
        } else {
            memcpy(dst, row, (size_t)w * 3);
        }
    }
    jpeg_finish_decompress(&cinfo);
    px->width = w;
    px->height = h;
    px->data = pixels;
    pixels = NULL;
out:
    if (created)
        jpeg_destroy_decompress(&cinfo);
    arc__icc_free(icc);
    free(row);
    free(pixels);
    return rc;
}

int arc_photo_encode_jpeg(const arc_photo_t *p, int quality, uint8_t **out, size_t *len,
                          arc_err_t *err)
{
    struct jpeg_compress_struct cinfo;
    jpeg_guard_t guard;
    unsigned char *volatile mem = NULL;
    unsigned long mem_len = 0;
    volatile int created = 0;
    volatile int rc = 0;

    *out = NULL;
    *len = 0;
    guard_init(&guard, &cinfo.err);
    if (setjmp(guard.jump)) {
        rc = arc_err_set(err, ARC_EINTERNAL, "JPEG encoding failed: %s", guard.message);
        goto out;
    }
    jpeg_create_compress(&cinfo);
    created = 1;
    jpeg_mem_dest(&cinfo, (unsigned char **)&mem, &mem_len);
    cinfo.image_width = (JDIMENSION)p->width;
    cinfo.image_height = (JDIMENSION)p->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    /* Pixels and a JFIF header, no other marker: nothing of the upload (EXIF,
     * XMP, IPTC, ICC, comments) reaches a print or a poster (docs/media.md). */
    /* Print files: full-resolution colour, 300 dpi. */
    cinfo.comp_info[0].h_samp_factor = 1;
    cinfo.comp_info[0].v_samp_factor = 1;
    cinfo.density_unit = 1;
    cinfo.X_density = cinfo.Y_density = 300;
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = {p->data + (size_t)cinfo.next_scanline * (size_t)p->width * 3};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    /* libjpeg's buffer comes from malloc(); hand it over. */
    *out = mem;
    *len = mem_len;
    mem = NULL;
out:
    if (created)
        jpeg_destroy_compress(&cinfo);
    free(mem);
    return rc;
}
