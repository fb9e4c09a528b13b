/*
 * proto.h: the daemon-worker protocol, version 5: its messages as C structs,
 * with one encode and one decode for each, used by every side (the daemon's
 * queue and worker pool, `arcd process`, and the worker).
 *
 * A worker is `arcd worker`, started by the daemon with uv_spawn; its stdin
 * carries messages from the daemon and its stdout messages to the daemon
 * (stderr is the daemon's, for logs). Each message is one frame: a 4-byte
 * big-endian length N (1 to ARC_PROTO_MAX_FRAME) and N bytes of a UTF-8
 * JSON object with "v": 4 and a "type":
 *
 *   worker -> daemon  {"v":5,"type":"hello","pid":123}   once, when ready
 *   daemon -> worker  {"v":5,"type":"job","id":"<uuid>","dir":"/abs/project/dir",
 *                      "items":[{"photo":"photo.jpg","video":"video.webm"},
 *                               {"photo":"photo-1.png","video":""}],
 *                      "stages":["photo","border","marker","features","video","viewer",
 *                                "qr","sheet"],
 *                      "fitMode":"contain","scaleWidth":0,"scaleHeight":0,
 *                      "maxPixels":40000000,"threads":1,
 *                      "viewUrl":"https://public.example/ar/view/<uuid>",
 *                      "cacheDir":"/abs/storage/cache",
 *                      "media":{"maxSide":1920,"border":true,"borderRatio":0.12,
 *                               "jpegQuality":92,"photoMaxPixels":200000000,
 *                               "videoMaxSide":1280,"videoMaxSeconds":120,
 *                               "videoMaxPixels":16777216,"videoCrf":23,
 *                               "videoPreset":"veryfast","videoCopy":true,"videoThreads":0,
 *                               "videoSmartCrop":true},
 *                      "viewer":{"template":"/abs/viewer.html","vendorUrl":"/vendor",
 *                                "filterMinCF":0.0001,"filterBeta":0.001,
 *                                "shopName":"","logoUrl":"","accentColor":"#1e88e5"},
 *                      "sheet":{"paper":"A4","photoMm":0,"language":"ru"}}
 *   worker -> daemon  {"v":5,"type":"progress","id":"...","stage":"marker","progress":40}
 *   worker -> daemon  {"v":5,"type":"done","id":"...","ok":true,"files":["marker.mind",...],
 *                      "photo":{"width":..,"height":..},"video":{...}|null,
 *                      "rating":{...}|null,"items":[{"photo":{..},"rating":{..},
 *                      "video":{..},"videoFile":"ar-video.mp4"}],
 *                      "timings":{"photo":12,...},"ms":345,"markerCache":"hit"|"miss"}
 *   worker -> daemon  {"v":5,"type":"done","id":"...","ok":false,"error":"a readable
 *                      reason","permanent":true,"timings":{...}}
 *
 * A job that runs only some stages (a video replaced after the photo was
 * printed: "stages":["video","viewer"]) gives each item what the skipped
 * stages would have made: "print":{"width","height","x","y","w","h"} (where
 * the photo sits in the print), "videoOut" (the web video an earlier run
 * made) and "redoVideo" (false: keep videoOut, this pair's video is not
 * new). Its "done" lists the files this run made.
 *
 * A worker runs one job at a time and answers every job with exactly one
 * "done". "permanent" means retrying cannot help (bad input); otherwise the
 * daemon may retry. A message of another version, of an unknown type, or
 * with a field missing, of the wrong type or out of its range is a protocol
 * error: the daemon replaces a worker that sends one, and a worker exits on
 * one. Unknown keys are ignored (room to grow within a version).
 */
#ifndef ARCD_PROTO_H
#define ARCD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arcd/buf.h"
#include "arcd/error.h"
#include "arcd/limits.h"

#define ARC_PROTO_VERSION 6
#define ARC_PROTO_MAX_FRAME (1u << 20)
/* The longest reason a failed "done" may give. */
#define ARC_PROTO_MAX_REASON 2000

/* How the video sits on the photo (the upload's fitMode). */
typedef enum arc_fit_e {
    ARC_FIT_CONTAIN = 0,
    ARC_FIT_COVER,
    ARC_FIT_FILL,
    ARC_FIT_EXACT
} arc_fit_t;

/* "contain", "cover", "fill", "exact". */
const char *arc_fit_name(arc_fit_t fit);
/* Parses a fit mode's name; returns 0 or ARC_EINVAL. */
int arc_fit_parse(const char *name, arc_fit_t *out);

/* The print sheet's papers (printSize): a name and the size in millimetres,
 * portrait. 10x15, 13x18 and 15x21 are the photo labs' sizes (102x152,
 * 127x178, 152x216 mm), A5 and A4 ISO 216's. */
