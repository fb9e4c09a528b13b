/* Brotli and gzip in memory (include/arcd/compress.h). */
#include <stdint.h>
#include <stdlib.h>

#include <brotli/encode.h>
#include <zlib.h>

#include "arcd/compress.h"
#include "arcd/error.h"

int arc_compress_brotli(const void *data, size_t len, int quality, uint8_t **out, size_t *out_len)
{
    size_t cap = BrotliEncoderMaxCompressedSize(len), n = cap;
    uint8_t *buf = cap > 0 ? arc_xmalloc(cap) : NULL;

    *out = NULL;
    *out_len = 0;
    if (buf == NULL || !BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC,
                                              len, data, &n, buf)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int arc_compress_gzip(const void *data, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream z = {0};
    int rc = -1;

    *out = NULL;
    *out_len = 0;
    if (len > UINT32_MAX)
        return -1;
    /* 15 + 16: a gzip wrapper, not zlib's own. */
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)len);
    uint8_t *buf = arc_xmalloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
        *out = buf;
        *out_len = z.total_out;
        buf = NULL;
        rc = 0;
    }
    deflateEnd(&z);
    free(buf);
    return rc;
}
