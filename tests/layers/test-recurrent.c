/* test-recurrent.c — the recurrent core (models/recurrent.c) against its naive
 * reference, against central finite differences, and one step at a time against
 * the whole chunk; each for LSTM and RNN, B > 1 (GEMM path) and B = 1 (own
 * matrix-vector kernel), with h0/c0, unequal lengths, a padding gap and resets in
 * mid-chunk; and the B = 1 kernel at sizes that are not multiples of its blocks. */
#include "check.h"

typedef void (*ForwardFn) (const SpmRecurrentParams *, SpmRecurrentWork *, int, int,
                           const float *, const float *, const float *,
                           const uint8_t *, const uint8_t *, float *, float *, float *);
typedef void (*BackwardFn) (const SpmRecurrentParams *, const SpmRecurrentParams *,
                            SpmRecurrentWork *, int, int, const float *, const float *,
                            const float *, const float *, float *, float *, float *);

typedef struct {
  SpmCell cell;
  int T, B, D, H;
  TestLayer p;
  float *x, *h0, *c0;          /* inputs */
  float *dy, *dhT, *dcT;       /* upstream gradient: L = Σ y·dy + Σ hT·dhT + Σ cT·dcT */
  uint8_t *valid, *reset;
} Problem;

/* outputs and gradients of one forward + backward */
typedef struct {
  float *y, *hT, *cT, *dx, *dh0, *dc0;
  TestLayer g;
} Result;

/* masks: slot b has length T - b % 3; slot b % 4 == 3 also has a gap at t = 1;
 * even slots start a new sequence at T/2, slots b % 3 == 2 reset at t = 0;
 * "valid" is written as 1 or 7 (any non-zero value means valid) */
static void
make_masks (int T, int B, uint8_t *valid, uint8_t *reset)
{
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++)
      {
        valid[t * B + b] = t < T - b % 3 && !(b % 4 == 3 && t == 1) ? 1 + 6 * (t % 2) : 0;
        reset[t * B + b] = (b % 2 == 0 && t == T / 2) || (b % 3 == 2 && t == 0);
      }
  if (B == 1)
    valid[T - 1] = 0;   /* a single slot still gets a padded tail */
}

static Problem *
problem_new (SpmCell cell, int T, int B, int D, int H, gboolean masks, uint64_t seed)
{
  Problem *pr = g_new0 (Problem, 1);
  SpmRng rng;
  size_t BH = (size_t) B * H;
  spm_rng_seed (&rng, seed);
  pr->cell = cell;
  pr->T = T;
  pr->B = B;
  pr->D = D;
  pr->H = H;
  test_layer_init (&pr->p, cell, D, H);
  fill_uniform (pr->p.block, pr->p.n, -0.6f, 0.6f, &rng);
  pr->x = g_new (float, (size_t) T * B * D);
  fill_uniform (pr->x, (size_t) T * B * D, -1.0f, 1.0f, &rng);
  pr->h0 = g_new (float, BH);
  pr->c0 = g_new (float, BH);
  fill_uniform (pr->h0, BH, -0.7f, 0.7f, &rng);
  fill_uniform (pr->c0, BH, -0.7f, 0.7f, &rng);
  pr->dy = g_new (float, (size_t) T * BH);
  pr->dhT = g_new (float, BH);
  pr->dcT = g_new (float, BH);
  fill_uniform (pr->dy, (size_t) T * BH, -1.0f, 1.0f, &rng);
  fill_uniform (pr->dhT, BH, -1.0f, 1.0f, &rng);
  fill_uniform (pr->dcT, BH, -1.0f, 1.0f, &rng);
  if (masks)
    {
      pr->valid = g_new (uint8_t, (size_t) T * B);
      pr->reset = g_new (uint8_t, (size_t) T * B);
      make_masks (T, B, pr->valid, pr->reset);
    }
  return pr;
}

static void
problem_free (Problem *pr)
{
  test_layer_clear (&pr->p);
  g_free (pr->x); g_free (pr->h0); g_free (pr->c0);
  g_free (pr->dy); g_free (pr->dhT); g_free (pr->dcT);
  g_free (pr->valid); g_free (pr->reset);
  g_free (pr);
}

