/* Project ids (see include/arcd/id.h). */
#include <string.h>

#include "arcd/id.h"

static int lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex(char c)
{
    return digit(c) || (c >= 'a' && c <= 'f');
}

static int is_uuid(const char *s, size_t n)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (n != sizeof(pattern) - 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (pattern[i] == '-' ? s[i] != '-' : !hex(s[i]))
            return 0;
    return 1;
}

/* The length of the run of characters at s that pass ok. */
static size_t run(const char *s, int (*ok)(char))
{
    size_t n = 0;

    while (s[n] != '\0' && ok(s[n]))
        n++;
    return n;
}

static int lower_or_digit(char c)
{
    return lower(c) || digit(c);
}

/* The old system's ids: "demo-1763812430225-hr7mysw" (a prefix, Date.now(),
 * Math.random() in base 36). */
static int is_legacy(const char *s)
{
    size_t prefix = run(s, lower);
    if (prefix < 1 || prefix > 16 || s[prefix] != '-')
        return 0;
    s += prefix + 1;
    size_t stamp = run(s, digit);
    if (stamp < 10 || stamp > 16 || s[stamp] != '-')
        return 0;
    s += stamp + 1;
    size_t tail = run(s, lower_or_digit);
    return tail >= 4 && tail <= 16 && s[tail] == '\0';
}

arc_id_kind_t arc_id_kind(const char *s)
{
    if (s == NULL)
        return ARC_ID_NONE;
    size_t n = strnlen(s, ARC_ID_MAX + 1);
    if (n == 0 || n > ARC_ID_MAX)
        return ARC_ID_NONE;
    if (is_uuid(s, n))
        return ARC_ID_UUID;
    return is_legacy(s) ? ARC_ID_LEGACY : ARC_ID_NONE;
}
