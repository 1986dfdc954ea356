/* test-grad.c — finite-difference checks of the whole model's gradient (core, dropout
 * between layers, heads, pooling, embedding, projection, padding masks) for every head
 * and both cells, and with class weights (the weighted mean Σ w[y] nll / Σ w[y]).
 *
 * For every trainable parameter p:  fd = (L(p + ε) - L(p - ε)) / 2ε, compared with the
 * analytic gradient as |fd - g| <= ATOL + RTOL |g|.
 * Tolerance: the model runs in float32, so L carries a rounding noise of a few ulp of
 * its value (L ≈ 1, ulp ≈ 1.2e-7; the sums of a forward pass make it some 1e-6 at
 * worst); the central difference divides it by 2ε = 2e-2, i.e. <= 5e-5, and its
 * truncation error is ε²/6 |L'''| ≈ 2e-5 for the O(1) third derivatives of σ/tanh.
 * Hence ATOL = 1e-4 and RTOL = 5e-3 (these cases pass even at 1e-5 and 1e-3), while a
 * wrong term is off by far more (dividing the mean pool's gradient by T+1 instead of T
 * fails by 3e-4 to 2e-3).  The largest gradient must also be well above ATOL, so the
 * test cannot pass on zeros.
 */
#include "train-check.h"

#define EPS 1e-2f
#define ATOL 1e-4
#define RTOL 5e-3

typedef struct {
  SpmHeadKind head;
  SpmCell cell;
  SpmPool pool;
  float dropout;
  gboolean weighted;   /* class weights 0.4, 1.7, 1 */
} Case;

/* three sequences of lengths 5, 3, 4 (labeler: some unlabelled steps) */
typedef struct {
  float x[3][5][3];
  float f[3][3];
  int32_t y[3][6];
  SpmExample ex[3];
} Data;

static void
make_data (Data *d, const Case *c, int C)
{
  static const int lens[3] = { 5, 3, 4 };
  SpmRng rng;
  spm_rng_seed (&rng, 42);
  memset (d, 0, sizeof *d);
  for (int b = 0; b < 3; b++)
    {
      for (int t = 0; t < 5; t++)
        for (int k = 0; k < 3; k++)
          d->x[b][t][k] = (float) spm_rng_normal (&rng);
      for (int k = 0; k < 3; k++)
        d->f[b][k] = (float) spm_rng_normal (&rng);
      if (c->head == SPM_HEAD_CAPTIONER)
        {
          d->y[b][0] = SPM_TOK_START;
          for (int t = 1; t < lens[b]; t++)
            d->y[b][t] = 3 + (int32_t) (spm_rng_next (&rng) % (C - 3));
          d->y[b][lens[b]] = SPM_TOK_END;
          d->ex[b] = (SpmExample) { .T = 1, .x = d->f[b], .y = d->y[b], .n_y = lens[b] + 1 };
          continue;
        }
      for (int t = 0; t < 6; t++)
        d->y[b][t] = (int32_t) (spm_rng_next (&rng) % C);
      if (c->head == SPM_HEAD_LABELER)
        d->y[b][1] = -1;
      d->ex[b] = (SpmExample) { .T = lens[b], .x = &d->x[b][0][0], .y = d->y[b],
                                .n_y = c->head == SPM_HEAD_LABELER ? lens[b] : 1 };
    }
}

static double
loss_at (SpmTrainer *t, const Data *d)
{
  g_autoptr (GError) error = NULL;
  double loss;
  g_assert_true (spm_trainer_loss_grad (t, d->ex, 3, 77, &loss, &error));
  g_assert_no_error (error);
  return loss;
}

static void
test_grad (gconstpointer data)
{
  const Case *c = data;
  const int C = c->head == SPM_HEAD_CAPTIONER ? 7 : 3;
  SpmModelConfig cfg = { .head = c->head, .cell = c->cell, .pool = c->pool, .D = 3, .H = 4,
                         .L = 2, .C = C, .E = 3, .dropout = c->dropout, .has_norm = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) m = spm_model_new (&cfg, &error);
  g_assert_no_error (error);
  spm_model_init (m, 5);
  for (int k = 0; k < 3; k++)
    {
      m->norm_mean[k] = 0.1f * k;
      m->norm_std[k] = 1.0f + 0.5f * k;
    }
  static const float weights[3] = { 0.4f, 1.7f, 1.0f };
  SpmTrainConfig tc = { .optimizer = SPM_OPT_SGD, .lr = 0.1f, .batch = 3,
                        .class_weights = c->weighted ? weights : NULL };
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &tc, &error);
  g_assert_no_error (error);
  Data d;
  make_data (&d, c, C);

  loss_at (t, &d);
  const size_t n = m->n_trainable;
  g_autofree float *g = g_memdup2 (spm_trainer_grad (t), n * sizeof (float));
  g_autofree float *fd = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    {
      const float p = m->params[i];
      m->params[i] = p + EPS;
      double lp = loss_at (t, &d);
      m->params[i] = p - EPS;
      double lm = loss_at (t, &d);
      m->params[i] = p;
      fd[i] = (float) ((lp - lm) / (2.0 * EPS));
    }
  double biggest = 0;
  for (size_t i = 0; i < n; i++)
    biggest = MAX (biggest, fabs (g[i]));
  g_assert_cmpfloat (biggest, >, 20 * ATOL);
  for (int i = 0; i < m->n_tensors; i++)
    {
      const SpmTensor *tt = &m->tensors[i];
      if (!tt->trainable)
        continue;
      size_t off = (size_t) (tt->data - m->params);
      size_t len = (size_t) tt->shape[0] * (tt->ndim > 1 ? (size_t) tt->shape[1] : 1);
      check_close (tt->name, g + off, fd + off, len, ATOL, RTOL);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  static const struct { const char *name; Case c; } cases[] = {
    { "labeler/lstm", { SPM_HEAD_LABELER, SPM_CELL_LSTM, SPM_POOL_LAST, 0, FALSE } },
    { "labeler/rnn", { SPM_HEAD_LABELER, SPM_CELL_RNN, SPM_POOL_LAST, 0, FALSE } },
    { "labeler/lstm-dropout", { SPM_HEAD_LABELER, SPM_CELL_LSTM, SPM_POOL_LAST, 0.3f, FALSE } },
    { "classifier-last/lstm", { SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, SPM_POOL_LAST, 0, FALSE } },
    { "classifier-last/rnn", { SPM_HEAD_CLASSIFIER, SPM_CELL_RNN, SPM_POOL_LAST, 0, FALSE } },
    { "classifier-mean/lstm", { SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, SPM_POOL_MEAN, 0, FALSE } },
    { "classifier-mean/rnn-dropout", { SPM_HEAD_CLASSIFIER, SPM_CELL_RNN, SPM_POOL_MEAN, 0.3f, FALSE } },
    { "labeler/lstm-weighted", { SPM_HEAD_LABELER, SPM_CELL_LSTM, SPM_POOL_LAST, 0, TRUE } },
    { "classifier-last/rnn-weighted", { SPM_HEAD_CLASSIFIER, SPM_CELL_RNN, SPM_POOL_LAST, 0, TRUE } },
    { "classifier-mean/lstm-weighted", { SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, SPM_POOL_MEAN, 0, TRUE } },
    { "captioner/lstm", { SPM_HEAD_CAPTIONER, SPM_CELL_LSTM, SPM_POOL_LAST, 0, FALSE } },
    { "captioner/rnn", { SPM_HEAD_CAPTIONER, SPM_CELL_RNN, SPM_POOL_LAST, 0, FALSE } },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/grad/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i].c, test_grad);
    }
  return g_test_run ();
}
