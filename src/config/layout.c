/*
 * Where arcd's own files are (include/arcd/config.h, arc_layout_t): found
 * from the program's own path, never from the current folder.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcd/config.h"

#ifndef ARCD_SOURCE_DIR
#define ARCD_SOURCE_DIR "."
#endif

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dst (PATH_MAX bytes) = a then b; a path too long for it is left empty. */
static void put(char *dst, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);

    dst[0] = '\0';
    if (na + nb >= PATH_MAX)
        return;
    memcpy(dst, a, na);
    memcpy(dst + na, b, nb + 1);
}

void arc_layout_installed(const char *prefix, arc_layout_t *out)
{
    /* The FHS places of a /usr install; any other prefix keeps all under itself. */
    int usr = strcmp(prefix, "/usr") == 0;

    memset(out, 0, sizeof(*out));
    out->installed = 1;
    put(out->prefix, prefix, "");
    put(out->data_dir, prefix, "/share/arcd");
    put(out->config_file, usr ? "" : prefix, "/etc/arcd/arcd.json");
    put(out->storage_dir, usr ? "" : prefix, "/var/lib/arcd/storage");
    put(out->template_path, out->data_dir, "/viewer.html");
    put(out->vendor_dir, out->data_dir, "/vendor");
    put(out->app_dir, out->data_dir, "/app");
}

void arc_layout_from(const char *exe, const char *source_dir, arc_layout_t *out)
{
    char prefix[PATH_MAX], share[PATH_MAX];
    const char *slash = exe != NULL ? strrchr(exe, '/') : NULL;
    size_t n = slash != NULL ? (size_t)(slash - exe) : 0;

    memset(out, 0, sizeof(*out));
    /* PREFIX/bin/arcd with PREFIX/share/arcd beside it: installed. */
    if (n >= 4 && n < sizeof(prefix) && strncmp(exe + n - 4, "/bin", 4) == 0) {
        memcpy(prefix, exe, n - 4);
        prefix[n - 4] = '\0';
        put(share, prefix, "/share/arcd");
        out->installed = is_dir(share);
    }
    if (out->installed) {
        arc_layout_installed(prefix, out);
        return;
    }
    /* A build of a checkout: the source tree it was built from. */
    put(out->data_dir, source_dir, "");
    put(out->config_file, source_dir, "/config/arcd.json");
    put(out->storage_dir, source_dir, "/var/storage");
    put(out->template_path, source_dir, "/config/viewer.html");
    put(out->vendor_dir, source_dir, "/var/vendor");
    put(out->app_dir, source_dir, "/src/app");
}

const arc_layout_t *arc_layout(void)
{
    static arc_layout_t layout;
    static int found;
    char exe[PATH_MAX];

    if (!found) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        arc_layout_from(n > 0 ? exe : NULL, ARCD_SOURCE_DIR, &layout);
        found = 1;
    }
    return &layout;
}
