/* conv-ref.c — naive direct loops of conv2d forward and backward (no BLAS, no
 * packing), the reference the GEMM kernels of conv.c are tested against.
 * Shapes and equations: spm-conv.h. */
#include "spm-conv.h"

#include <string.h>

/* y[co][n][oh][ow] = b[co] + Σ_{ci,i,j} W[co][ci][i][j] x[ci][n][oh·sh − ph + i][ow·sw − pw + j] */
void
spm_conv2d_forward_ref (const SpmConv2d *c, int N, int H, int W, const float *x,
                        const float *Wt, const float *b, float *y)
{
  int Ho = spm_conv2d_out_h (c, H), Wo = spm_conv2d_out_w (c, W);
  for (int co = 0; co < c->Cout; co++)
    for (int n = 0; n < N; n++)
      for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++)
          {
            double s = b != NULL ? b[co] : 0.0;
            for (int ci = 0; ci < c->Cin; ci++)
              for (int i = 0; i < c->kh; i++)
                for (int j = 0; j < c->kw; j++)
                  {
                    int ih = oh * c->sh - c->ph + i, iw = ow * c->sw - c->pw + j;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                      continue;
                    s += (double) Wt[((co * c->Cin + ci) * c->kh + i) * c->kw + j] *
                         x[(((size_t) ci * N + n) * H + ih) * W + iw];
                  }
            y[(((size_t) co * N + n) * Ho + oh) * Wo + ow] = (float) s;
          }
}

/* dW[co][ci][i][j] += Σ_{n,oh,ow} dy[co][n][oh][ow] x[ci][n][ih][iw];  db[co] += Σ dy[co];
 * dx[ci][n][ih][iw] = Σ_{co,i,j} W[co][ci][i][j] dy[co][n][oh][ow]  (ih = oh·sh − ph + i, ...) */
void
spm_conv2d_backward_ref (const SpmConv2d *c, int N, int H, int W, const float *x,
                         const float *Wt, const float *dy, float *dWt, float *db, float *dx)
{
  int Ho = spm_conv2d_out_h (c, H), Wo = spm_conv2d_out_w (c, W);
  if (dx != NULL)
    memset (dx, 0, sizeof (float) * c->Cin * N * H * W);
  for (int co = 0; co < c->Cout; co++)
    {
      double sb = 0.0;
      for (int n = 0; n < N; n++)
        for (int oh = 0; oh < Ho; oh++)
          for (int ow = 0; ow < Wo; ow++)
            sb += dy[(((size_t) co * N + n) * Ho + oh) * Wo + ow];
      if (db != NULL)
        db[co] += (float) sb;
      for (int ci = 0; ci < c->Cin; ci++)
        for (int i = 0; i < c->kh; i++)
          for (int j = 0; j < c->kw; j++)
            {
              size_t wi = ((size_t) (co * c->Cin + ci) * c->kh + i) * c->kw + j;
              double sw = 0.0;
              for (int n = 0; n < N; n++)
                for (int oh = 0; oh < Ho; oh++)
                  for (int ow = 0; ow < Wo; ow++)
                    {
                      int ih = oh * c->sh - c->ph + i, iw = ow * c->sw - c->pw + j;
                      if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                        continue;
                      size_t xi = (((size_t) ci * N + n) * H + ih) * W + iw;
                      float g = dy[(((size_t) co * N + n) * Ho + oh) * Wo + ow];
                      sw += (double) g * x[xi];
                      if (dx != NULL)
                        dx[xi] += Wt[wi] * g;
                    }
              if (dWt != NULL)
                dWt[wi] += (float) sw;
            }
    }
}
