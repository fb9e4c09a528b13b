/* `arcd migrate`, and the settings loading shared by the daemon's commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcd/cli.h"
#include "arcd/config.h"
#include "arcd/db.h"

int arc_cli_load_config(int argc, char **argv, const char *who, arc_config_t *cfg)
{
    const char *path = getenv("ARCD_CONFIG");
    arc_err_t err = {{0}};
    int rc = 0;

    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0)
            path = argv[i + 1];
    if ((path == NULL || path[0] == '\0') && access("config/arcd.json", R_OK) == 0)
        path = "config/arcd.json";
    arc_config_defaults(cfg);
    if ((path != NULL && path[0] != '\0' && (rc = arc_config_load(path, cfg, &err)) != 0) ||
        arc_config_apply_env(cfg, &err) != 0) {
        fprintf(stderr, "arcd %s: %s\n", who, err.msg);
        arc_config_dispose(cfg);
        return 2;
    }
    return 0;
}

int arc_cli_migrate(int argc, char **argv)
{
    arc_config_t cfg;
    arc_err_t err = {{0}};
    int applied = 0, status;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        fprintf(stderr, "usage: arcd migrate [--config FILE]\n");
        return 2;
    }
    if ((status = arc_cli_load_config(argc, argv, "migrate", &cfg)) != 0)
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
