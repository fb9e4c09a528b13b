/*
 * `arcd process`: runs the whole media pipeline of a job on local files,
 * without a database or daemon, as a worker would: the photos and videos
 * are linked into the output folder under the names the daemon gives
 * uploads, and the worker's "done" message (files, rating, video details,
 * per-stage timings) is printed as JSON. For trying settings, for tests and
 * for the whole-job benchmark.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcd/cli.h"
#include "arcd/config.h"
#include "arcd/worker.h"

#define MAX_ITEMS 16

static void on_progress(arc_job_t *job, const char *stage, int percent)
{
    (void)job;
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r%-10s %3d%%", stage, percent);
}

/* Links src into dir as <base><suffix>.<src's extension>; name gets the link's name. */
static int link_input(const char *src, const char *dir, const char *base, const char *suffix,
                      char *name, size_t size)
{
    char abs[PATH_MAX], path[PATH_MAX + 64];
    const char *dot = strrchr(src, '.');

    if (realpath(src, abs) == NULL) {
        fprintf(stderr, "arcd process: %s: %s\n", src, strerror(errno));
        return -1;
    }
    snprintf(name, size, "%s%s.%s", base, suffix, dot && !strchr(dot, '/') ? dot + 1 : "bin");
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    if (symlink(abs, path) != 0) {
        fprintf(stderr, "arcd process: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: arcd process --photo P [--video V] [--photo P2 --video V2 ...] -o DIR\n"
                    "         [--fit contain|cover|fill|exact] [--scale WxH] [--id ID]\n"
                    "         [--border on|off] [--threads N] [--config FILE]\n");
    return 2;
}

int arc_cli_process(int argc, char **argv)
{
    const char *photos[MAX_ITEMS], *videos[MAX_ITEMS];
    const char *dir = NULL, *fit = "contain", *id = "00000000-0000-4000-8000-000000000000";
    const char *border = NULL;
    int n_photos = 0, n_videos = 0, sw = 0, sh = 0, threads = 0, status;
    arc_config_t cfg;

    /* Every option takes a value: they come in pairs. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return usage();
        if (strcmp(a, "--photo") == 0 && n_photos < MAX_ITEMS)
            photos[n_photos++] = v;
        else if (strcmp(a, "--video") == 0 && n_videos < MAX_ITEMS)
            videos[n_videos++] = v;
        else if (strcmp(a, "-o") == 0)
            dir = v;
        else if (strcmp(a, "--fit") == 0)
            fit = v;
        else if (strcmp(a, "--id") == 0)
            id = v;
        else if (strcmp(a, "--border") == 0)
            border = v;
        else if (strcmp(a, "--scale") == 0 && sscanf(v, "%dx%d", &sw, &sh) == 2)
            ;
        else if (strcmp(a, "--threads") == 0)
            threads = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--config") != 0)
            return usage();
    }
    if (dir == NULL || n_photos == 0 || n_videos > n_photos)
        return usage();
    if (strcmp(fit, "contain") != 0 && strcmp(fit, "cover") != 0 && strcmp(fit, "fill") != 0 &&
        strcmp(fit, "exact") != 0) {
        fprintf(stderr, "arcd process: --fit must be contain, cover, fill or exact\n");
        return 2;
    }
    if ((status = arc_cli_load_config(argc, argv, "process", &cfg)) != 0)
        return status;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "arcd process: %s: %s\n", dir, strerror(errno));
        arc_config_dispose(&cfg);
        return 4;
    }
    char abs_dir[PATH_MAX], tpl[PATH_MAX], url[1200];
    const char *bad = realpath(dir, abs_dir) == NULL                    ? dir
                      : realpath(cfg.viewer.template_path, tpl) == NULL ? cfg.viewer.template_path
                                                                        : NULL;
    if (bad != NULL) {
        fprintf(stderr, "arcd process: %s: %s\n", bad, strerror(errno));
        arc_config_dispose(&cfg);
        return 4;
    }
    json_t *items = json_array();
    for (int i = 0; i < n_photos; i++) {
        char suffix[16] = "", pname[64], vname[64] = "";
        if (i > 0)
            snprintf(suffix, sizeof(suffix), "-%d", i);
        if (link_input(photos[i], abs_dir, "photo", suffix, pname, sizeof(pname)) != 0 ||
            (i < n_videos &&
             link_input(videos[i], abs_dir, "video", suffix, vname, sizeof(vname)) != 0)) {
            json_decref(items);
            arc_config_dispose(&cfg);
            return 4;
        }
        json_array_append_new(items, json_pack("{s:s, s:s}", "photo", pname, "video", vname));
    }
    snprintf(url, sizeof(url), "%s/ar/view/%s", cfg.server.public_url, id);
    json_t *media = arc_config_media_json(&cfg);
    if (border != NULL)
        json_object_set_new(media, "border", json_boolean(strcmp(border, "off") != 0));
    json_t *msg = json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:s, s:i, s:i, s:o, s:o, s:I, s:i}",
                            "v", 1, "type", "job", "id", id, "dir", abs_dir, "items", items,
                            "fitMode", fit, "viewUrl", url, "scaleWidth", sw, "scaleHeight", sh,
                            "media", media, "viewer", arc_config_viewer_json(&cfg, tpl),
                            "maxPixels", (json_int_t)cfg.compile.max_pixels, "threads",
                            threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
    json_t *reply = arc_worker_run_job(msg, on_progress);
    if (isatty(STDERR_FILENO))
        fputc('\n', stderr);
    char *s = json_dumps(reply, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    int ok = json_is_true(json_object_get(reply, "ok"));
    if (!ok)
        fprintf(stderr, "arcd process: %s\n", json_string_value(json_object_get(reply, "error")));
    json_decref(reply);
    json_decref(msg);
    arc_config_dispose(&cfg);
    return ok ? 0 : 3;
}
