/* train-setup.c — from a config to a trainer ready for its first epoch (train-run.h). */
#include "spm-io.h"
#include "train-run.h"
#include "data-split.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

void
train_run_free (TrainRun *r)
{
  if (!r)
    return;
  g_free (r->manifest);
  g_free (r->val_source);
  g_free (r->ckpt);
  g_free (r->last);
  g_free (r->state);
  g_free (r->out_dir);
  g_free (r->cache_dir);
  g_free (r->resume);
  if (r->progress)
    sp_progress_free (r->progress);
  sp_dataset_free (r->train);
  sp_dataset_free (r->val);
  g_strfreev (r->names);
  g_clear_pointer (&r->t, spm_trainer_free);
  spm_model_free (r->init);
  spm_model_free (r->m);
  g_free (r->class_weights);
  if (r->log)
    sp_train_log_free (r->log);
  g_free (r);
}

char *
train_sibling (const char *path, const char *suffix)
{
  g_autofree char *base = g_str_has_suffix (path, ".safetensors")
                              ? g_strndup (path, strlen (path) - strlen (".safetensors"))
                              : g_strdup (path);
  return g_strconcat (base, suffix, NULL);
}


/* ---- the [train] keys that depend on each other ------------------------------------ */

static gboolean
check_keys (TrainRun *r, gboolean have_val_manifest, double fraction, GError **error)
{
  SpConfig *c = r->c;
  if (have_val_manifest && fraction > 0)
    return sp_config_error (error, "[train] val-fraction: %g with val-manifest set; validate on "
                         "one or the other", fraction);
  const char *monitor = sp_config_string (c, "train", "monitor");
  int patience = (int) sp_config_int (c, "train", "patience");
  if (!sp_monitor_init (&r->mon, r->head, monitor ? monitor : "loss", patience, error))
    return FALSE;
  if (!have_val_manifest && fraction <= 0) {
    if (patience != 0)
      return sp_config_error (error, "[train] patience: %d needs validation data ([train] "
                           "val-manifest or val-fraction)", patience);
    if (strcmp (r->mon.name, "loss"))
      return sp_config_error (error, "[train] monitor: \"%s\" needs validation data ([train] "
                           "val-manifest or val-fraction)", r->mon.name);
  }
  if (r->head == SPM_HEAD_CAPTIONER && sp_config_int (c, "train", "class-weights") != 0)
    return sp_config_error (error, "[train] class-weights: balanced weighs classes; the captioner "
                         "has none (use none)");
  return TRUE;
}

/* ---- targets --------------------------------------------------------------------- */

/* Without [head] labels or init, the classes are the training set's: a label that only
 * validation has would be a class nothing trained.  The error names where it is. */
static gboolean
check_val_labels (const SpDataset *val, GHashTable *train_names, GError **error)
{
  for (guint i = 0; val && i < val->rows->len; i++) {
    const SpDataRow *r = &g_array_index (val->rows, SpDataRow, i);
    const char *name = NULL;
    g_autofree char *where = NULL;
    if (r->label && !g_hash_table_contains (train_names, r->label)) {
      name = r->label;
      where = g_strdup_printf ("%s:%d", val->manifest, r->line);
    }
    int n = !r->lf ? 0 : r->lf->segments ? r->lf->n_segs : (int) r->lf->n_frames;
    for (int k = 0; !name && k < n; k++) {
      const char *l = r->lf->segments ? r->lf->seg_label[k] : r->lf->frames[k];
      if (!g_hash_table_contains (train_names, l)) {
        name = l;
        where = g_strdup_printf ("%s:%d", r->lf->file,
                                 r->lf->segments ? r->lf->seg_line[k] : k + 1);
      }
    }
    if (name) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: label \"%s\" appears only in the "
                   "validation set (%s:%d); the model could not learn it: add it to the "
                   "training set, or fix the class list with [head] labels", where, name,
                   val->manifest, r->line);
      return FALSE;
    }
  }
  return TRUE;
}

