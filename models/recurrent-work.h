/* recurrent-work.h — what a recurrent layer keeps between forward and backward.
 * Private to recurrent.c and recurrent-ref.c, which store the same things in the
 * same places, so either backward can follow either forward. */
#ifndef SPM_RECURRENT_WORK_H
#define SPM_RECURRENT_WORK_H

#include "spm-layers.h"

struct SpmRecurrentWork {
  SpmCell cell;
  int G, D, H, T_max, B_max;
  int T, B;          /* shape of the last forward */
  float *gates;      /* [T_max][B_max][G*H]: LSTM i, f, g, o after σ/tanh; RNN h_t */
  float *dgates;     /* [T_max][B_max][G*H]: dL/d(pre-activation gates) */
  float *hs;         /* [T_max+1][B_max][H]: hs[t] = state entering step t (after its
                      * reset), hs[T] = final state */
  float *cs;         /* [T_max+1][B_max][H]: the same for c (LSTM) */
  float *tc;         /* [T_max][B_max][H]: tanh(c_t) (LSTM) */
  float *dh, *dc;    /* [B_max][H]: running state gradients in backward */
  float *zeros;      /* [H]: stands for a missing dy */
  float *bias;       /* [G*H]: b_ih + b_hh of the last forward */
  uint8_t *valid;    /* [T_max][B_max]: the masks of the last forward (NULL -> 1 / 0) */
  uint8_t *reset;
  void *block;       /* the one allocation behind every pointer above */
};

/* Stores the masks of a forward in w as 0/1 (NULL = all valid / no reset). */
void spm_recurrent_work_set_masks (SpmRecurrentWork *w, int T, int B,
                                   const uint8_t *valid, const uint8_t *reset);

#endif
