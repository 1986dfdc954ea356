/* test-cnn.c — the `small` and `resnet18` nets (spm-cnn.h) against PyTorch and
 * torchvision (fixtures by gen_cnn_fixtures.py), weight import and its errors, the
 * safetensors reader's integer entries, input checks, initialisation and hashing.
 *
 * The nets' weights and frames come from a counter-based hash computed identically
 * here and in the generator (hash_uniform), so the 45 MB of ResNet-18 weights are
 * never stored: the fixtures hold only what torch computed from them. */
#include "check.h"
#include "spm-cnn.h"
#include "spm-model.h"
#include "spm-safetensors.h"

#include <glib/gstdio.h>
#include <stdlib.h>

static SpmSafetensors *
load_fixture (const char *file)
{
  const char *dir = g_getenv ("SPM_FIXTURES");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : "tests/layers/fixtures", file, NULL);
  g_autoptr (GError) error = NULL;
  SpmSafetensors *st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);
  return st;
}

static const float *
need (const SpmSafetensors *st, const char *name, size_t numel)
{
  const SpmStTensor *t = spm_safetensors_get (st, name);
  if (t == NULL || (size_t) t->numel != numel)
    g_error ("fixture tensor %s missing or of the wrong size", name);
  return t->data;
}

/* ---- the hash shared with gen_cnn_fixtures.py ---- */

static uint64_t
fnv1a64 (const char *s)
{
  uint64_t h = 0xcbf29ce484222325u;
  for (; *s; s++)
    h = (h ^ (uint8_t) *s) * 0x100000001b3u;
  return h;
}

static uint64_t
mix (uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t
hash_bits (uint64_t key, size_t i)
{
  return mix (key + (uint64_t) i * 0x9e3779b97f4a7c15u);
}

/* t = 2u − 1 with u in [0, 1) of 24 bits: exact in float */
static float
hash_signed (uint64_t key, size_t i)
{
  float u = (float) (hash_bits (key, i) >> 40) * 0x1p-24f;
  return 2.0f * u - 1.0f;
}

/* Fills every tensor by gen_cnn_fixtures.py's hash_value */
static void
hash_weights (SpmCnn *cnn)
{
  float *params = spm_cnn_params (cnn, NULL, NULL);
  for (int i = 0; i < spm_cnn_n_tensors (cnn); i++)
    {
      const SpmCnnTensor *t = spm_cnn_tensor (cnn, i);
      uint64_t key = fnv1a64 (t->name);
      float *d = params + t->offset;
      float s = t->ndim == 4 ? (float) sqrt (6.0 / (double) (t->shape[1] * t->shape[2] * t->shape[3])) : 0;
      for (size_t k = 0; k < t->numel; k++)
        {
          float v = hash_signed (key, k);
          if (t->ndim == 4)
            d[k] = v * s;
          else if (g_str_has_suffix (t->name, "running_var"))
            d[k] = 1.0f + 0.5f * v;
          else if (g_str_has_suffix (t->name, "running_mean"))
            d[k] = 0.2f * v;
          else if (g_str_has_suffix (t->name, "weight"))
            d[k] = 1.0f + 0.25f * v;
          else
            d[k] = 0.1f * v;
        }
    }
}

/* N frames of H x W normalised as torchvision, from the hash named name */
static float *
hash_input (const char *name, int N, int H, int W)
{
  size_t n = (size_t) N * H * W * 3;
  g_autofree uint8_t *rgb = g_new (uint8_t, n);
  uint64_t key = fnv1a64 (name);
  for (size_t i = 0; i < n; i++)
    rgb[i] = (uint8_t) (hash_bits (key, i) >> 56);
  float *x = g_new (float, n);
  spm_cnn_input_rgb24 (N, H, W, rgb, x);
  return x;
}

static const int small_channels[] = { 32, 64, 128, 128 };

static SpmCnn *
make_net (SpmCnnArch arch, int N, int H, int W)
{
  g_autoptr (GError) error = NULL;
  SpmCnn *cnn = spm_cnn_new (arch, small_channels, G_N_ELEMENTS (small_channels), N, H, W, &error);
  g_assert_no_error (error);
  return cnn;
}

/* ---- whole nets, eval mode ---- */

static void
check_net (SpmCnnArch arch, int size)
{
  g_autoptr (SpmSafetensors) st = load_fixture ("cnn-nets.safetensors");
  g_autoptr (SpmCnn) cnn = make_net (arch, 2, size, size);
  hash_weights (cnn);
  g_autofree char *fname = g_strdup_printf ("frames.%d", size);
  g_autofree float *x = hash_input (fname, 2, size, size);
  int D = spm_cnn_dim (cnn);
  g_assert_cmpint (D, ==, arch == SPM_CNN_SMALL ? 128 : 512);
  g_autofree float *out = g_new (float, 2 * D);
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_cnn_forward (cnn, 2, size, size, x, FALSE, out, &error));
  g_assert_no_error (error);
  g_autofree char *key = g_strdup_printf ("%s.%d", spm_cnn_arch_name (arch), size);
  check_close (key, out, need (st, key, 2 * (size_t) D), 2 * (size_t) D, 1e-4, 1e-3);
}

