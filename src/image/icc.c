/* Colour management: a photo's embedded ICC profile applied as Skia (a
 * browser's canvas) applies it, or with lcms2, so that every decoder hands
 * out sRGB (see image_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lcms2.h>

#include "image_internal.h"

/* Matrix/TRC profiles (Display P3 from phones, Adobe RGB from cameras,
 * a Mac's display profile: nearly every photo's) are handled as Skia
 * handles them. Skia is the colour engine of Chrome's canvas, where MindAR's
 * compiler normally runs, and of the node canvas its reference compiler
 * reads pixels through, so the marker arcd compiles from such a photo is the
 * one MindAR would compile. Skia's steps, followed here (skia_path()):
 * skcms reads the tags (a malformed curve: the profile is ignored and the
 * pixels taken as sRGB); SkColorSpace::Make() reduces the curves to one
 * transfer function (a parametric one as it is, tables as sRGB's when
 * within 1/512 of it) and snaps it to sRGB, 2.2 or linear within 0.001, and
 * near-sRGB colorants (within 0.01) to sRGB's with sRGB's or the linear
 * curve; the decoder converts with skcms when the profile and that colour
 * space differ by more than a level, which lcms2 stands in for here (within
 * a level of skcms); otherwise the canvas converts while drawing, unless the
 * colour space is sRGB. That drawing is repeated exactly: the raster
 * pipeline linearises, multiplies by the gamut matrix and encodes with
 * sRGB's inverse in float, with fused multiply-adds and its own
 * approximations of log2 and exp2 (its build for processors with AVX2 and
 * FMA, which every x86 machine of the last ten years runs), and rounds half
 * to even. tests/src/image/test_icc.c holds arcd to Skia's bytes for all
 * 16.7 million 8-bit colours with nine such profiles, to Skia's "as it is"
 * for three, and within a level for four where Skia's decoder converts.
 * The drawing takes 0.04-0.07 s per megapixel and serves photos up to
 * EXACT_MAX_PIXELS (markers); larger ones (prints) take lcms2's optimised
 * table from the same colour space, 0.01 s per megapixel and within a level
 * of Skia (5-13% of the colours a level off). Profiles with lookup tables
 * take lcms2's full-precision pipeline up to EXACT_MAX_PIXELS (0.3 s per
 * megapixel) and its optimised table above. */
#define EXACT_MAX_PIXELS 2000000u

/* A transfer function in skcms's form: y = (a x + b)^g + e for x >= d,
 * c x + f below. */
typedef struct {
    float g, a, b, c, d, e, f;
} tf_t;

struct arc__icc_s {
    cmsHTRANSFORM t; /* lcms2's transform, or NULL for Skia's path */
    int channels;
    /* Skia's path: each 8-bit input's linear value per channel, the gamut
     * matrix (column-major, as Skia's matrix_3x3 stage takes it) and sRGB's
     * inverse transfer function. */
    float linear[3][256];
    float m[9];
    int gamut; /* 0 when the profile's colorants are sRGB's: no matrix */
    tf_t encode;
    /* The colour space Skia made of the profile (a large photo's lcms2
     * transform starts from it). */
    tf_t cs_tf;
    float cs[3][3];
};

/* sRGB as Skia names it: its transfer function, and its colorants adapted to
 * D50 as the sRGB IEC61966-2.1 ICC profile stores them (s15.16). */
static const tf_t srgb_tf = {
    2.4f, (float)(1 / 1.055), (float)(0.055 / 1.055), (float)(1 / 12.92), 0.04045f, 0.0f, 0.0f};
static const float srgb_d50[3][3] = {{0.436065674f, 0.385147095f, 0.143066406f},
                                     {0.222488403f, 0.716873169f, 0.060607910f},
                                     {0.013916016f, 0.097076416f, 0.714096069f}};

