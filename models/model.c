/* model.c — the parameter block of a model, its named tensor views, initialisation,
 * names (labels or vocabulary) and feature normalisation (checkpoints: checkpoint.c).
 *
 * Memory plan: one block of n_params floats holding every tensor in DESIGN §8 order
 * (recurrent layers, head, embedding, projection: the trainable ones; then norm.mean
 * and norm.std, which are not trained).  Gradients and optimizer moments mirror the
 * first n_trainable floats, so the optimizer is one loop over the block.
 */
#include "spm-model.h"

#include <math.h>
#include <string.h>

static const char *
cell_prefix (SpmCell cell)
{
  return cell == SPM_CELL_LSTM ? "lstm" : "rnn";
}

static gboolean
check_config (const SpmModelConfig *c, GError **error)
{
  const char *what = NULL;
  if (c->head < SPM_HEAD_LABELER || c->head > SPM_HEAD_CAPTIONER)
    what = "head must be labeler, classifier or captioner";
  else if (c->cell != SPM_CELL_LSTM && c->cell != SPM_CELL_RNN)
    what = "cell must be lstm or rnn";
  else if (c->pool != SPM_POOL_LAST && c->pool != SPM_POOL_MEAN)
    what = "pool must be last or mean";
  else if (c->D < 1)
    what = "the feature size must be at least 1";
  else if (c->H < 1)
    what = "hidden must be at least 1";
  else if (c->L < 1 || c->L > SPM_MAX_LAYERS)
    what = "layers must be between 1 and " G_STRINGIFY (SPM_MAX_LAYERS);
  else if (c->head == SPM_HEAD_CAPTIONER && c->C <= SPM_TOK_UNK)
    what = "the vocabulary must hold more than the four special tokens";
  else if (c->C < 1)
    what = "there must be at least one class";
  else if (c->E < 0)
    what = "the embedding size must not be negative";
  else if (!(c->dropout >= 0 && c->dropout < 1))
    what = "dropout must be in [0, 1)";
  if (what != NULL)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH, "model: %s", what);
      return FALSE;
    }
  return TRUE;
}

/* Appends a tensor description; data holds the float offset until the block exists. */
static void
lay (GArray *tensors, size_t *off, char *name, int ndim, int64_t d0, int64_t d1,
     gboolean trainable)
{
  SpmTensor t = { .name = name, .ndim = ndim, .shape = { d0, ndim > 1 ? d1 : 0 },
                  .trainable = trainable };
  t.data = (float *) (uintptr_t) *off;
  *off += (size_t) d0 * (ndim > 1 ? (size_t) d1 : 1);
  g_array_append_val (tensors, t);
}

static float *
view (SpmModel *m, const char *name)
{
  const SpmTensor *t = spm_model_tensor (m, name);
  return t != NULL ? t->data : NULL;
}

SpmModel *
spm_model_new (const SpmModelConfig *cfg, GError **error)
{
  if (!check_config (cfg, error))
    return NULL;

  g_autoptr (SpmModel) m = g_new0 (SpmModel, 1);
  m->cfg = *cfg;
  SpmModelConfig *c = &m->cfg;
  if (c->head == SPM_HEAD_CAPTIONER && c->E == 0)
    c->E = c->H;
  if (c->head != SPM_HEAD_CAPTIONER)
    c->E = 0;
  m->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  const int G = SPM_CELL_GATES (c->cell);
  const char *pre = cell_prefix (c->cell);
  GArray *ta = g_array_new (FALSE, TRUE, sizeof (SpmTensor));
  size_t off = 0;
  for (int k = 0; k < c->L; k++)
    {
      int in = k > 0 ? c->H : c->head == SPM_HEAD_CAPTIONER ? c->E : c->D;
      lay (ta, &off, g_strdup_printf ("%s.weight_ih_l%d", pre, k), 2, (int64_t) G * c->H, in, TRUE);
      lay (ta, &off, g_strdup_printf ("%s.weight_hh_l%d", pre, k), 2, (int64_t) G * c->H, c->H, TRUE);
      lay (ta, &off, g_strdup_printf ("%s.bias_ih_l%d", pre, k), 1, (int64_t) G * c->H, 0, TRUE);
      lay (ta, &off, g_strdup_printf ("%s.bias_hh_l%d", pre, k), 1, (int64_t) G * c->H, 0, TRUE);
    }
  lay (ta, &off, g_strdup ("head.weight"), 2, c->C, c->H, TRUE);
  lay (ta, &off, g_strdup ("head.bias"), 1, c->C, 0, TRUE);
  if (c->head == SPM_HEAD_CAPTIONER)
    {
      lay (ta, &off, g_strdup ("embed.weight"), 2, c->C, c->E, TRUE);
      lay (ta, &off, g_strdup ("proj.weight"), 2, c->H, c->D, TRUE);
      lay (ta, &off, g_strdup ("proj.bias"), 1, c->H, 0, TRUE);
    }
  m->n_trainable = off;
  if (c->has_norm)
    {
      lay (ta, &off, g_strdup ("norm.mean"), 1, c->D, 0, FALSE);
      lay (ta, &off, g_strdup ("norm.std"), 1, c->D, 0, FALSE);
    }
  m->n_params = off;
  m->n_tensors = (int) ta->len;
  m->tensors = (SpmTensor *) g_array_free (ta, FALSE);

  m->params = g_try_new0 (float, m->n_params);
  if (m->params == NULL)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "model: cannot allocate %zu parameters", m->n_params);
      return NULL;
    }
  for (int i = 0; i < m->n_tensors; i++)
    m->tensors[i].data = m->params + (uintptr_t) m->tensors[i].data;

  for (int k = 0; k < c->L; k++)
    {
      SpmRecurrentParams *p = &m->layer[k];
      const SpmTensor *w = &m->tensors[4 * k];
      p->cell = c->cell;
      p->D = (int) w[0].shape[1];
      p->H = c->H;
      p->W_ih = w[0].data;
      p->W_hh = w[1].data;
      p->b_ih = w[2].data;
      p->b_hh = w[3].data;
    }
  m->head_W = view (m, "head.weight");
  m->head_b = view (m, "head.bias");
  m->embed = view (m, "embed.weight");
  m->proj_W = view (m, "proj.weight");
  m->proj_b = view (m, "proj.bias");
  m->norm_mean = view (m, "norm.mean");
  m->norm_std = view (m, "norm.std");
  if (c->has_norm)
    for (int d = 0; d < c->D; d++)
      m->norm_std[d] = 1.0f;
  return g_steal_pointer (&m);
}

