/*
 * Pipeline stage "border": the printable image. Around each photo goes a
 * border unique to the project, drawn from the SHA-256 of its id (and the
 * target's position): a pattern (random checker, bars, dots or triangles) in
 * two colours of one hue, a frame round the photo, and four different corner
 * symbols so the print has no symmetry a tracker could confuse. It is about
 * 12% of the photo's long side (media.borderRatio) and gives low-texture
 * photos the features they lack; media.border = 0 turns it off.
 *
 * The print is written as enhanced-photo.jpg, and the marker's grey is
 * decoded back from that very file, so the .mind is compiled from exactly the
 * pixels that will be printed (the same as `arcd compile enhanced-photo.jpg`).
 * The first print is also written small, as thumbnail.jpg (its long side
 * 320 px), for the CRM's project list.
 *
 * For the printer, print.jpg is the same picture at the photo's own
 * resolution (the print's long side up to 8000 px): the photo decoded again
 * at that size and the border's design, made at enhanced-photo.jpg's size,
 * drawn scaled round it (draw_border's canvas), so that a print of either is
 * the same picture to the marker. A photo no larger than enhanced-photo.jpg's
 * makes print.jpg its copy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "arcd/compiler.h"
#include "arcd/worker.h"

/* xorshift64*: a small, well-mixed generator seeded from the id's hash. */
typedef struct rng_s {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static void hsv(double h, double s, double v, uint8_t rgb[3])
{
    double c = v * s, hp = fmod(h, 1.0) * 6.0, x = c * (1 - fabs(fmod(hp, 2.0) - 1)), m = v - c;
    double r = 0, g = 0, b = 0;

    switch ((int)hp) {
    case 0: r = c, g = x; break;
    case 1: r = x, g = c; break;
    case 2: g = c, b = x; break;
    case 3: g = x, b = c; break;
    case 4: r = x, b = c; break;
    default: r = c, b = x; break;
    }
    rgb[0] = (uint8_t)lround((r + m) * 255);
    rgb[1] = (uint8_t)lround((g + m) * 255);
    rgb[2] = (uint8_t)lround((b + m) * 255);
}

typedef struct style_s {
    rng_t rng;
    int pattern; /* 0 checker, 1 bars, 2 dots, 3 triangles */
    uint8_t dark[3], light[3];
    int symbols[4]; /* a permutation of the four corner symbols */
} style_t;

static const char *pattern_names[4] = {"checker", "bars", "dots", "triangles"};

static void style_init(style_t *st, const char *id, size_t position)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char seed[128];

    snprintf(seed, sizeof(seed), "arcd-border:%s:%zu", id, position);
    SHA256((const unsigned char *)seed, strlen(seed), md);
    memcpy(&st->rng.s, md, 8);
    if (st->rng.s == 0)
        st->rng.s = 0x9E3779B97F4A7C15ULL;
    st->pattern = md[8] % 4;
    double hue = md[9] / 256.0;
    hsv(hue, 0.85, 0.22 + md[10] / 2550.0, st->dark);
    hsv(hue + 0.5, 0.10, 0.97, st->light);
    for (int i = 0; i < 4; i++)
        st->symbols[i] = i;
    for (int i = 3; i > 0; i--) { /* Fisher-Yates from the hash */
        int j = md[11 + i] % (i + 1), t = st->symbols[i];
        st->symbols[i] = st->symbols[j];
        st->symbols[j] = t;
    }
}

/* Where the border is drawn: the print at its own size (kx = ky = 1), or
 * the full-resolution print, every shape of the same design scaled (kx, ky:
 * the full print's size over the small one's), so both are one picture. */
typedef struct canvas_s {
    arc_photo_t *p;
    double kx, ky;
} canvas_t;

static void c_rect(canvas_t *cv, double x, double y, double w, double h, const uint8_t rgb[3])
{
    long x0 = lround(x * cv->kx), y0 = lround(y * cv->ky);
    long x1 = lround((x + w) * cv->kx), y1 = lround((y + h) * cv->ky);
    arc_photo_fill_rect(cv->p, (int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0), rgb);
}

static void c_circle(canvas_t *cv, double cx, double cy, double r, const uint8_t rgb[3])
{
    arc_photo_fill_circle(cv->p, cx * cv->kx, cy * cv->ky, r * fmin(cv->kx, cv->ky), rgb);
}

