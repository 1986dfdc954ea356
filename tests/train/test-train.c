/* test-train.c — behaviour of the trainer: overfitting a fixed batch with every head,
 * tbptt = T being full BPTT, bit-reproducibility, resume = uninterrupted, the NaN guard,
 * and the checks on examples. */
#include "train-check.h"

#include <glib/gstdio.h>

/* A small data set of n sequences for a head, all drawn from one seed. */
typedef struct {
  int n, D, C;
  float *x;        /* [n][T_max][D] (captioner: [n][D]) */
  int32_t *y;      /* [n][T_max + 1] */
  SpmExample *ex;
} Set;

static void
set_free (Set *s)
{
  g_free (s->x);
  g_free (s->y);
  g_free (s->ex);
}

static Set
make_set (SpmHeadKind head, int n, int T_max, int D, int C, uint64_t seed)
{
  Set s = { .n = n, .D = D, .C = C };
  SpmRng rng;
  spm_rng_seed (&rng, seed);
  s.x = g_new0 (float, (size_t) n * T_max * D);
  s.y = g_new0 (int32_t, (size_t) n * (T_max + 1));
  s.ex = g_new0 (SpmExample, n);
  for (int i = 0; i < n; i++)
    {
      int T = T_max - (int) (spm_rng_next (&rng) % (T_max / 2 + 1));   /* unequal lengths */
      float *x = s.x + (size_t) i * T_max * D;
      int32_t *y = s.y + (size_t) i * (T_max + 1);
      for (int k = 0; k < T * D; k++)
        x[k] = (float) spm_rng_normal (&rng);
      if (head == SPM_HEAD_CAPTIONER)
        {
          int words = 2 + (int) (spm_rng_next (&rng) % (T_max - 2));
          y[0] = SPM_TOK_START;
          for (int w = 1; w <= words; w++)
            y[w] = 4 + (int32_t) (spm_rng_next (&rng) % (C - 4));
          y[words + 1] = SPM_TOK_END;
          s.ex[i] = (SpmExample) { .T = 1, .x = x, .y = y, .n_y = words + 2 };
        }
      else if (head == SPM_HEAD_LABELER)
        {
          for (int t = 0; t < T; t++)
            y[t] = (int32_t) (spm_rng_next (&rng) % C);
          s.ex[i] = (SpmExample) { .T = T, .x = x, .y = y, .n_y = T };
        }
      else
        {
          y[0] = i % C;
          s.ex[i] = (SpmExample) { .T = T, .x = x, .y = y, .n_y = 1 };
        }
    }
  return s;
}

static SpmModel *
make_model (SpmHeadKind head, SpmCell cell, int D, int H, int L, int C, float dropout)
{
  SpmModel *m = random_model (head, cell, D, H, L, C, TRUE, 3);
  m->cfg.dropout = dropout;
  return m;
}

static double
train (SpmModel *m, const SpmTrainConfig *cfg, const Set *s, int epochs)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, cfg, &error);
  g_assert_no_error (error);
  double loss = 0;
  for (int e = 0; e < epochs; e++)
    {
      g_assert_true (spm_trainer_epoch (t, s->ex, s->n, NULL, NULL, &loss, NULL, &error));
      g_assert_no_error (error);
    }
  return loss;
}

/* ---- overfitting: the loss of a fixed batch goes near zero ------------------------ */

static void
test_overfit (gconstpointer data)
{
  const SpmHeadKind head = GPOINTER_TO_INT (data);
  const int C = head == SPM_HEAD_CAPTIONER ? 10 : 3;
  Set s = make_set (head, 4, 8, 4, C, 11);
  g_autoptr (SpmModel) m = make_model (head, SPM_CELL_LSTM, 4, 16, 1, C, 0);
  spm_model_fit_norm (m, s.ex, s.n);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_ADAM, .lr = 0.03f, .clip = 5, .batch = 4,
                         .tbptt = 0, .seed = 1 };
  double first = train (m, &cfg, &s, 1);
  double last = train (m, &cfg, &s, 200);
  g_test_message ("loss %.4f -> %.5f", first, last);
  g_assert_cmpfloat (first, >, 0.5);
  g_assert_cmpfloat (last, <, 0.02);
  set_free (&s);
}

