/* Tests for the colour photo path of src/image/: EXIF orientation in JPEG and
 * PNG, PNG variants, DCT scaling, the area filter, drawing, and limits. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <stdio.h>

#include <jpeglib.h>
#include <lcms2.h>
#include <png.h>
#include <webp/encode.h>

#include "../../test.h"
#include "arcd/image.h"

/* The upright test picture: four quadrants, red top-left, green top-right,
 * blue bottom-left, white bottom-right; any turn or mirror moves them. */
static const uint8_t quad[4][3] = {{220, 30, 30}, {30, 200, 40}, {30, 40, 210}, {240, 240, 240}};

static void upright(arc_photo_t *p, int w, int h)
{
    arc_photo_create(p, w, h, 0, 0, 0);
    for (int q = 0; q < 4; q++)
        arc_photo_fill_rect(p, q % 2 ? w / 2 : 0, q / 2 ? h / 2 : 0, w / 2, h / 2, quad[q]);
}

/* The mean colour of a quadrant's inner half matches quad[q] within tol. */
static int quadrant_is(const arc_photo_t *p, int q, int tol)
{
    int x0 = (q % 2 ? p->width / 2 : 0) + p->width / 8,
        y0 = (q / 2 ? p->height / 2 : 0) + p->height / 8;
    long sum[3] = {0, 0, 0}, n = 0;

    for (int y = y0; y < y0 + p->height / 4; y++)
        for (int x = x0; x < x0 + p->width / 4; x++, n++)
            for (int c = 0; c < 3; c++)
                sum[c] += p->data[((size_t)y * p->width + x) * 3 + c];
    for (int c = 0; c < 3; c++)
        if (labs(sum[c] / n - quad[q][c]) > tol)
            return 0;
    return 1;
}

/* The stored pixels for orientation o: what a camera writes so that turning
 * them by o gives the upright picture (the inverse of o). */
static void stored_for(const arc_photo_t *up, int o, arc_photo_t *out)
{
    static const int inverse[9] = {0, 1, 2, 3, 4, 5, 8, 7, 6};

    arc_photo_resize(up, up->width, up->height, out);
    arc_photo_orient(out, inverse[o]);
}

/* A minimal big-endian TIFF block holding one Orientation entry. */
static size_t exif_block(uint8_t *b, int o, int with_header)
{
    static const uint8_t tiff[] = {'M',  'M',  0, 42, 0, 0, 0, 8, 0, 1,       /* one entry */
                                   0x01, 0x12, 0, 3,  0, 0, 0, 1, 0, 0, 0, 0, /* SHORT x1 */
                                   0,    0,    0, 0};
    size_t n = 0;

    if (with_header) {
        memcpy(b, "Exif\0\0", 6);
        n = 6;
    }
    memcpy(b + n, tiff, sizeof(tiff));
    b[n + 19] = (uint8_t)o; /* the value, left-justified in the entry */
    return n + sizeof(tiff);
}

static void jpeg_with_exif(const arc_photo_t *p, int o, uint8_t **out, size_t *len)
{
    uint8_t *jpg = NULL, app1[64];
    size_t jlen = 0;
    arc_err_t err = {{0}};

    CHECK(arc_photo_encode_jpeg(p, 95, &jpg, &jlen, &err) == 0);
    size_t n = exif_block(app1 + 4, o, 1) + 2;
    app1[0] = 0xff;
    app1[1] = 0xe1;
    app1[2] = (uint8_t)(n >> 8);
    app1[3] = (uint8_t)n;
    *len = jlen + n + 2;
    *out = malloc(*len);
    memcpy(*out, jpg, 2); /* SOI, then APP1, then the rest */
    memcpy(*out + 2, app1, n + 2);
    memcpy(*out + 4 + n, jpg + 2, jlen - 2);
    free(jpg);
}

