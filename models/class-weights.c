/* class-weights.c — per-class loss weights from the class counts of a training set
 * (scikit-learn's class_weight="balanced"). */
#include "spm-model.h"

#include <string.h>

/* counts[c] = #{valid targets of class c}: every labelled frame of a labeler, the one
 * class of a classifier's sequence */
void
spm_class_counts (SpmHeadKind head, int C, const SpmExample *ex, size_t n, int64_t *counts)
{
  memset (counts, 0, (size_t) C * sizeof (int64_t));
  if (head == SPM_HEAD_CAPTIONER)
    return;
  for (size_t i = 0; i < n; i++)
    {
      const int n_y = head == SPM_HEAD_LABELER ? ex[i].T : MIN (ex[i].n_y, 1);
      for (int j = 0; j < n_y && ex[i].y != NULL; j++)
        if (ex[i].y[j] >= 0 && ex[i].y[j] < C)
          counts[ex[i].y[j]]++;
    }
}

/* w_c = n / (C n_c),  n = Σ_c n_c;  w_c = 1 when n_c = 0 (see spm-model.h) */
void
spm_class_weights_balanced (const int64_t *counts, int C, float *w)
{
  double n = 0;
  for (int c = 0; c < C; c++)
    n += (double) counts[c];
  for (int c = 0; c < C; c++)
    w[c] = counts[c] > 0 ? (float) (n / ((double) C * (double) counts[c])) : 1.0f;
}
