/*
 * assert.h: ARC_ASSERT, arcd's invariant check (curl's DEBUGASSERT). It
 * guards the state machines (HTTP connections, the database pool, the job
 * queue, the worker processes): a transition from a state that cannot lead
 * there is a bug, and a Debug or sanitizer build stops at once with where
 * it happened rather than going on with a corrupted state. Release builds
 * compile the checks away (the expression is not evaluated), so they may be
 * used on hot paths. CMake defines ARCD_ASSERTS for Debug builds and
 * whenever ARCD_SANITIZE or ARCD_FUZZ is on.
 */
#ifndef ARCD_ASSERT_H
#define ARCD_ASSERT_H

/* Prints the failed expression and where, then aborts. */
void arc__assert_fail(const char *expr, const char *file, int line, const char *func)
    __attribute__((noreturn));

#if defined(ARCD_ASSERTS)
#define ARC_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            arc__assert_fail(#cond, __FILE__, __LINE__, __func__);                                 \
    } while (0)
#else
#define ARC_ASSERT(cond)                                                                           \
    do {                                                                                           \
        (void)sizeof(!(cond));                                                                     \
    } while (0)
#endif

#endif