static float bits_float(int32_t bits)
{
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

static int32_t float_bits(float f)
{
    int32_t bits;

    memcpy(&bits, &f, sizeof(bits));
    return bits;
}

/* ---- skcms's scalar arithmetic (building the transform) ---- */

/* log2 and exp2 as skcms approximates them (its powf_). */
static float scalar_log2(float x)
{
    int32_t bits = float_bits(x);
    float e = (float)bits * (1.0f / (1 << 23));
    float m = bits_float((bits & 0x007fffff) | 0x3f000000);

    return e - 124.225514990f - 1.498030302f * m - 1.725879990f / (0.3520887068f + m);
}

static float scalar_exp2(float x)
{
    if (x > 128.0f)
        return INFINITY;
    if (x < -127.0f)
        return 0.0f;
    float fract = x - floorf(x);
    float fbits = (1.0f * (1 << 23)) * (x + 121.274057500f - 1.490129070f * fract +
                                        27.728023300f / (4.84252568f - fract));
    if (fbits >= (float)INT32_MAX)
        return INFINITY;
    if (fbits < 0)
        return 0.0f;
    return bits_float((int32_t)fbits);
}

static float scalar_pow(float x, float y)
{
    return x == 0 || x == 1 ? x : scalar_exp2(scalar_log2(x) * y);
}

static float tf_eval(const tf_t *tf, float x)
{
    float sign = x < 0 ? -1.0f : 1.0f;

    x *= sign;
    return sign * (x < tf->d ? tf->c * x + tf->f : scalar_pow(tf->a * x + tf->b, tf->g) + tf->e);
}

/* 1 when skcms takes tf as a usable (sRGB-like) function. */
static int tf_valid(const tf_t *tf)
{
    return isfinite(tf->a + tf->b + tf->c + tf->d + tf->e + tf->f + tf->g) && tf->a >= 0 &&
           tf->c >= 0 && tf->d >= 0 && tf->g >= 0 && tf->a * tf->d + tf->b >= 0;
}

/* skcms_TransferFunction_invert() for an sRGB-like function. */
static int tf_invert(const tf_t *src, tf_t *inv)
{
    memset(inv, 0, sizeof(*inv));
    float d_l = src->c * src->d + src->f;
    float d_r = scalar_pow(src->a * src->d + src->b, src->g) + src->e;
    if (fabsf(d_l - d_r) > 1 / 512.0f)
        return -1;
    inv->d = d_l;
    if (inv->d > 0) {
        inv->c = 1.0f / src->c;
        inv->f = -src->f / src->c;
    }
    float k = scalar_pow(src->a, -src->g);
    inv->g = 1.0f / src->g;
    inv->a = k;
    inv->b = -k * src->e;
    inv->e = -src->b / src->a;
    if (inv->a < 0)
        return -1;
    if (inv->a * inv->d + inv->b < 0)
        inv->b = -inv->a * inv->d;
    if (!tf_valid(inv))
        return -1;
    /* inv(src(1)) == 1, exactly. */
    float s = tf_eval(src, 1.0f);
    if (!isfinite(s))
        return -1;
    float sign = s < 0 ? -1.0f : 1.0f;
    s *= sign;
    if (s < inv->d)
        inv->f = 1.0f - sign * inv->c * s;
    else
        inv->e = 1.0f - sign * scalar_pow(inv->a * s + inv->b, inv->g);
    return tf_valid(inv) ? 0 : -1;
}

/* skcms_Matrix3x3_invert(): in double, stored as float. */
static int matrix_invert(const float a[3][3], float inv[3][3])
{
    double a00 = a[0][0], a01 = a[0][1], a02 = a[0][2];
    double a10 = a[1][0], a11 = a[1][1], a12 = a[1][2];
    double a20 = a[2][0], a21 = a[2][1], a22 = a[2][2];
    double b0 = a00 * a11 - a01 * a10, b1 = a00 * a12 - a02 * a10, b2 = a01 * a12 - a02 * a11;
    double b3 = a20, b4 = a21, b5 = a22;
    double det = b0 * b5 - b1 * b4 + b2 * b3;

    if (det == 0)
        return -1;
    double invdet = 1.0 / det;
    if (!isfinite((float)invdet))
        return -1;
    b0 *= invdet;
    b1 *= invdet;
    b2 *= invdet;
    b3 *= invdet;
    b4 *= invdet;
    b5 *= invdet;
    inv[0][0] = (float)(a11 * b5 - a12 * b4);
    inv[0][1] = (float)(a02 * b4 - a01 * b5);
    inv[0][2] = (float)(+b2);
    inv[1][0] = (float)(a12 * b3 - a10 * b5);
    inv[1][1] = (float)(a00 * b5 - a02 * b3);
    inv[1][2] = (float)(-b1);
    inv[2][0] = (float)(a10 * b4 - a11 * b3);
    inv[2][1] = (float)(a01 * b3 - a00 * b4);
    inv[2][2] = (float)(+b0);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            if (!isfinite(inv[r][c]))
                return -1;
    return 0;
}

/* ---- the raster pipeline's arithmetic (per pixel) ---- */

/* Inlined into each of skia_row()'s two builds, so that the FMA one runs
 * them with FMA instructions too. */
#define PIPE_INLINE static inline __attribute__((always_inline))

/* The pipeline's log2 and exp2. Its FMA build fuses the multiply and the
 * subtraction that follows it (clang contracts them), as fmaf() writes here;
 * its mad() is a fused multiply-add outright. */
PIPE_INLINE float pipe_log2(float x)
{
    int32_t bits = float_bits(x);
    float e = (float)(uint32_t)bits * (1.0f / (1 << 23));
    float m = bits_float((bits & 0x007fffff) | 0x3f000000);

    return fmaf(-1.498030302f, m, e - 124.225514990f) - 1.725879990f / (0.3520887068f + m);
}

PIPE_INLINE float pipe_exp2(float x)
{
    float f = x - floorf(x);
    float approx = fmaf(-f, 1.490129070f, x + 121.274057500f);

    approx += 27.728023300f / (4.84252568f - f);
    approx *= 1.0f * (1 << 23);
    approx = approx > 0.0f ? approx : 0.0f;
    approx = approx < (float)0x7f800000 ? approx : (float)0x7f800000;
    return bits_float((int32_t)lrintf(approx));
}

PIPE_INLINE float pipe_pow(float x, float y)
{
    return x == 0 || x == 1 ? x : pipe_exp2(pipe_log2(x) * y);
}

/* The parametric (or, for a pure power, gamma) stage, on |v| with v's sign. */
PIPE_INLINE float pipe_tf(const tf_t *tf, float v)
{
    float a = fabsf(v), r;

    if (tf->a == 1 && tf->b == 0 && tf->c == 0 && tf->d == 0 && tf->e == 0 && tf->f == 0)
        r = pipe_pow(a, tf->g);
    else
        r = a <= tf->d ? fmaf(tf->c, a, tf->f) : pipe_pow(fmaf(tf->a, a, tf->b), tf->g) + tf->e;
    return copysignf(r, v);
}

/* 0..1 to 8 bits: clamped, rounded half to even. */
PIPE_INLINE uint8_t pipe_unorm(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 1.0f)
        return 255;
    return (uint8_t)lrintf(v * 255.0f);
}