static void
result_init (Result *r, const Problem *pr)
{
  size_t BH = (size_t) pr->B * pr->H;
  r->y = g_new0 (float, pr->T * BH);
  r->hT = g_new0 (float, BH);
  r->cT = g_new0 (float, BH);
  r->dx = g_new0 (float, (size_t) pr->T * pr->B * pr->D);
  r->dh0 = g_new0 (float, BH);
  r->dc0 = g_new0 (float, BH);
  test_layer_init (&r->g, pr->cell, pr->D, pr->H);
}

static void
result_clear (Result *r)
{
  g_free (r->y); g_free (r->hT); g_free (r->cT);
  g_free (r->dx); g_free (r->dh0); g_free (r->dc0);
  test_layer_clear (&r->g);
}

static void
run (const Problem *pr, ForwardFn fwd, BackwardFn bwd, Result *r)
{
  g_autoptr (SpmRecurrentWork) w = spm_recurrent_work_new (pr->cell, pr->D, pr->H, pr->T, pr->B);
  fwd (&pr->p.p, w, pr->T, pr->B, pr->x, pr->h0, pr->c0, pr->valid, pr->reset,
       r->y, r->hT, r->cT);
  bwd (&pr->p.p, &r->g.p, w, pr->T, pr->B, pr->x, pr->dy, pr->dhT, pr->dcT,
       r->dx, r->dh0, r->dc0);
}

static void
check_results (const char *what, const Problem *pr, const Result *a, const Result *b,
               double atol, double rtol)
{
  size_t BH = (size_t) pr->B * pr->H;
  gboolean lstm = pr->cell == SPM_CELL_LSTM;
  g_autofree char *prefix = g_strdup (what);
#define CHECK(name, field, n) do { g_autofree char *s = g_strdup_printf ("%s %s", prefix, name); \
    check_close (s, a->field, b->field, n, atol, rtol); } while (0)
  CHECK ("y", y, pr->T * BH);
  CHECK ("hT", hT, BH);
  CHECK ("dx", dx, (size_t) pr->T * pr->B * pr->D);
  CHECK ("dh0", dh0, BH);
  if (lstm)
    {
      CHECK ("cT", cT, BH);
      CHECK ("dc0", dc0, BH);
    }
  CHECK ("dW/db", g.block, a->g.n);
#undef CHECK
}

/* ---- optimized against naive --------------------------------------------------- */

static void
test_ref (gconstpointer data)
{
  const int *shape = data;   /* cell, B */
  /* the naive reference accumulates in double, the optimized code in float with a
   * polynomial exp: both are within a few float ulps of the exact value */
  const double atol = 1e-5, rtol = 1e-4;
  for (int masks = 0; masks <= 1; masks++)
    {
      Problem *pr = problem_new (shape[0], 7, shape[1], 33, 19, masks, 11 + masks);
      Result a, b, c;
      result_init (&a, pr);
      result_init (&b, pr);
      result_init (&c, pr);
      run (pr, spm_recurrent_forward, spm_recurrent_backward, &a);
      run (pr, spm_recurrent_forward_ref, spm_recurrent_backward_ref, &b);
      check_results (masks ? "masked" : "unmasked", pr, &a, &b, atol, rtol);
      /* the work holds the same things after either forward */
      run (pr, spm_recurrent_forward, spm_recurrent_backward_ref, &c);
      check_results (masks ? "masked, mixed" : "unmasked, mixed", pr, &c, &b, atol, rtol);
      result_clear (&a);
      result_clear (&b);
      result_clear (&c);
      problem_free (pr);
    }
}

/* ---- finite differences ----------------------------------------------------------- */

