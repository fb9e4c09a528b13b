/*
 * net.h: IP addresses and CIDR ranges, as settings give them
 * (server.trustedProxies) and as requests carry them (the TCP peer,
 * X-Forwarded-For), and the key that per-client limits count an address
 * under. Pure computation with inet_pton; any process.
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

/* Parses an entry of X-Forwarded-For as proxies write them: an address as
 * arc_ip_parse() takes it, an IPv4 address with a port ("192.0.2.7:5678"),
 * or an IPv6 address in brackets, with or without a port ("[2001:db8::1]",
 * "[2001:db8::1]:443"). The port is checked (digits, at most 65535) and
 * dropped. Returns 0 or -1 (anything else, such as "unknown" or an
 * obfuscated identifier). */
int arc_ip_parse_forwarded(const char *s, arc_ip_t *out);

/* The key under which per-client limits count ip (connections, event
 * streams and uploads per address; include/arcd/addrmap.h): an IPv4 address
 * (plain or IPv4-mapped) is itself, and so is the IPv4 address inside the
 * NAT64 prefix 64:ff9b::/96; any other IPv6 address is its /64, the host
 * bits zeroed, for one subscriber is commonly given a whole /64 and may
 * take a new address from it for every connection. */
void arc_ip_limit_key(const arc_ip_t *ip, arc_ip_t *key);

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
