/*
 * Pipeline stage "video": turns each uploaded video into one every phone
 * plays in the viewer, with FFmpeg's libraries.
 *
 * 1. Probe (libavformat): size, duration, frame rate, codecs, the rotation a
 *    phone recorded in the display matrix, and where the keyframes fall. A
 *    file without a video stream, over the duration limit or too large a
 *    frame is refused with a readable reason (permanently: retrying cannot
 *    help).
 * 2. Geometry: the fit mode against the photo's aspect (contain: as is;
 *    cover: centre crop to the photo's aspect; fill: stretched to it; exact:
 *    scaleWidth x scaleHeight), then the long side capped (1280 px by
 *    default), even sizes for 4:2:0.
 * 3. When the upload is already H.264 (yuv420p, Baseline or Main, level 4.0
 *    at most) at the right size, upright, with AAC or no audio and a
 *    keyframe at least every 1.5 s, its streams are copied into the MP4
 *    without re-encoding (less the H.264 stream's SEI user data). Otherwise
 *    it is decoded (libavcodec), filtered (libavfilter: rotation, crop,
 *    scale, frame rate at most 30, yuv420p) and encoded: H.264 Main level 4.0
 *    with a keyframe every second by libx264, AAC 128 kb/s stereo.
 * 4. The MP4 is written with `moov` first (faststart) to a temporary name
 *    and renamed to ar-video.mp4; poster.jpg is the first frame as shown.
 *    Neither carries the upload's metadata: no container or stream
 *    dictionary (location, make, model, dates, handler names), no side data,
 *    no SEI user data (write_header, strip_user_data).
 *
 * Only pairs with redo_video are converted; the others keep the web video of
 * an earlier run (the item's video_out, from the message). A pair that
 * already has a web video gets its new one under a new name,
 * ar-video.<tag>.mp4 with poster.<tag>.jpg, the tag being the first 8 hex
 * digits of the new MP4's SHA-256: a phone playing the old file while the
 * job runs keeps playing it, and the viewer page, written after, switches to
 * the new one. The daemon removes the old files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/mastering_display_metadata.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <openssl/evp.h>

#include "arcd/log.h"
#include "arcd/worker.h"
#include "video_internal.h"

/* What the probe learnt of an upload. */
typedef struct probe_s {
    AVFormatContext *in;
    int vi, ai; /* stream indexes; ai < 0 when there is no audio */
    int width, height;
    int dw, dh;   /* as displayed: rotation and pixel aspect applied */
    int rotation; /* clockwise degrees the picture must turn: 0, 90, 180, 270 */
    double duration, fps, max_key_gap;
    arc__video_colour_t colour;
} probe_t;

/* The output's geometry and how it is made. */
typedef struct plan_s {
    int crop_w, crop_h; /* 0: no crop */
    int crop_x, crop_y; /* the window's top-left corner in the upright frame */
    int crop_smart;     /* 1: placed by the samples' salience, 0: centred */
    double peak;        /* HDR: the tone map's peak, in SDR-white units */
    int samples;        /* frames the sample pass decoded (-1: it did not run) */
    int out_w, out_h;
    int fps_cap;
    int copy; /* streams copied as they are */
    char why_encode[160];
} plan_t;

/* One transcode or copy in flight. */
typedef struct conv_s {
    arc_job_t *job;
    probe_t *pr;
    plan_t *plan;
    AVFormatContext *out;
    AVCodecContext *vdec, *adec, *venc, *aenc;
    AVFilterGraph *vgraph, *agraph;
    AVFilterContext *vsrc, *vsink, *asrc, *asink;
    AVStream *vout, *aout;
    AVFrame *frame, *filtered;
    AVPacket *pkt;
    int poster_done;
    int64_t frames_out;
    int64_t packets[2]; /* read of the video and of the audio stream */
    int corrupt;        /* packets the demuxer flagged as damaged (read short) */
    char poster_path[4200];
} conv_t;

static int av_fail(arc_err_t *err, int code, const char *what, int averr)
{
    char msg[AV_ERROR_MAX_STRING_SIZE] = {0};

    av_strerror(averr, msg, sizeof(msg));
    return arc_err_set(err, code, "%s: %s", what, msg);
}

/* ---- FFmpeg's messages ----
 * FFmpeg's own logger (av_log_default_callback) asks isatty(2) on its first
 * message, an ioctl the sandbox refuses: the first error FFmpeg logged about
 * a damaged upload killed the worker with SIGSYS, and the job went round
 * the workers until it had crashed three. So the stage logs them itself:
 * each line formatted here and written to stderr with write(2), which is
 * all a message costs. It also keeps the last error line, which says what
 * FFmpeg found ("moov atom not found", "partial file") better than an error
 * code does, for the job's message. Decoder and encoder threads log too: a
 * lock keeps the lines whole. */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_line_start = 1;   /* av_log_format_line2()'s print_prefix: a line begins */
static int log_errors;           /* error lines since log_forget() */
static char log_last_error[160]; /* the last of them, without FFmpeg's prefix */

static void on_av_log(void *avcl, int level, const char *fmt, va_list vl)
{
    static char pending[1024]; /* a line in parts, under log_lock */
    static size_t pending_len;
    char line[1024], msg[sizeof(log_last_error)];
    va_list again;

    /* A callback filters for itself: av_log() calls it at every level. */
    if (level > av_log_get_level())
        return;
    va_copy(again, vl);
    pthread_mutex_lock(&log_lock);
    int n = av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &log_line_start);
    if (n > 0) {
        /* FFmpeg writes a line in parts: one log line once it is whole. */
        size_t add = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        if (add > sizeof(pending) - 1 - pending_len)
            add = sizeof(pending) - 1 - pending_len;
        memcpy(pending + pending_len, line, add);
        pending_len += add;
        pending[pending_len] = '\0';
        if (log_line_start || pending_len == sizeof(pending) - 1) {
            while (pending_len > 0 && pending[pending_len - 1] == '\n')
                pending[--pending_len] = '\0';
            arc_log_msg(level <= AV_LOG_ERROR ? ARC_LOG_ERROR : ARC_LOG_WARN, "ffmpeg: %s",
                        pending);
            pending_len = 0;
        }
    }
    if (level <= AV_LOG_ERROR) {
        vsnprintf(msg, sizeof(msg), fmt, again);
        size_t len = strlen(msg);
        while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ' || msg[len - 1] == '.'))
            msg[--len] = '\0';
        if (len > 0) {
            memcpy(log_last_error, msg, len + 1);
            log_errors++;
        }
    }
    pthread_mutex_unlock(&log_lock);
    va_end(again);
}