/* L = Σ y·dy + Σ hT·dhT + Σ cT·dcT, accumulated in double */
static double
loss (const Problem *pr, ForwardFn fwd, SpmRecurrentWork *w, Result *r)
{
  size_t BH = (size_t) pr->B * pr->H;
  double L = 0.0;
  fwd (&pr->p.p, w, pr->T, pr->B, pr->x, pr->h0, pr->c0, pr->valid, pr->reset,
       r->y, r->hT, r->cT);
  for (size_t i = 0; i < pr->T * BH; i++)
    L += (double) r->y[i] * pr->dy[i];
  for (size_t i = 0; i < BH; i++)
    {
      L += (double) r->hT[i] * pr->dhT[i];
      if (pr->cell == SPM_CELL_LSTM)
        L += (double) r->cT[i] * pr->dcT[i];
    }
  return L;
}

/* Central differences, dL/dv ≈ (L(v+ε) - L(v-ε)) / (2ε) with ε = 1e-2 on the
 * float values themselves.  Error budget for these sizes (|L| of order 1-10, every
 * activation with bounded third derivative): truncation ε²/6 |L'''| ≲ 2e-4, and the
 * float rounding of the forward (≈ 1e-7 relative on each of a few hundred summed
 * outputs) divided by 2ε stays below 1e-4.  A tolerance of 1e-3 + 1e-2 |g| is
 * therefore safe, while any wrong term of a gradient (typically off by 0.05 or more)
 * still fails. */
static void
gradcheck_one (const char *name, float *v, size_t n, const float *analytic,
               const Problem *pr, ForwardFn fwd, SpmRecurrentWork *w, Result *tmp)
{
  const float eps = 1e-2f;
  g_autofree float *num = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      float keep = v[i];
      v[i] = keep + eps;
      double hi_v = v[i], Lp = loss (pr, fwd, w, tmp);
      v[i] = keep - eps;
      double lo_v = v[i], Lm = loss (pr, fwd, w, tmp);
      v[i] = keep;
      num[i] = (float) ((Lp - Lm) / (hi_v - lo_v));
    }
  check_close (name, analytic, num, n, 1e-3, 1e-2);
}

static void
gradcheck (SpmCell cell, int B, ForwardFn fwd, BackwardFn bwd)
{
  const int T = 6, D = 3, H = 3;
  Problem *pr = problem_new (cell, T, B, D, H, TRUE, 77 + B);
  Result r, tmp;
  size_t BH = (size_t) B * H;
  result_init (&r, pr);
  result_init (&tmp, pr);
  run (pr, fwd, bwd, &r);
  g_autoptr (SpmRecurrentWork) w = spm_recurrent_work_new (cell, D, H, T, B);
  gradcheck_one ("dx", pr->x, (size_t) T * B * D, r.dx, pr, fwd, w, &tmp);
  gradcheck_one ("dh0", pr->h0, BH, r.dh0, pr, fwd, w, &tmp);
  if (cell == SPM_CELL_LSTM)
    gradcheck_one ("dc0", pr->c0, BH, r.dc0, pr, fwd, w, &tmp);
  gradcheck_one ("dparams", pr->p.block, pr->p.n, r.g.block, pr, fwd, w, &tmp);
  result_clear (&r);
  result_clear (&tmp);
  problem_free (pr);
}

static void
test_gradcheck (gconstpointer data)
{
  const int *shape = data;
  gradcheck (shape[0], shape[1], spm_recurrent_forward, spm_recurrent_backward);
}

static void
test_gradcheck_ref (gconstpointer data)
{
  const int *shape = data;
  gradcheck (shape[0], shape[1], spm_recurrent_forward_ref, spm_recurrent_backward_ref);
}

/* ---- one step at a time ---------------------------------------------------------- */

/* T calls with T = 1, the state carried forward and dh0/dc0 carried backward, against
 * one call over the chunk: the same y, final state, dx, dh0/dc0 and weight gradients */
