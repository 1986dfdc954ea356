/* trainer.c — (truncated) backpropagation through time over batches of sequences.
 *
 * Batches: the examples (shuffled per epoch with a generator seeded by (seed, epoch)
 * when cfg.shuffle) are taken `batch` at a time in order; a batch is padded to its
 * longest sequence (time-major [T][B], valid[t][b] = t < T_b) and its state starts at
 * zero (the captioner's at proj f).  The batch is cut into chunks of k = tbptt steps
 * (k = the longest sequence when tbptt = 0).  Per chunk:
 *
 *   forward:  every layer over the chunk from the carried (h, c); dropout between layers;
 *             the head's loss = mean cross-entropy over the chunk's valid targets;
 *   backward: through the chunk only — the carried state enters as a constant (detach,
 *             k1 = k2 = k);
 *   update:   clip, NaN/Inf guard, optimizer step.  A chunk without a valid target
 *             (or whose targets all weigh 0) makes no update; its forward still carries
 *             the state on.
 *
 * Loss of an update, with class weights w (1 when unweighted):
 *   L = Σ_i w[y_i] nll_i / W,  W = Σ_i w[y_i],  nll_i = logsumexp(l_i) - l_i[y_i],
 *   dL/dl_i = w[y_i] (softmax(l_i) - onehot(y_i)) / W
 * over the valid targets i of the chunk.  The epoch's mean loss is Σ (Σ w nll) / Σ W
 * over its updates, its running sums kept in the trainer (and the state file).
 * The learning rate is set per epoch from the schedule (spm_lr_at) when the epoch starts.
 *
 * Targets per head: labeler y[t] at every valid step (-1 = none); captioner y[t+1] from
 * input y[t]; classifier y[0] at the chunk that holds the sequence's last valid step,
 * where it is pooled (last step, or the mean of h over the whole sequence, summed
 * across chunks without gradient; the gradient reaches only that final chunk).
 *
 * Memory: the activations of one chunk (k x batch) are allocated once and reused; the
 * time loop allocates nothing, so the peak depends on k, not on the sequence length.
 */
#include "trainer-private.h"

#include <math.h>
#include <string.h>

/* ---- buffers ---------------------------------------------------------------- */

static void
free_buffers (SpmTrainer *t)
{
  for (int l = 0; l < SPM_MAX_LAYERS; l++)
    g_clear_pointer (&t->work[l], spm_recurrent_work_free);
  g_clear_pointer (&t->bufs, g_ptr_array_unref);
  t->Tk = t->Bk = 0;
  t->bytes = 0;
}

static void *
alloc (SpmTrainer *t, size_t n, size_t size, gboolean *ok)
{
  void *p = g_try_malloc0_n (MAX (n, 1), size);
  if (p == NULL)
    *ok = FALSE;
  else
    g_ptr_array_add (t->bufs, p);
  t->bytes += MAX (n, 1) * size;
  return p;
}

