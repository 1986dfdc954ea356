/* cmd-train.c — `seqpipe train CONFIG [--set G.K=V]... [--resume CKPT] [-q]`.
 *
 * Reads [train] manifest (and val-manifest) with their label files or captions,
 * extracts features once into [train] cache-dir, fits norm.mean/std, trains the model
 * of [model] with the [train] optimizer, validates after each epoch and keeps:
 *   [model] checkpoint            the best epoch on val-manifest (else the last)
 *   NAME.last.safetensors         the last epoch (or the interrupted step)
 *   NAME.last.state.safetensors   the optimizer state beside it, for --resume
 *   OUTPUT-DIR/train-log.csv      epoch,step,loss,<validation metrics>,seconds
 *   OUTPUT-DIR/train-log.png      loss (blue) and the main validation metric (orange)
 * Bad rows: on-error = skip leaves them out, reports each and exits 2 at the end;
 * on-error = stop reports them all and exits 1 before training, writing nothing.
 * SIGINT/SIGTERM: the batch in hand finishes, the last checkpoint and its state are
 * written, exit 3; --resume on it continues the same learning curve.
 * Math threads: [train] threads (0 = all cores). */
#include "cmds.h"
#include "data-dataset.h"
#include "run-signals.h"
#include "train-log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

/* what the per-update callback needs for the progress line */
typedef struct {
  SpProgress *progress;
  int epoch, epochs;
  int64_t epoch_frames; /* frames of one pass over the training set */
  gint64 t0;            /* start of the epoch, monotonic microseconds */
} TrainRun;

static int
fail (GError *e)
{
  g_printerr ("seqpipe: %s\n", e->message);
  if (g_error_matches (e, SP_ERROR, SP_ERROR_INTERRUPTED))
    return 3;
  return 1;
}

/* "X.safetensors" -> "X" + suffix */
static char *
sp_checkpoint_sibling (const char *path, const char *suffix)
{
  g_autofree char *base = g_str_has_suffix (path, ".safetensors")
                              ? g_strndup (path, strlen (path) - strlen (".safetensors"))
                              : g_strdup (path);
  return g_strconcat (base, suffix, NULL);
}

static gboolean
on_update (int64_t step, double loss, int64_t frames, void *user)
{
  TrainRun *r = user;
  double s = (g_get_monotonic_time () - r->t0) / 1e6;
  double rate = s > 0 ? frames / s : 0.0;
  /* ETA: the rest of this epoch and the epochs after it at this epoch's rate */
  double left = (double) (r->epoch_frames - frames)
                + (double) (r->epochs - r->epoch - 1) * (double) r->epoch_frames;
  int eta = rate > 0 ? (int) (left / rate) : 0;
  sp_progress_update (r->progress,
                      "epoch %d/%d  step %" G_GINT64_FORMAT "  loss %.4f  %.0f frames/s  ETA %d:%02d",
                      r->epoch + 1, r->epochs, step, loss, rate, eta / 60, eta % 60);
  return !sp_interrupted ();
}

/* Label set (labeler, classifier): [head] labels > the init checkpoint's > sorted names
 * of the training and validation sets.  Vocabulary (captioner): the init
 * checkpoint's, else built from the training captions. */
static gboolean
assign_targets (SpConfig *c, SpmHeadKind head, SpDataset *train, SpDataset *val,
                const SpmModel *init, char ***names, GError **error)
{
  gboolean whole = sp_config_double (c, "decoder", "fps") == 0;
  if (head == SPM_HEAD_CAPTIONER) {
    g_autoptr (SpVocab) v = NULL;
    if (init) {
      v = sp_vocab_new ((const char *const *) init->names, error);
      if (!v)
        return FALSE;
    } else {
      g_autofree const char **caps = sp_dataset_captions (train);
      v = sp_vocab_build (caps, (int) sp_config_int (c, "head", "min-count"));
    }
    sp_dataset_assign_vocab (train, v);
    if (val)
      sp_dataset_assign_vocab (val, v);
    *names = g_strdupv (v->words);
    return TRUE;
  }
  g_autoptr (SpLabelSet) set = NULL;
  g_autofree char *labels = sp_config_path (c, "head", "labels");   /* a labeler/classifier key */
  if (labels && *labels) {
    g_autoptr (GError) e = NULL;
    set = sp_label_set_read (labels, &e);
    if (!set) {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[head] labels: %s", e->message);
      return FALSE;
    }
  } else if (init) {
    set = sp_label_set_new ((const char *const *) init->names);
  } else {
    g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    sp_dataset_collect_labels (train, seen);
    if (val)
      sp_dataset_collect_labels (val, seen);
    set = sp_label_set_sorted (seen);
  }
  sp_dataset_assign_labels (train, set, whole);
  if (val)
    sp_dataset_assign_labels (val, set, whole);
  *names = g_strdupv (set->names);
  return TRUE;
}

