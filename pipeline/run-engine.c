/* run-engine.c — a run over many inputs: the pool of workers that process `jobs`
 * inputs at once, and what each input's chain hands to its head and sinks
 * (run-engine.h). */
#include "run-engine.h"
#include "run-signals.h"

#include <stdatomic.h>
#include <string.h>

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
  int *order;                   /* the inputs to process, in input order */
  int n_order;
} Run;

/* ---- one input ---------------------------------------------------------------------
 *
 * What one input's chain hands on: every delivered frame to the sinks that take
 * frames, then to the head; every record the head emits to the sinks that take its
 * kind (run-sinks.c routes both by the declarations). */
typedef struct {
  Run *run;
  SpStage *head;
  SpSinkOutput *sinks;
} InputCtx;

/* A fresh instance of the head class for one input, its records going to emit. */
static SpStage *
head_open (SpConfig *c, const SpStageClass *klass, const SpInputInfo *in,
           const SpDecoderParams *dec, int feature_dim, SpEmitFunc emit, void *data,
           GError **error)
{
  g_autoptr (SpStage) head = sp_stage_new (c, klass, "head", in, dec, error);

  if (head == NULL)
    return NULL;
  head->feature_dim = feature_dim;
  sp_stage_host (head)->emit = emit;
  sp_stage_host (head)->emit_data = data;
  if (!sp_stage_init (head, error))
    return NULL;
  return g_steal_pointer (&head);
}

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
  return sp_sinks_write (x->sinks, record, error);
}

static gboolean
on_frame (SpFrame *frame, void *user_data, GError **error)
{
  InputCtx *x = user_data;

  if (!sp_sinks_frame (x->sinks, frame, error))
    return FALSE;
  if (x->head != NULL && !sp_stage_process (x->head, frame, error))
    return FALSE;
  atomic_fetch_add (&x->run->frames, 1);
  return TRUE;
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
      x.head = head_open (plan->config, plan->head, in, &plan->dec, ch->feature_dim, on_emit,
                          &x, error);
      if (x.head == NULL)
        return FALSE;
    }
  x.sinks = sp_sinks_open (plan->sinks, i, &plan->dec,
                           x.head ? x.head->labels : NULL, x.head ? x.head->n_labels : 0,
                           ch->feature_dim, ch->duration, error);
  if (x.sinks == NULL)
    {
      g_clear_pointer (&x.head, sp_stage_free);
      return FALSE;
    }
  *setup_error = FALSE;
  ok = sp_chain_stream (ch, on_frame, &x, &stats, error);
  res->frames = stats.frames;
  res->broken = stats.broken;
  if (ok && x.head != NULL)
    ok = sp_stage_flush (x.head, error);
  if (ok)
    ok = sp_sinks_flush (x.sinks, error);
  if (ok)
    ok = sp_sinks_commit (g_steal_pointer (&x.sinks), error);
  else
    sp_sinks_abort (g_steal_pointer (&x.sinks));
  g_clear_pointer (&x.head, sp_stage_free);
  return ok;
}

gboolean
sp_run_head_on_features (SpConfig *c, const SpStageClass *klass, const SpInputInfo *in,
                         const SpDecoderParams *dec, int64_t T, int D, const float *x,
                         const int64_t *index, const double *time, SpEmitFunc emit,
                         void *user_data, GError **error)
{
  GError *local = NULL;
  g_autoptr (SpStage) head = head_open (c, klass, in, dec, D, emit, user_data, &local);
  gboolean ok = head != NULL;

  for (int64_t t = 0; ok && t < T; t++)
    {
      SpFrame fr = { .index = index[t], .time = time[t], .features = (float *) x + t * D,
                     .feature_dim = D };

      ok = sp_stage_process (head, &fr, &local);
      if (!ok && !sp_error_is_setup (local))
        sp_error_name_input (local, in, index[t]);
    }
  if (ok)
    {
      ok = sp_stage_flush (head, &local);
      if (!ok && !sp_error_is_setup (local))
        sp_error_name_input (local, in, -1);
    }
  if (!ok)
    g_propagate_error (error, local);
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
    setup_error = sp_error_is_setup (error);   /* a stage's config error counts too */
  res->seconds = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;

  if (res->broken > 0)
    sp_progress_message (plan->progress, "seqpipe: %s: %" G_GINT64_FORMAT " frame%s could not "
                         "be decoded", in->path, res->broken, res->broken == 1 ? "" : "s");
  g_mutex_lock (&run->lock);
  if (res->ok)
    run->out->n_ok++;
  else
    run->out->n_failed++;
  if (!res->ok && setup_error && sp_error_is_setup (error))
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
      if (i >= run->n_order)
        break;
      i = run->order[i];
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
  int started = MIN (atomic_load (&run->next), run->n_order);
  int known = atomic_load (&run->started_known);
  int64_t frames = atomic_load (&run->frames);
  double secs = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  double rate = secs > 0 ? frames / secs : 0;
  double left = -1;
  char eta[32] = "";

  if (known > 0 && known == started && rate > 0)
    {
      /* inputs not started yet are assumed as long as the started ones on average */
      double expected = (double) atomic_load (&run->expected);
      double total = expected + expected / known * (run->n_order - started);

      left = MAX (0.0, (total - frames) / rate);
      g_snprintf (eta, sizeof eta, "  ETA %d:%02d", (int) left / 60, (int) left % 60);
    }
  sp_progress_update (plan->progress, "%d/%d inputs  %" G_GINT64_FORMAT " frames  %.1f frames/s%s",
                      done, run->n_order, frames, rate, eta);
  sp_progress_report (plan->progress, FALSE,
                      "inputs_done=%d\ninputs_total=%d\nframes=%" G_GINT64_FORMAT "\n"
                      "fps=%.2f\nelapsed_s=%.3f\neta_s=%s\n", done, run->n_order, frames,
                      rate, secs, left >= 0 ? g_ascii_dtostr (eta, sizeof eta, (double) (gint64) left)
                                            : "N/A");
}

void
sp_run_inputs (const SpRunPlan *plan, SpRunOutcome *out)
{
  Run run = { .plan = plan, .out = out };
  g_autofree int *order = g_new (int, MAX (plan->n_inputs, 1));
  int n_workers;
  GThread **workers;
  gint64 t0 = g_get_monotonic_time ();

  memset (out, 0, sizeof *out);
  out->results = g_new0 (SpInputResult, plan->n_inputs);
  out->n_results = plan->n_inputs;
  for (int i = 0; i < plan->n_inputs; i++)
    {
      out->results[i].input = plan->inputs[i].path;
      out->results[i].state = plan->state != NULL ? plan->state[i] : SP_INPUT_TO_RUN;
      if (out->results[i].state == SP_INPUT_TO_RUN)
        order[run.n_order++] = i;
    }
  run.order = order;
  n_workers = MAX (1, MIN (plan->jobs, run.n_order));
  workers = g_new0 (GThread *, n_workers);
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

      if (res->ran || res->state != SP_INPUT_TO_RUN)
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
