/* cmds.c — what every verb does first (cmds.h). */
#include "cmds.h"

#include <stdio.h>

gboolean
sp_cmd_parse (const char *verb, const char *params, const char *summary,
              const GOptionEntry *entries, int *argc, char ***argv, int n_min, int n_max)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (params);
  g_autoptr (GError) error = NULL;
  int n;

  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      fprintf (stderr, "seqpipe: %s: %s\n", verb, error->message);
      return FALSE;
    }
  n = *argc - 1;
  if (n < n_min || (n_max >= 0 && n > n_max))
    {
      fprintf (stderr, "seqpipe: %s: expected %s (see seqpipe %s --help)\n", verb, params, verb);
      return FALSE;
    }
  return TRUE;
}

gboolean
sp_cmd_quiet_verbose (const char *verb, gboolean quiet, gboolean verbose)
{
  if (quiet && verbose)
    {
      fprintf (stderr, "seqpipe: %s: -q and -v exclude each other\n", verb);
      return FALSE;
    }
  return TRUE;
}
