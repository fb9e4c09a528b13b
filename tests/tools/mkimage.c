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
    } else {
        die("bad arguments; see the comment at the top of tests/tools/mkimage.c");
    }
    free(im.px);
    return 0;
}
