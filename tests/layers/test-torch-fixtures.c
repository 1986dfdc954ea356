/* test-torch-fixtures.c — the recurrent core against torch.nn.LSTM / torch.nn.RNN.
 *
 * The fixtures (gen_fixtures.py) hold, for 1 and 3 layers, inputs of unequal
 * lengths, h0/c0, a fixed upstream gradient and PyTorch's outputs, final states and
 * every gradient.  Stacked layers are run here as PyTorch runs them: layer k's y is
 * layer k+1's x, and in backward layer k+1's dx is layer k's dy.  Both the optimized
 * code and the naive reference must match within |a-b| <= 1e-5 + 1e-4 |b|. */
#include "check.h"
#include "spm-safetensors.h"

#include <stdlib.h>

typedef void (*ForwardFn) (const SpmRecurrentParams *, SpmRecurrentWork *, int, int,
                           const float *, const float *, const float *,
                           const uint8_t *, const uint8_t *, float *, float *, float *);
typedef void (*BackwardFn) (const SpmRecurrentParams *, const SpmRecurrentParams *,
                            SpmRecurrentWork *, int, int, const float *, const float *,
                            const float *, const float *, float *, float *, float *);

static const SpmStTensor *
need (const SpmSafetensors *st, const char *name, int64_t numel)
{
  const SpmStTensor *t = spm_safetensors_get (st, name);
  if (t == NULL || t->numel != numel)
    g_error ("fixture tensor %s missing or of the wrong size", name);
  return t;
}

static int
meta_int (const SpmSafetensors *st, const char *key)
{
  const char *v = g_hash_table_lookup (st->metadata, key);
  if (v == NULL)
    g_error ("fixture metadata %s missing", key);
  return atoi (v);
}

static void
compare (const char *what, const float *a, const SpmStTensor *want)
{
  check_close (what, a, want->data, want->numel, 1e-5, 1e-4);
}