static void test_small_64 (void) { check_net (SPM_CNN_SMALL, 64); }
static void test_small_224 (void) { check_net (SPM_CNN_SMALL, 224); }
static void test_resnet_64 (void) { check_net (SPM_CNN_RESNET18, 64); }
static void test_resnet_224 (void) { check_net (SPM_CNN_RESNET18, 224); }

/* A plan for more frames and a larger size serves a smaller input; the same frames
 * give the same features. */
static void
test_replan (void)
{
  g_autoptr (SpmSafetensors) st = load_fixture ("cnn-nets.safetensors");
  g_autoptr (SpmCnn) cnn = make_net (SPM_CNN_RESNET18, 1, 40, 40);
  hash_weights (cnn);
  g_autoptr (GError) error = NULL;
  g_autofree float *x = hash_input ("frames.64", 2, 64, 64);
  g_autofree float *out = g_new (float, 2 * 512);
  g_assert_false (spm_cnn_forward (cnn, 2, 64, 64, x, FALSE, out, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "planned for"));
  g_clear_error (&error);
  g_assert_true (spm_cnn_reserve (cnn, 3, 70, 66, &error));
  g_assert_true (spm_cnn_forward (cnn, 2, 64, 64, x, FALSE, out, &error));
  g_assert_no_error (error);
  check_close ("resnet18.64 after reserve", out, need (st, "resnet18.64", 1024), 1024, 1e-4, 1e-3);
}

/* ---- train mode: forward, backward, running stats ---- */

static void
test_small_train (void)
{
  g_autoptr (SpmSafetensors) st = load_fixture ("cnn-train.safetensors");
  const int ch[] = { 4, 6 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmCnn) cnn = spm_cnn_new (SPM_CNN_SMALL, ch, 2, 2, 12, 10, &error);
  g_assert_no_error (error);
  float *params = spm_cnn_params (cnn, NULL, NULL);
  for (int i = 0; i < spm_cnn_n_tensors (cnn); i++)
    {
      const SpmCnnTensor *t = spm_cnn_tensor (cnn, i);
      g_autofree char *n = g_strconcat ("p.", t->name, NULL);
      memcpy (params + t->offset, need (st, n, t->numel), sizeof (float) * t->numel);
    }
  float out[12];
  g_assert_true (spm_cnn_forward (cnn, 2, 12, 10, need (st, "x", 2 * 3 * 12 * 10), TRUE, out, &error));
  g_assert_no_error (error);
  check_close ("small train out", out, need (st, "out", 12), 12, 1e-5, 1e-4);
  g_assert_true (spm_cnn_backward (cnn, need (st, "g", 12), &error));
  const float *grads = spm_cnn_grads (cnn);
  for (int i = 0; i < spm_cnn_n_tensors (cnn); i++)
    {
      const SpmCnnTensor *t = spm_cnn_tensor (cnn, i);
      g_autofree char *n = g_strconcat (t->trainable ? "grad." : "after.", t->name, NULL);
      const float *got = t->trainable ? grads + t->offset : params + t->offset;
      check_close (n, got, need (st, n, t->numel), t->numel, 1e-5, 1e-4);
    }
}

