/* Tests for src/mind/: the .mind encoder (bytes as @msgpack/msgpack writes them) and decoder. */
#include <math.h>
#include <stdint.h>

#include "../../test.h"
#include "arcd/image.h"
#include "arcd/mind.h"

static void roundtrip(const char *name)
{
    uint8_t *ref = NULL, *enc = NULL;
    size_t rl = 0, el = 0;
    arc_mind_t *m = NULL;
    arc_err_t err = {{0}};

    CHECK(arc_file_read_all(test_path(name), 1u << 30, &ref, &rl, &err) == 0);
    CHECK_MSG(arc_mind_decode(ref, rl, &m, &err) == 0, "%s", err.msg);
    if (m != NULL) {
        arc_mind_encode(m, &enc, &el);
        CHECK_MSG(el == rl && memcmp(enc, ref, rl) == 0, "%s re-encodes to %zu bytes, not %zu",
                  name, el, rl);
    }
    free(ref);
    free(enc);
    arc_mind_free(m);
}

TEST(test_reference_files_roundtrip_byte_for_byte)
{
    /* Decoding MindAR's own files and encoding them again gives the same
     * bytes: the encoder's types, key order and number forms are MindAR's. */
    roundtrip("card.ref.mind");
    roundtrip("pictarize.ref.mind");
    roundtrip("bear.ref.mind");
    roundtrip("card+pictarize.ref.mind");
}

/* Finds the bytes that follow the fixstr key in buf; NULL if absent. */
static const uint8_t *after_key(const uint8_t *buf, size_t len, const char *key)
{
    size_t n = strlen(key);

    for (size_t i = 0; i + 1 + n < len; i++)
        if (buf[i] == (0xa0 | n) && memcmp(buf + i + 1, key, n) == 0)
            return buf + i + 1 + n;
    return NULL;
}

TEST(test_numbers_take_the_smallest_form_per_value)
{
    arc_mind_t *m = arc_mind_create(1);
    arc_mind_target_t *t = &m->targets[0];
    uint8_t *buf = NULL;
    size_t len = 0;
    const uint8_t *p;

    t->width = 674;  /* uint16 */
    t->height = 100; /* fixint */
    t->n_keyframes = 1;
    t->keyframes = arc_xcalloc(1, sizeof(*t->keyframes));
    arc_mind_keyframe_t *kf = t->keyframes;
    kf->scale = 1.0; /* an integral double is an integer */
    kf->width = 70000;
    kf->height = 200;
    kf->n_maxima = 1;
    kf->maxima = arc_xcalloc(1, sizeof(arc_mind_point_t));
    kf->maxima[0].maxima = 1;
    kf->maxima[0].x = -0.0;  /* isSafeInteger(-0): written as 0 */
    kf->maxima[0].y = -33;   /* int8 */
    kf->maxima[0].scale = 2; /* fixint */
    kf->maxima[0].angle = NAN;
    kf->maxima[0].desc[0] = 0xffffffffu;
    kf->maxima_tree.center = -1;
    kf->maxima_tree.leaf = 1;
    kf->maxima_tree.count = 1;
    kf->maxima_tree.points = arc_xcalloc(1, sizeof(uint32_t));
    kf->minima_tree.center = -1;
    kf->minima_tree.leaf = 1;

    arc_mind_encode(m, &buf, &len);
    CHECK(buf[0] == 0x82 && buf[1] == 0xa1 && buf[2] == 'v' && buf[3] == 0x02);
    p = after_key(buf, len, "width");
    CHECK(p && p[0] == 0xcd && p[1] == 0x02 && p[2] == 0xa2);
    p = after_key(buf, len, "x");
    CHECK(p && p[0] == 0x00);
    p = after_key(buf, len, "y");
    CHECK(p && p[0] == 0xd0 && p[1] == 0xdf);
    p = after_key(buf, len, "angle");
    CHECK(p && p[0] == 0xcb);
    p = after_key(buf, len, "descriptors");
    CHECK(p && p[0] == 0xdc && p[1] == 0x00 && p[2] == 21 && p[3] == 0xce);
    p = after_key(buf, len, "centerPointIndex");
    CHECK(p && p[0] == 0xc0);
    /* The keyframe's own width (70000) is a uint32 and its scale fixint 1. */
    p = after_key(p, len - (size_t)(p - buf), "width");
    CHECK(p && p[0] == 0xce);
    p = after_key(buf, len, "scale");
    p = p ? after_key(p, len - (size_t)(p - buf), "scale") : NULL;
    CHECK(p && p[0] == 0x01);

    /* And it decodes back. */
    arc_mind_t *back = NULL;
    arc_err_t err;
    CHECK(arc_mind_decode(buf, len, &back, &err) == 0);
    if (back) {
        CHECK(back->targets[0].keyframes[0].maxima[0].y == -33);
        CHECK(isnan(back->targets[0].keyframes[0].maxima[0].angle));
    }
    arc_mind_free(back);
    arc_mind_free(m);
    free(buf);
}

