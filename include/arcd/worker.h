/*
 * worker.h: the worker process and its pipeline.
 *
 * `arcd worker` is started by the daemon (uv_spawn), lowers its priority,
 * limits its own address space, then runs jobs one at a time: each job goes
 * through the stages of arc_pipeline[] in order, one file per stage under
 * workers/, each reporting its progress and timing. Workers hold no database
 * connection; they talk only to their daemon (include/arcd/proto.h).
 *
 * A stage reads what earlier stages left in the job and adds its own results;
 * it returns 0 or a negative error with a readable message, and marks the
 * failure permanent when retrying cannot help (bad input).
 */
#ifndef ARCD_WORKER_H
#define ARCD_WORKER_H

#include <stdint.h>

#include <jansson.h>

#include "arcd/error.h"
#include "arcd/image.h"

typedef struct arc_job_s arc_job_t;

struct arc_job_s {
    /* From the daemon's message (borrowed from it). */
    const char *id;
    const char *dir;   /* the project's folder: inputs in, results out */
    const char *photo; /* file names inside dir */
    const char *video;
    const char *fit_mode;
    const char *view_url;          /* the public view page, for the QR code */
    int scale_width, scale_height; /* fitMode exact */
    json_t *viewer;                /* {template, vendorUrl, filterMinCF, filterBeta} */
    const char *cache_dir;         /* compiled markers by content hash, or NULL */
    json_t *config;
    uint64_t max_pixels;
    int threads;

    /* Filled by the stages. */
    arc_image_t grey; /* photo: the grey image the marker is compiled from */
    int photo_width, photo_height;
    json_t *files;      /* names of the files produced, in order */
    json_t *video_info; /* what the video stage learnt */
    json_t *timings;    /* stage name -> milliseconds */
    int permanent;      /* set by a failing stage when retrying cannot help */
    int marker_cached;  /* the marker came from the cache */

    /* Progress of the current stage in percent (0-100), reported to the
     * daemon as overall progress. */
    void (*progress)(arc_job_t *job, const char *stage, int percent);
    void *progress_arg;
    int overall; /* last overall percent reported */
    const char *stage_name;
    int stage_base, stage_weight;
};

typedef int (*arc_stage_fn)(arc_job_t *job, arc_err_t *err);

typedef struct arc_stage_s {
    const char *name;
    arc_stage_fn run;
    int weight; /* share of the job's progress, the weights summing to 100 */
} arc_stage_t;

/* The stages, one per file in workers/. */
int arc_stage_photo(arc_job_t *job, arc_err_t *err);
int arc_stage_marker(arc_job_t *job, arc_err_t *err);
int arc_stage_video(arc_job_t *job, arc_err_t *err);
int arc_stage_qr(arc_job_t *job, arc_err_t *err);
int arc_stage_viewer(arc_job_t *job, arc_err_t *err);

/* The pipeline in order, ended by {NULL}. */
extern const arc_stage_t arc_pipeline[];

/* Reports the current stage's progress (0-100). */
void arc_job_progress(arc_job_t *job, int percent);

/* Runs every stage; returns 0 or the first stage's error. The job's results
 * are freed with arc_job_dispose(). */
int arc_pipeline_run(arc_job_t *job, arc_err_t *err);
void arc_job_dispose(arc_job_t *job);

/* `arcd worker [--memory-mb N] [--nice N]`: the worker process. */
int arc_worker_main(int argc, char **argv);

#endif