TEST(test_jpeg_exif_orientations)
{
    arc_photo_t up;

    upright(&up, 96, 64);
    for (int o = 1; o <= 8; o++) {
        arc_photo_t stored, got;
        arc_photo_info_t info;
        arc_err_t err = {{0}};
        uint8_t *buf;
        size_t len;

        stored_for(&up, o, &stored);
        jpeg_with_exif(&stored, o, &buf, &len);
        CHECK_MSG(arc_photo_decode(buf, len, 0, 0, &got, &info, &err) == 0, "%s", err.msg);
        CHECK_MSG(info.orientation == o, "orientation %d read as %d", o, info.orientation);
        CHECK_MSG(got.width == 96 && got.height == 64, "orientation %d: %dx%d", o, got.width,
                  got.height);
        for (int q = 0; q < 4 && got.width == 96; q++)
            CHECK_MSG(quadrant_is(&got, q, 12), "orientation %d: quadrant %d is wrong", o, q);
        /* The grey decoder (arcd compile) ignores EXIF, as MindAR does. */
        arc_image_t grey;
        CHECK(arc_image_decode_grey(buf, len, 0, &grey, &err) == 0);
        CHECK(grey.width == stored.width && grey.height == stored.height);
        arc_image_dispose(&grey);
        free(buf);
        arc_photo_dispose(&stored);
        arc_photo_dispose(&got);
    }
    arc_photo_dispose(&up);
}

TEST(test_orientation_meaning)
{
    /* Stored: red | blue, one row. EXIF 6 (the 0th row is the visual right
     * side): turned clockwise, red on top. 8: counter-clockwise, blue on top.
     * 2: mirrored, blue left. 3: half a turn, blue left. */
    static const struct {
        int o, w, h;
        uint8_t first; /* red channel of the first pixel shown */
    } cases[] = {{6, 1, 2, 255}, {8, 1, 2, 0}, {2, 2, 1, 0},   {3, 2, 1, 0},
                 {5, 1, 2, 255}, {7, 1, 2, 0}, {4, 2, 1, 255}, {1, 2, 1, 255}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        arc_photo_t p;
        arc_photo_create(&p, 2, 1, 0, 0, 255);
        p.data[0] = 255, p.data[2] = 0;
        CHECK(arc_photo_orient(&p, cases[i].o) == 0);
        CHECK_MSG(p.width == cases[i].w && p.height == cases[i].h && p.data[0] == cases[i].first,
                  "orientation %d", cases[i].o);
        arc_photo_dispose(&p);
    }
}

/* ---- PNG variants, written with libpng here ---- */

typedef struct mem_s {
    uint8_t *buf;
    size_t len;
} mem_t;

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    mem_t *m = png_get_io_ptr(png);
    m->buf = realloc(m->buf, m->len + n);
    memcpy(m->buf + m->len, data, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* Writes p in PNG colour type `type`, bit depth `depth`, optionally
 * interlaced and with an eXIf chunk for orientation o (0: none). Alpha is
 * 255 except in the top-left quadrant's first row, 0 there. */
static mem_t png_variant(const arc_photo_t *p, int type, int depth, int interlace, int o)
{
    mem_t m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    int ch = type == PNG_COLOR_TYPE_GRAY         ? 1
             : type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
             : type == PNG_COLOR_TYPE_RGB        ? 3
             : type == PNG_COLOR_TYPE_RGBA       ? 4
                                                 : 1;
    int bps = depth == 16 ? 2 : 1;

    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)p->width, (png_uint_32)p->height, depth, type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_color palette[4];
    if (type == PNG_COLOR_TYPE_PALETTE) {
        for (int i = 0; i < 4; i++)
            palette[i] = (png_color){quad[i][0], quad[i][1], quad[i][2]};
        png_set_PLTE(png, info, palette, 4);
    }
    uint8_t exif[64];
    if (o > 0)
        png_set_eXIf_1(png, info, (png_uint_32)exif_block(exif, o, 0), exif);
    png_write_info(png, info);
    uint8_t *rows = calloc((size_t)p->width * ch * bps, (size_t)p->height);
    png_bytep *rp = malloc(sizeof(*rp) * (size_t)p->height);
    for (int y = 0; y < p->height; y++) {
        rp[y] = rows + (size_t)y * p->width * ch * bps;
        for (int x = 0; x < p->width; x++) {
            const uint8_t *s = p->data + ((size_t)y * p->width + x) * 3;
            int q = (y >= p->height / 2) * 2 + (x >= p->width / 2);
            uint8_t v[4] = {s[0], s[1], s[2], (uint8_t)(y == 0 && q == 0 ? 0 : 255)};
            uint8_t g = (uint8_t)((s[0] + s[1] + s[2]) / 3);
            uint8_t px[4];
            int n = 0;
            if (type == PNG_COLOR_TYPE_PALETTE) {
                px[n++] = (uint8_t)q;
            } else if (ch <= 2) {
                px[n++] = g;
                if (ch == 2)
                    px[n++] = v[3];
            } else {
                for (int c = 0; c < ch; c++)
                    px[n++] = v[c];
            }
            for (int c = 0; c < n; c++)
                for (int b = 0; b < bps; b++)
                    rp[y][(x * ch + c) * bps + b] = px[c]; /* 16-bit: v * 257 */
        }
    }
    png_write_image(png, rp);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rp);
    return m;
}

