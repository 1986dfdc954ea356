/* test-conv.c — the CNN layers (spm-conv.h): PyTorch fixtures (gen_cnn_fixtures.py)
 * for conv2d, batchnorm2d and maxpool2d with every gradient, the GEMM conv against
 * the naive loops on random shapes, and central finite differences of the loss
 * L = Σ y·g on every layer.  Tolerances |a-b| <= atol + rtol |b|. */
#include "check.h"
#include "spm-conv.h"
#include "spm-safetensors.h"

#include <stdio.h>
#include <stdlib.h>

static SpmSafetensors *
load_fixture (const char *file)
{
  const char *dir = g_getenv ("SPM_FIXTURES");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : "tests/layers/fixtures", file, NULL);
  g_autoptr (GError) error = NULL;
  SpmSafetensors *st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);
  return st;
}

static const float *
need (const SpmSafetensors *st, const char *name, size_t numel)
{
  const SpmStTensor *t = spm_safetensors_get (st, name);
  if (t == NULL || (size_t) t->numel != numel)
    g_error ("fixture tensor %s missing or of the wrong size", name);
  return t->data;
}

static double
dot (const float *a, const float *b, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

/* ---- finite differences: dL/dv[i] ≈ (L(v + h) − L(v − h)) / 2h for every i ---- */

typedef double (*LossFn) (void *ctx);

static void
check_fd (const char *what, LossFn loss, void *ctx, float *v, size_t n, const float *grad,
          float h, double atol, double rtol)
{
  g_autofree float *fd = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      float keep = v[i];
      v[i] = keep + h;
      double lp = loss (ctx);
      v[i] = keep - h;
      double lm = loss (ctx);
      v[i] = keep;
      fd[i] = (float) ((lp - lm) / (2.0 * (double) h));
    }
  check_close (what, grad, fd, n, atol, rtol);
}

/* ---- conv2d ---- */

typedef struct {
  SpmConv2d c;
  int N, H, W;
  float *x, *w, *b, *g, *y, *col;
  size_t ny;
} ConvCtx;

static double
conv_loss (void *p)
{
  ConvCtx *k = p;
  spm_conv2d_forward (&k->c, k->N, k->H, k->W, k->x, k->w, k->b, k->y, k->col);
  return dot (k->y, k->g, k->ny);
}

