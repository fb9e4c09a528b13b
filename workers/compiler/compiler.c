/*
 * The compiler's driver: MindAR's CompilerBase.compileImageTargets() as a set
 * of independent tasks (one per keyframe, one per tracking image) run on a
 * small thread pool, largest first. Each task writes only its own slot of the
 * result, so the output is the same whatever the scheduling.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arcd/clock.h"
#include "arcd/compiler.h"
#include "compiler_internal.h"

typedef struct task_s {
    const arc_image_t *src;
    const uint32_t *integral; /* the source's summed-area table */
    double scale;
    int tracking;                  /* 1: a tracking image, 0: a keyframe */
    arc_mind_keyframe_t *keyframe; /* the slot it fills */
    arc_mind_tracking_t *track;
    double cost;
} task_t;

typedef struct pool_s {
    task_t *tasks;
    size_t n;
    size_t next; /* atomic */
    pthread_mutex_t lock;
    double done, total;
    const arc_compile_opts_t *opts;
} pool_t;

/* Relative cost of a tracking image's pixel against a keyframe's, for the
 * largest-first order and the progress bar: on bear.pgm the 256x256 tracking
 * image took about 20 ms and the 7.4 million keyframe pixels about 105 ms. */
#define TRACKING_COST_FACTOR 20.0

static void run_keyframe(const task_t *t, const uint8_t *img, int w, int h)
{
    arc_mind_keyframe_t *kf = t->keyframe;

    arc__detect(img, w, h, &kf->maxima, &kf->n_maxima, &kf->minima, &kf->n_minima);
    arc__cluster_build(kf->maxima, kf->n_maxima, &kf->maxima_tree);
    arc__cluster_build(kf->minima, kf->n_minima, &kf->minima_tree);
    kf->width = w;
    kf->height = h;
    kf->scale = t->scale;
}

static void run_task(task_t *t)
{
    int w, h;

    arc__resize_dims(t->src->width, t->src->height, t->scale, &w, &h);
    if (!t->tracking && w == t->src->width && h == t->src->height && t->scale == 1.0) {
        /* The full-size keyframe is the source itself: no copy. */
        run_keyframe(t, t->src->data, w, h);
        return;
    }
    uint8_t *img = arc_xmallocarray((size_t)w, (size_t)h);
    arc__resize_integral(t->src->data, t->integral, t->src->width, t->src->height, t->scale, img, w,
                         h);
    if (t->tracking) {
        arc_mind_tracking_t *tr = t->track;
        arc__tracking_extract(img, w, h, &tr->points, &tr->n_points);
        tr->data = img;
        tr->data_len = (size_t)w * (size_t)h;
        tr->scale = t->scale;
        tr->width = w;
        tr->height = h;
        return;
    }
    run_keyframe(t, img, w, h);
    free(img);
}

