/*
 * Pipeline stage "sheet": print-sheet.pdf, the page a shop prints and cuts
 * (cairo's PDF surface). On the job's paper (10x15, 13x18, 15x21, A5 or
 * A4, turned to the photo's orientation), each pair gets a page with:
 *
 *   - its print (print.jpg, or enhanced-photo.jpg when there is none) at the
 *     largest size that fits inside the margins, or at the size asked for
 *     (sheet.photoMm, its long side), its JPEG embedded as it is when it has
 *     no more than 300 dpi at that size, else resampled to 300 dpi;
 *   - crop marks at its four corners, outside the picture;
 *   - the project's QR code, as vectors (one rectangle a run of dark
 *     modules), with its caption below it ("Scan to bring the photo to life",
 *     or in Russian), beside or below the photo, wherever the photo is
 *     larger.
 *
 * The caption's font is found before the worker's sandbox shuts the door
 * (arc_sheet_prepare(): fontconfig reads its configuration and caches then);
 * in the sandbox the stage only opens that font file with FreeType.
 *
 * The sheet is the printer's extra, as print.jpg is: a sheet that cannot
 * be made (a photoMm that does not fit the paper, no font) leaves the job
 * ready, without printSheetUrl, and the reason in photo.printSheet.error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-ft.h>
#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#include "arcd/buf.h"
#include "arcd/file.h"
#include "arcd/worker.h"

#define PT_PER_MM (72.0 / 25.4)
#define SHEET_DPI 300.0   /* the embedded photo's resolution at most */
#define MARK_FROM_MM 2.0  /* a crop mark starts this far from the corner */
#define MARK_TO_MM 5.0    /* and ends here (ARC_SHEET_MARKS_MM leaves a gap after) */
#define MARK_WIDTH_MM 0.2 /* hairline, as printers' marks are */
/* The prints are the worker's own files, up to 8000 px a side: the uploads'
 * limit (photo.maxPixels) is not theirs, a border adds half as many pixels
 * again to a photo just under it. */
#define SHEET_MAX_PIXELS (8000ull * 8000ull)

/* ---- the caption's font, found before the sandbox ---- */

static char font_file[4096];
static int font_index;
static int font_looked;
/* The caption's face, made at the first sheet and kept for the process's
 * life: cairo's caches hold faces beyond any one sheet. */
static FT_Library ft_lib;
static FT_Face ft_face;
static cairo_font_face_t *caption_font;

int arc_sheet_prepare(void)
{
    if (font_looked)
        return font_file[0] != '\0' ? 0 : ARC_EUNAVAIL;
    font_looked = 1;
    /* A sans-serif face that has both captions' letters. */
    FcPattern *pat = FcNameParse((const FcChar8 *)"sans-serif:lang=ru:lang=en");
    FcPattern *match = NULL;
    FcResult res;
    FcChar8 *file = NULL;
    int index = 0;

    if (pat == NULL || !FcConfigSubstitute(NULL, pat, FcMatchPattern))
        goto out;
    FcDefaultSubstitute(pat);
    match = FcFontMatch(NULL, pat, &res);
    if (match == NULL || FcPatternGetString(match, FC_FILE, 0, &file) != FcResultMatch)
        goto out;
    if (FcPatternGetInteger(match, FC_INDEX, 0, &index) != FcResultMatch)
        index = 0;
    FcCharSet *cs = NULL;
    /* Cyrillic Ж and Latin; a face without them would draw boxes. */
    if (FcPatternGetCharSet(match, FC_CHARSET, 0, &cs) == FcResultMatch &&
        FcCharSetHasChar(cs, 0x0416) && FcCharSetHasChar(cs, 'Q'))
        snprintf(font_file, sizeof(font_file), "%s", (const char *)file);
    font_index = index;
out:
    if (match != NULL)
        FcPatternDestroy(match);
    if (pat != NULL)
        FcPatternDestroy(pat);
    /* Nothing asks fontconfig again (FreeType reads the file): its
     * configuration and caches go now. */
    FcFini();
    return font_file[0] != '\0' ? 0 : ARC_EUNAVAIL;
}

/* ---- the layout ---- */

/* The largest photo of aspect inside avail_w x avail_h, or the one of
 * long side mm; 0 when it does not fit. */
