/*
 * Pipeline stage "qr": the QR code that leads a phone to the project's view
 * page (ARCD_PUBLIC_URL + /ar/view/<id>), with libqrencode at error
 * correction level M and the standard 4-module quiet zone, as qr-code.png
 * (libpng, 1-bit grey, 10 px a module) for screens and qr-code.svg for
 * print. arc_qr_make() gives the same code's modules to the print sheet.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "arcd/worker.h"

#define QUIET ARC_QR_QUIET /* modules of white around the code */
#define MODULE 10          /* pixels per module in the PNG */

int arc_qr_make(const char *url, arc_qr_t *out, arc_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (url == NULL || url[0] == '\0')
        return arc_err_set(err, ARC_EINVAL, "the job has no view URL for the QR code");
    QRcode *qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return arc_err_set(err, ARC_EINVAL, "libqrencode could not encode %s", url);
    size_t n = (size_t)qr->width * (size_t)qr->width;
    out->width = qr->width;
    out->dark = arc_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        out->dark[i] = qr->data[i] & 1;
    QRcode_free(qr);
    return 0;
}

void arc_qr_dispose(arc_qr_t *qr)
{
    free(qr->dark);
    memset(qr, 0, sizeof(*qr));
}

int arc_qr_run(const arc_qr_t *qr, int x, int y)
{
    int run = 0;
    while (x + run < qr->width && qr->dark[y * qr->width + x + run])
        run++;
    return run;
}

static int write_png(const arc_qr_t *qr, const char *path, arc_err_t *err)
{
    int side = (qr->width + 2 * QUIET) * MODULE;
    size_t stride = ((size_t)side + 7) / 8;
    png_bytep row = arc_xcalloc(stride, 1);
    png_structp png = NULL;
    png_infop info = NULL;
    char tmp[4200];
    FILE *f = NULL;
    int rc = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        rc = arc_err_set(err, ARC_EIO, "cannot write %s", tmp);
        goto out;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        rc = arc_err_set(err, ARC_EIO, "libpng could not write the QR code");
        goto out;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 1, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < side; y++) {
        int my = y / MODULE - QUIET;
        memset(row, 0xff, stride);
        for (int x = 0; x < side; x++) {
            int mx = x / MODULE - QUIET;
            int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
                       qr->dark[my * qr->width + mx];
            if (dark)
                row[x / 8] &= (png_byte) ~(0x80 >> (x % 8));
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
out:
    if (png != NULL)
        png_destroy_write_struct(&png, info ? &info : NULL);
    if (f != NULL && fclose(f) != 0 && rc == 0)
        rc = arc_err_set(err, ARC_EIO, "cannot write %s", tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = arc_err_set(err, ARC_EIO, "cannot move %s into place", path);
    if (rc != 0)
        remove(tmp);
    free(row);
    return rc;
}

static int write_svg(const arc_qr_t *qr, const char *path, arc_err_t *err)
{
    int side = qr->width + 2 * QUIET;
    size_t cap = 256 + (size_t)qr->width * (size_t)qr->width * 24;
    char *svg = arc_xmalloc(cap);
    int n = snprintf(svg, cap,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                     "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
                     "fill=\"#fff\"/><path fill=\"#000\" d=\"",
                     side, side, side, side);
    /* One path: a run of dark modules in a row is one rectangle. */
    for (int y = 0; y < qr->width; y++) {
        for (int x = 0; x < qr->width;) {
            int run = arc_qr_run(qr, x, y);
            if (run == 0) {
                x++;
                continue;
            }
            n += snprintf(svg + n, cap - (size_t)n, "M%d %dh%dv1h-%dz", x + QUIET, y + QUIET, run,
                          run);
            x += run;
        }
    }
    n += snprintf(svg + n, cap - (size_t)n, "\"/></svg>\n");
    int rc = arc_file_write_atomic(path, svg, (size_t)n, err);
    free(svg);
    return rc;
}

int arc_stage_qr(arc_job_t *job, arc_err_t *err)
{
    char path[4200];
    arc_qr_t qr;
    int rc;

    if ((rc = arc_qr_make(job->in->view_url, &qr, err)) != 0)
        return rc;
    snprintf(path, sizeof(path), "%s/qr-code.png", job->dir);
    rc = write_png(&qr, path, err);
    arc_job_progress(job, 50);
    if (rc == 0) {
        snprintf(path, sizeof(path), "%s/qr-code.svg", job->dir);
        rc = write_svg(&qr, path, err);
    }
    arc_qr_dispose(&qr);
    if (rc != 0)
        return rc;
    json_array_append_new(job->files, json_string("qr-code.png"));
    json_array_append_new(job->files, json_string("qr-code.svg"));
    return 0;
}
