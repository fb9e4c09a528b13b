/*
 * libFuzzer harness for photo decoding (src/image/): the grey decoder that
 * `arcd compile` uses and the colour path of the worker (DCT scaling, EXIF
 * orientation through libexif, the area filter, colour profiles), on JPEG,
 * PNG, PGM and WebP (seeds in tests/fuzz/photo/; HEIF is not seeded).
 */
#include <stdint.h>
#include <stdlib.h>

#include "arcd/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arc_image_t grey;
    arc_photo_t photo;
    arc_photo_info_t info;
    arc_err_t err = {{0}};

    /* Small limits keep each run fast; the limit checks are fuzzed too. */
    if (arc_image_decode_grey(data, size, 4000000, &grey, &err) == 0)
        arc_image_dispose(&grey);
    if (arc_photo_decode(data, size, 4000000, 64, &photo, &info, &err) == 0) {
        arc_image_t g;
        arc_photo_grey(&photo, &g);
        arc_image_dispose(&g);
        arc_photo_dispose(&photo);
    }
    return 0;
}
