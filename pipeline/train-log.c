/* train-log.c — `seqpipe train`'s record of an epoch: OUTPUT-DIR/train-log.csv
 * (epoch, step, loss, validation loss, the head's validation metrics, seconds) and
 * train-log.png (the loss and the main validation metric per epoch, with axes, a
 * legend and a green line at the best epoch). */
#include "train-log.h"
#include "spm-io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>

struct _SpTrainLog {
  SpmHeadKind head;
  char *dir;
  GString *rows;          /* CSV body lines */
  GArray *loss, *metric;  /* double per epoch; metric < 0 when not validated */
  int best;               /* the best epoch (1-based), 0 = none yet */
};

static const char *
log_header (SpmHeadKind head)
{
  return head == SPM_HEAD_LABELER
             ? "epoch,step,loss,val_loss,val_frame_accuracy,val_edit,val_f1@10,val_f1@25,val_f1@50,seconds"
         : head == SPM_HEAD_CLASSIFIER ? "epoch,step,loss,val_loss,val_accuracy,val_macro_f1,seconds"
                                       : "epoch,step,loss,val_loss,val_bleu1,val_bleu4,val_exact_match,seconds";
}

SpTrainLog *
sp_train_log_new (SpmHeadKind head, const char *dir)
{
  SpTrainLog *l = g_new0 (SpTrainLog, 1);
  l->head = head;
  l->dir = g_strdup (dir);
  l->rows = g_string_new (NULL);
  l->loss = g_array_new (FALSE, FALSE, sizeof (double));
  l->metric = g_array_new (FALSE, FALSE, sizeof (double));
  return l;
}

void
sp_train_log_free (SpTrainLog *l)
{
  g_free (l->dir);
  g_string_free (l->rows, TRUE);
  g_array_unref (l->loss);
  g_array_unref (l->metric);
  g_free (l);
}

/* --resume: the rows of the epochs already done (the main metric is column 5, 6 for
 * the captioner) */
void
sp_train_log_load (SpTrainLog *l, int epochs_done)
{
  g_autofree char *path = g_build_filename (l->dir, "train-log.csv", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 1; lines[i] && (int) l->loss->len < epochs_done; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    if (g_strv_length (f) < 6 || atoi (f[0]) != (int) l->loss->len + 1)
      break;
    double loss = g_ascii_strtod (f[2], NULL);
    int mcol = l->head == SPM_HEAD_CAPTIONER ? 5 : 4;
    double metric = *f[mcol] ? g_ascii_strtod (f[mcol], NULL) : -1;
    g_array_append_val (l->loss, loss);
    g_array_append_val (l->metric, metric);
    g_string_append_printf (l->rows, "%s\n", lines[i]);
  }
}

void
sp_train_log_add (SpTrainLog *l, int epoch, int64_t step, double loss, const SpScore *s,
                  double seconds)
{
  g_string_append_printf (l->rows, "%d,%" G_GINT64_FORMAT ",%.6f", epoch, step, loss);
  double metric = -1;
  if (s && isfinite (s->loss))
    g_string_append_printf (l->rows, ",%.6f", s->loss);
  else
    g_string_append (l->rows, ",");
  if (!s)
    g_string_append (l->rows, l->head == SPM_HEAD_LABELER ? ",,,,," :
                              l->head == SPM_HEAD_CLASSIFIER ? ",," : ",,,");
  else if (l->head == SPM_HEAD_LABELER)
    g_string_append_printf (l->rows, ",%.6f,%.6f,%.6f,%.6f,%.6f", s->seg.frame_accuracy,
                            s->seg.edit, s->seg.f1_10, s->seg.f1_25, s->seg.f1_50);
  else if (l->head == SPM_HEAD_CLASSIFIER)
    g_string_append_printf (l->rows, ",%.6f,%.6f", s->cls.accuracy, s->cls.macro_f1);
  else
    g_string_append_printf (l->rows, ",%.6f,%.6f,%.6f", s->cap.bleu1, s->cap.bleu4,
                            s->cap.exact_match);
  if (s)
    metric = sp_score_main (s);
  g_string_append_printf (l->rows, ",%.3f\n", seconds);
  g_array_append_val (l->loss, loss);
  g_array_append_val (l->metric, metric);
}

void
sp_train_log_set_best (SpTrainLog *l, int epoch)
{
  l->best = epoch;
}

#define PLOT_W 640
#define PLOT_H 360
#define PLOT_M 40

