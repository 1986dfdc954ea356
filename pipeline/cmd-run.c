/* cmd-run.c — `seqpipe run CONFIG [INPUT]... [-o DIR] [--set G.K=V]... [-j N]
 * [--shard I/N] [--skip-existing] [--progress FILE|-] [-q|-v]` (DESIGN §3): gathers the
 * inputs, checks the sinks against the run, runs the engine and writes summary.json.
 * Exit: 0 all ok, 1 nothing processed (usage/config/plugin error), 2 some inputs
 * failed, 3 interrupted. */
#include "data-checkpoint.h"
#include "cmds.h"
#include "run-engine.h"
#include "run-inputs.h"
#include "run-signals.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *config;
  const char *const *inputs;    /* positional, or NULL */
  const char *const *sets;
  int jobs;                     /* 0: [pipeline] jobs */
  int shard, shards;            /* --shard I/N; shards = 0 when not given */
  gboolean skip_existing;
  const char *progress;         /* --progress target or NULL */
  gboolean quiet, verbose;
} RunArgs;

static SpSinkSet *
make_sinks (SpConfig *c, const char *output_dir, GArray *inputs, const SpStageClass *head,
            const char *suffix, GError **error)
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
  return sp_sinks_new_for_shard (c, specs, n, output_dir, (const SpInputInfo *) inputs->data,
                                 (int) inputs->len, head, suffix, error);
}

/* An output directory nothing can be written to fails the run before it starts
 * (exit 1, the directory named), not every input on its own. */
static gboolean
output_dir_usable (const char *dir, GError **error)
{
  g_autofree char *probe = g_build_filename (dir, ".seqpipe-probe-XXXXXX", NULL);
  int fd;

  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      int e = errno;
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[pipeline] output-dir: cannot create "
                   "\"%s\": %s", dir, g_strerror (e));
      return FALSE;
    }
  fd = g_mkstemp_full (probe, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[pipeline] output-dir: cannot write "
                   "in \"%s\": %s", dir, g_strerror (e));
      return FALSE;
    }
  close (fd);
  g_unlink (probe);
  return TRUE;
}

/* modification time in nanoseconds, or -1 when the file cannot be stat'ed */
static gint64
mtime_ns (const char *path)
{
  GStatBuf sb;

  if (g_stat (path, &sb) != 0)
    return -1;
  return (gint64) sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
}

/* --skip-existing: an input whose every output exists and is newer than the input and
 * the checkpoint.  Only for runs whose sinks all write one file per input: a run-wide
 * file is rebuilt from the parts of the inputs that run, so skipping one would drop
 * it from that file. */
static gboolean
up_to_date (SpConfig *c, SpSinkSet *sinks, const char *output_dir, const SpInputInfo *in,
            gboolean all_per_input)
{
  g_autofree char *ckpt = sp_config_path (c, "model", "checkpoint");
  gint64 newest = mtime_ns (in->path);
  int n = sp_sinks_count (sinks);

  if (!all_per_input || n == 0 || newest < 0)
    return FALSE;
  if (ckpt != NULL)
    newest = MAX (newest, mtime_ns (ckpt));
  for (int k = 0; k < n; k++)
    {
      g_autofree char *full = g_build_filename (output_dir, sp_sinks_output (sinks, in->index, k),
                                                NULL);
      if (mtime_ns (full) <= newest)
        return FALSE;
    }
  return TRUE;
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
config_error (SpProgress *progress, GError *error)
{
  sp_progress_free (progress);
  sp_error_print (error);
  return 1;
}

static int
run_config (const RunArgs *a)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c = NULL;
  g_autoptr (GArray) inputs = NULL;
  g_autoptr (SpSinkSet) sinks = NULL;
  g_autofree char *output_dir = NULL;
  g_autofree char *suffix = NULL;
  g_autofree char *summary = NULL;
  g_autofree SpInputState *state = NULL;
  gboolean all_per_input = TRUE;
  const char *on_error;
  SpRunPlan plan = { 0 };
  SpRunOutcome out;
  gboolean finish_failed = FALSE;
  int code, n_run = 0, n_skipped = 0;

  c = sp_config_load (a->config, a->sets, "run", &error);
  if (c == NULL || !sp_checkpoint_check_model_keys (c, NULL, &error))
    {
      sp_error_print (error);
      return 1;
    }
  plan.progress = sp_progress_new (a->quiet);
  if (a->progress != NULL && !sp_progress_open_report (plan.progress, a->progress, &error))
    return config_error (plan.progress, error);
  inputs = sp_inputs_gather (c, a->inputs, plan.progress, &error);
  if (inputs == NULL)
    return config_error (plan.progress, error);
  output_dir = sp_config_path (c, "pipeline", "output-dir");
  if (output_dir == NULL)
    output_dir = g_strdup ("out");
  plan.head = sp_config_head_class (c);
  suffix = a->shards > 0 ? g_strdup_printf ("-%d-of-%d", a->shard, a->shards) : g_strdup ("");
  /* every input is named, the other shards' too: a file's name does not depend on
   * how the run is split */
  sinks = make_sinks (c, output_dir, inputs, plan.head, suffix, &error);
  if (sinks == NULL || !output_dir_usable (output_dir, &error))
    return config_error (plan.progress, error);

  for (int k = 0; k < sp_sinks_count (sinks); k++)
    all_per_input &= sp_sinks_per_input (sinks, k);
  state = g_new0 (SpInputState, inputs->len);
  for (guint i = 0; i < inputs->len; i++)
    {
      const SpInputInfo *in = &g_array_index (inputs, SpInputInfo, i);

      if (a->shards > 0 && (int) (i % (guint) a->shards) != a->shard)
        state[i] = SP_INPUT_OTHER_SHARD;
      else if (a->skip_existing && up_to_date (c, sinks, output_dir, in, all_per_input))
        {
          state[i] = SP_INPUT_UP_TO_DATE;
          n_skipped++;
        }
      else
        n_run++;
    }
  if (a->skip_existing && !all_per_input && a->verbose)
    sp_progress_message (plan.progress, "seqpipe: --skip-existing: a sink writes one file for "
                         "the run, so every input runs");

  plan.config = c;
  plan.inputs = (const SpInputInfo *) inputs->data;
  plan.n_inputs = (int) inputs->len;
  plan.state = state;
  sp_decoder_params_from_config (c, &plan.dec);
  plan.sinks = sinks;
  plan.jobs = a->jobs > 0 ? a->jobs : (int) sp_config_int (c, "pipeline", "jobs");
  on_error = sp_config_string (c, "pipeline", "on-error");
  plan.stop_on_error = on_error != NULL && strcmp (on_error, "stop") == 0;
  plan.verbose = a->verbose;

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
      SpInputResult *r = &out.results[i];

      r->outputs = g_new0 (const char *, MAX (n, 1));
      for (int k = 0; (r->ok || r->state == SP_INPUT_UP_TO_DATE) && k < n; k++)
        r->outputs[k] = sp_sinks_output (sinks, i, k);
    }
  code = exit_code_of (&out, finish_failed);
  if (out.fatal != NULL)
    sp_progress_message (plan.progress, "seqpipe: %s", out.fatal->message);
  if (out.interrupted)
    sp_progress_message (plan.progress, "seqpipe: interrupted");
  if (n_skipped > 0 && a->verbose)
    sp_progress_message (plan.progress, "seqpipe: %d input%s up to date, skipped", n_skipped,
                         n_skipped == 1 ? "" : "s");
  summary = g_build_filename (output_dir, sp_sinks_summary_name (sinks), NULL);
  if (!sp_summary_write (summary, out.results, out.n_results, sp_sinks_names (sinks),
                         sp_sinks_count (sinks), code, &error))
    {
      sp_progress_message (plan.progress, "seqpipe: %s", error->message);
      if (code == 0)
        code = 2;
    }
  sp_progress_report (plan.progress, TRUE, "inputs_done=%d\ninputs_total=%d\n"
                      "inputs_failed=%d\ninputs_skipped=%d\nexit=%d\n", out.n_ok + out.n_failed,
                      n_run, out.n_failed, n_skipped, code);
  sp_run_outcome_clear (&out);
  sp_progress_free (plan.progress);
  return code;
}

