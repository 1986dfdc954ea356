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
 *             makes no update; its forward still carries the state on.
 *
 * Targets per head: labeler y[t] at every valid step (-1 = none); captioner y[t+1] from
 * input y[t]; classifier y[0] at the chunk that holds the sequence's last valid step,
 * where it is pooled (last step, or the mean of h over the whole sequence, summed
 * across chunks without gradient; the gradient reaches only that final chunk).
 *
 * Memory: the activations of one chunk (k x batch) are allocated once and reused; the
 * time loop allocates nothing, so the peak depends on k, not on the sequence length.
 */
#include "spm-model.h"
#include "spm-safetensors.h"

#include <math.h>
#include <string.h>

struct SpmTrainer {
  SpmModel *m;
  SpmTrainConfig cfg;
  SpmOptim *opt;
  float *grad;                              /* [n_trainable], mirrors m->params */
  SpmRecurrentParams g[SPM_MAX_LAYERS];     /* views into grad */
  float *g_head_W, *g_head_b, *g_embed, *g_proj_W, *g_proj_b;
  float dropout;                            /* m->cfg.dropout when the trainer was made */
  SpmRng rng;                               /* dropout masks */
  int epochs;                               /* epochs completed */
  size_t pos;                               /* batches done in the epoch under way */

  /* activations of one chunk, for up to Tk steps x Bk sequences */
  int Tk, Bk;
  size_t bytes;                             /* allocated in bufs */
  GPtrArray *bufs;                          /* owns everything below */
  SpmRecurrentWork *work[SPM_MAX_LAYERS];
  float *xin;                  /* [Tk][Bk][Din] layer-0 input: x̂ or embeddings */
  float *y[SPM_MAX_LAYERS];    /* [Tk][Bk][H] layer outputs */
  float *yd[SPM_MAX_LAYERS];   /* [Tk][Bk][H] y after dropout (inputs of layer l+1) */
  uint8_t *dmask[SPM_MAX_LAYERS];
  float *dy, *dx;              /* [Tk][Bk][max(H, Din)] gradients between layers */
  float *logits, *dlogits;     /* [Tk][Bk][C] */
  uint8_t *valid;              /* [Tk][Bk] */
  int32_t *tok, *tgt;          /* [Tk][Bk] input tokens (captioner), targets */
  float *h[SPM_MAX_LAYERS], *c[SPM_MAX_LAYERS];     /* [Bk][H] carried state */
  float *hT[SPM_MAX_LAYERS], *cT[SPM_MAX_LAYERS];   /* [Bk][H] state after the chunk */
  float *f, *dh0, *dh0_sum;    /* [Bk][D], [Bk][H] x2: captioner's start */
  float *pool, *pooled, *dpooled;   /* [Bk][H] classifier */
  int *len;                    /* [Bk] steps of each sequence in the batch */
  const SpmExample **batch;    /* [Bk] */
};

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
  if (what != NULL)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH, "%s", what);
      return NULL;
    }

  SpmTrainer *t = g_new0 (SpmTrainer, 1);
  t->m = m;
  t->cfg = *cfg;
  t->dropout = m->cfg.dropout;
  t->opt = spm_optim_new (cfg, m->n_trainable);
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

/* steps fed to the core: T, or the n_y - 1 input tokens of a caption */
static int
seq_len (const SpmModel *m, const SpmExample *e)
{
  return m->cfg.head == SPM_HEAD_CAPTIONER ? e->n_y - 1 : e->T;
}

/* State at the start of a batch: zero, or h = proj.W f̂ + proj.b in every layer for the
 * captioner (f̂ = normalised x[0] of each example, kept for proj's gradient). */
static void
batch_begin (SpmTrainer *t, int B)
{
  const SpmModel *m = t->m;
  const int H = m->cfg.H, D = m->cfg.D;
  for (int b = 0; b < B; b++)
    t->len[b] = seq_len (m, t->batch[b]);
  for (int l = 0; l < m->cfg.L; l++)
    {
      memset (t->h[l], 0, (size_t) B * H * sizeof (float));
      memset (t->c[l], 0, (size_t) B * H * sizeof (float));
    }
  memset (t->pool, 0, (size_t) B * H * sizeof (float));
  if (m->cfg.head != SPM_HEAD_CAPTIONER)
    return;
  for (int b = 0; b < B; b++)
    for (int d = 0; d < D; d++)
      {
        float x = t->batch[b]->x[d];
        t->f[(size_t) b * D + d] = m->norm_mean ? (x - m->norm_mean[d]) / m->norm_std[d] : x;
      }
  spm_linear_forward (m->proj_W, m->proj_b, B, D, H, t->f, t->h[0]);
  for (int l = 1; l < m->cfg.L; l++)
    memcpy (t->h[l], t->h[0], (size_t) B * H * sizeof (float));
}

