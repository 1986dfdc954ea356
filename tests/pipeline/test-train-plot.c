/* test-train-plot.c — the training plot (train-log.png): the last epoch's number
 * and the "best N" note stay left of the plot's right axis, also when the best epoch
 * is the last one (they ran into the metric axis and past the edge). */
#include "train-log.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

static gboolean
is_white (const guint8 *p)
{
  return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

static void
test_labels_inside (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sp-plot-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "train-log.png", NULL);
  g_autofree char *csv = g_build_filename (dir, "train-log.csv", NULL);
  g_autoptr (SpTrainLog) log = sp_train_log_new (SPM_HEAD_LABELER, dir);
  g_autoptr (GError) error = NULL;
  int w = 0, h = 0, n = 0;

  for (int e = 1; e <= 12; e++)
    {
      SpScore s = { .head = SPM_HEAD_LABELER, .loss = NAN };
      s.seg.frame_accuracy = 0.5 + e / 40.0;
      sp_train_log_add (log, e, e * 10, 1.0 / e, &s, 0.1);
    }
  sp_train_log_set_best (log, 12);
  g_assert_true (sp_train_log_write (log, &error));
  g_assert_no_error (error);
  g_autofree guint8 *img = stbi_load (png, &w, &h, &n, 3);
  g_assert_nonnull (img);
  /* the right axis: the column of axis grey through the middle row */
  int axis = -1;
  for (int x = w - 1; x > w / 2 && axis < 0; x--)
    {
      const guint8 *p = img + ((size_t) (h / 2) * w + x) * 3;
      if (p[0] == 90 && p[1] == 90 && p[2] == 90)
        axis = x;
    }
  g_assert_cmpint (axis, >, 0);
  /* green (the best-epoch mark and note) never right of the axis */
  for (int y = 0; y < h; y++)
    for (int x = axis + 1; x < w; x++)
      {
        const guint8 *p = img + ((size_t) y * w + x) * 3;
        g_assert_false (p[0] == 44 && p[1] == 160 && p[2] == 44);
      }
  /* below the axis' bottom end, axis-grey text (the epoch numbers) ends at the axis */
  int bottom = -1;
  for (int y = h - 1; y > h / 2 && bottom < 0; y--)
    {
      const guint8 *p = img + ((size_t) y * w + axis) * 3;
      if (p[0] == 90 && p[1] == 90 && p[2] == 90 && !is_white (p))
        bottom = y;
    }
  g_assert_cmpint (bottom, >, 0);
  for (int y = bottom + 6; y < h; y++)
    for (int x = axis + 1; x < w; x++)
      {
        const guint8 *p = img + ((size_t) y * w + x) * 3;
        g_assert_false (p[0] == 90 && p[1] == 90 && p[2] == 90);
      }
  g_unlink (png);
  g_unlink (csv);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-plot/labels-inside", test_labels_inside);
  return g_test_run ();
}
