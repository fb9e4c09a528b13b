/*
 * `arcd process`: runs the whole media pipeline of a job on local files,
 * without a database or daemon, as a worker would: the photos and videos
 * are linked into the output folder under the names the daemon gives
 * uploads, the job message is built and checked by the protocol's own
 * codec, and the worker's "done" message (files, rating, video details,
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
#include "arcd/limits.h"
#include "arcd/proto.h"
#include "arcd/worker.h"

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
    snprintf(name, size, "%s%s.%.8s", base, suffix, dot && !strchr(dot, '/') ? dot + 1 : "bin");
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
                    "         [--border on|off] [--smart-crop on|off] [--threads N]\n"
                    "         [--print-size 10x15|13x18|15x21|A5|A4] [--print-photo-mm MM]\n"
                    "         [--print-language ru|en] [--config FILE]\n");
    return 2;
}

/* The job message a daemon would send for these files and settings. */
static int build_job(arc_job_msg_t *j, const arc_config_t *cfg, const char *id, const char *dir,
                     const arc_opt_list_t *photos, const arc_opt_list_t *videos)
{
    char tpl[PATH_MAX], url[1200];

    if (realpath(cfg->viewer.template_path, tpl) == NULL) {
        fprintf(stderr, "arcd process: %s: %s\n", cfg->viewer.template_path, strerror(errno));
        return 4;
    }
    j->id = arc_xstrdup(id);
    j->dir = arc_xstrdup(dir);
    j->n_items = (size_t)photos->n;
    j->items = arc_xcalloc(j->n_items, sizeof(*j->items));
    for (int i = 0; i < photos->n; i++) {
        char suffix[16] = "", pname[ARC_MAX_FILE_NAME], vname[ARC_MAX_FILE_NAME] = "";
        if (i > 0)
            snprintf(suffix, sizeof(suffix), "-%d", i);
        if (link_input(photos->v[i], dir, "photo", suffix, pname, sizeof(pname)) != 0 ||
            (i < videos->n &&
             link_input(videos->v[i], dir, "video", suffix, vname, sizeof(vname)) != 0))
            return 4;
        j->items[i].photo = arc_xstrdup(pname);
        j->items[i].video = arc_xstrdup(vname);
        j->items[i].video_out = arc_xstrdup("");
        j->items[i].redo_video = 1;
    }
    snprintf(url, sizeof(url), "%s/ar/view/%s", cfg->server.public_url, id);
    j->view_url = arc_xstrdup(url);
    j->cache_dir = arc_xstrdup("");
    j->stages = ARC_STAGE_ALL;
    j->max_pixels = cfg->compile.max_pixels;
    arc_config_job_media(cfg, &j->media);
    arc_config_job_sheet(cfg, &j->sheet);
    j->viewer.template_path = arc_xstrdup(tpl);
    j->viewer.vendor_url = arc_xstrdup(cfg->viewer.vendor_url);
    j->viewer.filter_min_cf = cfg->viewer.filter_min_cf;
    j->viewer.filter_beta = cfg->viewer.filter_beta;
    j->viewer.shop_name = arc_xstrdup(cfg->viewer.shop_name);
    j->viewer.logo_url = arc_xstrdup(cfg->viewer.logo_url);
    j->viewer.accent_color = arc_xstrdup(cfg->viewer.accent_color);
    return 0;
}

