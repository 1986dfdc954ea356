/* spm-conv.h — float32 image layers of the CNN extractor, each a forward/backward pair.
 *
 * Layout: activations are channel-major over the batch, x[c][n][h][w] (PyTorch's
 * NCHW with the first two axes swapped).  With it a convolution over all N frames
 * is one GEMM whose result is already the next layer's input, a 1x1 stride-1
 * convolution needs no packing at all, and a BatchNorm channel is one contiguous
 * run of N*H*W values.  spm_cnn_forward (spm-cnn.h) takes NCHW frames and does the
 * one swap at the input.  Weights keep PyTorch's layout: conv W[Cout][Cin][kh][kw].
 *
 * Conventions: backward functions ACCUMULATE (+=) into parameter gradients and
 * OVERWRITE input gradients (dx); any gradient pointer may be NULL (not computed).
 * No function allocates; workspaces are the caller's (sizes given below).
 */
#ifndef SPM_CONV_H
#define SPM_CONV_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/* ---- conv2d ------------------------------------------------------------------
 * y[co][n][oh][ow] = b[co] + Σ_{ci,i,j} W[co][ci][i][j] · x[ci][n][oh·sh − ph + i][ow·sw − pw + j]
 * (x outside the image is 0), Ho = (H + 2ph − kh)/sh + 1, Wo = (W + 2pw − kw)/sw + 1
 * (floor; H + 2ph >= kh and W + 2pw >= kw). */
typedef struct {
  int Cin, Cout;
  int kh, kw;     /* kernel */
  int sh, sw;     /* stride, >= 1 */
  int ph, pw;     /* zero padding, >= 0 */
} SpmConv2d;

int spm_conv2d_out_h (const SpmConv2d *c, int H);
int spm_conv2d_out_w (const SpmConv2d *c, int W);
/* TRUE for 1x1, stride 1, padding 0: x is already the GEMM operand, no packing */
gboolean spm_conv2d_is_pointwise (const SpmConv2d *c);
/* Floats of the packing workspace `col` for N frames of H x W: [Cin·kh·kw][N·Ho·Wo];
 * 0 for a pointwise convolution (col may then be NULL). */
size_t spm_conv2d_col_size (const SpmConv2d *c, int N, int H, int W);

/* x [Cin][N][H][W], Wt [Cout][Cin][kh][kw], b [Cout] or NULL; y [Cout][N][Ho][Wo].
 * Packs x into col (im2col), then one sgemm: y = Wt[Cout][K] · col[K][N·Ho·Wo]. */
void spm_conv2d_forward (const SpmConv2d *c, int N, int H, int W, const float *x,
                         const float *Wt, const float *b, float *y, float *col);
/* dy [Cout][N][Ho][Wo].
 * dWt += dy · colᵀ (col = im2col(x), repacked here);  db[co] += Σ dy[co];
 * dx = col2im(Wtᵀ · dy) [Cin][N][H][W].  col as in forward. */
void spm_conv2d_backward (const SpmConv2d *c, int N, int H, int W, const float *x,
                          const float *Wt, const float *dy, float *dWt, float *db, float *dx,
                          float *col);

/* Naive direct loops of the two above (no BLAS, no workspace), for tests. */
void spm_conv2d_forward_ref (const SpmConv2d *c, int N, int H, int W, const float *x,
                             const float *Wt, const float *b, float *y);
void spm_conv2d_backward_ref (const SpmConv2d *c, int N, int H, int W, const float *x,
                              const float *Wt, const float *dy, float *dWt, float *db, float *dx);

/* ---- batchnorm2d over x [C][M], M = N·H·W values of each channel --------------
 * train: μ_c = mean(x[c]), σ²_c = biased variance (÷M), r_c = 1/sqrt(σ²_c + eps)
 *        y = γ_c (x − μ_c) r_c + β_c
 *        running_mean = (1 − momentum) running_mean + momentum μ_c
 *        running_var  = (1 − momentum) running_var  + momentum σ²_c · M/(M − 1)   (M >= 2)
 *        mean[C], rstd[C] receive μ and r for backward.
 * eval:  y = γ_c (x − running_mean_c) / sqrt(running_var_c + eps) + β_c
 * PyTorch's values: momentum 0.1, eps 1e-5. */
