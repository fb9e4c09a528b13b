/*
 * image.h: decoding photos (JPEG, PNG, binary PGM) into the 8-bit grey image the
 * MindAR compiler works on.
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

typedef enum arc_image_format_e {
    ARC_IMAGE_UNKNOWN = 0,
    ARC_IMAGE_JPEG,
    ARC_IMAGE_PNG,
    ARC_IMAGE_PGM
} arc_image_format_t;

/* An 8-bit grey image, rows packed (stride == width). Owns data. */
typedef struct arc_image_s {
    int width;
    int height;
    uint8_t *data;
} arc_image_t;

/* The default pixel limit: 40 megapixels. */
#define ARC_IMAGE_DEFAULT_MAX_PIXELS 40000000ULL

/* The largest input file read, whatever its format (256 MiB). */
#define ARC_IMAGE_MAX_FILE_BYTES (256u << 20)

/* Format by magic bytes; ARC_IMAGE_UNKNOWN when none matches. */
arc_image_format_t arc_image_sniff(const uint8_t *buf, size_t len);

/* A format's lower-case name ("jpeg", "png", "pgm", "unknown"). */
const char *arc_image_format_name(arc_image_format_t fmt);

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

/* Reads a whole file into an owned buffer (free with free()), refusing files
 * over max_bytes. Returns 0, ARC_EIO or ARC_ETOOBIG. */
int arc_file_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                      arc_err_t *err);

/* Writes len bytes to path atomically: a temporary file beside it, fsync,
 * rename. Returns 0 or ARC_EIO. */
int arc_file_write_atomic(const char *path, const void *data, size_t len, arc_err_t *err);

#endif