/* ---- the profile as skcms reads it ---- */

/* One tone curve: a parametric function, or a table of entries (0..65535,
 * read from the tag's big-endian 16-bit values). */
typedef struct {
    tf_t fn;
    uint32_t entries;
    uint16_t *table;
} curve_t;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static float be_fixed(const uint8_t *p)
{
    return (float)(int32_t)be32(p) * (1.0f / 65536.0f);
}

/* Reads a curv or para tag as skcms does. Returns 0, or -1 when the tag is
 * missing, malformed or of another type. */
static int read_curve(cmsHPROFILE p, cmsTagSignature sig, curve_t *c)
{
    static const uint32_t para_params[5] = {1, 3, 4, 5, 7};
    uint8_t *tag = NULL;
    int rc = -1;

    memset(c, 0, sizeof(*c));
    c->fn = (tf_t){1.0f, 1.0f, 0, 0, 0, 0, 0};
    cmsUInt32Number n = cmsReadRawTag(p, sig, NULL, 0);
    if (n < 12 || n > (1u << 20))
        goto out;
    tag = arc_xmalloc(n);
    if (cmsReadRawTag(p, sig, tag, n) != n)
        goto out;
    if (memcmp(tag, "curv", 4) == 0) {
        uint32_t count = be32(tag + 8);
        if (count > (n - 12) / 2)
            goto out;
        if (count == 1) {
            c->fn.g = (float)(tag[12] << 8 | tag[13]) * (1.0f / 256.0f);
        } else if (count > 1) {
            c->entries = count;
            c->table = arc_xmallocarray(count, sizeof(*c->table));
            for (uint32_t i = 0; i < count; i++)
                c->table[i] = (uint16_t)(tag[12 + 2 * i] << 8 | tag[13 + 2 * i]);
        }
        rc = 0;
    } else if (memcmp(tag, "para", 4) == 0) {
        unsigned type = (unsigned)(tag[8] << 8 | tag[9]);
        if (type > 4 || n < 12 + 4 * para_params[type])
            goto out;
        const uint8_t *v = tag + 12;
        c->fn.g = be_fixed(v);
        if (type >= 1) {
            c->fn.a = be_fixed(v + 4);
            c->fn.b = be_fixed(v + 8);
        }
        if (type == 1 || type == 2) {
            if (c->fn.a == 0)
                goto out;
            c->fn.d = -c->fn.b / c->fn.a;
            if (type == 2)
                c->fn.e = c->fn.f = be_fixed(v + 12);
        } else if (type >= 3) {
            c->fn.c = be_fixed(v + 12);
            c->fn.d = be_fixed(v + 16);
            if (type == 4) {
                c->fn.e = be_fixed(v + 20);
                c->fn.f = be_fixed(v + 24);
            }
        }
        rc = tf_valid(&c->fn) ? 0 : -1;
    }
out:
    free(tag);
    return rc;
}

