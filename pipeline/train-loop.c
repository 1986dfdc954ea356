/* train-loop.c — the epochs of a run: validation, the best and last checkpoints, early
 * stopping, interruption, and the summary at the end (train-run.h). */
#include "train-run.h"
#include "run-signals.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void train_set_meta (SpmModel *m, const char *key, char *value /* transfer full */);

void
train_set_meta (SpmModel *m, const char *key, char *value)
{
  if (!m->meta)
    m->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (m->meta, g_strdup (key), value);
}

static gboolean
on_update (int64_t step, double loss, int64_t frames, void *user)
{
  TrainRun *r = user;
  double s = (g_get_monotonic_time () - r->t0) / 1e6;
  double rate = s > 0 ? frames / s : 0.0;
  /* ETA: the rest of this epoch and the epochs after it at this epoch's rate */
  double left = (double) (r->train->frames - frames)
                + (double) (r->epochs - r->epoch - 1) * (double) r->train->frames;
  int eta = rate > 0 ? (int) (left / rate) : 0;
  if (r->progress)
    sp_progress_update (r->progress,
                        "epoch %d/%d  step %" G_GINT64_FORMAT "  loss %.4f  %.0f frames/s  ETA %d:%02d",
                        r->epoch + 1, r->epochs, step, loss, rate, eta / 60, eta % 60);
  return !sp_interrupted ();
}

/* Validation loss: Σ w[y] (-log p[y]) / Σ w[y] over the valid targets (w = 1 without
 * class weights), as the training loss is defined.  Labeler and classifier: p from
 * the streaming runner (no dropout); captioner: the teacher-forced loss of each
 * caption from the trainer's loss path. */
static gboolean
val_loss (TrainRun *r, double *out, GError **error)
{
  const SpDataset *ds = r->val;
  double sum = 0, wsum = 0;
  if (r->head == SPM_HEAD_CAPTIONER) {
    for (size_t e = 0; e < ds->n_ex; e++) {
      double l;
      if (!spm_trainer_loss_grad (r->t, &ds->ex[e], 1, 0, &l, error))
        return FALSE;
      sum += l * (ds->ex[e].n_y - 1);
      wsum += ds->ex[e].n_y - 1;
    }
    *out = wsum > 0 ? sum / wsum : NAN;
    return TRUE;
  }
  int C = r->m->cfg.C, D = r->m->cfg.D;
  g_autoptr (SpmRunner) run = spm_runner_new (r->m);
  g_autofree float *p = g_new (float, C);
  for (size_t e = 0; e < ds->n_ex; e++) {
    const SpmExample *ex = &ds->ex[e];
    spm_runner_reset (run);
    for (int t = 0; t < ex->T; t++) {
      spm_runner_step (run, ex->x + (size_t) t * D, p);
      int32_t y = ex->y[t < ex->n_y ? t : 0];
      if (r->head == SPM_HEAD_LABELER && y >= 0 && y < C) {
        double w = r->class_weights ? r->class_weights[y] : 1.0;
        sum -= w * log (MAX (p[y], 1e-30f));
        wsum += w;
      }
    }
    if (r->head == SPM_HEAD_CLASSIFIER) {
      spm_runner_classify (run, p);
      int32_t y = ex->y[0];
      double w = r->class_weights ? r->class_weights[y] : 1.0;
      sum -= w * log (MAX (p[y], 1e-30f));
      wsum += w;
    }
  }
  *out = wsum > 0 ? sum / wsum : NAN;
  return TRUE;
}

static gboolean
validate (TrainRun *r, SpScore *sc, GError **error)
{
  SpPredictions *p = sp_predictions_new (r->val);
  int max_len = r->head == SPM_HEAD_CAPTIONER ? (int) sp_config_int (r->c, "head", "max-length")
                                              : 0;
  sp_dataset_predict (r->val, r->m, 1, max_len, p);
  sp_dataset_score (r->val, p, r->m->cfg.C, sc);
  sp_predictions_free (p, r->val);
  return val_loss (r, &sc->loss, error);
}

/* NAME.last and its state, tagged as a pair (spm_trainer_tag_model), with the
 * early-stopping record so that --resume goes on counting patience */
