/*
 * limits.h: the limits that more than one layer enforces, written once: the
 * daemon refuses an upload over them, the worker protocol refuses a job
 * over them, the CLI refuses such options. Constants only.
 */
#ifndef ARCD_LIMITS_H
#define ARCD_LIMITS_H

/* The most photo/video pairs (targets) of one project or job. */
#define ARC_MAX_TARGETS 8

/* The default pixel limit on an image the compiler builds: 40 megapixels
 * (compile.maxPixels; `arcd compile` compiles a photo at its own size). */
#define ARC_IMAGE_DEFAULT_MAX_PIXELS 40000000ULL

/* The default pixel limit on an uploaded photo: 200 megapixels (phones'
 * 200 MP mode; photo.maxPixels). The pipeline decodes it at the print's
 * size, never whole (src/image: DCT scaling, shrinking while decoding). */
#define ARC_PHOTO_DEFAULT_MAX_PIXELS 200000000ULL

/* The largest input file read, whatever its format (256 MiB). */
#define ARC_IMAGE_MAX_FILE_BYTES (256u << 20)

/* The longest file name inside a project folder ("enhanced-photo-7.jpg"). */
#define ARC_MAX_FILE_NAME 64

#endif
