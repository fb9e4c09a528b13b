/* Shared between the decoders in src/image/; not part of the public API. */
#ifndef ARCD_IMAGE_INTERNAL_H
#define ARCD_IMAGE_INTERNAL_H

#include "arcd/image.h"

/* One decode request and its result. The grey decode (channels 1) gives
 * MindAR's grey; the colour decode (channels 3) gives RGB, transparent pixels
 * laid over white as on paper. */
typedef struct arc__pixels_s {
    /* in */
    uint64_t max_pixels; /* 0: the default */
    int channels;        /* 1 or 3 */
    int min_side;        /* JPEG: DCT-scale down while the long side stays >= this (0: never) */
    /* out: data owned by the caller */
    int width, height;
    uint8_t *data;
    int stored_width, stored_height; /* as in the file, before DCT scaling */
    int orientation;                 /* EXIF orientation 1-8; 1 when the file has none */
} arc__pixels_t;

/* Returns 0 if width x height is decodable under max_pixels (0: the default). */
int arc__image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, arc_err_t *err);

/* Converts one row of 3- or 4-channel 8-bit pixels to MindAR's grey. */
void arc__image_grey_row(const uint8_t *src, int channels, int width, uint8_t *dst);

/* The EXIF orientation (1-8) in an EXIF block (with or without the
 * "Exif\0\0" header), by libexif; 1 when absent or unreadable. */
int arc__image_exif_orientation(const uint8_t *exif, size_t len);

/* Decodes buf by its magic bytes. */
int arc__image_decode(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_jpeg(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_png(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_pgm(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);

#endif
