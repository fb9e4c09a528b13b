/* arcd's log lines (include/arcd/log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arcd/log.h"

static arc_log_level_t min_level = ARC_LOG_INFO;
static json_t *context;

static const char *const names[] = {"debug", "info", "warn", "error"};

void arc_log_set_level(arc_log_level_t level)
{
    min_level = level;
}

int arc_log_level_parse(const char *s, arc_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (arc_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

const char *arc_log_level_name(arc_log_level_t level)
{
    return names[level <= ARC_LOG_ERROR ? level : ARC_LOG_ERROR];
}

int arc_log_enabled(arc_log_level_t level)
{
    return level >= min_level;
}

void arc_log_context(json_t *ctx)
{
    json_decref(context);
    context = ctx;
}

void arc_log_utf8(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        unsigned cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
        size_t i = 1;
        for (; i < n && (p[i] & 0xc0) == 0x80; i++)
            cp = cp << 6 | (p[i] & 0x3f);
        /* Whole, shortest form, not a surrogate, at most U+10FFFF. */
        int ok = n == 1 || (n > 1 && i == n && !(n == 2 && cp < 0x80) &&
                            !(n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
                            !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)));
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

void arc_log_event(arc_log_level_t level, const char *msg, json_t *fields)
{
    char clean[2048];

    struct timespec ts;
    struct tm tm;
    char when[40];

    if (!arc_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    /* The fixed fields first, in order, then the context's, then the line's. */
    json_t *line = json_pack("{s:s, s:s, s:s}", "time", when, "level", names[level], "msg", msg);
    if (line == NULL) { /* not UTF-8: the line goes out with its bad bytes replaced */
        snprintf(clean, sizeof(clean), "%s", msg);
        arc_log_utf8(clean);
        line = json_pack("{s:s, s:s, s:s}", "time", when, "level", names[level], "msg", clean);
    }
    if (line == NULL) {
        json_decref(fields);
        return;
    }
    if (context != NULL)
        json_object_update_missing(line, context);
    if (fields != NULL) {
        json_object_update_missing(line, fields);
        json_decref(fields);
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
                                      JSON_REAL_PRECISION(10));
    json_decref(line);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* over the NUL: the line is written whole, once */
    for (size_t off = 0; off <= len;) {
        ssize_t w = write(STDERR_FILENO, text + off, len + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(text);
}

void arc_log_msg(arc_log_level_t level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    if (!arc_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    arc_log_utf8(msg); /* a cut may split a character; FFmpeg's text may be anything */
    arc_log_event(level, msg, NULL);
}
