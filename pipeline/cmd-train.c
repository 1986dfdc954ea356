/* cmd-train.c — `seqpipe train CONFIG [--set G.K=V]... [--resume CKPT] [-q]`.
 *
 * Reads [train] manifest (and val-manifest, or holds out val-fraction of its inputs)
 * with their label files or captions, extracts features once into [train] cache-dir,
 * fits norm.mean/std, trains the model of [model] with the [train] optimizer, validates
 * after each epoch, stops after [train] patience epochs without a better [train]
 * monitor, and keeps:
 *   [model] checkpoint            the best epoch on validation (else the last)
 *   NAME.last.safetensors         the last epoch (or the interrupted step)
 *   NAME.last.state.safetensors   the optimizer state beside it, for --resume
 *   OUTPUT-DIR/train-log.csv      epoch,step,loss,<validation metrics>,seconds
 *   OUTPUT-DIR/train-log.png      loss (blue) and the main validation metric (orange)
 * Bad rows: on-error = skip leaves them out, reports each and exits 2 at the end;
 * on-error = stop reports them all and exits 1 before training, writing nothing.
 * SIGINT/SIGTERM: the batch in hand finishes, the last checkpoint and its state are
 * written, exit 3; --resume on it continues the same learning curve.
 * It ends with a summary on stdout (train_summary).
 * Math threads: [train] threads (0 = all cores).
 * The pieces: train-setup.c (config to trainer), train-loop.c (epochs). */
#include "cmds.h"
#include "run-signals.h"
#include "train-run.h"

static int
fail (GError *e)
{
  g_printerr ("seqpipe: %s\n", e->message);
  return g_error_matches (e, SP_ERROR, SP_ERROR_INTERRUPTED) ? 3 : 1;
}

int
sp_cmd_train (int argc, char **argv)
{
  g_auto (GStrv) sets = NULL;
  g_autofree char *resume = NULL;
  gboolean quiet = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, "override a config key", "GROUP.KEY=VALUE" },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &resume,
      "continue from NAME.last.safetensors (and its .state beside it)", "CHECKPOINT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress line", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "no effect (every verb takes -v)", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GError) e = NULL;
  if (!sp_cmd_parse ("train", "CONFIG", "Train the model of CONFIG's [model] and [head] on "
                     "[train] manifest.", entries, &argc, &argv, 1, 1)
      || !sp_cmd_quiet_verbose ("train", quiet, verbose))
    return 1;
  /* first: a SIGINT while the config and the plugins load is an interruption too */
  sp_signals_install ();
  g_autoptr (SpConfig) c = sp_config_load (argv[1], (const char *const *) sets, "train", &e);
  if (!c)
    return fail (e);
  g_autoptr (TrainRun) run = train_setup (c, resume, quiet, &e);
  if (!run)
    return fail (e);
  if (!train_loop (run, &e)) {
    int status = fail (e);
    train_summary (run);
    return status;
  }
  train_summary (run);
  if (run->stop == SP_TRAIN_INTERRUPTED) {
    g_printerr ("seqpipe: interrupted: %s written; continue with --resume %s\n", run->last,
                run->last);
    return 3;
  }
  return run->bad_rows ? 2 : 0;
}
