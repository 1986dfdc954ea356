/* test-cli.c — `seqpipe run`'s command line (DESIGN §3, §11) on the fake stages:
 * positional inputs and -o, -j 0, --shard (validation, the split, reassembly),
 * --skip-existing, --progress, the status line under TERM=dumb, input paths as
 * written but normalised, an output directory nothing can be written to. */
#include "e2e.h"
#include "spm-npy.h"

#include <math.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG "[pipeline]\noutput-dir = out\ninputs = never.fake\n" \
               "[sink:lines]\nplugin = e2e-lines\npath = {stem}.txt\n"

/* rm -rf t->dir/name */
static void
remove_tree (E2e *t, const char *name)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s/%s'", t->dir, name);
  g_assert_cmpint (system (cmd), ==, 0);
}

static const char *
status_of (const SpmJson *e)
{
  return e2e_str (e, "status");
}

/* INPUTs on the command line replace [pipeline] inputs; -o replaces output-dir */
static void
test_positional (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  const char *args[] = { "a.fake", "sub/b.fake", "-o", "elsewhere", NULL };
  g_autofree char *a = NULL;

  g_free (e2e_write (t, "a.fake", "frames=2 dim=2"));
  g_free (e2e_write (t, "sub/b.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run (t, CONFIG, args, NULL, NULL), ==, 0);
  a = e2e_read (t, "elsewhere/a.txt");
  g_assert_cmpstr (a, ==, "frame,label\n0,-1\n1,-1\n");
  g_assert_true (e2e_exists (t, "elsewhere/b.txt"));
  g_assert_false (e2e_exists (t, "out"));
  {
    g_autofree char *text = e2e_read (t, "elsewhere/summary.json");
    g_autoptr (GError) error = NULL;
    sum = spm_json_parse (text, strlen (text), "summary", &error);
    g_assert_no_error (error);
  }
  g_assert_cmpint (spm_json_get (sum, "inputs")->n, ==, 2);
  g_assert_cmpstr (e2e_str (spm_json_get (sum, "inputs")->items[1], "input"), ==, "sub/b.fake");
}

/* usage errors: exit 1, the argument named, nothing written */
static void
test_usage_errors (void)
{
  static const char *const bad_shards[] = { "3/2", "-1/4", "0/0", "a/b", "1", "1/", "/2",
                                            "1/2/3", " 1/2", NULL };
  g_autoptr (E2e) t = e2e_new ();

  g_free (e2e_write (t, "a.fake", "frames=1 dim=2"));
  {
    const char *args[] = { "-j", "0", NULL };
    g_autofree char *err = NULL;
    g_assert_cmpint (e2e_run (t, CONFIG, args, &err, NULL), ==, 1);
    g_assert_nonnull (strstr (err, "seqpipe: run: -j 0: expected 1 to 64 inputs at once"));
  }
  for (int i = 0; bad_shards[i] != NULL; i++)
    {
      const char *args[] = { "a.fake", "--shard", bad_shards[i], NULL };
      g_autofree char *err = NULL;
      g_autofree char *want = g_strdup_printf ("seqpipe: run: --shard %s: expected I/N",
                                               bad_shards[i]);
      g_assert_cmpint (e2e_run (t, CONFIG, args, &err, NULL), ==, 1);
      g_assert_nonnull (strstr (err, want));
    }
  g_assert_false (e2e_exists (t, "out"));
}

static char *
run_shard (E2e *t, const char *shard, const char *config)
{
  const char *args[] = { "--shard", shard, "-q", NULL };
  const char *none[] = { "-q", NULL };
  g_autofree char *err = NULL;

  g_assert_cmpint (e2e_run (t, config, shard ? args : none, &err, NULL), ==, 0);
  return g_strdup (err);
}

/* Rows of a run-wide file (an `input` column first) put back in the order of the
 * inputs, after the header of the first part. */
static char *
join_by_input (const char *const *parts, const char *const *inputs)
{
  GString *out = g_string_new (NULL);
  gboolean header = FALSE;

  for (int i = 0; inputs[i] != NULL; i++)
    for (int p = 0; parts[p] != NULL; p++)
      {
        g_auto (GStrv) lines = g_strsplit (parts[p], "\n", -1);
        for (int l = 0; lines[l] != NULL && lines[l][0]; l++)
          {
            if (l == 0)
              {
                if (!header)
                  g_string_append_printf (out, "%s\n", lines[0]);
                header = TRUE;
                continue;
              }
            if (g_str_has_prefix (lines[l], inputs[i]) && lines[l][strlen (inputs[i])] == ',')
              g_string_append_printf (out, "%s\n", lines[l]);
          }
      }
  return g_string_free (out, FALSE);
}

/* --shard I/N: the inputs at positions p with p mod N = I; a file's name never depends
 * on the split (x/a and y/a keep a and a-2 whichever shard runs them); run-wide files
 * and the summary carry -I-of-N; the shards' files give the unsharded ones back */
static void
test_shards (void)
{
  g_autoptr (E2e) t = e2e_new ();
  static const char *const inputs[] = { "x/a.fake", "y/a.fake", "c.fake", "d.fake", "e.fake",
                                        NULL };
  const char *config = "[pipeline]\noutput-dir = out\n"
                       "inputs = x/a.fake;y/a.fake;c.fake;d.fake;e.fake\n"
                       "[sink:lines]\nplugin = e2e-lines\npath = {stem}.txt\n"
                       "[sink:all]\nplugin = e2e-lines\npath = all.csv\n";
  const char *files[] = { "a.txt", "a-2.txt", "c.txt", "d.txt", "e.txt", NULL };
  char *whole[5] = { NULL };
  g_autofree char *whole_all = NULL;

  for (int i = 0; inputs[i] != NULL; i++)
    {
      g_autofree char *text = g_strdup_printf ("frames=%d dim=2", i + 1);
      g_free (e2e_write (t, inputs[i], text));
    }
  g_free (run_shard (t, NULL, config));
  for (int i = 0; files[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf ("out/%s", files[i]);
      whole[i] = e2e_read (t, name);
      g_assert_nonnull (whole[i]);
    }
  whole_all = e2e_read (t, "out/all.csv");
  remove_tree (t, "out");

  g_free (run_shard (t, "0/2", config));
  g_free (run_shard (t, "1/2", config));
  {
    g_autoptr (SpmJson) s0 = NULL, s1 = NULL;
    g_autofree char *t0 = e2e_read (t, "out/summary-0-of-2.json");
    g_autofree char *t1 = e2e_read (t, "out/summary-1-of-2.json");
    g_autoptr (GError) error = NULL;
    g_autofree char *p0 = e2e_read (t, "out/all-0-of-2.csv");
    g_autofree char *p1 = e2e_read (t, "out/all-1-of-2.csv");
    const char *parts[] = { p0, p1, NULL };
    g_autofree char *joined = NULL;

    g_assert_false (e2e_exists (t, "out/summary.json"));
    g_assert_false (e2e_exists (t, "out/all.csv"));
    s0 = spm_json_parse (t0, strlen (t0), "summary-0", &error);
    g_assert_no_error (error);
    s1 = spm_json_parse (t1, strlen (t1), "summary-1", &error);
    g_assert_no_error (error);
    /* positions 0, 2, 4 and 1, 3 */
    g_assert_cmpint (spm_json_get (s0, "inputs")->n, ==, 3);
    g_assert_cmpint (spm_json_get (s1, "inputs")->n, ==, 2);
    g_assert_cmpstr (e2e_str (spm_json_get (s1, "inputs")->items[0], "input"), ==, "y/a.fake");
    g_assert_cmpstr (e2e_str (spm_json_get (spm_json_get (s1, "inputs")->items[0], "outputs"),
                              "lines"), ==, "a-2.txt");
    for (int i = 0; files[i] != NULL; i++)
      {
        g_autofree char *name = g_strdup_printf ("out/%s", files[i]);
        g_autofree char *text = e2e_read (t, name);
        g_assert_cmpstr (text, ==, whole[i]);
      }
    joined = join_by_input (parts, inputs);
    g_assert_cmpstr (joined, ==, whole_all);
  }
  for (int i = 0; i < 5; i++)
    g_free (whole[i]);
}

/* --skip-existing: a second run leaves inputs whose outputs are newer alone and says
 * so in summary.json; a touched input runs again */
static void
test_skip_existing (void)
{
  g_autoptr (E2e) t = e2e_new ();
  const char *config = "[pipeline]\noutput-dir = out\ninputs = a.fake;b.fake\n"
                       "[sink:lines]\nplugin = e2e-lines\npath = {stem}.txt\n";
  const char *args[] = { "--skip-existing", "-q", NULL };
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *before = NULL, *after = NULL, *b_path = NULL;
  const SpmJson *e;

  g_free (e2e_write (t, "a.fake", "frames=2 dim=2"));
  g_free (e2e_write (t, "b.fake", "frames=2 dim=2"));
  g_assert_cmpint (e2e_run (t, config, args, NULL, NULL), ==, 0);
  before = e2e_read (t, "out/a.txt");
  /* b changes after its output was written: newer than it */
  g_usleep (20000);
  b_path = e2e_write (t, "b.fake", "frames=4 dim=2");
  g_assert_cmpint (e2e_run (t, config, args, NULL, NULL), ==, 0);
  after = e2e_read (t, "out/a.txt");
  g_assert_cmpstr (before, ==, after);
  sum = e2e_summary (t);
  e = e2e_summary_input (sum, "a.fake");
  g_assert_cmpstr (status_of (e), ==, "skipped");
  g_assert_cmpstr (e2e_str (spm_json_get (e, "outputs"), "lines"), ==, "a.txt");
  e = e2e_summary_input (sum, "b.fake");
  g_assert_cmpstr (status_of (e), ==, "ok");
  g_assert_cmpfloat (e2e_num (e, "frames"), ==, 4);
}

/* --progress -: key=value blocks on stdout, each ending in progress=continue, the last
 * in progress=end with the exit status */
static void
test_progress_report (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *report = g_build_filename (t->dir, "progress.txt", NULL);
  const char *args[] = { "--progress", report, NULL };
  g_autofree char *text = NULL;

  g_free (e2e_write (t, "a.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = a.fake\n"
                            "[sink:lines]\nplugin = e2e-lines\npath = {stem}.txt\n",
                            args, NULL, NULL), ==, 0);
  g_assert_true (g_file_get_contents (report, &text, NULL, NULL));
  g_assert_true (g_str_has_suffix (text, "inputs_done=1\ninputs_total=1\ninputs_failed=0\n"
                                         "inputs_skipped=0\nexit=0\nprogress=end\n"));
  for (char *l = text; *l; l = strchr (l, '\n') + 1)
    g_assert_nonnull (strchr (l, '='));
}

/* TERM=dumb: a terminal without escape codes gets no status line */
static void
test_term_dumb (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *tty = NULL;
  g_autofree char *old = g_strdup (g_getenv ("TERM"));

  g_free (e2e_write (t, "a.fake", "frames=30 dim=2 sleep-ms=20"));
  g_setenv ("TERM", "dumb", TRUE);
  g_assert_cmpint (e2e_run_tty (t, "[pipeline]\noutput-dir = out\ninputs = a.fake\n"
                                "[sink:lines]\nplugin = e2e-lines\npath = {stem}.txt\n", NULL,
                                &tty), ==, 0);
  if (old != NULL)
    g_setenv ("TERM", old, TRUE);
  else
    g_unsetenv ("TERM");
  g_assert_null (strstr (tty, "\033["));
  g_assert_null (strstr (tty, "frames/s"));
}

/* inputs written relative to a config elsewhere are named normalised: cfg/../x.fake is
 * x.fake in summary.json and in a run-wide file's input column */
static void
test_normalised_paths (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *all = NULL;
  const char *args[] = { "--set", "pipeline.inputs=./data/../data/x.fake", NULL };

  g_free (e2e_write (t, "data/x.fake", "frames=1 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = unused.fake\n"
                            "[sink:all]\nplugin = e2e-lines\npath = all.csv\n", args, NULL,
                            NULL), ==, 0);
  sum = e2e_summary (t);
  g_assert_cmpstr (e2e_str (spm_json_get (sum, "inputs")->items[0], "input"), ==,
                   "data/x.fake");
  all = e2e_read (t, "out/all.csv");
  g_assert_cmpstr (all, ==, "input,frame,label\ndata/x.fake,0,-1\n");
}

/* an output directory nothing can be written in: exit 1 naming it, before any input */
static void
test_unwritable_output_dir (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;
  const char *args[] = { "-o", "/proc/self", NULL };

  g_free (e2e_write (t, "a.fake", "frames=1 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\n"
                            "[sink:lines]\nplugin = e2e-lines\npath = {stem}.txt\n", args, &err,
                            NULL), ==, 1);
  g_assert_nonnull (strstr (err, "seqpipe: [pipeline] output-dir: cannot write in "
                                 "\"/proc/self\""));
}

/* a NaN in an input's features fails that input, naming the frame; the others run */
static void
test_non_finite_features (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *err = NULL, *bad = e2e_path (t, "bad.npy"), *good = e2e_path (t, "good.npy");
  float x[5 * 2] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  g_autoptr (GError) error = NULL;

  g_assert_true (spm_npy_write (good, 4, x, 5, 2, &error));
  x[3 * 2 + 1] = NAN;
  g_assert_true (spm_npy_write (bad, 4, x, 5, 2, &error));
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = bad.npy;good.npy\n"
                            "[sink:npy]\npath = {stem}.npy\n", NULL, &err, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "seqpipe: bad.npy: frame 3: feature 1 is NaN"));
  sum = e2e_summary (t);
  g_assert_cmpstr (status_of (e2e_summary_input (sum, "bad.npy")), ==, "failed");
  g_assert_cmpstr (status_of (e2e_summary_input (sum, "good.npy")), ==, "ok");
  g_assert_false (e2e_exists (t, "out/bad.npy"));
}

/* ---- seqpipe extract ---------------------------------------------------------------- */

/* `seqpipe extract x.ini ARGS...` started in t->dir (not waited for) */
static GPid
start_extract (E2e *t, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_get_environ ();
  GPid pid;

  g_ptr_array_add (argv, (char *) g_getenv ("SEQPIPE_BIN"));
  g_ptr_array_add (argv, (char *) "extract");
  g_ptr_array_add (argv, (char *) "x.ini");
  for (int i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_async (t->dir, (char **) argv->pdata, env, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &pid, &error));
  return pid;
}

static int
wait_exit (GPid pid)
{
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (status));      /* a death by a signal fails the test */
  return WEXITSTATUS (status);
}

