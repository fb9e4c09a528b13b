/*
 * fields.h: the project's own fields, as a CRM gives them (in an upload's
 * form or a PATCH's JSON) and as the database keeps them: title, orderRef,
 * customerName, customerEmail, notifyUrl, notifyEmail, metadata. One table
 * says, for each, its column, its limit and its check, so that the upload
 * and PATCH refuse the same things with the same words; and the print
 * options' checks, the upload's and the queue's. Pure computation.
 */
#ifndef ARCD_DAEMON_FIELDS_H
#define ARCD_DAEMON_FIELDS_H

#include <stddef.h>

#include <jansson.h>

/* The largest metadata object, as JSON text. */
#define ARC_FIELD_METADATA_MAX 4096

typedef enum arc_field_kind_e {
    ARC_FIELD_TEXT,  /* a line of text: UTF-8, no control characters */
    ARC_FIELD_EMAIL, /* an address: local@domain */
    ARC_FIELD_URL,   /* http:// or https:// */
    ARC_FIELD_JSON   /* a JSON object */
} arc_field_kind_t;

typedef struct arc_field_s {
    const char *name;   /* the API's: "orderRef" */
    const char *column; /* the database's: "order_ref" */
    arc_field_kind_t kind;
    size_t max; /* characters (TEXT, EMAIL, URL) or bytes of JSON text */
} arc_field_t;

/* The field called name, or NULL. */
const arc_field_t *arc_field_find(const char *name);

/* Every field, ended by {NULL}. */
extern const arc_field_t arc_fields[];

/* Checks a text value of field f (metadata as JSON text). Returns 0, or -1
 * with why (a sentence naming the field) filled. "" is allowed: it clears
 * the field. */
int arc_field_check(const arc_field_t *f, const char *value, char *why, size_t size);

/* 1 when s is a plain mail address, the one form arcd sends to and
 * customerEmail and notifyEmail accept: local@domain in ASCII, at most 254
 * bytes, no spaces, quotes, brackets or line breaks (nothing that could end
 * a mail header or an SMTP command). */
int arc_field_email_ok(const char *s);

/* 1 when s is valid UTF-8 without control characters (tab excepted) and at
 * most max characters. */
int arc_field_text_ok(const char *s, size_t max);

/* ---- the print sheet's options: printSize, printPhotoMm, printLanguage ----
 * Given on an upload (form fields, or inside its config) and kept in the
 * project's config, which the queue reads when it builds the job. */

/* The print options' names, ended by NULL. */
extern const char *const arc_print_options[];

/* 1 when name is a print option. */
int arc_print_option_known(const char *name);

/* Checks the value of print option name (a JSON value: a config's, or a
 * form field's text made one). Returns 0, or -1 with why filled. */
int arc_print_option_check(const char *name, const json_t *v, char *why, size_t size);

#endif
