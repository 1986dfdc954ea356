/* cmd-plugins.c — `seqpipe plugins`: every stage found (name, kind, version, file),
 * then every plugin file refused, with why. */
#include "cmds.h"
#include "host-registry.h"

#include <stdio.h>

int
sp_cmd_plugins (int argc, char **argv)
{
  g_auto (GStrv) dirs = NULL;
  gboolean quiet = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "plugin-path", 'p', 0, G_OPTION_ARG_FILENAME_ARRAY, &dirs,
      "also search DIR first (repeatable)", "DIR" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "only the stages, not the refused files",
      NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "no effect (every verb takes -v)", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- list the plugins seqpipe finds");
  g_option_context_set_summary (ctx, "Searched in order: --plugin-path, $SEQPIPE_PLUGIN_PATH "
                                "(':'-separated), the build tree (when run from it), the "
                                "installed plugin directory.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc > 1) {
    fprintf (stderr, "seqpipe: plugins: %s\n", error ? error->message : "unexpected argument");
    return 1;
  }

  g_autoptr (SpRegistry) reg = sp_registry_new ((const char *const *) dirs);
  int n = 0;
  const SpRegistryStage *stages = sp_registry_stages (reg, &n);
  if (n == 0)
    printf ("no stages found\n");
  else
    printf ("%-14s %-10s %-10s %s\n", "STAGE", "KIND", "VERSION", "FILE");
  for (int i = 0; i < n; i++)
    printf ("%-14s %-10s %-10s %s\n", stages[i].klass->name,
            sp_stage_kind_name (stages[i].klass->kind), stages[i].plugin->version,
            stages[i].file);
  const SpRegistryRefusal *refusals = sp_registry_refusals (reg, &n);
  if (quiet)
    return 0;
  if (n > 0)
    printf ("\nrefused:\n");
  for (int i = 0; i < n; i++)
    printf ("%s: %s\n", refusals[i].file, refusals[i].reason);
  return 0;
}
