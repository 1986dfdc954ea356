/* run-stream.c — an input's frames through its chain: the decode thread feeding a
 * bounded frame pool, and the consumer taking each frame through the extractor to
 * the caller's function (run-chain.h).
 *
 * Decode thread and consumer share a ring of N frames (sp_run_pool_frames):
 *
 *   decoder:  wait until count < N; decode into slot[(head + count) % N]; count++
 *   consumer: wait until count > 0; use slot[head]; head = (head + 1) % N; count--
 *
 * Only the slot being filled is touched outside the lock: the consumer never looks
 * past `count`, the decoder never below it.  The consumer stops the decoder by
 * setting `stop` and joining; the decoder polls sp_interrupted() between frames. */
#include "run-chain.h"
#include "run-signals.h"

#include <math.h>
#include <string.h>

typedef struct {
  GMutex lock;
  GCond cond;
  SpFrame *slots;
  int n;                    /* frames in the ring */
  int head, count;
  gboolean stop;            /* consumer -> decoder */
  gboolean done;            /* decoder finished (EOF, error, stop or interrupt) */
  gboolean interrupted;
  GError *error;            /* decoder's fatal error */
  int64_t broken;
  SpStage *decoder;
} FrameRing;

/* clears what a decoder fills, keeping the pool's buffers */
static void
ring_reset_frame (SpFrame *f)
{
  uint8_t *rgb = f->rgb;
  float *features = f->features;
  int w = f->width, h = f->height, d = f->feature_dim;

  memset (f, 0, sizeof *f);
  f->rgb = rgb;
  f->features = features;
  f->width = w;
  f->height = h;
  f->feature_dim = d;
}

/* A NaN or an infinity in a frame's features would run through the head as labels
 * of NaN scores: the input fails, naming the frame and the feature. */
static gboolean
features_finite (const SpFrame *f, int dim, GError **error)
{
  for (int d = 0; d < dim; d++)
    if (!isfinite (f->features[d]))
      {
        g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "feature %d is %s; features must be "
                     "finite numbers", d, isnan (f->features[d]) ? "NaN" : "infinite");
        return FALSE;
      }
  return TRUE;
}

static gpointer
decode_thread (gpointer data)
{
  FrameRing *r = data;
  SpStage *st = r->decoder;

  for (;;)
    {
      SpFrame *f;
      GError *local = NULL;
      SpDecodeStatus s;

      g_mutex_lock (&r->lock);
      while (r->count == r->n && !r->stop)
        g_cond_wait (&r->cond, &r->lock);
      f = &r->slots[(r->head + r->count) % r->n];
      if (r->stop)
        {
          g_mutex_unlock (&r->lock);
          break;
        }
      g_mutex_unlock (&r->lock);
      if (sp_interrupted ())
        {
          r->interrupted = TRUE;
          break;
        }
      ring_reset_frame (f);
      s = sp_stage_decode (st, f, &local);
      if (s == SP_DECODE_FRAME)
        {
          g_mutex_lock (&r->lock);
          r->count++;
          g_cond_broadcast (&r->cond);
          g_mutex_unlock (&r->lock);
        }
      else if (s == SP_DECODE_BROKEN)
        r->broken++;
      else if (s == SP_DECODE_EOF)
        break;
      else
        {
          r->error = local;
          break;
        }
    }
  g_mutex_lock (&r->lock);
  r->done = TRUE;
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  return NULL;
}

int
sp_run_pool_frames (size_t frame_bytes)
{
  size_t fit = frame_bytes > 0 ? SP_RUN_POOL_BYTES / frame_bytes : SP_RUN_POOL_FRAMES;

  return (int) CLAMP (fit, 2, SP_RUN_POOL_FRAMES);
}

