/* test-fixtures.c — the optimizers, clipping, the lr schedules, the weighted
 * cross-entropy and the TBPTT trainer (also with class weights and a schedule) against
 * PyTorch 1.13 references written by gen_fixtures.py.  Tolerance |a-b| <= 1e-5 +
 * 1e-4|b|: float32 arithmetic in a different order (BLAS sums, fused steps) over a few
 * updates; the weighted cross-entropy within 1e-6; the schedules' rates bit for bit. */
#include "train-check.h"

#include <stdlib.h>

#define ATOL 1e-5
#define RTOL 1e-4

static void
test_optim (gconstpointer data)
{
  const char *kind = data;
  g_autofree char *file = g_strdup_printf ("optim-%s.safetensors", kind);
  g_autoptr (SpmSafetensors) st = read_fixture (file);
  const SpmStTensor *p0 = need (st, "p0");
  const size_t n = (size_t) p0->numel;
  SpmTrainConfig cfg = { .optimizer = strcmp (kind, "adam") == 0 ? SPM_OPT_ADAM : SPM_OPT_SGD,
                         .lr = (float) meta_double (st, "lr"),
                         .momentum = (float) meta_double (st, "momentum"),
                         .weight_decay = (float) meta_double (st, "weight_decay") };
  g_autoptr (SpmOptim) o = spm_optim_new (&cfg, n);
  g_autofree float *p = g_memdup2 (p0->data, n * sizeof (float));
  for (int i = 1; i <= 10; i++)
    {
      g_autofree char *gn = g_strdup_printf ("g%d", i), *pn = g_strdup_printf ("p%d", i);
      spm_optim_step (o, p, need (st, gn)->data);
      g_autofree char *what = g_strdup_printf ("%s step %d", kind, i);
      check_close (what, p, need (st, pn)->data, n, ATOL, RTOL);
    }
  g_assert_cmpint (spm_optim_steps (o), ==, 10);
}

static void
test_clip (void)
{
  g_autoptr (SpmSafetensors) st = read_fixture ("clip.safetensors");
  /* a: the norm exceeds max_norm (scaled down); b: below it (unchanged) */
  for (int k = 0; k < 2; k++)
    {
      const char *cs = k == 0 ? "a" : "b";
      g_autofree char *gn = g_strdup_printf ("%s.g", cs), *cn = g_strdup_printf ("%s.clipped", cs);
      g_autofree char *nn = g_strdup_printf ("%s.norm", cs), *mn = g_strdup_printf ("%s.max_norm", cs);
      const SpmStTensor *g = need (st, gn);
      g_autofree float *w = g_memdup2 (g->data, g->numel * sizeof (float));
      float total = spm_clip_grad_norm (w, (size_t) g->numel, (float) meta_double (st, mn));
      check_close (nn, &total, need (st, nn)->data, 1, ATOL, RTOL);
      check_close (cn, w, need (st, cn)->data, (size_t) g->numel, ATOL, RTOL);
    }
}

/* largest |a - b| over n */
static double
max_diff (const float *a, const float *b, size_t n)
{
  double worst = 0;
  for (size_t i = 0; i < n; i++)
    worst = MAX (worst, fabs ((double) a[i] - b[i]));
  return worst;
}

/* cross_entropy(logits, y, weight=w, ignore_index=-1) = Σ w[y] nll / Σ w[y] and its
 * logits gradient, from spm_softmax_xent_weighted with scale = 1 / Σ w[y] */
static void
test_xent_weighted (void)
{
  g_autoptr (SpmSafetensors) st = read_fixture ("xent-weighted.safetensors");
  const SpmStTensor *logits = need (st, "logits"), *tg = need (st, "targets");
  const SpmStTensor *w = need (st, "weights");
  const int N = (int) logits->shape[0], C = (int) logits->shape[1];
  g_autofree int32_t *targets = g_new (int32_t, N);
  for (int i = 0; i < N; i++)
    targets[i] = (int32_t) tg->data[i];
  double W = 0;
  for (int i = 0; i < N; i++)
    W += targets[i] >= 0 ? w->data[targets[i]] : 0;
  g_autofree float *dl = g_new (float, (size_t) N * C);
  double wsum;
  double sum = spm_softmax_xent_weighted (logits->data, N, C, targets, w->data,
                                          1.0f / (float) W, dl, &wsum);
  g_assert_cmpfloat (wsum, ==, W);
  float loss = (float) (sum / wsum);
  const double dloss = max_diff (&loss, need (st, "loss")->data, 1);
  const double dgrad = max_diff (dl, need (st, "dlogits")->data, (size_t) N * C);
  g_test_message ("max |diff| vs torch: loss %.3g, dlogits %.3g", dloss, dgrad);
  check_close ("weighted loss", &loss, need (st, "loss")->data, 1, 1e-6, 0);
  check_close ("weighted dlogits", dl, need (st, "dlogits")->data, (size_t) N * C, 1e-6, 0);
}

