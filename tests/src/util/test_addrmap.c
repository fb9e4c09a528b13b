/* Tests for src/util/addrmap.c: exact per-address entries, bounded. */
#include "../../test.h"
#include "arcd/addrmap.h"

static arc_ip_t ip(const char *s)
{
    arc_ip_t a;
    CHECK(arc_ip_parse(s, &a) == 0);
    return a;
}

TEST(test_every_address_has_its_own_entry)
{
    /* A map of 64 buckets holding 1000 addresses: many share a bucket, none
     * shares an entry (the upload limit once keyed a fixed table by a hash,
     * and two addresses in one slot reset each other's bucket). */
    arc_addrmap_t *m = arc_addrmap_create(2000);
    char s[64];
    int created;

    for (int i = 0; i < 1000; i++) {
        snprintf(s, sizeof(s), "10.0.%d.%d", i / 256, i % 256);
        arc_ip_t a = ip(s);
        arc_addr_entry_t *e = arc_addrmap_get(m, &a, &created);
        CHECK(e != NULL && created);
        e->count = i + 1;
    }
    CHECK_EQ_INT(arc_addrmap_size(m), 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(s, sizeof(s), "10.0.%d.%d", i / 256, i % 256);
        arc_ip_t a = ip(s);
        arc_addr_entry_t *e = arc_addrmap_get(m, &a, &created);
        CHECK(e != NULL && !created && e->count == i + 1);
    }
    arc_addrmap_free(m);
}

TEST(test_ipv4_and_ipv6_are_distinct_and_mapped_forms_equal)
{
    arc_addrmap_t *m = arc_addrmap_create(10);
    arc_ip_t v4 = ip("192.0.2.7"), mapped = ip("::ffff:192.0.2.7"), v6 = ip("2001:db8::7");
    int created;

    arc_addrmap_get(m, &v4, &created)->count = 1;
    CHECK(arc_addrmap_get(m, &mapped, &created)->count == 1 && !created);
    CHECK(arc_addrmap_get(m, &v6, &created)->count == 0 && created);
    arc_addrmap_free(m);
}

TEST(test_idle_entries_make_room_least_recently_used_first)
{
    arc_addrmap_t *m = arc_addrmap_create(3);
    arc_ip_t a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("10.0.0.3"), d = ip("10.0.0.4");
    int created;

    arc_addrmap_get(m, &a, NULL);
    arc_addrmap_get(m, &b, NULL)->count = 1; /* in use */
    arc_addrmap_get(m, &c, NULL);
    arc_addrmap_get(m, &a, NULL); /* a is used again: c is now the oldest idle */
    CHECK(arc_addrmap_get(m, &d, &created) != NULL && created);
    CHECK(arc_addrmap_find(m, &c) == NULL);
    CHECK(arc_addrmap_find(m, &a) != NULL && arc_addrmap_find(m, &b) != NULL);
    CHECK_EQ_INT(arc_addrmap_size(m), 3);
    arc_addrmap_free(m);
}

TEST(test_a_map_full_of_entries_in_use_refuses)
{
    arc_addrmap_t *m = arc_addrmap_create(2);
    arc_ip_t a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("10.0.0.3");

    arc_addrmap_get(m, &a, NULL)->count = 1;
    arc_addrmap_get(m, &b, NULL)->count = 2;
    CHECK(arc_addrmap_get(m, &c, NULL) == NULL);
    arc_addr_entry_t *e = arc_addrmap_find(m, &a);
    e->count = 0;
    arc_addrmap_forget(m, e);
    CHECK(arc_addrmap_get(m, &c, NULL) != NULL);
    CHECK_EQ_INT(arc_addrmap_size(m), 2);
    arc_addrmap_free(m);
    arc_addrmap_free(NULL);
}

TEST(test_regression_ipv6_clients_count_by_their_64)
{
    /* The connection cap, the event-stream cap and the upload rate limit
     * (all kept in an addrmap) were keyed by the whole IPv6 address: a
     * client taking a new address of its /64 for each connection escaped
     * all three. IPv4 addresses stay apart, however close. */
    arc_addrmap_t *m = arc_addrmap_create(10);
    arc_ip_t a = ip("2001:db8:1:2::1"), b = ip("2001:db8:1:2:ffff:eeee:dddd:cccc");
    arc_ip_t other = ip("2001:db8:1:3::1"), v4a = ip("10.0.0.1"), v4b = ip("10.0.0.2");
    int created;

    arc_addrmap_get(m, &a, &created)->count = 3;
    arc_addr_entry_t *e = arc_addrmap_get(m, &b, &created);
    CHECK_MSG(e != NULL && !created && e->count == 3, "another address of the /64 is a new client");
    CHECK(arc_addrmap_find(m, &b) == e);
    CHECK(arc_addrmap_get(m, &other, &created)->count == 0 && created);
    arc_addrmap_get(m, &v4a, NULL)->count = 1;
    CHECK(arc_addrmap_get(m, &v4b, &created)->count == 0 && created);
    CHECK_EQ_INT(arc_addrmap_size(m), 4);
    arc_addrmap_free(m);
}
