/*
 * The notifier: webhooks and emails from the ar_deliveries outbox (see
 * notify.h and sql/002_back_office.sql).
 *
 * A delivery goes through these states, on the loop:
 *
 *   claimed ──> RESOLVING (webhook: uv_getaddrinfo, then the address check)
 *           └─> READING   (email: the QR code read on the threadpool)
 *           ──> SENDING   (a libcurl easy handle in the multi handle)
 *           ──> RECORDING (the outcome written under our lease) ──> freed
 *
 * Any state but RECORDING may end the attempt early (a bad target, a refused
 * address, a timeout, shutdown). Every write to a delivery is guarded by
 * lease_owner, as the queue's are, so a daemon that lost its lease (it was
 * too slow and another took the delivery over) cannot overwrite the newer
 * attempt's outcome; the receiver may then see the delivery twice, with the
 * same X-Arcd-Delivery id, which is what that header is for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "arcd/assert.h"
#include "arcd/buf.h"
#include "arcd/file.h"
#include "arcd/id.h"
#include "arcd/log.h"
#include "arcd/net.h"
#include "arcd/tpl.h"
#include "auth.h"
#include "fields.h"
#include "notify.h"
#include "status.h"

/* The longest URL or address a delivery may target. */
#define MAX_TARGET 2048
/* The most addresses of a webhook's host that are checked and pinned; a
 * name with more is refused. */
#define MAX_ADDRS 64
/* A delivery's lease covers one attempt (notify.timeoutMs, which bounds the
 * name lookup and the transfer alike) and this much more for recording it. */
#define LEASE_MARGIN_S 15
/* A round that found nothing due looks again within this (ms), or sooner
 * when a delivery falls due; never more often than MIN_ROUND_MS. */
#define MIN_ROUND_MS 100

/* ---- addresses a webhook may not reach ----
 * The shop's own network, the machine itself and addresses that are not
 * one host's. IPv4 ranges match their IPv4-mapped IPv6 form too (arc_ip_t
 * holds IPv4 that way), and IPv6 forms that carry an IPv4 address (NAT64,
 * 6to4, the old IPv4-compatible form) are checked by that address. */

static const struct {
    const char *cidr;
    const char *what;
} refused_nets[] = {
    {"0.0.0.0/8", "an unspecified address"},
    {"10.0.0.0/8", "a private address (RFC 1918)"},
    {"100.64.0.0/10", "a shared address (carrier-grade NAT, RFC 6598)"},
    {"127.0.0.0/8", "a loopback address"},
    {"169.254.0.0/16", "a link-local address"},
    {"172.16.0.0/12", "a private address (RFC 1918)"},
    {"192.0.0.0/24", "an IETF protocol address (RFC 6890)"},
    {"192.0.2.0/24", "a documentation address (TEST-NET-1)"},
    {"192.168.0.0/16", "a private address (RFC 1918)"},
    {"198.18.0.0/15", "a benchmarking address (RFC 2544)"},
    {"198.51.100.0/24", "a documentation address (TEST-NET-2)"},
    {"203.0.113.0/24", "a documentation address (TEST-NET-3)"},
    {"224.0.0.0/4", "a multicast address"},
    {"240.0.0.0/4", "a reserved or broadcast address"},
    {"::/128", "an unspecified address"},
    {"::1/128", "a loopback address"},
    {"64:ff9b:1::/48", "a local-use NAT64 address (RFC 8215)"},
    {"100::/64", "a discard-only address (RFC 6666)"},
    {"2001::/32", "a Teredo address (its IPv4 address is hidden)"},
    {"2001:db8::/32", "a documentation address"},
    {"fc00::/7", "a private address (unique local, fc00::/7)"},
    {"fe80::/10", "a link-local address"},
    {"fec0::/10", "a site-local address"},
    {"ff00::/8", "a multicast address"},
};
#define N_REFUSED (sizeof(refused_nets) / sizeof(refused_nets[0]))

/* ---- the notifier ---- */

typedef enum { D_NEW, D_RESOLVING, D_READING, D_SENDING, D_RECORDING } dstate_t;

/* How an attempt ended. */
typedef enum {
    O_DELIVERED, /* a 2xx answer, a mail accepted */
    O_RETRY,     /* try again after the backoff, unless retryHours have passed */
    O_FAILED,    /* never: the target cannot work */
    O_RELEASE    /* not tried (shutdown): the delivery stays due, the attempt uncounted */
} outcome_t;

typedef struct delivery_s delivery_t;

/* A name lookup in flight; it outlives its delivery when the delivery stops
 * waiting for it (a deadline, shutdown), since libuv owns it until its
 * callback. */
typedef struct resolve_s {
    uv_getaddrinfo_t req;
    delivery_t *dl; /* NULL once nobody waits for the answer */
} resolve_t;

/* One of libcurl's sockets, watched by the loop. */
typedef struct sock_s {
    uv_poll_t poll;
    arc_notify_t *n;
    curl_socket_t fd;
    struct sock_s *next;
} sock_t;

struct delivery_s {
    arc_notify_t *n;
    delivery_t *next;
    dstate_t state;
    char id[40], project[40], event[32], occurred[32];
    int email; /* the channel: 1 email, 0 webhook */
    int attempts;
    char *target, *snapshot;
    uv_timer_t deadline; /* the attempt's notify.timeoutMs */
    uint64_t started;    /* uv_now() when the attempt began */
    resolve_t *resolving;
    /* email: the QR code, read on the threadpool */
    uv_work_t read;
    uint8_t *png;
    size_t png_len;
    int png_gone;
    char png_err[300];
    /* the transfer */
    CURL *easy;
    curl_mime *mime; /* an email's message: the application frees it, not libcurl */
    char *body;
    struct curl_slist *headers, *pins, *rcpt;
    char host[256];
    char port[8];
    char refused[400]; /* set when the connect-time check refused the address */
    char errbuf[CURL_ERROR_SIZE];
};

struct arc_notify_s {
    arc_daemon_t *d;
    arc_cidr_t nets[N_REFUSED];
    int email_on;
    char *tpl_subject, *tpl_txt, *tpl_html; /* the mail templates (email on) */
    char from_addr[256];                    /* notify.smtp.from's address alone */
    char from_domain[256];
    uint8_t *ca; /* libcurl's CA bundle, read at start-up (NULL: libcurl's own way) */
    size_t ca_len;
    int started, stopping, closing;
    CURLM *multi;
    uv_timer_t timer;      /* the next round: a due time or the poll */
    uv_timer_t curl_timer; /* libcurl's own timeouts */
    sock_t *socks;
    int handles; /* uv handles not closed yet (timers, sockets, deadlines) */
    int claiming, again;
    int settings;    /* 0 not written, 1 being written, 2 written */
    int pending_ops; /* queries of ours in flight (not counting deliveries') */
    int in_flight;   /* deliveries held */
    delivery_t *list;
    uint64_t sent, failed, retried;
    void (*stop_cb)(arc_daemon_t *d);
};

static void kick(arc_notify_t *n);
static void check_stopped(arc_notify_t *n);
static void send_transfer(delivery_t *dl);

static void on_handle_closed(uv_handle_t *h)
{
    arc_notify_t *n = h->data;

    n->handles--;
    check_stopped(n);
}

/* ---- the address check ---- */

/* The IPv4 address an IPv6 address carries (NAT64 64:ff9b::/96, 6to4
 * 2002::/16, the deprecated IPv4-compatible ::a.b.c.d), mapped into *v4.
 * Returns 1 when it carries one. */
static int embedded_v4(const arc_ip_t *ip, arc_ip_t *v4)
{
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    static const uint8_t zero[12] = {0};
    const uint8_t *src = NULL;

    if (memcmp(ip->b, nat64, 12) == 0)
        src = ip->b + 12;
    else if (ip->b[0] == 0x20 && ip->b[1] == 0x02)
        src = ip->b + 2;
    else if (memcmp(ip->b, zero, 12) == 0 && (ip->b[12] | ip->b[13] | ip->b[14]) != 0)
        src = ip->b + 12; /* ::a.b.c.d, but not :: or ::1 */
    if (src == NULL)
        return 0;
    memset(v4, 0, sizeof(*v4));
    v4->b[10] = v4->b[11] = 0xff;
    memcpy(v4->b + 12, src, 4);
    return 1;
}

/* What kind of refused address ip is, or NULL when a webhook may go there. */
static const char *refused_kind(const arc_notify_t *n, const arc_ip_t *ip)
{
    arc_ip_t v4;

    for (size_t i = 0; i < N_REFUSED; i++)
        if (arc_cidr_contains(&n->nets[i], ip))
            return refused_nets[i].what;
    if (embedded_v4(ip, &v4))
        for (size_t i = 0; i < N_REFUSED; i++)
            if (arc_cidr_contains(&n->nets[i], &v4))
                return refused_nets[i].what;
    return NULL;
}