/* Makes room for chunks of Tk steps x Bk sequences (kept when already large enough). */
static gboolean
ensure_buffers (SpmTrainer *t, int Tk, int Bk, GError **error)
{
  if (Tk <= t->Tk && Bk <= t->Bk)
    return TRUE;
  Tk = MAX (Tk, t->Tk);
  Bk = MAX (Bk, t->Bk);
  free_buffers (t);
  const SpmModelConfig *c = &t->m->cfg;
  const size_t N = (size_t) Tk * Bk, H = c->H;
  const size_t Din = c->head == SPM_HEAD_CAPTIONER ? c->E : c->D;
  gboolean ok = TRUE;
  t->bufs = g_ptr_array_new_with_free_func (g_free);
  for (int l = 0; l < c->L; l++)
    {
      t->work[l] = spm_recurrent_work_new (c->cell, t->m->layer[l].D, c->H, Tk, Bk);
      ok = ok && t->work[l] != NULL;
      t->y[l] = alloc (t, N * H, sizeof (float), &ok);
      if (l < c->L - 1 && t->dropout > 0)
        {
          t->yd[l] = alloc (t, N * H, sizeof (float), &ok);
          t->dmask[l] = alloc (t, N * H, 1, &ok);
        }
      t->h[l] = alloc (t, Bk * H, sizeof (float), &ok);
      t->c[l] = alloc (t, Bk * H, sizeof (float), &ok);
      t->hT[l] = alloc (t, Bk * H, sizeof (float), &ok);
      t->cT[l] = alloc (t, Bk * H, sizeof (float), &ok);
    }
  t->xin = alloc (t, N * Din, sizeof (float), &ok);
  t->dy = alloc (t, N * MAX (H, Din), sizeof (float), &ok);
  t->dx = alloc (t, N * MAX (H, Din), sizeof (float), &ok);
  t->logits = alloc (t, N * c->C, sizeof (float), &ok);
  t->dlogits = alloc (t, N * c->C, sizeof (float), &ok);
  t->valid = alloc (t, N, 1, &ok);
  t->tok = alloc (t, N, sizeof (int32_t), &ok);
  t->tgt = alloc (t, N, sizeof (int32_t), &ok);
  t->f = alloc (t, (size_t) Bk * c->D, sizeof (float), &ok);
  t->dh0 = alloc (t, Bk * H, sizeof (float), &ok);
  t->dh0_sum = alloc (t, Bk * H, sizeof (float), &ok);
  t->pool = alloc (t, Bk * H, sizeof (float), &ok);
  t->pooled = alloc (t, Bk * H, sizeof (float), &ok);
  t->dpooled = alloc (t, Bk * H, sizeof (float), &ok);
  t->len = alloc (t, Bk, sizeof (int), &ok);
  t->batch = alloc (t, Bk, sizeof (SpmExample *), &ok);
  if (!ok)
    {
      free_buffers (t);
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "training: cannot allocate the activations of a %d x %d chunk", Tk, Bk);
      return FALSE;
    }
  t->Tk = Tk;
  t->Bk = Bk;
  return TRUE;
}

/* ---- construction -------------------------------------------------------------- */

SpmTrainer *
spm_trainer_new (SpmModel *m, const SpmTrainConfig *cfg, GError **error)
{
  const char *what = NULL;
  if (cfg->optimizer != SPM_OPT_SGD && cfg->optimizer != SPM_OPT_ADAM)
    what = "[train] optimizer must be sgd or adam";
  else if (!(cfg->lr > 0))
    what = "[train] lr must be positive";
  else if (cfg->batch < 1)
    what = "[train] batch must be at least 1";
  else if (cfg->tbptt < 0)
    what = "[train] tbptt must not be negative";
  else if (!(cfg->clip >= 0) || !(cfg->momentum >= 0) || !(cfg->weight_decay >= 0))
    what = "[train] clip, momentum and weight-decay must not be negative";
  else if (cfg->lr_schedule != SPM_LR_CONSTANT && cfg->lr_schedule != SPM_LR_COSINE
           && cfg->lr_schedule != SPM_LR_STEP)
    what = "[train] lr-schedule must be constant, cosine or step";
  else if (cfg->lr_schedule != SPM_LR_CONSTANT && cfg->epochs < 1)
    what = "[train] lr-schedule cosine and step need epochs >= 1 (the schedule's length)";
  else if (cfg->class_weights != NULL && m->cfg.head == SPM_HEAD_CAPTIONER)
    what = "[train] class-weights apply to the labeler and the classifier, not the captioner";
  for (int c = 0; cfg->class_weights != NULL && what == NULL && c < m->cfg.C; c++)
    if (!(cfg->class_weights[c] >= 0) || !isfinite (cfg->class_weights[c]))
      what = "[train] class-weights must be finite and not negative";
  if (what != NULL)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH, "%s", what);
      return NULL;
    }

  SpmTrainer *t = g_new0 (SpmTrainer, 1);
  t->m = m;
  t->cfg = *cfg;
  t->cfg.class_weights = NULL;   /* the copy below is the trainer's */
  t->dropout = m->cfg.dropout;
  t->opt = spm_optim_new (cfg, m->n_trainable);
  t->lr = spm_lr_at (cfg->lr_schedule, cfg->lr, 0, cfg->epochs);
  spm_optim_set_lr (t->opt, t->lr);
  if (cfg->class_weights != NULL)
    t->class_w = g_memdup2 (cfg->class_weights, (size_t) m->cfg.C * sizeof (float));
  t->grad = g_try_new0 (float, MAX (m->n_trainable, 1));
  if (t->grad == NULL)
    {
      spm_trainer_free (t);
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED, "training: cannot allocate gradients");
      return NULL;
    }
  /* gradient views: the same offsets as the parameters */
