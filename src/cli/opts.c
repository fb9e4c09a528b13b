/* The option parser and settings loading every subcommand shares (see include/arcd/cli.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <libpq-fe.h>

#include "arcd/cli.h"
#include "arcd/config.h"

int arc_cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const arc_opt_t *find(const arc_opt_t *opts, size_t n, const char *arg)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arg, opts[i].name) == 0 || (opts[i].alias && strcmp(arg, opts[i].alias) == 0))
            return &opts[i];
    return NULL;
}

int arc_opts_parse(int argc, char **argv, const arc_opt_t *opts, size_t n, const char **positional,
                   int max_positional, int *n_positional)
{
    const char *cmd = argv[0];
    int npos = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            if (npos >= max_positional) {
                fprintf(stderr, "arcd %s: unexpected argument '%s'\n", cmd, a);
                return 2;
            }
            positional[npos++] = a;
            continue;
        }
        const arc_opt_t *o = find(opts, n, a);
        if (o == NULL) {
            fprintf(stderr, "arcd %s: unknown option '%s'\n", cmd, a);
            return 2;
        }
        if (o->kind == ARC_OPT_FLAG) {
            *(int *)o->dest = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "arcd %s: %s needs a value\n", cmd, a);
            return 2;
        }
        const char *v = argv[++i];
        uint64_t num = 0;
        switch (o->kind) {
        case ARC_OPT_STR: *(const char **)o->dest = v; break;
        case ARC_OPT_LIST: {
            arc_opt_list_t *l = o->dest;
            if (l->n >= (int)(sizeof(l->v) / sizeof(l->v[0]))) {
                fprintf(stderr, "arcd %s: %s is given too many times\n", cmd, a);
                return 2;
            }
            l->v[l->n++] = v;
            break;
        }
        case ARC_OPT_U64:
        case ARC_OPT_INT:
            if (arc_cli_parse_u64(v, o->min, o->max, &num) != 0) {
                fprintf(stderr, "arcd %s: %s must be a whole number from %llu to %llu (not '%s')\n",
                        cmd, a, (unsigned long long)o->min, (unsigned long long)o->max, v);
                return 2;
            }
            if (o->kind == ARC_OPT_U64)
                *(uint64_t *)o->dest = num;
            else
                *(int *)o->dest = (int)num;
            break;
        default: break;
        }
    }
    if (n_positional != NULL)
        *n_positional = npos;
    return 0;
}

int arc_cli_load_config(const char *path, const char *who, arc_config_t *cfg)
{
    arc_err_t err = {{0}};

    if (arc_config_load_all(path, cfg, &err) != 0) {
        fprintf(stderr, "arcd %s: %s\n", who, err.msg);
        return 2;
    }
    return 0;
}

PGresult *arc_cli_sql(PGconn *c, const char *cmd, const char *what, const char *sql, int n,
                      const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fprintf(stderr, "arcd %s: %s: %s", cmd, what, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

long arc_cli_peak_rss_kb(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}