static int fit_photo(double aspect, double mm, double avail_w, double avail_h, double *w, double *h)
{
    if (avail_w <= 0 || avail_h <= 0)
        return 0;
    if (mm > 0) {
        *w = aspect >= 1 ? mm : mm * aspect;
        *h = aspect >= 1 ? mm / aspect : mm;
    } else {
        *w = fmin(avail_w, avail_h * aspect);
        *h = *w / aspect;
    }
    /* A hundredth of a millimetre: the rounding of the sums above. */
    return *w <= avail_w + 0.01 && *h <= avail_h + 0.01;
}

int arc_sheet_layout(const arc_paper_t *paper, double aspect, double photo_mm, double block_w,
                     double block_h, arc_sheet_layout_t *out, arc_err_t *err)
{
    const double m = ARC_SHEET_MARGIN_MM, k = ARC_SHEET_MARKS_MM;
    double below_w = 0, below_h = 0, beside_w = 0, beside_h = 0;

    memset(out, 0, sizeof(*out));
    if (!(aspect > 0.01 && aspect < 100))
        return arc_err_set(err, ARC_EINVAL, "a photo of aspect %g cannot be laid out", aspect);
    if (photo_mm > 0 && photo_mm < ARC_SHEET_MIN_MM)
        return arc_err_set(err, ARC_EINVAL, "a printed photo is at least %.0f mm on its long side",
                           ARC_SHEET_MIN_MM);
    out->landscape = aspect > 1;
    out->page_w = out->landscape ? paper->height_mm : paper->width_mm;
    out->page_h = out->landscape ? paper->width_mm : paper->height_mm;
    double pw = out->page_w, ph = out->page_h;

    /* The QR block below the photo, or beside it (right). The crop marks'
     * band is on every side of the photo; the block begins after it. */
    int below = block_w <= pw - 2 * m && fit_photo(aspect, photo_mm, pw - 2 * (m + k),
                                                   ph - 2 * (m + k) - block_h, &below_w, &below_h);
    int beside = block_h <= ph - 2 * m && fit_photo(aspect, photo_mm, pw - 2 * (m + k) - block_w,
                                                    ph - 2 * (m + k), &beside_w, &beside_h);
    if (!below && !beside) {
        double w = 0, h = 0, most;
        fit_photo(aspect, 0, pw - 2 * (m + k), ph - 2 * (m + k) - block_h, &w, &h);
        most = fmax(w, h);
        fit_photo(aspect, 0, pw - 2 * (m + k) - block_w, ph - 2 * (m + k), &w, &h);
        most = fmax(most, fmax(w, h));
        if (photo_mm > 0)
            return arc_err_set(err, ARC_EINVAL,
                               "a photo of %.0f mm does not fit on %s with its QR code and crop "
                               "marks: at most %.0f mm for this photo",
                               photo_mm, paper->name, floor(most));
        return arc_err_set(err, ARC_EINVAL, "the photo does not fit on %s", paper->name);
    }
    if (below && (!beside || below_w * below_h >= beside_w * beside_h)) {
        /* Photo, marks' band, QR block: the column centred on the page, the
         * block under the photo's right edge. */
        double column = k + below_h + k + block_h;
        out->photo_w = below_w, out->photo_h = below_h;
        out->photo_x = (pw - below_w) / 2;
        out->photo_y = (ph - column) / 2 + k;
        out->block_x = fmax(m, out->photo_x + below_w - block_w);
        out->block_y = out->photo_y + below_h + k;
    } else {
        double row = k + beside_w + k + block_w;
        out->photo_w = beside_w, out->photo_h = beside_h;
        out->photo_x = (pw - row) / 2 + k;
        out->photo_y = (ph - beside_h) / 2;
        out->block_x = out->photo_x + beside_w + k;
        out->block_y = fmax(m, out->photo_y + beside_h - block_h);
    }
    return 0;
}

/* ---- drawing ---- */

static const char *caption_text(const char *lang)
{
    return strcmp(lang, "ru") == 0 ? "Отсканируйте, чтобы оживить фото"
                                   : "Scan to bring the photo to life";
}

/* The QR code's side, quiet zone included, and the caption's size (pt) for
 * a page whose short side is short_mm: larger paper, larger code. */
static double qr_side_mm(double short_mm)
{
    return fmin(30, fmax(20, short_mm * 0.13));
}

static double caption_pt(double short_mm)
{
    return fmin(10, fmax(7, short_mm * 0.045));
}

/* Splits the caption into lines no wider than width (pt) at its spaces:
 * lines[] gets the offsets where each starts; returns their number (at most
 * max). The cairo context has the caption's font set. */
