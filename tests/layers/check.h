/* check.h — helpers shared by the layer tests: random fills, the tolerance check
 * (check-close.h), and a recurrent parameter block with views into one allocation. */
#ifndef SPM_TEST_CHECK_H
#define SPM_TEST_CHECK_H

#include "spm-layers.h"
#include "check-close.h"

#include <math.h>
#include <string.h>

static inline void
fill_uniform (float *a, size_t n, float lo, float hi, SpmRng *rng)
{
  for (size_t i = 0; i < n; i++)
    a[i] = lo + (hi - lo) * spm_rng_uniform (rng);
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
