/* segmenter.c — runs of equal labels (definitions in segmenter.h). */
#include "segmenter.h"

gboolean
sp_segmenter_push (SpSegmenter *s, const SpRecord *r, SpSegment *done)
{
  gboolean closed = FALSE;
  double time = r->frame->time;
  if (s->n == 0)
    s->first_time = time;
  if (s->open && s->cur.label != r->label) {
    *done = s->cur;
    done->end = time;
    done->end_frame = s->last_index;
    done->score = s->score_sum / (double) s->cur.frames;
    s->open = FALSE;
    closed = TRUE;
  }
  if (!s->open) {
    s->cur = (SpSegment) { .label = r->label, .start = time, .end = time, .frames = 0,
                           .start_frame = r->frame->index, .end_frame = r->frame->index };
    s->score_sum = 0;
    s->open = TRUE;
  }
  s->cur.frames++;
  s->score_sum += r->score;
  s->last_time = time;
  s->last_index = r->frame->index;
  s->n++;
  return closed;
}

double
sp_segmenter_period (const SpSegmenter *s, const SpDecoderParams *dec)
{
  if (dec != NULL && dec->fps > 0)
    return 1.0 / dec->fps;
  if (s->n > 1)
    return (s->last_time - s->first_time) / (double) (s->n - 1);
  return 0.0;
}

gboolean
sp_segmenter_finish (SpSegmenter *s, SpStage *st, SpSegment *done)
{
  double duration = sp_stage_input_duration (st);

  if (!s->open)
    return FALSE;
  *done = s->cur;
  done->end = s->last_time + sp_segmenter_period (s, st->decoder);
  /* never past the end of the input (the last frame may be shorter than the period) */
  if (duration > done->start && done->end > duration)
    done->end = duration;
  done->end_frame = s->last_index;
  done->score = s->score_sum / (double) s->cur.frames;
  s->open = FALSE;
  return TRUE;
}
