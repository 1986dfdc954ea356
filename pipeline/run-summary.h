/* run-summary.h — summary.json (DESIGN §3, plus "outputs" per input): what each input
 * of a run became. */
#ifndef SP_RUN_SUMMARY_H
#define SP_RUN_SUMMARY_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  const char *input;        /* as the user named it */
  gboolean ran, ok;
  int64_t frames, broken;
  double seconds;
  char *error;              /* the message, NULL when ok */
  const char **outputs;     /* [n_sinks]: file relative to output-dir, or NULL */
} SpInputResult;

char *sp_summary_to_json (const SpInputResult *results, int n_results,
                          const char *const *sink_names, int n_sinks, int exit_code);
gboolean sp_summary_write (const char *output_dir, const SpInputResult *results,
                           int n_results, const char *const *sink_names, int n_sinks,
                           int exit_code, GError **error);

G_END_DECLS

#endif
