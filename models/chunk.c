/* chunk.c — the whole model forward and backward over one chunk of a batch:
 * inputs (x̂ = (x - mean) / std, or embed[token]), the stacked layers with dropout
 * between them, the head (per step, or pooled for the classifier) and its
 * cross-entropy, then the gradient back through the head, the layers, the embedding
 * and the captioner's projection.  Buffers are the trainer's; nothing is allocated.
 * Layout: time-major, row r = s * B + b for step s of the chunk and sequence b.
 */
#include "trainer-private.h"

#include <string.h>

/* steps fed to the core: T, or the n_y - 1 input tokens of a caption */
int
spm_chunk_seq_len (const SpmModel *m, const SpmExample *e)
{
  return m->cfg.head == SPM_HEAD_CAPTIONER ? e->n_y - 1 : e->T;
}

/* State at the start of a batch: zero, or h = proj.W f̂ + proj.b in every layer for the
 * captioner (f̂ = normalised x[0] of each example, kept for proj's gradient). */
void
spm_chunk_begin (SpmTrainer *t, int B)
{
  const SpmModel *m = t->m;
  const int H = m->cfg.H, D = m->cfg.D;
  for (int b = 0; b < B; b++)
    t->len[b] = spm_chunk_seq_len (m, t->batch[b]);
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
void
spm_chunk_inputs (SpmTrainer *t, int B, int t0, int kc, int64_t *frames)
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
 * (Σ w[y] (-log p) over them), *weight_sum (W = Σ w[y]; the count when unweighted) and
 * dlogits = w[y] (softmax - onehot) / W: the gradient of Σ w[y] nll / W, PyTorch's
 * weighted mean cross-entropy (w = t->class_w, or 1). */
int
spm_chunk_forward (SpmTrainer *t, int B, int t0, int kc, SpmRng *rng, double *loss_sum,
                   double *weight_sum)
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
  double W = 0;
  for (int r = 0; r < rows; r++)
    if (t->tgt[r] >= 0)
      {
        n_valid++;
        W += t->class_w != NULL ? (double) t->class_w[t->tgt[r]] : 1.0;
      }
  *loss_sum = 0;
  *weight_sum = W;
  if (n_valid == 0)
    return 0;
  spm_linear_forward (m->head_W, m->head_b, rows, H, c->C, feat, t->logits);
  /* unweighted, W is the count n_valid and 1/W the float 1.0f / n_valid */
  const float scale = W > 0 ? 1.0f / (float) W : 0.0f;
  *loss_sum = spm_softmax_xent_weighted (t->logits, rows, c->C, t->tgt, t->class_w, scale,
                                         t->dlogits, NULL);
  return n_valid;
}

/* Backward of the chunk into t->grad (zeroed first), from dlogits. */
void
spm_chunk_backward (SpmTrainer *t, int B, int kc, gboolean first)
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
void
spm_chunk_carry (SpmTrainer *t)
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