static int ip_of_sockaddr(const struct sockaddr *sa, arc_ip_t *ip)
{
    memset(ip, 0, sizeof(*ip));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        ip->b[10] = ip->b[11] = 0xff;
        memcpy(ip->b + 12, &s4->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(ip->b, &s6->sin6_addr, 16);
        return 0;
    }
    return -1;
}

/* ---- checking settings and addresses ---- */

/* The URL's host as the resolver and libcurl's DNS cache see it: an
 * internationalised name in punycode (where libcurl converts names). */
static CURLUcode host_of(CURLU *u, char **h)
{
#ifdef CURLU_PUNYCODE
    if (curl_url_get(u, CURLUPART_HOST, h, CURLU_PUNYCODE) == CURLUE_OK)
        return CURLUE_OK;
#endif
    return curl_url_get(u, CURLUPART_HOST, h, 0);
}

/* Parses a webhook URL: http or https, a host. Fills host (IPv6 literals
 * keep their brackets) and port (the scheme's by default). Returns 0, or -1
 * with the reason in why. */
static int parse_url(const char *url, char *host, size_t host_size, char *port, size_t port_size,
                     char *why, size_t why_size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *p = NULL;
    int rc = -1;

    if (strlen(url) > MAX_TARGET) {
        snprintf(why, why_size, "the URL is longer than %d characters", MAX_TARGET);
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || host_of(u, &h) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(why, why_size, "not a URL with a host");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(why, why_size, "only http and https targets are allowed, not %.16s", scheme);
        goto out;
    }
    if (strlen(h) >= host_size || strlen(p) >= port_size) {
        snprintf(why, why_size, "the host name is too long");
        goto out;
    }
    snprintf(host, host_size, "%s", h);
    snprintf(port, port_size, "%s", p);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

/* ---- mail templates ---- */

static const char *const mail_fields[] = {"link", "title", "order", "id", "qrCid", NULL};

typedef struct mail_values_s {
    const char *link, *title, *order, *id, *cid;
    int html; /* escape for HTML */
} mail_values_t;

static int mail_field(void *arg, const char *name, arc_buf_t *out)
{
    const mail_values_t *v = arg;
    const char *s = strcmp(name, "link") == 0    ? v->link
                    : strcmp(name, "title") == 0 ? v->title
                    : strcmp(name, "order") == 0 ? v->order
                    : strcmp(name, "id") == 0    ? v->id
                    : strcmp(name, "qrCid") == 0 ? v->cid
                                                 : NULL;
    if (s == NULL)
        return -1;
    if (v->html)
        arc_buf_put_html(out, s);
    else
        arc_buf_puts(out, s);
    return 0;
}

static int load_template(const char *dir, const char *lang, const char *ext, char **out,
                         arc_err_t *err)
{
    char path[4200];
    uint8_t *buf = NULL;
    size_t len = 0;
    arc_err_t why;
    int rc;

    snprintf(path, sizeof(path), "%s/ready.%s.%s", dir, lang, ext);
    if ((rc = arc_file_read_all(path, 1 << 20, &buf, &len, err)) != 0)
        return rc;
    buf[len] = '\0';
    if ((rc = arc_tpl_check((char *)buf, mail_fields, &why)) != 0) {
        free(buf);
        return arc_err_set(err, rc, "%s: %s", path, why.msg);
    }
    *out = (char *)buf;
    return 0;
}

/* The "ready" email's subject, txt and html templates into out[0..2] (the
 * caller's to free, NULL after an error), or only checked when out is NULL. */
static int load_templates(const char *dir, const char *lang, char *out[3], arc_err_t *err)
{
    static const char *const exts[3] = {"subject", "txt", "html"};
    int rc = 0;

    for (int i = 0; i < 3 && rc == 0; i++) {
        char *tpl = NULL;
        rc = load_template(dir, lang, exts[i], &tpl, err);
        if (out != NULL)
            out[i] = tpl;
        else
            free(tpl);
    }
    if (rc != 0 && out != NULL)
        for (int i = 0; i < 3; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    return rc;
}

int arc_notify_check_templates(const char *dir, const char *lang, arc_err_t *err)
{
    return load_templates(dir, lang, NULL, err);
}

/* ---- libcurl on the loop ---- */

static void on_sock_closed(uv_handle_t *h)
{
    sock_t *k = h->data;
    arc_notify_t *n = k->n;

    free(k);
    n->handles--;
    check_stopped(n);
}

static void sock_close(sock_t *k)
{
    arc_notify_t *n = k->n;

    for (sock_t **p = &n->socks; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    uv_close((uv_handle_t *)&k->poll, on_sock_closed);
}

static void transfer_done(delivery_t *dl, CURLcode result);

/* Hands every finished transfer to its delivery. */
static void check_transfers(arc_notify_t *n)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(n->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result; /* msg is gone once the handle is removed */
        delivery_t *dl = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&dl);
        ARC_ASSERT(dl != NULL && dl->easy == easy && dl->state == D_SENDING);
        transfer_done(dl, result);
    }
}

static void on_sock_event(uv_poll_t *p, int status, int events)
{
    sock_t *k = p->data;
    arc_notify_t *n = k->n;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    /* k may be closed inside (CURL_POLL_REMOVE): not used afterwards. */
    curl_multi_socket_action(n->multi, k->fd, flags, &running);
    check_transfers(n);
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says which sockets to watch for what. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    arc_notify_t *n = userp;
    sock_t *k = socketp;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (k != NULL) {
            uv_poll_stop(&k->poll);
            sock_close(k);
            if (!n->closing)
                curl_multi_assign(n->multi, fd, NULL);
        }
        return 0;
    }
    if (k == NULL) {
        k = arc_xcalloc(1, sizeof(*k));
        k->n = n;
        k->fd = fd;
        if (uv_poll_init_socket(n->d->loop, &k->poll, fd) != 0) {
            free(k);
            return -1; /* libcurl fails the transfer */
        }
        k->poll.data = k;
        k->next = n->socks;
        n->socks = k;
        n->handles++;
        curl_multi_assign(n->multi, fd, k);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&k->poll, events, on_sock_event);
    return 0;
}

