/* Counters, histograms and the /metrics page (see metrics.h). */
#include <stdlib.h>
#include <string.h>

#include "arcd/buf.h"
#include "metrics.h"
#include "notify.h"
#include "queue.h"
#include "status.h"
#include "sweep.h"
#include "workers.h"

#define BUCKETS 12
#define MAX_ROUTES 24

/* The bucket boundaries, one set per kind of histogram, in milliseconds
 * (the last is +Inf). */
static const double request_le[BUCKETS] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 1e300};
static const double job_le[BUCKETS] = {100,   250,   500,   1000,   2500,   5000,
                                       10000, 30000, 60000, 120000, 300000, 1e300};

typedef struct hist_s {
    const double *le;
    uint64_t buckets[BUCKETS]; /* cumulative counts <= le */
    uint64_t count;
    double sum_ms;
} hist_t;

typedef struct route_stats_s {
    const char *route; /* a static label */
    uint64_t errors;   /* answered with a 5xx status */
    hist_t latency;
} route_stats_t;

struct arc_metrics_s {
    route_stats_t routes[MAX_ROUTES];
    int n_routes;
    hist_t jobs;
};

static void observe(hist_t *h, double ms)
{
    h->count++;
    h->sum_ms += ms;
    for (int b = 0; b < BUCKETS; b++)
        if (ms <= h->le[b])
            h->buckets[b]++;
}

arc_metrics_t *arc_metrics_create(void)
{
    arc_metrics_t *m = arc_xcalloc(1, sizeof(*m));

    m->jobs.le = job_le;
    return m;
}

void arc_metrics_free(arc_metrics_t *m)
{
    free(m);
}

void arc_metrics_http(arc_metrics_t *m, const char *route, int status, double ms)
{
    route_stats_t *r = NULL;

    for (int i = 0; i < m->n_routes && r == NULL; i++)
        if (strcmp(m->routes[i].route, route) == 0)
            r = &m->routes[i];
    if (r == NULL) {
        if (m->n_routes == MAX_ROUTES)
            return;
        r = &m->routes[m->n_routes++];
        r->route = route;
        r->latency.le = request_le;
    }
    r->errors += status >= 500;
    observe(&r->latency, ms);
}

void arc_metrics_job(arc_metrics_t *m, double ms)
{
    observe(&m->jobs, ms);
}

/* One histogram's lines; labels: "" or `route="x",`. */
static void put_hist(arc_buf_t *b, const char *name, const char *labels, const hist_t *h)
{
    for (int k = 0; k < BUCKETS; k++) {
        if (h->le[k] > 1e299)
            arc_buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
                           (unsigned long long)h->buckets[k]);
        else
            arc_buf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, h->le[k],
                           (unsigned long long)h->buckets[k]);
    }
    size_t n = strlen(labels);
    /* Without its trailing comma, the label set of _sum and _count. */
    arc_buf_printf(b, "%s_sum%s%.*s%s %.3f\n", name, n ? "{" : "", n ? (int)n - 1 : 0, labels,
                   n ? "}" : "", h->sum_ms);
    arc_buf_printf(b, "%s_count%s%.*s%s %llu\n", name, n ? "{" : "", n ? (int)n - 1 : 0, labels,
                   n ? "}" : "", (unsigned long long)h->count);
}

