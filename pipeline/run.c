/* run.c — every thread of seqpipe: an input's decode thread feeding a bounded frame
 * pool, and the pool of workers that process `jobs` inputs at once.
 *
 * Decode thread and consumer share a ring of N frames (sp_run_pool_frames):
 *
 *   decoder:  wait until count < N; decode into slot[(head + count) % N]; count++
 *   consumer: wait until count > 0; use slot[head]; head = (head + 1) % N; count--
 *
 * Only the slot being filled is touched outside the lock: the consumer never looks
 * past `count`, the decoder never below it.  The consumer stops the decoder by
 * setting `stop` and joining; the decoder polls sp_interrupted() between frames. */
#include "run.h"

#include <stdatomic.h>
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

/* a plugin that failed without setting its error still gets one */
static void
ensure_error (GError **error, SpStage *st, const char *what)
{
  if (*error == NULL)
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "the %s stage failed in %s without saying why",
                 sp_stage_host (st)->klass->name, what);
}

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

static gpointer
decode_thread (gpointer data)
{
  FrameRing *r = data;
  SpStage *st = r->decoder;
  const SpStageClass *k = sp_stage_host (st)->klass;

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
      s = k->decode (st, f, &local);
      if (s == SP_DECODE_FRAME)
        {
          g_mutex_lock (&r->lock);
          r->count++;
          g_cond_broadcast (&r->cond);
          g_mutex_unlock (&r->lock);
        }
      else if (s == SP_DECODE_BROKEN)
        {
          g_clear_error (&local);
          r->broken++;
        }
      else if (s == SP_DECODE_EOF)
        {
          g_clear_error (&local);
          break;
        }
      else
        {
          if (s == SP_DECODE_ERROR)
            {
              ensure_error (&local, st, "decode");
              r->error = local;
            }
          else
            {
              g_clear_error (&local);
              g_set_error (&r->error, SP_ERROR, SP_ERROR_PLUGIN,
                           "the %s decoder returned an unknown status %d", k->name, (int) s);
            }
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

  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->decoder = ch->decoder;
  r->n = sp_run_pool_frames (rgb_size + sizeof (float) * (size_t) ch->feature_dim);
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
      SpFrame *f;
      gboolean ok = TRUE;

      g_mutex_lock (&r->lock);
      while (r->count == 0 && !r->done)
        g_cond_wait (&r->cond, &r->lock);
      if (r->count == 0)
        {
          g_mutex_unlock (&r->lock);
          break;
        }
      f = &r->slots[r->head];
      g_mutex_unlock (&r->lock);

      frame_no = f->index;
      f->feature_dim = ch->feature_dim;
      if (ch->extractor != NULL)
        {
          SpStage *ex = ch->extractor;

          ok = sp_stage_host (ex)->klass->process (ex, f, &local);
          if (!ok)
            ensure_error (&local, ex, "process");
        }
      if (ok)
        ok = fn (f, user_data, &local);
      if (ok)
        stats->frames++;
      else if (local == NULL)
        g_set_error (&local, SP_ERROR, SP_ERROR_INPUT, "processing the frame failed");

      g_mutex_lock (&r->lock);
      r->head = (r->head + 1) % r->n;
      r->count--;
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

/* ---- the pool of inputs ------------------------------------------------------------ */

typedef struct {
  const SpRunPlan *plan;
  SpRunOutcome *out;
  atomic_int next;              /* next input to start */
  atomic_int stop;              /* no further input starts */
  atomic_int done;              /* inputs finished */
  atomic_int_fast64_t frames;   /* frames delivered, all inputs */
  atomic_int_fast64_t expected; /* sum of the started inputs' estimates */
  atomic_int started_known;     /* started inputs with an estimate */
  GMutex lock;                  /* out->fatal, counts; with cond: workers running */
  GCond cond;
  int running;
} Run;

/* What one input's chain hands to the head and the sinks.
 *
 * Every frame reaches the sinks once: as the head's record when the head labels
 * frames, else as a plain record (label -1).  A head labels frames when it is the
 * labeler, or once it emitted a record for a frame other than the one it was given
 * (a head that holds frames back, as the labeler's min-segment does); otherwise a
 * frame the head emitted no record for during its process() gets the plain record. */
typedef struct {
  Run *run;
  SpStage *head;
  SpSinkOutput *sinks;
  const SpFrame *current;       /* the frame in process() */
  gboolean emitted;             /* the head emitted a record for the current frame */
  gboolean labels_frames;       /* the head's records cover every frame */
} InputCtx;

static gboolean
on_emit (SpStage *head, const SpRecord *record, void *user_data, GError **error)
{
  InputCtx *x = user_data;

  if (x->sinks == NULL)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN, "the %s head emitted a record before "
                   "its input started", sp_stage_host (head)->klass->name);
      return FALSE;
    }
  if (record->frame != NULL)
    {
      x->emitted = TRUE;
      if (record->frame != x->current)
        x->labels_frames = TRUE;
    }
  return sp_sinks_write (x->sinks, record, error);
}