/* ---- tbptt = T is full BPTT; a shorter k is not ------------------------------------ */

static void
test_tbptt_full (void)
{
  Set s = make_set (SPM_HEAD_LABELER, 5, 9, 3, 4, 21);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .batch = 2,
                         .seed = 1, .shuffle = TRUE };
  g_autoptr (SpmModel) a = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 5, 2, 4, 0.2f);
  g_autoptr (SpmModel) b = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 5, 2, 4, 0.2f);
  g_autoptr (SpmModel) c = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 5, 2, 4, 0.2f);
  cfg.tbptt = 0;
  train (a, &cfg, &s, 3);
  cfg.tbptt = 9;
  train (b, &cfg, &s, 3);
  cfg.tbptt = 3;
  train (c, &cfg, &s, 3);
  g_assert_cmpmem (a->params, a->n_params * sizeof (float), b->params, b->n_params * sizeof (float));
  g_assert_true (memcmp (a->params, c->params, a->n_params * sizeof (float)) != 0);
  set_free (&s);
}

/* ---- TBPTT memory depends on k, not on T --------------------------------------------- */

static size_t
activation_bytes (int T, int tbptt)
{
  Set s = make_set (SPM_HEAD_LABELER, 2, T, 3, 3, 1);
  g_autoptr (SpmModel) m = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 8, 2, 3, 0.1f);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_SGD, .lr = 0.01f, .batch = 2, .tbptt = tbptt };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  g_assert_true (spm_trainer_epoch (t, s.ex, s.n, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  set_free (&s);
  return spm_trainer_activation_bytes (t);
}

static void
test_tbptt_memory (void)
{
  size_t short_seq = activation_bytes (40, 8), long_seq = activation_bytes (4000, 8);
  size_t full = activation_bytes (4000, 0);
  g_test_message ("k = 8: %zu bytes for T = 40 and %zu for T = 4000; full BPTT: %zu",
                  short_seq, long_seq, full);
  g_assert_cmpuint (short_seq, ==, long_seq);
  g_assert_cmpuint (full, >, 100 * long_seq);
}

/* ---- bit-reproducible on one thread --------------------------------------------------- */

static void
test_reproducible (void)
{
  Set s = make_set (SPM_HEAD_CLASSIFIER, 7, 10, 3, 3, 5);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_ADAM, .lr = 0.01f, .clip = 1, .batch = 3,
                         .tbptt = 4, .seed = 9, .shuffle = TRUE };
  g_autoptr (SpmModel) a = make_model (SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, 3, 6, 2, 3, 0.3f);
  g_autoptr (SpmModel) b = make_model (SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, 3, 6, 2, 3, 0.3f);
  g_autoptr (SpmModel) c = make_model (SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, 3, 6, 2, 3, 0.3f);
  train (a, &cfg, &s, 3);
  train (b, &cfg, &s, 3);
  cfg.seed = 10;
  train (c, &cfg, &s, 3);
  g_assert_cmpmem (a->params, a->n_params * sizeof (float), b->params, b->n_params * sizeof (float));
  g_assert_true (memcmp (a->params, c->params, a->n_params * sizeof (float)) != 0);
  set_free (&s);
}

/* ---- resume: interrupted, saved, reloaded and continued = uninterrupted --------------- */

typedef struct {
  int64_t stop_at;
  int64_t last_step;
} Stopper;

static gboolean
stop_at (int64_t step, double loss, int64_t frames, void *user_data)
{
  Stopper *st = user_data;
  g_assert_true (isfinite (loss));
  g_assert_cmpint (frames, >, 0);
  g_assert_cmpint (step, ==, st->last_step + 1);
  st->last_step = step;
  return step != st->stop_at;
}

typedef struct {
  SpmHeadKind head;
  SpmOptimizer opt;
  SpmPool pool;
} ResumeCase;