/* the cache's files (the entries' .npy files; temporaries count as "tmp") */
static int
count_cache (E2e *t, int *tmp)
{
  g_autofree char *dir = e2e_path (t, "cache");
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *n;
  int files = 0;

  *tmp = 0;
  while (d != NULL && (n = g_dir_read_name (d)) != NULL)
    if (strstr (n, ".tmp-") != NULL)
      (*tmp)++;
    else
      files++;
  return files;
}

#define EXTRACT_CONFIG "[head]\nplugin = labeler\n[model]\ncheckpoint = m.safetensors\n" \
                       "[train]\nmanifest = train.csv\nval-manifest = val.csv\n" \
                       "cache-dir = cache\n"

static void
write_extract_data (E2e *t, int n)
{
  GString *train = g_string_new ("path,labels\n"), *val = g_string_new ("path,labels\n");
  for (int i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("f%d.npy", i);
      g_autofree char *path = e2e_path (t, name);
      g_autofree char *lab = g_strdup_printf ("f%d.txt", i);
      float x[6 * 3];
      g_autoptr (GError) error = NULL;

      for (int k = 0; k < 6 * 3; k++)
        x[k] = (float) (i * 100 + k);
      g_assert_true (spm_npy_write (path, 4, x, 6, 3, &error));
      g_free (e2e_write (t, lab, "a\nb\na\nb\na\nb\n"));
      g_string_append_printf (i % 3 == 2 ? val : train, "%s,%s\n", name, lab);
    }
  /* f0 is in both manifests: one entry */
  g_string_append (val, "f0.npy,f0.txt\n");
  g_free (e2e_write (t, "train.csv", train->str));
  g_free (e2e_write (t, "val.csv", val->str));
  g_free (e2e_write (t, "x.ini", EXTRACT_CONFIG));
  g_string_free (train, TRUE);
  g_string_free (val, TRUE);
}

