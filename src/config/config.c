/* The configuration file (see include/arcd/config.h and config/README.md). */
#include <string.h>

#include <jansson.h>

#include "arcd/config.h"
#include "arcd/image.h"

void arc_config_defaults(arc_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->compile.max_pixels = ARC_IMAGE_DEFAULT_MAX_PIXELS;
    cfg->compile.threads = 0;
}

static int get_int(json_t *obj, const char *section, const char *key, json_int_t min,
                   json_int_t max, json_int_t *out, arc_err_t *err)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return arc_err_set(err, ARC_EINVAL, "config: %s.%s must be an integer from %lld to %lld",
                           section, key, (long long)min, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

static int check_keys(json_t *obj, const char *section, const char *const *known, arc_err_t *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        int found = 0;
        for (const char *const *k = known; *k != NULL; k++)
            found |= strcmp(*k, key) == 0;
        if (!found)
            return arc_err_set(err, ARC_EINVAL, "config: unknown key '%s%s%s'", section,
                               section[0] ? "." : "", key);
    }
    return 0;
}

int arc_config_load(const char *path, arc_config_t *cfg, arc_err_t *err)
{
    static const char *const top_keys[] = {"compile", NULL};
    static const char *const compile_keys[] = {"maxPixels", "threads", NULL};
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *compile;
    json_int_t v;
    int rc = 0;

    if (root == NULL)
        return arc_err_set(err, jerr.line <= 0 ? ARC_EIO : ARC_EINVAL, "config: %s:%d: %s", path,
                           jerr.line, jerr.text);
    if (!json_is_object(root)) {
        rc = arc_err_set(err, ARC_EINVAL, "config: %s: the top level must be an object", path);
        goto out;
    }
    if ((rc = check_keys(root, "", top_keys, err)) != 0)
        goto out;
    compile = json_object_get(root, "compile");
    if (compile != NULL) {
        if (!json_is_object(compile)) {
            rc = arc_err_set(err, ARC_EINVAL, "config: 'compile' must be an object");
            goto out;
        }
        if ((rc = check_keys(compile, "compile", compile_keys, err)) != 0)
            goto out;
        v = (json_int_t)cfg->compile.max_pixels;
        if ((rc = get_int(compile, "compile", "maxPixels", 1, (json_int_t)1 << 40, &v, err)) != 0)
            goto out;
        cfg->compile.max_pixels = (uint64_t)v;
        v = cfg->compile.threads;
        if ((rc = get_int(compile, "compile", "threads", 0, 256, &v, err)) != 0)
            goto out;
        cfg->compile.threads = (int)v;
    }
out:
    json_decref(root);
    return rc;
}