/* spm_lr_at against the rates torch's schedulers put in the optimizer, epoch by epoch
 * (also past the schedule's length): equal doubles */
static void
test_lr_schedules (void)
{
  g_autoptr (SpmSafetensors) st = read_fixture ("lr-schedules.safetensors");
  GHashTableIter it;
  gpointer key, value;
  int cases = 0;
  g_hash_table_iter_init (&it, st->metadata);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      g_auto (GStrv) parts = g_strsplit (key, ".", 3);   /* kind, E, base lr */
      if (g_strv_length (parts) != 3)
        continue;
      const SpmLrSchedule kind = strcmp (parts[0], "cosine") == 0 ? SPM_LR_COSINE : SPM_LR_STEP;
      const int E = atoi (parts[1]);
      const double base = g_ascii_strtod (parts[2], NULL);
      g_auto (GStrv) lrs = g_strsplit (value, ",", -1);
      for (int e = 0; lrs[e] != NULL; e++)
        {
          const double want = g_ascii_strtod (lrs[e], NULL), got = spm_lr_at (kind, base, e, E);
          if (got != want)
            {
              g_printerr ("%s epoch %d: lr %.17g, torch %.17g\n", (char *) key, e, got, want);
              g_test_fail ();
            }
        }
      cases++;
    }
  g_test_message ("%d schedules, every epoch's lr equal to torch's", cases);
  g_assert_cmpint (cases, ==, 36);
  g_assert_cmpfloat (spm_lr_at (SPM_LR_CONSTANT, 0.01, 7, 3), ==, 0.01);
}

typedef struct {
  const SpmModel *m;
  const SpmSafetensors *data;
  int64_t steps;
  double worst;   /* largest |a - b| of the weights after any update */
} Follow;

/* after update i: every trained tensor and the loss against step{i}.* of the fixture */
static gboolean
follow_step (int64_t step, double loss, int64_t frames, void *user_data)
{
  Follow *f = user_data;
  (void) frames;
  f->steps = step;
  g_autofree char *ln = g_strdup_printf ("loss%" G_GINT64_FORMAT, step);
  const SpmStTensor *want = spm_safetensors_get (f->data, ln);
  if (want == NULL)
    {
      g_printerr ("update %" G_GINT64_FORMAT " has no reference\n", step);
      g_test_fail ();
      return TRUE;
    }
  float l = (float) loss;
  check_close (ln, &l, want->data, 1, ATOL, RTOL);
  for (int i = 0; i < f->m->n_tensors; i++)
    {
      const SpmTensor *t = &f->m->tensors[i];
      if (!t->trainable)
        continue;
      g_autofree char *name = g_strdup_printf ("step%" G_GINT64_FORMAT ".%s", step, t->name);
      const SpmStTensor *w = need (f->data, name);
      check_close (name, t->data, w->data, (size_t) w->numel, ATOL, RTOL);
      f->worst = MAX (f->worst, max_diff (t->data, w->data, (size_t) w->numel));
    }
  return TRUE;
}