/* two processes extracting the same inputs into one cache both succeed and leave one
 * valid entry per input; shards split the inputs; a damaged entry is not taken as
 * valid but extracted again */
static void
test_extract (void)
{
  g_autoptr (E2e) t = e2e_new ();
  const char *quiet[] = { "-q", NULL };
  int tmp;

  write_extract_data (t, 6);
  {
    GPid a = start_extract (t, quiet), b = start_extract (t, quiet);
    g_assert_cmpint (wait_exit (a), ==, 0);
    g_assert_cmpint (wait_exit (b), ==, 0);
  }
  g_assert_cmpint (count_cache (t, &tmp), ==, 2 * 6);
  g_assert_cmpint (tmp, ==, 0);
  /* every entry holds its input's features */
  {
    g_autofree char *dir = e2e_path (t, "cache");
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *n;
    int checked = 0;

    while ((n = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (dir, n, NULL);
        g_autofree float *x = NULL;
        int64_t rows, cols;
        int es;
        g_autoptr (GError) error = NULL;

        if (strstr (n, ".frames.") != NULL)
          continue;
        g_assert_true (spm_npy_read (p, (void **) &x, &rows, &cols, &es, &error));
        g_assert_cmpint (rows, ==, 6);
        g_assert_cmpint (cols, ==, 3);
        g_assert_cmpfloat (fmod (x[0], 100.0), ==, 0.0);
        g_assert_cmpfloat (x[17] - x[0], ==, 17.0);
        checked++;
      }
    g_assert_cmpint (checked, ==, 6);
  }

  /* shards of a fresh cache: 0/2 and 1/2 together make every entry */
  remove_tree (t, "cache");
  {
    const char *s0[] = { "--shard", "0/2", "-q", NULL }, *s1[] = { "--shard", "1/2", "-q", NULL };
    g_assert_cmpint (wait_exit (start_extract (t, s0)), ==, 0);
    g_assert_cmpint (count_cache (t, &tmp), ==, 2 * 3);
    g_assert_cmpint (wait_exit (start_extract (t, s1)), ==, 0);
    g_assert_cmpint (count_cache (t, &tmp), ==, 2 * 6);
  }

  /* a damaged entry (cut short) is extracted again */
  {
    g_autofree char *dir = e2e_path (t, "cache");
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *n;
    g_autofree char *victim = NULL;
    gsize len;
    g_autofree char *bytes = NULL;
    const char *verbose[] = { "-v", NULL };
    g_autofree char *out = NULL, *err = NULL;
    int status;
    g_auto (GStrv) env = g_get_environ ();
    const char *argv[] = { g_getenv ("SEQPIPE_BIN"), "extract", "x.ini", "-v", NULL };
    g_autoptr (GError) error = NULL;

    (void) verbose;
    while ((n = g_dir_read_name (d)) != NULL)
      if (strstr (n, ".frames.") == NULL && victim == NULL)
        victim = g_build_filename (dir, n, NULL);
    g_assert_true (g_file_get_contents (victim, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (victim, bytes, (gssize) len - 4, NULL));
    g_assert_true (g_spawn_sync (t->dir, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                 &err, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "6 inputs: 1 extracted, 5 already cached, 0 failed"));
  }
}

/* an input that cannot be read is exit 2 naming it; the others are extracted */
static void
test_extract_failure (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;
  g_auto (GStrv) env = g_get_environ ();
  const char *argv[] = { g_getenv ("SEQPIPE_BIN"), "extract", "x.ini", "-q", NULL };
  g_autoptr (GError) error = NULL;
  int status, tmp;

  write_extract_data (t, 3);
  g_free (e2e_write (t, "f1.npy", "not a npy file"));
  g_assert_true (g_spawn_sync (t->dir, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  g_assert_nonnull (strstr (err, "f1.npy: not a .npy file"));
  g_assert_cmpint (count_cache (t, &tmp), ==, 2 * 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/cli/positional", test_positional);
  g_test_add_func ("/e2e/cli/usage-errors", test_usage_errors);
  g_test_add_func ("/e2e/cli/shards", test_shards);
  g_test_add_func ("/e2e/cli/skip-existing", test_skip_existing);
  g_test_add_func ("/e2e/cli/progress-report", test_progress_report);
  g_test_add_func ("/e2e/cli/term-dumb", test_term_dumb);
  g_test_add_func ("/e2e/cli/normalised-paths", test_normalised_paths);
  g_test_add_func ("/e2e/cli/unwritable-output-dir", test_unwritable_output_dir);
  g_test_add_func ("/e2e/cli/non-finite-features", test_non_finite_features);
  g_test_add_func ("/e2e/cli/extract", test_extract);
  g_test_add_func ("/e2e/cli/extract-failure", test_extract_failure);
  return g_test_run ();
}
