/* `seqpipe run` and `seqpipe train` with the exports of the sinks plugin read back by
 * their own reader: the txt sink's label file, written by a labeler over a video made
 * at test time with every frame decoded, is the label file of a training manifest;
 * and every new export of one run, as the host names and renames them. */
#include "e2e.h"

#include "spm-model.h"

#include <string.h>

/* `seqpipe train CONFIG` in t->dir: its exit status, stderr in *err */
static int
e2e_train (E2e *t, const char *config, char **err)
{
  g_autofree char *ini = e2e_write (t, "train.ini", config);
  const char *argv[] = { g_getenv ("SEQPIPE_BIN"), "train", "-q", ini, NULL };
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_assert_nonnull (argv[0]);
  g_assert_true (g_spawn_sync (t->dir, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, err, &status, &error));
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s", *err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* a labeler checkpoint with random weights over the basic extractor's 275 features */
static void
random_labeler (E2e *t, const char *name)
{
  g_autoptr (SpmModel) m = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = e2e_path (t, name);
  SpmModelConfig cfg = { 0 };
  const char *labels[] = { "a", "b", "c", NULL };

  cfg.head = SPM_HEAD_LABELER;
  cfg.cell = SPM_CELL_LSTM;
  cfg.D = 275;
  cfg.H = 8;
  cfg.L = 1;
  cfg.C = 3;
  m = spm_model_new (&cfg, &error);
  g_assert_no_error (error);
  spm_model_init (m, 5);
  spm_model_set_names (m, labels);
  g_assert_true (spm_model_save (m, path, &error));
}

#define TRAIN_INI \
  "[decoder]\nfps = 0\nwidth = 32\nheight = 24\n" \
  "[model]\nhidden = 8\ncheckpoint = trained.safetensors\n" \
  "[head]\nplugin = labeler\n" \
  "[train]\nmanifest = %s\nepochs = 1\nbatch = 1\nthreads = 1\ntbptt = 8\n"

static void
test_txt_round_trip (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL, *txt = NULL, *ini = NULL;
  g_auto (GStrv) lines = NULL;
  GString *cut;

  g_assert_true (e2e_ffmpeg (t, "testsrc2=size=64x48:rate=10:duration=2",
                             "-c:v libx264 -pix_fmt yuv420p", "clip.mp4"));
  random_labeler (t, "random.safetensors");
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = clip.mp4\noutput-dir = out\n"
                            "[decoder]\nfps = 0\nwidth = 32\nheight = 24\n"
                            "[model]\ncheckpoint = random.safetensors\n"
                            "[head]\nplugin = labeler\n"
                            "[sink:txt]\npath = {stem}.txt\n", NULL, &err, NULL), ==, 0);
  txt = e2e_read (t, "out/clip.txt");
  g_assert_nonnull (txt);
  lines = g_strsplit (txt, "\n", -1);
  /* 20 frames, each line a label of the checkpoint, and a final newline */
  g_assert_cmpuint (g_strv_length (lines), ==, 21);
  g_assert_cmpstr (lines[20], ==, "");
  for (int i = 0; i < 20; i++)
    g_assert_true (strcmp (lines[i], "a") == 0 || strcmp (lines[i], "b") == 0
                   || strcmp (lines[i], "c") == 0);

  /* the label file of a manifest: training accepts it */
  g_free (e2e_write (t, "m.csv", "path,labels\nclip.mp4,out/clip.txt\n"));
  ini = g_strdup_printf (TRAIN_INI, "m.csv");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (e2e_train (t, ini, &err), ==, 0);
  g_assert_true (e2e_exists (t, "trained.safetensors"));

  /* one line fewer: refused, naming the file and its line count.  (§5 also wants the
   * input's frame count, 20, in the message; the reader says which frame it missed.) */
  cut = g_string_new (NULL);
  for (int i = 1; i < 20; i++)
    g_string_append_printf (cut, "%s\n", lines[i]);
  g_free (e2e_write (t, "cut.txt", cut->str));
  g_string_free (cut, TRUE);
  g_free (e2e_write (t, "m-cut.csv", "path,labels\nclip.mp4,cut.txt\n"));
  g_free (ini);
  ini = g_strdup_printf (TRAIN_INI, "m-cut.csv");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (e2e_train (t, ini, &err), !=, 0);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "cut.txt"));
  /* both counts (DESIGN §5) */
  g_assert_nonnull (strstr (err, "cut.txt: 19 lines, but the input has at least 20 frames"));
  g_assert_nonnull (strstr (err, "mismatch"));
}

/* every export of a labeler run, written by the real host (temporary names renamed,
 * one file per input): each is there, names its input as the host gives it, and no
 * temporary file is left */
