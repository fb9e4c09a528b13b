/* The daemon's own pages, from templates (see pages.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "arcd/buf.h"
#include "arcd/file.h"
#include "arcd/tpl.h"
#include "pages.h"

static const struct {
    const char *file;
    int status;
} page_info[ARC_PAGE_COUNT] = {
    [ARC_PAGE_NOT_FOUND] = {"not-found.html", 404},
    [ARC_PAGE_PENDING] = {"pending.html", 200},
    [ARC_PAGE_ERROR] = {"error.html", 500},
    [ARC_PAGE_GONE] = {"gone.html", 410},
    [ARC_PAGE_REMOVED] = {"removed.html", 410},
    [ARC_PAGE_IN_APP] = {"open-in-browser.html", 200},
};

/* The languages, the first being the pages folder's own and the fallback;
 * the others' pages are in <pages>/<language>/, each optional. */
#define N_LANG 2
static const char *const langs[N_LANG] = {"en", "ru"};

/* The fields a page may use. */
static const char *const fields[] = {"progress", "url", "intentUrl", "viewerUrl", NULL};

struct arc_pages_s {
    char *tpl[N_LANG][ARC_PAGE_COUNT]; /* NULL: not in that language */
};

int arc_pages_load(const char *dir, arc_pages_t **out, arc_err_t *err)
{
    arc_pages_t *p = arc_xcalloc(1, sizeof(*p));
    char path[4200];
    int rc = 0;

    *out = NULL;
    for (int l = 0; l < N_LANG && rc == 0; l++) {
        for (int i = 0; i < ARC_PAGE_COUNT && rc == 0; i++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            if (l == 0)
                snprintf(path, sizeof(path), "%s/%s", dir, page_info[i].file);
            else
                snprintf(path, sizeof(path), "%s/%s/%s", dir, langs[l], page_info[i].file);
            if (l > 0 && access(path, F_OK) != 0)
                continue; /* that page in English */
            rc = arc_file_read_all(path, 1 << 20, &buf, &len, err);
            if (rc != 0)
                break;
            buf[len] = '\0';
            p->tpl[l][i] = (char *)buf;
            arc_err_t why;
            if ((rc = arc_tpl_check(p->tpl[l][i], fields, &why)) != 0)
                arc_err_set(err, rc, "%s: %s", path, why.msg);
        }
    }
    if (rc != 0) {
        arc_pages_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int arc_pages_language(const char *accept)
{
    const char *pos = accept, *tag;
    size_t n;
    double q, best_q = 0;
    int best = 0;

    /* "ru-RU,ru;q=0.9,en-US;q=0.8": the language with the highest q-value
     * of those there are pages in (by its primary subtag); the first of
     * equals; else the first. */
    while (arc_http_list_next(&pos, &tag, &n, &q)) {
        size_t primary = 0;
        while (primary < n && tag[primary] != '-')
            primary++;
        for (int l = 0; l < N_LANG; l++)
            if (primary == strlen(langs[l]) && strncasecmp(tag, langs[l], primary) == 0 &&
                q > best_q)
                best = l, best_q = q;
    }
    return best;
}

const char *arc_pages_in_app(const char *ua)
{
    /* What each app's built-in browser adds to its User-Agent. */
    static const struct {
        const char *mark, *app;
    } apps[] = {
        {"Instagram", "Instagram"},     {"FBAN/", "Facebook"},
        {"FBAV/", "Facebook"},          {"FB_IAB", "Facebook"},
        {"Telegram", "Telegram"},       {"WhatsApp", "WhatsApp"},
        {"VKAndroidApp", "VK"},         {"VKClient", "VK"},
        {"com.vkontakte", "VK"},        {"musical_ly", "TikTok"},
        {"BytedanceWebview", "TikTok"}, {"TikTok", "TikTok"},
    };

    /* Link-preview robots (TelegramBot, WhatsApp's, facebookexternalhit)
     * say no "Mozilla/": they read the page for its title, not the camera. */
    if (ua == NULL || strstr(ua, "Mozilla/") == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
        if (strstr(ua, apps[i].mark) != NULL)
            return apps[i].app;
    return NULL;
}

static int page_field(void *arg, const char *name, arc_buf_t *out)
{
    const arc_page_fields_t *f = arg;

    if (strcmp(name, "progress") == 0)
        arc_buf_printf(out, "%d", f->progress);
    else if (strcmp(name, "url") == 0)
        arc_buf_put_html(out, f->url ? f->url : "");
    else if (strcmp(name, "intentUrl") == 0)
        arc_buf_put_html(out, f->intent_url ? f->intent_url : "");
    else if (strcmp(name, "viewerUrl") == 0)
        arc_buf_put_html(out, f->viewer_url ? f->viewer_url : "");
    else
        return -1;
    return 0;
}

void arc_pages_respond(const arc_pages_t *p, arc_http_req_t *req, arc_page_t page,
                       const arc_page_fields_t *f)
{
    static const arc_page_fields_t none = {0};
    arc_buf_t html = ARC_BUF_INIT;
    arc_err_t err;
    char headers[128];
    int l = arc_pages_language(arc_http_header(req, "accept-language"));

    if (p->tpl[l][page] == NULL)
        l = 0;
    /* Checked at load: rendering cannot fail. */
    arc_tpl_render(p->tpl[l][page], page_field, (void *)(f ? f : &none), &html, &err);
    snprintf(headers, sizeof(headers),
             "Cache-Control: no-store\r\nContent-Language: %s\r\nVary: Accept-Language%s\r\n",
             langs[l], page == ARC_PAGE_IN_APP ? ", User-Agent" : "");
    arc_http_respond(req, page_info[page].status, "text/html; charset=utf-8", headers, html.data,
                     html.len);
    arc_buf_dispose(&html);
}

void arc_pages_free(arc_pages_t *p)
{
    if (p == NULL)
        return;
    for (int l = 0; l < N_LANG; l++)
        for (int i = 0; i < ARC_PAGE_COUNT; i++)
            free(p->tpl[l][i]);
    free(p);
}
