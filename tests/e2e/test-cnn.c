/* `seqpipe run` with the cnn extractor against torchvision: the nets of
 * tests/layers/fixtures/cnn-nets.safetensors (gen_cnn_fixtures.py: torchvision's
 * features of hash weights on hash frames), with the same weights written here as a
 * safetensors state_dict and the same frames as PNGs, so that the built binary sees
 * the pixels and weights torchvision saw.  Then the batch boundary and every bad
 * key or weights file. */
#include "e2e.h"

#include "spm-cnn.h"
#include "spm-npy.h"
#include "spm-safetensors.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* An extractor's init error about its keys or weights (SP_PLUGIN_ERROR_CONFIG) holds
 * for every input: the run stops with exit 1, the message names the key or tensor. */
#define EXIT_INIT_ERROR 1

static gboolean
need_cnn (void)
{
  if (!e2e_have_stage ("cnn", "extractor"))
    {
      const char *built = g_getenv ("SEQPIPE_E2E_BUILT_PLUGINS");
      if (built != NULL && strstr (built, "/cnn") != NULL)
        g_test_fail_printf ("the cnn extractor of the build is not found");
      else
        g_test_skip ("no cnn extractor plugin");
      return FALSE;
    }
  if (!e2e_have_stage ("image", "decoder") || !e2e_have_stage ("npy", "sink"))
    {
      g_test_skip ("no image decoder or npy sink");
      return FALSE;
    }
  return TRUE;
}

/* ---- the hash of tests/layers/test-cnn.c and gen_cnn_fixtures.py ---- */

static uint64_t
fnv1a64 (const char *s)
{
  uint64_t h = 0xcbf29ce484222325u;
  for (; *s; s++)
    h = (h ^ (uint8_t) *s) * 0x100000001b3u;
  return h;
}

static uint64_t
hash_bits (uint64_t key, size_t i)
{
  uint64_t z = key + (uint64_t) i * 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static float
hash_signed (uint64_t key, size_t i)
{
  float u = (float) (hash_bits (key, i) >> 40) * 0x1p-24f;
  return 2.0f * u - 1.0f;
}

static const int small_channels[] = { 32, 64, 128, 128 };

/* gen_cnn_fixtures.py's hash_value for every tensor; poison: the first value of the
 * tensor named so becomes NaN */
static void
write_weights (E2e *t, SpmCnnArch arch, const int *channels, int n_channels,
               const char *name, const char *poison, size_t drop_bytes)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmCnn) cnn = spm_cnn_new (arch, channels, n_channels, 1, 32, 32, &error);
  g_assert_no_error (error);
  float *params = spm_cnn_params (cnn, NULL, NULL);
  int n = spm_cnn_n_tensors (cnn);
  g_autofree SpmStWrite *w = g_new0 (SpmStWrite, n);

  for (int i = 0; i < n; i++)
    {
      const SpmCnnTensor *ts = spm_cnn_tensor (cnn, i);
      uint64_t key = fnv1a64 (ts->name);
      float *d = params + ts->offset;
      float s = ts->ndim == 4
                ? (float) sqrt (6.0 / (double) (ts->shape[1] * ts->shape[2] * ts->shape[3])) : 0;
      for (size_t k = 0; k < ts->numel; k++)
        {
          float v = hash_signed (key, k);
          if (ts->ndim == 4)
            d[k] = v * s;
          else if (g_str_has_suffix (ts->name, "running_var"))
            d[k] = 1.0f + 0.5f * v;
          else if (g_str_has_suffix (ts->name, "running_mean"))
            d[k] = 0.2f * v;
          else if (g_str_has_suffix (ts->name, "weight"))
            d[k] = 1.0f + 0.25f * v;
          else
            d[k] = 0.1f * v;
        }
      if (poison != NULL && strcmp (poison, ts->name) == 0)
        d[0] = NAN;
      w[i].name = ts->name;
      w[i].data = d;
      w[i].ndim = ts->ndim;
      memcpy (w[i].shape, ts->shape, sizeof ts->shape);
    }
  g_autofree char *path = e2e_path (t, name);
  g_assert_true (spm_safetensors_write (path, w, n, NULL, &error));
  g_assert_no_error (error);
  if (drop_bytes > 0)
    {
      g_autofree char *data = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      g_assert_true (g_file_set_contents (path, data, (gssize) (len - drop_bytes), NULL));
    }
}

/* N hash frames `key` of size x size as dir/%03d.png (lossless, so the decoded RGB is
 * the hash's) */
