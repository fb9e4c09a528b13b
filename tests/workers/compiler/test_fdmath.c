/*
 * Tests for workers/compiler/fdmath.c: sin, cos and atan2 must give Node's
 * bits. tests/data/fdmath-vectors.bin holds Node 20's own results for
 * compiler-like arguments (made by tests/tools/fdmath_vectors.mjs; the same
 * script checked 6 million cases when the port was written).
 */
#include <math.h>
#include <stdint.h>

#include "../../test.h"
#include "arcd/image.h"
#include "compiler_internal.h"

TEST(test_node_vectors_bit_for_bit)
{
    uint8_t *buf = NULL;
    size_t len = 0, n[3] = {0}, bad[3] = {0}, glibc[3] = {0};
    arc_err_t err;

    CHECK(arc_file_read_all(test_path("fdmath-vectors.bin"), 1u << 24, &buf, &len, &err) == 0);
    for (size_t off = 0; buf && off + 32 <= len; off += 32) {
        double r[4], got, libc;
        memcpy(r, buf + off, sizeof(r));
        int op = (int)r[0];
        got = op == 0 ? arc__sin(r[1]) : op == 1 ? arc__cos(r[1]) : arc__atan2(r[1], r[2]);
        libc = op == 0 ? sin(r[1]) : op == 1 ? cos(r[1]) : atan2(r[1], r[2]);
        n[op]++;
        if (memcmp(&got, &r[3], sizeof(got)) != 0 && bad[op]++ < 5)
            fprintf(stderr, "op %d (%a, %a): Node %a, arcd %a\n", op, r[1], r[2], r[3], got);
        glibc[op] += memcmp(&libc, &r[3], sizeof(libc)) != 0;
    }
    printf("sin %zu, cos %zu, atan2 %zu cases; the C library differs from Node on %zu, %zu, %zu\n",
           n[0], n[1], n[2], glibc[0], glibc[1], glibc[2]);
    CHECK(n[0] > 1000 && n[1] > 1000 && n[2] > 1000);
    CHECK(bad[0] == 0 && bad[1] == 0 && bad[2] == 0);
    free(buf);
}

TEST(test_special_values)
{
    CHECK(arc__atan2(0.0, 0.0) == 0.0 && !signbit(arc__atan2(0.0, 0.0)));
    CHECK(signbit(arc__atan2(-0.0, 1.0)));
    CHECK(arc__atan2(0.0, -1.0) == M_PI);
    CHECK(arc__atan2(1.0, 0.0) == M_PI / 2);
    CHECK(arc__atan2(-INFINITY, INFINITY) == -M_PI / 4);
    CHECK(isnan(arc__atan2(NAN, 1.0)));
    CHECK(isnan(arc__sin(INFINITY)) && isnan(arc__cos(-INFINITY)));
    CHECK(arc__sin(0.0) == 0.0 && arc__cos(0.0) == 1.0);
    CHECK(arc__sin(1e-300) == 1e-300);
    /* Beyond the medium reduction range: the C library's value. */
    CHECK(arc__sin(1e9) == sin(1e9));
}