/* The curve at x in 0..1 (skcms's eval_curve: tables interpolated). */
static float curve_eval(const curve_t *c, float x)
{
    if (c->entries == 0)
        return tf_eval(&c->fn, x);
    float ix = fmaxf(0.0f, fminf(x, 1.0f)) * (float)(c->entries - 1);
    int lo = (int)ix, hi = (int)ceilf(ix);
    float t = ix - (float)lo;
    float l = (float)c->table[lo] * (1.0f / 65535.0f);
    float h = (float)c->table[hi] * (1.0f / 65535.0f);
    return l + (h - l) * t;
}

/* 1 when inv undoes the curve within 1/512 (skcms_AreApproximateInverses). */
static int curve_inverts(const curve_t *c, const tf_t *inv)
{
    uint32_t n = c->entries > 256 ? c->entries : 256;
    float dx = 1.0f / (float)(n - 1), err = 0.0f;

    for (uint32_t i = 0; i < n; i++) {
        float x = (float)i * dx;
        err = fmaxf(err, fabsf(x - tf_eval(inv, curve_eval(c, x))));
    }
    return err < 1 / 512.0f;
}

static int almost(float a, float b, float tolerance)
{
    return fabsf(a - b) < tolerance;
}

/* Skia's snapping of a transfer function to sRGB's, 2.2 or linear. */
static tf_t tf_snap(const tf_t *tf)
{
    const float t = 0.001f;
    const tf_t gamma22 = {2.2f, 1, 0, 0, 0, 0, 0}, linear = {1, 1, 0, 0, 0, 0, 0};

    if (almost(tf->g, srgb_tf.g, t) && almost(tf->a, srgb_tf.a, t) && almost(tf->b, srgb_tf.b, t) &&
        almost(tf->c, srgb_tf.c, t) && almost(tf->d, srgb_tf.d, t) && almost(tf->e, srgb_tf.e, t) &&
        almost(tf->f, srgb_tf.f, t))
        return srgb_tf;
    if (almost(tf->a, 1, t) && almost(tf->b, 0, t) && almost(tf->e, 0, t) &&
        almost(tf->g, 2.2f, t) && tf->d <= 0)
        return gamma22;
    if ((almost(tf->a, 1, t) && almost(tf->b, 0, t) && almost(tf->e, 0, t) && almost(tf->g, 1, t) &&
         tf->d <= 0) ||
        (almost(tf->c, 1, t) && almost(tf->f, 0, t) && tf->d >= 1))
        return linear;
    return *tf;
}

