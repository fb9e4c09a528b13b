/* Drawing on colour photos: rectangles, discs, rings, triangles and copies,
 * every one clipped to the photo. Enough for the printable border and for
 * features.png; hard edges on purpose (they are what a tracker finds). */
#include <math.h>
#include <string.h>

#include "arcd/image.h"

static void put(arc_photo_t *p, int x, int y, const uint8_t rgb[3])
{
    memcpy(p->data + ((size_t)y * (size_t)p->width + (size_t)x) * 3, rgb, 3);
}

void arc_photo_fill_rect(arc_photo_t *p, int x, int y, int w, int h, const uint8_t rgb[3])
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > p->width ? p->width : x + w, y1 = y + h > p->height ? p->height : y + h;

    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++)
            put(p, xx, yy, rgb);
}

/* Every pixel whose centre lies between radii r0 and r1 of (cx, cy). */
static void annulus(arc_photo_t *p, double cx, double cy, double r0, double r1,
                    const uint8_t rgb[3])
{
    int y0 = (int)floor(cy - r1), y1 = (int)ceil(cy + r1);
    int x0 = (int)floor(cx - r1), x1 = (int)ceil(cx + r1);

    if (y0 < 0)
        y0 = 0;
    if (x0 < 0)
        x0 = 0;
    if (y1 > p->height - 1)
        y1 = p->height - 1;
    if (x1 > p->width - 1)
        x1 = p->width - 1;
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy, d2 = dx * dx + dy * dy;
            if (d2 <= r1 * r1 && d2 >= r0 * r0)
                put(p, x, y, rgb);
        }
    }
}

void arc_photo_fill_circle(arc_photo_t *p, double cx, double cy, double r, const uint8_t rgb[3])
{
    annulus(p, cx, cy, 0, r, rgb);
}

void arc_photo_ring(arc_photo_t *p, double cx, double cy, double r, double thickness,
                    const uint8_t rgb[3])
{
    annulus(p, cx, cy, r - thickness > 0 ? r - thickness : 0, r, rgb);
}

static double edge(double ax, double ay, double bx, double by, double px, double py)
{
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

void arc_photo_fill_triangle(arc_photo_t *p, const double xy[6], const uint8_t rgb[3])
{
    double minx = fmin(xy[0], fmin(xy[2], xy[4])), maxx = fmax(xy[0], fmax(xy[2], xy[4]));
    double miny = fmin(xy[1], fmin(xy[3], xy[5])), maxy = fmax(xy[1], fmax(xy[3], xy[5]));
    double area = edge(xy[0], xy[1], xy[2], xy[3], xy[4], xy[5]);
    int x0 = (int)floor(minx) < 0 ? 0 : (int)floor(minx);
    int y0 = (int)floor(miny) < 0 ? 0 : (int)floor(miny);
    int x1 = (int)ceil(maxx) > p->width - 1 ? p->width - 1 : (int)ceil(maxx);
    int y1 = (int)ceil(maxy) > p->height - 1 ? p->height - 1 : (int)ceil(maxy);

    if (area == 0)
        return;
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            double cx = x + 0.5, cy = y + 0.5;
            double a = edge(xy[0], xy[1], xy[2], xy[3], cx, cy) / area;
            double b = edge(xy[2], xy[3], xy[4], xy[5], cx, cy) / area;
            double c = edge(xy[4], xy[5], xy[0], xy[1], cx, cy) / area;
            if (a >= 0 && b >= 0 && c >= 0)
                put(p, x, y, rgb);
        }
    }
}

void arc_photo_blit(arc_photo_t *p, const arc_photo_t *src, int x, int y)
{
    for (int sy = 0; sy < src->height; sy++) {
        int dy = y + sy;
        if (dy < 0 || dy >= p->height)
            continue;
        int sx0 = x < 0 ? -x : 0;
        int sx1 = x + src->width > p->width ? p->width - x : src->width;
        if (sx1 <= sx0)
            continue;
        memcpy(p->data + ((size_t)dy * (size_t)p->width + (size_t)(x + sx0)) * 3,
               src->data + ((size_t)sy * (size_t)src->width + (size_t)sx0) * 3,
               (size_t)(sx1 - sx0) * 3);
    }
}
