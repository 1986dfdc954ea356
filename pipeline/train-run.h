/* train-run.h — one run of `seqpipe train`: everything it holds, from the config to
 * the trainer, in one struct with one cleanup.
 *   train-setup.c  config -> datasets (split, targets), model, trainer, outputs
 *   train-loop.c   epochs, validation, checkpoints, early stopping, the summary */
#ifndef SP_TRAIN_RUN_H
#define SP_TRAIN_RUN_H

#include "train-log.h"
#include "train-monitor.h"

G_BEGIN_DECLS

typedef enum {
  SP_TRAIN_RAN_ALL,        /* every epoch of [train] epochs */
  SP_TRAIN_PATIENCE,       /* [train] patience epochs without a better monitor */
  SP_TRAIN_INTERRUPTED,    /* SIGINT / SIGTERM: .last and its state written */
} SpTrainStop;

typedef struct {
  SpConfig *c;             /* (transfer none) */
  SpmHeadKind head;
  char *manifest, *val_source;   /* val_source: val-manifest, or "val-fraction" */
  char *ckpt, *last, *state, *out_dir, *cache_dir;
  char *resume;            /* --resume, or NULL */
  SpProgress *progress;
  SpDataset *train, *val;  /* val NULL without validation data */
  char **names;            /* labels or vocabulary */
  SpmModel *init, *m;
  SpmTrainConfig tcfg;
  float *class_weights;    /* [C] or NULL */
  SpmTrainer *t;
  SpTrainLog *log;
  SpMonitor mon;
  int epochs;              /* [train] epochs */
  guint bad_rows;          /* rows left out (on-error = skip) */
  /* progress line */
  int epoch;
  gint64 t0;
  /* outcome */
  int epochs_run;          /* epochs completed in this call */
  SpTrainStop stop;
} TrainRun;

void train_run_free (TrainRun *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrainRun, train_run_free)

/* Everything before the first epoch (config checks, data, targets, class counts,
 * model, trainer, --resume, output dirs).  NULL + error (SP_ERROR_CONFIG for a config,
 * SP_ERROR_INPUT for data) when training cannot start. */
TrainRun *train_setup (SpConfig *c, const char *resume, gboolean quiet, GError **error);
/* The epochs to the end, early stop or interruption (r->stop says which). */
gboolean train_loop (TrainRun *r, GError **error);
/* One summary on stdout: epochs run and why training stopped, the best epoch and its
 * monitored value, where the checkpoints and the log went, rows skipped. */
void train_summary (const TrainRun *r);

/* "X.safetensors" -> "X" + suffix (newly allocated) */
char *train_sibling (const char *path, const char *suffix);

G_END_DECLS

#endif