static void c_ring(canvas_t *cv, double cx, double cy, double r, double t, const uint8_t rgb[3])
{
    double k = fmin(cv->kx, cv->ky);
    arc_photo_ring(cv->p, cx * cv->kx, cy * cv->ky, r * k, t * k, rgb);
}

static void c_triangle(canvas_t *cv, const double xy[6], const uint8_t rgb[3])
{
    double t[6] = {xy[0] * cv->kx, xy[1] * cv->ky, xy[2] * cv->kx,
                   xy[3] * cv->ky, xy[4] * cv->kx, xy[5] * cv->ky};
    arc_photo_fill_triangle(cv->p, t, rgb);
}

/* The pattern in the cell (x, y, c x c) of the band. */
static void draw_cell(canvas_t *cv, style_t *st, int x, int y, int c)
{
    switch (st->pattern) {
    case 0:
        if (rng_next(&st->rng) & 1)
            c_rect(cv, x, y, c, c, st->dark);
        break;
    case 1: { /* bars of random width across the cell */
        int pos = 0;
        while (pos < c) {
            int w = 1 + (int)(rng_unit(&st->rng) * c / 3);
            if (rng_next(&st->rng) & 1)
                c_rect(cv, x, y + pos, c, w, st->dark);
            pos += w;
        }
        break;
    }
    case 2: {
        double r = c * (0.12 + 0.33 * rng_unit(&st->rng));
        if (rng_next(&st->rng) % 4 != 0)
            c_circle(cv, x + c / 2.0, y + c / 2.0, r, st->dark);
        break;
    }
    default: {
        int k = (int)(rng_next(&st->rng) % 5);
        double t[4][6] = {{x, y, x + c, y, x, y + c},
                          {x + c, y, x + c, y + c, x, y + c},
                          {x, y, x + c, y, x + c, y + c},
                          {x, y, x + c, y + c, x, y + c}};
        if (k < 4)
            c_triangle(cv, t[k], st->dark);
        break;
    }
    }
}

/* One corner symbol centred in the s x s square at (x, y). */
static void draw_symbol(canvas_t *cv, const style_t *st, int kind, int x, int y, int s)
{
    double cx = x + s / 2.0, cy = y + s / 2.0, r = s * 0.36;

    c_rect(cv, x, y, s, s, st->dark);
    c_rect(cv, x + s / 10, y + s / 10, s - 2 * (s / 10), s - 2 * (s / 10), st->light);
    switch (kind) {
    case 0: c_circle(cv, cx, cy, r, st->dark); break;
    case 1: {
        int h = (int)(r * 0.8);
        c_rect(cv, (int)cx - h, (int)cy - h, 2 * h, 2 * h, st->dark);
        break;
    }
    case 2: {
        double t[6] = {cx, cy - r, cx + r, cy + r * 0.8, cx - r, cy + r * 0.8};
        c_triangle(cv, t, st->dark);
        break;
    }
    default:
        c_ring(cv, cx, cy, r, r * 0.4, st->dark);
        c_rect(cv, (int)(cx - r * 0.12), (int)(cy - r * 0.12), (int)(r * 0.24) + 1,
               (int)(r * 0.24) + 1, st->dark);
        break;
    }
}

/* The border's width for a photo of pw x ph at this ratio. */
static int border_width(int pw, int ph, double ratio)
{
    int b = (int)lround((pw > ph ? pw : ph) * ratio);
    return b < 8 ? 8 : b;
}

/* Draws onto out (created here) the print of a photo whose small form is
 * sw x sh: photo, frame, pattern band and corner symbols, designed at the
 * small size and drawn at out's. photo is blitted inside: the small photo
 * itself, or the full one with the border scaled to it (then out is
 * (photo->width + 2 round(b kx)) wide, kx = photo->width / sw). */
