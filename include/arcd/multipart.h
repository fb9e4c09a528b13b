/*
 * multipart.h: a streaming multipart/form-data parser (RFC 7578 / 2046).
 *
 * Bytes go in as they arrive, in pieces of any size; parts come out as a
 * begin (name, file name, content type), their data in pieces, and an end.
 * Nothing is buffered beyond one part's header block (at most 8 KiB), so an
 * upload of any size passes through in constant memory. Malformed input (no
 * boundary, headers too long, a part without a name, data after the end)
 * fails with a message. Hand-written because no Debian library streams
 * multipart; it is unit-tested and fuzzed (tests/src/http/).
 *
 * Pure computation; used on the daemon's loop.
 */
#ifndef ARCD_MULTIPART_H
#define ARCD_MULTIPART_H

#include <stddef.h>

#define ARC_MULTIPART_MAX_HEADER 8192
#define ARC_MULTIPART_MAX_PARTS 64
#define ARC_MULTIPART_MAX_BOUNDARY 70

typedef struct arc_multipart_s arc_multipart_t;

/* Each returns 0 to go on, anything else to stop the parser (feed() then
 * returns -1 with the message "stopped by the receiver"). */
typedef struct arc_multipart_cb_s {
    int (*on_part)(void *arg, const char *name, const char *filename, const char *content_type);
    int (*on_data)(void *arg, const char *data, size_t len);
    int (*on_part_end)(void *arg);
    void *arg;
} arc_multipart_cb_t;

/* The boundary parameter of a Content-Type header, into out. Returns 0, or
 * -1 when the type is not multipart/form-data or has no valid boundary. */
int arc_multipart_boundary(const char *content_type, char *out, size_t outlen);

/* A parser for boundary (copied); cb is copied. Free with arc_multipart_free(). */
arc_multipart_t *arc_multipart_create(const char *boundary, const arc_multipart_cb_t *cb);

/* Parses the next bytes. Returns 0, or -1 on malformed input (see
 * arc_multipart_error(); the parser is then finished). */
int arc_multipart_feed(arc_multipart_t *m, const char *data, size_t len);

/* At the end of the body: 0 when the closing boundary has been seen, else -1. */
int arc_multipart_finish(arc_multipart_t *m);

/* Why the parser failed, or "" */
const char *arc_multipart_error(const arc_multipart_t *m);

/* Accepts NULL. */
void arc_multipart_free(arc_multipart_t *m);

#endif