static void
test_stepping (gconstpointer data)
{
  const int *shape = data;
  const int T = 8, B = shape[1], D = 6, H = 5;
  const size_t BH = (size_t) B * H;
  Problem *pr = problem_new (shape[0], T, B, D, H, TRUE, 5 + B);
  Result whole, step;
  result_init (&whole, pr);
  result_init (&step, pr);
  run (pr, spm_recurrent_forward, spm_recurrent_backward, &whole);

  SpmRecurrentWork *w[8];
  g_autofree float *h = g_new (float, BH), *c = g_new (float, BH);
  memcpy (h, pr->h0, BH * sizeof (float));
  memcpy (c, pr->c0, BH * sizeof (float));
  for (int t = 0; t < T; t++)
    {
      w[t] = spm_recurrent_work_new (pr->cell, D, H, 1, B);
      spm_recurrent_forward (&pr->p.p, w[t], 1, B, pr->x + (size_t) t * B * D, h, c,
                             pr->valid + t * B, pr->reset + t * B, step.y + t * BH, h, c);
    }
  memcpy (step.hT, h, BH * sizeof (float));
  memcpy (step.cT, c, BH * sizeof (float));
  memcpy (h, pr->dhT, BH * sizeof (float));
  memcpy (c, pr->dcT, BH * sizeof (float));
  for (int t = T - 1; t >= 0; t--)
    {
      spm_recurrent_backward (&pr->p.p, &step.g.p, w[t], 1, B, pr->x + (size_t) t * B * D,
                              pr->dy + t * BH, h, c, step.dx + (size_t) t * B * D, h, c);
      spm_recurrent_work_free (w[t]);
    }
  memcpy (step.dh0, h, BH * sizeof (float));
  memcpy (step.dc0, c, BH * sizeof (float));
  /* the same arithmetic in a different grouping (per-step vs per-chunk gemms) */
  check_results ("stepped", pr, &step, &whole, 1e-5, 1e-4);
  result_clear (&whole);
  result_clear (&step);
  problem_free (pr);
}

/* ---- the B = 1 matrix-vector kernel at awkward sizes ------------------------------ */

/* y, hT, cT of T steps of B = 1, either one call per step (streaming: both products in
 * one pass) or one call over the chunk (input sgemm, then the kernel per step); step
 * 2 starts a new sequence and step 3 is padding (only the input product) */
static void
forward_b1 (const Problem *pr, ForwardFn fwd, gboolean per_step, float *y, float *hT, float *cT)
{
  const int T = pr->T, D = pr->D, H = pr->H;
  uint8_t valid[8], reset[8];
  g_assert_cmpint (T, <=, 8);
  for (int t = 0; t < T; t++)
    {
      valid[t] = t != 3;
      reset[t] = t == 2;
    }
  memcpy (hT, pr->h0, H * sizeof (float));
  memcpy (cT, pr->c0, H * sizeof (float));
  g_autoptr (SpmRecurrentWork) w = spm_recurrent_work_new (pr->cell, D, H, T, 1);
  if (per_step)
    for (int t = 0; t < T; t++)
      fwd (&pr->p.p, w, 1, 1, pr->x + (size_t) t * D, hT, cT, valid + t, reset + t,
           y + (size_t) t * H, hT, cT);
  else
    fwd (&pr->p.p, w, T, 1, pr->x, hT, cT, valid, reset, y, hT, cT);
}

static void
test_matvec (gconstpointer data)
{
  const int *shape = data;   /* cell, D, H */
  const int T = 5, D = shape[1], H = shape[2];
  Problem *pr = problem_new (shape[0], T, 1, D, H, FALSE, 101 + D + H);
  /* PyTorch's initial range, so that the gates of the large sizes do not saturate */
  float bound = 1.0f / sqrtf ((float) H);
  for (size_t i = 0; i < pr->p.n; i++)
    pr->p.block[i] *= bound / 0.6f;
  const size_t n = (size_t) T * H;
  g_autofree float *y = g_new (float, n), *y_ref = g_new (float, n), *y2 = g_new (float, n);
  g_autofree float *h = g_new (float, H), *h_ref = g_new (float, H), *h2 = g_new (float, H);
  g_autofree float *c = g_new (float, H), *c_ref = g_new (float, H), *c2 = g_new (float, H);
  for (int per_step = 0; per_step <= 1; per_step++)
    {
      const char *how = per_step ? "streaming" : "chunk";
      g_autofree char *sy = g_strdup_printf ("%s D=%d H=%d y", how, D, H);
      g_autofree char *sh = g_strdup_printf ("%s D=%d H=%d hT", how, D, H);
      g_autofree char *sc = g_strdup_printf ("%s D=%d H=%d cT", how, D, H);
      forward_b1 (pr, spm_recurrent_forward_ref, per_step, y_ref, h_ref, c_ref);
      forward_b1 (pr, spm_recurrent_forward, per_step, y, h, c);
      check_close (sy, y, y_ref, n, 1e-5, 1e-4);
      check_close (sh, h, h_ref, H, 1e-5, 1e-4);
      if (pr->cell == SPM_CELL_LSTM)
        check_close (sc, c, c_ref, H, 1e-5, 1e-4);
      /* the same bits on every call */
      forward_b1 (pr, spm_recurrent_forward, per_step, y2, h2, c2);
      g_assert_cmpmem (y, n * sizeof (float), y2, n * sizeof (float));
      g_assert_cmpmem (h, H * sizeof (float), h2, H * sizeof (float));
      g_assert_cmpmem (c, H * sizeof (float), c2, H * sizeof (float));
    }
  problem_free (pr);
}

