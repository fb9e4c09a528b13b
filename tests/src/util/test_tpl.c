/* Tests for src/util/tpl.c: `{{name}}` templates. */
#include "../../test.h"
#include "arcd/tpl.h"

static int fields(void *arg, const char *name, arc_buf_t *out)
{
    (void)arg;
    if (strcmp(name, "who") == 0)
        arc_buf_put_html(out, "<Ann & Bob>");
    else if (strcmp(name, "n") == 0)
        arc_buf_printf(out, "%d", 42);
    else if (strcmp(name, "empty") == 0)
        ;
    else
        return -1;
    return 0;
}

static int render(const char *tpl, arc_buf_t *out, arc_err_t *err)
{
    arc_buf_clear(out);
    return arc_tpl_render(tpl, fields, NULL, out, err);
}

TEST(test_fields_are_filled)
{
    arc_buf_t b = ARC_BUF_INIT;
    arc_err_t err = {{0}};

    CHECK(render("Hello {{who}}: {{n}}%{{empty}}!", &b, &err) == 0);
    CHECK_STR(b.data, "Hello &lt;Ann &amp; Bob&gt;: 42%!");
    CHECK(render("no fields at all", &b, &err) == 0);
    CHECK_STR(b.data, "no fields at all");
    CHECK(render("", &b, &err) == 0);
    CHECK_STR(b.data, "");
    CHECK(render("{{n}}{{n}}", &b, &err) == 0);
    CHECK_STR(b.data, "4242");
    /* A single brace is text (CSS and scripts have them). */
    CHECK(render("a { color: red } {x} }}", &b, &err) == 0);
    CHECK_STR(b.data, "a { color: red } {x} }}");
    arc_buf_dispose(&b);
}

TEST(test_unknown_and_broken_fields_are_errors)
{
    arc_buf_t b = ARC_BUF_INIT;
    arc_err_t err = {{0}};

    CHECK(render("x {{nme}} y", &b, &err) == ARC_EINVAL);
    CHECK(strstr(err.msg, "unknown field {{nme}}") != NULL);
    CHECK(render("x {{who y", &b, &err) == ARC_EINVAL);
    CHECK(strstr(err.msg, "unterminated") != NULL);
    CHECK(render("x {{}} y", &b, &err) == ARC_EINVAL);
    char longname[100];
    snprintf(longname, sizeof(longname), "{{%060d}}", 0);
    CHECK(render(longname, &b, &err) == ARC_EINVAL);
    arc_buf_dispose(&b);
}

TEST(test_check_against_a_list)
{
    static const char *const names[] = {"progress", "title", NULL};
    arc_err_t err = {{0}};

    CHECK(arc_tpl_check("<p>{{progress}}% of {{title}}</p>", names, &err) == 0);
    CHECK(arc_tpl_check("<p>{{progres}}</p>", names, &err) == ARC_EINVAL);
    CHECK(strstr(err.msg, "{{progres}}") != NULL);
}