static int wrap_caption(cairo_t *cr, const char *text, double width, size_t starts[], size_t ends[],
                        int max)
{
    size_t len = strlen(text), start = 0;
    int n = 0;

    while (start < len && n < max) {
        size_t end = len, best = 0;
        /* The longest run of whole words from start that fits. */
        for (size_t i = start; i <= len; i++) {
            if (i != len && text[i] != ' ')
                continue;
            char line[256];
            snprintf(line, sizeof(line), "%.*s", (int)(i - start), text + start);
            cairo_text_extents_t ext;
            cairo_text_extents(cr, line, &ext);
            if (ext.x_advance <= width || best == 0)
                best = i;
            if (ext.x_advance > width)
                break;
        }
        end = best;
        starts[n] = start;
        ends[n] = end;
        n++;
        start = end;
        while (start < len && text[start] == ' ')
            start++;
    }
    return n;
}

/* The QR code as filled rectangles, its quiet zone white under it: at
 * (x, y) pt, side pt, quiet zone included. */
static void draw_qr(cairo_t *cr, const arc_qr_t *qr, double x, double y, double side)
{
    double mod = side / (qr->width + 2 * ARC_QR_QUIET);

    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x, y, side, side);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int row = 0; row < qr->width; row++)
        for (int col = 0; col < qr->width;) {
            int run = arc_qr_run(qr, col, row);
            if (run == 0) {
                col++;
                continue;
            }
            cairo_rectangle(cr, x + (col + ARC_QR_QUIET) * mod, y + (row + ARC_QR_QUIET) * mod,
                            run * mod, mod);
            col += run;
        }
    /* One fill, the winding rule irrelevant: no two rectangles overlap. */
    cairo_fill(cr);
}

/* Two short lines at each of the photo's corners, in line with its edges
 * and clear of it, for the cutter. */
static void draw_crop_marks(cairo_t *cr, double x, double y, double w, double h)
{
    const double a = MARK_FROM_MM * PT_PER_MM, b = MARK_TO_MM * PT_PER_MM;
    const double xs[2] = {x, x + w}, ys[2] = {y, y + h};

    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, MARK_WIDTH_MM * PT_PER_MM);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double dx = i == 0 ? -1 : 1, dy = j == 0 ? -1 : 1;
            cairo_move_to(cr, xs[i] + dx * a, ys[j]);
            cairo_line_to(cr, xs[i] + dx * b, ys[j]);
            cairo_move_to(cr, xs[i], ys[j] + dy * a);
            cairo_line_to(cr, xs[i], ys[j] + dy * b);
        }
    cairo_stroke(cr);
}

/* The photo's pixels as a cairo surface (RGB24) with its JPEG attached, so
 * that the PDF carries the JPEG itself, not the pixels again. */
