/* `seqpipe run` with the real plugins on media made by ffmpeg at test time: bad
 * inputs of every kind, image sequences, manifests, jobs, interrupts and memory that
 * does not grow with the input's length.  A test whose plugins are not built is
 * skipped. */
#include "e2e.h"

#include "spm-model.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define NPY_SINK "[sink:npy]\npath = {stem}.npy\n"

/* the plugin directory that provides a stage */
static const char *
plugin_dir_of (const char *name, const char *kind)
{
  if (strcmp (kind, "sink") == 0)
    return "sinks";
  if (strcmp (kind, "head") == 0)
    return "heads";
  if (strcmp (kind, "extractor") == 0)
    return "extract";
  return name;      /* decoders: ffmpeg, image, npy */
}

/* A stage missing is a skip while its plugin is not part of the build, and a
 * failure once it is. */
static gboolean
need (const char *name, const char *kind)
{
  const char *built = g_getenv ("SEQPIPE_E2E_BUILT_PLUGINS");
  g_autofree char *suffix = g_strdup_printf ("/%s", plugin_dir_of (name, kind));
  g_auto (GStrv) dirs = g_strsplit (built ? built : "", ":", -1);

  if (e2e_have_stage (name, kind))
    return TRUE;
  for (int i = 0; dirs[i] != NULL; i++)
    if (g_str_has_suffix (dirs[i], suffix))
      {
        g_test_fail_printf ("the %s %s stage of %s is not found", name, kind, dirs[i]);
        return FALSE;
      }
  g_test_skip_printf ("no %s %s plugin", name, kind);
  return FALSE;
}

static gboolean
need_video (void)
{
  return need ("ffmpeg", "decoder") && need ("basic", "extractor") && need ("npy", "sink");
}

