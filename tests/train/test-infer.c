/* test-infer.c — inference: the streaming runner against a whole-sequence reference,
 * and caption search: beam = 1 is greedy, a wide beam finds the exhaustive optimum,
 * sampling is seeded, and a captioner trained on three captions says them back. */
#include "train-check.h"

/* ---- runner --------------------------------------------------------------------- */

/* Reference: the naive layers over the whole sequence x [T][D] at once (B = 1), then
 * probs[t] = softmax(head(h_top[t])) or of the pooled h_top. */
static void
reference_probs (const SpmModel *m, const float *x, int T, float *probs)
{
  const SpmModelConfig *c = &m->cfg;
  g_autofree float *in = g_new (float, (size_t) T * MAX (c->D, c->H));
  g_autofree float *out = g_new (float, (size_t) T * c->H);
  g_autofree float *logits = g_new (float, (size_t) T * c->C);
  for (int t = 0; t < T; t++)
    for (int d = 0; d < c->D; d++)
      in[(size_t) t * c->D + d] = (x[(size_t) t * c->D + d] - m->norm_mean[d]) / m->norm_std[d];
  for (int l = 0; l < c->L; l++)
    {
      SpmRecurrentWork *w = spm_recurrent_work_new (c->cell, m->layer[l].D, c->H, T, 1);
      spm_recurrent_forward_ref (&m->layer[l], w, T, 1, in, NULL, NULL, NULL, NULL, out, NULL, NULL);
      spm_recurrent_work_free (w);
      memcpy (in, out, (size_t) T * c->H * sizeof (float));
    }
  if (c->head == SPM_HEAD_LABELER)
    {
      spm_linear_forward (m->head_W, m->head_b, T, c->H, c->C, out, logits);
      for (int t = 0; t < T; t++)
        spm_softmax (logits + (size_t) t * c->C, c->C, probs + (size_t) t * c->C);
      return;
    }
  g_autofree float *pooled = g_new (float, c->H);
  if (c->pool == SPM_POOL_MEAN)
    spm_mean_pool_forward (T, 1, c->H, out, NULL, pooled);
  else
    memcpy (pooled, out + (size_t) (T - 1) * c->H, c->H * sizeof (float));
  spm_linear_forward (m->head_W, m->head_b, 1, c->H, c->C, pooled, logits);
  spm_softmax (logits, c->C, probs);
}

static void
test_runner (gconstpointer data)
{
  const int which = GPOINTER_TO_INT (data);   /* 0 labeler, 1 classifier last, 2 mean */
  const SpmHeadKind head = which == 0 ? SPM_HEAD_LABELER : SPM_HEAD_CLASSIFIER;
  const int D = 6, C = 5, T = 23;
  g_autoptr (SpmModel) m = random_model (head, which == 2 ? SPM_CELL_RNN : SPM_CELL_LSTM,
                                         D, 7, 2, C, TRUE, 8);
  m->cfg.pool = which == 2 ? SPM_POOL_MEAN : SPM_POOL_LAST;
  SpmRng rng;
  spm_rng_seed (&rng, 4);
  g_autofree float *x = g_new (float, (size_t) T * D);
  for (int i = 0; i < T * D; i++)
    x[i] = (float) spm_rng_normal (&rng);
  g_autofree float *want = g_new (float, (size_t) T * C);
  g_autofree float *got = g_new (float, (size_t) T * C);
  g_autofree float *again = g_new (float, (size_t) T * C);
  reference_probs (m, x, T, want);

  g_autoptr (SpmRunner) r = spm_runner_new (m);
  for (int pass = 0; pass < 2; pass++)
    {
      float *dst = pass == 0 ? got : again;
      spm_runner_reset (r);
      for (int t = 0; t < T; t++)
        spm_runner_step (r, x + (size_t) t * D, head == SPM_HEAD_LABELER ? dst + (size_t) t * C : NULL);
      if (head == SPM_HEAD_CLASSIFIER)
        spm_runner_classify (r, dst);
    }
  const size_t n = head == SPM_HEAD_LABELER ? (size_t) T * C : (size_t) C;
  check_close ("runner probs", got, want, n, 1e-5, 1e-4);
  g_assert_cmpmem (got, n * sizeof (float), again, n * sizeof (float));   /* reset is complete */
}

/* ---- captions -------------------------------------------------------------------- */

/* One step of the captioner from state (h, c) [L][H]: logp [V] = log_softmax of the head
 * after feeding `tok`, through the library's layers (the path spm_caption takes). */
