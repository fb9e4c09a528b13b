/*
 * sin, cos and atan2 computed by fdlibm's method, the way Node 20's V8
 * computes Math.sin, Math.cos and Math.atan2 (MindAR's orientation and FREAK
 * steps call them). glibc's versions are correctly rounded more often, and so
 * differ from fdlibm in the last bit for a few percent of arguments; these
 * follow fdlibm's argument reduction and polynomials step by step, so they
 * give V8's bits. Checked bit for bit against Node on millions of arguments
 * (tests/tools/fdmath_vectors.mjs; a sample runs in the tests).
 *
 * The constants are those of the published method (their bit patterns are
 * given beside them). Arguments beyond 2^19 * pi/2, which need the
 * multi-precision reduction, fall back to the C library; the compiler never
 * meets them outside degenerate histograms.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "compiler_internal.h"

static inline uint32_t high_word(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof(b));
    return (uint32_t)(b >> 32);
}

static inline uint32_t low_word(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof(b));
    return (uint32_t)b;
}

static inline double from_words(uint32_t hi, uint32_t lo)
{
    uint64_t b = (uint64_t)hi << 32 | lo;
    double x;
    memcpy(&x, &b, sizeof(x));
    return x;
}

/* ---- sin and cos ---- */

/* sin(x + y) for |x| <= pi/4, y the tail of x (used when iy != 0):
 * x + x^3 (S1 + x^2 (S2 + ... + x^2 S6)). */
