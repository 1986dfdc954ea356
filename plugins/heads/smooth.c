/* smooth.c — the min-segment rule (see smooth.h). */
#include "smooth.h"

void
sp_smooth_init (SpSmooth *s, double min_seg, int64_t cap)
{
  *s = (SpSmooth) { .min_seg = min_seg, .cap = cap, .committed = -1, .run_label = -1 };
}

static gboolean
release_all (SpSmooth *s, int label, SpSmoothRelease release, void *user, GError **error)
{
  int64_t n = s->pending;
  s->pending = 0;
  s->run_len = 0;
  s->run_label = -1;
  return n == 0 || release (n, label, user, error);
}

gboolean
sp_smooth_push (SpSmooth *s, int label, double time, SpSmoothRelease release, void *user,
                GError **error)
{
  if (s->seen && time > s->last_t)
    s->dt = time - s->last_t;
  s->last_t = time;
  s->seen = TRUE;
  s->pending++;
  if (label != s->run_label) {
    /* a new trailing run: what was held before it is decided when a segment is open */
    if (s->committed >= 0 && s->pending > 1) {
      int64_t before = s->pending - 1;
      s->pending = 1;
      if (!release (before, s->committed, user, error))
        return FALSE;
    }
    s->run_label = label;
    s->run_len = 0;
    s->run_t0 = time;
  }
  s->run_len++;
  if (s->run_label == s->committed)
    return release_all (s, s->committed, release, user, error);
  if (time - s->run_t0 + s->dt >= s->min_seg - 1e-6) {   /* 1 us: times are sums of steps */
    /* the run is long enough: a new segment (held short runs at the start join it) */
    s->committed = s->run_label;
    return release_all (s, s->committed, release, user, error);
  }
  if (s->committed < 0 && s->pending >= s->cap) {
    s->committed = s->run_label;
    return release_all (s, s->committed, release, user, error);
  }
  return TRUE;
}

gboolean
sp_smooth_finish (SpSmooth *s, SpSmoothRelease release, void *user, GError **error)
{
  return release_all (s, s->committed >= 0 ? s->committed : s->run_label, release, user, error);
}
