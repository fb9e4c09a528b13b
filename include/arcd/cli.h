/*
 * cli.h: the `arcd` program's subcommands and the one option parser they
 * all use. main() dispatches on argv[1]; each subcommand declares its
 * options as a table, parses them with arc_opts_parse() (which checks every
 * number against its range), loads the settings with arc_config_load_all()
 * when it has any, and returns the process exit status (0 success, 2 usage,
 * 3 bad input, 4 I/O, 70 internal; see arc_exit_code()).
 *
 * The top layer: it may use every library below it, and nothing below it
 * may use it (docs/architecture.md). Runs in the foreground process only.
 */
#ifndef ARCD_CLI_H
#define ARCD_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "arcd/id.h"
#include "arcd/limits.h"

/* ---- subcommands: each takes argv with argv[0] the subcommand's name ---- */

/* arcd compile IN... -o OUT.mind [--json] [--threads N] [--max-pixels N] [--quiet] */
int arc_cli_compile(int argc, char **argv);

/* arcd inspect FILE.mind [--json] */
int arc_cli_inspect(int argc, char **argv);

/* arcd compare REFERENCE.mind CANDIDATE.mind [--verbose] [--json] */
int arc_cli_compare(int argc, char **argv);

/* arcd process --photo P [--video V]... -o DIR [options]: one job on local files */
int arc_cli_process(int argc, char **argv);

/* arcd migrate [--config FILE] */
int arc_cli_migrate(int argc, char **argv);

/* `arcd backup DIR [--keep-days N]`: a dated backup of the database and the
 * projects' files with a manifest of checksums (src/cli/backup_cmd.c);
 * exit 0, 1 (files), 2 (usage, settings) or 4 (the database). */
int arc_cli_backup(int argc, char **argv);

/* `arcd restore BACKUP`: into an empty database and storage only. */
int arc_cli_restore(int argc, char **argv);

/* `arcd check`: exit 0 when every check passed, 1 when one failed, 2 for
 * invalid settings. */
int arc_cli_check(int argc, char **argv);

/* arcd serve [--config FILE] */
int arc_cli_serve(int argc, char **argv);

/* arcd worker [--memory-mb N] [--nice N] (started by serve) */
int arc_cli_worker(int argc, char **argv);

/* arcd token create --role owner|admin --owner NAME [--label L] [--config FILE]
 * arcd token list [--json] [--config FILE]
 * arcd token revoke ID [--config FILE]
 * API tokens in the database (arcd_tokens): the daemons see a change within
 * a second. Exit status 0, 2 usage, 3 an unknown or already revoked id, 4
 * database, 70 no random bytes. */
int arc_cli_token(int argc, char **argv);

/* arcd import-legacy --from-database URL --from-storage DIR [--dry-run]
 *                    [--owner NAME] [--config FILE]
 * The old system's projects made arcd projects under their own ids
 * (src/cli/legacy_cmd.c, docs/legacy.md). Exit status 0 (every project the
 * old system had ready is in arcd, or was already), 2 usage or settings, 3
 * some could not be imported (each said why), 4 a database or the storage
 * failed. */
int arc_cli_import_legacy(int argc, char **argv);

/* The file an old system's URL names, as its pages and rows wrote them:
 * "https://shop.example/api/ar/storage/<id>/<file>", "/api/ar/storage/<id>/
 * <file>" or ".../objects/ar-storage/<id>/<file>", a query or fragment
 * ignored. Fills id (an id of either shape, arcd/id.h) and file (letters,
 * digits, '.', '_' and '-', not starting with '.'), so that the two name a
 * file inside the old storage and nowhere else. Returns 0, or -1 for any
 * other URL. */
int arc_cli_legacy_file(const char *url, char id[ARC_ID_MAX + 1], char file[ARC_MAX_FILE_NAME + 1]);

/* ---- API tokens (src/cli/token_cmd.c) ---- */

/* A token's text: "arcd_" and 43 base64url characters (32 random bytes). */
#define ARC_CLI_TOKEN_LEN 48

/* Makes a new token from 32 bytes of OpenSSL's RAND_bytes: its text in
 * text[0..ARC_CLI_TOKEN_LEN] (NUL-terminated) and the SHA-256 of that text
 * in hash, which is what arcd_tokens keeps and what the daemon compares.
 * Returns 0, or -1 when no random bytes could be had. */
int arc_cli_token_new(char text[ARC_CLI_TOKEN_LEN + 1], unsigned char hash[32]);

/* 0 when s is well-formed UTF-8 of min to max characters (code points)
 * with no control character (C0, DEL, C1); else -1. Owners take 1 to 128,
 * labels 0 to 256. */
int arc_cli_token_name_ok(const char *s, size_t min, size_t max);

/* ---- the option parser ---- */

typedef enum arc_opt_kind_e {
    ARC_OPT_FLAG, /* no value: *(int *)dest = 1 */
    ARC_OPT_STR,  /* a value: *(const char **)dest = argv[i] (borrowed) */
    ARC_OPT_U64,  /* a whole number in [min, max]: *(uint64_t *)dest */
    ARC_OPT_INT,  /* a whole number in [min, max]: *(int *)dest */
    ARC_OPT_LIST  /* a value, repeatable: appended to *(arc_opt_list_t *)dest */
} arc_opt_kind_t;

/* The values of a repeatable option, in order (borrowed from argv). */
typedef struct arc_opt_list_s {
    const char *v[16];
    int n;
} arc_opt_list_t;

typedef struct arc_opt_s {
    const char *name;  /* "--threads" */
    const char *alias; /* "-o", or NULL */
    arc_opt_kind_t kind;
    void *dest;
    uint64_t min, max; /* ARC_OPT_U64 and ARC_OPT_INT (max at most INT_MAX for INT) */
} arc_opt_t;

/*
 * Parses argv[1..argc) (argv[0] is the subcommand) against opts[0..n).
 * Arguments that are not options go to positional (at most max_positional,
 * borrowed from argv; positional may be NULL when none are taken). On a
 * problem (an unknown option, a missing value, a number that is not a whole
 * number in its range, a repeated option over 16 times, too many
 * positional arguments) it prints "arcd <cmd>: <what is wrong>" on stderr
 * and returns 2; else 0.
 */
int arc_opts_parse(int argc, char **argv, const arc_opt_t *opts, size_t n, const char **positional,
                   int max_positional, int *n_positional);

/* Parses a whole decimal number in [min, max]; returns 0 or -1. */
int arc_cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Loads the settings (arc_config_load_all() with the --config value, which
 * may be NULL), printing every problem as "arcd <who>: ..." on failure.
 * Returns 0, or the exit status 2. */
struct arc_config_s;
int arc_cli_load_config(const char *path, const char *who, struct arc_config_s *cfg);

/* Runs sql (libpq, synchronously: commands, not the daemon); returns its
 * result, or NULL after printing "arcd CMD: WHAT: <PostgreSQL's reason>". */
struct pg_conn;
struct pg_result;
struct pg_result *arc_cli_sql(struct pg_conn *c, const char *cmd, const char *what, const char *sql,
                              int n, const char *const *params);

/* Peak resident set size of this process, in KiB. */
long arc_cli_peak_rss_kb(void);

#endif
