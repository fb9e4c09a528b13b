/* Shared by the video stage's files (stage_video.c, video_colour.c,
 * video_crop.c); not part of any public API. Worker process only.
 *
 * The video stage decodes a few frames spread over the clip before it
 * converts it (stage_video.c's sample pass), each turned upright, scaled
 * down and converted to linear-light RGB in BT.709 primaries, 1.0 being
 * SDR reference white (203 cd/m2 for PQ and HLG, as ITU-R BT.2408 puts
 * it). Those samples decide two things: how bright the clip's highlights
 * really are (the tone map's peak, video_colour.c) and where a cover crop
 * keeps the most of what matters (video_crop.c). */
#ifndef ARCD_WORKERS_VIDEO_INTERNAL_H
#define ARCD_WORKERS_VIDEO_INTERNAL_H

#include <stddef.h>

#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

/* SDR reference white in HDR signals, cd/m2 (ITU-R BT.2408). */
#define ARC__VIDEO_SDR_WHITE 203.0
/* The most frames the sample pass decodes, and their long side at most. */
#define ARC__VIDEO_SAMPLES 8
#define ARC__VIDEO_SAMPLE_SIDE 192

/* One sampled frame: w x h pixels of linear RGB (3 floats each), upright,
 * as displayed (owned by its arc__video_samples_t). */
typedef struct arc__video_sample_s {
    int w, h;
    float *rgb;
} arc__video_sample_t;

typedef struct arc__video_samples_s {
    int n;
    arc__video_sample_t s[ARC__VIDEO_SAMPLES];
} arc__video_samples_t;

/* Frees the samples' pixels; accepts an empty set. */
void arc__video_samples_dispose(arc__video_samples_t *set);

/* ---- colour (video_colour.c) ---- */

/* The upload's colours, each either stated by it or assumed the way
 * players do for an untagged stream (BT.709 from 720 lines up, BT.601
 * below; limited range unless the pixel format says full). */
typedef struct arc__video_colour_s {
    enum AVColorPrimaries primaries;
    enum AVColorTransferCharacteristic trc;
    enum AVColorSpace matrix;
    enum AVColorRange range;
    int depth;        /* bits per component of the decoded pictures */
    int assumed;      /* 1: one or more of the above was not stated */
    int hdr;          /* PQ or HLG: tone-mapped to SDR */
    double meta_nits; /* the brightest the upload's HDR metadata promises, 0: none */
    int dv_profile;   /* Dolby Vision's profile (its base layer is used), -1: none */
    int dv_no_base;   /* Dolby Vision without a standard base layer (profile 5) */
} arc__video_colour_t;

/* Reads the stream's colours (codec parameters and side data) into *out. */
void arc__video_colour_of(const AVStream *st, arc__video_colour_t *out);

/* 1 when the pictures are already what the web video is: 8-bit 4:2:0,
 * BT.709 primaries, transfer and matrix, limited range. */
int arc__video_colour_is_web(const arc__video_colour_t *c);

/* Appends to buf (at *len, of size) the filters that turn pictures of
 * colour c into the web video's (BT.709, limited range, yuv420p): nothing
 * but a format for a web-ready source, zscale for the rest, and for HDR
 * zscale to linear light, tonemap (Möbius, up to peak x SDR white) and
 * zscale back. Returns 0, or -1 when buf is too short. */
int arc__video_colour_chain(const arc__video_colour_t *c, double peak, char *buf, size_t size,
                            size_t *len);

/* Appends the filters that turn pictures of colour c into the samples'
 * linear RGB (gbrpf32le, BT.709 primaries, 1.0 = SDR white). Same returns. */
int arc__video_colour_linear_chain(const arc__video_colour_t *c, char *buf, size_t size,
                                   size_t *len);

/* The tone map's peak in SDR-white units: the samples' brightest
 * highlight, max(R,G,B) of pixels whose luminance is over white (the
 * samples are scaled down by area, so a specular glint does not dim the
 * whole clip), within what the metadata promises; 1.0 (no
 * compression) when the clip stays within SDR white; the metadata's or
 * the format's nominal peak when there are no samples. */
double arc__video_colour_peak(const arc__video_colour_t *c, const arc__video_samples_t *set);

/* The status' account of the conversion: returns owned JSON. */
json_t *arc__video_colour_json(const arc__video_colour_t *c, double peak);

/* ---- smart crop (video_crop.c) ---- */

/* Where a cover crop of crop_w x crop_h sits in the displayed dw x dh
 * frame: the window (sliding along the one axis the aspects leave free)
 * holding the most salience over the samples (edges, saturation, and skin
 * tones weighted most, with a slight pull to the centre), moved to keep a
 * skin-coloured region whole where it fits. Without samples, the centre.
 * Writes the top-left corner (even numbers) to *x, *y; returns 1 when the
 * samples chose it, 0 for the centre. */
int arc__video_crop_place(const arc__video_samples_t *set, int dw, int dh, int crop_w, int crop_h,
                          int *x, int *y);

#endif
