/* run-engine.h — the run engine (DESIGN §3, §6): `jobs` inputs at once, each through
 * its chain (run-chain.h), its head and its sinks (run-sinks.h), with records routed
 * by what the head declares and the sinks take (plugin.h, ABI 1.2).
 *
 * For every input being processed there are two threads: the chain's decoder fills
 * frames of a fixed pool, and the input's worker takes them in order through the
 * extractor, the head and the sinks.  The threads of the run are created in
 * run-stream.c and run-engine.c only. */
#ifndef SP_RUN_ENGINE_H
#define SP_RUN_ENGINE_H

#include "run-chain.h"
#include "run-progress.h"
#include "run-sinks.h"
#include "run-summary.h"

G_BEGIN_DECLS

/* ---- a run over many inputs -------------------------------------------------------- */

typedef struct {
  SpConfig *config;
  const SpInputInfo *inputs;
  int n_inputs;
  SpDecoderParams dec;
  const SpStageClass *head;   /* NULL: no head */
  const SpInputState *state;  /* [n_inputs]: which to process; NULL = all */
  SpSinkSet *sinks;
  int jobs;
  gboolean stop_on_error;
  gboolean verbose;
  SpProgress *progress;
} SpRunPlan;

typedef struct {
  SpInputResult *results;     /* [n_results]: one per input of the plan, in input order
                               * (those not to run keep their state, ran = FALSE) */
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

/* One input's frames, already decoded and extracted (train/eval's cached features),
 * through a fresh instance of the head class `head` of the run, exactly as the run
 * engine drives it: records are checked against the head's declaration and go to
 * emit (one call per record, in order).  FALSE + error naming the input. */
gboolean sp_run_head_on_features (SpConfig *c, const SpStageClass *head,
                                  const SpInputInfo *in, const SpDecoderParams *dec,
                                  int64_t T, int D, const float *x, const int64_t *index,
                                  const double *time, SpEmitFunc emit, void *user_data,
                                  GError **error);

G_END_DECLS

#endif