/* Inputs, masks and targets of the chunk [t0, t0 + kc) (time-major [kc][B]). */
static void
chunk_inputs (SpmTrainer *t, int B, int t0, int kc, int64_t *frames)
{
  const SpmModel *m = t->m;
  const SpmModelConfig *c = &m->cfg;
  const int D = c->D;
  for (int s = 0; s < kc; s++)
    for (int b = 0; b < B; b++)
      {
        const SpmExample *e = t->batch[b];
        const size_t r = (size_t) s * B + b;
        const int tt = t0 + s;
        const gboolean v = tt < t->len[b];
        t->valid[r] = v;
        *frames += v;
        if (c->head == SPM_HEAD_CAPTIONER)
          {
            t->tok[r] = v ? e->y[tt] : SPM_TOK_NULL;
            t->tgt[r] = v ? e->y[tt + 1] : -1;
            continue;
          }
        float *xr = t->xin + r * D;
        for (int d = 0; d < D && v; d++)
          {
            float x = e->x[(size_t) tt * D + d];
            xr[d] = m->norm_mean ? (x - m->norm_mean[d]) / m->norm_std[d] : x;
          }
        if (!v)
          memset (xr, 0, D * sizeof (float));
        t->tgt[r] = c->head == SPM_HEAD_LABELER && v ? e->y[tt] : -1;
      }
  if (c->head == SPM_HEAD_CAPTIONER)
    spm_embedding_forward (m->embed, c->C, c->E, kc * B, t->tok, t->xin);
}

/* Classifier: accumulates Σ_t h_top over the chunk's valid steps; for each sequence
 * whose last step is in the chunk, pooled[b] = h_top[last] or Σ / T_b and its target is
 * y[0]; the others get no target (row of zeros). */
static void
classifier_pool (SpmTrainer *t, int B, int t0, int kc)
{
  const SpmModelConfig *c = &t->m->cfg;
  const int H = c->H;
  const float *top = t->y[c->L - 1];
  if (c->pool == SPM_POOL_MEAN)
    for (int s = 0; s < kc; s++)
      for (int b = 0; b < B; b++)
        if (t->valid[(size_t) s * B + b])
          for (int j = 0; j < H; j++)
            t->pool[(size_t) b * H + j] += top[((size_t) s * B + b) * H + j];
  if (c->pool == SPM_POOL_LAST)
    spm_last_valid_forward (kc, B, H, top, t->valid, t->pooled);
  for (int b = 0; b < B; b++)
    {
      const int last = t->len[b] - 1;
      const gboolean ends = last >= t0 && last < t0 + kc;
      float *p = t->pooled + (size_t) b * H;
      t->tgt[b] = ends ? t->batch[b]->y[0] : -1;
      if (ends && c->pool == SPM_POOL_MEAN)
        for (int j = 0; j < H; j++)
          p[j] = t->pool[(size_t) b * H + j] / (float) t->len[b];
      else if (!ends)
        memset (p, 0, H * sizeof (float));
    }
}

/* Forward of the chunk; returns the number of valid targets and sets *loss_sum
 * (Σ -log p over them) and dlogits = (softmax - onehot) / n_valid. */
