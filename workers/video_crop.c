/*
 * Smart crop for the cover fit: where, in a video wider (or taller) than
 * its photo, the photo-shaped window goes.
 *
 * A cover crop leaves one axis free, so the choice is one number: the
 * window's offset. Each sampled frame (video_internal.h) gives every pixel
 * a salience: local contrast (edges: where detail is), saturation, and
 * above all skin tones (people, whose faces a centre crop cuts in half
 * when they stand off-centre). The salience is summed across the free
 * axis into a profile, the profiles of all samples added, and the window
 * with the largest sum wins, a little of it traded for nearness to the
 * centre so that a flat clip stays centred. Then, where the skin-coloured
 * columns (rows) form one region that fits in the window but straddles its
 * edge, the window moves just enough to hold it whole. No face model: the
 * skin test is the classic Cb/Cr box (Chai and Ngan, 1999), cheap and
 * good enough to keep a person in the picture.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arcd/error.h"
#include "video_internal.h"

void arc__video_samples_dispose(arc__video_samples_t *set)
{
    for (int k = 0; k < set->n; k++)
        free(set->s[k].rgb);
    set->n = 0;
}

/* Linear light to a display value in [0, 1] (a plain 2.2 gamma serves). */
static float display(float v)
{
    return v <= 0 ? 0 : v >= 1 ? 1 : powf(v, 1 / 2.2f);
}

/* Adds one sample's salience, and its skin, to the profiles along the free
 * axis (x when horizontal, else y); both have n entries. */
static void profile_add(const arc__video_sample_t *s, int horizontal, double *sal, double *skin,
                        int n)
{
    int w = s->w, h = s->h;
    float *luma = arc_xmallocarray((size_t)w * h, sizeof(float));

    for (int i = 0; i < w * h; i++) {
        const float *p = s->rgb + 3 * i;
        luma[i] = 0.2126f * display(p[0]) + 0.7152f * display(p[1]) + 0.0722f * display(p[2]);
    }
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            const float *p = s->rgb + 3 * ((size_t)y * w + x);
            float r = display(p[0]), g = display(p[1]), b = display(p[2]);
            float mx = fmaxf(r, fmaxf(g, b)), mn = fminf(r, fminf(g, b));
            int xl = x > 0 ? x - 1 : x, xr = x + 1 < w ? x + 1 : x;
            int yu = y > 0 ? y - 1 : y, yd = y + 1 < h ? y + 1 : y;
            float gx = luma[y * w + xr] - luma[y * w + xl];
            float gy = luma[yd * w + x] - luma[yu * w + x];
            float edge = fminf(1.0f, 4.0f * sqrtf(gx * gx + gy * gy));
            /* BT.601 full-range Cb and Cr, 0-255 */
            float cb = 128 - 43.03f * r - 84.47f * g + 127.5f * b;
            float cr = 128 + 127.5f * r - 106.77f * g - 20.73f * b;
            int is_skin = cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173 && mx > 0.2f;
            int at = horizontal ? x : y;
            int slot = (int)((long)at * n / (horizontal ? w : h));
            sal[slot] += edge + 0.5 * (mx - mn) + 1.5 * is_skin;
            skin[slot] += is_skin;
        }
    }
    free(luma);
}

int arc__video_crop_place(const arc__video_samples_t *set, int dw, int dh, int crop_w, int crop_h,
                          int *x, int *y)
{
    int horizontal = crop_w < dw; /* the window slides along x */
    int full = horizontal ? dw : dh, win = horizontal ? crop_w : crop_h;
    int centre = (full - win) / 2 & ~1;
    int chosen = 0;

    *x = horizontal ? centre : 0;
    *y = horizontal ? 0 : centre;
    if (set->n == 0 || win >= full)
        return 0;

    /* Profiles at the samples' resolution along the free axis. */
    int n = horizontal ? set->s[0].w : set->s[0].h;
    double *sal = arc_xcalloc((size_t)n + 1, sizeof(double));
    double *skin = arc_xcalloc((size_t)n + 1, sizeof(double));
    double *pre = arc_xcalloc((size_t)n + 1, sizeof(double));
    for (int k = 0; k < set->n; k++)
        profile_add(&set->s[k], horizontal, sal, skin, n);
    for (int i = 0; i < n; i++)
        pre[i + 1] = pre[i] + sal[i];

    int wn = (int)lround((double)win * n / full);
    if (wn < 1)
        wn = 1;
    if (wn >= n)
        goto out;
    double best = -1, total = pre[n] > 0 ? pre[n] : 1;
    int best_at = (n - wn) / 2, span = n - wn;
    for (int at = 0; at <= span; at++) {
        double off = fabs(at - span / 2.0) / (span / 2.0 > 0 ? span / 2.0 : 1);
        /* The centre's pull: at most 5% of the clip's salience. */
        double score = (pre[at + wn] - pre[at]) / total - 0.05 * off;
        if (score > best)
            best = score, best_at = at;
    }

    /* The skin region with the most skin: kept whole when it fits. */
    double skin_total = 0, thresh;
    for (int i = 0; i < n; i++)
        skin_total += skin[i];
    thresh = 0.02 * (horizontal ? set->s[0].h : set->s[0].w) * set->n;
    if (skin_total > 0) {
        int run_a = -1, run_b = -1;
        double run_best = 0;
        for (int i = 0; i < n;) {
            if (skin[i] < thresh) {
                i++;
                continue;
            }
            int a = i;
            double mass = 0;
            while (i < n && skin[i] >= thresh)
                mass += skin[i++];
            if (mass > run_best)
                run_best = mass, run_a = a, run_b = i; /* [a, b) */
        }
        if (run_a >= 0 && run_b - run_a <= wn) {
            if (run_a < best_at)
                best_at = run_a;
            else if (run_b > best_at + wn)
                best_at = run_b - wn;
        }
    }
    int pos = (int)lround((double)best_at * full / n) & ~1;
    if (pos > full - win)
        pos = (full - win) & ~1;
    *x = horizontal ? pos : 0;
    *y = horizontal ? 0 : pos;
    chosen = 1;
out:
    free(sal);
    free(skin);
    free(pre);
    return chosen;
}
