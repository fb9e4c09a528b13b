/* The daemon-worker protocol's framing (see include/arcd/proto.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcd/proto.h"

char *arc_proto_encode(const json_t *js, size_t *len)
{
    char *body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = body ? strlen(body) : 0;
    char *frame = arc_xmalloc(n + 4);

    frame[0] = (char)(n >> 24);
    frame[1] = (char)(n >> 16);
    frame[2] = (char)(n >> 8);
    frame[3] = (char)n;
    memcpy(frame + 4, body, n);
    free(body);
    *len = n + 4;
    return frame;
}

void arc_proto_reader_init(arc_proto_reader_t *r)
{
    memset(r, 0, sizeof(*r));
}

void arc_proto_reader_dispose(arc_proto_reader_t *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

void arc_proto_reader_feed(arc_proto_reader_t *r, const void *data, size_t len)
{
    if (r->len + len > r->cap) {
        r->cap = (r->len + len) * 2;
        r->buf = arc_xrealloc(r->buf, r->cap, 1);
    }
    memcpy(r->buf + r->len, data, len);
    r->len += len;
}

int arc_proto_reader_next(arc_proto_reader_t *r, json_t **out, arc_err_t *err)
{
    json_error_t jerr;

    *out = NULL;
    if (r->len < 4)
        return 0;
    uint32_t n = (uint32_t)r->buf[0] << 24 | (uint32_t)r->buf[1] << 16 | (uint32_t)r->buf[2] << 8 |
                 r->buf[3];
    if (n == 0 || n > ARC_PROTO_MAX_FRAME)
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a frame of %u bytes", n);
    if (r->len < 4 + (size_t)n)
        return 0;
    json_t *js = json_loadb((const char *)r->buf + 4, n, JSON_REJECT_DUPLICATES, &jerr);
    memmove(r->buf, r->buf + 4 + n, r->len - 4 - n);
    r->len -= 4 + n;
    if (js == NULL || !json_is_object(js)) {
        json_decref(js);
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a frame is not a JSON object");
    }
    json_t *v = json_object_get(js, "v");
    if (!json_is_integer(v) || json_integer_value(v) != ARC_PROTO_VERSION ||
        !json_is_string(json_object_get(js, "type"))) {
        json_decref(js);
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a message of another version or type");
    }
    *out = js;
    return 1;
}

int arc_proto_read_fd(int fd, arc_proto_reader_t *r, json_t **out, arc_err_t *err)
{
    for (;;) {
        int rc = arc_proto_reader_next(r, out, err);
        if (rc != 0)
            return rc;
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return arc_err_set(err, ARC_EIO, "protocol: read failed: %s", strerror(errno));
        if (n == 0)
            return 0;
        arc_proto_reader_feed(r, buf, (size_t)n);
    }
}

int arc_proto_write_fd(int fd, const json_t *js)
{
    size_t len, done = 0;
    char *frame = arc_proto_encode(js, &len);

    while (done < len) {
        ssize_t n = write(fd, frame + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(frame);
            return ARC_EIO;
        }
        done += (size_t)n;
    }
    free(frame);
    return 0;
}
