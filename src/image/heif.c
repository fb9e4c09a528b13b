/* HEIF photos, HEIC (iPhones) and AVIF, through libheif: the primary image,
 * turned as its irot/imir boxes say, its colour profile applied. */
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "image_internal.h"

static int heif_fail(arc_err_t *err, struct heif_error e, const char *what)
{
    int code = e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype
                   ? ARC_EFORMAT
               : e.code == heif_error_Memory_allocation_error ? ARC_ETOOBIG
                                                              : ARC_ECORRUPT;
    return arc_err_set(err, code, "%s: %s", what, e.message ? e.message : "libheif failed");
}

/* The transform to sRGB the image's colour information asks for: an ICC
 * profile (prof, rICC), or an nclx box naming primaries other than sRGB's
 * (Display P3, BT.2020). NULL for sRGB or none. */
static arc__icc_t *heif_colours(const struct heif_image_handle *h, int ch, uint64_t pixels)
{
    arc__icc_t *icc = NULL;
    size_t n = heif_image_handle_get_raw_color_profile_size(h);

    if (n > 0 && n <= (64u << 20)) {
        uint8_t *profile = arc_xmalloc(n);
        if (heif_image_handle_get_raw_color_profile(h, profile).code == heif_error_Ok)
            icc = arc__icc_new(profile, n, ch, pixels);
        free(profile);
        return icc;
    }
    struct heif_color_profile_nclx *nclx = NULL;
    if (heif_image_handle_get_nclx_color_profile(h, &nclx).code != heif_error_Ok || nclx == NULL)
        return NULL;
    /* 1: BT.709 (sRGB's), 2: unspecified. */
    if (nclx->color_primaries != heif_color_primaries_ITU_R_BT_709_5 &&
        nclx->color_primaries != heif_color_primaries_unspecified) {
        double xy[8] = {nclx->color_primary_red_x,   nclx->color_primary_red_y,
                        nclx->color_primary_green_x, nclx->color_primary_green_y,
                        nclx->color_primary_blue_x,  nclx->color_primary_blue_y,
                        nclx->color_primary_white_x, nclx->color_primary_white_y};
        icc = arc__icc_new_primaries(xy, ch, pixels);
    }
    heif_nclx_color_profile_free(nclx);
    return icc;
}

int arc__image_decode_heif(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image_handle *h = NULL;
    struct heif_image *img = NULL;
    arc__icc_t *icc = NULL;
    uint8_t *row = NULL;
    struct heif_error e;
    int rc = 0;

    if (ctx == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "libheif: cannot create a context");
    /* libheif refuses images whose stated (ispe) sides pass this. The
     * coded stream's own size is not compared with them by libheif 1.15: a
     * crafted file stating 64x64 can still decode a far larger frame, which
     * only the worker's memory limit (workers.memoryMb) then bounds. */
    uint64_t max_pixels = px->max_pixels ? px->max_pixels : ARC_IMAGE_DEFAULT_MAX_PIXELS;
    heif_context_set_maximum_image_size_limit(
        ctx, max_pixels < ARC__IMAGE_MAX_SIDE ? (int)max_pixels : ARC__IMAGE_MAX_SIDE);
    e = heif_context_read_from_memory_without_copy(ctx, buf, len, NULL);
    if (e.code != heif_error_Ok) {
        rc = heif_fail(err, e, "not a HEIF image arcd can read");
        goto out;
    }
    e = heif_context_get_primary_image_handle(ctx, &h);
    if (e.code != heif_error_Ok) {
        rc = heif_fail(err, e, "HEIF image without a primary image");
        goto out;
    }
    /* The size as displayed (after irot), from the header: refused before
     * any pixel is decoded. */
    int w = heif_image_handle_get_width(h), hgt = heif_image_handle_get_height(h);
    rc = arc__image_check_size(w > 0 ? (uint64_t)w : 0, hgt > 0 ? (uint64_t)hgt : 0, px->max_pixels,
                               err);
    if (rc != 0)
        goto out;
    px->stored_width = w;
    px->stored_height = hgt;
    int alpha = heif_image_handle_has_alpha_channel(h);
    int ch = alpha ? 4 : 3;
    e = heif_decode_image(h, &img, heif_colorspace_RGB,
                          alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, NULL);
    if (e.code != heif_error_Ok) {
        rc = heif_fail(err, e, "the HEIF image cannot be decoded");
        goto out;
    }
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    int dw = heif_image_get_width(img, heif_channel_interleaved);
    int dh = heif_image_get_height(img, heif_channel_interleaved);
    if (plane == NULL || dw != w || dh != hgt || stride < dw * ch) {
        rc = arc_err_set(err, ARC_ECORRUPT, "the HEIF image decodes to %dx%d, not %dx%d", dw, dh, w,
                         hgt);
        goto out;
    }
    icc = heif_colours(h, ch, (uint64_t)w * (uint64_t)hgt);
    arc__rows_t rows;
    arc__rows_begin(&rows, px, w, hgt, ch);
    row = arc_xmallocarray((size_t)w, (size_t)ch);
    for (int y = 0; y < hgt; y++) {
        memcpy(row, plane + (size_t)y * (size_t)stride, (size_t)w * (size_t)ch);
        arc__icc_row(icc, row, w);
        arc__rows_put(&rows, row);
    }
    arc__rows_end(&rows);
    /* libheif has turned the image as its irot and imir boxes say; an EXIF
     * orientation in a HEIF file must then be ignored (HEIF's rule). */
    px->orientation = 1;
out:
    arc__icc_free(icc);
    free(row);
    heif_image_release(img);
    heif_image_handle_release(h);
    heif_context_free(ctx);
    return rc;
}
