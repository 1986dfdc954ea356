/* data-score.h — predictions over a dataset and their metrics (DESIGN §9). */
#ifndef SP_DATA_SCORE_H
#define SP_DATA_SCORE_H

#include "data-dataset.h"
#include "spm-metrics.h"

G_BEGIN_DECLS

/* ---- scoring (DESIGN §9) -------------------------------------------------------
 * Predictions are per example for the labeler (frame[e][t]) and the classifier
 * (cls[e]); per input for the captioner (caption[i], NULL for an input without good
 * rows), scored against all the input's captions. */
typedef struct {
  int32_t **frame;
  int32_t *cls;
  char **caption;
} SpPredictions;

SpPredictions *sp_predictions_new (const SpDataset *ds);
void sp_predictions_free (SpPredictions *p, const SpDataset *ds);

/* The model's own predictions (validation while training): the streaming runner's
 * argmax per frame or per sequence; captions with the given beam search. */
void sp_dataset_predict (const SpDataset *ds, const SpmModel *m, int beam, int max_len,
                         SpPredictions *p);

typedef struct {
  SpmHeadKind head;
  SpmSegMetrics seg;
  SpmClassMetrics cls;
  int64_t *confusion;       /* [C][C] classifier and labeler (frames), row = truth */
  int C;
  int64_t unlabelled;       /* labeler: frames without a label, left out of every metric */
  double loss;              /* validation loss when the caller computed it, else NAN */
  SpmCaptionMetrics cap;
} SpScore;

void sp_dataset_score (const SpDataset *ds, const SpPredictions *p, int C, SpScore *out);
void sp_score_clear (SpScore *s);
/* class c from the confusion matrix: precision (0 when never predicted), recall (0
 * without support), F1 (0 when both are 0), support (true count) */
void sp_score_per_class (const SpScore *s, int c, double *precision, double *recall,
                         double *f1, int64_t *support);
/* The head's main figure: frame_accuracy, accuracy or bleu4 */
double sp_score_main (const SpScore *s);
/* JSON object with exactly the DESIGN §9 keys of the head, per_class included (names:
 * the class names) */
char *sp_score_json (const SpScore *s, const char *const *names);

G_END_DECLS

#endif
