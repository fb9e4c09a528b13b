/* The project's own fields and their checks (see fields.h). */
#include <stdio.h>
#include <string.h>

#include "arcd/proto.h"
#include "fields.h"

const arc_field_t arc_fields[] = {
    {"title", "title", ARC_FIELD_TEXT, 200},
    {"orderRef", "order_ref", ARC_FIELD_TEXT, 64},
    {"customerName", "customer_name", ARC_FIELD_TEXT, 200},
    {"customerEmail", "customer_email", ARC_FIELD_EMAIL, 254},
    {"notifyUrl", "notification_url", ARC_FIELD_URL, 2048},
    {"notifyEmail", "notification_email", ARC_FIELD_EMAIL, 254},
    {"metadata", "metadata", ARC_FIELD_JSON, ARC_FIELD_METADATA_MAX},
    {NULL, NULL, ARC_FIELD_TEXT, 0},
};

const arc_field_t *arc_field_find(const char *name)
{
    for (const arc_field_t *f = arc_fields; f->name != NULL; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

int arc_field_text_ok(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;

    while (*p) {
        unsigned c = *p;
        int extra = c < 0x80             ? 0
                    : (c & 0xe0) == 0xc0 ? 1
                    : (c & 0xf0) == 0xe0 ? 2
                    : (c & 0xf8) == 0xf0 ? 3
                                         : -1;
        if (extra < 0 || (c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
        unsigned cp = extra == 0 ? c : c & (0x3f >> extra);
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            return 0;
        p += 1 + extra;
        if (++chars > max)
            return 0;
    }
    return 1;
}

int arc_field_email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    size_t len = strlen(s);

    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL || len > 254)
        return 0;
    for (const char *p = s; p < at; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(".!#$%&'*+/=?^_`{|}~-", *p) != NULL))
            return 0;
    for (const char *p = at + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-'))
            return 0;
    return at[1] != '.' && s[len - 1] != '.';
}

static int url_ok(const char *s)
{
    const char *host = strncmp(s, "https://", 8) == 0  ? s + 8
                       : strncmp(s, "http://", 7) == 0 ? s + 7
                                                       : NULL;

    if (host == NULL || *host == '\0' || *host == '/' || *host == ':' || *host == '@')
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

int arc_field_check(const arc_field_t *f, const char *value, char *why, size_t size)
{
    if (value[0] == '\0')
        return 0;
    switch (f->kind) {
    case ARC_FIELD_TEXT:
        if (arc_field_text_ok(value, f->max))
            return 0;
        snprintf(why, size, "%s must be text of at most %zu characters, without control characters",
                 f->name, f->max);
        return -1;
    case ARC_FIELD_EMAIL:
        /* An address the CRM gives has a domain with a dot (not "localhost"). */
        if (arc_field_text_ok(value, f->max) && arc_field_email_ok(value) &&
            strchr(strchr(value, '@'), '.') != NULL)
            return 0;
        snprintf(why, size,
                 "%s must be an email address such as name@example.com (ASCII: a domain such as "
                 "пример.рф in its xn-- form)",
                 f->name);
        return -1;
    case ARC_FIELD_URL:
        if (strlen(value) <= f->max && url_ok(value))
            return 0;
        snprintf(why, size, "%s must be an http:// or https:// URL of at most %zu characters",
                 f->name, f->max);
        return -1;
    case ARC_FIELD_JSON: {
        json_error_t e;
        json_t *js = strlen(value) <= f->max ? json_loads(value, JSON_REJECT_DUPLICATES, &e) : NULL;
        int ok = json_is_object(js);
        json_decref(js);
        if (ok)
            return 0;
        snprintf(why, size, "%s must be a JSON object of at most %zu bytes", f->name, f->max);
        return -1;
    }
    }
    return -1;
}

/* ---- the print options ---- */

/* The smallest photo a print sheet takes, in millimetres: below it a phone
 * hardly finds the marker. (The largest is the paper's: the worker says
 * when a photo does not fit.) */
#define PRINT_MIN_MM 20

const char *const arc_print_options[] = {"printSize", "printPhotoMm", "printLanguage", NULL};

int arc_print_option_known(const char *name)
{
    for (size_t i = 0; arc_print_options[i] != NULL; i++)
        if (strcmp(name, arc_print_options[i]) == 0)
            return 1;
    return 0;
}

int arc_print_option_check(const char *name, const json_t *v, char *why, size_t size)
{
    if (strcmp(name, "printSize") == 0) {
        if (arc_paper_find(json_string_value(v)) != NULL)
            return 0;
        snprintf(why, size, "printSize must be a paper size: %s", arc_paper_names());
    } else if (strcmp(name, "printPhotoMm") == 0) {
        if (json_is_number(v) &&
            (json_number_value(v) == 0 ||
             (json_number_value(v) >= PRINT_MIN_MM && json_number_value(v) <= 1000)))
            return 0;
        snprintf(why, size,
                 "printPhotoMm must be the photo's long side in millimetres, from %d to 1000, "
                 "border included (0: the largest that fits)",
                 PRINT_MIN_MM);
    } else if (strcmp(name, "printLanguage") == 0) {
        if (arc_sheet_language_known(json_string_value(v)))
            return 0;
        snprintf(why, size, "printLanguage must be ru or en");
    } else {
        snprintf(why, size, "%s is not a print option", name);
    }
    return -1;
}
