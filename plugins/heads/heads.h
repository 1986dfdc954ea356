/* heads.h — what the three head stages share: loading and checking the checkpoint. */
#ifndef SP_HEADS_H
#define SP_HEADS_H

#include <seqpipe/plugin.h>

#include "spm-model.h"

extern const SpStageClass sp_head_labeler;
extern const SpStageClass sp_head_classifier;
extern const SpStageClass sp_head_captioner;

/* Loads the [model] checkpoint for a head of kind `kind` and refuses it when it was
 * trained for another head, for features of another size than st->feature_dim, or
 * with other decoder/extractor settings than the run's (naming the differing keys).
 * labels_path (may be NULL): a `[head] labels` file that must list the checkpoint's
 * labels in its order.  On success the head's labels are set on st (labeler and
 * classifier). */
/* The classifier's pooling: a checkpoint whose metadata records `pool` must agree
 * with the config's [head] pool when that is set (FALSE + error naming both); one made
 * elsewhere without it pools as the config says (default last). */
gboolean sp_heads_apply_pool (SpStage *st, SpmModel *m, const char *pool, GError **error);
SpmModel *sp_heads_load (SpStage *st, SpmHeadKind kind, const char *labels_path,
                         GError **error);

/* index of the largest of p[0..n) */
int sp_heads_argmax (const float *p, int n);

#endif
