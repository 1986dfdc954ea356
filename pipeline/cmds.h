/* cmds.h — the seqpipe verbs; one cmd-<verb>.c each.  Each parses its own
 * options (GOptionContext) and returns the process exit status (DESIGN §3). */
#ifndef SP_CMDS_H
#define SP_CMDS_H

#include <glib.h>

/* A verb's options (entries) and positional arguments: between n_min and n_max of
 * them (n_max < 0: any number); argv[1..] are the positional ones afterwards.  FALSE
 * after printing `seqpipe: VERB: WHAT` (the verb exits 1). */
gboolean sp_cmd_parse (const char *verb, const char *params, const char *summary,
                       const GOptionEntry *entries, int *argc, char ***argv, int n_min,
                       int n_max);
/* -q and -v exclude each other: FALSE after printing so */
gboolean sp_cmd_quiet_verbose (const char *verb, gboolean quiet, gboolean verbose);

int sp_cmd_run (int argc, char **argv);
int sp_cmd_train (int argc, char **argv);
int sp_cmd_eval (int argc, char **argv);
int sp_cmd_extract (int argc, char **argv);
int sp_cmd_plugins (int argc, char **argv);
int sp_cmd_inspect (int argc, char **argv);

#endif