TEST(test_png_variants)
{
    static const struct {
        int type, depth, interlace;
        const char *name;
    } v[] = {
        {PNG_COLOR_TYPE_RGB, 8, 0, "rgb8"},
        {PNG_COLOR_TYPE_RGB, 16, 0, "rgb16"},
        {PNG_COLOR_TYPE_RGBA, 8, 0, "rgba8"},
        {PNG_COLOR_TYPE_RGBA, 16, 1, "rgba16 interlaced"},
        {PNG_COLOR_TYPE_PALETTE, 8, 0, "palette"},
        {PNG_COLOR_TYPE_RGB, 8, 1, "rgb8 interlaced"},
        {PNG_COLOR_TYPE_GRAY, 8, 0, "grey"},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, "grey+alpha16"},
    };
    arc_photo_t up;

    upright(&up, 64, 48);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        mem_t m = png_variant(&up, v[i].type, v[i].depth, v[i].interlace, 0);
        arc_photo_t got;
        arc_err_t err = {{0}};
        CHECK_MSG(arc_photo_decode(m.buf, m.len, 0, 0, &got, NULL, &err) == 0, "%s: %s", v[i].name,
                  err.msg);
        CHECK_MSG(got.width == 64 && got.height == 48, "%s size", v[i].name);
        int grey = v[i].type == PNG_COLOR_TYPE_GRAY || v[i].type == PNG_COLOR_TYPE_GRAY_ALPHA;
        for (int q = 0; q < 4 && !grey; q++)
            CHECK_MSG(quadrant_is(&got, q, 1), "%s: quadrant %d", v[i].name, q);
        if (grey) {
            const uint8_t *px = got.data + ((size_t)30 * 64 + 50) * 3; /* bottom-right */
            CHECK_MSG(px[0] == 240 && px[1] == 240 && px[2] == 240, "%s: grey kept", v[i].name);
        }
        /* A transparent pixel is laid over white, as on paper. */
        int alpha = v[i].type == PNG_COLOR_TYPE_RGBA || v[i].type == PNG_COLOR_TYPE_GRAY_ALPHA;
        if (alpha)
            CHECK_MSG(got.data[0] == 255 && got.data[1] == 255 && got.data[2] == 255,
                      "%s: transparent over white (%d %d %d)", v[i].name, got.data[0], got.data[1],
                      got.data[2]);
        arc_photo_dispose(&got);
        free(m.buf);
    }
    /* eXIf: the PNG's orientation is applied too. */
    arc_photo_t stored, got;
    arc_photo_info_t info;
    arc_err_t err = {{0}};
    stored_for(&up, 6, &stored);
    mem_t m = png_variant(&stored, PNG_COLOR_TYPE_RGB, 8, 0, 6);
    CHECK_MSG(arc_photo_decode(m.buf, m.len, 0, 0, &got, &info, &err) == 0, "%s", err.msg);
    CHECK(info.orientation == 6 && got.width == 64 && got.height == 48);
    for (int q = 0; q < 4 && got.width == 64; q++)
        CHECK_MSG(quadrant_is(&got, q, 1), "eXIf 6: quadrant %d", q);
    free(m.buf);
    arc_photo_dispose(&got);
    arc_photo_dispose(&stored);
    arc_photo_dispose(&up);
}

