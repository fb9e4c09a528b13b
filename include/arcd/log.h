/*
 * log.h: arcd's log lines. One JSON object per line on stderr, for journald
 * and any collector: {"time": UTC with milliseconds, "level", "msg", then
 * the line's own fields}. The daemon writes one per request (server.c) and
 * per job transition (queue.c); a worker adds its job's id and the
 * X-Request-Id of the request that made it (arc_log_context()).
 *
 * Nothing secret is ever a field: no token, no password, no header, no
 * query string (tests/integration/96_logs.py looks for them).
 *
 * Process-wide state, set before threads start. A line is written with one
 * write(2): lines up to PIPE_BUF (4 KB) of several processes sharing a pipe
 * do not interleave. The write is synchronous (journald's stream or a
 * terminal take a line at once). Text that is not UTF-8 (a request's path,
 * FFmpeg's messages) has its bad bytes replaced, never drops the line.
 */
#ifndef ARCD_LOG_H
#define ARCD_LOG_H

#include <jansson.h>

typedef enum arc_log_level_e {
    ARC_LOG_DEBUG = 0,
    ARC_LOG_INFO,
    ARC_LOG_WARN,
    ARC_LOG_ERROR
} arc_log_level_t;

/* Lines below level are not written (default ARC_LOG_INFO). */
void arc_log_set_level(arc_log_level_t level);

/* "debug", "info", "warn" or "error"; returns 0 or -1. */
int arc_log_level_parse(const char *s, arc_log_level_t *out);
const char *arc_log_level_name(arc_log_level_t level);

int arc_log_enabled(arc_log_level_t level);

/* Fields added to every line of this process from now on (a worker's job);
 * ctx is stolen, NULL clears them. */
void arc_log_context(json_t *ctx);

/* Replaces the bytes of s that are not well-formed UTF-8 by '?', in place. */
void arc_log_utf8(char *s);

/* A line with msg and the fields of fields (an object, stolen; NULL: none). */
void arc_log_event(arc_log_level_t level, const char *msg, json_t *fields);

/* A line whose msg is formatted. */
void arc_log_msg(arc_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