static gboolean
model_config (SpConfig *c, SpmHeadKind head, int D, int C, SpmModelConfig *cfg, GError **error)
{
  const char *pool = head == SPM_HEAD_CLASSIFIER ? sp_config_string (c, "head", "pool") : NULL;
  if (head == SPM_HEAD_CLASSIFIER && pool && strcmp (pool, "last") && strcmp (pool, "mean")) {
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[head] pool: \"%s\" is not one of last, mean",
                 pool);
    return FALSE;
  }
  *cfg = (SpmModelConfig) {
    .head = head,
    .cell = (SpmCell) sp_config_int (c, "model", "cell"),
    .pool = pool && !strcmp (pool, "mean") ? SPM_POOL_MEAN : SPM_POOL_LAST,
    .D = D,
    .H = (int) sp_config_int (c, "model", "hidden"),
    .L = (int) sp_config_int (c, "model", "layers"),
    .C = C,
    .E = 0,
    .dropout = (float) sp_config_double (c, "model", "dropout"),
    .has_norm = TRUE,
  };
  return TRUE;
}

static void
train_config (SpConfig *c, SpmTrainConfig *t)
{
  const char *opt = sp_config_string (c, "train", "optimizer");
  *t = (SpmTrainConfig) {
    .optimizer = opt && !strcmp (opt, "sgd") ? SPM_OPT_SGD : SPM_OPT_ADAM,
    .lr = (float) sp_config_double (c, "train", "lr"),
    .momentum = (float) sp_config_double (c, "train", "momentum"),
    .weight_decay = (float) sp_config_double (c, "train", "weight-decay"),
    .clip = (float) sp_config_double (c, "train", "clip"),
    .tbptt = (int) sp_config_int (c, "train", "tbptt"),
    .batch = (int) sp_config_int (c, "train", "batch"),
    .seed = (uint64_t) sp_config_int (c, "train", "seed"),
    .shuffle = sp_config_bool (c, "train", "shuffle"),
  };
}

/* a checkpoint to continue from must have the model this config asks for; the error
 * lists what differs */
static gboolean
same_shape (const SpmModelConfig *a, const SpmModelConfig *b, const char *path, GError **error)
{
  static const char *const cells[] = { "lstm", "rnn" };
  g_autoptr (GString) d = g_string_new (NULL);
#define DIFF(cond, ...) \
  if (cond) { g_string_append (d, d->len ? ", " : ""); g_string_append_printf (d, __VA_ARGS__); }
  DIFF (a->head != b->head, "head %s (config %s)", spm_head_kind_name (a->head),
        spm_head_kind_name (b->head));
  DIFF (a->cell != b->cell, "cell %s ([model] cell %s)", cells[a->cell], cells[b->cell]);
  DIFF (a->D != b->D, "feature size %d (the data's %d)", a->D, b->D);
  DIFF (a->H != b->H, "hidden %d ([model] hidden %d)", a->H, b->H);
  DIFF (a->L != b->L, "layers %d ([model] layers %d)", a->L, b->L);
  DIFF (a->C != b->C, "%d %s (the data's %d)", a->C,
        a->head == SPM_HEAD_CAPTIONER ? "words" : "labels", b->C);
  DIFF (a->head == SPM_HEAD_CLASSIFIER && a->pool != b->pool, "pool %s ([head] pool %s)",
        a->pool == SPM_POOL_MEAN ? "mean" : "last", b->pool == SPM_POOL_MEAN ? "mean" : "last");
#undef DIFF
  if (d->len == 0)
    return TRUE;
  g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s: not the model this config trains: %s",
               path, d->str);
  return FALSE;
}

static void
set_meta (SpmModel *m, const char *key, char *value /* transfer full */)
{
  if (!m->meta)
    m->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (m->meta, g_strdup (key), value);
}

