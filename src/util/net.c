/* Addresses and CIDR ranges (see include/arcd/net.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/net.h"

int arc_ip_parse(const char *s, arc_ip_t *out)
{
    char buf[64];
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, " \t");
    if (n == 0 || n >= sizeof(buf) || s[n + strspn(s + n, " \t")] != '\0')
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->b + 12) == 1) {
        out->b[10] = out->b[11] = 0xff;
        return 0;
    }
    return inet_pton(AF_INET6, buf, out->b) == 1 ? 0 : -1;
}

static int is_v4(const arc_ip_t *ip)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(ip->b, prefix, 12) == 0;
}

/* A port as a URL's authority gives it: 1 to 5 digits, at most 65535. */
static int is_port(const char *s)
{
    size_t n = strspn(s, "0123456789");

    return n >= 1 && n <= 5 && s[n] == '\0' && strtol(s, NULL, 10) <= 65535;
}

int arc_ip_parse_forwarded(const char *s, arc_ip_t *out)
{
    char buf[64];
    size_t n;

    s += strspn(s, " \t");
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (buf[0] == '[') {
        /* Brackets hold an IPv6 address only (RFC 3986's IP-literal). */
        char *close = strchr(buf, ']');
        if (close == NULL || (close[1] != '\0' && (close[1] != ':' || !is_port(close + 2))))
            return -1;
        *close = '\0';
        if (strchr(buf + 1, ':') == NULL)
            return -1;
        return arc_ip_parse(buf + 1, out);
    }
    /* One colon: IPv4 with a port (what is left has no colon, so only an
     * IPv4 address parses). More: a bare IPv6 address, whose last group
     * cannot be told from a port, so it is taken whole. */
    char *colon = strchr(buf, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        if (!is_port(colon + 1))
            return -1;
        *colon = '\0';
    }
    return arc_ip_parse(buf, out);
}

void arc_ip_limit_key(const arc_ip_t *ip, arc_ip_t *key)
{
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

    *key = *ip;
    if (is_v4(ip))
        return;
    if (memcmp(ip->b, nat64, sizeof(nat64)) == 0) {
        /* RFC 6052's well-known prefix: a translator's IPv4 clients, each
         * its own, rather than one /64 shared by all of them. */
        memset(key->b, 0, 10);
        key->b[10] = key->b[11] = 0xff;
        return;
    }
    memset(key->b + 8, 0, 8);
}

void arc_ip_format(const arc_ip_t *ip, char *out, size_t size)
{
    if (is_v4(ip))
        inet_ntop(AF_INET, ip->b + 12, out, (socklen_t)size);
    else
        inet_ntop(AF_INET6, ip->b, out, (socklen_t)size);
}

int arc_cidr_parse(const char *s, arc_cidr_t *out)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);

    if (n >= sizeof(addr))
        return -1;
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (arc_ip_parse(addr, &out->net) != 0)
        return -1;
    int v4 = is_v4(&out->net) && strchr(addr, ':') == NULL;
    int max = v4 ? 32 : 128;
    long bits = max;
    if (slash != NULL) {
        char *end = NULL;
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || bits < 0 || bits > max)
            return -1;
    }
    out->bits = (int)bits + (v4 ? 96 : 0);
    /* No host bits past the prefix: "10.0.0.1/8" is a mistake worth saying. */
    for (int i = out->bits; i < 128; i++)
        if (out->net.b[i / 8] & (0x80 >> (i % 8)))
            return -1;
    return 0;
}

int arc_cidr_contains(const arc_cidr_t *c, const arc_ip_t *ip)
{
    int full = c->bits / 8, rest = c->bits % 8;

    if (memcmp(c->net.b, ip->b, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->net.b[full] & mask) == (ip->b[full] & mask);
}
