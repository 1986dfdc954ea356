/* test-sinks-files.c — timeline (PNG decoded back with stb_image), npy (header,
 * data and frames.csv read back) and write failures of every sink. */
#include "helpers.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <stb_image.h>

/* the first label colours of the timeline's palette (plugins/sinks/canvas.c) */
static const guint8 palette[4][3] = {
  { 0x1f, 0x77, 0xb4 }, { 0xff, 0x7f, 0x0e }, { 0x2c, 0xa0, 0x2c }, { 0xd6, 0x27, 0x28 },
};

static gboolean
pixel_is (const guint8 *img, int w, int x, int y, const guint8 rgb[3])
{
  return memcmp (img + ((size_t) y * w + x) * 3, rgb, 3) == 0;
}

static void
test_timeline (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *path = g_build_filename (dir, "a.png", NULL);
  const char *keys[] = { "width=320", "thumbs=4", "band-height=20", NULL };
  {
    g_autoptr (SpHarness) h = sink_new ("timeline", keys, "labeler", path, FALSE);
    feed_labeler (h, TRUE);
    sink_flush_ok (h);
  }
  int w = 0, hgt = 0, n = 0;
  g_autofree guint8 *img = stbi_load (path, &w, &hgt, &n, 3);
  g_assert_nonnull (img);
  g_assert_cmpint (w, ==, 320);
  g_assert_cmpint (hgt, >, 20 + 12);
  /* the band spans [0, 1.0) s over x in [10, 310): find the row where the middle of
   * every segment has its label's colour */
  const double mid[] = { 0.15, 0.4, 0.65, 0.85, 0.95 };
  const int label[] = { 0, 1, 2, 3, 0 };
  int rows = 0;
  for (int y = 0; y < hgt; y++) {
    gboolean all = TRUE;
    for (int s = 0; s < 5; s++)
      all = all && pixel_is (img, w, 10 + (int) (mid[s] * 300), y, palette[label[s]]);
    rows += all;
  }
  g_assert_cmpint (rows, ==, 20);
  /* thumbnails: the frames' pixels, not the white background, at the top left */
  const guint8 white[3] = { 255, 255, 255 };
  g_assert_false (pixel_is (img, w, 20, 20, white));
}

/* a timeline of one label: the PNG's height, and whether column x of the thumbnail
 * row (y = 40) is white (no thumbnail there); frames are coloured by their time */
static int
timeline_of (const char *dir, const char *label, int thumb_x_of[8])
{
  g_autofree char *path = g_build_filename (dir, "one.png", NULL);
  const char *labels[] = { label };
  GError *error = NULL;
  SpInputInfo in = { .path = "a.mp4", .name = "a.mp4", .stem = "a", .end = -1 };
  SpDecoderParams dec = { 10, 16, 12, 0 };
  g_autoptr (SpHarness) h = sp_harness_new (SP_SINKS_DIR, "timeline", NULL, &in, &dec, &error);
  g_assert_no_error (error);
  sp_harness_set_labels (h, labels, 1);
  sp_harness_set_output (h, path, FALSE);
  sp_harness_set_records (h, SP_RECORDS_FRAME);
  g_assert_true (sp_harness_init (h, &error));
  guint8 rgb[16 * 12 * 3];
  /* 100 frames at 10 fps; the first 70 dark, then bright: a thumbnail's colour says
   * which frame it is */
  for (int i = 0; i < 100; i++) {
    memset (rgb, i < 70 ? 0 : 250, sizeof rgb);
    SpFrame f = { i, i / 10.0, 16, 12, rgb, NULL, 0 };
    SpRecord r = { &f, 0, 0.9f, NULL, NULL };
    g_assert_true (sp_harness_write (h, &r, &error));
  }
  sink_flush_ok (h);
  int w = 0, hgt = 0, n = 0;
  g_autofree guint8 *img = stbi_load (path, &w, &hgt, &n, 3);
  g_assert_nonnull (img);
  /* the x where each run of thumbnail pixels starts, at the row 20 px from the top */
  int found = 0;
  for (int x = 1; x < w && found < 8; x++) {
    const guint8 *a = img + (20 * w + x - 1) * 3, *b = img + (20 * w + x) * 3;
    gboolean white_a = a[0] == 255 && a[1] == 255 && a[2] == 255;
    gboolean white_b = b[0] == 255 && b[1] == 255 && b[2] == 255;
    if (white_a && !white_b)
      thumb_x_of[found++] = x;
  }
  g_assert_cmpint (found, ==, 8);
  return hgt;
}

