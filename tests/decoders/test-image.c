/* test-image.c — the `image` decoder: single files, directories in natural order,
 * numbered patterns, times, windows, scaling and unreadable files. */
#include <glib/gstdio.h>
#include <string.h>

#include "decoder-test.h"

static char *work;

/* 12 frames of testsrc2 as PNGs named by `pattern` (an ffmpeg image2 pattern) */
static void
make_pngs (const char *dir, const char *pattern, int start, int size_w, int size_h)
{
  g_autofree char *args = g_strdup_printf (
      "-f lavfi -i testsrc2=size=%dx%d:rate=10:duration=1.2 -start_number %d",
      size_w, size_h, start);
  g_mkdir_with_parents (dir, 0755);
  g_free (dt_ffmpeg (dir, pattern, args));
}

static char *
sub (const char *name)
{
  return g_build_filename (work, name, NULL);
}

static void
decode_ok (const char *path, const DtParams *prm, DtRun *r)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = dt_decode ("image", path, prm, r, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static const char *
md5_of (const DtRun *r, guint i)
{
  return g_array_index (r->frames, DtFrame, i).md5;
}

static void
test_single (void)
{
  g_autofree char *file = g_build_filename (work, "seq", "f05.png", NULL);
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);
  decode_ok (file, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 1);
  g_assert_cmpint (g_array_index (r.frames, DtFrame, 0).index, ==, 0);
  g_assert_cmpfloat (g_array_index (r.frames, DtFrame, 0).time, ==, 0.0);
  dt_run_clear (&r);
}

/* at its own size an image comes through unchanged: compare with ffmpeg's RGB */
static void
test_unscaled (void)
{
  g_autofree char *file = g_build_filename (work, "seq", "f05.png", NULL);
  g_autofree char *rawfile = sub ("f05.rgb");
  g_autofree char *sh = g_strdup_printf (
      "ffmpeg -nostdin -v error -i '%s' -f rawvideo -pix_fmt rgb24 - > '%s'", file, rawfile);
  const char *argv[] = { "sh", "-c", sh, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *raw = NULL;
  gsize len = 0;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 96, 72);

  dt_spawn (argv, NULL);
  g_assert_true (g_file_get_contents (rawfile, &raw, &len, &error));
  g_assert_cmpuint (len, ==, 96 * 72 * 3);
  g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_MD5, (guchar *) raw, len);
  decode_ok (file, &prm, &r);
  g_assert_cmpstr (md5_of (&r, 0), ==, want);
  dt_run_clear (&r);
}

/* a directory: img1 img2 ... img10 img11 in numeric, not byte, order; other files
 * and hidden files are skipped */
static void
test_directory (void)
{
  g_autofree char *dir = sub ("natural");
  g_autofree char *seq = sub ("seq");
  DtRun r = { 0 }, one = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  g_mkdir_with_parents (dir, 0755);
  for (int i = 1; i <= 11; i++)
    {
      g_autofree char *src = g_strdup_printf ("%s/f%02d.png", seq, i);
      g_autofree char *dst = g_strdup_printf ("%s/img%d.png", dir, i);
      g_autofree char *data = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (src, &data, &len, NULL));
      g_assert_true (g_file_set_contents (dst, data, len, NULL));
    }
  g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
  g_autofree char *hidden = g_build_filename (dir, ".thumb.png", NULL);
  g_assert_true (g_file_set_contents (notes, "not an image", -1, NULL));
  g_assert_true (g_file_set_contents (hidden, "not an image either", -1, NULL));

  decode_ok (dir, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 11);
  for (int i = 1; i <= 11; i++)
    {
      g_autofree char *src = g_strdup_printf ("%s/f%02d.png", seq, i);
      decode_ok (src, &prm, &one);
      g_assert_cmpint (g_array_index (r.frames, DtFrame, i - 1).index, ==, i - 1);
      g_assert_cmpstr (md5_of (&r, i - 1), ==, md5_of (&one, 0));
      dt_run_clear (&one);
    }
  dt_run_clear (&r);
}

static void
test_pattern (void)
{
  g_autofree char *seq = sub ("seq");
  g_autofree char *pat = g_build_filename (seq, "f%02d.png", NULL);
  g_autofree char *dir_pat = sub ("zero/%03d.png");
  g_autofree char *zero_dir = sub ("zero");
  DtRun r = { 0 }, d = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  /* from 1 (no f00.png) to 12: the same frames as the directory */
  decode_ok (pat, &prm, &r);
  decode_ok (seq, &prm, &d);
  g_assert_cmpuint (r.frames->len, ==, 12);
  g_assert_cmpuint (d.frames->len, ==, 12);
  for (guint i = 0; i < 12; i++)
    g_assert_cmpstr (md5_of (&r, i), ==, md5_of (&d, i));
  dt_run_clear (&r);
  dt_run_clear (&d);

  /* from 0, stopping at the first missing number (005 is removed) */
  make_pngs (zero_dir, "%03d.png", 0, 48, 36);
  g_autofree char *gap = sub ("zero/005.png");
  g_assert_cmpint (g_unlink (gap), ==, 0);
  decode_ok (dir_pat, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 5);
  dt_run_clear (&r);

  /* nothing matches: an error naming the pattern */
  g_autofree char *none = sub ("none/%04d.png");
  g_autoptr (GError) error = NULL;
  g_assert_false (dt_decode ("image", none, &prm, &r, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, none));
  dt_run_clear (&r);
}

