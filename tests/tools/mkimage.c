/*
 * mkimage: writes the test images arcd's tests need, so no binary fixture
 * beyond MindAR's own examples is committed.
 *
 *   mkimage flat W H LEVEL OUT          one grey level
 *   mkimage texture W H SEED OUT        random blocks and discs: plenty of features
 *   mkimage scale IN.pgm W H OUT        bilinear resample of a PGM
 *   mkimage convert IN.pgm KIND OUT     KIND: rgb8 grey8 grey16 rgb16 palette greyalpha
 *                                       rgba-holes interlaced jpeg90
 *   mkimage png-header W H OUT          a PNG signature and IHDR only (for limit checks)
 *   mkimage tag-jpeg IN.jpg OUT.jpg     IN with a camera's metadata added: EXIF (GPS, make,
 *                                       model, serial, dates, maker note), XMP, ICC, IPTC and
 *                                       a comment, all holding the TAG_* values below
 *   mkimage tag-png IN.pgm OUT.png      IN as RGB with the same EXIF in eXIf, and tEXt, iTXt
 *                                       and zTXt chunks
 *
 * OUT's extension (.pgm, .png, .jpg) picks the format for flat/texture/scale.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

typedef struct img_s {
    int w, h;
    uint8_t *px;
} img_t;

static void die(const char *msg)
{
    fprintf(stderr, "mkimage: %s\n", msg);
    exit(2);
}

static img_t read_pgm(const char *path)
{
    img_t im = {0};
    int maxval;
    FILE *f = fopen(path, "rb");
    if (!f || fscanf(f, "P5 %d %d %d", &im.w, &im.h, &maxval) != 3)
        die("cannot read PGM");
    fgetc(f);
    im.px = malloc((size_t)im.w * im.h);
    if (fread(im.px, 1, (size_t)im.w * im.h, f) != (size_t)im.w * im.h)
        die("short PGM");
    fclose(f);
    return im;
}

static void write_pgm(const img_t *im, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die("cannot write");
    fprintf(f, "P5\n%d %d\n255\n", im->w, im->h);
    fwrite(im->px, 1, (size_t)im->w * im->h, f);
    fclose(f);
}

static void write_jpeg(const img_t *im, const char *path, int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    FILE *f = fopen(path, "wb");
    uint8_t *row = malloc((size_t)im->w * 3);
    if (!f)
        die("cannot write");
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = im->w;
    c.image_height = im->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < im->h; y++) {
        for (int x = 0; x < im->w; x++)
            memset(row + 3 * x, im->px[(size_t)y * im->w + x], 3);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
    free(row);
}

/* kind: rgb8 grey8 grey16 rgb16 palette greyalpha rgba-holes interlaced */
static void write_png(const img_t *im, const char *path, const char *kind)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    int color = PNG_COLOR_TYPE_RGB, depth = 8, interlace = PNG_INTERLACE_NONE, ch = 3;
    if (!f)
        die("cannot write");
    if (setjmp(png_jmpbuf(png)))
        die("libpng failed");
    png_init_io(png, f);
    if (!strcmp(kind, "grey8") || !strcmp(kind, "interlaced"))
        color = PNG_COLOR_TYPE_GRAY, ch = 1;
    if (!strcmp(kind, "grey16"))
        color = PNG_COLOR_TYPE_GRAY, ch = 1, depth = 16;
    if (!strcmp(kind, "rgb16"))
        depth = 16;
    if (!strcmp(kind, "palette"))
        color = PNG_COLOR_TYPE_PALETTE, ch = 1;
    if (!strcmp(kind, "greyalpha"))
        color = PNG_COLOR_TYPE_GRAY_ALPHA, ch = 2;
    if (!strcmp(kind, "rgba-holes"))
        color = PNG_COLOR_TYPE_RGB_ALPHA, ch = 4;
    if (!strcmp(kind, "interlaced"))
        interlace = PNG_INTERLACE_ADAM7;
    png_set_IHDR(png, info, im->w, im->h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < 256; i++)
            pal[i].red = pal[i].green = pal[i].blue = (png_byte)i;
        png_set_PLTE(png, info, pal, 256);
    }
    png_write_info(png, info);
    int bps = depth / 8;
    uint8_t *rows = calloc((size_t)im->h, (size_t)im->w * ch * bps);
    png_bytep *rp = malloc(sizeof(png_bytep) * im->h);
    for (int y = 0; y < im->h; y++) {
        uint8_t *r = rows + (size_t)y * im->w * ch * bps;
        rp[y] = r;
        for (int x = 0; x < im->w; x++) {
            uint8_t v = im->px[(size_t)y * im->w + x];
            for (int c = 0; c < ch; c++) {
                uint8_t s = v;
                if ((ch == 2 && c == 1) || (ch == 4 && c == 3))
                    s = (ch == 4 && (x + y) % 7 == 0) ? 0 : 255; /* alpha */
                if (bps == 2) {
                    r[(x * ch + c) * 2] = s; /* v * 257, big-endian */
                    r[(x * ch + c) * 2 + 1] = s;
                } else {
                    r[x * ch + c] = s;
                }
            }
        }
    }
    png_write_image(png, rp);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(rows);
    free(rp);
}