/* Forgets the errors logged so far: a new upload begins. */
static void log_forget(void)
{
    pthread_mutex_lock(&log_lock);
    log_errors = 0;
    log_last_error[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

/* The errors logged since log_forget(), and the last one's text in out. */
static int log_last(char *out, size_t size)
{
    pthread_mutex_lock(&log_lock);
    int n = log_errors;
    snprintf(out, size, "%s", log_last_error);
    pthread_mutex_unlock(&log_lock);
    return n;
}

static int even(double v)
{
    int i = (int)lround(v / 2.0) * 2;
    return i < 2 ? 2 : i;
}

/* ---- probing ---- */

static int rotation_of(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (m == NULL)
        return 0;
    double theta = -av_display_rotation_get((const int32_t *)m);
    if (isnan(theta))
        return 0;
    int r = (int)lround(theta / 90.0) * 90 % 360;
    return r < 0 ? r + 360 : r;
}

/* Reads every packet header of the video stream (no decoding) for the
 * longest stretch without a keyframe, and the true duration. */
static void scan_keyframes(probe_t *pr)
{
    AVPacket *pkt = av_packet_alloc();
    AVStream *st = pr->in->streams[pr->vi];
    double last_key = -1, end = 0;

    pr->max_key_gap = 0;
    while (av_read_frame(pr->in, pkt) >= 0) {
        if (pkt->stream_index == pr->vi && pkt->pts != AV_NOPTS_VALUE) {
            double t = (double)pkt->pts * av_q2d(st->time_base);
            double d = pkt->duration > 0 ? (double)pkt->duration * av_q2d(st->time_base) : 0;
            if (pkt->flags & AV_PKT_FLAG_KEY) {
                if (last_key >= 0 && t - last_key > pr->max_key_gap)
                    pr->max_key_gap = t - last_key;
                if (last_key < 0 && t > 0.1)
                    pr->max_key_gap = 1e9; /* does not start on a keyframe */
                last_key = t;
            }
            if (t + d > end)
                end = t + d;
        }
        av_packet_unref(pkt);
    }
    if (last_key < 0)
        pr->max_key_gap = 1e9;
    else if (end - last_key > pr->max_key_gap)
        pr->max_key_gap = end - last_key;
    av_packet_free(&pkt);
}

static int probe_open(const char *path, probe_t *pr, arc_err_t *err)
{
    int rc = avformat_open_input(&pr->in, path, NULL, NULL);
    if (rc < 0)
        return av_fail(err, ARC_EFORMAT, "the video cannot be read", rc);
    rc = avformat_find_stream_info(pr->in, NULL);
    if (rc < 0)
        return av_fail(err, ARC_ECORRUPT, "the video's streams cannot be read", rc);
    return 0;
}

static int probe(arc_job_t *job, const char *path, probe_t *pr, arc_err_t *err)
{
    int rc = probe_open(path, pr, err);
    if (rc != 0)
        return rc;
    pr->vi = pr->ai = -1;
    for (unsigned i = 0; i < pr->in->nb_streams; i++) {
        const AVStream *st = pr->in->streams[i];
        enum AVMediaType t = st->codecpar->codec_type;
        if (t == AVMEDIA_TYPE_VIDEO && pr->vi < 0 &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            pr->vi = (int)i;
        else if (t == AVMEDIA_TYPE_AUDIO && pr->ai < 0)
            pr->ai = (int)i;
    }
    if (pr->vi < 0)
        return arc_err_set(err, ARC_EFORMAT, "the file has no video stream (%s)",
                           pr->ai >= 0 ? "it holds only audio" : "nothing playable in it");
    if (pr->ai >= 0 && avcodec_find_decoder(pr->in->streams[pr->ai]->codecpar->codec_id) == NULL)
        pr->ai = -1; /* an audio track we cannot read is dropped, not fatal */

    AVStream *vs = pr->in->streams[pr->vi];
    const AVCodecParameters *cp = vs->codecpar;
    if (avcodec_find_decoder(cp->codec_id) == NULL)
        return arc_err_set(err, ARC_EFORMAT, "the video codec %s is not supported",
                           avcodec_get_name(cp->codec_id));
    pr->width = cp->width;
    pr->height = cp->height;
    if (pr->width <= 0 || pr->height <= 0)
        return arc_err_set(err, ARC_ECORRUPT, "the video stream has no frame size");
    double max_pixels = (double)job->in->media.video_max_pixels;
    if ((double)pr->width * pr->height > max_pixels)
        return arc_err_set(err, ARC_ETOOBIG,
                           "the video is %dx%d, over the limit of %.1f megapixels per frame",
                           pr->width, pr->height, max_pixels / 1e6);
    AVRational sar = av_guess_sample_aspect_ratio(pr->in, vs, NULL);
    double sx = sar.num > 0 && sar.den > 0 ? av_q2d(sar) : 1.0;
    pr->rotation = rotation_of(vs);
    int w = sx >= 1 ? even(pr->width * sx) : pr->width,
        h = sx < 1 ? even(pr->height / sx) : pr->height;
    pr->dw = pr->rotation % 180 ? h : w;
    pr->dh = pr->rotation % 180 ? w : h;
    AVRational fr = av_guess_frame_rate(pr->in, vs, NULL);
    pr->fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 30.0;
    if (pr->fps > 240 || pr->fps < 1)
        pr->fps = 30.0;
    pr->duration = pr->in->duration != AV_NOPTS_VALUE ? (double)pr->in->duration / AV_TIME_BASE
                   : vs->duration != AV_NOPTS_VALUE   ? (double)vs->duration * av_q2d(vs->time_base)
                                                      : 0;
    double max_s = job->in->media.video_max_seconds;
    if (pr->duration > max_s + 0.5)
        return arc_err_set(err, ARC_ETOOBIG, "the video lasts %.1f s, over the limit of %.0f s",
                           pr->duration, max_s);
    arc__video_colour_of(vs, &pr->colour);
    if (pr->colour.dv_no_base)
        return arc_err_set(err, ARC_EFORMAT,
                           "the video is Dolby Vision profile %d, which has no picture other "
                           "players can show in true colours: export it as HDR (HLG or HDR10) "
                           "or SDR",
                           pr->colour.dv_profile);
    return 0;
}

/* ---- the plan ---- */

static int h264_fits(const AVCodecParameters *cp)
{
    int profile_ok = cp->profile == FF_PROFILE_H264_BASELINE ||
                     cp->profile == FF_PROFILE_H264_CONSTRAINED_BASELINE ||
                     cp->profile == FF_PROFILE_H264_MAIN;
    return cp->codec_id == AV_CODEC_ID_H264 && cp->format == AV_PIX_FMT_YUV420P && profile_ok &&
           cp->level > 0 && cp->level <= 40;
}

static void plan_make(const arc_job_t *job, const arc_item_t *it, const probe_t *pr, plan_t *pl)
{
    int max_side = job->in->media.video_max_side;
    double pa = it->inner_h > 0 ? (double)it->inner_w / it->inner_h : 1.0;
    double va = (double)pr->dw / pr->dh;
    double w = pr->dw, h = pr->dh;

    memset(pl, 0, sizeof(*pl));
    if (job->in->fit == ARC_FIT_COVER && fabs(va - pa) / pa > 0.01) {
        if (va > pa)
            pl->crop_w = even(pr->dh * pa), pl->crop_h = pr->dh;
        else
            pl->crop_w = pr->dw, pl->crop_h = even(pr->dw / pa);
        /* Centred until the samples say better (place_crop). */
        pl->crop_x = (pr->dw - pl->crop_w) / 2 & ~1;
        pl->crop_y = (pr->dh - pl->crop_h) / 2 & ~1;
        w = pl->crop_w;
        h = pl->crop_h;
    } else if (job->in->fit == ARC_FIT_FILL && fabs(va - pa) / pa > 0.01) {
        /* Stretched to the photo's aspect, keeping the larger side. */
        if (va > pa)
            h = w / pa;
        else
            w = h * pa;
    } else if (job->in->fit == ARC_FIT_EXACT && job->in->scale_width > 0 &&
               job->in->scale_height > 0) {
        w = job->in->scale_width;
        h = job->in->scale_height;
    }
    double side = w > h ? w : h;
    if (side > max_side) {
        w = w * max_side / side;
        h = h * max_side / side;
    }
    pl->out_w = even(w);
    pl->out_h = even(h);
    pl->fps_cap = pr->fps > 30.5 ? 30 : 0;
    pl->peak = 1.0;
    pl->samples = -1;

    const AVCodecParameters *cp = pr->in->streams[pr->vi]->codecpar;
    const AVCodecParameters *ap = pr->ai >= 0 ? pr->in->streams[pr->ai]->codecpar : NULL;
    const char *why = NULL;
    if (!h264_fits(cp))
        why = "not H.264 4:2:0 Main level 4.0 or below";
    else if (!arc__video_colour_is_web(&pr->colour))
        why = pr->colour.hdr ? "HDR, tone-mapped to SDR" : "colours not BT.709";
    else if (pr->rotation != 0)
        why = "recorded rotated";
    else if (pl->crop_w != 0 || pl->out_w != pr->width || pl->out_h != pr->height)
        why = "resized or cropped";
    else if (pl->fps_cap)
        why = "over 30 frames per second";
    else if (ap != NULL && ap->codec_id != AV_CODEC_ID_AAC)
        why = "audio not AAC";
    else if (!job->in->media.video_copy)
        why = "stream copy turned off";
    else if (pr->max_key_gap > 1.5)
        why = "keyframes too far apart";
    pl->copy = why == NULL;
    snprintf(pl->why_encode, sizeof(pl->why_encode), "%s", why ? why : "");
}

/* ---- reading the upload ---- */

/* The next packet of the upload, into c->pkt: returns 1, or 0 at the end of
 * the file, or ARC_ECORRUPT when the file is damaged.
 *
 * An upload that stopped half-way must not become a web video a third
 * shorter without a word. FFmpeg does not say so: av_read_frame() ends with
 * a plain end of file, after logging "partial file" and handing out the
 * last packet short (flagged corrupt). But an MP4 or MOV lists every packet
 * of its streams in its header (the sample tables, which are FFmpeg's index
 * of the stream), so a stream that ends before its last listed packet,
 * with FFmpeg having seen damage on the way, was cut short. Other
 * containers list only some packets (Matroska's cues), so the count says
 * nothing there. */
static int read_packet(conv_t *c, arc_err_t *err)
{
    const probe_t *pr = c->pr;
    int rc = av_read_frame(pr->in, c->pkt);

    if (rc >= 0) {
        if (c->pkt->stream_index == pr->vi)
            c->packets[0]++;
        else if (c->pkt->stream_index == pr->ai)
            c->packets[1]++;
        if (c->pkt->flags & AV_PKT_FLAG_CORRUPT)
            c->corrupt++;
        return 1;
    }
    if (rc != AVERROR_EOF)
        return av_fail(err, ARC_ECORRUPT, "the video file is damaged", rc);
    char said[sizeof(log_last_error)];
    if (strcmp(pr->in->iformat->name, "mov,mp4,m4a,3gp,3g2,mj2") != 0 ||
        (c->corrupt == 0 && log_last(said, sizeof(said)) == 0))
        return 0;
    for (int k = 0; k < 2; k++) {
        int index = k == 0 ? pr->vi : pr->ai;
        if (index < 0)
            continue;
        int listed = avformat_index_get_entries_count(pr->in->streams[index]);
        if (c->packets[k] < listed)
            return arc_err_set(err, ARC_ECORRUPT,
                               "the video file is cut short: its %s ends after %lld of its %d %s",
                               k == 0 ? "picture" : "sound", (long long)c->packets[k], listed,
                               k == 0 ? "frames" : "audio packets");
    }
    return 0;
}

/* ---- decoding, filtering, encoding ---- */

/* Threads for video decoding and encoding: media.videoThreads, else 0, which
 * lets FFmpeg pick by the cores. A lone job then uses the whole machine;
 * jobs side by side share it at the workers' lower priority. */
static int video_threads(const arc_job_t *job)
{
    return job->in->media.video_threads;
}

static int open_decoder(conv_t *c, int index, AVCodecContext **out, arc_err_t *err)
{
    const AVStream *st = c->pr->in->streams[index];
    const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *ctx = avcodec_alloc_context3(dec);
    int rc;

    *out = ctx;
    if (ctx == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "no memory for a decoder");
    avcodec_parameters_to_context(ctx, st->codecpar);
    ctx->pkt_timebase = st->time_base;
    ctx->thread_count = video_threads(c->job);
    rc = avcodec_open2(ctx, dec, NULL);
    if (rc < 0)
        return av_fail(err, ARC_EFORMAT, "the video's decoder does not open", rc);
    return 0;
}

/* A filter graph: source (buffer or abuffer, with args), the chain, sink. */
static int build_graph(const char *source, const char *args, const char *chain,
                       AVFilterGraph **graph, AVFilterContext **src, AVFilterContext **sink)
{
    AVFilterInOut *ins = avfilter_inout_alloc(), *outs = avfilter_inout_alloc();
    int audio = strcmp(source, "abuffer") == 0;
    int rc;

    *graph = avfilter_graph_alloc();
    /* The filters run in the caller's thread. zscale and tonemap would
     * start a pool of slice threads, each with its stack and malloc arena:
     * 150 MB more address space, over a worker's workers.memoryMb (a 360x240
     * BT.601 clip failed at 350 MB), for filters that take a small share of
     * the time next to the decoder and the encoder, which keep theirs. */
    (*graph)->nb_threads = 1;
    rc = avfilter_graph_create_filter(src, avfilter_get_by_name(source), "in", args, NULL, *graph);
    if (rc >= 0)
        rc = avfilter_graph_create_filter(
            sink, avfilter_get_by_name(audio ? "abuffersink" : "buffersink"), "out", NULL, NULL,
            *graph);
    if (rc >= 0) {
        outs->name = av_strdup("in");
        outs->filter_ctx = *src;
        ins->name = av_strdup("out");
        ins->filter_ctx = *sink;
        rc = avfilter_graph_parse_ptr(*graph, chain, &ins, &outs, NULL);
    }
    if (rc >= 0)
        rc = avfilter_graph_config(*graph, NULL);
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    return rc;
}

/* ---- the sample pass (video_internal.h) ---- */

/* The transposition that turns pictures upright, as a filter ("" for none). */
static const char *upright_filter(int rotation)
{
    switch (rotation) {
    case 90: return "transpose=clock,";
    case 180: return "hflip,vflip,";
    case 270: return "transpose=cclock,";
    default: return "";
    }
}

/* One sample from the graph's output (gbrpf32le: planes G, B, R). */
static void sample_keep(arc__video_samples_t *set, const AVFrame *f)
{
    arc__video_sample_t *s = &set->s[set->n++];
    s->w = f->width;
    s->h = f->height;
    s->rgb = arc_xmallocarray((size_t)f->width * f->height, 3 * sizeof(float));
    for (int y = 0; y < f->height; y++) {
        const float *g = (const float *)(f->data[0] + (size_t)y * f->linesize[0]);
        const float *b = (const float *)(f->data[1] + (size_t)y * f->linesize[1]);
        const float *r = (const float *)(f->data[2] + (size_t)y * f->linesize[2]);
        float *o = s->rgb + (size_t)y * f->width * 3;
        for (int x = 0; x < f->width; x++) {
            o[3 * x] = r[x];
            o[3 * x + 1] = g[x];
            o[3 * x + 2] = b[x];
        }
    }
}

/* HEVC carries its HDR metadata in SEI messages (phones write them there,
 * not in the MP4's mdcv/clli boxes): the decoder gives them per frame. */
static void metadata_peak(const AVFrame *f, arc__video_colour_t *colour)
{
    const AVFrameSideData *sd = av_frame_get_side_data(f, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL);
    if (colour->meta_nits > 0)
        return;
    if (sd != NULL && sd->size >= sizeof(AVContentLightMetadata) &&
        ((const AVContentLightMetadata *)sd->data)->MaxCLL > 0) {
        colour->meta_nits = ((const AVContentLightMetadata *)sd->data)->MaxCLL;
        return;
    }
    sd = av_frame_get_side_data(f, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA);
    if (sd != NULL && sd->size >= sizeof(AVMasteringDisplayMetadata)) {
        const AVMasteringDisplayMetadata *md = (const AVMasteringDisplayMetadata *)sd->data;
        if (md->has_luminance && md->max_luminance.den > 0 && av_q2d(md->max_luminance) > 0)
            colour->meta_nits = fmin(av_q2d(md->max_luminance), 10000);
    }
}

/* Decodes up to ARC__VIDEO_SAMPLES frames spread over the clip, on a
 * reading of its own (the conversion's is untouched), each upright, small,
 * in linear light. What it cannot read it leaves out: the samples only
 * refine the crop and the tone map, the conversion itself finds damage. */
static void sample_frames(const char *path, probe_t *pr, arc__video_samples_t *set)
{
    AVFormatContext *in = NULL;
    AVCodecContext *dec = NULL;
    AVFilterGraph *graph = NULL;
    AVFilterContext *src = NULL, *sink = NULL;
    AVFrame *frame = av_frame_alloc(), *out = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    char args[512], chain[1024];
    int sw, sh, n;

    set->n = 0;
    if (avformat_open_input(&in, path, NULL, NULL) < 0 || avformat_find_stream_info(in, NULL) < 0 ||
        (unsigned)pr->vi >= in->nb_streams)
        goto out;
    const AVStream *st = in->streams[pr->vi];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == NULL || (dec = avcodec_alloc_context3(codec)) == NULL)
        goto out;
    if (avcodec_parameters_to_context(dec, st->codecpar) < 0)
        goto out;
    dec->pkt_timebase = st->time_base;
    /* Keyframes only: one decode per sample, however long the GOP (a 4K
     * HEVC frame after its keyframe costs as much as the keyframe). */
    dec->skip_frame = AVDISCARD_NONKEY;
    dec->thread_count = 1;
    if (avcodec_open2(dec, codec, NULL) < 0)
        goto out;
    double f = (double)ARC__VIDEO_SAMPLE_SIDE / (pr->dw > pr->dh ? pr->dw : pr->dh);
    sw = f < 1 ? even(pr->dw * f) : pr->dw;
    sh = f < 1 ? even(pr->dh * f) : pr->dh;
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=1/1",
             dec->width, dec->height, dec->pix_fmt, st->time_base.num, st->time_base.den);
    size_t len = (size_t)snprintf(chain, sizeof(chain), "%sscale=%d:%d:flags=area,",
                                  upright_filter(pr->rotation), sw, sh);
    if (pr->colour.depth > 8)
        len += (size_t)snprintf(chain + len, sizeof(chain) - len, "format=%s,",
                                av_get_pix_fmt_name(dec->pix_fmt));
    if (arc__video_colour_linear_chain(&pr->colour, chain, sizeof(chain), &len) != 0 ||
        build_graph("buffer", args, chain, &graph, &src, &sink) < 0)
        goto out;

    n = pr->duration >= 4 ? ARC__VIDEO_SAMPLES : pr->duration >= 1 ? 4 : 1;
    double start = st->start_time != AV_NOPTS_VALUE ? (double)st->start_time : 0;
    int64_t last = AV_NOPTS_VALUE;
    for (int k = 0; k < n; k++) {
        double t = pr->duration * (k + 0.5) / n;
        int64_t target = (int64_t)(start + t / av_q2d(st->time_base));
        int got = 0, packets = 0;
        /* The keyframe at or before t; a keyframe already sampled (a GOP
         * longer than the spacing) is not taken twice. */
        if (av_seek_frame(in, pr->vi, target, AVSEEK_FLAG_BACKWARD) < 0 && k > 0)
            break;
        avcodec_flush_buffers(dec);
        while (!got && packets < 600) {
            int rc = av_read_frame(in, pkt);
            if (rc >= 0 && (pkt->stream_index != pr->vi || !(pkt->flags & AV_PKT_FLAG_KEY))) {
                packets += pkt->stream_index == pr->vi;
                av_packet_unref(pkt);
                continue;
            }
            packets++;
            /* The keyframe, then the end of the stream: a decoder that
             * holds pictures back for reordering gives it out now. */
            rc = avcodec_send_packet(dec, rc >= 0 ? pkt : NULL);
            av_packet_unref(pkt);
            if (rc >= 0)
                rc = avcodec_send_packet(dec, NULL);
            if (avcodec_receive_frame(dec, frame) >= 0) {
                got = 1;
                int64_t pts = frame->best_effort_timestamp;
                frame->pts = pts;
                metadata_peak(frame, &pr->colour);
                if ((pts == AV_NOPTS_VALUE || pts != last) &&
                    av_buffersrc_add_frame_flags(src, frame, AV_BUFFERSRC_FLAG_KEEP_REF) >= 0 &&
                    av_buffersink_get_frame(sink, out) >= 0) {
                    sample_keep(set, out);
                    av_frame_unref(out);
                }
                last = pts;
                av_frame_unref(frame);
            }
            if (rc < 0)
                break; /* the decoder is drained or broken: next position */
        }
    }
out:
    av_frame_free(&frame);
    av_frame_free(&out);
    av_packet_free(&pkt);
    avfilter_graph_free(&graph);
    avcodec_free_context(&dec);
    avformat_close_input(&in);
}

static int video_filters(conv_t *c, arc_err_t *err)
{
    const AVStream *st = c->pr->in->streams[c->pr->vi];
    const AVRational sar = c->vdec->sample_aspect_ratio;
    char args[512], chain[1536];
    int n = 0, rc;

    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
             c->vdec->width, c->vdec->height, c->vdec->pix_fmt, st->time_base.num,
             st->time_base.den, sar.num > 0 ? sar.num : 1, sar.den > 0 ? sar.den : 1);
    /* Turn upright (and square pixels), crop, scale, cap the rate. */
    n += snprintf(chain + n, sizeof(chain) - (size_t)n, "%s", upright_filter(c->pr->rotation));
    n += snprintf(chain + n, sizeof(chain) - (size_t)n, "scale=%d:%d:flags=bicubic,setsar=1,",
                  c->pr->dw, c->pr->dh);
    if (c->plan->crop_w)
        n += snprintf(chain + n, sizeof(chain) - (size_t)n, "crop=%d:%d:%d:%d,", c->plan->crop_w,
                      c->plan->crop_h, c->plan->crop_x, c->plan->crop_y);
    n += snprintf(chain + n, sizeof(chain) - (size_t)n, "scale=%d:%d:flags=bicubic,",
                  c->plan->out_w, c->plan->out_h);
    if (c->plan->fps_cap)
        n += snprintf(chain + n, sizeof(chain) - (size_t)n, "fps=%d,", c->plan->fps_cap);
    /* Geometry in the upload's own depth (10 or 12 bits stay so), then
     * the colours (video_colour.c). */
    if (c->pr->colour.depth > 8)
        n += snprintf(chain + n, sizeof(chain) - (size_t)n, "format=%s,",
                      av_get_pix_fmt_name(c->vdec->pix_fmt));
    size_t len = (size_t)n;
    if (arc__video_colour_chain(&c->pr->colour, c->plan->peak, chain, sizeof(chain), &len) != 0)
        return arc_err_set(err, ARC_EINTERNAL, "the video filter chain is too long");
    rc = build_graph("buffer", args, chain, &c->vgraph, &c->vsrc, &c->vsink);
    return rc < 0 ? av_fail(err, ARC_EINTERNAL, "the video filters do not build", rc) : 0;
}