/* a NaN in x must reach y and hT (the trainer detects divergence by it);
 * huge finite pre-activations must saturate, not overflow to NaN */
static void
test_nonfinite (void)
{
  const int T = 2, B = 2, D = 3, H = 4;
  for (int cell = SPM_CELL_LSTM; cell <= SPM_CELL_RNN; cell++)
    {
      Problem *pr = problem_new (cell, T, B, D, H, FALSE, 3);
      Result r;
      result_init (&r, pr);
      pr->x[0] = NAN;                          /* t = 0, b = 0 */
      for (int k = 0; k < D; k++)
        pr->x[D + k] = 1e6f;                   /* t = 0, b = 1 */
      run (pr, spm_recurrent_forward, spm_recurrent_backward, &r);
      for (int j = 0; j < H; j++)
        {
          g_assert_true (isnan (r.y[j]));
          g_assert_true (isnan (r.hT[j]));
          g_assert_true (isfinite (r.y[H + j]) && fabsf (r.y[H + j]) <= 1.0f);
          g_assert_true (isfinite (r.hT[H + j]));
        }
      result_clear (&r);
      problem_free (pr);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  static const int shapes[4][2] = {
    { SPM_CELL_LSTM, 4 }, { SPM_CELL_LSTM, 1 }, { SPM_CELL_RNN, 4 }, { SPM_CELL_RNN, 1 } };
  static const char *names[4] = { "lstm/B4", "lstm/B1", "rnn/B4", "rnn/B1" };
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *a = g_strdup_printf ("/layers/recurrent/%s/ref", names[i]);
      g_autofree char *b = g_strdup_printf ("/layers/recurrent/%s/gradcheck", names[i]);
      g_autofree char *c = g_strdup_printf ("/layers/recurrent/%s/gradcheck-ref", names[i]);
      g_autofree char *d = g_strdup_printf ("/layers/recurrent/%s/stepping", names[i]);
      g_test_add_data_func (a, shapes[i], test_ref);
      g_test_add_data_func (b, shapes[i], test_gradcheck);
      g_test_add_data_func (c, shapes[i], test_gradcheck_ref);
      g_test_add_data_func (d, shapes[i], test_stepping);
    }
  static const int mv_shapes[6][3] = {
    { SPM_CELL_LSTM, 13, 7 }, { SPM_CELL_LSTM, 33, 17 }, { SPM_CELL_LSTM, 512, 512 },
    { SPM_CELL_RNN, 13, 7 }, { SPM_CELL_RNN, 33, 17 }, { SPM_CELL_RNN, 512, 512 } };
  for (int i = 0; i < 6; i++)
    {
      g_autofree char *e = g_strdup_printf ("/layers/recurrent/%s/B1/matvec/D%d-H%d",
                                            mv_shapes[i][0] == SPM_CELL_LSTM ? "lstm" : "rnn",
                                            mv_shapes[i][1], mv_shapes[i][2]);
      g_test_add_data_func (e, mv_shapes[i], test_matvec);
    }
  g_test_add_func ("/layers/recurrent/nonfinite", test_nonfinite);
  return g_test_run ();
}
