/* recurrent.c — LSTM / tanh-RNN layer over BLAS (equations in spm-layers.h).
 *
 * Forward of a chunk x [T][B][D]:
 *   gates[T*B][G*H]  = x[T*B][D] W_ih^T                      one sgemm for the chunk
 *   per step t:
 *     gates[t] += h_{t-1}[B][H] W_hh^T                        one sgemm (matvec_sum when B = 1)
 *     h_t, c_t, y_t from gates[t] + b_ih + b_hh               one fused elementwise pass
 *   T = B = 1 (streaming): gates = W_ih x + W_hh h_{t-1} in one matvec_sum pass
 * Backward:
 *   per step t (reverse):
 *     dgates[t] from dy_t, dh, dc and the stored activations  one fused elementwise pass
 *     dh_{t-1} = dgates[t][B][G*H] W_hh                        one sgemm (sgemv when B = 1)
 *   per chunk:
 *     dW_ih += dgates^T x,  dW_hh += dgates^T h_prev,  db += Σ_rows dgates,  dx = dgates W_ih
 * Nothing is allocated after spm_recurrent_work_new.
 */
#include "recurrent-work.h"

#include <cblas.h>
#include <string.h>

#define ALIGN_FLOATS 16   /* 64-byte alignment of every buffer in the block */

/* The elementwise kernels are also compiled for AVX-512 and AVX2 and picked at load
 * time by CPU feature (not by CPU model: "arch=" clones are chosen by model name,
 * and a newer model than the compiler knows would get the baseline); the build
 * itself targets plain x86-64.  Not under ThreadSanitizer: it instruments the clones'
 * IFUNC resolvers, which run before its runtime is up, and the program faults at load. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(__SANITIZE_THREAD__)
#define SPM_VECTOR_CLONES \
  __attribute__ ((target_clones ("avx512f", "avx2", "default"), \
                  optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")))
/* The B = 1 matrix-vector kernel: the same selection, with FMA on the AVX2 clone
 * (every AVX2 CPU has it; the multiply-add is most of that kernel's work). */
