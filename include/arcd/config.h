/*
 * config.h: arcd's configuration file (config/arcd.json, documented key by key
 * in config/README.md), read with jansson and checked strictly: an unknown key,
 * a wrong type or an out-of-range value is an error naming the key, so a typo
 * never silently falls back to a default.
 *
 * Read once at start-up by the CLI (and later the daemon); the struct is plain
 * data the caller owns.
 */
#ifndef ARCD_CONFIG_H
#define ARCD_CONFIG_H

#include <stdint.h>

#include "arcd/error.h"

typedef struct arc_config_s {
    struct {
        uint64_t max_pixels; /* compile.maxPixels: the pixel limit of any image */
        int threads;         /* compile.threads: 0 = one per core */
    } compile;
} arc_config_t;

/* Fills cfg with the built-in defaults. */
void arc_config_defaults(arc_config_t *cfg);

/* Reads path over the values already in cfg. Returns 0, ARC_EIO (unreadable)
 * or ARC_EINVAL (bad JSON, unknown key, bad value) with the reason in err. */
int arc_config_load(const char *path, arc_config_t *cfg, arc_err_t *err);

#endif