/* What Skia does with a matrix/TRC profile (skia_path's answers). */
enum {
    SKIA_IGNORES = -2, /* skcms cannot read it: the pixels are taken as sRGB */
    SKIA_DECODES = -1, /* its decoder converts with skcms: lcms2 stands in */
    SKIA_DRAWS = 0,    /* its canvas converts while drawing: icc is ready */
    SKIA_SRGB = 1      /* sRGB: nothing to convert */
};

/* skcms_ApproximatelyEqualProfiles() in spirit: the profile (curves,
 * colorants) and the colour space Skia made of it (tf, cs) put a grid of
 * colours (6 levels a channel) within one level of each other as 8-bit
 * XYZ D50. (skcms tries 84 random colours; a profile within a level on
 * this grid and not on those, or the reverse, converts within a level
 * either way.) */
static int same_colours(const curve_t curve[3], const float to_xyz[3][3], const tf_t *tf,
                        const float cs[3][3])
{
    for (int i = 0; i < 216; i++) {
        int v[3] = {i / 36 * 51, i / 6 % 6 * 51, i % 6 * 51};
        float a[3], b[3];
        for (int c = 0; c < 3; c++) {
            a[c] = curve_eval(&curve[c], (float)v[c] * (1 / 255.0f));
            b[c] = tf_eval(tf, (float)v[c] * (1 / 255.0f));
        }
        for (int r = 0; r < 3; r++) {
            float x = to_xyz[r][0] * a[0] + to_xyz[r][1] * a[1] + to_xyz[r][2] * a[2];
            float y = cs[r][0] * b[0] + cs[r][1] * b[1] + cs[r][2] * b[2];
            x = fminf(fmaxf(x, 0.0f), 1.0f) * 255.0f;
            y = fminf(fmaxf(y, 0.0f), 1.0f) * 255.0f;
            if (fabsf(roundf(x) - roundf(y)) > 1.0f)
                return 0;
        }
    }
    return 1;
}

/* Follows Skia with a matrix/TRC profile: skcms reads the tags (a malformed
 * curve: the profile is ignored); SkColorSpace::Make() reduces the curves
 * to one transfer function (else no colour space: the decoder converts)
 * and snaps it and near-sRGB colorants; the decoder converts with skcms
 * unless the profile and that colour space agree within a level; what is
 * left, the canvas converts while drawing, which icc is built to repeat.
 * Returns one of SKIA_*. */
