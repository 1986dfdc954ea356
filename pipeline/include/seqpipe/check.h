/* seqpipe/check.h — testing a stage by hand, out of a run (libseqpipe-check, as
 * GStreamer's libgstcheck): load one plugin directory, instantiate one stage with
 * key values, feed it frames or records, and look at what it emitted or wrote.
 *
 *     cc test-my-sink.c $(pkg-config --cflags --libs seqpipe-check)
 *
 * sp_harness_new loads only plugin_dir and its immediate subdirectories (an isolated
 * plugin path), finds the stage (stage_name, or "kind:name", e.g. "sink:npy"),
 * allocates its private state and applies its key table with the "key=value" pairs
 * given (others take their defaults; bad values are errors as in a config).  Set
 * what the stage needs, then init.  Frames come from a pool the harness owns
 * (rgb of dec->width x dec->height, features of the feature dim).  Records a head
 * emits are copied and kept; sinks write to output_path. */
#ifndef SEQPIPE_CHECK_H
#define SEQPIPE_CHECK_H

#include <seqpipe/plugin.h>

G_BEGIN_DECLS

typedef struct SpHarness SpHarness;
SpHarness *sp_harness_new (const char *plugin_dir, const char *stage_name,
                           const char *const *keys, const SpInputInfo *input,
                           const SpDecoderParams *dec, GError **error);
void sp_harness_free (SpHarness *h);  /* finalize (whenever init was called, even if it
                                        * failed), then free */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpHarness, sp_harness_free)
SpStage *sp_harness_stage (SpHarness *h);
void sp_harness_set_feature_dim (SpHarness *h, int dim);
void sp_harness_set_labels (SpHarness *h, const char *const *labels, int n);
void sp_harness_set_output (SpHarness *h, const char *path, gboolean combined);
void sp_harness_set_checkpoint (SpHarness *h, const char *path);
/* what sp_stage_head_name() answers (default NULL) */
void sp_harness_set_head (SpHarness *h, const char *head);
/* sinks: the records the run's head makes (st->records: one SpRecordKind, 0 = no head;
 * default 0) */
void sp_harness_set_records (SpHarness *h, unsigned records);
/* what sp_stage_feature_settings() answers (default: {"fps","height","width"} of dec
 * for "decoder", {} for "extractor") */
void sp_harness_set_feature_settings (SpHarness *h, const char *which, const char *json);
gboolean sp_harness_init (SpHarness *h, GError **error);
/* a frame from the harness pool, sized for the stage (valid until the next call) */
SpFrame *sp_harness_frame (SpHarness *h);
SpDecodeStatus sp_harness_decode (SpHarness *h, SpFrame *frame, GError **error);
gboolean sp_harness_process (SpHarness *h, SpFrame *frame, GError **error);
gboolean sp_harness_write (SpHarness *h, const SpRecord *record, GError **error);
/* sinks that take SP_TAKES_FRAMES: one delivered frame */
gboolean sp_harness_frame_to_sink (SpHarness *h, const SpFrame *frame, GError **error);
gboolean sp_harness_flush (SpHarness *h, GError **error);
/* records emitted by a head so far (copies; probs and text owned by the harness) */
const SpRecord *sp_harness_records (SpHarness *h, int *n);

G_END_DECLS

#endif /* SEQPIPE_CHECK_H */
