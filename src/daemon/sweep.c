/*
 * Expiry: demo projects live demo.ttlHours (24 h); then a sweep removes their
 * files and rows. Every demo.sweepSeconds the daemon asks for up to 100
 * expired projects that no worker holds, deletes their folders on libuv's
 * threadpool (never on the loop), then their rows (items go with them by
 * ON DELETE CASCADE). Files go first: a daemon dying in between leaves a row
 * whose files are gone, which the next sweep (of any daemon) deletes; never
 * files without a row. Several daemons may sweep at once: every step is
 * idempotent.
 *
 * Each round also prunes the compiled-marker cache, on the threadpool too
 * (see "the marker cache" below).
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arcd/log.h"
#include "sweep.h"

#define SWEEP_BATCH 100

typedef struct sweep_job_s {
    arc_sweep_t *s;
    uv_work_t work;
    char **ids;
    int n;
    char *id_array; /* {id,id,...} for the DELETE */
    char *storage;  /* borrowed: the daemon's storage folder */
} sweep_job_t;

typedef struct prune_job_s prune_job_t;

struct arc_sweep_s {
    arc_daemon_t *d;
    uv_timer_t timer;
    arc_pg_query_t *query; /* in flight, or NULL */
    sweep_job_t *job;      /* the batch being removed, or NULL */
    prune_job_t *prune;    /* the cache's prune on the threadpool, or NULL */
    int busy;
    int stopped;
    uint64_t total;                /* projects swept */
    arc_sweep_cache_stats_t cache; /* as the last prune left the cache */
    int cache_error;               /* errno of the last prune's opendir, or 0 */
};

static void on_timer(uv_timer_t *t);
static void release(arc_sweep_t *s);

/* ---- expired projects ---- */

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

void arc_sweep_remove_folder(const char *storage, const char *id)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/ar-storage/%s", storage, id);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* On the threadpool: the projects' folders. */
static void remove_folders(uv_work_t *w)
{
    sweep_job_t *j = w->data;

    for (int i = 0; i < j->n; i++)
        arc_sweep_remove_folder(j->storage, j->ids[i]);
}

static void job_free(sweep_job_t *j)
{
    j->s->job = NULL;
    for (int i = 0; i < j->n; i++)
        free(j->ids[i]);
    free(j->ids);
    free(j->id_array);
    free(j);
}

/* The projects the sweep removes: expired ones, and deletions a DELETE
 * left half-done (its daemon died or lost the database between the files
 * and the row; sql/003) a while ago. Never one a worker holds. Its
 * tombstone says why (the trigger reads deleting_at). */
#define SWEPT                                                                                      \
    "(expires_at < now() OR deleting_at < now() - interval '10 minutes')"                          \
    " AND status <> 'processing'"

static void on_deleted(int status, PGresult *res, void *arg)
{
    sweep_job_t *j = arg;
    arc_sweep_t *s = j->s;

    s->query = NULL;
    s->busy = 0;
    if (status == 0) {
        int n = (int)strtol(PQcmdTuples(res), NULL, 10);
        s->total += (uint64_t)n;
        arc_log_msg(ARC_LOG_INFO, "swept %d expired project%s", n, n == 1 ? "" : "s");
        /* A full batch: there may be more. */
        if (j->n == SWEEP_BATCH && !s->stopped)
            uv_timer_start(&s->timer, on_timer, 0, (uint64_t)s->d->cfg->demo.sweep_seconds * 1000);
    } else if (status != ARC_ECANCELED) {
        arc_log_msg(ARC_LOG_ERROR, "the expiry sweep failed: %s",
                    res ? PQresultErrorMessage(res) : arc_strerror(status));
    }
    job_free(j);
}

