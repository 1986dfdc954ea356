/* test-fixture.c — a labeler checkpoint made by PyTorch (gen_fixture.py) gives PyTorch's
 * per-frame probabilities through `seqpipe run` (npy decoder, csv sink with probs). */
#include "heads-test.h"

#include <math.h>
#include <string.h>

static void
test_pytorch_probs (void)
{
  const char *fx = g_getenv ("SEQPIPE_HEADS_FIXTURES");
  g_assert_nonnull (fx);
  g_autofree char *text = g_strdup_printf (
      "[pipeline]\ninputs = %s/features.npy\noutput-dir = out/fx\n[decoder]\nplugin = npy\n"
      "[model]\ncheckpoint = %s/labeler.safetensors\n[head]\nplugin = labeler\n"
      "[sink:csv]\npath = probs.csv\nprobs = true\n", fx, fx);
  g_autofree char *ini = ht_write ("fx.ini", text);
  HtRun r;
  ht_seqpipe (&r, (const char *[]) { "run", "-q", ini, NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  g_autofree char *got = ht_read ("out/fx/probs.csv");
  g_autofree char *exp_path = g_build_filename (fx, "expected.csv", NULL);
  g_autofree char *want = NULL;
  g_assert_true (g_file_get_contents (exp_path, &want, NULL, NULL));
  g_auto (GStrv) g = g_strsplit (got, "\n", -1);
  g_auto (GStrv) w = g_strsplit (want, "\n", -1);
  g_assert_cmpstr (g[0], ==, "input,frame,time,label,score,p:walk,p:run,p:sit");
  int rows = 0;
  for (int t = 0; w[t] && *w[t]; t++, rows++) {
    g_assert_nonnull (g[t + 1]);
    g_auto (GStrv) gf = g_strsplit (g[t + 1], ",", -1);
    g_auto (GStrv) wf = g_strsplit (w[t], ",", -1);
    g_assert_cmpint (g_strv_length (gf), ==, 8);
    for (int k = 0; k < 3; k++) {
      double a = g_ascii_strtod (gf[5 + k], NULL), b = g_ascii_strtod (wf[k], NULL);
      if (fabs (a - b) > 1e-4)
        g_error ("frame %d class %d: seqpipe %.6f, PyTorch %.6f", t, k, a, b);
    }
  }
  g_assert_cmpint (rows, ==, 37);
  g_assert_true (g[rows + 1] == NULL || *g[rows + 1] == '\0');
}

void
add_fixture_tests (void)
{
  g_test_add_func ("/heads/fixture/pytorch-probs", test_pytorch_probs);
}