static void on_curl_timer(uv_timer_t *t)
{
    arc_notify_t *n = t->data;
    int running;

    curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_transfers(n);
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants to be called for its timeouts
 * (-1: never). libcurl must not be re-entered from here: even 0 ms goes
 * through the loop. */
static int on_curl_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    arc_notify_t *n = userp;

    (void)multi;
    if (n->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&n->curl_timer);
    else
        uv_timer_start(&n->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION of webhooks: the address about to be connected
 * is checked once more, so that nothing but a checked address is ever
 * reached (whatever libcurl resolves or is told). */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    delivery_t *dl = arg;
    arc_ip_t ip;
    const char *what;

    if (purpose != CURLSOCKTYPE_IPCXN || ip_of_sockaddr(&a->addr, &ip) != 0) {
        snprintf(dl->refused, sizeof(dl->refused), "refused: not an IP connection");
        return CURL_SOCKET_BAD;
    }
    if (!dl->n->d->cfg->notify.allow_private && (what = refused_kind(dl->n, &ip)) != NULL) {
        char text[64];
        arc_ip_format(&ip, text, sizeof(text));
        snprintf(dl->refused, sizeof(dl->refused),
                 "refused: %s connects to %s, %s (notify.allowPrivateTargets is off)", dl->host,
                 text, what);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* ---- deliveries ---- */

static void on_deadline_closed(uv_handle_t *h)
{
    delivery_t *dl = h->data;
    arc_notify_t *n = dl->n;

    free(dl->target);
    free(dl->snapshot);
    free(dl);
    n->handles--;
    check_stopped(n);
}

/* Frees what the transfer holds; safe to call at any point. */
static void transfer_free(delivery_t *dl)
{
    if (dl->easy != NULL) {
        curl_multi_remove_handle(dl->n->multi, dl->easy);
        curl_easy_cleanup(dl->easy);
        dl->easy = NULL;
    }
    /* After the handle that used it (CURLOPT_MIMEPOST does not take it). */
    curl_mime_free(dl->mime);
    dl->mime = NULL;
    curl_slist_free_all(dl->headers);
    curl_slist_free_all(dl->pins);
    curl_slist_free_all(dl->rcpt);
    dl->headers = dl->pins = dl->rcpt = NULL;
    free(dl->body);
    dl->body = NULL;
    free(dl->png);
    dl->png = NULL;
}

static void delivery_free(delivery_t *dl)
{
    arc_notify_t *n = dl->n;

    for (delivery_t **p = &n->list; *p; p = &(*p)->next)
        if (*p == dl) {
            *p = dl->next;
            break;
        }
    n->in_flight--;
    transfer_free(dl);
    uv_timer_stop(&dl->deadline);
    uv_close((uv_handle_t *)&dl->deadline, on_deadline_closed);
}

/* The outcome's statements, each guarded by our lease. The backoff is 10 s
 * doubling per attempt, at most an hour; a retry that would fall after
 * notify.retryHours from the event is not made: the delivery fails then. */
static const char *const record_sql[] = {
    [O_DELIVERED] =
        "WITH d AS (UPDATE ar_deliveries SET delivered_at = now(), last_status = $3::int,"
        "   last_error = NULL, lease_owner = NULL, lease_expires_at = NULL"
        "   WHERE id = $1::uuid AND lease_owner = $2 RETURNING project_id, channel),"
        " p AS (UPDATE ar_projects p SET notified_at = now() FROM d"
        "   WHERE p.id = d.project_id AND d.channel = 'email' RETURNING p.id)"
        " SELECT (SELECT count(*) FROM d) AS recorded, false AS failed",
    [O_RETRY] =
        "WITH x AS (SELECT id, now() + make_interval(secs => least(3600, 10 * power(2,"
        "     least(attempts - 1, 12)))) AS next_at, occurred_at FROM ar_deliveries"
        "   WHERE id = $1::uuid AND lease_owner = $2),"
        " y AS (SELECT id, next_at,"
        "   next_at > occurred_at + make_interval(secs => $5::float8) AS over FROM x),"
        " d AS (UPDATE ar_deliveries a SET last_status = $3::int,"
        "   last_error = CASE WHEN y.over THEN $4 || ' (given up after ' || a.attempts"
        "     || CASE WHEN a.attempts = 1 THEN ' attempt)' ELSE ' attempts)' END ELSE $4 END,"
        "   next_attempt_at = y.next_at, failed_at = CASE WHEN y.over THEN now() END,"
        "   lease_owner = NULL, lease_expires_at = NULL"
        "   FROM y WHERE a.id = y.id AND a.lease_owner = $2 RETURNING a.failed_at)"
        " SELECT count(*) AS recorded, coalesce(bool_or(failed_at IS NOT NULL), false) AS failed"
        " FROM d",
    [O_FAILED] = "WITH d AS (UPDATE ar_deliveries SET last_status = $3::int, last_error = $4,"
                 "   failed_at = now(), lease_owner = NULL, lease_expires_at = NULL"
                 "   WHERE id = $1::uuid AND lease_owner = $2 RETURNING id)"
                 " SELECT count(*) AS recorded, true AS failed FROM d",
    [O_RELEASE] = "WITH d AS (UPDATE ar_deliveries SET attempts = greatest(attempts - 1, 0),"
                  "   lease_owner = NULL, lease_expires_at = NULL"
                  "   WHERE id = $1::uuid AND lease_owner = $2 RETURNING id)"
                  " SELECT count(*) AS recorded, false AS failed FROM d",
};

enum { R_RECORDED, R_FAILED, R_N };
static const char *const record_cols[R_N] = {[R_RECORDED] = "recorded", [R_FAILED] = "failed"};

typedef struct record_s {
    delivery_t *dl; /* NULL for a row released without a delivery (shutdown) */
    arc_notify_t *n;
    outcome_t outcome;
    char what[600];
} record_t;

static void on_recorded(int status, PGresult *res, void *arg)
{
    record_t *r = arg;
    arc_notify_t *n = r->n;
    int col[R_N];
    arc_err_t err;
    const char *id = r->dl ? r->dl->id : "";

    if (status == 0 && arc_pg_columns(res, record_cols, R_N, col, &err) != 0) {
        arc_log_msg(ARC_LOG_INFO, "notify: %s", err.msg);
        status = ARC_EINTERNAL;
    }
    if (status != 0) {
        /* The lease lapses and the delivery is tried again. */
        arc_log_msg(ARC_LOG_ERROR, "notify: recording delivery %s failed: %s", id,
                    res && status == ARC_EDB ? PQresultErrorMessage(res) : arc_strerror(status));
    } else if (PQgetvalue(res, 0, col[R_RECORDED])[0] == '0') {
        arc_log_msg(ARC_LOG_ERROR,
                    "notify: delivery %s: the lease was lost (another daemon has it)", id);
    } else if (r->outcome == O_DELIVERED) {
        n->sent++;
    } else if (r->outcome == O_RETRY || r->outcome == O_FAILED) {
        int failed = PQgetvalue(res, 0, col[R_FAILED])[0] == 't';
        if (failed)
            n->failed++;
        else
            n->retried++;
        arc_log_msg(ARC_LOG_INFO, "notify: delivery %s %s: %s", id,
                    failed ? "failed for good" : "failed, will retry", r->what);
    }
    if (r->dl != NULL)
        delivery_free(r->dl);
    else
        n->pending_ops--;
    free(r);
    check_stopped(n);
    kick(n);
}

static void record_send(arc_notify_t *n, delivery_t *dl, const char *id, outcome_t outcome,
                        long status_code, const char *why)
{
    record_t *r = arc_xcalloc(1, sizeof(*r));
    char code[24], window[32];
    const char *params[5] = {id, n->d->node, status_code > 0 ? code : NULL, why, window};

    r->dl = dl;
    r->n = n;
    r->outcome = outcome;
    snprintf(r->what, sizeof(r->what), "%s", why ? why : "");
    snprintf(code, sizeof(code), "%ld", status_code);
    snprintf(window, sizeof(window), "%.3f", n->d->cfg->notify.retry_hours * 3600.0);
    if (dl == NULL)
        n->pending_ops++;
    int nparams = outcome == O_RETRY ? 5 : outcome == O_RELEASE ? 2 : outcome == O_FAILED ? 4 : 3;
    arc_pg_query(n->d->pool, record_sql[outcome], nparams, params, on_recorded, r);
}

/* Ends the attempt: stops what is still running and records the outcome. */
static void finish(delivery_t *dl, outcome_t outcome, long status_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finish(delivery_t *dl, outcome_t outcome, long status_code, const char *fmt, ...)
{
    char why[600] = "";
    va_list ap;

    ARC_ASSERT(dl->state != D_RECORDING);
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        arc_str_printable(why);
    }
    dl->state = D_RECORDING;
    uv_timer_stop(&dl->deadline);
    if (dl->resolving != NULL) {
        dl->resolving->dl = NULL; /* its callback frees it */
        uv_cancel((uv_req_t *)&dl->resolving->req);
        dl->resolving = NULL;
    }
    transfer_free(dl);
    if (outcome == O_DELIVERED)
        arc_log_msg(ARC_LOG_INFO, "notify: delivery %s (%s, %s) delivered (%ld, attempt %d)",
                    dl->id, dl->event, dl->email ? "email" : "webhook", status_code, dl->attempts);
    record_send(dl->n, dl, dl->id, outcome, status_code, fmt ? why : NULL);
}

/* The milliseconds left of the attempt (at least 1). */
static long time_left(const delivery_t *dl)
{
    uint64_t spent = uv_now(dl->n->d->loop) - dl->started;
    int64_t limit = dl->n->d->cfg->notify.timeout_ms;

    return spent >= (uint64_t)limit ? 1 : (long)(limit - (int64_t)spent);
}

static void on_deadline(uv_timer_t *t)
{
    delivery_t *dl = t->data;

    /* A transfer has libcurl's own timeout; a file read is short. Only a
     * name lookup can hang past the attempt's time. */
    if (dl->state == D_RESOLVING)
        finish(dl, O_RETRY, 0, "timed out resolving %s after %lld ms", dl->host,
               (long long)dl->n->d->cfg->notify.timeout_ms);
}

static void transfer_done(delivery_t *dl, CURLcode result)
{
    long code = 0;

    curl_easy_getinfo(dl->easy, CURLINFO_RESPONSE_CODE, &code);
    if (dl->refused[0] != '\0') {
        finish(dl, O_FAILED, 0, "%s", dl->refused);
    } else if (result == CURLE_OK && (dl->email || (code >= 200 && code < 300))) {
        finish(dl, O_DELIVERED, code, NULL);
    } else if (result == CURLE_OK) {
        finish(dl, O_RETRY, code, "HTTP %ld", code);
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        finish(dl, O_RETRY, code, "timed out after %lld ms",
               (long long)dl->n->d->cfg->notify.timeout_ms);
    } else if (dl->email && code > 0) {
        finish(dl, O_RETRY, code, "SMTP %ld: %s", code,
               dl->errbuf[0] ? dl->errbuf : curl_easy_strerror(result));
    } else {
        finish(dl, O_RETRY, code, "%s", dl->errbuf[0] ? dl->errbuf : curl_easy_strerror(result));
    }
}

/* The settings every transfer shares. */
static CURL *easy_new(delivery_t *dl)
{
    CURL *e = curl_easy_init();

    if (e == NULL)
        arc_oom(0);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)dl);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, dl->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, time_left(dl));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, time_left(dl));
    /* No proxy from the environment: the connection goes where it was
     * checked to go. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    /* An aborted transfer whose name lookup still runs (libcurl's resolver
     * thread) must not make curl_easy_cleanup() wait for it on the loop. */
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
    if (dl->n->ca != NULL) {
        /* TLS verifies against the bundle read at start-up: no CA file is
         * read on the loop, nor looked up in a CA folder mid-handshake. */
        struct curl_blob ca = {dl->n->ca, dl->n->ca_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    }
    return e;
}