#define GVIEW(p) ((p) != NULL ? t->grad + ((p) - m->params) : NULL)
  for (int l = 0; l < m->cfg.L; l++)
    {
      t->g[l] = m->layer[l];
      t->g[l].W_ih = GVIEW (m->layer[l].W_ih);
      t->g[l].W_hh = GVIEW (m->layer[l].W_hh);
      t->g[l].b_ih = GVIEW (m->layer[l].b_ih);
      t->g[l].b_hh = GVIEW (m->layer[l].b_hh);
    }
  t->g_head_W = GVIEW (m->head_W);
  t->g_head_b = GVIEW (m->head_b);
  t->g_embed = GVIEW (m->embed);
  t->g_proj_W = GVIEW (m->proj_W);
  t->g_proj_b = GVIEW (m->proj_b);
#undef GVIEW
  spm_rng_seed (&t->rng, cfg->seed ^ 0x5eedd80f0075eedull);
  return t;
}

void
spm_trainer_free (SpmTrainer *t)
{
  if (t == NULL)
    return;
  free_buffers (t);
  g_free (t->carry);
  g_free (t->class_w);
  spm_optim_free (t->opt);
  g_free (t->grad);
  g_free (t);
}

int64_t
spm_trainer_step (const SpmTrainer *t)
{
  return spm_optim_steps (t->opt);
}

int
spm_trainer_epochs_done (const SpmTrainer *t)
{
  return t->epochs;
}

double
spm_trainer_lr (const SpmTrainer *t)
{
  return spm_optim_lr (t->opt);
}

size_t
spm_trainer_activation_bytes (const SpmTrainer *t)
{
  return t->bytes;
}

const float *
spm_trainer_grad (const SpmTrainer *t)
{
  return t->grad;
}

/* ---- one batch ------------------------------------------------------------------- */

/* Clip, guard and step.  Leaves the parameters untouched on NaN/Inf. */
static gboolean
update (SpmTrainer *t, double loss, GError **error)
{
  const int64_t step = spm_optim_steps (t->opt) + 1;
  const char *bad = "the loss";
  double value = loss;
  if (isfinite (loss))
    {
      bad = "the gradient norm";
      value = spm_clip_grad_norm (t->grad, t->m->n_trainable, t->cfg.clip);
    }
  if (!isfinite (value))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_DIVERGED,
                   "training: %s is %g at step %" G_GINT64_FORMAT " (epoch %d); "
                   "the parameters are those of step %" G_GINT64_FORMAT
                   " (try a lower [train] lr or a [train] clip)",
                   bad, value, step, t->epochs + 1, step - 1);
      return FALSE;
    }
  spm_optim_step (t->opt, t->m->params, t->grad);
  return TRUE;
}

typedef struct {
  SpmTrainCallback cb;
  void *user_data;
  gboolean stop;          /* the callback asked to stop */
  gboolean apply;         /* FALSE: gradient only (spm_trainer_loss_grad) */
  int k;                  /* chunk length */
  SpmRng *rng;
  double loss_sum, weight_sum;   /* Σ w[y] nll, Σ w[y] over the updates' targets */
  int64_t n_valid, frames;
} Run;

/* The state inside a batch stopped before its end: (h, c) of every layer and the
 * classifier's pool sums, to stash (save = TRUE) or restore. */
static void
carry_copy (SpmTrainer *t, int B, gboolean save)
{
  const int L = t->m->cfg.L;
  const size_t n = (size_t) B * t->m->cfg.H;
  if (save)
    {
      g_free (t->carry);
      t->carry = g_new (float, (2 * L + 1) * n);
      t->carry_B = B;
    }
  for (int i = 0; i < 2 * L + 1; i++)
    {
      float *buf = i < L ? t->h[i] : i < 2 * L ? t->c[i - L] : t->pool;
      float *st = t->carry + i * n;
      memcpy (save ? st : buf, save ? buf : st, n * sizeof (float));
    }
}

/* Runs the B examples in t->batch chunk by chunk, from t->chunk_pos when a stopped
 * batch is resumed.  When the callback asks to stop, it returns after that update
 * with the state stashed and t->chunk_pos at the next chunk (0 = the batch is done). */
