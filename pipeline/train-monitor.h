/* train-monitor.h — [train] monitor and patience: what "a better epoch" is, and when
 * training stops for want of one (DESIGN §4). */
#ifndef SP_TRAIN_MONITOR_H
#define SP_TRAIN_MONITOR_H

#include "data-score.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;     /* "loss" or a §9 metric of the head (static string) */
  gboolean lower_better;/* loss: lower; every metric: higher */
  int patience;         /* epochs without improvement that stop training; 0 = never */
  double best;          /* the best value so far (NAN before any) */
  int best_epoch;       /* its epoch, 1-based; 0 before any */
  int stale;            /* epochs observed since the best one */
} SpMonitor;

/* name: loss, or one of the head's metrics (labeler: frame_accuracy, edit, f1@10,
 * f1@25, f1@50; classifier: accuracy, macro_f1; captioner: bleu1, bleu4, exact_match).
 * FALSE + SP_ERROR_CONFIG naming [train] monitor, with a "did you mean" and the head's
 * names, for any other. */
gboolean sp_monitor_init (SpMonitor *m, SpmHeadKind head, const char *name, int patience,
                          GError **error);
/* Epoch `epoch` scored `value`: TRUE when it improves strictly on the best so far (the
 * first finite value always does; NAN never does), which makes it the best; otherwise
 * one more stale epoch. */
gboolean sp_monitor_observe (SpMonitor *m, int epoch, double value);
/* patience > 0 and that many epochs have passed since the best one */
gboolean sp_monitor_should_stop (const SpMonitor *m);
/* the monitored value of a validation score (s->loss for "loss") */
double sp_monitor_value (const SpMonitor *m, const SpScore *s);

G_END_DECLS

#endif