static void
write_frames (E2e *t, const char *key, int N, int size, const char *dir)
{
  size_t n = (size_t) N * size * size * 3;
  g_autofree uint8_t *rgb = g_new (uint8_t, n);
  uint64_t k = fnv1a64 (key);
  for (size_t i = 0; i < n; i++)
    rgb[i] = (uint8_t) (hash_bits (k, i) >> 56);
  g_autofree char *raw = e2e_path (t, "frames.rgb");
  g_assert_true (g_file_set_contents (raw, (const char *) rgb, (gssize) n, NULL));
  g_autofree char *out = e2e_path (t, dir);
  g_assert_cmpint (g_mkdir_with_parents (out, 0777), ==, 0);
  g_autofree char *cmd = g_strdup_printf (
    "ffmpeg -nostdin -v error -y -f rawvideo -pix_fmt rgb24 -s %dx%d -i '%s' '%s/%%03d.png'",
    size, size, raw, out);
  int status = 0;
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* out/NAME.npy as [rows][cols] floats */
static float *
read_features (E2e *t, const char *name, int64_t *rows, int64_t *cols)
{
  g_autofree char *rel = g_strdup_printf ("out/%s.npy", name);
  g_autofree char *path = e2e_path (t, rel);
  g_autoptr (GError) error = NULL;
  void *data = NULL;
  int elem = 0;
  g_assert_true (spm_npy_read (path, &data, rows, cols, &elem, &error));
  g_assert_no_error (error);
  g_assert_cmpint (elem, ==, 4);
  return data;
}

static char *
config (int size, const char *extractor)
{
  return g_strdup_printf ("[pipeline]\ninputs = frames\noutput-dir = out\n"
                          "[decoder]\nplugin = image\nwidth = %d\nheight = %d\n"
                          "[extractor]\nplugin = cnn\n%s"
                          "[sink:npy]\npath = {stem}.npy\n", size, size, extractor);
}

/* ---- against torchvision ---- */

static void
check_net (SpmCnnArch arch, int size)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (GError) error = NULL;
  if (!need_cnn ())
    return;
  write_weights (t, arch, small_channels, G_N_ELEMENTS (small_channels), "w.safetensors",
                 NULL, 0);
  g_autofree char *key = g_strdup_printf ("frames.%d", size);
  write_frames (t, key, 2, size, "frames");
  g_autofree char *ex = g_strdup_printf ("arch = %s\nweights = w.safetensors\n",
                                         spm_cnn_arch_name (arch));
  g_autofree char *cfg = config (size, ex);
  g_autofree char *err = NULL;
  int rc = e2e_run (t, cfg, NULL, &err, NULL);
  if (rc != 0)
    g_test_message ("stderr: %s", err);
  g_assert_cmpint (rc, ==, 0);

  int64_t rows = 0, cols = 0;
  g_autofree float *got = read_features (t, "frames", &rows, &cols);
  int D = arch == SPM_CNN_SMALL ? 128 : 512;
  g_assert_cmpint (rows, ==, 2);
  g_assert_cmpint (cols, ==, D);

  g_autofree char *fix = g_build_filename (g_getenv ("SPM_FIXTURES"), "cnn-nets.safetensors",
                                           NULL);
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (fix, &error);
  g_assert_no_error (error);
  g_autofree char *name = g_strdup_printf ("%s.%d", spm_cnn_arch_name (arch), size);
  const SpmStTensor *want = spm_safetensors_get (st, name);
  g_assert_nonnull (want);
  g_assert_cmpint (want->numel, ==, 2 * D);

  double max_abs = 0, max_rel = 0;
  for (int i = 0; i < 2 * D; i++)
    {
      double a = got[i], b = want->data[i], d = fabs (a - b);
      max_abs = MAX (max_abs, d);
      max_rel = MAX (max_rel, d / MAX (fabs (b), 1e-6));
      if (!(d <= 1e-4 + 1e-3 * fabs (b)))
        g_error ("%s[%d]: %.8g, torchvision %.8g", name, i, a, b);
    }
  g_test_message ("%s: max |err| %.3g, max rel %.3g", name, max_abs, max_rel);
}

static void test_small_64 (void) { check_net (SPM_CNN_SMALL, 64); }
static void test_small_224 (void) { check_net (SPM_CNN_SMALL, 224); }
static void test_resnet_64 (void) { check_net (SPM_CNN_RESNET18, 64); }
static void test_resnet_224 (void) { check_net (SPM_CNN_RESNET18, 224); }

/* T = 5 frames: batch 1, 2 (a short last batch) and 16 give the same features up to
 * the summation order of the GEMMs (a few ulp: the BLAS blocks N*H*W columns by N) */