static gboolean
run_batch (SpmTrainer *t, int B, Run *run, GError **error)
{
  spm_chunk_begin (t, B);
  int T = 0;
  for (int b = 0; b < B; b++)
    T = MAX (T, t->len[b]);
  int t0 = 0;
  if (run->apply && t->chunk_pos > 0)
    {
      if (t->carry == NULL || t->carry_B != B || t->chunk_pos >= T)
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                       "training: the run was stopped inside batch %zu of %d sequences at "
                       "step %d; the training set now gives %d sequences of up to %d steps",
                       t->pos + 1, t->carry_B, t->chunk_pos, B, T);
          return FALSE;
        }
      carry_copy (t, B, FALSE);
      t0 = t->chunk_pos;
    }
  if (run->apply)
    {
      t->chunk_pos = 0;
      g_clear_pointer (&t->carry, g_free);
    }
  for (; t0 < T; t0 += run->k)
    {
      const int kc = MIN (run->k, T - t0);
      double loss_sum, weight_sum;
      spm_chunk_inputs (t, B, t0, kc, &run->frames);
      int n_valid = spm_chunk_forward (t, B, t0, kc, run->rng, &loss_sum, &weight_sum);
      if (n_valid > 0 && weight_sum > 0)
        {
          const double loss = loss_sum / weight_sum;
          spm_chunk_backward (t, B, kc, t0 == 0);
          if (run->apply && !update (t, loss, error))
            return FALSE;
          run->loss_sum += loss_sum;
          run->weight_sum += weight_sum;
          run->n_valid += n_valid;
          if (run->apply && run->cb != NULL
              && !run->cb (spm_optim_steps (t->opt), loss, run->frames, run->user_data))
            run->stop = TRUE;
        }
      spm_chunk_carry (t);
      if (run->stop && t0 + kc < T)
        {
          carry_copy (t, B, TRUE);
          t->chunk_pos = t0 + kc;
          return TRUE;
        }
    }
  return TRUE;
}

/* ---- epochs -------------------------------------------------------------------- */

/* Every example must fit the model; returns the longest sequence in *T_max. */
static gboolean
check_examples (const SpmModel *m, const SpmExample *ex, size_t n, int *T_max, GError **error)
{
  const SpmModelConfig *c = &m->cfg;
  *T_max = 0;
  for (size_t i = 0; i < n; i++)
    {
      const SpmExample *e = &ex[i];
      int lo = c->head == SPM_HEAD_CAPTIONER ? 0 : -1;
      int n_y = c->head == SPM_HEAD_LABELER ? e->T : c->head == SPM_HEAD_CLASSIFIER ? 1 : e->n_y;
      const char *what = NULL;
      if (e->T < 0 || (e->T > 0 && e->x == NULL))
        what = "has no features";
      else if (c->head == SPM_HEAD_CAPTIONER && (e->T < 1 || e->n_y < 2))
        what = "needs a feature vector and a caption of <start> .. <end>";
      else if (c->head == SPM_HEAD_CLASSIFIER && e->n_y < 1)
        what = "has no class";
      else if (n_y > 0 && e->y == NULL)
        what = "has no targets";
      if (what != NULL)
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH, "training example %zu %s", i, what);
          return FALSE;
        }
      for (int j = 0; j < n_y; j++)
        if (e->y[j] < lo || e->y[j] >= c->C)
          {
            g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                         "training example %zu: target %d at position %d is outside %d..%d",
                         i, e->y[j], j, lo, c->C - 1);
            return FALSE;
          }
      *T_max = MAX (*T_max, spm_chunk_seq_len (m, e));
    }
  return TRUE;
}

/* chunk length: tbptt, or the whole longest sequence */
static int
chunk_len (const SpmTrainer *t, int T_max)
{
  return t->cfg.tbptt > 0 ? MIN (t->cfg.tbptt, MAX (T_max, 1)) : MAX (T_max, 1);
}

