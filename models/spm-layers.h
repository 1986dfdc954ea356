/* spm-layers.h — float32 layers of the recurrent core, each a forward/backward pair.
 *
 * Conventions (all layers):
 *  - row-major, PyTorch's weight layout: a Linear weight is [out][in];
 *  - sequences are time-major: x[t][b][d] at x + (t*B + b)*D;
 *  - backward functions ACCUMULATE (+=) into parameter gradients and OVERWRITE
 *    input gradients (dx, dh0, dc0), unless a comment says otherwise;
 *  - no function allocates memory; workspaces are allocated once by *_new.
 */
#ifndef SPM_LAYERS_H
#define SPM_LAYERS_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/* ---- random numbers: xoshiro256**, seeded by splitmix64 --------------------- */
typedef struct { uint64_t s[4]; } SpmRng;
void     spm_rng_seed (SpmRng *rng, uint64_t seed);
uint64_t spm_rng_next (SpmRng *rng);
float    spm_rng_uniform (SpmRng *rng);                 /* [0, 1) */
double   spm_rng_normal (SpmRng *rng);                  /* N(0, 1) */

/* The number of BLAS threads used by every call below (openblas_set_num_threads);
 * 0 = every core the process may run on. */
void spm_set_threads (int n);

/* ---- recurrent layer: LSTM or vanilla tanh RNN ------------------------------
 * LSTM (PyTorch, gate order i, f, g, o; G = 4):
 *   gates = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            [4H]
 *   i = σ(gates[0:H]) f = σ(gates[H:2H]) g = tanh(gates[2H:3H]) o = σ(gates[3H:4H])
 *   c_t = f ⊙ c_{t-1} + i ⊙ g      h_t = o ⊙ tanh(c_t)
 * RNN (G = 1):  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
 *
 * Masks, per step and sequence slot (both [T][B], NULL = all 1 / all 0):
 *   valid[t][b] = 0: the step is padding: the state passes through unchanged
 *                    (h_t = h_{t-1}, c_t = c_{t-1}), y[t][b] = 0, and no gradient
 *                    arises there — so the final state of a slot is the state at
 *                    its own last valid step;
 *   reset[t][b] = 1: the state of slot b is zeroed before step t (a new sequence
 *                    starts in that slot); no gradient flows across a reset.
 */
typedef enum { SPM_CELL_LSTM = 0, SPM_CELL_RNN = 1 } SpmCell;
#define SPM_CELL_GATES(cell) ((cell) == SPM_CELL_LSTM ? 4 : 1)

typedef struct {
  SpmCell cell;
  int D, H;         /* input size, hidden size */
  float *W_ih;      /* [G*H][D]  (weight_ih_l{k}) */
  float *W_hh;      /* [G*H][H]  (weight_hh_l{k}) */
  float *b_ih;      /* [G*H]     (bias_ih_l{k}) */
  float *b_hh;      /* [G*H]     (bias_hh_l{k}) */
} SpmRecurrentParams;

/* Activations and scratch of one layer for chunks of up to T_max x B_max. */
typedef struct SpmRecurrentWork SpmRecurrentWork;
SpmRecurrentWork *spm_recurrent_work_new (SpmCell cell, int D, int H, int T_max, int B_max);
void spm_recurrent_work_free (SpmRecurrentWork *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmRecurrentWork, spm_recurrent_work_free)

/* x [T][B][D]; h0, c0 [B][H] (NULL = zeros; c0 unused by the RNN);
 * y [T][B][H]; hT, cT [B][H] (may be NULL; cT unused by the RNN).
 * hT may be the same buffer as h0 and cT as c0 (a state carried in place).
 * Keeps in w what backward needs.  T <= T_max, B <= B_max.
 * B = 1 uses a single-threaded matrix-vector kernel for the recurrent term (and, when
 * T = B = 1, for the input term in the same pass), whose summation order is fixed:
 * the same inputs give the same bits on every call, whatever the thread count. */
void spm_recurrent_forward (const SpmRecurrentParams *p, SpmRecurrentWork *w,
                            int T, int B, const float *x, const float *h0, const float *c0,
                            const uint8_t *valid, const uint8_t *reset,
                            float *y, float *hT, float *cT);

/* Backward of the last forward on w (same T, B, x, masks).
 * dy [T][B][H] (NULL = 0); dhT, dcT [B][H] gradients arriving at the final state (NULL = 0).
 * Accumulates into g (the gradient block, same layout as p; g->W_ih etc. point
 * into it; g = NULL skips parameter gradients); writes dx [T][B][D], dh0, dc0 [B][H]
 * (each may be NULL; dh0 may be the same buffer as dhT and dc0 as dcT).
 * w is left as forward left it, so backward may be repeated. */
