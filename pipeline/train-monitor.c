/* train-monitor.c — the early-stopping rule (see train-monitor.h). */
#include "train-monitor.h"
#include "host-keys.h"

#include <math.h>
#include <string.h>

static const char *const labeler_names[] = { "loss", "frame_accuracy", "edit", "f1@10", "f1@25",
                                             "f1@50", NULL };
static const char *const classifier_names[] = { "loss", "accuracy", "macro_f1", NULL };
static const char *const captioner_names[] = { "loss", "bleu1", "bleu4", "exact_match", NULL };

static const char *const *
head_names (SpmHeadKind head)
{
  return head == SPM_HEAD_LABELER ? labeler_names
         : head == SPM_HEAD_CLASSIFIER ? classifier_names : captioner_names;
}

gboolean
sp_monitor_init (SpMonitor *m, SpmHeadKind head, const char *name, int patience,
                 GError **error)
{
  const char *const *names = head_names (head);
  for (int i = 0; names[i]; i++) {
    if (strcmp (name, names[i]))
      continue;
    *m = (SpMonitor) { .name = names[i], .lower_better = i == 0, .patience = patience,
                       .best = NAN };
    return TRUE;
  }
  g_autofree char *hint = sp_suggest_text (name, names);
  g_autofree char *all = g_strjoinv (", ", (char **) names);
  g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[train] monitor: \"%s\" is not a figure of "
               "the %s head%s (one of %s)", name, spm_head_kind_name (head), hint, all);
  return FALSE;
}

gboolean
sp_monitor_observe (SpMonitor *m, int epoch, double value)
{
  gboolean better = isfinite (value)
                    && (m->best_epoch == 0
                        || (m->lower_better ? value < m->best : value > m->best));
  if (better) {
    m->best = value;
    m->best_epoch = epoch;
    m->stale = 0;
  } else {
    m->stale++;
  }
  return better;
}

gboolean
sp_monitor_should_stop (const SpMonitor *m)
{
  return m->patience > 0 && m->stale >= m->patience;
}

double
sp_monitor_value (const SpMonitor *m, const SpScore *s)
{
  const char *n = m->name;
  if (!strcmp (n, "loss"))
    return s->loss;
  if (!strcmp (n, "frame_accuracy"))
    return s->seg.frame_accuracy;
  if (!strcmp (n, "edit"))
    return s->seg.edit;
  if (!strcmp (n, "f1@10"))
    return s->seg.f1_10;
  if (!strcmp (n, "f1@25"))
    return s->seg.f1_25;
  if (!strcmp (n, "f1@50"))
    return s->seg.f1_50;
  if (!strcmp (n, "accuracy"))
    return s->cls.accuracy;
  if (!strcmp (n, "macro_f1"))
    return s->cls.macro_f1;
  if (!strcmp (n, "bleu1"))
    return s->cap.bleu1;
  if (!strcmp (n, "bleu4"))
    return s->cap.bleu4;
  return s->cap.exact_match;
}
