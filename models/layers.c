/* layers.c — the feed-forward layers around the recurrent core: linear, embedding,
 * softmax and masked cross-entropy, pooling over time, dropout; and the BLAS
 * thread count.  Shapes and equations: spm-layers.h, repeated at each function. */
#include "spm-layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void
spm_set_threads (int n)
{
#ifdef OPENBLAS_VERSION
  /* 0: every core this process may run on */
  openblas_set_num_threads (n > 0 ? n : (int) MAX (1u, g_get_num_processors ()));
#else
  (void) n;
#endif
}

/* ---- linear ------------------------------------------------------------------ */

/* y[N][Out] = x[N][In] Wᵀ + b     W [Out][In], b [Out] or NULL */
void
spm_linear_forward (const float *W, const float *b, int N, int In, int Out,
                    const float *x, float *y)
{
  for (int n = 0; n < N; n++)
    {
      float *yn = y + (size_t) n * Out;
      if (b != NULL)
        memcpy (yn, b, Out * sizeof (float));
      else
        memset (yn, 0, Out * sizeof (float));
    }
  if (N == 1)
    cblas_sgemv (CblasRowMajor, CblasNoTrans, Out, In, 1.0f, W, In, x, 1, 1.0f, y, 1);
  else
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, N, Out, In,
                 1.0f, x, In, W, In, 1.0f, y, Out);
}

/* dW[Out][In] += dyᵀ x;  db[Out] += Σ_n dy[n];  dx[N][In] = dy W   (each may be NULL) */
void
spm_linear_backward (const float *W, int N, int In, int Out, const float *x, const float *dy,
                     float *dW, float *db, float *dx)
{
  if (dW != NULL)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Out, In, N,
                 1.0f, dy, Out, x, In, 1.0f, dW, In);
  if (db != NULL)
    for (int n = 0; n < N; n++)
      for (int o = 0; o < Out; o++)
        db[o] += dy[(size_t) n * Out + o];
  if (dx != NULL)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, N, In, Out,
                 1.0f, dy, Out, W, In, 0.0f, dx, In);
}

/* ---- embedding ----------------------------------------------------------------- */

/* y[n][:] = E[idx[n]][:]     E [V][dim] */
void
spm_embedding_forward (const float *E, int V, int dim, int N, const int32_t *idx, float *y)
{
  for (int n = 0; n < N; n++)
    {
      g_return_if_fail (idx[n] >= 0 && idx[n] < V);
      memcpy (y + (size_t) n * dim, E + (size_t) idx[n] * dim, dim * sizeof (float));
    }
}

/* dE[idx[n]][:] += dy[n][:]  (a repeated index accumulates every occurrence) */
void
spm_embedding_backward (int V, int dim, int N, const int32_t *idx, const float *dy, float *dE)
{
  for (int n = 0; n < N; n++)
    {
      g_return_if_fail (idx[n] >= 0 && idx[n] < V);
      float *row = dE + (size_t) idx[n] * dim;
      const float *d = dy + (size_t) n * dim;
      for (int k = 0; k < dim; k++)
        row[k] += d[k];
    }
}

/* ---- softmax and cross-entropy ------------------------------------------------ */

/* probs[c] = exp(l[c] - max l) / Σ exp(l - max l)   (probs may alias logits) */
void
spm_softmax (const float *logits, int C, float *probs)
{
  float mx = logits[0];
  for (int c = 1; c < C; c++)
    mx = logits[c] > mx ? logits[c] : mx;
  double sum = 0.0;
  for (int c = 0; c < C; c++)
    {
      probs[c] = expf (logits[c] - mx);
      sum += probs[c];
    }
  float inv = (float) (1.0 / sum);
  for (int c = 0; c < C; c++)
    probs[c] *= inv;
}

/* loss = Σ_{valid n} w[t_n] (logsumexp(l[n]) - l[n][t_n]);  row n valid when t_n != -1;
 * w = NULL: w[.] = 1.  *weight_sum = Σ_{valid n} w[t_n] (summed in double).
 * dlogits[n] = (scale w[t_n]) (softmax(l[n]) - onehot(t_n)) for valid rows, 0 otherwise;
 * the coefficient scale w[t_n] is formed in double, so w = NULL gives the bits of the
 * unweighted form scale (softmax - onehot). */
double
spm_softmax_xent_weighted (const float *logits, int N, int C, const int32_t *targets,
                           const float *weights, float scale, float *dlogits,
                           double *weight_sum)
{
  double loss = 0.0, wsum = 0.0;
  for (int n = 0; n < N; n++)
    {
      const float *l = logits + (size_t) n * C;
      float *dl = dlogits != NULL ? dlogits + (size_t) n * C : NULL;
      int t = targets[n];
      if (t < 0)
        {
          if (dl != NULL)
            memset (dl, 0, C * sizeof (float));
          continue;
        }
      g_return_val_if_fail (t < C, loss);
      const double w = weights != NULL ? (double) weights[t] : 1.0;
      wsum += w;
      float mx = l[0];
      for (int c = 1; c < C; c++)
        mx = l[c] > mx ? l[c] : mx;
      double sum = 0.0;
      for (int c = 0; c < C; c++)
        sum += exp ((double) l[c] - mx);
      double lse = mx + log (sum);
      loss += weights != NULL ? w * (lse - l[t]) : lse - l[t];
      if (dl != NULL)
        {
          const double coef = scale * w;
          for (int c = 0; c < C; c++)
            dl[c] = (float) (coef * exp ((double) l[c] - lse));
          dl[t] -= (float) coef;
        }
    }
  if (weight_sum != NULL)
    *weight_sum = wsum;
  return loss;
}

