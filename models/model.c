/* model.c — the parameter block of a model, its named tensor views, initialisation,
 * names (labels or vocabulary), feature normalisation, and checkpoints (safetensors
 * with DESIGN §8 names and metadata).
 *
 * Memory plan: one block of n_params floats holding every tensor in DESIGN §8 order
 * (recurrent layers, head, embedding, projection: the trainable ones; then norm.mean
 * and norm.std, which are not trained).  Gradients and optimizer moments mirror the
 * first n_trainable floats, so the optimizer is one loop over the block.
 */
#include "spm-model.h"

#include "spm-json.h"
#include "spm-safetensors.h"

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

/* ---- checkpoints --------------------------------------------------------------- */

static const char *const head_names[] = { "labeler", "classifier", "captioner" };
static const char *const core_keys[] = { "format", "head", "cell", "hidden", "layers",
                                         "feature_dim", "labels", "vocab", "dropout", NULL };

static gboolean
is_core_key (const char *k, SpmHeadKind head)
{
  if (head == SPM_HEAD_CLASSIFIER && strcmp (k, "pool") == 0)
    return TRUE;
  return g_strv_contains (core_keys, k);
}

static int
cmp_strp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

gboolean
spm_model_save (const SpmModel *m, const char *path, GError **error)
{
  const SpmModelConfig *c = &m->cfg;
  int n_names = m->names != NULL ? (int) g_strv_length (m->names) : 0;
  if (n_names != c->C)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                   "%s: the model has %d %s for %d outputs", path, n_names,
                   c->head == SPM_HEAD_CAPTIONER ? "words" : "labels", c->C);
      return FALSE;
    }

  g_autofree SpmStWrite *w = g_new0 (SpmStWrite, m->n_tensors);
  for (int i = 0; i < m->n_tensors; i++)
    {
      const SpmTensor *t = &m->tensors[i];
      w[i].name = t->name;
      w[i].data = t->data;
      w[i].ndim = t->ndim;
      w[i].shape[0] = t->shape[0];
      w[i].shape[1] = t->shape[1];
    }

  /* key, value, key, value, ..., NULL; values owned by `own` */
  g_autoptr (GPtrArray) own = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) kv = g_ptr_array_new ();
#define PUT(k, v) G_STMT_START { char *v_ = (v); g_ptr_array_add (own, v_); \
    g_ptr_array_add (kv, (gpointer) (k)); g_ptr_array_add (kv, v_); } G_STMT_END
  PUT ("format", g_strdup ("seqpipe-1"));
  PUT ("head", g_strdup (head_names[c->head]));
  PUT ("cell", g_strdup (cell_prefix (c->cell)));
  PUT ("hidden", g_strdup_printf ("%d", c->H));
  PUT ("layers", g_strdup_printf ("%d", c->L));
  PUT ("feature_dim", g_strdup_printf ("%d", c->D));
  PUT (c->head == SPM_HEAD_CAPTIONER ? "vocab" : "labels",
       spm_json_strv_to_text ((const char *const *) m->names));
  if (c->head == SPM_HEAD_CLASSIFIER)
    PUT ("pool", g_strdup (c->pool == SPM_POOL_MEAN ? "mean" : "last"));
  /* a training setting, kept so that a resumed run trains as the interrupted one did */
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  PUT ("dropout", g_strdup (g_ascii_dtostr (buf, sizeof buf, c->dropout)));
#undef PUT
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array (m->meta, NULL);
  guint n_keys = g_hash_table_size (m->meta);
  qsort (keys, n_keys, sizeof (gpointer), cmp_strp);
  for (guint i = 0; i < n_keys; i++)
    if (!is_core_key (keys[i], c->head))
      {
        g_ptr_array_add (kv, keys[i]);
        g_ptr_array_add (kv, g_hash_table_lookup (m->meta, keys[i]));
      }
  g_ptr_array_add (kv, NULL);
  return spm_safetensors_write (path, w, m->n_tensors, (const char *const *) kv->pdata, error);
}

/* a positive integer metadata value, or *out unchanged when the key is absent */
static gboolean
meta_int (GHashTable *md, const char *key, const char *path, int max, int *out, GError **error)
{
  const char *s = g_hash_table_lookup (md, key);
  guint64 v;
  if (s == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (s, 10, 1, (guint64) max, &v, NULL))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata '%s' is \"%s\", expected an integer in 1..%d", path, key, s, max);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