/* labels the font cannot draw as they are are drawn transliterated and said so in an
 * extra legend row; each thumbnail sits over the tick of its own frame's time: the
 * thumbnails of the bright frames (t >= 7 s) start right of 70 % of the band */
static void
test_timeline_text_and_ticks (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  int xa[8], xb[8];
  int plain = timeline_of (dir, "cafe", xa);
  int accented = timeline_of (dir, "caf\xc3\xa9 \xe7\x8c\xab", xb);
  g_assert_cmpint (accented, >, plain);
  for (int i = 0; i < 8; i++)
    g_assert_cmpint (xa[i], ==, xb[i]);
  /* band from x = 10 to 1014 over [0, 10 s): 7 s is at 10 + 0.7 * 1004 = 712 */
  for (int i = 0; i < 8; i++)
    g_test_message ("thumbnail %d at x = %d", i, xa[i]);
  g_assert_cmpint (xa[7], >, 712 - 128);
}

/* a long input keeps a bounded set of thumbnails and still draws every segment */
static void
test_timeline_long (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *path = g_build_filename (dir, "long.png", NULL);
  GError *error = NULL;
  g_autoptr (SpHarness) h = sink_new ("timeline", NULL, "labeler", path, FALSE);
  guint8 rgb[16 * 12 * 3];
  for (int i = 0; i < 20000; i++) {
    memset (rgb, (i / 1000) * 12, sizeof rgb);
    SpFrame f = { i, i / 25.0, 16, 12, rgb, NULL, 0 };
    SpRecord r = { &f, (i / 500) % 3, 0.9f, NULL, NULL };
    g_assert_true (sp_harness_write (h, &r, &error));
    g_assert_no_error (error);
  }
  sink_flush_ok (h);
  int w = 0, hgt = 0, n = 0;
  g_autofree guint8 *img = stbi_load (path, &w, &hgt, &n, 3);
  g_assert_nonnull (img);
  g_assert_cmpint (w, ==, 1024);
}

/* frames without pixels (features-only inputs) and no thumbnails at all */
static void
test_timeline_no_pixels (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.png", NULL);
  g_autofree char *b = g_build_filename (dir, "b.png", NULL);
  GError *error = NULL;
  {
    g_autoptr (SpHarness) h = sink_new ("timeline", NULL, "labeler", a, FALSE);
    for (int i = 0; i < 30; i++) {
      SpFrame f = { i, i * 0.04, 0, 0, NULL, NULL, 0 };
      SpRecord r = { &f, i / 10, 0.5f, NULL, NULL };
      g_assert_true (sp_harness_write (h, &r, &error));
    }
    sink_flush_ok (h);
  }
  {
    g_autoptr (SpHarness) h = sink_new ("timeline", (const char *[]) { "thumbs=0", NULL },
                                        "labeler", b, FALSE);
    sink_flush_ok (h);      /* no frames at all: an empty band */
  }
  int w, hgt, n;
  g_autofree guint8 *ia = stbi_load (a, &w, &hgt, &n, 3);
  g_assert_nonnull (ia);
  g_autofree guint8 *ib = stbi_load (b, &w, &hgt, &n, 3);
  g_assert_nonnull (ib);
}

/* a .npy v1.0 file: returns the data offset and fills the shape */
static gsize
npy_parse (const char *data, gsize len, gint64 *T, int *D)
{
  g_assert_cmpuint (len, >=, 10);
  g_assert_cmpmem (data, 8, "\x93NUMPY\x01\x00", 8);
  gsize hlen = (guint8) data[8] | ((gsize) (guint8) data[9] << 8);
  g_assert_cmpuint ((10 + hlen) % 64, ==, 0);
  g_assert_cmpuint (len, >=, 10 + hlen);
  g_autofree char *header = g_strndup (data + 10, hlen);
  g_assert_true (g_str_has_suffix (header, "\n"));
  g_assert_nonnull (strstr (header, "'descr': '<f4'"));
  g_assert_nonnull (strstr (header, "'fortran_order': False"));
  const char *shape = strstr (header, "'shape': (");
  g_assert_nonnull (shape);
  g_assert_cmpint (sscanf (shape, "'shape': (%" G_GINT64_FORMAT ", %d)", T, D), ==, 2);
  return 10 + hlen;
}

