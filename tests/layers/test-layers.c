/* test-layers.c — the feed-forward layers of models/layers.c and the RNG of
 * models/rng.c: each backward against central finite differences of its forward,
 * plus the properties each layer promises (stability, masks, accumulation). */
#include "check.h"

/* A loss L(v) = Σ forward(v) · R, evaluated by a test-specific callback. */
typedef double (*LossFn) (gpointer ctx);

/* Central differences dL/dv_i with ε = 1e-2.  Every layer here is linear or smooth
 * with moderate curvature on inputs of order 1: truncation ε²/6 |L'''| ≲ 1e-4 and
 * float rounding / 2ε ≲ 1e-5, so 1e-3 + 1e-2 |g| is a safe tolerance that a wrong
 * term (an error of order 0.1) still fails. */
static void
gradcheck (const char *name, float *v, size_t n, const float *analytic, LossFn f, gpointer ctx)
{
  g_autofree float *num = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      float keep = v[i];
      v[i] = keep + 1e-2f;
      double hv = v[i], Lp = f (ctx);
      v[i] = keep - 1e-2f;
      double lv = v[i], Lm = f (ctx);
      v[i] = keep;
      num[i] = (float) ((Lp - Lm) / (hv - lv));
    }
  check_close (name, analytic, num, n, 1e-3, 1e-2);
}

