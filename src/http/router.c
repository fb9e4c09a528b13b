/* Route tables (see include/arcd/router.h). */
#include <stdio.h>
#include <string.h>

#include "arcd/router.h"

/* Matches path against pattern, filling m's parameters; 1 on a match. */
static int match_pattern(const char *pattern, const char *path, arc_route_match_t *m)
{
    const char *p = pattern, *s = path;

    m->n_params = 0;
    while (*p != '\0') {
        if (p[0] == '*' && p[1] == '\0') {
            size_t n = strlen(s);
            if (n >= ARC_ROUTE_MAX_VALUE || m->n_params >= ARC_ROUTE_MAX_PARAMS)
                return 0;
            m->params[m->n_params].name = "*";
            memcpy(m->params[m->n_params].value, s, n + 1);
            m->n_params++;
            return 1;
        }
        if (*p == ':') {
            const char *name = p + 1;
            size_t name_len = strcspn(name, "/");
            size_t n = strcspn(s, "/");
            if (n == 0 || n >= ARC_ROUTE_MAX_VALUE || m->n_params >= ARC_ROUTE_MAX_PARAMS)
                return 0;
            m->params[m->n_params].name = name;
            memcpy(m->params[m->n_params].value, s, n);
            m->params[m->n_params].value[n] = '\0';
            m->n_params++;
            p = name + name_len;
            s += n;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *s == '\0';
}

static int method_allows(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void add_allow(arc_route_match_t *out, const char *method)
{
    char one[24];

    snprintf(one, sizeof(one), "%s", method);
    if (strcmp(method, "GET") == 0)
        snprintf(one, sizeof(one), "GET, HEAD");
    if (strstr(out->allow, one) != NULL)
        return;
    size_t used = strlen(out->allow);
    snprintf(out->allow + used, sizeof(out->allow) - used, "%s%s", used ? ", " : "", one);
}

int arc_route_match(const arc_route_t *table, size_t n, const char *method, const char *path,
                    arc_route_match_t *out)
{
    arc_route_match_t scratch = {0};

    memset(out, 0, sizeof(*out));
    out->status = 404;
    for (size_t i = 0; i < n; i++) {
        if (!match_pattern(table[i].pattern, path, &scratch))
            continue;
        if (method_allows(table[i].method, method)) {
            *out = scratch;
            out->route = &table[i];
            out->status = 0;
            return 0;
        }
        out->status = 405;
        add_allow(out, table[i].method);
    }
    out->n_params = 0;
    return out->status;
}

const char *arc_route_param(const arc_route_match_t *m, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < m->n_params; i++) {
        /* A name points into its pattern: it ends at '/' or the end. */
        const char *pn = m->params[i].name;
        if (strncmp(pn, name, n) == 0 && (pn[n] == '\0' || pn[n] == '/'))
            return m->params[i].value;
    }
    return NULL;
}
