/* JPEG decoding with libjpeg-turbo, straight to MindAR grey, one scanline at a time. */
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

int arc__image_decode_jpeg(const uint8_t *buf, size_t len, uint64_t max_pixels, arc_image_t *out,
                           arc_err_t *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_guard_t guard;
    uint8_t *volatile grey = NULL;
    uint8_t *volatile row = NULL;
    volatile int created = 0;
    int rc = 0;

    memset(&guard, 0, sizeof(guard));
    cinfo.err = jpeg_std_error(&guard.pub);
    guard.pub.error_exit = on_error_exit;
    guard.pub.emit_message = on_emit_message;
    if (setjmp(guard.jump)) {
        rc = arc_err_set(err, ARC_ECORRUPT, "%s JPEG: %s",
                         guard.truncated ? "truncated" : "corrupt", guard.message);
        goto out;
    }
    jpeg_create_decompress(&cinfo);
    created = 1;
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    rc = arc__image_check_size(cinfo.image_width, cinfo.image_height, max_pixels, err);
    if (rc != 0)
        goto out;

    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);

    int w = (int)cinfo.output_width;
    int h = (int)cinfo.output_height;
    int ch = cinfo.output_components;
    grey = arc_xmallocarray((size_t)w, (size_t)h);
    row = arc_xmallocarray((size_t)w, (size_t)ch);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[1] = {row};
        uint8_t *dst = grey + (size_t)cinfo.output_scanline * (size_t)w;
        jpeg_read_scanlines(&cinfo, rows, 1);
        if (cmyk) {
            /* Adobe CMYK JPEGs store inverted ink; R = C * K / 255 on the
             * stored values, as browsers do. */
            for (int x = 0; x < w; x++) {
                const uint8_t *p = row + (size_t)x * 4;
                unsigned r = (unsigned)p[0] * p[3] / 255u, g = (unsigned)p[1] * p[3] / 255u,
                         b = (unsigned)p[2] * p[3] / 255u;
                dst[x] = (uint8_t)((r + g + b) / 3u);
            }
        } else {
            arc__image_grey_row(row, 3, w, dst);
        }
    }
    jpeg_finish_decompress(&cinfo);
    out->width = w;
    out->height = h;
    out->data = grey;
    grey = NULL;
out:
    if (created)
        jpeg_destroy_decompress(&cinfo);
    free(row);
    free(grey);
    return rc;
}
