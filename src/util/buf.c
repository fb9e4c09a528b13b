/* The growable buffer (see include/arcd/buf.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/buf.h"
#include "arcd/error.h"

void arc_buf_reserve(arc_buf_t *b, size_t n)
{
    if (n >= ((size_t)-1) / 2 - b->len)
        arc_oom(n); /* no buffer grows that large */
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = arc_xrealloc(b->data, cap, 1);
    b->cap = cap;
}

void arc_buf_append(arc_buf_t *b, const void *data, size_t n)
{
    arc_buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void arc_buf_puts(arc_buf_t *b, const char *s)
{
    arc_buf_append(b, s, strlen(s));
}

void arc_buf_vprintf(arc_buf_t *b, const char *fmt, va_list ap)
{
    va_list copy;

    arc_buf_reserve(b, 64);
    va_copy(copy, ap);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        arc_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void arc_buf_printf(arc_buf_t *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    arc_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void arc_buf_put_html(arc_buf_t *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&#39;"; break;
        default: continue;
        }
        arc_buf_append(b, run, (size_t)(s - run));
        arc_buf_puts(b, esc);
        run = s + 1;
    }
    arc_buf_append(b, run, (size_t)(s - run));
}

void arc_buf_consume(arc_buf_t *b, size_t n)
{
    if (n >= b->len) {
        arc_buf_clear(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void arc_buf_clear(arc_buf_t *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *arc_buf_detach(arc_buf_t *b)
{
    char *s = b->data ? b->data : arc_xstrdup("");

    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void arc_buf_dispose(arc_buf_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