/* the model to train: --resume's weights, else init's, else fresh; norm from the data */
static SpmModel *
make_model (SpConfig *c, const SpmModelConfig *cfg, const SpDataset *train, SpmModel *init,
            const char *resume, char **names, GError **error)
{
  g_autoptr (SpmModel) m = NULL;
  if (resume) {
    m = spm_model_load (resume, error);
    if (!m || !same_shape (&m->cfg, cfg, resume, error))
      return NULL;
    return g_steal_pointer (&m);
  }
  m = spm_model_new (cfg, error);
  if (!m)
    return NULL;
  spm_model_init (m, (uint64_t) sp_config_int (c, "train", "seed"));
  spm_model_set_names (m, (const char *const *) names);
  if (init) {
    g_autofree char *ip = sp_config_path (c, "train", "init");
    if (!same_shape (&init->cfg, cfg, ip, error))
      return NULL;
    memcpy (m->params, init->params, sizeof (float) * m->n_trainable);
  }
  if (init && init->cfg.has_norm) {
    memcpy (m->norm_mean, init->norm_mean, sizeof (float) * cfg->D);
    memcpy (m->norm_std, init->norm_std, sizeof (float) * cfg->D);
  } else {
    spm_model_fit_norm (m, train->ex, train->n_ex);
  }
  set_meta (m, "decoder", sp_config_feature_settings (c, "decoder"));
  set_meta (m, "extractor", sp_config_feature_settings (c, "extractor"));
  return g_steal_pointer (&m);
}

static void
report_rows (const SpDataset *ds)
{
  for (guint i = 0; ds && i < ds->errors->len; i++)
    g_printerr ("seqpipe: %s\n", (char *) ds->errors->pdata[i]);
}

typedef struct {
  const char *ckpt, *last, *state;
  char *log_dir;
} Outputs;

static gboolean
save_last (SpmModel *m, SpmTrainer *t, const Outputs *o, double best, GError **error)
{
  set_meta (m, "train_best", g_strdup_printf ("%.17g", best));
  if (!spm_model_save (m, o->last, error) || !spm_trainer_save_state (t, o->state, error))
    return FALSE;
  g_hash_table_remove (m->meta, "train_best");
  return TRUE;
}

