/* `arcd migrate`: applies the database migrations compiled in from sql/. */
#include <stdio.h>

#include "arcd/cli.h"
#include "arcd/config.h"
#include "arcd/db.h"

int arc_cli_migrate(int argc, char **argv)
{
    const char *config_path = NULL;
    const arc_opt_t options[] = {{"--config", NULL, ARC_OPT_STR, &config_path, 0, 0}};
    arc_config_t cfg;
    arc_err_t err = {{0}};
    int applied = 0, status;

    if (arc_opts_parse(argc, argv, options, 1, NULL, 0, NULL) != 0) {
        fprintf(stderr, "usage: arcd migrate [--config FILE]\n");
        return 2;
    }
    if ((status = arc_cli_load_config(config_path, "migrate", &cfg)) != 0)
        return status;
    if (arc_db_migrate(cfg.database.url, &applied, &err) != 0) {
        fprintf(stderr, "arcd migrate: %s\n", err.msg);
        arc_config_dispose(&cfg);
        return 4;
    }
    printf("arcd migrate: %d migration%s applied; the schema is at version %d\n", applied,
           applied == 1 ? "" : "s",
           arc_migrations_count ? arc_migrations[arc_migrations_count - 1].version : 0);
    arc_config_dispose(&cfg);
    return 0;
}