typedef struct arc_paper_s {
    const char *name;
    double width_mm, height_mm;
} arc_paper_t;

/* The paper called name (case does not matter), or NULL. */
const arc_paper_t *arc_paper_find(const char *name);
/* "10x15, 13x18, 15x21, A5, A4": for messages. */
const char *arc_paper_names(void);

/* The print sheet's settings (the config's print section, with the
 * project's own choices applied). */
typedef struct arc_job_sheet_s {
    char paper[8];    /* an arc_paper_t's name */
    double photo_mm;  /* the photo's long side, border included; 0: the largest that fits */
    char language[4]; /* the caption's: "ru" or "en" */
} arc_job_sheet_t;

/* 1 when lang is a language the print sheet's caption speaks ("ru", "en"). */
int arc_sheet_language_known(const char *lang);

/* The photo and video settings of a job (the config's photo and video
 * sections, with the project's own choices applied). */
typedef struct arc_job_media_s {
    int max_side;              /* the print's long side at most, border included */
    int border;                /* draw the printable border (1) or not */
    double border_ratio;       /* its width as a share of the photo's long side */
    int jpeg_quality;          /* enhanced-photo.jpg */
    uint64_t photo_max_pixels; /* an uploaded photo's pixels at most */
    int video_max_side;        /* the output video's long side at most */
    int video_max_seconds;     /* longer videos fail the job */
    uint64_t video_max_pixels; /* per frame of the upload */
    int video_crf;             /* x264's quality */
    char video_preset[16];     /* x264's speed preset */
    int video_copy;            /* copy streams that already fit (1) */
    int video_smart_crop;      /* cover: place the crop by salience (1) or centre it (0) */
    int video_threads;         /* 0: FFmpeg picks by the cores */
} arc_job_media_t;

/* The viewer page's settings. */
typedef struct arc_job_viewer_s {
    char *template_path; /* absolute path of the viewer template (owned) */
    char *vendor_url;    /* where the page loads A-Frame and MindAR (owned) */
    double filter_min_cf, filter_beta;
    char *shop_name;    /* the shop's name on the page, "" for none (owned) */
    char *logo_url;     /* its logo, "" for none (owned) */
    char *accent_color; /* "#rrggbb" (owned) */
} arc_job_viewer_t;

/* One photo/video pair: file names inside the job's folder (owned). */
/* Where a pair's photo sits in its print, from an earlier run (a job that
 * does not draw the print again needs it); all 0 when unknown. */
typedef struct arc_job_print_s {
    int width, height; /* the print */
    int x, y, w, h;    /* the photo inside its border */
} arc_job_print_t;

typedef struct arc_job_input_s {
    char *photo;
    char *video;           /* "" when the pair has no video */
    arc_job_print_t print; /* required when the job does not run the border stage */
    char *video_out;       /* the web video an earlier run made ("" when none) */
    int redo_video;        /* 1: make the web video of `video`; 0: keep video_out */
} arc_job_input_t;

/* The pipeline's stages, a bit each, in their order. A job runs the ones in
 * its `stages` mask; every stage it skips must be one whose results the
 * job does not need or are given (a video replaced after the print: only
 * video and viewer, with each pair's print geometry). */
enum {
    ARC_STAGE_PHOTO = 1u << 0,
    ARC_STAGE_BORDER = 1u << 1,
    ARC_STAGE_MARKER = 1u << 2,
    ARC_STAGE_FEATURES = 1u << 3,
    ARC_STAGE_VIDEO = 1u << 4,
    ARC_STAGE_VIEWER = 1u << 5,
    ARC_STAGE_QR = 1u << 6,
    ARC_STAGE_SHEET = 1u << 7,
    ARC_STAGE_ALL = (1u << 8) - 1
};

/* A stage's name ("photo" ... "sheet") by its bit, or NULL. */
const char *arc_stage_name(unsigned bit);

/* The poster's name of a web video the video stage names video
 * ("ar-video<rest>.mp4" has "poster<rest>.jpg"): the worker writes both, the
 * daemon serves and removes both. Returns 0, or -1 when video is not such a
 * name (*out is then ""). */
int arc_video_poster_name(const char *video, char *out, size_t size);

/* "job": what the daemon asks a worker to do. Strings are owned by the
 * message (arc_msg_dispose()). */