static int
chunk_forward (SpmTrainer *t, int B, int t0, int kc, SpmRng *rng, double *loss_sum)
{
  const SpmModel *m = t->m;
  const SpmModelConfig *c = &m->cfg;
  const int H = c->H, N = kc * B;
  const float *in = t->xin;
  for (int l = 0; l < c->L; l++)
    {
      spm_recurrent_forward (&m->layer[l], t->work[l], kc, B, in, t->h[l], t->c[l],
                             t->valid, NULL, t->y[l], t->hT[l], t->cT[l]);
      in = t->y[l];
      if (l < c->L - 1 && t->dropout > 0)
        {
          spm_dropout_forward (N * H, t->dropout, rng, t->y[l], t->yd[l], t->dmask[l]);
          in = t->yd[l];
        }
    }
  const float *top = t->y[c->L - 1];
  int rows = N;
  const float *feat = top;
  if (c->head == SPM_HEAD_CLASSIFIER)
    {
      classifier_pool (t, B, t0, kc);
      rows = B;
      feat = t->pooled;
    }
  int n_valid = 0;
  for (int r = 0; r < rows; r++)
    n_valid += t->tgt[r] >= 0;
  *loss_sum = 0;
  if (n_valid == 0)
    return 0;
  spm_linear_forward (m->head_W, m->head_b, rows, H, c->C, feat, t->logits);
  *loss_sum = spm_softmax_xent (t->logits, rows, c->C, t->tgt, 1.0f / n_valid,
                                t->dlogits, NULL);
  return n_valid;
}

/* Backward of the chunk into t->grad (zeroed first), from dlogits. */
static void
chunk_backward (SpmTrainer *t, int B, int kc, gboolean first)
{
  const SpmModel *m = t->m;
  const SpmModelConfig *c = &m->cfg;
  const int H = c->H, N = kc * B, L = c->L;
  const gboolean cap = c->head == SPM_HEAD_CAPTIONER;
  memset (t->grad, 0, m->n_trainable * sizeof (float));

  if (c->head == SPM_HEAD_CLASSIFIER)
    {
      spm_linear_backward (m->head_W, B, H, c->C, t->pooled, t->dlogits,
                           t->g_head_W, t->g_head_b, t->dpooled);
      memset (t->dy, 0, (size_t) N * H * sizeof (float));
      if (c->pool == SPM_POOL_LAST)
        spm_last_valid_backward (kc, B, H, t->valid, t->dpooled, t->dy);
      else
        for (int s = 0; s < kc; s++)
          for (int b = 0; b < B; b++)
            if (t->valid[(size_t) s * B + b])
              for (int j = 0; j < H; j++)
                t->dy[((size_t) s * B + b) * H + j] += t->dpooled[(size_t) b * H + j] / (float) t->len[b];
    }
  else
    spm_linear_backward (m->head_W, N, H, c->C, t->y[L - 1], t->dlogits,
                         t->g_head_W, t->g_head_b, t->dy);

  const gboolean need_dh0 = cap && first;
  if (need_dh0)
    memset (t->dh0_sum, 0, (size_t) B * H * sizeof (float));
  for (int l = L - 1; l >= 0; l--)
    {
      const gboolean drop = l > 0 && t->dropout > 0;
      const float *x = l == 0 ? t->xin : drop ? t->yd[l - 1] : t->y[l - 1];
      float *dx = l > 0 || cap ? t->dx : NULL;
      spm_recurrent_backward (&m->layer[l], &t->g[l], t->work[l], kc, B, x, t->dy,
                              NULL, NULL, dx, need_dh0 ? t->dh0 : NULL, NULL);
      if (need_dh0)
        for (int i = 0; i < B * H; i++)
          t->dh0_sum[i] += t->dh0[i];
      if (l == 0)
        break;
      if (drop)
        spm_dropout_backward (N * H, t->dropout, t->dmask[l - 1], t->dx, t->dy);
      else
        memcpy (t->dy, t->dx, (size_t) N * H * sizeof (float));
    }
  if (cap)
    {
      for (int r = 0; r < N; r++)
        if (!t->valid[r])
          memset (t->dx + (size_t) r * c->E, 0, c->E * sizeof (float));
      spm_embedding_backward (c->C, c->E, N, t->tok, t->dx, t->g_embed);
      if (need_dh0)
        spm_linear_backward (m->proj_W, B, c->D, H, t->f, t->dh0_sum,
                             t->g_proj_W, t->g_proj_b, NULL);
    }
}

/* the state after the chunk becomes the state carried into the next one */
static void
carry_state (SpmTrainer *t)
{
  for (int l = 0; l < t->m->cfg.L; l++)
    {
      float *p = t->h[l];
      t->h[l] = t->hT[l];
      t->hT[l] = p;
      p = t->c[l];
      t->c[l] = t->cT[l];
      t->cT[l] = p;
    }
}

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
  double loss_sum;
  int64_t n_valid, frames;
} Run;