TEST(test_dct_scaling_and_resize)
{
    arc_photo_t big, got;
    arc_photo_info_t info;
    arc_err_t err = {{0}};
    uint8_t *jpg;
    size_t len;

    upright(&big, 4000, 3000);
    CHECK(arc_photo_encode_jpeg(&big, 90, &jpg, &len, &err) == 0);
    CHECK_MSG(arc_photo_decode(jpg, len, 0, 1920, &got, &info, &err) == 0, "%s", err.msg);
    /* libjpeg-turbo decodes at 4/8 (2000 px), the area filter takes it to 1920. */
    CHECK_MSG(info.decoded_width == 2000 && info.decoded_height == 1500, "decoded at %dx%d",
              info.decoded_width, info.decoded_height);
    CHECK_MSG(got.width == 1920 && got.height == 1440, "resized to %dx%d", got.width, got.height);
    for (int q = 0; q < 4; q++)
        CHECK_MSG(quadrant_is(&got, q, 8), "quadrant %d after scaling", q);
    arc_photo_dispose(&got);
    /* Over the pixel limit: refused from the header. */
    CHECK(arc_photo_decode(jpg, len, 1000000, 1920, &got, NULL, &err) == ARC_ETOOBIG);
    free(jpg);
    arc_photo_dispose(&big);
}

TEST(test_area_filter)
{
    arc_photo_t src, dst;

    /* 4x4 -> 2x2: each output pixel is its 2x2 block's mean. */
    arc_photo_create(&src, 4, 4, 0, 0, 0);
    for (int i = 0; i < 16; i++)
        src.data[i * 3] = (uint8_t)(i * 10);
    arc_photo_resize(&src, 2, 2, &dst);
    CHECK_EQ_INT(dst.data[0], (0 + 10 + 40 + 50) / 4);
    CHECK_EQ_INT(dst.data[3], (20 + 30 + 60 + 70) / 4);
    CHECK_EQ_INT(dst.data[6], (80 + 90 + 120 + 130) / 4);
    arc_photo_dispose(&dst);
    /* 3 -> 2 across: fractional coverage, 1 + 1/2 source pixels each. */
    arc_photo_dispose(&src);
    arc_photo_create(&src, 3, 1, 0, 0, 0);
    src.data[0] = 90, src.data[3] = 30, src.data[6] = 60;
    arc_photo_resize(&src, 2, 1, &dst);
    CHECK_EQ_INT(dst.data[0], 70); /* (90 + 30 / 2) / 1.5 */
    CHECK_EQ_INT(dst.data[3], 50); /* (30 / 2 + 60) / 1.5 */
    arc_photo_dispose(&dst);
    arc_photo_dispose(&src);
    /* A flat image stays flat at any size. */
    arc_photo_create(&src, 1001, 777, 17, 99, 201);
    arc_photo_resize(&src, 333, 259, &dst);
    int flat = 1;
    for (size_t i = 0; i < (size_t)333 * 259; i++)
        flat &= dst.data[3 * i] == 17 && dst.data[3 * i + 1] == 99 && dst.data[3 * i + 2] == 201;
    CHECK(flat);
    arc_photo_dispose(&dst);
    arc_photo_dispose(&src);
}

TEST(test_drawing_is_clipped)
{
    arc_photo_t p;
    const uint8_t k[3] = {1, 2, 3};
    const double tri[6] = {-50, -50, 100, 5, 5, 100};

    arc_photo_create(&p, 20, 10, 0, 0, 0);
    arc_photo_fill_rect(&p, -5, -5, 100, 100, k);
    arc_photo_fill_circle(&p, 0, 0, 40, k);
    arc_photo_ring(&p, 25, 5, 30, 3, k);
    arc_photo_fill_triangle(&p, tri, k);
    arc_photo_blit(&p, &p, 15, 8);
    CHECK(p.data[0] == 1 && p.data[(20 * 10 - 1) * 3 + 2] == 3);
    arc_photo_dispose(&p);
}

/* ---- phones' photos: colour profiles, WebP, shrinking while decoding ---- */

/* The pixel at (x, y) is (r, g, b) within tol. */
static int pixel_is(const arc_photo_t *p, int x, int y, int r, int g, int b, int tol)
{
    const uint8_t *q = p->data + ((size_t)y * (size_t)p->width + (size_t)x) * 3;
    return abs(q[0] - r) <= tol && abs(q[1] - g) <= tol && abs(q[2] - b) <= tol;
}

/* A flat JPEG of (r, g, b), quality 100, with the ICC profile of the given
 * primaries (Display P3's, or sRGB's) and sRGB's tone curve embedded. */
