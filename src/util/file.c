/* Whole-file reads, atomic writes, folders (see include/arcd/file.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcd/file.h"

int arc_file_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                      arc_err_t *err)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd = -1;
    int rc = 0;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = arc_err_set(err, ARC_EIO, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        rc = arc_err_set(err, ARC_ETOOBIG, "%s: file is %lld bytes, over the %zu byte limit", path,
                         (long long)st.st_size, max_bytes);
        goto out;
    }
    buf = arc_xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = arc_err_set(err, ARC_EIO, "%s: read failed: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break; /* the file shrank while we read it: take what is there */
        got += (size_t)n;
    }
    *out = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

int arc_file_write_atomic(const char *path, const void *data, size_t len, arc_err_t *err)
{
    size_t plen = strlen(path);
    char *tmp = arc_xmalloc(plen + 32);
    const uint8_t *p = data;
    size_t done = 0;
    int fd = -1;
    int rc = 0;

    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = arc_err_set(err, ARC_EIO, "%s: write failed: %s", tmp, strerror(errno));
            goto out;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = arc_err_set(err, ARC_EIO, "%s: close failed: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = arc_err_set(err, ARC_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int arc_file_mkdirs_mode(const char *path, unsigned mode, arc_err_t *err)
{
    char tmp[PATH_MAX];

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return arc_err_set(err, ARC_EIO, "%s: the path is too long", path);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) == 0)
            chmod(tmp, (mode_t)mode); /* the mode asked, whatever the umask */
        else if (errno != EEXIST)
            return arc_err_set(err, ARC_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        if (c == '\0')
            return 0;
        *p = c;
    }
}

int arc_file_mkdirs(const char *path, arc_err_t *err)
{
    return arc_file_mkdirs_mode(path, 0750, err);
}
