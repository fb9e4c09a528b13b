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
