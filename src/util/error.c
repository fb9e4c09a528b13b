/* Error names, exit codes and aborting allocators (see include/arcd/error.h). */
#include "arcd/assert.h"
#include "arcd/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *arc_strerror(int code)
{
    switch (code) {
    case ARC_OK: return "ok";
    case ARC_EINVAL: return "invalid";
    case ARC_EIO: return "io";
    case ARC_EFORMAT: return "format";
    case ARC_ECORRUPT: return "corrupt";
    case ARC_ETOOBIG: return "too-big";
    case ARC_ETOOSMALL: return "too-small";
    case ARC_EEMPTY: return "empty";
    case ARC_EINTERNAL: return "internal";
    case ARC_ETIMEDOUT: return "timeout";
    case ARC_ECANCELED: return "canceled";
    case ARC_EDB: return "database";
    case ARC_EUNAVAIL: return "unavailable";
    default: return "unknown";
    }
}

int arc_exit_code(int code)
{
    switch (code) {
    case ARC_OK: return 0;
    case ARC_EINVAL: return 2;
    case ARC_EFORMAT:
    case ARC_ECORRUPT:
    case ARC_ETOOBIG:
    case ARC_ETOOSMALL:
    case ARC_EEMPTY: return 3;
    case ARC_EIO: return 4;
    default: return 70;
    }
}

int arc_err_set(arc_err_t *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void arc_str_printable(char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\n') || (unsigned char)*s >= 0x7f)
            *s = '?';
}

void arc_oom(size_t size)
{
    fprintf(stderr, "arcd: out of memory allocating %zu bytes\n", size);
    abort();
}

void arc__assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "arcd: assertion failed: %s (%s:%d, %s)\n", expr, file, line, func);
    abort();
}

void *arc_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        arc_oom(size);
    return p;
}

void *arc_xcalloc(size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size)
        arc_oom(SIZE_MAX);
    p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        arc_oom(n * size);
    return p;
}

void *arc_xmallocarray(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        arc_oom(SIZE_MAX);
    return arc_xmalloc(n * size);
}

void *arc_xrealloc(void *ptr, size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size)
        arc_oom(SIZE_MAX);
    p = realloc(ptr, n * size != 0 ? n * size : 1);
    if (p == NULL)
        arc_oom(n * size);
    return p;
}

char *arc_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arc_xmalloc(n);

    memcpy(p, s, n);
    return p;
}
