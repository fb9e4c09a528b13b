/* Tests for the back office's pure parts: the project fields' checks
 * (src/daemon/fields.c) and the project list's times, cursors and search
 * patterns (src/daemon/projects.c). */
#include <stdint.h>

#include "../../test.h"
#include "fields.h"
#include "projects.h"

static int check_field(const char *name, const char *value)
{
    char why[200];
    const arc_field_t *f = arc_field_find(name);

    CHECK_MSG(f != NULL, "no field %s", name);
    return f != NULL ? arc_field_check(f, value, why, sizeof(why)) : -2;
}

TEST(test_fields_accept_and_refuse)
{
    CHECK(check_field("title", "Свадьба Анны — 2026") == 0);
    CHECK(check_field("title", "") == 0); /* "" clears */
    CHECK(check_field("title", "tab\tis fine") == 0);
    CHECK(check_field("title", "bell\a") == -1);
    CHECK(check_field("title", "line\nbreak") == -1);
    CHECK(check_field("title", "\xc3\x28") == -1);     /* broken UTF-8 */
    CHECK(check_field("title", "\xc0\xaf") == -1);     /* an overlong '/' */
    CHECK(check_field("title", "\xed\xa0\x80") == -1); /* a surrogate */
    CHECK(check_field("title", "\xc2\x85") == -1);     /* a C1 control */
    CHECK(check_field("orderRef", "ORD-1234567890") == 0);
    char s[300];
    memset(s, 'x', 64);
    s[64] = '\0';
    CHECK(check_field("orderRef", s) == 0);
    s[64] = 'x';
    s[65] = '\0';
    CHECK(check_field("orderRef", s) == -1);
    /* Limits count characters, not bytes: 64 Cyrillic letters are 128 bytes. */
    for (int i = 0; i < 64; i++)
        memcpy(s + 2 * i, "\xd0\x96", 2);
    s[128] = '\0';
    CHECK(check_field("orderRef", s) == 0);
    CHECK(check_field("customerEmail", "anna@example.com") == 0);
    CHECK(check_field("customerEmail", "anna@localhost") == -1);
    CHECK(check_field("customerEmail", "a b@example.com") == -1);
    CHECK(check_field("customerEmail", "a@b@example.com") == -1);
    CHECK(check_field("customerEmail", "Anna <a@example.com>") == -1);
    CHECK(check_field("customerEmail", "a@example.com.") == -1);
    CHECK(check_field("notifyEmail", "@example.com") == -1);
}

/* notifyEmail was checked more loosely than the notifier checks the address
 * it sends to: an address the API took (Cyrillic, brackets, a colon) was
 * given up on, unsent, by the notifier. One check serves both now. */
TEST(test_regression_email_fields_take_only_what_is_sent_to)
{
    static const char *const refused[] = {"иван@пример.рф",  "ivan@пример.рф", "a[1]@example.com",
                                          "a:b@example.com", "a@exa_mple.com", "a@.example.com"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        CHECK_MSG(check_field("notifyEmail", refused[i]) == -1, "notifyEmail %s was taken",
                  refused[i]);
        CHECK_MSG(!arc_field_email_ok(refused[i]), "the notifier takes %s", refused[i]);
    }
    CHECK(check_field("notifyEmail", "ivan@xn--e1afmkfd.xn--p1ai") == 0);
    CHECK(check_field("notifyEmail", "o'brien+crm@example.co.uk") == 0);
    CHECK(arc_field_email_ok("o'brien+crm@example.co.uk"));
    CHECK(check_field("notifyUrl", "https://hooks.example.com/arcd?x=1") == 0);
    CHECK(check_field("notifyUrl", "http://10.0.0.1:8080/") == 0); /* refused later, if private */
    CHECK(check_field("notifyUrl", "ftp://example.com/") == -1);
    CHECK(check_field("notifyUrl", "https://") == -1);
    CHECK(check_field("notifyUrl", "https://a b/") == -1);
    CHECK(check_field("notifyUrl", "https://@evil/") == -1);
    CHECK(check_field("metadata", "{\"a\": [1, 2]}") == 0);
    CHECK(check_field("metadata", "[1]") == -1);
    CHECK(check_field("metadata", "{\"a\": 1, \"a\": 2}") == -1);
    CHECK(check_field("metadata", "{") == -1);
    CHECK(arc_field_find("colour") == NULL);
}

static int64_t t(const char *s)
{
    int64_t us = -1;
    return arc_projects_time_parse(s, &us) == 0 ? us : -1;
}

/* The print options: one check for the upload and the queue. (The queue
 * took a printPhotoMm of 1-19 mm from a config the upload would refuse.) */
static int print_ok(const char *name, json_t *v)
{
    char why[200] = "";
    int rc = arc_print_option_check(name, v, why, sizeof(why));

    CHECK_MSG(rc == 0 || why[0] != '\0', "%s refused without a reason", name);
    json_decref(v);
    return rc;
}

