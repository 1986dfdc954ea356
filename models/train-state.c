/* train-state.c — the optimizer state file for --resume.
 *
 * A safetensors file: tensor optim.m [n_trainable] (SGD momentum buffer / Adam exp_avg),
 * optim.v (Adam exp_avg_sq); metadata format = seqpipe-train-1, optimizer, step, epoch
 * (epochs completed), batch_pos (batches done in the epoch under way), batch and seed
 * (which fix the batches), rng (the dropout generator, four hex words).  A run stopped
 * inside a batch adds chunk_pos (the step its next chunk starts at), carry_batch (B)
 * and the tensor carry [(2L + 1) B H]: (h, c) of every layer and the pool sums.
 * The schedule: lr_schedule (constant | cosine | step), epochs_total (its length), lr (the
 * rate of the epoch under way, the 16 hex digits of its IEEE double).  The epoch under
 * way: epoch_loss and epoch_weight (Σ w nll and Σ w so far, hex doubles as lr),
 * epoch_targets and epoch_frames.  With class weights: the tensor class_weights [C].  A checkpoint tagged by spm_trainer_tag_model carries
 * train_step and train_epoch; load compares them with step and epoch. */
#include "trainer-private.h"
#include "spm-safetensors.h"

#include <math.h>
#include <string.h>

static const char *const schedule_names[] = { "constant", "cosine", "step" };

/* a double as the 16 hex digits of its bits: read back exactly */
static char *
hex_double (double v)
{
  guint64 bits;
  memcpy (&bits, &v, sizeof bits);
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "x", bits);
}

static gboolean
state_hex_double (GHashTable *md, const char *path, const char *key, double *out,
                  GError **error)
{
  const char *s = g_hash_table_lookup (md, key);
  guint64 bits;
  if (s == NULL || strlen (s) != 16
      || !g_ascii_string_to_unsigned (s, 16, 0, G_MAXUINT64, &bits, NULL))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata '%s' is %s, expected 16 hexadecimal digits", path, key,
                   s != NULL ? s : "missing");
      return FALSE;
    }
  memcpy (out, &bits, sizeof bits);
  return TRUE;
}

gboolean
spm_trainer_save_state (const SpmTrainer *t, const char *path, GError **error)
{
  const gboolean adam = t->cfg.optimizer == SPM_OPT_ADAM;
  const int64_t n = (int64_t) t->m->n_trainable;
  SpmStWrite w[4] = {
    { .name = "optim.m", .data = spm_optim_moment (t->opt, 0), .ndim = 1, .shape = { n } },
    { .name = "optim.v", .data = spm_optim_moment (t->opt, 1), .ndim = 1, .shape = { n } },
  };
  g_autofree char *step = g_strdup_printf ("%" G_GINT64_FORMAT, spm_optim_steps (t->opt));
  g_autofree char *epoch = g_strdup_printf ("%d", t->epochs);
  g_autofree char *pos = g_strdup_printf ("%zu", t->pos);
  g_autofree char *batch = g_strdup_printf ("%d", t->cfg.batch);
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, t->cfg.seed);
  g_autofree char *rng = g_strdup_printf ("%016" G_GINT64_MODIFIER "x,%016" G_GINT64_MODIFIER
                                          "x,%016" G_GINT64_MODIFIER "x,%016" G_GINT64_MODIFIER "x",
                                          t->rng.s[0], t->rng.s[1], t->rng.s[2], t->rng.s[3]);
  g_autofree char *lr = hex_double (t->lr);
  g_autofree char *total = g_strdup_printf ("%d", t->cfg.epochs);
  g_autofree char *ep_loss = hex_double (t->ep_loss);
  g_autofree char *ep_weight = hex_double (t->ep_weight);
  g_autofree char *ep_targets = g_strdup_printf ("%" G_GINT64_FORMAT, t->ep_targets);
  g_autofree char *ep_frames = g_strdup_printf ("%" G_GINT64_FORMAT, t->ep_frames);
  g_autofree char *chunk = g_strdup_printf ("%d", t->chunk_pos);
  g_autofree char *carry_b = g_strdup_printf ("%d", t->carry_B);
  const char *meta[] = { "format", "seqpipe-train-1", "optimizer", adam ? "adam" : "sgd",
                         "step", step, "epoch", epoch, "batch_pos", pos, "batch", batch,
                         "seed", seed, "rng", rng, "chunk_pos", chunk, "carry_batch", carry_b,
                         "lr_schedule", schedule_names[t->cfg.lr_schedule],
                         "epochs_total", total, "lr", lr, "epoch_loss", ep_loss,
                         "epoch_weight", ep_weight, "epoch_targets", ep_targets,
                         "epoch_frames", ep_frames, NULL };
  int nw = adam ? 2 : 1;
  if (t->chunk_pos > 0)
    w[nw++] = (SpmStWrite) { .name = "carry", .data = t->carry, .ndim = 1,
                             .shape = { (int64_t) (2 * t->m->cfg.L + 1) * t->carry_B * t->m->cfg.H } };
  if (t->class_w != NULL)
    w[nw++] = (SpmStWrite) { .name = "class_weights", .data = t->class_w, .ndim = 1,
                             .shape = { t->m->cfg.C } };
  return spm_safetensors_write (path, w, nw, meta, error);
}

