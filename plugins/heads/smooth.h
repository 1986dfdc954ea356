/* smooth.h — the labeler's `min-segment` rule, streaming, with a bounded delay.
 *
 * Rule: a run of equal per-frame labels shorter than min_seg seconds takes the label
 * of the segment before it; runs at the very start that are all short take the label
 * of the first run that is long enough.  A run's duration is last time - first time
 * + the frame interval.
 *
 * The caller keeps the frames not yet decided in a FIFO: it appends each frame, calls
 * sp_smooth_push, and releases frames from the FIFO's head as the release callback
 * says (n frames, with this label).  Only the trailing run is held back (less than
 * min_seg seconds of frames), except at the very start, where at most `cap` frames
 * are held before the label of the run in hand is taken.  The emitted labels are therefore
 * exactly the segments a sink builds from them: no segment shorter than min_seg
 * except when the whole input is shorter.
 */
#ifndef SP_HEADS_SMOOTH_H
#define SP_HEADS_SMOOTH_H

#include <glib.h>
#include <stdint.h>

typedef gboolean (*SpSmoothRelease) (int64_t n, int label, void *user, GError **error);

typedef struct {
  double min_seg;
  int64_t cap;
  int committed;         /* label of the segment in progress; -1 before the first */
  int64_t pending;       /* frames held in the caller's FIFO */
  int64_t run_len;       /* the trailing run: its length, label, first time */
  int run_label;
  double run_t0, last_t, dt;
  gboolean seen;
} SpSmooth;

void sp_smooth_init (SpSmooth *s, double min_seg, int64_t cap);
/* the frame just appended to the FIFO had raw label `label` at `time` */
gboolean sp_smooth_push (SpSmooth *s, int label, double time, SpSmoothRelease release,
                         void *user, GError **error);
/* end of input: releases everything held */
gboolean sp_smooth_finish (SpSmooth *s, SpSmoothRelease release, void *user, GError **error);

#endif