#define SPM_BN_MOMENTUM 0.1f
#define SPM_BN_EPS 1e-5f
void spm_bn2d_forward_train (int C, size_t M, const float *x, const float *gamma,
                             const float *beta, float *running_mean, float *running_var,
                             float *mean, float *rstd, float *y);
void spm_bn2d_forward_eval (int C, size_t M, const float *x, const float *gamma,
                            const float *beta, const float *running_mean,
                            const float *running_var, float *y);
/* The eval-mode inference paths fused into one pass over x (the same values as
 * the separate layers):
 *   bn_relu:      y = max(BN_eval(x), 0)
 *   bn_add_relu:  y = max(BN_eval(x) + s, 0)     s [C][M], the residual shortcut */
void spm_bn2d_relu_forward_eval (int C, size_t M, const float *x, const float *gamma,
                                 const float *beta, const float *running_mean,
                                 const float *running_var, float *y);
void spm_bn2d_add_relu_forward_eval (int C, size_t M, const float *x, const float *gamma,
                                     const float *beta, const float *running_mean,
                                     const float *running_var, const float *s, float *y);
/* Train mode (μ, r from forward, x̂ = (x − μ) r):
 *   dγ += Σ dy x̂;  dβ += Σ dy;  dx = γ r (dy − mean(dy) − x̂ mean(dy x̂))
 * dx may be the same buffer as dy. */
void spm_bn2d_backward_train (int C, size_t M, const float *x, const float *gamma,
                              const float *mean, const float *rstd, const float *dy,
                              float *dgamma, float *dbeta, float *dx);
/* Eval mode (an affine map): r = 1/sqrt(running_var + eps), x̂ = (x − running_mean) r
 *   dγ += Σ dy x̂;  dβ += Σ dy;  dx = γ r dy.   dx may be dy. */
void spm_bn2d_backward_eval (int C, size_t M, const float *x, const float *gamma,
                             const float *running_mean, const float *running_var,
                             const float *dy, float *dgamma, float *dbeta, float *dx);

/* ---- relu: y = max(x, 0) over n values (y may be x) ---------------------------
 * backward from the output: dx = dy · [y > 0] (dx may be dy) */
void spm_relu_forward (size_t n, const float *x, float *y);
void spm_relu_backward (size_t n, const float *y, const float *dy, float *dx);

/* ---- maxpool2d over P planes of H x W (P = C·N), square kernel k, stride s,
 * padding p (p <= k/2; padding never wins), Ho = (H + 2p − k)/s + 1:
 *   y[q][oh][ow] = max over the window; arg[q][oh][ow] = index (h·W + w) of the first
 *   maximum in window order (rows, then columns; a NaN wins), as PyTorch. */
int spm_maxpool2d_out (int H, int k, int s, int p);
void spm_maxpool2d_forward (int P, int H, int W, int k, int s, int p, const float *x,
                            float *y, int32_t *arg);
/* dx [P][H][W] = Σ of dy over the outputs whose arg points there (overwritten) */
void spm_maxpool2d_backward (int P, int H, int W, int k, int s, int p, const int32_t *arg,
                             const float *dy, float *dx);

/* ---- global average pool: x [C][N][S] (S = H·W) -> out [N][C] -------------------
 *   out[n][c] = (1/S) Σ_s x[c][n][s];   backward: dx[c][n][s] = dout[n][c] / S */
void spm_gap_forward (int C, int N, size_t S, const float *x, float *out);
void spm_gap_backward (int C, int N, size_t S, const float *dout, float *dx);

/* ---- residual add: y = a + b over n values (y may be a or b) ------------------
 * backward: da = dy, db = dy (either may be NULL or dy itself) */
void spm_add_forward (size_t n, const float *a, const float *b, float *y);
void spm_add_backward (size_t n, const float *dy, float *da, float *db);

G_END_DECLS

#endif