static void
test_conv_torch (void)
{
  g_autoptr (SpmSafetensors) st = load_fixture ("cnn-conv.safetensors");
  int cases = atoi (g_hash_table_lookup (st->metadata, "cases"));
  g_assert_cmpint (cases, >=, 6);
  for (int k = 0; k < cases; k++)
    {
      char key[16];
      snprintf (key, sizeof key, "c%d", k);
      int v[12];
      g_assert_cmpint (sscanf (g_hash_table_lookup (st->metadata, key),
                               "%d %d %d %d %d %d %d %d %d %d %d %d", &v[0], &v[1], &v[2], &v[3],
                               &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]), ==, 12);
      int N = v[0], H = v[2], W = v[3];
      SpmConv2d c = { v[1], v[4], v[5], v[6], v[7], v[8], v[9], v[10] };
      gboolean bias = v[11];
      int Ho = spm_conv2d_out_h (&c, H), Wo = spm_conv2d_out_w (&c, W);
      size_t nx = (size_t) c.Cin * N * H * W, ny = (size_t) c.Cout * N * Ho * Wo;
      size_t nw = (size_t) c.Cout * c.Cin * c.kh * c.kw;
      char n[64];
#define T(name, size) (snprintf (n, sizeof n, "c%d." name, k), need (st, n, size))
      const float *x = T ("x", nx), *w = T ("w", nw), *dy = T ("dy", ny);
      const float *b = bias ? T ("b", (size_t) c.Cout) : NULL;
      const float *y_want = T ("y", ny), *dx_want = T ("dx", nx), *dw_want = T ("dw", nw);
      const float *db_want = bias ? T ("db", (size_t) c.Cout) : NULL;
#undef T
      g_autofree float *col = g_new (float, MAX (spm_conv2d_col_size (&c, N, H, W), 1));
      g_autofree float *y = g_new (float, ny), *dx = g_new (float, nx);
      g_autofree float *dw = g_new0 (float, nw), *db = g_new0 (float, c.Cout);
      for (int ref = 0; ref < 2; ref++)
        {
          g_autofree char *what = g_strdup_printf ("conv c%d (%s)", k, ref ? "ref" : "gemm");
          memset (dw, 0, sizeof (float) * nw);
          memset (db, 0, sizeof (float) * c.Cout);
          if (ref)
            {
              spm_conv2d_forward_ref (&c, N, H, W, x, w, b, y);
              spm_conv2d_backward_ref (&c, N, H, W, x, w, dy, dw, bias ? db : NULL, dx);
            }
          else
            {
              spm_conv2d_forward (&c, N, H, W, x, w, b, y, col);
              spm_conv2d_backward (&c, N, H, W, x, w, dy, dw, bias ? db : NULL, dx, col);
            }
          g_autofree char *wy = g_strconcat (what, " y", NULL);
          g_autofree char *wx = g_strconcat (what, " dx", NULL);
          g_autofree char *ww = g_strconcat (what, " dw", NULL);
          g_autofree char *wb = g_strconcat (what, " db", NULL);
          check_close (wy, y, y_want, ny, 1e-5, 1e-4);
          check_close (wx, dx, dx_want, nx, 1e-5, 1e-4);
          check_close (ww, dw, dw_want, nw, 1e-5, 1e-4);
          if (bias)
            check_close (wb, db, db_want, c.Cout, 1e-5, 1e-4);
        }
      /* parameter gradients accumulate: a second backward doubles them */
      spm_conv2d_backward (&c, N, H, W, x, w, dy, dw, NULL, NULL, col);
      for (size_t i = 0; i < nw; i++)
        dw[i] *= 0.5f;
      check_close ("conv dw accumulates", dw, dw_want, nw, 1e-5, 1e-4);
    }
}

static int
rint_in (SpmRng *rng, int lo, int hi)
{
  return lo + (int) (spm_rng_next (rng) % (uint64_t) (hi - lo + 1));
}

static void
test_conv_fast_vs_ref (void)
{
  SpmRng rng;
  spm_rng_seed (&rng, 11);
  for (int it = 0; it < 40; it++)
    {
      SpmConv2d c = { rint_in (&rng, 1, 5), rint_in (&rng, 1, 6), rint_in (&rng, 1, 5),
                      rint_in (&rng, 1, 5), rint_in (&rng, 1, 3), rint_in (&rng, 1, 3), 0, 0 };
      c.ph = rint_in (&rng, 0, c.kh / 2 + 1), c.pw = rint_in (&rng, 0, c.kw / 2 + 1);
      if (it % 5 == 0)
        c.kh = c.kw = c.sh = c.sw = 1, c.ph = c.pw = 0;   /* pointwise: no packing */
      int N = rint_in (&rng, 1, 3), H = rint_in (&rng, c.kh, 12), W = rint_in (&rng, c.kw, 12);
      int Ho = spm_conv2d_out_h (&c, H), Wo = spm_conv2d_out_w (&c, W);
      size_t nx = (size_t) c.Cin * N * H * W, ny = (size_t) c.Cout * N * Ho * Wo;
      size_t nw = (size_t) c.Cout * c.Cin * c.kh * c.kw;
      g_autofree float *x = g_new (float, nx), *w = g_new (float, nw), *b = g_new (float, c.Cout);
      g_autofree float *dy = g_new (float, ny);
      g_autofree float *col = g_new (float, MAX (spm_conv2d_col_size (&c, N, H, W), 1));
      fill_uniform (x, nx, -1, 1, &rng);
      fill_uniform (w, nw, -1, 1, &rng);
      fill_uniform (b, c.Cout, -1, 1, &rng);
      fill_uniform (dy, ny, -1, 1, &rng);
      g_autofree float *y1 = g_new (float, ny), *y2 = g_new (float, ny);
      g_autofree float *dx1 = g_new (float, nx), *dx2 = g_new (float, nx);
      g_autofree float *dw1 = g_new0 (float, nw), *dw2 = g_new0 (float, nw);
      g_autofree float *db1 = g_new0 (float, c.Cout), *db2 = g_new0 (float, c.Cout);
      spm_conv2d_forward (&c, N, H, W, x, w, b, y1, col);
      spm_conv2d_forward_ref (&c, N, H, W, x, w, b, y2);
      spm_conv2d_backward (&c, N, H, W, x, w, dy, dw1, db1, dx1, col);
      spm_conv2d_backward_ref (&c, N, H, W, x, w, dy, dw2, db2, dx2);
      g_autofree char *what = g_strdup_printf ("random conv %d (Cin %d Cout %d k %dx%d s %dx%d p %dx%d, "
                                               "N %d %dx%d)", it, c.Cin, c.Cout, c.kh, c.kw, c.sh,
                                               c.sw, c.ph, c.pw, N, H, W);
      gboolean ok = check_close (what, y1, y2, ny, 1e-5, 1e-4) &
                    check_close (what, dx1, dx2, nx, 1e-5, 1e-4) &
                    check_close (what, dw1, dw2, nw, 1e-5, 1e-4) &
                    check_close (what, db1, db2, c.Cout, 1e-5, 1e-4);
      if (!ok)
        g_printerr ("  (in %s)\n", what);
    }
}