static int audio_filters(conv_t *c, arc_err_t *err)
{
    const AVStream *st = c->pr->in->streams[c->pr->ai];
    char args[512], layout[128];
    int rc;

    if (c->adec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&c->adec->ch_layout, c->adec->ch_layout.nb_channels);
    av_channel_layout_describe(&c->adec->ch_layout, layout, sizeof(layout));
    snprintf(args, sizeof(args), "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             st->time_base.num, st->time_base.den, c->adec->sample_rate,
             av_get_sample_fmt_name(c->adec->sample_fmt), layout);
    rc = build_graph("abuffer", args,
                     "aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:"
                     "channel_layouts=stereo",
                     &c->agraph, &c->asrc, &c->asink);
    if (rc >= 0)
        av_buffersink_set_frame_size(c->asink, (unsigned)c->aenc->frame_size);
    return rc < 0 ? av_fail(err, ARC_EINTERNAL, "the audio filters do not build", rc) : 0;
}

static int open_video_encoder(conv_t *c, arc_err_t *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    AVDictionary *opts = NULL;
    AVRational fr = av_buffersink_get_frame_rate(c->vsink);
    int rc;

    if (codec == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "FFmpeg was built without libx264");
    if (fr.num <= 0 || fr.den <= 0)
        fr = av_d2q(c->pr->fps, 1000);
    c->venc = avcodec_alloc_context3(codec);
    c->venc->width = c->plan->out_w;
    c->venc->height = c->plan->out_h;
    c->venc->pix_fmt = AV_PIX_FMT_YUV420P;
    c->venc->sample_aspect_ratio = (AVRational){1, 1};
    c->venc->time_base = av_buffersink_get_time_base(c->vsink);
    c->venc->framerate = fr;
    c->venc->gop_size = (int)lround(av_q2d(fr)) > 0 ? (int)lround(av_q2d(fr)) : 30;
    c->venc->keyint_min = c->venc->gop_size;
    c->venc->max_b_frames = 2;
    c->venc->thread_count = video_threads(c->job);
    c->venc->rc_max_rate = 8000000;
    c->venc->rc_buffer_size = 16000000;
    c->venc->profile = FF_PROFILE_H264_MAIN;
    c->venc->level = 40;
    c->venc->color_range = AVCOL_RANGE_MPEG;
    c->venc->color_primaries = AVCOL_PRI_BT709;
    c->venc->color_trc = AVCOL_TRC_BT709;
    c->venc->colorspace = AVCOL_SPC_BT709;
    if (c->out->oformat->flags & AVFMT_GLOBALHEADER)
        c->venc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    const char *preset = c->job->in->media.video_preset;
    char crf[16];
    snprintf(crf, sizeof(crf), "%d", c->job->in->media.video_crf);
    av_dict_set(&opts, "preset", preset[0] ? preset : "veryfast", 0);
    av_dict_set(&opts, "profile", "main", 0);
    av_dict_set(&opts, "level", "4.0", 0);
    av_dict_set(&opts, "crf", crf, 0);
    /* A keyframe every second, whatever the scene does. */
    av_dict_set(&opts, "x264-params", "scenecut=0:open-gop=0", 0);
    rc = avcodec_open2(c->venc, codec, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return av_fail(err, ARC_EINTERNAL, "the H.264 encoder does not open", rc);
    c->vout = avformat_new_stream(c->out, NULL);
    avcodec_parameters_from_context(c->vout->codecpar, c->venc);
    c->vout->time_base = c->venc->time_base;
    c->vout->avg_frame_rate = fr;
    return 0;
}

static int open_audio_encoder(conv_t *c, arc_err_t *err)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    int rc;

    if (codec == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "FFmpeg was built without an AAC encoder");
    c->aenc = avcodec_alloc_context3(codec);
    c->aenc->sample_rate = 48000;
    c->aenc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_copy(&c->aenc->ch_layout, &stereo);
    c->aenc->bit_rate = 128000;
    c->aenc->time_base = (AVRational){1, 48000};
    if (c->out->oformat->flags & AVFMT_GLOBALHEADER)
        c->aenc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = avcodec_open2(c->aenc, codec, NULL);
    if (rc < 0)
        return av_fail(err, ARC_EINTERNAL, "the AAC encoder does not open", rc);
    c->aout = avformat_new_stream(c->out, NULL);
    avcodec_parameters_from_context(c->aout->codecpar, c->aenc);
    c->aout->time_base = c->aenc->time_base;
    return 0;
}

