/* `arcd compile`: photos in, one .mind out, with a progress bar and a JSON summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "arcd/cli.h"
#include "arcd/clock.h"
#include "arcd/compiler.h"
#include "arcd/config.h"

typedef struct progress_s {
    int enabled;
    int last; /* last drawn tenth of a percent */
} progress_t;

static void draw_progress(void *arg, double pct)
{
    progress_t *p = arg;
    int tenth = (int)(pct * 10);
    int filled = (int)(pct / 100.0 * 40);

    if (!p->enabled || tenth == p->last)
        return;
    p->last = tenth;
    fprintf(stderr, "\rcompiling [%.*s%*s] %5.1f%%", filled,
            "########################################", 40 - filled, "", pct);
    fflush(stderr);
}

static size_t total_points(const arc_mind_keyframe_t *kf)
{
    return kf->n_maxima + kf->n_minima;
}

static json_t *summary(const arc_mind_t *m, char **inputs, const char *out, size_t bytes, double ms,
                       const double stage_ms[3], json_t *warnings)
{
    json_t *targets = json_array();

    for (size_t t = 0; t < m->n_targets; t++) {
        const arc_mind_target_t *tg = &m->targets[t];
        json_t *per_kf = json_array();
        json_t *tracking = json_array();
        size_t pts = 0, tpts = 0;
        for (size_t k = 0; k < tg->n_keyframes; k++) {
            json_array_append_new(per_kf,
                                  json_integer((json_int_t)total_points(&tg->keyframes[k])));
            pts += total_points(&tg->keyframes[k]);
        }
        for (size_t k = 0; k < tg->n_tracking; k++) {
            json_array_append_new(tracking, json_integer((json_int_t)tg->tracking[k].n_points));
            tpts += tg->tracking[k].n_points;
        }
        arc_rating_t rating;
        arc_rating_compute(tg, &rating);
        json_array_append_new(targets,
                              json_pack("{s:s, s:i, s:i, s:i, s:o, s:I, s:o, s:I, s:o}", "input",
                                        inputs[t], "width", tg->width, "height", tg->height,
                                        "keyframes", (int)tg->n_keyframes, "pointsPerKeyframe",
                                        per_kf, "points", (json_int_t)pts, "trackingPointsPerImage",
                                        tracking, "trackingPoints", (json_int_t)tpts, "rating",
                                        arc_rating_json(&rating)));
    }
    json_t *js = json_pack("{s:s, s:I, s:i, s:o, s:f, s:I, s:s, s:o}", "output", out, "bytes",
                           (json_int_t)bytes, "version", m->version, "targets", targets, "ms", ms,
                           "peakRssKb", (json_int_t)arc_cli_peak_rss_kb(), "compiler",
                           ARC_COMPILER_VERSION, "warnings", warnings);
    json_object_set_new(js, "timingsMs",
                        json_pack("{s:f, s:f, s:f}", "decode", stage_ms[0], "compile", stage_ms[1],
                                  "write", stage_ms[2]));
    return js;
}