static void
test_every_export (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *err = NULL, *seg = NULL, *eaf = NULL, *html = NULL, *chapters = NULL;
  g_autofree char *probe = NULL, *mkv = NULL, *probe_out = NULL;
  g_auto (GStrv) rows = NULL;
  int status = 0;

  g_assert_true (e2e_ffmpeg (t, "testsrc2=size=64x48:rate=10:duration=2",
                             "-c:v libx264 -pix_fmt yuv420p", "media/clip.mp4"));
  random_labeler (t, "random.safetensors");
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = media/clip.mp4\noutput-dir = out\n"
                            "[decoder]\nfps = 5\nwidth = 32\nheight = 24\n"
                            "[model]\ncheckpoint = random.safetensors\n"
                            "[head]\nplugin = labeler\n"
                            "[sink:segments]\npath = {stem}.segments.csv\n"
                            "[sink:txt]\npath = {stem}.txt\n"
                            "[sink:chapters]\npath = {stem}.chapters.txt\n"
                            "[sink:audacity]\npath = {stem}.labels.txt\n"
                            "[sink:eaf]\npath = {stem}.eaf\n"
                            "[sink:html]\npath = review/{stem}.html\n"
                            "[sink:mux]\npath = {stem}.labelled.mkv\n", NULL, &err, NULL), ==, 0);
  sum = e2e_summary (t);
  g_assert_cmpstr (e2e_str (e2e_summary_input (sum, "clip.mp4"), "status"), ==, "ok");
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
  /* fps = 5 over a 10 fps input: frames 0, 2, ..., 18 at 0, 0.2, ..., 1.8 s; the last
   * segment ends one period after its last frame, at 2.0 s */
  seg = e2e_read (t, "out/clip.segments.csv");
  g_assert_nonnull (seg);
  rows = g_strsplit (g_strstrip (seg), "\n", -1);
  g_assert_cmpstr (rows[0], ==, "start,end,label,frames,score,start_frame,end_frame");
  g_assert_true (g_str_has_prefix (rows[1], "0.000000,"));
  {
    g_auto (GStrv) first = g_strsplit (rows[1], ",", -1);
    g_auto (GStrv) last = g_strsplit (rows[g_strv_length (rows) - 1], ",", -1);
    g_assert_cmpuint (g_strv_length (first), ==, 7);
    g_assert_cmpstr (first[5], ==, "0");
    g_assert_cmpstr (last[1], ==, "2.000000");
    g_assert_cmpstr (last[6], ==, "18");
  }
  chapters = e2e_read (t, "out/clip.chapters.txt");
  g_assert_true (g_str_has_prefix (chapters, ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\n"
                                   "START=0\n"));
  g_assert_nonnull (strstr (chapters, "END=2000\n"));
  eaf = e2e_read (t, "out/clip.eaf");
  g_assert_nonnull (strstr (eaf, "RELATIVE_MEDIA_URL=\"../media/clip.mp4\""));
  html = e2e_read (t, "out/review/clip.html");
  g_assert_nonnull (strstr (html, "<video controls preload=\"auto\" "
                            "src=\"../../media/clip.mp4\">"));
  /* the copy: the chapters and the labels stream, found by ffprobe */
  mkv = e2e_path (t, "out/clip.labelled.mkv");
  probe = g_strdup_printf ("ffprobe -v error -show_entries stream=codec_type:chapter=id "
                           "-of csv=p=0 '%s'", mkv);
  g_assert_true (g_spawn_command_line_sync (probe, &probe_out, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (probe_out, "video"));
  g_assert_nonnull (strstr (probe_out, "subtitle"));
}

/* The last segment ends at the input's end, not one sample period past it: a 2 s clip
 * sampled at 3 fps has its last frame at 1.7 s, and 1.7 + 1/3 would run past 2 s
 * (the subtitles' last cue did). */
static void
test_last_segment_end (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *seg = NULL, *srt = NULL;
  g_auto (GStrv) rows = NULL;

  g_assert_true (e2e_ffmpeg (t, "testsrc2=size=64x48:rate=10:duration=2",
                             "-c:v libx264 -pix_fmt yuv420p", "clip.mp4"));
  random_labeler (t, "random.safetensors");
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = clip.mp4\noutput-dir = out\n"
                            "[decoder]\nfps = 3\nwidth = 32\nheight = 24\n"
                            "[model]\ncheckpoint = random.safetensors\n"
                            "[head]\nplugin = labeler\n"
                            "[sink:segments]\npath = {stem}.csv\n"
                            "[sink:srt]\npath = {stem}.srt\n", NULL, NULL, NULL), ==, 0);
  seg = e2e_read (t, "out/clip.csv");
  rows = g_strsplit (g_strstrip (seg), "\n", -1);
  {
    g_auto (GStrv) last = g_strsplit (rows[g_strv_length (rows) - 1], ",", -1);
    g_assert_cmpstr (last[6], ==, "17");
    g_assert_cmpstr (last[1], ==, "2.000000");
  }
  srt = e2e_read (t, "out/clip.srt");
  g_assert_nonnull (strstr (srt, " --> 00:00:02,000\n"));
  g_assert_null (strstr (srt, "00:00:02,033"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/exports/last-segment-end", test_last_segment_end);
  g_test_add_func ("/e2e/exports/txt-round-trip", test_txt_round_trip);
  g_test_add_func ("/e2e/exports/every-export", test_every_export);
  return g_test_run ();
}