static void
test_conv_fd (void)
{
  SpmRng rng;
  spm_rng_seed (&rng, 12);
  SpmConv2d shapes[] = { { 2, 3, 3, 3, 2, 2, 1, 1 }, { 3, 2, 7, 7, 2, 2, 3, 3 },
                         { 3, 4, 1, 1, 1, 1, 0, 0 }, { 2, 2, 2, 3, 1, 2, 0, 1 } };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      ConvCtx k = { shapes[s], 2, 9, 8, NULL, NULL, NULL, NULL, NULL, NULL, 0 };
      SpmConv2d *c = &k.c;
      int Ho = spm_conv2d_out_h (c, k.H), Wo = spm_conv2d_out_w (c, k.W);
      size_t nx = (size_t) c->Cin * k.N * k.H * k.W, nw = (size_t) c->Cout * c->Cin * c->kh * c->kw;
      k.ny = (size_t) c->Cout * k.N * Ho * Wo;
      g_autofree float *x = k.x = g_new (float, nx), *w = k.w = g_new (float, nw);
      g_autofree float *b = k.b = g_new (float, c->Cout), *g = k.g = g_new (float, k.ny);
      g_autofree float *y = k.y = g_new (float, k.ny);
      g_autofree float *col = k.col = g_new (float, MAX (spm_conv2d_col_size (c, k.N, k.H, k.W), 1));
      fill_uniform (x, nx, -1, 1, &rng);
      fill_uniform (w, nw, -1, 1, &rng);
      fill_uniform (b, c->Cout, -1, 1, &rng);
      fill_uniform (g, k.ny, -1, 1, &rng);
      g_autofree float *dx = g_new (float, nx), *dw = g_new0 (float, nw), *db = g_new0 (float, c->Cout);
      spm_conv2d_backward (c, k.N, k.H, k.W, x, w, g, dw, db, dx, col);
      check_fd ("conv fd dx", conv_loss, &k, x, nx, dx, 1e-2f, 2e-3, 1e-2);
      check_fd ("conv fd dw", conv_loss, &k, w, nw, dw, 1e-2f, 2e-3, 1e-2);
      check_fd ("conv fd db", conv_loss, &k, b, c->Cout, db, 1e-2f, 2e-3, 1e-2);
    }
}

/* ---- batchnorm2d ---- */

