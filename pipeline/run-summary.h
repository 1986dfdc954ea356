/* run-summary.h — summary.json (DESIGN §3, plus "outputs" per input): what each input
 * of a run became. */
#ifndef SP_RUN_SUMMARY_H
#define SP_RUN_SUMMARY_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* What a run does with an input: process it; leave it to another shard (--shard: not
 * reported in this shard's summary); or skip it, its outputs being up to date
 * (--skip-existing: reported as "skipped"). */
typedef enum {
  SP_INPUT_TO_RUN = 0,
  SP_INPUT_OTHER_SHARD,
  SP_INPUT_UP_TO_DATE,
} SpInputState;

typedef struct {
  const char *input;        /* as the user named it */
  SpInputState state;
  gboolean ran, ok;
  int64_t frames, broken;
  double seconds;
  char *error;              /* the message, NULL when ok */
  const char **outputs;     /* [n_sinks]: file relative to output-dir, or NULL */
} SpInputResult;

char *sp_summary_to_json (const SpInputResult *results, int n_results,
                          const char *const *sink_names, int n_sinks, int exit_code);
/* path: OUTPUT-DIR/summary.json, or summary-I-of-N.json for a shard */
gboolean sp_summary_write (const char *path, const SpInputResult *results,
                           int n_results, const char *const *sink_names, int n_sinks,
                           int exit_code, GError **error);

G_END_DECLS

#endif
