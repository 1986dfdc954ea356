/* segmenter.h — runs of equal labels over the frames of one input, as the
 * `segments`, `srt`, `vtt` and `timeline` sinks write them.
 *
 * Frames arrive in order with (label, time, score).  A segment is a maximal run of
 * consecutive frames with the same label:
 *   start  = time of its first frame
 *   end    = time of the first frame of the next segment; for the last segment of
 *            the input, time of its last frame + the frame period P, but never past
 *            the input's end when the decoder says where that is
 *            (sp_stage_input_duration)
 *   frames = number of frames in the run
 *   score  = mean score of its frames
 *   start_frame = native index (SpFrame.index) of its first frame
 *   end_frame   = native index of its last frame, inclusive: the segment's frames
 *                 are start_frame..end_frame of the input (when [decoder] fps samples
 *                 frames, the native frames between two delivered ones are not
 *                 delivered, so end_frame + 1 may be less than the next start_frame)
 * P = 1 / [decoder] fps when fps > 0; otherwise the mean spacing of the input's
 * frames, (t_last - t_first) / (n - 1); 0 for an input of one frame.
 * Segments therefore tile [t_first, t_last + P) without gaps, half-open like the
 * label files' `start,end,label` segments. */
#ifndef SP_SINK_SEGMENTER_H
#define SP_SINK_SEGMENTER_H

#include <seqpipe/plugin.h>

typedef struct {
  int label;
  double start, end;
  gint64 frames;
  double score;          /* mean */
  gint64 start_frame, end_frame;   /* native indices of the first and last frame */
} SpSegment;

typedef struct {
  gboolean open;
  SpSegment cur;
  double score_sum;
  double first_time, last_time;
  gint64 last_index;
  gint64 n;              /* frames seen */
} SpSegmenter;

/* One frame record (frame set).  TRUE when it closed the previous segment, which is
 * then in *done. */
gboolean sp_segmenter_push (SpSegmenter *s, const SpRecord *r, SpSegment *done);
/* End of input.  TRUE when there was a last segment, then in *done. */
gboolean sp_segmenter_finish (SpSegmenter *s, SpStage *st, SpSegment *done);
/* the frame period P defined above */
double sp_segmenter_period (const SpSegmenter *s, const SpDecoderParams *dec);

#endif