/* the first n bytes of src as dir/name */
static void
write_prefix (E2e *t, const char *src, double fraction, const char *name)
{
  g_autofree char *data = NULL;
  g_autofree char *path = e2e_path (t, name);
  g_autofree char *dir = g_path_get_dirname (path);
  gsize len = 0;
  g_autoptr (GError) error = NULL;

  g_mkdir_with_parents (dir, 0777);
  g_file_get_contents (src, &data, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (path, data, (gssize) (len * fraction), &error);
  g_assert_no_error (error);
}

static void
copy_in (E2e *t, const char *src, const char *name)
{
  write_prefix (t, src, 1.0, name);
}

/* T of a (T, D) .npy header written by the npy sink */
static long
npy_rows (E2e *t, const char *name)
{
  g_autofree char *path = e2e_path (t, name);
  g_autofree char *text = NULL;
  gsize len = 0;
  const char *shape;

  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  shape = memmem (text, MIN (len, 256), "'shape': (", strlen ("'shape': ("));
  g_assert_nonnull (shape);
  return strtol (shape + strlen ("'shape': ("), NULL, 10);
}

static void
test_video (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *frames = NULL;
  const char *v;

  if (!need_video ())
    return;
  v = e2e_media ("testsrc2=size=96x64:rate=10:duration=2", "-c:v libx264 -pix_fmt yuv420p",
                 "ok.mp4");
  g_assert_nonnull (v);
  copy_in (t, v, "clip.mp4");
  g_assert_cmpint (e2e_run (t, "[pipeline]\ninputs = clip.mp4\noutput-dir = out\n"
                            "[decoder]\nwidth = 32\nheight = 24\n" NPY_SINK, NULL, NULL, NULL),
                   ==, 0);
  g_assert_cmpint (npy_rows (t, "out/clip.npy"), ==, 20);
  frames = e2e_read (t, "out/clip.npy.frames.csv");
  g_assert_nonnull (frames);
  g_assert_true (g_str_has_prefix (frames, "frame,time\n0,"));
  sum = e2e_summary (t);
  g_assert_cmpfloat (e2e_num (e2e_summary_input (sum, "clip.mp4"), "frames"), ==, 20);
  g_assert_cmpstr (e2e_str (spm_json_get (e2e_summary_input (sum, "clip.mp4"), "outputs"),
                            "npy"), ==, "clip.npy");
}

/* every kind of bad input is that input's error, naming it; the others complete */
static void
test_bad_inputs (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  g_autofree char *err = NULL;
  g_autofree char *random = NULL;
  const char *v, *fs, *audio;
  const char *failing[] = { "missing.mp4", "empty.mp4", "random.mp4", "moov10.mp4",
                            "moov50.mp4", "moov90.mp4", "fs5.mkv", "audio.mp4", "bad.png",
                            "bad.npy", "header.npy", NULL };
  const char *maybe[] = { "fs40.mkv", "fs80.mkv", NULL };

  if (!need_video () || !need ("image", "decoder") || !need ("npy", "decoder"))
    return;
  v = e2e_media ("testsrc2=size=96x64:rate=10:duration=2", "-c:v libx264 -pix_fmt yuv420p",
                 "ok.mp4");
  fs = e2e_media ("testsrc2=size=96x64:rate=10:duration=2", "-c:v ffv1", "ok.mkv");
  audio = e2e_media ("sine=frequency=440:duration=1", "-c:a aac", "audio.mp4");
  g_assert_nonnull (v);
  g_assert_nonnull (fs);
  g_assert_nonnull (audio);
  copy_in (t, v, "good.mp4");
  g_free (e2e_write (t, "empty.mp4", ""));
  random = g_malloc (4096);
  for (int i = 0; i < 4096; i++)
    random[i] = (char) g_test_rand_int_range (0, 256);
  {
    g_autofree char *path = e2e_path (t, "random.mp4");
    g_file_set_contents (path, random, 4096, NULL);
  }
  /* mp4 keeps its index at the end: any cut loses it */
  write_prefix (t, v, 0.10, "moov10.mp4");
  write_prefix (t, v, 0.50, "moov50.mp4");
  write_prefix (t, v, 0.90, "moov90.mp4");
  /* matroska streams: a cut may still give the frames before it (none at 5%) */
  write_prefix (t, fs, 0.05, "fs5.mkv");
  write_prefix (t, fs, 0.40, "fs40.mkv");
  write_prefix (t, fs, 0.80, "fs80.mkv");
  copy_in (t, audio, "audio.mp4");
  g_free (e2e_write (t, "bad.png", "\x89PNG\r\n\x1a\nthis is no image at all"));
  {
    static const char bad_npy[] = "\x93NUMPY\x01\x00\x10\x00{'descr': '<i8'}\n";
    g_autofree char *path = e2e_path (t, "bad.npy");
    g_file_set_contents (path, bad_npy, sizeof bad_npy - 1, NULL);
  }
  g_free (e2e_write (t, "header.npy", "not numpy"));

  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = good.mp4;missing.mp4;"
                            "empty.mp4;random.mp4;moov10.mp4;moov50.mp4;moov90.mp4;fs5.mkv;"
                            "fs40.mkv;fs80.mkv;audio.mp4;bad.png;bad.npy;header.npy\njobs = 2\n"
                            "[decoder]\nwidth = 32\nheight = 24\n" NPY_SINK, NULL, &err, NULL),
                   ==, 2);
  sum = e2e_summary (t);
  g_assert_cmpfloat (e2e_num (sum, "exit"), ==, 2);
  g_assert_cmpstr (e2e_str (e2e_summary_input (sum, "good.mp4"), "status"), ==, "ok");
  g_assert_cmpint (npy_rows (t, "out/good.npy"), ==, 20);
  for (int i = 0; failing[i] != NULL; i++)
    {
      const SpmJson *e = e2e_summary_input (sum, failing[i]);
      g_autofree char *where = g_strdup_printf ("seqpipe: %s: ", failing[i]);
      g_autofree char *stem = g_strndup (failing[i], strrchr (failing[i], '.') - failing[i]);
      g_autofree char *out = g_strdup_printf ("out/%s.npy", stem);

      if (g_test_verbose ())
        g_printerr ("%s -> %s\n", failing[i], e2e_str (e, "error"));
      g_assert_cmpstr (e2e_str (e, "status"), ==, "failed");
      g_assert_true (g_str_has_prefix (e2e_str (e, "error"), failing[i]));
      g_assert_nonnull (strstr (err, where));
      g_assert_false (e2e_exists (t, out));
    }
  for (int i = 0; maybe[i] != NULL; i++)
    {
      const SpmJson *e = e2e_summary_input (sum, maybe[i]);
      g_autofree char *stem = g_strndup (maybe[i], strrchr (maybe[i], '.') - maybe[i]);
      g_autofree char *out = g_strdup_printf ("out/%s.npy", stem);

      if (g_test_verbose ())
        g_printerr ("%s -> %s, %g frames, %s\n", maybe[i], e2e_str (e, "status"),
                    e2e_num (e, "frames"), e2e_str (e, "error"));
      if (strcmp (e2e_str (e, "status"), "ok") == 0)
        {
          g_assert_cmpint (npy_rows (t, out), ==, (long) e2e_num (e, "frames"));
          g_assert_true (e2e_num (e, "frames") < 20);
        }
      else
        {
          g_assert_true (g_str_has_prefix (e2e_str (e, "error"), maybe[i]));
          g_assert_false (e2e_exists (t, out));
        }
    }
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
}

