/*
 * compress.h: brotli and gzip in memory, for what is sent over HTTP with a
 * Content-Encoding (a marker's .br and .gz beside it, the operator's web
 * app). The caller owns what comes out (free()).
 */
#ifndef ARCD_COMPRESS_H
#define ARCD_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* data compressed with brotli at quality 0-11 (generic mode, the default
 * window) into *out, *len. Returns 0, or -1 when brotli fails (nothing to
 * free then). */
int arc_compress_brotli(const void *data, size_t len, int quality, uint8_t **out, size_t *out_len);

/* data in a gzip wrapper (RFC 1952, what Content-Encoding: gzip means) at
 * zlib level 9. Returns 0, or -1 (zlib failed, or over 4 GiB). */
int arc_compress_gzip(const void *data, size_t len, uint8_t **out, size_t *out_len);

#endif
