/*
 * test.h: the tiny harness of arcd's C tests. A test file defines functions
 * `static void test_x(void)` and lists them in TEST_MAIN(); each CHECK that
 * fails prints where and why, and main() returns 1 if any did. CTest runs one
 * executable per source file with a timeout.
 */
#ifndef ARCD_TEST_H
#define ARCD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static const char *test_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n", test_current, __FILE__, __LINE__, #cond);     \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s (%s:%d): %s: ", test_current, __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))

typedef struct test_case_s {
    const char *name;
    void (*fn)(void);
} test_case_t;

#define TEST(fn)                                                                                   \
    {                                                                                              \
#fn, fn                                                                                    \
    }

#define TEST_MAIN(...)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const test_case_t cases[] = {__VA_ARGS__};                                          \
        int ran = 0;                                                                               \
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {                            \
            if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)                                   \
                continue;                                                                          \
            int before = test_failures;                                                            \
            test_current = cases[i].name;                                                          \
            cases[i].fn();                                                                         \
            printf("%s %s\n", test_failures == before ? "ok  " : "FAIL", cases[i].name);           \
            ran++;                                                                                 \
        }                                                                                          \
        return test_failures != 0 || ran == 0;                                                     \
    }

/* The folder of the shipped test data (set by CMake). */
#ifndef ARCD_TEST_DATA
#define ARCD_TEST_DATA "tests/data"
#endif

static inline char *test_path(const char *name)
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 1024, "%s/%s", ARCD_TEST_DATA, name);
    return p;
}

#endif