/* ---- a camera's metadata, for the privacy tests (tests/workers/test_media.py) ---- */

/* The values the tests look for in every output; keep them in step there. */
#define TAG_MAKE "ArcdTestMake"
#define TAG_MODEL "ArcdTestPhone 15 Pro"
#define TAG_SERIAL "SN-ARCD-4815162342"
#define TAG_DATE "2021:07:04 12:34:56"
#define TAG_SOFTWARE "ArcdTestFirmware 17.1"
#define TAG_MAKERNOTE "ArcdTestMakerNote"
#define TAG_XMP "ArcdTestXmpCreator"
#define TAG_IPTC "ArcdTestIptcCity"
#define TAG_COMMENT "ArcdTestComment"
#define TAG_ICC "ArcdTestIccProfile"
/* GPS 48 deg 51' 30.24" N, 2 deg 17' 40.20" E, as EXIF rationals. */
static const uint32_t gps_lat[6] = {48, 1, 51, 1, 3024, 100};
static const uint32_t gps_lon[6] = {2, 1, 17, 1, 4020, 100};

typedef struct bytes_s {
    uint8_t *p;
    size_t n, cap;
} bytes_t;

static void put(bytes_t *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            die("out of memory");
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put16(bytes_t *b, unsigned v) /* little-endian, as "II" TIFF */
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(b, x, 2);
}

