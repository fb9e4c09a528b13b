/*
 * image.h: decoding photos (JPEG, PNG, binary PGM) into the 8-bit grey image the
 * MindAR compiler works on, and the colour photo the media pipeline prints.
 *
 * The grey value is MindAR's floor((r + g + b) / 3) of the decoded RGB, computed
 * row by row while decoding so that a large photo never exists as a full RGB
 * buffer. A PGM is taken as grey pixels as they are, which lets tests feed the
 * exact pixels the reference compiler saw. The size is read from the header and
 * checked against the caller's pixel limit before any pixel is decoded.
 * Runs in the CLI and in worker processes; blocking file I/O.
 */
#ifndef ARCD_IMAGE_H
#define ARCD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "arcd/error.h"
#include "arcd/file.h"
#include "arcd/limits.h"
#include "arcd/sniff.h"

/* An 8-bit grey image, rows packed (stride == width). Owns data. */
typedef struct arc_image_s {
    int width;
    int height;
    uint8_t *data;
} arc_image_t;

/*
 * Decodes the image in buf (borrowed) into out (its data returned owned; free
 * with arc_image_dispose()). Refuses images over max_pixels (0 means the
 * default) from the header alone. Returns 0, ARC_EEMPTY, ARC_EFORMAT (not a
 * JPEG/PNG/PGM), ARC_ECORRUPT (damaged or truncated) or ARC_ETOOBIG, with a
 * human message in err.
 */
int arc_image_decode_grey(const uint8_t *buf, size_t len, uint64_t max_pixels, arc_image_t *out,
                          arc_err_t *err);

/* Reads path and decodes it as arc_image_decode_grey() does; ARC_EIO if the
 * file cannot be read. */
int arc_image_load_grey(const char *path, uint64_t max_pixels, arc_image_t *out, arc_err_t *err);

/* Writes img as a binary PGM (P5). Returns 0 or ARC_EIO. */
int arc_image_save_pgm(const arc_image_t *img, const char *path, arc_err_t *err);

/* Frees img->data and zeroes img; accepts NULL and an already disposed image. */
void arc_image_dispose(arc_image_t *img);

/*
 * Colour photos, for the printable image (workers/stage_photo.c). A photo is
 * decoded to RGB (transparent pixels over white), DCT-scaled by libjpeg-turbo
 * straight to near the size wanted, area-resized so its long side is at most
 * max_side, and turned upright by its EXIF orientation (libexif) so that
 * what is compiled matches the print. The grey of a photo is MindAR's.
 */
typedef struct arc_photo_s {
    int width;
    int height;
    uint8_t *data; /* RGB, rows packed (stride 3 * width); owned */
} arc_photo_t;

typedef struct arc_photo_info_s {
    arc_image_format_t format;
    int stored_width, stored_height; /* as in the file */
    int orientation;                 /* EXIF 1-8 as found, 1 when none */
    int decoded_width, decoded_height;
} arc_photo_info_t;

/* Decodes buf into an upright RGB photo whose long side is at most max_side
 * (0: full size). Refuses images over max_pixels (0: the default) from their
 * header. info may be NULL. Errors as arc_image_decode_grey(). */
int arc_photo_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, int max_side,
                     arc_photo_t *out, arc_photo_info_t *info, arc_err_t *err);

/* Reads path and decodes it as arc_photo_decode() does; ARC_EIO if unreadable. */
int arc_photo_load(const char *path, uint64_t max_pixels, int max_side, arc_photo_t *out,
                   arc_photo_info_t *info, arc_err_t *err);

/* A new photo of width x height, every pixel (r, g, b). */
void arc_photo_create(arc_photo_t *p, int width, int height, uint8_t r, uint8_t g, uint8_t b);

/* Resizes src down (or up) to width x height into out with an area filter:
 * each output pixel is the mean of the source area it covers. */
void arc_photo_resize(const arc_photo_t *src, int width, int height, arc_photo_t *out);

/* Applies EXIF orientation 1-8 to p in place (2-8 rebuild the pixels;
 * 5-8 swap width and height). Returns 0 or ARC_EINVAL for another value. */
int arc_photo_orient(arc_photo_t *p, int orientation);

/* MindAR's grey of p into out (owned by the caller). */
void arc_photo_grey(const arc_photo_t *p, arc_image_t *out);

/* Encodes p as JPEG (quality 1-100, 4:4:4, 300 dpi) or PNG (zlib level 0-9)
 * into an owned buffer (free with free()). Returns 0 or ARC_EINTERNAL. */
int arc_photo_encode_jpeg(const arc_photo_t *p, int quality, uint8_t **out, size_t *len,
                          arc_err_t *err);
int arc_photo_encode_png(const arc_photo_t *p, int level, uint8_t **out, size_t *len,
                         arc_err_t *err);

/* Drawing on a photo, clipped to it (the border and features.png). */
void arc_photo_fill_rect(arc_photo_t *p, int x, int y, int w, int h, const uint8_t rgb[3]);
void arc_photo_fill_circle(arc_photo_t *p, double cx, double cy, double r, const uint8_t rgb[3]);
/* A ring from radius r - thickness to r. */
void arc_photo_ring(arc_photo_t *p, double cx, double cy, double r, double thickness,
                    const uint8_t rgb[3]);
void arc_photo_fill_triangle(arc_photo_t *p, const double xy[6], const uint8_t rgb[3]);
/* Copies src into p with its top-left corner at (x, y). */
void arc_photo_blit(arc_photo_t *p, const arc_photo_t *src, int x, int y);

/* Frees p->data and zeroes p; accepts NULL. */
void arc_photo_dispose(arc_photo_t *p);

#endif
