/* test-config.c — config validation (every kind of error names group, key, value and
 * what was expected), --set, effective values, path resolution and feature settings.
 * Plugins come from the fake plugin directory through [pipeline] plugin-path. */
#include "host-stage.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *fake_dir;
static char *tmp_dir;

/* writes text (after a [pipeline] plugin-path line) to tmp_dir/name */
static char *
write_config (const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_autofree char *full = g_strdup_printf ("[pipeline]\nplugin-path = %s\n%s", fake_dir, text);
  g_assert_true (g_file_set_contents (path, full, -1, NULL));
  return g_steal_pointer (&path);
}

static const struct {
  const char *text;
  const char *sets[3];
  const char *verb;
  int code;
  const char *error;       /* NULL: loads */
} cases[] = {
  /* unknown keys and groups, with near misses */
  { "[decoder]\nfsp = 3\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] fsp: unknown key; did you mean 'fps'?" },
  { "[decoder]\nbogus = 3\n", { NULL }, NULL, SP_ERROR_CONFIG, "[decoder] bogus: unknown key" },
  { "[decodr]\nfps = 3\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decodr]: unknown group; did you mean 'decoder'?" },
  { "[sinks:out]\npath = x\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[sinks:out]: unknown group; did you mean 'sink:out'?" },
  { "[train]\nepoch = 3\n", { NULL }, NULL, SP_ERROR_CONFIG, "did you mean 'epochs'?" },
  /* bad escapes: the value cannot be read, whatever its key (a list, a path too) */
  { "[decoder]\nfps = \\1\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] fps: Key file contains key \u201cfps\u201d which has a value that cannot be" },
  { "[pipeline]\ninputs = a\\qb.mp4\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[pipeline] inputs: Key file contains key" },
  { "[pipeline]\noutput-dir = o\\ut\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[pipeline] output-dir: Key file contains key" },
  /* malformed --set: a usage error naming the argument, never a key GKeyFile drops */
  { "", { "decoder.fps =3", NULL }, NULL, SP_ERROR_USAGE,
    "--set: \"decoder.fps =3\" is not GROUP.KEY=VALUE" },
  { "", { "de]coder.fps=3", NULL }, NULL, SP_ERROR_USAGE,
    "--set: \"de]coder.fps=3\" is not GROUP.KEY=VALUE" },
  { "", { "decoder. fps=3", NULL }, NULL, SP_ERROR_USAGE,
    "--set: \"decoder. fps=3\" is not GROUP.KEY=VALUE" },
  { "", { "decoder.fps", NULL }, NULL, SP_ERROR_USAGE, "is not GROUP.KEY=VALUE" },
  /* wrong types */
  { "", { "pipeline.jobs=many", NULL }, NULL, SP_ERROR_CONFIG,
    "[pipeline] jobs: value \"many\" is not an integer; expected an integer in [1, 64]" },
  { "[decoder]\nfps = fast\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] fps: value \"fast\" is not a number; expected a number in [0, 1000]" },
  { "[train]\nshuffle = maybe\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[train] shuffle: value \"maybe\" is not a boolean; expected true or false" },
  { "[model]\ncell = gru\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[model] cell: value \"gru\" is not a valid choice; expected one of lstm, rnn" },
  { "[pipeline]\non-error = ignore\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[pipeline] on-error: value \"ignore\" is not a valid choice; expected one of skip, stop" },
  /* ranges */
  { "[decoder]\nwidth = 0\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] width: value \"0\" is out of range; expected an integer in [1, 8192]" },
  { "[pipeline]\njobs = 65\n", { NULL }, NULL, SP_ERROR_CONFIG, "expected an integer in [1, 64]" },
  { "[model]\ndropout = 1\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[model] dropout: value \"1\" is out of range; expected a number in [0, 1)" },
  { "[model]\ndropout = 2\n", { NULL }, NULL, SP_ERROR_CONFIG, "expected a number in [0, 1)" },
  { "[model]\nlayers = 9\n", { NULL }, NULL, SP_ERROR_CONFIG, "expected an integer in [1, 8]" },
  { "[train]\nlr = 0\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[train] lr: value \"0\" is out of range; expected a number in (0, 10]" },
  { "[decoder]\nplugin = fake-dec\nframes = 5000\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] frames: value \"5000\" is out of range; expected an integer in [0, 1000]" },
  { "[decoder]\nframes = 5000\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] frames: value \"5000\" is out of range" },
  { "[extractor]\nplugin = fake-ext\ndim = 0\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[extractor] dim: value \"0\" is out of range" },
  /* missing required values, unknown or wrong stages */
  { "[sink:out]\nplugin = fake-sink\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[sink:out] path: missing; a value is required" },
  { "[head]\n", { NULL }, NULL, SP_ERROR_CONFIG, "[head] plugin: missing; a value is required" },
  { "[sink:s]\nplugin = fake-strict\npath = s.txt\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[sink:s] level: missing; expected an integer in [0, 9]" },
  { "[sink:s]\nplugin = fake-strict\npath = s.txt\n", { "sink:s.level=3", NULL }, NULL, 0, NULL },
  { "[decoder]\nplugin = fake-dek\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] plugin: no decoder named 'fake-dek'; did you mean 'fake-dec'?" },
  { "[decoder]\nplugin = fake-sink\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[decoder] plugin: 'fake-sink' is a sink, not a decoder" },
  { "[sink:fake-sinc]\npath = x\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[sink:fake-sinc] plugin: no sink named 'fake-sinc'; did you mean 'fake-sink'?" },
  { "[head]\nplugin = fake-head\nbeam = 3\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[head] beam: unknown key" },
  { "[sink:out]\nplugin = fake-sink\npath = x\nuper = true\n", { NULL }, NULL, SP_ERROR_CONFIG,
    "[sink:out] uper: unknown key; did you mean 'upper'?" },
  { "", { "pipeline.plugin-path=/nonexistent/plugins", NULL }, NULL, SP_ERROR_CONFIG,
    "[pipeline] plugin-path: \"/nonexistent/plugins\" is not a directory" },
  /* --set */
  { "", { "foo", NULL }, NULL, SP_ERROR_USAGE, "--set: \"foo\" is not GROUP.KEY=VALUE" },
  { "", { ".fps=1", NULL }, NULL, SP_ERROR_USAGE, "is not GROUP.KEY=VALUE" },
  { "", { "decoder.=1", NULL }, NULL, SP_ERROR_USAGE, "is not GROUP.KEY=VALUE" },
  { "", { "decoder.fsp=1", NULL }, NULL, SP_ERROR_CONFIG, "[decoder] fsp: unknown key; did you mean 'fps'?" },
  { "", { "sink:fake-sink.path=x.csv", NULL }, NULL, 0, NULL },
  { "[decoder]\nwidth = 0\n", { "decoder.width=32", NULL }, NULL, 0, NULL },
  /* what each verb needs */
  { "", { NULL }, "run", SP_ERROR_CONFIG, "[pipeline] inputs: missing; `seqpipe run` needs" },
  { "", { "pipeline.inputs=a.fake", "pipeline.manifest=m.csv", NULL }, "run", SP_ERROR_CONFIG,
    "give inputs or manifest, not both" },
  { "[head]\nplugin = fake-head\n", { "pipeline.inputs=a.fake", NULL }, "run", SP_ERROR_CONFIG,
    "[model] checkpoint: missing; `seqpipe run` needs it" },
  { "", { "train.manifest=t.csv", NULL }, "train", SP_ERROR_CONFIG, "`seqpipe train` needs a head" },
  { "[head]\nplugin = fake-head\n[model]\ncheckpoint = m.st\n", { NULL }, "train", SP_ERROR_CONFIG,
    "[train] manifest: missing" },
  { "[head]\nplugin = fake-head\n[model]\ncheckpoint = m.st\n", { NULL }, "eval", SP_ERROR_CONFIG,
    "[pipeline] manifest: missing" },
  { "", { "pipeline.inputs=a.fake", NULL }, "run", 0, NULL },
  /* comments after values and group headers, "" as the empty string, any decoder's
   * keys without a plugin */
  { "[decoder]   # the decoder\nfps = 3\n[sink:fake-sink] # export\npath = x#1.txt\n", { NULL },
    NULL, 0, NULL },
  { "[decoder]\nfps = 10   # sample rate\nframes = 3\n[train]\ninit = \"\"\n", { NULL }, NULL, 0,
    NULL },
};