static void
test_bn_torch (void)
{
  g_autoptr (SpmSafetensors) st = load_fixture ("cnn-bn.safetensors");
  int N = atoi (g_hash_table_lookup (st->metadata, "N")), C = atoi (g_hash_table_lookup (st->metadata, "C"));
  int H = atoi (g_hash_table_lookup (st->metadata, "H")), W = atoi (g_hash_table_lookup (st->metadata, "W"));
  size_t M = (size_t) N * H * W, n = C * M;
  const float *x = need (st, "x", n), *gamma = need (st, "gamma", C), *beta = need (st, "beta", C);
  const float *dy = need (st, "dy", n);
  g_autofree float *rm = g_memdup2 (need (st, "rm", C), sizeof (float) * C);
  g_autofree float *rv = g_memdup2 (need (st, "rv", C), sizeof (float) * C);
  g_autofree float *y = g_new (float, n), *dx = g_new (float, n);
  g_autofree float *mean = g_new (float, C), *rstd = g_new (float, C);
  g_autofree float *dg = g_new0 (float, C), *db = g_new0 (float, C);

  spm_bn2d_forward_eval (C, M, x, gamma, beta, rm, rv, y);
  check_close ("bn eval y", y, need (st, "eval.y", n), n, 1e-5, 1e-4);
  spm_bn2d_backward_eval (C, M, x, gamma, rm, rv, dy, dg, db, dx);
  check_close ("bn eval dx", dx, need (st, "eval.dx", n), n, 1e-5, 1e-4);
  check_close ("bn eval dgamma", dg, need (st, "eval.dgamma", C), C, 1e-5, 1e-4);
  check_close ("bn eval dbeta", db, need (st, "eval.dbeta", C), C, 1e-5, 1e-4);

  memset (dg, 0, sizeof (float) * C);
  memset (db, 0, sizeof (float) * C);
  spm_bn2d_forward_train (C, M, x, gamma, beta, rm, rv, mean, rstd, y);
  check_close ("bn train y", y, need (st, "train.y", n), n, 1e-5, 1e-4);
  check_close ("bn train running_mean", rm, need (st, "train.rm", C), C, 1e-6, 1e-5);
  check_close ("bn train running_var", rv, need (st, "train.rv", C), C, 1e-6, 1e-5);
  g_autofree float *dyc = g_memdup2 (dy, sizeof (float) * n);
  spm_bn2d_backward_train (C, M, x, gamma, mean, rstd, dyc, dg, db, dyc);   /* in place */
  check_close ("bn train dx", dyc, need (st, "train.dx", n), n, 1e-5, 1e-4);
  check_close ("bn train dgamma", dg, need (st, "train.dgamma", C), C, 1e-5, 1e-4);
  check_close ("bn train dbeta", db, need (st, "train.dbeta", C), C, 1e-5, 1e-4);
}

typedef struct {
  int C;
  size_t M;
  gboolean train;
  float *x, *gamma, *beta, *rm, *rv, *mean, *rstd, *y, *g;
} BnCtx;

static double
bn_loss (void *p)
{
  BnCtx *k = p;
  if (k->train)
    {
      float rm[8], rv[8];      /* the running stats are not part of the loss */
      memcpy (rm, k->rm, sizeof (float) * k->C);
      memcpy (rv, k->rv, sizeof (float) * k->C);
      spm_bn2d_forward_train (k->C, k->M, k->x, k->gamma, k->beta, rm, rv, k->mean, k->rstd, k->y);
    }
  else
    spm_bn2d_forward_eval (k->C, k->M, k->x, k->gamma, k->beta, k->rm, k->rv, k->y);
  return dot (k->y, k->g, (size_t) k->C * k->M);
}

