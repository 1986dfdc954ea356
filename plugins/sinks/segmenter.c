/* segmenter.c — runs of equal labels (definitions in segmenter.h). */
#include "segmenter.h"

gboolean
sp_segmenter_push (SpSegmenter *s, int label, double time, double score, SpSegment *done)
{
  gboolean closed = FALSE;
  if (s->n == 0)
    s->first_time = time;
  if (s->open && s->cur.label != label) {
    *done = s->cur;
    done->end = time;
    done->score = s->score_sum / (double) s->cur.frames;
    s->open = FALSE;
    closed = TRUE;
  }
  if (!s->open) {
    s->cur = (SpSegment) { .label = label, .start = time, .end = time, .frames = 0 };
    s->score_sum = 0;
    s->open = TRUE;
  }
  s->cur.frames++;
  s->score_sum += score;
  s->last_time = time;
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
sp_segmenter_finish (SpSegmenter *s, const SpDecoderParams *dec, SpSegment *done)
{
  if (!s->open)
    return FALSE;
  *done = s->cur;
  done->end = s->last_time + sp_segmenter_period (s, dec);
  done->score = s->score_sum / (double) s->cur.frames;
  s->open = FALSE;
  return TRUE;
}