void
spm_model_free (SpmModel *m)
{
  if (m == NULL)
    return;
  for (int i = 0; i < m->n_tensors; i++)
    g_free ((char *) m->tensors[i].name);
  g_free (m->tensors);
  g_free (m->params);
  g_strfreev (m->names);
  if (m->meta != NULL)
    g_hash_table_unref (m->meta);
  g_free (m);
}

const SpmTensor *
spm_model_tensor (const SpmModel *m, const char *name)
{
  for (int i = 0; i < m->n_tensors; i++)
    if (strcmp (m->tensors[i].name, name) == 0)
      return &m->tensors[i];
  return NULL;
}

/* x ~ U(-k, k) for n floats */
static void
fill_uniform (SpmRng *rng, float *x, size_t n, float k)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (2.0f * spm_rng_uniform (rng) - 1.0f) * k;
}

static size_t
numel (const SpmTensor *t)
{
  return (size_t) t->shape[0] * (t->ndim > 1 ? (size_t) t->shape[1] : 1);
}

/* Draws every tensor in block order from one RNG:
 *   core: U(-1/sqrt(H), 1/sqrt(H));  head: U(-1/sqrt(H), ..);  proj: U(-1/sqrt(D), ..);
 *   embed: N(0, 1);  norm.mean = 0, norm.std = 1. */
void
spm_model_init (SpmModel *m, uint64_t seed)
{
  SpmRng rng;
  spm_rng_seed (&rng, seed);
  const float k_core = 1.0f / sqrtf ((float) m->cfg.H);
  const float k_proj = 1.0f / sqrtf ((float) m->cfg.D);
  for (int i = 0; i < m->n_tensors; i++)
    {
      SpmTensor *t = &m->tensors[i];
      size_t n = numel (t);
      if (g_str_has_prefix (t->name, "embed."))
        for (size_t j = 0; j < n; j++)
          t->data[j] = (float) spm_rng_normal (&rng);
      else if (g_str_has_prefix (t->name, "proj."))
        fill_uniform (&rng, t->data, n, k_proj);
      else if (strcmp (t->name, "norm.mean") == 0)
        memset (t->data, 0, n * sizeof (float));
      else if (strcmp (t->name, "norm.std") == 0)
        for (size_t j = 0; j < n; j++)
          t->data[j] = 1.0f;
      else
        fill_uniform (&rng, t->data, n, k_core);
    }
}

void
spm_model_set_names (SpmModel *m, const char *const *names)
{
  g_strfreev (m->names);
  m->names = g_strdupv ((char **) names);
}

/* mean[d] = Σ x[d] / N;  std[d] = max(sqrt(Σ (x[d] - mean[d])² / N), 1e-6)
 * over the N frames of all examples (two passes, double accumulators). */
void
spm_model_fit_norm (SpmModel *m, const SpmExample *ex, size_t n)
{
  if (!m->cfg.has_norm)
    return;
  const int D = m->cfg.D;
  g_autofree double *sum = g_new0 (double, D);
  g_autofree double *sq = g_new0 (double, D);
  double N = 0;
  for (size_t e = 0; e < n; e++)
    for (int t = 0; t < ex[e].T; t++, N++)
      for (int d = 0; d < D; d++)
        sum[d] += ex[e].x[(size_t) t * D + d];
  for (int d = 0; d < D; d++)
    sum[d] = N > 0 ? sum[d] / N : 0;
  for (size_t e = 0; e < n; e++)
    for (int t = 0; t < ex[e].T; t++)
      for (int d = 0; d < D; d++)
        {
          double z = ex[e].x[(size_t) t * D + d] - sum[d];
          sq[d] += z * z;
        }
  for (int d = 0; d < D; d++)
    {
      double sd = N > 0 ? sqrt (sq[d] / N) : 1.0;
      m->norm_mean[d] = (float) sum[d];
      m->norm_std[d] = (float) MAX (sd, 1e-6);
    }
}

const char *
spm_head_kind_name (SpmHeadKind kind)
{
  static const char *const names[] = { "labeler", "classifier", "captioner" };

  return (unsigned) kind < G_N_ELEMENTS (names) ? names[kind] : "unknown";
}
