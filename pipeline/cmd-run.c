/* cmd-run.c — `seqpipe run CONFIG [--set G.K=V]... [-j N] [-q|-v]` (DESIGN §3):
 * gathers the inputs, checks the sinks against the run, runs the engine and writes
 * summary.json.  Exit: 0 all ok, 1 nothing processed (usage/config/plugin error),
 * 2 some inputs failed, 3 interrupted. */
#include "data-checkpoint.h"
#include "cmds.h"
#include "run-engine.h"
#include "run-inputs.h"
#include "run-signals.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

static SpSinkSet *
make_sinks (SpConfig *c, const char *output_dir, GArray *inputs, const SpStageClass *head,
            GError **error)
{
  g_auto (GStrv) groups = sp_config_sink_groups (c);
  int n = groups ? (int) g_strv_length (groups) : 0;
  g_autofree SpSinkSpec *specs = g_new0 (SpSinkSpec, MAX (n, 1));

  for (int k = 0; k < n; k++)
    {
      const char *plugin = sp_config_string (c, groups[k], "plugin");

      specs[k].name = groups[k] + strlen ("sink:");
      if (plugin == NULL)
        plugin = specs[k].name;
      specs[k].klass = sp_registry_find (sp_config_registry (c), plugin, SP_STAGE_SINK);
      specs[k].path = sp_config_string (c, groups[k], "path");
      if (specs[k].klass == NULL)
        {
          g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[%s] plugin: no sink named \"%s\"",
                       groups[k], plugin);
          return NULL;
        }
    }
  return sp_sinks_new (c, specs, n, output_dir, (const SpInputInfo *) inputs->data,
                       (int) inputs->len, head, error);
}

static int
exit_code_of (const SpRunOutcome *o, gboolean finish_failed)
{
  if (o->interrupted)
    return 3;
  if (o->fatal != NULL && o->n_ok == 0)
    return 1;
  if (o->n_failed > 0 || finish_failed)
    return 2;
  return 0;
}

static int
run_config (const char *config_path, const char *const *sets, int jobs, gboolean quiet,
            gboolean verbose)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c = NULL;
  g_autoptr (GArray) inputs = NULL;
  g_autoptr (SpSinkSet) sinks = NULL;
  g_autofree char *output_dir = NULL;
  const char *on_error;
  SpRunPlan plan = { 0 };
  SpRunOutcome out;
  gboolean finish_failed = FALSE;
  int code;

  c = sp_config_load (config_path, sets, "run", &error);
  if (c == NULL || !sp_checkpoint_check_model_keys (c, NULL, &error))
    {
      sp_error_print (error);
      return 1;
    }
  plan.progress = sp_progress_new (quiet);
  inputs = sp_inputs_gather (c, plan.progress, &error);
  if (inputs == NULL)
    goto config_error;
  output_dir = sp_config_path (c, "pipeline", "output-dir");
  if (output_dir == NULL)
    output_dir = g_strdup ("out");
  plan.head = sp_config_head_class (c);
  sinks = make_sinks (c, output_dir, inputs, plan.head, &error);
  if (sinks == NULL)
    goto config_error;
  if (g_mkdir_with_parents (output_dir, 0777) != 0)
    {
      int e = errno;
      g_set_error (&error, SP_ERROR, SP_ERROR_CONFIG, "[pipeline] output-dir: cannot create "
                   "\"%s\": %s", output_dir, g_strerror (e));
      goto config_error;
    }

  plan.config = c;
  plan.inputs = (const SpInputInfo *) inputs->data;
  plan.n_inputs = (int) inputs->len;
  sp_decoder_params_from_config (c, &plan.dec);
  plan.sinks = sinks;
  plan.jobs = jobs > 0 ? jobs : (int) sp_config_int (c, "pipeline", "jobs");
  on_error = sp_config_string (c, "pipeline", "on-error");
  plan.stop_on_error = on_error != NULL && strcmp (on_error, "stop") == 0;
  plan.verbose = verbose;

  sp_run_inputs (&plan, &out);
  if (!sp_sinks_finish (sinks, &error))
    {
      sp_progress_message (plan.progress, "seqpipe: %s", error->message);
      g_clear_error (&error);
      finish_failed = TRUE;
    }
  for (int i = 0; i < out.n_results; i++)
    {
      int n = sp_sinks_count (sinks);

      out.results[i].outputs = g_new0 (const char *, MAX (n, 1));
      for (int k = 0; out.results[i].ok && k < n; k++)
        out.results[i].outputs[k] = sp_sinks_output (sinks, i, k);
    }
  code = exit_code_of (&out, finish_failed);
  if (out.fatal != NULL)
    sp_progress_message (plan.progress, "seqpipe: %s", out.fatal->message);
  if (out.interrupted)
    sp_progress_message (plan.progress, "seqpipe: interrupted");
  if (!sp_summary_write (output_dir, out.results, out.n_results, sp_sinks_names (sinks),
                         sp_sinks_count (sinks), code, &error))
    {
      sp_progress_message (plan.progress, "seqpipe: %s", error->message);
      if (code == 0)
        code = 2;
    }
  sp_run_outcome_clear (&out);
  sp_progress_free (plan.progress);
  return code;

config_error:
  sp_progress_free (plan.progress);
  sp_error_print (error);
  return 1;
}

int
sp_cmd_run (int argc, char **argv)
{
  g_auto (GStrv) sets = NULL;
  gint jobs = 0;
  gboolean quiet = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
      "Override a config key (repeatable)", "GROUP.KEY=VALUE" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Inputs processed at once", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress line", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "One line per input", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("CONFIG");
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (ctx, "Run the pipeline of CONFIG over its inputs.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "seqpipe: run: %s\n", error->message);
      return 1;
    }
  if (argc != 2)
    {
      fprintf (stderr, "seqpipe: run: expected one CONFIG file (see seqpipe run --help)\n");
      return 1;
    }
  if (jobs < 0 || jobs > 64)
    {
      fprintf (stderr, "seqpipe: run: -j %d: expected 1 to 64 inputs at once\n", jobs);
      return 1;
    }
  if (quiet && verbose)
    {
      fprintf (stderr, "seqpipe: run: -q and -v exclude each other\n");
      return 1;
    }
  sp_signals_install ();
  return run_config (argv[1], (const char *const *) sets, jobs, quiet, verbose);
}
