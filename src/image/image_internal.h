/* Shared between the decoders in src/image/; not part of the public API. */
#ifndef ARCD_IMAGE_INTERNAL_H
#define ARCD_IMAGE_INTERNAL_H

#include "arcd/image.h"

/* Returns 0 if width x height is decodable under max_pixels (0: the default). */
int arc__image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, arc_err_t *err);

/* Converts one row of 3- or 4-channel 8-bit pixels to MindAR's grey. */
void arc__image_grey_row(const uint8_t *src, int channels, int width, uint8_t *dst);

int arc__image_decode_jpeg(const uint8_t *buf, size_t len, uint64_t max_pixels, arc_image_t *out,
                           arc_err_t *err);
int arc__image_decode_png(const uint8_t *buf, size_t len, uint64_t max_pixels, arc_image_t *out,
                          arc_err_t *err);
int arc__image_decode_pgm(const uint8_t *buf, size_t len, uint64_t max_pixels, arc_image_t *out,
                          arc_err_t *err);

#endif
