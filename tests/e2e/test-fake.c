/* The run engine's behaviour, with fake stages (tests/e2e/fake): records, errors,
 * names, combined files, jobs, interrupts, exit codes and summary.json. */
#include "e2e.h"

#include <math.h>
#include <string.h>

#define LINES_SINK "[sink:lines]\nplugin = e2e-lines\n"

static const char *
status_of (const SpmJson *entry)
{
  return e2e_str (entry, "status");
}

static void
test_basic (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *a = NULL, *b = NULL;
  const SpmJson *ea, *outs;

  g_free (e2e_write (t, "a.fake", "frames=5 dim=4"));
  g_free (e2e_write (t, "clips/b.fake", "frames=3 dim=4"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake;clips/*.fake\noutput-dir = out\n"
                            LINES_SINK "path = {stem}.txt\n", NULL, NULL, NULL), ==, 0);
  a = e2e_read (t, "out/a.txt");
  b = e2e_read (t, "out/b.txt");
  g_assert_cmpstr (a, ==, "frame,label\n0,-1\n1,-1\n2,-1\n3,-1\n4,-1\n");
  g_assert_cmpstr (b, ==, "frame,label\n0,-1\n1,-1\n2,-1\n");
  sum = e2e_summary (t);
  g_assert_cmpfloat (e2e_num (sum, "exit"), ==, 0);
  g_assert_cmpint (spm_json_get (sum, "inputs")->n, ==, 2);
  ea = e2e_summary_input (sum, "a.fake");
  g_assert_cmpstr (e2e_str (ea, "input"), ==, "a.fake");
  g_assert_cmpstr (status_of (ea), ==, "ok");
  g_assert_cmpfloat (e2e_num (ea, "frames"), ==, 5);
  g_assert_cmpfloat (e2e_num (ea, "broken_frames"), ==, 0);
  g_assert_true (e2e_num (ea, "seconds") >= 0);
  g_assert_cmpint (spm_json_get (ea, "error")->type, ==, SPM_JSON_NULL);
  outs = spm_json_get (ea, "outputs");
  g_assert_cmpstr (e2e_str (outs, "lines"), ==, "a.txt");
  g_assert_cmpstr (e2e_str (spm_json_get (e2e_summary_input (sum, "clips/b.fake"), "outputs"),
                            "lines"), ==, "b.txt");
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
}

/* records go where they are declared to go (plugin.h): the head's per-frame records,
 * and only those, to a sink that takes records; every frame, and only the frames, to
 * a sink that takes frames; a record the head does not declare is a plugin error */
static void
test_head_records (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *a = NULL, *frames = NULL, *count = NULL, *err = NULL;

  g_free (e2e_write (t, "a.fake", "frames=5 dim=4"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            "[model]\ncheckpoint = unused.safetensors\n[head]\nplugin = e2e-head\nevery = 2\n"
                            LINES_SINK "path = {stem}.txt\n"
                            "[sink:bin]\nplugin = e2e-bin\npath = {stem}.bin\n", NULL, NULL, NULL),
                   ==, 0);
  a = e2e_read (t, "out/a.txt");
  g_assert_cmpstr (a, ==, "frame,label\n0,0\n2,2\n4,1\n");
  frames = e2e_read (t, "out/a.bin.frames");
  g_assert_cmpstr (frames, ==, "0\n1\n2\n3\n4\n");
  count = e2e_read (t, "out/a.bin");
  g_assert_cmpstr (count, ==, "5\n");

  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out2\n"
                            "[model]\ncheckpoint = unused.safetensors\n[head]\nplugin = e2e-head\n"
                            "wrong = true\n" LINES_SINK "path = {stem}.txt\n", NULL, &err, NULL),
                   ==, 2);
  g_assert_nonnull (strstr (err, "the e2e-head head declares one record per frame but emitted "
                                 "a record without a frame"));
  g_assert_false (e2e_exists (t, "out2/a.txt"));
}

/* a sink that takes nothing the run makes is refused before anything runs */
static void
test_sink_takes (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;

  g_free (e2e_write (t, "a.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            "[sink:only]\nplugin = e2e-only\npath = {stem}.txt\n", NULL, &err,
                            NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[sink:only] plugin: the e2e-only sink takes one record per "
                                 "input of a head, and this run has no [head]"));
  g_assert_false (e2e_exists (t, "out"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            "[model]\ncheckpoint = unused.safetensors\n[head]\nplugin = e2e-head\n"
                            "[sink:only]\nplugin = e2e-only\npath = {stem}.txt\n", NULL, &err,
                            NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[sink:only] plugin: the e2e-only sink takes one record per "
                                 "input, but the e2e-head head gives one record per frame"));
  g_assert_false (e2e_exists (t, "out"));
}

static void
test_input_errors (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *err = NULL;
  const SpmJson *e;

  g_free (e2e_write (t, "good.fake", "frames=4 dim=2"));
  g_free (e2e_write (t, "bad.fake", "hello world"));
  g_free (e2e_write (t, "dfail.fake", "frames=10 dim=2 fail-at=4"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = missing.fake;bad.fake;dfail.fake;good.fake\n"
                            "output-dir = out\n" LINES_SINK "path = {stem}.txt\n",
                            NULL, &err, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "seqpipe: missing.fake: "));
  g_assert_nonnull (strstr (err, "seqpipe: bad.fake: not a fake video"));
  g_assert_nonnull (strstr (err, "seqpipe: dfail.fake: frame 4 is damaged"));
  g_assert_true (e2e_exists (t, "out/good.txt"));
  g_assert_false (e2e_exists (t, "out/dfail.txt"));
  g_assert_false (e2e_exists (t, "out/bad.txt"));
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
  sum = e2e_summary (t);
  g_assert_cmpfloat (e2e_num (sum, "exit"), ==, 2);
  e = e2e_summary_input (sum, "dfail.fake");
  g_assert_cmpstr (status_of (e), ==, "failed");
  g_assert_cmpfloat (e2e_num (e, "frames"), ==, 4);
  g_assert_nonnull (strstr (e2e_str (e, "error"), "damaged"));
  g_assert_cmpint (spm_json_get (e, "outputs")->n, ==, 0);
  g_assert_cmpstr (status_of (e2e_summary_input (sum, "missing.fake")), ==, "failed");
  g_assert_cmpstr (status_of (e2e_summary_input (sum, "good.fake")), ==, "ok");
}

static void
test_sink_error (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;

  g_free (e2e_write (t, "a.fake", "frames=6 dim=2"));
  g_free (e2e_write (t, "b.fake", "frames=2 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake;b.fake\noutput-dir = out\n"
                            LINES_SINK "path = {stem}.txt\nfail-at = 3\n",
                            NULL, &err, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "seqpipe: a.fake: frame 3: [sink:lines] "));
  g_assert_nonnull (strstr (err, "disk full"));
  g_assert_false (e2e_exists (t, "out/a.txt"));
  g_assert_true (e2e_exists (t, "out/b.txt"));
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
}

static void
test_on_error_stop (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  const SpmJson *e;

  g_free (e2e_write (t, "bad.fake", "nonsense"));
  g_free (e2e_write (t, "good.fake", "frames=2 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = bad.fake;good.fake\noutput-dir = out\n"
                            "on-error = stop\njobs = 1\n" LINES_SINK "path = {stem}.txt\n",
                            NULL, NULL, NULL), ==, 2);
  g_assert_false (e2e_exists (t, "out/good.txt"));
  sum = e2e_summary (t);
  e = e2e_summary_input (sum, "good.fake");
  g_assert_cmpstr (status_of (e), ==, "failed");
  g_assert_nonnull (strstr (e2e_str (e, "error"), "not processed"));
}

static void
test_broken_frames (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *err = NULL;
  const char *p;
  const SpmJson *e;

  /* frames 2 and 5 of 8 are lost: 6 delivered, 2 broken */
  g_free (e2e_write (t, "a.fake", "frames=8 dim=2 broken=3"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            LINES_SINK "path = {stem}.txt\n", NULL, &err, NULL), ==, 0);
  p = strstr (err, "seqpipe: a.fake: 2 frames could not be decoded");
  g_assert_nonnull (p);
  g_assert_null (strstr (p + strlen ("seqpipe: a.fake: 2 frames could not"), "could not"));
  sum = e2e_summary (t);
  e = e2e_summary_input (sum, "a.fake");
  g_assert_cmpstr (status_of (e), ==, "ok");
  g_assert_cmpfloat (e2e_num (e, "frames"), ==, 6);
  g_assert_cmpfloat (e2e_num (e, "broken_frames"), ==, 2);
}

static void
test_name_clash (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *first = NULL, *second = NULL;

  g_free (e2e_write (t, "x/a.fake", "frames=1 dim=2"));
  g_free (e2e_write (t, "y/a.fake", "frames=2 dim=2"));
  g_free (e2e_write (t, "z/a.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = x/a.fake;y/a.fake;z/a.fake\n"
                            "output-dir = out\n" LINES_SINK "path = {stem}.labels.txt\n"
                            "[sink:bare]\nplugin = e2e-lines\npath = by.stem/{stem}\n",
                            NULL, NULL, NULL), ==, 0);
  /* one suffix per input, after its stem, the same for every sink (DESIGN §6) */
  g_assert_true (e2e_exists (t, "out/by.stem/a"));
  g_assert_true (e2e_exists (t, "out/by.stem/a-2"));
  g_assert_true (e2e_exists (t, "out/by.stem/a-3"));
  first = e2e_read (t, "out/a.labels.txt");
  second = e2e_read (t, "out/a-2.labels.txt");
  g_assert_cmpstr (first, ==, "frame,label\n0,-1\n");
  g_assert_cmpstr (second, ==, "frame,label\n0,-1\n1,-1\n");
  g_assert_true (e2e_exists (t, "out/a-3.labels.txt"));
  g_assert_false (e2e_exists (t, "out/a.labels-2.txt"));
  sum = e2e_summary (t);
  for (int i = 2; i <= 3; i++)
    {
      g_autofree char *input = g_strdup_printf ("%c/a.fake", 'x' + i - 1);
      g_autofree char *lines = g_strdup_printf ("a-%d.labels.txt", i);
      g_autofree char *bare = g_strdup_printf ("by.stem/a-%d", i);
      const SpmJson *outs = spm_json_get (e2e_summary_input (sum, input), "outputs");

      g_assert_cmpstr (e2e_str (outs, "lines"), ==, lines);
      g_assert_cmpstr (e2e_str (outs, "bare"), ==, bare);
    }
}

/* an unknown {placeholder} in a sink's path is a config error naming it */
static void
test_unknown_placeholder (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;

  g_free (e2e_write (t, "a.fake", "frames=1 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            LINES_SINK "path = {dir}/{stm}.txt\n", NULL, &err, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[sink:lines] path: unknown placeholder \"{dir}\" in "
                                 "\"{dir}/{stm}.txt\"; expected {stem} or {name}"));
  g_assert_false (e2e_exists (t, "out"));
}

static void
test_combined (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *all = NULL;

  g_free (e2e_write (t, "a.fake", "frames=2 dim=2"));
  g_free (e2e_write (t, "bad.fake", "frames=5 dim=2 fail-at=3"));
  g_free (e2e_write (t, "b.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake;bad.fake;b.fake\noutput-dir = out\n"
                            LINES_SINK "path = all/labels.csv\n", NULL, NULL, NULL), ==, 2);
  all = e2e_read (t, "out/all/labels.csv");
  g_assert_cmpstr (all, ==, "input,frame,label\n"
                   "a.fake,0,-1\na.fake,1,-1\n"
                   "b.fake,0,-1\nb.fake,1,-1\nb.fake,2,-1\n");
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
  sum = e2e_summary (t);
  g_assert_cmpstr (e2e_str (spm_json_get (e2e_summary_input (sum, "b.fake"), "outputs"),
                            "lines"), ==, "all/labels.csv");
  g_assert_cmpint (spm_json_get (e2e_summary_input (sum, "bad.fake"), "outputs")->n, ==, 0);
}

static void
test_cannot_combine (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;

  g_free (e2e_write (t, "a.fake", "frames=2 dim=2"));
  g_free (e2e_write (t, "b.fake", "frames=2 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake;b.fake\noutput-dir = out\n"
                            "[sink:one]\nplugin = e2e-lines\npath = {stem}.txt\n"
                            "[sink:bin]\nplugin = e2e-bin\npath = all.bin\n"
                            "[sink:two]\nplugin = e2e-lines\npath = {stem}.csv\n",
                            NULL, &err, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[sink:bin] path"));
  g_assert_false (e2e_exists (t, "out/all.bin"));
  /* one input: one file, no input column needed */
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            "[sink:bin]\nplugin = e2e-bin\npath = all.bin\n",
                            NULL, NULL, NULL), ==, 0);
  g_assert_true (e2e_exists (t, "out/all.bin"));
}

/* a second file beside the main one is renamed with it, or removed with it */
static void
test_aux_file (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *count = NULL, *frames = NULL;

  g_free (e2e_write (t, "a.fake", "frames=3 dim=2"));
  g_free (e2e_write (t, "b.fake", "frames=3 dim=2 fail-at=1"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake;b.fake\noutput-dir = out\n"
                            "[sink:bin]\nplugin = e2e-bin\npath = {name}.bin\n",
                            NULL, NULL, NULL), ==, 2);
  count = e2e_read (t, "out/a.fake.bin");
  frames = e2e_read (t, "out/a.fake.bin.frames");
  g_assert_cmpstr (count, ==, "3\n");
  g_assert_cmpstr (frames, ==, "0\n1\n2\n");
  g_assert_false (e2e_exists (t, "out/b.fake.bin"));
  g_assert_false (e2e_exists (t, "out/b.fake.bin.frames"));
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
}

static char *
run_jobs (int jobs)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *jarg = g_strdup_printf ("%d", jobs);
  const char *args[] = { "-j", jarg, NULL };
  GString *all = g_string_new (NULL);
  g_autoptr (SpmJson) sum = NULL;
  const SpmJson *inputs;

  for (int i = 0; i < 6; i++)
    {
      g_autofree char *name = g_strdup_printf ("in/%d.fake", i);
      g_autofree char *text = g_strdup_printf ("frames=%d dim=3 sleep-ms=%d%s", 5 + 7 * (i % 3),
                                               (i * 3) % 5, i == 4 ? " fail-at=2" : "");
      g_free (e2e_write (t, name, text));
    }
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = in/*.fake\noutput-dir = out\n"
                            "[model]\ncheckpoint = unused.safetensors\n[head]\nplugin = e2e-head\nevery = 3\n"
                            "[sink:one]\nplugin = e2e-lines\npath = {stem}.txt\n"
                            "[sink:all]\nplugin = e2e-lines\npath = all.txt\n",
                            args, NULL, NULL), ==, 2);
  for (int i = 0; i < 6; i++)
    {
      g_autofree char *name = g_strdup_printf ("out/%d.txt", i);
      g_autofree char *text = e2e_read (t, name);
      g_string_append_printf (all, "== %s\n%s", name, text ? text : "(none)\n");
    }
  {
    g_autofree char *text = e2e_read (t, "out/all.txt");
    g_string_append_printf (all, "== all\n%s", text);
  }
  sum = e2e_summary (t);
  inputs = spm_json_get (sum, "inputs");
  for (int i = 0; i < inputs->n; i++)
    g_string_append_printf (all, "%s %s %g %g\n", e2e_str (inputs->items[i], "input"),
                            status_of (inputs->items[i]), e2e_num (inputs->items[i], "frames"),
                            e2e_num (inputs->items[i], "broken_frames"));
  return g_string_free (all, FALSE);
}

static void
test_jobs_same_outputs (void)
{
  g_autofree char *one = run_jobs (1);
  g_autofree char *two = run_jobs (2);

  g_assert_cmpstr (one, ==, two);
  g_assert_nonnull (strstr (one, "in/4.fake failed"));
}

static void
test_interrupt (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *all = NULL;
  const SpmJson *e;

  g_free (e2e_write (t, "a.fake", "frames=3 dim=2"));
  g_free (e2e_write (t, "long.fake", "frames=2000 dim=2 sleep-ms=5"));
  g_free (e2e_write (t, "z.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run_interrupted (t, "[pipeline]\ninputs = a.fake;long.fake;z.fake\n"
                                        "output-dir = out\njobs = 1\n"
                                        "[sink:one]\nplugin = e2e-lines\npath = {stem}.txt\n"
                                        "[sink:all]\nplugin = e2e-lines\npath = all.txt\n"
                                        "[sink:bin]\nplugin = e2e-bin\npath = {stem}.bin\n",
                                        800, NULL), ==, 3);
  g_assert_true (e2e_exists (t, "out/a.txt"));
  g_assert_false (e2e_exists (t, "out/long.txt"));
  g_assert_false (e2e_exists (t, "out/long.bin"));
  g_assert_false (e2e_exists (t, "out/long.bin.frames"));
  g_assert_false (e2e_exists (t, "out/z.txt"));
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
  all = e2e_read (t, "out/all.txt");
  g_assert_cmpstr (all, ==, "input,frame,label\na.fake,0,-1\na.fake,1,-1\na.fake,2,-1\n");
  sum = e2e_summary (t);
  g_assert_cmpfloat (e2e_num (sum, "exit"), ==, 3);
  g_assert_cmpstr (status_of (e2e_summary_input (sum, "a.fake")), ==, "ok");
  e = e2e_summary_input (sum, "long.fake");
  g_assert_cmpstr (status_of (e), ==, "failed");
  g_assert_true (e2e_num (e, "frames") > 0);
  g_assert_nonnull (strstr (e2e_str (e, "error"), "interrupted"));
  g_assert_cmpstr (status_of (e2e_summary_input (sum, "z.fake")), ==, "failed");
}

static void
test_fatal_setup (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;
  const char *p;

  g_free (e2e_write (t, "a.fake", "frames=3 dim=2"));
  g_free (e2e_write (t, "b.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake;b.fake\noutput-dir = out\njobs = 2\n"
                            "[model]\ncheckpoint = unused.safetensors\n[head]\nplugin = e2e-head\nfail-init = true\n"
                            LINES_SINK "path = {stem}.txt\n", NULL, &err, NULL), ==, 1);
  p = strstr (err, "[head] fail-init");
  g_assert_nonnull (p);
  g_assert_null (strstr (p + 1, "[head] fail-init"));     /* reported once */
  g_assert_false (e2e_exists (t, "out/a.txt"));
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
}

