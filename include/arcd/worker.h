/*
 * worker.h: the worker process and its pipeline.
 *
 * `arcd worker` is started by the daemon (uv_spawn) with a minimal
 * environment, closes any descriptor it inherited beyond stdio, lowers its
 * priority, limits its own address space, enters its sandbox (seccomp), then
 * runs jobs one at a time: each job goes through the stages of arc_pipeline[]
 * it names, in order, one file per stage under workers/, each reporting its
 * progress and timing. Workers hold no database connection and no secret; they talk
 * only to their daemon (include/arcd/proto.h).
 *
 * A stage reads what earlier stages left in the job and adds its own results;
 * it returns 0 or a negative error with a readable message, and marks the
 * failure permanent when retrying cannot help (bad input).
 */
#ifndef ARCD_WORKER_H
#define ARCD_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arcd/error.h"
#include "arcd/image.h"
#include "arcd/mind.h"
#include "arcd/proto.h"

typedef struct arc_job_s arc_job_t;

/* One photo/video pair: one target of the marker. Output files of item 0 have
 * plain names (enhanced-photo.jpg, ar-video.mp4, ...); item i > 0 adds "-i".
 *
 * A job that skips stages (proto.h, "stages") gets from its message what
 * they would have made: without the border stage, the print's size and the
 * photo's place in it (no pixels: print.data stays NULL); for a pair whose
 * video is kept (the video stage not run, or redo_video 0), its web video
 * (video_out). arc_pipeline_run() fills these before the first stage. */
typedef struct arc_item_s {
    const char *photo; /* upload file names inside the job's dir (borrowed from the message) */
    const char *video; /* "" when the item has no video */
    char suffix[24];   /* "" or "-<i>" */

    /* Filled by the stages (or the message, above). */
    arc_photo_t photo_rgb;         /* photo: upright, resized (freed by the border stage) */
    arc_photo_t print;             /* border: the printable image's pixels, as written */
    int print_width, print_height; /* border or message: the print's size */
    int inner_x, inner_y;          /* border or message: where the photo sits in the print */
    int inner_w, inner_h;          /* (the whole print when the border is off) */
    arc_image_t grey;              /* border: the marker's grey, decoded back from the print file */
    json_t *photo_info;            /* photo: what the photo stage learnt */
    json_t *rating;                /* marker: {score, stars, keypoints, coverage, ...} */
    json_t *video_info;            /* video: what the video stage learnt (NULL for a kept video) */
    char video_out[ARC_MAX_FILE_NAME + 1]; /* video or message: the web video ("" when none) */
} arc_item_t;

