/* run-chain.h — one input through its decoder and extractor: choosing the decoder,
 * opening the chain (run-chain.c), and streaming its frames through a bounded pool
 * with the decoder on its own thread (run-stream.c).  Memory is bounded by the pool,
 * not by the length of the input.  Every verb that reads inputs goes through here. */
#ifndef SP_RUN_CHAIN_H
#define SP_RUN_CHAIN_H

#include "host-stage.h"

G_BEGIN_DECLS

/* The pool: SP_RUN_POOL_FRAMES frames, fewer (down to 2) when they would take more
 * than SP_RUN_POOL_BYTES (large [decoder] width x height). */
#define SP_RUN_POOL_FRAMES 8
#define SP_RUN_POOL_BYTES (64u << 20)
int sp_run_pool_frames (size_t frame_bytes);


typedef struct {
  SpStage *decoder;
  SpStage *extractor;       /* NULL when the decoder makes the features itself */
  int feature_dim;          /* D of the frames leaving the chain */
  int64_t expected_frames;  /* the decoder's estimate, -1 unknown */
  double duration;          /* the decoder's sp_stage_set_duration, -1 unknown */
} SpChain;

/* A printf pattern of numbered files (%d, %5d, %05d in the base name): one
 * image-sequence input. */
gboolean sp_input_is_sequence_pattern (const char *path);
/* The common [decoder] keys. */
void sp_decoder_params_from_config (SpConfig *c, SpDecoderParams *dec);
/* The decoder class for an input: [decoder] plugin, else the decoder claiming the
 * input's extension ("/" for a directory or a printf pattern such as %05d). */
const SpStageClass *sp_chain_decoder_class (SpConfig *c, const SpInputInfo *in,
                                            GError **error);
/* Creates and inits the decoder (the input is opened) and, unless the decoder makes
 * features, the extractor.  dec must outlive the chain. */
SpChain *sp_chain_open (SpConfig *c, const SpInputInfo *in, const SpDecoderParams *dec,
                        GError **error);
void sp_chain_free (SpChain *ch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpChain, sp_chain_free)

/* Called on the consuming thread for every frame, in order, after the extractor;
 * the frame (transfer none) goes back to the pool when it returns. */
typedef gboolean (*SpFrameFunc) (SpFrame *frame, void *user_data, GError **error);
typedef struct {
  int64_t frames;           /* delivered */
  int64_t broken;           /* SP_DECODE_BROKEN */
} SpStreamStats;
/* Decodes the whole input on its own thread.  FALSE + error on a decoder, extractor
 * or fn failure (naming the frame when known), when no frame came out, or
 * SP_ERROR_INTERRUPTED when sp_interrupted() became true; stats are filled either way. */
gboolean sp_chain_stream (SpChain *ch, SpFrameFunc fn, void *user_data,
                          SpStreamStats *stats, GError **error);

G_END_DECLS

#endif