/* Label set (labeler, classifier): [head] labels > the init checkpoint's > sorted names
 * of the training set.  Vocabulary (captioner): the init checkpoint's, else built from
 * the training captions. */
static gboolean
assign_targets (TrainRun *r, GError **error)
{
  SpConfig *c = r->c;
  gboolean whole = sp_config_double (c, "decoder", "fps") == 0;
  if (r->head == SPM_HEAD_CAPTIONER) {
    g_autoptr (SpVocab) v = NULL;
    if (r->init) {
      v = sp_vocab_new ((const char *const *) r->init->names, error);
      if (!v)
        return FALSE;
    } else {
      g_autofree const char **caps = sp_dataset_captions (r->train);
      v = sp_vocab_build (caps, (int) sp_config_int (c, "head", "min-count"));
    }
    sp_dataset_assign_vocab (r->train, v);
    if (r->val)
      sp_dataset_assign_vocab (r->val, v);
    r->names = g_strdupv (v->words);
    return TRUE;
  }
  g_autoptr (SpLabelSet) set = NULL;
  g_autofree char *labels = sp_config_path (c, "head", "labels");
  if (labels && *labels) {
    g_autoptr (GError) e = NULL;
    set = sp_label_set_read (labels, &e);
    if (!set)
      return sp_config_error (error, "[head] labels: %s", e->message);
  } else if (r->init) {
    set = sp_label_set_new ((const char *const *) r->init->names);
  } else {
    g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    sp_dataset_collect_labels (r->train, seen);
    if (!check_val_labels (r->val, seen, error))
      return FALSE;
    set = sp_label_set_sorted (seen);
  }
  sp_dataset_assign_labels (r->train, set, whole);
  if (r->val)
    sp_dataset_assign_labels (r->val, set, whole);
  r->names = g_strdupv (set->names);
  return TRUE;
}

/* Prints the training set's class counts and warns of rare classes: fewer than 5
 * inputs (classifier), under 1% of the labelled frames (labeler); then the balanced
 * weights when [train] class-weights asks for them. */
static void
class_counts (TrainRun *r)
{
  int C = (int) g_strv_length (r->names);
  g_autofree int64_t *counts = g_new0 (int64_t, C + 1);
  spm_class_counts (r->head, C, r->train->ex, r->train->n_ex, counts);
  int64_t total = 0;
  for (int k = 0; k < C; k++)
    total += counts[k];
  gboolean lab = r->head == SPM_HEAD_LABELER;
  g_autoptr (GString) line = g_string_new (NULL);
  for (int k = 0; k < C; k++)
    g_string_append_printf (line, "%s%s %" G_GINT64_FORMAT, k ? ", " : "", r->names[k],
                            counts[k]);
  printf ("training set: %zu inputs, class counts (%s): %s\n", r->train->n_ex,
          lab ? "frames" : "inputs", line->str);
  for (int k = 0; k < C; k++) {
    if (!lab && counts[k] < 5)
      g_printerr ("seqpipe: warning: class \"%s\" has %" G_GINT64_FORMAT " input(s) in the "
                  "training set (fewer than 5)\n", r->names[k], counts[k]);
    else if (lab && (double) counts[k] < 0.01 * (double) total)
      g_printerr ("seqpipe: warning: class \"%s\" has %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                  " labelled frames in the training set (under 1%%)\n", r->names[k], counts[k],
                  total);
  }
  if (sp_config_int (r->c, "train", "class-weights") != 0) {
    r->class_weights = g_new (float, C + 1);
    spm_class_weights_balanced (counts, C, r->class_weights);
  }
  fflush (stdout);
}

/* ---- data ------------------------------------------------------------------------ */

static void
report_rows (const SpDataset *ds)
{
  for (guint i = 0; ds && i < ds->errors->len; i++)
    g_printerr ("seqpipe: %s\n", (char *) ds->errors->pdata[i]);
}

