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
