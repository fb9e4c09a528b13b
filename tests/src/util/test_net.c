/* Tests for src/util/net.c: addresses and CIDR ranges. */
#include "../../test.h"
#include "arcd/net.h"

static int in(const char *cidr, const char *addr)
{
    arc_cidr_t c;
    arc_ip_t a;

    if (arc_cidr_parse(cidr, &c) != 0 || arc_ip_parse(addr, &a) != 0)
        return -1;
    return arc_cidr_contains(&c, &a);
}

TEST(test_addresses)
{
    arc_ip_t a;
    char s[64];

    CHECK(arc_ip_parse("192.0.2.7", &a) == 0);
    arc_ip_format(&a, s, sizeof(s));
    CHECK_STR(s, "192.0.2.7");
    CHECK(arc_ip_parse(" 2001:db8::1 ", &a) == 0);
    arc_ip_format(&a, s, sizeof(s));
    CHECK_STR(s, "2001:db8::1");
    CHECK(arc_ip_parse("::ffff:10.1.2.3", &a) == 0);
    arc_ip_format(&a, s, sizeof(s));
    CHECK_STR(s, "10.1.2.3");
    static const char *const bad[] = {"",          " ",           "1.2.3",     "1.2.3.4.5",
                                      "256.1.1.1", "example.com", "1.2.3.4 5", "::g",
                                      "1.2.3.4/8", "01.2.3.4x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_MSG(arc_ip_parse(bad[i], &a) != 0, "'%s' parsed", bad[i]);
}

TEST(test_cidr_ranges)
{
    CHECK(in("10.0.0.0/8", "10.200.3.4") == 1);
    CHECK(in("10.0.0.0/8", "11.0.0.1") == 0);
    CHECK(in("192.168.1.0/24", "192.168.1.255") == 1);
    CHECK(in("192.168.1.0/24", "192.168.2.0") == 0);
    CHECK(in("172.16.0.0/12", "172.31.255.255") == 1);
    CHECK(in("172.16.0.0/12", "172.32.0.0") == 0);
    CHECK(in("127.0.0.1", "127.0.0.1") == 1);
    CHECK(in("127.0.0.1", "127.0.0.2") == 0);
    CHECK(in("0.0.0.0/0", "8.8.8.8") == 1);
    CHECK(in("0.0.0.0/0", "2001:db8::1") == 0); /* an IPv4 range holds no IPv6 address */
    CHECK(in("::/0", "2001:db8::1") == 1);
    CHECK(in("2001:db8::/32", "2001:db8:ffff::1") == 1);
    CHECK(in("2001:db8::/32", "2001:db9::1") == 0);
    CHECK(in("::1", "::1") == 1);
    CHECK(in("10.0.0.0/8", "::ffff:10.9.9.9") == 1); /* mapped IPv4 is IPv4 */
}

TEST(test_bad_cidrs)
{
    static const char *const bad[] = {
        "10.0.0.0/33",    "10.0.0.1/8",     "10.0.0.0/", "10.0.0.0/x",    "10.0.0.0/-1",
        "2001:db8::/129", "2001:db8::1/32", "/8",        "example.com/8", "10.0.0.0/8/8"};
    arc_cidr_t c;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_MSG(arc_cidr_parse(bad[i], &c) != 0, "'%s' parsed", bad[i]);
}

TEST(test_regression_forwarded_entries_with_ports_and_brackets)
{
    /* X-Forwarded-For entries with a port or IPv6 in brackets did not
     * parse, so the walk stopped and every client behind such a proxy was
     * taken for the proxy. */
    static const struct {
        const char *entry, *want;
    } good[] = {
        {"192.0.2.7", "192.0.2.7"},
        {" 192.0.2.7:5678 ", "192.0.2.7"},
        {"192.0.2.7:0", "192.0.2.7"},
        {"192.0.2.7:65535", "192.0.2.7"},
        {"2001:db8::1", "2001:db8::1"},
        {"[2001:db8::1]", "2001:db8::1"},
        {"[2001:db8::1]:443", "2001:db8::1"},
        {" [::ffff:192.0.2.7]:80", "192.0.2.7"},
        {"2001:db8::1:443", "2001:db8::1:443"}, /* bare IPv6 is taken whole */
    };
    static const char *const bad[] = {"",
                                      "unknown",
                                      "_hidden",
                                      "192.0.2.7:",
                                      "192.0.2.7:65536",
                                      "192.0.2.7:x",
                                      "192.0.2.7:123456",
                                      "[192.0.2.7]",
                                      "[2001:db8::1",
                                      "[2001:db8::1]:",
                                      "[2001:db8::1]x",
                                      "[2001:db8::1]:99999",
                                      "[]",
                                      ":80",
                                      "example.com:80"};
    arc_ip_t a;
    char s[64];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK_MSG(arc_ip_parse_forwarded(good[i].entry, &a) == 0, "'%s' did not parse",
                  good[i].entry);
        arc_ip_format(&a, s, sizeof(s));
        CHECK_MSG(strcmp(s, good[i].want) == 0, "'%s' -> '%s', not '%s'", good[i].entry, s,
                  good[i].want);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_MSG(arc_ip_parse_forwarded(bad[i], &a) != 0, "'%s' parsed", bad[i]);
}

static void key_of(const char *addr, char *out, size_t size)
{
    arc_ip_t a, k;

    CHECK(arc_ip_parse(addr, &a) == 0);
    arc_ip_limit_key(&a, &k);
    arc_ip_format(&k, out, size);
}

TEST(test_limit_keys)
{
    static const struct {
        const char *addr, *key;
    } cases[] = {
        {"192.0.2.7", "192.0.2.7"},
        {"::ffff:192.0.2.7", "192.0.2.7"},
        {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"},
        {"2001:db8:1:2::1", "2001:db8:1:2::"},
        {"2001:db8:1:3::1", "2001:db8:1:3::"},
        {"::1", "::"},
        {"64:ff9b::c000:207", "192.0.2.7"}, /* NAT64: the IPv4 client inside */
    };
    char s[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        key_of(cases[i].addr, s, sizeof(s));
        CHECK_MSG(strcmp(s, cases[i].key) == 0, "%s -> %s, not %s", cases[i].addr, s, cases[i].key);
    }
}
