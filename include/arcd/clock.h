/*
 * clock.h: the monotonic clock every part of arcd times itself with
 * (CLOCK_MONOTONIC, milliseconds). Safe from any thread.
 */
#ifndef ARCD_CLOCK_H
#define ARCD_CLOCK_H

/* Milliseconds since an arbitrary fixed point. */
double arc_now_ms(void);

#endif
