/*
 * test.h: the tiny harness of arcd's C tests. A test is a function written
 *
 *     TEST(test_something)
 *     {
 *         CHECK(...);
 *     }
 *
 * which registers itself before main() runs (tests/test_main.c), so adding a
 * test is writing it: no list to keep. Each CHECK that fails prints where and
 * why; the program returns 1 if any did. `test_x NAME [ARGS...]` runs only
 * the test NAME, with ARGS in test_argc/test_argv (the fidelity cases use
 * that). CTest runs one executable per source file (tests/CMakeLists.txt,
 * one line per test).
 */
#ifndef ARCD_TEST_H
#define ARCD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_failures;
extern const char *test_current;
/* The arguments after the test's name on the command line. */
extern int test_argc;
extern char **test_argv;

typedef void (*test_fn_t)(void);
void test_register(const char *name, test_fn_t fn);

#define TEST(name)                                                                                 \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void name##_register(void)                                 \
    {                                                                                              \
        test_register(#name, name);                                                                \
    }                                                                                              \
    static void name(void)

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

static inline int test_str_eq(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

static inline const char *test_str_shown(const char *s)
{
    return s ? s : "(null)";
}

#define CHECK_STR(a, b) CHECK_MSG(test_str_eq((a), (b)), "'%s' != '%s'", test_str_shown(a), (b))

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