static void
test_bad_config (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err1 = NULL, *err2 = NULL, *err3 = NULL, *err4 = NULL;

  g_free (e2e_write (t, "a.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\njbos = 2\n",
                            NULL, &err1, NULL), ==, 1);
  g_assert_nonnull (strstr (err1, "[pipeline] jbos"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            "[sink:x]\nplugin = e2e-lines\n", NULL, &err2, NULL), ==, 1);
  g_assert_nonnull (strstr (err2, "[sink:x] path"));
  g_assert_false (e2e_exists (t, "out"));      /* nothing made before the checks passed */
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = nothing/*.fake\noutput-dir = out\n"
                            LINES_SINK "path = {stem}.txt\n", NULL, &err3, NULL), ==, 1);
  g_assert_nonnull (strstr (err3, "[pipeline] inputs"));
  g_free (e2e_write (t, "afile", "not a directory"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = afile/out\n"
                            LINES_SINK "path = {stem}.txt\n", NULL, &err4, NULL), ==, 1);
  g_assert_nonnull (strstr (err4, "[pipeline] output-dir"));
}

static void
test_set_override (void)
{
  g_autoptr (E2e) t = e2e_new ();
  const char *args[] = { "--set", "sink:lines.path={stem}.other", "-q", NULL };

  g_free (e2e_write (t, "a.fake", "frames=1 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = a.fake\noutput-dir = out\n"
                            LINES_SINK "path = {stem}.txt\n", args, NULL, NULL), ==, 0);
  g_assert_true (e2e_exists (t, "out/a.other"));
  g_assert_false (e2e_exists (t, "out/a.txt"));
}

/* a status line on a terminal (redrawn with \r), none with -q or off a terminal;
 * -v adds a line per input */
static void
test_progress (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *tty = NULL, *quiet = NULL, *piped = NULL, *verbose = NULL;
  const char *q[] = { "-q", NULL };
  const char *v[] = { "-v", NULL };
  const char *config = "[pipeline]\ninputs = a.fake;b.fake\noutput-dir = out\n"
                       LINES_SINK "path = {stem}.txt\n";

  g_free (e2e_write (t, "a.fake", "frames=100 dim=2 sleep-ms=10"));
  g_free (e2e_write (t, "b.fake", "frames=3 dim=2"));
  g_assert_cmpint (e2e_run_tty (t, config, NULL, &tty), ==, 0);
  g_assert_nonnull (strstr (tty, "\r"));
  g_assert_nonnull (strstr (tty, "/2 inputs"));
  g_assert_nonnull (strstr (tty, "frames/s"));
  g_assert_nonnull (strstr (tty, "ETA "));
  g_assert_null (strstr (tty, "seqpipe: a.fake"));
  g_assert_cmpint (e2e_run_tty (t, config, q, &quiet), ==, 0);
  g_assert_cmpstr (quiet, ==, "");
  g_assert_cmpint (e2e_run (t, config, NULL, &piped, NULL), ==, 0);
  g_assert_cmpstr (piped, ==, "");
  g_assert_cmpint (e2e_run_tty (t, config, v, &verbose), ==, 0);
  g_assert_nonnull (strstr (verbose, "seqpipe: a.fake: 100 frames in "));
  g_assert_nonnull (strstr (verbose, "seqpipe: b.fake: 3 frames in "));
}

/* file names with quotes, backslashes, UTF-8 and bytes that are not UTF-8 still
 * give a summary.json that parses */
static void
test_odd_names (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  const SpmJson *inputs;

  g_free (e2e_write (t, "in/caf\xc3\xa9 \"q\" \\.fake", "frames=1 dim=2"));
  g_free (e2e_write (t, "in/\xff\xfe.fake", "frames=2 dim=2"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = in/*.fake\noutput-dir = out\n"
                            LINES_SINK "path = {stem}.txt\n", NULL, NULL, NULL), ==, 0);
  sum = e2e_summary (t);
  inputs = spm_json_get (sum, "inputs");
  g_assert_cmpint (inputs->n, ==, 2);
  for (int i = 0; i < 2; i++)
    {
      const SpmJson *e = inputs->items[i];

      if (g_str_has_prefix (e2e_str (e, "input"), "in/caf"))
        {
          g_assert_cmpstr (e2e_str (e, "input"), ==, "in/caf\xc3\xa9 \"q\" \\.fake");
          g_assert_cmpstr (e2e_str (spm_json_get (e, "outputs"), "lines"), ==,
                           "caf\xc3\xa9 \"q\" \\.txt");
        }
      else
        g_assert_true (g_utf8_validate (e2e_str (e, "input"), -1, NULL));
    }
  g_assert_true (e2e_exists (t, "out/\xff\xfe.txt"));
}

/* The decoder, then a sink, failing at every frame of an input in turn: each run ends
 * with that input failed, its files gone (main, aux and its part of the run-wide
 * file), the other input complete, and no temporary file left. */
static void
test_fail_every_frame (void)
{
  for (int in_sink = 0; in_sink < 2; in_sink++)
    for (int n = 0; n < 5; n++)
      {
        g_autoptr (E2e) t = e2e_new ();
        g_autoptr (SpmJson) sum = NULL;
        g_autofree char *a = NULL, *config = NULL, *all = NULL;
        /* a sink failing at frame n < 3 fails b (frames 0..2) too */
        gboolean b_ok = !in_sink || n >= 3;

        a = g_strdup_printf ("frames=5 dim=2 fail-at=%d", in_sink ? -1 : n);
        config = g_strdup_printf ("[pipeline]\ninputs = a.fake;b.fake\noutput-dir = out\n"
                                  "[sink:one]\nplugin = e2e-lines\npath = {stem}.txt\n"
                                  "[sink:bin]\nplugin = e2e-bin\npath = {stem}.bin\n"
                                  "[sink:all]\nplugin = e2e-lines\npath = all.csv\n"
                                  "fail-at = %d\n", in_sink ? n : -1);
        g_free (e2e_write (t, "a.fake", a));
        g_free (e2e_write (t, "b.fake", "frames=3 dim=2"));
        g_assert_cmpint (e2e_run (t, config, NULL, NULL, NULL), ==, 2);
        sum = e2e_summary (t);
        g_assert_cmpstr (status_of (e2e_summary_input (sum, "a.fake")), ==, "failed");
        g_assert_cmpstr (status_of (e2e_summary_input (sum, "b.fake")), ==,
                         b_ok ? "ok" : "failed");
        g_assert_false (e2e_exists (t, "out/a.txt"));
        g_assert_false (e2e_exists (t, "out/a.bin"));
        g_assert_false (e2e_exists (t, "out/a.bin.frames"));
        g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
        g_assert_cmpint (e2e_exists (t, "out/b.txt"), ==, b_ok);
        g_assert_cmpint (e2e_exists (t, "out/b.bin.frames"), ==, b_ok);
        all = e2e_read (t, "out/all.csv");
        if (b_ok)
          g_assert_cmpstr (all, ==, "input,frame,label\nb.fake,0,-1\nb.fake,1,-1\nb.fake,2,-1\n");
        else
          g_assert_null (all);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/fake/basic", test_basic);
  g_test_add_func ("/e2e/fake/head-records", test_head_records);
  g_test_add_func ("/e2e/fake/sink-takes", test_sink_takes);
  g_test_add_func ("/e2e/fake/unknown-placeholder", test_unknown_placeholder);
  g_test_add_func ("/e2e/fake/input-errors", test_input_errors);
  g_test_add_func ("/e2e/fake/sink-error", test_sink_error);
  g_test_add_func ("/e2e/fake/on-error-stop", test_on_error_stop);
  g_test_add_func ("/e2e/fake/broken-frames", test_broken_frames);
  g_test_add_func ("/e2e/fake/name-clash", test_name_clash);
  g_test_add_func ("/e2e/fake/combined", test_combined);
  g_test_add_func ("/e2e/fake/cannot-combine", test_cannot_combine);
  g_test_add_func ("/e2e/fake/aux-file", test_aux_file);
  g_test_add_func ("/e2e/fake/jobs-same-outputs", test_jobs_same_outputs);
  g_test_add_func ("/e2e/fake/interrupt", test_interrupt);
  g_test_add_func ("/e2e/fake/fatal-setup", test_fatal_setup);
  g_test_add_func ("/e2e/fake/bad-config", test_bad_config);
  g_test_add_func ("/e2e/fake/set-override", test_set_override);
  g_test_add_func ("/e2e/fake/progress", test_progress);
  g_test_add_func ("/e2e/fake/odd-names", test_odd_names);
  g_test_add_func ("/e2e/fake/fail-every-frame", test_fail_every_frame);
  return g_test_run ();
}