static void draw_border(arc_photo_t *out, int sw, int sh, const arc_photo_t *photo, const char *id,
                        size_t position, double ratio, style_t *st)
{
    int b = border_width(sw, sh, ratio);
    double kx = (double)photo->width / sw, ky = (double)photo->height / sh;
    long bx = lround(b * kx), by = lround(b * ky);

    style_init(st, id, position);
    arc_photo_create(out, photo->width + 2 * (int)bx, photo->height + 2 * (int)by, st->light[0],
                     st->light[1], st->light[2]);
    /* The design's own units: the small print's pixels. */
    int W = sw + 2 * b, H = sh + 2 * b;
    canvas_t cv = {out, (double)out->width / W, (double)out->height / H};
    int gap = b / 12 > 1 ? b / 12 : 1;   /* light margin at the outer edge and round the photo */
    int frame = b / 16 > 1 ? b / 16 : 1; /* dark line round the photo */
    int band0 = gap, band1 = b - gap - frame - gap; /* the pattern lies in [band0, band1) */
    int c = (band1 - band0) / 4;                    /* four cells across the band */
    if (c < 2)
        c = 2;

    /* The pattern: cells along the four sides, as far as the corner squares. */
    for (int y = band0; y + c <= H - band0; y += c) {
        for (int x = band0; x + c <= W - band0; x += c) {
            int inside = x >= band1 && x + c <= W - band1 && y >= band1 && y + c <= H - band1;
            int corner = (x < b || x + c > W - b) && (y < b || y + c > H - b);
            if (!inside && !corner)
                draw_cell(&cv, st, x, y, c);
        }
    }
    /* The frame round the photo, then the photo. */
    c_rect(&cv, b - gap - frame, b - gap - frame, sw + 2 * (gap + frame), sh + 2 * (gap + frame),
           st->dark);
    c_rect(&cv, b - gap, b - gap, sw + 2 * gap, sh + 2 * gap, st->light);
    arc_photo_blit(out, photo, (int)bx, (int)by);
    /* Four different symbols in the corners. */
    int s = b - 2 * gap;
    draw_symbol(&cv, st, st->symbols[0], gap, gap, s);
    draw_symbol(&cv, st, st->symbols[1], W - gap - s, gap, s);
    draw_symbol(&cv, st, st->symbols[2], W - gap - s, H - gap - s, s);
    draw_symbol(&cv, st, st->symbols[3], gap, H - gap - s, s);
}

/* The print for one item, at the size the marker is compiled from. */
static void draw_print(arc_item_t *it, const char *id, size_t position, double ratio)
{
    const arc_photo_t *ph = &it->photo_rgb;
    style_t st;
    int b = border_width(ph->width, ph->height, ratio);

    draw_border(&it->print, ph->width, ph->height, ph, id, position, ratio, &st);
    it->inner_x = it->inner_y = b;
    it->inner_w = ph->width;
    it->inner_h = ph->height;
    json_object_set_new(it->photo_info, "border",
                        json_pack("{s:s, s:i, s:[i,i,i,i]}", "pattern", pattern_names[st.pattern],
                                  "width", b, "corners", st.symbols[0], st.symbols[1],
                                  st.symbols[2], st.symbols[3]));
}

/* print.jpg's long side at most, border included. */
#define PRINT_MAX_SIDE 8000

/* print<suffix>.jpg for item i (see the top), from its upload; small_jpg is
 * enhanced-photo.jpg's bytes. */
static int write_full_print(arc_job_t *job, arc_item_t *it, size_t i, const uint8_t *small_jpg,
                            size_t small_len, arc_err_t *err)
{
    int on = job->in->media.border != 0;
    double ratio = job->in->media.border_ratio;
    int side = on ? (int)(PRINT_MAX_SIDE / (1.0 + 2.0 * ratio)) : PRINT_MAX_SIDE;
    arc_photo_t full = {0}, print = {0};
    arc_photo_info_t info;
    uint8_t *jpg = NULL;
    size_t len = 0;
    char path[4200], name[64];
    int rc;

    snprintf(path, sizeof(path), "%s/%s", job->dir, it->photo);
    rc = arc_photo_load(path, job->in->media.photo_max_pixels, side, &full, &info, err);
    if (rc != 0)
        goto out;
    snprintf(name, sizeof(name), "print%s.jpg", it->suffix);
    snprintf(path, sizeof(path), "%s/%s", job->dir, name);
    if (full.width <= it->inner_w) {
        /* No more pixels than the print has: the print is print.jpg. */
        rc = arc_file_write_atomic(path, small_jpg, small_len, err);
        print.width = it->print_width;
        print.height = it->print_height;
    } else {
        if (on) {
            style_t st;
            draw_border(&print, it->inner_w, it->inner_h, &full, job->id, i, ratio, &st);
        } else {
            print = full;
            memset(&full, 0, sizeof(full));
        }
        rc = arc_photo_encode_jpeg(&print, job->in->media.jpeg_quality, &jpg, &len, err);
        if (rc == 0)
            rc = arc_file_write_atomic(path, jpg, len, err);
    }
    if (rc == 0) {
        json_array_append_new(job->files, json_string(name));
        json_object_set_new(it->photo_info, "fullPrint",
                            json_pack("{s:s, s:i, s:i}", "file", name, "width", print.width,
                                      "height", print.height));
    }
out:
    free(jpg);
    arc_photo_dispose(&full);
    arc_photo_dispose(&print);
    return rc;
}

