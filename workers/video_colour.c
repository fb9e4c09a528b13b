/*
 * The video stage's colours: what an upload's pictures mean, and the
 * libavfilter chain that makes them the web video's SDR BT.709.
 *
 * Phones record SDR in BT.709 (or, on older Android and SD material,
 * BT.601), and HDR as HLG or PQ in BT.2020 with 10 or 12 bits (an iPhone's
 * Dolby Vision profile 8.4 is an HLG stream with extra metadata). Every
 * conversion is zimg's (zscale): the pictures' own primaries, transfer,
 * matrix and range in, BT.709 limited range out, the primaries converted
 * in linear light. HDR goes through linear light with SDR reference white
 * at 1.0 (203 cd/m2, ITU-R BT.2408), where libavfilter's tonemap rolls
 * the highlights off with Möbius: identical below 0.3 of white, and
 * nothing is compressed at all when the clip's brightest stays within
 * white (an SDR grade carried in an HDR format comes back as it was).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/dovi_meta.h>
#include <libavutil/mastering_display_metadata.h>
#include <libavutil/pixdesc.h>

#include "video_internal.h"

/* The code points zscale (zimg) converts, as its options list them. */
static int zscale_has_primaries(int v)
{
    return v == 1 || (v >= 4 && v <= 12) || v == 22;
}

static int zscale_has_trc(int v)
{
    return v == 1 || (v >= 4 && v <= 6) || (v >= 8 && v <= 11) || (v >= 13 && v <= 16) || v == 18;
}

static int zscale_has_matrix(int v)
{
    return v == 0 || v == 1 || (v >= 4 && v <= 10) || (v >= 12 && v <= 14);
}

void arc__video_colour_of(const AVStream *st, arc__video_colour_t *out)
{
    const AVCodecParameters *dec = st->codecpar;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(dec->format);
    /* What players assume for an untagged stream: HD is BT.709, SD BT.601
     * (625 lines: EBU primaries, 525: SMPTE C). */
    int hd = dec->width >= 1280 || dec->height > 576;
    enum AVColorPrimaries sd_pri =
        dec->height == 576 || dec->height == 288 ? AVCOL_PRI_BT470BG : AVCOL_PRI_SMPTE170M;
    size_t size = 0;

    memset(out, 0, sizeof(*out));
    out->depth = d != NULL ? d->comp[0].depth : 8;
    out->primaries = dec->color_primaries;
    out->trc = dec->color_trc;
    out->matrix = dec->color_space;
    out->range = dec->color_range;
    if (!zscale_has_primaries(out->primaries)) {
        out->primaries = hd ? AVCOL_PRI_BT709 : sd_pri;
        out->assumed = 1;
    }
    if (!zscale_has_trc(out->trc)) {
        out->trc = AVCOL_TRC_BT709; /* SMPTE 240M and BT.1361 are near it */
        out->assumed = 1;
    }
    if (d != NULL && (d->flags & AV_PIX_FMT_FLAG_RGB))
        out->matrix = AVCOL_SPC_RGB;
    else if (!zscale_has_matrix(out->matrix) || out->matrix == AVCOL_SPC_RGB) {
        out->matrix = hd ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
        out->assumed = 1;
    }
    if (out->range != AVCOL_RANGE_MPEG && out->range != AVCOL_RANGE_JPEG) {
        int full = dec->format == AV_PIX_FMT_YUVJ420P || dec->format == AV_PIX_FMT_YUVJ422P ||
                   dec->format == AV_PIX_FMT_YUVJ444P || out->matrix == AVCOL_SPC_RGB;
        out->range = full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
        out->assumed = out->assumed || !full;
    }
    out->hdr = out->trc == AVCOL_TRC_SMPTE2084 || out->trc == AVCOL_TRC_ARIB_STD_B67;

    const AVContentLightMetadata *cll = (const AVContentLightMetadata *)av_stream_get_side_data(
        st, AV_PKT_DATA_CONTENT_LIGHT_LEVEL, &size);
    if (cll != NULL && size >= sizeof(*cll) && cll->MaxCLL > 0)
        out->meta_nits = cll->MaxCLL;
    const AVMasteringDisplayMetadata *md =
        (const AVMasteringDisplayMetadata *)av_stream_get_side_data(
            st, AV_PKT_DATA_MASTERING_DISPLAY_METADATA, &size);
    if (out->meta_nits <= 0 && md != NULL && size >= sizeof(*md) && md->has_luminance &&
        md->max_luminance.den > 0)
        out->meta_nits = av_q2d(md->max_luminance);
    if (out->meta_nits > 10000)
        out->meta_nits = 10000;
    const AVDOVIDecoderConfigurationRecord *dv =
        (const AVDOVIDecoderConfigurationRecord *)av_stream_get_side_data(st, AV_PKT_DATA_DOVI_CONF,
                                                                          &size);
    out->dv_profile = -1;
    if (dv != NULL && size >= sizeof(*dv)) {
        out->dv_profile = dv->dv_profile;
        /* Profile 5 (and any stream without a base layer) has no picture
         * a decoder without Dolby's reshaping shows in true colours. */
        out->dv_no_base = !dv->bl_present_flag || dv->dv_bl_signal_compatibility_id == 0;
    }
}

