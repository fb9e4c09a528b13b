/* `{{name}}` templates (see include/arcd/tpl.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "arcd/tpl.h"

/* Field names are short identifiers; anything longer is a stray "{{". */
#define MAX_NAME 48

int arc_tpl_render(const char *tpl, arc_tpl_field_cb field, void *arg, arc_buf_t *out,
                   arc_err_t *err)
{
    const char *p = tpl;

    for (;;) {
        const char *open = strstr(p, "{{");
        if (open == NULL) {
            arc_buf_puts(out, p);
            return 0;
        }
        arc_buf_append(out, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        size_t n = close ? (size_t)(close - open - 2) : 0;
        if (close == NULL || n == 0 || n > MAX_NAME)
            return arc_err_set(err, ARC_EINVAL, "the template has an unterminated field at '%.20s'",
                               open);
        char name[MAX_NAME + 1];
        memcpy(name, open + 2, n);
        name[n] = '\0';
        if (field(arg, name, out) != 0)
            return arc_err_set(err, ARC_EINVAL, "the template has an unknown field {{%s}}", name);
        p = close + 2;
    }
}

static int known(void *arg, const char *name, arc_buf_t *out)
{
    (void)out;
    for (const char *const *n = arg; *n != NULL; n++)
        if (strcmp(*n, name) == 0)
            return 0;
    return -1;
}

int arc_tpl_check(const char *tpl, const char *const *names, arc_err_t *err)
{
    arc_buf_t scratch = ARC_BUF_INIT;
    int rc = arc_tpl_render(tpl, known, (void *)names, &scratch, err);

    arc_buf_dispose(&scratch);
    return rc;
}

int arc_tpl_color_valid(const char *s)
{
    if (s == NULL || s[0] != '#' || strlen(s) != 7)
        return 0;
    for (int i = 1; i < 7; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}
