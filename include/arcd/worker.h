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
#include "arcd/mind.h"

typedef struct arc_job_s arc_job_t;

/* One photo/video pair: one target of the marker. Output files of item 0 have
 * plain names (enhanced-photo.jpg, ar-video.mp4, ...); item i > 0 adds "-i". */
typedef struct arc_item_s {
    const char *photo; /* upload file names inside the job's dir (borrowed) */
    const char *video; /* "" when the item has no video */
    char suffix[24];   /* "" or "-<i>" */

    /* Filled by the stages. */
    arc_photo_t photo_rgb; /* photo: upright, resized (freed by the border stage) */
    arc_photo_t print;     /* border: the printable image, as written */
    int inner_x, inner_y;  /* border: where the photo sits in the print */
    int inner_w, inner_h;  /* (the whole print when the border is off) */
    arc_image_t grey;      /* border: the marker's grey, decoded back from the print file */
    json_t *photo_info;    /* photo: what the photo stage learnt */
    json_t *rating;        /* marker: {score, stars, keypoints, coverage, ...} */
    json_t *video_info;    /* video: what the video stage learnt */
    char video_out[64];    /* video: the web video's file name ("" when none) */
} arc_item_t;

struct arc_job_s {
    /* From the daemon's message (borrowed from it). */
    const char *id;
    const char *dir; /* the project's folder: inputs in, results out */
    arc_item_t *items;
    size_t n_items;
    const char *fit_mode;
    const char *view_url;          /* the public view page, for the QR code */
    int scale_width, scale_height; /* fitMode exact */
    json_t *viewer;                /* {template, vendorUrl, filterMinCF, filterBeta} */
    json_t *media;                 /* {maxSide, border, borderRatio, video limits ...} */
    const char *cache_dir;         /* compiled markers by content hash, or NULL */
    json_t *config;
    uint64_t max_pixels;
    int threads;

    /* Filled by the stages. */
    json_t *files;     /* names of the files produced, in order */
    json_t *timings;   /* stage name -> milliseconds */
    json_t *rating;    /* the weakest target's rating */
    int permanent;     /* set by a failing stage when retrying cannot help */
    int marker_cached; /* the marker came from the cache */
    arc_mind_t *mind;  /* marker: the compiled (or cached) marker */

    /* Progress of the current stage in percent (0-100), reported to the
     * daemon as overall progress. */
    void (*progress)(arc_job_t *job, const char *stage, int percent);
    void *progress_arg;
    int overall; /* last overall percent reported */
    const char *stage_name;
    int stage_base, stage_weight;
};

/* Reads a media setting: job->media[key] or dflt. */
double arc_job_setting(const arc_job_t *job, const char *key, double dflt);

typedef int (*arc_stage_fn)(arc_job_t *job, arc_err_t *err);

typedef struct arc_stage_s {
    const char *name;
    arc_stage_fn run;
    int weight; /* share of the job's progress, the weights summing to 100 */
} arc_stage_t;

/* The stages, one per file in workers/. */
int arc_stage_photo(arc_job_t *job, arc_err_t *err);
int arc_stage_border(arc_job_t *job, arc_err_t *err);
int arc_stage_marker(arc_job_t *job, arc_err_t *err);
int arc_stage_features(arc_job_t *job, arc_err_t *err);
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

/* workers/sandbox.c: forbids network, exec and new processes from now on
 * (seccomp; a forbidden call kills the process). Returns 0 or ARC_EINTERNAL. */
int arc_sandbox_enter(arc_err_t *err);

/* The test hook ARCD_TEST_FORBIDDEN_CALL=socket|execve: makes that call. */
void arc_sandbox_selftest(void);

/* Runs the job a daemon's "job" message describes (include/arcd/proto.h) and
 * returns its "done" message (new reference). progress may be NULL. */
json_t *arc_worker_run_job(json_t *msg,
                           void (*progress)(arc_job_t *job, const char *stage, int percent));

/* `arcd worker [--memory-mb N] [--nice N]`: the worker process. */
int arc_worker_main(int argc, char **argv);

#endif