int arc__video_colour_is_web(const arc__video_colour_t *c)
{
    return c->depth == 8 && c->primaries == AVCOL_PRI_BT709 && c->trc == AVCOL_TRC_BT709 &&
           c->matrix == AVCOL_SPC_BT709 && c->range == AVCOL_RANGE_MPEG;
}

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *len)
        return -1;
    *len += (size_t)n;
    return 0;
}

/* zscale's description of the input, from the stated or assumed colours. */
static int zscale_in(const arc__video_colour_t *c, char *buf, size_t size, size_t *len)
{
    return append(buf, size, len, "zscale=pin=%d:tin=%d:min=%d:rin=%s:f=spline36",
                  (int)c->primaries, (int)c->trc, (int)c->matrix,
                  c->range == AVCOL_RANGE_JPEG ? "pc" : "tv");
}

int arc__video_colour_chain(const arc__video_colour_t *c, double peak, char *buf, size_t size,
                            size_t *len)
{
    if (arc__video_colour_is_web(c))
        return append(buf, size, len, "format=yuv420p");
    if (!c->hdr)
        return zscale_in(c, buf, size, len) ||
               append(buf, size, len, ":p=709:t=709:m=709:r=tv,format=yuv420p");
    return zscale_in(c, buf, size, len) ||
           append(buf, size, len,
                  ":t=linear:npl=%.0f,format=gbrpf32le,zscale=p=709,"
                  "tonemap=mobius:param=0.3:peak=%.4f,"
                  "zscale=t=709:m=709:r=tv:f=spline36,format=yuv420p",
                  ARC__VIDEO_SDR_WHITE, peak);
}

int arc__video_colour_linear_chain(const arc__video_colour_t *c, char *buf, size_t size,
                                   size_t *len)
{
    return zscale_in(c, buf, size, len) ||
           append(buf, size, len, ":t=linear:npl=%.0f:p=709,format=gbrpf32le",
                  ARC__VIDEO_SDR_WHITE);
}

/* Nominal peaks when nothing better is known: phones grade HDR for
 * 1000 cd/m2 displays (HLG's reference display, and the usual PQ master). */
static double nominal_peak(const arc__video_colour_t *c)
{
    double nits = c->meta_nits > 0 ? c->meta_nits : 1000.0;
    return nits / ARC__VIDEO_SDR_WHITE;
}

double arc__video_colour_peak(const arc__video_colour_t *c, const arc__video_samples_t *set)
{
    double peak = 0;

    if (!c->hdr)
        return 1.0;
    if (set->n == 0)
        return nominal_peak(c);
    for (int k = 0; k < set->n; k++) {
        const arc__video_sample_t *s = &set->s[k];
        for (size_t i = 0; i < (size_t)s->w * s->h; i++) {
            /* tonemap compresses max(R,G,B), so that is what a highlight
             * brings; but only a pixel brighter than white is one: a
             * saturated colour an SDR grade already holds (4% of a
             * colourful photo's pixels have a component over white after
             * 4:2:0) would otherwise dim the whole clip. */
            const float *p = s->rgb + 3 * i;
            double y = 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
            double m = y > 1 ? fmax(p[0], fmax(p[1], p[2])) : y;
            if (isfinite(m) && m > peak)
                peak = m;
        }
    }
    if (c->meta_nits > 0 && peak > nominal_peak(c))
        peak = nominal_peak(c);
    /* Within white (and its rounding): nothing to compress. */
    return peak <= 1.02 ? 1.0 : peak;
}

json_t *arc__video_colour_json(const arc__video_colour_t *c, double peak)
{
    json_t *o =
        json_pack("{s:s?, s:s?, s:s?, s:s?, s:i, s:b, s:b}", "primaries",
                  av_color_primaries_name(c->primaries), "transfer", av_color_transfer_name(c->trc),
                  "matrix", av_color_space_name(c->matrix), "range", av_color_range_name(c->range),
                  "bitDepth", c->depth, "assumed", c->assumed, "hdr", c->hdr);
    if (c->hdr) {
        json_object_set_new(o, "toneMapPeakNits", json_real(round(peak * ARC__VIDEO_SDR_WHITE)));
        if (c->meta_nits > 0)
            json_object_set_new(o, "metadataPeakNits", json_real(round(c->meta_nits)));
    }
    if (c->dv_profile >= 0)
        json_object_set_new(o, "dolbyVisionProfile", json_integer(c->dv_profile));
    return o;
}