/* poster.jpg from the first frame as shown (filtered, or decoded from an
 * upright stream that is copied). */
static int write_poster(conv_t *c, const AVFrame *f, arc_err_t *err)
{
    arc_photo_t img = {0};
    uint8_t *jpg = NULL;
    size_t len = 0;
    int rc;

    img.width = f->width;
    img.height = f->height;
    img.data = arc_xmallocarray((size_t)f->width * 3, (size_t)f->height);
    struct SwsContext *sws =
        sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGB24,
                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (sws == NULL) {
        rc = arc_err_set(err, ARC_EINTERNAL, "no pixel converter for the poster");
        goto out;
    }
    uint8_t *dst[4] = {img.data, NULL, NULL, NULL};
    int stride[4] = {f->width * 3, 0, 0, 0};
    sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
    sws_freeContext(sws);
    rc = arc_photo_encode_jpeg(&img, 85, &jpg, &len, err);
    if (rc == 0)
        rc = arc_file_write_atomic(c->poster_path, jpg, len, err);
out:
    free(jpg);
    arc_photo_dispose(&img);
    c->poster_done = rc == 0;
    return rc;
}

/* Starts the MP4; the muxer moves `moov` before `mdat` when it finishes.
 * Nothing of the upload's container reaches it: no format or stream
 * dictionary is copied (location, make, model, creation_time, handler names,
 * com.apple.quicktime.*: ffmpeg's -map_metadata -1), no chapters
 * (-map_chapters -1), and with AVFMT_FLAG_BITEXACT (-fflags +bitexact) the
 * muxer adds no encoder tag of its own: `udta` holds an empty `ilst`. With no
 * creation_time, the creation and modification times of `mvhd`, `tkhd` and
 * `mdhd` are 0 ("not set"). */
