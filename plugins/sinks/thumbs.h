/* thumbs.h — small copies of frames spread evenly over an input of unknown length.
 *
 * The store has `cap` slots of tw x th RGB24 pixels.  Frame n (0-based, counting
 * every frame pushed) is copied when n is a multiple of the bucket size b, into slot
 * n / b.  When slot `cap` would be needed, every second slot is dropped (slots 0, 2,
 * 4, ... move to 0, 1, 2, ...) and b doubles, so the slots always hold frames
 * 0, b, 2b, ... : evenly spaced over the input, with memory fixed at cap thumbnails. */
#ifndef SP_SINK_THUMBS_H
#define SP_SINK_THUMBS_H

#include <seqpipe/plugin.h>

typedef struct {
  int cap, tw, th;
  int n_slots;             /* slots filled: 0 .. cap */
  gint64 bucket;           /* frames per slot */
  gint64 n_frames;         /* frames pushed */
  guint8 *pix;             /* cap * th * tw * 3 */
  double *time;            /* per slot */
  gboolean *valid;         /* per slot: the frame had pixels */
} SpThumbs;

/* cap >= 2 and even */
void sp_thumbs_init (SpThumbs *t, int cap, int tw, int th);
void sp_thumbs_clear (SpThumbs *t);
void sp_thumbs_push (SpThumbs *t, const SpFrame *f);
/* the valid slot whose time is nearest to `time`, or -1 */
int sp_thumbs_nearest (const SpThumbs *t, double time);
static inline const guint8 *
sp_thumbs_pixels (const SpThumbs *t, int slot)
{
  return t->pix + (size_t) slot * t->tw * t->th * 3;
}

#endif
