/* WebP photos through libwebp: still images (lossy or lossless, with or
 * without alpha), scaled while decoding when a smaller photo is wanted, the
 * ICC profile and the EXIF orientation read from their chunks. */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "image_internal.h"

/* The ICCP chunk's transform and the EXIF chunk's orientation. */
static void webp_extras(const uint8_t *buf, size_t len, int ch, uint64_t pixels, arc__icc_t **icc,
                        int *orientation)
{
    WebPData data = {buf, len};
    WebPDemuxer *dmx = WebPDemux(&data);
    WebPChunkIterator it;

    *icc = NULL;
    *orientation = 1;
    if (dmx == NULL)
        return;
    if (WebPDemuxGetChunk(dmx, "ICCP", 1, &it)) {
        *icc = arc__icc_new(it.chunk.bytes, it.chunk.size, ch, pixels);
        WebPDemuxReleaseChunkIterator(&it);
    }
    if (WebPDemuxGetChunk(dmx, "EXIF", 1, &it)) {
        *orientation = arc__image_exif_orientation(it.chunk.bytes, it.chunk.size);
        WebPDemuxReleaseChunkIterator(&it);
    }
    WebPDemuxDelete(dmx);
}

int arc__image_decode_webp(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err)
{
    WebPDecoderConfig config;
    arc__icc_t *icc = NULL;
    uint8_t *pixels = NULL;
    int rc = 0;

    if (!WebPInitDecoderConfig(&config))
        return arc_err_set(err, ARC_EINTERNAL, "libwebp: version mismatch");
    VP8StatusCode st = WebPGetFeatures(buf, len, &config.input);
    if (st != VP8_STATUS_OK)
        return arc_err_set(err, ARC_ECORRUPT, "%s WebP (libwebp status %d)",
                           st == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated" : "corrupt", (int)st);
    int w = config.input.width, h = config.input.height;
    rc = arc__image_check_size(w > 0 ? (uint64_t)w : 0, h > 0 ? (uint64_t)h : 0, px->max_pixels,
                               err);
    if (rc != 0)
        return rc;
    if (config.input.has_animation)
        return arc_err_set(err, ARC_EFORMAT, "an animated WebP is not a photo");
    px->stored_width = w;
    px->stored_height = h;
    int ch = config.input.has_alpha ? 4 : 3;
    /* The smallest sufficient decode: libwebp scales while decoding (an
     * area filter when shrinking) to the long side wanted. */
    arc__image_fit(w, h, px->min_side, &config.options.scaled_width, &config.options.scaled_height);
    config.options.use_scaling =
        config.options.scaled_width != w || config.options.scaled_height != h;
    config.output.colorspace = ch == 4 ? MODE_RGBA : MODE_RGB;
    st = WebPDecode(buf, len, &config);
    if (st != VP8_STATUS_OK) {
        rc = arc_err_set(err, st == VP8_STATUS_OUT_OF_MEMORY ? ARC_ETOOBIG : ARC_ECORRUPT,
                         "%s WebP (libwebp status %d)",
                         st == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated" : "corrupt", (int)st);
        goto out;
    }
    int dw = config.output.width, dh = config.output.height;
    int orientation = 1;
    webp_extras(buf, len, ch, (uint64_t)dw * (uint64_t)dh, &icc, &orientation);
    size_t out_stride = (size_t)dw * (size_t)px->channels;
    pixels = arc_xmallocarray(out_stride, (size_t)dh);
    for (int y = 0; y < dh; y++) {
        uint8_t *row = config.output.u.RGBA.rgba + (size_t)y * (size_t)config.output.u.RGBA.stride;
        arc__icc_row(icc, row, dw);
        arc__image_put_row(row, ch, dw, px->channels, pixels + (size_t)y * out_stride);
    }
    px->orientation = px->channels == 3 ? orientation : 1;
    px->width = dw;
    px->height = dh;
    px->data = pixels;
    pixels = NULL;
out:
    WebPFreeDecBuffer(&config.output); /* nothing when the decode failed */
    arc__icc_free(icc);
    free(pixels);
    return rc;
}
