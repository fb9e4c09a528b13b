/* arcd's log lines (include/arcd/log.h). */
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

void arc_log_event(arc_log_level_t level, const char *msg, json_t *fields)
{
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
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(line);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* over the NUL: the line is written whole, once */
    for (size_t off = 0; off <= len;) {
        ssize_t w = write(STDERR_FILENO, text + off, len + 1 - off);
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
    arc_log_event(level, msg, NULL);
}