#define SPM_MATVEC_CLONES \
  __attribute__ ((target_clones ("avx512f", "avx2,fma", "default"), \
                  optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")))
#else
#define SPM_VECTOR_CLONES
#define SPM_MATVEC_CLONES
#endif

/* ---- elementwise kernels ------------------------------------------------------
 * exp by range reduction, written so that the compiler vectorises the loops that
 * call it:  x = n ln2 + r, |r| <= ln2/2,  e^x = 2^n · p(r)  with p the degree-6
 * Taylor polynomial (relative error < 2e-7 on the interval).
 * n comes from x clamped to [-87, 88] (a NaN counts as -87), so 2^n is a normal
 * float; r comes from x itself (clamped to ±1e4, NaN kept), so beyond the clamp
 * p(r) carries the result towards 0 or +inf (p has no real root) and a NaN input
 * gives a NaN, which the trainer must see. */
static inline __attribute__ ((always_inline)) float
fast_exp (float x)
{
  x = x < -1e4f ? -1e4f : x;
  x = x > 1e4f ? 1e4f : x;
  float xc = x > -87.0f ? x : -87.0f;
  xc = xc < 88.0f ? xc : 88.0f;
  const float shifter = 12582912.0f;               /* 1.5 · 2^23: rounds to integer */
  float t = xc * 1.44269504088896341f + shifter;
  float n = t - shifter;
  float r = x - n * 0.693145751953125f;            /* ln2 split in a high ... */
  r = r - n * 1.428606765330187045e-06f;           /* ... and a low part */
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t ni = (int32_t) n;
  uint32_t bits = (uint32_t) (ni + 127) << 23;     /* 2^n, n in [-126, 127] */
  float scale;
  memcpy (&scale, &bits, sizeof scale);
  return p * scale;
}

static inline __attribute__ ((always_inline)) float
sigmoidf (float x)
{
  return 1.0f / (1.0f + fast_exp (-x));
}

/* tanh x = 1 - 2 / (e^{2x} + 1)  (absolute error ~1e-7 near 0) */
static inline __attribute__ ((always_inline)) float
fast_tanh (float x)
{
  return 1.0f - 2.0f / (fast_exp (2.0f * x) + 1.0f);
}

/* LSTM step of one slot.  a [4H]: pre-activations without bias in, i f g o out;
 * bias [4H] = b_ih + b_hh;  c_t = f c_{t-1} + i g;  tc = tanh c_t;  h_t = y_t = o tc */
SPM_VECTOR_CLONES static void
lstm_cell_forward (int H, float *restrict a, const float *restrict bias, const float *restrict cp,
                   float *restrict cn, float *restrict tc, float *restrict hn, float *restrict y)
{
  float *ai = a, *af = a + H, *ag = a + 2 * H, *ao = a + 3 * H;
  const float *bi = bias, *bf = bias + H, *bg = bias + 2 * H, *bo = bias + 3 * H;
  for (int j = 0; j < H; j++)
    {
      float i = sigmoidf (ai[j] + bi[j]), f = sigmoidf (af[j] + bf[j]);
      float g = fast_tanh (ag[j] + bg[j]), o = sigmoidf (ao[j] + bo[j]);
      float c = f * cp[j] + i * g, th = fast_tanh (c), h = o * th;
      ai[j] = i; af[j] = f; ag[j] = g; ao[j] = o;
      cn[j] = c; tc[j] = th; hn[j] = h; y[j] = h;
    }
}

/* Backward of one LSTM slot.  dh, dc [H]: gradients at h_t, c_t from later steps
 * (dh + dy is the total at h_t); on return dc = dL/dc_{t-1} and dh = 0 (the
 * recurrent gemm adds dL/dh_{t-1}).  da [4H] = dL/d(pre-activations):
 *   dc_t = dc + (dh + dy) o (1 - tc²)
 *   di = dc_t g i(1-i)   df = dc_t c_{t-1} f(1-f)   dg = dc_t i (1-g²)   do = (dh + dy) tc o(1-o) */
SPM_VECTOR_CLONES static void
lstm_cell_backward (int H, const float *restrict a, const float *restrict cp,
                    const float *restrict tc, const float *restrict dy, float *restrict dh,
                    float *restrict dc, float *restrict da)
{
  const float *ai = a, *af = a + H, *ag = a + 2 * H, *ao = a + 3 * H;
  for (int j = 0; j < H; j++)
    {
      float dht = dh[j] + dy[j];
      float i = ai[j], f = af[j], g = ag[j], o = ao[j], th = tc[j];
      float dct = dc[j] + dht * o * (1.0f - th * th);
      da[j] = dct * g * i * (1.0f - i);
      da[H + j] = dct * cp[j] * f * (1.0f - f);
      da[2 * H + j] = dct * i * (1.0f - g * g);
      da[3 * H + j] = dht * th * o * (1.0f - o);
      dc[j] = dct * f;
      dh[j] = 0.0f;
    }
}

/* RNN step of one slot: a [H] pre-activations without bias in,
 * h_t = tanh(a + b_ih + b_hh) out (kept in a) */
SPM_VECTOR_CLONES static void
rnn_cell_forward (int H, float *restrict a, const float *restrict bias, float *restrict hn,
                  float *restrict y)
{
  for (int j = 0; j < H; j++)
    {
      float h = fast_tanh (a[j] + bias[j]);
      a[j] = h; hn[j] = h; y[j] = h;
    }
}

/* da = (dh + dy)(1 - h_t²); dh = 0 */
SPM_VECTOR_CLONES static void
rnn_cell_backward (int H, const float *restrict a, const float *restrict dy,
                   float *restrict dh, float *restrict da)
{
  for (int j = 0; j < H; j++)
    {
      float dht = dh[j] + dy[j];
      da[j] = dht * (1.0f - a[j] * a[j]);
      dh[j] = 0.0f;
    }
}

/* ---- matrix-vector kernel of the B = 1 forward --------------------------------
 * y[N] = (accumulate ? y : 0) + W1[N][K1] v1[K1] + W2[N][K2] v2[K2]   (K2 may be 0)
 *
 * Rows go four at a time, so each v element is loaded once per four rows and every
 * weight row is read once, front to back.  Summation order of row n (fixed, so the
 * result is the same on every call and does not depend on the alignment of the
 * data; it may differ in the last bits between the clones, since the AVX ones fuse
 * the multiply-add):
 *   s[l] for l < 16 sums W1[n][k] v1[k] over k ≡ l (mod 16), k < K1 - K1 % 16, in
 *        increasing k, then W2[n][k] v2[k] the same way over K2;
 *   tail sums the remaining K1 % 16 then K2 % 16 products in increasing k;
 *   dot = ((s folded pairwise: s[l] += s[l + 8], then + 4, + 2, + 1) -> s[0]) + tail;
 *   y[n] = dot, or y[n] + dot when accumulating.
 * Sixteen float lanes per row are one AVX-512 register or two AVX2 ones, so the
 * compiler keeps all four rows' sums in registers. */
#define MV_LANES 16

/* s_r[l] and t[r] (r < 4) += the products of rows w + r ld with v over k < K */
static inline __attribute__ ((always_inline)) void
dot_rows4 (int K, const float *restrict w0, const float *restrict w1, const float *restrict w2,
           const float *restrict w3, const float *restrict v,
           float *restrict s0, float *restrict s1, float *restrict s2, float *restrict s3,
           float *restrict t)
{
  const int K16 = K - K % MV_LANES;
  int k = 0;
  for (; k < K16; k += MV_LANES)
    for (int l = 0; l < MV_LANES; l++)
      {
        float x = v[k + l];
        s0[l] += w0[k + l] * x;
        s1[l] += w1[k + l] * x;
        s2[l] += w2[k + l] * x;
        s3[l] += w3[k + l] * x;
      }
  for (; k < K; k++)
    {
      t[0] += w0[k] * v[k];
      t[1] += w1[k] * v[k];
      t[2] += w2[k] * v[k];
      t[3] += w3[k] * v[k];
    }
}

static inline __attribute__ ((always_inline)) float
fold_lanes (float *s)
{
  for (int half = MV_LANES / 2; half > 0; half /= 2)
    for (int l = 0; l < half; l++)
      s[l] += s[l + half];
  return s[0];
}

SPM_MATVEC_CLONES static void
matvec_sum (int N, int K1, const float *restrict W1, const float *restrict v1,
            int K2, const float *restrict W2, const float *restrict v2,
            gboolean accumulate, float *restrict y)
{
  for (int n = 0; n < N; n += 4)
    {
      /* a last block of fewer than four rows repeats row N - 1 and keeps its own */
      size_t r[4];
      for (int i = 0; i < 4; i++)
        r[i] = (size_t) (n + i < N ? n + i : N - 1);
      float s0[MV_LANES] = { 0 }, s1[MV_LANES] = { 0 }, s2[MV_LANES] = { 0 };
      float s3[MV_LANES] = { 0 }, t[4] = { 0 };
      dot_rows4 (K1, W1 + r[0] * K1, W1 + r[1] * K1, W1 + r[2] * K1, W1 + r[3] * K1, v1,
                 s0, s1, s2, s3, t);
      if (K2 > 0)
        dot_rows4 (K2, W2 + r[0] * K2, W2 + r[1] * K2, W2 + r[2] * K2, W2 + r[3] * K2, v2,
                   s0, s1, s2, s3, t);
      float d[4] = { fold_lanes (s0) + t[0], fold_lanes (s1) + t[1],
                     fold_lanes (s2) + t[2], fold_lanes (s3) + t[3] };
      for (int i = 0; i < 4 && n + i < N; i++)
        y[n + i] = accumulate ? y[n + i] + d[i] : d[i];
    }
}

/* db1 += Σ_n m[n][:]  and db2 += the same   (m [N][C]) */
SPM_VECTOR_CLONES static void
column_sums (int N, int C, const float *m, float *db1, float *db2)
{
  for (int c0 = 0; c0 < C; c0 += 256)
    {
      float acc[256];
      int nc = C - c0 < 256 ? C - c0 : 256;
      memset (acc, 0, sizeof acc);
      for (int n = 0; n < N; n++)
        {
          const float *row = m + (size_t) n * C + c0;
          for (int c = 0; c < nc; c++)
            acc[c] += row[c];
        }
      for (int c = 0; c < nc; c++)
        {
          db1[c0 + c] += acc[c];
          db2[c0 + c] += acc[c];
        }
    }
}

static size_t
round_up (size_t n)
{
  return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

SpmRecurrentWork *
spm_recurrent_work_new (SpmCell cell, int D, int H, int T_max, int B_max)
{
  g_return_val_if_fail (D > 0 && H > 0 && T_max > 0 && B_max > 0, NULL);
  SpmRecurrentWork *w = g_new0 (SpmRecurrentWork, 1);
  w->cell = cell;
  w->G = SPM_CELL_GATES (cell);
  w->D = D;
  w->H = H;
  w->T_max = T_max;
  w->B_max = B_max;

  size_t TB = (size_t) T_max * B_max, GH = (size_t) w->G * H;
  size_t n_gates = round_up (TB * GH), n_state = round_up ((TB + B_max) * H);
  size_t n_tc = cell == SPM_CELL_LSTM ? round_up (TB * H) : 0;
  size_t n_bh = round_up ((size_t) B_max * H);
  size_t n_cs = cell == SPM_CELL_LSTM ? n_state : 0;
  size_t n_floats = 2 * n_gates + n_state + n_cs + n_tc + 2 * n_bh + round_up (H) + round_up (GH);
  size_t n_bytes = (n_floats + ALIGN_FLOATS) * sizeof (float) + 2 * TB;

  w->block = g_malloc0 (n_bytes);
  float *f = (float *) (((uintptr_t) w->block + 63) & ~(uintptr_t) 63);
  w->gates = f;   f += n_gates;
  w->dgates = f;  f += n_gates;
  w->hs = f;      f += n_state;
  w->cs = n_cs ? f : NULL;  f += n_cs;
  w->tc = n_tc ? f : NULL;  f += n_tc;
  w->dh = f;      f += n_bh;
  w->dc = f;      f += n_bh;
  w->zeros = f;   f += round_up (H);
  w->bias = f;    f += round_up (GH);
  w->valid = (uint8_t *) f;
  w->reset = w->valid + TB;
  return w;
}

void
spm_recurrent_work_free (SpmRecurrentWork *w)
{
  if (w == NULL)
    return;
  g_free (w->block);
  g_free (w);
}

void
spm_recurrent_work_set_masks (SpmRecurrentWork *w, int T, int B,
                              const uint8_t *valid, const uint8_t *reset)
{
  size_t TB = (size_t) T * B;
  w->T = T;
  w->B = B;
  for (size_t i = 0; i < TB; i++)   /* stored as 0/1, whatever non-zero value came */
    {
      w->valid[i] = valid == NULL || valid[i] != 0;
      w->reset[i] = reset != NULL && reset[i] != 0;
    }
}

/* rows [B][H] of a and (LSTM) c where reset[b]: zeroed */
static void
zero_reset_rows (int B, int H, const uint8_t *reset, float *h, float *c)
{
  for (int b = 0; b < B; b++)
    if (reset[b])
      {
        memset (h + (size_t) b * H, 0, H * sizeof (float));
        if (c != NULL)
          memset (c + (size_t) b * H, 0, H * sizeof (float));
      }
}

/* acc[B][N] += a[B][K] Wᵀ with W [N][K]  (or, transposed, acc += a W with W [K][N]) */
static void
gemm_rows (int B, int N, int K, const float *a, const float *W, gboolean W_is_NK, float *acc)
{
  if (B == 1)
    cblas_sgemv (CblasRowMajor, W_is_NK ? CblasNoTrans : CblasTrans,
                 W_is_NK ? N : K, W_is_NK ? K : N, 1.0f, W, W_is_NK ? K : N,
                 a, 1, 1.0f, acc, 1);
  else
    cblas_sgemm (CblasRowMajor, CblasNoTrans, W_is_NK ? CblasTrans : CblasNoTrans,
                 B, N, K, 1.0f, a, K, W, W_is_NK ? K : N, 1.0f, acc, N);
}

void
spm_recurrent_forward (const SpmRecurrentParams *p, SpmRecurrentWork *w,
                       int T, int B, const float *x, const float *h0, const float *c0,
                       const uint8_t *valid, const uint8_t *reset,
                       float *y, float *hT, float *cT)
{
  g_return_if_fail (T > 0 && T <= w->T_max && B > 0 && B <= w->B_max);
  g_return_if_fail (p->cell == w->cell && p->D == w->D && p->H == w->H);
  const int H = w->H, D = w->D, GH = w->G * H;
  const gboolean lstm = w->cell == SPM_CELL_LSTM;
  const size_t BH = (size_t) B * H, BGH = (size_t) B * GH;
  spm_recurrent_work_set_masks (w, T, B, valid, reset);

  /* gates = x W_ih^T over the whole chunk; the biases are added by the cell pass */
  float *gates = w->gates;
  for (int j = 0; j < GH; j++)
    w->bias[j] = p->b_ih[j] + p->b_hh[j];
  const gboolean streaming = T * B == 1;   /* both products in one pass, in the step */
  if (!streaming)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, T * B, GH, D,
                 1.0f, x, D, p->W_ih, D, 0.0f, gates, GH);

  if (h0 != NULL)
    memcpy (w->hs, h0, BH * sizeof (float));
  else
    memset (w->hs, 0, BH * sizeof (float));
  if (lstm)
    {
      if (c0 != NULL)
        memcpy (w->cs, c0, BH * sizeof (float));
      else
        memset (w->cs, 0, BH * sizeof (float));
    }

  for (int t = 0; t < T; t++)
    {
      float *hp = w->hs + t * BH, *hn = hp + BH;
      float *cp = lstm ? w->cs + t * BH : NULL, *cn = lstm ? cp + BH : NULL;
      float *gt = gates + t * BGH;
      const uint8_t *vt = w->valid + (size_t) t * B;
      zero_reset_rows (B, H, w->reset + (size_t) t * B, hp, cp);
      gboolean any_valid = memchr (vt, 1, B) != NULL;   /* padding needs no W_hh product */
      if (streaming)
        matvec_sum (GH, D, p->W_ih, x, any_valid ? H : 0, p->W_hh, hp, FALSE, gt);
      else if (B == 1 && any_valid)
        matvec_sum (GH, H, p->W_hh, hp, 0, NULL, NULL, TRUE, gt);
      else if (any_valid)
        gemm_rows (B, GH, H, hp, p->W_hh, TRUE, gt);
      for (int b = 0; b < B; b++)
        {
          size_t o = (size_t) b * H;
          float *yb = y + t * BH + o;
          if (!vt[b])
            {
              memcpy (hn + o, hp + o, H * sizeof (float));
              if (lstm)
                memcpy (cn + o, cp + o, H * sizeof (float));
              memset (yb, 0, H * sizeof (float));
            }
          else if (lstm)
            lstm_cell_forward (H, gt + (size_t) b * GH, w->bias, cp + o, cn + o,
                               w->tc + t * BH + o, hn + o, yb);
          else
            rnn_cell_forward (H, gt + (size_t) b * GH, w->bias, hn + o, yb);
        }
    }
  if (hT != NULL)
    memcpy (hT, w->hs + T * BH, BH * sizeof (float));
  if (lstm && cT != NULL)
    memcpy (cT, w->cs + T * BH, BH * sizeof (float));
}

void
spm_recurrent_backward (const SpmRecurrentParams *p, const SpmRecurrentParams *g,
                        SpmRecurrentWork *w, int T, int B,
                        const float *x, const float *dy, const float *dhT, const float *dcT,
                        float *dx, float *dh0, float *dc0)
{
  g_return_if_fail (T == w->T && B == w->B);
  const int H = w->H, D = w->D, GH = w->G * H;
  const gboolean lstm = w->cell == SPM_CELL_LSTM;
  const size_t BH = (size_t) B * H, BGH = (size_t) B * GH;
  float *dh = w->dh, *dc = w->dc;

  if (dhT != NULL)
    memcpy (dh, dhT, BH * sizeof (float));
  else
    memset (dh, 0, BH * sizeof (float));
  if (lstm)
    {
      if (dcT != NULL)
        memcpy (dc, dcT, BH * sizeof (float));
      else
        memset (dc, 0, BH * sizeof (float));
    }

  for (int t = T - 1; t >= 0; t--)
    {
      const float *gt = w->gates + t * BGH;
      float *dgt = w->dgates + t * BGH;
      const uint8_t *vt = w->valid + (size_t) t * B;
      for (int b = 0; b < B; b++)
        {
          size_t o = (size_t) b * H;
          const float *dyb = dy != NULL ? dy + t * BH + o : w->zeros;
          if (!vt[b])
            memset (dgt + (size_t) b * GH, 0, GH * sizeof (float));
          else if (lstm)
            lstm_cell_backward (H, gt + (size_t) b * GH, w->cs + t * BH + o,
                                    w->tc + t * BH + o, dyb, dh + o, dc + o,
                                    dgt + (size_t) b * GH);
          else
            rnn_cell_backward (H, gt + (size_t) b * GH, dyb, dh + o, dgt + (size_t) b * GH);
        }
      /* dh (the valid rows were zeroed by the cell) += dgates[t] W_hh */
      if (memchr (vt, 1, B) != NULL)
        gemm_rows (B, H, GH, dgt, p->W_hh, FALSE, dh);
      zero_reset_rows (B, H, w->reset + (size_t) t * B, dh, lstm ? dc : NULL);
    }
  if (dh0 != NULL)
    memcpy (dh0, dh, BH * sizeof (float));
  if (lstm && dc0 != NULL)
    memcpy (dc0, dc, BH * sizeof (float));

  const int TB = T * B;
  if (g != NULL)
    {
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, GH, D, TB,
                   1.0f, w->dgates, GH, x, D, 1.0f, g->W_ih, D);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, GH, H, TB,
                   1.0f, w->dgates, GH, w->hs, H, 1.0f, g->W_hh, H);
      column_sums (TB, GH, w->dgates, g->b_ih, g->b_hh);
    }
  if (dx != NULL)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, TB, D, GH,
                 1.0f, w->dgates, GH, p->W_ih, D, 0.0f, dx, D);
}