static int write_header(conv_t *c, arc_err_t *err)
{
    AVDictionary *opts = NULL;
    int rc;

    c->out->flags |= AVFMT_FLAG_BITEXACT;
    av_dict_set(&opts, "movflags", "+faststart", 0);
    rc = avformat_write_header(c->out, &opts);
    av_dict_free(&opts);
    return rc < 0 ? av_fail(err, ARC_EIO, "writing the video failed", rc) : 0;
}

static int mux(conv_t *c, AVPacket *pkt, AVRational from, AVStream *to)
{
    av_packet_rescale_ts(pkt, from, to->time_base);
    pkt->stream_index = to->index;
    return av_interleaved_write_frame(c->out, pkt);
}

/* Drains an encoder into the file. */
static int drain(conv_t *c, AVCodecContext *enc, AVStream *st, arc_err_t *err)
{
    for (;;) {
        int rc = avcodec_receive_packet(enc, c->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return av_fail(err, ARC_EINTERNAL, "encoding failed", rc);
        rc = mux(c, c->pkt, enc->time_base, st);
        if (rc < 0)
            return av_fail(err, ARC_EIO, "writing the video failed", rc);
    }
}

/* Pulls what the filters have ready (or, with flush, all of it) into the encoder. */
static int pull(conv_t *c, AVFilterContext *sink, AVCodecContext *enc, AVStream *st, int video,
                arc_err_t *err)
{
    for (;;) {
        int rc = av_buffersink_get_frame(sink, c->filtered);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return av_fail(err, ARC_EINTERNAL, "filtering failed", rc);
        if (video) {
            if (!c->poster_done && (rc = write_poster(c, c->filtered, err)) != 0)
                return rc;
            c->filtered->pict_type = AV_PICTURE_TYPE_NONE;
            c->frames_out++;
        }
        rc = avcodec_send_frame(enc, c->filtered);
        av_frame_unref(c->filtered);
        if (rc < 0)
            return av_fail(err, ARC_EINTERNAL, "encoding failed", rc);
        if ((rc = drain(c, enc, st, err)) != 0)
            return rc;
    }
}

/* Feeds one packet (NULL: flush) through decoder, filters and encoder. */
static int transcode_packet(conv_t *c, AVPacket *pkt, int video, arc_err_t *err)
{
    AVCodecContext *dec = video ? c->vdec : c->adec;
    AVFilterContext *src = video ? c->vsrc : c->asrc;
    int rc = avcodec_send_packet(dec, pkt);

    if (rc < 0 && rc != AVERROR_EOF)
        return 0; /* a damaged packet: skip it, as players do */
    for (;;) {
        rc = avcodec_receive_frame(dec, c->frame);
        if (rc == AVERROR(EAGAIN))
            return 0;
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0)
            return 0; /* a frame that does not decode: skipped too */
        if (video) {
            if (c->pr->duration > 0 && c->frame->best_effort_timestamp != AV_NOPTS_VALUE) {
                double t = (double)c->frame->best_effort_timestamp *
                           av_q2d(c->pr->in->streams[c->pr->vi]->time_base);
                arc_job_progress(c->job, (int)(100 * t / c->pr->duration));
            }
        }
        c->frame->pts = c->frame->best_effort_timestamp;
        rc = av_buffersrc_add_frame_flags(src, c->frame, AV_BUFFERSRC_FLAG_KEEP_REF);
        av_frame_unref(c->frame);
        if (rc < 0)
            return av_fail(err, ARC_EINTERNAL, "filtering failed", rc);
        rc = video ? pull(c, c->vsink, c->venc, c->vout, 1, err)
                   : pull(c, c->asink, c->aenc, c->aout, 0, err);
        if (rc != 0)
            return rc;
    }
    /* The decoder is drained: drain the filters and the encoder too. */
    rc = av_buffersrc_add_frame(src, NULL);
    if (rc < 0)
        return av_fail(err, ARC_EINTERNAL, "filtering failed", rc);
    rc = video ? pull(c, c->vsink, c->venc, c->vout, 1, err)
               : pull(c, c->asink, c->aenc, c->aout, 0, err);
    if (rc != 0)
        return rc;
    avcodec_send_frame(video ? c->venc : c->aenc, NULL);
    return drain(c, video ? c->venc : c->aenc, video ? c->vout : c->aout, err);
}

