/* data-checkpoint.h — what `run` and `eval` check of a checkpoint against the config
 * before any input is read. */
#ifndef SP_DATA_CHECKPOINT_H
#define SP_DATA_CHECKPOINT_H

#include "host-config.h"
#include "spm-model.h"

G_BEGIN_DECLS

/* [model] cell, hidden and layers describe the model train makes; run and eval take the
 * model the checkpoint holds.  A key the config sets (file or --set) to another value
 * than the checkpoint's is an error naming `[model] KEY`, both values and the file, not
 * a setting silently ignored.  m: the checkpoint, or NULL to read [model] checkpoint
 * (only when one of the keys is set; nothing to check without a checkpoint). */
gboolean sp_checkpoint_check_model_keys (SpConfig *c, const SpmModel *m, GError **error);

G_END_DECLS

#endif