static void
ref_step (const SpmModel *m, float *h, float *c, int32_t tok, double *logp)
{
  const SpmModelConfig *cf = &m->cfg;
  const int H = cf->H, V = cf->C;
  g_autofree float *x = g_new (float, MAX (cf->E, H));
  g_autofree float *y = g_new (float, H), *cT = g_new (float, H), *z = g_new (float, V);
  spm_embedding_forward (m->embed, V, cf->E, 1, &tok, x);
  for (int l = 0; l < cf->L; l++)
    {
      SpmRecurrentWork *w = spm_recurrent_work_new (cf->cell, m->layer[l].D, H, 1, 1);
      spm_recurrent_forward (&m->layer[l], w, 1, 1, x, h + l * H, c + l * H, NULL, NULL, y, NULL, cT);
      spm_recurrent_work_free (w);
      memcpy (h + l * H, y, H * sizeof (float));
      memcpy (c + l * H, cT, H * sizeof (float));
      memcpy (x, y, H * sizeof (float));
    }
  spm_linear_forward (m->head_W, m->head_b, 1, H, V, y, z);
  float mx = z[0];
  for (int v = 1; v < V; v++)
    mx = MAX (mx, z[v]);
  double s = 0;
  for (int v = 0; v < V; v++)
    s += exp ((double) z[v] - mx);
  for (int v = 0; v < V; v++)
    logp[v] = (double) z[v] - (mx + log (s));
}

static void
ref_start (const SpmModel *m, const float *f, float *h, float *c)
{
  const SpmModelConfig *cf = &m->cfg;
  g_autofree float *fn = g_new (float, cf->D);
  for (int d = 0; d < cf->D; d++)
    fn[d] = (f[d] - m->norm_mean[d]) / m->norm_std[d];
  spm_linear_forward (m->proj_W, m->proj_b, 1, cf->D, cf->H, fn, h);
  for (int l = 1; l < cf->L; l++)
    memcpy (h + l * cf->H, h, cf->H * sizeof (float));
  memset (c, 0, (size_t) cf->L * cf->H * sizeof (float));
}

/* greedy: the argmax word (not <null>/<start>, first on ties) until <end> or max_len */
static int
ref_greedy (const SpmModel *m, const float *f, int max_len, int32_t *tokens, double *total)
{
  const int LH = m->cfg.L * m->cfg.H;
  g_autofree float *h = g_new (float, LH), *c = g_new (float, LH);
  g_autofree double *lp = g_new (double, m->cfg.C);
  ref_start (m, f, h, c);
  int32_t tok = SPM_TOK_START;
  int n = 0;
  *total = 0;
  while (n < max_len)
    {
      ref_step (m, h, c, tok, lp);
      int best = SPM_TOK_END;
      for (int v = SPM_TOK_END; v < m->cfg.C; v++)
        if (lp[v] > lp[best])
          best = v;
      *total += lp[best];
      if (best == SPM_TOK_END)
        break;
      tokens[n++] = tok = best;
    }
  return n;
}

static SpmModel *
captioner (int V, uint64_t seed)
{
  SpmModel *m = random_model (SPM_HEAD_CAPTIONER, SPM_CELL_LSTM, 4, 8, 2, V, TRUE, seed);
  /* a larger head spreads the distribution so that greedy and beam differ */
  for (int i = 0; i < V * 8; i++)
    m->head_W[i] *= 6;
  return m;
}

static void
test_beam1_is_greedy (void)
{
  int differ = 0;
  for (uint64_t seed = 1; seed <= 20; seed++)
    {
      g_autoptr (SpmModel) m = captioner (12, seed);
      float f[4] = { 0.3f, -1.0f, 0.5f, 2.0f };
      int32_t a[10], b[10], k[10];
      double ta;
      float sb, sk;
      int na = ref_greedy (m, f, 10, a, &ta);
      int nb = spm_caption (m, f, 1, 10, 0, 0, b, &sb);
      g_assert_cmpmem (a, na * sizeof (int32_t), b, nb * sizeof (int32_t));
      g_assert_cmpfloat ((float) exp (ta), ==, sb);
      int nk = spm_caption (m, f, 4, 10, 0, 0, k, &sk);
      g_assert_cmpint (nk, <=, 10);
      differ += nk != nb || memcmp (k, b, nk * sizeof (int32_t)) != 0;
    }
  g_test_message ("beam 4 differs from greedy in %d of 20 models", differ);
}

/* every sentence of up to max_len words over the producible vocabulary */
static void
exhaust (const SpmModel *m, const float *h, const float *c, int32_t tok, int depth, int max_len,
         double sum, int32_t *path, double *best, int32_t *best_path, int *best_len)
{
  const int LH = m->cfg.L * m->cfg.H, V = m->cfg.C;
  g_autofree float *h2 = g_memdup2 (h, LH * sizeof (float)), *c2 = g_memdup2 (c, LH * sizeof (float));
  g_autofree double *lp = g_new (double, V);
  ref_step (m, h2, c2, tok, lp);
  for (int v = SPM_TOK_END; v < V; v++)
    {
      double s = sum + lp[v];
      if (v == SPM_TOK_END || depth + 1 == max_len)
        {
          int len = v == SPM_TOK_END ? depth : depth + 1;
          path[depth] = v;
          if (s > *best)
            {
              *best = s;
              *best_len = len;
              memcpy (best_path, path, len * sizeof (int32_t));
            }
          continue;
        }
      path[depth] = v;
      exhaust (m, h2, c2, v, depth + 1, max_len, s, path, best, best_path, best_len);
    }
}