static void
test_validation (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *name = g_strdup_printf ("case-%zu.ini", i);
    g_autofree char *path = write_config (name, cases[i].text);
    g_autoptr (GError) error = NULL;
    g_autoptr (SpConfig) c = sp_config_load (path, cases[i].sets, cases[i].verb, &error);
    if (!cases[i].error) {
      if (error)
        g_error ("case %zu: unexpected error: %s", i, error->message);
      g_assert_nonnull (c);
      continue;
    }
    if (c)
      g_error ("case %zu: loaded, expected \"%s\"", i, cases[i].error);
    g_assert_error (error, SP_ERROR, cases[i].code);
    if (!strstr (error->message, cases[i].error))
      g_error ("case %zu: \"%s\" lacks \"%s\"", i, error->message, cases[i].error);
    g_assert_cmpint (sp_error_exit_status (error), ==, 1);
  }
}

static void
test_file_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.ini", NULL);
  /* a NUL byte: GKeyFile would drop everything after it */
  g_autofree char *nul = g_build_filename (tmp_dir, "nul.ini", NULL);
  g_assert_true (g_file_set_contents (nul, "[decoder]\nfps = 3\n\0[decodr]\nx = 1\n", 30,
                                      NULL));
  g_assert_null (sp_config_load (nul, NULL, NULL, &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_CONFIG);
  g_autofree char *nul_at = g_strconcat (nul, ":3: a NUL byte at offset 18", NULL);
  g_assert_true (g_str_has_prefix (error->message, nul_at));
  g_clear_error (&error);

  g_assert_null (sp_config_load (missing, NULL, NULL, &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, missing));
  g_clear_error (&error);

  g_autofree char *bad = g_build_filename (tmp_dir, "syntax.ini", NULL);
  g_assert_true (g_file_set_contents (bad, "[pipeline]\nthis is not a key value pair\n", -1, NULL));
  g_assert_null (sp_config_load (bad, NULL, NULL, &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_CONFIG);
  g_autofree char *at_line = g_strconcat (bad, ":2: ", NULL);
  g_assert_true (g_str_has_prefix (error->message, at_line));
}

static void
test_defaults (void)
{
  g_autofree char *path = write_config ("defaults.ini", "[head]\nplugin = fake-head\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c = sp_config_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sp_config_int (c, "pipeline", "jobs"), ==, 1);
  g_assert_cmpstr (sp_config_string (c, "pipeline", "on-error"), ==, "skip");
  g_assert_cmpint (sp_config_int (c, "pipeline", "on-error"), ==, 0);
  g_assert_cmpint (sp_config_int (c, "decoder", "width"), ==, 64);
  g_assert_cmpint (sp_config_int (c, "decoder", "height"), ==, 64);
  g_assert_cmpfloat (sp_config_double (c, "decoder", "fps"), ==, 0.0);
  g_assert_cmpstr (sp_config_string (c, "model", "cell"), ==, "lstm");
  g_assert_cmpint (sp_config_int (c, "model", "hidden"), ==, 256);
  g_assert_cmpfloat (sp_config_double (c, "model", "dropout"), ==, 0.0);
  g_assert_cmpint (sp_config_int (c, "train", "epochs"), ==, 20);
  g_assert_cmpint (sp_config_int (c, "train", "batch"), ==, 16);
  g_assert_cmpstr (sp_config_string (c, "train", "optimizer"), ==, "adam");
  g_assert_cmpfloat (sp_config_double (c, "train", "lr"), ==, 0.001);
  g_assert_cmpfloat (sp_config_double (c, "train", "clip"), ==, 5.0);
  g_assert_cmpint (sp_config_int (c, "train", "tbptt"), ==, 64);
  g_assert_cmpint (sp_config_int (c, "train", "seed"), ==, 1);
  g_assert_true (sp_config_bool (c, "train", "shuffle"));
  g_assert_null (sp_config_string (c, "train", "init"));
  g_autofree char *out = sp_config_path (c, "pipeline", "output-dir");
  g_assert_cmpstr (out, ==, "out");     /* a default is relative to the current directory */
  g_autofree char *cache = sp_config_path (c, "train", "cache-dir");
  g_assert_cmpstr (cache, ==, ".seqpipe-cache");
  g_assert_null (sp_config_path (c, "model", "checkpoint"));
  g_assert_cmpstr (sp_config_head (c), ==, "fake-head");
  g_assert_cmpstr (sp_config_extractor (c), ==, "basic");
  g_assert_null (sp_config_decoder (c));
  g_assert_false (sp_config_has (c, "decoder", "fps"));
  g_assert_nonnull (sp_config_registry (c));
  g_assert_cmpstr (sp_config_file (c), ==, path);
}

static void
test_paths (void)
{
  g_autofree char *path = write_config ("sub/paths.ini",
                                        "[pipeline]\ninputs = a.fake; clips/*.fake ;/abs/b.fake\n"
                                        "output-dir = results\n"
                                        "[model]\ncheckpoint = m.safetensors\n"
                                        "[decoder]\nplugin = fake-dec\nlabel-file = l.txt\n");
  const char *sets[] = { "train.manifest=rel/t.csv", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c = sp_config_load (path, sets, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *dir = g_build_filename (tmp_dir, "sub", NULL);
  g_assert_cmpstr (sp_config_dir (c), ==, dir);

  g_auto (GStrv) raw = sp_config_strv (c, "pipeline", "inputs");
  g_assert_cmpint (g_strv_length (raw), ==, 3);
  g_assert_cmpstr (raw[1], ==, "clips/*.fake");
  g_auto (GStrv) inputs = sp_config_path_list (c, "pipeline", "inputs");
  g_autofree char *a = g_build_filename (dir, "a.fake", NULL);
  g_autofree char *glob = g_build_filename (dir, "clips/*.fake", NULL);
  g_assert_cmpstr (inputs[0], ==, a);
  g_assert_cmpstr (inputs[1], ==, glob);
  g_assert_cmpstr (inputs[2], ==, "/abs/b.fake");
  g_assert_null (sp_config_strv (c, "pipeline", "manifest"));

  g_autofree char *out = sp_config_path (c, "pipeline", "output-dir");
  g_autofree char *want_out = g_build_filename (dir, "results", NULL);
  g_assert_cmpstr (out, ==, want_out);
  g_autofree char *manifest = sp_config_path (c, "train", "manifest");
  g_assert_cmpstr (manifest, ==, "rel/t.csv");    /* --set: relative to the current dir */

  /* a stage's SP_KEY_PATH is resolved the same way */
  const SpStageClass *k = sp_registry_find (sp_config_registry (c), "fake-dec", SP_STAGE_DECODER);
  g_autoptr (SpStage) st = sp_stage_new (c, k, "decoder", NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *labels = g_build_filename (dir, "l.txt", NULL);
  const char *const *label_file = (const char *const *) ((char *) st->priv + k->keys[6].offset);
  g_assert_cmpstr (k->keys[6].name, ==, "label-file");
  g_assert_cmpstr (*label_file, ==, labels);
  g_autofree char *ckpt = g_build_filename (dir, "m.safetensors", NULL);
  g_assert_cmpstr (sp_stage_model_checkpoint (st), ==, ckpt);
}

static void
test_sinks (void)
{
  g_autofree char *path = write_config ("sinks.ini",
                                        "[sink:b]\nplugin = fake-sink\npath = b.txt\n"
                                        "[sink:fake-sink]\npath = {stem}.txt\nupper = true\n");
  const char *sets[] = { "sink:c.plugin=fake-sink", "sink:c.path=c.txt", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c = sp_config_load (path, sets, NULL, &error);
  g_assert_no_error (error);
  g_auto (GStrv) groups = sp_config_sink_groups (c);
  g_assert_cmpint (g_strv_length (groups), ==, 3);
  g_assert_cmpstr (groups[0], ==, "sink:b");
  g_assert_cmpstr (groups[1], ==, "sink:fake-sink");
  g_assert_cmpstr (groups[2], ==, "sink:c");
  g_assert_cmpstr (sp_config_string (c, "sink:fake-sink", "plugin"), ==, "fake-sink");
  g_assert_cmpstr (sp_config_string (c, "sink:b", "path"), ==, "b.txt");
  g_assert_true (sp_config_bool (c, "sink:fake-sink", "upper"));
  g_assert_false (sp_config_bool (c, "sink:b", "upper"));
}

static void
test_feature_settings (void)
{
  g_autofree char *plain = write_config ("fs1.ini", "[decoder]\nfps = 10\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c1 = sp_config_load (plain, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *d1 = sp_config_feature_settings (c1, "decoder");
  g_assert_cmpstr (d1, ==, "{\"fps\":10,\"height\":64,\"width\":64}");

  /* the chosen decoder's keys count when they differ from their default */
  g_autofree char *chosen = write_config ("fs2.ini",
                                          "[decoder]\nplugin = fake-dec\nscale = 2.25\nmode = fast\n"
                                          "threads = 4\nwidth = 32\n"
                                          "[extractor]\nplugin = fake-ext\n");
  g_autoptr (SpConfig) c2 = sp_config_load (chosen, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *d2 = sp_config_feature_settings (c2, "decoder");
  g_assert_cmpstr (d2, ==,
                   "{\"fps\":0,\"height\":64,\"plugin\":\"fake-dec\",\"scale\":2.25,\"width\":32}");
  g_autofree char *e2 = sp_config_feature_settings (c2, "extractor");
  g_assert_cmpstr (e2, ==, "{\"dim\":4,\"plugin\":\"fake-ext\"}");

  /* the same settings written differently give the same JSON */
  g_autofree char *same = write_config ("fs3.ini", "[decoder]\nwidth = 32\nscale=2.250\n"
                                        "plugin=fake-dec\nfps=0.0\n"
                                        "[extractor]\nplugin = fake-ext\ndim = 4\n");
  g_autoptr (SpConfig) c3 = sp_config_load (same, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *d3 = sp_config_feature_settings (c3, "decoder");
  g_autofree char *e3 = sp_config_feature_settings (c3, "extractor");
  g_assert_cmpstr (d3, ==, d2);
  g_assert_cmpstr (e3, ==, e2);
  g_autofree char *fractional = write_config ("fs4.ini", "[decoder]\nfps = 0.1\n");
  g_autoptr (SpConfig) c4 = sp_config_load (fractional, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *d4 = sp_config_feature_settings (c4, "decoder");
  g_assert_cmpstr (d4, ==, "{\"fps\":0.1,\"height\":64,\"width\":64}");
}

/* the getters and sp_stage_new from the run engine's worker threads at once */
static gpointer
getter_thread (gpointer data)
{
  SpConfig *c = data;
  const SpStageClass *k = sp_registry_find (sp_config_registry (c), "fake-dec", SP_STAGE_DECODER);
  for (int i = 0; i < 300; i++) {
    g_assert_cmpstr (sp_config_string (c, "model", "cell"), ==, "rnn");
    g_assert_cmpstr (sp_config_head (c), ==, "fake-head");
    g_assert_cmpint (sp_config_int (c, "decoder", "frames"), ==, 7);
    g_autofree char *p = sp_config_path (c, "train", "cache-dir");
    g_assert_cmpstr (p, ==, ".seqpipe-cache");
    g_autoptr (GError) error = NULL;
    g_autoptr (SpStage) st = sp_stage_new (c, k, "decoder", NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (sp_stage_head_name (st), ==, "fake-head");
  }
  return NULL;
}

static void
test_threads (void)
{
  g_autofree char *path = write_config ("threads.ini", "[model]\ncell = rnn\n"
                                        "[head]\nplugin = fake-head\n"
                                        "[decoder]\nplugin = fake-dec\nframes = 7\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c = sp_config_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  GThread *threads[4];
  for (int i = 0; i < 4; i++)
    threads[i] = g_thread_new ("getter", getter_thread, c);
  for (int i = 0; i < 4; i++)
    g_thread_join (threads[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fake_dir = g_getenv ("SP_FAKE_PLUGIN_DIR");
  g_assert_nonnull (fake_dir);
  tmp_dir = g_dir_make_tmp ("sp-config-XXXXXX", NULL);
  g_test_add_func ("/config/validation", test_validation);
  g_test_add_func ("/config/file-errors", test_file_errors);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/paths", test_paths);
  g_test_add_func ("/config/sinks", test_sinks);
  g_test_add_func ("/config/feature-settings", test_feature_settings);
  g_test_add_func ("/config/threads", test_threads);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", tmp_dir);
  g_free (tmp_dir);
  return rc;
}
