/* main() of every C test program: runs the tests that registered themselves
 * (tests/test.h), all of them or the one named on the command line. */
#include "test.h"

#define MAX_TESTS 256

int test_failures;
const char *test_current;
int test_argc;
char **test_argv;

static struct {
    const char *name;
    test_fn_t fn;
} tests[MAX_TESTS];
static int n_tests;

void test_register(const char *name, test_fn_t fn)
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "test.h: more than %d tests in one program\n", MAX_TESTS);
        exit(2);
    }
    tests[n_tests].name = name;
    tests[n_tests].fn = fn;
    n_tests++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int ran = 0;

    test_argc = argc > 2 ? argc - 2 : 0;
    test_argv = argv + (argc > 2 ? 2 : argc);
    /* Constructors run in no promised order: sort for a stable report. */
    qsort(tests, (size_t)n_tests, sizeof(tests[0]), by_name);
    for (int i = 0; i < n_tests; i++) {
        if (only != NULL && strcmp(only, tests[i].name) != 0)
            continue;
        int before = test_failures;
        test_current = tests[i].name;
        tests[i].fn();
        printf("%s %s\n", test_failures == before ? "ok  " : "FAIL", tests[i].name);
        fflush(stdout);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test named '%s'; this program has:", only ? only : "");
        for (int i = 0; i < n_tests; i++)
            fprintf(stderr, " %s", tests[i].name);
        fputc('\n', stderr);
        return 1;
    }
    return test_failures != 0;
}