static void
test_tbptt (gconstpointer data)
{
  const char *name = data;
  g_autofree char *mfile = g_strdup_printf ("tbptt-%s.model.safetensors", name);
  g_autofree char *dfile = g_strdup_printf ("tbptt-%s.data.safetensors", name);
  g_autofree char *mpath = fixture_path (mfile);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) m = spm_model_load (mpath, &error);
  g_assert_no_error (error);
  g_autoptr (SpmSafetensors) st = read_fixture (dfile);
  const SpmModelConfig *c = &m->cfg;

  const SpmStTensor *lens = need (st, "lens");
  const int B = (int) lens->numel;
  g_autofree SpmExample *ex = g_new0 (SpmExample, B);
  g_autofree int32_t *y = NULL;
  if (c->head == SPM_HEAD_CAPTIONER)
    {
      const SpmStTensor *f = need (st, "f"), *tok = need (st, "tokens");
      const int N = (int) tok->shape[1];
      y = g_new (int32_t, tok->numel);
      for (int64_t i = 0; i < tok->numel; i++)
        y[i] = (int32_t) tok->data[i];
      for (int b = 0; b < B; b++)
        ex[b] = (SpmExample) { .T = 1, .x = f->data + (size_t) b * c->D, .y = y + (size_t) b * N,
                               .n_y = (int) lens->data[b] + 1 };
    }
  else
    {
      const SpmStTensor *x = need (st, "x"), *yt = need (st, "y");
      const int T = (int) x->shape[1];
      y = g_new (int32_t, yt->numel);
      for (int64_t i = 0; i < yt->numel; i++)
        y[i] = (int32_t) yt->data[i];
      for (int b = 0; b < B; b++)
        ex[b] = (SpmExample) { .T = (int) lens->data[b], .x = x->data + (size_t) b * T * c->D,
                               .y = c->head == SPM_HEAD_LABELER ? y + (size_t) b * T : y + b,
                               .n_y = c->head == SPM_HEAD_LABELER ? (int) lens->data[b] : 1 };
    }

  const char *opt = g_hash_table_lookup (st->metadata, "optimizer");
  SpmTrainConfig cfg = { .optimizer = g_strcmp0 (opt, "adam") == 0 ? SPM_OPT_ADAM : SPM_OPT_SGD,
                         .lr = (float) meta_double (st, "lr"),
                         .momentum = (float) meta_double (st, "momentum"),
                         .weight_decay = (float) meta_double (st, "weight_decay"),
                         .clip = (float) meta_double (st, "clip"),
                         .tbptt = (int) meta_double (st, "tbptt"),
                         .batch = B, .seed = 1, .shuffle = FALSE };
  const int epochs = (int) meta_double (st, "epochs");
  const SpmStTensor *cw = spm_safetensors_get (st, "class_weights");
  const char *sched = g_hash_table_lookup (st->metadata, "lr_schedule");
  cfg.class_weights = cw != NULL ? cw->data : NULL;
  cfg.lr_schedule = g_strcmp0 (sched, "cosine") == 0 ? SPM_LR_COSINE
                    : g_strcmp0 (sched, "step") == 0 ? SPM_LR_STEP : SPM_LR_CONSTANT;
  cfg.epochs = epochs;
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  g_assert_no_error (error);
  Follow f = { .m = m, .data = st };
  for (int e = 0; e < epochs; e++)
    {
      SpmEpochResult r;
      g_assert_true (spm_trainer_run_epoch (t, ex, B, follow_step, &f, &r, &error));
      g_assert_no_error (error);
      g_assert_false (r.stopped);
      g_assert_true (r.completed);
      g_assert_cmpint (r.epoch, ==, e);
      g_assert_cmpfloat (r.lr, ==, spm_lr_at (cfg.lr_schedule, cfg.lr, e, epochs));
      g_autofree char *en = g_strdup_printf ("epoch_loss%d", e);
      const SpmStTensor *want = spm_safetensors_get (st, en);
      float mean = (float) r.mean_loss;
      if (want != NULL)
        check_close (en, &mean, want->data, 1, ATOL, RTOL);
    }
  g_test_message ("%" G_GINT64_FORMAT " updates, weights within %.3g of torch's", f.steps,
                  f.worst);
  g_assert_cmpint (f.steps, ==, (int64_t) meta_double (st, "steps"));
  g_assert_cmpint (spm_trainer_epochs_done (t), ==, epochs);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  g_test_add_data_func ("/train/optim/adam", "adam", test_optim);
  g_test_add_data_func ("/train/optim/sgd-momentum", "sgd", test_optim);
  g_test_add_func ("/train/optim/clip", test_clip);
  g_test_add_func ("/train/xent-weighted-torch", test_xent_weighted);
  g_test_add_func ("/train/lr-schedule-torch", test_lr_schedules);
  static const char *const cases[] = { "labeler-lstm", "labeler-rnn", "classifier-mean-rnn",
                                       "classifier-last-lstm", "captioner-lstm",
                                       "weighted-labeler-lstm", "weighted-classifier-rnn",
                                       "weighted-classifier-mean-lstm" };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/tbptt-torch/%s", cases[i]);
      g_test_add_data_func (path, cases[i], test_tbptt);
    }
  return g_test_run ();
}
