/*
 * addrmap.h: per-client-address counters, kept exactly per client (no
 * shared hash slots: two clients never share or reset each other's entry).
 * Used for the connections of each address (the HTTP server), the event
 * streams of each address and the upload rate limit (the daemon).
 *
 * A client is an address's limit key (arc_ip_limit_key in arcd/net.h): an
 * IPv4 address, or an IPv6 address's /64. The map makes the key itself, so
 * every caller passes the address as it came and counts alike; a client
 * rotating through the addresses of its /64 finds one entry.
 *
 * The map holds at most `max` entries. An entry whose count is 0 is idle
 * and may be evicted, least recently used first, to make room; an entry in
 * use (count > 0) never is. When every entry is in use, a new address gets
 * NULL and the caller refuses it. Single-threaded (the daemon's loop).
 */
#ifndef ARCD_ADDRMAP_H
#define ARCD_ADDRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "arcd/net.h"

typedef struct arc_addrmap_s arc_addrmap_t;

typedef struct arc_addr_entry_s {
    arc_ip_t ip;      /* the key: the address, or its /64 (arc_ip_limit_key) */
    int64_t count;    /* the user's: open connections, streams ... (> 0: in use) */
    double tokens;    /* the user's: a token bucket's level */
    uint64_t last_ms; /* the user's: when the bucket was last filled */
    /* The map's own. */
    struct arc_addr_entry_s *next_in_bucket, *lru_prev, *lru_next;
} arc_addr_entry_t;

/* A map of at most max entries (at least 1). Free with arc_addrmap_free(). */
arc_addrmap_t *arc_addrmap_create(size_t max);

/* The entry of ip's client, made (zeroed, *created = 1) if there is none;
 * NULL when the map is full of entries in use. created may be NULL. The
 * entry stays valid until the next call that may create or forget one. */
arc_addr_entry_t *arc_addrmap_get(arc_addrmap_t *m, const arc_ip_t *ip, int *created);

/* The entry of ip's client, or NULL; never makes one. */
arc_addr_entry_t *arc_addrmap_find(arc_addrmap_t *m, const arc_ip_t *ip);

/* Forgets e now (when its user knows it holds nothing worth keeping). */
void arc_addrmap_forget(arc_addrmap_t *m, arc_addr_entry_t *e);

/* Entries held. */
size_t arc_addrmap_size(const arc_addrmap_t *m);

/* Accepts NULL. */
void arc_addrmap_free(arc_addrmap_t *m);

#endif