static int transcode(conv_t *c, arc_err_t *err)
{
    double max_s = c->job->in->media.video_max_seconds;
    AVRational vtb = c->pr->in->streams[c->pr->vi]->time_base;
    int rc;

    if ((rc = open_decoder(c, c->pr->vi, &c->vdec, err)) != 0 ||
        (rc = video_filters(c, err)) != 0 || (rc = open_video_encoder(c, err)) != 0)
        return rc;
    if (c->pr->ai >= 0 && (open_decoder(c, c->pr->ai, &c->adec, err) != 0 ||
                           open_audio_encoder(c, err) != 0 || audio_filters(c, err) != 0)) {
        return ARC_EFORMAT;
    }
    if ((rc = write_header(c, err)) != 0)
        return rc;
    while ((rc = read_packet(c, err)) == 1) {
        int idx = c->pkt->stream_index;
        if (idx == c->pr->vi && c->pkt->pts != AV_NOPTS_VALUE &&
            (double)c->pkt->pts * av_q2d(vtb) > max_s + 1) {
            av_packet_unref(c->pkt);
            return arc_err_set(err, ARC_ETOOBIG, "the video lasts over the limit of %.0f s", max_s);
        }
        rc = 0;
        if (idx == c->pr->vi)
            rc = transcode_packet(c, c->pkt, 1, err);
        else if (idx == c->pr->ai && c->adec != NULL)
            rc = transcode_packet(c, c->pkt, 0, err);
        av_packet_unref(c->pkt);
        if (rc != 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if ((rc = transcode_packet(c, NULL, 1, err)) != 0 ||
        (c->adec != NULL && (rc = transcode_packet(c, NULL, 0, err)) != 0))
        return rc;
    if (c->frames_out == 0)
        return arc_err_set(err, ARC_ECORRUPT, "no frame of the video could be decoded");
    rc = av_write_trailer(c->out);
    return rc < 0 ? av_fail(err, ARC_EIO, "finishing the video failed", rc) : 0;
}

/* ---- the stream copy: no user data ---- */

/* A copied H.264 stream keeps its slices and parameter sets, but not the SEI
 * messages that carry free-form data: user_data_registered_itu_t_t35 (4) and
 * user_data_unregistered (5) hold what a camera or an app chose to put there
 * (AVCHD's MDPM: date, make, model, GPS; an encoder's name and settings). The
 * other SEI messages (timing, recovery point, frame packing) stay. */
static int sei_is_user_data(size_t type)
{
    return type == 4 || type == 5;
}

/* The RBSP's rbsp_trailing_bits: 0x80, then only zeros. */
static int rbsp_trailing(const uint8_t *p, size_t n)
{
    if (n == 0 || p[0] != 0x80)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* One SEI NAL unit (header byte included, len >= 1) without its user-data
 * messages, into out (room for 2 * len + 8 bytes). Returns the new length, 0
 * when nothing is left or the unit cannot be read (it is then dropped whole:
 * a player does without it). *changed is 0 when out is a plain copy. */
static size_t sei_strip(const uint8_t *nal, size_t len, uint8_t *out, int *changed)
{
    uint8_t *rbsp = arc_xmalloc(len), *kept = arc_xmalloc(len + 1);
    size_t n = 0, k = 0, pos = 0, o = 0;
    int zeros = 0, bad = 0, dropped = 0;

    /* Emulation prevention: every 00 00 03 in the NAL unit is 00 00 in the RBSP. */
    for (size_t i = 1; i < len; i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = nal[i] == 0 ? zeros + 1 : 0;
        rbsp[n++] = nal[i];
    }
    /* sei_message(): type and size, each a run of 0xFF plus a last byte, then
     * the payload (byte-aligned, so messages are whole bytes). */
    while (pos < n && !rbsp_trailing(rbsp + pos, n - pos)) {
        size_t start = pos, type = 0, size = 0;
        while (pos < n && rbsp[pos] == 0xFF)
            type += 255, pos++;
        if (pos >= n) {
            bad = 1;
            break;
        }
        type += rbsp[pos++];
        while (pos < n && rbsp[pos] == 0xFF)
            size += 255, pos++;
        if (pos >= n) {
            bad = 1;
            break;
        }
        size += rbsp[pos++];
        if (size > n - pos) {
            bad = 1;
            break;
        }
        pos += size;
        if (sei_is_user_data(type)) {
            dropped = 1;
        } else {
            memcpy(kept + k, rbsp + start, pos - start);
            k += pos - start;
        }
    }
    *changed = bad || dropped;
    if (!*changed) {
        memcpy(out, nal, len);
        o = len;
    } else if (!bad && k > 0) {
        /* The kept messages, rbsp_trailing_bits, and emulation prevention again. */
        out[o++] = nal[0];
        kept[k++] = 0x80;
        zeros = 0;
        for (size_t i = 0; i < k; i++) {
            if (zeros >= 2 && kept[i] <= 3) {
                out[o++] = 3;
                zeros = 0;
            }
            out[o++] = kept[i];
            zeros = kept[i] == 0 ? zeros + 1 : 0;
        }
    }
    free(rbsp);
    free(kept);
    return o;
}

/* The next NAL unit of an H.264 packet at *pos: length-prefixed (len_size 1
 * to 4 bytes, as MP4, MOV and Matroska store H.264) or, with len_size 0,
 * after a start code (Annex B). Returns 1 with the unit, 0 at the end, -1 when
 * the framing is broken. */
static int next_nal(const uint8_t *buf, size_t size, size_t *pos, int len_size, const uint8_t **nal,
                    size_t *nal_len)
{
    size_t p = *pos;

    if (len_size > 0) {
        size_t n = 0;
        if (p == size)
            return 0;
        if (size - p < (size_t)len_size)
            return -1;
        for (int i = 0; i < len_size; i++)
            n = n << 8 | buf[p++];
        if (n > size - p)
            return -1;
        *nal = buf + p;
        *nal_len = n;
        *pos = p + n;
        return 1;
    }
    while (p + 3 <= size && !(buf[p] == 0 && buf[p + 1] == 0 && buf[p + 2] == 1))
        p++;
    if (p + 3 > size)
        return 0;
    p += 3;
    /* The unit ends where 00 00 00 or 00 00 01 begins: neither occurs inside one. */
    size_t end = p;
    while (end + 3 <= size && !(buf[end] == 0 && buf[end + 1] == 0 && buf[end + 2] <= 1))
        end++;
    if (end + 3 > size)
        end = size;
    *nal = buf + p;
    *nal_len = end - p;
    *pos = end;
    return 1;
}

/* Drops the SEI user data from one packet of a copied H.264 stream (len_size
 * as for next_nal). A packet without it is left as it is, byte for byte.
 * Returns 0 or AVERROR(ENOMEM). */
static int strip_user_data(AVPacket *pkt, int len_size)
{
    const uint8_t *nal;
    size_t nal_len, pos = 0, cap = 0, o = 0;
    int sei = 0, changed = 0;

    while (next_nal(pkt->data, (size_t)pkt->size, &pos, len_size, &nal, &nal_len) > 0) {
        int is_sei = nal_len > 0 && (nal[0] & 0x1F) == 6;
        sei |= is_sei;
        cap += 4 + (is_sei ? 2 * nal_len + 8 : nal_len);
    }
    if (!sei)
        return 0;
    AVBufferRef *buf = av_buffer_alloc(cap + AV_INPUT_BUFFER_PADDING_SIZE);
    if (buf == NULL)
        return AVERROR(ENOMEM);
    pos = 0;
    while (next_nal(pkt->data, (size_t)pkt->size, &pos, len_size, &nal, &nal_len) > 0) {
        uint8_t *dst = buf->data + o + (len_size > 0 ? len_size : 4);
        size_t n = nal_len;
        int c = 0;
        if (nal_len > 0 && (nal[0] & 0x1F) == 6) {
            n = sei_strip(nal, nal_len, dst, &c);
            /* A length prefix too short for the rewritten unit: drop it. */
            if (len_size > 0 && len_size < 4 && n >> (8 * len_size) != 0)
                n = 0, c = 1;
        } else {
            memcpy(dst, nal, nal_len);
        }
        changed |= c;
        if (n == 0 && c)
            continue;
        if (len_size > 0) {
            for (int i = 0; i < len_size; i++)
                buf->data[o + (size_t)i] = (uint8_t)(n >> (8 * (len_size - 1 - i)));
            o += (size_t)len_size + n;
        } else {
            memcpy(buf->data + o, "\0\0\0\1", 4);
            o += 4 + n;
        }
    }
    if (!changed || o > INT_MAX) {
        av_buffer_unref(&buf);
        return 0;
    }
    memset(buf->data + o, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    av_buffer_unref(&pkt->buf);
    pkt->buf = buf;
    pkt->data = buf->data;
    pkt->size = (int)o;
    return 0;
}

/* The NAL length size of an H.264 stream: from avcC (MP4, MOV, Matroska), or
 * 0 for Annex B. */
static int nal_length_size(const AVCodecParameters *cp)
{
    if (cp->extradata_size >= 7 && cp->extradata[0] == 1)
        return (cp->extradata[4] & 3) + 1;
    return 0;
}

/* Copies the video (and AAC audio) packets as they are into the MP4,
 * decoding only the first frame for the poster. */
static int copy_streams(conv_t *c, arc_err_t *err)
{
    int map[2] = {c->pr->vi, c->pr->ai};
    AVStream *outs[2] = {NULL, NULL};
    int len_size = nal_length_size(c->pr->in->streams[c->pr->vi]->codecpar);
    int rc;

    /* The codec parameters only: not the streams' metadata, dispositions or
     * side data (an upright stream needs no display matrix). */
    for (int k = 0; k < 2; k++) {
        if (map[k] < 0)
            continue;
        AVStream *in = c->pr->in->streams[map[k]];
        outs[k] = avformat_new_stream(c->out, NULL);
        avcodec_parameters_copy(outs[k]->codecpar, in->codecpar);
        outs[k]->codecpar->codec_tag = 0;
        if (k == 0) {
            /* Copied only when its colours are BT.709, stated or (for HD)
             * assumed; stated in the MP4 (colr) either way. */
            outs[k]->codecpar->color_primaries = AVCOL_PRI_BT709;
            outs[k]->codecpar->color_trc = AVCOL_TRC_BT709;
            outs[k]->codecpar->color_space = AVCOL_SPC_BT709;
            outs[k]->codecpar->color_range = AVCOL_RANGE_MPEG;
        }
        outs[k]->time_base = in->time_base;
    }
    if ((rc = open_decoder(c, c->pr->vi, &c->vdec, err)) != 0)
        return rc;
    if ((rc = write_header(c, err)) != 0)
        return rc;
    while ((rc = read_packet(c, err)) == 1) {
        int k = c->pkt->stream_index == map[0] ? 0 : c->pkt->stream_index == map[1] ? 1 : -1;
        if (k == 0 && !c->poster_done && avcodec_send_packet(c->vdec, c->pkt) >= 0 &&
            avcodec_receive_frame(c->vdec, c->frame) >= 0) {
            rc = write_poster(c, c->frame, err);
            av_frame_unref(c->frame);
            if (rc != 0) {
                av_packet_unref(c->pkt);
                return rc;
            }
        }
        if (k == 0) {
            c->frames_out++;
            if ((rc = strip_user_data(c->pkt, len_size)) < 0) {
                av_packet_unref(c->pkt);
                return av_fail(err, ARC_EINTERNAL, "copying the video failed", rc);
            }
        }
        if (k >= 0) {
            rc = mux(c, c->pkt, c->pr->in->streams[map[k]]->time_base, outs[k]);
            if (rc < 0)
                return av_fail(err, ARC_EIO, "writing the video failed", rc);
        }
        av_packet_unref(c->pkt);
    }
    if (rc < 0)
        return rc;
    if (!c->poster_done) {
        /* A decoder with delay gives its first frame only when flushed. */
        avcodec_send_packet(c->vdec, NULL);
        if (avcodec_receive_frame(c->vdec, c->frame) >= 0) {
            rc = write_poster(c, c->frame, err);
            av_frame_unref(c->frame);
            if (rc != 0)
                return rc;
        }
    }
    rc = av_write_trailer(c->out);
    return rc < 0 ? av_fail(err, ARC_EIO, "finishing the video failed", rc) : 0;
}

static void conv_dispose(conv_t *c)
{
    avcodec_free_context(&c->vdec);
    avcodec_free_context(&c->adec);
    avcodec_free_context(&c->venc);
    avcodec_free_context(&c->aenc);
    avfilter_graph_free(&c->vgraph);
    avfilter_graph_free(&c->agraph);
    av_frame_free(&c->frame);
    av_frame_free(&c->filtered);
    av_packet_free(&c->pkt);
    if (c->out != NULL) {
        if (!(c->out->oformat->flags & AVFMT_NOFILE))
            avio_closep(&c->out->pb);
        avformat_free_context(c->out);
        c->out = NULL;
    }
}

static json_t *info_json(const probe_t *pr, const plan_t *pl, const char *name, const char *poster,
                         off_t bytes)
{
    const AVCodecParameters *cp = pr->in->streams[pr->vi]->codecpar;
    const AVCodecParameters *ap = pr->ai >= 0 ? pr->in->streams[pr->ai]->codecpar : NULL;
    json_t *in = json_pack("{s:s, s:f, s:i, s:i, s:f, s:i, s:s, s:s?, s:s?}", "container",
                           pr->in->iformat->name, "durationS", round(pr->duration * 1000) / 1000,
                           "width", pr->dw, "height", pr->dh, "fps", round(pr->fps * 1000) / 1000,
                           "rotation", pr->rotation, "videoCodec", avcodec_get_name(cp->codec_id),
                           "audioCodec", ap ? avcodec_get_name(ap->codec_id) : NULL, "profile",
                           avcodec_profile_name(cp->codec_id, cp->profile));
    json_t *out =
        json_pack("{s:s, s:i, s:i, s:s, s:s?, s:I, s:b}", "file", name, "width", pl->out_w,
                  "height", pl->out_h, "videoCodec", "h264", "audioCodec",
                  pr->ai >= 0 ? "aac" : NULL, "bytes", (json_int_t)bytes, "copied", pl->copy);
    if (!pl->copy)
        json_object_set_new(out, "reencodedBecause", json_string(pl->why_encode));
    json_object_set_new(in, "colour", arc__video_colour_json(&pr->colour, pl->peak));
    if (pl->samples >= 0)
        json_object_set_new(in, "sampledFrames", json_integer(pl->samples));
    json_object_set_new(out, "colour",
                        json_pack("{s:s, s:s, s:s, s:s}", "primaries", "bt709", "transfer", "bt709",
                                  "matrix", "bt709", "range", "tv"));
    if (pl->crop_w != 0)
        json_object_set_new(out, "crop",
                            json_pack("{s:i, s:i, s:i, s:i, s:s}", "x", pl->crop_x, "y", pl->crop_y,
                                      "width", pl->crop_w, "height", pl->crop_h, "placedBy",
                                      pl->crop_smart ? "salience" : "centre"));
    return json_pack("{s:o, s:o, s:s?}", "input", in, "output", out, "poster", poster);
}

/* Makes the finished MP4 at tmp durable before a page points at it (fsync),
 * and with tag non-NULL names it: the first 8 hex digits of its SHA-256. */
static int seal_video(const char *tmp, char tag[9], arc_err_t *err)
{
    EVP_MD_CTX *md = tag != NULL ? EVP_MD_CTX_new() : NULL;
    unsigned char buf[65536], digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    int fd = open(tmp, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0) {
        rc = arc_err_set(err, ARC_EIO, "cannot read the new video back: %s", strerror(errno));
        goto out;
    }
    if (tag != NULL) {
        if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
            rc = arc_err_set(err, ARC_EINTERNAL, "SHA-256 is not available");
            goto out;
        }
        for (;;) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = arc_err_set(err, ARC_EIO, "cannot read the new video back: %s",
                                 strerror(errno));
                goto out;
            }
            if (n == 0)
                break;
            if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
                rc = arc_err_set(err, ARC_EINTERNAL, "SHA-256 failed");
                goto out;
            }
        }
        if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen < 4) {
            rc = arc_err_set(err, ARC_EINTERNAL, "SHA-256 failed");
            goto out;
        }
        snprintf(tag, 9, "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
    }
    if (fsync(fd) != 0)
        rc = arc_err_set(err, ARC_EIO, "cannot sync the new video: %s", strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(md);
    return rc;
}

/* A video that FFmpeg cannot read: its last error line says why in words
 * ("moov atom not found", "partial file") when the message does not. */
static void add_ffmpeg_detail(int rc, arc_err_t *err)
{
    char said[sizeof(log_last_error)], msg[sizeof(err->msg)];

    if ((rc != ARC_EFORMAT && rc != ARC_ECORRUPT && rc != ARC_EINTERNAL) ||
        log_last(said, sizeof(said)) == 0 || strstr(err->msg, said) != NULL)
        return;
    snprintf(msg, sizeof(msg), "%s", err->msg);
    arc_err_set(err, rc, "%s (FFmpeg: %s)", msg, said);
}

/* Makes the web video of one pair. live is the pair's current web video
 * (an earlier run's, which a phone may be playing) or NULL: with one, the
 * new video and poster take new names and live is never written to. */
static int convert_item(arc_job_t *job, arc_item_t *it, const char *live, arc_err_t *err)
{
    probe_t pr = {0};
    plan_t plan;
    conv_t c = {0};
    char in_path[4200], out_path[4200], tmp_path[4300];
    char name[ARC_MAX_FILE_NAME + 1], poster[ARC_MAX_FILE_NAME + 16], tag[9] = "";
    int rc, kept = 0;

    snprintf(in_path, sizeof(in_path), "%s/%s", job->dir, it->video);
    snprintf(tmp_path, sizeof(tmp_path), "%s/.ar-video%s.mp4.%d.tmp", job->dir, it->suffix,
             (int)getpid());
    /* The poster is written under a temporary name too, and named with the video. */
    snprintf(c.poster_path, sizeof(c.poster_path), "%s/.poster%s.jpg.%d.tmp", job->dir, it->suffix,
             (int)getpid());

    log_forget();
    rc = probe(job, in_path, &pr, err);
    if (rc != 0) {
        job->permanent = 1;
        goto out;
    }
    plan_make(job, it, &pr, &plan);
    if (plan.copy) {
        /* Only now is the keyframe scan worth it; then start over. */
        scan_keyframes(&pr);
        avformat_close_input(&pr.in);
        if ((rc = probe_open(in_path, &pr, err)) != 0)
            goto out;
        plan_make(job, it, &pr, &plan);
    }
    if (!plan.copy) {
        int smart = plan.crop_w != 0 && job->in->media.video_smart_crop;
        if (pr.colour.hdr || smart) {
            arc__video_samples_t samples = {0};
            sample_frames(in_path, &pr, &samples);
            plan.samples = samples.n;
            plan.peak = arc__video_colour_peak(&pr.colour, &samples);
            if (smart)
                plan.crop_smart = arc__video_crop_place(&samples, pr.dw, pr.dh, plan.crop_w,
                                                        plan.crop_h, &plan.crop_x, &plan.crop_y);
            arc__video_samples_dispose(&samples);
            log_forget(); /* the samples' complaints are not the conversion's */
        }
    }
    c.job = job;
    c.pr = &pr;
    c.plan = &plan;
    c.frame = av_frame_alloc();
    c.filtered = av_frame_alloc();
    c.pkt = av_packet_alloc();
    rc = avformat_alloc_output_context2(&c.out, NULL, "mp4", tmp_path);
    if (rc >= 0)
        rc = avio_open(&c.out->pb, tmp_path, AVIO_FLAG_WRITE);
    if (rc < 0) {
        rc = av_fail(err, ARC_EIO, "the output video cannot be created", rc);
        goto out;
    }
    rc = plan.copy ? copy_streams(&c, err) : transcode(&c, err);
    if (rc == ARC_EFORMAT || rc == ARC_ECORRUPT || rc == ARC_ETOOBIG)
        job->permanent = 1;
    conv_dispose(&c);
    if (rc == 0)
        rc = seal_video(tmp_path, live != NULL ? tag : NULL, err);
    if (rc != 0)
        goto out;
    if (live != NULL) {
        snprintf(name, sizeof(name), "ar-video%s.%s.mp4", it->suffix, tag);
        snprintf(poster, sizeof(poster), "poster%s.%s.jpg", it->suffix, tag);
    } else {
        snprintf(name, sizeof(name), "ar-video%s.mp4", it->suffix);
        snprintf(poster, sizeof(poster), "poster%s.jpg", it->suffix);
    }
    snprintf(out_path, sizeof(out_path), "%s/%s", job->dir, name);
    struct stat st;
    /* The same bytes as the live video (the same upload again): that file
     * stays as it is, untouched, and with it its poster. */
    kept = live != NULL && strcmp(name, live) == 0 && stat(out_path, &st) == 0;
    if (kept) {
        char poster_path[4300];
        snprintf(poster_path, sizeof(poster_path), "%s/%s", job->dir, poster);
        unlink(tmp_path);
        unlink(c.poster_path);
        c.poster_done = c.poster_done && stat(poster_path, &st) == 0;
    } else {
        /* The poster first: when the video is in place, so is its poster. */
        char poster_path[4300];
        snprintf(poster_path, sizeof(poster_path), "%s/%s", job->dir, poster);
        if (c.poster_done && rename(c.poster_path, poster_path) != 0)
            rc = arc_err_set(err, ARC_EIO, "cannot rename the poster into place: %s",
                             strerror(errno));
        if (rc == 0 && rename(tmp_path, out_path) != 0)
            rc = arc_err_set(err, ARC_EIO, "cannot rename the video into place: %s",
                             strerror(errno));
        if (rc != 0)
            goto out;
    }
    snprintf(it->video_out, sizeof(it->video_out), "%s", name);
    if (stat(out_path, &st) != 0)
        st.st_size = 0;
    it->video_info = info_json(&pr, &plan, name, c.poster_done ? poster : NULL, st.st_size);
    if (!kept) {
        json_array_append_new(job->files, json_string(name));
        if (c.poster_done)
            json_array_append_new(job->files, json_string(poster));
    }
out:
    conv_dispose(&c);
    avformat_close_input(&pr.in);
    if (rc != 0) {
        unlink(tmp_path);
        unlink(c.poster_path);
        add_ffmpeg_detail(rc, err);
    }
    return rc;
}

int arc_stage_video(arc_job_t *job, arc_err_t *err)
{
    /* Before any other FFmpeg call, so that none logs through FFmpeg's own
     * logger (see on_av_log). */
    av_log_set_callback(on_av_log);
    av_log_set_level(AV_LOG_ERROR);
    for (size_t i = 0; i < job->n_items; i++) {
        arc_item_t *it = &job->items[i];
        const arc_job_input_t *in = i < job->in->n_items ? &job->in->items[i] : NULL;
        /* A pair whose video is not new keeps the web video it has. */
        if (in != NULL && !in->redo_video)
            continue;
        const char *live =
            in != NULL && in->video_out != NULL && in->video_out[0] != '\0' ? in->video_out : NULL;
        if (it->video == NULL || it->video[0] == '\0') {
            it->video_out[0] = '\0';
            continue;
        }
        int rc = convert_item(job, it, live, err);
        if (rc != 0) {
            if (job->n_items > 1) {
                char msg[sizeof(err->msg)];
                snprintf(msg, sizeof(msg), "%s", err->msg);
                arc_err_set(err, rc, "video %zu: %s", i + 1, msg);
            }
            return rc;
        }
    }
    return 0;
}