/* Runs the B examples in t->batch chunk by chunk. */
static gboolean
run_batch (SpmTrainer *t, int B, Run *run, GError **error)
{
  batch_begin (t, B);
  int T = 0;
  for (int b = 0; b < B; b++)
    T = MAX (T, t->len[b]);
  for (int t0 = 0; t0 < T; t0 += run->k)
    {
      const int kc = MIN (run->k, T - t0);
      double loss_sum;
      chunk_inputs (t, B, t0, kc, &run->frames);
      int n_valid = chunk_forward (t, B, t0, kc, run->rng, &loss_sum);
      if (n_valid > 0)
        {
          chunk_backward (t, B, kc, t0 == 0);
          if (run->apply && !update (t, loss_sum / n_valid, error))
            return FALSE;
          run->loss_sum += loss_sum;
          run->n_valid += n_valid;
          if (run->apply && run->cb != NULL
              && !run->cb (spm_optim_steps (t->opt), loss_sum / n_valid, run->frames,
                           run->user_data))
            run->stop = TRUE;
        }
      carry_state (t);
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
      *T_max = MAX (*T_max, seq_len (m, e));
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
spm_trainer_epoch (SpmTrainer *t, const SpmExample *ex, size_t n,
                   SpmTrainCallback cb, void *user_data,
                   double *mean_loss, gboolean *stopped, GError **error)
{
  int T_max;
  if (mean_loss != NULL)
    *mean_loss = 0;
  if (stopped != NULL)
    *stopped = FALSE;
  if (!check_examples (t->m, ex, n, &T_max, error))
    return FALSE;
  const size_t bs = (size_t) t->cfg.batch;
  Run run = { .cb = cb, .user_data = user_data, .apply = TRUE, .rng = &t->rng,
              .k = chunk_len (t, T_max) };
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

  const size_t n_batches = (n + bs - 1) / bs;
  if (t->pos > n_batches)
    t->pos = 0;
  while (t->pos < n_batches && !run.stop)
    {
      const size_t first = t->pos * bs;
      const int B = (int) MIN (bs, n - first);
      for (int b = 0; b < B; b++)
        t->batch[b] = &ex[order[first + b]];
      if (!run_batch (t, B, &run, error))
        return FALSE;
      t->pos++;
    }
  if (t->pos == n_batches)
    {
      t->pos = 0;
      t->epochs++;
    }
  if (mean_loss != NULL)
    *mean_loss = run.n_valid > 0 ? run.loss_sum / (double) run.n_valid : 0;
  if (stopped != NULL)
    *stopped = run.stop;
  return TRUE;
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
  *loss = run.n_valid > 0 ? run.loss_sum / (double) run.n_valid : 0;
  return TRUE;
}

/* ---- optimizer state for --resume ------------------------------------------------ */
/* A safetensors file: tensor optim.m [n_trainable] (SGD momentum buffer / Adam exp_avg),
 * optim.v (Adam exp_avg_sq); metadata format = seqpipe-train-1, optimizer, step, epoch
 * (epochs completed), batch_pos (batches done in the epoch under way), batch and seed
 * (which fix the batches), rng (the dropout generator, four hex words). */

gboolean
spm_trainer_save_state (const SpmTrainer *t, const char *path, GError **error)
{
  const gboolean adam = t->cfg.optimizer == SPM_OPT_ADAM;
  const int64_t n = (int64_t) t->m->n_trainable;
  SpmStWrite w[2] = {
    { .name = "optim.m", .data = spm_optim_moment (t->opt, 0), .ndim = 1, .shape = { n } },
    { .name = "optim.v", .data = spm_optim_moment (t->opt, 1), .ndim = 1, .shape = { n } },
  };
  g_autofree char *step = g_strdup_printf ("%" G_GINT64_FORMAT, spm_optim_steps (t->opt));
  g_autofree char *epoch = g_strdup_printf ("%d", t->epochs);
  g_autofree char *pos = g_strdup_printf ("%zu", t->pos);
  g_autofree char *batch = g_strdup_printf ("%d", t->cfg.batch);
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, t->cfg.seed);
  g_autofree char *rng = g_strdup_printf ("%016" G_GINT64_MODIFIER "x,%016" G_GINT64_MODIFIER
                                          "x,%016" G_GINT64_MODIFIER "x,%016" G_GINT64_MODIFIER "x",
                                          t->rng.s[0], t->rng.s[1], t->rng.s[2], t->rng.s[3]);
  const char *meta[] = { "format", "seqpipe-train-1", "optimizer", adam ? "adam" : "sgd",
                         "step", step, "epoch", epoch, "batch_pos", pos, "batch", batch,
                         "seed", seed, "rng", rng, NULL };
  return spm_safetensors_write (path, w, adam ? 2 : 1, meta, error);
}

static gboolean
state_u64 (GHashTable *md, const char *path, const char *key, guint64 *out, GError **error)
{
  const char *s = md != NULL ? g_hash_table_lookup (md, key) : NULL;
  if (s == NULL || !g_ascii_string_to_unsigned (s, 10, 0, G_MAXINT64, out, NULL))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata '%s' is %s, expected a non-negative integer", path, key,
                   s != NULL ? s : "missing");
      return FALSE;
    }
  return TRUE;
}

