/*
 * proto.h: the daemon-worker protocol, version 1.
 *
 * A worker is `arcd worker`, started by the daemon with uv_spawn; its stdin
 * carries messages from the daemon and its stdout messages to the daemon
 * (stderr is the daemon's, for logs). Each message is one frame: a 4-byte
 * big-endian length N (1 to 1 MiB) and N bytes of a UTF-8 JSON object with
 * "v": 1 and a "type":
 *
 *   worker -> daemon  {"v":1,"type":"hello","pid":123}   once, when ready
 *   daemon -> worker  {"v":1,"type":"job","id":"<uuid>","dir":"/abs/project/dir",
 *                      "photo":"photo.jpg","video":"video.webm","fitMode":"contain",
 *                      "scaleWidth":null,"scaleHeight":null,"config":{...},
 *                      "maxPixels":40000000,"threads":1,
 *                      "viewUrl":"https://public.example/ar/view/<uuid>",
 *                      "cacheDir":"/abs/storage/cache","viewer":{"template":"/abs/viewer.html",
 *                      "vendorUrl":"/vendor","filterMinCF":0.0001,"filterBeta":0.001}}
 *   worker -> daemon  {"v":1,"type":"progress","id":"...","stage":"marker","progress":40}
 *   worker -> daemon  {"v":1,"type":"done","id":"...","ok":true,"files":["marker.mind",...],
 *                      "photo":{"width":..,"height":..},"video":{...},
 *                      "timings":{"photo":12,...},"ms":345,"markerCache":"hit"}
 *   worker -> daemon  {"v":1,"type":"done","id":"...","ok":false,"error":"a readable
 *                      reason","permanent":true}
 *
 * A worker runs one job at a time and answers every job with exactly one
 * "done". "permanent" means retrying cannot help (bad input); otherwise the
 * daemon may retry. A message of another version is a protocol error: the
 * daemon replaces the worker. Unknown keys are ignored (room to grow).
 */
#ifndef ARCD_PROTO_H
#define ARCD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arcd/error.h"

#define ARC_PROTO_VERSION 1
#define ARC_PROTO_MAX_FRAME (1u << 20)

/* Encodes js (borrowed) as a frame; returns an owned buffer (free()) of *len. */
char *arc_proto_encode(const json_t *js, size_t *len);

/* Reassembles frames from a byte stream. */
typedef struct arc_proto_reader_s {
    uint8_t *buf;
    size_t len, cap;
} arc_proto_reader_t;

void arc_proto_reader_init(arc_proto_reader_t *r);
void arc_proto_reader_dispose(arc_proto_reader_t *r);

/* Appends bytes. */
void arc_proto_reader_feed(arc_proto_reader_t *r, const void *data, size_t len);

/* The next complete message: returns 1 and *out (owned, json_decref), 0 when
 * more bytes are needed, or ARC_ECORRUPT (bad length, bad JSON, wrong
 * version) with the reason in err. */
int arc_proto_reader_next(arc_proto_reader_t *r, json_t **out, arc_err_t *err);

/* Blocking helpers for the worker side (fd 0 / fd 1). Read: 1 message, 0 at
 * end of input, or an error. Write: 0 or ARC_EIO. */
int arc_proto_read_fd(int fd, arc_proto_reader_t *r, json_t **out, arc_err_t *err);
int arc_proto_write_fd(int fd, const json_t *js);

#endif
