/* data-cache.h — an input's features in memory, and kept on disk between runs of
 * `train` and `eval`.
 *
 * An entry is keyed by the SHA-256 of: the seqpipe version, the input's absolute
 * path, size and modification time, its [start, end) window, and the decoder and
 * extractor settings (sp_config_feature_settings), so a changed file, setting or
 * seqpipe extracts again.  An entry is two NumPy files in the cache directory:
 *   KEY.npy          float32 (T, D)  the features
 *   KEY.frames.npy   float64 (T, 2)  native frame index and time in seconds per row
 * each written under a temporary name of its own (mkstemp) and renamed, frames first:
 * a crash leaves no partial entry, and processes on several machines may fill one
 * cache directory at once (two writing the same entry write the same bytes; the last
 * rename wins).  An entry whose two files disagree is not read as valid.
 */
#ifndef SP_DATA_CACHE_H
#define SP_DATA_CACHE_H

#include "host-config.h"

G_BEGIN_DECLS

typedef struct {
  int64_t T;            /* frames delivered */
  int D;
  float *x;             /* [T][D] */
  int64_t *index;       /* [T] native frame numbers */
  double *time;         /* [T] seconds */
  int64_t broken;       /* frames that could not be decoded */
} SpFeatures;
void sp_features_clear (SpFeatures *f);
/* Decodes and extracts the whole input in memory through its chain (run-chain.h). */
gboolean sp_extract_features (SpConfig *c, const SpInputInfo *input, SpFeatures *out,
                              GError **error);


/* Features of input, from the cache in cache_dir when present there, else extracted
 * with sp_extract_features and stored (cache_dir NULL: no cache).  *hit (may be NULL)
 * tells which. */
gboolean sp_cache_features (SpConfig *c, const char *cache_dir, const SpInputInfo *input,
                            SpFeatures *out, gboolean *hit, GError **error);

/* The entry's key (64 hex digits, newly allocated), or NULL + error when the input
 * cannot be stat'ed. */
char *sp_cache_key (SpConfig *c, const SpInputInfo *input, GError **error);

G_END_DECLS

#endif
