/*
 * The streaming multipart/form-data parser (see include/arcd/multipart.h).
 *
 * The body is scanned for the delimiter CRLF "--" boundary; a virtual CRLF
 * before the first byte lets the opening boundary match the same way. The
 * delimiter holds one CR, at its start, so after a mismatch the only place a
 * new match can begin is the current byte: no backtracking, and bytes of a
 * partial match that fails are known (the delimiter's own prefix) and emitted
 * as data.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arcd/error.h"
#include "arcd/multipart.h"

typedef enum { P_PREAMBLE, P_AFTER_DELIM, P_HEADERS, P_BODY, P_EPILOGUE, P_FAILED } pstate_t;

struct arc_multipart_s {
    arc_multipart_cb_t cb;
    char delim[ARC_MULTIPART_MAX_BOUNDARY + 5]; /* "\r\n--" boundary */
    size_t dlen;
    size_t match; /* delimiter bytes matched so far */
    pstate_t state;
    char after[2]; /* the two bytes after a delimiter: "--" or "\r\n" */
    size_t after_len;
    char head[ARC_MULTIPART_MAX_HEADER + 1];
    size_t head_len;
    int parts;
    int in_part;
    char error[160];
};

static int fail(arc_multipart_t *m, const char *msg)
{
    snprintf(m->error, sizeof(m->error), "%s", msg);
    m->state = P_FAILED;
    return -1;
}

static int is_bchar(int c)
{
    return c != '\0' && (isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL);
}

/*
 * The parameters of a header value ("form-data; name=\"a;b\"; filename=x"),
 * RFC 9110's `*( OWS ";" OWS parameter )`: the next one after *pos, with its
 * name and its value (a quoted-string unquoted, its backslash escapes
 * undone; a ';' inside quotes is part of the value, not a separator).
 * Returns 1 with *pos past it, 0 when there are no more, -1 when malformed.
 */
static int next_param(const char **pos, char *name, size_t name_len, char *value, size_t value_len,
                      int *too_long)
{
    const char *p = *pos;
    size_t n = 0;

    *too_long = 0;
    /* Skip the rest of what came before (the media type, or the last
     * value) up to the separator. */
    while (*p && *p != ';')
        p++;
    if (*p == '\0')
        return 0;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t') {
        if (n + 1 < name_len)
            name[n++] = *p;
        p++;
    }
    name[n] = '\0';
    if (*p != '=') {
        /* An empty parameter (";;") is skipped; a name without a value is
         * malformed. */
        if (n != 0 || (*p != ';' && *p != '\0'))
            return -1;
        *pos = p;
        return 1;
    }
    p++;
    n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < value_len)
                value[n++] = *p;
            else
                *too_long = 1;
        }
        if (*p != '"')
            return -1;
        p++;
    } else {
        for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++)
            if (n + 1 < value_len)
                value[n++] = *p;
            else
                *too_long = 1;
    }
    value[n] = '\0';
    *pos = p;
    return 1;
}

int arc_multipart_boundary(const char *ct, char *out, size_t outlen)
{
    const char *p;
    char name[32];
    int rc, too_long;

    if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
        return -1;
    for (p = ct + 19; (rc = next_param(&p, name, sizeof(name), out, outlen, &too_long)) == 1;) {
        if (strcasecmp(name, "boundary") != 0)
            continue;
        size_t n = strlen(out);
        if (too_long || n < 1 || n > ARC_MULTIPART_MAX_BOUNDARY || out[n - 1] == ' ')
            return -1;
        for (size_t k = 0; k < n; k++)
            if (!is_bchar((unsigned char)out[k]))
                return -1;
        return 0;
    }
    return -1;
}

arc_multipart_t *arc_multipart_create(const char *boundary, const arc_multipart_cb_t *cb)
{
    arc_multipart_t *m = arc_xcalloc(1, sizeof(*m));
    size_t bl = strlen(boundary);

    if (bl > ARC_MULTIPART_MAX_BOUNDARY)
        bl = ARC_MULTIPART_MAX_BOUNDARY;
    m->cb = *cb;
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, boundary, bl);
    m->dlen = 4 + bl;
    m->match = 2; /* the virtual CRLF before the body */
    m->state = P_PREAMBLE;
    return m;
}

void arc_multipart_free(arc_multipart_t *m)
{
    free(m);
}

const char *arc_multipart_error(const arc_multipart_t *m)
{
    return m->error;
}

/* Copies the value of parameter `key` (quoted or not) of a header value.
 * Returns 0, or -1 when there is none or the value is malformed. */
static int header_param(const char *v, const char *key, char *out, size_t outlen)
{
    char name[64];
    int rc, too_long;

    for (const char *p = v; (rc = next_param(&p, name, sizeof(name), out, outlen, &too_long)) == 1;)
        if (strcasecmp(name, key) == 0)
            return 0;
    return -1;
}