static double
dot (const float *a, const float *b, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

/* ---- rng --------------------------------------------------------------------------- */

static void
test_rng (void)
{
  SpmRng a, b, c;
  spm_rng_seed (&a, 42);
  spm_rng_seed (&b, 42);
  spm_rng_seed (&c, 43);
  gboolean differs = FALSE;
  for (int i = 0; i < 100; i++)
    {
      uint64_t x = spm_rng_next (&a);
      g_assert_cmpuint (x, ==, spm_rng_next (&b));
      differs |= x != spm_rng_next (&c);
    }
  g_assert_true (differs);

  /* moments of 200000 draws: standard errors ≈ 6.5e-4 (uniform mean), 2.2e-3
   * (normal mean) and 3.2e-3 (normal variance); the bounds are ≥ 4.5 of those */
  const int n = 200000;
  double su = 0.0, sn = 0.0, sn2 = 0.0;
  spm_rng_seed (&a, 7);
  for (int i = 0; i < n; i++)
    {
      float u = spm_rng_uniform (&a);
      g_assert_true (u >= 0.0f && u < 1.0f);
      su += u;
      double z = spm_rng_normal (&a);
      g_assert_true (isfinite (z));
      sn += z;
      sn2 += z * z;
    }
  g_assert_cmpfloat (fabs (su / n - 0.5), <, 3e-3);
  g_assert_cmpfloat (fabs (sn / n), <, 1e-2);
  g_assert_cmpfloat (fabs (sn2 / n - 1.0), <, 1.5e-2);
}

/* ---- linear -------------------------------------------------------------------------- */

typedef struct { int N, In, Out; float *W, *b, *x, *y, *R; } Linear;

static double
linear_loss (gpointer p)
{
  Linear *l = p;
  spm_linear_forward (l->W, l->b, l->N, l->In, l->Out, l->x, l->y);
  return dot (l->y, l->R, (size_t) l->N * l->Out);
}

static void
test_linear (void)
{
  SpmRng rng;
  spm_rng_seed (&rng, 3);
  for (int N = 1; N <= 4; N += 3)
    {
      Linear l = { N, 5, 3, NULL, NULL, NULL, NULL, NULL };
      l.W = g_new (float, l.Out * l.In);
      l.b = g_new (float, l.Out);
      l.x = g_new (float, N * l.In);
      l.y = g_new (float, N * l.Out);
      l.R = g_new (float, N * l.Out);
      fill_uniform (l.W, l.Out * l.In, -1, 1, &rng);
      fill_uniform (l.b, l.Out, -1, 1, &rng);
      fill_uniform (l.x, N * l.In, -1, 1, &rng);
      fill_uniform (l.R, N * l.Out, -1, 1, &rng);

      /* forward against the plain sum (N = 1 takes the GEMV path) */
      g_autofree float *want = g_new (float, N * l.Out);
      for (int n = 0; n < N; n++)
        for (int o = 0; o < l.Out; o++)
          want[n * l.Out + o] = l.b[o] + dot (l.W + o * l.In, l.x + n * l.In, l.In);
      linear_loss (&l);
      check_close ("linear y", l.y, want, N * l.Out, 1e-6, 1e-5);

      g_autofree float *dW = g_new0 (float, l.Out * l.In), *db = g_new0 (float, l.Out);
      g_autofree float *dx = g_new (float, N * l.In);
      spm_linear_backward (l.W, N, l.In, l.Out, l.x, l.R, dW, db, dx);
      gradcheck ("linear dW", l.W, l.Out * l.In, dW, linear_loss, &l);
      gradcheck ("linear db", l.b, l.Out, db, linear_loss, &l);
      gradcheck ("linear dx", l.x, N * l.In, dx, linear_loss, &l);
      /* parameter gradients accumulate */
      spm_linear_backward (l.W, N, l.In, l.Out, l.x, l.R, dW, db, NULL);
      for (int o = 0; o < l.Out; o++)
        want[o] = 0.0f;
      for (int n = 0; n < N; n++)
        for (int o = 0; o < l.Out; o++)
          want[o] += 2.0f * l.R[n * l.Out + o];
      check_close ("linear db twice", db, want, l.Out, 1e-5, 1e-5);
      g_free (l.W); g_free (l.b); g_free (l.x); g_free (l.y); g_free (l.R);
    }
}

/* ---- embedding ------------------------------------------------------------------------ */

typedef struct { int V, dim, N; const int32_t *idx; float *E, *y, *R; } Embed;

static double
embedding_loss (gpointer p)
{
  Embed *e = p;
  spm_embedding_forward (e->E, e->V, e->dim, e->N, e->idx, e->y);
  return dot (e->y, e->R, (size_t) e->N * e->dim);
}

static void
test_embedding (void)
{
  enum { V = 4, DIM = 3, N = 5 };
  const int32_t idx[N] = { 2, 0, 2, 3, 2 };
  float E[V * DIM], y[N * DIM], dy[N * DIM], dE[V * DIM] = { 0 }, want[V * DIM] = { 0 };
  SpmRng rng;
  spm_rng_seed (&rng, 5);
  fill_uniform (E, V * DIM, -1, 1, &rng);
  fill_uniform (dy, N * DIM, -1, 1, &rng);
  spm_embedding_forward (E, V, DIM, N, idx, y);
  for (int n = 0; n < N; n++)
    g_assert_cmpmem (y + n * DIM, DIM * sizeof (float), E + idx[n] * DIM, DIM * sizeof (float));
  spm_embedding_backward (V, DIM, N, idx, dy, dE);
  for (int n = 0; n < N; n++)
    for (int k = 0; k < DIM; k++)
      want[idx[n] * DIM + k] += dy[n * DIM + k];
  /* row 2 appears three times and gets all three; row 1 appears never and stays 0 */
  check_close ("embedding dE", dE, want, V * DIM, 1e-6, 1e-6);
  for (int k = 0; k < DIM; k++)
    g_assert_cmpfloat (dE[1 * DIM + k], ==, 0.0f);
  Embed e = { V, DIM, N, idx, E, y, dy };
  gradcheck ("embedding dE (finite differences)", E, V * DIM, dE, embedding_loss, &e);
}

/* ---- softmax and cross-entropy --------------------------------------------------------- */

static void
test_softmax (void)
{
  float l[4] = { 1000.0f, 1001.0f, 999.0f, -1000.0f }, p[4];
  spm_softmax (l, 4, p);
  double s = 0.0;
  for (int c = 0; c < 4; c++)
    {
      g_assert_true (isfinite (p[c]));
      s += p[c];
    }
  g_assert_cmpfloat (fabs (s - 1.0), <, 1e-6);
  double z = exp (-1.0) + 1.0 + exp (-2.0);
  float want[4] = { (float) (exp (-1.0) / z), (float) (1.0 / z), (float) (exp (-2.0) / z), 0.0f };
  check_close ("softmax", p, want, 4, 1e-7, 1e-6);
  spm_softmax (l, 4, l);   /* in place */
  check_close ("softmax in place", l, want, 4, 1e-7, 1e-6);
}

typedef struct { int N, C; float *logits; const int32_t *targets; float scale; } Xent;

static double
xent_loss (gpointer p)
{
  Xent *x = p;
  return x->scale * spm_softmax_xent (x->logits, x->N, x->C, x->targets, 1.0f, NULL, NULL);
}

static void
test_xent (void)
{
  enum { N = 5, C = 4 };
  const int32_t targets[N] = { 1, -1, 3, 0, -1 };
  float logits[N * C], dl[N * C];
  SpmRng rng;
  spm_rng_seed (&rng, 9);
  fill_uniform (logits, N * C, -3, 3, &rng);
  logits[2 * C + 1] = 80.0f;   /* a confident wrong row stays finite */

  int nv = -1;
  double L = spm_softmax_xent (logits, N, C, targets, 1.0f / 3, dl, &nv);
  g_assert_cmpint (nv, ==, 3);
  double want = 0.0;
  for (int n = 0; n < N; n++)
    if (targets[n] >= 0)
      {
        double z = 0.0;
        for (int c = 0; c < C; c++)
          z += exp ((double) logits[n * C + c] - 80.0);
        want += 80.0 + log (z) - logits[n * C + targets[n]];
      }
  g_assert_cmpfloat (fabs (L - want), <, 1e-9 * fabs (want) + 1e-9);
  for (int c = 0; c < C; c++)   /* ignored rows: no gradient */
    g_assert_cmpfloat (dl[1 * C + c] + dl[4 * C + c], ==, 0.0f);
  /* with scale = 1/n_valid, dl is the gradient of the mean over valid rows */
  Xent x = { N, C, logits, targets, 1.0f / 3 };
  gradcheck ("xent dlogits", logits, N * C, dl, xent_loss, &x);
}

typedef struct { int N, C; float *logits; const int32_t *targets; const float *w; double W; } WXent;

/* Σ w[y] nll / W with W fixed: the weighted mean whose gradient dlogits is */
static double
wxent_loss (gpointer p)
{
  WXent *x = p;
  return spm_softmax_xent_weighted (x->logits, x->N, x->C, x->targets, x->w, 1.0f, NULL, NULL)
         / x->W;
}

/* the weighted form against a naive one built on spm_softmax (per row, in double), by
 * finite differences, and with w = NULL against the unweighted form bit for bit */
static void
test_xent_weighted (void)
{
  enum { N = 6, C = 3 };
  const int32_t targets[N] = { 2, -1, 0, 2, 1, -1 };
  const float w[C] = { 0.25f, 3.0f, 1.5f };
  float logits[N * C], dl[N * C], dl1[N * C], dl0[N * C], probs[C];
  SpmRng rng;
  spm_rng_seed (&rng, 17);
  fill_uniform (logits, N * C, -4, 4, &rng);

  double W = 0, want = 0;
  float want_dl[N * C];
  for (int n = 0; n < N; n++)
    {
      const int t = targets[n];
      if (t >= 0)
        W += w[t];
    }
  for (int n = 0; n < N; n++)
    {
      const int t = targets[n];
      spm_softmax (logits + n * C, C, probs);
      for (int c = 0; c < C; c++)
        want_dl[n * C + c] = t < 0 ? 0.0f : (float) (w[t] * (probs[c] - (c == t)) / W);
      if (t >= 0)
        want -= w[t] * log ((double) probs[t]);
    }
  double wsum = -1;
  double L = spm_softmax_xent_weighted (logits, N, C, targets, w, (float) (1.0 / W), dl, &wsum);
  g_assert_cmpfloat (wsum, ==, W);
  g_assert_cmpfloat (fabs (L - want), <, 1e-6 * fabs (want));
  check_close ("weighted xent dlogits vs naive", dl, want_dl, N * C, 1e-7, 1e-5);
  WXent x = { N, C, logits, targets, w, W };
  gradcheck ("weighted xent dlogits", logits, N * C, dl, wxent_loss, &x);

  int nv;
  double L1 = spm_softmax_xent_weighted (logits, N, C, targets, NULL, 0.25f, dl1, &wsum);
  double L0 = spm_softmax_xent (logits, N, C, targets, 0.25f, dl0, &nv);
  g_assert_cmpfloat (L1, ==, L0);
  g_assert_cmpfloat (wsum, ==, nv);
  g_assert_cmpmem (dl1, sizeof dl1, dl0, sizeof dl0);
}

/* ---- pooling ------------------------------------------------------------------------------ */

typedef struct { int T, B, H; float *h, *out, *R; const uint8_t *valid; gboolean mean; } Pool;

static double
pool_loss (gpointer p)
{
  Pool *q = p;
  if (q->mean)
    spm_mean_pool_forward (q->T, q->B, q->H, q->h, q->valid, q->out);
  else
    spm_last_valid_forward (q->T, q->B, q->H, q->h, q->valid, q->out);
  return dot (q->out, q->R, (size_t) q->B * q->H);
}

static void
test_pool (void)
{
  enum { T = 4, B = 3, H = 2 };
  /* slot 0: all valid; slot 1: steps 0, 2 (a gap); slot 2: none */
  const uint8_t valid[T * B] = { 1, 1, 0,  1, 0, 0,  1, 1, 0,  1, 0, 0 };
  float h[T * B * H], out[B * H], R[B * H], dh[T * B * H];
  SpmRng rng;
  spm_rng_seed (&rng, 13);
  fill_uniform (h, T * B * H, -1, 1, &rng);
  fill_uniform (R, B * H, -1, 1, &rng);
  for (int mean = 0; mean <= 1; mean++)
    {
      Pool q = { T, B, H, h, out, R, valid, mean };
      pool_loss (&q);
      float want[B * H];
      for (int k = 0; k < H; k++)
        {
          want[0 * H + k] = mean ? (h[(0 * B + 0) * H + k] + h[(1 * B + 0) * H + k]
                                    + h[(2 * B + 0) * H + k] + h[(3 * B + 0) * H + k]) / 4
                                 : h[(3 * B + 0) * H + k];
          want[1 * H + k] = mean ? (h[(0 * B + 1) * H + k] + h[(2 * B + 1) * H + k]) / 2
                                 : h[(2 * B + 1) * H + k];
          want[2 * H + k] = 0.0f;
        }
      check_close (mean ? "mean pool" : "last valid", out, want, B * H, 1e-6, 1e-6);
      memset (dh, 0, sizeof dh);
      if (mean)
        spm_mean_pool_backward (T, B, H, valid, R, dh);
      else
        spm_last_valid_backward (T, B, H, valid, R, dh);
      gradcheck (mean ? "mean pool dh" : "last valid dh", h, T * B * H, dh, pool_loss, &q);
    }
}

/* ---- dropout -------------------------------------------------------------------------------- */

typedef struct { int N; float p; float *x, *y, *R; } Drop;

/* a fresh generator with the same seed each time: the same mask at every call */
static double
dropout_loss (gpointer p)
{
  Drop *d = p;
  SpmRng rng;
  spm_rng_seed (&rng, 99);
  spm_dropout_forward (d->N, d->p, &rng, d->x, d->y, NULL);
  return dot (d->y, d->R, d->N);
}

static void
test_dropout (void)
{
  enum { N = 20000 };
  g_autofree float *x = g_new (float, N), *y = g_new (float, N), *dx = g_new (float, N);
  g_autofree uint8_t *mask = g_new (uint8_t, N), *mask2 = g_new (uint8_t, N);
  SpmRng rng, rng2;
  spm_rng_seed (&rng, 17);
  fill_uniform (x, N, -1, 1, &rng);

  spm_dropout_forward (N, 0.0f, &rng, x, y, mask);
  g_assert_cmpmem (x, N * sizeof (float), y, N * sizeof (float));

  const float p = 0.25f;
  spm_rng_seed (&rng, 1);
  spm_rng_seed (&rng2, 1);
  spm_dropout_forward (N, p, &rng, x, y, mask);
  spm_dropout_forward (N, p, &rng2, x, dx, mask2);
  g_assert_cmpmem (mask, N, mask2, N);          /* the seed decides the mask */
  int kept = 0;
  for (int n = 0; n < N; n++)
    {
      kept += mask[n];
      g_assert_cmpfloat (y[n], ==, mask[n] ? x[n] * (1.0f / (1.0f - p)) : 0.0f);
    }
  /* binomial: sd of the kept fraction = sqrt(p(1-p)/N) ≈ 3.1e-3 */
  g_assert_cmpfloat (fabs ((double) kept / N - (1.0 - p)), <, 0.02);
  spm_dropout_backward (N, p, mask, x, dx);     /* dy = x */
  for (int n = 0; n < N; n++)
    g_assert_cmpfloat (dx[n], ==, y[n]);        /* the same linear map */

  enum { M = 64 };
  float xs[M], ys[M], R[M], dxs[M];
  uint8_t ms[M];
  fill_uniform (xs, M, -1, 1, &rng);
  fill_uniform (R, M, -1, 1, &rng);
  spm_rng_seed (&rng2, 99);
  spm_dropout_forward (M, 0.5f, &rng2, xs, ys, ms);
  spm_dropout_backward (M, 0.5f, ms, R, dxs);
  Drop d = { M, 0.5f, xs, ys, R };
  gradcheck ("dropout dx (finite differences)", xs, M, dxs, dropout_loss, &d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  g_test_add_func ("/layers/rng", test_rng);
  g_test_add_func ("/layers/linear", test_linear);
  g_test_add_func ("/layers/embedding", test_embedding);
  g_test_add_func ("/layers/softmax", test_softmax);
  g_test_add_func ("/layers/xent", test_xent);
  g_test_add_func ("/layers/xent-weighted", test_xent_weighted);
  g_test_add_func ("/layers/pool", test_pool);
  g_test_add_func ("/layers/dropout", test_dropout);
  return g_test_run ();
}
