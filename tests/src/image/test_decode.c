/* Tests for src/image/: decoding to MindAR grey, limits, and damaged files. */
#include <stdint.h>

#include "../../test.h"
#include "arcd/image.h"
#include "image_internal.h"

static void same_grey(const char *a, const char *b)
{
    arc_image_t x, y;
    arc_err_t err = {{0}};

    CHECK_MSG(arc_image_load_grey(test_path(a), 0, &x, &err) == 0, "%s", err.msg);
    CHECK_MSG(arc_image_load_grey(test_path(b), 0, &y, &err) == 0, "%s", err.msg);
    CHECK(x.width == y.width && x.height == y.height);
    if (x.width == y.width && x.height == y.height)
        CHECK_MSG(memcmp(x.data, y.data, (size_t)x.width * x.height) == 0,
                  "%s and %s decode to different grey", a, b);
    arc_image_dispose(&x);
    arc_image_dispose(&y);
}

TEST(test_decoders_give_the_reference_grey)
{
    /* The .pgm files are the grey the reference compiler computed from these
     * photos (libjpeg-turbo and libpng there too, no colour profile). */
    same_grey("pictarize.jpg", "pictarize.pgm");
    same_grey("bear.png", "bear.pgm");
}

/* card.png carries a Mac display profile, which the reference's canvas
 * (Skia) applies: arcd's grey of it is the reference's, pixel for pixel.
 * (31 of its 250,728 pixels were a level off, 3% of its keypoints moved.) */
TEST(test_regression_a_profiled_photo_gives_the_reference_grey)
{
    same_grey("card.png", "card.pgm");
}

TEST(test_grey_formula_and_transparency)
{
    /* floor((r + g + b) / 3); a transparent pixel reads back as black. */
    uint8_t rgba[12] = {255, 255, 254, 255, 10, 20, 31, 128, 200, 200, 200, 0};
    uint8_t grey[3];

    arc__image_grey_row(rgba, 4, 3, grey);
    CHECK_EQ_INT(grey[0], 254);
    CHECK_EQ_INT(grey[1], 20);
    CHECK_EQ_INT(grey[2], 0);
}

TEST(test_sniffing)
{
    CHECK(arc_image_sniff((const uint8_t *)"\xff\xd8\xff\xe0", 4) == ARC_IMAGE_JPEG);
    CHECK(arc_image_sniff((const uint8_t *)"\x89PNG\r\n\x1a\n", 8) == ARC_IMAGE_PNG);
    CHECK(arc_image_sniff((const uint8_t *)"P5\n1 1\n255\n", 11) == ARC_IMAGE_PGM);
    CHECK(arc_image_sniff((const uint8_t *)"P6\n1 1\n255\n", 11) == ARC_IMAGE_UNKNOWN);
    CHECK(arc_image_sniff((const uint8_t *)"GIF89a", 6) == ARC_IMAGE_UNKNOWN);
    /* Phones' photos: HEIF by its ftyp brand (HEVC or AV1), WebP by RIFF. */
    static const uint8_t heic[] = "\0\0\0\x18"
                                  "ftypheic\0\0\0\0";
    static const uint8_t mif1[] = "\0\0\0\x18"
                                  "ftypmif1\0\0\0\0";
    static const uint8_t avif[] = "\0\0\0\x1c"
                                  "ftypavif\0\0\0\0";
    static const uint8_t webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
    static const uint8_t mp4[] = "\0\0\0\x18"
                                 "ftypisom\0\0\0\0";
    CHECK(arc_image_sniff(heic, 16) == ARC_IMAGE_HEIC);
    CHECK(arc_image_sniff(mif1, 16) == ARC_IMAGE_HEIC);
    CHECK(arc_image_sniff(avif, 16) == ARC_IMAGE_AVIF);
    CHECK(arc_image_sniff(webp, 16) == ARC_IMAGE_WEBP);
    CHECK(arc_image_sniff(mp4, 16) == ARC_IMAGE_UNKNOWN);
    CHECK(strcmp(arc_image_format_ext(ARC_IMAGE_HEIC), "heic") == 0 &&
          strcmp(arc_image_format_ext(ARC_IMAGE_JPEG), "jpg") == 0 &&
          arc_image_format_ext(ARC_IMAGE_UNKNOWN) == NULL);
    /* A HEIF photo is an ISO media file, but not a video. */
    CHECK(arc_video_sniff(heic, 16) == NULL && arc_video_sniff(avif, 16) == NULL);
    CHECK(arc_video_sniff(mp4, 16) != NULL && strcmp(arc_video_sniff(mp4, 16), "mp4") == 0);
}

