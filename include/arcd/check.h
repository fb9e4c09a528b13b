/*
 * check.h: the checks of a configuration before it serves (src/daemon/check.c).
 * `arcd check` runs them all and prints each with a clear pass or fail and
 * the fix; `arcd serve` runs the fatal ones before it starts and refuses to
 * serve when one fails (the old system's fail-fast on missing settings).
 *
 *   config     the settings file and the environment are valid (the loader's
 *              own checks; reported here with the file's name)
 *   database   PostgreSQL answers; its schema is not newer than this arcd's
 *              (pending migrations are noted: serve applies them)
 *   storage    storage.dir exists or can be made and is writable; run as
 *              root, the workers' user (workers.user) can reach it
 *   space      it has more than storage.minFreeMb free (not fatal: the
 *              customers' viewers keep working)
 *   viewer     the viewer template, the pages, the mail templates and,
 *              when served by arcd, the viewer's scripts
 *   compressed the scripts' brotli and gzip forms (not fatal: slower pages)
 *   publicUrl  absolute http(s) with a host; https unless it is this machine
 *              (phones open the camera only in a secure context); not a
 *              loopback address while listening on a public one
 *   smtp       when notify.smtp.url is set: the server answers, TLS and the
 *              login work (a NOOP); never fatal, not run by serve
 *   tokens     at least one API token (settings, ARCD_ADMIN_TOKEN or made
 *              with `arcd token create`); not fatal: a token made later
 *              reaches a running daemon within a second
 *   app        the operator's web app is there and servable; missing, not
 *              fatal (the API works); there but unservable (an unknown file
 *              type, a mistyped {{field}} in index.html), fatal
 *
 * Blocking (libpq, libcurl, the file system): for the CLI and the daemon's
 * start-up, before its loop runs. The report is plain data owned by the
 * caller.
 */
#ifndef ARCD_CHECK_H
#define ARCD_CHECK_H

#include <stdio.h>

#include "arcd/config.h"

typedef enum arc_check_state_e {
    ARC_CHECK_PASS,
    ARC_CHECK_FAIL,
    ARC_CHECK_SKIP /* not applicable (no SMTP configured) or not reachable (no database) */
} arc_check_state_t;

typedef struct arc_check_s {
    const char *name; /* "database" */
    int fatal;        /* serve refuses to start when it fails */
    arc_check_state_t state;
    char detail[1024]; /* what was found, one or more lines */
    char fix[512];     /* how to mend a failure ("" when it passed) */
} arc_check_t;

#define ARC_CHECK_MAX 12

typedef struct arc_check_report_s {
    arc_check_t items[ARC_CHECK_MAX];
    size_t n;
    int failed;       /* checks that failed */
    int fatal_failed; /* of which fatal */
    int db_failed;    /* the database check failed (serve's exit status 4) */
} arc_check_report_t;

/* serve's start: skips the SMTP check. */
#define ARC_CHECK_FOR_SERVE 1u

/* Runs the checks of cfg, read from config_path (NULL: the defaults), into
 * out. Returns the number of failed checks. */
int arc_check_run(const arc_config_t *cfg, const char *config_path, unsigned flags,
                  arc_check_report_t *out);

/* Prints the report, one check per line ("ok    name: detail", "FAIL  name:
 * detail" and "      fix: ..."); only the failures when failures_only. */
void arc_check_print(const arc_check_report_t *r, FILE *f, int failures_only);

/* Logs each failed check as a line of its own (include/arcd/log.h): check,
 * detail, fix, fatal. */
void arc_check_log(const arc_check_report_t *r);

#endif