static gboolean
save_last (TrainRun *r, GError **error)
{
  SpmModel *m = r->m;
  train_set_meta (m, "train_monitor", g_strdup (r->mon.name));
  train_set_meta (m, "train_best", g_strdup_printf ("%.17g", r->mon.best));
  train_set_meta (m, "train_best_epoch", g_strdup_printf ("%d", r->mon.best_epoch));
  train_set_meta (m, "train_stale", g_strdup_printf ("%d", r->mon.stale));
  spm_trainer_tag_model (r->t, m);
  gboolean ok = spm_model_save (m, r->last, error) && spm_trainer_save_state (r->t, r->state, error);
  static const char *const tags[] = { "train_step", "train_epoch", "train_best",
                                      "train_best_epoch", "train_stale", "train_monitor" };
  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    g_hash_table_remove (m->meta, tags[i]);
  return ok;
}

/* An epoch that completed: validate, log its row, keep it as the best when the monitor
 * improves (every epoch without validation data), save .last. */
static gboolean
close_epoch (TrainRun *r, const SpmEpochResult *res, double seconds, GError **error)
{
  SpScore sc = { .head = r->head, .loss = NAN };
  gboolean have_val = r->val != NULL;
  gint64 v0 = g_get_monotonic_time ();
  if (have_val && !validate (r, &sc, error)) {
    sp_score_clear (&sc);
    return FALSE;
  }
  seconds += (g_get_monotonic_time () - v0) / 1e6;
  int epoch = res->epoch + 1;
  sp_train_log_add (r->log, epoch, spm_trainer_step (r->t), res->mean_loss,
                    have_val ? &sc : NULL, seconds);
  gboolean best = have_val ? sp_monitor_observe (&r->mon, epoch, sp_monitor_value (&r->mon, &sc))
                           : TRUE;
  sp_score_clear (&sc);
  if (!have_val) {
    r->mon.best_epoch = epoch;
    r->mon.best = res->mean_loss;
  }
  if (best)
    sp_train_log_set_best (r->log, epoch);
  r->epochs_run++;
  return (!best || spm_model_save (r->m, r->ckpt, error)) && save_last (r, error)
         && sp_train_log_write (r->log, error);
}

gboolean
train_loop (TrainRun *r, GError **error)
{
  r->stop = SP_TRAIN_RAN_ALL;
  while (spm_trainer_epochs_done (r->t) < r->epochs) {
    if (sp_monitor_should_stop (&r->mon)) {
      r->stop = SP_TRAIN_PATIENCE;
      break;
    }
    r->epoch = spm_trainer_epochs_done (r->t);
    r->t0 = g_get_monotonic_time ();
    SpmEpochResult res;
    if (!spm_trainer_run_epoch (r->t, r->train->ex, r->train->n_ex, on_update, r, &res, error))
      return FALSE;
    double secs = (g_get_monotonic_time () - r->t0) / 1e6;
    /* a stop on the epoch's last update still closes that epoch, then stops */
    if (res.completed && !close_epoch (r, &res, secs, error))
      return FALSE;
    if (res.stopped) {
      if (!res.completed && !save_last (r, error))
        return FALSE;
      r->stop = SP_TRAIN_INTERRUPTED;
      break;
    }
  }
  if (r->stop == SP_TRAIN_RAN_ALL && sp_monitor_should_stop (&r->mon)
      && spm_trainer_epochs_done (r->t) < r->epochs)
    r->stop = SP_TRAIN_PATIENCE;
  if (r->progress)
    g_clear_pointer (&r->progress, sp_progress_free);
  return TRUE;
}

void
train_summary (const TrainRun *r)
{
  int done = spm_trainer_epochs_done (r->t);
  printf ("trained %d of %d epochs (%d in this run): ", done, r->epochs, r->epochs_run);
  if (r->stop == SP_TRAIN_PATIENCE)
    printf ("stopped early, no better validation %s for %d epochs\n", r->mon.name,
            r->mon.patience);
  else if (r->stop == SP_TRAIN_INTERRUPTED)
    printf ("interrupted; continue with --resume %s\n", r->last);
  else
    printf ("all epochs run\n");
  if (r->val && r->mon.best_epoch > 0)
    printf ("best epoch %d: validation %s %.6g (on %s)\n", r->mon.best_epoch, r->mon.name,
            r->mon.best, r->val_source);
  else if (r->mon.best_epoch > 0)
    printf ("no validation data: the checkpoint is the last epoch (%d)\n", r->mon.best_epoch);
  printf ("checkpoint %s (best), %s (last, state %s)\n", r->ckpt, r->last, r->state);
  printf ("log %s/train-log.csv, plot %s/train-log.png\n", r->out_dir, r->out_dir);
  if (r->bad_rows)
    printf ("rows skipped: %u (reported above)\n", r->bad_rows);
  fflush (stdout);
}