static void
test_resnet_train (void)
{
  g_autoptr (SpmSafetensors) st = load_fixture ("cnn-resnet-train.safetensors");
  g_autoptr (SpmCnn) cnn = make_net (SPM_CNN_RESNET18, 2, 64, 64);
  hash_weights (cnn);
  const char *frames = g_hash_table_lookup (st->metadata, "frames");
  g_assert_nonnull (frames);
  g_autofree float *x = hash_input (frames, 2, 64, 64);
  float out[1024], g[1024];
  uint64_t key = fnv1a64 ("g");
  for (int i = 0; i < 1024; i++)
    g[i] = hash_signed (key, i);
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_cnn_forward (cnn, 2, 64, 64, x, TRUE, out, &error));
  check_close ("resnet18 train out", out, need (st, "out", 1024), 1024, 1e-4, 1e-3);
  g_assert_true (spm_cnn_backward (cnn, g, &error));
  g_assert_no_error (error);
  float *params = spm_cnn_params (cnn, NULL, NULL);
  const float *grads = spm_cnn_grads (cnn);
  int checked = 0;
  for (int i = 0; i < spm_cnn_n_tensors (cnn); i++)
    {
      const SpmCnnTensor *t = spm_cnn_tensor (cnn, i);
      g_autofree char *n = g_strconcat (t->trainable ? "grad." : "after.", t->name, NULL);
      if (spm_safetensors_get (st, n) == NULL)
        continue;
      const float *got = t->trainable ? grads + t->offset : params + t->offset;
      /* Gradients through 20 train-mode BatchNorms carry float32 rounding of the whole
       * backward chain: PyTorch's own float32 run differs from the float64 reference
       * by up to 3.7e-4 on conv1's gradient (values up to 17), hence the wider atol. */
      check_close (n, got, need (st, n, t->numel), t->numel, t->trainable ? 5e-4 : 1e-4, 1e-3);
      checked++;
    }
  g_assert_cmpint (checked, ==, 3 + 2 * 20 + 2 * 20);  /* 3 convs, 20 BNs' weight, bias, stats */
}

static void
test_backward_errors (void)
{
  g_autoptr (SpmCnn) cnn = make_net (SPM_CNN_RESNET18, 2, 32, 32);
  g_autoptr (GError) error = NULL;
  float dout[1024] = { 0 };
  g_assert_false (spm_cnn_backward (cnn, dout, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FAILED);
  g_clear_error (&error);
  /* one frame whose last map is 1 x 1: a BatchNorm would see one value */
  g_autofree float *x = g_new0 (float, 2 * 3 * 32 * 32);
  g_assert_false (spm_cnn_forward (cnn, 1, 32, 32, x, TRUE, dout, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "one value per channel"));
  g_clear_error (&error);
  g_assert_true (spm_cnn_forward (cnn, 1, 32, 32, x, FALSE, dout, &error));
  g_assert_true (spm_cnn_forward (cnn, 2, 32, 32, x, TRUE, dout, &error));
  g_assert_true (spm_cnn_backward (cnn, dout, &error));
  g_assert_no_error (error);
}

/* ---- input size, RGB conversion, init, hash ---- */

static void
test_input_size (void)
{
  g_autoptr (GError) error = NULL;
  SpmCnn *cnn = spm_cnn_new (SPM_CNN_RESNET18, NULL, 0, 2, 8, 8, &error);
  g_assert_null (cnn);
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "minimum is 32x32"));
  g_clear_error (&error);
  g_assert_true (spm_cnn_check_input (SPM_CNN_RESNET18, 0, 32, 32, &error));
  g_assert_false (spm_cnn_check_input (SPM_CNN_RESNET18, 0, 32, 31, &error));
  g_clear_error (&error);
  g_assert_false (spm_cnn_check_input (SPM_CNN_SMALL, 4, 15, 64, &error));
  g_assert_nonnull (strstr (error->message, "minimum is 16x16"));
  g_clear_error (&error);
  g_assert_true (spm_cnn_check_input (SPM_CNN_SMALL, 4, 16, 16, &error));
  const int bad[] = { 4, 0 };
  g_assert_null (spm_cnn_new (SPM_CNN_SMALL, bad, 2, 1, 16, 16, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FAILED);
  g_clear_error (&error);
  SpmCnnArch arch;
  g_assert_true (spm_cnn_arch_from_name ("resnet18", &arch, &error) && arch == SPM_CNN_RESNET18);
  g_assert_false (spm_cnn_arch_from_name ("resnet50", &arch, &error));
  g_clear_error (&error);
  /* a small frame into a net planned larger */
  g_autoptr (SpmCnn) ok = make_net (SPM_CNN_RESNET18, 1, 64, 64);
  float x[3 * 16 * 16] = { 0 }, out[512];
  g_assert_false (spm_cnn_forward (ok, 1, 16, 16, x, FALSE, out, &error));
  g_assert_nonnull (strstr (error->message, "minimum is 32x32"));
}

