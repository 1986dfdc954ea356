/* conv.c — conv2d over a batch as one GEMM: im2col packing, sgemm, col2im.
 * Shapes and equations: spm-conv.h.  The naive reference is conv-ref.c. */
#include "spm-conv.h"

#include <cblas.h>
#include <string.h>

int
spm_conv2d_out_h (const SpmConv2d *c, int H)
{
  return (H + 2 * c->ph - c->kh) / c->sh + 1;
}

int
spm_conv2d_out_w (const SpmConv2d *c, int W)
{
  return (W + 2 * c->pw - c->kw) / c->sw + 1;
}

gboolean
spm_conv2d_is_pointwise (const SpmConv2d *c)
{
  return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->ph == 0 && c->pw == 0;
}

size_t
spm_conv2d_col_size (const SpmConv2d *c, int N, int H, int W)
{
  if (spm_conv2d_is_pointwise (c))
    return 0;
  return (size_t) c->Cin * c->kh * c->kw * N * spm_conv2d_out_h (c, H) * spm_conv2d_out_w (c, W);
}

/* The output columns ow whose input column ow·sw − pw + j lies in [0, W):
 * [*lo, *hi).  Outside it the packed value is the zero padding. */
static void
valid_cols (const SpmConv2d *c, int W, int Wo, int j, int *lo, int *hi)
{
  int off = j - c->pw;   /* iw = ow·sw + off */
  int a = off >= 0 ? 0 : (-off + c->sw - 1) / c->sw;
  int b = W - off <= 0 ? 0 : (W - off + c->sw - 1) / c->sw;
  *lo = MIN (a, Wo);
  *hi = CLAMP (b, *lo, Wo);
}

/* col[(ci·kh + i)·kw + j][n][oh][ow] = x[ci][n][oh·sh − ph + i][ow·sw − pw + j] (0 outside) */
static void
im2col (const SpmConv2d *c, int N, int H, int W, const float *x, float *col)
{
  int Ho = spm_conv2d_out_h (c, H), Wo = spm_conv2d_out_w (c, W);
  size_t HW = (size_t) H * W, HoWo = (size_t) Ho * Wo;
  for (int ci = 0; ci < c->Cin; ci++)
    for (int i = 0; i < c->kh; i++)
      for (int j = 0; j < c->kw; j++)
        {
          float *row = col + ((size_t) (ci * c->kh + i) * c->kw + j) * N * HoWo;
          int lo, hi, off = j - c->pw;
          valid_cols (c, W, Wo, j, &lo, &hi);
          for (int n = 0; n < N; n++)
            {
              const float *xp = x + ((size_t) ci * N + n) * HW;
              for (int oh = 0; oh < Ho; oh++)
                {
                  float *r = row + n * HoWo + (size_t) oh * Wo;
                  int ih = oh * c->sh - c->ph + i;
                  if (ih < 0 || ih >= H)
                    {
                      memset (r, 0, sizeof (float) * Wo);
                      continue;
                    }
                  const float *xr = xp + (size_t) ih * W;
                  for (int ow = 0; ow < lo; ow++)
                    r[ow] = 0.0f;
                  if (c->sw == 1)
                    memcpy (r + lo, xr + lo + off, sizeof (float) * (hi - lo));
                  else
                    for (int ow = lo; ow < hi; ow++)
                      r[ow] = xr[ow * c->sw + off];
                  for (int ow = hi; ow < Wo; ow++)
                    r[ow] = 0.0f;
                }
            }
        }
}

/* dx[ci][n][ih][iw] = Σ of col over the (i, j, oh, ow) that im2col read from there */
static void
col2im (const SpmConv2d *c, int N, int H, int W, const float *col, float *dx)
{
  int Ho = spm_conv2d_out_h (c, H), Wo = spm_conv2d_out_w (c, W);
  size_t HW = (size_t) H * W, HoWo = (size_t) Ho * Wo;
  memset (dx, 0, sizeof (float) * c->Cin * N * HW);
  for (int ci = 0; ci < c->Cin; ci++)
    for (int i = 0; i < c->kh; i++)
      for (int j = 0; j < c->kw; j++)
        {
          const float *row = col + ((size_t) (ci * c->kh + i) * c->kw + j) * N * HoWo;
          int lo, hi, off = j - c->pw;
          valid_cols (c, W, Wo, j, &lo, &hi);
          for (int n = 0; n < N; n++)
            {
              float *xp = dx + ((size_t) ci * N + n) * HW;
              for (int oh = 0; oh < Ho; oh++)
                {
                  int ih = oh * c->sh - c->ph + i;
                  if (ih < 0 || ih >= H)
                    continue;
                  const float *r = row + n * HoWo + (size_t) oh * Wo;
                  float *xr = xp + (size_t) ih * W;
                  for (int ow = lo; ow < hi; ow++)
                    xr[ow * c->sw + off] += r[ow];
                }
            }
        }
}

/* y[Cout][N·Ho·Wo] = Wt[Cout][K] · col[K][N·Ho·Wo] + b,  K = Cin·kh·kw */
void
spm_conv2d_forward (const SpmConv2d *c, int N, int H, int W, const float *x,
                    const float *Wt, const float *b, float *y, float *col)
{
  int K = c->Cin * c->kh * c->kw;
  int NP = N * spm_conv2d_out_h (c, H) * spm_conv2d_out_w (c, W);
  const float *B = x;
  if (!spm_conv2d_is_pointwise (c))
    {
      im2col (c, N, H, W, x, col);
      B = col;
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c->Cout, NP, K,
               1.0f, Wt, K, B, NP, 0.0f, y, NP);
  if (b != NULL)
    for (int co = 0; co < c->Cout; co++)
      {
        float *yc = y + (size_t) co * NP, bc = b[co];
        for (int q = 0; q < NP; q++)
          yc[q] += bc;
      }
}

/* dWt[Cout][K] += dy[Cout][NP] · col[K][NP]ᵀ;  db += Σ_q dy[·][q];
 * dx = col2im(Wt[Cout][K]ᵀ · dy)  (pointwise: dx = Wtᵀ · dy directly) */
void
spm_conv2d_backward (const SpmConv2d *c, int N, int H, int W, const float *x,
                     const float *Wt, const float *dy, float *dWt, float *db, float *dx,
                     float *col)
{
  int K = c->Cin * c->kh * c->kw;
  int NP = N * spm_conv2d_out_h (c, H) * spm_conv2d_out_w (c, W);
  gboolean pointwise = spm_conv2d_is_pointwise (c);
  if (db != NULL)
    for (int co = 0; co < c->Cout; co++)
      {
        const float *d = dy + (size_t) co * NP;
        float s = 0.0f;
        for (int q = 0; q < NP; q++)
          s += d[q];
        db[co] += s;
      }
  if (dWt != NULL)
    {
      const float *B = x;
      if (!pointwise)
        {
          im2col (c, N, H, W, x, col);
          B = col;
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, c->Cout, K, NP,
                   1.0f, dy, NP, B, NP, 1.0f, dWt, K);
    }
  if (dx != NULL)
    {
      float *D = pointwise ? dx : col;
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, K, NP, c->Cout,
                   1.0f, Wt, K, dy, NP, 0.0f, D, NP);
      if (!pointwise)
        col2im (c, N, H, W, col, dx);
    }
}
