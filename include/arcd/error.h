/*
 * error.h: arcd's error codes and the allocation helpers every module uses.
 *
 * Every function that can fail returns 0 or a negative ARC_E* code; modules that
 * talk to a library (libjpeg, libpng, msgpack-c, libpq, FFmpeg) convert its errors
 * at their boundary and keep the human message on their own object or in a
 * caller-supplied arc_err_t. Out-of-memory is not an error code: the arc_x*
 * allocators abort, as redis does, because nothing useful can continue.
 * Used by every process (CLI, daemon, workers); nothing here blocks.
 */
#ifndef ARCD_ERROR_H
#define ARCD_ERROR_H

#include <stddef.h>

enum {
    ARC_OK = 0,
    ARC_EINVAL = -1,     /* bad argument or option */
    ARC_EIO = -2,        /* read or write failed (errno kept in the message) */
    ARC_EFORMAT = -3,    /* not a format we read */
    ARC_ECORRUPT = -4,   /* the format is right but the data is damaged or truncated */
    ARC_ETOOBIG = -5,    /* over a configured limit */
    ARC_ETOOSMALL = -6,  /* too small to process */
    ARC_EEMPTY = -7,     /* an empty file */
    ARC_EINTERNAL = -8,  /* a bug: an invariant did not hold */
    ARC_ETIMEDOUT = -9,  /* waited too long */
    ARC_ECANCELED = -10, /* given up by its owner or at shutdown */
    ARC_EDB = -11,       /* the database refused a statement */
    ARC_EUNAVAIL = -12   /* a service (database, workers) is not available now */
};

/* A short, stable name for an error code ("ARC_ECORRUPT" -> "corrupt"); never NULL. */
const char *arc_strerror(int code);

/* The exit status the CLI uses for an error code: 0 for ARC_OK, 2 for usage
 * errors, 3 for bad input files, 4 for I/O, 70 for internal errors. */
int arc_exit_code(int code);

/* A human message buffer carried next to an error code. Large enough for
 * a list of problems, one per line (the configuration's: every key wrong at
 * once, some seventy lines). */
typedef struct arc_err_s {
    char msg[8192];
} arc_err_t;

/* Formats into err (if not NULL) and returns code, so callers can write
 * `return arc_err_set(err, ARC_EFORMAT, "...", ...)`. */
int arc_err_set(arc_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replaces every byte of s that is not printable ASCII (or a newline) with
 * '?': a message that quotes untrusted input (a path, a field, a library's
 * text) is then valid UTF-8 for JSON and one safe line per line in a log. */
void arc_str_printable(char *s);

/* Allocators that abort with a message on out-of-memory; sizes that overflow
 * (n * size) abort too. Free with free(). */
void *arc_xmalloc(size_t size);
void *arc_xcalloc(size_t n, size_t size);
void *arc_xmallocarray(size_t n, size_t size);
void *arc_xrealloc(void *ptr, size_t n, size_t size);
char *arc_xstrdup(const char *s);

/* Reports an allocation of size bytes that cannot be made, and aborts. */
void arc_oom(size_t size) __attribute__((noreturn));

#endif