static gboolean
on_frame (SpFrame *frame, void *user_data, GError **error)
{
  InputCtx *x = user_data;

  x->emitted = FALSE;
  x->current = frame;
  if (x->head != NULL
      && !sp_stage_host (x->head)->klass->process (x->head, frame, error))
    {
      x->current = NULL;
      ensure_error (error, x->head, "process");
      return FALSE;
    }
  x->current = NULL;
  if (!x->emitted && !x->labels_frames)
    {
      SpRecord rec = { .frame = frame, .label = -1 };

      if (!sp_sinks_write (x->sinks, &rec, error))
        return FALSE;
    }
  atomic_fetch_add (&x->run->frames, 1);
  return TRUE;
}

/* errors of the run's set-up, not of one input's data: every input would fail alike */
static gboolean
is_fatal (const GError *e)
{
  return g_error_matches (e, SP_ERROR, SP_ERROR_CONFIG)
         || g_error_matches (e, SP_ERROR, SP_ERROR_PLUGIN)
         || g_error_matches (e, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG);
}

/* Head and sinks on top of the chain; then the whole input.  setup_error: the
 * failure came from setting up the head or the sinks (fatal if a config error). */
static gboolean
run_chain (Run *run, int i, SpChain *ch, SpInputResult *res, gboolean *setup_error,
           GError **error)
{
  const SpRunPlan *plan = run->plan;
  const SpInputInfo *in = &plan->inputs[i];
  InputCtx x = { .run = run };
  SpStreamStats stats = { 0, 0 };
  gboolean ok;

  *setup_error = TRUE;
  if (plan->head != NULL)
    {
      SpStageHost *host;

      x.head = sp_stage_new (plan->config, plan->head, "head", in, &plan->dec, error);
      if (x.head == NULL)
        return FALSE;
      x.head->feature_dim = ch->feature_dim;
      x.labels_frames = strcmp (plan->head->name, "labeler") == 0;
      host = sp_stage_host (x.head);
      host->emit = on_emit;
      host->emit_data = &x;
      if (!sp_stage_init (x.head, error))
        {
          sp_stage_free (x.head);
          return FALSE;
        }
    }
  x.sinks = sp_sinks_open (plan->sinks, i, &plan->dec,
                           x.head ? x.head->labels : NULL, x.head ? x.head->n_labels : 0,
                           ch->feature_dim, error);
  if (x.sinks == NULL)
    {
      g_clear_pointer (&x.head, sp_stage_free);
      return FALSE;
    }
  *setup_error = FALSE;
  ok = sp_chain_stream (ch, on_frame, &x, &stats, error);
  res->frames = stats.frames;
  res->broken = stats.broken;
  if (ok && x.head != NULL && sp_stage_host (x.head)->klass->flush != NULL)
    {
      ok = sp_stage_host (x.head)->klass->flush (x.head, error);
      if (!ok)
        ensure_error (error, x.head, "flush");
    }
  if (ok)
    ok = sp_sinks_flush (x.sinks, error);
  if (ok)
    ok = sp_sinks_commit (g_steal_pointer (&x.sinks), error);
  else
    sp_sinks_abort (g_steal_pointer (&x.sinks));
  g_clear_pointer (&x.head, sp_stage_free);
  return ok;
}

static void
process_input (Run *run, int i)
{
  const SpRunPlan *plan = run->plan;
  const SpInputInfo *in = &plan->inputs[i];
  SpInputResult *res = &run->out->results[i];
  g_autoptr (SpChain) ch = NULL;
  g_autoptr (GError) error = NULL;
  gboolean setup_error = TRUE;
  gint64 t0 = g_get_monotonic_time ();

  res->ran = TRUE;
  ch = sp_chain_open (plan->config, in, &plan->dec, &error);
  if (ch != NULL)
    {
      if (ch->expected_frames >= 0)
        {
          atomic_fetch_add (&run->expected, ch->expected_frames);
          atomic_fetch_add (&run->started_known, 1);
        }
      res->ok = run_chain (run, i, ch, res, &setup_error, &error);
    }
  else
    setup_error = g_error_matches (error, SP_ERROR, SP_ERROR_CONFIG)
                  || g_error_matches (error, SP_ERROR, SP_ERROR_PLUGIN);
  res->seconds = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;

  if (res->broken > 0)
    sp_progress_message (plan->progress, "seqpipe: %s: %" G_GINT64_FORMAT " frame%s could not "
                         "be decoded", in->path, res->broken, res->broken == 1 ? "" : "s");
  g_mutex_lock (&run->lock);
  if (res->ok)
    run->out->n_ok++;
  else
    run->out->n_failed++;
  if (!res->ok && setup_error && is_fatal (error))
    {
      /* the same for every input: reported once, by cmd-run, and nothing more starts */
      if (run->out->fatal == NULL)
        run->out->fatal = g_error_copy (error);
      atomic_store (&run->stop, 1);
    }
  else if (!res->ok && g_error_matches (error, SP_ERROR, SP_ERROR_INTERRUPTED))
    run->out->interrupted = TRUE;
  else if (!res->ok)
    {
      if (setup_error)
        sp_error_name_input (error, in, -1);
      sp_progress_message (plan->progress, "seqpipe: %s", error->message);
      if (plan->stop_on_error)
        atomic_store (&run->stop, 1);
    }
  g_mutex_unlock (&run->lock);
  if (!res->ok)
    res->error = g_strdup (error->message);
  else if (plan->verbose)
    sp_progress_message (plan->progress, "seqpipe: %s: %" G_GINT64_FORMAT " frames in %.2f s "
                         "(%.1f frames/s)", in->path, res->frames, res->seconds,
                         res->seconds > 0 ? res->frames / res->seconds : 0.0);
}