static void
test_rgb24 (void)
{
  const uint8_t rgb[2 * 2 * 3] = { 0, 128, 255, 10, 20, 30, 255, 0, 7, 1, 2, 3 };
  float x[12];
  spm_cnn_input_rgb24 (2, 1, 2, rgb, x);
  const double mean[3] = { 0.485, 0.456, 0.406 }, std[3] = { 0.229, 0.224, 0.225 };
  for (int n = 0; n < 2; n++)
    for (int c = 0; c < 3; c++)
      for (int q = 0; q < 2; q++)
        {
          double want = (rgb[(n * 2 + q) * 3 + c] / 255.0 - mean[c]) / std[c];
          g_assert_cmpfloat_with_epsilon (x[(n * 3 + c) * 2 + q], want, 1e-6);
        }
}

static void
test_init_hash (void)
{
  g_autoptr (SpmCnn) a = make_net (SPM_CNN_RESNET18, 1, 32, 32);
  g_autoptr (SpmCnn) b = make_net (SPM_CNN_RESNET18, 2, 64, 48);
  SpmRng r1, r2;
  spm_rng_seed (&r1, 5);
  spm_rng_seed (&r2, 5);
  spm_cnn_init (a, &r1);
  spm_cnn_init (b, &r2);
  g_autofree char *ha = spm_cnn_weights_hash (a), *hb = spm_cnn_weights_hash (b);
  g_assert_cmpuint (strlen (ha), ==, 64);
  g_assert_cmpstr (ha, ==, hb);      /* the plan is not part of the weights */
  const SpmCnnTensor *t = spm_cnn_find (a, "layer3.0.conv1.weight");
  g_assert_nonnull (t);
  g_assert_cmpint (t->shape[0], ==, 256);
  g_assert_cmpint (t->shape[1], ==, 128);
  float *p = spm_cnn_params (a, NULL, NULL) + t->offset;
  float bound = 1.0f / sqrtf (128 * 9), lo = 0, hi = 0;
  for (size_t k = 0; k < t->numel; k++)
    lo = MIN (lo, p[k]), hi = MAX (hi, p[k]);
  g_assert_cmpfloat (lo, >=, -bound);
  g_assert_cmpfloat (hi, <=, bound);
  g_assert_cmpfloat (hi, >, 0.99f * bound);
  g_assert_cmpfloat (spm_cnn_params (a, NULL, NULL)[spm_cnn_find (a, "bn1.weight")->offset], ==, 1.0f);
  g_assert_cmpfloat (spm_cnn_params (a, NULL, NULL)[spm_cnn_find (a, "bn1.running_var")->offset], ==, 1.0f);
  g_assert_cmpfloat (spm_cnn_params (a, NULL, NULL)[spm_cnn_find (a, "bn1.bias")->offset], ==, 0.0f);
  /* trainable tensors first, then the buffers; the table has torchvision's names */
  size_t n_train, n_total;
  spm_cnn_params (a, &n_train, &n_total);
  g_assert_cmpuint (n_train, ==, 11176512);    /* torchvision resnet18 without fc */
  g_assert_cmpuint (n_total - n_train, ==, 2 * 4800);
  g_assert_true (spm_cnn_find (a, "bn1.running_mean")->offset >= n_train);
  g_assert_nonnull (spm_cnn_find (a, "layer4.0.downsample.1.running_var"));
  g_assert_null (spm_cnn_find (a, "layer1.0.downsample.0.weight"));
  g_assert_cmpint (spm_cnn_n_tensors (a), ==, 100);
  /* one changed value changes the hash */
  p[7] = nextafterf (p[7], 1.0f);
  g_autofree char *hc = spm_cnn_weights_hash (a);
  g_assert_cmpstr (ha, !=, hc);
}

