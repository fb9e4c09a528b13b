/* Tests for src/util/id.c: the two shapes of a project id, and nothing else. */
#include "../../test.h"
#include "arcd/id.h"

TEST(test_uuid_ids)
{
    CHECK(arc_id_kind("0f8fad5b-d9cb-469f-a165-70867728950e") == ARC_ID_UUID);
    CHECK(arc_id_kind("00000000-0000-0000-0000-000000000000") == ARC_ID_UUID);
    static const char *const bad[] = {
        "0F8FAD5B-D9CB-469F-A165-70867728950E", /* upper case: arcd writes lower case */
        "0f8fad5b-d9cb-469f-a165-70867728950",  /* short */
        "0f8fad5b-d9cb-469f-a165-70867728950e0", "0f8fad5bd9cb469fa16570867728950e",
        "0f8fad5b-d9cb-469f-a165-70867728950g",  "0f8fad5b-d9cb-469f-a165_70867728950e",
        "{0f8fad5b-d9cb-469f-a165-70867728950e}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_MSG(arc_id_kind(bad[i]) == ARC_ID_NONE, "'%s' taken", bad[i]);
}

TEST(test_legacy_ids)
{
    /* The old system's: a prefix, Date.now() in ms, Math.random() in base 36. */
    CHECK(arc_id_kind("demo-1763812430225-hr7mysw") == ARC_ID_LEGACY);
    CHECK(arc_id_kind("ar-1700000000000-abcd") == ARC_ID_LEGACY);
    CHECK(arc_id_kind("a-1234567890-0000") == ARC_ID_LEGACY);
    /* The longest allowed: 36 characters, as a UUID. */
    CHECK(arc_id_kind("abcdefghijklmnop-1234567890-abcdefgh") == ARC_ID_LEGACY);
    static const char *const bad[] = {
        "",
        "demo",
        "demo-1763812430225",
        "demo-1763812430225-",
        "-1763812430225-hr7mysw",
        "Demo-1763812430225-hr7mysw",            /* upper case */
        "demo-1763812430225-HR7MYSW",            /* upper case */
        "demo-176381243-hr7mysw",                /* 9 digits */
        "demo-12345678901234567-hr7mys",         /* 17 digits */
        "demo-1763812430225-hr7",                /* tail of 3 */
        "demo-1763812430225-abcdefghijklmnopq",  /* tail of 17 */
        "abcdefghijklmnopq-1763812430225-hr7m",  /* prefix of 17 */
        "abcdefghijklmnop-1234567890-abcdefghi", /* 37 characters */
        "demo1-1763812430225-hr7mysw",           /* a digit in the prefix */
        "demo-1763812430225-hr7mysw-x",          /* a fourth part */
        "demo--1763812430225-hr7mysw",
        "demo-1763812430225-hr7mysw/",
        "demo-1763812430225-../../x",
        "demo-1763812430225-hr7.ysw",
        "demo-1763812430225-hr7mysw\n",
        "demo-1763812430225 -hr7mysw",
        "demo-17638124302x5-hr7mysw",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_MSG(arc_id_kind(bad[i]) == ARC_ID_NONE, "'%s' taken", bad[i]);
    CHECK(arc_id_kind(NULL) == ARC_ID_NONE);
}

TEST(test_no_path_character_in_any_id)
{
    /* Every character of an id of either shape is a lower-case letter, a
     * digit or '-': no id can name another folder. */
    static const char *const good[] = {"0f8fad5b-d9cb-469f-a165-70867728950e",
                                       "demo-1763812430225-hr7mysw"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char s[64];
        for (int c = 1; c < 256; c++) {
            int allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            if (allowed)
                continue;
            for (size_t at = 0; good[i][at] != '\0'; at++) {
                snprintf(s, sizeof(s), "%s", good[i]);
                s[at] = (char)c;
                CHECK_MSG(arc_id_kind(s) == ARC_ID_NONE, "'%s' (byte %d at %zu) taken", s, c, at);
            }
        }
    }
}
