/* cnn-weights.c — the CNN's parameters: PyTorch's default initialisation, import of
 * a safetensors state_dict, a hash for cache keys, and the frames' normalisation. */
#include "cnn-private.h"
#include "spm-model.h"
#include "spm-safetensors.h"

#include <math.h>
#include <string.h>

void
spm_cnn_init (SpmCnn *cnn, SpmRng *rng)
{
  for (guint i = 0; i < cnn->tensors->len; i++)
    {
      const SpmCnnTensor *t = &g_array_index (cnn->tensors, SpmCnnTensor, i);
      float *d = cnn->params + t->offset;
      if (t->ndim == 4)
        {
          /* kaiming_uniform_(a = sqrt(5)): bound = sqrt(6 / ((1 + a²) fan_in)) = 1/sqrt(fan_in) */
          float bound = 1.0f / sqrtf ((float) (t->shape[1] * t->shape[2] * t->shape[3]));
          for (size_t k = 0; k < t->numel; k++)
            d[k] = bound * (2.0f * spm_rng_uniform (rng) - 1.0f);
        }
      else
        {
          float v = g_str_has_suffix (t->name, ".weight") ||
                    g_str_has_suffix (t->name, ".running_var") ? 1.0f : 0.0f;
          for (size_t k = 0; k < t->numel; k++)
            d[k] = v;
        }
    }
}

void
spm_cnn_input_rgb24 (int N, int H, int W, const uint8_t *rgb, float *x)
{
  static const float mean[3] = { 0.485f, 0.456f, 0.406f }, std[3] = { 0.229f, 0.224f, 0.225f };
  size_t HW = (size_t) H * W;
  for (int n = 0; n < N; n++)
    {
      const uint8_t *f = rgb + (size_t) n * HW * 3;
      float *o = x + (size_t) n * 3 * HW;
      for (size_t q = 0; q < HW; q++)
        for (int c = 0; c < 3; c++)
          o[c * HW + q] = ((float) f[3 * q + c] / 255.0f - mean[c]) / std[c];
    }
}

char *
spm_cnn_weights_hash (const SpmCnn *cnn)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *arch = spm_cnn_arch_name (cnn->arch);
  g_checksum_update (sum, (const guchar *) arch, (gssize) strlen (arch) + 1);
  for (guint i = 0; i < cnn->tensors->len; i++)
    {
      const SpmCnnTensor *t = &g_array_index (cnn->tensors, SpmCnnTensor, i);
      g_checksum_update (sum, (const guchar *) t->name, (gssize) strlen (t->name) + 1);
      for (int k = 0; k < t->ndim; k++)
        {
          guint64 d = GUINT64_TO_LE ((guint64) t->shape[k]);
          g_checksum_update (sum, (const guchar *) &d, 8);
        }
      const float *v = cnn->params + t->offset;
      for (size_t k = 0; k < t->numel; k++)
        {
          guint32 u;
          memcpy (&u, &v[k], 4);
          u = GUINT32_TO_LE (u);
          g_checksum_update (sum, (const guchar *) &u, 4);
        }
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* A name the import skips: the classifier and BatchNorm's step counters. */
static gboolean
ignored (const char *name)
{
  return g_str_has_prefix (name, "fc.") || g_str_has_suffix (name, ".num_batches_tracked");
}

static char *
shape_string (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int k = 0; k < ndim; k++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, k > 0 ? ", " : "", (gint64) shape[k]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

G_GNUC_PRINTF (3, 4) static gboolean
mismatch (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH, "%s: %s", path, msg);
  return FALSE;
}

gboolean
spm_cnn_load_weights (SpmCnn *cnn, const char *path, GError **error)
{
  g_autoptr (SpmSafetensors) st = spm_safetensors_read_full (path, SPM_ST_KEEP_NONFLOAT, error);
  if (st == NULL)
    return FALSE;
  const char *arch = spm_cnn_arch_name (cnn->arch);
  /* The other arch's first tensor, to say what the file is rather than list 100 misses. */
  const char *other = cnn->arch == SPM_CNN_SMALL ? "conv1.weight" : "features.0.weight";
  const char *other_arch = cnn->arch == SPM_CNN_SMALL ? "resnet18" : "small";
  for (int i = 0; i < st->n_tensors; i++)
    {
      const char *n = st->tensors[i].name;
      if (g_str_has_prefix (n, "cnn."))
        n += 4;
      if (strcmp (n, other) == 0)
        return mismatch (error, path, "holds a %s state_dict (tensor \"%s\"), not %s",
                         other_arch, st->tensors[i].name, arch);
    }

  g_autofree float *staged = g_try_new (float, cnn->n_total);
  g_autofree int *from = g_new (int, cnn->tensors->len);
  if (staged == NULL)
    return mismatch (error, path, "out of memory for %zu parameters", cnn->n_total);
  for (guint k = 0; k < cnn->tensors->len; k++)
    from[k] = -1;
  for (int i = 0; i < st->n_tensors; i++)
    {
      const SpmStTensor *f = &st->tensors[i];
      const char *n = g_str_has_prefix (f->name, "cnn.") ? f->name + 4 : f->name;
      if (ignored (n))
        continue;
      int k = -1;
      for (guint j = 0; j < cnn->tensors->len && k < 0; j++)
        if (strcmp (g_array_index (cnn->tensors, SpmCnnTensor, j).name, n) == 0)
          k = (int) j;
      if (k < 0)
        return mismatch (error, path, "tensor \"%s\" is not part of a %s state_dict", f->name,
                         arch);
      const SpmCnnTensor *t = &g_array_index (cnn->tensors, SpmCnnTensor, k);
      if (from[k] >= 0)
        return mismatch (error, path, "tensor \"%s\" is given twice (\"%s\" and \"%s\")", t->name,
                         st->tensors[from[k]].name, f->name);
      if (f->data == NULL)
        return mismatch (error, path, "tensor \"%s\" has dtype %s, a float type is needed",
                         f->name, f->dtype);
      gboolean same = f->ndim == t->ndim;
      for (int d = 0; same && d < t->ndim; d++)
        same = f->shape[d] == t->shape[d];
      if (!same)
        {
          g_autofree char *got = shape_string (f->ndim, f->shape);
          g_autofree char *want = shape_string (t->ndim, t->shape);
          return mismatch (error, path, "tensor \"%s\" has shape %s, %s %s needs %s", f->name,
                           got, arch, t->name, want);
        }
      for (size_t e = 0; e < t->numel; e++)
        if (!isfinite (f->data[e]))
          return mismatch (error, path, "tensor \"%s\" holds a non-finite value at element %zu",
                           f->name, e);
      memcpy (staged + t->offset, f->data, sizeof (float) * t->numel);
      from[k] = i;
    }
  for (guint k = 0; k < cnn->tensors->len; k++)
    if (from[k] < 0)
      return mismatch (error, path, "tensor \"%s\" of the %s state_dict is missing",
                       g_array_index (cnn->tensors, SpmCnnTensor, k).name, arch);
  memcpy (cnn->params, staged, sizeof (float) * cnn->n_total);
  return TRUE;
}
