/* checkpoint.c — saving and loading a model as a safetensors checkpoint (DESIGN §8):
 * the tensors of the parameter block under their names, and string metadata.
 * Loading trusts nothing: the configuration comes from the metadata where given and
 * from the tensor shapes otherwise, then every tensor of the model that configuration
 * makes must be present with its exact shape, and no other tensor may be. */
#include "spm-model.h"
#include "spm-json.h"
#include "spm-safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *
cell_prefix (SpmCell cell)
{
  return cell == SPM_CELL_LSTM ? "lstm" : "rnn";
}

static size_t
numel (const SpmTensor *t)
{
  return (size_t) t->shape[0] * (t->ndim > 1 ? (size_t) t->shape[1] : 1);
}

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
  PUT ("head", g_strdup (spm_head_kind_name (c->head)));
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
    if (head != NULL && strcmp (head, spm_head_kind_name (h)) == 0)
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
  /* a label twice or an empty one would give two p:<label> columns or empty cues */
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < c->C; i++)
    {
      const char *n = (*names)[i];
      if (*n == '\0' || !g_hash_table_add (seen, (char *) n))
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: metadata '%s': %s at %d", path,
                       key, *n ? "a name given twice" : "an empty name", i);
          g_clear_pointer (names, g_strfreev);
          return FALSE;
        }
    }
  if (c->C < 1 || (c->head == SPM_HEAD_CAPTIONER && c->C < 4))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: metadata '%s' has %d names", path,
                   key, c->C);
      g_clear_pointer (names, g_strfreev);
      return FALSE;
    }
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

/* The sizes the metadata claims against the tensors that hold them, before anything
 * is allocated from them: a small file claiming hidden = 2^20 must fail at once, not
 * after asking for terabytes.  Each layer's input and recurrent weights and the head
 * are checked; spm_model_load checks every tensor afterwards. */
static gboolean
sizes_fit (const SpmSafetensors *st, const SpmModelConfig *c, const char *path, GError **error)
{
  const char *pre = cell_prefix (c->cell);
  int64_t G = SPM_CELL_GATES (c->cell);
  struct { char *name; int64_t rows, cols; } want[2 * SPM_MAX_LAYERS + 1];
  int n = 0;
  gboolean ok = TRUE;

  for (int l = 0; l < c->L; l++)
    {
      int64_t in = l > 0 ? c->H : c->head == SPM_HEAD_CAPTIONER ? (c->E > 0 ? c->E : c->H) : c->D;
      want[n++] = (typeof (want[0])) { g_strdup_printf ("%s.weight_ih_l%d", pre, l), G * c->H, in };
      want[n++] = (typeof (want[0])) { g_strdup_printf ("%s.weight_hh_l%d", pre, l), G * c->H,
                                       c->H };
    }
  want[n++] = (typeof (want[0])) { g_strdup ("head.weight"), c->C, c->H };
  for (int i = 0; i < n; i++)
    {
      const SpmStTensor *t = spm_safetensors_get (st, want[i].name);
      if (ok && t == NULL)
        ok = missing (path, want[i].name, error);
      else if (ok && (t->ndim != 2 || t->shape[0] != want[i].rows || t->shape[1] != want[i].cols))
        {
          char have[64], exp[64];
          int64_t shape[2] = { want[i].rows, want[i].cols };
          g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                       "%s: tensor '%s' has shape %s, but the metadata makes it %s", path,
                       want[i].name, shape_text (have, sizeof have, t->ndim, t->shape),
                       shape_text (exp, sizeof exp, 2, shape));
          ok = FALSE;
        }
      g_free (want[i].name);
    }
  return ok;
}


SpmModel *
spm_model_load (const char *path, GError **error)
{
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, error);
  if (st == NULL)
    return NULL;
  SpmModelConfig cfg;
  g_auto (GStrv) names = NULL;
  if (!config_of (st, path, &cfg, &names, error) || !sizes_fit (st, &cfg, path, error))
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
                       cell_prefix (cfg.cell), spm_head_kind_name (cfg.head), cfg.H, cfg.C,
                       cfg.head == SPM_HEAD_CAPTIONER ? "words" : "labels", cfg.D);
          return NULL;
        }
      memcpy (t->data, s->data, numel (t) * sizeof (float));
      for (size_t k = 0; k < numel (t); k++)
        if (!isfinite (t->data[k]))
          {
            g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                         "%s: tensor '%s' holds %s at element %zu; a checkpoint holds finite "
                         "numbers", path, t->name, isnan (t->data[k]) ? "NaN" : "an infinity", k);
            return NULL;
          }
    }
  for (int i = 0; i < st->n_tensors; i++)
    if (spm_model_tensor (m, st->tensors[i].name) == NULL)
      {
        g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                     "%s: unexpected tensor '%s' for a %s %s model with %d layer%s", path,
                     st->tensors[i].name, cell_prefix (cfg.cell), spm_head_kind_name (cfg.head),
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