void spm_recurrent_backward (const SpmRecurrentParams *p, const SpmRecurrentParams *g,
                             SpmRecurrentWork *w, int T, int B,
                             const float *x, const float *dy, const float *dhT, const float *dcT,
                             float *dx, float *dh0, float *dc0);

/* Naive references of the two above (plain loops, no BLAS), for tests.  They keep
 * the same things in w, so either backward may follow either forward. */
void spm_recurrent_forward_ref (const SpmRecurrentParams *p, SpmRecurrentWork *w,
                                int T, int B, const float *x, const float *h0, const float *c0,
                                const uint8_t *valid, const uint8_t *reset,
                                float *y, float *hT, float *cT);
void spm_recurrent_backward_ref (const SpmRecurrentParams *p, const SpmRecurrentParams *g,
                                 SpmRecurrentWork *w, int T, int B,
                                 const float *x, const float *dy, const float *dhT, const float *dcT,
                                 float *dx, float *dh0, float *dc0);

/* ---- linear: y[N][Out] = x[N][In] W^T + b      W [Out][In], b [Out] (b may be NULL)
 * (not named I and O: <complex.h>, which cblas.h may include, defines I) */
void spm_linear_forward (const float *W, const float *b, int N, int In, int Out,
                         const float *x, float *y);
/* dW += dy^T x; db += Σ_n dy[n]; dx = dy W (dW, db, dx may be NULL) */
void spm_linear_backward (const float *W, int N, int In, int Out, const float *x, const float *dy,
                          float *dW, float *db, float *dx);

/* ---- embedding: y[n] = E[idx[n]]        E [V][dim]; idx in [0, V) */
void spm_embedding_forward (const float *E, int V, int dim, int N, const int32_t *idx, float *y);
/* dE[idx[n]] += dy[n] (repeated indices accumulate) */
void spm_embedding_backward (int V, int dim, int N, const int32_t *idx, const float *dy, float *dE);

/* ---- softmax and cross-entropy ---------------------------------------------- */
/* probs = softmax(logits), numerically stable; probs may alias logits */
void spm_softmax (const float *logits, int C, float *probs);
/* logits [N][C], targets [N] with -1 = ignored (padding).
 * Returns Σ over valid rows of -log softmax(logits)[target] (double).
 * dlogits (may be NULL) [N][C] = scale * (softmax - onehot) for valid rows, 0 for
 * ignored rows; with scale = 1/n_valid this is PyTorch's mean cross_entropy with
 * ignore_index.  *n_valid (may be NULL) = number of valid rows. */
double spm_softmax_xent (const float *logits, int N, int C, const int32_t *targets,
                         float scale, float *dlogits, int *n_valid);
/* The class-weighted form (PyTorch's cross_entropy with weight=w): weights [C] (NULL =
 * all 1).  Returns Σ over valid rows of w[target] * -log softmax(logits)[target]
 * (double); *weight_sum (may be NULL) = Σ over valid rows of w[target] (double).
 * dlogits (may be NULL) = scale * w[target] * (softmax - onehot) for valid rows, 0 for
 * ignored rows; with scale = 1 / *weight_sum this is the gradient of PyTorch's
 * cross_entropy (weight=w, ignore_index=-1, reduction='mean') =
 * Σ w[y_n] nll_n / Σ w[y_n].  weights = NULL gives the bits of spm_softmax_xent. */
double spm_softmax_xent_weighted (const float *logits, int N, int C, const int32_t *targets,
                                  const float *weights, float scale, float *dlogits,
                                  double *weight_sum);

/* ---- pooling over time: h [T][B][H], valid [T][B] (NULL = all valid) --------- */
/* out[b] = mean of h[t][b] over valid t (0 when none) */
void spm_mean_pool_forward (int T, int B, int H, const float *h, const uint8_t *valid, float *out);
/* dh[t][b] += dout[b] / n_valid(b) at valid t */
void spm_mean_pool_backward (int T, int B, int H, const uint8_t *valid, const float *dout, float *dh);
/* out[b] = h[last valid t of b][b] (0 when none) */
void spm_last_valid_forward (int T, int B, int H, const float *h, const uint8_t *valid, float *out);
/* dh[last valid t of b][b] += dout[b] */
void spm_last_valid_backward (int T, int B, int H, const uint8_t *valid, const float *dout, float *dh);

/* ---- dropout (inverted: kept values scaled by 1/(1-p)) ----------------------- */
/* mask [N] receives 0/1; p = 0 copies x to y */
void spm_dropout_forward (int N, float p, SpmRng *rng, const float *x, float *y, uint8_t *mask);
void spm_dropout_backward (int N, float p, const uint8_t *mask, const float *dy, float *dx);

G_END_DECLS

#endif