static void put32(bytes_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

/* One IFD entry: ASCII (2), SHORT (3), LONG (4), RATIONAL (5), BYTE (1) or UNDEFINED (7). */
typedef struct tag_s {
    unsigned id, type;
    uint32_t count;
    const void *data; /* ASCII: the string with its NUL; others: the values */
} tag_t;

static size_t tag_size(const tag_t *t)
{
    static const size_t unit[8] = {0, 1, 1, 2, 4, 8, 0, 1};
    return unit[t->type] * t->count;
}

/* Writes an IFD at the end of b (offsets count from TIFF's start, base). */
static void put_ifd(bytes_t *b, size_t base, const tag_t *tags, int n)
{
    size_t data = b->n - base + 2 + 12 * (size_t)n + 4;
    put16(b, (unsigned)n);
    for (int i = 0; i < n; i++) {
        const tag_t *t = &tags[i];
        size_t sz = tag_size(t);
        put16(b, t->id);
        put16(b, t->type);
        put32(b, t->count);
        if (sz <= 4) {
            uint8_t v[4] = {0};
            if (t->type == 3)
                v[0] = (uint8_t) * (const unsigned *)t->data;
            else if (t->type == 4)
                memcpy(v, t->data, 4); /* little-endian host, as the test machines are */
            else
                memcpy(v, t->data, sz);
            put(b, v, 4);
        } else {
            put32(b, (uint32_t)data);
            data += sz + (sz & 1);
        }
    }
    put32(b, 0);
    for (int i = 0; i < n; i++) {
        const tag_t *t = &tags[i];
        size_t sz = tag_size(t);
        if (sz <= 4)
            continue;
        if (t->type == 5) {
            for (uint32_t k = 0; k < 2 * t->count; k++)
                put32(b, ((const uint32_t *)t->data)[k]);
        } else {
            put(b, t->data, sz);
        }
        if (sz & 1)
            put(b, "", 1);
    }
}

/* A little-endian TIFF with IFD0, the Exif IFD and the GPS IFD. */
static bytes_t make_tiff(void)
{
    static const unsigned one = 1;
    static const uint8_t gps_version[4] = {2, 3, 0, 0};
    static const char maker_note[] = TAG_MAKERNOTE " " TAG_SERIAL;
    bytes_t b = {0};
    uint32_t exif_at = 0, gps_at = 0;
    tag_t exif[] = {
        {0x9003, 2, sizeof(TAG_DATE), TAG_DATE},         /* DateTimeOriginal */
        {0x9004, 2, sizeof(TAG_DATE), TAG_DATE},         /* DateTimeDigitized */
        {0x927C, 7, sizeof(maker_note) - 1, maker_note}, /* MakerNote */
        {0xA431, 2, sizeof(TAG_SERIAL), TAG_SERIAL},     /* BodySerialNumber */
    };
    tag_t gps[] = {
        {0x0000, 1, 4, gps_version}, {0x0001, 2, 2, "N"},     {0x0002, 5, 3, gps_lat},
        {0x0003, 2, 2, "E"},         {0x0004, 5, 3, gps_lon},
    };
    tag_t ifd0[] = {
        {0x010F, 2, sizeof(TAG_MAKE), TAG_MAKE},
        {0x0110, 2, sizeof(TAG_MODEL), TAG_MODEL},
        {0x0112, 3, 1, &one}, /* Orientation: as stored */
        {0x0131, 2, sizeof(TAG_SOFTWARE), TAG_SOFTWARE},
        {0x0132, 2, sizeof(TAG_DATE), TAG_DATE},
        {0x8769, 4, 1, &exif_at},
        {0x8825, 4, 1, &gps_at},
    };
    int n0 = (int)(sizeof(ifd0) / sizeof(ifd0[0]));

    put(&b, "II*\0", 4);
    put32(&b, 8);
    /* IFD0 first, to learn where the other two start; then again with their offsets. */
    put_ifd(&b, 0, ifd0, n0);
    exif_at = (uint32_t)b.n;
    put_ifd(&b, 0, exif, (int)(sizeof(exif) / sizeof(exif[0])));
    gps_at = (uint32_t)b.n;
    put_ifd(&b, 0, gps, (int)(sizeof(gps) / sizeof(gps[0])));
    bytes_t head = {0};
    put(&head, b.p, 8);
    put_ifd(&head, 0, ifd0, n0);
    memcpy(b.p, head.p, head.n); /* the same size: only the two offsets differ */
    free(head.p);
    return b;
}

static const char xmp[] =
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
    "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
    "xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" dc:creator=\"" TAG_XMP "\" "
    "exif:GPSLatitude=\"48,51.504N\" exif:GPSLongitude=\"2,17.67E\" "
    "exif:BodySerialNumber=\"" TAG_SERIAL "\"/></rdf:RDF></x:xmpmeta>";

static void put_segment(FILE *f, int marker, const void *a, size_t na, const void *b, size_t nb)
{
    size_t len = 2 + na + nb;
    if (len > 0xFFFF)
        die("segment too long");
    fputc(0xFF, f);
    fputc(marker, f);
    fputc((int)(len >> 8), f);
    fputc((int)(len & 0xFF), f);
    fwrite(a, 1, na, f);
    if (nb > 0)
        fwrite(b, 1, nb, f);
}

/* IN's bytes with the metadata segments inserted after SOI (and its JFIF APP0). */
static void tag_jpeg(const char *in, const char *out)
{
    FILE *f = fopen(in, "rb");
    bytes_t src = {0};
    uint8_t chunk[65536];
    size_t got;
    if (!f)
        die("cannot read the JPEG");
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        put(&src, chunk, got);
    fclose(f);
    if (src.n < 4 || src.p[0] != 0xFF || src.p[1] != 0xD8)
        die("not a JPEG");
    size_t at = 2;
    if (src.p[2] == 0xFF && src.p[3] == 0xE0 && src.n > 6)
        at = 4 + ((size_t)src.p[4] << 8 | src.p[5]);

    bytes_t tiff = make_tiff();
    bytes_t icc = {0}, iptc = {0};
    /* A stand-in ICC profile: a header whose description a reader would show. */
    put(&icc, "ICC_PROFILE\0\1\1", 14);
    put(&icc, TAG_ICC, sizeof(TAG_ICC));
    /* Photoshop IRB 0x0404 holding one IPTC dataset, 2:90 City. */
    uint8_t ds[5] = {0x1C, 2, 90, 0, (uint8_t)(sizeof(TAG_IPTC) - 1)};
    uint8_t irb[12] = {'8', 'B', 'I', 'M', 4, 4,
                       0,   0,   0,   0,   0, (uint8_t)(5 + sizeof(TAG_IPTC) - 1)};
    put(&iptc, "Photoshop 3.0\0", 14);
    put(&iptc, irb, sizeof(irb));
    put(&iptc, ds, sizeof(ds));
    put(&iptc, TAG_IPTC, sizeof(TAG_IPTC) - 1);
    if ((sizeof(TAG_IPTC) - 1 + 5) & 1)
        put(&iptc, "", 1);

    FILE *o = fopen(out, "wb");
    if (!o)
        die("cannot write");
    fwrite(src.p, 1, at, o);
    put_segment(o, 0xE1, "Exif\0\0", 6, tiff.p, tiff.n);
    put_segment(o, 0xE1, "http://ns.adobe.com/xap/1.0/", 29, xmp, sizeof(xmp) - 1);
    put_segment(o, 0xE2, icc.p, icc.n, NULL, 0);
    put_segment(o, 0xED, iptc.p, iptc.n, NULL, 0);
    put_segment(o, 0xFE, TAG_COMMENT " " TAG_SERIAL, sizeof(TAG_COMMENT " " TAG_SERIAL) - 1, NULL,
                0);
    fwrite(src.p + at, 1, src.n - at, o);
    fclose(o);
    free(src.p);
    free(tiff.p);
    free(icc.p);
    free(iptc.p);
}

/* IN as an RGB PNG with the EXIF in eXIf and text in tEXt, iTXt and zTXt. */
static void tag_png(const img_t *im, const char *path)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    bytes_t tiff = make_tiff();
    uint8_t *row = malloc((size_t)im->w * 3);
    png_text text[3];
    if (!f || !row)
        die("cannot write");
    if (setjmp(png_jmpbuf(png)))
        die("libpng failed");
    png_init_io(png, f);
    png_set_IHDR(png, info, im->w, im->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_eXIf_1(png, info, (png_uint_32)tiff.n, tiff.p);
    memset(text, 0, sizeof(text));
    text[0].compression = PNG_TEXT_COMPRESSION_NONE;
    text[0].key = "Author";
    text[0].text = TAG_MAKE " " TAG_MODEL " " TAG_SERIAL;
    text[1].compression = PNG_ITXT_COMPRESSION_NONE;
    text[1].key = "XML:com.adobe.xmp";
    text[1].text = (char *)xmp;
    text[2].compression = PNG_TEXT_COMPRESSION_zTXt;
    text[2].key = "Comment";
    text[2].text = TAG_COMMENT " " TAG_DATE;
    png_set_text(png, info, text, 3);
    png_write_info(png, info);
    for (int y = 0; y < im->h; y++) {
        for (int x = 0; x < im->w; x++)
            memset(row + 3 * x, im->px[(size_t)y * im->w + x], 3);
        png_write_row(png, row);
    }
    png_write_end(png, NULL); /* with info, libpng 1.6 writes eXIf a second time */
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(row);
    free(tiff.p);
}

static void save(const img_t *im, const char *path)
{
    const char *ext = strrchr(path, '.');
    if (ext && !strcmp(ext, ".png"))
        write_png(im, path, "rgb8");
    else if (ext && (!strcmp(ext, ".jpg") || !strcmp(ext, ".jpeg")))
        write_jpeg(im, path, 92);
    else
        write_pgm(im, path);
}

static int num(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 100000000)
        die("bad number");
    return (int)v;
}