static gboolean
state_u64 (GHashTable *md, const char *path, const char *key, guint64 *out, GError **error)
{
  const char *s = md != NULL ? g_hash_table_lookup (md, key) : NULL;
  if (s == NULL || !g_ascii_string_to_unsigned (s, 10, 0, G_MAXINT64, out, NULL))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata '%s' is %s, expected a non-negative integer", path, key,
                   s != NULL ? s : "missing");
      return FALSE;
    }
  return TRUE;
}

/* The checkpoint's train_step and train_epoch (spm_trainer_tag_model), where present,
 * must be the state's step and epochs done. */
static gboolean
state_fits_model (const SpmModel *m, const char *path, guint64 step, guint64 epoch,
                  GError **error)
{
  const char *ms = m->meta != NULL ? g_hash_table_lookup (m->meta, "train_step") : NULL;
  const char *me = m->meta != NULL ? g_hash_table_lookup (m->meta, "train_epoch") : NULL;
  g_autofree char *ss = g_strdup_printf ("%" G_GUINT64_FORMAT, step);
  g_autofree char *se = g_strdup_printf ("%" G_GUINT64_FORMAT, epoch);
  if ((ms == NULL || strcmp (ms, ss) == 0) && (me == NULL || strcmp (me, se) == 0))
    return TRUE;
  g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
               "%s: the state was saved after update %s with %s epochs done, the checkpoint "
               "after update %s with %s epochs done: they are not of one moment of the run",
               path, ss, se, ms != NULL ? ms : "?", me != NULL ? me : "?");
  return FALSE;
}

void
spm_trainer_tag_model (const SpmTrainer *t, SpmModel *m)
{
  g_hash_table_insert (m->meta, g_strdup ("train_step"),
                       g_strdup_printf ("%" G_GINT64_FORMAT, spm_optim_steps (t->opt)));
  g_hash_table_insert (m->meta, g_strdup ("train_epoch"), g_strdup_printf ("%d", t->epochs));
}

gboolean
spm_trainer_state_info (const char *path, SpmTrainStateInfo *info, GError **error)
{
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, error);
  if (st == NULL)
    return FALSE;
  GHashTable *md = st->metadata;
  const char *format = md ? g_hash_table_lookup (md, "format") : NULL;
  if (format == NULL || strcmp (format, "seqpipe-train-1") != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: not a seqpipe training state (metadata 'format')", path);
      return FALSE;
    }
  guint64 step, epoch, pos, chunk_pos = 0;
  double lr = 0;
  if (!state_u64 (md, path, "step", &step, error) || !state_u64 (md, path, "epoch", &epoch, error)
      || !state_u64 (md, path, "batch_pos", &pos, error)
      || (g_hash_table_contains (md, "chunk_pos")
          && !state_u64 (md, path, "chunk_pos", &chunk_pos, error))
      || (g_hash_table_contains (md, "lr") && !state_hex_double (md, path, "lr", &lr, error)))
    return FALSE;
  if (epoch > G_MAXINT || chunk_pos > G_MAXINT)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata 'epoch' or 'chunk_pos' is out of range", path);
      return FALSE;
    }
  *info = (SpmTrainStateInfo) { .step = (int64_t) step, .epochs_done = (int) epoch,
                                .batch_pos = (size_t) pos, .chunk_pos = (int) chunk_pos,
                                .lr = lr };
  return TRUE;
}

