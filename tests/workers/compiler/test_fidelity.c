/*
 * Fidelity of arcd's compiler against MindAR 1.2.5's own output: each case
 * compiles the exact grey pixels the reference compiler saw (.pgm) and
 * compares with the reference .mind (tests/data/X.ref.mind), in C.
 *
 *   test_fidelity thresholds CASE  the thresholds: same structure, 100% of the
 *                                  tracking points, identical trees where the
 *                                  points agree, >= 99% identical keypoints
 *   test_fidelity bytes CASE       byte-identical output (what arcd achieves)
 *   test_fidelity threads CASE     the same bytes with 1, 2 and 3 threads
 *   test_fidelity decoded FILE MIN the photo file itself (tests/data/FILE.*,
 *                                  a PNG or JPEG) through arcd's decoders,
 *                                  colour profile and all: the thresholds,
 *                                  with at least MIN% identical keypoints
 *                                  (the reference decodes through Skia),
 *                                  and with MIN 100 the reference's bytes
 *
 * CASE is a comma-separated list of .pgm names making one multi-target file.
 */
#include <stdint.h>

#include "../../test.h"
#include "arcd/compiler.h"
#include "arcd/mind.h"

typedef struct run_s {
    uint8_t *ours;
    size_t ours_len;
    uint8_t *ref;
    size_t ref_len;
} run_t;

/* The extension of the files compile_case() reads: "pgm", or a photo's. */
static const char *case_ext = "pgm";

static int compile_case(const char *names, int threads, uint8_t **out, size_t *len)
{
    arc_image_t imgs[8];
    size_t n = 0;
    char list[512], path[1024];
    arc_err_t err = {{0}};
    arc_mind_t *m = NULL;
    arc_compile_opts_t opts = {.threads = threads};
    int rc = 0;

    snprintf(list, sizeof(list), "%s", names);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && n < 8;
         tok = strtok_r(NULL, ",", &save)) {
        snprintf(path, sizeof(path), "%s/%s.%s", ARCD_TEST_DATA, tok, case_ext);
        rc = arc_image_load_grey(path, 0, &imgs[n], &err);
        CHECK_MSG(rc == 0, "%s: %s", path, err.msg);
        if (rc != 0)
            goto out;
        n++;
    }
    rc = arc_compile(imgs, n, &opts, &m, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0)
        arc_mind_encode(m, out, len);
out:
    for (size_t i = 0; i < n; i++)
        arc_image_dispose(&imgs[i]);
    arc_mind_free(m);
    return rc;
}

static int ref_case(const char *names, uint8_t **out, size_t *len)
{
    char path[1024], file[512];
    arc_err_t err = {{0}};

    snprintf(file, sizeof(file), "%s", names);
    for (char *p = file; *p; p++)
        if (*p == ',')
            *p = '+';
    snprintf(path, sizeof(path), "%s/%s.ref.mind", ARCD_TEST_DATA, file);
    int rc = arc_file_read_all(path, 1u << 30, out, len, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return rc;
}

static void check_thresholds(const char *names, double min_agreement)
{
    uint8_t *ours = NULL, *ref = NULL;
    size_t ol = 0, rl = 0;
    arc_mind_t *a = NULL, *b = NULL;
    arc_err_t err = {{0}};
    arc_mind_cmp_t c;

    if (compile_case(names, 0, &ours, &ol) != 0 || ref_case(names, &ref, &rl) != 0)
        goto out;
    CHECK(arc_mind_decode(ref, rl, &a, &err) == 0);
    CHECK_MSG(arc_mind_decode(ours, ol, &b, &err) == 0, "our own output: %s", err.msg);
    if (a == NULL || b == NULL)
        goto out;
    arc_mind_compare(a, b, &c, stderr);
    printf("%s: bytes identical %s; keypoints %zu/%zu identical (%.2f%%), tracking %zu/%zu, "
           "trees %zu/%zu, grey levels %zu/%zu\n",
           names, ol == rl && memcmp(ours, ref, rl) == 0 ? "yes" : "no", c.fully_matched,
           c.ref_points, c.keypoint_agreement, c.tracking_matched, c.tracking_ref_points,
           c.trees_identical, c.trees_compared, c.tracking_data_identical, c.tracking_levels);
    CHECK(c.structure_ok);
    CHECK(c.tracking_agreement == 100.0);
    /* The tracking images' grey levels are the pixels: identical when the
     * grey images are (a case held to less than 99% is one whose grey
     * differs on some pixels). */
    if (min_agreement >= 99.0)
        CHECK(c.tracking_data_identical == c.tracking_levels);
    CHECK(c.trees_identical == c.trees_compared);
    CHECK_MSG(c.keypoint_agreement >= min_agreement, "%.2f%% of keypoints identical, not %.0f%%",
              c.keypoint_agreement, min_agreement);
out:
    arc_mind_free(a);
    arc_mind_free(b);
    free(ours);
    free(ref);
}

static void check_bytes(const char *names)
{
    uint8_t *ours = NULL, *ref = NULL;
    size_t ol = 0, rl = 0;

    if (compile_case(names, 0, &ours, &ol) == 0 && ref_case(names, &ref, &rl) == 0) {
        size_t first = 0;
        while (first < ol && first < rl && ours[first] == ref[first])
            first++;
        CHECK_MSG(ol == rl && first == rl, "%s: %zu vs %zu bytes, first difference at %zu", names,
                  ol, rl, first);
    }
    free(ours);
    free(ref);
}

static void check_threads(const char *names)
{
    uint8_t *one = NULL, *other = NULL;
    size_t l1 = 0, l2 = 0;

    if (compile_case(names, 1, &one, &l1) != 0)
        return;
    for (int t = 2; t <= 3; t++) {
        if (compile_case(names, t, &other, &l2) == 0)
            CHECK_MSG(l1 == l2 && memcmp(one, other, l1) == 0, "%d threads differ", t);
        free(other);
        other = NULL;
    }
    free(one);
}

/* The case is the argument after the test's name (tests/CMakeLists.txt). */
static const char *case_arg(void)
{
    if (test_argc < 1) {
        fprintf(stderr, "usage: test_fidelity thresholds|bytes|threads CASE[,CASE...]\n");
        exit(2);
    }
    return test_argv[0];
}

TEST(thresholds)
{
    check_thresholds(case_arg(), 99.0);
}

TEST(decoded)
{
    const char *file = case_arg();
    char name[256];

    if (test_argc < 2) {
        fprintf(stderr, "usage: test_fidelity decoded FILE.EXT MIN\n");
        exit(2);
    }
    snprintf(name, sizeof(name), "%s", file);
    char *dot = strrchr(name, '.');
    if (dot == NULL)
        exit(2);
    *dot = '\0';
    case_ext = dot + 1;
    double min = strtod(test_argv[1], NULL);
    check_thresholds(name, min);
    if (min >= 100.0)
        check_bytes(name);
}

TEST(bytes)
{
    check_bytes(case_arg());
}

TEST(threads)
{
    check_threads(case_arg());
}