static void
check_npy (const char *path, gint64 T_expect)
{
  gsize len;
  g_autofree char *data = read_file (path, &len);
  gint64 T;
  int D;
  gsize off = npy_parse (data, len, &T, &D);
  g_assert_cmpint (T, ==, T_expect);
  g_assert_cmpint (D, ==, TEST_D);
  g_assert_cmpuint (len - off, ==, (gsize) T * D * 4);
  for (gint64 t = 0; t < T; t++)
    for (int d = 0; d < D; d++) {
      guint32 u;
      float v;
      memcpy (&u, data + off + (t * D + d) * 4, 4);
      u = GUINT32_FROM_LE (u);
      memcpy (&v, &u, 4);
      g_assert_cmpfloat (v, ==, test_feature ((int) t, d));
    }
  g_autofree char *frames = g_strconcat (path, ".frames.csv", NULL);
  g_auto (GStrv) lines = read_lines (frames);
  g_assert_cmpint (g_strv_length (lines), ==, 1 + T);
  g_assert_cmpstr (lines[0], ==, "frame,time");
  for (gint64 t = 0; t < T; t++) {
    g_autofree char *row = g_strdup_printf ("%d,%.6f", 3 * (int) t, t / TEST_FPS);
    g_assert_cmpstr (lines[1 + t], ==, row);
  }
}

static void
test_npy (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.npy", NULL);
  g_autofree char *b = g_build_filename (dir, "b.npy", NULL);
  g_autofree char *c = g_build_filename (dir, "c.npy", NULL);
  g_autofree char *d = g_build_filename (dir, "d.npy", NULL);
  {
    /* the labeler's frames once each, also when it held them first */
    g_autoptr (SpHarness) h = sink_new ("npy", NULL, "labeler", a, FALSE);
    feed_labeler (h, TRUE);
    sink_flush_ok (h);
  }
  check_npy (a, TEST_T);
  {
    /* a classifier: every frame, the per-input record adds nothing */
    g_autoptr (SpHarness) h = sink_new ("npy", NULL, "classifier", b, FALSE);
    feed_per_input (h, 1, NULL);
    sink_flush_ok (h);
  }
  check_npy (b, TEST_T);
  {
    /* no head: every frame record */
    g_autoptr (SpHarness) h = sink_new ("npy", NULL, NULL, c, FALSE);
    feed_per_input (h, 1, NULL);
    sink_flush_ok (h);
  }
  check_npy (c, TEST_T);
  {
    g_autoptr (SpHarness) h = sink_new ("npy", NULL, NULL, d, FALSE);
    sink_flush_ok (h);
  }
  check_npy (d, 0);
}

/* rows of another width than the first are an error naming the input and frame */
static void
test_npy_width (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.npy", NULL);
  g_autoptr (SpHarness) h = sink_new ("npy", NULL, NULL, a, FALSE);
  GError *error = NULL;
  float x[8] = { 0 };
  SpFrame f1 = { 0, 0.0, 0, 0, NULL, x, TEST_D };
  SpFrame f2 = { 1, 0.1, 0, 0, NULL, x, 8 };
  g_assert_true (sp_harness_frame_to_sink (h, &f1, &error));
  g_assert_false (sp_harness_frame_to_sink (h, &f2, &error));
  g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "clips/a b.mp4: frame 1"));
  g_error_free (error);
}

/* feeds the labelled sequence and flushes; FALSE + error at the first failure */
static gboolean
feed_and_flush (SpHarness *h, GError **error)
{
  for (int i = 0; i < TEST_T; i++) {
    float features[TEST_D] = { 0 };
    SpFrame f = { 3 * i, i / TEST_FPS, 0, 0, NULL, features, TEST_D };
    SpRecord r = { &f, test_seq[i], test_score (i), NULL, NULL };
    if (!sp_harness_write (h, &r, error))
      return FALSE;
  }
  return sp_harness_flush (h, error);
}

static const char *const text_sinks[] = { "csv", "jsonl", "segments", "srt", "vtt",
                                           "timeline", "txt", "chapters", "audacity", "eaf", "html",
                                           NULL };

/* a full disk: every sink fails with an I/O error that names the file */
static void
test_disk_full (void)
{
  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS)) {
    g_test_skip ("no /dev/full");
    return;
  }
  for (int i = 0; text_sinks[i]; i++) {
    g_autoptr (SpHarness) h = sink_new (text_sinks[i], NULL, "labeler", "/dev/full", FALSE);
    GError *error = NULL;
    g_assert_false (feed_and_flush (h, &error));
    g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO);
    g_test_message ("%s: %s", text_sinks[i], error->message);
    g_assert_true (g_str_has_prefix (error->message, "/dev/full: "));
    g_error_free (error);
  }
}