static void send_transfer(delivery_t *dl)
{
    CURLMcode mc;

    dl->state = D_SENDING;
    if ((mc = curl_multi_add_handle(dl->n->multi, dl->easy)) != CURLM_OK)
        finish(dl, O_RETRY, 0, "libcurl: %s", curl_multi_strerror(mc));
}

/* ---- webhooks ---- */

/* The body: the event, the project's id, when it happened and the status
 * document of the project as it was then. Owned. */
static char *webhook_body(const delivery_t *dl)
{
    json_error_t jerr;
    json_t *snap = json_loads(dl->snapshot, 0, &jerr);
    json_t *project = snap != NULL ? arc_status_doc_json(dl->n->d, snap) : json_null();
    json_t *js = json_pack("{s:s, s:s, s:s, s:o}", "event", dl->event, "arId", dl->project,
                           "occurredAt", dl->occurred, "project", project);
    char *body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(js);
    json_decref(snap);
    if (body == NULL)
        arc_oom(0);
    return body;
}

static void webhook_send(delivery_t *dl)
{
    const arc_config_t *cfg = dl->n->d->cfg;
    char line[512];

    dl->body = webhook_body(dl);
    size_t len = strlen(dl->body);
    dl->headers = curl_slist_append(dl->headers, "Content-Type: application/json");
    dl->headers = curl_slist_append(dl->headers, "User-Agent: arcd/" ARCD_VERSION);
    dl->headers = curl_slist_append(dl->headers, "Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof(line), "X-Arcd-Event: %s", dl->event);
    dl->headers = curl_slist_append(dl->headers, line);
    snprintf(line, sizeof(line), "X-Arcd-Delivery: %s", dl->id);
    dl->headers = curl_slist_append(dl->headers, line);
    if (cfg->notify.webhook_secret[0] != '\0') {
        /* v1 = HMAC-SHA256("<t>.<body>"), keyed by the shared secret. */
        char t[24], hex[2 * EVP_MAX_MD_SIZE + 1];
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
        arc_buf_t msg = ARC_BUF_INIT;
        arc_buf_printf(&msg, "%s.", t);
        arc_buf_append(&msg, dl->body, len);
        HMAC(EVP_sha256(), cfg->notify.webhook_secret, (int)strlen(cfg->notify.webhook_secret),
             (const unsigned char *)msg.data, msg.len, mac, &mac_len);
        arc_buf_dispose(&msg);
        for (unsigned i = 0; i < mac_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        hex[2 * mac_len] = '\0';
        snprintf(line, sizeof(line), "X-Arcd-Signature: t=%s,v1=%s", t, hex);
        dl->headers = curl_slist_append(dl->headers, line);
    }
    if (dl->headers == NULL)
        arc_oom(0);

    CURL *e = dl->easy = easy_new(dl);
    curl_easy_setopt(e, CURLOPT_URL, dl->target);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, dl->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, dl->headers);
    if (dl->pins != NULL)
        curl_easy_setopt(e, CURLOPT_RESOLVE, dl->pins);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, dl);
    send_transfer(dl);
}

/* Checks every address of the target; on success pins the host to them
 * (pins NULL for an address literal, which needs no lookup). Returns 0, or
 * -1 once the delivery has failed for good. */
static int check_addresses(delivery_t *dl, const arc_ip_t *ips, size_t n_ips, int literal)
{
    arc_notify_t *n = dl->n;
    arc_buf_t pin = ARC_BUF_INIT;
    char text[64];

    for (size_t i = 0; i < n_ips; i++) {
        const char *what = refused_kind(n, &ips[i]);
        if (what != NULL && !n->d->cfg->notify.allow_private) {
            arc_ip_format(&ips[i], text, sizeof(text));
            if (literal && strcmp(text, dl->host) == 0)
                finish(dl, O_FAILED, 0, "refused: %s is %s (notify.allowPrivateTargets is off)",
                       dl->host, what);
            else
                finish(dl, O_FAILED, 0, "refused: %s %s %s, %s (notify.allowPrivateTargets is off)",
                       dl->host, literal ? "is" : "resolves to", text, what);
            arc_buf_dispose(&pin);
            return -1;
        }
    }
    if (literal)
        return 0;
    arc_buf_printf(&pin, "%s:%s:", dl->host, dl->port);
    for (size_t i = 0; i < n_ips; i++) {
        arc_ip_format(&ips[i], text, sizeof(text));
        arc_buf_printf(&pin, strchr(text, ':') ? "%s[%s]" : "%s%s", i ? "," : "", text);
    }
    dl->pins = curl_slist_append(NULL, pin.data);
    arc_buf_dispose(&pin);
    if (dl->pins == NULL)
        arc_oom(0);
    return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_t *r = (resolve_t *)req;
    delivery_t *dl = r->dl;
    arc_ip_t ips[MAX_ADDRS];
    size_t n_ips = 0, n_all = 0;

    free(r);
    if (dl == NULL) { /* given up: timed out, or shutdown */
        uv_freeaddrinfo(res);
        return;
    }
    ARC_ASSERT(dl->state == D_RESOLVING);
    dl->resolving = NULL;
    if (status < 0) {
        uv_freeaddrinfo(res);
        finish(dl, O_RETRY, 0, "cannot resolve %s: %s", dl->host, uv_strerror(status));
        return;
    }
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        arc_ip_t ip;
        if (ip_of_sockaddr(a->ai_addr, &ip) != 0)
            continue;
        int seen = 0;
        for (size_t i = 0; i < n_ips && !seen; i++)
            seen = memcmp(&ips[i], &ip, sizeof(ip)) == 0;
        if (!seen && n_ips < MAX_ADDRS)
            ips[n_ips++] = ip;
        n_all += !seen;
    }
    uv_freeaddrinfo(res);
    if (n_all > n_ips) {
        /* Every address is checked, or none is used. */
        finish(dl, O_FAILED, 0, "refused: %s has more than %d addresses", dl->host, MAX_ADDRS);
        return;
    }
    if (n_ips == 0) {
        finish(dl, O_RETRY, 0, "cannot resolve %s: no address", dl->host);
        return;
    }
    if (check_addresses(dl, ips, n_ips, 0) == 0)
        webhook_send(dl);
}

static void webhook_start(delivery_t *dl)
{
    char why[200];
    arc_ip_t ip;

    if (parse_url(dl->target, dl->host, sizeof(dl->host), dl->port, sizeof(dl->port), why,
                  sizeof(why)) != 0) {
        finish(dl, O_FAILED, 0, "bad target: %s", why);
        return;
    }
    /* An address literal is checked as it is; a name is looked up first,
     * on the threadpool. Forms that only a resolver reads as an address
     * (127.1, 0x7f000001) go through the lookup and are checked by its
     * answer. */
    if (dl->host[0] == '[') {
        char lit[64];
        size_t len = strcspn(dl->host + 1, "]%");
        snprintf(lit, sizeof(lit), "%.*s", (int)(len < 63 ? len : 63), dl->host + 1);
        if (arc_ip_parse(lit, &ip) != 0) {
            finish(dl, O_FAILED, 0, "bad target: %s is not an address", dl->host);
            return;
        }
        if (check_addresses(dl, &ip, 1, 1) == 0)
            webhook_send(dl);
        return;
    }
    if (arc_ip_parse(dl->host, &ip) == 0) {
        if (check_addresses(dl, &ip, 1, 1) == 0)
            webhook_send(dl);
        return;
    }
    resolve_t *r = arc_xcalloc(1, sizeof(*r));
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->dl = dl;
    dl->resolving = r;
    dl->state = D_RESOLVING;
    int rc = uv_getaddrinfo(dl->n->d->loop, &r->req, on_resolved, dl->host, dl->port, &hints);
    if (rc != 0) {
        dl->resolving = NULL;
        free(r);
        finish(dl, O_RETRY, 0, "cannot resolve %s: %s", dl->host, uv_strerror(rc));
    }
}

/* ---- email ---- */

