/*
 * daemon.h: `arcd serve`, the daemon: an HTTP API on one libuv loop that
 * never blocks, a PostgreSQL job queue shared by any number of daemons, and
 * worker processes that do the work (docs/architecture.md, docs/daemon.md).
 *
 * This and check.h (the start-up checks, also run by `arcd check`) are the
 * daemon layer's public headers; its parts (API, uploads,
 * files, status, queue, workers, sweep, metrics, pages) have their own
 * headers beside their sources in src/daemon/, as libuv keeps its internal
 * headers apart from uv.h. The daemon links the HTTP, database, protocol,
 * config and util layers, and never a pipeline stage or the compiler.
 */
#ifndef ARCD_DAEMON_H
#define ARCD_DAEMON_H

#include "arcd/config.h"

/*
 * Runs the daemon with the settings cfg (borrowed for the whole run) until
 * SIGTERM or SIGINT: runs the fatal checks of check.h and applies the
 * database migrations (blocking, before the loop starts), then serves.
 * Returns the process exit status: 0 after a clean shutdown, 2 for a setting
 * that cannot work (the message names each failed check and its fix), 4 when
 * the database cannot be reached, is newer than this arcd or cannot be
 * migrated, 70 for an internal error.
 */
int arc_daemon_run(const arc_config_t *cfg);

#endif