struct arc_job_s {
    const arc_job_msg_t *in; /* the daemon's message (borrowed): settings, folder, files */
    const char *id;          /* in->id */
    const char *dir;         /* in->dir: the project's folder, inputs in, results out */
    arc_item_t *items;       /* one per in->items */
    size_t n_items;

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

typedef int (*arc_stage_fn)(arc_job_t *job, arc_err_t *err);

typedef struct arc_stage_s {
    const char *name;
    arc_stage_fn run;
    int weight;   /* share of the job's progress, the weights summing to 100 */
    unsigned bit; /* its ARC_STAGE_* bit (proto.h) */
} arc_stage_t;

/* The stages, one per file in workers/. */
int arc_stage_photo(arc_job_t *job, arc_err_t *err);
int arc_stage_border(arc_job_t *job, arc_err_t *err);
int arc_stage_marker(arc_job_t *job, arc_err_t *err);
int arc_stage_features(arc_job_t *job, arc_err_t *err);
int arc_stage_video(arc_job_t *job, arc_err_t *err);
int arc_stage_qr(arc_job_t *job, arc_err_t *err);
int arc_stage_viewer(arc_job_t *job, arc_err_t *err);

int arc_stage_sheet(arc_job_t *job, arc_err_t *err);

/* workers/stage_qr.c: the project's QR code as its modules, for the QR
 * stage's files and the print sheet (error correction M). */
#define ARC_QR_QUIET 4 /* the white modules round the code that a reader needs */
typedef struct arc_qr_s {
    int width;     /* modules a side, the quiet zone not included */
    uint8_t *dark; /* width * width: 1 for a dark module (owned) */
} arc_qr_t;

/* Encodes url; returns 0 or ARC_EINVAL (no URL, or one libqrencode cannot
 * take). Free with arc_qr_dispose(). */
int arc_qr_make(const char *url, arc_qr_t *out, arc_err_t *err);
void arc_qr_dispose(arc_qr_t *qr);
/* The number of dark modules in row y from column x on: the drawers make a
 * run one rectangle. */
int arc_qr_run(const arc_qr_t *qr, int x, int y);

/* workers/stage_sheet.c: finds the caption's font before the sandbox is
 * entered (fontconfig reads its configuration and caches then; the stage
 * only reads the font file). Returns 0, or ARC_EUNAVAIL when no font has
 * the captions' scripts (the stage then fails, saying so). */
int arc_sheet_prepare(void);

/* The print sheet's layout, in millimetres from the page's top left corner,
 * for a photo of aspect (width / height) on the paper, with the QR block
 * (the code above its caption) of block_w x block_h. The page turns to the
 * photo's orientation; the photo is the largest that fits inside the margins
 * and its crop marks beside the QR block, or photo_mm on its long side when
 * that is > 0. Returns 0, or ARC_EINVAL with the reason (a photo_mm that
 * does not fit, below ARC_SHEET_MIN_MM). */
#define ARC_SHEET_MARGIN_MM 5.0 /* nothing printed there: printers cannot */
#define ARC_SHEET_MARKS_MM 6.0  /* round the photo: the crop marks, then a gap */
#define ARC_SHEET_MIN_MM 20.0
typedef struct arc_sheet_layout_s {
    double page_w, page_h;   /* the page, turned */
    double photo_x, photo_y; /* the photo with its border */
    double photo_w, photo_h;
    double block_x, block_y; /* the QR block */
    int landscape;
} arc_sheet_layout_t;
int arc_sheet_layout(const arc_paper_t *paper, double aspect, double photo_mm, double block_w,
                     double block_h, arc_sheet_layout_t *out, arc_err_t *err);

/* The pipeline in order, ended by {NULL}. */
extern const arc_stage_t arc_pipeline[];

/* Reports the current stage's progress (0-100). */
void arc_job_progress(arc_job_t *job, int percent);

/* Runs the stages of job->in->stages in the pipeline's order (the others are
 * skipped: no progress share, no timing); returns 0 or the first stage's
 * error. Before the first, it fills each item from the message as above and
 * checks that every stage to run has what it needs: a stage whose input
 * comes from a skipped stage and is not in the message (marker without
 * border; video or viewer without border and without a print size) fails
 * the job permanently, ARC_EINVAL with the reason. Progress goes from 0 to
 * 100 over the stages that run, by their weights. The job's results are
 * freed with arc_job_dispose(). */
int arc_pipeline_run(arc_job_t *job, arc_err_t *err);
void arc_job_dispose(arc_job_t *job);

/* workers/sandbox.c: makes the process non-dumpable (PR_SET_DUMPABLE 0), sets
 * PR_SET_NO_NEW_PRIVS, then installs a seccomp allow-list on all its threads,
 * for good: only the calls a job makes are allowed (files, memory, threads,
 * clocks, signals to itself, glibc's fatal messages); any other (network,
 * io_uring, ioctl, exec, fork, ptrace, pidfd_*, kill of another process,
 * ...) kills the process with SIGSYS.
 * Returns 0 or ARC_EINTERNAL with the reason in err. */
int arc_sandbox_enter(arc_err_t *err);

/* The test hook ARCD_TEST_FORBIDDEN_CALL=socket|execve|io_uring: makes that
 * call (io_uring: io_uring_setup). */
void arc_sandbox_selftest(void);

/* Runs the job in (borrowed) and fills *done with its outcome (free with
 * arc_msg_dispose() on the message holding it). progress may be NULL. */
void arc_worker_run_job(const arc_job_msg_t *in,
                        void (*progress)(arc_job_t *job, const char *stage, int percent),
                        arc_done_msg_t *done);

typedef struct arc_worker_opts_s {
    long memory_mb; /* address-space limit; 0: none */
    long nice;      /* added niceness */
} arc_worker_opts_t;

/* The worker process (`arcd worker`, started by the daemon): closes every
 * descriptor but 0, 1 and 2, limits itself, enters the sandbox, says hello,
 * then runs the jobs read from stdin until stdin closes. Returns the
 * process's exit status. */
int arc_worker_main(const arc_worker_opts_t *opts);

#endif
