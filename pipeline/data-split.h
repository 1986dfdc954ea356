/* data-split.h — [train] val-fraction: a share of the training manifest's inputs held
 * out for validation (DESIGN §4). */
#ifndef SP_DATA_SPLIT_H
#define SP_DATA_SPLIT_H

#include "data-dataset.h"

G_BEGIN_DECLS

/* The choice itself, over n items of the given strata (strata NULL, or an entry NULL:
 * one stratum of its own for all such items).  In each stratum (taken in byte order of
 * the names) the items are shuffled by a generator seeded with seed, and the first
 * round(fraction x size) go to validation, so each stratum keeps its share on both
 * sides.  Then, when n >= 2 and fraction > 0, at least one item is on each side: an
 * empty validation side takes the first shuffled item of the largest stratum, an empty
 * training side gives one back.  is_val [n] receives the choice. */
void sp_split_choose (const char *const *strata, int n, double fraction, uint64_t seed,
                      gboolean *is_val);

/* Moves the inputs chosen for validation, whole (every row naming one goes with it),
 * out of ds into the returned dataset (before targets are assigned).  The strata: the
 * classifier's label, the labeler's dominant label (sp_label_file_dominant), none for
 * the captioner.  Writes split_csv: a header `path,split`, then each input with rows,
 * in manifest order, `train` or `val` (atomically; FALSE + error when it cannot). */
SpDataset *sp_dataset_split (SpDataset *ds, double fraction, uint64_t seed,
                             const char *split_csv, GError **error);

G_END_DECLS

#endif