/* On the threadpool: the project's QR code. */
static void read_qr(uv_work_t *w)
{
    delivery_t *dl = w->data;
    char path[4200];
    struct stat st;
    arc_err_t err;

    snprintf(path, sizeof(path), "%s/ar-storage/%s/qr-code.png", dl->n->d->storage, dl->project);
    if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        dl->png_gone = 1;
        return;
    }
    if (arc_file_read_all(path, 4u << 20, &dl->png, &dl->png_len, &err) != 0)
        snprintf(dl->png_err, sizeof(dl->png_err), "%.250s", err.msg);
}

/* A header value in RFC 2047's encoded words when it is not plain ASCII
 * (a Russian subject). Words of at most 45 bytes (60 in base64), cut
 * between UTF-8 characters. */
static void put_header_text(arc_buf_t *b, const char *s)
{
    size_t len = strlen(s);
    int plain = 1;

    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            plain = 0;
    if (plain) {
        arc_buf_puts(b, s);
        return;
    }
    for (size_t at = 0; at < len;) {
        size_t n = len - at > 45 ? 45 : len - at;
        while (n > 0 && at + n < len && ((unsigned char)s[at + n] & 0xc0) == 0x80)
            n--; /* do not split a character */
        unsigned char out[64];
        int olen = EVP_EncodeBlock(out, (const unsigned char *)s + at, (int)n);
        arc_buf_printf(b, "%s=?UTF-8?B?%.*s?=", at ? " " : "", olen, (const char *)out);
        at += n;
    }
}

/* The text of a mail part with CRLF line ends: MIME's own, which the
 * quoted-printable encoding keeps as line breaks (a bare LF would be
 * encoded as =0A and the whole text become one line). */
static void put_crlf(arc_buf_t *out, const arc_buf_t *in)
{
    for (size_t i = 0; i < in->len; i++) {
        if (in->data[i] == '\n' && (i == 0 || in->data[i - 1] != '\r'))
            arc_buf_append(out, "\r", 1);
        arc_buf_append(out, in->data + i, 1);
    }
}

/* A part holding the parts of sub (owned by it from now on), of a
 * multipart type. */
static void mime_sub(curl_mime *mime, curl_mime *sub, const char *type)
{
    curl_mimepart *p = curl_mime_addpart(mime);

    curl_mime_subparts(p, sub);
    curl_mime_type(p, type);
}

/* A part of data with a type, a transfer encoding and extra headers
 * (NULL-ended). */
static void mime_add(curl_mime *mime, const void *data, size_t len, const char *type,
                     const char *encoder, const char *const *headers)
{
    curl_mimepart *p = curl_mime_addpart(mime);
    struct curl_slist *h = NULL;

    curl_mime_data(p, data, len);
    curl_mime_type(p, type);
    if (encoder != NULL)
        curl_mime_encoder(p, encoder);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        h = curl_slist_append(h, headers[i]);
    if (h != NULL)
        curl_mime_headers(p, h, 1);
}

static void email_send(delivery_t *dl)
{
    arc_notify_t *n = dl->n;
    const arc_config_t *cfg = n->d->cfg;
    json_error_t jerr;
    json_t *snap = json_loads(dl->snapshot, 0, &jerr);
    json_t *src = snap != NULL ? json_incref(snap) : json_object();
    json_t *doc = arc_status_doc_json(n->d, src);
    const char *title = json_string_value(json_object_get(doc, "title"));
    const char *order = json_string_value(json_object_get(doc, "orderRef"));
    char cid[320], line[1200];
    arc_buf_t subject = ARC_BUF_INIT, txt = ARC_BUF_INIT, html = ARC_BUF_INIT, h = ARC_BUF_INIT;
    arc_buf_t txt_crlf = ARC_BUF_INIT, html_crlf = ARC_BUF_INIT;
    arc_err_t err;

    snprintf(cid, sizeof(cid), "qr-%s@%s", dl->id, n->from_domain);
    /* An empty title or order reads as a dash in either language. */
    mail_values_t v = {
        .link = json_string_value(json_object_get(doc, "viewUrl")),
        .title = title && *title ? title : "\xe2\x80\x94",
        .order = order && *order ? order : "\xe2\x80\x94",
        .id = dl->project,
        .cid = cid,
    };
    /* Checked at start-up: rendering cannot fail. */
    arc_tpl_render(n->tpl_subject, mail_field, &v, &subject, &err);
    arc_tpl_render(n->tpl_txt, mail_field, &v, &txt, &err);
    v.html = 1;
    arc_tpl_render(n->tpl_html, mail_field, &v, &html, &err);
    /* One line of subject: line breaks (the template's last, or a title's)
     * become spaces. */
    for (size_t i = 0; i < subject.len; i++)
        if (subject.data[i] == '\r' || subject.data[i] == '\n' || subject.data[i] == '\t')
            subject.data[i] = ' ';
    while (subject.len > 0 && subject.data[subject.len - 1] == ' ')
        subject.data[--subject.len] = '\0';

    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S +0000", &tm);
    dl->headers = curl_slist_append(dl->headers, date);
    /* The sender's name (RFC 2047 words when it is not ASCII) and address. */
    const char *lt = strchr(cfg->notify.smtp_from, '<');
    arc_buf_puts(&h, "From: ");
    if (lt != NULL) {
        char name[256];
        size_t len = (size_t)(lt - cfg->notify.smtp_from);
        while (len > 0 && cfg->notify.smtp_from[len - 1] == ' ')
            len--;
        snprintf(name, sizeof(name), "%.*s", (int)(len < 255 ? len : 255), cfg->notify.smtp_from);
        if (name[0] != '\0' && strpbrk(name, "()<>[]:;@\\,.\"") != NULL &&
            strspn(name, " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                         "abcdefghijklmnopqrstuvwxyz{|}~\"") == strlen(name)) {
            /* ASCII with specials: a quoted string. */
            arc_buf_puts(&h, "\"");
            for (const char *c = name; *c; c++)
                arc_buf_printf(&h, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
            arc_buf_puts(&h, "\" ");
        } else if (name[0] != '\0') {
            put_header_text(&h, name);
            arc_buf_puts(&h, " ");
        }
    }
    arc_buf_printf(&h, "<%s>", n->from_addr);
    dl->headers = curl_slist_append(dl->headers, h.data);
    arc_buf_clear(&h);
    snprintf(line, sizeof(line), "To: <%s>", dl->target);
    dl->headers = curl_slist_append(dl->headers, line);
    arc_buf_puts(&h, "Subject: ");
    put_header_text(&h, subject.data ? subject.data : "");
    dl->headers = curl_slist_append(dl->headers, h.data);
    /* The same Message-ID on every attempt: a mail that got through once
     * is one message to the reader's software. */
    snprintf(line, sizeof(line), "Message-ID: <%s@%s>", dl->id, n->from_domain);
    dl->headers = curl_slist_append(dl->headers, line);
    snprintf(line, sizeof(line), "X-Arcd-Delivery: %s", dl->id);
    dl->headers = curl_slist_append(dl->headers, line);
    snprintf(line, sizeof(line), "X-Arcd-Event: %s", dl->event);
    dl->headers = curl_slist_append(dl->headers, line);
    snprintf(line, sizeof(line), "<%s>", dl->target);
    dl->rcpt = curl_slist_append(NULL, line);
    if (dl->headers == NULL || dl->rcpt == NULL)
        arc_oom(0);

    CURL *e = dl->easy = easy_new(dl);
    /* mixed: the message (related: the text in two forms, and the QR code
     * its HTML shows by Content-ID), then the QR code as an attachment. */
    curl_mime *mixed = dl->mime = curl_mime_init(e), *related = curl_mime_init(e),
              *alt = curl_mime_init(e);
    put_crlf(&txt_crlf, &txt);
    put_crlf(&html_crlf, &html);
    mime_add(alt, txt_crlf.data ? txt_crlf.data : "", txt_crlf.len, "text/plain; charset=utf-8",
             "quoted-printable", NULL);
    mime_add(alt, html_crlf.data ? html_crlf.data : "", html_crlf.len, "text/html; charset=utf-8",
             "quoted-printable", NULL);
    mime_sub(related, alt, "multipart/alternative");
    snprintf(line, sizeof(line), "Content-ID: <%s>", cid);
    const char *inline_h[] = {line, "Content-Disposition: inline; filename=\"qr-code.png\"", NULL};
    mime_add(related, dl->png, dl->png_len, "image/png", "base64", inline_h);
    mime_sub(mixed, related, "multipart/related; type=\"multipart/alternative\"");
    const char *attach_h[] = {"Content-Disposition: attachment; filename=\"qr-code.png\"", NULL};
    mime_add(mixed, dl->png, dl->png_len, "image/png", "base64", attach_h);

    arc_notify_smtp_options(e, cfg);
    snprintf(line, sizeof(line), "<%s>", n->from_addr);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, line); /* copied */
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, dl->rcpt);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, dl->headers);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, mixed);

    arc_buf_dispose(&subject);
    arc_buf_dispose(&txt);
    arc_buf_dispose(&html);
    arc_buf_dispose(&txt_crlf);
    arc_buf_dispose(&html_crlf);
    arc_buf_dispose(&h);
    json_decref(doc);
    json_decref(src);
    json_decref(snap);
    send_transfer(dl);
}

