/* runner.c — streaming inference: batch 1, one time step per call, constant memory.
 *
 * Per step:  x̂ = (x - norm.mean) / norm.std;  (h_l, c_l) = cell_l(input_l, h_l, c_l)
 * with input_0 = x̂, input_l = h_{l-1};  labeler: probs = softmax(head.W h_{L-1} + head.b).
 * The classifier accumulates h_{L-1} (last or running sum) and classifies on demand.
 * B = 1 takes the recurrent layer's own matrix-vector kernel (spm_recurrent_forward),
 * whose summation order is fixed: the same inputs give the same bits on every call.
 */
#include "spm-model.h"

#include <string.h>

struct SpmRunner {
  const SpmModel *m;
  SpmRecurrentWork *work[SPM_MAX_LAYERS];
  float *h[SPM_MAX_LAYERS];   /* [H] state of each layer */
  float *c[SPM_MAX_LAYERS];   /* [H] */
  float *y;                   /* [H] output of the current layer */
  float *cT;                  /* [H] new cell state */
  float *xn;                  /* [D] normalised input */
  float *logits;              /* [C] */
  float *pool;                /* [H] last top output or running sum */
  int64_t n;                  /* steps pooled */
};

SpmRunner *
spm_runner_new (const SpmModel *m)
{
  const SpmModelConfig *c = &m->cfg;
  g_return_val_if_fail (c->head != SPM_HEAD_CAPTIONER, NULL);   /* spm_caption's job */
  SpmRunner *r = g_new0 (SpmRunner, 1);
  r->m = m;
  for (int l = 0; l < c->L; l++)
    {
      r->work[l] = spm_recurrent_work_new (c->cell, m->layer[l].D, c->H, 1, 1);
      r->h[l] = g_new0 (float, c->H);
      r->c[l] = g_new0 (float, c->H);
    }
  r->y = g_new0 (float, c->H);
  r->cT = g_new0 (float, c->H);
  r->xn = g_new0 (float, c->D);
  r->logits = g_new0 (float, c->C);
  r->pool = g_new0 (float, c->H);
  return r;
}

void
spm_runner_free (SpmRunner *r)
{
  if (r == NULL)
    return;
  for (int l = 0; l < SPM_MAX_LAYERS; l++)
    {
      spm_recurrent_work_free (r->work[l]);
      g_free (r->h[l]);
      g_free (r->c[l]);
    }
  g_free (r->y);
  g_free (r->cT);
  g_free (r->xn);
  g_free (r->logits);
  g_free (r->pool);
  g_free (r);
}

void
spm_runner_reset (SpmRunner *r)
{
  const int H = r->m->cfg.H;
  for (int l = 0; l < r->m->cfg.L; l++)
    {
      memset (r->h[l], 0, H * sizeof (float));
      memset (r->c[l], 0, H * sizeof (float));
    }
  memset (r->pool, 0, H * sizeof (float));
  r->n = 0;
}

void
spm_runner_step (SpmRunner *r, const float *x, float *probs)
{
  const SpmModel *m = r->m;
  const SpmModelConfig *c = &m->cfg;
  const float *in = x;
  if (m->norm_mean != NULL)
    {
      for (int d = 0; d < c->D; d++)
        r->xn[d] = (x[d] - m->norm_mean[d]) / m->norm_std[d];
      in = r->xn;
    }
  for (int l = 0; l < c->L; l++)
    {
      spm_recurrent_forward (&m->layer[l], r->work[l], 1, 1, in, r->h[l], r->c[l],
                             NULL, NULL, r->y, NULL, r->cT);
      memcpy (r->h[l], r->y, c->H * sizeof (float));
      memcpy (r->c[l], r->cT, c->H * sizeof (float));
      in = r->h[l];
    }
  const float *top = r->h[c->L - 1];
  if (c->head == SPM_HEAD_CLASSIFIER)
    {
      if (c->pool == SPM_POOL_MEAN)
        for (int j = 0; j < c->H; j++)
          r->pool[j] += top[j];
      else
        memcpy (r->pool, top, c->H * sizeof (float));
      r->n++;
    }
  else if (probs != NULL)
    {
      spm_linear_forward (m->head_W, m->head_b, 1, c->H, c->C, top, r->logits);
      spm_softmax (r->logits, c->C, probs);
    }
}

/* pooled = pool (last) or pool / n (mean); probs = softmax(head.W pooled + head.b) */
void
spm_runner_classify (SpmRunner *r, float *probs)
{
  const SpmModel *m = r->m;
  const int H = m->cfg.H;
  float *pooled = r->y;   /* scratch between steps */
  for (int j = 0; j < H; j++)
    pooled[j] = m->cfg.pool == SPM_POOL_MEAN && r->n > 0 ? r->pool[j] / (float) r->n
                                                         : r->pool[j];
  spm_linear_forward (m->head_W, m->head_b, 1, H, m->cfg.C, pooled, r->logits);
  spm_softmax (r->logits, m->cfg.C, probs);
}