static void
run_fixture (const char *file, ForwardFn fwd, BackwardFn bwd)
{
  const char *dir = g_getenv ("SPM_FIXTURES");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : "tests/layers/fixtures", file, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);

  const char *cell_name = g_hash_table_lookup (st->metadata, "cell");
  g_assert_nonnull (cell_name);
  SpmCell cell = g_str_equal (cell_name, "lstm") ? SPM_CELL_LSTM : SPM_CELL_RNN;
  gboolean lstm = cell == SPM_CELL_LSTM;
  int L = meta_int (st, "layers"), T = meta_int (st, "T"), B = meta_int (st, "B");
  int D = meta_int (st, "D"), H = meta_int (st, "H"), GH = SPM_CELL_GATES (cell) * H;
  size_t BH = (size_t) B * H, LBH = (size_t) L * BH;

  const float *lengths = need (st, "lengths", B)->data;
  g_autofree uint8_t *valid = g_new (uint8_t, (size_t) T * B);
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++)
      valid[t * B + b] = t < lengths[b];

  const float *h0 = need (st, "h0", LBH)->data, *dhn = need (st, "dhn", LBH)->data;
  const float *c0 = lstm ? need (st, "c0", LBH)->data : NULL;
  const float *dcn = lstm ? need (st, "dcn", LBH)->data : NULL;
  SpmRecurrentParams p[3], g[3];
  TestLayer grads[3];
  SpmRecurrentWork *w[3];
  /* ys[k] = output of layer k (ys[-1] = x); dys likewise for gradients */
  g_autofree float *x = g_memdup2 (need (st, "x", (int64_t) T * B * D)->data,
                                   (size_t) T * B * D * sizeof (float));
  g_autofree float *ys = g_new0 (float, (size_t) L * T * BH);
  g_autofree float *dys = g_new0 (float, (size_t) L * T * BH);
  g_autofree float *dx = g_new0 (float, (size_t) T * B * D);
  g_autofree float *hn = g_new0 (float, LBH), *cn = g_new0 (float, LBH);
  g_autofree float *dh0 = g_new0 (float, LBH), *dc0 = g_new0 (float, LBH);
  g_assert_cmpint (L, <=, 3);

  for (int k = 0; k < L; k++)
    {
      int Dk = k == 0 ? D : H;
      g_autofree char *n_ih = g_strdup_printf ("weight_ih_l%d", k);
      g_autofree char *n_hh = g_strdup_printf ("weight_hh_l%d", k);
      g_autofree char *n_bi = g_strdup_printf ("bias_ih_l%d", k);
      g_autofree char *n_bh = g_strdup_printf ("bias_hh_l%d", k);
      p[k] = (SpmRecurrentParams) { cell, Dk, H,
        need (st, n_ih, (int64_t) GH * Dk)->data, need (st, n_hh, (int64_t) GH * H)->data,
        need (st, n_bi, GH)->data, need (st, n_bh, GH)->data };
      test_layer_init (&grads[k], cell, Dk, H);
      g[k] = grads[k].p;
      w[k] = spm_recurrent_work_new (cell, Dk, H, T, B);
      const float *xk = k == 0 ? x : ys + (size_t) (k - 1) * T * BH;
      fwd (&p[k], w[k], T, B, xk, h0 + k * BH, lstm ? c0 + k * BH : NULL, valid, NULL,
           ys + (size_t) k * T * BH, hn + k * BH, cn + k * BH);
    }
  compare ("y", ys + (size_t) (L - 1) * T * BH, need (st, "y", (int64_t) T * BH));
  compare ("hn", hn, need (st, "hn", LBH));
  if (lstm)
    compare ("cn", cn, need (st, "cn", LBH));

  memcpy (dys + (size_t) (L - 1) * T * BH, need (st, "dy", (int64_t) T * BH)->data,
          T * BH * sizeof (float));
  for (int k = L - 1; k >= 0; k--)
    {
      const float *xk = k == 0 ? x : ys + (size_t) (k - 1) * T * BH;
      float *dxk = k == 0 ? dx : dys + (size_t) (k - 1) * T * BH;
      bwd (&p[k], &g[k], w[k], T, B, xk, dys + (size_t) k * T * BH, dhn + k * BH,
           lstm ? dcn + k * BH : NULL, dxk, dh0 + k * BH, dc0 + k * BH);
    }
  compare ("grad.x", dx, need (st, "grad.x", (int64_t) T * B * D));
  compare ("grad.h0", dh0, need (st, "grad.h0", LBH));
  if (lstm)
    compare ("grad.c0", dc0, need (st, "grad.c0", LBH));
  for (int k = 0; k < L; k++)
    {
      int Dk = k == 0 ? D : H;
      g_autofree char *n_ih = g_strdup_printf ("grad.weight_ih_l%d", k);
      g_autofree char *n_hh = g_strdup_printf ("grad.weight_hh_l%d", k);
      g_autofree char *n_bi = g_strdup_printf ("grad.bias_ih_l%d", k);
      g_autofree char *n_bh = g_strdup_printf ("grad.bias_hh_l%d", k);
      compare (n_ih, g[k].W_ih, need (st, n_ih, (int64_t) GH * Dk));
      compare (n_hh, g[k].W_hh, need (st, n_hh, (int64_t) GH * H));
      compare (n_bi, g[k].b_ih, need (st, n_bi, GH));
      compare (n_bh, g[k].b_hh, need (st, n_bh, GH));
      test_layer_clear (&grads[k]);
      spm_recurrent_work_free (w[k]);
    }
}

static void
test_fixture (gconstpointer data)
{
  run_fixture (data, spm_recurrent_forward, spm_recurrent_backward);
}

static void
test_fixture_ref (gconstpointer data)
{
  run_fixture (data, spm_recurrent_forward_ref, spm_recurrent_backward_ref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  static const char *files[] = { "lstm-l1.safetensors", "lstm-l3.safetensors",
                                 "rnn-l1.safetensors", "rnn-l3.safetensors" };
  static const char *names[] = { "lstm/1-layer", "lstm/3-layers", "rnn/1-layer", "rnn/3-layers" };
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *a = g_strdup_printf ("/layers/torch/%s", names[i]);
      g_autofree char *b = g_strdup_printf ("/layers/torch/%s/ref", names[i]);
      g_test_add_data_func (a, files[i], test_fixture);
      g_test_add_data_func (b, files[i], test_fixture_ref);
    }
  return g_test_run ();
}