static gpointer
worker_thread (gpointer data)
{
  Run *run = data;

  for (;;)
    {
      int i;

      if (atomic_load (&run->stop) || sp_interrupted ())
        break;
      i = atomic_fetch_add (&run->next, 1);
      if (i >= run->plan->n_inputs)
        break;
      process_input (run, i);
      atomic_fetch_add (&run->done, 1);
    }
  g_mutex_lock (&run->lock);
  run->running--;
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
  return NULL;
}

/* "2/5 inputs  1234 frames  250.3 frames/s  ETA 0:12" */
static void
show_progress (Run *run, gint64 t0)
{
  const SpRunPlan *plan = run->plan;
  int done = atomic_load (&run->done);
  int started = MIN (atomic_load (&run->next), plan->n_inputs);
  int known = atomic_load (&run->started_known);
  int64_t frames = atomic_load (&run->frames);
  double secs = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  double rate = secs > 0 ? frames / secs : 0;
  char eta[32] = "";

  if (known > 0 && known == started && rate > 0)
    {
      /* inputs not started yet are assumed as long as the started ones on average */
      double expected = (double) atomic_load (&run->expected);
      double total = expected + expected / known * (plan->n_inputs - started);
      double left = MAX (0.0, (total - frames) / rate);

      g_snprintf (eta, sizeof eta, "  ETA %d:%02d", (int) left / 60, (int) left % 60);
    }
  sp_progress_update (plan->progress, "%d/%d inputs  %" G_GINT64_FORMAT " frames  %.1f frames/s%s",
                      done, plan->n_inputs, frames, rate, eta);
}

void
sp_run_inputs (const SpRunPlan *plan, SpRunOutcome *out)
{
  Run run = { .plan = plan, .out = out };
  int n_workers = MAX (1, MIN (plan->jobs, plan->n_inputs));
  GThread **workers = g_new0 (GThread *, n_workers);
  gint64 t0 = g_get_monotonic_time ();

  memset (out, 0, sizeof *out);
  out->results = g_new0 (SpInputResult, plan->n_inputs);
  out->n_results = plan->n_inputs;
  for (int i = 0; i < plan->n_inputs; i++)
    out->results[i].input = plan->inputs[i].path;
  g_mutex_init (&run.lock);
  g_cond_init (&run.cond);
  atomic_init (&run.next, 0);
  atomic_init (&run.stop, 0);
  atomic_init (&run.done, 0);
  atomic_init (&run.frames, 0);
  atomic_init (&run.expected, 0);
  atomic_init (&run.started_known, 0);

  run.running = n_workers;
  for (int w = 0; w < n_workers; w++)
    workers[w] = g_thread_new ("sp-input", worker_thread, &run);
  g_mutex_lock (&run.lock);
  while (run.running > 0)
    {
      g_cond_wait_until (&run.cond, &run.lock, g_get_monotonic_time () + G_USEC_PER_SEC / 5);
      g_mutex_unlock (&run.lock);
      show_progress (&run, t0);
      g_mutex_lock (&run.lock);
    }
  g_mutex_unlock (&run.lock);
  for (int w = 0; w < n_workers; w++)
    g_thread_join (workers[w]);
  g_free (workers);
  if (sp_interrupted ())
    out->interrupted = TRUE;

  for (int i = 0; i < plan->n_inputs; i++)
    {
      SpInputResult *res = &out->results[i];

      if (res->ran)
        continue;
      out->n_failed++;
      res->error = g_strdup (out->interrupted ? "not processed: interrupted"
                             : "not processed: the run stopped after an error");
    }
  g_mutex_clear (&run.lock);
  g_cond_clear (&run.cond);
}

void
sp_run_outcome_clear (SpRunOutcome *out)
{
  for (int i = 0; out->results != NULL && i < out->n_results; i++)
    {
      g_free (out->results[i].error);
      g_free (out->results[i].outputs);
    }
  g_clear_pointer (&out->results, g_free);
  g_clear_error (&out->fatal);
}