static void *worker(void *arg)
{
    pool_t *p = arg;
    /* ARCD_TRACE_TASKS=1 prints each task's timing on stderr, for tuning. */
    const char *trace_env = getenv("ARCD_TRACE_TASKS");
    int trace = trace_env != NULL && trace_env[0] == '1';

    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n)
            break;
        double t0 = trace ? arc_now_ms() : 0;
        run_task(&p->tasks[i]);
        if (trace)
            fprintf(stderr, "task %2zu %s scale %.4f: %.1f ms (thread %lx, from %.1f)\n", i,
                    p->tasks[i].tracking ? "tracking" : "keyframe", p->tasks[i].scale,
                    arc_now_ms() - t0, (unsigned long)pthread_self(), t0);
        if (p->opts->progress != NULL) {
            pthread_mutex_lock(&p->lock);
            p->done += p->tasks[i].cost;
            p->opts->progress(p->opts->progress_arg, 100.0 * p->done / p->total);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

static int cmp_cost_desc(const void *a, const void *b)
{
    const task_t *x = a, *y = b;
    return x->cost > y->cost ? -1 : (x->cost < y->cost);
}

int arc_compile_check(int width, int height, uint64_t max_pixels, arc_err_t *err)
{
    double scales[ARC_MAX_SCALES], track[2];
    int min_side = width < height ? width : height;

    if (max_pixels == 0)
        max_pixels = ARC_IMAGE_DEFAULT_MAX_PIXELS;
    if (width <= 0 || height <= 0 || min_side < ARC_COMPILE_MIN_SIDE)
        return arc_err_set(err, ARC_ETOOSMALL,
                           "image is %dx%d: the short side must be at least %d px (MindAR's "
                           "detector builds no pyramid below that)",
                           width, height, ARC_COMPILE_MIN_SIDE);
    size_t n = arc__matching_scales(width, height, scales, ARC_MAX_SCALES);
    arc__tracking_scales(width, height, track);
    for (size_t i = 0; i < n + 2; i++) {
        double s = i < n ? scales[i] : track[i - n];
        int w, h;
        arc__resize_dims(width, height, s, &w, &h);
        if ((uint64_t)w * (uint64_t)h > max_pixels)
            return arc_err_set(err, ARC_ETOOBIG,
                               "image is %dx%d: MindAR would scale it to %dx%d (%.1f "
                               "megapixels, over the limit of %.1f) because it brings the "
                               "short side to %d px; crop it to a less extreme shape",
                               width, height, w, h, (double)w * h / 1e6, (double)max_pixels / 1e6,
                               i < n ? 100 : (i == n ? 256 : 128));
    }
    return 0;
}

int arc_compile(const arc_image_t *targets, size_t n, const arc_compile_opts_t *opts,
                arc_mind_t **out, arc_err_t *err)
{
    static const arc_compile_opts_t defaults = {0};
    pool_t pool;
    pthread_t *threads = NULL;
    uint32_t **integrals = NULL;
    arc_mind_t *m = NULL;
    size_t ntasks = 0;
    int nthreads, rc = 0;

    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    for (size_t t = 0; t < n; t++) {
        rc = arc_compile_check(targets[t].width, targets[t].height, opts->max_pixels, err);
        if (rc != 0)
            return rc;
    }

    m = arc_mind_create(n);
    integrals = arc_xcalloc(n ? n : 1, sizeof(uint32_t *));
    memset(&pool, 0, sizeof(pool));
    pool.tasks = arc_xcalloc(n * (ARC_MAX_SCALES + 2) + 1, sizeof(task_t));
    pool.opts = opts;
    for (size_t t = 0; t < n; t++) {
        const arc_image_t *src = &targets[t];
        arc_mind_target_t *tg = &m->targets[t];
        double scales[ARC_MAX_SCALES], track[2];
        size_t ns = arc__matching_scales(src->width, src->height, scales, ARC_MAX_SCALES);

        integrals[t] = arc__integral(src->data, src->width, src->height);
        tg->width = src->width;
        tg->height = src->height;
        tg->n_keyframes = ns;
        tg->keyframes = arc_xcalloc(ns, sizeof(*tg->keyframes));
        tg->n_tracking = 2;
        tg->tracking = arc_xcalloc(2, sizeof(*tg->tracking));
        arc__tracking_scales(src->width, src->height, track);
        for (size_t k = 0; k < ns + 2; k++) {
            task_t *task = &pool.tasks[ntasks++];
            int w, h;
            task->src = src;
            task->integral = integrals[t];
            task->tracking = k >= ns;
            task->scale = k < ns ? scales[k] : track[k - ns];
            if (task->tracking)
                task->track = &tg->tracking[k - ns];
            else
                task->keyframe = &tg->keyframes[k];
            arc__resize_dims(src->width, src->height, task->scale, &w, &h);
            task->cost = (double)w * h * (task->tracking ? TRACKING_COST_FACTOR : 1.0) + 1.0;
            pool.total += task->cost;
        }
    }
    pool.n = ntasks;
    /* Largest first, so the last tasks to finish are small ones. */
    qsort(pool.tasks, ntasks, sizeof(task_t), cmp_cost_desc);

    nthreads = opts->threads > 0 ? opts->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if ((size_t)nthreads > ntasks)
        nthreads = (int)ntasks;
    pthread_mutex_init(&pool.lock, NULL);
    threads = arc_xcalloc((size_t)nthreads, sizeof(pthread_t));
    int started = 0;
    for (int i = 1; i < nthreads; i++) {
        if (pthread_create(&threads[i], NULL, worker, &pool) != 0)
            break; /* fewer threads is slower, not wrong */
        started++;
    }
    worker(&pool);
    for (int i = 1; i <= started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&pool.lock);

    *out = m;
    free(threads);
    free(pool.tasks);
    for (size_t t = 0; integrals != NULL && t < n; t++)
        free(integrals[t]);
    free(integrals);
    return rc;
}
