/* run.h — the streaming run engine (DESIGN §3, §6): per-input chains, the decode
 * thread with its bounded frame pool, the pool of inputs processed at once, and the
 * pieces `seqpipe run` is built from (progress messages, signals, summary.json).
 *
 * Threads live in run.c only.  For every input being processed there are two: the
 * decoder fills frames of a fixed pool (allocated once per input), and the input's
 * worker takes them in order through the extractor, the head and the sinks, and
 * hands each frame back to the decoder.  Memory is bounded by the pool, not by the
 * length of the input. */
#ifndef SP_RUN_H
#define SP_RUN_H

#include "sinks.h"
#include "sp-host.h"

G_BEGIN_DECLS

/* The pool: SP_RUN_POOL_FRAMES frames, fewer (down to 2) when they would take more
 * than SP_RUN_POOL_BYTES (large [decoder] width x height). */
#define SP_RUN_POOL_FRAMES 8
#define SP_RUN_POOL_BYTES (64u << 20)
int sp_run_pool_frames (size_t frame_bytes);

/* ---- one input through decoder and extractor --------------------------------- */

typedef struct {
  SpStage *decoder;
  SpStage *extractor;       /* NULL when the decoder makes the features itself */
  int feature_dim;          /* D of the frames leaving the chain */
  int64_t expected_frames;  /* the decoder's estimate, -1 unknown */
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

/* Puts "PATH: " (unless the message starts so already) and "frame N: " (frame >= 0)
 * in front of error's message: the WHERE of a per-input error. */
void sp_error_name_input (GError *error, const SpInputInfo *in, int64_t frame);

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

/* ---- a run over many inputs -------------------------------------------------------- */

typedef struct {
  const char *input;        /* as the user named it */
  gboolean ran, ok;
  int64_t frames, broken;
  double seconds;
  char *error;              /* the message, NULL when ok */
  const char **outputs;     /* [n_sinks]: file relative to output-dir, or NULL */
} SpInputResult;

typedef struct {
  SpConfig *config;
  const SpInputInfo *inputs;
  int n_inputs;
  SpDecoderParams dec;
  const SpStageClass *head;   /* NULL: no head */
  SpSinkSet *sinks;
  int jobs;
  gboolean stop_on_error;
  gboolean verbose;
  SpProgress *progress;
} SpRunPlan;

typedef struct {
  SpInputResult *results;     /* [n_results]: one per input, in input order */
  int n_results;
  int n_ok, n_failed;
  gboolean interrupted;
  GError *fatal;              /* a config or plugin error that holds for every input */
} SpRunOutcome;

/* Processes every input (plan->jobs at once) and fills out; per-input errors are
 * printed as they happen.  With plan->stop_on_error, or after a fatal error, no
 * further input starts. */
void sp_run_inputs (const SpRunPlan *plan, SpRunOutcome *out);
void sp_run_outcome_clear (SpRunOutcome *out);

/* ---- pieces ---------------------------------------------------------------------- */

/* signals.c: SIGINT/SIGTERM set the flag behind sp_interrupted(); a second signal
 * ends the process. */
void sp_signals_install (void);

/* progress.c: prints a whole line on stderr without breaking the status line. */
void sp_progress_message (SpProgress *p, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* summary.c: summary.json (DESIGN §3, plus "outputs" per input). */
char *sp_summary_to_json (const SpInputResult *results, int n_results,
                          const char *const *sink_names, int n_sinks, int exit_code);
gboolean sp_summary_write (const char *output_dir, const SpInputResult *results,
                           int n_results, const char *const *sink_names, int n_sinks,
                           int exit_code, GError **error);

G_END_DECLS

#endif
