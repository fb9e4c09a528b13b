/* `arcd check`: every check of the configuration, with its fix (include/arcd/check.h). */
#include <stdio.h>

#include "arcd/check.h"
#include "arcd/cli.h"
#include "arcd/config.h"

int arc_cli_check(int argc, char **argv)
{
    const char *config_path = NULL;
    const arc_opt_t options[] = {{"--config", NULL, ARC_OPT_STR, &config_path, 0, 0}};
    arc_config_t cfg;
    arc_check_report_t report;
    int status;

    if (arc_opts_parse(argc, argv, options, 1, NULL, 0, NULL) != 0) {
        fprintf(stderr, "usage: arcd check [--config FILE]\n");
        return 2;
    }
    /* Invalid settings: the loader's own lines, exit 2 (as serve). */
    if ((status = arc_cli_load_config(config_path, "check", &cfg)) != 0) {
        printf("FAIL  config     the settings are invalid (above)\n");
        return status;
    }
    arc_check_run(&cfg, arc_config_choose(config_path), 0, &report);
    arc_check_print(&report, stdout, 0);
    if (report.failed == 0)
        printf("arcd check: all passed\n");
    else
        printf("arcd check: %d failed (%d of which stop arcd serve)\n", report.failed,
               report.fatal_failed);
    arc_config_dispose(&cfg);
    return report.failed == 0 ? 0 : 1;
}
