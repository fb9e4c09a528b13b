/* The daemon's own pages, from templates (see pages.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/buf.h"
#include "arcd/file.h"
#include "arcd/tpl.h"
#include "pages.h"

static const struct {
    const char *file;
    int status;
} page_info[ARC_PAGE_COUNT] = {
    [ARC_PAGE_NOT_FOUND] = {"not-found.html", 404}, [ARC_PAGE_PENDING] = {"pending.html", 200},
    [ARC_PAGE_ERROR] = {"error.html", 500},         [ARC_PAGE_GONE] = {"gone.html", 410},
    [ARC_PAGE_REMOVED] = {"removed.html", 410},
};

/* The fields a page may use. */
static const char *const fields[] = {"progress", NULL};

struct arc_pages_s {
    char *tpl[ARC_PAGE_COUNT];
};

int arc_pages_load(const char *dir, arc_pages_t **out, arc_err_t *err)
{
    arc_pages_t *p = arc_xcalloc(1, sizeof(*p));
    char path[4200];
    int rc = 0;

    *out = NULL;
    for (int i = 0; i < ARC_PAGE_COUNT && rc == 0; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, page_info[i].file);
        rc = arc_file_read_all(path, 1 << 20, &buf, &len, err);
        if (rc != 0)
            break;
        buf[len] = '\0';
        p->tpl[i] = (char *)buf;
        arc_err_t why;
        if ((rc = arc_tpl_check(p->tpl[i], fields, &why)) != 0)
            arc_err_set(err, rc, "%s: %s", path, why.msg);
    }
    if (rc != 0) {
        arc_pages_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int page_field(void *arg, const char *name, arc_buf_t *out)
{
    if (strcmp(name, "progress") != 0)
        return -1;
    arc_buf_printf(out, "%d", *(const int *)arg);
    return 0;
}

void arc_pages_respond(const arc_pages_t *p, arc_http_req_t *req, arc_page_t page, int progress)
{
    arc_buf_t html = ARC_BUF_INIT;
    arc_err_t err;

    /* Checked at load: rendering cannot fail. */
    arc_tpl_render(p->tpl[page], page_field, &progress, &html, &err);
    arc_http_respond(req, page_info[page].status, "text/html; charset=utf-8",
                     "Cache-Control: no-store\r\n", html.data, html.len);
    arc_buf_dispose(&html);
}

void arc_pages_free(arc_pages_t *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < ARC_PAGE_COUNT; i++)
        free(p->tpl[i]);
    free(p);
}
