/* test-train.c — reproducibility and resumption of `seqpipe train`. */
#include "heads-test.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *labeler_config (const char *name, int epochs);

static void
assert_same_file (const char *a, const char *b)
{
  g_autofree char *x = NULL, *y = NULL;
  gsize nx = 0, ny = 0;
  g_autofree char *pa = ht_path (a), *pb = ht_path (b);
  g_assert_true (g_file_get_contents (pa, &x, &nx, NULL));
  g_assert_true (g_file_get_contents (pb, &y, &ny, NULL));
  g_assert_cmpmem (x, nx, y, ny);
}

static void
train (const char *ini, const char *ckpt, int epochs, const char *resume, int expect)
{
  g_autofree char *c = g_strdup_printf ("model.checkpoint=%s", ckpt);
  g_autofree char *e = g_strdup_printf ("train.epochs=%d", epochs);
  HtRun r;
  if (resume)
    ht_seqpipe (&r, (const char *[]) { "train", "-q", ini, "--set", c, "--set", e, "--resume",
                                       resume, NULL });
  else
    ht_seqpipe (&r, (const char *[]) { "train", "-q", ini, "--set", c, "--set", e, NULL });
  g_assert_cmpint (r.status, ==, expect);
  ht_run_clear (&r);
}

static void
test_reproducible (void)
{
  ht_demo ("labeler");
  /* the vanilla RNN cell here (the other tests train LSTMs) */
  g_autofree char *lstm = labeler_config ("rep", 3);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (lstm, &text, NULL, NULL));
  g_auto (GStrv) parts = g_strsplit (text, "hidden = 24", 2);
  g_autofree char *rnn = g_strjoinv ("cell = rnn\nhidden = 24", parts);
  g_autofree char *ini = ht_write ("rep.ini", rnn);
  train (ini, "out/rep/a.safetensors", 3, NULL, 0);
  train (ini, "out/rep/b.safetensors", 3, NULL, 0);
  assert_same_file ("out/rep/a.safetensors", "out/rep/b.safetensors");
  assert_same_file ("out/rep/a.last.safetensors", "out/rep/b.last.safetensors");
}

static void
test_resume (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("res", 4);
  train (ini, "out/res/full.safetensors", 4, NULL, 0);
  train (ini, "out/res/part.safetensors", 2, NULL, 0);
  train (ini, "out/res/part.safetensors", 4, "out/res/part.last.safetensors", 0);
  assert_same_file ("out/res/full.last.safetensors", "out/res/part.last.safetensors");
  assert_same_file ("out/res/full.safetensors", "out/res/part.safetensors");
  g_assert_cmpint (ht_lines ("out/res/train-log.csv"), ==, 5);
}

/* SIGINT during training: exit 3 with a checkpoint; resuming it reaches the weights
 * of an uninterrupted run. */
static void
test_interrupt (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("int", 30);
  g_autofree char *log = ht_path ("out/int/train-log.csv");
  const char *bin = g_getenv ("SEQPIPE_BIN");
  const char *argv[] = { bin, "train", "-q", ini, "--set", "train.batch=1", "--set",
                         "model.checkpoint=out/int/cut.safetensors", NULL };
  GPid pid;
  GError *e = NULL;
  g_spawn_async (ht_dir (), (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &e);
  g_assert_no_error (e);
  for (int i = 0; i < 2000 && !g_file_test (log, G_FILE_TEST_EXISTS); i++)
    g_usleep (10000);
  kill (pid, SIGINT);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  if (ht_fail_if_signalled (status, "the interrupted run", NULL))
    return;
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) == 0) {
    g_test_skip ("training finished before the signal arrived");
    return;
  }
  g_assert_cmpint (WEXITSTATUS (status), ==, 3);
  g_assert_true (ht_exists ("out/int/cut.last.safetensors"));
  g_assert_true (ht_exists ("out/int/cut.last.state.safetensors"));
  HtRun r;
  ht_seqpipe (&r, (const char *[]) { "train", "-q", ini, "--set", "train.batch=1", "--set",
                                     "model.checkpoint=out/int/cut.safetensors", "--resume",
                                     "out/int/cut.last.safetensors", NULL });
  /* a death by a signal has already failed the test in ht_seqpipe, with its stderr */
  if (r.status != 0 && r.status <= 128)
    g_printerr ("resumed run (status %d):\n%s", r.status, r.err);
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  ht_seqpipe (&r, (const char *[]) { "train", "-q", ini, "--set", "train.batch=1", "--set",
                                     "model.checkpoint=out/int/whole.safetensors", NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  assert_same_file ("out/int/cut.last.safetensors", "out/int/whole.last.safetensors");
}

void
add_train_tests (void)
{
  g_test_add_func ("/heads/train/reproducible", test_reproducible);
  g_test_add_func ("/heads/train/resume", test_resume);
  g_test_add_func ("/heads/train/interrupt", test_interrupt);
}
