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

/* SHA-256 (hex) of every 8-bit colour, r << 16 | g << 8 | b in order, 3
 * bytes each, converted by arcd with the profile in tests/data/icc/NAME;
 * with rows 0, only the profile read and one row converted. */
static void all_colours_hash(const char *name, uint32_t rows, char hex[65])
{
    uint8_t *profile = NULL, *row = NULL;
    size_t len = 0;
    arc_err_t err = {{0}};
    char path[256];
    unsigned char md[32];
    unsigned int mdlen = 0;

    hex[0] = '\0';
    snprintf(path, sizeof(path), "icc/%s", name);
    CHECK_MSG(arc_file_read_all(test_path(path), 1u << 20, &profile, &len, &err) == 0, "%s: %s",
              path, err.msg);
    if (profile == NULL)
        return;
    /* A photo's worth of pixels: the exact path, as for a marker. */
    arc__icc_t *icc = arc__icc_new(profile, len, 3, 1000000);
    CHECK_MSG(icc != NULL, "%s: no conversion", name);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    row = malloc(4096 * 3);
    for (uint32_t y = 0; y < (rows > 0 ? rows : 1); y++) {
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
    arc__icc_free(icc);
    free(row);
    free(profile);
}

/* Every matrix/TRC profile in tests/data/icc (Display P3 as a parametric
 * curve and as a 1,024-entry table, Adobe RGB's gamma 563/256, ProPhoto's
 * 1.8, a linear one, sRGB's colorants with gamma 1.8, and the Apple display
 * profile of MindAR's card.png) converts all 16,777,216 colours to the bytes
 * Skia gives (skia.sha256, written by make_reference.sh from @napi-rs/canvas).
 * Before, arcd's float matrix path (exact pow, rounding half up) missed
 * Skia's on 0.01% of the colours, enough to move 3% of card.png's marker. */
TEST(test_regression_profiles_convert_as_skia_does)
{
    uint8_t *list = NULL;
    size_t len = 0;
    arc_err_t err = {{0}};
    int profiles = 0;

    CHECK_MSG(arc_file_read_all(test_path("icc/skia.sha256"), 1u << 16, &list, &len, &err) == 0,
              "%s", err.msg);
    if (list == NULL)
        return;
    char *text = malloc(len + 1);
    memcpy(text, list, len);
    text[len] = '\0';
    /* Under the sanitizers (ten times slower) two profiles are checked
     * whole, the others only read. */
    int quick = getenv("ARCD_TEST_SANITIZED") != NULL;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char want[65], name[128], got[65];
        if (sscanf(line, "%64s %127s", want, name) != 2)
            continue;
        int whole = !quick || profiles < 2;
        all_colours_hash(name, whole ? 4096 : 0, got);
        if (whole)
            CHECK_MSG(strcmp(got, want) == 0, "%s: arcd's colours differ from Skia's (%s, not %s)",
                      name, got, want);
        profiles++;
    }
    CHECK_MSG(profiles >= 7, "%d profiles in skia.sha256", profiles);
    free(text);
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
