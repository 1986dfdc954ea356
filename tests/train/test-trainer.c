/* test-train.c — behaviour of the trainer: overfitting a fixed batch with every head,
 * tbptt = T being full BPTT, bit-reproducibility, resume = uninterrupted (weights, each
 * epoch's mean loss, frame counts, rates of a schedule, with and without class
 * weights), a stop on an epoch's last update, checkpoint / state pairs, state files of
 * older runs, balanced class weights, the NaN guard, and the checks on examples. */
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

#define RESUME_EPOCHS 3
#define MAX_STEPS 256

/* What a run reports: every epoch's result, and the frame count of every update. */
typedef struct {
  int64_t stop_at;
  int64_t last_step;
  int64_t frames[MAX_STEPS + 1];   /* by step */
  const int64_t *ref_frames;       /* the uninterrupted run's, to compare with */
  double mean[RESUME_EPOCHS];
  int64_t targets[RESUME_EPOCHS];
  int closed[RESUME_EPOCHS];       /* times the epoch was reported completed */
} Stopper;

static gboolean
stop_at (int64_t step, double loss, int64_t frames, void *user_data)
{
  Stopper *st = user_data;
  g_assert_true (isfinite (loss));
  g_assert_cmpint (frames, >, 0);
  g_assert_cmpint (step, ==, st->last_step + 1);
  g_assert_cmpint (step, <=, MAX_STEPS);
  st->last_step = step;
  st->frames[step] = frames;
  if (st->ref_frames != NULL && frames != st->ref_frames[step])
    {
      g_printerr ("update %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " frames into the epoch, "
                  "the uninterrupted run %" G_GINT64_FORMAT "\n", step, frames,
                  st->ref_frames[step]);
      g_test_fail ();
    }
  return step != st->stop_at;
}

/* one call of spm_trainer_run_epoch, its result noted in st */
static SpmEpochResult
run_epoch (SpmTrainer *t, const Set *s, Stopper *st)
{
  g_autoptr (GError) error = NULL;
  SpmEpochResult r;
  g_assert_true (spm_trainer_run_epoch (t, s->ex, s->n, stop_at, st, &r, &error));
  g_assert_no_error (error);
  if (r.completed)
    {
      g_assert_cmpint (r.epoch, <, RESUME_EPOCHS);
      g_assert_cmpint (spm_trainer_epochs_done (t), ==, r.epoch + 1);
      st->mean[r.epoch] = r.mean_loss;
      st->targets[r.epoch] = r.targets;
      st->closed[r.epoch]++;
    }
  return r;
}

typedef struct {
  SpmHeadKind head;
  SpmOptimizer opt;
  SpmPool pool;
  SpmLrSchedule schedule;
  gboolean weighted;
} ResumeCase;

static const float resume_weights[4] = { 0.5f, 2.0f, 1.0f, 1.5f };

static SpmModel *
resume_model (const ResumeCase *rc)
{
  const int C = rc->head == SPM_HEAD_CAPTIONER ? 8 : 4;
  SpmModel *m = make_model (rc->head, SPM_CELL_LSTM, 3, 5, 2, C, 0.25f);
  m->cfg.pool = rc->pool;
  return m;
}

/* Stops after update `stop` (inside a batch, at its end, or at an epoch's end), saves
 * model and state, loads both into a new model and trainer, and finishes the epochs:
 * the weights must be those of the run never stopped, every epoch must be reported
 * completed exactly once, with the uninterrupted run's mean loss to the bit, and the
 * callback must see the same frame counts.  Returns the steps of the full run. */