/* a file that cannot be created fails init, naming it */
static void
test_cannot_create (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *path = g_build_filename (dir, "missing", "a.out", NULL);
  for (int i = 0; text_sinks[i]; i++) {
    GError *error = NULL;
    g_autoptr (SpHarness) h = sp_harness_new (SP_SINKS_DIR, text_sinks[i], NULL, NULL, NULL,
                                              &error);
    g_assert_no_error (error);
    sp_harness_set_output (h, path, FALSE);
    g_assert_false (sp_harness_init (h, &error));
    g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message, path));
    g_error_free (error);
  }
}

/* runs sink `stage` on the sequence into path with files limited to `limit` bytes
 * (RLIMIT_FSIZE; -1 = unlimited) */
static gboolean
run_limited (const char *stage, const char *path, rlim_t limit, GError **error)
{
  struct rlimit old, lim;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  lim = old;
  lim.rlim_cur = limit;
  g_autoptr (SpHarness) h = sink_new (stage, NULL, "labeler", path, FALSE);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);
  gboolean ok = TRUE;
  GError *local = NULL;
  for (int i = 0; ok && i < TEST_T; i++) {
    uint8_t rgb[16 * 12 * 3];
    float features[TEST_D];
    memset (rgb, 40 * i, sizeof rgb);
    for (int d = 0; d < TEST_D; d++)
      features[d] = test_feature (i, d);
    SpFrame f = { 3 * i, i / TEST_FPS, 16, 12, rgb, features, TEST_D };
    SpRecord r = { &f, test_seq[i], test_score (i), NULL, NULL };
    if (sp_stage_class_takes (sp_stage_host (sp_harness_stage (h))->klass) & SP_TAKES_FRAMES)
      ok = sp_harness_frame_to_sink (h, &f, &local);
    else
      ok = sp_harness_write (h, &r, &local);
  }
  ok = ok && sp_harness_flush (h, &local);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);
  if (local != NULL)
    g_propagate_error (error, local);
  return ok;
}

/* Every sink with its file cut off after N bytes, for N from 0 to its full size:
 * each run either fails with an I/O error naming one of its files, or (N = full
 * size) succeeds with the same bytes as without a limit. */
static void
test_every_size (void)
{
  const char *const stages[] = { "csv", "jsonl", "segments", "srt", "vtt", "timeline",
                                 "npy", "txt", "chapters", "audacity", "eaf", "html",
                                 NULL };
  signal (SIGXFSZ, SIG_IGN);     /* a write past the limit fails with EFBIG instead */
  g_autoptr (TestDir) dir = test_dir_new ();
  for (int s = 0; stages[s]; s++) {
    g_autofree char *ref = g_build_filename (dir, "ref.out", NULL);
    g_autofree char *cut = g_build_filename (dir, "cut.out", NULL);
    GError *error = NULL;
    g_assert_true (run_limited (stages[s], ref, RLIM_INFINITY, &error));
    g_assert_no_error (error);
    gsize full_len;
    g_autofree char *full = read_file (ref, &full_len);
    /* every N below 64, then about 25 more spread over the file, then the full size */
    gsize step = MAX (1, full_len / 25);
    for (gsize n = 0; n <= full_len; n = n < 64 ? n + 1 : MIN (n + step, full_len)) {
      gboolean ok = run_limited (stages[s], cut, (rlim_t) n, &error);
      if (n >= full_len) {
        g_assert_no_error (error);
        gsize len;
        g_autofree char *text = read_file (cut, &len);
        g_assert_cmpmem (text, len, full, full_len);
        break;
      }
      if (ok)
        g_error ("%s: a %" G_GSIZE_FORMAT "-byte limit on a %" G_GSIZE_FORMAT
                 "-byte file did not fail", stages[s], n, full_len);
      g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO);
      g_assert_true (g_str_has_prefix (error->message, cut));
      g_clear_error (&error);
    }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the eaf sink's DATE: the same bytes on every run */
  g_setenv ("SOURCE_DATE_EPOCH", "1700000000", TRUE);
  g_test_add_func ("/sinks/timeline/png", test_timeline);
  g_test_add_func ("/sinks/timeline/long", test_timeline_long);
  g_test_add_func ("/sinks/timeline/text-and-ticks", test_timeline_text_and_ticks);
  g_test_add_func ("/sinks/timeline/no-pixels", test_timeline_no_pixels);
  g_test_add_func ("/sinks/npy/heads", test_npy);
  g_test_add_func ("/sinks/npy/width", test_npy_width);
  g_test_add_func ("/sinks/errors/disk-full", test_disk_full);
  g_test_add_func ("/sinks/errors/cannot-create", test_cannot_create);
  g_test_add_func ("/sinks/errors/every-size", test_every_size);
  return g_test_run ();
}
