/* train-check.h — helpers shared by the tests of the model core (suite train). */
#ifndef TRAIN_CHECK_H
#define TRAIN_CHECK_H

#include "spm-model.h"
#include "spm-safetensors.h"
#include "check-close.h"

#include <math.h>
#include <string.h>

static inline char *
fixture_path (const char *name)
{
  const char *dir = g_getenv ("SPM_TRAIN_FIXTURES");
  return g_build_filename (dir != NULL ? dir : "tests/train/fixtures", name, NULL);
}

static inline SpmSafetensors *
read_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr (GError) error = NULL;
  SpmSafetensors *st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);
  return st;
}

static inline const SpmStTensor *
need (const SpmSafetensors *st, const char *name)
{
  const SpmStTensor *t = spm_safetensors_get (st, name);
  if (t == NULL)
    g_error ("fixture tensor '%s' is missing", name);
  return t;
}

static inline double
meta_double (const SpmSafetensors *st, const char *key)
{
  const char *s = g_hash_table_lookup (st->metadata, key);
  if (s == NULL)
    g_error ("fixture metadata '%s' is missing", key);
  return g_ascii_strtod (s, NULL);
}

/* A random model of the given shape, initialised with `seed`, names c0.. or a vocabulary. */
static inline SpmModel *
random_model (SpmHeadKind head, SpmCell cell, int D, int H, int L, int C, gboolean norm,
              uint64_t seed)
{
  SpmModelConfig cfg = { .head = head, .cell = cell, .D = D, .H = H, .L = L, .C = C,
                         .has_norm = norm };
  g_autoptr (GError) error = NULL;
  SpmModel *m = spm_model_new (&cfg, &error);
  g_assert_no_error (error);
  spm_model_init (m, seed);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  static const char *const special[] = { "<null>", "<start>", "<end>", "<unk>" };
  for (int i = 0; i < C; i++)
    g_ptr_array_add (names, head == SPM_HEAD_CAPTIONER && i < 4 ? g_strdup (special[i])
                                                              : g_strdup_printf ("c%d", i));
  g_ptr_array_add (names, NULL);
  spm_model_set_names (m, (const char *const *) names->pdata);
  if (norm)
    {
      SpmRng rng;
      spm_rng_seed (&rng, seed + 1);
      for (int d = 0; d < D; d++)
        {
          m->norm_mean[d] = (float) spm_rng_normal (&rng) * 0.5f;
          m->norm_std[d] = 0.5f + spm_rng_uniform (&rng);
        }
    }
  return m;
}

#endif