gboolean
spm_trainer_load_state (SpmTrainer *t, const char *path, GError **error)
{
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, error);
  if (st == NULL)
    return FALSE;
  GHashTable *md = st->metadata;
  const char *format = md ? g_hash_table_lookup (md, "format") : NULL;
  const char *opt = md ? g_hash_table_lookup (md, "optimizer") : NULL;
  const gboolean adam = t->cfg.optimizer == SPM_OPT_ADAM;
  if (format == NULL || strcmp (format, "seqpipe-train-1") != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: not a seqpipe training state (metadata 'format')", path);
      return FALSE;
    }
  if (opt == NULL || strcmp (opt, adam ? "adam" : "sgd") != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                   "%s: the state is of optimizer %s, [train] optimizer is %s", path,
                   opt ? opt : "(none)", adam ? "adam" : "sgd");
      return FALSE;
    }
  guint64 step, epoch, pos, batch, seed;
  if (!state_u64 (md, path, "step", &step, error) || !state_u64 (md, path, "epoch", &epoch, error)
      || !state_u64 (md, path, "batch_pos", &pos, error)
      || !state_u64 (md, path, "batch", &batch, error)
      || !state_u64 (md, path, "seed", &seed, error))
    return FALSE;
  if (batch != (guint64) t->cfg.batch || seed != t->cfg.seed || epoch > G_MAXINT)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                   "%s: the state was made with [train] batch = %" G_GUINT64_FORMAT
                   " and seed = %" G_GUINT64_FORMAT "; resuming needs the same values", path,
                   batch, seed);
      return FALSE;
    }
  const char *rng = g_hash_table_lookup (md, "rng");
  g_auto (GStrv) words = rng ? g_strsplit (rng, ",", -1) : NULL;
  SpmRng r;
  for (int i = 0; i < 4; i++)
    if (words == NULL || g_strv_length (words) != 4
        || !g_ascii_string_to_unsigned (words[i], 16, 0, G_MAXUINT64, &r.s[i], NULL))
      {
        g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                     "%s: metadata 'rng' is not four hexadecimal words", path);
        return FALSE;
      }
  for (int i = 0; i < (adam ? 2 : 1); i++)
    {
      const char *name = i == 0 ? "optim.m" : "optim.v";
      const SpmStTensor *s = spm_safetensors_get (st, name);
      if (s == NULL || s->ndim != 1 || s->shape[0] != (int64_t) t->m->n_trainable)
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                       "%s: tensor '%s' is %s, expected %zu floats (the model's trainable "
                       "parameters)", path, name, s ? "of another size" : "missing",
                       t->m->n_trainable);
          return FALSE;
        }
    }
  for (int i = 0; i < (adam ? 2 : 1); i++)
    memcpy (spm_optim_moment (t->opt, i),
            spm_safetensors_get (st, i == 0 ? "optim.m" : "optim.v")->data,
            t->m->n_trainable * sizeof (float));
  spm_optim_set_steps (t->opt, (int64_t) step);
  t->epochs = (int) epoch;
  t->pos = pos;
  t->rng = r;
  return TRUE;
}
