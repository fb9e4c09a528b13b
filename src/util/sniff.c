/* File types by their first bytes (see include/arcd/sniff.h). */
#include <string.h>

#include "arcd/sniff.h"

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
    return ARC_IMAGE_UNKNOWN;
}

const char *arc_image_format_name(arc_image_format_t fmt)
{
    switch (fmt) {
    case ARC_IMAGE_JPEG: return "jpeg";
    case ARC_IMAGE_PNG: return "png";
    case ARC_IMAGE_PGM: return "pgm";
    default: return "unknown";
    }
}

const char *arc_video_sniff(const uint8_t *b, size_t n)
{
    if (n >= 4 && b[0] == 0x1a && b[1] == 0x45 && b[2] == 0xdf && b[3] == 0xa3)
        return "webm";
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
        return memcmp(b + 8, "qt  ", 4) == 0 ? "mov" : "mp4";
    if (n >= 8 && (memcmp(b + 4, "moov", 4) == 0 || memcmp(b + 4, "mdat", 4) == 0 ||
                   memcmp(b + 4, "wide", 4) == 0 || memcmp(b + 4, "free", 4) == 0))
        return "mov";
    return NULL;
}