/* ---- weight import ---- */

/* One tensor of a hand-written safetensors file: dtype, shape and raw bytes. */
typedef struct {
  const char *name, *dtype;
  int ndim;
  int64_t shape[4];
  const void *data;
  size_t nbytes;
} RawTensor;

static void
write_raw (const char *path, const RawTensor *t, int n)
{
  g_autoptr (GString) h = g_string_new ("{");
  size_t off = 0;
  for (int i = 0; i < n; i++)
    {
      g_string_append_printf (h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t[i].name,
                              t[i].dtype);
      for (int k = 0; k < t[i].ndim; k++)
        g_string_append_printf (h, "%s%" G_GINT64_FORMAT, k ? "," : "", (gint64) t[i].shape[k]);
      g_string_append_printf (h, "],\"data_offsets\":[%zu,%zu]}", off, off + t[i].nbytes);
      off += t[i].nbytes;
    }
  g_string_append_c (h, '}');
  g_autoptr (GByteArray) b = g_byte_array_new ();
  guint64 len = GUINT64_TO_LE ((guint64) h->len);
  g_byte_array_append (b, (const guint8 *) &len, 8);
  g_byte_array_append (b, (const guint8 *) h->str, h->len);
  for (int i = 0; i < n; i++)
    g_byte_array_append (b, t[i].data, t[i].nbytes);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, &error));
}

/* The state_dict of cnn as raw F32 entries (names with prefix), plus what PyTorch adds. */
static int
state_dict (SpmCnn *cnn, const char *prefix, RawTensor *t, char **names)
{
  static const gint64 steps = 7;
  static const float fc[2] = { 1, 2 };
  float *params = spm_cnn_params (cnn, NULL, NULL);
  int n = 0;
  for (int i = 0; i < spm_cnn_n_tensors (cnn); i++)
    {
      const SpmCnnTensor *e = spm_cnn_tensor (cnn, i);
      names[n] = g_strconcat (prefix, e->name, NULL);
      t[n] = (RawTensor) { names[n], "F32", e->ndim, { 0 }, params + e->offset,
                           4 * e->numel };
      memcpy (t[n].shape, e->shape, sizeof e->shape);
      n++;
      if (g_str_has_suffix (e->name, "running_var"))
        {
          char *bn = g_strndup (e->name, strlen (e->name) - strlen ("running_var"));
          names[n] = g_strconcat (prefix, bn, "num_batches_tracked", NULL);
          g_free (bn);
          t[n] = (RawTensor) { names[n], "I64", 0, { 0 }, &steps, 8 };
          n++;
        }
    }
  names[n] = g_strconcat (prefix, "fc.weight", NULL);
  t[n] = (RawTensor) { names[n], "F32", 2, { 1, 2 }, fc, 8 };
  n++;
  return n;
}

typedef struct {
  char *dir;
  SpmCnn *src, *dst;
  RawTensor t[64];
  char *names[64];
  int n;
} ImportFx;

static void
import_setup (ImportFx *f, gconstpointer prefix)
{
  const int ch[] = { 4, 6 };
  f->dir = g_dir_make_tmp ("spm-cnn-XXXXXX", NULL);
  f->src = spm_cnn_new (SPM_CNN_SMALL, ch, 2, 1, 8, 8, NULL);
  f->dst = spm_cnn_new (SPM_CNN_SMALL, ch, 2, 1, 8, 8, NULL);
  SpmRng rng;
  spm_rng_seed (&rng, 9);
  size_t n_total;
  float *p = spm_cnn_params (f->src, NULL, &n_total);
  fill_uniform (p, n_total, 0.25f, 2, &rng);
  f->n = state_dict (f->src, prefix, f->t, f->names);
}

