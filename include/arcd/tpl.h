/*
 * tpl.h: arcd's templates. A template is text with `{{name}}` fields; a
 * lookup callback writes each field's value (escaping it as the page needs,
 * usually with arc_buf_put_html()). Every page people see is rendered this
 * way from a file under config/: the viewer page (a worker's viewer stage)
 * and the daemon's own pages (pending, error, not found, gone).
 *
 * A field the callback does not know is an error, so a template with a typo
 * fails when it is checked at start-up, not in front of a customer. Pure
 * computation; any process.
 */
#ifndef ARCD_TPL_H
#define ARCD_TPL_H

#include <stddef.h>

#include "arcd/buf.h"
#include "arcd/error.h"

/* Writes the value of field `name` to out and returns 0, or returns -1 when
 * there is no such field. */
typedef int (*arc_tpl_field_cb)(void *arg, const char *name, arc_buf_t *out);

/* Renders the NUL-terminated template tpl (borrowed) onto out. Returns 0, or
 * ARC_EINVAL naming the unknown or unterminated field (out then holds a
 * partial page). */
int arc_tpl_render(const char *tpl, arc_tpl_field_cb field, void *arg, arc_buf_t *out,
                   arc_err_t *err);

/* Checks that every field of tpl is one of names (NULL-terminated).
 * Returns 0 or ARC_EINVAL naming the first unknown field. */
int arc_tpl_check(const char *tpl, const char *const *names, arc_err_t *err);

/* 1 when s is a colour "#rrggbb" (hex digits, either case): a value a page
 * may put in its CSS as it is. */
int arc_tpl_color_valid(const char *s);

#endif
