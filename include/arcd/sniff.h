/*
 * sniff.h: what a file is, by its first bytes. The daemon checks an upload
 * while it streams in (without linking any decoder), and the decoders pick
 * theirs, from the same rules. Pure functions; any process.
 */
#ifndef ARCD_SNIFF_H
#define ARCD_SNIFF_H

#include <stddef.h>
#include <stdint.h>

/* How many first bytes the checks below need at most. */
#define ARC_SNIFF_BYTES 16

typedef enum arc_image_format_e {
    ARC_IMAGE_UNKNOWN = 0,
    ARC_IMAGE_JPEG,
    ARC_IMAGE_PNG,
    ARC_IMAGE_PGM,
    ARC_IMAGE_HEIC, /* HEIF with HEVC: iPhones' photos (brands heic, heix, mif1, ...) */
    ARC_IMAGE_AVIF, /* HEIF with AV1 (brands avif, avis) */
    ARC_IMAGE_WEBP
} arc_image_format_t;

/* Image format by magic bytes; ARC_IMAGE_UNKNOWN when none matches. */
arc_image_format_t arc_image_sniff(const uint8_t *buf, size_t len);

/* A format's lower-case name ("jpeg", "png", "pgm", "heic", "avif", "webp",
 * "unknown"). */
const char *arc_image_format_name(arc_image_format_t fmt);

/* The file extension a photo of format fmt is stored under ("jpg", "png",
 * "pgm", "heic", "avif", "webp"), or NULL for ARC_IMAGE_UNKNOWN. */
const char *arc_image_format_ext(arc_image_format_t fmt);

/* The video container by magic bytes: "mp4", "mov" or "webm" (the file
 * extension an upload is stored under), or NULL when it is none of them
 * (a HEIF photo, which is an ISO media file too, is not a video). */
const char *arc_video_sniff(const uint8_t *buf, size_t len);

#endif
