/*
 * buf.h: arcd's one growable byte buffer, as curl has its dynbuf. Used for
 * text built piece by piece (the /metrics page, templates, JSON frames) and
 * for bytes reassembled from a stream (protocol frames, request bodies).
 *
 * The contents are always NUL-terminated (not counted in len), so a buffer
 * of text can be used as a C string. Growth aborts on out-of-memory, as
 * every arc_x* allocator does. Plain data: any process, any thread that owns
 * the buffer. A zeroed arc_buf_t is an empty buffer (ARC_BUF_INIT).
 */
#ifndef ARCD_BUF_H
#define ARCD_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arc_buf_s {
    char *data; /* NULL until something is added */
    size_t len;
    size_t cap;
} arc_buf_t;

#define ARC_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Makes room for n more bytes (and the NUL). */
void arc_buf_reserve(arc_buf_t *b, size_t n);

/* Appends n bytes of data (data may be NULL when n is 0). */
void arc_buf_append(arc_buf_t *b, const void *data, size_t n);

/* Appends the C string s. */
void arc_buf_puts(arc_buf_t *b, const char *s);

/* Appends printf-style text. */
void arc_buf_printf(arc_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arc_buf_vprintf(arc_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends s with &, <, >, " and ' escaped for HTML text and attributes. */
void arc_buf_put_html(arc_buf_t *b, const char *s);

/* Drops the first n bytes (n <= len), keeping the rest. */
void arc_buf_consume(arc_buf_t *b, size_t n);

/* Empties the buffer, keeping its memory. */
void arc_buf_clear(arc_buf_t *b);

/* Returns the contents (owned by the caller, free with free(); never NULL:
 * an empty buffer gives "") and leaves b empty. */
char *arc_buf_detach(arc_buf_t *b);

/* Frees the contents; the buffer is empty afterwards. Accepts NULL. */
void arc_buf_dispose(arc_buf_t *b);

#endif
