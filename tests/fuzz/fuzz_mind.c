/*
 * libFuzzer harness for the .mind reader (src/mind/decode.c): any bytes must
 * give a .mind or a readable error, never a crash; a .mind that decodes must
 * encode and decode again to the same structure.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arcd/mind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arc_mind_t *m = NULL, *again = NULL;
    arc_err_t err = {{0}};
    uint8_t *buf = NULL;
    size_t len = 0;

    if (arc_mind_decode(data, size, &m, &err) != 0)
        return 0;
    arc_mind_encode(m, &buf, &len);
    if (arc_mind_decode(buf, len, &again, &err) != 0 || again->n_targets != m->n_targets)
        abort(); /* what we write, we must read */
    for (size_t t = 0; t < m->n_targets; t++) {
        arc_mind_cmp_t cmp;
        arc_mind_t one = {.version = m->version, .targets = &m->targets[t], .n_targets = 1};
        arc_mind_t two = {.version = again->version, .targets = &again->targets[t], .n_targets = 1};
        arc_mind_compare(&one, &two, &cmp, NULL);
        if (!cmp.structure_ok)
            abort();
    }
    free(buf);
    arc_mind_free(m);
    arc_mind_free(again);
    return 0;
}
