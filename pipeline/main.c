/* main.c — the seqpipe command line: a table of verbs, one cmd-<verb>.c each
 * (DESIGN §3).  Verbs parse their own options and return the exit status. */
#include "cmds.h"
#include "host-keys.h"
#include "host-registry.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} Verb;

static const Verb verbs[] = {
  { "run", sp_cmd_run, "run the pipeline over the inputs of a config" },
  { "train", sp_cmd_train, "train the model of a config on its [train] manifest" },
  { "eval", sp_cmd_eval, "score the config's checkpoint on its [pipeline] manifest" },
  { "extract", sp_cmd_extract, "fill [train] cache-dir for the train and val manifests" },
  { "plugins", sp_cmd_plugins, "list every stage found, and every plugin file refused" },
  { "inspect", sp_cmd_inspect, "describe a stage or a config group and its keys" },
  { NULL, NULL, NULL },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: seqpipe COMMAND [ARGS...]\n\nCommands:\n");
  for (const Verb *v = verbs; v->name; v++)
    fprintf (out, "  %-10s %s\n", v->name, v->summary);
  fprintf (out, "\n  seqpipe COMMAND --help    options of a command (or seqpipe help COMMAND)\n"
                "  seqpipe --version         print the version\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
  if (argc < 2) {
    usage (stderr);
    return 1;
  }
  const char *verb = argv[1];
  if (g_str_equal (verb, "--version") || g_str_equal (verb, "-V")) {
    printf ("seqpipe %s (plugin ABI %d.%d)\n", SP_VERSION, SP_ABI_MAJOR, SP_ABI_MINOR);
    return 0;
  }
  if (g_str_equal (verb, "--help") || g_str_equal (verb, "-h")
      || (g_str_equal (verb, "help") && argc == 2)) {
    usage (stdout);
    return 0;
  }
  /* seqpipe help VERB: the verb's own --help */
  char *help_argv[] = { argv[0], argv[argc > 2 ? 2 : 1], (char *) "--help", NULL };
  if (g_str_equal (verb, "help")) {
    verb = argv[2];
    argc = 3;
    argv = help_argv;
  }
  for (const Verb *v = verbs; v->name; v++)
    if (g_str_equal (v->name, verb)) {
      g_autofree char *prgname = g_strdup_printf ("seqpipe %s", verb);
      g_set_prgname (prgname);    /* GOptionContext's "Usage: seqpipe VERB ..." */
      return v->run (argc - 1, argv + 1);
    }

  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (const Verb *v = verbs; v->name; v++)
    g_ptr_array_add (names, (char *) v->name);
  g_ptr_array_add (names, NULL);
  g_autofree char *hint = sp_suggest_text (verb, (const char *const *) names->pdata);
  fprintf (stderr, "seqpipe: %s: unknown command%s (see `seqpipe --help`)\n", verb, hint);
  return 1;
}