static gboolean
read_data (TrainRun *r, const char *val_manifest, double fraction, GError **error)
{
  SpConfig *c = r->c;
  r->train = sp_dataset_read (c, r->manifest, r->head, r->cache_dir, r->progress, error);
  if (!r->train)
    return FALSE;
  if (val_manifest) {
    r->val = sp_dataset_read (c, val_manifest, r->head, r->cache_dir, r->progress, error);
    if (!r->val)
      return FALSE;
  } else if (fraction > 0) {
    if (g_mkdir_with_parents (r->out_dir, 0755))
      return sp_config_error (error, "[pipeline] output-dir: cannot create %s", r->out_dir);
    g_autofree char *split = g_build_filename (r->out_dir, "val-split.csv", NULL);
    r->val = sp_dataset_split (r->train, fraction, (uint64_t) sp_config_int (c, "train", "seed"),
                               split, error);
    if (!r->val)
      return FALSE;
  }
  if (!assign_targets (r, error))
    return FALSE;
  report_rows (r->train);
  report_rows (r->val);
  sp_dataset_report_unlabelled (r->train);
  sp_dataset_report_unlabelled (r->val);
  r->bad_rows = r->train->errors->len + (r->val ? r->val->errors->len : 0);
  if (r->bad_rows && !g_strcmp0 (sp_config_string (c, "pipeline", "on-error"), "stop")) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%u bad manifest row(s); nothing trained "
                 "([pipeline] on-error = stop)", r->bad_rows);
    return FALSE;
  }
  if (r->train->n_ex == 0) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: no usable examples", r->manifest);
    return FALSE;
  }
  if (r->val && r->val->n_ex == 0)
    g_clear_pointer (&r->val, sp_dataset_free);
  if (r->head != SPM_HEAD_CAPTIONER)
    class_counts (r);
  return TRUE;
}

/* ---- model and trainer ------------------------------------------------------------ */

