/* Colour management: a photo's embedded ICC profile applied with lcms2, so
 * that every decoder hands out sRGB (see image_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lcms2.h>

#include "image_internal.h"

/* Up to this many pixels a photo is converted exactly: a matrix/TRC profile
 * (Display P3, Adobe RGB: nearly every photo's) by the matrix path below, in
 * float as a browser's colour engine does, which agrees with the canvas
 * MindAR's compiler decodes through (Skia) on all but 0.01% of the pixels of
 * MindAR's card.png; other profiles by lcms2's full-precision pipeline
 * (cmsFLAGS_NOOPTIMIZE, 0.3 s per megapixel). Larger photos (the print's,
 * tens of megapixels) take lcms2's optimised table, 0.03 s per megapixel,
 * off by one level on a few pixels in a thousand, which no print or marker
 * can see. */
#define EXACT_MAX_PIXELS 2000000u

struct arc__icc_s {
    cmsHTRANSFORM t; /* lcms2's transform, or NULL for the matrix path */
    int channels;
    /* The matrix path (a matrix/TRC profile, up to EXACT_MAX_PIXELS): each
     * 8-bit input's linear value per channel, and the matrix to linear sRGB. */
    float linear[3][256];
    float m[3][3];
};

/* sRGB's colorants adapted to D50, as the sRGB IEC61966-2.1 ICC profile
 * stores them (rXYZ, gXYZ, bXYZ, in s15.16): the destination browsers use.
 * (lcms2's own sRGB profile derives them from the primaries, a few 1e-5
 * off, which moves some pixels across a rounding edge.) */
static const double srgb_d50[3][3] = {{0.436065674, 0.385147095, 0.143066406},
                                      {0.222488403, 0.716873169, 0.060607910},
                                      {0.013916016, 0.097076416, 0.714096069}};

static void invert3(const double a[3][3], double inv[3][3])
{
    double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                 a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                 a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);

    inv[0][0] = (a[1][1] * a[2][2] - a[1][2] * a[2][1]) / det;
    inv[0][1] = (a[0][2] * a[2][1] - a[0][1] * a[2][2]) / det;
    inv[0][2] = (a[0][1] * a[1][2] - a[0][2] * a[1][1]) / det;
    inv[1][0] = (a[1][2] * a[2][0] - a[1][0] * a[2][2]) / det;
    inv[1][1] = (a[0][0] * a[2][2] - a[0][2] * a[2][0]) / det;
    inv[1][2] = (a[0][2] * a[1][0] - a[0][0] * a[1][2]) / det;
    inv[2][0] = (a[1][0] * a[2][1] - a[1][1] * a[2][0]) / det;
    inv[2][1] = (a[0][1] * a[2][0] - a[0][0] * a[2][1]) / det;
    inv[2][2] = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / det;
}

/* A matrix/TRC profile's own path: its curves (sampled at the 256 inputs an
 * 8-bit photo has) and colorants, then sRGB's matrix and transfer function,
 * in float, as a browser's colour engine computes them. Returns 0, or -1
 * when the profile lacks a tag. */
static int matrix_path(cmsHPROFILE in, arc__icc_t *icc)
{
    static const cmsTagSignature trc[3] = {cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag};
    static const cmsTagSignature xyz[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag,
                                           cmsSigBlueColorantTag};
    double src[3][3], inv[3][3];

    for (int c = 0; c < 3; c++) {
        const cmsToneCurve *curve = cmsReadTag(in, trc[c]);
        const cmsCIEXYZ *col = cmsReadTag(in, xyz[c]);
        if (curve == NULL || col == NULL)
            return -1;
        for (int v = 0; v < 256; v++)
            icc->linear[c][v] = cmsEvalToneCurveFloat(curve, (cmsFloat32Number)v / 255.0f);
        src[0][c] = col->X;
        src[1][c] = col->Y;
        src[2][c] = col->Z;
    }
    invert3(srgb_d50, inv);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            icc->m[r][c] =
                (float)(inv[r][0] * src[0][c] + inv[r][1] * src[1][c] + inv[r][2] * src[2][c]);
    return 0;
}

/* Linear sRGB to its 8-bit code (IEC 61966-2-1's transfer function),
 * clamped, rounded half up. */
static uint8_t srgb_encode(float v)
{
    float e = v < 0.0031308f ? 12.92f * v : 1.055f * powf(v, 1.0f / 2.4f) - 0.055f;

    if (!(e > 0.0f))
        return 0;
    if (e >= 1.0f)
        return 255;
    return (uint8_t)(e * 255.0f + 0.5f);
}

static void matrix_row(const arc__icc_t *icc, uint8_t *row, int width)
{
    for (int x = 0; x < width; x++) {
        uint8_t *p = row + (size_t)x * (size_t)icc->channels;
        float lin[3] = {icc->linear[0][p[0]], icc->linear[1][p[1]], icc->linear[2][p[2]]};
        for (int r = 0; r < 3; r++)
            p[r] =
                srgb_encode(icc->m[r][0] * lin[0] + icc->m[r][1] * lin[1] + icc->m[r][2] * lin[2]);
    }
}

/* 1 when the profile is sRGB by its description, as cameras and editors
 * embed it: nothing to convert (and converting it would only add rounding). */