static void
test_times (void)
{
  g_autofree char *seq = sub ("seq");
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (4, 16, 12);

  decode_ok (seq, &prm, &r);
  for (guint i = 0; i < r.frames->len; i++)
    g_assert_cmpfloat_with_epsilon (g_array_index (r.frames, DtFrame, i).time, i / 4.0, 1e-12);
  dt_run_clear (&r);

  /* fps = 0: one image per second */
  prm.fps = 0;
  decode_ok (seq, &prm, &r);
  g_assert_cmpfloat (g_array_index (r.frames, DtFrame, 3).time, ==, 3.0);
  dt_run_clear (&r);

  /* window [0.5, 1.5) at 4 fps: images 2 to 5 */
  prm.fps = 4;
  prm.start = 0.5;
  prm.end = 1.5;
  decode_ok (seq, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 4);
  g_assert_cmpint (g_array_index (r.frames, DtFrame, 0).index, ==, 2);
  g_assert_cmpint (g_array_index (r.frames, DtFrame, 3).index, ==, 5);
  dt_run_clear (&r);
}

static void
test_corrupt (void)
{
  g_autofree char *dir = sub ("corrupt");
  g_autofree char *seq = sub ("seq");
  g_autofree char *bad = g_build_filename (dir, "b.png", NULL);
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);
  g_autoptr (GError) error = NULL;

  g_mkdir_with_parents (dir, 0755);
  g_autofree char *data = NULL;
  gsize len;
  g_autofree char *src = g_build_filename (seq, "f01.png", NULL);
  g_autofree char *good = g_build_filename (dir, "a.png", NULL);
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_assert_true (g_file_set_contents (good, data, len, NULL));
  /* a PNG cut short in its image data */
  g_assert_true (g_file_set_contents (bad, data, len / 3, NULL));

  g_assert_false (dt_decode ("image", dir, &prm, &r, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, bad));
  g_assert_cmpuint (r.frames->len, ==, 1);
  dt_run_clear (&r);
  g_clear_error (&error);

  g_autofree char *missing = sub ("missing.png");
  g_assert_false (dt_decode ("image", missing, &prm, &r, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, missing));
  dt_run_clear (&r);
}

/* grey and RGBA images come out as RGB */
static void
test_formats (void)
{
  g_autofree char *seq = sub ("seq");
  g_autofree char *src = g_build_filename (seq, "f02.png", NULL);
  g_autofree char *args_g = g_strdup_printf ("-i %s -pix_fmt gray", src);
  g_autofree char *args_a = g_strdup_printf ("-i %s -pix_fmt rgba", src);
  g_autofree char *args_j = g_strdup_printf ("-i %s -q:v 3", src);
  g_autofree char *args_b = g_strdup_printf ("-i %s", src);
  const char *names[] = { "grey.pgm", "alpha.png", "photo.jpg", "plain.bmp" };
  const char *args[] = { args_g, args_a, args_j, args_b };
  DtParams prm = DT_PARAMS (0, 32, 24);
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *file = dt_ffmpeg (work, names[i], args[i]);
      DtRun r = { 0 };
      decode_ok (file, &prm, &r);
      g_assert_cmpuint (r.frames->len, ==, 1);
      dt_run_clear (&r);
    }
}

static void
test_golden (void)
{
  g_autofree char *seq = sub ("seq");
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (10, 40, 30);
  decode_ok (seq, &prm, &r);
  dt_check_golden ("image-png-40x30", &r);
  dt_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  work = dt_tmpdir ();
  g_autofree char *seq = sub ("seq");
  make_pngs (seq, "f%02d.png", 1, 96, 72);

  g_test_add_func ("/image/single", test_single);
  g_test_add_func ("/image/unscaled", test_unscaled);
  g_test_add_func ("/image/directory", test_directory);
  g_test_add_func ("/image/pattern", test_pattern);
  g_test_add_func ("/image/times", test_times);
  g_test_add_func ("/image/corrupt", test_corrupt);
  g_test_add_func ("/image/formats", test_formats);
  g_test_add_func ("/image/golden", test_golden);

  int ret = g_test_run ();
  dt_rmtree (work);
  g_free (work);
  return ret;
}