static void
test_bn_fd (void)
{
  SpmRng rng;
  spm_rng_seed (&rng, 13);
  for (int train = 0; train < 2; train++)
    {
      int C = 3;
      size_t M = 14, n = C * M;
      g_autofree float *x = g_new (float, n), *g = g_new (float, n), *y = g_new (float, n);
      float gamma[3], beta[3], rm[3], rv[3], mean[3], rstd[3];
      fill_uniform (x, n, -2, 2, &rng);
      fill_uniform (g, n, -1, 1, &rng);
      fill_uniform (gamma, 3, 0.5, 1.5, &rng);
      fill_uniform (beta, 3, -0.5, 0.5, &rng);
      fill_uniform (rm, 3, -0.3, 0.3, &rng);
      fill_uniform (rv, 3, 0.5, 1.5, &rng);
      BnCtx k = { C, M, train, x, gamma, beta, rm, rv, mean, rstd, y, g };
      bn_loss (&k);
      g_autofree float *dx = g_new (float, n);
      float dg[3] = { 0 }, db[3] = { 0 };
      if (train)
        spm_bn2d_backward_train (C, M, x, gamma, mean, rstd, g, dg, db, dx);
      else
        spm_bn2d_backward_eval (C, M, x, gamma, rm, rv, g, dg, db, dx);
      check_fd (train ? "bn train fd dx" : "bn eval fd dx", bn_loss, &k, x, n, dx, 1e-2f, 2e-3, 1e-2);
      check_fd ("bn fd dgamma", bn_loss, &k, gamma, 3, dg, 1e-2f, 2e-3, 1e-2);
      check_fd ("bn fd dbeta", bn_loss, &k, beta, 3, db, 1e-2f, 2e-3, 1e-2);
    }
}

/* ---- maxpool2d, relu, global average pool, residual add ---- */

static void
test_pool_torch (void)
{
  g_autoptr (SpmSafetensors) st = load_fixture ("cnn-pool.safetensors");
  int cases = atoi (g_hash_table_lookup (st->metadata, "cases"));
  for (int c = 0; c < cases; c++)
    {
      char key[16], n[32];
      snprintf (key, sizeof key, "p%d", c);
      int P, H, W, k, s, p;
      g_assert_cmpint (sscanf (g_hash_table_lookup (st->metadata, key), "%d %d %d %d %d %d", &P,
                               &H, &W, &k, &s, &p), ==, 6);
      int Ho = spm_maxpool2d_out (H, k, s, p), Wo = spm_maxpool2d_out (W, k, s, p);
      size_t nx = (size_t) P * H * W, ny = (size_t) P * Ho * Wo;
#define T(name, size) (snprintf (n, sizeof n, "p%d." name, c), need (st, n, size))
      const float *x = T ("x", nx), *dy = T ("dy", ny), *yw = T ("y", ny), *dxw = T ("dx", nx);
#undef T
      g_autofree float *y = g_new (float, ny), *dx = g_new (float, nx);
      g_autofree int32_t *arg = g_new (int32_t, ny);
      spm_maxpool2d_forward (P, H, W, k, s, p, x, y, arg);
      spm_maxpool2d_backward (P, H, W, k, s, p, arg, dy, dx);
      g_autofree char *wy = g_strdup_printf ("maxpool(%d,%d,%d) y", k, s, p);
      g_autofree char *wx = g_strdup_printf ("maxpool(%d,%d,%d) dx (ties)", k, s, p);
      check_close (wy, y, yw, ny, 0, 0);
      check_close (wx, dx, dxw, nx, 1e-6, 1e-5);
    }
}

typedef struct {
  int P, H, W, k, s, p;
  float *x, *y, *g;
  int32_t *arg;
  size_t ny;
} PoolCtx;

static double
pool_loss (void *v)
{
  PoolCtx *c = v;
  spm_maxpool2d_forward (c->P, c->H, c->W, c->k, c->s, c->p, c->x, c->y, c->arg);
  return dot (c->y, c->g, c->ny);
}

/* x: distinct values 0.1 apart in random order, so that ±h changes no argmax */
static void
fill_distinct (float *x, size_t n, SpmRng *rng)
{
  for (size_t i = 0; i < n; i++)
    x[i] = 0.1f * (float) i - 0.05f * (float) n;
  for (size_t i = n - 1; i > 0; i--)
    {
      size_t j = spm_rng_next (rng) % (i + 1);
      float t = x[i];
      x[i] = x[j], x[j] = t;
    }
}

