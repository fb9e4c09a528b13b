/*
 * Expiry: demo projects live demo.ttlHours (24 h); then a sweep removes their
 * files and rows. Every demo.sweepSeconds the daemon asks for up to 100
 * expired projects that no worker holds, deletes their folders on libuv's
 * threadpool (never on the loop), then their rows (items go with them by
 * ON DELETE CASCADE). Files go first: a daemon dying in between leaves a row
 * whose files are gone, which the next sweep (of any daemon) deletes; never
 * files without a row. Several daemons may sweep at once: every step is
 * idempotent.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcd/daemon.h"

#define SWEEP_BATCH 100

typedef struct sweep_job_s {
    arc_daemon_t *d;
    uv_work_t work;
    char **ids;
    int n;
    char *id_array; /* {id,id,...} for the DELETE */
} sweep_job_t;

static void on_timer(uv_timer_t *t);

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* On the threadpool: the projects' folders, recursively. */
static void remove_folders(uv_work_t *w)
{
    sweep_job_t *j = w->data;
    char path[4200];

    for (int i = 0; i < j->n; i++) {
        snprintf(path, sizeof(path), "%s/ar-storage/%s", j->d->storage, j->ids[i]);
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

static void job_free(sweep_job_t *j)
{
    j->d->sweep.job = NULL;
    for (int i = 0; i < j->n; i++)
        free(j->ids[i]);
    free(j->ids);
    free(j->id_array);
    free(j);
}

static void on_deleted(int status, PGresult *res, void *arg)
{
    sweep_job_t *j = arg;
    arc_daemon_t *d = j->d;

    d->sweep.query = NULL;
    d->sweep.busy = 0;
    if (status == 0) {
        int n = (int)strtol(PQcmdTuples(res), NULL, 10);
        d->sweep.total += (uint64_t)n;
        fprintf(stderr, "arcd: swept %d expired project%s\n", n, n == 1 ? "" : "s");
        /* A full batch: there may be more. */
        if (j->n == SWEEP_BATCH && !d->stopping)
            uv_timer_start(&d->sweep.timer, on_timer, 0,
                           (uint64_t)d->cfg.demo.sweep_seconds * 1000);
    } else if (status != ARC_ECANCELED) {
        fprintf(stderr, "arcd: the expiry sweep failed: %s\n",
                res ? PQresultErrorMessage(res) : arc_strerror(status));
    }
    job_free(j);
}

static void on_removed(uv_work_t *w, int status)
{
    sweep_job_t *j = w->data;
    arc_daemon_t *d = j->d;
    const char *params[1] = {j->id_array};

    (void)status;
    if (d->stopping || d->pool == NULL) {
        d->sweep.busy = 0;
        job_free(j);
        return;
    }
    d->sweep.query = arc_pg_query(d->pool,
                                  "DELETE FROM ar_projects WHERE id = ANY($1::uuid[])"
                                  " AND expires_at < now() AND status <> 'processing'",
                                  1, params, on_deleted, j);
}

static void on_expired(int status, PGresult *res, void *arg)
{
    arc_daemon_t *d = arg;

    d->sweep.query = NULL;
    if (status != 0 || PQntuples(res) == 0 || d->stopping) {
        if (status != 0 && status != ARC_ECANCELED)
            fprintf(stderr, "arcd: the expiry sweep failed: %s\n",
                    res ? PQresultErrorMessage(res) : arc_strerror(status));
        d->sweep.busy = 0;
        return;
    }
    sweep_job_t *j = arc_xcalloc(1, sizeof(*j));
    int n = PQntuples(res);
    size_t len = 3;
    j->d = d;
    j->n = n;
    j->ids = arc_xcalloc((size_t)n, sizeof(*j->ids));
    for (int i = 0; i < n; i++) {
        j->ids[i] = arc_xstrdup(PQgetvalue(res, i, 0));
        len += strlen(j->ids[i]) + 1;
    }
    j->id_array = arc_xmalloc(len);
    size_t pos = 0;
    j->id_array[pos++] = '{';
    for (int i = 0; i < n; i++)
        pos += (size_t)snprintf(j->id_array + pos, len - pos, "%s%s", i ? "," : "", j->ids[i]);
    snprintf(j->id_array + pos, len - pos, "}");
    j->work.data = j;
    d->sweep.job = j;
    uv_queue_work(d->loop, &j->work, remove_folders, on_removed);
}

static void sweep_now(arc_daemon_t *d)
{
    char limit[16];
    const char *params[1] = {limit};

    if (d->sweep.busy || d->stopping)
        return;
    d->sweep.busy = 1;
    snprintf(limit, sizeof(limit), "%d", SWEEP_BATCH);
    d->sweep.query = arc_pg_query(d->pool,
                                  "SELECT id::text FROM ar_projects WHERE expires_at < now()"
                                  " AND status <> 'processing' ORDER BY expires_at LIMIT $1::int",
                                  1, params, on_expired, d);
}

static void on_timer(uv_timer_t *t)
{
    sweep_now(t->data);
}

void arc_sweep_start(arc_daemon_t *d)
{
    uint64_t every = (uint64_t)d->cfg.demo.sweep_seconds * 1000;

    uv_timer_init(d->loop, &d->sweep.timer);
    d->sweep.timer.data = d;
    uv_timer_start(&d->sweep.timer, on_timer, 1000, every);
}

void arc_sweep_stop(arc_daemon_t *d)
{
    uv_timer_stop(&d->sweep.timer);
    if (d->sweep.query != NULL) {
        /* Its callback will not run: the batch (if any) is ours to free. */
        arc_pg_cancel(d->sweep.query);
        d->sweep.query = NULL;
        if (d->sweep.job != NULL)
            job_free(d->sweep.job);
        d->sweep.busy = 0;
    }
    if (!uv_is_closing((uv_handle_t *)&d->sweep.timer))
        uv_close((uv_handle_t *)&d->sweep.timer, NULL);
}
