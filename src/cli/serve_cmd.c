/* `arcd serve`: loads the settings and runs the daemon (src/daemon/). */
#include <stdio.h>

#include "arcd/cli.h"
#include "arcd/config.h"
#include "arcd/daemon.h"

int arc_cli_serve(int argc, char **argv)
{
    const char *config_path = NULL;
    const arc_opt_t options[] = {{"--config", NULL, ARC_OPT_STR, &config_path, 0, 0}};
    arc_config_t cfg;
    int status;

    if (arc_opts_parse(argc, argv, options, 1, NULL, 0, NULL) != 0) {
        fprintf(stderr, "usage: arcd serve [--config FILE]\n");
        return 2;
    }
    if ((status = arc_cli_load_config(config_path, "serve", &cfg)) != 0)
        return status;
    status = arc_daemon_run(&cfg);
    arc_config_dispose(&cfg);
    return status;
}