static void after_read_qr(uv_work_t *w, int status)
{
    delivery_t *dl = w->data;

    ARC_ASSERT(dl->state == D_READING);
    if (dl->n->stopping || status == UV_ECANCELED)
        finish(dl, O_RELEASE, 0, NULL);
    else if (dl->png_gone)
        finish(dl, O_FAILED, 0,
               "the project's QR code (qr-code.png) is gone: the project was "
               "removed");
    else if (dl->png == NULL)
        finish(dl, O_RETRY, 0, "cannot read the QR code: %s", dl->png_err);
    else
        email_send(dl);
}

static void email_start(delivery_t *dl)
{
    if (!arc_field_email_ok(dl->target)) {
        finish(dl, O_FAILED, 0, "bad target: not a mail address this daemon sends to");
        return;
    }
    dl->state = D_READING;
    dl->read.data = dl;
    uv_queue_work(dl->n->d->loop, &dl->read, read_qr, after_read_qr);
}

/* ---- claiming ---- */

enum { C_ID, C_PROJECT, C_EVENT, C_CHANNEL, C_TARGET, C_SNAPSHOT, C_ATTEMPTS, C_OCCURRED, C_N };
static const char *const claim_cols[C_N] = {
    [C_ID] = "id",
    [C_PROJECT] = "project_id",
    [C_EVENT] = "event",
    [C_CHANNEL] = "channel",
    [C_TARGET] = "target",
    [C_SNAPSHOT] = "snapshot",
    [C_ATTEMPTS] = "attempts",
    [C_OCCURRED] = "occurred_at",
};

/* Due, not done, no live lease; emails only where this daemon sends them. */
static const char *claim_sql =
    "WITH c AS (SELECT id FROM ar_deliveries"
    "           WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()"
    "             AND (lease_expires_at IS NULL OR lease_expires_at < now())"
    "             AND (channel = 'webhook' OR $4::boolean)"
    "           ORDER BY next_attempt_at LIMIT $3::int FOR UPDATE SKIP LOCKED)"
    " UPDATE ar_deliveries d SET attempts = d.attempts + 1, lease_owner = $1,"
    "   lease_expires_at = now() + make_interval(secs => $2::int)"
    " FROM c WHERE d.id = c.id"
    " RETURNING d.id::text AS id, d.project_id::text AS project_id, d.event, d.channel,"
    "   d.target, d.snapshot::text AS snapshot, d.attempts,"
    "   to_char(d.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS occurred_at";

/* When the next delivery falls due (or its lease lapses), from now. */
static const char *due_sql =
    "SELECT ceil(extract(epoch FROM min(greatest(next_attempt_at, lease_expires_at)) - now())"
    "            * 1000)::bigint AS due_ms"
    " FROM ar_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL"
    "   AND (channel = 'webhook' OR $1::boolean)";

static void on_timer(uv_timer_t *t);

static uint64_t poll_ms(const arc_notify_t *n)
{
    return (uint64_t)n->d->cfg->queue.poll_seconds * 1000;
}

static void on_due(int status, PGresult *res, void *arg)
{
    arc_notify_t *n = arg;

    n->pending_ops--;
    if (status == 0 && !n->stopping && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        long long ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        uint64_t wait = ms < MIN_ROUND_MS ? MIN_ROUND_MS : (uint64_t)ms;
        if (wait < poll_ms(n) && wait < uv_timer_get_due_in(&n->timer))
            uv_timer_start(&n->timer, on_timer, wait, 0);
    }
    check_stopped(n);
}

static void delivery_start(arc_notify_t *n, PGresult *res, int row, const int *col)
{
    delivery_t *dl = arc_xcalloc(1, sizeof(*dl));

    dl->n = n;
    snprintf(dl->id, sizeof(dl->id), "%s", PQgetvalue(res, row, col[C_ID]));
    snprintf(dl->project, sizeof(dl->project), "%s", PQgetvalue(res, row, col[C_PROJECT]));
    snprintf(dl->event, sizeof(dl->event), "%s", PQgetvalue(res, row, col[C_EVENT]));
    snprintf(dl->occurred, sizeof(dl->occurred), "%s", PQgetvalue(res, row, col[C_OCCURRED]));
    dl->email = strcmp(PQgetvalue(res, row, col[C_CHANNEL]), "email") == 0;
    dl->attempts = (int)strtol(PQgetvalue(res, row, col[C_ATTEMPTS]), NULL, 10);
    dl->target = arc_xstrdup(PQgetvalue(res, row, col[C_TARGET]));
    dl->snapshot = arc_xstrdup(PQgetvalue(res, row, col[C_SNAPSHOT]));
    dl->next = n->list;
    n->list = dl;
    n->in_flight++;
    uv_timer_init(n->d->loop, &dl->deadline);
    dl->deadline.data = dl;
    n->handles++;
    dl->started = uv_now(n->d->loop);
    uv_timer_start(&dl->deadline, on_deadline, (uint64_t)n->d->cfg->notify.timeout_ms, 0);
    if (dl->email)
        email_start(dl);
    else
        webhook_start(dl);
}

static void on_claimed(int status, PGresult *res, void *arg)
{
    arc_notify_t *n = arg;
    int col[C_N], asked = n->claiming;
    arc_err_t err;

    n->claiming = 0;
    n->pending_ops--;
    if (status == 0 && PQntuples(res) > 0 && arc_pg_columns(res, claim_cols, C_N, col, &err) != 0) {
        arc_log_msg(ARC_LOG_INFO, "notify: claiming: %s", err.msg);
        status = ARC_EINTERNAL;
    }
    if (status != 0) {
        if (status != ARC_ECANCELED)
            arc_log_msg(ARC_LOG_ERROR, "notify: claiming deliveries failed: %s",
                        res && status == ARC_EDB ? PQresultErrorMessage(res)
                                                 : arc_strerror(status));
        if (!n->stopping)
            uv_timer_start(&n->timer, on_timer, poll_ms(n), 0);
        check_stopped(n);
        return;
    }
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        if (n->stopping) /* claimed as we began to stop: hand back untouched */
            record_send(n, NULL, PQgetvalue(res, i, col[C_ID]), O_RELEASE, 0, NULL);
        else
            delivery_start(n, res, i, col);
    }
    if (!n->stopping) {
        uv_timer_start(&n->timer, on_timer, poll_ms(n), 0);
        if (rows < asked) {
            /* Nothing more is due now: wake when something will be. */
            char on[8];
            const char *params[1] = {on};
            snprintf(on, sizeof(on), "%s", n->email_on ? "true" : "false");
            n->pending_ops++;
            arc_pg_query(n->d->pool, due_sql, 1, params, on_due, n);
        }
    }
    if (n->again) {
        n->again = 0;
        kick(n);
    }
    check_stopped(n);
}

static void on_settings(int status, PGresult *res, void *arg)
{
    arc_notify_t *n = arg;

    n->pending_ops--;
    n->settings = status == 0 ? 2 : 0;
    if (status != 0 && status != ARC_ECANCELED)
        arc_log_msg(ARC_LOG_ERROR, "notify: writing arcd_settings failed (will retry): %s",
                    res && status == ARC_EDB ? PQresultErrorMessage(res) : arc_strerror(status));
    check_stopped(n);
}

/* What the triggers read to decide which deliveries an event makes: this
 * daemon's config (daemons sharing a database should agree; the last to
 * start wins). */