static void
test_image_sequence (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;

  if (!need ("image", "decoder") || !need ("basic", "extractor") || !need ("npy", "sink"))
    return;
  g_assert_true (e2e_ffmpeg (t, "smptebars=size=48x32:rate=5:duration=1", "", "shots/%03d.png"));
  g_assert_true (e2e_ffmpeg (t, "mandelbrot=size=48x32:rate=5", "-frames:v 3", "seq/f%02d.png"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = shots;seq/f%02d.png\n"
                            "[decoder]\nwidth = 16\nheight = 16\n" NPY_SINK, NULL, NULL, NULL),
                   ==, 0);
  g_assert_cmpint (npy_rows (t, "out/shots.npy"), ==, 5);
  g_assert_cmpint (npy_rows (t, "out/seq.npy"), ==, 3);
  sum = e2e_summary (t);
  g_assert_cmpfloat (e2e_num (e2e_summary_input (sum, "shots"), "frames"), ==, 5);
}

/* a manifest's windows; the same file twice gets -2 */
static void
test_manifest (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  const char *v;

  if (!need_video ())
    return;
  v = e2e_media ("testsrc2=size=96x64:rate=10:duration=2", "-c:v libx264 -pix_fmt yuv420p",
                 "ok.mp4");
  copy_in (t, v, "data/clip.mp4");
  g_free (e2e_write (t, "data/m.csv", "path,start,end\nclip.mp4,0.5,1.5\nclip.mp4,,\n"));
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\nmanifest = data/m.csv\n"
                            "[decoder]\nwidth = 16\nheight = 16\n" NPY_SINK, NULL, NULL, NULL),
                   ==, 0);
  g_assert_cmpint (npy_rows (t, "out/clip.npy"), ==, 10);
  g_assert_cmpint (npy_rows (t, "out/clip-2.npy"), ==, 20);
  sum = e2e_summary (t);
  g_assert_cmpint (spm_json_get (sum, "inputs")->n, ==, 2);
}

static void
test_heads_mask (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autofree char *err = NULL;

  if (!need_video () || !need ("srt", "sink"))
    return;
  g_free (e2e_write (t, "a.mp4", ""));
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = a.mp4\n"
                            "[sink:subs]\nplugin = srt\npath = {stem}.srt\n", NULL, &err, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "[sink:subs] plugin"));
}

static char *
outputs_with_jobs (const char *jobs)
{
  g_autoptr (E2e) t = e2e_new ();
  const char *args[] = { "-j", jobs, "-q", NULL };
  GString *all = g_string_new (NULL);
  const char *names[] = { "a", "b", "c", NULL };

  copy_in (t, e2e_media ("testsrc2=size=96x64:rate=10:duration=2",
                         "-c:v libx264 -pix_fmt yuv420p", "ok.mp4"), "a.mp4");
  copy_in (t, e2e_media ("smptebars=size=64x48:rate=8:duration=3", "-c:v mpeg4", "bars.avi"),
           "b.avi");
  copy_in (t, e2e_media ("mandelbrot=size=64x48:rate=10", "-frames:v 15 -c:v ffv1", "m.mkv"),
           "c.mkv");
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = a.mp4;b.avi;c.mkv\n"
                            "[decoder]\nwidth = 24\nheight = 16\n" NPY_SINK, args, NULL, NULL),
                   ==, 0);
  for (int i = 0; names[i] != NULL; i++)
    {
      g_autofree char *n1 = g_strdup_printf ("out/%s.npy", names[i]);
      g_autofree char *n2 = g_strdup_printf ("out/%s.npy.frames.csv", names[i]);
      g_autofree char *npy = NULL, *csv = NULL, *sum = NULL;
      gsize len = 0;
      g_autofree char *p = e2e_path (t, n1);

      g_assert_true (g_file_get_contents (p, &npy, &len, NULL));
      csv = e2e_read (t, n2);
      sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) npy, len);
      g_string_append_printf (all, "%s %s\n%s", n1, sum, csv);
    }
  return g_string_free (all, FALSE);
}