static void
import_teardown (ImportFx *f, gconstpointer prefix)
{
  (void) prefix;
  g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
  for (const char *e; d != NULL && (e = g_dir_read_name (d)) != NULL;)
    {
      g_autofree char *p = g_build_filename (f->dir, e, NULL);
      g_unlink (p);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  for (int i = 0; i < f->n; i++)
    g_free (f->names[i]);
  spm_cnn_free (f->src);
  spm_cnn_free (f->dst);
}

static void
test_import_ok (ImportFx *f, gconstpointer prefix)
{
  g_autofree char *path = g_build_filename (f->dir, "w.safetensors", NULL);
  write_raw (path, f->t, f->n);
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_cnn_load_weights (f->dst, path, &error));
  g_assert_no_error (error);
  g_autofree char *a = spm_cnn_weights_hash (f->src), *b = spm_cnn_weights_hash (f->dst);
  g_assert_cmpstr (a, ==, b);
  (void) prefix;
}

/* F16 values: the source's values rounded to multiples of 1/1024 (exact in binary16) */
static void
test_import_f16 (ImportFx *f, gconstpointer prefix)
{
  (void) prefix;
  size_t n_total;
  float *p = spm_cnn_params (f->src, NULL, &n_total);
  g_autofree guint16 *half = g_new (guint16, n_total);
  for (size_t i = 0; i < n_total; i++)
    {
      /* v in [0.25, 2): binary16 with exponent e and 10 mantissa bits */
      int e;
      float m = frexpf (p[i], &e);                   /* p = m 2^e, m in [0.5, 1) */
      int mant = (int) lrintf ((m * 2.0f - 1.0f) * 1024.0f);
      if (mant == 1024)
        mant = 0, e++;
      p[i] = ldexpf (1.0f + mant / 1024.0f, e - 1);
      half[i] = GUINT16_TO_LE ((guint16) (((e - 1 + 15) << 10) | mant));
    }
  for (int i = 0; i < f->n; i++)
    if (g_str_equal (f->t[i].dtype, "F32") && !g_str_has_suffix (f->t[i].name, "fc.weight"))
      {
        f->t[i].dtype = "F16";
        f->t[i].data = half + ((const float *) f->t[i].data - p);
        f->t[i].nbytes /= 2;
      }
  g_autofree char *path = g_build_filename (f->dir, "h.safetensors", NULL);
  write_raw (path, f->t, f->n);
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_cnn_load_weights (f->dst, path, &error));
  g_assert_no_error (error);
  g_autofree char *a = spm_cnn_weights_hash (f->src), *b = spm_cnn_weights_hash (f->dst);
  g_assert_cmpstr (a, ==, b);
}

static int
find_raw (ImportFx *f, const char *suffix)
{
  for (int i = 0; i < f->n; i++)
    if (g_str_has_suffix (f->t[i].name, suffix))
      return i;
  g_assert_not_reached ();
}

/* Writes f's tensors with one change, expects the import to fail naming file and what */
static void
expect_fail (ImportFx *f, const RawTensor *t, int n, int code, const char *what)
{
  g_autofree char *path = g_build_filename (f->dir, "bad.safetensors", NULL);
  write_raw (path, t, n);
  g_autofree char *before = spm_cnn_weights_hash (f->dst);
  g_autoptr (GError) error = NULL;
  g_assert_false (spm_cnn_load_weights (f->dst, path, &error));
  g_assert_error (error, SPM_ERROR, code);
  if (strstr (error->message, path) == NULL || strstr (error->message, what) == NULL)
    g_error ("error \"%s\" does not name %s and %s", error->message, path, what);
  g_test_message ("%s", error->message);
  g_autofree char *after = spm_cnn_weights_hash (f->dst);
  g_assert_cmpstr (before, ==, after);          /* nothing half-loaded */
}