static void write_settings(arc_notify_t *n)
{
    const char *params[2] = {n->d->cfg->notify.webhook_url, n->email_on ? "on" : "off"};

    n->settings = 1;
    n->pending_ops++;
    arc_pg_query(n->d->pool,
                 "INSERT INTO arcd_settings (key, value) VALUES ('webhook_url', $1), ('email', $2)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 2, params, on_settings, n);
}

static void kick(arc_notify_t *n)
{
    if (n == NULL || !n->started || n->stopping)
        return;
    if (n->claiming) {
        n->again = 1; /* a NOTIFY may have come after the claim's snapshot */
        return;
    }
    int room = (int)n->d->cfg->notify.concurrency - n->in_flight;
    if (room <= 0)
        return; /* a finished delivery kicks again */
    char lease[32], limit[16], on[8];
    const char *params[4] = {n->d->node, lease, limit, on};
    snprintf(lease, sizeof(lease), "%lld",
             (long long)((n->d->cfg->notify.timeout_ms + 999) / 1000 + LEASE_MARGIN_S));
    snprintf(limit, sizeof(limit), "%d", room);
    snprintf(on, sizeof(on), "%s", n->email_on ? "true" : "false");
    n->claiming = room;
    n->pending_ops++;
    arc_pg_query(n->d->pool, claim_sql, 4, params, on_claimed, n);
}

void arc_notify_kick(arc_notify_t *n)
{
    kick(n);
}

static void on_timer(uv_timer_t *t)
{
    arc_notify_t *n = t->data;

    if (n->settings == 0 && !n->stopping)
        write_settings(n);
    kick(n);
}

/* ---- life cycle ---- */

void arc_notify_smtp_options(CURL *e, const arc_config_t *cfg)
{
    curl_easy_setopt(e, CURLOPT_URL, cfg->notify.smtp_url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* STARTTLS when the server offers it; with a user and password, only
     * over TLS: a man in the middle who strips the offer must not read them. */
    curl_easy_setopt(e, CURLOPT_USE_SSL,
                     cfg->notify.smtp_user[0] != '\0' ? (long)CURLUSESSL_ALL
                                                      : (long)CURLUSESSL_TRY);
    if (cfg->notify.smtp_user[0] != '\0') {
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg->notify.smtp_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->notify.smtp_password);
    }
}

int arc_notify_create(arc_daemon_t *d, arc_notify_t **out, arc_err_t *err)
{
    const arc_config_t *cfg = d->cfg;
    arc_notify_t *n = arc_xcalloc(1, sizeof(*n));
    arc_buf_t bad = ARC_BUF_INIT;
    char host[256], port[8], why[200];
    int rc = 0;

    *out = NULL;
    n->d = d;
    for (size_t i = 0; i < N_REFUSED; i++)
        if (arc_cidr_parse(refused_nets[i].cidr, &n->nets[i]) != 0)
            arc_oom(0); /* a typo in the table above */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(n);
        return arc_err_set(err, ARC_EINTERNAL, "notify: libcurl cannot be initialised");
    }
    n->email_on = cfg->notify.smtp_url[0] != '\0';
    if (cfg->notify.webhook_url[0] != '\0' && parse_url(cfg->notify.webhook_url, host, sizeof(host),
                                                        port, sizeof(port), why, sizeof(why)) != 0)
        arc_buf_printf(&bad, "notify.webhookUrl '%s': %s\n", cfg->notify.webhook_url, why);
    /* Without a secret a receiver cannot tell arcd's webhooks from anyone's. */
    if (cfg->notify.webhook_secret[0] == '\0')
        arc_log_msg(ARC_LOG_WARN, "notify.webhookSecret (ARCD_WEBHOOK_SECRET) is not set: "
                                  "webhooks go out without X-Arcd-Signature");
    else if (strlen(cfg->notify.webhook_secret) < 16)
        arc_log_msg(ARC_LOG_WARN, "notify.webhookSecret is shorter than 16 bytes: a receiver's "
                                  "signature check is only as strong as the secret");
    const char *lang = cfg->notify.language;
    if (strlen(lang) < 2 || strlen(lang) > 8 ||
        strspn(lang, "abcdefghijklmnopqrstuvwxyz") != strlen(lang))
        arc_buf_printf(&bad, "notify.language '%s' must be a language code such as ru or en\n",
                       lang);
    if (n->email_on) {
        const char *u = cfg->notify.smtp_url;
        if (strncmp(u, "smtp://", 7) != 0 && strncmp(u, "smtps://", 8) != 0)
            arc_buf_printf(&bad, "notify.smtp.url '%s' must start with smtp:// or smtps://\n", u);
        const char *from = cfg->notify.smtp_from, *lt = strchr(from, '<');
        size_t alen = lt ? strcspn(lt + 1, ">") : strlen(from);
        snprintf(n->from_addr, sizeof(n->from_addr), "%.*s", (int)alen, lt ? lt + 1 : from);
        if (!arc_field_email_ok(n->from_addr) || strpbrk(from, "\r\n") != NULL ||
            (lt != NULL && strchr(lt, '>') == NULL))
            arc_buf_printf(&bad,
                           "notify.smtp.from '%s' must be a mail address (name@example.com or "
                           "\"Shop <name@example.com>\") when notify.smtp.url is set\n",
                           from);
        else
            snprintf(n->from_domain, sizeof(n->from_domain), "%s", strchr(n->from_addr, '@') + 1);
    }
    if (bad.len == 0 && n->email_on) {
        char dir[4200];
        arc_config_beside_template(cfg->notify.templates_dir, d->template_path, "mail", dir,
                                   sizeof(dir));
        arc_err_t terr;
        char *tpl[3] = {NULL, NULL, NULL};
        if (load_templates(dir, lang, tpl, &terr) != 0) {
            arc_buf_printf(&bad, "notify.templatesDir: %s\n", terr.msg);
            rc = ARC_EIO;
        }
        n->tpl_subject = tpl[0];
        n->tpl_txt = tpl[1];
        n->tpl_html = tpl[2];
    }
    /* libcurl's CA bundle, read now rather than by each TLS connection on
     * the loop. Without one, libcurl finds its certificates its own way. */
    CURL *probe = curl_easy_init();
    char *ca_path = NULL;
    arc_err_t ca_err;
    if (probe != NULL && curl_easy_getinfo(probe, CURLINFO_CAINFO, &ca_path) == CURLE_OK &&
        ca_path != NULL &&
        arc_file_read_all(ca_path, 64u << 20, &n->ca, &n->ca_len, &ca_err) != 0) {
        arc_log_msg(ARC_LOG_WARN, "notify: %s (https webhooks and TLS mail may fail)", ca_err.msg);
        n->ca = NULL;
    }
    curl_easy_cleanup(probe);
    if (bad.len > 0) {
        bad.data[--bad.len] = '\0'; /* the last newline */
        arc_err_set(err, rc ? rc : ARC_EINVAL, "%s", bad.data);
        arc_buf_dispose(&bad);
        arc_notify_free(n);
        return rc ? rc : ARC_EINVAL;
    }
    *out = n;
    return 0;
}

void arc_notify_start(arc_notify_t *n)
{
    uv_loop_t *loop = n->d->loop;

    n->multi = curl_multi_init();
    if (n->multi == NULL)
        arc_oom(0);
    curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
    curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
    curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
    uv_timer_init(loop, &n->timer);
    uv_timer_init(loop, &n->curl_timer);
    n->timer.data = n->curl_timer.data = n;
    n->handles = 2;
    n->started = 1;
    /* The settings go first (the pool runs queries in order). */
    write_settings(n);
    kick(n);
}

/* Stopped: every delivery gone and no query left; then libcurl and the
 * handles go, and the callback runs when the last handle has closed. */
static void check_stopped(arc_notify_t *n)
{
    if (!n->stopping || n->list != NULL || n->pending_ops > 0)
        return;
    if (!n->closing) {
        n->closing = 1;
        curl_multi_cleanup(n->multi); /* no transfer is left; it may close idle sockets */
        n->multi = NULL;
        while (n->socks != NULL)
            sock_close(n->socks);
        uv_close((uv_handle_t *)&n->timer, on_handle_closed);
        uv_close((uv_handle_t *)&n->curl_timer, on_handle_closed);
        return;
    }
    if (n->handles > 0 || n->stop_cb == NULL)
        return;
    void (*cb)(arc_daemon_t *) = n->stop_cb;
    n->stop_cb = NULL;
    cb(n->d);
}

void arc_notify_stop(arc_notify_t *n, void (*cb)(arc_daemon_t *d))
{
    if (!n->started) {
        cb(n->d);
        return;
    }
    n->stopping = 1;
    n->stop_cb = cb;
    uv_timer_stop(&n->timer);
    /* What is being sent is aborted and handed back; a file read or a
     * record in flight ends on its own (and a read then hands back). */
    for (delivery_t *dl = n->list, *next; dl != NULL; dl = next) {
        next = dl->next;
        if (dl->state == D_RESOLVING || dl->state == D_SENDING)
            finish(dl, O_RELEASE, 0, NULL);
    }
    check_stopped(n);
}

void arc_notify_free(arc_notify_t *n)
{
    if (n == NULL)
        return;
    ARC_ASSERT(!n->started || n->closing);
    free(n->tpl_subject);
    free(n->tpl_txt);
    free(n->tpl_html);
    free(n->ca);
    free(n);
    curl_global_cleanup();
}

void arc_notify_stats(const arc_notify_t *n, arc_notify_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (n == NULL)
        return;
    out->sent = n->sent;
    out->failed = n->failed;
    out->retried = n->retried;
    out->in_flight = n->in_flight;
}

/* ---- the API's routes ---- */

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* A delivery as the API shows it (nextAttemptAt only while one will come;
 * global: sent to the shop's notify.webhookUrl, whose target only admins
 * see, see show_delivery()). */