static void
test_pool_fd (void)
{
  SpmRng rng;
  spm_rng_seed (&rng, 14);
  int cfg[][3] = { { 2, 2, 0 }, { 3, 2, 1 }, { 3, 1, 1 } };
  for (guint i = 0; i < G_N_ELEMENTS (cfg); i++)
    {
      PoolCtx c = { 4, 7, 8, cfg[i][0], cfg[i][1], cfg[i][2], NULL, NULL, NULL, NULL, 0 };
      int Ho = spm_maxpool2d_out (c.H, c.k, c.s, c.p), Wo = spm_maxpool2d_out (c.W, c.k, c.s, c.p);
      size_t nx = (size_t) c.P * c.H * c.W;
      c.ny = (size_t) c.P * Ho * Wo;
      g_autofree float *x = c.x = g_new (float, nx), *y = c.y = g_new (float, c.ny);
      g_autofree float *g = c.g = g_new (float, c.ny), *dx = g_new (float, nx);
      g_autofree int32_t *arg = c.arg = g_new (int32_t, c.ny);
      fill_distinct (x, nx, &rng);
      fill_uniform (g, c.ny, -1, 1, &rng);
      pool_loss (&c);
      spm_maxpool2d_backward (c.P, c.H, c.W, c.k, c.s, c.p, arg, g, dx);
      check_fd ("maxpool fd dx", pool_loss, &c, x, nx, dx, 1e-2f, 1e-3, 1e-3);
    }
}

typedef struct {
  int kind;            /* 0 relu, 1 gap, 2 add */
  int C, N;
  size_t S, n;
  float *a, *b, *y, *g;
} EltCtx;

static double
elt_loss (void *v)
{
  EltCtx *c = v;
  size_t ny = c->n;
  if (c->kind == 0)
    spm_relu_forward (c->n, c->a, c->y);
  else if (c->kind == 1)
    spm_gap_forward (c->C, c->N, c->S, c->a, c->y), ny = (size_t) c->C * c->N;
  else
    spm_add_forward (c->n, c->a, c->b, c->y);
  return dot (c->y, c->g, ny);
}

static void
test_elementwise_fd (void)
{
  SpmRng rng;
  spm_rng_seed (&rng, 15);
  int C = 3, N = 2;
  size_t S = 5, n = C * N * S;
  g_autofree float *a = g_new (float, n), *b = g_new (float, n), *y = g_new (float, n);
  g_autofree float *g = g_new (float, n), *da = g_new (float, n), *db = g_new (float, n);
  fill_uniform (a, n, 0.1f, 1, &rng);
  for (size_t i = 0; i < n; i += 2)
    a[i] = -a[i];              /* half negative, all at least 0.1 from the kink */
  fill_uniform (b, n, -1, 1, &rng);
  fill_uniform (g, n, -1, 1, &rng);
  EltCtx c = { 0, C, N, S, n, a, b, y, g };
  elt_loss (&c);
  spm_relu_backward (n, y, g, da);
  check_fd ("relu fd dx", elt_loss, &c, a, n, da, 1e-2f, 1e-3, 1e-3);
  c.kind = 1;
  spm_gap_backward (C, N, S, g, da);
  check_fd ("gap fd dx", elt_loss, &c, a, n, da, 1e-2f, 1e-3, 1e-3);
  c.kind = 2;
  spm_add_backward (n, g, da, db);
  check_fd ("add fd da", elt_loss, &c, a, n, da, 1e-2f, 1e-3, 1e-3);
  check_fd ("add fd db", elt_loss, &c, b, n, db, 1e-2f, 1e-3, 1e-3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cnn/conv/torch", test_conv_torch);
  g_test_add_func ("/cnn/conv/fast-vs-ref", test_conv_fast_vs_ref);
  g_test_add_func ("/cnn/conv/finite-diff", test_conv_fd);
  g_test_add_func ("/cnn/bn/torch", test_bn_torch);
  g_test_add_func ("/cnn/bn/finite-diff", test_bn_fd);
  g_test_add_func ("/cnn/maxpool/torch", test_pool_torch);
  g_test_add_func ("/cnn/maxpool/finite-diff", test_pool_fd);
  g_test_add_func ("/cnn/elementwise/finite-diff", test_elementwise_fd);
  return g_test_run ();
}
