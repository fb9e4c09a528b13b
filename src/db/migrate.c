/* Applying the compiled-in migrations (see include/arcd/db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "arcd/db.h"

/* Any constant: the advisory lock that serialises migrating daemons. */
#define MIGRATION_LOCK_KEY "7365742072637361"

static int exec_ok(PGconn *c, const char *sql, int nparams, const char *const *params,
                   PGresult **out, arc_err_t *err, const char *what)
{
    PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        arc_err_set(err, ARC_EINVAL, "migrate: %s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        return ARC_EINVAL;
    }
    if (out != NULL)
        *out = r;
    else
        PQclear(r);
    return 0;
}

int arc_db_migrate(const char *conninfo, int *applied, arc_err_t *err)
{
    PGconn *c = PQconnectdb(conninfo ? conninfo : "");
    PGresult *r = NULL;
    int rc = 0, n = 0;

    if (applied != NULL)
        *applied = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        rc = arc_err_set(err, ARC_EIO, "migrate: cannot connect to PostgreSQL: %s",
                         PQerrorMessage(c));
        goto out;
    }
    PQclear(PQexec(c, "SET client_min_messages TO warning"));
    if ((rc = exec_ok(c, "SELECT pg_advisory_lock(x'" MIGRATION_LOCK_KEY "'::bigint)", 0, NULL,
                      NULL, err, "taking the migration lock")) != 0)
        goto out;
    if ((rc = exec_ok(c,
                      "CREATE TABLE IF NOT EXISTS arcd_migrations ("
                      " version integer PRIMARY KEY, name text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())",
                      0, NULL, NULL, err, "creating arcd_migrations")) != 0)
        goto out;
    for (size_t i = 0; i < arc_migrations_count; i++) {
        const arc_migration_t *m = &arc_migrations[i];
        char version[16];
        const char *params[2] = {version, m->name};
        snprintf(version, sizeof(version), "%d", m->version);
        if ((rc = exec_ok(c, "SELECT 1 FROM arcd_migrations WHERE version = $1", 1, params, &r, err,
                          "reading arcd_migrations")) != 0)
            goto out;
        int done = PQntuples(r) > 0;
        PQclear(r);
        r = NULL;
        if (done)
            continue;
        char what[128];
        snprintf(what, sizeof(what), "migration %03d_%s", m->version, m->name);
        if ((rc = exec_ok(c, "BEGIN", 0, NULL, NULL, err, what)) != 0)
            goto out;
        /* A migration is a script of several statements: the simple query
         * protocol runs them all (it takes no parameters, and needs none). */
        r = PQexec(c, m->sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = arc_err_set(err, ARC_EINVAL, "migrate: %s failed: %s", what,
                             PQresultErrorMessage(r));
            PQclear(PQexec(c, "ROLLBACK"));
            goto out;
        }
        PQclear(r);
        r = NULL;
        if ((rc = exec_ok(c, "INSERT INTO arcd_migrations (version, name) VALUES ($1, $2)", 2,
                          params, NULL, err, what)) != 0 ||
            (rc = exec_ok(c, "COMMIT", 0, NULL, NULL, err, what)) != 0)
            goto out;
        n++;
    }
    if (applied != NULL)
        *applied = n;
out:
    PQclear(r);
    PQfinish(c); /* ends the session, and with it the advisory lock */
    return rc;
}
