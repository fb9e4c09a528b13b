/* Tests for src/image/icc.c: photos' colour profiles converted to sRGB as
 * Skia (Chrome's canvas, and the node canvas MindAR's reference compiler
 * reads pixels through) converts them, colour for colour. */
#include <stdint.h>

#include <math.h>

#include <lcms2.h>
#include <openssl/evp.h>

#include "../../test.h"
#include "arcd/image.h"
#include "arcd/file.h"
#include "image_internal.h"

/* What arcd should make of each profile in tests/data/icc, against Skia's
 * bytes (skia.sha256 and NAME.skia-sample, written by make_reference.sh
 * from @napi-rs/canvas). */
enum { EXACT, AS_IS, WITHIN_ONE };

static const struct {
    const char *name;
    int expect;
} profiles[] = {
    /* Matrix/TRC profiles Skia converts while drawing: its bytes. */
    {"card-apple-display.icc", EXACT}, /* MindAR's card.png: 1,024-entry tables */
    {"display-p3.icc", EXACT},         /* an iPhone's: sRGB's curve as para */
    {"p3-table.icc", EXACT},           /* the same curve as a table */
    {"adobe-rgb.icc", EXACT},          /* gamma 563/256 as para */
    {"adobe-rgb-v2-curv.icc", EXACT},  /* the same as a v2 curv of one entry */
    {"prophoto-gamma18.icc", EXACT},
    {"p3-linear.icc", EXACT},
    {"srgb-gamut-gamma18.icc", EXACT}, /* sRGB's colorants: no matrix */
    {"srgb-linear-near.icc", EXACT},   /* snapped to linear sRGB */
    {"srgb-named-gamma18.icc", EXACT}, /* called sRGB, gamma 1.8 all the same */
    /* Profiles Skia leaves alone: within a level of sRGB, or unreadable. */
    {"srgb-near-0.002.icc", AS_IS},
    {"broken-para.icc", AS_IS}, /* a negative gamma */
    {"broken-curv.icc", AS_IS}, /* a table longer than its tag */
    /* Profiles Skia's decoder converts with skcms: lcms2 within a level. */
    {"srgb-near-0.004.icc", WITHIN_ONE},
    {"panel-table.icc", WITHIN_ONE},
    {"p3-mixed-curves.icc", WITHIN_ONE}, /* a curve per channel */
    {"table-gamma18.icc", WITHIN_ONE},
};

static uint8_t *read_data(const char *name, size_t *len)
{
    uint8_t *buf = NULL;
    arc_err_t err = {{0}};
    char path[256];

    snprintf(path, sizeof(path), "icc/%s", name);
    CHECK_MSG(arc_file_read_all(test_path(path), 1u << 20, &buf, len, &err) == 0, "%s: %s", path,
              err.msg);
    return buf;
}

/* Colour k of the sample: k * 4093 mod 2^24, as r << 16 | g << 8 | b. */
static void sample_colours(uint8_t *rgb)
{
    for (uint32_t k = 0; k < 4096; k++) {
        uint32_t i = (k * 4093u) & 0xffffffu;
        rgb[3 * k] = (uint8_t)(i >> 16);
        rgb[3 * k + 1] = (uint8_t)(i >> 8);
        rgb[3 * k + 2] = (uint8_t)i;
    }
}

/* SHA-256 (hex) of every 8-bit colour, r << 16 | g << 8 | b in order, 3
 * bytes each, through icc (NULL: as they are). */