gboolean
spm_trainer_load_state (SpmTrainer *t, const char *path, GError **error)
{
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, error);
  if (st == NULL)
    return FALSE;
  GHashTable *md = st->metadata;
  const char *format = md ? g_hash_table_lookup (md, "format") : NULL;
  const char *opt = md ? g_hash_table_lookup (md, "optimizer") : NULL;
  const gboolean adam = t->cfg.optimizer == SPM_OPT_ADAM;
  if (format == NULL || strcmp (format, "seqpipe-train-1") != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: not a seqpipe training state (metadata 'format')", path);
      return FALSE;
    }
  if (opt == NULL || strcmp (opt, adam ? "adam" : "sgd") != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                   "%s: the state is of optimizer %s, [train] optimizer is %s", path,
                   opt ? opt : "(none)", adam ? "adam" : "sgd");
      return FALSE;
    }
  guint64 step, epoch, pos, batch, seed;
  if (!state_u64 (md, path, "step", &step, error) || !state_u64 (md, path, "epoch", &epoch, error)
      || !state_u64 (md, path, "batch_pos", &pos, error)
      || !state_u64 (md, path, "batch", &batch, error)
      || !state_u64 (md, path, "seed", &seed, error))
    return FALSE;
  if (batch != (guint64) t->cfg.batch || seed != t->cfg.seed || epoch > G_MAXINT)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                   "%s: the state was made with [train] batch = %" G_GUINT64_FORMAT
                   " and seed = %" G_GUINT64_FORMAT "; resuming needs the same values", path,
                   batch, seed);
      return FALSE;
    }
  if (!state_fits_model (t->m, path, step, epoch, error))
    return FALSE;
  /* the schedule: absent in files of older runs (a constant rate, recomputed) */
  const char *sched = g_hash_table_lookup (md, "lr_schedule");
  guint64 total = (guint64) MAX (t->cfg.epochs, 0);
  double lr = spm_lr_at (t->cfg.lr_schedule, t->cfg.lr, (int) MIN (epoch, G_MAXINT),
                         t->cfg.epochs);
  double ep_loss = 0, ep_weight = 0;
  guint64 ep_targets = 0, ep_frames = 0;
  if (sched != NULL
      && (!state_u64 (md, path, "epochs_total", &total, error)
          || !state_hex_double (md, path, "lr", &lr, error)
          || !state_hex_double (md, path, "epoch_loss", &ep_loss, error)
          || !state_hex_double (md, path, "epoch_weight", &ep_weight, error)
          || !state_u64 (md, path, "epoch_targets", &ep_targets, error)
          || !state_u64 (md, path, "epoch_frames", &ep_frames, error)))
    return FALSE;
  const char *want = schedule_names[t->cfg.lr_schedule];
  if (g_strcmp0 (sched != NULL ? sched : "constant", want) != 0
      || (t->cfg.lr_schedule != SPM_LR_CONSTANT && total != (guint64) t->cfg.epochs))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                   "%s: the state was made with [train] lr-schedule = %s over %" G_GUINT64_FORMAT
                   " epochs; resuming needs the same schedule%s (the config says %s over %d)",
                   path, sched != NULL ? sched : "constant", total,
                   t->cfg.lr_schedule != SPM_LR_CONSTANT ? " and epochs" : "", want,
                   t->cfg.epochs);
      return FALSE;
    }
  if (!isfinite (lr) || !(lr >= 0) || !isfinite (ep_loss) || !isfinite (ep_weight))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: metadata 'lr', 'epoch_loss' or 'epoch_weight' is not a finite number",
                   path);
      return FALSE;
    }
  /* the class weights (absent: unweighted) must be the config's, bit for bit */
  const SpmStTensor *cw = spm_safetensors_get (st, "class_weights");
  const size_t C = (size_t) t->m->cfg.C;
  if ((cw == NULL) != (t->class_w == NULL)
      || (cw != NULL && (cw->numel != (int64_t) C
                         || memcmp (cw->data, t->class_w, C * sizeof (float)) != 0)))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                   "%s: the state was made %s class weights than [train] class-weights gives; "
                   "resuming needs the same weights", path,
                   cw == NULL ? "without" : t->class_w == NULL ? "with" : "with other");
      return FALSE;
    }
  const char *rng = g_hash_table_lookup (md, "rng");
  g_auto (GStrv) words = rng ? g_strsplit (rng, ",", -1) : NULL;
  SpmRng r;
  for (int i = 0; i < 4; i++)
    if (words == NULL || g_strv_length (words) != 4
        || !g_ascii_string_to_unsigned (words[i], 16, 0, G_MAXUINT64, &r.s[i], NULL))
      {
        g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                     "%s: metadata 'rng' is not four hexadecimal words", path);
        return FALSE;
      }
  for (int i = 0; i < (adam ? 2 : 1); i++)
    {
      const char *name = i == 0 ? "optim.m" : "optim.v";
      const SpmStTensor *s = spm_safetensors_get (st, name);
      if (s == NULL || s->ndim != 1 || s->shape[0] != (int64_t) t->m->n_trainable)
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_MISMATCH,
                       "%s: tensor '%s' is %s, expected %zu floats (the model's trainable "
                       "parameters)", path, name, s ? "of another size" : "missing",
                       t->m->n_trainable);
          return FALSE;
        }
    }
  for (int i = 0; i < (adam ? 2 : 1); i++)
    memcpy (spm_optim_moment (t->opt, i),
            spm_safetensors_get (st, i == 0 ? "optim.m" : "optim.v")->data,
            t->m->n_trainable * sizeof (float));
  /* inside a stopped batch: its carried state (absent in files of older runs: 0) */
  guint64 chunk_pos = 0, carry_b = 0;
  if (g_hash_table_contains (md, "chunk_pos")
      && (!state_u64 (md, path, "chunk_pos", &chunk_pos, error)
          || !state_u64 (md, path, "carry_batch", &carry_b, error)))
    return FALSE;
  const SpmStTensor *carry = spm_safetensors_get (st, "carry");
  const int64_t carry_n = (int64_t) (2 * t->m->cfg.L + 1) * (int64_t) carry_b * t->m->cfg.H;
  if (chunk_pos > G_MAXINT || carry_b > G_MAXINT
      || (chunk_pos > 0 && (carry == NULL || carry->ndim != 1 || carry->numel != carry_n)))
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: tensor 'carry' does not hold the state of %" G_GUINT64_FORMAT
                   " sequences stopped at step %" G_GUINT64_FORMAT, path, carry_b, chunk_pos);
      return FALSE;
    }
  g_clear_pointer (&t->carry, g_free);
  t->chunk_pos = (int) chunk_pos;
  t->carry_B = (int) carry_b;
  if (chunk_pos > 0)
    t->carry = g_memdup2 (carry->data, (size_t) carry_n * sizeof (float));
  spm_optim_set_steps (t->opt, (int64_t) step);
  t->epochs = (int) epoch;
  t->pos = pos;
  t->rng = r;
  t->lr = lr;
  spm_optim_set_lr (t->opt, lr);
  t->ep_loss = ep_loss;
  t->ep_weight = ep_weight;
  t->ep_targets = (int64_t) ep_targets;
  t->ep_frames = (int64_t) ep_frames;
  return TRUE;
}