static uint32_t rng(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: see the comment at the top of tests/tools/mkimage.c");
    const char *cmd = argv[1];
    img_t im = {0};
    if (!strcmp(cmd, "flat") && argc == 6) {
        im.w = num(argv[2]);
        im.h = num(argv[3]);
        im.px = malloc((size_t)im.w * im.h);
        memset(im.px, num(argv[4]), (size_t)im.w * im.h);
        save(&im, argv[5]);
    } else if (!strcmp(cmd, "texture") && argc == 6) {
        uint32_t seed = (uint32_t)num(argv[4]);
        im.w = num(argv[2]);
        im.h = num(argv[3]);
        im.px = malloc((size_t)im.w * im.h);
        memset(im.px, 128, (size_t)im.w * im.h);
        int shapes = im.w * im.h / 400 + 8;
        for (int k = 0; k < shapes; k++) {
            int cx = rng(&seed) % im.w, cy = rng(&seed) % im.h;
            int r = 3 + rng(&seed) % 25, v = rng(&seed) % 256, disc = rng(&seed) % 2;
            for (int y = cy - r; y <= cy + r; y++)
                for (int x = cx - r; x <= cx + r; x++)
                    if (x >= 0 && y >= 0 && x < im.w && y < im.h &&
                        (!disc || (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r))
                        im.px[(size_t)y * im.w + x] = (uint8_t)v;
        }
        save(&im, argv[5]);
    } else if (!strcmp(cmd, "scale") && argc == 6) {
        img_t src = read_pgm(argv[2]);
        im.w = num(argv[3]);
        im.h = num(argv[4]);
        im.px = malloc((size_t)im.w * im.h);
        for (int y = 0; y < im.h; y++)
            for (int x = 0; x < im.w; x++) {
                double sx = (x + 0.5) * src.w / im.w - 0.5, sy = (y + 0.5) * src.h / im.h - 0.5;
                int x0 = sx < 0 ? 0 : (int)sx, y0 = sy < 0 ? 0 : (int)sy;
                int x1 = x0 + 1 < src.w ? x0 + 1 : x0, y1 = y0 + 1 < src.h ? y0 + 1 : y0;
                double fx = sx - x0 < 0 ? 0 : sx - x0, fy = sy - y0 < 0 ? 0 : sy - y0;
                double v = (1 - fx) * (1 - fy) * src.px[y0 * src.w + x0] +
                           fx * (1 - fy) * src.px[y0 * src.w + x1] +
                           (1 - fx) * fy * src.px[y1 * src.w + x0] +
                           fx * fy * src.px[y1 * src.w + x1];
                im.px[(size_t)y * im.w + x] = (uint8_t)(v + 0.5);
            }
        save(&im, argv[5]);
    } else if (!strcmp(cmd, "convert") && argc == 5) {
        im = read_pgm(argv[2]);
        if (!strcmp(argv[3], "jpeg90"))
            write_jpeg(&im, argv[4], 90);
        else
            write_png(&im, argv[4], argv[3]);
    } else if (!strcmp(cmd, "png-header") && argc == 5) {
        /* Signature and a valid IHDR, then nothing: a decoder that checks the
         * size from the header refuses it before it misses the pixels. */
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = png_create_info_struct(png);
        FILE *f = fopen(argv[4], "wb");
        if (setjmp(png_jmpbuf(png)))
            die("libpng failed");
        png_init_io(png, f);
        png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
        png_set_IHDR(png, info, (png_uint_32)num(argv[2]), (png_uint_32)num(argv[3]), 8,
                     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        png_destroy_write_struct(&png, &info);
        fclose(f);
    } else if (!strcmp(cmd, "tag-jpeg") && argc == 4) {
        tag_jpeg(argv[2], argv[3]);
    } else if (!strcmp(cmd, "tag-png") && argc == 4) {
        im = read_pgm(argv[2]);
        tag_png(&im, argv[3]);
    } else {
        die("bad arguments; see the comment at the top of tests/tools/mkimage.c");
    }
    free(im.px);
    return 0;
}
