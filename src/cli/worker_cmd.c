/* `arcd worker`: the worker process the daemon starts (workers/worker.c). */
#include <limits.h>
#include <stdio.h>

#include "arcd/cli.h"
#include "arcd/log.h"
#include "arcd/worker.h"

int arc_cli_worker(int argc, char **argv)
{
    uint64_t memory_mb = 0, niceness = 0;
    const char *log_level = "info";
    arc_log_level_t level;
    const arc_opt_t options[] = {
        {"--memory-mb", NULL, ARC_OPT_U64, &memory_mb, 0, 1 << 20},
        {"--nice", NULL, ARC_OPT_U64, &niceness, 0, 19},
        {"--log-level", NULL, ARC_OPT_STR, &log_level, 0, 0},
    };

    if (arc_opts_parse(argc, argv, options, 3, NULL, 0, NULL) != 0 ||
        arc_log_level_parse(log_level, &level) != 0) {
        fprintf(stderr, "usage: arcd worker [--memory-mb N] [--nice N] [--log-level LEVEL]\n");
        return 2;
    }
    arc_log_set_level(level);
    arc_worker_opts_t opts = {.memory_mb = (long)memory_mb, .nice = (long)niceness};
    return arc_worker_main(&opts);
}
