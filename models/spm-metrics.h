/* spm-metrics.h — evaluation metrics (DESIGN §9).  Every score is a fraction in [0, 1]. */
#ifndef SPM_METRICS_H
#define SPM_METRICS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* classifier: n predictions against truth, C classes.
 * confusion [C][C]: row = truth, column = prediction (caller-allocated, may be NULL).
 * macro_f1: mean over classes that occur in truth or prediction of per-class F1. */
typedef struct { int64_t n; double accuracy, macro_f1; } SpmClassMetrics;
void spm_metrics_classification (const int32_t *pred, const int32_t *truth, int64_t n, int C,
                                 SpmClassMetrics *out, int64_t *confusion);

/* labeler: n_seq sequences of per-frame labels (MS-TCN eval.py definitions: frame
 * accuracy over all frames; edit = mean over sequences of (1 - Levenshtein distance
 * between segment label strings / the longer length); F1@k from tp/fp/fn summed over
 * all sequences: a predicted segment is a true positive when its best-IoU true
 * segment (IoU counted 0 for another label) reaches k and was not hit before).  As in
 * eval.py, a sequence's last segment ends at len - 1.  No class is treated as
 * background.  Sequences of length 0 count in n only. */
typedef struct { int64_t n, frames; double frame_accuracy, edit, f1_10, f1_25, f1_50; } SpmSegMetrics;
void spm_metrics_segmentation (const int32_t *const *pred, const int32_t *const *truth,
                               const int64_t *len, int64_t n_seq, SpmSegMetrics *out);

/* captioner: corpus BLEU-1 and BLEU-4 as NLTK's corpus_bleu (uniform weights, brevity
 * penalty against the closest reference length, no smoothing: BLEU-4 is 0 when an
 * order has no match), exact match = the hypothesis equals one of its references.  hyps[i]: NULL-terminated token list; refs[i]: NULL-terminated list
 * of NULL-terminated token lists. */
typedef struct { int64_t n; double bleu1, bleu4, exact_match; } SpmCaptionMetrics;
void spm_metrics_captions (const char *const *const *hyps, const char *const *const *const *refs,
                           int64_t n, SpmCaptionMetrics *out);

G_END_DECLS

#endif