static void flat_jpeg_with_profile(int p3, uint8_t r, uint8_t g, uint8_t b, uint8_t **out,
                                   size_t *len)
{
    static const cmsFloat64Number srgb_tf[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim =
        p3 ? (cmsCIExyYTRIPLE){{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}}
           : (cmsCIExyYTRIPLE){{0.640, 0.330, 1}, {0.300, 0.600, 1}, {0.150, 0.060, 1}};
    cmsToneCurve *tc = cmsBuildParametricToneCurve(NULL, 4, srgb_tf);
    cmsToneCurve *tcs[3] = {tc, tc, tc};
    cmsHPROFILE prof = cmsCreateRGBProfile(&d65, &prim, tcs);
    cmsMLU *desc = cmsMLUalloc(NULL, 1);
    cmsMLUsetASCII(desc, "en", "US", p3 ? "Display P3 (test)" : "sRGB-like (test)");
    cmsWriteTag(prof, cmsSigProfileDescriptionTag, desc);
    cmsUInt32Number plen = 0;
    cmsSaveProfileToMem(prof, NULL, &plen);
    uint8_t *icc = malloc(plen);
    cmsSaveProfileToMem(prof, icc, &plen);

    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long mlen = 0;
    uint8_t row[64 * 3];
    for (int x = 0; x < 64; x++)
        row[3 * x] = r, row[3 * x + 1] = g, row[3 * x + 2] = b;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &mlen);
    c.image_width = c.image_height = 64;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    jpeg_write_icc_profile(&c, icc, plen);
    while (c.next_scanline < 64) {
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = mem;
    *len = mlen;
    free(icc);
    cmsMLUfree(desc);
    cmsCloseProfile(prof);
    cmsFreeToneCurve(tc);
}

/* A photo's embedded profile is applied: Display P3's (0, 148, 198), an
 * iPhone's sky, is sRGB's (0, 150, 203); the same numbers untagged stay as
 * they are. (Photos were decoded as if every one were sRGB.) */
TEST(test_regression_colour_profiles_are_applied)
{
    arc_photo_t got;
    arc_err_t err = {{0}};
    uint8_t *jpg;
    size_t len;

    flat_jpeg_with_profile(1, 0, 148, 198, &jpg, &len);
    CHECK_MSG(arc_photo_decode(jpg, len, 0, 0, &got, NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(got.data != NULL && pixel_is(&got, 32, 32, 0, 150, 203, 2),
              "a Display P3 JPEG: (%d, %d, %d), not sRGB's (0, 150, 203)", got.data[0], got.data[1],
              got.data[2]);
    arc_photo_dispose(&got);
    free(jpg);
    /* An sRGB-like profile changes nothing to speak of. */
    flat_jpeg_with_profile(0, 0, 148, 198, &jpg, &len);
    CHECK(arc_photo_decode(jpg, len, 0, 0, &got, NULL, &err) == 0);
    CHECK_MSG(got.data != NULL && pixel_is(&got, 32, 32, 0, 148, 198, 2),
              "an sRGB-tagged JPEG moved: (%d, %d, %d)", got.data[0], got.data[1], got.data[2]);
    arc_photo_dispose(&got);
    free(jpg);
    /* MindAR's card.png carries Apple's Display profile (iCCP). */
    CHECK(arc_photo_load(test_path("card.png"), 0, 0, &got, NULL, &err) == 0);
    long k = 100000;
    CHECK_MSG(got.data != NULL &&
                  pixel_is(&got, (int)(k % got.width), (int)(k / got.width), 0, 150, 203, 1),
              "card.png's sky: (%d, %d, %d)", got.data[3 * k], got.data[3 * k + 1],
              got.data[3 * k + 2]);
    arc_photo_dispose(&got);
}

TEST(test_webp_lossless_scaled_and_with_alpha)
{
    arc_photo_t up, got;
    arc_photo_info_t info;
    arc_err_t err = {{0}};
    uint8_t *webp = NULL;

    upright(&up, 800, 600);
    size_t len = WebPEncodeLosslessRGB(up.data, up.width, up.height, up.width * 3, &webp);
    CHECK(len > 0);
    CHECK_MSG(arc_photo_decode(webp, len, 0, 0, &got, &info, &err) == 0, "%s", err.msg);
    CHECK(info.format == ARC_IMAGE_WEBP && got.width == 800 && got.height == 600 &&
          memcmp(got.data, up.data, (size_t)800 * 600 * 3) == 0);
    arc_photo_dispose(&got);
    /* Scaled by libwebp while decoding: never at full size. */
    CHECK(arc_photo_decode(webp, len, 0, 200, &got, &info, &err) == 0);
    CHECK_MSG(info.decoded_width == 200 && info.decoded_height == 150 && got.width == 200,
              "decoded at %dx%d", info.decoded_width, info.decoded_height);
    for (int q = 0; q < 4; q++)
        CHECK_MSG(quadrant_is(&got, q, 6), "quadrant %d of the scaled WebP", q);
    arc_photo_dispose(&got);
    CHECK(arc_photo_decode(webp, len, 100000, 0, &got, NULL, &err) == ARC_ETOOBIG);
    CHECK(arc_photo_decode(webp, len / 2, 0, 0, &got, NULL, &err) == ARC_ECORRUPT);
    WebPFree(webp);
    /* Transparent pixels lie over white, as on paper. */
    uint8_t rgba[4 * 4 * 4] = {0};
    for (int i = 0; i < 16; i++)
        rgba[4 * i] = 200, rgba[4 * i + 3] = i < 8 ? 0 : 255;
    len = WebPEncodeLosslessRGBA(rgba, 4, 4, 16, &webp);
    CHECK(arc_photo_decode(webp, len, 0, 0, &got, NULL, &err) == 0);
    CHECK(got.data != NULL && pixel_is(&got, 0, 0, 255, 255, 255, 0) &&
          pixel_is(&got, 0, 3, 200, 0, 0, 0));
    arc_photo_dispose(&got);
    WebPFree(webp);
    arc_photo_dispose(&up);
}

/* A PNG far larger than the photo wanted is shrunk by a whole factor as its
 * rows come (a box filter), never held at full size. */
TEST(test_large_png_is_shrunk_while_decoding)
{
    arc_photo_t up, got;
    arc_photo_info_t info;
    arc_err_t err = {{0}};
    uint8_t *png;
    size_t len;

    upright(&up, 2100, 1400);
    CHECK(arc_photo_encode_png(&up, 1, &png, &len, &err) == 0);
    /* 2100 / 400: a factor of 5, 420x280 decoded, 400x267 after the area filter. */
    CHECK_MSG(arc_photo_decode(png, len, 0, 400, &got, &info, &err) == 0, "%s", err.msg);
    CHECK_MSG(info.decoded_width == 420 && info.decoded_height == 280, "decoded at %dx%d",
              info.decoded_width, info.decoded_height);
    CHECK_MSG(got.width == 400 && got.height == 267, "resized to %dx%d", got.width, got.height);
    for (int q = 0; q < 4; q++)
        CHECK_MSG(quadrant_is(&got, q, 4), "quadrant %d of the shrunk PNG", q);
    arc_photo_dispose(&got);
    /* A partial last block: 1001 px wide by 3 is 334, its last column one
     * pixel's mean. */
    arc_photo_t odd;
    arc_photo_create(&odd, 1001, 10, 10, 20, 30);
    arc_photo_fill_rect(&odd, 1000, 0, 1, 10, (const uint8_t[3]){250, 250, 250});
    uint8_t *png2;
    size_t len2;
    CHECK(arc_photo_encode_png(&odd, 1, &png2, &len2, &err) == 0);
    CHECK(arc_photo_decode(png2, len2, 0, 300, &got, &info, &err) == 0);
    CHECK_MSG(info.decoded_width == 334 && info.decoded_height == 4, "decoded at %dx%d",
              info.decoded_width, info.decoded_height);
    free(png2);
    arc_photo_dispose(&odd);
    arc_photo_dispose(&got);
    free(png);
    arc_photo_dispose(&up);
}

/* The box filter's sums: a 4200x4200 white photo shrunk to one pixel sums
 * 17.6 million values of 255, past 2^32. (They were 32-bit and wrapped: the
 * pixel came out dark. Reachable with photo.maxSide and borderRatio set low.) */
TEST(test_regression_box_filter_sums_do_not_wrap)
{
    arc_photo_t white, got;
    arc_photo_info_t info;
    arc_err_t err = {{0}};
    uint8_t *png;
    size_t len;

    arc_photo_create(&white, 4200, 4200, 255, 255, 255);
    CHECK(arc_photo_encode_png(&white, 1, &png, &len, &err) == 0);
    arc_photo_dispose(&white);
    CHECK_MSG(arc_photo_decode(png, len, 0, 1, &got, &info, &err) == 0, "%s", err.msg);
    CHECK_MSG(info.decoded_width == 1 && info.decoded_height == 1, "decoded at %dx%d",
              info.decoded_width, info.decoded_height);
    CHECK_MSG(got.data != NULL && pixel_is(&got, 0, 0, 255, 255, 255, 0),
              "a white photo shrunk to one pixel is (%d, %d, %d)", got.data[0], got.data[1],
              got.data[2]);
    arc_photo_dispose(&got);
    free(png);
}

/* An 8x8 PNG of (0, 148, 198) carrying profile (len bytes) in iCCP. */
static void flat_png_with_profile(const uint8_t *profile, size_t plen, uint8_t **out, size_t *len)
{
    char path[] = "/tmp/arcd-icc-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    uint8_t row[8 * 3];

    for (int x = 0; x < 8; x++)
        row[3 * x] = 0, row[3 * x + 1] = 148, row[3 * x + 2] = 198;
    png_init_io(png, f);
    png_set_IHDR(png, info, 8, 8, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_iCCP(png, info, "crafted", PNG_COMPRESSION_TYPE_BASE, profile, (png_uint_32)plen);
    png_write_info(png, info);
    for (int y = 0; y < 8; y++)
        png_write_row(png, row);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    arc_err_t err;
    CHECK(arc_file_read_all(path, 1u << 26, out, len, &err) == 0);
    unlink(path);
}

/* A profile whose float lookup table (DToB0) is a chain of 2,001 matrices:
 * lcms2 runs each for every pixel, and ten thousand held a worker for
 * minutes on a 2-megapixel photo. It is ignored now (the pixels are taken
 * as sRGB); it used to be applied (the channels came out swapped). */
TEST(test_regression_a_profile_too_costly_to_run_is_ignored)
{
    static const cmsFloat64Number swap[9] = {0, 0, 1, 0, 1, 0, 1, 0, 0};
    cmsHPROFILE p = cmsCreateProfilePlaceholder(NULL);
    cmsPipeline *pl = cmsPipelineAlloc(NULL, 3, 3);
    arc_photo_t got;
    arc_err_t err = {{0}};
    uint8_t *png = NULL;
    size_t len = 0;

    cmsSetProfileVersion(p, 4.3);
    cmsSetDeviceClass(p, cmsSigInputClass);
    cmsSetColorSpace(p, cmsSigRgbData);
    cmsSetPCS(p, cmsSigXYZData);
    for (int i = 0; i < 2001; i++)
        cmsPipelineInsertStage(pl, cmsAT_END, cmsStageAllocMatrix(NULL, 3, 3, swap, NULL));
    cmsMLU *desc = cmsMLUalloc(NULL, 1);
    cmsMLUsetASCII(desc, "en", "US", "crafted");
    cmsWriteTag(p, cmsSigProfileDescriptionTag, desc);
    cmsWriteTag(p, cmsSigDToB0Tag, pl);
    cmsUInt32Number plen = 0;
    CHECK(cmsSaveProfileToMem(p, NULL, &plen) && plen > 0);
    uint8_t *icc = malloc(plen);
    CHECK(cmsSaveProfileToMem(p, icc, &plen));
    flat_png_with_profile(icc, plen, &png, &len);
    CHECK_MSG(arc_photo_decode(png, len, 0, 0, &got, NULL, &err) == 0, "%s", err.msg);
    CHECK_MSG(got.data != NULL && pixel_is(&got, 4, 4, 0, 148, 198, 0),
              "a photo with a 2,001-stage profile decodes to (%d, %d, %d), not as it is stored",
              got.data ? got.data[0] : -1, got.data ? got.data[1] : -1,
              got.data ? got.data[2] : -1);
    arc_photo_dispose(&got);
    free(png);
    free(icc);
    cmsMLUfree(desc);
    cmsPipelineFree(pl);
    cmsCloseProfile(p);
}
