/* `arcd worker`: the worker process the daemon starts (workers/worker.c). */
#include <limits.h>
#include <stdio.h>

#include "arcd/cli.h"
#include "arcd/worker.h"

int arc_cli_worker(int argc, char **argv)
{
    uint64_t memory_mb = 0, niceness = 0;
    const arc_opt_t options[] = {
        {"--memory-mb", NULL, ARC_OPT_U64, &memory_mb, 0, 1 << 20},
        {"--nice", NULL, ARC_OPT_U64, &niceness, 0, 19},
    };

    if (arc_opts_parse(argc, argv, options, 2, NULL, 0, NULL) != 0) {
        fprintf(stderr, "usage: arcd worker [--memory-mb N] [--nice N]\n");
        return 2;
    }
    arc_worker_opts_t opts = {.memory_mb = (long)memory_mb, .nice = (long)niceness};
    return arc_worker_main(&opts);
}