/* the size of dimension `dim` of a 2-D tensor, or -1 when absent or not 2-D */
static int64_t
dim_of (const SpmSafetensors *st, const char *name, int dim)
{
  const SpmStTensor *t = spm_safetensors_get (st, name);
  return t != NULL && t->ndim == 2 ? t->shape[dim] : -1;
}

static gboolean
missing (const char *path, const char *name, GError **error)
{
  g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: tensor '%s' is missing", path, name);
  return FALSE;
}

/* The configuration a checkpoint's metadata and tensor shapes describe.  Shapes that
 * the metadata leaves open are read from the tensors; the caller then checks every
 * tensor against the model that configuration makes. */
static gboolean
config_of (const SpmSafetensors *st, const char *path, SpmModelConfig *c, char ***names,
           GError **error)
{
  GHashTable *md = st->metadata;
  const char *format = md != NULL ? g_hash_table_lookup (md, "format") : NULL;
  if (format == NULL || strcmp (format, "seqpipe-1") != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: not a seqpipe checkpoint (metadata 'format' is %s%s%s, expected \"seqpipe-1\")",
                   path, format ? "\"" : "", format ? format : "missing", format ? "\"" : "");
      return FALSE;
    }
  const char *head = g_hash_table_lookup (md, "head");
  memset (c, 0, sizeof *c);
  int h;
  for (h = 0; h < 3; h++)
    if (head != NULL && strcmp (head, head_names[h]) == 0)
      break;
  if (h == 3)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata 'head' is %s, expected labeler, classifier or captioner",
                   path, head ? head : "missing");
      return FALSE;
    }
  c->head = h;

  const char *cell = g_hash_table_lookup (md, "cell");
  gboolean has_lstm = spm_safetensors_get (st, "lstm.weight_ih_l0") != NULL;
  gboolean has_rnn = spm_safetensors_get (st, "rnn.weight_ih_l0") != NULL;
  if (cell != NULL && strcmp (cell, "lstm") != 0 && strcmp (cell, "rnn") != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata 'cell' is \"%s\", expected lstm or rnn", path, cell);
      return FALSE;
    }
  if (cell == NULL && has_lstm == has_rnn)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, has_lstm
                   ? "%s: both lstm.* and rnn.* tensors and no metadata 'cell'"
                   : "%s: tensor 'lstm.weight_ih_l0' (or 'rnn.weight_ih_l0') is missing", path);
      return FALSE;
    }
  c->cell = cell != NULL ? (strcmp (cell, "rnn") == 0 ? SPM_CELL_RNN : SPM_CELL_LSTM)
                         : (has_rnn ? SPM_CELL_RNN : SPM_CELL_LSTM);
  const char *pre = cell_prefix (c->cell);

  /* L: metadata, else the number of consecutive weight_ih_l{k} */
  c->L = 0;
  while (c->L < SPM_MAX_LAYERS)
    {
      g_autofree char *n = g_strdup_printf ("%s.weight_ih_l%d", pre, c->L);
      if (spm_safetensors_get (st, n) == NULL)
        break;
      c->L++;
    }
  g_autofree char *hh0 = g_strdup_printf ("%s.weight_hh_l0", pre);
  g_autofree char *ih0 = g_strdup_printf ("%s.weight_ih_l0", pre);
  c->H = (int) dim_of (st, hh0, 1);
  if (!meta_int (md, "layers", path, SPM_MAX_LAYERS, &c->L, error)
      || !meta_int (md, "hidden", path, 1 << 20, &c->H, error))
    return FALSE;
  if (c->L < 1)
    return missing (path, ih0, error);
  if (c->H < 1)
    return missing (path, hh0, error);

  if (c->head == SPM_HEAD_CAPTIONER)
    {
      c->D = (int) dim_of (st, "proj.weight", 1);
      c->E = (int) dim_of (st, "embed.weight", 1);
      if (c->E < 1)
        return missing (path, "embed.weight", error);
    }
  else
    c->D = (int) dim_of (st, ih0, 1);
  if (!meta_int (md, "feature_dim", path, 1 << 24, &c->D, error))
    return FALSE;
  if (c->D < 1)
    return missing (path, c->head == SPM_HEAD_CAPTIONER ? "proj.weight" : ih0, error);
  c->has_norm = spm_safetensors_get (st, "norm.mean") != NULL
                || spm_safetensors_get (st, "norm.std") != NULL;

  const char *pool = g_hash_table_lookup (md, "pool");
  if (c->head == SPM_HEAD_CLASSIFIER && pool != NULL)
    {
      if (strcmp (pool, "last") != 0 && strcmp (pool, "mean") != 0)
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                       "%s: metadata 'pool' is \"%s\", expected last or mean", path, pool);
          return FALSE;
        }
      c->pool = strcmp (pool, "mean") == 0 ? SPM_POOL_MEAN : SPM_POOL_LAST;
    }

  const char *dropout = g_hash_table_lookup (md, "dropout");
  if (dropout != NULL)
    {
      char *end;
      double p = g_ascii_strtod (dropout, &end);
      if (*end != '\0' || end == dropout || !(p >= 0 && p < 1))
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                       "%s: metadata 'dropout' is \"%s\", expected a number in [0, 1)", path, dropout);
          return FALSE;
        }
      c->dropout = (float) p;
    }

  const char *key = c->head == SPM_HEAD_CAPTIONER ? "vocab" : "labels";
  const char *text = g_hash_table_lookup (md, key);
  if (text == NULL)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: metadata '%s' is missing", path, key);
      return FALSE;
    }
  g_autofree char *what = g_strdup_printf ("%s: metadata '%s'", path, key);
  *names = spm_json_strv (text, what, error);
  if (*names == NULL)
    return FALSE;
  c->C = (int) g_strv_length (*names);
  return TRUE;
}