static cairo_surface_t *photo_surface(const arc_photo_t *p, uint8_t *jpg, size_t len)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, p->width, p->height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        free(jpg);
        return s;
    }
    cairo_surface_flush(s);
    uint8_t *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < p->height; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
        const uint8_t *src = p->data + (size_t)y * (size_t)p->width * 3;
        for (int x = 0; x < p->width; x++, src += 3)
            row[x] = 0xff000000u | (uint32_t)src[0] << 16 | (uint32_t)src[1] << 8 | src[2];
    }
    cairo_surface_mark_dirty(s);
    /* cairo frees the JPEG with the surface. */
    if (cairo_surface_set_mime_data(s, CAIRO_MIME_TYPE_JPEG, jpg, len, free, jpg) !=
        CAIRO_STATUS_SUCCESS)
        free(jpg);
    return s;
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    arc_buf_append(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

typedef struct sheet_s {
    arc_job_t *job;
    const arc_paper_t *paper;
    arc_qr_t qr;
    cairo_surface_t *pdf;
    cairo_t *cr;
    arc_buf_t out;
} sheet_t;

/* Item i's page: its print laid out with the QR block. info gets what the
 * status tells of it. */
static int draw_page(sheet_t *sh, size_t i, json_t *info, arc_err_t *err)
{
    arc_job_t *job = sh->job;
    arc_item_t *it = &job->items[i];
    const char *lang = job->in->sheet.language, *text = caption_text(lang);
    char path[4200], name[64];
    uint8_t *file = NULL, *jpg = NULL;
    size_t file_len = 0, jpg_len = 0;
    arc_photo_t photo = {0};
    arc_photo_info_t pinfo;
    arc_sheet_layout_t lay;
    size_t starts[4], ends[4];
    int rc;

    /* The full-resolution print when the border stage made one. */
    const char *full =
        json_string_value(json_object_get(json_object_get(it->photo_info, "fullPrint"), "file"));
    if (full != NULL)
        snprintf(name, sizeof(name), "%s", full);
    else
        snprintf(name, sizeof(name), "enhanced-photo%s.jpg", it->suffix);
    snprintf(path, sizeof(path), "%s/%s", job->dir, name);
    if (it->print_width <= 0 || it->print_height <= 0)
        return arc_err_set(err, ARC_EINVAL, "the print's size is unknown");
    double aspect = (double)it->print_width / it->print_height;

    /* The QR block: the code, then the caption's lines under it. */
    double short_mm = fmin(sh->paper->width_mm, sh->paper->height_mm);
    double qr_mm = qr_side_mm(short_mm), font_pt = caption_pt(short_mm);
    double block_w = qr_mm * 1.6, line_mm = font_pt * 1.3 / PT_PER_MM;
    cairo_set_font_face(sh->cr, caption_font);
    cairo_set_font_size(sh->cr, font_pt);
    int lines = wrap_caption(sh->cr, text, block_w * PT_PER_MM, starts, ends, 4);
    double block_h = qr_mm + lines * line_mm;
    if ((rc = arc_sheet_layout(sh->paper, aspect, job->in->sheet.photo_mm, block_w, block_h, &lay,
                               err)) != 0)
        return rc;

    /* The photo at 300 dpi at most: its own JPEG when it has no more. */
    int want = (int)ceil(fmax(lay.photo_w, lay.photo_h) / 25.4 * SHEET_DPI);
    if ((rc = arc_file_read_all(path, (size_t)1 << 30, &file, &file_len, err)) != 0 ||
        (rc = arc_photo_decode(file, file_len, SHEET_MAX_PIXELS, want, &photo, &pinfo, err)) != 0)
        goto out;
    if (pinfo.stored_width == photo.width && pinfo.stored_height == photo.height &&
        pinfo.orientation == 1) {
        jpg = file, jpg_len = file_len;
        file = NULL;
    } else if ((rc = arc_photo_encode_jpeg(&photo, job->in->media.jpeg_quality, &jpg, &jpg_len,
                                           err)) != 0) {
        goto out;
    }
    arc_job_progress(job, (int)((i * 100 + 50) / job->n_items));

    cairo_pdf_surface_set_size(sh->pdf, lay.page_w * PT_PER_MM, lay.page_h * PT_PER_MM);
    cairo_t *cr = sh->cr;
    double x = lay.photo_x * PT_PER_MM, y = lay.photo_y * PT_PER_MM;
    double w = lay.photo_w * PT_PER_MM, h = lay.photo_h * PT_PER_MM;
    cairo_surface_t *img = photo_surface(&photo, jpg, jpg_len);
    jpg = NULL; /* the surface's now */
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, w / photo.width, h / photo.height);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    draw_crop_marks(cr, x, y, w, h);

    double bx = lay.block_x * PT_PER_MM, by = lay.block_y * PT_PER_MM;
    double qside = qr_mm * PT_PER_MM, bw = block_w * PT_PER_MM;
    draw_qr(cr, &sh->qr, bx + (bw - qside) / 2, by, qside);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    for (int l = 0; l < lines; l++) {
        char line[256];
        cairo_text_extents_t ext;
        snprintf(line, sizeof(line), "%.*s", (int)(ends[l] - starts[l]), text + starts[l]);
        cairo_text_extents(cr, line, &ext);
        cairo_move_to(cr, bx + (bw - ext.x_advance) / 2,
                      by + qside + (l + 0.8) * line_mm * PT_PER_MM);
        cairo_show_text(cr, line);
    }
    cairo_show_page(cr);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        rc = arc_err_set(err, ARC_EINTERNAL, "cairo: %s", cairo_status_to_string(cairo_status(cr)));
        goto out;
    }
    json_object_set_new(
        info, "pages",
        json_pack("{s:s, s:s, s:[f,f], s:{s:f, s:f, s:f, s:f}, s:{s:f, s:f, s:f}, s:i, s:s}",
                  "photo", name, "orientation", lay.landscape ? "landscape" : "portrait", "pageMm",
                  lay.page_w, lay.page_h, "photoMm", "x", lay.photo_x, "y", lay.photo_y, "width",
                  lay.photo_w, "height", lay.photo_h, "qrMm", "x",
                  lay.block_x + (block_w - qr_mm) / 2, "y", lay.block_y, "side", qr_mm, "dpi",
                  (int)lround(photo.width / (lay.photo_w / 25.4)), "caption", text));
out:
    free(file);
    free(jpg);
    arc_photo_dispose(&photo);
    return rc;
}

