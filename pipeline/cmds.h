/* cmds.h — the seqpipe verbs; one cmd-<verb>.c each.  Each parses its own
 * options (GOptionContext) and returns the process exit status (DESIGN §3). */
#ifndef SP_CMDS_H
#define SP_CMDS_H

int sp_cmd_run (int argc, char **argv);
int sp_cmd_train (int argc, char **argv);
int sp_cmd_eval (int argc, char **argv);
int sp_cmd_extract (int argc, char **argv);
int sp_cmd_plugins (int argc, char **argv);
int sp_cmd_inspect (int argc, char **argv);

#endif
