/*
 * id.h: the shapes a project id may have. A project made by arcd has 128
 * random bits written as a lower-case UUID; a project imported from the old
 * system (`arcd import-legacy`) keeps the id its printed QR code holds:
 * letters, a millisecond timestamp and a base-36 tail, such as
 * "demo-1763812430225-hr7mysw". Ids end up in file paths, SQL parameters,
 * URLs and log lines, so both shapes are strict: lower-case letters, digits
 * and '-' only, at most ARC_ID_MAX characters. sql/004_legacy_ids.sql checks
 * the same shapes in the database (arcd_valid_id()). Pure computation; any
 * process.
 */
#ifndef ARCD_ID_H
#define ARCD_ID_H

/* The longest id of either shape: a UUID's 36 characters (an old id longer
 * than that is refused, so every id buffer of 40 bytes holds any id). */
#define ARC_ID_MAX 36

typedef enum arc_id_kind_e {
    ARC_ID_NONE = 0, /* not a project id */
    ARC_ID_UUID,     /* xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lower-case hex */
    ARC_ID_LEGACY    /* [a-z]{1,16}-[0-9]{10,16}-[a-z0-9]{4,16}, at most ARC_ID_MAX */
} arc_id_kind_t;

/* The shape of s (borrowed; NULL is ARC_ID_NONE). */
arc_id_kind_t arc_id_kind(const char *s);

#endif