static void
test_beam_optimal (void)
{
  for (uint64_t seed = 1; seed <= 8; seed++)
    {
      g_autoptr (SpmModel) m = captioner (7, seed);   /* <end> + 4 words */
      const int max_len = 3, LH = m->cfg.L * m->cfg.H;
      float f[4] = { 1.0f, 0.2f, -0.7f, 0.1f };
      g_autofree float *h = g_new (float, LH), *c = g_new (float, LH);
      ref_start (m, f, h, c);
      int32_t path[4], best_path[4], got[4];
      double best = -INFINITY;
      int best_len = 0;
      exhaust (m, h, c, SPM_TOK_START, 0, max_len, 0, path, &best, best_path, &best_len);
      float score;
      int n = spm_caption (m, f, 200, max_len, 0, 0, got, &score);   /* beam wider than all */
      g_assert_cmpmem (got, n * sizeof (int32_t), best_path, best_len * sizeof (int32_t));
      g_assert_cmpfloat_with_epsilon (score, exp (best), 1e-6 * exp (best));
    }
}

static void
test_sampling (void)
{
  g_autoptr (SpmModel) m = captioner (12, 3);
  float f[4] = { 0.3f, -1.0f, 0.5f, 2.0f };
  int32_t a[10], b[10], g[10];
  float sa, sb, sg;
  int na = spm_caption (m, f, 1, 10, 1.0f, 42, a, &sa);
  int nb = spm_caption (m, f, 1, 10, 1.0f, 42, b, &sb);
  g_assert_cmpmem (a, na * sizeof (int32_t), b, nb * sizeof (int32_t));
  g_assert_cmpfloat (sa, ==, sb);
  /* a tiny temperature is the argmax */
  int ng = spm_caption (m, f, 1, 10, 0, 0, g, &sg);
  na = spm_caption (m, f, 1, 10, 1e-4f, 7, a, &sa);
  g_assert_cmpmem (a, na * sizeof (int32_t), g, ng * sizeof (int32_t));
  /* many seeds at a high temperature draw more than one sentence */
  gboolean varied = FALSE;
  for (uint64_t s = 1; s < 20 && !varied; s++)
    {
      nb = spm_caption (m, f, 1, 10, 2.0f, s, b, &sb);
      varied = nb != ng || memcmp (b, g, nb * sizeof (int32_t)) != 0;
    }
  g_assert_true (varied);
}

/* trained on three (feature, caption) pairs, greedy and beam say the captions back */
static void
test_trained_captions (void)
{
  const float f[3][4] = { { 1, 0, 0, 1 }, { 0, 1, 1, 0 }, { -1, -1, 0.5f, 0 } };
  const int32_t caps[3][7] = { { 1, 4, 5, 6, 2 }, { 1, 7, 8, 2 }, { 1, 9, 4, 9, 5, 6, 2 } };
  const int ny[3] = { 5, 4, 7 };
  SpmExample ex[3];
  for (int i = 0; i < 3; i++)
    ex[i] = (SpmExample) { .T = 1, .x = f[i], .y = caps[i], .n_y = ny[i] };
  g_autoptr (SpmModel) m = random_model (SPM_HEAD_CAPTIONER, SPM_CELL_LSTM, 4, 16, 1, 10, TRUE, 5);
  spm_model_fit_norm (m, ex, 3);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_ADAM, .lr = 0.03f, .batch = 3, .tbptt = 3,
                         .clip = 5, .seed = 1 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  double loss = 0;
  for (int e = 0; e < 150; e++)
    g_assert_true (spm_trainer_epoch (t, ex, 3, NULL, NULL, &loss, NULL, &error));
  g_test_message ("caption loss %.5f", loss);
  g_assert_cmpfloat (loss, <, 0.05);
  for (int i = 0; i < 3; i++)
    for (int beam = 1; beam <= 3; beam += 2)
      {
        int32_t out[12];
        float score;
        int n = spm_caption (m, f[i], beam, 12, 0, 0, out, &score);
        g_assert_cmpmem (out, n * sizeof (int32_t), caps[i] + 1, (ny[i] - 2) * sizeof (int32_t));
        g_assert_cmpfloat (score, >, 0.8);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  g_test_add_data_func ("/train/runner/labeler", GINT_TO_POINTER (0), test_runner);
  g_test_add_data_func ("/train/runner/classifier-last", GINT_TO_POINTER (1), test_runner);
  g_test_add_data_func ("/train/runner/classifier-mean", GINT_TO_POINTER (2), test_runner);
  g_test_add_func ("/train/caption/beam1-is-greedy", test_beam1_is_greedy);
  g_test_add_func ("/train/caption/beam-optimal", test_beam_optimal);
  g_test_add_func ("/train/caption/sampling", test_sampling);
  g_test_add_func ("/train/caption/trained", test_trained_captions);
  return g_test_run ();
}