static int decode(const void *buf, size_t len, uint64_t limit, arc_image_t *img, arc_err_t *err)
{
    return arc_image_decode_grey(buf, len, limit, img, err);
}

TEST(test_pgm_header_and_limits)
{
    arc_image_t img;
    arc_err_t err = {{0}};
    static const char ok[] = "P5\n# a comment\n3 2\n255\n\x01\x02\x03\x04\x05\x06";

    CHECK(decode(ok, sizeof(ok) - 1, 0, &img, &err) == 0);
    CHECK(img.width == 3 && img.height == 2 && img.data[5] == 6);
    arc_image_dispose(&img);
    /* Over a 5-pixel limit: refused from the header. */
    CHECK(decode(ok, sizeof(ok) - 1, 5, &img, &err) == ARC_ETOOBIG);
    /* Truncated pixels, 16-bit, zero size, garbage header. */
    CHECK(decode(ok, sizeof(ok) - 2, 0, &img, &err) == ARC_ECORRUPT);
    static const char deep[] = "P5 1 1 65535\n\x00\x01";
    CHECK(decode(deep, sizeof(deep) - 1, 0, &img, &err) == ARC_EFORMAT);
    static const char zero[] = "P5 0 7 255\n";
    CHECK(decode(zero, sizeof(zero) - 1, 0, &img, &err) == ARC_ECORRUPT);
    static const char junk[] = "P5 x y z\n";
    CHECK(decode(junk, sizeof(junk) - 1, 0, &img, &err) == ARC_ECORRUPT);
    /* A huge claimed size is refused before any allocation of its pixels. */
    static const char huge[] = "P5 100000 100000 255\n";
    CHECK(decode(huge, sizeof(huge) - 1, 0, &img, &err) == ARC_ETOOBIG);
    CHECK(strstr(err.msg, "megapixels") != NULL);
    CHECK(decode("", 0, 0, &img, &err) == ARC_EEMPTY);
}

TEST(test_truncated_photos_are_errors)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    arc_image_t img;
    arc_err_t err = {{0}};

    CHECK(arc_file_read_all(test_path("pictarize.jpg"), 1u << 28, &buf, &len, &err) == 0);
    for (size_t cut = 3; buf && cut < len; cut = cut * 3 + 1) {
        int rc = decode(buf, cut, 0, &img, &err);
        CHECK_MSG(rc == ARC_ECORRUPT, "JPEG cut at %zu: rc %d", cut, rc);
        arc_image_dispose(&img);
    }
    free(buf);
    buf = NULL;
    CHECK(arc_file_read_all(test_path("card.png"), 1u << 28, &buf, &len, &err) == 0);
    for (size_t cut = 9; buf && cut < len; cut = cut * 3 + 1) {
        int rc = decode(buf, cut, 0, &img, &err);
        CHECK_MSG(rc == ARC_ECORRUPT, "PNG cut at %zu: rc %d", cut, rc);
        arc_image_dispose(&img);
    }
    /* And a corrupted byte in the middle of the compressed data. */
    if (buf) {
        buf[len / 2] ^= 0x55;
        CHECK(decode(buf, len, 0, &img, &err) == ARC_ECORRUPT);
        arc_image_dispose(&img);
    }
    free(buf);
}
