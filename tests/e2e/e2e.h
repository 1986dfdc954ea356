/* e2e.h — helpers of the end-to-end tests: a scratch directory per test, running the
 * built seqpipe binary in it, reading summary.json, making media with ffmpeg. */
#ifndef E2E_H
#define E2E_H

#include <glib.h>

#include "spm-json.h"

typedef struct {
  char *dir;            /* scratch directory; removed by e2e_free */
  char *out;            /* dir/out: the run's output-dir */
} E2e;

E2e *e2e_new (void);
void e2e_free (E2e *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (E2e, e2e_free)

/* dir/NAME with contents (directories created); returns the path */
char *e2e_write (E2e *t, const char *name, const char *contents);
char *e2e_path (E2e *t, const char *name);
char *e2e_read (E2e *t, const char *name);       /* NULL when missing */
gboolean e2e_exists (E2e *t, const char *name);

/* Runs `seqpipe run run.ini ARGS...` in t->dir, run.ini written from config (which
 * sets `output-dir = out`).  Returns the exit status; stderr
 * in *err (may be NULL).  peak_kb: the child's peak RSS when not NULL. */
int e2e_run (E2e *t, const char *config, const char *const *args, char **err, long *peak_kb);
/* the same, started asynchronously; SIGINT after delay_ms */
int e2e_run_interrupted (E2e *t, const char *config, int delay_ms, char **err);

/* the same with stderr on a terminal (a pty): what the terminal showed in *tty */
int e2e_run_tty (E2e *t, const char *config, const char *const *args, char **tty);

/* summary.json of out/ (asserts it parses) */
SpmJson *e2e_summary (E2e *t);
/* the summary's entry of the input whose path ends with `input` */
const SpmJson *e2e_summary_input (const SpmJson *summary, const char *input);
const char *e2e_str (const SpmJson *obj, const char *key);   /* NULL unless a string */
double e2e_num (const SpmJson *obj, const char *key);        /* NAN unless a number */

/* files under out/ whose name says they are temporary (.tmp- or .part) */
int e2e_count_temp_files (E2e *t);

/* ffmpeg -f lavfi -i SRC ... dir/NAME; FALSE when ffmpeg failed */
gboolean e2e_ffmpeg (E2e *t, const char *lavfi, const char *args, const char *name);
/* a medium made once per test process (ffmpeg -f lavfi -i LAVFI ARGS NAME) in a
 * shared scratch directory: its absolute path, or NULL when ffmpeg failed */
const char *e2e_media (const char *lavfi, const char *args, const char *name);
/* whether `seqpipe plugins` lists a stage of this name and kind ("decoder", ...) */
gboolean e2e_have_stage (const char *name, const char *kind);

#endif