static void
test_batch (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree float *first = NULL;
  if (!need_cnn ())
    return;
  write_frames (t, "frames.batch", 5, 32, "frames");
  const int batches[] = { 1, 2, 16 };
  for (size_t b = 0; b < G_N_ELEMENTS (batches); b++)
    {
      g_autofree char *ex = g_strdup_printf ("channels = 8;16\nseed = 3\nbatch = %d\n",
                                             batches[b]);
      g_autofree char *cfg = config (32, ex);
      g_assert_cmpint (e2e_run (t, cfg, NULL, NULL, NULL), ==, 0);
      int64_t rows = 0, cols = 0;
      g_autofree float *got = read_features (t, "frames", &rows, &cols);
      g_assert_cmpint (rows, ==, 5);
      g_assert_cmpint (cols, ==, 16);
      if (first == NULL)
        first = g_steal_pointer (&got);
      else
        for (int i = 0; i < 5 * 16; i++)
          if (!(fabsf (got[i] - first[i]) <= 1e-6f + 1e-5f * fabsf (first[i])))
            g_error ("batch %d: feature %d: %.9g, batch 1: %.9g (diff %.3g)", batches[b], i,
                     got[i], first[i], got[i] - first[i]);
    }
  /* another seed, other features */
  g_autofree char *cfg = config (32, "channels = 8;16\nseed = 4\n");
  g_assert_cmpint (e2e_run (t, cfg, NULL, NULL, NULL), ==, 0);
  int64_t rows = 0, cols = 0;
  g_autofree float *other = read_features (t, "frames", &rows, &cols);
  g_assert_true (memcmp (other, first, 5 * 16 * sizeof (float)) != 0);
}

/* ---- bad keys and weights: the input fails, naming the key, file and tensor ---- */

static void
expect_error (E2e *t, int size, const char *extractor, const char *const *needles)
{
  g_autofree char *cfg = config (size, extractor);
  g_autofree char *err = NULL;
  int rc = e2e_run (t, cfg, NULL, &err, NULL);
  g_test_message ("[extractor] %s-> %d: %s", extractor, rc, err);
  g_assert_cmpint (rc, ==, EXIT_INIT_ERROR);
  for (int i = 0; needles[i] != NULL; i++)
    if (strstr (err, needles[i]) == NULL)
      g_error ("'%s' not in: %s", needles[i], err);
}

static void
test_bad (void)
{
  g_autoptr (E2e) t = e2e_new ();
  if (!need_cnn ())
    return;
  write_frames (t, "frames.bad", 1, 32, "frames");
  const int tiny[] = { 4, 6 }, other[] = { 4, 7 };
  write_weights (t, SPM_CNN_SMALL, tiny, 2, "small.safetensors", NULL, 0);
  write_weights (t, SPM_CNN_SMALL, other, 2, "other.safetensors", NULL, 0);
  write_weights (t, SPM_CNN_SMALL, tiny, 2, "nan.safetensors", "features.4.weight", 0);
  write_weights (t, SPM_CNN_SMALL, tiny, 2, "cut.safetensors", NULL, 100);
  write_weights (t, SPM_CNN_RESNET18, NULL, 0, "resnet.safetensors", NULL, 0);

  /* the weights as they are: fine */
  g_autofree char *ok = config (32, "channels = 4;6\nweights = small.safetensors\n");
  g_assert_cmpint (e2e_run (t, ok, NULL, NULL, NULL), ==, 0);

  expect_error (t, 32, "channels = 4;x\n",
                (const char *[]) { "[extractor] channels", "'x'", NULL });
  expect_error (t, 32, "channels = 4;0\n",
                (const char *[]) { "[extractor] channels", "'0'", NULL });
  expect_error (t, 32, "channels = ;\n", (const char *[]) { "[extractor] channels", NULL });
  expect_error (t, 32, "channels = 1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1\n",
                (const char *[]) { "[extractor] channels", "16", NULL });
  /* 32x32 is too small for six halvings, and for resnet18 */
  expect_error (t, 32, "channels = 4;4;4;4;4;4\n",
                (const char *[]) { "[decoder] width/height", "minimum", NULL });
  expect_error (t, 16, "arch = resnet18\n",
                (const char *[]) { "[decoder] width/height", "minimum", NULL });
  expect_error (t, 32, "channels = 4;6\nweights = missing.safetensors\n",
                (const char *[]) { "[extractor] weights", "missing.safetensors", NULL });
  expect_error (t, 32, "channels = 4;6\nweights = cut.safetensors\n",
                (const char *[]) { "[extractor] weights", "cut.safetensors", NULL });
  expect_error (t, 32, "channels = 4;6\nweights = nan.safetensors\n",
                (const char *[]) { "nan.safetensors", "features.4.weight", NULL });
  expect_error (t, 32, "channels = 4;6\nweights = other.safetensors\n",
                (const char *[]) { "other.safetensors", "features.4", NULL });
  expect_error (t, 32, "channels = 4;6\nweights = resnet.safetensors\n",
                (const char *[]) { "resnet.safetensors", NULL });
  expect_error (t, 64, "arch = resnet18\nweights = small.safetensors\n",
                (const char *[]) { "small.safetensors", NULL });
}

