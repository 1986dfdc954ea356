/* heads-test.h — driving the built seqpipe on data made at test time. */
#ifndef HEADS_TEST_H
#define HEADS_TEST_H

#include <glib.h>

typedef struct {
  int status;        /* exit status, or 128 + signal (then the test has failed) */
  char *out, *err;
} HtRun;

/* the shared work directory, with demo data made once for the whole program */
const char *ht_dir (void);
/* makes the given parts (e.g. "labeler") of the small demo set under ht_dir()/demo */
void ht_demo (const char *parts);
/* runs seqpipe with argv (NULL-terminated, without the program) in ht_dir() */
void ht_seqpipe (HtRun *r, const char *const *args);
void ht_run_clear (HtRun *r);
/* a waitpid status of a child that died by a signal fails the test (g_test_fail),
 * with the signal and the tail of err (may be NULL) in the log; TRUE then */
gboolean ht_fail_if_signalled (int wait_status, const char *what, const char *err);
/* writes text to ht_dir()/name; returns the full path (newly allocated) */
char *ht_write (const char *name, const char *text);
char *ht_path (const char *name);
char *ht_read (const char *name);
/* number of lines in a file (0 if missing) */
int ht_lines (const char *name);
gboolean ht_exists (const char *name);
/* removes ht_dir() unless SEQPIPE_KEEP_TEST_DIR is set */
void ht_cleanup (void);
/* a JSON object's number member; fails the test when absent */
double ht_json_number (const char *json, const char *key);

#endif
