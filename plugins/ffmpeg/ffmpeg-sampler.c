/* ffmpeg-sampler.c — the `fps` sampling rule of ffmpeg-sampler.h. */
#include "ffmpeg-sampler.h"

#include <libavutil/avutil.h>
#include <libavutil/mathematics.h>

/* fps = p/q (p, q from av_d2q), time base = a/b seconds per tick:
 *   t_k = k / fps seconds = k * q / p seconds = k * q * b / (p * a) ticks */
void
sp_sampler_init (SpSampler *s, double fps, AVRational time_base)
{
  s->all = !(fps > 0.0);
  s->next = 0;
  s->mul = 1;
  s->div = 1;
  if (s->all)
    return;
  AVRational r = av_d2q (fps, 1000000);
  s->mul = (int64_t) r.den * time_base.den;
  s->div = (int64_t) r.num * time_base.num;
  if (s->mul <= 0 || s->div <= 0)
    s->all = TRUE;
}

int64_t
sp_sampler_instant (const SpSampler *s, int64_t k)
{
  return av_rescale_rnd (k, s->mul, s->div, AV_ROUND_NEAR_INF);
}

void
sp_sampler_skip_past (SpSampler *s, int64_t ticks)
{
  if (s->all || ticks < sp_sampler_instant (s, s->next))
    return;
  /* first k with t_k > ticks: start from the estimate ticks * div / mul, then fix
   * the rounding by stepping */
  int64_t k = av_rescale_rnd (ticks, s->div, s->mul, AV_ROUND_DOWN);
  if (k < s->next)
    k = s->next;
  while (k > s->next && sp_sampler_instant (s, k - 1) > ticks)
    k--;
  while (sp_sampler_instant (s, k) <= ticks)
    k++;
  s->next = k;
}

gboolean
sp_sampler_take (SpSampler *s, int64_t ticks)
{
  if (s->all)
    return TRUE;
  if (ticks < sp_sampler_instant (s, s->next))
    return FALSE;
  sp_sampler_skip_past (s, ticks);
  return TRUE;
}

gboolean
sp_sampler_may_take (const SpSampler *s, int64_t prev, int64_t ticks)
{
  if (s->all)
    return TRUE;
  SpSampler first = *s;
  first.next = 0;
  if (prev != AV_NOPTS_VALUE)
    sp_sampler_skip_past (&first, prev);
  return ticks >= sp_sampler_instant (&first, first.next);
}