static int is_srgb(cmsHPROFILE p)
{
    char desc[128] = "";

    cmsGetProfileInfoASCII(p, cmsInfoDescription, "en", "US", desc, sizeof(desc));
    return strncmp(desc, "sRGB", 4) == 0 && strstr(desc, "Linear") == NULL;
}

/* The largest profile taken: phones' and cameras' are a few kilobytes,
 * printers' up to a few hundred. */
#define MAX_PROFILE_BYTES (1u << 20)

/* The most stages a profile's lookup pipeline may have. lcms2 runs every
 * stage for every pixel (in full precision): a crafted profile of ten
 * thousand matrices, 25 KB compressed in a PNG, held a worker for minutes
 * on a 2-megapixel photo. Real ones have up to five. */
#define MAX_STAGES 16

/* 1 when one of the profile's lookup tables (AToB, DToB) is unreadable or
 * too long to run per pixel: the profile is then ignored. */
static int too_costly(cmsHPROFILE p)
{
    static const cmsTagSignature luts[] = {cmsSigAToB0Tag, cmsSigAToB1Tag, cmsSigAToB2Tag,
                                           cmsSigDToB0Tag, cmsSigDToB1Tag, cmsSigDToB2Tag,
                                           cmsSigDToB3Tag};

    for (size_t i = 0; i < sizeof(luts) / sizeof(luts[0]); i++) {
        if (!cmsIsTag(p, luts[i]))
            continue;
        const cmsPipeline *pl = cmsReadTag(p, luts[i]);
        if (pl == NULL || cmsPipelineStageCount(pl) > MAX_STAGES)
            return 1;
    }
    return 0;
}

arc__icc_t *arc__icc_new(const uint8_t *profile, size_t len, int channels, uint64_t pixels)
{
    cmsHPROFILE in = NULL, out = NULL;
    arc__icc_t *icc = NULL;

    if (profile == NULL || len < 132 || len > MAX_PROFILE_BYTES || (channels != 3 && channels != 4))
        return NULL;
    in = cmsOpenProfileFromMem(profile, (cmsUInt32Number)len);
    /* Only RGB profiles: a grey or CMYK one describes data the decoders have
     * already turned into RGB their own way. */
    if (in == NULL || cmsGetColorSpace(in) != cmsSigRgbData || is_srgb(in) || too_costly(in))
        goto out;
    if (pixels <= EXACT_MAX_PIXELS && cmsIsMatrixShaper(in)) {
        icc = arc_xcalloc(1, sizeof(*icc));
        icc->channels = channels;
        if (matrix_path(in, icc) == 0)
            goto out;
        free(icc);
        icc = NULL;
    }
    out = cmsCreate_sRGBProfile();
    if (out == NULL)
        goto out;
    cmsUInt32Number fmt = channels == 4 ? TYPE_RGBA_8 : TYPE_RGB_8;
    cmsUInt32Number flags =
        cmsFLAGS_COPY_ALPHA | (pixels <= EXACT_MAX_PIXELS ? cmsFLAGS_NOOPTIMIZE : 0);
    cmsHTRANSFORM t = cmsCreateTransform(in, fmt, out, fmt, INTENT_PERCEPTUAL, flags);
    if (t == NULL)
        goto out;
    icc = arc_xcalloc(1, sizeof(*icc));
    icc->t = t;
    icc->channels = channels;
out:
    if (in != NULL)
        cmsCloseProfile(in);
    if (out != NULL)
        cmsCloseProfile(out);
    return icc;
}

arc__icc_t *arc__icc_new_primaries(const double xy[8], int channels, uint64_t pixels)
{
    /* The sRGB tone curve (IEC 61966-2-1), as cmsCreate_sRGBProfile() uses. */
    static const cmsFloat64Number srgb[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
    cmsCIExyY white = {xy[6], xy[7], 1.0};
    cmsCIExyYTRIPLE prim = {{xy[0], xy[1], 1.0}, {xy[2], xy[3], 1.0}, {xy[4], xy[5], 1.0}};
    cmsToneCurve *curve = cmsBuildParametricToneCurve(NULL, 4, srgb);
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE in = curve != NULL ? cmsCreateRGBProfile(&white, &prim, curves) : NULL;
    arc__icc_t *icc = NULL;

    if (in != NULL) {
        cmsUInt32Number size = 0;
        /* Through memory, so that one path opens every profile. */
        if (cmsSaveProfileToMem(in, NULL, &size) && size > 0) {
            uint8_t *mem = arc_xmalloc(size);
            if (cmsSaveProfileToMem(in, mem, &size))
                icc = arc__icc_new(mem, size, channels, pixels);
            free(mem);
        }
        cmsCloseProfile(in);
    }
    if (curve != NULL)
        cmsFreeToneCurve(curve);
    return icc;
}

void arc__icc_row(arc__icc_t *icc, uint8_t *row, int width)
{
    if (icc == NULL)
        return;
    if (icc->t == NULL)
        matrix_row(icc, row, width);
    else
        cmsDoTransform(icc->t, row, row, (cmsUInt32Number)width);
}

void arc__icc_free(arc__icc_t *icc)
{
    if (icc == NULL)
        return;
    if (icc->t != NULL)
        cmsDeleteTransform(icc->t);
    free(icc);
}
