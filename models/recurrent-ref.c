/* recurrent-ref.c — the recurrent layer in plain loops, for tests of recurrent.c.
 *
 * The same equations and masks as spm_recurrent_forward/backward (spm-layers.h),
 * one dot product at a time with double accumulation, no BLAS.  It stores the
 * same activations in the same places of the work, so either backward can follow
 * either forward. */
#include "recurrent-work.h"

#include <math.h>
#include <string.h>

static double
sigmoid (double x)
{
  return 1.0 / (1.0 + exp (-x));
}

/* Σ_k W[r][k] v[k] for a row r of W [..][K] */
static double
dot_row (const float *Wr, const float *v, int K)
{
  double s = 0.0;
  for (int k = 0; k < K; k++)
    s += (double) Wr[k] * v[k];
  return s;
}

void
spm_recurrent_forward_ref (const SpmRecurrentParams *p, SpmRecurrentWork *w,
                           int T, int B, const float *x, const float *h0, const float *c0,
                           const uint8_t *valid, const uint8_t *reset,
                           float *y, float *hT, float *cT)
{
  g_return_if_fail (T > 0 && T <= w->T_max && B > 0 && B <= w->B_max);
  const int H = w->H, D = w->D, G = w->G, GH = G * H;
  const gboolean lstm = w->cell == SPM_CELL_LSTM;
  const size_t BH = (size_t) B * H;
  spm_recurrent_work_set_masks (w, T, B, valid, reset);

  for (size_t n = 0; n < BH; n++)
    {
      w->hs[n] = h0 != NULL ? h0[n] : 0.0f;
      if (lstm)
        w->cs[n] = c0 != NULL ? c0[n] : 0.0f;
    }
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++)
      {
        size_t tb = (size_t) t * B + b, o = (size_t) b * H;
        float *hp = w->hs + t * BH + o, *hn = hp + BH, *yb = y + tb * H;
        float *cp = lstm ? w->cs + t * BH + o : NULL, *cn = lstm ? cp + BH : NULL;
        float *a = w->gates + tb * GH;
        if (w->reset[tb])
          for (int j = 0; j < H; j++)
            {
              hp[j] = 0.0f;
              if (lstm)
                cp[j] = 0.0f;
            }
        if (!w->valid[tb])
          {
            for (int j = 0; j < H; j++)
              {
                hn[j] = hp[j];
                if (lstm)
                  cn[j] = cp[j];
                yb[j] = 0.0f;
              }
            continue;
          }
        for (int r = 0; r < GH; r++)
          {
            double s = (double) p->b_ih[r] + p->b_hh[r]
                       + dot_row (p->W_ih + (size_t) r * D, x + tb * D, D)
                       + dot_row (p->W_hh + (size_t) r * H, hp, H);
            if (!lstm || (r >= 2 * H && r < 3 * H))
              a[r] = (float) tanh (s);
            else
              a[r] = (float) sigmoid (s);
          }
        for (int j = 0; j < H; j++)
          {
            if (!lstm)
              {
                hn[j] = yb[j] = a[j];
                continue;
              }
            double c = (double) a[H + j] * cp[j] + (double) a[j] * a[2 * H + j];
            double th = tanh (c);
            cn[j] = (float) c;
            w->tc[t * BH + o + j] = (float) th;
            hn[j] = yb[j] = (float) (a[3 * H + j] * th);
          }
      }
  if (hT != NULL)
    memcpy (hT, w->hs + T * BH, BH * sizeof (float));
  if (lstm && cT != NULL)
    memcpy (cT, w->cs + T * BH, BH * sizeof (float));
}

void
spm_recurrent_backward_ref (const SpmRecurrentParams *p, const SpmRecurrentParams *g,
                            SpmRecurrentWork *w, int T, int B,
                            const float *x, const float *dy, const float *dhT, const float *dcT,
                            float *dx, float *dh0, float *dc0)
{
  g_return_if_fail (T == w->T && B == w->B);
  const int H = w->H, D = w->D, GH = w->G * H;
  const gboolean lstm = w->cell == SPM_CELL_LSTM;
  const size_t BH = (size_t) B * H;
  float *dh = w->dh, *dc = w->dc;

  for (size_t n = 0; n < BH; n++)
    {
      dh[n] = dhT != NULL ? dhT[n] : 0.0f;
      if (lstm)
        dc[n] = dcT != NULL ? dcT[n] : 0.0f;
    }
  for (int t = T - 1; t >= 0; t--)
    for (int b = 0; b < B; b++)
      {
        size_t tb = (size_t) t * B + b, o = (size_t) b * H;
        const float *a = w->gates + tb * GH;
        float *da = w->dgates + tb * GH, *dhb = dh + o, *dcb = lstm ? dc + o : NULL;
        if (w->valid[tb])
          {
            for (int j = 0; j < H; j++)
              {
                double dht = (double) dhb[j] + (dy != NULL ? dy[tb * H + j] : 0.0);
                if (!lstm)
                  {
                    da[j] = (float) (dht * (1.0 - (double) a[j] * a[j]));
                    continue;
                  }
                double i = a[j], f = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
                double th = w->tc[t * BH + o + j], cp = w->cs[t * BH + o + j];
                double dct = dcb[j] + dht * og * (1.0 - th * th);
                da[j] = (float) (dct * gg * i * (1.0 - i));
                da[H + j] = (float) (dct * cp * f * (1.0 - f));
                da[2 * H + j] = (float) (dct * i * (1.0 - gg * gg));
                da[3 * H + j] = (float) (dht * th * og * (1.0 - og));
                dcb[j] = (float) (dct * f);
              }
            /* dL/dh_{t-1}[k] = Σ_r da[r] W_hh[r][k] */
            for (int k = 0; k < H; k++)
              {
                double s = 0.0;
                for (int r = 0; r < GH; r++)
                  s += (double) da[r] * p->W_hh[(size_t) r * H + k];
                dhb[k] = (float) s;
              }
          }
        else
          for (int r = 0; r < GH; r++)
            da[r] = 0.0f;
        if (w->reset[tb])
          for (int j = 0; j < H; j++)
            {
              dhb[j] = 0.0f;
              if (lstm)
                dcb[j] = 0.0f;
            }
      }
  if (dh0 != NULL)
    memcpy (dh0, dh, BH * sizeof (float));
  if (lstm && dc0 != NULL)
    memcpy (dc0, dc, BH * sizeof (float));

  const size_t TB = (size_t) T * B;
  for (int r = 0; g != NULL && r < GH; r++)
    {
      double sb = 0.0;
      for (size_t n = 0; n < TB; n++)
        sb += w->dgates[n * GH + r];
      g->b_ih[r] += (float) sb;
      g->b_hh[r] += (float) sb;
      for (int k = 0; k < D; k++)
        {
          double s = 0.0;
          for (size_t n = 0; n < TB; n++)
            s += (double) w->dgates[n * GH + r] * x[n * D + k];
          g->W_ih[(size_t) r * D + k] += (float) s;
        }
      for (int k = 0; k < H; k++)
        {
          double s = 0.0;
          for (size_t n = 0; n < TB; n++)
            s += (double) w->dgates[n * GH + r] * w->hs[n * H + k];
          g->W_hh[(size_t) r * H + k] += (float) s;
        }
    }
  for (size_t n = 0; dx != NULL && n < TB; n++)
    for (int k = 0; k < D; k++)
      {
        double s = 0.0;
        for (int r = 0; r < GH; r++)
          s += (double) w->dgates[n * GH + r] * p->W_ih[(size_t) r * D + k];
        dx[n * D + k] = (float) s;
      }
}