/* The part's header block is complete (without its final CRLF CRLF). */
static int part_headers(arc_multipart_t *m)
{
    char name[256] = "", filename[256] = "", ctype[128] = "";
    int have_disp = 0;

    m->head[m->head_len] = '\0';
    for (char *line = m->head, *next; line != NULL && *line; line = next) {
        char *eol = strstr(line, "\r\n");
        next = eol ? eol + 2 : NULL;
        if (eol)
            *eol = '\0';
        char *colon = strchr(line, ':');
        if (colon == NULL)
            return fail(m, "a part header has no ':'");
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "content-disposition") == 0) {
            if (strncasecmp(v, "form-data", 9) != 0)
                return fail(m, "a part is not form-data");
            have_disp = 1;
            if (header_param(v, "name", name, sizeof(name)) != 0)
                return fail(m, "a part has no name");
            header_param(v, "filename", filename, sizeof(filename));
        } else if (strcasecmp(line, "content-type") == 0) {
            snprintf(ctype, sizeof(ctype), "%s", v);
        }
    }
    if (!have_disp || name[0] == '\0')
        return fail(m, "a part has no Content-Disposition name");
    if (++m->parts > ARC_MULTIPART_MAX_PARTS)
        return fail(m, "too many parts");
    m->in_part = 1;
    if (m->cb.on_part != NULL && m->cb.on_part(m->cb.arg, name, filename, ctype) != 0)
        return fail(m, "stopped by the receiver");
    return 0;
}

static int emit(arc_multipart_t *m, const char *data, size_t len)
{
    if (len == 0 || m->state != P_BODY || m->cb.on_data == NULL)
        return 0;
    if (m->cb.on_data(m->cb.arg, data, len) != 0)
        return fail(m, "stopped by the receiver");
    return 0;
}

int arc_multipart_feed(arc_multipart_t *m, const char *data, size_t len)
{
    size_t i = 0;

    while (i < len) {
        switch (m->state) {
        case P_FAILED: return -1;
        case P_EPILOGUE: return 0; /* anything after the closing boundary is ignored */
        case P_AFTER_DELIM: {
            char c = data[i++];
            if (m->after_len == 0 && (c == ' ' || c == '\t'))
                break; /* transport padding */
            m->after[m->after_len++] = c;
            if (m->after_len < 2)
                break;
            m->after_len = 0;
            if (m->after[0] == '-' && m->after[1] == '-') {
                m->state = P_EPILOGUE;
            } else if (m->after[0] == '\r' && m->after[1] == '\n') {
                m->state = P_HEADERS;
                m->head_len = 0;
            } else {
                return fail(m, "a boundary is followed by neither CRLF nor '--'");
            }
            break;
        }
        case P_HEADERS: {
            if (m->head_len >= ARC_MULTIPART_MAX_HEADER)
                return fail(m, "a part's headers are too long");
            m->head[m->head_len++] = data[i++];
            if (m->head_len == 2 && memcmp(m->head, "\r\n", 2) == 0) {
                m->head_len = 0; /* no headers at all */
            } else if (m->head_len >= 4 && memcmp(m->head + m->head_len - 4, "\r\n\r\n", 4) == 0) {
                m->head_len -= 4;
            } else {
                break;
            }
            if (part_headers(m) != 0)
                return -1;
            m->state = P_BODY;
            m->match = 0;
            break;
        }
        case P_PREAMBLE:
        case P_BODY: {
            /* Plain data up to the next CR goes out in one piece. */
            if (m->match == 0) {
                const char *cr = memchr(data + i, '\r', len - i);
                size_t run = cr ? (size_t)(cr - (data + i)) : len - i;
                if (emit(m, data + i, run) != 0)
                    return -1;
                i += run;
                if (i == len)
                    break;
            }
            char c = data[i];
            if (c == m->delim[m->match]) {
                m->match++;
                i++;
                if (m->match == m->dlen) {
                    m->match = 0;
                    if (m->state == P_BODY) {
                        m->in_part = 0;
                        if (m->cb.on_part_end != NULL && m->cb.on_part_end(m->cb.arg) != 0)
                            return fail(m, "stopped by the receiver");
                    }
                    m->state = P_AFTER_DELIM;
                    m->after_len = 0;
                }
            } else {
                /* The partial match was data after all: it is the
                 * delimiter's own prefix. The current byte is looked at again. */
                size_t was = m->match;
                m->match = 0;
                if (m->state == P_BODY && emit(m, m->delim, was) != 0)
                    return -1;
                if (c != '\r') {
                    if (emit(m, &c, 1) != 0)
                        return -1;
                    i++;
                }
            }
            break;
        }
        }
    }
    return m->state == P_FAILED ? -1 : 0;
}

int arc_multipart_finish(arc_multipart_t *m)
{
    if (m->state == P_FAILED)
        return -1;
    if (m->state != P_EPILOGUE)
        return fail(m, m->parts == 0 ? "no parts (or no boundary) in the body"
                                     : "the body ends before its closing boundary");
    return 0;
}