typedef struct arc_job_msg_s {
    char *id;  /* the project's id */
    char *dir; /* absolute folder: inputs in, results out */
    arc_job_input_t *items;
    size_t n_items; /* 1 to ARC_MAX_TARGETS */
    arc_fit_t fit;
    int scale_width, scale_height; /* fit exact: the video's size, else 0 */
    uint64_t max_pixels;           /* limit on every image the compiler builds */
    int threads;                   /* the compiler's threads */
    char *view_url;                /* the public view page, for the QR code */
    char *cache_dir;               /* compiled markers by content hash; "" for none */
    arc_job_media_t media;
    arc_job_viewer_t viewer;
    arc_job_sheet_t sheet;
    unsigned stages;     /* ARC_STAGE_* bits; ARC_STAGE_ALL for the whole pipeline */
    int attempt;         /* 1 for the first run; 0 outside the queue (arcd process) */
    char request_id[65]; /* X-Request-Id of the request that queued it ("" if none), for logs */
} arc_job_msg_t;

/* "progress": the current stage and the job's overall percent. */
typedef struct arc_progress_msg_s {
    char *id;
    char stage[32];
    int progress; /* 0-100 */
} arc_progress_msg_t;

/* "done": the job's outcome. The JSON members are the worker's reports,
 * stored by the daemon as they are (owned references). */
typedef struct arc_done_msg_s {
    char *id;
    int ok;
    /* ok == 0: */
    char *error;   /* a readable reason */
    int permanent; /* retrying cannot help */
    /* ok == 1: */
    json_t *files;   /* array of the file names produced, in order */
    int photo_width; /* the first print's size */
    int photo_height;
    json_t *video;     /* the first item's video details, or JSON null */
    json_t *rating;    /* the weakest target's rating, or JSON null */
    json_t *items;     /* array, one object per photo/video pair */
    int marker_cached; /* the marker came from the cache */
    int64_t ms;        /* the whole job's time */
    /* both: */
    json_t *timings; /* object: stage name -> milliseconds */
} arc_done_msg_t;

typedef enum arc_msg_type_e {
    ARC_MSG_HELLO = 1,
    ARC_MSG_JOB,
    ARC_MSG_PROGRESS,
    ARC_MSG_DONE
} arc_msg_type_t;

/* Any message. A zeroed arc_msg_t is empty and may be disposed. */
typedef struct arc_msg_s {
    arc_msg_type_t type;
    union {
        struct {
            int64_t pid;
        } hello;
        arc_job_msg_t job;
        arc_progress_msg_t progress;
        arc_done_msg_t done;
    } u;
} arc_msg_t;

/* The message as its JSON object (new reference; "v" and "type" included). */
json_t *arc_msg_encode(const arc_msg_t *m);

/* Checks js (borrowed) against the protocol and fills out (its strings and
 * JSON members owned by out; free with arc_msg_dispose()). Returns 0, or
 * ARC_ECORRUPT naming the first problem (out is then empty). */
int arc_msg_decode(const json_t *js, arc_msg_t *out, arc_err_t *err);

/* Frees what m owns and zeroes it; accepts NULL. */
void arc_msg_dispose(arc_msg_t *m);

/* Checks a job the way a worker's decoder will (an encode, then a decode):
 * what a daemon must not send is refused before it is sent. Returns 0 or
 * ARC_ECORRUPT naming the problem. */
int arc_job_msg_check(const arc_job_msg_t *m, arc_err_t *err);

/* ---- frames ---- */

/* Encodes m as a frame onto out. Returns 0, or ARC_ETOOBIG when its JSON is
 * over ARC_PROTO_MAX_FRAME (nothing is added then). */
int arc_proto_frame(const arc_msg_t *m, arc_buf_t *out, arc_err_t *err);

/* Reassembles frames from a byte stream. */
typedef struct arc_proto_reader_s {
    arc_buf_t in;
} arc_proto_reader_t;

void arc_proto_reader_init(arc_proto_reader_t *r);
void arc_proto_reader_dispose(arc_proto_reader_t *r);

/* Appends bytes. */
void arc_proto_reader_feed(arc_proto_reader_t *r, const void *data, size_t len);

/* The next complete message: returns 1 and *out (free with
 * arc_msg_dispose()), 0 when more bytes are needed, or ARC_ECORRUPT (a bad
 * length, not JSON, another version, a message that fails arc_msg_decode())
 * with the reason in err. After an error the stream is not usable. */
int arc_proto_reader_next(arc_proto_reader_t *r, arc_msg_t *out, arc_err_t *err);

/* Blocking helpers for the worker side (fd 0 / fd 1). Read: 1 and a
 * message, 0 at the end of input, ARC_ECORRUPT when the input ends inside a
 * frame, or an error. Write: 0, ARC_EIO, or arc_proto_frame()'s error (the
 * message is too big: nothing is written). */
int arc_proto_read_fd(int fd, arc_proto_reader_t *r, arc_msg_t *out, arc_err_t *err);
int arc_proto_write_fd(int fd, const arc_msg_t *m);

#endif
