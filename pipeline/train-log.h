/* train-log.h — the training log and its plot (see train-log.c). */
#ifndef SP_TRAIN_LOG_H
#define SP_TRAIN_LOG_H

#include "data-score.h"

G_BEGIN_DECLS

typedef struct _SpTrainLog SpTrainLog;

SpTrainLog *sp_train_log_new (SpmHeadKind head, const char *dir);
void sp_train_log_free (SpTrainLog *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpTrainLog, sp_train_log_free)
/* --resume: takes back the rows of the epochs already done from the existing file */
void sp_train_log_load (SpTrainLog *l, int epochs_done);
/* one epoch; s = NULL when it was not validated */
void sp_train_log_add (SpTrainLog *l, int epoch, int64_t step, double loss, const SpScore *s,
                       double seconds);
/* the best epoch (1-based), marked on the plot */
void sp_train_log_set_best (SpTrainLog *l, int epoch);
/* train-log.csv and train-log.png, each replaced atomically */
gboolean sp_train_log_write (const SpTrainLog *l, GError **error);

G_END_DECLS

#endif
