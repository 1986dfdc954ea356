/* test-fixtures.c — the optimizers, clipping and the TBPTT trainer against PyTorch 1.13
 * references written by gen_fixtures.py.  Tolerance |a-b| <= 1e-5 + 1e-4|b|: float32
 * arithmetic in a different order (BLAS sums, fused steps) over a few updates. */
#include "train-check.h"

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

typedef struct {
  const SpmModel *m;
  const SpmSafetensors *data;
  int64_t steps;
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
  g_autoptr (SpmTrainer) t = spm_trainer_new (m, &cfg, &error);
  g_assert_no_error (error);
  Follow f = { .m = m, .data = st };
  const int epochs = (int) meta_double (st, "epochs");
  for (int e = 0; e < epochs; e++)
    {
      double mean_loss;
      gboolean stopped;
      g_assert_true (spm_trainer_epoch (t, ex, B, follow_step, &f, &mean_loss, &stopped, &error));
      g_assert_no_error (error);
      g_assert_false (stopped);
    }
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
  static const char *const cases[] = { "labeler-lstm", "labeler-rnn", "classifier-mean-rnn",
                                       "classifier-last-lstm", "captioner-lstm" };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/tbptt-torch/%s", cases[i]);
      g_test_add_data_func (path, cases[i], test_tbptt);
    }
  return g_test_run ();
}