static void all_colours_hash(arc__icc_t *icc, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    uint8_t *row = malloc(4096 * 3);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (uint32_t y = 0; y < 4096; y++) {
        for (uint32_t x = 0; x < 4096; x++) {
            uint32_t i = y * 4096 + x;
            row[3 * x] = (uint8_t)(i >> 16);
            row[3 * x + 1] = (uint8_t)(i >> 8);
            row[3 * x + 2] = (uint8_t)i;
        }
        arc__icc_row(icc, row, 4096);
        EVP_DigestUpdate(ctx, row, 4096 * 3);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (unsigned k = 0; k < mdlen; k++)
        snprintf(hex + 2 * k, 3, "%02x", md[k]);
    EVP_MD_CTX_free(ctx);
    free(row);
}

/* The sample through icc against Skia's: how many colours differ, and by
 * how much at most. */
static void sample_diff(arc__icc_t *icc, const uint8_t *skia, int *differ, int *most)
{
    uint8_t rgb[4096 * 3];

    sample_colours(rgb);
    arc__icc_row(icc, rgb, 4096);
    *differ = *most = 0;
    for (int k = 0; k < 4096; k++) {
        int d = 0;
        for (int c = 0; c < 3; c++) {
            int e = abs(rgb[3 * k + c] - skia[3 * k + c]);
            d = e > d ? e : d;
        }
        *differ += d > 0;
        *most = d > *most ? d : *most;
    }
}

/* The hash of name in skia.sha256, or "". */
static void skia_hash(const char *list, const char *name, char want[65])
{
    want[0] = '\0';
    for (const char *line = list; line != NULL && *line != '\0';) {
        char hash[65], file[128];
        if (sscanf(line, "%64s %127s", hash, file) == 2 && strcmp(file, name) == 0) {
            memcpy(want, hash, 65);
            return;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
}

/* Each profile in tests/data/icc converts to Skia's bytes for all
 * 16,777,216 colours, is left alone where Skia leaves it, or lands within a
 * level where Skia's decoder converts it (lcms2 stands in for skcms there);
 * a photo over two megapixels (lcms2's optimised table) stays within a
 * level of Skia. Before, arcd's float matrix path (exact pow, rounding half
 * up) missed Skia's bytes on 0.01% of the colours, enough to move 3% of
 * card.png's marker. */
TEST(test_regression_profiles_convert_as_skia_does)
{
    size_t len = 0;
    uint8_t *list = read_data("skia.sha256", &len);
    char as_is[65];
    /* Under the sanitizers (ten times slower) two profiles are hashed
     * whole; every one is still read, sampled and checked. */
    int quick = getenv("ARCD_TEST_SANITIZED") != NULL, hashed = 0;

    if (list == NULL)
        return;
    all_colours_hash(NULL, as_is);
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        const char *name = profiles[i].name;
        int expect = profiles[i].expect, differ, most;
        size_t plen = 0, slen = 0;
        char want[65], got[65], sample_name[160];
        uint8_t *profile = read_data(name, &plen);
        snprintf(sample_name, sizeof(sample_name), "%.*s.skia-sample", (int)strlen(name) - 4, name);
        uint8_t *skia = read_data(sample_name, &slen);
        skia_hash((const char *)list, name, want);
        CHECK_MSG(want[0] != '\0' && skia != NULL && slen == 4096 * 3, "%s: no reference", name);
        if (profile == NULL || skia == NULL || slen != 4096 * 3 || want[0] == '\0')
            goto next;

        /* A photo's worth of pixels: the exact path, as for a marker. */
        arc__icc_t *icc = arc__icc_new(profile, plen, 3, 1000000);
        CHECK_MSG((icc == NULL) == (expect == AS_IS), "%s: %s", name,
                  icc == NULL ? "left as it is" : "converted");
        if (expect == AS_IS)
            CHECK_MSG(strcmp(want, as_is) == 0, "%s: Skia converts it", name);
        sample_diff(icc, skia, &differ, &most);
        if (expect == WITHIN_ONE)
            CHECK_MSG(most <= 1 && differ <= 4096 / 10,
                      "%s: %d of 4096 colours differ from Skia's, by up to %d", name, differ, most);
        else
            CHECK_MSG(differ == 0, "%s: %d of 4096 colours differ from Skia's, by up to %d", name,
                      differ, most);
        if (expect == EXACT && (!quick || hashed < 2)) {
            all_colours_hash(icc, got);
            CHECK_MSG(strcmp(got, want) == 0, "%s: arcd's colours differ from Skia's (%s, not %s)",
                      name, got, want);
            hashed++;
        }
        arc__icc_free(icc);

        /* A print's worth: lcms2's optimised table where Skia converts. */
        icc = arc__icc_new(profile, plen, 3, 50000000);
        CHECK_MSG((icc == NULL) == (expect == AS_IS), "%s (a large photo): %s", name,
                  icc == NULL ? "left as it is" : "converted");
        sample_diff(icc, skia, &differ, &most);
        CHECK_MSG(most <= 1, "%s (a large photo): %d of 4096 colours differ, by up to %d", name,
                  differ, most);
        arc__icc_free(icc);
    next:
        free(profile);
        free(skia);
    }
    free(list);
}

/* A profile Skia takes as sRGB (lcms2's own sRGB: a parametric curve and
 * colorants a few 1e-5 from the ICC sRGB profile's) converts nothing; a
 * tone curve Skia cannot reduce to one function (a table of gamma 1.8)
 * still converts, through lcms2. */
TEST(test_srgb_like_profiles_change_nothing)
{
    cmsHPROFILE p = cmsCreate_sRGBProfile();
    cmsUInt32Number n = 0;

    CHECK(cmsSaveProfileToMem(p, NULL, &n) && n > 0);
    uint8_t *mem = malloc(n);
    CHECK(cmsSaveProfileToMem(p, mem, &n));
    CHECK_MSG(arc__icc_new(mem, n, 3, 1000000) == NULL, "lcms2's sRGB profile converts");
    CHECK_MSG(arc__icc_new(mem, n, 4, 50000000) == NULL, "lcms2's sRGB profile converts (large)");
    free(mem);
    cmsCloseProfile(p);

    cmsUInt16Number table[1024];
    for (int i = 0; i < 1024; i++)
        table[i] = (cmsUInt16Number)(pow(i / 1023.0, 1.8) * 65535 + 0.5);
    cmsToneCurve *tc = cmsBuildTabulatedToneCurve16(NULL, 1024, table);
    cmsToneCurve *tcs[3] = {tc, tc, tc};
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE adobe = {{0.64, 0.33, 1}, {0.21, 0.71, 1}, {0.15, 0.06, 1}};
    p = cmsCreateRGBProfile(&d65, &adobe, tcs);
    CHECK(cmsSaveProfileToMem(p, NULL, &n) && n > 0);
    mem = malloc(n);
    CHECK(cmsSaveProfileToMem(p, mem, &n));
    arc__icc_t *icc = arc__icc_new(mem, n, 3, 1000000);
    CHECK_MSG(icc != NULL, "a gamma-1.8 table profile is not converted");
    /* Mid grey stays grey; a dark value gets lighter in sRGB (1.8 < 2.2). */
    uint8_t px[6] = {128, 128, 128, 40, 40, 40};
    arc__icc_row(icc, px, 2);
    CHECK_MSG(px[0] == px[1] && px[1] == px[2] && px[3] == px[4] && px[3] > 40 && px[3] < 80,
              "grey (128, 40) became (%d, %d, %d) (%d, %d, %d)", px[0], px[1], px[2], px[3], px[4],
              px[5]);
    arc__icc_free(icc);
    free(mem);
    cmsCloseProfile(p);
    cmsFreeToneCurve(tc);
}
