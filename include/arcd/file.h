/*
 * file.h: whole-file reads, atomic writes and folder creation, with the
 * error messages arcd shows. Blocking: for the CLI, the workers and the
 * daemon's start-up (before its loop runs), never on the daemon's loop.
 */
#ifndef ARCD_FILE_H
#define ARCD_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "arcd/error.h"

/* Reads a whole file into an owned buffer (free with free(); one byte more
 * than *len is allocated, so a text file can be NUL-terminated), refusing
 * files over max_bytes. Returns 0, ARC_EIO or ARC_ETOOBIG. */
int arc_file_read_all(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                      arc_err_t *err);

/* Writes len bytes to path atomically: a temporary file beside it, fsync,
 * rename. Returns 0 or ARC_EIO. */
int arc_file_write_atomic(const char *path, const void *data, size_t len, arc_err_t *err);

/* Makes path and its missing parents (mode 0750 for new folders). Returns 0
 * or ARC_EIO with errno's reason. */
int arc_file_mkdirs(const char *path, arc_err_t *err);

/* The same with the mode of the folders it makes (0711: others may pass
 * through, as a root daemon's workers must to reach the storage). */
int arc_file_mkdirs_mode(const char *path, unsigned mode, arc_err_t *err);

#endif
