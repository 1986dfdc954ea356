/* check.h — helpers shared by the layer tests: random fills, tolerance checks,
 * and a recurrent parameter block with views into one allocation. */
#ifndef SPM_TEST_CHECK_H
#define SPM_TEST_CHECK_H

#include "spm-layers.h"

#include <math.h>
#include <string.h>

static inline void
fill_uniform (float *a, size_t n, float lo, float hi, SpmRng *rng)
{
  for (size_t i = 0; i < n; i++)
    a[i] = lo + (hi - lo) * spm_rng_uniform (rng);
}

/* |a - b| <= atol + rtol |b| for every element; the first few misses are printed
 * and the test is marked failed (it goes on, so one run shows every faulty tensor). */
static inline gboolean
check_close (const char *what, const float *a, const float *b, size_t n, double atol, double rtol)
{
  size_t bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      double d = fabs ((double) a[i] - b[i]), lim = atol + rtol * fabs ((double) b[i]);
      if (!(d <= lim))
        {
          if (bad < 5)
            g_printerr ("%s[%zu]: got %.8g, want %.8g (|diff| %.3g > %.3g)\n",
                        what, i, a[i], b[i], d, lim);
          bad++;
        }
      worst = d > worst ? d : worst;
    }
  if (bad > 0)
    {
      g_printerr ("%s: %zu of %zu elements out of tolerance\n", what, bad, n);
      g_test_fail ();
      return FALSE;
    }
  g_test_message ("%s: %zu elements, max |diff| %.3g", what, n, worst);
  return TRUE;
}

/* W_ih, W_hh, b_ih, b_hh of one layer in one zeroed block */
typedef struct {
  SpmRecurrentParams p;
  float *block;
  size_t n;
} TestLayer;

static inline void
test_layer_init (TestLayer *l, SpmCell cell, int D, int H)
{
  size_t GH = (size_t) SPM_CELL_GATES (cell) * H;
  l->n = GH * D + GH * H + 2 * GH;
  l->block = g_new0 (float, l->n);
  l->p = (SpmRecurrentParams) { cell, D, H, l->block, l->block + GH * D,
                                l->block + GH * (D + H), l->block + GH * (D + H + 1) };
}

static inline void
test_layer_clear (TestLayer *l)
{
  g_clear_pointer (&l->block, g_free);
}

#endif