static const char *
shape_text (char *buf, size_t size, int ndim, const int64_t *shape)
{
  if (ndim == 1)
    g_snprintf (buf, size, "[%" G_GINT64_FORMAT "]", shape[0]);
  else if (ndim == 2)
    g_snprintf (buf, size, "[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", shape[0], shape[1]);
  else
    g_snprintf (buf, size, "%d dimensions", ndim);
  return buf;
}

SpmModel *
spm_model_load (const char *path, GError **error)
{
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, error);
  if (st == NULL)
    return NULL;
  SpmModelConfig cfg;
  g_auto (GStrv) names = NULL;
  if (!config_of (st, path, &cfg, &names, error))
    return NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (SpmModel) m = spm_model_new (&cfg, &local);
  if (m == NULL)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: %s", path, local->message);
      return NULL;
    }

  for (int i = 0; i < m->n_tensors; i++)
    {
      const SpmTensor *t = &m->tensors[i];
      const SpmStTensor *s = spm_safetensors_get (st, t->name);
      if (s == NULL)
        {
          missing (path, t->name, error);
          return NULL;
        }
      if (s->ndim != t->ndim || s->shape[0] != t->shape[0]
          || (t->ndim == 2 && s->shape[1] != t->shape[1]))
        {
          char have[64], want[64];
          g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                       "%s: tensor '%s' has shape %s, expected %s (%s %s, hidden %d, "
                       "%d %s, feature_dim %d)", path, t->name,
                       shape_text (have, sizeof have, s->ndim, s->shape),
                       shape_text (want, sizeof want, t->ndim, t->shape),
                       cell_prefix (cfg.cell), head_names[cfg.head], cfg.H, cfg.C,
                       cfg.head == SPM_HEAD_CAPTIONER ? "words" : "labels", cfg.D);
          return NULL;
        }
      memcpy (t->data, s->data, numel (t) * sizeof (float));
    }
  for (int i = 0; i < st->n_tensors; i++)
    if (spm_model_tensor (m, st->tensors[i].name) == NULL)
      {
        g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                     "%s: unexpected tensor '%s' for a %s %s model with %d layer%s", path,
                     st->tensors[i].name, cell_prefix (cfg.cell), head_names[cfg.head],
                     cfg.L, cfg.L > 1 ? "s" : "");
        return NULL;
      }
  if (m->norm_std != NULL)
    for (int d = 0; d < cfg.D; d++)
      if (!(m->norm_std[d] > 0) || !isfinite (m->norm_std[d]))
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                       "%s: tensor 'norm.std' holds %g at %d, expected a positive number",
                       path, m->norm_std[d], d);
          return NULL;
        }

  m->names = g_steal_pointer (&names);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, st->metadata);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!is_core_key (k, cfg.head))
      g_hash_table_insert (m->meta, g_strdup (k), g_strdup (v));
  return g_steal_pointer (&m);
}
