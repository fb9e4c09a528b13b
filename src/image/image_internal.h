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

/* The longest side arcd decodes, whatever the pixel limit. */
#define ARC__IMAGE_MAX_SIDE 1000000

/* The size of a width x height image scaled so that its long side is side
 * (each at least 1), into *w and *h; the size itself when it is no longer. */
void arc__image_fit(int width, int height, int side, int *w, int *h);

/* Returns 0 if width x height is decodable under max_pixels (0: the default). */
int arc__image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, arc_err_t *err);

/* Converts one row of 3- or 4-channel 8-bit pixels to MindAR's grey. */
void arc__image_grey_row(const uint8_t *src, int channels, int width, uint8_t *dst);

/* The EXIF orientation (1-8) in an EXIF block (with or without the
 * "Exif\0\0" header), by libexif; 1 when absent or unreadable. */
int arc__image_exif_orientation(const uint8_t *exif, size_t len);

/* ---- colour management (icc.c) ----
 * A photo's embedded profile (Display P3 from iPhones, Adobe RGB from
 * cameras) converted to sRGB row by row as the decoders go, so that the
 * print, the marker and the thumbnails see the colours meant: matrix/TRC
 * profiles as Skia (a browser's canvas) converts them, others with lcms2. */
typedef struct arc__icc_s arc__icc_t;

/* A transform from the ICC profile (borrowed bytes) to sRGB for rows of
 * channels 3 (RGB) or 4 (RGBA, alpha kept) of an image of pixels pixels; NULL
 * when there is nothing to do: no profile, an unreadable one, an sRGB one or
 * one that is not RGB (the pixels are then taken as sRGB, as browsers do). */
arc__icc_t *arc__icc_new(const uint8_t *profile, size_t len, int channels, uint64_t pixels);

/* The same from a colour space given by its primaries and white point
 * (x, y of red, green, blue, white: an HEIF's nclx box) with sRGB's tone
 * curve. */
arc__icc_t *arc__icc_new_primaries(const double xy[8], int channels, uint64_t pixels);

/* Converts width pixels of row in place; does nothing for a NULL icc. */
void arc__icc_row(arc__icc_t *icc, uint8_t *row, int width);

void arc__icc_free(arc__icc_t *icc);

/* Stores one decoded row of ch (3 or 4) channels as px wants it: MindAR's
 * grey, or RGB with transparent pixels laid over white. */
void arc__image_put_row(const uint8_t *src, int ch, int width, int channels, uint8_t *dst);

/* ---- storing rows, shrunk on the way (decode.c) ----
 * A decoder hands its rows (ch = 3 or 4 channels, in sRGB) one by one; they
 * are stored as px wants them. A colour decode whose long side is at least
 * twice px->min_side is shrunk by the integer factor k = side / min_side as
 * the rows come (a box filter: each pixel the mean of a k x k block, the
 * last ones of partial blocks), so that a 200-megapixel photo never exists
 * at full size when a print of a few megapixels is wanted; its long side
 * stays >= min_side, and arc_photo_decode()'s area filter does the rest.
 * The grey decode (MindAR's pixels) is never shrunk. */
typedef struct arc__rows_s {
    arc__pixels_t *px;
    int ch, width, height; /* what comes in */
    int k;                 /* the shrink factor; 1: stored as they come */
    int out_w, out_h;
    int y;         /* rows received */
    uint8_t *data; /* out_w x out_h x px->channels */
    uint8_t *rgb;  /* k > 1: one row as RGB */
    uint64_t *sum; /* k > 1: the current block row's sums (k * k * 255 may pass 2^32) */
} arc__rows_t;

void arc__rows_begin(arc__rows_t *r, arc__pixels_t *px, int width, int height, int ch);
/* The next row (width pixels of ch channels). */
void arc__rows_put(arc__rows_t *r, const uint8_t *row);
/* All rows are in: px->data, width and height set, r emptied. */
void arc__rows_end(arc__rows_t *r);
/* Frees what r holds (on a failure; after arc__rows_end() nothing). */
void arc__rows_dispose(arc__rows_t *r);

/* Decodes buf by its magic bytes. */
int arc__image_decode(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_jpeg(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_png(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_pgm(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_heif(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);
int arc__image_decode_webp(const uint8_t *buf, size_t len, arc__pixels_t *px, arc_err_t *err);

#endif
