/* host-stage.h — stage instances (DESIGN §10): one per input, private state
 * allocated zeroed and filled from the key table, init, finalize whenever init was
 * called (even when it failed); every call into a stage goes through the wrappers
 * below, which guarantee a set error whenever a stage reports a failure; and the
 * host services <seqpipe/plugin.h> promises a stage. */
#ifndef SP_HOST_STAGE_H
#define SP_HOST_STAGE_H

#include "host-config.h"

G_BEGIN_DECLS

typedef gboolean (*SpEmitFunc) (SpStage *head, const SpRecord *record, void *user_data,
                                GError **error);
typedef struct {
  const SpStageClass *klass;
  SpConfig *config;                 /* (transfer none) may be NULL */
  gboolean init_called;
  int64_t expected_frames;          /* -1 unknown */
  char **labels;                    /* owned copy behind SpStage.labels */
  char **strings;                   /* key strings owned by the instance */
  SpEmitFunc emit;                  /* heads: where records go */
  void *emit_data;
  char *checkpoint;                 /* [model] checkpoint, resolved */
  /* sinks: sp_stage_output_path_aux() dispatches here (the run engine's sinks and the
   * check library each provide theirs); NULL = the stage has no second output */
  const char *(*aux_path) (SpStage *st, const char *suffix, GError **error);
  void *aux_data;
  int output_dim;                   /* sp_stage_set_feature_dim() (0 = not called) */
  int batch;                        /* sp_stage_set_batch() (0 = not called: 1) */
  double duration;                  /* decoders: sp_stage_set_duration(); sinks: the
                                     * decoder's, for sp_stage_input_duration(); -1 */
  char *head_name;                  /* sp_stage_head_name(); from [head] plugin */
  char *settings[2];                /* sp_stage_feature_settings: decoder, extractor */
  void *user_data;                  /* free for the code that drives the stage */
} SpStageHost;

/* sp_stage_new allocates the private state (zeroed), applies the key values of
 * `group` in the config (defaults for unset keys; c may be NULL for defaults only) and
 * fills the public fields; sp_stage_free calls finalize whenever init was called (even
 * if it failed), then frees. */
SpStage *sp_stage_new (SpConfig *c, const SpStageClass *klass, const char *group,
                       const SpInputInfo *input, const SpDecoderParams *dec, GError **error);
/* sp_stage_new's core: values maps a key name to its text (PATH values already
 * resolved); keys without a value take their default.  where prefixes errors
 * (e.g. "[decoder] "). */
SpStage *sp_stage_new_from_values (const SpStageClass *klass, GHashTable *values,
                                   const char *where, const SpInputInfo *input,
                                   const SpDecoderParams *dec, GError **error);
void sp_stage_free (SpStage *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpStage, sp_stage_free)
static inline SpStageHost *sp_stage_host (SpStage *st) { return (SpStageHost *) st->host; }

/* ---- calling a stage ------------------------------------------------------------
 * The one way into a stage's functions.  FALSE (or SP_DECODE_ERROR) always comes with
 * *error set: a stage that failed without saying why gets "the NAME KIND failed in
 * FUNCTION without saying why"; an unknown decode status becomes SP_DECODE_ERROR; an
 * error a stage set while reporting success is dropped with a warning.  A function
 * the class does not have succeeds (flush) or is a plugin error (the others). */
gboolean sp_stage_init (SpStage *st, GError **error);
SpDecodeStatus sp_stage_decode (SpStage *st, SpFrame *frame, GError **error);
gboolean sp_stage_process (SpStage *st, SpFrame *frame, GError **error);
gboolean sp_stage_write (SpStage *st, const SpRecord *record, GError **error);
gboolean sp_stage_frame (SpStage *st, const SpFrame *frame, GError **error);
gboolean sp_stage_flush (SpStage *st, GError **error);
/* an extractor's frames[0..n): process_batch when it asked for a batch, else process()
 * on each */
gboolean sp_stage_process_batch (SpStage *st, SpFrame *const *frames, int n, GError **error);
/* the frames an extractor takes per call (1 unless it has process_batch and asked) */
int sp_stage_batch (SpStage *st);

/* what the stage said with sp_stage_set_feature_dim() (0 = nothing) */
int sp_stage_output_dim (SpStage *st);
int64_t sp_stage_expected_frames (SpStage *st);   /* -1 unknown */

/* ---- record declarations (ABI 1.2) ------------------------------------------------
 * What a sink class takes: its `takes`, or for a sink built against ABI 1.1 the same
 * read from its heads_mask (see plugin.h). */
unsigned sp_stage_class_takes (const SpStageClass *sink);
/* "one record per frame", "one record per input", "a caption per input", "frames" —
 * the words of config errors about records (one SpRecordKind or SP_TAKES_FRAMES) */
const char *sp_records_describe (unsigned records);

G_END_DECLS

#endif
