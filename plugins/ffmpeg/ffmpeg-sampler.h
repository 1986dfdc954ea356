/* ffmpeg-sampler.h — which decoded frames a `fps` sample rate keeps.
 *
 * Rule (by presentation time, never by counting frames): with t_k = k / fps the
 * k-th sample instant after the stream start, rounded to the nearest tick of the
 * stream's time base, sample k is the first decoded frame whose timestamp (ticks
 * after the stream start) is >= t_k.  A frame is delivered at most once: after it,
 * sampling goes on with the first instant later than its timestamp, so a video
 * slower than `fps` delivers every frame and a gap skips the instants inside it.
 * Rounding the instants to the time base makes a container that stores times in
 * milliseconds (1/30 s as 33 ms) pick the same frames as an exact one.
 */
#ifndef SP_FFMPEG_SAMPLER_H
#define SP_FFMPEG_SAMPLER_H

#include <glib.h>
#include <stdint.h>
#include <libavutil/rational.h>

typedef struct {
  gboolean all;      /* fps == 0: every frame */
  int64_t mul, div;  /* t_k = round(k * mul / div) ticks */
  int64_t next;      /* k of the next sample */
} SpSampler;

void sp_sampler_init (SpSampler *s, double fps, AVRational time_base);
/* the instant t_k in ticks */
int64_t sp_sampler_instant (const SpSampler *s, int64_t k);
/* TRUE when the frame at `ticks` (after the stream start) is the next sample */
gboolean sp_sampler_take (SpSampler *s, int64_t ticks);
/* as if the frame at `ticks` had been taken: the next sample is the first instant
 * after it (to resume sampling after a seek) */
void sp_sampler_skip_past (SpSampler *s, int64_t ticks);
/* TRUE when the rule takes the frame at `ticks` that is displayed right after the
 * frame at `prev` (AV_NOPTS_VALUE: the first), whatever came before: some instant
 * t_k lies in (prev, ticks].  Does not change s. */
gboolean sp_sampler_may_take (const SpSampler *s, int64_t prev, int64_t ticks);

#endif