static void
plot_px (uint8_t *img, int x, int y, const uint8_t rgb[3])
{
  if (x < 0 || y < 0 || x >= PLOT_W || y >= PLOT_H)
    return;
  memcpy (img + ((size_t) y * PLOT_W + x) * 3, rgb, 3);
}

/* a 2-pixel-wide line from (x0, y0) to (x1, y1) (Bresenham) */
static void
plot_line (uint8_t *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
  int dx = abs (x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs (y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    plot_px (img, x0, y0, rgb);
    plot_px (img, x0, y0 + 1, rgb);
    if (x0 == x1 && y0 == y1)
      break;
    int e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
  }
}

/* curve v[0..n) scaled so that [0, vmax] spans the plot's height; v < 0 is skipped */
static void
plot_curve (uint8_t *img, const double *v, int n, double vmax, const uint8_t rgb[3])
{
  int px = -1, py = -1;
  for (int i = 0; i < n; i++) {
    if (v[i] < 0)
      continue;
    int x = PLOT_M + (n > 1 ? i * (PLOT_W - 2 * PLOT_M) / (n - 1) : (PLOT_W - 2 * PLOT_M) / 2);
    int y = PLOT_H - PLOT_M - (int) (MIN (v[i] / vmax, 1.0) * (PLOT_H - 2 * PLOT_M));
    if (px >= 0)
      plot_line (img, px, py, x, y, rgb);
    for (int k = -2; k <= 2; k++)
      plot_line (img, x - 2, y + k, x + 2, y + k, rgb);
    px = x;
    py = y;
  }
}

static void
png_append (void *ctx, void *data, int size)
{
  g_byte_array_append (ctx, data, (guint) size);
}

/* text at (x, y) (top left), drawn from stb_easy_font's quads scaled by 2 */
static void
plot_text (uint8_t *img, int x, int y, const char *text, const uint8_t rgb[3])
{
  /* one character is at most ~30 quads of 4 vertices of 16 bytes */
  enum { QUADS_SIZE = 64 * 30 * 4 * 16 };
  g_autofree char *quads = g_malloc (QUADS_SIZE);
  char buf[64];
  g_strlcpy (buf, text, sizeof buf);
  int n = stb_easy_font_print (0, 0, buf, NULL, quads, QUADS_SIZE);
  for (int q = 0; q < n; q++) {
    const float *v0 = (const float *) (quads + (size_t) q * 64);       /* x, y of vertex 0 */
    const float *v2 = (const float *) (quads + (size_t) q * 64 + 32);  /* x, y of vertex 2 */
    for (int py = (int) (2 * v0[1]); py < (int) (2 * v2[1]); py++)
      for (int px = (int) (2 * v0[0]); px < (int) (2 * v2[0]); px++)
        plot_px (img, x + px, y + py, rgb);
  }
}

static int
plot_text_width (const char *text)
{
  char buf[64];
  g_strlcpy (buf, text, sizeof buf);
  return 2 * stb_easy_font_width (buf);
}

static const char *
metric_name (SpmHeadKind head)
{
  return head == SPM_HEAD_LABELER ? "validation frame accuracy"
         : head == SPM_HEAD_CLASSIFIER ? "validation accuracy" : "validation BLEU-4";
}

/* White plot, grey axes with a tick per epoch and per tenth of the y range; blue = the
 * training loss over [0, max loss] (left axis), orange = the main validation metric over
 * [0, 1] (right axis); a legend at the top, the epochs under the x axis. */
static gboolean
write_plot (const SpTrainLog *l, const char *path, GError **error)
{
  g_autofree uint8_t *img = g_malloc (PLOT_W * PLOT_H * 3);
  memset (img, 255, PLOT_W * PLOT_H * 3);
  static const uint8_t axis[3] = { 90, 90, 90 }, grid[3] = { 225, 225, 225 };
  static const uint8_t blue[3] = { 31, 119, 180 }, orange[3] = { 255, 127, 14 };
  int n = (int) l->loss->len;
  for (int k = 1; k <= 10; k++) {
    int y = PLOT_H - PLOT_M - k * (PLOT_H - 2 * PLOT_M) / 10;
    plot_line (img, PLOT_M, y, PLOT_W - PLOT_M, y, grid);
    plot_line (img, PLOT_M - 5, y, PLOT_M, y, axis);
    plot_line (img, PLOT_W - PLOT_M, y, PLOT_W - PLOT_M + 5, y, axis);
  }
  for (int i = 0; i < n; i++) {
    int x = PLOT_M + (n > 1 ? i * (PLOT_W - 2 * PLOT_M) / (n - 1) : (PLOT_W - 2 * PLOT_M) / 2);
    plot_line (img, x, PLOT_H - PLOT_M, x, PLOT_H - PLOT_M + 5, axis);
  }
  plot_line (img, PLOT_M, PLOT_M, PLOT_M, PLOT_H - PLOT_M, axis);
  plot_line (img, PLOT_W - PLOT_M, PLOT_M, PLOT_W - PLOT_M, PLOT_H - PLOT_M, axis);
  plot_line (img, PLOT_M, PLOT_H - PLOT_M, PLOT_W - PLOT_M, PLOT_H - PLOT_M, axis);
  double lmax = 1e-9;
  for (int i = 0; i < n; i++)
    lmax = MAX (lmax, g_array_index (l->loss, double, i));
  static const uint8_t green[3] = { 44, 160, 44 };
  if (l->best >= 1 && l->best <= n) {
    int i = l->best - 1;
    int x = PLOT_M + (n > 1 ? i * (PLOT_W - 2 * PLOT_M) / (n - 1) : (PLOT_W - 2 * PLOT_M) / 2);
    plot_line (img, x, PLOT_M, x, PLOT_H - PLOT_M, green);
    char best[32];
    g_snprintf (best, sizeof best, "best %d", l->best);
    /* right of its line, or left of it when it would leave the plot */
    int bw = plot_text_width (best);
    plot_text (img, x + 4 + bw <= PLOT_W - PLOT_M ? x + 4 : x - 4 - bw, PLOT_M + 4, best, green);
  }
  plot_curve (img, (const double *) l->loss->data, n, lmax, blue);
  plot_curve (img, (const double *) l->metric->data, n, 1.0, orange);

  /* axis values: loss on the left, the metric on the right, epochs below */
  char text[64];
  g_snprintf (text, sizeof text, "%.3g", lmax);
  plot_text (img, 4, PLOT_M - 20, text, blue);
  plot_text (img, PLOT_M - 14, PLOT_H - PLOT_M - 8, "0", blue);
  plot_text (img, PLOT_W - PLOT_M - 8, PLOT_M - 20, "1", orange);
  plot_text (img, PLOT_W - PLOT_M + 8, PLOT_H - PLOT_M - 8, "0", orange);
  if (n > 0) {
    plot_text (img, PLOT_M - 4, PLOT_H - PLOT_M + 10, "1", axis);
    g_snprintf (text, sizeof text, "%d", n);
    /* ends at the last tick: centred on it, it ran into the metric axis's "0" */
    plot_text (img, PLOT_W - PLOT_M - plot_text_width (text), PLOT_H - PLOT_M + 10, text, axis);
  }
  plot_text (img, PLOT_W / 2 - plot_text_width ("epoch") / 2, PLOT_H - PLOT_M + 14, "epoch", axis);
  /* legend */
  int lx = PLOT_M + 10;
  for (int k = 0; k < 10; k++)
    plot_line (img, lx, 8 + k, lx + 16, 8 + k, blue);
  plot_text (img, lx + 22, 6, "training loss", blue);
  lx += 22 + plot_text_width ("training loss") + 24;
  for (int k = 0; k < 10; k++)
    plot_line (img, lx, 8 + k, lx + 16, 8 + k, orange);
  plot_text (img, lx + 22, 6, metric_name (l->head), orange);
  g_autoptr (GByteArray) png = g_byte_array_new ();
  if (!stbi_write_png_to_func (png_append, png, PLOT_W, PLOT_H, 3, img, PLOT_W * 3)) {
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s: cannot encode the plot", path);
    return FALSE;
  }
  return spm_file_replace (path, png->data, png->len, error);
}

/* train-log.csv and train-log.png, each replaced atomically */
gboolean
sp_train_log_write (const SpTrainLog *l, GError **error)
{
  g_autofree char *csv = g_build_filename (l->dir, "train-log.csv", NULL);
  g_autofree char *png = g_build_filename (l->dir, "train-log.png", NULL);
  g_autofree char *text = g_strdup_printf ("%s\n%s", log_header (l->head), l->rows->str);
  return spm_file_replace (csv, text, strlen (text), error) && write_plot (l, png, error);
}