/* clang-format off */
#define DELIVERY_JSON(t)                                                              \
    "json_build_object('id', " t ".id::text, 'event', " t ".event,"                  \
    " 'channel', " t ".channel, 'target', " t ".target, 'global', " t ".global,"     \
    " 'occurredAt', " ISO(t ".occurred_at") ", 'attempts', " t ".attempts,"          \
    " 'lastStatus', " t ".last_status, 'lastError', " t ".last_error,"               \
    " 'nextAttemptAt', CASE WHEN " t ".delivered_at IS NULL"                          \
    "   AND " t ".failed_at IS NULL THEN " ISO(t ".next_attempt_at") " END,"         \
    " 'deliveredAt', " ISO(t ".delivered_at") ","                                    \
    " 'failedAt', " ISO(t ".failed_at") ")"
/* clang-format on */

/* The project (or its tombstone) and its deliveries, each with its owner,
 * so that arc_auth_sees() decides what the token sees. */
/* clang-format off */
static const char *list_sql =
    "SELECT x.owner, x.item FROM ("
    "  SELECT 0 AS k, owner, NULL::text AS item, NULL::timestamptz AS at, NULL::uuid AS did"
    "    FROM ar_projects WHERE id = $1::text"
    "  UNION ALL SELECT 0, owner, NULL, NULL, NULL FROM ar_tombstones WHERE id = $1::text"
    "  UNION ALL SELECT 1, d.owner, " DELIVERY_JSON("d") "::text, d.occurred_at, d.id"
    "    FROM ar_deliveries d WHERE d.project_id = $1::text"
    ") x ORDER BY x.k, x.at DESC, x.did DESC LIMIT 1002";
/* clang-format on */

static const char *redeliver_check_sql =
    "SELECT owner, (lease_owner IS NOT NULL AND lease_expires_at >= now()) AS busy"
    " FROM ar_deliveries WHERE id = $2::uuid AND project_id = $1::text";

/* Due now, as if new; pg_notify wakes every daemon's notifier. */
/* clang-format off */
static const char *redeliver_sql =
    "WITH u AS (UPDATE ar_deliveries SET delivered_at = NULL, failed_at = NULL,"
    "   next_attempt_at = now(), lease_owner = NULL, lease_expires_at = NULL"
    "   WHERE id = $1::uuid AND (lease_owner IS NULL OR lease_expires_at < now())"
    "   RETURNING *)"
    " SELECT " DELIVERY_JSON("u") "::text AS delivery,"
    "   pg_notify('arcd_deliveries', u.id::text) IS NULL AS woke FROM u";
/* clang-format on */

/* A delivery for token who: the shop's own webhook URL (which may carry a
 * key) is an admin's to see; an owner sees that one went there. */
static json_t *show_delivery(json_t *js, const arc_token_t *who)
{
    if (js != NULL && (who == NULL || !who->admin) && json_is_true(json_object_get(js, "global")))
        json_object_set_new(js, "target", json_null());
    return js;
}

enum { L_OWNER, L_ITEM, L_N };
static const char *const list_cols[L_N] = {[L_OWNER] = "owner", [L_ITEM] = "item"};
enum { K_OWNER, K_BUSY, K_N };
static const char *const check_cols[K_N] = {[K_OWNER] = "owner", [K_BUSY] = "busy"};

/* A request's query in flight (req->data), cancelled if the client leaves. */
typedef struct api_op_s {
    arc_http_req_t *req;
    arc_pg_query_t *query;
    char id[40], delivery[40];
} api_op_t;

static void api_abort(arc_http_req_t *req)
{
    api_op_t *op = req->data;

    arc_pg_cancel(op->query);
    free(op);
}

static void api_done(api_op_t *op)
{
    op->req->data = NULL;
    op->req->on_abort = NULL;
    free(op);
}

/* Answers a failed query; returns 1 when it did. */
static int api_failed(api_op_t *op, int status, PGresult *res, const char *const *cols, int n,
                      int *col)
{
    arc_err_t err;

    if (status == 0 && arc_pg_columns(res, cols, n, col, &err) != 0) {
        arc_log_msg(ARC_LOG_INFO, "notify: %s", err.msg);
        status = ARC_EINTERNAL;
    }
    if (status == 0)
        return 0;
    arc_http_error(op->req, 503, "database_unavailable", "Retry-After: 2\r\n",
                   "the database is not available right now (%s)", arc_strerror(status));
    api_done(op);
    return 1;
}

static void not_found(api_op_t *op)
{
    arc_http_error(op->req, 404, "not_found", NULL, "no project %s (or no such delivery)", op->id);
    api_done(op);
}

/* The ids of a route, or NULL once answered 404. */
static api_op_t *api_start(arc_http_req_t *req, int with_delivery)
{
    const char *id = arc_http_param(req, "id");
    const char *did = with_delivery ? arc_http_param(req, "deliveryId") : "";

    if (id == NULL || !arc_daemon_valid_id(id)) {
        arc_http_error(req, 404, "not_found", NULL, "'%s' is not a project id", id ? id : "");
        return NULL;
    }
    if (with_delivery && arc_id_kind(did) != ARC_ID_UUID) {
        arc_http_error(req, 404, "not_found", NULL, "'%s' is not a delivery id", did ? did : "");
        return NULL;
    }
    api_op_t *op = arc_xcalloc(1, sizeof(*op));
    op->req = req;
    snprintf(op->id, sizeof(op->id), "%s", id);
    snprintf(op->delivery, sizeof(op->delivery), "%s", did);
    req->data = op;
    req->on_abort = api_abort;
    return op;
}

static void on_list(int status, PGresult *res, void *arg)
{
    api_op_t *op = arg;
    const arc_token_t *who = op->req->ctx;
    int col[L_N], found = 0;
    json_error_t jerr;

    op->query = NULL;
    if (api_failed(op, status, res, list_cols, L_N, col))
        return;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        if (!arc_auth_sees(who, arc_pg_value(res, i, col[L_OWNER])))
            continue;
        found = 1;
        const char *item = arc_pg_value(res, i, col[L_ITEM]);
        json_t *js = show_delivery(item ? json_loads(item, 0, &jerr) : NULL, who);
        if (js != NULL && json_array_size(items) < 1000)
            json_array_append_new(items, js);
        else
            json_decref(js);
    }
    if (!found) {
        json_decref(items);
        not_found(op);
        return;
    }
    arc_http_respond_json(op->req, 200, json_pack("{s:s, s:o}", "arId", op->id, "items", items));
    api_done(op);
}

void arc_notify_on_list(arc_http_req_t *req)
{
    api_op_t *op = api_start(req, 0);
    const char *params[1];

    if (op == NULL)
        return;
    params[0] = op->id;
    op->query = arc_pg_query(ARC_DAEMON(req)->pool, list_sql, 1, params, on_list, op);
}

static void on_redelivered(int status, PGresult *res, void *arg)
{
    api_op_t *op = arg;
    arc_daemon_t *d = ARC_DAEMON(op->req);
    json_error_t jerr;
    static const char *const cols[1] = {"delivery"};
    int col[1];

    op->query = NULL;
    if (api_failed(op, status, res, cols, 1, col))
        return;
    if (PQntuples(res) == 0) {
        arc_http_error(op->req, 409, "in_flight", "Retry-After: 5\r\n",
                       "delivery %s is being sent right now", op->delivery);
        api_done(op);
        return;
    }
    json_t *js = show_delivery(json_loads(PQgetvalue(res, 0, col[0]), 0, &jerr), op->req->ctx);
    arc_http_respond_json(op->req, 202, js ? js : json_object());
    api_done(op);
    kick(d->notify);
}

static void on_redeliver_check(int status, PGresult *res, void *arg)
{
    api_op_t *op = arg;
    int col[K_N];

    op->query = NULL;
    if (api_failed(op, status, res, check_cols, K_N, col))
        return;
    if (PQntuples(res) == 0 || !arc_auth_sees(op->req->ctx, arc_pg_value(res, 0, col[K_OWNER]))) {
        not_found(op);
        return;
    }
    if (PQgetvalue(res, 0, col[K_BUSY])[0] == 't') {
        arc_http_error(op->req, 409, "in_flight", "Retry-After: 5\r\n",
                       "delivery %s is being sent right now", op->delivery);
        api_done(op);
        return;
    }
    const char *params[1] = {op->delivery};
    op->query =
        arc_pg_query(ARC_DAEMON(op->req)->pool, redeliver_sql, 1, params, on_redelivered, op);
}

void arc_notify_on_redeliver(arc_http_req_t *req)
{
    api_op_t *op = api_start(req, 1);

    if (op == NULL)
        return;
    const char *params[2] = {op->id, op->delivery};
    op->query =
        arc_pg_query(ARC_DAEMON(req)->pool, redeliver_check_sql, 2, params, on_redeliver_check, op);
}
