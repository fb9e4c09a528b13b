/*
 * notify.h: the notifier. It sends what the outbox holds (ar_deliveries in
 * sql/002_back_office.sql, rows written by triggers in the same transaction
 * as the change they tell of): webhooks (a signed JSON POST to a project's
 * notifyUrl and to notify.webhookUrl) and emails (the customer's "your
 * living photo is ready" with the QR code, through notify.smtp.url).
 *
 * Deliveries are claimed like jobs (FOR UPDATE SKIP LOCKED and a lease in
 * this daemon's name), up to notify.concurrency at once, whenever a NOTIFY
 * arcd_deliveries, the next due time, a poll (queue.pollSeconds) or a
 * finished delivery says there may be work; several daemons share the table
 * and each delivery is sent by one of them. A delivery whose daemon dies is
 * taken over when its lease lapses. Sending goes through libcurl's multi
 * interface driven by the loop (uv_poll_t per socket, a uv_timer_t for
 * libcurl's timeouts): nothing here blocks. A webhook's host is resolved on
 * the threadpool (uv_getaddrinfo), refused when it resolves to a loopback,
 * private, link-local, unspecified, multicast or reserved address (unless
 * notify.allowPrivateTargets), and the connection is pinned to the checked
 * addresses (CURLOPT_RESOLVE), so that DNS cannot change between the check
 * and the connection. A failed attempt is retried with backoff (10 s
 * doubling, at most an hour apart) until notify.retryHours after the event;
 * a target that can never work (a bad URL, a refused address, a project
 * whose QR code is gone) fails at once, with the reason in last_error.
 *
 * At start-up the daemon writes arcd_settings 'webhook_url' and 'email'
 * from its config, which the triggers read to decide what to queue. Loop
 * only, but for arc_notify_create() (start-up, before the loop runs).
 *
 * Lifetime: arc_notify_create() before the loop, arc_notify_start() once
 * the pool exists, arc_notify_stop() at shutdown (in-flight deliveries are
 * aborted and their leases released; its callback runs once every handle
 * is closed), arc_notify_free() after the loop has ended.
 */
#ifndef ARCD_DAEMON_NOTIFY_H
#define ARCD_DAEMON_NOTIFY_H

#include <stdint.h>

#include <curl/curl.h>

#include "core.h"

/* The SMTP server's options on a libcurl handle: URL, protocols, STARTTLS
 * (required with a login), the login (notify.smtp.*). Also `arcd check`'s. */
void arc_notify_smtp_options(CURL *e, const arc_config_t *cfg);

/* Reads and checks the "ready" email's templates for language in dir
 * (ready.<language>.subject, .txt, .html): ARC_EIO for a missing or
 * unreadable file, ARC_EINVAL for an unknown {{field}}, with the file in
 * err. Blocking. Also `arcd check`'s. */
int arc_notify_check_templates(const char *dir, const char *language, arc_err_t *err);

/*
 * Checks the notify settings (webhookUrl an http(s) URL or empty, smtp.url
 * smtp:// or smtps:// or empty, smtp.from an address when email is on) and,
 * when email is on, reads and checks the mail templates of notify.language
 * (ready.<language>.subject, .txt, .html under notify.templatesDir, or the
 * mail/ folder beside the viewer template): a missing file or an unknown
 * field is an error. Blocking (start-up only); needs d->cfg and
 * d->template_path. Returns 0 and *out (free with arc_notify_free()), or
 * ARC_EINVAL / ARC_EIO with every problem in err.
 */
int arc_notify_create(arc_daemon_t *d, arc_notify_t **out, arc_err_t *err);

/* On the loop, with d->loop and d->pool set: writes the settings, starts
 * the timers and looks for due deliveries. */
void arc_notify_start(arc_notify_t *n);

/* Looks for due deliveries now (NOTIFY arcd_deliveries, LISTEN back up).
 * Accepts NULL. */
void arc_notify_kick(arc_notify_t *n);

/* Stops claiming, aborts what is in flight and releases its leases (the
 * deliveries stay due, for this daemon's next start or another daemon),
 * waits for the queries it sent, closes every handle, then calls cb. */
void arc_notify_stop(arc_notify_t *n, void (*cb)(arc_daemon_t *d));

/* Frees a notifier that was stopped, or never started. Accepts NULL. */
void arc_notify_free(arc_notify_t *n);

/* Counters for /metrics (all zero for NULL). */
typedef struct arc_notify_stats_s {
    uint64_t sent;    /* deliveries delivered (a 2xx answer, a mail accepted) */
    uint64_t failed;  /* deliveries given up: refused, or retried too long */
    uint64_t retried; /* failed attempts that will be tried again */
    int in_flight;    /* deliveries this daemon holds now */
} arc_notify_stats_t;

void arc_notify_stats(const arc_notify_t *n, arc_notify_stats_t *out);

/*
 * GET /api/ar/projects/:id/notifications: the project's deliveries, newest
 * first ({"arId", "items": [{id, event, channel, target, occurredAt,
 * attempts, lastStatus, lastError, nextAttemptAt, deliveredAt,
 * failedAt}]}). A project route: req->ctx is the request's arc_token_t; a
 * project the token may not see (arc_auth_sees) is a 404, as is one that
 * never existed. A removed project's deliveries stay listed.
 */
void arc_notify_on_list(arc_http_req_t *req);

/*
 * POST /api/ar/projects/:id/notifications/:deliveryId/redeliver: sends the
 * delivery again now (delivered_at and failed_at cleared, next_attempt_at
 * now, attempts kept; one attempt, retried only within notify.retryHours of
 * the event) and answers 202 with it. 404 for an id the token may not see;
 * 409 while a daemon is sending it.
 */
void arc_notify_on_redeliver(arc_http_req_t *req);

#endif
