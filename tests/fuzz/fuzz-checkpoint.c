/* fuzz-checkpoint.c — libFuzzer target for checkpoint semantics (models/checkpoint.c).
 *
 * Each input is written to a scratch file and loaded with spm_model_load.  Checked:
 *   - a load returns a model and no error, or NULL with one SPM_ERROR;
 *   - a loaded model's configuration is within its documented ranges and its tensors
 *     lie inside the one parameter block;
 *   - a labeler or classifier runs four streaming steps on fixed features; when every
 *     parameter is finite and of moderate size (|p| <= 1e3, std >= 1e-3), each
 *     probability is finite in [0, 1] and they sum to 1 (within 1e-3);
 *   - saving the model and loading the copy gives the same configuration, the same
 *     parameter bytes, the same names and the same other metadata, and the copy saved
 *     again is byte-identical to the first copy.
 */
#include "fuzz-common.h"
#include "spm-model.h"

#include <math.h>
#include <string.h>

static gboolean
moderate (const SpmModel *m)
{
  for (size_t i = 0; i < m->n_params; i++)
    if (!isfinite (m->params[i]) || fabsf (m->params[i]) > 1e3f)
      return FALSE;
  if (m->norm_std != NULL)
    for (int d = 0; d < m->cfg.D; d++)
      if (m->norm_std[d] < 1e-3f)
        return FALSE;
  return TRUE;
}

static void
check_run (const SpmModel *m)
{
  if (m->cfg.head == SPM_HEAD_CAPTIONER)
    return;
  gboolean bounded = moderate (m);
  int D = m->cfg.D, C = m->cfg.C;
  float *x = g_new (float, (gsize) D);
  float *probs = g_new0 (float, (gsize) C);
  SpmRunner *r = spm_runner_new (m);
  for (int step = 0; step < 4; step++) {
    for (int d = 0; d < D; d++)
      x[d] = sinf (0.37f * (float) (d + 1) + (float) step);
    spm_runner_step (r, x, m->cfg.head == SPM_HEAD_LABELER ? probs : NULL);
    if (m->cfg.head == SPM_HEAD_CLASSIFIER && step < 3)
      continue;
    if (m->cfg.head == SPM_HEAD_CLASSIFIER)
      spm_runner_classify (r, probs);
    if (!bounded)
      continue;
    double sum = 0;
    for (int c = 0; c < C; c++) {
      if (!isfinite (probs[c]) || probs[c] < 0 || probs[c] > 1)
        abort ();
      sum += probs[c];
    }
    if (fabs (sum - 1) > 1e-3)
      abort ();
  }
  spm_runner_free (r);
  g_free (probs);
  g_free (x);
}

static void
check_same (const SpmModel *a, const SpmModel *b)
{
  if (memcmp (&a->cfg, &b->cfg, sizeof a->cfg) != 0 || a->n_params != b->n_params
      || a->n_trainable != b->n_trainable || a->n_tensors != b->n_tensors)
    abort ();
  if (memcmp (a->params, b->params, a->n_params * sizeof (float)) != 0)
    abort ();
  for (int i = 0; i < a->n_tensors; i++)
    if (strcmp (a->tensors[i].name, b->tensors[i].name) != 0
        || a->tensors[i].data - a->params != b->tensors[i].data - b->params)
      abort ();
  if ((a->names == NULL) != (b->names == NULL)
      || (a->names != NULL && !g_strv_equal ((const char *const *) a->names,
                                              (const char *const *) b->names)))
    abort ();
  if (g_hash_table_size (a->meta) != g_hash_table_size (b->meta))
    abort ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, a->meta);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    const char *w = g_hash_table_lookup (b->meta, k);
    if (w == NULL || strcmp (v, w) != 0)
      abort ();
  }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("in.safetensors", data, size);
  GError *error = NULL;
  SpmModel *m = spm_model_load (path, &error);
  fuzz_check_outcome (m != NULL, error, SPM_ERROR);
  g_clear_error (&error);
  if (m == NULL)
    return 0;

  const SpmModelConfig *c = &m->cfg;
  if (c->D < 1 || c->H < 1 || c->L < 1 || c->L > SPM_MAX_LAYERS || c->C < 1
      || m->n_trainable > m->n_params)
    abort ();
  for (int i = 0; i < m->n_tensors; i++) {
    const SpmTensor *t = &m->tensors[i];
    int64_t numel = t->ndim == 1 ? t->shape[0] : t->shape[0] * t->shape[1];
    if (t->data < m->params || t->data + numel > m->params + m->n_params)
      abort ();
  }
  check_run (m);

  g_autofree char *copy = g_build_filename (fuzz_scratch (), "copy.safetensors", NULL);
  g_autofree char *again = g_build_filename (fuzz_scratch (), "again.safetensors", NULL);
  if (!spm_model_save (m, copy, &error))
    abort ();
  SpmModel *b = spm_model_load (copy, &error);
  if (b == NULL)
    abort ();
  check_same (m, b);
  if (!spm_model_save (b, again, &error))
    abort ();
  g_autofree char *t1 = NULL, *t2 = NULL;
  gsize n1 = 0, n2 = 0;
  if (!g_file_get_contents (copy, &t1, &n1, NULL) || !g_file_get_contents (again, &t2, &n2, NULL)
      || n1 != n2 || memcmp (t1, t2, n1) != 0)
    abort ();
  spm_model_free (b);
  spm_model_free (m);
  return 0;
}