static double kernel_sin(double x, double y, int iy)
{
    static const double S1 = -1.66666666666666324348e-01, /* 0xBFC55555 55555549 */
        S2 = 8.33333333332248946124e-03,                  /* 0x3F811111 1110F8A6 */
        S3 = -1.98412698298579493134e-04,                 /* 0xBF2A01A0 19C161D5 */
        S4 = 2.75573137070700676789e-06,                  /* 0x3EC71DE3 57B1FE7D */
        S5 = -2.50507602534068634195e-08,                 /* 0xBE5AE5E6 8A2B9CEB */
        S6 = 1.58969099521155010221e-10;                  /* 0x3DE5D93A 5ACFD57C */
    uint32_t ix = high_word(x) & 0x7fffffff;

    if (ix < 0x3e400000 && (int)x == 0)
        return x; /* |x| < 2^-27 */
    double z = x * x;
    double v = z * x;
    double r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    if (iy == 0)
        return x + v * (S1 + z * r);
    return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

/* cos(x + y) for |x| <= pi/4: 1 - x^2/2 + x^4 (C1 + ... ), with fdlibm's
 * split of 1 - x^2/2 into (1 - qx) - (x^2/2 - qx) above |x| = 0.3. */
static double kernel_cos(double x, double y)
{
    static const double C1 = 4.16666666666666019037e-02, /* 0x3FA55555 5555554C */
        C2 = -1.38888888888741095749e-03,                /* 0xBF56C16C 16C15177 */
        C3 = 2.48015872894767294178e-05,                 /* 0x3EFA01A0 19CB1590 */
        C4 = -2.75573143513906633035e-07,                /* 0xBE927E4F 809C52AD */
        C5 = 2.08757232129817482790e-09,                 /* 0x3E21EE9E BDB4B1C4 */
        C6 = -1.13596475577881948265e-11;                /* 0xBDA8FAE9 BE8838D4 */
    uint32_t ix = high_word(x) & 0x7fffffff;

    if (ix < 0x3e400000 && (int)x == 0)
        return 1.0; /* |x| < 2^-27 */
    double z = x * x;
    double r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    if (ix < 0x3fd33333) /* |x| < 0.3 */
        return 1.0 - (0.5 * z - (z * r - x * y));
    double qx = ix > 0x3fe90000 ? 0.28125 : from_words(ix - 0x00200000, 0); /* x/4 */
    double hz = 0.5 * z - qx;
    double a = 1.0 - qx;
    return a - (hz - (z * r - x * y));
}

/* x - n * pi/2 as y[0] + y[1] for |x| <= 2^19 * pi/2, pi/2 split in three
 * 33-bit pieces; returns n, or INT32_MIN when |x| is beyond this method. */
static int32_t rem_pio2(double x, double y[2])
{
    static const double invpio2 = 6.36619772367581382433e-01, /* 0x3FE45F30 6DC9C883 */
        pio2_1 = 1.57079632673412561417e+00,                  /* 0x3FF921FB 54400000 */
        pio2_1t = 6.07710050650619224932e-11,                 /* 0x3DD0B461 1A626331 */
        pio2_2 = 6.07710050630396597660e-11,                  /* 0x3DD0B461 1A600000 */
        pio2_2t = 2.02226624879595063154e-21,                 /* 0x3BA3198A 2E037073 */
        pio2_3 = 2.02226624871116645580e-21,                  /* 0x3BA3198A 2E000000 */
        pio2_3t = 8.47842766036889956997e-32;                 /* 0x397B839A 252049C1 */
    /* High words of n * pi/2, n = 1..32: near them the first reduction step
     * cancels and the next steps are needed. */
    static const uint32_t npio2_hw[32] = {
        0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB, 0x401F6A7A, 0x4022D97C, 0x4025FDBB,
        0x402921FB, 0x402C463A, 0x402F6A7A, 0x4031475C, 0x4032D97C, 0x40346B9C, 0x4035FDBB,
        0x40378FDB, 0x403921FB, 0x403AB41B, 0x403C463A, 0x403DD85A, 0x403F6A7A, 0x40407E4C,
        0x4041475C, 0x4042106C, 0x4042D97C, 0x4043A28C, 0x40446B9C, 0x404534AC, 0x4045FDBB,
        0x4046C6CB, 0x40478FDB, 0x404858EB, 0x404921FB,
    };
    uint32_t hx = high_word(x);
    uint32_t ix = hx & 0x7fffffff;
    int neg = (hx >> 31) != 0;

    if (ix <= 0x3fe921fb) { /* |x| <= pi/4: nothing to do */
        y[0] = x;
        y[1] = 0;
        return 0;
    }
    if (ix < 0x4002d97c) { /* |x| < 3pi/4: n = +-1 */
        double z;
        if (!neg) {
            z = x - pio2_1;
            if (ix != 0x3ff921fb) {
                y[0] = z - pio2_1t;
                y[1] = (z - y[0]) - pio2_1t;
            } else { /* near pi/2: 33 more bits */
                z -= pio2_2;
                y[0] = z - pio2_2t;
                y[1] = (z - y[0]) - pio2_2t;
            }
            return 1;
        }
        z = x + pio2_1;
        if (ix != 0x3ff921fb) {
            y[0] = z + pio2_1t;
            y[1] = (z - y[0]) + pio2_1t;
        } else {
            z += pio2_2;
            y[0] = z + pio2_2t;
            y[1] = (z - y[0]) + pio2_2t;
        }
        return -1;
    }
    if (ix > 0x413921fb) /* |x| > 2^19 * pi/2 */
        return INT32_MIN;

    double t = fabs(x);
    int32_t n = (int32_t)(t * invpio2 + 0.5);
    double fn = (double)n;
    double r = t - fn * pio2_1;
    double w = fn * pio2_1t; /* first round: good to 85 bits */
    if (n < 32 && ix != npio2_hw[n - 1]) {
        y[0] = r - w;
    } else {
        uint32_t j = ix >> 20;
        y[0] = r - w;
        uint32_t i = j - ((high_word(y[0]) >> 20) & 0x7ff);
        if (i > 16) { /* second round: good to 118 bits */
            t = r;
            w = fn * pio2_2;
            r = t - w;
            w = fn * pio2_2t - ((t - r) - w);
            y[0] = r - w;
            i = j - ((high_word(y[0]) >> 20) & 0x7ff);
            if (i > 49) { /* third round: 151 bits */
                t = r;
                w = fn * pio2_3;
                r = t - w;
                w = fn * pio2_3t - ((t - r) - w);
                y[0] = r - w;
            }
        }
    }
    y[1] = (r - y[0]) - w;
    if (neg) {
        y[0] = -y[0];
        y[1] = -y[1];
        return -n;
    }
    return n;
}

double arc__sin(double x)
{
    uint32_t ix = high_word(x) & 0x7fffffff;
    double y[2];

    if (ix <= 0x3fe921fb)
        return kernel_sin(x, 0.0, 0);
    if (ix >= 0x7ff00000)
        return x - x; /* NaN for NaN and infinities */
    int32_t n = rem_pio2(x, y);
    if (n == INT32_MIN)
        return sin(x);
    switch (n & 3) {
    case 0: return kernel_sin(y[0], y[1], 1);
    case 1: return kernel_cos(y[0], y[1]);
    case 2: return -kernel_sin(y[0], y[1], 1);
    default: return -kernel_cos(y[0], y[1]);
    }
}

double arc__cos(double x)
{
    uint32_t ix = high_word(x) & 0x7fffffff;
    double y[2];

    if (ix <= 0x3fe921fb)
        return kernel_cos(x, 0.0);
    if (ix >= 0x7ff00000)
        return x - x;
    int32_t n = rem_pio2(x, y);
    if (n == INT32_MIN)
        return cos(x);
    switch (n & 3) {
    case 0: return kernel_cos(y[0], y[1]);
    case 1: return -kernel_sin(y[0], y[1], 1);
    case 2: return -kernel_cos(y[0], y[1]);
    default: return kernel_sin(y[0], y[1], 1);
    }
}

/* ---- atan2 ---- */

/* atan(x): reduced to [0, 7/16] around atan(0), atan(1/2), atan(1),
 * atan(3/2) or atan(inf), then an odd polynomial split in even and odd
 * parts. */
static double fd_atan(double x)
{
    static const double atanhi[4] = {
        4.63647609000806093515e-01, /* atan(0.5) hi 0x3FDDAC67 0561BB4F */
        7.85398163397448278999e-01, /* atan(1.0) hi 0x3FE921FB 54442D18 */
        9.82793723247329054082e-01, /* atan(1.5) hi 0x3FEF730B D281F69B */
        1.57079632679489655800e+00, /* atan(inf) hi 0x3FF921FB 54442D18 */
    };
    static const double atanlo[4] = {
        2.26987774529616870924e-17, /* 0x3C7A2B7F 222F65E2 */
        3.06161699786838301793e-17, /* 0x3C81A626 33145C07 */
        1.39033110312309984516e-17, /* 0x3C700788 7AF0CBBD */
        6.12323399573676603587e-17, /* 0x3C91A626 33145C07 */
    };
    static const double aT[11] = {
        3.33333333333329318027e-01,  /* 0x3FD55555 5555550D */
        -1.99999999998764832476e-01, /* 0xBFC99999 9998EBC4 */
        1.42857142725034663711e-01,  /* 0x3FC24924 920083FF */
        -1.11111104054623557880e-01, /* 0xBFBC71C6 FE231671 */
        9.09088713343650656196e-02,  /* 0x3FB745CD C54C206E */
        -7.69187620504482999495e-02, /* 0xBFB3B0F2 AF749A6D */
        6.66107313738753120669e-02,  /* 0x3FB10D66 A0D03D51 */
        -5.83357013379057348645e-02, /* 0xBFADDE2D 52DEFD9A */
        4.97687799461593236017e-02,  /* 0x3FA97B4B 24760DEB */
        -3.65315727442169155270e-02, /* 0xBFA2B444 2C6A6C2F */
        1.62858201153657823623e-02,  /* 0x3F90AD3A E322DA11 */
    };
    uint32_t hx = high_word(x);
    uint32_t ix = hx & 0x7fffffff;
    int neg = (hx >> 31) != 0;
    int id;

    if (ix >= 0x44100000) { /* |x| >= 2^66 */
        if (ix > 0x7ff00000 || (ix == 0x7ff00000 && low_word(x) != 0))
            return x + x; /* NaN */
        return neg ? -atanhi[3] - atanlo[3] : atanhi[3] + atanlo[3];
    }
    if (ix < 0x3fdc0000) { /* |x| < 7/16 */
        if (ix < 0x3e400000)
            return x; /* |x| < 2^-27 */
        id = -1;
    } else {
        x = fabs(x);
        if (ix < 0x3ff30000) {     /* |x| < 19/16 */
            if (ix < 0x3fe60000) { /* 7/16 <= |x| < 11/16 */
                id = 0;
                x = (2.0 * x - 1.0) / (2.0 + x);
            } else { /* 11/16 <= |x| < 19/16 */
                id = 1;
                x = (x - 1.0) / (x + 1.0);
            }
        } else if (ix < 0x40038000) { /* 19/16 <= |x| < 39/16 */
            id = 2;
            x = (x - 1.5) / (1.0 + 1.5 * x);
        } else { /* 39/16 <= |x| < 2^66 */
            id = 3;
            x = -1.0 / x;
        }
    }
    double z = x * x;
    double w = z * z;
    double s1 = z * (aT[0] + w * (aT[2] + w * (aT[4] + w * (aT[6] + w * (aT[8] + w * aT[10])))));
    double s2 = w * (aT[1] + w * (aT[3] + w * (aT[5] + w * (aT[7] + w * aT[9]))));
    if (id < 0)
        return x - x * (s1 + s2);
    z = atanhi[id] - ((x * (s1 + s2) - atanlo[id]) - x);
    return neg ? -z : z;
}

double arc__atan2(double y, double x)
{
    static const double pi_o_4 = 7.8539816339744827900e-01, /* 0x3FE921FB 54442D18 */
        pi_o_2 = 1.5707963267948965580e+00,                 /* 0x3FF921FB 54442D18 */
        pi = 3.1415926535897931160e+00,                     /* 0x400921FB 54442D18 */
        pi_lo = 1.2246467991473531772e-16;                  /* 0x3CA1A626 33145C07 */
    uint32_t hx = high_word(x), lx = low_word(x);
    uint32_t hy = high_word(y), ly = low_word(y);
    uint32_t ix = hx & 0x7fffffff, iy = hy & 0x7fffffff;

    if ((ix | ((lx | (0u - lx)) >> 31)) > 0x7ff00000 ||
        (iy | ((ly | (0u - ly)) >> 31)) > 0x7ff00000)
        return x + y; /* NaN */
    if (hx == 0x3ff00000 && lx == 0)
        return fd_atan(y);                                 /* x == 1 */
    int m = (int)((hy >> 31) & 1) | (int)((hx >> 30) & 2); /* 2 sign(x) + sign(y) */

    if ((iy | ly) == 0) { /* y == 0 */
        switch (m) {
        case 0:
        case 1: return y; /* atan(+-0, +anything) = +-0 */
        case 2: return pi;
        default: return -pi;
        }
    }
    if ((ix | lx) == 0) /* x == 0 */
        return (hy >> 31) ? -pi_o_2 : pi_o_2;
    if (ix == 0x7ff00000) { /* x is an infinity */
        if (iy == 0x7ff00000) {
            switch (m) {
            case 0: return pi_o_4;
            case 1: return -pi_o_4;
            case 2: return 3.0 * pi_o_4;
            default: return -3.0 * pi_o_4;
            }
        }
        switch (m) {
        case 0: return 0.0;
        case 1: return -0.0;
        case 2: return pi;
        default: return -pi;
        }
    }
    if (iy == 0x7ff00000) /* y is an infinity */
        return (hy >> 31) ? -pi_o_2 : pi_o_2;

    int32_t k = ((int32_t)iy - (int32_t)ix) >> 20;
    double z;
    if (k > 60) { /* |y / x| > 2^60 */
        z = pi_o_2 + 0.5 * pi_lo;
        m &= 1;
    } else if ((hx >> 31) && k < -60) { /* 0 > |y| / x > -2^-60 */
        z = 0.0;
    } else {
        z = fd_atan(fabs(y / x));
    }
    switch (m) {
    case 0: return z;
    case 1: return -z;
    case 2: return pi - (z - pi_lo);
    default: return (z - pi_lo) - pi;
    }
}