static void
test_import_errors (ImportFx *f, gconstpointer prefix)
{
  RawTensor t[66];
  float nan_data[6], big[4 * 3 * 3 * 3 + 1];
  const float *src = NULL;
  int k;

  /* missing */
  k = find_raw (f, "features.1.bias");
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  memmove (&t[k], &t[k + 1], sizeof (RawTensor) * (f->n - k - 1));
  expect_fail (f, t, f->n - 1, SPM_ERROR_MISMATCH, "features.1.bias\" of the small state_dict is missing");

  /* extra */
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  g_autofree char *extra = g_strconcat (prefix, "features.8.weight", NULL);
  t[f->n] = (RawTensor) { extra, "F32", 1, { 2 }, nan_data, 8 };
  expect_fail (f, t, f->n + 1, SPM_ERROR_MISMATCH, "features.8.weight\" is not part of");

  /* mis-shaped: [4][3][3][3] given as [4][3][9] */
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  k = find_raw (f, "features.0.weight");
  t[k].ndim = 3, t[k].shape[2] = 9;
  expect_fail (f, t, f->n, SPM_ERROR_MISMATCH, "features.0.weight\" has shape [4, 3, 9]");
  /* a small of other channels: one more output channel */
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  memcpy (big, f->t[k].data, f->t[k].nbytes);
  t[k].shape[0] = 5;
  g_autofree float *wide = g_new0 (float, 5 * 27);
  t[k].data = wide, t[k].nbytes = 4 * 5 * 27;
  expect_fail (f, t, f->n, SPM_ERROR_MISMATCH, "needs [4, 3, 3, 3]");

  /* NaN and Inf */
  k = find_raw (f, "features.5.running_var");
  src = f->t[k].data;
  for (int v = 0; v < 2; v++)
    {
      memcpy (t, f->t, sizeof (RawTensor) * f->n);
      memcpy (nan_data, src, sizeof nan_data);
      nan_data[3] = v == 0 ? NAN : -INFINITY;
      t[k].data = nan_data;
      expect_fail (f, t, f->n, SPM_ERROR_MISMATCH, "features.5.running_var\" holds a non-finite value at element 3");
    }

  /* an integer dtype where a float tensor belongs */
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  k = find_raw (f, "features.4.weight");
  t[k].dtype = "I32";
  expect_fail (f, t, f->n, SPM_ERROR_MISMATCH, "dtype I32");

  /* the same tensor with and without the prefix */
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  k = find_raw (f, "features.1.weight");
  t[f->n] = t[k];
  g_autofree char *other_name = g_str_has_prefix (t[k].name, "cnn.") ? g_strdup (t[k].name + 4)
                                                                      : g_strconcat ("cnn.", t[k].name, NULL);
  t[f->n].name = other_name;
  expect_fail (f, t, f->n + 1, SPM_ERROR_MISMATCH, "given twice");

  /* the other arch */
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  g_autofree char *resnet = g_strconcat (prefix, "conv1.weight", NULL);
  t[0].name = resnet;
  expect_fail (f, t, f->n, SPM_ERROR_MISMATCH, "holds a resnet18 state_dict");

  /* a malformed file: an I64 entry of the wrong size */
  memcpy (t, f->t, sizeof (RawTensor) * f->n);
  k = find_raw (f, "num_batches_tracked");
  t[k].nbytes = 4;
  expect_fail (f, t, f->n, SPM_ERROR_FORMAT, "num_batches_tracked");
}