int
sp_cmd_run (int argc, char **argv)
{
  g_auto (GStrv) sets = NULL;
  g_autofree char *output_dir = NULL;
  g_autofree char *shard = NULL;
  g_autofree char *progress = NULL;
  gint jobs = -1;
  gboolean quiet = FALSE, verbose = FALSE, skip_existing = FALSE;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
      "Override a config key (repeatable)", "GROUP.KEY=VALUE" },
    { "output-dir", 'o', 0, G_OPTION_ARG_FILENAME, &output_dir,
      "Write the outputs here (--set pipeline.output-dir=DIR)", "DIR" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Inputs processed at once", "N" },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard,
      "Process only the inputs at positions p with p mod N = I", "I/N" },
    { "skip-existing", 0, 0, G_OPTION_ARG_NONE, &skip_existing,
      "Skip inputs whose every output exists and is newer than the input and checkpoint",
      NULL },
    { "progress", 0, 0, G_OPTION_ARG_FILENAME, &progress,
      "Write key=value progress blocks to FILE (- for stdout)", "FILE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress line", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "One line per input", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GPtrArray) all_sets = g_ptr_array_new_with_free_func (g_free);
  RunArgs a = { 0 };

  if (!sp_cmd_parse ("run", "CONFIG [INPUT...]", "Run the pipeline of CONFIG over its inputs, "
                     "or over the INPUTs given here instead.", entries, &argc, &argv, 1, -1)
      || !sp_cmd_quiet_verbose ("run", quiet, verbose))
    return 1;
  if (jobs != -1 && (jobs < 1 || jobs > 64))
    {
      fprintf (stderr, "seqpipe: run: -j %d: expected 1 to 64 inputs at once\n", jobs);
      return 1;
    }
  if (shard != NULL && !sp_parse_shard (shard, &a.shard, &a.shards))
    {
      fprintf (stderr, "seqpipe: run: --shard %s: expected I/N with 0 <= I < N (e.g. 0/4)\n",
               shard);
      return 1;
    }
  for (int i = 0; sets != NULL && sets[i] != NULL; i++)
    g_ptr_array_add (all_sets, g_strdup (sets[i]));
  if (output_dir != NULL)
    g_ptr_array_add (all_sets, g_strconcat ("pipeline.output-dir=", output_dir, NULL));
  g_ptr_array_add (all_sets, NULL);
  a.config = argv[1];
  a.inputs = argc > 2 ? (const char *const *) argv + 2 : NULL;
  a.sets = (const char *const *) all_sets->pdata;
  a.jobs = jobs > 0 ? jobs : 0;
  a.skip_existing = skip_existing;
  a.progress = progress;
  a.quiet = quiet;
  a.verbose = verbose;
  sp_signals_install ();
  return run_config (&a);
}