/* The thumbnail's long side and its JPEG quality: small enough for a list
 * of many projects, sharp enough to recognise the photo. */
#define THUMB_SIDE 320
#define THUMB_QUALITY 80

/* thumbnail.jpg: the print, area-resized so that its long side is THUMB_SIDE. */
static int write_thumbnail(arc_job_t *job, const arc_photo_t *print, arc_err_t *err)
{
    int side = print->width > print->height ? print->width : print->height;
    int w = (int)lround((double)print->width * THUMB_SIDE / side);
    int h = (int)lround((double)print->height * THUMB_SIDE / side);
    arc_photo_t small = {0};
    uint8_t *jpg = NULL;
    size_t len = 0;
    char path[4200];

    arc_photo_resize(print, w < 1 ? 1 : w, h < 1 ? 1 : h, &small);
    int rc = arc_photo_encode_jpeg(&small, THUMB_QUALITY, &jpg, &len, err);
    snprintf(path, sizeof(path), "%s/thumbnail.jpg", job->dir);
    if (rc == 0)
        rc = arc_file_write_atomic(path, jpg, len, err);
    if (rc == 0)
        json_array_append_new(job->files, json_string("thumbnail.jpg"));
    free(jpg);
    arc_photo_dispose(&small);
    return rc;
}

int arc_stage_border(arc_job_t *job, arc_err_t *err)
{
    int on = job->in->media.border != 0;
    double ratio = job->in->media.border_ratio;
    int quality = job->in->media.jpeg_quality;
    int rc = 0;

    for (size_t i = 0; i < job->n_items; i++) {
        arc_item_t *it = &job->items[i];
        uint8_t *jpg = NULL;
        size_t len = 0;
        char name[64], path[4200];

        if (on) {
            draw_print(it, job->id, i, ratio);
            arc_photo_dispose(&it->photo_rgb);
        } else {
            it->print = it->photo_rgb;
            memset(&it->photo_rgb, 0, sizeof(it->photo_rgb));
            it->inner_x = it->inner_y = 0;
            it->inner_w = it->print.width;
            it->inner_h = it->print.height;
        }
        it->print_width = it->print.width;
        it->print_height = it->print.height;
        snprintf(name, sizeof(name), "enhanced-photo%s.jpg", it->suffix);
        snprintf(path, sizeof(path), "%s/%s", job->dir, name);
        rc = arc_photo_encode_jpeg(&it->print, quality, &jpg, &len, err);
        if (rc == 0)
            rc = arc_file_write_atomic(path, jpg, len, err);
        if (rc == 0)
            rc = arc_image_decode_grey(jpg, len, job->in->max_pixels, &it->grey, err);
        if (rc != 0) {
            free(jpg);
            return rc;
        }
        rc = arc_compile_check(it->grey.width, it->grey.height, job->in->max_pixels, err);
        if (rc != 0) {
            free(jpg);
            job->permanent = 1;
            return rc;
        }
        json_array_append_new(job->files, json_string(name));
        /* The full print is the printer's extra: without it (a photo too
         * large for the worker's memory, say) the project still works, and
         * the status says why there is no printUrl. */
        arc_err_t why;
        if (write_full_print(job, it, i, jpg, len, &why) != 0)
            json_object_set_new(it->photo_info, "fullPrint", json_pack("{s:s}", "error", why.msg));
        free(jpg);
        if (i == 0 && (rc = write_thumbnail(job, &it->print, err)) != 0)
            return rc;
        json_object_set_new(it->photo_info, "print",
                            json_pack("{s:i, s:i, s:{s:i, s:i, s:i, s:i}}", "width",
                                      it->print.width, "height", it->print.height, "photo", "x",
                                      it->inner_x, "y", it->inner_y, "width", it->inner_w, "height",
                                      it->inner_h));
        arc_job_progress(job, (int)((i + 1) * 100 / job->n_items));
    }
    return 0;
}
