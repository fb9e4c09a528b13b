/* `arcd inspect` and `arcd compare`: reading .mind files for people and for tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arcd/cli.h"
#include "arcd/image.h"
#include "arcd/mind.h"

static json_t *tree_json(const arc_mind_node_t *root)
{
    size_t nodes, leaves, depth;

    arc_mind_tree_stats(root, &nodes, &leaves, &depth);
    return json_pack("{s:I, s:I, s:I}", "nodes", (json_int_t)nodes, "leaves", (json_int_t)leaves,
                     "depth", (json_int_t)depth);
}

static json_t *inspect_json(const arc_mind_t *m, const char *path, size_t bytes)
{
    json_t *targets = json_array();

    for (size_t t = 0; t < m->n_targets; t++) {
        const arc_mind_target_t *tg = &m->targets[t];
        json_t *tracking = json_array(), *kfs = json_array();
        for (size_t i = 0; i < tg->n_tracking; i++) {
            const arc_mind_tracking_t *tr = &tg->tracking[i];
            json_array_append_new(tracking, json_pack("{s:i, s:i, s:f, s:I}", "width", tr->width,
                                                      "height", tr->height, "scale", tr->scale,
                                                      "points", (json_int_t)tr->n_points));
        }
        for (size_t i = 0; i < tg->n_keyframes; i++) {
            const arc_mind_keyframe_t *kf = &tg->keyframes[i];
            json_array_append_new(kfs, json_pack("{s:i, s:i, s:f, s:I, s:I, s:o, s:o}", "width",
                                                 kf->width, "height", kf->height, "scale",
                                                 kf->scale, "maxima", (json_int_t)kf->n_maxima,
                                                 "minima", (json_int_t)kf->n_minima, "maximaTree",
                                                 tree_json(&kf->maxima_tree), "minimaTree",
                                                 tree_json(&kf->minima_tree)));
        }
        json_array_append_new(targets,
                              json_pack("{s:i, s:i, s:o, s:o}", "width", tg->width, "height",
                                        tg->height, "tracking", tracking, "keyframes", kfs));
    }
    return json_pack("{s:s, s:I, s:i, s:o}", "file", path, "bytes", (json_int_t)bytes, "version",
                     m->version, "targets", targets);
}

static void inspect_text(const arc_mind_t *m, const char *path, size_t bytes)
{
    printf("%s: MindAR .mind version %d, %zu bytes, %zu target%s\n", path, m->version, bytes,
           m->n_targets, m->n_targets == 1 ? "" : "s");
    for (size_t t = 0; t < m->n_targets; t++) {
        const arc_mind_target_t *tg = &m->targets[t];
        size_t pts = 0, tpts = 0;
        printf("target %zu: %dx%d\n", t, tg->width, tg->height);
        for (size_t i = 0; i < tg->n_tracking; i++) {
            const arc_mind_tracking_t *tr = &tg->tracking[i];
            printf("  tracking %zu: %4dx%-4d scale %.6f  %zu template points\n", i, tr->width,
                   tr->height, tr->scale, tr->n_points);
            tpts += tr->n_points;
        }
        for (size_t i = 0; i < tg->n_keyframes; i++) {
            const arc_mind_keyframe_t *kf = &tg->keyframes[i];
            size_t n1, l1, d1, n2, l2, d2;
            arc_mind_tree_stats(&kf->maxima_tree, &n1, &l1, &d1);
            arc_mind_tree_stats(&kf->minima_tree, &n2, &l2, &d2);
            printf("  keyframe %2zu: %4dx%-4d scale %.6f  %3zu maxima %3zu minima  trees %zu/%zu "
                   "nodes, depth %zu/%zu\n",
                   i, kf->width, kf->height, kf->scale, kf->n_maxima, kf->n_minima, n1, n2, d1, d2);
            pts += kf->n_maxima + kf->n_minima;
        }
        printf("  total: %zu keyframes, %zu feature points, %zu tracking points%s\n",
               tg->n_keyframes, pts, tpts,
               pts == 0 ? " (no features: MindAR will not detect this target)" : "");
    }
}

int arc_cli_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int as_json = 0, rc;
    uint8_t *buf = NULL;
    size_t len = 0;
    arc_mind_t *m = NULL;
    arc_err_t err = {{0}};

    const arc_opt_t options[] = {{"--json", NULL, ARC_OPT_FLAG, &as_json, 0, 0}};
    int n = 0;
    if (arc_opts_parse(argc, argv, options, 1, &path, 1, &n) != 0 || n != 1) {
        fprintf(stderr, "usage: arcd inspect FILE.mind [--json]\n");
        return 2;
    }
    rc = arc_file_read_all(path, (size_t)1 << 30, &buf, &len, &err);
    if (rc == 0)
        rc = arc_mind_decode(buf, len, &m, &err);
    if (rc != 0) {
        fprintf(stderr, "arcd inspect: %s: %s\n", path, err.msg);
        free(buf);
        return arc_exit_code(rc);
    }
    if (as_json) {
        json_t *js = inspect_json(m, path, len);
        char *s = json_dumps(js, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(js);
    } else {
        inspect_text(m, path, len);
    }
    arc_mind_free(m);
    free(buf);
    return 0;
}

int arc_cli_compare(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int np = 0, verbose = 0, rc = 0, status = 0;
    uint8_t *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    arc_mind_t *m[2] = {NULL, NULL};
    arc_err_t err = {{0}};
    arc_mind_cmp_t c;

    int as_json = 0; /* the JSON line is always printed last */
    const arc_opt_t options[] = {{"--verbose", NULL, ARC_OPT_FLAG, &verbose, 0, 0},
                                 {"--json", NULL, ARC_OPT_FLAG, &as_json, 0, 0}};
    if (arc_opts_parse(argc, argv, options, 2, paths, 2, &np) != 0 || np != 2) {
        fprintf(stderr, "usage: arcd compare REFERENCE.mind CANDIDATE.mind [--verbose]\n");
        return 2;
    }
    for (int k = 0; k < 2; k++) {
        rc = arc_file_read_all(paths[k], (size_t)1 << 30, &bufs[k], &lens[k], &err);
        if (rc == 0)
            rc = arc_mind_decode(bufs[k], lens[k], &m[k], &err);
        if (rc != 0) {
            fprintf(stderr, "arcd compare: %s: %s\n", paths[k], err.msg);
            status = arc_exit_code(rc);
            goto out;
        }
    }
    arc_mind_compare(m[0], m[1], &c, verbose ? stdout : NULL);
    int identical = lens[0] == lens[1] && memcmp(bufs[0], bufs[1], lens[0]) == 0;
    printf("bytes identical: %s; structure ok: %s\n", identical ? "true" : "false",
           c.structure_ok ? "true" : "false");
    printf("keypoints: %zu identical of %zu reference / %zu candidate (%.2f%%), %zu at the "
           "same position\n",
           c.fully_matched, c.ref_points, c.cand_points, c.keypoint_agreement, c.position_matched);
    printf("tracking: %zu of %zu reference points (%.2f%%), grey levels identical %zu/%zu\n",
           c.tracking_matched, c.tracking_ref_points, c.tracking_agreement,
           c.tracking_data_identical, c.tracking_levels);
    printf("cluster trees identical: %zu/%zu compared\n", c.trees_identical, c.trees_compared);
    json_t *js = json_pack(
        "{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
        "bytesIdentical", identical, "structureOk", c.structure_ok, "refPoints",
        (json_int_t)c.ref_points, "candPoints", (json_int_t)c.cand_points, "positionMatched",
        (json_int_t)c.position_matched, "fullyMatched", (json_int_t)c.fully_matched,
        "trackingLevels", (json_int_t)c.tracking_levels, "trackingDataIdentical",
        (json_int_t)c.tracking_data_identical, "trackingRefPoints",
        (json_int_t)c.tracking_ref_points, "trackingCandPoints", (json_int_t)c.tracking_cand_points,
        "trackingMatched", (json_int_t)c.tracking_matched, "treesCompared",
        (json_int_t)c.trees_compared, "treesIdentical", (json_int_t)c.trees_identical,
        "keypointAgreement", c.keypoint_agreement, "trackingAgreement", c.tracking_agreement);
    char *s = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(js);
out:
    for (int k = 0; k < 2; k++) {
        free(bufs[k]);
        arc_mind_free(m[k]);
    }
    return status;
}