int arc_cli_process(int argc, char **argv)
{
    arc_opt_list_t photos = {{0}, 0}, videos = {{0}, 0};
    const char *dir = NULL, *fit = "contain", *id = "00000000-0000-4000-8000-000000000000";
    const char *border = NULL, *smart_crop = NULL, *scale = NULL, *config_path = NULL;
    const char *print_size = NULL, *print_mm = NULL, *print_lang = NULL;
    uint64_t threads = 0;
    arc_msg_t job = {.type = ARC_MSG_JOB}, reply = {.type = ARC_MSG_DONE};
    arc_config_t cfg;
    arc_err_t err = {{0}};
    char abs_dir[PATH_MAX];
    int status, sw = 0, sh = 0;
    const arc_opt_t options[] = {
        {"--photo", NULL, ARC_OPT_LIST, &photos, 0, 0},
        {"--video", NULL, ARC_OPT_LIST, &videos, 0, 0},
        {"--output", "-o", ARC_OPT_STR, &dir, 0, 0},
        {"--fit", NULL, ARC_OPT_STR, &fit, 0, 0},
        {"--scale", NULL, ARC_OPT_STR, &scale, 0, 0},
        {"--id", NULL, ARC_OPT_STR, &id, 0, 0},
        {"--border", NULL, ARC_OPT_STR, &border, 0, 0},
        {"--smart-crop", NULL, ARC_OPT_STR, &smart_crop, 0, 0},
        {"--threads", NULL, ARC_OPT_U64, &threads, 1, 256},
        {"--print-size", NULL, ARC_OPT_STR, &print_size, 0, 0},
        {"--print-photo-mm", NULL, ARC_OPT_STR, &print_mm, 0, 0},
        {"--print-language", NULL, ARC_OPT_STR, &print_lang, 0, 0},
        {"--config", NULL, ARC_OPT_STR, &config_path, 0, 0},
    };

    if (arc_opts_parse(argc, argv, options, sizeof(options) / sizeof(options[0]), NULL, 0, NULL) !=
            0 ||
        dir == NULL || photos.n == 0 || videos.n > photos.n)
        return usage();
    if (photos.n > ARC_MAX_TARGETS) {
        fprintf(stderr, "arcd process: a job takes at most %d photo/video pairs\n",
                ARC_MAX_TARGETS);
        return 2;
    }
    if (arc_fit_parse(fit, &job.u.job.fit) != 0) {
        fprintf(stderr, "arcd process: --fit must be contain, cover, fill or exact\n");
        return 2;
    }
    if (scale != NULL) {
        char tail = 0;
        if (sscanf(scale, "%dx%d%c", &sw, &sh, &tail) != 2 || sw < 1 || sw > 10000 || sh < 1 ||
            sh > 10000) {
            fprintf(stderr, "arcd process: --scale must be WxH, each from 1 to 10000\n");
            return 2;
        }
    }
    if (job.u.job.fit == ARC_FIT_EXACT && scale == NULL) {
        fprintf(stderr, "arcd process: --fit exact needs --scale WxH\n");
        return 2;
    }
    if (border != NULL && strcmp(border, "on") != 0 && strcmp(border, "off") != 0) {
        fprintf(stderr, "arcd process: --border must be on or off\n");
        return 2;
    }
    if (smart_crop != NULL && strcmp(smart_crop, "on") != 0 && strcmp(smart_crop, "off") != 0) {
        fprintf(stderr, "arcd process: --smart-crop must be on or off\n");
        return 2;
    }
    double photo_mm = -1;
    if (print_size != NULL && arc_paper_find(print_size) == NULL) {
        fprintf(stderr, "arcd process: --print-size must be one of %s\n", arc_paper_names());
        return 2;
    }
    if (print_mm != NULL) {
        char *end = NULL;
        photo_mm = strtod(print_mm, &end);
        if (*print_mm == '\0' || *end != '\0' || !(photo_mm >= 0 && photo_mm <= 1000)) {
            fprintf(stderr, "arcd process: --print-photo-mm must be from 0 to 1000 (0: the "
                            "largest that fits)\n");
            return 2;
        }
    }
    if (print_lang != NULL && !arc_sheet_language_known(print_lang)) {
        fprintf(stderr, "arcd process: --print-language must be ru or en\n");
        return 2;
    }
    if ((status = arc_cli_load_config(config_path, "process", &cfg)) != 0)
        return status;
    if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || realpath(dir, abs_dir) == NULL) {
        fprintf(stderr, "arcd process: %s: %s\n", dir, strerror(errno));
        status = 4;
        goto out;
    }
    if ((status = build_job(&job.u.job, &cfg, id, abs_dir, &photos, &videos)) != 0)
        goto out;
    job.u.job.scale_width = sw;
    job.u.job.scale_height = sh;
    job.u.job.threads = threads > 0 ? (int)threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (border != NULL)
        job.u.job.media.border = strcmp(border, "on") == 0;
    if (smart_crop != NULL)
        job.u.job.media.video_smart_crop = strcmp(smart_crop, "on") == 0;
    if (print_size != NULL)
        snprintf(job.u.job.sheet.paper, sizeof(job.u.job.sheet.paper), "%s",
                 arc_paper_find(print_size)->name);
    if (photo_mm >= 0)
        job.u.job.sheet.photo_mm = photo_mm;
    if (print_lang != NULL)
        snprintf(job.u.job.sheet.language, sizeof(job.u.job.sheet.language), "%s", print_lang);
    /* Checked by the protocol's codec, as a worker receives it: what a
     * daemon could not send is refused here too. */
    if (arc_job_msg_check(&job.u.job, &err) != 0) {
        fprintf(stderr, "arcd process: %s\n", err.msg);
        status = 2;
        goto out;
    }
    arc_worker_run_job(&job.u.job, on_progress, &reply.u.done);
    if (isatty(STDERR_FILENO))
        fputc('\n', stderr);
    json_t *js = arc_msg_encode(&reply);
    char *s = json_dumps(js, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(js);
    status = reply.u.done.ok ? 0 : 3;
    if (!reply.u.done.ok)
        fprintf(stderr, "arcd process: %s\n", reply.u.done.error);
out:
    arc_msg_dispose(&reply);
    arc_msg_dispose(&job);
    arc_config_dispose(&cfg);
    return status;
}