gboolean
sp_chain_stream (SpChain *ch, SpFrameFunc fn, void *user_data, SpStreamStats *stats,
                 GError **error)
{
  const SpDecoderParams *dec = ch->decoder->decoder;
  const SpInputInfo *in = ch->decoder->input;
  gboolean rgb = ch->extractor != NULL;
  size_t rgb_size = rgb ? (size_t) dec->width * dec->height * 3 : 0;
  FrameRing *r = g_new0 (FrameRing, 1);
  GThread *thread;
  GError *local = NULL;
  int64_t frame_no = -1;
  /* an extractor that takes frames in batches holds one batch of the pool while the
   * decoder fills the rest */
  int batch = ch->extractor != NULL ? sp_stage_batch (ch->extractor) : 1;
  g_autofree SpFrame **taken = g_new (SpFrame *, batch);

  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->decoder = ch->decoder;
  r->n = sp_run_pool_frames (rgb_size + sizeof (float) * (size_t) ch->feature_dim);
  if (batch > 1)
    r->n = MAX (r->n, batch + 2);
  r->slots = g_new0 (SpFrame, r->n);
  for (int i = 0; i < r->n; i++)
    {
      r->slots[i].width = dec->width;
      r->slots[i].height = dec->height;
      r->slots[i].rgb = rgb ? g_malloc0 (rgb_size) : NULL;
      r->slots[i].features = g_new0 (float, ch->feature_dim);
      r->slots[i].feature_dim = ch->feature_dim;
    }
  stats->frames = 0;
  stats->broken = 0;

  thread = g_thread_new ("sp-decode", decode_thread, r);
  for (;;)
    {
      gboolean ok = TRUE;
      int k;

      /* the next `batch` frames (fewer at the end of the input) */
      g_mutex_lock (&r->lock);
      while (r->count < batch && !r->done)
        g_cond_wait (&r->cond, &r->lock);
      if (r->count == 0)
        {
          g_mutex_unlock (&r->lock);
          break;
        }
      k = MIN (r->count, batch);
      for (int j = 0; j < k; j++)
        taken[j] = &r->slots[(r->head + j) % r->n];
      g_mutex_unlock (&r->lock);

      frame_no = taken[0]->index;
      for (int j = 0; j < k; j++)
        taken[j]->feature_dim = ch->feature_dim;
      if (ch->extractor != NULL)
        ok = sp_stage_process_batch (ch->extractor, taken, k, &local);
      for (int j = 0; ok && j < k; j++)
        {
          frame_no = taken[j]->index;
          ok = features_finite (taken[j], ch->feature_dim, &local)
               && fn (taken[j], user_data, &local);
          if (ok)
            stats->frames++;
        }
      if (!ok && local == NULL)
        g_set_error (&local, SP_ERROR, SP_ERROR_INPUT, "processing the frame failed");

      g_mutex_lock (&r->lock);
      r->head = (r->head + k) % r->n;
      r->count -= k;
      g_cond_broadcast (&r->cond);
      g_mutex_unlock (&r->lock);
      if (!ok)
        break;
      if (sp_interrupted ())
        break;
    }
  g_mutex_lock (&r->lock);
  r->stop = TRUE;
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  g_thread_join (thread);

  stats->broken = r->broken;
  if (local == NULL && r->error != NULL)
    {
      local = g_steal_pointer (&r->error);
      frame_no = -1;
    }
  if (local == NULL && (r->interrupted || sp_interrupted ()))
    {
      g_set_error (&local, SP_ERROR, SP_ERROR_INTERRUPTED, "interrupted");
      frame_no = -1;
    }
  if (local == NULL && stats->frames == 0)
    {
      /* an empty result is never what was asked for: a cut file, a window past the end */
      if (r->broken > 0)
        g_set_error (&local, SP_ERROR, SP_ERROR_INPUT, "no frame could be decoded (%"
                     G_GINT64_FORMAT " broken)", r->broken);
      else
        g_set_error (&local, SP_ERROR, SP_ERROR_INPUT, "no frame to process");
    }
  for (int i = 0; i < r->n; i++)
    {
      g_free (r->slots[i].rgb);
      g_free (r->slots[i].features);
    }
  g_free (r->slots);
  g_clear_error (&r->error);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  g_free (r);
  if (local != NULL)
    {
      sp_error_name_input (local, in, frame_no);
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