gboolean
spm_trainer_run_epoch (SpmTrainer *t, const SpmExample *ex, size_t n,
                       SpmTrainCallback cb, void *user_data,
                       SpmEpochResult *res, GError **error)
{
  int T_max;
  *res = (SpmEpochResult) { .epoch = t->epochs };
  if (!check_examples (t->m, ex, n, &T_max, error))
    return FALSE;
  const size_t bs = (size_t) t->cfg.batch;
  const size_t n_batches = (n + bs - 1) / bs;
  if (t->pos > n_batches || (t->pos == n_batches && t->chunk_pos > 0))
    {
      /* a position the training set cannot hold: the epoch starts over */
      t->pos = t->chunk_pos = 0;
      t->ep_loss = t->ep_weight = 0;
      t->ep_targets = t->ep_frames = 0;
    }
  if (t->pos == 0 && t->chunk_pos == 0)
    t->lr = spm_lr_at (t->cfg.lr_schedule, t->cfg.lr, t->epochs, t->cfg.epochs);
  spm_optim_set_lr (t->opt, t->lr);
  res->lr = t->lr;

  /* the figures of the epoch so far (0, or those of the part before a save) */
  Run run = { .cb = cb, .user_data = user_data, .apply = TRUE, .rng = &t->rng,
              .k = chunk_len (t, T_max), .loss_sum = t->ep_loss, .weight_sum = t->ep_weight,
              .n_valid = t->ep_targets, .frames = t->ep_frames };
  if (!ensure_buffers (t, run.k, (int) MIN (bs, MAX (n, 1)), error))
    return FALSE;

  /* the order of this epoch: a function of (seed, epoch) alone, so a resumed epoch
   * sees the same batches */
  g_autofree size_t *order = g_new (size_t, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  if (t->cfg.shuffle)
    {
      SpmRng r;
      spm_rng_seed (&r, t->cfg.seed + 0x9e3779b97f4a7c15ull * (uint64_t) (t->epochs + 1));
      for (size_t i = n; i > 1; i--)
        {
          size_t j = spm_rng_next (&r) % i;
          size_t tmp = order[i - 1];
          order[i - 1] = order[j];
          order[j] = tmp;
        }
    }

  while (t->pos < n_batches && !run.stop)
    {
      const size_t first = t->pos * bs;
      const int B = (int) MIN (bs, n - first);
      for (int b = 0; b < B; b++)
        t->batch[b] = &ex[order[first + b]];
      if (!run_batch (t, B, &run, error))
        return FALSE;
      if (t->chunk_pos == 0)
        t->pos++;
    }
  res->mean_loss = run.weight_sum > 0 ? run.loss_sum / run.weight_sum : 0;
  res->targets = run.n_valid;
  res->stopped = run.stop;
  res->completed = t->pos == n_batches;
  if (res->completed)
    {
      t->pos = 0;
      t->epochs++;
      t->ep_loss = t->ep_weight = 0;
      t->ep_targets = t->ep_frames = 0;
    }
  else
    {
      t->ep_loss = run.loss_sum;
      t->ep_weight = run.weight_sum;
      t->ep_targets = run.n_valid;
      t->ep_frames = run.frames;
    }
  return TRUE;
}

gboolean
spm_trainer_epoch (SpmTrainer *t, const SpmExample *ex, size_t n,
                   SpmTrainCallback cb, void *user_data,
                   double *mean_loss, gboolean *stopped, GError **error)
{
  SpmEpochResult r;
  gboolean ok = spm_trainer_run_epoch (t, ex, n, cb, user_data, &r, error);
  if (mean_loss != NULL)
    *mean_loss = ok ? r.mean_loss : 0;
  if (stopped != NULL)
    *stopped = ok && r.stopped;
  return ok;
}

gboolean
spm_trainer_loss_grad (SpmTrainer *t, const SpmExample *ex, size_t n,
                       uint64_t dropout_seed, double *loss, GError **error)
{
  int T_max;
  SpmRng rng;
  if (!check_examples (t->m, ex, n, &T_max, error))
    return FALSE;
  if (!ensure_buffers (t, MAX (T_max, 1), (int) MAX (n, 1), error))
    return FALSE;
  spm_rng_seed (&rng, dropout_seed);
  Run run = { .apply = FALSE, .rng = &rng, .k = MAX (T_max, 1) };
  for (size_t b = 0; b < n; b++)
    t->batch[b] = &ex[b];
  memset (t->grad, 0, t->m->n_trainable * sizeof (float));
  if (!run_batch (t, (int) n, &run, error))
    return FALSE;
  *loss = run.weight_sum > 0 ? run.loss_sum / run.weight_sum : 0;
  return TRUE;
}

