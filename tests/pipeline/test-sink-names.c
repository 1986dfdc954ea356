/* test-sink-names.c — the naming policy of a run's sinks (DESIGN §6): one suffix per
 * input for every sink, run-wide files first, and linear time in the number of inputs
 * that share a stem. */
#include "run-sinks.h"

#include <string.h>

static gboolean
nop_init (SpStage *st, GError **error)
{
  (void) st;
  (void) error;
  return TRUE;
}

static void
nop_finalize (SpStage *st)
{
  (void) st;
}

static const SpStageClass lines_class = {
  .name = "lines", .kind = SP_STAGE_SINK, .init = nop_init, .finalize = nop_finalize,
  .can_combine = TRUE, .takes = SP_TAKES_FRAMES,
};

static SpInputInfo *
inputs_new (int n, const char *fmt, const char *stem)
{
  SpInputInfo *in = g_new0 (SpInputInfo, n);
  for (int i = 0; i < n; i++) {
    char *path = g_strdup_printf (fmt, i);
    in[i] = (SpInputInfo) { path, g_path_get_basename (path), g_strdup (stem), i, 0, -1 };
  }
  return in;
}

static void
inputs_free (SpInputInfo *in, int n)
{
  for (int i = 0; i < n; i++) {
    g_free ((char *) in[i].path);
    g_free ((char *) in[i].name);
    g_free ((char *) in[i].stem);
  }
  g_free (in);
}

/* 100 000 inputs named video.mp4 in their own directories: every file of input i is
 * video-(i+1) (video for the first), in every sink; the run-wide file named first
 * keeps its name.  The meson timeout bounds the time (the former rule probed every
 * earlier name for every input: quadratic). */
static void
test_many_same_stem (void)
{
  const int n = 100000;
  SpInputInfo *in = inputs_new (n, "clips/%d/video.mp4", "video");
  const SpSinkSpec specs[] = {
    { "csv", &lines_class, "{stem}.labels.csv" },
    { "srt", &lines_class, "subs/{name}.srt" },
    { "all", &lines_class, "video.labels.csv" },
  };
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (SpSinkSet) s = sp_sinks_new (NULL, specs, 3, "out", in, n, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("named %d inputs in %.2f s", n, (g_get_monotonic_time () - t0) / 1e6);
  /* the run-wide file (video.labels.csv) came first, so the first input moved */
  g_assert_cmpstr (sp_sinks_output (s, 0, 0), ==, "video-2.labels.csv");
  g_assert_cmpstr (sp_sinks_output (s, 0, 1), ==, "subs/video-2.mp4.srt");
  for (int i = 1; i < n; i += 997) {
    g_autofree char *csv = g_strdup_printf ("video-%d.labels.csv", i + 2);
    g_autofree char *srt = g_strdup_printf ("subs/video-%d.mp4.srt", i + 2);
    g_assert_cmpstr (sp_sinks_output (s, i, 0), ==, csv);
    g_assert_cmpstr (sp_sinks_output (s, i, 1), ==, srt);
  }
  inputs_free (in, n);
}

/* two sinks of one input on the same file: the later file is numbered, the input's
 * stem is not; summary.json is never a sink's file */
static void
test_same_file_two_sinks (void)
{
  SpInputInfo *in = inputs_new (2, "in/%d/summary.mp4", "summary");
  const SpSinkSpec specs[] = {
    { "a", &lines_class, "{stem}.json" },
    { "b", &lines_class, "{stem}.json" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpSinkSet) s = sp_sinks_new (NULL, specs, 2, "out", in, 2, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sp_sinks_output (s, 0, 0), ==, "summary-2.json");
  g_assert_cmpstr (sp_sinks_output (s, 0, 1), ==, "summary-2-2.json");
  g_assert_cmpstr (sp_sinks_output (s, 1, 0), ==, "summary-3.json");
  g_assert_cmpstr (sp_sinks_output (s, 1, 1), ==, "summary-3-2.json");
  inputs_free (in, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sink-names/many-same-stem", test_many_same_stem);
  g_test_add_func ("/sink-names/same-file-two-sinks", test_same_file_two_sinks);
  return g_test_run ();
}