static void
test_jobs (void)
{
  g_autofree char *one = NULL, *two = NULL;

  if (!need_video ())
    return;
  one = outputs_with_jobs ("1");
  two = outputs_with_jobs ("2");
  g_assert_cmpstr (one, ==, two);
}

static void
test_interrupt (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmJson) sum = NULL;
  const char *v;

  if (!need_video ())
    return;
  v = e2e_media ("testsrc2=size=320x240:rate=25:duration=40",
                 "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", "long.mp4");
  g_assert_nonnull (v);
  copy_in (t, v, "long.mp4");
  g_assert_cmpint (e2e_run_interrupted (t, "[pipeline]\noutput-dir = out\ninputs = long.mp4\n"
                                        "[decoder]\nwidth = 320\nheight = 240\n" NPY_SINK,
                                        700, NULL), ==, 3);
  g_assert_false (e2e_exists (t, "out/long.npy"));
  g_assert_false (e2e_exists (t, "out/long.npy.frames.csv"));
  g_assert_cmpint (e2e_count_temp_files (t), ==, 0);
  sum = e2e_summary (t);
  g_assert_cmpfloat (e2e_num (sum, "exit"), ==, 3);
  g_assert_cmpstr (e2e_str (e2e_summary_input (sum, "long.mp4"), "status"), ==, "failed");
}

/* the frame pool bounds memory: 10x the frames, < 10% more peak RSS */
static void
test_memory (void)
{
  g_autoptr (E2e) t = e2e_new ();
  const char *shortv, *longv;
  long short_kb = 0, long_kb = 0;
  const char *config = "[pipeline]\noutput-dir = out\ninputs = in.mp4\n"
                       "[decoder]\nwidth = 160\nheight = 120\n" NPY_SINK;

#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("peak RSS under AddressSanitizer grows with its quarantine of freed memory");
  return;
#endif
  if (!need_video ())
    return;
  shortv = e2e_media ("testsrc2=size=320x240:rate=25:duration=4",
                      "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", "short.mp4");
  longv = e2e_media ("testsrc2=size=320x240:rate=25:duration=40",
                     "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", "long.mp4");
  copy_in (t, shortv, "in.mp4");
  g_assert_cmpint (e2e_run (t, config, NULL, NULL, &short_kb), ==, 0);
  g_assert_cmpint (npy_rows (t, "out/in.npy"), ==, 100);
  copy_in (t, longv, "in.mp4");
  g_assert_cmpint (e2e_run (t, config, NULL, NULL, &long_kb), ==, 0);
  g_assert_cmpint (npy_rows (t, "out/in.npy"), ==, 1000);
  g_test_message ("peak RSS: 100 frames %ld KiB, 1000 frames %ld KiB", short_kb, long_kb);
  if (g_test_verbose ())
    g_printerr ("peak RSS: 100 frames %ld KiB, 1000 frames %ld KiB\n", short_kb, long_kb);
  g_assert_cmpfloat ((double) long_kb, <, 1.10 * (double) short_kb);
}

/* a (T, D) float32 .npy of smooth random walks */
static void
write_npy (E2e *t, const char *name, int T, int D)
{
  g_autofree char *dict = g_strdup_printf ("{'descr': '<f4', 'fortran_order': False, "
                                           "'shape': (%d, %d), }", T, D);
  GString *out = g_string_new ("\x93NUMPY\x01");
  g_autofree char *path = e2e_path (t, name);
  g_autofree float *x = g_new (float, (gsize) T * D);
  gsize hlen = strlen (dict) + 1;
  guint16 le;
  GRand *rng = g_rand_new_with_seed (7);

  hlen += (64 - (10 + hlen) % 64) % 64;
  g_string_append_c (out, 0);
  le = GUINT16_TO_LE ((guint16) hlen);
  g_string_append_len (out, (const char *) &le, 2);
  g_string_append (out, dict);
  while (out->len < 10 + hlen - 1)
    g_string_append_c (out, ' ');
  g_string_append_c (out, '\n');
  for (int i = 0; i < T * D; i++)
    x[i] = (i >= D ? x[i - D] : 0.0f) + (float) g_rand_double_range (rng, -1.0, 1.0);
  g_string_append_len (out, (const char *) x, (gssize) sizeof (float) * T * D);
  g_assert_true (g_file_set_contents (path, out->str, (gssize) out->len, NULL));
  g_string_free (out, TRUE);
  g_rand_free (rng);
}

