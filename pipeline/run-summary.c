/* run-summary.c — summary.json (DESIGN §3), written atomically into output-dir:
 *
 *   {"inputs": [{"input": PATH, "status": "ok" | "failed" | "skipped", "frames": N,
 *                "broken_frames": N, "seconds": S, "error": null | MESSAGE,
 *                "outputs": {SINK: FILE, ...}}, ...],
 *    "exit": CODE}
 *
 * FILE is relative to output-dir; a failed input has no outputs; a skipped one
 * (--skip-existing) lists the outputs it already had.  An input left to another shard
 * is not listed.  Strings are JSON-escaped; bytes that are not UTF-8 are replaced by
 * U+FFFD. */
#include "run-summary.h"
#include "host-errors.h"

#include "spm-io.h"
#include "spm-json.h"

#include <string.h>

static void
append_double (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.3f", v));
}

char *
sp_summary_to_json (const SpInputResult *results, int n_results,
                    const char *const *sink_names, int n_sinks, int exit_code)
{
  GString *out = g_string_new ("{\"inputs\": [");
  int listed = 0;

  for (int i = 0; i < n_results; i++)
    {
      const SpInputResult *r = &results[i];
      gboolean first = TRUE;
      gboolean skipped = r->state == SP_INPUT_UP_TO_DATE;

      if (r->state == SP_INPUT_OTHER_SHARD)
        continue;
      g_string_append (out, listed++ ? ",\n  {" : "\n  {");
      g_string_append (out, "\"input\": ");
      spm_json_append_string (out, r->input);
      g_string_append_printf (out, ", \"status\": \"%s\"",
                              skipped ? "skipped" : r->ok ? "ok" : "failed");
      g_string_append_printf (out, ", \"frames\": %" G_GINT64_FORMAT, r->frames);
      g_string_append_printf (out, ", \"broken_frames\": %" G_GINT64_FORMAT, r->broken);
      g_string_append (out, ", \"seconds\": ");
      append_double (out, r->seconds);
      g_string_append (out, ", \"error\": ");
      if (r->ok || skipped || r->error == NULL)
        g_string_append (out, r->ok || skipped ? "null" : "\"failed\"");
      else
        spm_json_append_string (out, r->error);
      g_string_append (out, ", \"outputs\": {");
      for (int s = 0; (r->ok || skipped) && r->outputs != NULL && s < n_sinks; s++)
        {
          if (r->outputs[s] == NULL)
            continue;
          if (!first)
            g_string_append (out, ", ");
          spm_json_append_string (out, sink_names[s]);
          g_string_append (out, ": ");
          spm_json_append_string (out, r->outputs[s]);
          first = FALSE;
        }
      g_string_append (out, "}}");
    }
  g_string_append_printf (out, "%s], \"exit\": %d}\n", listed ? "\n" : "", exit_code);
  return g_string_free (out, FALSE);
}

gboolean
sp_summary_write (const char *path, const SpInputResult *results, int n_results,
                  const char *const *sink_names, int n_sinks, int exit_code, GError **error)
{
  g_autofree char *text = sp_summary_to_json (results, n_results, sink_names, n_sinks,
                                              exit_code);
  g_autoptr (GError) local = NULL;

  if (!spm_file_replace (path, text, strlen (text), &local))
    {
      g_set_error_literal (error, SP_ERROR, SP_ERROR_INPUT, local->message);
      return FALSE;
    }
  return TRUE;
}