/* the unweighted form: n_valid = the number of rows with t_n != -1 */
double
spm_softmax_xent (const float *logits, int N, int C, const int32_t *targets,
                  float scale, float *dlogits, int *n_valid)
{
  double wsum;
  double loss = spm_softmax_xent_weighted (logits, N, C, targets, NULL, scale, dlogits, &wsum);
  if (n_valid != NULL)
    *n_valid = (int) wsum;
  return loss;
}

/* ---- pooling over time --------------------------------------------------------- */

static gboolean
is_valid (const uint8_t *valid, int t, int B, int b)
{
  return valid == NULL || valid[(size_t) t * B + b];
}

/* out[b][:] = (1/n_b) Σ_{valid t} h[t][b][:]   (0 when n_b = 0)     h [T][B][H] */
void
spm_mean_pool_forward (int T, int B, int H, const float *h, const uint8_t *valid, float *out)
{
  for (int b = 0; b < B; b++)
    {
      float *ob = out + (size_t) b * H;
      int n = 0;
      memset (ob, 0, H * sizeof (float));
      for (int t = 0; t < T; t++)
        if (is_valid (valid, t, B, b))
          {
            const float *hb = h + ((size_t) t * B + b) * H;
            for (int k = 0; k < H; k++)
              ob[k] += hb[k];
            n++;
          }
      if (n > 0)
        for (int k = 0; k < H; k++)
          ob[k] /= n;
    }
}

/* dh[t][b][:] += dout[b][:] / n_b at valid t */
void
spm_mean_pool_backward (int T, int B, int H, const uint8_t *valid, const float *dout, float *dh)
{
  for (int b = 0; b < B; b++)
    {
      int n = 0;
      for (int t = 0; t < T; t++)
        n += is_valid (valid, t, B, b);
      if (n == 0)
        continue;
      const float *db = dout + (size_t) b * H;
      for (int t = 0; t < T; t++)
        if (is_valid (valid, t, B, b))
          {
            float *d = dh + ((size_t) t * B + b) * H;
            for (int k = 0; k < H; k++)
              d[k] += db[k] / n;
          }
    }
}

/* the last t with valid[t][b], or -1 */
static int
last_valid (int T, int B, int b, const uint8_t *valid)
{
  for (int t = T - 1; t >= 0; t--)
    if (is_valid (valid, t, B, b))
      return t;
  return -1;
}

/* out[b][:] = h[last valid t of b][b][:]   (0 when none) */
void
spm_last_valid_forward (int T, int B, int H, const float *h, const uint8_t *valid, float *out)
{
  for (int b = 0; b < B; b++)
    {
      int t = last_valid (T, B, b, valid);
      if (t < 0)
        memset (out + (size_t) b * H, 0, H * sizeof (float));
      else
        memcpy (out + (size_t) b * H, h + ((size_t) t * B + b) * H, H * sizeof (float));
    }
}

/* dh[last valid t of b][b][:] += dout[b][:] */
void
spm_last_valid_backward (int T, int B, int H, const uint8_t *valid, const float *dout, float *dh)
{
  for (int b = 0; b < B; b++)
    {
      int t = last_valid (T, B, b, valid);
      if (t < 0)
        continue;
      float *d = dh + ((size_t) t * B + b) * H;
      for (int k = 0; k < H; k++)
        d[k] += dout[(size_t) b * H + k];
    }
}

/* ---- dropout --------------------------------------------------------------------- */

/* mask[n] = (u_n >= p) with u_n uniform on [0, 1);  y = x mask / (1 - p).
 * p = 0 draws nothing and copies x (mask = 1). */
void
spm_dropout_forward (int N, float p, SpmRng *rng, const float *x, float *y, uint8_t *mask)
{
  if (p <= 0.0f)
    {
      if (y != x)
        memmove (y, x, (size_t) N * sizeof (float));
      if (mask != NULL)
        memset (mask, 1, N);
      return;
    }
  float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  for (int n = 0; n < N; n++)
    {
      uint8_t m = spm_rng_uniform (rng) >= p;
      if (mask != NULL)
        mask[n] = m;
      y[n] = m ? x[n] * keep : 0.0f;
    }
}

/* dx = dy mask / (1 - p)   (p = 0: dx = dy) */
void
spm_dropout_backward (int N, float p, const uint8_t *mask, const float *dy, float *dx)
{
  if (p <= 0.0f)
    {
      if (dx != dy)
        memmove (dx, dy, (size_t) N * sizeof (float));
      return;
    }
  float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  for (int n = 0; n < N; n++)
    dx[n] = mask[n] ? dy[n] * keep : 0.0f;
}