int arc_cli_compile(int argc, char **argv)
{
    const char *out = NULL;
    const char *grey_out = NULL;
    char **inputs = arc_xcalloc((size_t)argc + 1, sizeof(char *));
    size_t n_inputs = 0;
    int as_json = 0, quiet = 0;
    arc_compile_opts_t opts = {0};
    progress_t prog = {0, -1};
    arc_image_t *images = NULL;
    arc_mind_t *m = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    arc_err_t err = {{0}};
    int rc = 0, status = 0;

    const char *config_path = NULL;
    uint64_t threads = 0, max_pixels = 0;
    const arc_opt_t options[] = {
        {"--output", "-o", ARC_OPT_STR, &out, 0, 0},
        {"--grey-out", NULL, ARC_OPT_STR, &grey_out, 0, 0},
        {"--json", NULL, ARC_OPT_FLAG, &as_json, 0, 0},
        {"--quiet", "-q", ARC_OPT_FLAG, &quiet, 0, 0},
        {"--threads", NULL, ARC_OPT_U64, &threads, 1, 256},
        {"--max-pixels", NULL, ARC_OPT_U64, &max_pixels, 1, UINT64_MAX / 2},
        {"--config", NULL, ARC_OPT_STR, &config_path, 0, 0},
    };
    int n_in = 0;
    if (arc_opts_parse(argc, argv, options, sizeof(options) / sizeof(options[0]),
                       (const char **)inputs, argc, &n_in) != 0)
        goto usage;
    n_inputs = (size_t)n_in;
    /* The settings file first, then the options on the command line over it. */
    arc_config_t cfg;
    if ((status = arc_cli_load_config(config_path, "compile", &cfg)) != 0)
        goto out;
    opts.max_pixels = max_pixels ? max_pixels : cfg.compile.max_pixels;
    opts.threads = threads ? (int)threads : cfg.compile.threads;
    arc_config_dispose(&cfg);
    if (out == NULL || n_inputs == 0)
        goto usage;

    double t0 = arc_now_ms();
    images = arc_xcalloc(n_inputs, sizeof(*images));
    for (size_t i = 0; i < n_inputs; i++) {
        rc = arc_image_load_grey(inputs[i], opts.max_pixels, &images[i], &err);
        if (rc == 0)
            rc = arc_compile_check(images[i].width, images[i].height, opts.max_pixels, &err);
        if (rc != 0) {
            fprintf(stderr, "arcd compile: %s: %s\n", inputs[i], err.msg);
            status = arc_exit_code(rc);
            goto out;
        }
    }
    /* As the reference tool's --grey-out: the first target's grey pixels, for
     * feeding both compilers exactly the same input. */
    if (grey_out != NULL && (rc = arc_image_save_pgm(&images[0], grey_out, &err)) != 0) {
        fprintf(stderr, "arcd compile: %s\n", err.msg);
        status = arc_exit_code(rc);
        goto out;
    }
    double t1 = arc_now_ms();
    prog.enabled = !quiet && isatty(STDERR_FILENO);
    opts.progress = draw_progress;
    opts.progress_arg = &prog;
    rc = arc_compile(images, n_inputs, &opts, &m, &err);
    if (prog.enabled)
        fprintf(stderr, "\r%60s\r", "");
    if (rc != 0) {
        fprintf(stderr, "arcd compile: %s\n", err.msg);
        status = arc_exit_code(rc);
        goto out;
    }
    double t2 = arc_now_ms();
    arc_mind_encode(m, &buf, &len);
    rc = arc_file_write_atomic(out, buf, len, &err);
    if (rc != 0) {
        fprintf(stderr, "arcd compile: %s\n", err.msg);
        status = arc_exit_code(rc);
        goto out;
    }
    double t3 = arc_now_ms();
    double ms = t3 - t0;
    double stage_ms[3] = {t1 - t0, t2 - t1, t3 - t2};

    json_t *warnings = json_array();
    for (size_t t = 0; t < m->n_targets; t++) {
        size_t pts = 0;
        for (size_t k = 0; k < m->targets[t].n_keyframes; k++)
            pts += total_points(&m->targets[t].keyframes[k]);
        if (pts == 0) {
            char msg[512];
            snprintf(msg, sizeof(msg),
                     "%s has no feature points: MindAR will never detect this target (add "
                     "texture or a border)",
                     inputs[t]);
            json_array_append_new(warnings, json_string(msg));
            fprintf(stderr, "arcd compile: warning: %s\n", msg);
        }
    }
    json_t *js = summary(m, inputs, out, len, ms, stage_ms, warnings);
    if (as_json) {
        char *s = json_dumps(js, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
    } else {
        size_t kfs = 0, pts = 0, tpts = 0;
        for (size_t t = 0; t < m->n_targets; t++) {
            kfs += m->targets[t].n_keyframes;
            for (size_t k = 0; k < m->targets[t].n_keyframes; k++)
                pts += total_points(&m->targets[t].keyframes[k]);
            for (size_t k = 0; k < m->targets[t].n_tracking; k++)
                tpts += m->targets[t].tracking[k].n_points;
        }
        printf("wrote %s (%zu bytes): %zu target%s, %zu keyframes, %zu feature points, %zu "
               "tracking points in %.0f ms\n",
               out, len, m->n_targets, m->n_targets == 1 ? "" : "s", kfs, pts, tpts, ms);
        for (size_t t = 0; t < m->n_targets; t++) {
            arc_rating_t r;
            arc_rating_compute(&m->targets[t], &r);
            printf("%s: trackability %d/100, %d star%s (%zu keypoints, %.0f%% covered, %zu "
                   "tracking points)\n",
                   inputs[t], r.score, r.stars, r.stars == 1 ? "" : "s", r.keypoints,
                   r.coverage * 100, r.tracking_points);
            for (size_t i = 0; i < r.n_reasons; i++)
                printf("  - %s\n", r.reasons[i]);
        }
    }
    json_decref(js);
    goto out;

usage:
    fprintf(stderr,
            "usage: arcd compile IN.(jpg|jpeg|png|pgm)... -o OUT.mind [--json] "
            "[--threads N] [--max-pixels N] [--grey-out G.pgm] [--config FILE] [--quiet]\n");
    status = 2;
out:
    for (size_t i = 0; images != NULL && i < n_inputs; i++)
        arc_image_dispose(&images[i]);
    free(images);
    free(inputs);
    free(buf);
    arc_mind_free(m);
    return status;
}