static gboolean
model_config (SpConfig *c, SpmHeadKind head, int D, int C, SpmModelConfig *cfg, GError **error)
{
  const char *pool = head == SPM_HEAD_CLASSIFIER ? sp_config_string (c, "head", "pool") : NULL;
  if (head == SPM_HEAD_CLASSIFIER && pool && strcmp (pool, "last") && strcmp (pool, "mean"))
    return sp_config_error (error, "[head] pool: \"%s\" is not one of last, mean", pool);
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

/* the [train] keys as the trainer takes them (spm-model.h) */
static void
train_config (TrainRun *r)
{
  SpConfig *c = r->c;
  const char *opt = sp_config_string (c, "train", "optimizer");
  r->tcfg = (SpmTrainConfig) {
    .optimizer = opt && !strcmp (opt, "sgd") ? SPM_OPT_SGD : SPM_OPT_ADAM,
    .lr = (float) sp_config_double (c, "train", "lr"),
    .momentum = (float) sp_config_double (c, "train", "momentum"),
    .weight_decay = (float) sp_config_double (c, "train", "weight-decay"),
    .clip = (float) sp_config_double (c, "train", "clip"),
    .tbptt = (int) sp_config_int (c, "train", "tbptt"),
    .batch = (int) sp_config_int (c, "train", "batch"),
    .seed = (uint64_t) sp_config_int (c, "train", "seed"),
    .shuffle = sp_config_bool (c, "train", "shuffle"),
    .class_weights = r->class_weights,
    .lr_schedule = (SpmLrSchedule) sp_config_int (c, "train", "lr-schedule"),
    .epochs = r->epochs,
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
  return sp_config_error (error, "%s: not the model this config trains: %s", path, d->str);
}

void train_set_meta (SpmModel *m, const char *key, char *value);

/* the model to train: --resume's weights, else init's, else fresh; norm from the data */
static gboolean
make_model (TrainRun *r, const SpmModelConfig *cfg, GError **error)
{
  SpConfig *c = r->c;
  if (r->resume) {
    r->m = spm_model_load (r->resume, error);
    return r->m && same_shape (&r->m->cfg, cfg, r->resume, error);
  }
  r->m = spm_model_new (cfg, error);
  if (!r->m)
    return FALSE;
  spm_model_init (r->m, (uint64_t) sp_config_int (c, "train", "seed"));
  spm_model_set_names (r->m, (const char *const *) r->names);
  if (r->init) {
    g_autofree char *ip = sp_config_path (c, "train", "init");
    if (!same_shape (&r->init->cfg, cfg, ip, error))
      return FALSE;
    memcpy (r->m->params, r->init->params, sizeof (float) * r->m->n_trainable);
  }
  if (r->init && r->init->cfg.has_norm) {
    memcpy (r->m->norm_mean, r->init->norm_mean, sizeof (float) * cfg->D);
    memcpy (r->m->norm_std, r->init->norm_std, sizeof (float) * cfg->D);
  } else {
    spm_model_fit_norm (r->m, r->train->ex, r->train->n_ex);
  }
  train_set_meta (r->m, "decoder", sp_config_feature_settings (c, "decoder"));
  train_set_meta (r->m, "extractor", sp_config_feature_settings (c, "extractor"));
  return TRUE;
}

static const char *
meta (const SpmModel *m, const char *key)
{
  return m->meta ? g_hash_table_lookup (m->meta, key) : NULL;
}

/* --resume takes NAME.last.safetensors and the state written with it: the best
 * checkpoint has no optimizer state, and a state of another moment of the run would
 * continue a curve these weights are not on. */
static gboolean
resume_state (TrainRun *r, GError **error)
{
  g_autofree char *state = train_sibling (r->resume, ".state.safetensors");
  const char *step = meta (r->m, "train_step"), *epoch = meta (r->m, "train_epoch");
  if (!g_str_has_suffix (r->resume, ".last.safetensors") || !step || !epoch)
    return sp_config_error (error, "--resume %s: not a NAME.last.safetensors checkpoint written by "
                         "train (it has no train_step/train_epoch record); resume from %s, "
                         "with %s beside it", r->resume, r->last, r->state);
  SpmTrainStateInfo info;
  g_autoptr (GError) e = NULL;
  if (!spm_trainer_state_info (state, &info, &e))
    return sp_config_error (error, "--resume %s: its state %s: %s", r->resume, state, e->message);
  if (info.step != g_ascii_strtoll (step, NULL, 10)
      || info.epochs_done != (int) g_ascii_strtoll (epoch, NULL, 10))
    return sp_config_error (error, "--resume %s: the checkpoint is of step %s (epoch %s) but its "
                         "state %s is of step %" G_GINT64_FORMAT " (epoch %d): they were not "
                         "written together; resume from a .last checkpoint and the "
                         ".last.state file saved with it", r->resume, step, epoch, state,
                         info.step, info.epochs_done);
  if (!spm_trainer_load_state (r->t, state, &e))
    return sp_config_error (error, "--resume %s: %s", r->resume, e->message);
  /* the early-stopping record the run had reached, of the same monitor */
  const char *was = meta (r->m, "train_monitor");
  if (was && strcmp (was, r->mon.name))
    return sp_config_error (error, "[train] monitor: \"%s\", but the run in %s monitored \"%s\" "
                         "(its best epoch is by that measure); resume with monitor = %s",
                         r->mon.name, r->resume, was, was);
  if (meta (r->m, "train_best_epoch")) {
    r->mon.best_epoch = (int) g_ascii_strtoll (meta (r->m, "train_best_epoch"), NULL, 10);
    r->mon.best = g_ascii_strtod (meta (r->m, "train_best"), NULL);
    r->mon.stale = (int) g_ascii_strtoll (meta (r->m, "train_stale"), NULL, 10);
    if (r->mon.best_epoch == 0)
      r->mon.best = NAN;
  }
  static const char *const tags[] = { "train_step", "train_epoch", "train_best", "train_best_epoch",
                                      "train_stale", "train_monitor" };
  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    g_hash_table_remove (r->m->meta, tags[i]);
  return TRUE;
}

/* ---- the whole setup ------------------------------------------------------------- */

TrainRun *
train_setup (SpConfig *c, const char *resume, gboolean quiet, GError **error)
{
  g_autoptr (TrainRun) r = g_new0 (TrainRun, 1);
  r->c = c;
  if (!sp_dataset_head_kind (sp_config_head_class (c), &r->head, error))
    return NULL;
  r->manifest = sp_config_path (c, "train", "manifest");
  g_autofree char *val_manifest = sp_config_path (c, "train", "val-manifest");
  r->ckpt = sp_config_path (c, "model", "checkpoint");
  r->out_dir = sp_config_path (c, "pipeline", "output-dir");
  r->cache_dir = sp_config_path (c, "train", "cache-dir");
  r->resume = g_strdup (resume);
  r->epochs = (int) sp_config_int (c, "train", "epochs");
  if (!r->manifest || !*r->manifest) {
    sp_config_error (error, "[train] manifest: required by train");
    return NULL;
  }
  if (!r->ckpt || !*r->ckpt) {
    sp_config_error (error, "[model] checkpoint: required by train");
    return NULL;
  }
  if (val_manifest && !*val_manifest)
    g_clear_pointer (&val_manifest, g_free);
  double fraction = sp_config_double (c, "train", "val-fraction");
  if (!check_keys (r, val_manifest != NULL, fraction, error))
    return NULL;
  r->val_source = val_manifest ? g_strdup (val_manifest)
                  : fraction > 0 ? g_strdup_printf ("val-fraction %g of %s", fraction, r->manifest)
                                 : NULL;
  r->last = train_sibling (r->ckpt, ".last.safetensors");
  r->state = train_sibling (r->ckpt, ".last.state.safetensors");
  spm_set_threads ((int) sp_config_int (c, "train", "threads"));

  g_autofree char *init_path = sp_config_path (c, "train", "init");
  if (init_path && *init_path) {
    r->init = spm_model_load (init_path, error);
    if (!r->init)
      return NULL;
    if (r->init->cfg.head != r->head) {
      sp_config_error (error, "[train] init: %s is a checkpoint for another head", init_path);
      return NULL;
    }
  }
  r->progress = sp_progress_new (quiet);
  if (!read_data (r, val_manifest, fraction, error))
    return NULL;

  SpmModelConfig mcfg;
  if (!model_config (c, r->head, r->train->D, (int) g_strv_length (r->names), &mcfg, error)
      || !make_model (r, &mcfg, error))
    return NULL;
  train_config (r);
  r->t = spm_trainer_new (r->m, &r->tcfg, error);
  if (!r->t || (r->resume && !resume_state (r, error)))
    return NULL;

  g_autofree char *ckpt_dir = g_path_get_dirname (r->ckpt);
  if (g_mkdir_with_parents (r->out_dir, 0755) || g_mkdir_with_parents (ckpt_dir, 0755)) {
    sp_config_error (error, "[pipeline] output-dir: cannot create %s or %s", r->out_dir, ckpt_dir);
    return NULL;
  }
  /* a directory the checkpoint cannot be written in fails now, not after an epoch */
  if (!spm_file_probe_writable (ckpt_dir, error) || !spm_file_probe_writable (r->out_dir, error))
    return NULL;
  /* temporaries a killed save left of these very files (only theirs) */
  spm_file_remove_stale_temps (r->ckpt);
  spm_file_remove_stale_temps (r->last);
  spm_file_remove_stale_temps (r->state);
  r->log = sp_train_log_new (r->head, r->out_dir);
  if (r->resume)
    sp_train_log_load (r->log, spm_trainer_epochs_done (r->t));
  if (r->mon.best_epoch > 0)
    sp_train_log_set_best (r->log, r->mon.best_epoch);
  return g_steal_pointer (&r);
}