/* The whole sheet into sh->out. */
static int draw_sheet(sheet_t *sh, json_t *info, arc_err_t *err)
{
    arc_job_t *job = sh->job;
    int rc;

    if (arc_sheet_prepare() != 0)
        return arc_err_set(err, ARC_EUNAVAIL,
                           "no font with Latin and Cyrillic letters for the caption (install "
                           "fonts-dejavu-core)");
    if (caption_font == NULL) {
        if ((ft_lib == NULL && FT_Init_FreeType(&ft_lib) != 0) ||
            FT_New_Face(ft_lib, font_file, font_index, &ft_face) != 0)
            return arc_err_set(err, ARC_EIO, "FreeType cannot read the font %s", font_file);
        caption_font = cairo_ft_font_face_create_for_ft_face(ft_face, 0);
    }
    if ((rc = arc_qr_make(job->in->view_url, &sh->qr, err)) != 0)
        return rc;
    /* The first page's size is set again by each page. */
    sh->pdf = cairo_pdf_surface_create_for_stream(to_buf, &sh->out, 100, 100);
    cairo_pdf_surface_set_metadata(sh->pdf, CAIRO_PDF_METADATA_TITLE, "Print sheet");
    cairo_pdf_surface_set_metadata(sh->pdf, CAIRO_PDF_METADATA_CREATOR, "arcd");
    sh->cr = cairo_create(sh->pdf);
    json_t *pages = json_array();
    for (size_t i = 0; i < job->n_items && rc == 0; i++) {
        json_t *page = json_object();
        rc = draw_page(sh, i, page, err);
        if (rc != 0 && job->n_items > 1) {
            /* Which pair's page could not be made. */
            char msg[sizeof(err->msg)];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            arc_err_set(err, rc, "photo %zu: %s", i + 1, msg);
        }
        json_array_append(pages, json_object_get(page, "pages"));
        json_decref(page);
    }
    json_object_set_new(info, "pages", pages);
    if (rc != 0)
        return rc;
    cairo_destroy(sh->cr);
    sh->cr = NULL;
    cairo_surface_finish(sh->pdf);
    if (cairo_surface_status(sh->pdf) != CAIRO_STATUS_SUCCESS)
        return arc_err_set(err, ARC_EINTERNAL, "cairo: %s",
                           cairo_status_to_string(cairo_surface_status(sh->pdf)));
    return 0;
}

int arc_stage_sheet(arc_job_t *job, arc_err_t *err)
{
    sheet_t sh = {.job = job, .paper = arc_paper_find(job->in->sheet.paper)};
    json_t *info = json_object();
    arc_err_t why = {{0}};
    char path[4200];
    int rc;

    if (sh.paper == NULL) {
        json_decref(info);
        return arc_err_set(err, ARC_EINVAL, "the paper %s is unknown", job->in->sheet.paper);
    }
    json_object_set_new(info, "paper", json_string(sh.paper->name));
    if (job->in->sheet.photo_mm > 0)
        json_object_set_new(info, "photoMmAsked", json_real(job->in->sheet.photo_mm));
    /* An earlier run's sheet goes first: one this run cannot make must not
     * stay downloadable beside the new print (the status drops its URL). */
    snprintf(path, sizeof(path), "%s/print-sheet.pdf", job->dir);
    if (unlink(path) != 0 && errno != ENOENT) {
        json_decref(info);
        return arc_err_set(err, ARC_EIO, "cannot remove the old %s: %s", path, strerror(errno));
    }
    rc = draw_sheet(&sh, info, &why);
    if (rc == 0)
        rc = arc_file_write_atomic(path, sh.out.data, sh.out.len, &why);
    if (rc == 0) {
        json_array_append_new(job->files, json_string("print-sheet.pdf"));
        json_object_set_new(info, "file", json_string("print-sheet.pdf"));
        json_object_set_new(info, "bytes", json_integer((json_int_t)sh.out.len));
    } else {
        /* The printer's extra: the job stays good without it. */
        json_object_set_new(info, "error", json_string(why.msg));
    }
    if (job->n_items > 0 && job->items[0].photo_info != NULL)
        json_object_set(job->items[0].photo_info, "printSheet", info);
    json_decref(info);
    if (sh.cr != NULL)
        cairo_destroy(sh.cr);
    if (sh.pdf != NULL)
        cairo_surface_destroy(sh.pdf);
    arc_qr_dispose(&sh.qr);
    arc_buf_dispose(&sh.out);
    return 0;
}
