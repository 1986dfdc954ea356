/* frame-times.h — times of equally spaced frames (image sequences, feature rows),
 * shared by the decoders whose inputs carry no timestamps of their own. */
#ifndef SP_FRAME_TIMES_H
#define SP_FRAME_TIMES_H

#include <math.h>
#include <stdint.h>

/* time of frame i: i / fps, or i seconds when fps = 0 (one frame per second) */
static inline double
sp_frame_time (double fps, int64_t i)
{
  return fps > 0 ? (double) i / fps : (double) i;
}

/* the first of n frames whose time is >= t (n when none) */
static inline int64_t
sp_first_frame_at (double fps, double t, int64_t n)
{
  if (t <= 0)
    return 0;
  double est = fps > 0 ? floor (t * fps) : floor (t);
  int64_t i = est >= (double) n ? n : (int64_t) est;
  while (i > 0 && sp_frame_time (fps, i - 1) >= t)
    i--;
  while (i < n && sp_frame_time (fps, i) < t)
    i++;
  return i;
}

#endif