static int64_t
resume_once (const ResumeCase *rc, const Set *s, const SpmTrainConfig *cfg, const SpmModel *ref,
             const Stopper *want, int64_t stop, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *mpath = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *spath = g_build_filename (dir, "m.state.safetensors", NULL);
  Stopper st = { .stop_at = stop, .ref_frames = want->frames };
  gboolean stopped = FALSE;
  double lr;
  {
    g_autoptr (SpmModel) m = resume_model (rc);
    g_autoptr (SpmTrainer) t = spm_trainer_new (m, cfg, &error);
    while (spm_trainer_epochs_done (t) < RESUME_EPOCHS && !stopped)
      stopped = run_epoch (t, s, &st).stopped;
    g_assert_true (stopped);
    g_assert_cmpint (spm_trainer_step (t), ==, stop);
    lr = spm_trainer_lr (t);
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
  g_assert_cmpfloat (spm_trainer_lr (t), ==, lr);
  st.last_step = stop;
  st.stop_at = -1;
  while (spm_trainer_epochs_done (t) < RESUME_EPOCHS)
    g_assert_true (run_epoch (t, s, &st).completed);
  if (memcmp (m->params, ref->params, m->n_params * sizeof (float)) != 0)
    {
      g_printerr ("stopped after update %" G_GINT64_FORMAT ": resumed weights differ\n", stop);
      g_test_fail ();
    }
  for (int e = 0; e < RESUME_EPOCHS; e++)
    if (st.closed[e] != 1 || st.mean[e] != want->mean[e])
      {
        g_printerr ("stopped after update %" G_GINT64_FORMAT ": epoch %d reported %d times, "
                    "mean loss %.17g, uninterrupted %.17g\n", stop, e, st.closed[e],
                    st.mean[e], want->mean[e]);
        g_test_fail ();
      }

  /* a state made with another batch size is refused */
  SpmTrainConfig other = *cfg;
  other.batch = cfg->batch + 1;
  g_autoptr (SpmTrainer) t2 = spm_trainer_new (m, &other, &error);
  g_assert_false (spm_trainer_load_state (t2, spath, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_clear_error (&error);
  /* and one of another schedule, or (cosine, step) of another length */
  other = *cfg;
  if (cfg->lr_schedule == SPM_LR_CONSTANT)
    other.lr_schedule = SPM_LR_COSINE;
  else
    other.epochs = cfg->epochs + 1;
  g_autoptr (SpmTrainer) t3 = spm_trainer_new (m, &other, &error);
  g_assert_false (spm_trainer_load_state (t3, spath, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_clear_error (&error);
  /* and one of other class weights (or with them when made without) */
  if (rc->head != SPM_HEAD_CAPTIONER)
    {
      static const float other_w[4] = { 0.5f, 2.0f, 1.0f, 1.25f };
      other = *cfg;
      other.class_weights = rc->weighted ? other_w : resume_weights;
      g_autoptr (SpmTrainer) t4 = spm_trainer_new (m, &other, &error);
      g_assert_false (spm_trainer_load_state (t4, spath, &error));
      g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
      if (rc->weighted)
        {
          g_clear_error (&error);
          other.class_weights = NULL;
          g_autoptr (SpmTrainer) t5 = spm_trainer_new (m, &other, &error);
          g_assert_false (spm_trainer_load_state (t5, spath, &error));
          g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
        }
    }
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
                         .batch = 2, .tbptt = 3, .seed = 4, .shuffle = TRUE,
                         .lr_schedule = rc->schedule, .epochs = RESUME_EPOCHS,
                         .class_weights = rc->weighted ? resume_weights : NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) ref = resume_model (rc);
  /* the run never stopped */
  Stopper want = { .stop_at = -1 };
  {
    g_autoptr (SpmTrainer) t = spm_trainer_new (ref, &cfg, &error);
    g_assert_no_error (error);
    for (int e = 0; e < RESUME_EPOCHS; e++)
      {
        SpmEpochResult r = run_epoch (t, &s, &want);
        g_assert_true (r.completed && !r.stopped);
        g_assert_cmpfloat (r.lr, ==, spm_lr_at (cfg.lr_schedule, cfg.lr, e, RESUME_EPOCHS));
      }
  }
  g_autofree char *dir = g_dir_make_tmp ("spm-resume-XXXXXX", &error);
  g_assert_no_error (error);
  /* every stopping point of the three epochs */
  const int64_t total = want.last_step;
  g_assert_cmpint (total, >, 10);
  for (int64_t stop = 1; stop < total; stop++)
    resume_once (rc, &s, &cfg, ref, &want, stop, dir);
  g_rmdir (dir);
  set_free (&s);
}

/* ---- a stop on the epoch's last update closes the epoch ------------------------------ */

static guint64
state_meta (const char *path, const char *key)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);
  const char *v = g_hash_table_lookup (st->metadata, key);
  g_assert_nonnull (v);
  return g_ascii_strtoull (v, NULL, 10);
}

/* batch = every example and tbptt = 0: one update per epoch.  Stopping on the update
 * of epoch 2 must report that epoch completed (and stopped) with its mean loss, count
 * it in epochs_done and save the position at the start of epoch 3; reloaded, epoch 3
 * goes on bit for bit as in the run never stopped. */
static void
test_stop_last_update (void)
{
  Set s = make_set (SPM_HEAD_CLASSIFIER, 5, 7, 3, 3, 44);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_ADAM, .lr = 0.02f, .clip = 1, .batch = 5,
                         .tbptt = 0, .seed = 3, .shuffle = TRUE, .lr_schedule = SPM_LR_COSINE,
                         .epochs = 4 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) ref = make_model (SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, 3, 5, 1, 3, 0.0f);
  Stopper want = { .stop_at = -1 };
  {
    g_autoptr (SpmTrainer) t = spm_trainer_new (ref, &cfg, &error);
    for (int e = 0; e < 3; e++)
      run_epoch (t, &s, &want);
    g_assert_cmpint (want.last_step, ==, 3);
  }
  g_autofree char *dir = g_dir_make_tmp ("spm-stop-XXXXXX", &error);
  g_autofree char *mpath = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *spath = g_build_filename (dir, "m.state.safetensors", NULL);
  Stopper st = { .stop_at = 2, .ref_frames = want.frames };
  {
    g_autoptr (SpmModel) m = make_model (SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, 3, 5, 1, 3, 0.0f);
    g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
    SpmEpochResult r = run_epoch (t, &s, &st);
    g_assert_true (r.completed && !r.stopped);
    r = run_epoch (t, &s, &st);
    g_assert_true (r.stopped);
    g_assert_true (r.completed);   /* the stopping update was the epoch's last */
    g_assert_cmpint (r.epoch, ==, 1);
    g_assert_cmpint (r.targets, ==, 5);
    g_assert_cmpfloat (r.mean_loss, ==, want.mean[1]);
    g_assert_cmpint (spm_trainer_epochs_done (t), ==, 2);
    g_assert_true (spm_model_save (m, mpath, &error));
    g_assert_true (spm_trainer_save_state (t, spath, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpuint (state_meta (spath, "epoch"), ==, 2);
  g_assert_cmpuint (state_meta (spath, "batch_pos"), ==, 0);
  g_assert_cmpuint (state_meta (spath, "chunk_pos"), ==, 0);
  g_assert_cmpuint (state_meta (spath, "step"), ==, 2);
  g_autoptr (SpmModel) m = spm_model_load (mpath, &error);
  g_assert_no_error (error);
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  g_assert_true (spm_trainer_load_state (t, spath, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spm_trainer_epochs_done (t), ==, 2);
  st.stop_at = -1;
  SpmEpochResult r = run_epoch (t, &s, &st);
  g_assert_true (r.completed && !r.stopped);
  g_assert_cmpint (r.epoch, ==, 2);
  g_assert_cmpfloat (r.lr, ==, spm_lr_at (SPM_LR_COSINE, cfg.lr, 2, 4));
  g_assert_cmpfloat (r.mean_loss, ==, want.mean[2]);
  g_assert_cmpint (spm_trainer_step (t), ==, 3);
  g_assert_cmpmem (m->params, m->n_params * sizeof (float), ref->params,
                   ref->n_params * sizeof (float));
  g_unlink (mpath);
  g_unlink (spath);
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

/* ---- a checkpoint and a state of one moment ------------------------------------------- */

/* spm_trainer_tag_model records the moment in the checkpoint; spm_trainer_state_info
 * reads the state's; a state saved later than its checkpoint is refused */
static void
test_state_pair (void)
{
  Set s = make_set (SPM_HEAD_LABELER, 5, 8, 3, 3, 14);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_SGD, .lr = 0.1f, .batch = 2, .tbptt = 3,
                         .seed = 5, .shuffle = TRUE, .lr_schedule = SPM_LR_STEP, .epochs = 4 };
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("spm-pair-XXXXXX", &error);
  g_autofree char *mpath = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *spath = g_build_filename (dir, "m.state.safetensors", NULL);
  Stopper st = { .stop_at = 13 };
  {
    g_autoptr (SpmModel) m = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 4, 1, 3, 0);
    g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
    while (!run_epoch (t, &s, &st).stopped)
      ;
    spm_trainer_tag_model (t, m);
    g_assert_true (spm_model_save (m, mpath, &error));
    g_assert_true (spm_trainer_save_state (t, spath, &error));
    g_assert_no_error (error);
    SpmTrainStateInfo info;
    g_assert_true (spm_trainer_state_info (spath, &info, &error));
    g_assert_no_error (error);
    g_assert_cmpint (info.step, ==, 13);
    g_assert_cmpint (info.epochs_done, ==, spm_trainer_epochs_done (t));
    g_assert_cmpint (info.epochs_done, >=, 1);
    g_assert_cmpfloat (info.lr, ==, spm_trainer_lr (t));
    g_assert_cmpfloat (info.lr, ==, spm_lr_at (SPM_LR_STEP, cfg.lr, info.epochs_done, 4));
    g_autoptr (SpmModel) back = spm_model_load (mpath, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (g_hash_table_lookup (back->meta, "train_step"), ==, "13");
    g_autoptr (SpmTrainer) t2 = spm_trainer_new (back, &cfg, &error);
    g_assert_true (spm_trainer_load_state (t2, spath, &error));
    g_assert_no_error (error);
    /* one more update, saved in the state only */
    st.stop_at = 14;
    run_epoch (t, &s, &st);
    g_assert_true (spm_trainer_save_state (t, spath, &error));
  }
  g_autoptr (SpmModel) m = spm_model_load (mpath, &error);
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  g_assert_false (spm_trainer_load_state (t, spath, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_false (spm_trainer_state_info (mpath, &(SpmTrainStateInfo) { 0 }, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
  g_unlink (mpath);
  g_unlink (spath);
  g_rmdir (dir);
  set_free (&s);
}

/* ---- a state file of an older run ------------------------------------------------------ */

/* path rewritten without the schedule's and the epoch sums' entries */
static void
strip_new_keys (const char *path)
{
  static const char *const newer[] = { "lr_schedule", "epochs_total", "lr", "epoch_loss",
                                       "epoch_weight", "epoch_targets", "epoch_frames" };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < G_N_ELEMENTS (newer); i++)
    g_assert_true (g_hash_table_remove (st->metadata, newer[i]));
  g_autoptr (GPtrArray) meta = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, st->metadata);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      g_ptr_array_add (meta, k);
      g_ptr_array_add (meta, v);
    }
  g_ptr_array_add (meta, NULL);
  g_autofree SpmStWrite *w = g_new0 (SpmStWrite, st->n_tensors);
  for (int i = 0; i < st->n_tensors; i++)
    w[i] = (SpmStWrite) { .name = st->tensors[i].name, .data = st->tensors[i].data,
                          .ndim = st->tensors[i].ndim,
                          .shape = { st->tensors[i].shape[0], st->tensors[i].shape[1] } };
  g_assert_true (spm_safetensors_write (path, w, st->n_tensors,
                                        (const char *const *) meta->pdata, &error));
  g_assert_no_error (error);
}

/* A state without the schedule's entries resumes at the constant rate, with the
 * epoch's sums from zero (its mean covers the resumed part), and the same weights;
 * a cosine config refuses it. */
static void
test_older_state (void)
{
  Set s = make_set (SPM_HEAD_LABELER, 5, 8, 3, 3, 15);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_ADAM, .lr = 0.01f, .batch = 2, .tbptt = 3,
                         .seed = 6, .shuffle = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) ref = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 4, 1, 3, 0);
  Stopper want = { .stop_at = -1 };
  {
    g_autoptr (SpmTrainer) t = spm_trainer_new (ref, &cfg, &error);
    while (spm_trainer_epochs_done (t) < 2)
      run_epoch (t, &s, &want);
  }
  g_autofree char *dir = g_dir_make_tmp ("spm-old-XXXXXX", &error);
  g_autofree char *mpath = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree char *spath = g_build_filename (dir, "m.state.safetensors", NULL);
  Stopper st = { .stop_at = 9 };
  SpmEpochResult r;
  {
    g_autoptr (SpmModel) m = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 4, 1, 3, 0);
    g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
    while (!(r = run_epoch (t, &s, &st)).stopped)
      ;
    g_assert_false (r.completed);
    g_assert_true (spm_model_save (m, mpath, &error));
    g_assert_true (spm_trainer_save_state (t, spath, &error));
    g_assert_no_error (error);
  }
  strip_new_keys (spath);
  g_autoptr (SpmModel) m = spm_model_load (mpath, &error);
  g_assert_no_error (error);
  SpmTrainConfig cosine = cfg;
  cosine.lr_schedule = SPM_LR_COSINE;
  cosine.epochs = 2;
  g_autoptr (SpmTrainer) tc = spm_trainer_new (m, &cosine, &error);
  g_assert_false (spm_trainer_load_state (tc, spath, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_clear_error (&error);
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  g_assert_true (spm_trainer_load_state (t, spath, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (spm_trainer_lr (t), ==, (double) cfg.lr);
  const int64_t before = r.targets;
  const int epoch = r.epoch;
  g_assert_true (spm_trainer_run_epoch (t, s.ex, s.n, NULL, NULL, &r, &error));
  g_assert_true (r.completed && r.epoch == epoch);
  g_assert_cmpint (before, >, 0);
  g_assert_cmpint (r.targets + before, ==, want.targets[epoch]);
  while (spm_trainer_epochs_done (t) < 2)
    g_assert_true (spm_trainer_run_epoch (t, s.ex, s.n, NULL, NULL, &r, &error));
  g_assert_cmpmem (m->params, m->n_params * sizeof (float), ref->params,
                   ref->n_params * sizeof (float));
  g_unlink (mpath);
  g_unlink (spath);
  g_rmdir (dir);
  set_free (&s);
}

/* ---- class weights ------------------------------------------------------------------- */

/* counts from the targets the loss weighs, and scikit-learn's balanced weights
 * n / (C n_c), with 1 for a class without examples */
static void
test_class_weights (void)
{
  const int32_t lab[2][5] = { { 0, 2, 2, -1, 2 }, { 2, -1, 0, 2, 0 } };
  SpmExample ex[2] = { { .T = 5, .y = lab[0], .n_y = 5 }, { .T = 4, .y = lab[1], .n_y = 4 } };
  int64_t counts[4];
  spm_class_counts (SPM_HEAD_LABELER, 4, ex, 2, counts);   /* the 5th label of ex[1] is past T */
  g_assert_cmpint (counts[0], ==, 2);
  g_assert_cmpint (counts[1], ==, 0);
  g_assert_cmpint (counts[2], ==, 5);
  g_assert_cmpint (counts[3], ==, 0);
  float w[4];
  spm_class_weights_balanced (counts, 4, w);
  g_assert_cmpfloat (w[0], ==, (float) (7.0 / (4.0 * 2)));
  g_assert_cmpfloat (w[1], ==, 1.0f);
  g_assert_cmpfloat (w[2], ==, (float) (7.0 / (4.0 * 5)));
  g_assert_cmpfloat (w[3], ==, 1.0f);

  const int32_t cls[3] = { 1, 1, 0 };
  SpmExample cx[3] = { { .T = 2, .y = &cls[0], .n_y = 1 }, { .T = 3, .y = &cls[1], .n_y = 1 },
                       { .T = 1, .y = &cls[2], .n_y = 1 } };
  spm_class_counts (SPM_HEAD_CLASSIFIER, 2, cx, 3, counts);
  g_assert_cmpint (counts[0], ==, 1);
  g_assert_cmpint (counts[1], ==, 2);
  spm_class_weights_balanced (counts, 2, w);
  g_assert_cmpfloat (w[0], ==, 1.5f);
  g_assert_cmpfloat (w[1], ==, 0.75f);
  /* balanced: every class weighs n / C in total */
  g_assert_cmpfloat (w[0] * counts[0], ==, w[1] * counts[1]);
}

/* uniform weights give the unweighted run, to the bit; the trainer refuses weights it
 * cannot apply and schedules without a length */
static void
test_class_weights_train (void)
{
  Set s = make_set (SPM_HEAD_LABELER, 5, 8, 3, 3, 12);
  SpmTrainConfig cfg = { .optimizer = SPM_OPT_ADAM, .lr = 0.01f, .clip = 1, .batch = 2,
                         .tbptt = 3, .seed = 2, .shuffle = TRUE };
  g_autoptr (SpmModel) a = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 5, 1, 3, 0);
  g_autoptr (SpmModel) b = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 5, 1, 3, 0);
  g_autoptr (SpmModel) c = make_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 5, 1, 3, 0);
  const float ones[3] = { 1, 1, 1 }, skew[3] = { 0.2f, 1, 3 };
  double la = train (a, &cfg, &s, 2);
  cfg.class_weights = ones;
  double lb = train (b, &cfg, &s, 2);
  cfg.class_weights = skew;
  double lc = train (c, &cfg, &s, 2);
  g_assert_cmpfloat (la, ==, lb);
  g_assert_cmpmem (a->params, a->n_params * sizeof (float), b->params, b->n_params * sizeof (float));
  g_assert_cmpfloat (la, !=, lc);
  g_assert_true (memcmp (a->params, c->params, a->n_params * sizeof (float)) != 0);

  g_autoptr (GError) error = NULL;
  const float bad[3] = { 1, -1, 1 };
  cfg.class_weights = bad;
  g_assert_null (spm_trainer_new (a, &cfg, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_clear_error (&error);
  g_autoptr (SpmModel) cap = make_model (SPM_HEAD_CAPTIONER, SPM_CELL_LSTM, 3, 5, 1, 8, 0);
  const float eight[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
  cfg.class_weights = eight;
  g_assert_null (spm_trainer_new (cap, &cfg, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
  g_clear_error (&error);
  cfg.class_weights = NULL;
  cfg.lr_schedule = SPM_LR_COSINE;
  cfg.epochs = 0;
  g_assert_null (spm_trainer_new (a, &cfg, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);

  /* a chunk whose targets all weigh 0 makes no update */
  g_clear_error (&error);
  const float only2[3] = { 0, 0, 1 };
  for (int i = 0; i < s.n; i++)
    for (int k = 0; k < s.ex[i].T; k++)
      s.y[(size_t) i * 9 + k] = k < 3 ? 0 : 2;   /* the first chunk of every batch: class 0 */
  cfg = (SpmTrainConfig) { .optimizer = SPM_OPT_SGD, .lr = 0.1f, .batch = 5, .tbptt = 3,
                           .class_weights = only2 };
  g_autoptr (SpmTrainer) t = spm_trainer_new (a, &cfg, &error);
  SpmEpochResult r;
  g_assert_true (spm_trainer_run_epoch (t, s.ex, s.n, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spm_trainer_step (t), ==, 1 + 1);   /* steps 0-2: none; 3-5, 6-7: one each */
  g_assert_true (isfinite (r.mean_loss) && r.mean_loss > 0);
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
    { SPM_HEAD_LABELER, SPM_OPT_ADAM, SPM_POOL_LAST, SPM_LR_CONSTANT, FALSE },
    { SPM_HEAD_CLASSIFIER, SPM_OPT_SGD, SPM_POOL_MEAN, SPM_LR_CONSTANT, FALSE },
    { SPM_HEAD_CAPTIONER, SPM_OPT_ADAM, SPM_POOL_LAST, SPM_LR_CONSTANT, FALSE },
    { SPM_HEAD_LABELER, SPM_OPT_SGD, SPM_POOL_LAST, SPM_LR_COSINE, TRUE },
    { SPM_HEAD_CLASSIFIER, SPM_OPT_ADAM, SPM_POOL_LAST, SPM_LR_STEP, TRUE },
    { SPM_HEAD_CAPTIONER, SPM_OPT_SGD, SPM_POOL_LAST, SPM_LR_STEP, FALSE },
  };
  g_test_add_data_func ("/train/resume/labeler-adam", &resume[0], test_resume);
  g_test_add_data_func ("/train/resume/classifier-mean-sgd", &resume[1], test_resume);
  g_test_add_data_func ("/train/resume/captioner-adam", &resume[2], test_resume);
  g_test_add_data_func ("/train/resume/labeler-weighted-cosine-sgd", &resume[3], test_resume);
  g_test_add_data_func ("/train/resume/classifier-weighted-step-adam", &resume[4], test_resume);
  g_test_add_data_func ("/train/resume/captioner-step-sgd", &resume[5], test_resume);
  g_test_add_func ("/train/resume/stop-on-last-update", test_stop_last_update);
  g_test_add_func ("/train/resume/checkpoint-state-pair", test_state_pair);
  g_test_add_func ("/train/resume/older-state", test_older_state);
  g_test_add_func ("/train/diverged", test_diverged);
  g_test_add_func ("/train/bad-examples", test_bad_examples);
  g_test_add_func ("/train/fit-norm", test_fit_norm);
  g_test_add_func ("/train/class-weights/balanced", test_class_weights);
  g_test_add_func ("/train/class-weights/train", test_class_weights_train);
  return g_test_run ();
}
