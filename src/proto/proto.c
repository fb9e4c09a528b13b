/* The daemon-worker protocol's framing, and the names of the files a job
 * makes that both sides need (see include/arcd/proto.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcd/proto.h"

int arc_proto_frame(const arc_msg_t *m, arc_buf_t *out, arc_err_t *err)
{
    json_t *js = arc_msg_encode(m);
    char *body = js ? json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    size_t n = body ? strlen(body) : 0;
    int rc = 0;

    json_decref(js);
    if (body == NULL) {
        rc = arc_err_set(err, ARC_EINTERNAL, "protocol: a message could not be encoded");
    } else if (n > ARC_PROTO_MAX_FRAME) {
        rc = arc_err_set(err, ARC_ETOOBIG, "protocol: a message of %zu bytes is over the limit", n);
    } else {
        uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
        arc_buf_append(out, len, 4);
        arc_buf_append(out, body, n);
    }
    free(body);
    return rc;
}

void arc_proto_reader_init(arc_proto_reader_t *r)
{
    memset(r, 0, sizeof(*r));
}

void arc_proto_reader_dispose(arc_proto_reader_t *r)
{
    arc_buf_dispose(&r->in);
}

void arc_proto_reader_feed(arc_proto_reader_t *r, const void *data, size_t len)
{
    arc_buf_append(&r->in, data, len);
}

int arc_proto_reader_next(arc_proto_reader_t *r, arc_msg_t *out, arc_err_t *err)
{
    const uint8_t *b = (const uint8_t *)r->in.data;
    json_error_t jerr;

    memset(out, 0, sizeof(*out));
    if (r->in.len < 4)
        return 0;
    uint32_t n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (n == 0 || n > ARC_PROTO_MAX_FRAME)
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a frame of %u bytes", n);
    if (r->in.len < 4 + (size_t)n)
        return 0;
    json_t *js = json_loadb((const char *)b + 4, n, JSON_REJECT_DUPLICATES, &jerr);
    arc_buf_consume(&r->in, 4 + (size_t)n);
    if (js == NULL)
        return arc_err_set(err, ARC_ECORRUPT, "protocol: a frame is not JSON: %s", jerr.text);
    int rc = arc_msg_decode(js, out, err);
    json_decref(js);
    return rc == 0 ? 1 : rc;
}

int arc_proto_read_fd(int fd, arc_proto_reader_t *r, arc_msg_t *out, arc_err_t *err)
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
            return r->in.len == 0 ? 0
                                  : arc_err_set(err, ARC_ECORRUPT,
                                                "protocol: the input ends inside a frame (%zu "
                                                "bytes)",
                                                r->in.len);
        arc_proto_reader_feed(r, buf, (size_t)n);
    }
}

int arc_proto_write_fd(int fd, const arc_msg_t *m)
{
    arc_buf_t frame = ARC_BUF_INIT;
    arc_err_t err;
    size_t done = 0;
    int rc = arc_proto_frame(m, &frame, &err);

    while (rc == 0 && done < frame.len) {
        ssize_t n = write(fd, frame.data + done, frame.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = ARC_EIO;
        else
            done += (size_t)n;
    }
    arc_buf_dispose(&frame);
    return rc;
}

int arc_video_poster_name(const char *video, char *out, size_t size)
{
    size_t n = video != NULL ? strlen(video) : 0;

    if (size > 0)
        out[0] = '\0';
    if (n < 12 || strncmp(video, "ar-video", 8) != 0 || strcmp(video + n - 4, ".mp4") != 0)
        return -1;
    if (snprintf(out, size, "poster%.*s.jpg", (int)(n - 12), video + 8) >= (int)size) {
        if (size > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}
