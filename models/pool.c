/* pool.c — relu, maxpool2d, global average pool and residual add, forward and
 * backward.  Shapes and equations: spm-conv.h. */
#include "spm-conv.h"

#include <math.h>
#include <string.h>

/* y = max(x, 0) */
void
spm_relu_forward (size_t n, const float *x, float *y)
{
  for (size_t i = 0; i < n; i++)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* dx = dy · [y > 0] */
void
spm_relu_backward (size_t n, const float *y, const float *dy, float *dx)
{
  for (size_t i = 0; i < n; i++)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

int
spm_maxpool2d_out (int H, int k, int s, int p)
{
  return (H + 2 * p - k) / s + 1;
}

/* MaxPool2d(2): the window is always inside the plane; the four values in window
 * order, a later one taken only if greater or NaN */
static void
maxpool_2x2 (int P, int H, int W, int Ho, int Wo, const float *x, float *y, int32_t *arg)
{
  for (int q = 0; q < P; q++)
    {
      const float *xp = x + (size_t) q * H * W;
      float *yp = y + (size_t) q * Ho * Wo;
      int32_t *ap = arg + (size_t) q * Ho * Wo;
      for (int oh = 0; oh < Ho; oh++)
        {
          const float *r0 = xp + (size_t) 2 * oh * W, *r1 = r0 + W;
          for (int ow = 0; ow < Wo; ow++)
            {
              int w = 2 * ow, best = 2 * oh * W + w;
              float m = r0[w], v;
              if ((v = r0[w + 1]) > m || isnan (v))
                m = v, best = 2 * oh * W + w + 1;
              if ((v = r1[w]) > m || isnan (v))
                m = v, best = (2 * oh + 1) * W + w;
              if ((v = r1[w + 1]) > m || isnan (v))
                m = v, best = (2 * oh + 1) * W + w + 1;
              yp[oh * Wo + ow] = m;
              ap[oh * Wo + ow] = best;
            }
        }
    }
}

/* y[q][oh][ow] = max_{i,j < k} x[q][oh·s − p + i][ow·s − p + j] over the positions inside
 * the plane; arg = the first maximum in window order (a later value wins only if
 * greater, or NaN), PyTorch's rule. */
void
spm_maxpool2d_forward (int P, int H, int W, int k, int s, int p, const float *x,
                       float *y, int32_t *arg)
{
  int Ho = spm_maxpool2d_out (H, k, s, p), Wo = spm_maxpool2d_out (W, k, s, p);
  if (k == 2 && s == 2 && p == 0)
    {
      maxpool_2x2 (P, H, W, Ho, Wo, x, y, arg);
      return;
    }
  for (int q = 0; q < P; q++)
    {
      const float *xp = x + (size_t) q * H * W;
      float *yp = y + (size_t) q * Ho * Wo;
      int32_t *ap = arg + (size_t) q * Ho * Wo;
      for (int oh = 0; oh < Ho; oh++)
        {
          int h0 = MAX (oh * s - p, 0), h1 = MIN (oh * s - p + k, H);
          for (int ow = 0; ow < Wo; ow++)
            {
              int w0 = MAX (ow * s - p, 0), w1 = MIN (ow * s - p + k, W);
              int best = h0 * W + w0;
              float m = -INFINITY;
              for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                  {
                    float v = xp[h * W + w];
                    if (v > m || isnan (v))
                      {
                        m = v;
                        best = h * W + w;
                      }
                  }
              yp[oh * Wo + ow] = m;
              ap[oh * Wo + ow] = best;
            }
        }
    }
}

/* dx[q][arg[q][o]] += dy[q][o], dx zeroed first */
void
spm_maxpool2d_backward (int P, int H, int W, int k, int s, int p, const int32_t *arg,
                        const float *dy, float *dx)
{
  int Ho = spm_maxpool2d_out (H, k, s, p), Wo = spm_maxpool2d_out (W, k, s, p);
  size_t HW = (size_t) H * W, O = (size_t) Ho * Wo;
  memset (dx, 0, sizeof (float) * P * HW);
  for (int q = 0; q < P; q++)
    {
      float *xp = dx + q * HW;
      const float *dp = dy + q * O;
      const int32_t *ap = arg + q * O;
      for (size_t o = 0; o < O; o++)
        xp[ap[o]] += dp[o];
    }
}

/* out[n][c] = (1/S) Σ_s x[c][n][s] */
void
spm_gap_forward (int C, int N, size_t S, const float *x, float *out)
{
  for (int c = 0; c < C; c++)
    for (int n = 0; n < N; n++)
      {
        const float *xp = x + ((size_t) c * N + n) * S;
        double sum = 0.0;
        for (size_t s = 0; s < S; s++)
          sum += xp[s];
        out[(size_t) n * C + c] = (float) (sum / (double) S);
      }
}

/* dx[c][n][s] = dout[n][c] / S */
void
spm_gap_backward (int C, int N, size_t S, const float *dout, float *dx)
{
  for (int c = 0; c < C; c++)
    for (int n = 0; n < N; n++)
      {
        float g = dout[(size_t) n * C + c] / (float) S;
        float *xp = dx + ((size_t) c * N + n) * S;
        for (size_t s = 0; s < S; s++)
          xp[s] = g;
      }
}

/* y = a + b */
void
spm_add_forward (size_t n, const float *a, const float *b, float *y)
{
  for (size_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

/* da = dy, db = dy */
void
spm_add_backward (size_t n, const float *dy, float *da, float *db)
{
  if (da != NULL && da != dy)
    memcpy (da, dy, sizeof (float) * n);
  if (db != NULL && db != dy)
    memcpy (db, dy, sizeof (float) * n);
}