static void
test_import_resnet_names (void)
{
  /* resnet18 weights into small: named as the other arch */
  g_autoptr (SpmCnn) r = make_net (SPM_CNN_RESNET18, 1, 32, 32);
  g_autoptr (SpmCnn) s = make_net (SPM_CNN_SMALL, 1, 32, 32);
  g_autofree char *dir = g_dir_make_tmp ("spm-cnn-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "r.safetensors", NULL);
  RawTensor t[160];
  char *names[160];
  int n = state_dict (r, "cnn.", t, names);
  write_raw (path, t, n);
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_cnn_load_weights (r, path, &error));
  g_assert_false (spm_cnn_load_weights (s, path, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "holds a resnet18 state_dict"));
  g_clear_error (&error);
  g_assert_false (spm_cnn_load_weights (s, "/nonexistent/w.safetensors", &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
  for (int i = 0; i < n; i++)
    g_free (names[i]);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- the safetensors reader's integer entries ---- */

static void
test_safetensors_nonfloat (void)
{
  static const gint64 steps[2] = { 3, 4 };
  static const float v[2] = { 1.5f, -2 };
  static const guint8 flags[3] = { 1, 0, 1 };
  RawTensor t[3] = {
    { "a", "F32", 1, { 2 }, v, 8 },
    { "a.num_batches_tracked", "I64", 1, { 2 }, steps, 16 },
    { "mask", "BOOL", 1, { 3 }, flags, 3 },
  };
  g_autofree char *dir = g_dir_make_tmp ("spm-cnn-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "i.safetensors", NULL);
  write_raw (path, t, 3);
  g_autoptr (GError) error = NULL;
  SpmSafetensors *st = spm_safetensors_read (path, &error);
  g_assert_null (st);
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "dtype I64 is not supported"));
  g_clear_error (&error);
  g_autoptr (SpmSafetensors) ok = spm_safetensors_read_full (path, SPM_ST_KEEP_NONFLOAT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ok->n_tensors, ==, 3);
  const SpmStTensor *a = spm_safetensors_get (ok, "a"), *i = spm_safetensors_get (ok, "a.num_batches_tracked");
  g_assert_cmpstr (a->dtype, ==, "F32");
  g_assert_cmpfloat (a->data[1], ==, -2.0f);
  g_assert_cmpstr (i->dtype, ==, "I64");
  g_assert_null (i->data);
  g_assert_cmpint (i->numel, ==, 2);
  g_assert_null (spm_safetensors_get (ok, "mask")->data);
  /* validated as the float ones: a size that does not match, a gap */
  t[1].nbytes = 12;
  write_raw (path, t, 3);
  g_assert_null (spm_safetensors_read_full (path, SPM_ST_KEEP_NONFLOAT, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "needs 16"));
  g_clear_error (&error);
  t[1].nbytes = 16;
  t[1].dtype = "I128";
  write_raw (path, t, 3);
  g_assert_null (spm_safetensors_read_full (path, SPM_ST_KEEP_NONFLOAT, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  g_test_add_func ("/cnn/net/small-64", test_small_64);
  g_test_add_func ("/cnn/net/small-224", test_small_224);
  g_test_add_func ("/cnn/net/resnet18-64", test_resnet_64);
  g_test_add_func ("/cnn/net/resnet18-224", test_resnet_224);
  g_test_add_func ("/cnn/net/replan", test_replan);
  g_test_add_func ("/cnn/train/small", test_small_train);
  g_test_add_func ("/cnn/train/resnet18", test_resnet_train);
  g_test_add_func ("/cnn/train/errors", test_backward_errors);
  g_test_add_func ("/cnn/input-size", test_input_size);
  g_test_add_func ("/cnn/rgb24", test_rgb24);
  g_test_add_func ("/cnn/init-hash", test_init_hash);
  g_test_add ("/cnn/import/plain", ImportFx, "", import_setup, test_import_ok, import_teardown);
  g_test_add ("/cnn/import/prefix", ImportFx, "cnn.", import_setup, test_import_ok, import_teardown);
  g_test_add ("/cnn/import/f16", ImportFx, "cnn.", import_setup, test_import_f16, import_teardown);
  g_test_add ("/cnn/import/errors", ImportFx, "", import_setup, test_import_errors, import_teardown);
  g_test_add ("/cnn/import/errors-prefix", ImportFx, "cnn.", import_setup, test_import_errors,
              import_teardown);
  g_test_add_func ("/cnn/import/other-arch", test_import_resnet_names);
  g_test_add_func ("/cnn/safetensors/nonfloat", test_safetensors_nonfloat);
  return g_test_run ();
}