/* ---- seqpipe train with a frozen CNN: the weights' contents are in the cache key
 * and the checkpoint ---- */

static int
count_cache_entries (E2e *t)
{
  g_autofree char *dir = e2e_path (t, "cache");
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  int n = 0;
  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".npy") && !g_str_has_suffix (name, ".frames.npy"))
      n++;
  return n;
}

static int
seqpipe_train (E2e *t, const char *ini, char **err)
{
  g_autofree char *path = e2e_path (t, ini);
  const char *bin = g_getenv ("SEQPIPE_BIN");
  const char *argv[] = { bin, "train", "-q", path, NULL };
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_nonnull (bin);
  g_assert_true (g_spawn_sync (t->dir, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, err, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

#define TRAIN_INI \
  "[pipeline]\ninputs = clip.mkv\noutput-dir = out\n" \
  "[decoder]\nfps = 5\nwidth = 32\nheight = 32\n" \
  "[extractor]\nplugin = cnn\nchannels = 4;6\nweights = %s\n" \
  "[model]\nhidden = 8\ncheckpoint = model.safetensors\n" \
  "[head]\nplugin = labeler\n" \
  "[train]\nmanifest = train.csv\nepochs = 1\nbatch = 1\nthreads = 1\ncache-dir = cache\n" \
  "[sink:csv]\npath = {stem}.csv\n"

static void
test_train_frozen (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;
  const int tiny[] = { 4, 6 };
  if (!need_cnn () || !e2e_have_stage ("ffmpeg", "decoder")
      || !e2e_have_stage ("labeler", "head"))
    {
      if (!g_test_failed ())
        g_test_skip ("no ffmpeg decoder or labeler head");
      return;
    }
  g_assert_true (e2e_ffmpeg (t, "testsrc2=size=32x32:rate=10:duration=2", "-c:v ffv1",
                             "clip.mkv"));
  g_free (e2e_write (t, "clip.labels.csv", "start,end,label\n0,1,a\n1,2,b\n"));
  g_free (e2e_write (t, "train.csv", "path,labels\nclip.mkv,clip.labels.csv\n"));
  write_weights (t, SPM_CNN_SMALL, tiny, 2, "a.safetensors", NULL, 0);
  /* b: a with its last value doubled or halved (the lowest bit of its exponent) */
  {
    g_autofree char *pa = e2e_path (t, "a.safetensors"), *pb = e2e_path (t, "b.safetensors");
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (pa, &data, &len, NULL));
    data[len - 1] ^= 0x01;
    g_assert_true (g_file_set_contents (pb, data, (gssize) len, NULL));
  }
  g_autofree char *ia = g_strdup_printf (TRAIN_INI, "a.safetensors");
  g_autofree char *ib = g_strdup_printf (TRAIN_INI, "b.safetensors");
  g_free (e2e_write (t, "a.ini", ia));
  g_free (e2e_write (t, "b.ini", ib));

  int rc = seqpipe_train (t, "a.ini", &err);
  g_test_message ("train a: %d %s", rc, err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_cmpint (count_cache_entries (t), ==, 1);
  g_clear_pointer (&err, g_free);
  rc = seqpipe_train (t, "a.ini", &err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_cmpint (count_cache_entries (t), ==, 1);        /* the same weights: a hit */

  /* a checkpoint of weights a refuses to run with weights b */
  g_clear_pointer (&err, g_free);
  rc = e2e_run (t, ib, NULL, &err, NULL);
  g_test_message ("run b on a's checkpoint: %d %s", rc, err);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (err, "extractor"));
  g_assert_nonnull (strstr (err, "weights"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (e2e_run (t, ia, NULL, &err, NULL), ==, 0);

  /* other contents under the same name: another cache entry */
  g_clear_pointer (&err, g_free);
  rc = seqpipe_train (t, "b.ini", &err);
  g_test_message ("train b: %d %s", rc, err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_cmpint (count_cache_entries (t), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/cnn/small-64", test_small_64);
  g_test_add_func ("/e2e/cnn/small-224", test_small_224);
  g_test_add_func ("/e2e/cnn/resnet18-64", test_resnet_64);
  g_test_add_func ("/e2e/cnn/resnet18-224", test_resnet_224);
  g_test_add_func ("/e2e/cnn/batch", test_batch);
  g_test_add_func ("/e2e/cnn/bad", test_bad);
  g_test_add_func ("/e2e/cnn/train-frozen", test_train_frozen);
  return g_test_run ();
}
