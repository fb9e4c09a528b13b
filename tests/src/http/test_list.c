/* Tests for arc_http_list_next() (src/http/server.c): the weighted lists of
 * Accept-Encoding and Accept-Language, as browsers and odd clients send them. */
#include <string.h>

#include "../../test.h"
#include "arcd/http.h"

/* The list's elements as "token=q;" pairs, q with two decimals. */
static void walk(const char *list, char *out, size_t size)
{
    const char *pos = list, *tok;
    size_t len, n = 0;
    double q;

    out[0] = '\0';
    while (arc_http_list_next(&pos, &tok, &len, &q) && n < size)
        n += (size_t)snprintf(out + n, size - n, "%.*s=%.2f;", (int)len, tok, q);
}

TEST(test_browsers_lists)
{
    char got[256];

    walk("gzip, deflate, br", got, sizeof(got));
    CHECK_STR(got, "gzip=1.00;deflate=1.00;br=1.00;");
    walk("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", got, sizeof(got));
    CHECK_STR(got, "ru-RU=1.00;ru=0.90;en-US=0.80;en=0.70;");
    walk("*", got, sizeof(got));
    CHECK_STR(got, "*=1.00;");
}

/* Spaces round ';' and an upper-case Q are allowed (RFC 9110, 12.4.2): a
 * parser that missed them took "ru; q=0.1" for ru at 1 and chose Russian
 * for a French reader who ranks English above it. */
TEST(test_spaces_and_case_in_weights)
{
    char got[256];

    walk("fr, ru; q=0.1, en ;Q=0.9", got, sizeof(got));
    CHECK_STR(got, "fr=1.00;ru=0.10;en=0.90;");
    walk("br;q=0, gzip;q=0.5", got, sizeof(got));
    CHECK_STR(got, "br=0.00;gzip=0.50;");
    walk("  ,, gzip ;level=1; q=0.3 ,", got, sizeof(got));
    CHECK_STR(got, "gzip=0.30;");
}

TEST(test_unreadable_and_out_of_range_weights)
{
    char got[256];

    walk("br;q=abc, gzip;q=7, deflate;q=-1, zstd;q=", got, sizeof(got));
    CHECK_STR(got, "br=0.00;gzip=1.00;deflate=0.00;zstd=0.00;");
    walk("", got, sizeof(got));
    CHECK_STR(got, "");
    const char *pos = NULL, *tok;
    size_t len;
    double q;
    CHECK(arc_http_list_next(&pos, &tok, &len, &q) == 0);
}
