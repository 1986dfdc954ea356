/* check-close.h — the one tolerance check of the test suites:
 *
 *     |a[i] - b[i]| <= atol + rtol * |b[i]|   for every i,
 *
 * with NaN matching only NaN.  The worst element and the first few misses are
 * printed and the test is marked failed without aborting, so one run shows every
 * faulty tensor.  Returns TRUE when all match. */
#ifndef SP_TEST_CHECK_CLOSE_H
#define SP_TEST_CHECK_CLOSE_H

#include <glib.h>
#include <math.h>
#include <stddef.h>

static inline gboolean
check_close (const char *what, const float *a, const float *b, size_t n, double atol, double rtol)
{
  size_t bad = 0, at = 0;
  double worst = 0.0, worst_diff = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      double d = fabs ((double) a[i] - b[i]), lim = atol + rtol * fabs ((double) b[i]);
      gboolean ok = isnan (a[i]) || isnan (b[i]) ? isnan (a[i]) && isnan (b[i]) : d <= lim;
      if (!ok)
        {
          if (bad < 5)
            g_printerr ("%s[%zu]: got %.9g, want %.9g (|diff| %.3g > %.3g)\n", what, i, a[i],
                        b[i], d, lim);
          if (bad == 0 || !(d - lim <= worst))
            {
              worst = isnan (d) ? INFINITY : d - lim;
              at = i;
            }
          bad++;
        }
      if (d > worst_diff)
        worst_diff = d;
    }
  if (bad > 0)
    {
      g_printerr ("%s: %zu of %zu elements out of tolerance (worst at %zu: %.9g, want %.9g)\n",
                  what, bad, n, at, a[at], b[at]);
      g_test_fail ();
      return FALSE;
    }
  g_test_message ("%s: %zu elements, max |diff| %.3g", what, n, worst_diff);
  return TRUE;
}

#endif