static void on_removed(uv_work_t *w, int status)
{
    sweep_job_t *j = w->data;
    arc_sweep_t *s = j->s;
    const char *params[1] = {j->id_array};

    (void)status;
    if (s->stopped) {
        s->busy = 0;
        job_free(j);
        release(s);
        return;
    }
    s->query = arc_pg_query(s->d->pool,
                            /* The removal's reason, for its tombstone and its
                             * notifications (sql/002_back_office.sql). */
                            "WITH r AS (SELECT set_config('arcd.removal', 'expired', true))"
                            " DELETE FROM ar_projects WHERE id = ANY($1::text[])"
                            " AND " SWEPT " AND EXISTS (SELECT 1 FROM r)",
                            1, params, on_deleted, j);
}

static void on_expired(int status, PGresult *res, void *arg)
{
    arc_sweep_t *s = arg;

    s->query = NULL;
    if (status != 0 || PQntuples(res) == 0 || s->stopped) {
        if (status != 0 && status != ARC_ECANCELED)
            arc_log_msg(ARC_LOG_ERROR, "the expiry sweep failed: %s",
                        res ? PQresultErrorMessage(res) : arc_strerror(status));
        s->busy = 0;
        return;
    }
    sweep_job_t *j = arc_xcalloc(1, sizeof(*j));
    int n = PQntuples(res);
    size_t len = 3;
    j->s = s;
    j->storage = s->d->storage;
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
    s->job = j;
    uv_queue_work(s->d->loop, &j->work, remove_folders, on_removed);
}

static void sweep_now(arc_sweep_t *s)
{
    char limit[16];
    const char *params[1] = {limit};

    if (s->busy || s->stopped)
        return;
    s->busy = 1;
    snprintf(limit, sizeof(limit), "%d", SWEEP_BATCH);
    s->query = arc_pg_query(s->d->pool,
                            "SELECT id::text FROM ar_projects WHERE " SWEPT
                            " ORDER BY coalesce(deleting_at, expires_at) LIMIT $1::int",
                            1, params, on_expired, s);
}

/* ---- the marker cache ---- */

/*
 * workers/stage_marker.c writes <storage>/cache/<sha256 hex>.mind after a
 * compile (arc_file_write_atomic: "<name>.tmp.<pid>", then a rename) and, on
 * a hit, hard-links it into the project and sets its mtime to now. So the
 * mtime is the entry's last use. Not the atime: a hit made by link() never
 * reads the file, and relatime mounts update the atime at most once a day
 * (noatime ones never).
 *
 * Races, with workers and with the prunes of other daemons on the same
 * storage: a worker whose link() came first keeps its project's copy (the
 * prune only drops the cache's name of the file); a link() that comes after
 * fails with ENOENT and the worker compiles. An entry used or rewritten
 * between the scan and its removal is kept (its mtime or inode changed); an
 * entry another daemon removed first is an ENOENT here, neither counted nor
 * an error. Nothing but entries and their stale temporary files is removed.
 */

#define CACHE_HEX_LEN 64
#define CACHE_NAME_LEN (CACHE_HEX_LEN + 5) /* <hex>.mind */
/* An atomic write takes seconds: a temporary file this old is a leftover of
 * a worker that died mid-write. */
#define CACHE_TMP_STALE_SECONDS 3600
#define CACHE_MB (1024.0 * 1024.0)

enum { NAME_OTHER, NAME_ENTRY, NAME_TMP };

typedef struct cache_entry_s {
    char name[CACHE_NAME_LEN + 1];
    uint64_t bytes;
    ino_t ino;
    struct timespec used; /* st_mtim: the last compile or hit */
} cache_entry_t;

struct prune_job_s {
    arc_sweep_t *s;
    uv_work_t work;
    /* Set on the loop before the work is queued. */
    char dir[4200];
    uint64_t max_bytes;
    int64_t max_age; /* seconds; 0: no age limit */
    /* Set on the threadpool, read on the loop in on_pruned. */
    int error; /* errno of opendir, or 0 */
    uint64_t removed, removed_bytes;
    uint64_t stale_tmp;
    uint64_t entries, bytes; /* left */
};

