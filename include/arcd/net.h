/*
 * net.h: IP addresses and CIDR ranges, as settings give them
 * (server.trustedProxies) and as requests carry them (the TCP peer,
 * X-Forwarded-For). Pure computation with inet_pton; any process.
 */
#ifndef ARCD_NET_H
#define ARCD_NET_H

#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 address; IPv4 is kept as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d), so that one comparison serves both. */
typedef struct arc_ip_s {
    uint8_t b[16];
} arc_ip_t;

typedef struct arc_cidr_s {
    arc_ip_t net;
    int bits; /* prefix length over the 128 bits */
} arc_cidr_t;

/* Parses "192.0.2.7", "2001:db8::1" or "::ffff:192.0.2.7" (surrounding
 * spaces allowed). Returns 0 or -1. */
int arc_ip_parse(const char *s, arc_ip_t *out);

/* The canonical text of ip ("192.0.2.7", "2001:db8::1") into out (at least
 * 46 bytes). */
void arc_ip_format(const arc_ip_t *ip, char *out, size_t size);

/* Parses "10.0.0.0/8", "2001:db8::/32", or a lone address (a /32 or /128).
 * Returns 0 or -1 (a bad address, a prefix out of range, bits set past the
 * prefix). */
int arc_cidr_parse(const char *s, arc_cidr_t *out);

/* 1 when ip is inside c. */
int arc_cidr_contains(const arc_cidr_t *c, const arc_ip_t *ip);

#endif