TEST(test_print_options_accept_and_refuse)
{
    CHECK(arc_print_option_known("printSize") && arc_print_option_known("printPhotoMm") &&
          arc_print_option_known("printLanguage") && !arc_print_option_known("title"));
    CHECK(print_ok("printSize", json_string("A5")) == 0);
    CHECK(print_ok("printSize", json_string("10x15")) == 0);
    CHECK(print_ok("printSize", json_string("B5")) != 0);
    CHECK(print_ok("printSize", json_integer(4)) != 0);
    CHECK(print_ok("printPhotoMm", json_integer(0)) == 0);
    CHECK(print_ok("printPhotoMm", json_real(20.0)) == 0);
    CHECK(print_ok("printPhotoMm", json_integer(1000)) == 0);
    CHECK(print_ok("printPhotoMm", json_integer(10)) != 0);
    CHECK(print_ok("printPhotoMm", json_integer(1001)) != 0);
    CHECK(print_ok("printPhotoMm", json_integer(-5)) != 0);
    CHECK(print_ok("printPhotoMm", json_string("100")) != 0);
    CHECK(print_ok("printLanguage", json_string("en")) == 0);
    CHECK(print_ok("printLanguage", json_string("de")) != 0);
    CHECK(print_ok("title", json_string("x")) != 0);
}

TEST(test_times)
{
    CHECK_EQ_INT(t("1970-01-01T00:00:00Z"), 0);
    CHECK_EQ_INT(t("2026-11-30T12:00:00Z"), 1796040000LL * 1000000);
    CHECK_EQ_INT(t("2026-11-30T15:00:00+03:00"), 1796040000LL * 1000000);
    CHECK_EQ_INT(t("2026-11-30T12:00:00.25Z"), 1796040000LL * 1000000 + 250000);
    CHECK_EQ_INT(t("2026-11-30T12:00:00.1234567Z"), 1796040000LL * 1000000 + 123456);
    CHECK_EQ_INT(t("2026-11-30T12:00Z"), 1796040000LL * 1000000);
    CHECK_EQ_INT(t("2026-11-30"), 1795996800LL * 1000000);
    CHECK_EQ_INT(t("2024-02-29"), 1709164800LL * 1000000);
    CHECK_EQ_INT(t("2026-02-29"), -1);
    CHECK_EQ_INT(t("2026-02-30"), -1);
    CHECK_EQ_INT(t("2026-13-01"), -1);
    CHECK_EQ_INT(t("2026-11-30T12:00:00"), -1); /* a time needs its zone */
    CHECK_EQ_INT(t("2026-11-30T24:00:00Z"), -1);
    CHECK_EQ_INT(t("2026-11-30T12:00:00.Z"), -1);
    CHECK_EQ_INT(t("2026-11-30T12:00:00Zjunk"), -1);
    CHECK_EQ_INT(t("1969-12-31"), -1);
    CHECK_EQ_INT(t("yesterday"), -1);
    CHECK_EQ_INT(t(""), -1);
    CHECK_EQ_INT(t("2026-1-30"), -1);
}

TEST(test_cursors_round_trip_and_refuse_forgeries)
{
    const char *id = "5f0c8f4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
    char cur[128], back[40];
    int64_t us = 0;

    arc_projects_cursor_encode(1796040000123456LL, id, cur, sizeof(cur));
    CHECK(strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          strlen(cur));
    CHECK(arc_projects_cursor_decode(cur, &us, back) == 0);
    CHECK_EQ_INT(us, 1796040000123456LL);
    CHECK(strcmp(back, id) == 0);
    CHECK(arc_projects_cursor_decode("", &us, back) == -1);
    CHECK(arc_projects_cursor_decode("bm90LWEtY3Vyc29y", &us, back) == -1); /* "not-a-cursor" */
    CHECK(arc_projects_cursor_decode("%%", &us, back) == -1);
    CHECK(arc_projects_cursor_decode("a", &us, back) == -1);
    /* "12.<id in capitals>": ids are lower-case. */
    CHECK(arc_projects_cursor_decode("MTIuNUYwQzhGNEUtMUIyQS00QzNELTlFOEYtMEExQjJDM0Q0RTVG", &us,
                                     back) == -1);
    char cut[128];
    snprintf(cut, sizeof(cut), "%.*s", (int)strlen(cur) - 4, cur);
    CHECK(arc_projects_cursor_decode(cut, &us, back) == -1);
}

TEST(test_search_patterns_escape)
{
    char *p = arc_projects_like_contains("100%_sure\\x");
    CHECK(strcmp(p, "%100\\%\\_sure\\\\x%") == 0);
    free(p);
    p = arc_projects_like_contains("");
    CHECK(strcmp(p, "%%") == 0);
    free(p);
}
