/*
 * db.h: the database schema's migrations. The SQL files of sql/ are compiled
 * into the program (numbered NNN_name.sql, applied in order) so a deployed
 * arcd needs no source tree.
 *
 * arc_db_migrate() uses libpq synchronously: it runs in `arcd migrate` and in
 * `arcd serve` before the event loop starts, never on the loop. It holds a
 * session advisory lock while it works, so daemons starting together on one
 * database apply each migration once.
 */
#ifndef ARCD_DB_H
#define ARCD_DB_H

#include <stddef.h>

#include "arcd/error.h"

typedef struct arc_migration_s {
    int version;
    const char *name;
    const char *sql;
} arc_migration_t;

/* The migrations compiled in, in version order (generated from sql/). */
extern const arc_migration_t arc_migrations[];
extern const size_t arc_migrations_count;

/* Connects to conninfo (a libpq string or URI; "" = libpq's defaults) and
 * applies every migration not yet recorded in arcd_migrations, each in its own
 * transaction. *applied (may be NULL) gets how many ran. Returns 0, ARC_EIO
 * (cannot connect) or ARC_EINVAL (a migration failed), message in err. */
int arc_db_migrate(const char *conninfo, int *applied, arc_err_t *err);

#endif
