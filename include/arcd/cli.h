/*
 * cli.h: the `arcd` program's subcommands. main() dispatches on argv[1]; each
 * subcommand parses its own options and returns the process exit status
 * (0 success, 2 usage, 3 bad input, 4 I/O, 70 internal; see arc_exit_code()).
 * Runs in the foreground process only.
 */
#ifndef ARCD_CLI_H
#define ARCD_CLI_H

#include <stdint.h>

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

/* Loads the daemon's settings: --config FILE from argv, else $ARCD_CONFIG,
 * else config/arcd.json when it exists (else defaults), then the environment
 * overrides. Returns 0, or prints every problem and returns exit status 2. */
struct arc_config_s;
int arc_cli_load_config(int argc, char **argv, const char *who, struct arc_config_s *cfg);

/* Parses a whole decimal number in [min, max]; returns 0 or -1. */
int arc_cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Peak resident set size of this process, in KiB. */
long arc_cli_peak_rss_kb(void);

#endif
