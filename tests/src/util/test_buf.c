/* Tests for src/util/buf.c: the one growable buffer. */
#include "../../test.h"
#include "arcd/buf.h"

TEST(test_empty_buffer)
{
    arc_buf_t b = ARC_BUF_INIT;
    char *s = arc_buf_detach(&b);

    CHECK_STR(s, "");
    free(s);
    arc_buf_dispose(&b);
    arc_buf_dispose(NULL);
    arc_buf_clear(&b);
    CHECK(b.len == 0 && b.data == NULL);
}

TEST(test_append_grows_and_stays_terminated)
{
    arc_buf_t b = ARC_BUF_INIT;

    for (int i = 0; i < 10000; i++)
        arc_buf_append(&b, "abc", 3);
    CHECK_EQ_INT(b.len, 30000);
    CHECK(b.cap > b.len && b.data[b.len] == '\0');
    CHECK(memcmp(b.data + 29997, "abc", 3) == 0);
    arc_buf_append(&b, NULL, 0);
    CHECK_EQ_INT(b.len, 30000);
    arc_buf_dispose(&b);
}

TEST(test_printf_longer_than_the_first_guess)
{
    arc_buf_t b = ARC_BUF_INIT;
    char big[5000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    arc_buf_printf(&b, "%d-", 42);
    arc_buf_printf(&b, "%s|%s", big, "end");
    CHECK_EQ_INT(b.len, 3 + 4999 + 4);
    CHECK(strncmp(b.data, "42-xxx", 6) == 0);
    CHECK(strcmp(b.data + b.len - 4, "|end") == 0);
    arc_buf_dispose(&b);
}

TEST(test_html_escaping)
{
    arc_buf_t b = ARC_BUF_INIT;

    arc_buf_put_html(&b, "<a href=\"x\">Tom & 'Jerry'</a>");
    CHECK_STR(b.data, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
    arc_buf_clear(&b);
    arc_buf_put_html(&b, "plain");
    arc_buf_put_html(&b, "");
    CHECK_STR(b.data, "plain");
    arc_buf_dispose(&b);
}

TEST(test_consume_keeps_the_rest)
{
    arc_buf_t b = ARC_BUF_INIT;

    arc_buf_puts(&b, "0123456789");
    arc_buf_consume(&b, 4);
    CHECK_STR(b.data, "456789");
    CHECK_EQ_INT(b.len, 6);
    arc_buf_consume(&b, 6);
    CHECK_EQ_INT(b.len, 0);
    CHECK_STR(b.data, "");
    arc_buf_puts(&b, "again");
    arc_buf_consume(&b, 100);
    CHECK_EQ_INT(b.len, 0);
    arc_buf_dispose(&b);
}

TEST(test_detach_hands_over_the_memory)
{
    arc_buf_t b = ARC_BUF_INIT;

    arc_buf_puts(&b, "owned");
    char *s = arc_buf_detach(&b);
    CHECK_STR(s, "owned");
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    free(s);
}
