/* arcd: the AR marker compile daemon's single program, dispatching on its subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/cli.h"
#include "arcd/compiler.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: arcd <command> [options]\n"
               "\n"
               "commands:\n"
               "  compile IN... -o OUT.mind   compile photos (.jpg .jpeg .png .pgm) into a MindAR\n"
               "                              1.2.5 .mind, one target per input, in order\n"
               "      --json                  print a JSON summary on stdout\n"
               "      --threads N             worker threads (default: one per core)\n"
               "      --max-pixels N          refuse larger images (default 40000000)\n"
               "      --grey-out G.pgm        also write the first target's grey pixels\n"
               "      --config FILE           settings file (default: $ARCD_CONFIG; see\n"
               "                              config/README.md)\n"
               "      --quiet                 no progress bar\n"
               "  inspect FILE.mind [--json]  summarise a .mind file\n"
               "  compare REF.mind CAND.mind [--verbose] [--json]\n"
               "                              compare two .mind files feature by feature\n"
               "  process --photo P [--video V]... -o DIR\n"
               "                              run a whole job (photo, border, marker, rating,\n"
               "                              video, viewer, QR, print sheet) on local files,\n"
               "                              no database; [--fit MODE] [--scale WxH]\n"
               "                              [--border on|off] [--smart-crop on|off]\n"
               "                              [--print-size PAPER] [--print-photo-mm MM]\n"
               "                              [--print-language ru|en]\n"
               "  serve [--config FILE]       run the daemon (HTTP API, job queue, workers)\n"
               "  migrate [--config FILE]     apply the database migrations (sql/)\n"
               "  check [--config FILE]       check the settings, the database, the storage,\n"
               "                              the templates and scripts, the public URL, SMTP\n"
               "                              and the tokens; each with its fix (exit 1 on a\n"
               "                              failure)\n"
               "  backup DIR [--keep-days N]  a dated backup in DIR: the database (pg_dump),\n"
               "                              the projects' files (hard links or copies), a\n"
               "                              manifest of SHA-256s; backups older than N days\n"
               "                              (30) removed\n"
               "  restore BACKUP              restore one into an empty database and storage\n"
               "  token create --role owner|admin --owner NAME [--label L]\n"
               "                              make an API token: printed once, only its\n"
               "                              SHA-256 kept in the database\n"
               "  token list [--json]         the API tokens (never the tokens themselves)\n"
               "  token revoke ID             revoke an API token (every daemon, within a\n"
               "                              second); token commands take --config FILE\n"
               "  import-legacy --from-database URL --from-storage DIR [--dry-run]\n"
               "                              make the old system's projects arcd's, under\n"
               "                              their ids (their printed QR codes keep working);\n"
               "                              [--owner NAME] [--config FILE]\n"
               "  worker                      a worker process (started by serve)\n"
               "  version                     print the version\n");
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL || strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        usage(cmd == NULL ? stderr : stdout);
        return cmd == NULL ? 2 : 0;
    }
    if (strcmp(cmd, "compile") == 0)
        return arc_cli_compile(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0)
        return arc_cli_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return arc_cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "worker") == 0)
        return arc_cli_worker(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0)
        return arc_cli_migrate(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return arc_cli_check(argc - 1, argv + 1);
    if (strcmp(cmd, "backup") == 0)
        return arc_cli_backup(argc - 1, argv + 1);
    if (strcmp(cmd, "restore") == 0)
        return arc_cli_restore(argc - 1, argv + 1);
    if (strcmp(cmd, "token") == 0)
        return arc_cli_token(argc - 1, argv + 1);
    if (strcmp(cmd, "import-legacy") == 0)
        return arc_cli_import_legacy(argc - 1, argv + 1);
    if (strcmp(cmd, "process") == 0)
        return arc_cli_process(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0)
        return arc_cli_compare(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("arcd %s (compiler %s)\n", ARCD_VERSION, ARC_COMPILER_VERSION);
        return 0;
    }
    fprintf(stderr, "arcd: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