char *arc_metrics_render(const arc_daemon_t *d)
{
    const arc_metrics_t *m = d->metrics;
    arc_buf_t b = ARC_BUF_INIT;
    char labels[96];

    arc_buf_puts(&b, "# HELP arcd_http_requests_total HTTP requests answered, by route.\n"
                     "# TYPE arcd_http_requests_total counter\n");
    for (int i = 0; i < m->n_routes; i++)
        arc_buf_printf(&b, "arcd_http_requests_total{route=\"%s\"} %llu\n", m->routes[i].route,
                       (unsigned long long)m->routes[i].latency.count);
    arc_buf_puts(&b, "# HELP arcd_http_errors_total HTTP requests answered with a 5xx status.\n"
                     "# TYPE arcd_http_errors_total counter\n");
    for (int i = 0; i < m->n_routes; i++)
        arc_buf_printf(&b, "arcd_http_errors_total{route=\"%s\"} %llu\n", m->routes[i].route,
                       (unsigned long long)m->routes[i].errors);
    arc_buf_puts(&b, "# HELP arcd_http_request_duration_ms Time to the start of the answer.\n"
                     "# TYPE arcd_http_request_duration_ms histogram\n");
    for (int i = 0; i < m->n_routes; i++) {
        snprintf(labels, sizeof(labels), "route=\"%s\",", m->routes[i].route);
        put_hist(&b, "arcd_http_request_duration_ms", labels, &m->routes[i].latency);
    }
    arc_buf_printf(&b,
                   "# HELP arcd_status_cache_hits_total Status reads answered from the cache.\n"
                   "# TYPE arcd_status_cache_hits_total counter\narcd_status_cache_hits_total "
                   "%llu\n",
                   (unsigned long long)arc_status_cache_hits(d->status));
    arc_buf_printf(&b,
                   "# HELP arcd_http_connections Open HTTP connections.\n"
                   "# TYPE arcd_http_connections gauge\narcd_http_connections %zu\n",
                   d->http ? arc_http_server_connections(d->http) : 0);

    arc_buf_puts(&b, "# HELP arcd_jobs Projects by state (all daemons on the database).\n"
                     "# TYPE arcd_jobs gauge\n");
    const char *state;
    json_t *v;
    json_object_foreach((json_t *)arc_queue_counts(d->queue), state, v)
    {
        arc_buf_printf(&b, "arcd_jobs{state=\"%s\"} %lld\n", state,
                       (long long)json_integer_value(v));
    }
    arc_buf_printf(&b,
                   "# HELP arcd_jobs_running Jobs running on this daemon's workers.\n"
                   "# TYPE arcd_jobs_running gauge\narcd_jobs_running %d\n",
                   arc_queue_running(d->queue));

    arc_buf_puts(&b, "# HELP arcd_compile_duration_ms Whole-job time of completed jobs.\n"
                     "# TYPE arcd_compile_duration_ms histogram\n");
    put_hist(&b, "arcd_compile_duration_ms", "", &m->jobs);

    arc_pg_stats_t ps;
    arc_pg_pool_stats(d->pool, &ps);
    arc_buf_printf(&b,
                   "# HELP arcd_db_pool_size Most connections the pool may open.\n"
                   "# TYPE arcd_db_pool_size gauge\narcd_db_pool_size %d\n"
                   "# HELP arcd_db_pool_connected Open connections.\n"
                   "# TYPE arcd_db_pool_connected gauge\narcd_db_pool_connected %d\n"
                   "# HELP arcd_db_pool_in_use Connections running a query.\n"
                   "# TYPE arcd_db_pool_in_use gauge\narcd_db_pool_in_use %d\n"
                   "# HELP arcd_db_pool_waiting Queries waiting for a connection.\n"
                   "# TYPE arcd_db_pool_waiting gauge\narcd_db_pool_waiting %d\n"
                   "# HELP arcd_db_pool_listening 1 while the LISTEN connection is up.\n"
                   "# TYPE arcd_db_pool_listening gauge\narcd_db_pool_listening %d\n"
                   "# HELP arcd_db_queries_total Queries sent.\n"
                   "# TYPE arcd_db_queries_total counter\narcd_db_queries_total %llu\n"
                   "# HELP arcd_db_timeouts_total Queries that waited too long for a connection.\n"
                   "# TYPE arcd_db_timeouts_total counter\narcd_db_timeouts_total %llu\n"
                   "# HELP arcd_db_reconnects_total Connections reopened.\n"
                   "# TYPE arcd_db_reconnects_total counter\narcd_db_reconnects_total %llu\n",
                   ps.size, ps.connected, ps.in_use, ps.waiting, ps.listening,
                   (unsigned long long)ps.queries, (unsigned long long)ps.timeouts,
                   (unsigned long long)ps.reconnects);

    int busy, idle;
    uint64_t restarts;
    arc_workers_stats(d->workers, &busy, &idle, &restarts);
    arc_buf_printf(&b,
                   "# HELP arcd_workers Worker processes by state.\n# TYPE arcd_workers gauge\n"
                   "arcd_workers{state=\"busy\"} %d\narcd_workers{state=\"idle\"} %d\n"
                   "# HELP arcd_worker_restarts_total Worker processes replaced.\n"
                   "# TYPE arcd_worker_restarts_total counter\narcd_worker_restarts_total %llu\n",
                   busy, idle, (unsigned long long)restarts);
    arc_buf_printf(
        &b,
        "# HELP arcd_expired_projects_swept_total Expired projects removed (files and rows).\n"
        "# TYPE arcd_expired_projects_swept_total counter\narcd_expired_projects_swept_total "
        "%llu\n",
        (unsigned long long)arc_sweep_total(d->sweep));
    arc_sweep_cache_stats_t cache;
    arc_sweep_cache_stats(d->sweep, &cache);
    arc_buf_printf(&b,
                   "# HELP arcd_marker_cache_bytes Size of the compiled-marker cache's entries, "
                   "at the last prune.\n"
                   "# TYPE arcd_marker_cache_bytes gauge\narcd_marker_cache_bytes %llu\n"
                   "# HELP arcd_marker_cache_entries Compiled markers in the cache, at the last "
                   "prune.\n"
                   "# TYPE arcd_marker_cache_entries gauge\narcd_marker_cache_entries %llu\n"
                   "# HELP arcd_marker_cache_pruned_total Cache entries removed by this daemon "
                   "(unused too long or over the size limit).\n"
                   "# TYPE arcd_marker_cache_pruned_total counter\n"
                   "arcd_marker_cache_pruned_total %llu\n",
                   (unsigned long long)cache.bytes, (unsigned long long)cache.entries,
                   (unsigned long long)cache.pruned);
    arc_notify_stats_t ns;
    arc_notify_stats(d->notify, &ns);
    arc_buf_printf(&b,
                   "# HELP arcd_deliveries_sent_total Webhooks and emails delivered by this "
                   "daemon.\n"
                   "# TYPE arcd_deliveries_sent_total counter\narcd_deliveries_sent_total %llu\n"
                   "# HELP arcd_deliveries_failed_total Deliveries this daemon gave up (refused, "
                   "or retried for notify.retryHours).\n"
                   "# TYPE arcd_deliveries_failed_total counter\n"
                   "arcd_deliveries_failed_total %llu\n"
                   "# HELP arcd_deliveries_retried_total Failed delivery attempts that will be "
                   "tried again.\n"
                   "# TYPE arcd_deliveries_retried_total counter\n"
                   "arcd_deliveries_retried_total %llu\n"
                   "# HELP arcd_deliveries_in_flight Deliveries this daemon is sending now.\n"
                   "# TYPE arcd_deliveries_in_flight gauge\narcd_deliveries_in_flight %d\n",
                   (unsigned long long)ns.sent, (unsigned long long)ns.failed,
                   (unsigned long long)ns.retried, ns.in_flight);
    return arc_buf_detach(&b);
}