static int skia_path(cmsHPROFILE in, arc__icc_t *icc)
{
    static const cmsTagSignature trc[3] = {cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag};
    static const cmsTagSignature xyz[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag,
                                           cmsSigBlueColorantTag};
    const tf_t linear = {1, 1, 0, 0, 0, 0, 0};
    curve_t curve[3];
    float to_xyz[3][3], cs[3][3], unused[3][3], from_srgb[3][3];
    tf_t tf;
    int rc = SKIA_IGNORES;

    memset(curve, 0, sizeof(curve));
    for (int c = 0; c < 3; c++) {
        /* The colorants as skcms reads them: s15.16 to float, exactly. */
        const cmsCIEXYZ *col = cmsReadTag(in, xyz[c]);
        if (col == NULL || read_curve(in, trc[c], &curve[c]) != 0)
            goto out;
        to_xyz[0][c] = (float)col->X;
        to_xyz[1][c] = (float)col->Y;
        to_xyz[2][c] = (float)col->Z;
    }
    rc = SKIA_DECODES;
    /* sRGB's inverse: the encoding stage, and the test of tables. */
    if (matrix_invert(to_xyz, unused) != 0 || /* no colour space of a singular matrix */
        matrix_invert(srgb_d50, from_srgb) != 0 || tf_invert(&srgb_tf, &icc->encode) != 0)
        goto out;
    if (curve[0].entries == 0 && curve[1].entries == 0 && curve[2].entries == 0 &&
        memcmp(&curve[0].fn, &curve[1].fn, sizeof(tf_t)) == 0 &&
        memcmp(&curve[0].fn, &curve[2].fn, sizeof(tf_t)) == 0) {
        tf = tf_snap(&curve[0].fn);
    } else {
        for (int c = 0; c < 3; c++)
            if (!curve_inverts(&curve[c], &icc->encode))
                goto out;
        tf = srgb_tf;
    }
    /* sRGB's and linear sRGB's colour spaces take sRGB's own colorants. */
    int is_srgb_tf = memcmp(&tf, &srgb_tf, sizeof(tf)) == 0;
    int is_linear = memcmp(&tf, &linear, sizeof(tf)) == 0;
    int srgb_gamut = 1;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            srgb_gamut &= almost(to_xyz[r][c], srgb_d50[r][c], 0.01f);
    if (srgb_gamut && (is_srgb_tf || is_linear))
        memcpy(cs, srgb_d50, sizeof(cs));
    else
        memcpy(cs, to_xyz, sizeof(cs));
    if (!same_colours(curve, to_xyz, &tf, cs))
        goto out;
    if (is_srgb_tf && memcmp(cs, srgb_d50, sizeof(cs)) == 0) {
        rc = SKIA_SRGB;
        goto out;
    }
    icc->cs_tf = tf;
    memcpy(icc->cs, cs, sizeof(cs));
    /* sRGB's from-XYZ times the colour space's to-XYZ, in float (skcms's
     * concat), stored column-major; none when the colorants are sRGB's. */
    icc->gamut = memcmp(cs, srgb_d50, sizeof(cs)) != 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            icc->m[c * 3 + r] = from_srgb[r][0] * cs[0][c] + from_srgb[r][1] * cs[1][c] +
                                from_srgb[r][2] * cs[2][c];
    /* A linear function needs no stage at all. */
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = (float)v * (1 / 255.0f);
            icc->linear[c][v] = is_linear ? x : pipe_tf(&tf, x);
        }
    rc = SKIA_DRAWS;
out:
    for (int c = 0; c < 3; c++)
        free(curve[c].table);
    return rc;
}

/* Compiled twice, and the one for processors with FMA chosen at load time
 * (fmaf() is then one instruction, not a call): the bytes are the same. */
__attribute__((target_clones("default", "arch=haswell"))) static void
skia_row(const arc__icc_t *icc, uint8_t *row, int width)
{
    const float *m = icc->m;

    for (int x = 0; x < width; x++) {
        uint8_t *p = row + (size_t)x * (size_t)icc->channels;
        float R = icc->linear[0][p[0]], G = icc->linear[1][p[1]], B = icc->linear[2][p[2]];
        if (icc->gamut) { /* Skia's matrix_3x3 stage */
            float r = R, g = G, b = B;
            R = fmaf(r, m[0], fmaf(g, m[3], b * m[6]));
            G = fmaf(r, m[1], fmaf(g, m[4], b * m[7]));
            B = fmaf(r, m[2], fmaf(g, m[5], b * m[8]));
        }
        p[0] = pipe_unorm(pipe_tf(&icc->encode, R));
        p[1] = pipe_unorm(pipe_tf(&icc->encode, G));
        p[2] = pipe_unorm(pipe_tf(&icc->encode, B));
    }
}

/* The largest profile taken: phones' and cameras' are a few kilobytes,
 * printers' up to a few hundred. */
#define MAX_PROFILE_BYTES (1u << 20)

/* The most stages a profile's lookup pipeline may have. lcms2 runs every
 * stage for every pixel (in full precision): a crafted profile of ten
 * thousand matrices, 25 KB compressed in a PNG, held a worker for minutes
 * on a 2-megapixel photo. Real ones have up to five. */