/* A labeler that holds frames back (min-segment) still gives every frame to every
 * sink exactly once, labelled: its delayed records are the frames' records. */
static void
test_labeler_delayed (void)
{
  g_autoptr (E2e) t = e2e_new ();
  g_autoptr (SpmModel) m = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *ckpt = NULL, *csv = NULL, *frames = NULL;
  g_auto (GStrv) lines = NULL;
  SpmModelConfig cfg = { 0 };
  const char *labels[] = { "a", "b", "c", NULL };

  if (!need ("labeler", "head") || !need ("npy", "decoder") || !need ("csv", "sink")
      || !need ("npy", "sink"))
    return;
  cfg.head = SPM_HEAD_LABELER;
  cfg.cell = SPM_CELL_LSTM;
  cfg.D = 4;
  cfg.H = 8;
  cfg.L = 1;
  cfg.C = 3;
  m = spm_model_new (&cfg, &error);
  g_assert_no_error (error);
  spm_model_init (m, 3);
  spm_model_set_names (m, labels);
  ckpt = e2e_path (t, "m.safetensors");
  g_assert_true (spm_model_save (m, ckpt, &error));
  write_npy (t, "feat.npy", 60, 4);
  g_assert_cmpint (e2e_run (t, "[pipeline]\noutput-dir = out\ninputs = feat.npy\n"
                            "[decoder]\nfps = 10\n[model]\ncheckpoint = m.safetensors\n"
                            "[head]\nplugin = labeler\nmin-segment = 0.5\n"
                            "[sink:csv]\npath = {stem}.csv\n" NPY_SINK
                            "[sink:lines]\nplugin = e2e-lines\npath = {stem}.lines\n",
                            NULL, NULL, NULL), ==, 0);
  g_assert_cmpint (npy_rows (t, "out/feat.npy"), ==, 60);
  /* the fake sink writes every record it gets: one per frame, each labelled */
  {
    g_autofree char *all = e2e_read (t, "out/feat.lines");
    g_auto (GStrv) rows = g_strsplit (g_strstrip (all), "\n", -1);

    g_assert_cmpint (g_strv_length (rows), ==, 61);
    for (int i = 1; i <= 60; i++)
      {
        g_autofree char *prefix = g_strdup_printf ("%d,", i - 1);
        g_assert_true (g_str_has_prefix (rows[i], prefix));
        g_assert_cmpint (atoi (strchr (rows[i], ',') + 1), >=, 0);
      }
  }
  csv = e2e_read (t, "out/feat.csv");
  lines = g_strsplit (g_strstrip (csv), "\n", -1);
  g_assert_cmpint (g_strv_length (lines), ==, 61);
  for (int i = 1; i <= 60; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("%d,", i - 1);
      g_assert_true (g_str_has_prefix (lines[i], prefix));
      g_assert_nonnull (strstr (lines[i], ",a,") ? lines[i] : strstr (lines[i], ",b,") ? lines[i]
                        : strstr (lines[i], ",c,"));
    }
  frames = e2e_read (t, "out/feat.npy.frames.csv");
  g_assert_true (g_str_has_prefix (frames, "frame,time\n0,0"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/media/video", test_video);
  g_test_add_func ("/e2e/media/bad-inputs", test_bad_inputs);
  g_test_add_func ("/e2e/media/image-sequence", test_image_sequence);
  g_test_add_func ("/e2e/media/manifest", test_manifest);
  g_test_add_func ("/e2e/media/heads-mask", test_heads_mask);
  g_test_add_func ("/e2e/media/jobs", test_jobs);
  g_test_add_func ("/e2e/media/interrupt", test_interrupt);
  g_test_add_func ("/e2e/media/memory", test_memory);
  g_test_add_func ("/e2e/media/labeler-delayed", test_labeler_delayed);
  return g_test_run ();
}
