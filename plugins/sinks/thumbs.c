/* thumbs.c — evenly spaced thumbnails in fixed memory (see thumbs.h). */
#include "thumbs.h"

#include <math.h>
#include <string.h>

#include "canvas.h"

void
sp_thumbs_init (SpThumbs *t, int cap, int tw, int th)
{
  memset (t, 0, sizeof *t);
  t->cap = cap;
  t->tw = tw;
  t->th = th;
  t->bucket = 1;
  t->pix = g_new0 (guint8, (size_t) cap * tw * th * 3);
  t->time = g_new0 (double, cap);
  t->valid = g_new0 (gboolean, cap);
}

void
sp_thumbs_clear (SpThumbs *t)
{
  g_free (t->pix);
  g_free (t->time);
  g_free (t->valid);
  memset (t, 0, sizeof *t);
}

/* keep slots 0, 2, 4, ... as 0, 1, 2, ... and double the bucket */
static void
halve (SpThumbs *t)
{
  size_t sz = (size_t) t->tw * t->th * 3;
  for (int i = 0; 2 * i < t->n_slots; i++) {
    memmove (t->pix + i * sz, t->pix + 2 * i * sz, sz);
    t->time[i] = t->time[2 * i];
    t->valid[i] = t->valid[2 * i];
  }
  t->n_slots = (t->n_slots + 1) / 2;
  t->bucket *= 2;
}

void
sp_thumbs_push (SpThumbs *t, const SpFrame *f)
{
  gint64 n = t->n_frames++;
  if (t->cap <= 0 || n % t->bucket != 0)
    return;
  if (n / t->bucket >= t->cap)
    halve (t);
  int slot = (int) (n / t->bucket);
  t->time[slot] = f->time;
  t->valid[slot] = f->rgb != NULL && f->width > 0 && f->height > 0;
  if (t->valid[slot])
    sp_resample_rgb (f->rgb, f->width, f->height,
                     t->pix + (size_t) slot * t->tw * t->th * 3, t->tw, t->th);
  t->n_slots = slot + 1;
}

int
sp_thumbs_nearest (const SpThumbs *t, double time)
{
  int best = -1;
  double best_d = INFINITY;
  for (int i = 0; i < t->n_slots; i++) {
    double d = fabs (t->time[i] - time);
    if (t->valid[i] && d < best_d) {
      best = i;
      best_d = d;
    }
  }
  return best;
}
