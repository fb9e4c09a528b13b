/* File types by their first bytes (see include/arcd/sniff.h). */
#include <string.h>

#include "arcd/sniff.h"

/* The HEIF image brands (ISO/IEC 23008-12, and AV1's for AVIF) an ISO
 * media file's ftyp box names first; 0 when the file is no HEIF image. */
static arc_image_format_t heif_brand(const uint8_t *b, size_t n)
{
    static const char *const hevc[] = {"heic", "heix", "heim", "heis", "hevc",
                                       "hevx", "hevm", "hevs", "mif1", "msf1"};

    if (n < 12 || memcmp(b + 4, "ftyp", 4) != 0)
        return ARC_IMAGE_UNKNOWN;
    if (memcmp(b + 8, "avif", 4) == 0 || memcmp(b + 8, "avis", 4) == 0)
        return ARC_IMAGE_AVIF;
    for (size_t i = 0; i < sizeof(hevc) / sizeof(hevc[0]); i++)
        if (memcmp(b + 8, hevc[i], 4) == 0)
            return ARC_IMAGE_HEIC;
    return ARC_IMAGE_UNKNOWN;
}

arc_image_format_t arc_image_sniff(const uint8_t *buf, size_t len)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
        return ARC_IMAGE_JPEG;
    if (len >= 8 && memcmp(buf, png_magic, 8) == 0)
        return ARC_IMAGE_PNG;
    if (len >= 3 && buf[0] == 'P' && buf[1] == '5' &&
        (buf[2] == ' ' || buf[2] == '\t' || buf[2] == '\n' || buf[2] == '\r' || buf[2] == '#'))
        return ARC_IMAGE_PGM;
    if (len >= 12 && memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WEBP", 4) == 0)
        return ARC_IMAGE_WEBP;
    return heif_brand(buf, len);
}

const char *arc_image_format_name(arc_image_format_t fmt)
{
    switch (fmt) {
    case ARC_IMAGE_JPEG: return "jpeg";
    case ARC_IMAGE_PNG: return "png";
    case ARC_IMAGE_PGM: return "pgm";
    case ARC_IMAGE_HEIC: return "heic";
    case ARC_IMAGE_AVIF: return "avif";
    case ARC_IMAGE_WEBP: return "webp";
    default: return "unknown";
    }
}

const char *arc_image_format_ext(arc_image_format_t fmt)
{
    return fmt == ARC_IMAGE_UNKNOWN ? NULL
           : fmt == ARC_IMAGE_JPEG  ? "jpg"
                                    : arc_image_format_name(fmt);
}

const char *arc_video_sniff(const uint8_t *b, size_t n)
{
    if (n >= 4 && b[0] == 0x1a && b[1] == 0x45 && b[2] == 0xdf && b[3] == 0xa3)
        return "webm";
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0 && heif_brand(b, n) == ARC_IMAGE_UNKNOWN)
        return memcmp(b + 8, "qt  ", 4) == 0 ? "mov" : "mp4";
    if (n >= 8 && (memcmp(b + 4, "moov", 4) == 0 || memcmp(b + 4, "mdat", 4) == 0 ||
                   memcmp(b + 4, "wide", 4) == 0 || memcmp(b + 4, "free", 4) == 0))
        return "mov";
    return NULL;
}