/* What a name in the cache folder is: <64 lower-case hex>.mind (an entry),
 * <entry>.tmp.<digits> (a temporary file of arc_file_write_atomic), or
 * anything else (never touched). */
static int cache_name_kind(const char *name)
{
    size_t i;

    for (i = 0; i < CACHE_HEX_LEN; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return NAME_OTHER;
    if (strncmp(name + i, ".mind", 5) != 0)
        return NAME_OTHER;
    i += 5;
    if (name[i] == '\0')
        return NAME_ENTRY;
    if (strncmp(name + i, ".tmp.", 5) != 0 || name[i + 5] == '\0')
        return NAME_OTHER;
    for (i += 5; name[i] != '\0'; i++)
        if (name[i] < '0' || name[i] > '9')
            return NAME_OTHER;
    return NAME_TMP;
}

/* Least recently used first; the name breaks ties, so that every daemon
 * picks the same entries. */
static int older_first(const void *a, const void *b)
{
    const cache_entry_t *x = a, *y = b;

    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    if (x->used.tv_nsec != y->used.tv_nsec)
        return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Removes an entry unless it was used or rewritten since the scan. Returns 1
 * when it is gone (removed here or by another daemon), 0 when it stays. */
static int drop_entry(prune_job_t *p, int dir, const cache_entry_t *e)
{
    struct stat st;

    if (fstatat(dir, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT;
    if (st.st_ino != e->ino || st.st_mtim.tv_sec != e->used.tv_sec ||
        st.st_mtim.tv_nsec != e->used.tv_nsec)
        return 0;
    if (unlinkat(dir, e->name, 0) != 0)
        return errno == ENOENT;
    p->removed++;
    p->removed_bytes += e->bytes;
    return 1;
}

/* On the threadpool: one pass over the folder removes stale temporary files
 * and entries unused for max_age; then, while the rest is over max_bytes,
 * the least recently used. */
static void prune_cache(uv_work_t *w)
{
    prune_job_t *p = w->data;
    cache_entry_t *v = NULL;
    size_t n = 0, cap = 0, left;
    uint64_t total = 0;
    struct timespec now;
    struct dirent *de;
    DIR *dir = opendir(p->dir);

    if (dir == NULL) {
        p->error = errno;
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    while ((de = readdir(dir)) != NULL) {
        int kind = cache_name_kind(de->d_name);
        struct stat st;

        if (kind == NAME_OTHER || fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (kind == NAME_TMP) {
            if (now.tv_sec - st.st_mtim.tv_sec > CACHE_TMP_STALE_SECONDS &&
                unlinkat(dirfd(dir), de->d_name, 0) == 0)
                p->stale_tmp++;
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            v = arc_xrealloc(v, cap, sizeof(*v));
        }
        cache_entry_t *e = &v[n];
        memcpy(e->name, de->d_name, sizeof(e->name));
        e->bytes = (uint64_t)st.st_size;
        e->ino = st.st_ino;
        e->used = st.st_mtim;
        if (p->max_age > 0 && now.tv_sec - e->used.tv_sec > p->max_age &&
            drop_entry(p, dirfd(dir), e))
            continue;
        total += e->bytes;
        n++;
    }
    left = n;
    if (total > p->max_bytes) {
        qsort(v, n, sizeof(*v), older_first);
        for (size_t i = 0; i < n && total > p->max_bytes; i++) {
            if (drop_entry(p, dirfd(dir), &v[i])) {
                total -= v[i].bytes;
                left--;
            }
        }
    }
    p->entries = left;
    p->bytes = total;
    closedir(dir);
    free(v);
}

static void on_pruned(uv_work_t *w, int status)
{
    prune_job_t *p = w->data;
    arc_sweep_t *s = p->s;

    s->prune = NULL;
    if (status == 0 && p->error != 0) {
        /* Said when it starts failing, not every round. */
        if (p->error != s->cache_error)
            arc_log_msg(ARC_LOG_ERROR, "marker cache: cannot read %s: %s", p->dir,
                        strerror(p->error));
        s->cache_error = p->error;
    } else if (status == 0) {
        char tmp[64] = "";

        s->cache_error = 0;
        s->cache.bytes = p->bytes;
        s->cache.entries = p->entries;
        s->cache.pruned += p->removed;
        if (p->stale_tmp > 0)
            snprintf(tmp, sizeof(tmp), ", and %llu stale temporary file%s",
                     (unsigned long long)p->stale_tmp, p->stale_tmp == 1 ? "" : "s");
        if (p->removed > 0 || p->stale_tmp > 0)
            arc_log_msg(ARC_LOG_INFO,
                        "marker cache: removed %llu entr%s (%.1f MB), now %.1f MB in %llu entr%s%s",
                        (unsigned long long)p->removed, p->removed == 1 ? "y" : "ies",
                        (double)p->removed_bytes / CACHE_MB, (double)p->bytes / CACHE_MB,
                        (unsigned long long)p->entries, p->entries == 1 ? "y" : "ies", tmp);
    }
    free(p);
    release(s);
}

/* Queues a prune unless one is in flight (a slow disk: the next round). */
static void prune_now(arc_sweep_t *s)
{
    const arc_config_t *cfg = s->d->cfg;
    prune_job_t *p;

    if (s->prune != NULL || s->stopped)
        return;
    p = arc_xcalloc(1, sizeof(*p));
    p->s = s;
    snprintf(p->dir, sizeof(p->dir), "%s/cache", s->d->storage);
    p->max_bytes = (uint64_t)cfg->storage.cache_max_mb * 1024 * 1024;
    p->max_age = cfg->storage.cache_max_days * 24 * 3600;
    p->work.data = p;
    s->prune = p;
    uv_queue_work(s->d->loop, &p->work, prune_cache, on_pruned);
}

/* ---- the timer ---- */

static void on_timer(uv_timer_t *t)
{
    sweep_now(t->data);
    prune_now(t->data);
}

int arc_sweep_start(arc_daemon_t *d, arc_sweep_t **out)
{
    arc_sweep_t *s = arc_xcalloc(1, sizeof(*s));
    uint64_t every = (uint64_t)d->cfg->demo.sweep_seconds * 1000;

    s->d = d;
    uv_timer_init(d->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, 1000, every);
    *out = s;
    return 0;
}

uint64_t arc_sweep_total(const arc_sweep_t *s)
{
    return s ? s->total : 0;
}

void arc_sweep_cache_stats(const arc_sweep_t *s, arc_sweep_cache_stats_t *out)
{
    static const arc_sweep_cache_stats_t none;

    *out = s ? s->cache : none;
}

static void on_timer_closed(uv_handle_t *h)
{
    arc_sweep_t *s = h->data;

    s->timer.data = NULL;
    release(s);
}

/* Frees the sweep once it is stopped, its timer closed and neither a batch
 * nor a prune is on the threadpool. */
static void release(arc_sweep_t *s)
{
    if (s->stopped && s->timer.data == NULL && s->job == NULL && s->prune == NULL)
        free(s);
}

void arc_sweep_stop(arc_sweep_t *s)
{
    if (s == NULL)
        return;
    s->stopped = 1;
    uv_timer_stop(&s->timer);
    /* A prune not started yet is cancelled (on_pruned runs with
     * UV_ECANCELED); a running one finishes. Either way on_pruned frees it. */
    if (s->prune != NULL)
        uv_cancel((uv_req_t *)&s->prune->work);
    if (s->query != NULL) {
        /* Its callback will not run: the batch (if any) is ours to free. */
        arc_pg_cancel(s->query);
        s->query = NULL;
        if (s->job != NULL)
            job_free(s->job);
        s->busy = 0;
    }
    uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}