#define MAX_STAGES 16

static const cmsTagSignature lut_tags[] = {cmsSigAToB0Tag, cmsSigAToB1Tag, cmsSigAToB2Tag,
                                           cmsSigDToB0Tag, cmsSigDToB1Tag, cmsSigDToB2Tag,
                                           cmsSigDToB3Tag};

/* 1 when the profile has a lookup table (AToB, DToB) beside or instead of
 * its matrix and curves. */
static int has_lut(cmsHPROFILE p)
{
    for (size_t i = 0; i < sizeof(lut_tags) / sizeof(lut_tags[0]); i++)
        if (cmsIsTag(p, lut_tags[i]))
            return 1;
    return 0;
}

/* 1 when one of the profile's lookup tables is unreadable or too long to run
 * per pixel: the profile is then ignored. */
static int too_costly(cmsHPROFILE p)
{
    for (size_t i = 0; i < sizeof(lut_tags) / sizeof(lut_tags[0]); i++) {
        if (!cmsIsTag(p, lut_tags[i]))
            continue;
        const cmsPipeline *pl = cmsReadTag(p, lut_tags[i]);
        if (pl == NULL || cmsPipelineStageCount(pl) > MAX_STAGES)
            return 1;
    }
    return 0;
}

/* An lcms2 profile of the colour space Skia made (tf, cs): its curve as
 * lcms2's parametric type 5, which is skcms's form, and its colorants. */
static cmsHPROFILE colour_space_profile(const tf_t *tf, const float cs[3][3])
{
    const double params[7] = {tf->g, tf->a, tf->b, tf->c, tf->d, tf->e, tf->f};
    static const cmsTagSignature xyz[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag,
                                           cmsSigBlueColorantTag};
    cmsHPROFILE p = cmsCreateProfilePlaceholder(NULL);
    cmsToneCurve *curve = cmsBuildParametricToneCurve(NULL, 5, params);
    int ok = p != NULL && curve != NULL;

    if (ok) {
        cmsSetProfileVersion(p, 4.3);
        cmsSetDeviceClass(p, cmsSigDisplayClass);
        cmsSetColorSpace(p, cmsSigRgbData);
        cmsSetPCS(p, cmsSigXYZData);
        ok = cmsWriteTag(p, cmsSigMediaWhitePointTag, cmsD50_XYZ()) &&
             cmsWriteTag(p, cmsSigRedTRCTag, curve) && cmsWriteTag(p, cmsSigGreenTRCTag, curve) &&
             cmsWriteTag(p, cmsSigBlueTRCTag, curve);
        for (int c = 0; c < 3 && ok; c++) {
            cmsCIEXYZ col = {cs[0][c], cs[1][c], cs[2][c]};
            ok = cmsWriteTag(p, xyz[c], &col);
        }
    }
    if (curve != NULL)
        cmsFreeToneCurve(curve);
    if (!ok && p != NULL) {
        cmsCloseProfile(p);
        p = NULL;
    }
    return p;
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
    if (in == NULL || cmsGetColorSpace(in) != cmsSigRgbData || too_costly(in))
        goto out;
    if (cmsIsMatrixShaper(in) && !has_lut(in)) {
        icc = arc_xcalloc(1, sizeof(*icc));
        icc->channels = channels;
        int rc = skia_path(in, icc);
        if (rc == SKIA_DRAWS && pixels <= EXACT_MAX_PIXELS)
            goto out;
        /* A large photo: lcms2's table, from Skia's colour space (its
         * snapped curve and colorants) when Skia draws it. */
        cmsHPROFILE cs = rc == SKIA_DRAWS ? colour_space_profile(&icc->cs_tf, icc->cs) : NULL;
        if (cs != NULL) {
            cmsCloseProfile(in);
            in = cs;
        }
        free(icc);
        icc = NULL;
        if (rc == SKIA_SRGB || rc == SKIA_IGNORES)
            goto out;
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
        skia_row(icc, row, width);
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