int
sp_cmd_train (int argc, char **argv)
{
  g_auto (GStrv) sets = NULL;
  g_autofree char *resume = NULL;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, "override a config key", "GROUP.KEY=VALUE" },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &resume,
      "continue from NAME.last.safetensors (and its .state beside it)", "CHECKPOINT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress line", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("CONFIG");
  g_option_context_set_summary (ctx, "Train the model of CONFIG's [model] and [head] on [train] "
                                     "manifest.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) e = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &e)) {
    g_printerr ("seqpipe: train: %s\n", e->message);
    return 1;
  }
  if (argc != 2) {
    g_printerr ("seqpipe: train: expected one CONFIG (see seqpipe train --help)\n");
    return 1;
  }
  g_autoptr (SpConfig) c = sp_config_load (argv[1], (const char *const *) sets, "train", &e);
  if (!c)
    return fail (e);
  SpmHeadKind head;
  if (!sp_dataset_head_kind (sp_config_head_class (c), &head, &e))
    return fail (e);
  g_autofree char *manifest = sp_config_path (c, "train", "manifest");
  g_autofree char *val_manifest = sp_config_path (c, "train", "val-manifest");
  g_autofree char *ckpt = sp_config_path (c, "model", "checkpoint");
  g_autofree char *out_dir = sp_config_path (c, "pipeline", "output-dir");
  g_autofree char *cache_dir = sp_config_path (c, "train", "cache-dir");
  g_autofree char *init_path = sp_config_path (c, "train", "init");
  if (!manifest || !*manifest || !ckpt || !*ckpt) {
    g_printerr ("seqpipe: [%s] %s: required by train\n", manifest && *manifest ? "model" : "train",
                manifest && *manifest ? "checkpoint" : "manifest");
    return 1;
  }
  sp_signals_install ();
  gboolean stop_on_error = !g_strcmp0 (sp_config_string (c, "pipeline", "on-error"), "stop");
  spm_set_threads ((int) sp_config_int (c, "train", "threads"));

  g_autoptr (SpmModel) init = NULL;
  if (init_path && *init_path && !(init = spm_model_load (init_path, &e)))
    return fail (e);
  if (init && init->cfg.head != head) {
    g_printerr ("seqpipe: [train] init: %s is a checkpoint for another head\n", init_path);
    return 1;
  }

  TrainRun run = { .progress = sp_progress_new (quiet) };
  g_autoptr (SpDataset) train = sp_dataset_read (c, manifest, head, cache_dir, run.progress, &e);
  g_autoptr (SpDataset) val = NULL;
  if (train && val_manifest && *val_manifest)
    val = sp_dataset_read (c, val_manifest, head, cache_dir, run.progress, &e);
  g_auto (GStrv) names = NULL;
  if (!train || (val_manifest && *val_manifest && !val)
      || !assign_targets (c, head, train, val, init, &names, &e)) {
    sp_progress_free (run.progress);
    return fail (e);
  }
  report_rows (train);
  report_rows (val);
  guint bad = train->errors->len + (val ? val->errors->len : 0);
  if (bad && stop_on_error) {
    sp_progress_free (run.progress);
    g_printerr ("seqpipe: %u bad manifest row(s); nothing trained ([pipeline] on-error = stop)\n",
                bad);
    return 1;
  }
  if (train->n_ex == 0) {
    sp_progress_free (run.progress);
    g_printerr ("seqpipe: %s: no usable examples\n", manifest);
    return 1;
  }

  SpmModelConfig mcfg;
  SpmTrainConfig tcfg;
  if (!model_config (c, head, train->D, (int) g_strv_length (names), &mcfg, &e)) {
    sp_progress_free (run.progress);
    return fail (e);
  }
  train_config (c, &tcfg);
  g_autoptr (SpmModel) m = make_model (c, &mcfg, train, init, resume, names, &e);
  g_autoptr (SpmTrainer) t = m ? spm_trainer_new (m, &tcfg, &e) : NULL;
  g_autofree char *last = sp_checkpoint_sibling (ckpt, ".last.safetensors");
  g_autofree char *state = sp_checkpoint_sibling (ckpt, ".last.state.safetensors");
  g_autofree char *resume_state = resume ? sp_checkpoint_sibling (resume, ".state.safetensors")
                                         : NULL;
  if (!t || (resume && !spm_trainer_load_state (t, resume_state, &e))) {
    sp_progress_free (run.progress);
    return fail (e);
  }
  double best = -1;
  if (resume && m->meta && g_hash_table_lookup (m->meta, "train_best"))
    best = g_ascii_strtod (g_hash_table_lookup (m->meta, "train_best"), NULL);
  if (m->meta)
    g_hash_table_remove (m->meta, "train_best");

  g_autofree char *ckpt_dir = g_path_get_dirname (ckpt);
  if (g_mkdir_with_parents (out_dir, 0755) || g_mkdir_with_parents (ckpt_dir, 0755)) {
    sp_progress_free (run.progress);
    g_printerr ("seqpipe: [pipeline] output-dir: cannot create %s or %s\n", out_dir, ckpt_dir);
    return 1;
  }
  g_autoptr (SpTrainLog) log = sp_train_log_new (head, out_dir);
  if (resume)
    sp_train_log_load (log, spm_trainer_epochs_done (t));
  Outputs o = { ckpt, last, state, out_dir };

  run.epochs = (int) sp_config_int (c, "train", "epochs");
  run.epoch_frames = train->frames;
  int status = 0;
  for (run.epoch = spm_trainer_epochs_done (t); run.epoch < run.epochs; run.epoch++) {
    double loss = 0;
    gboolean stopped = FALSE;
    run.t0 = g_get_monotonic_time ();
    gint64 e0 = run.t0;
    if (!spm_trainer_epoch (t, train->ex, train->n_ex, on_update, &run, &loss, &stopped, &e)) {
      status = fail (e);
      break;
    }
    if (stopped) {
      sp_progress_free (g_steal_pointer (&run.progress));
      if (!save_last (m, t, &o, best, &e)) {
        status = fail (e);
        break;
      }
      g_printerr ("seqpipe: interrupted: %s written; continue with --resume %s\n", last, last);
      status = 3;
      break;
    }
    SpScore sc = { .head = head };
    gboolean have_val = val && val->n_ex > 0;
    if (have_val) {
      SpPredictions *p = sp_predictions_new (val);
      int max_len = head == SPM_HEAD_CAPTIONER ? (int) sp_config_int (c, "head", "max-length") : 0;
      sp_dataset_predict (val, m, 1, max_len, p);
      sp_dataset_score (val, p, mcfg.C, &sc);
      sp_predictions_free (p, val);
    }
    double secs = (g_get_monotonic_time () - e0) / 1e6;
    sp_train_log_add (log, run.epoch + 1, spm_trainer_step (t), loss, have_val ? &sc : NULL,
                      secs);
    double score = sp_score_main (&sc);
    sp_score_clear (&sc);
    gboolean ok = TRUE;
    if (!have_val || score > best) {
      best = have_val ? score : best;
      ok = spm_model_save (m, ckpt, &e);
    }
    ok = ok && save_last (m, t, &o, best, &e) && sp_train_log_write (log, &e);
    if (!ok) {
      status = fail (e);
      break;
    }
  }
  if (run.progress)
    sp_progress_free (run.progress);
  if (status == 0 && bad)
    status = 2;
  return status;
}
