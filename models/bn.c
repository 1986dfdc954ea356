/* bn.c — batchnorm2d over channel-major activations x[C][M] (M = N·H·W), train and
 * eval mode, forward and backward.  Shapes and equations: spm-conv.h.  Sums are
 * taken in double: M reaches 10^5 and more. */
#include "spm-conv.h"

#include <math.h>

/* μ = mean x[c], σ² = Σ (x − μ)²/M, r = 1/sqrt(σ² + eps), y = γ (x − μ) r + β;
 * running stats updated with momentum and the unbiased σ² · M/(M − 1). */
void
spm_bn2d_forward_train (int C, size_t M, const float *x, const float *gamma,
                        const float *beta, float *running_mean, float *running_var,
                        float *mean, float *rstd, float *y)
{
  for (int c = 0; c < C; c++)
    {
      const float *xc = x + (size_t) c * M;
      float *yc = y + (size_t) c * M;
      double s = 0.0;
      for (size_t q = 0; q < M; q++)
        s += xc[q];
      double mu = s / (double) M, v = 0.0;
      for (size_t q = 0; q < M; q++)
        v += ((double) xc[q] - mu) * ((double) xc[q] - mu);
      double var = v / (double) M;
      double r = 1.0 / sqrt (var + SPM_BN_EPS);
      float a = (float) (gamma[c] * r), m = (float) mu;
      for (size_t q = 0; q < M; q++)
        yc[q] = (xc[q] - m) * a + beta[c];
      mean[c] = (float) mu;
      rstd[c] = (float) r;
      double unbiased = M > 1 ? v / (double) (M - 1) : var;
      running_mean[c] = (float) ((1.0 - SPM_BN_MOMENTUM) * running_mean[c] + SPM_BN_MOMENTUM * mu);
      running_var[c] = (float) ((1.0 - SPM_BN_MOMENTUM) * running_var[c] +
                                SPM_BN_MOMENTUM * unbiased);
    }
}

/* y = γ (x − running_mean) / sqrt(running_var + eps) + β */
void
spm_bn2d_forward_eval (int C, size_t M, const float *x, const float *gamma,
                       const float *beta, const float *running_mean,
                       const float *running_var, float *y)
{
  for (int c = 0; c < C; c++)
    {
      double r = 1.0 / sqrt ((double) running_var[c] + SPM_BN_EPS);
      float a = (float) (gamma[c] * r), m = running_mean[c], b = beta[c];
      const float *xc = x + (size_t) c * M;
      float *yc = y + (size_t) c * M;
      for (size_t q = 0; q < M; q++)
        yc[q] = (xc[q] - m) * a + b;
    }
}

/* y = max(γ (x − running_mean) / sqrt(running_var + eps) + β, 0) */
void
spm_bn2d_relu_forward_eval (int C, size_t M, const float *x, const float *gamma,
                            const float *beta, const float *running_mean,
                            const float *running_var, float *y)
{
  for (int c = 0; c < C; c++)
    {
      double r = 1.0 / sqrt ((double) running_var[c] + SPM_BN_EPS);
      float a = (float) (gamma[c] * r), m = running_mean[c], b = beta[c];
      const float *xc = x + (size_t) c * M;
      float *yc = y + (size_t) c * M;
      for (size_t q = 0; q < M; q++)
        {
          float v = (xc[q] - m) * a + b;
          yc[q] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* y = max(γ (x − running_mean) / sqrt(running_var + eps) + β + s, 0) */
void
spm_bn2d_add_relu_forward_eval (int C, size_t M, const float *x, const float *gamma,
                                const float *beta, const float *running_mean,
                                const float *running_var, const float *s, float *y)
{
  for (int c = 0; c < C; c++)
    {
      double r = 1.0 / sqrt ((double) running_var[c] + SPM_BN_EPS);
      float a = (float) (gamma[c] * r), m = running_mean[c], b = beta[c];
      const float *xc = x + (size_t) c * M, *sc = s + (size_t) c * M;
      float *yc = y + (size_t) c * M;
      for (size_t q = 0; q < M; q++)
        {
          float v = ((xc[q] - m) * a + b) + sc[q];
          yc[q] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* x̂ = (x − μ) r;  dγ += Σ dy x̂;  dβ += Σ dy;  dx = γ r (dy − mean(dy) − x̂ mean(dy x̂)) */
void
spm_bn2d_backward_train (int C, size_t M, const float *x, const float *gamma,
                         const float *mean, const float *rstd, const float *dy,
                         float *dgamma, float *dbeta, float *dx)
{
  for (int c = 0; c < C; c++)
    {
      const float *xc = x + (size_t) c * M, *dc = dy + (size_t) c * M;
      float mu = mean[c], r = rstd[c];
      double sd = 0.0, sdx = 0.0;
      for (size_t q = 0; q < M; q++)
        {
          sd += dc[q];
          sdx += (double) dc[q] * ((xc[q] - mu) * r);
        }
      if (dgamma != NULL)
        dgamma[c] += (float) sdx;
      if (dbeta != NULL)
        dbeta[c] += (float) sd;
      if (dx != NULL)
        {
          float md = (float) (sd / (double) M), mdx = (float) (sdx / (double) M);
          float g = gamma[c] * r;
          float *o = dx + (size_t) c * M;
          for (size_t q = 0; q < M; q++)
            o[q] = g * (dc[q] - md - (xc[q] - mu) * r * mdx);
        }
    }
}

/* r = 1/sqrt(running_var + eps), x̂ = (x − running_mean) r;
 * dγ += Σ dy x̂;  dβ += Σ dy;  dx = γ r dy */
void
spm_bn2d_backward_eval (int C, size_t M, const float *x, const float *gamma,
                        const float *running_mean, const float *running_var,
                        const float *dy, float *dgamma, float *dbeta, float *dx)
{
  for (int c = 0; c < C; c++)
    {
      const float *xc = x + (size_t) c * M, *dc = dy + (size_t) c * M;
      float r = (float) (1.0 / sqrt ((double) running_var[c] + SPM_BN_EPS)), mu = running_mean[c];
      double sd = 0.0, sdx = 0.0;
      for (size_t q = 0; q < M; q++)
        {
          sd += dc[q];
          sdx += (double) dc[q] * ((xc[q] - mu) * r);
        }
      if (dgamma != NULL)
        dgamma[c] += (float) sdx;
      if (dbeta != NULL)
        dbeta[c] += (float) sd;
      if (dx != NULL)
        {
          float g = gamma[c] * r;
          float *o = dx + (size_t) c * M;
          for (size_t q = 0; q < M; q++)
            o[q] = g * dc[q];
        }
    }
}