static SpmModel *
resume_model (const ResumeCase *rc)
{
  const int C = rc->head == SPM_HEAD_CAPTIONER ? 8 : 4;
  SpmModel *m = make_model (rc->head, SPM_CELL_LSTM, 3, 5, 2, C, 0.25f);
  m->cfg.pool = rc->pool;
  return m;
}

/* Stops after update `stop` (inside a batch or at its end), saves model and state,
 * loads both into a new model and trainer, and finishes 3 epochs: the weights must be
 * those of the run never stopped.  Returns the steps of the full run. */
static int64_t
resume_once (const ResumeCase *rc, const Set *s, const SpmTrainConfig *cfg, const SpmModel *ref,
             int64_t stop, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *mpath = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *spath = g_build_filename (dir, "m.state.safetensors", NULL);
  Stopper st = { .stop_at = stop };
  gboolean stopped = FALSE;
  {
    g_autoptr (SpmModel) m = resume_model (rc);
    g_autoptr (SpmTrainer) t = spm_trainer_new (m, cfg, &error);
    for (int e = 0; e < 3 && !stopped; e++)
      {
        g_assert_true (spm_trainer_epoch (t, s->ex, s->n, stop_at, &st, NULL, &stopped, &error));
        g_assert_no_error (error);
      }
    if (!stopped)
      return st.last_step;
    g_assert_cmpint (spm_trainer_step (t), ==, stop);
    g_assert_true (spm_model_save (m, mpath, &error));
    g_assert_true (spm_trainer_save_state (t, spath, &error));
    g_assert_no_error (error);
  }
  g_autoptr (SpmModel) m = spm_model_load (mpath, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (m->cfg.dropout, ==, 0.25f);   /* kept in the checkpoint */
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, cfg, &error);
  g_assert_true (spm_trainer_load_state (t, spath, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spm_trainer_step (t), ==, stop);
  while (spm_trainer_epochs_done (t) < 3)
    {
      g_assert_true (spm_trainer_epoch (t, s->ex, s->n, NULL, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  if (memcmp (m->params, ref->params, m->n_params * sizeof (float)) != 0)
    {
      g_printerr ("stopped after update %" G_GINT64_FORMAT ": resumed weights differ\n", stop);
      g_test_fail ();
    }

  /* a state made with another batch size is refused */
  SpmTrainConfig other = *cfg;
  other.batch = cfg->batch + 1;
  g_autoptr (SpmTrainer) t2 = spm_trainer_new (m, &other, &error);
  g_assert_false (spm_trainer_load_state (t2, spath, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_unlink (mpath);
  g_unlink (spath);
  return 0;
}

static void
test_resume (gconstpointer data)
{
  const ResumeCase *rc = data;
  Set s = make_set (rc->head, 7, 9, 3, rc->head == SPM_HEAD_CAPTIONER ? 8 : 4, 33);
  SpmTrainConfig cfg = { .optimizer = rc->opt, .lr = 0.05f, .momentum = 0.9f, .clip = 2,
                         .batch = 2, .tbptt = 3, .seed = 4, .shuffle = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) ref = resume_model (rc);
  train (ref, &cfg, &s, 3);
  g_autofree char *dir = g_dir_make_tmp ("spm-resume-XXXXXX", &error);
  g_assert_no_error (error);
  /* every stopping point of the three epochs */
  int64_t total = resume_once (rc, &s, &cfg, ref, -1, dir);
  g_assert_cmpint (total, >, 10);
  for (int64_t stop = 1; stop < total; stop++)
    resume_once (rc, &s, &cfg, ref, stop, dir);
  g_rmdir (dir);
  set_free (&s);
}

/* ---- NaN / Inf guard -------------------------------------------------------------- */

typedef struct {
  const SpmModel *m;
  float *copy;
  int64_t step;
} Keeper;

static gboolean
keep_params (int64_t step, double loss, int64_t frames, void *user_data)
{
  Keeper *k = user_data;
  (void) loss, (void) frames;
  memcpy (k->copy, k->m->params, k->m->n_params * sizeof (float));
  k->step = step;
  return TRUE;
}

static void
test_diverged (void)
{
  Set s = make_set (SPM_HEAD_LABELER, 4, 6, 3, 3, 8);
  s.x[(size_t) 3 * 6 * 3 + 1] = NAN;   /* example 3, step 0 -> the second batch */
  g_autoptr (SpmModel) m = make_model (SPM_HEAD_LABELER, SPM_CELL_RNN, 3, 4, 1, 3, 0);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_ADAM, .lr = 0.01f, .batch = 2, .tbptt = 3 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  Keeper k = { .m = m, .copy = g_new (float, m->n_params) };
  g_assert_false (spm_trainer_epoch (t, s.ex, s.n, keep_params, &k, NULL, NULL, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_DIVERGED);
  g_test_message ("%s", error->message);
  g_assert_cmpint (k.step, >, 0);
  g_autofree char *want = g_strdup_printf ("step %" G_GINT64_FORMAT, k.step + 1);
  g_assert_nonnull (strstr (error->message, want));
  g_assert_cmpmem (m->params, m->n_params * sizeof (float), k.copy, m->n_params * sizeof (float));
  g_assert_cmpint (spm_trainer_step (t), ==, k.step);
  g_free (k.copy);
  set_free (&s);
}

/* ---- examples that do not fit the model --------------------------------------------- */

static void
test_bad_examples (void)
{
  Set s = make_set (SPM_HEAD_LABELER, 3, 5, 3, 3, 8);
  g_autoptr (SpmModel) m = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 4, 1, 3, 0);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_SGD, .lr = 0.1f, .batch = 2 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  s.y[6 + 1] = 3;   /* example 1, step 1: class 3 of 3 */
  g_assert_false (spm_trainer_epoch (t, s.ex, s.n, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "example 1"));
  g_clear_error (&error);
  cfg.batch = 0;
  g_assert_null (spm_trainer_new (m, &cfg, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  set_free (&s);
}

/* ---- normalisation statistics ------------------------------------------------------- */

static void
test_fit_norm (void)
{
  const float x[4][2] = { { 1, 10 }, { 3, 10 }, { 5, 10 }, { 7, 10 } };
  SpmExample ex[2] = { { .T = 3, .x = &x[0][0] }, { .T = 1, .x = &x[3][0] } };
  g_autoptr (SpmModel) m = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 2, 3, 1, 2, 0);
  spm_model_fit_norm (m, ex, 2);
  g_assert_cmpfloat_with_epsilon (m->norm_mean[0], 4.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (m->norm_std[0], sqrtf (5.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (m->norm_mean[1], 10.0, 1e-6);
  g_assert_cmpfloat (m->norm_std[1], ==, 1e-6f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  g_test_add_data_func ("/train/overfit/labeler", GINT_TO_POINTER (SPM_HEAD_LABELER), test_overfit);
  g_test_add_data_func ("/train/overfit/classifier", GINT_TO_POINTER (SPM_HEAD_CLASSIFIER), test_overfit);
  g_test_add_data_func ("/train/overfit/captioner", GINT_TO_POINTER (SPM_HEAD_CAPTIONER), test_overfit);
  g_test_add_func ("/train/tbptt/full", test_tbptt_full);
  g_test_add_func ("/train/tbptt/memory", test_tbptt_memory);
  g_test_add_func ("/train/reproducible", test_reproducible);
  static const ResumeCase resume[] = {
    { SPM_HEAD_LABELER, SPM_OPT_ADAM, SPM_POOL_LAST },
    { SPM_HEAD_CLASSIFIER, SPM_OPT_SGD, SPM_POOL_MEAN },
    { SPM_HEAD_CAPTIONER, SPM_OPT_ADAM, SPM_POOL_LAST },
  };
  g_test_add_data_func ("/train/resume/labeler-adam", &resume[0], test_resume);
  g_test_add_data_func ("/train/resume/classifier-mean-sgd", &resume[1], test_resume);
  g_test_add_data_func ("/train/resume/captioner-adam", &resume[2], test_resume);
  g_test_add_func ("/train/diverged", test_diverged);
  g_test_add_func ("/train/bad-examples", test_bad_examples);
  g_test_add_func ("/train/fit-norm", test_fit_norm);
  return g_test_run ();
}