static int decode_rc(const void *buf, size_t len, char *msg, size_t msglen)
{
    arc_mind_t *m = NULL;
    arc_err_t err = {{0}};
    int rc = arc_mind_decode(buf, len, &m, &err);

    snprintf(msg, msglen, "%.500s", err.msg);
    arc_mind_free(m);
    return rc;
}

TEST(test_bad_files_get_clear_errors)
{
    char msg[512];
    uint8_t *ref = NULL;
    size_t rl = 0;
    arc_err_t err;

    CHECK(decode_rc("", 0, msg, sizeof(msg)) == ARC_EEMPTY);
    CHECK(decode_rc("hello, world", 12, msg, sizeof(msg)) == ARC_EFORMAT);
    /* {v: 1, dataList: []}: an old compiler's file. */
    static const uint8_t v1[] = {0x82, 0xa1, 'v', 0x01, 0xa8, 'd', 'a',
                                 't',  'a',  'L', 'i',  's',  't', 0x90};
    CHECK(decode_rc(v1, sizeof(v1), msg, sizeof(msg)) == ARC_EFORMAT);
    CHECK(strstr(msg, "version 1") != NULL);
    /* {v: 2}: no dataList. */
    static const uint8_t nolist[] = {0x81, 0xa1, 'v', 0x02};
    CHECK(decode_rc(nolist, sizeof(nolist), msg, sizeof(msg)) == ARC_ECORRUPT);
    /* {v: 2, dataList: [{}]}: a target without fields names where. */
    static const uint8_t empty_target[] = {0x82, 0xa1, 'v', 0x02, 0xa8, 'd',  'a', 't',
                                           'a',  'L',  'i', 's',  't',  0x91, 0x80};
    CHECK(decode_rc(empty_target, sizeof(empty_target), msg, sizeof(msg)) == ARC_ECORRUPT);
    CHECK(strstr(msg, "target 0") != NULL);
    /* Headers claiming billions of elements or bytes are refused before
     * anything is allocated for them. */
    static const uint8_t huge_array[] = {0xdd, 0x7f, 0xff, 0xff, 0xff, 0x00};
    CHECK(decode_rc(huge_array, sizeof(huge_array), msg, sizeof(msg)) == ARC_EFORMAT);
    static const uint8_t huge_map[] = {0x82, 0xa1, 'v', 0x02, 0xa8, 'd',  'a',  't',  'a',
                                       'L',  'i',  's', 't',  0xdf, 0xff, 0xff, 0xff, 0xff};
    CHECK(decode_rc(huge_map, sizeof(huge_map), msg, sizeof(msg)) == ARC_EFORMAT);
    static const uint8_t huge_bin[] = {0xc6, 0x7f, 0xff, 0xff, 0xff, 0x01};
    CHECK(decode_rc(huge_bin, sizeof(huge_bin), msg, sizeof(msg)) == ARC_ECORRUPT);
    static const uint8_t never_used[] = {0xc1};
    CHECK(decode_rc(never_used, 1, msg, sizeof(msg)) == ARC_EFORMAT);
    /* Every truncation of a real file is refused, never a crash. */
    CHECK(arc_file_read_all(test_path("card.ref.mind"), 1u << 30, &ref, &rl, &err) == 0);
    for (size_t cut = 1; ref && cut < rl; cut += cut < 4096 ? 97 : 40961)
        CHECK(decode_rc(ref, cut, msg, sizeof(msg)) != 0);
    /* A flipped descriptor array header (21 -> 20 words) is caught. */
    if (ref) {
        for (size_t i = 0; i + 3 < rl; i++)
            if (ref[i] == 0xdc && ref[i + 1] == 0 && ref[i + 2] == 21) {
                ref[i + 2] = 20;
                break;
            }
        CHECK(decode_rc(ref, rl, msg, sizeof(msg)) == ARC_ECORRUPT);
    }
    free(ref);
}

TEST(test_mutated_files_never_crash)
{
    /* Random byte flips in a real file: each decode succeeds or fails with
     * a code, and a success still holds a consistent structure. */
    uint8_t *ref = NULL;
    size_t rl = 0;
    arc_err_t err;
    uint32_t seed = 12345;

    CHECK(arc_file_read_all(test_path("card.ref.mind"), 1u << 30, &ref, &rl, &err) == 0);
    for (int round = 0; ref && round < 300; round++) {
        uint8_t *copy = malloc(rl);
        memcpy(copy, ref, rl);
        for (int k = 0; k < 1 + round % 8; k++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = (seed >> 8) % (round % 2 ? 4096 : rl);
            seed = seed * 1664525u + 1013904223u;
            copy[at] ^= (uint8_t)(1u << (seed >> 29));
        }
        arc_mind_t *m = NULL;
        int rc = arc_mind_decode(copy, rl, &m, &err);
        CHECK(rc == 0 || rc == ARC_EFORMAT || rc == ARC_ECORRUPT);
        if (rc == 0)
            for (size_t t = 0; t < m->n_targets; t++)
                for (size_t i = 0; i < m->targets[t].n_tracking; i++)
                    CHECK(m->targets[t].tracking[i].data_len ==
                          (size_t)m->targets[t].tracking[i].width *
                              (size_t)m->targets[t].tracking[i].height);
        arc_mind_free(m);
        free(copy);
    }
    free(ref);
}
