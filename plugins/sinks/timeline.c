/* timeline.c — the `timeline` sink: one PNG per input, `width` pixels wide,
 *
 *   [ thumbnail ] [ thumbnail ] ... [ thumbnail ]     `thumbs` frames, evenly over time
 *        '             '                 '            ticks: where each one was taken
 *   [==== label band: one colour per label ====]      `band-height` rows, time left to right
 *   0:00.0      0:02.5      0:05.0 ...                time axis, 5 ticks
 *   [#] walk  [#] run  ...                            legend: the labels of the input
 *
 * The band spans [start of the first segment, end of the last) (segmenter.h).  The
 * sink never holds more than 4 * `thumbs` small thumbnails (thumbs.h) and one record
 * per segment, whatever the input's length. */
#include <seqpipe/plugin.h>

#include <math.h>
#include <string.h>

#include "canvas.h"
#include "fields.h"
#include "out.h"
#include "segmenter.h"
#include "sinks.h"
#include "thumbs.h"

#define MARGIN 10
#define FONT_SCALE 2
#define MAX_TILE 320

typedef struct {
  gint64 width, thumbs, band_height;   /* keys */
  SpOut out;
  SpSegmenter seg;
  GArray *segments;                    /* SpSegment */
  SpThumbs store;
  gboolean store_ready;
  int tile_w;
} TimelinePriv;

static const SpKey timeline_keys[] = {
  { "width", SP_KEY_INT, G_STRUCT_OFFSET (TimelinePriv, width), "1024", 256, 8192, NULL,
    "image width in pixels" },
  { "thumbs", SP_KEY_INT, G_STRUCT_OFFSET (TimelinePriv, thumbs), "8", 0, 64, NULL,
    "thumbnails above the band (0 = none)" },
  { "band-height", SP_KEY_INT, G_STRUCT_OFFSET (TimelinePriv, band_height), "40", 4, 512, NULL,
    "height of the label band in pixels" },
  SP_KEY_END
};

static const guint8 WHITE[3] = { 255, 255, 255 }, INK[3] = { 40, 40, 40 };

static gboolean
timeline_init (SpStage *st, GError **error)
{
  TimelinePriv *p = st->priv;
  p->segments = g_array_new (FALSE, FALSE, sizeof (SpSegment));
  if (p->thumbs > 0) {
    int k = (int) p->thumbs, avail = (int) p->width - 2 * MARGIN;
    p->tile_w = MIN (MAX_TILE, (avail - (k - 1) * 4) / k);
  }
  return sp_out_open (&p->out, st->output_path, error);
}

/* the store's tiles take the first frame's aspect ratio */
static void
ensure_store (SpStage *st, TimelinePriv *p, const SpFrame *f)
{
  if (p->store_ready || p->tile_w < 4)
    return;
  int fw = f->rgb ? f->width : st->decoder ? st->decoder->width : 0;
  int fh = f->rgb ? f->height : st->decoder ? st->decoder->height : 0;
  int th = fw > 0 && fh > 0 ? (int) lrint ((double) p->tile_w * fh / fw) : p->tile_w;
  sp_thumbs_init (&p->store, 4 * (int) p->thumbs, p->tile_w, CLAMP (th, 4, 2 * p->tile_w));
  p->store_ready = TRUE;
}

static gboolean
timeline_write (SpStage *st, const SpRecord *r, GError **error)
{
  TimelinePriv *p = st->priv;
  SpSegment done;
  (void) error;
  if (sp_segmenter_push (&p->seg, r, &done))
    g_array_append_val (p->segments, done);
  ensure_store (st, p, r->frame);
  if (p->store_ready)
    sp_thumbs_push (&p->store, r->frame);
  return TRUE;
}

/* m:ss.s, or h:mm:ss.s from an hour on */
static void
format_time (char *buf, size_t n, double t)
{
  if (!(t > 0))
    t = 0;
  int h = (int) (t / 3600), m = (int) (fmod (t, 3600) / 60);
  double s = fmod (t, 60);
  if (h > 0)
    g_snprintf (buf, n, "%d:%02d:%04.1f", h, m, s);
  else
    g_snprintf (buf, n, "%d:%04.1f", m, s);
}

typedef struct {
  int W, H, bw;              /* image size, band width */
  int y_band, y_axis, y_legend;
  double t0, t1;             /* time at the band's left and right edges */
} Layout;

static int
band_x (const Layout *L, double t)
{
  return MARGIN + (int) floor ((t - L->t0) / (L->t1 - L->t0) * L->bw);
}

static int
compare_int (gconstpointer a, gconstpointer b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

/* The legend: per label of the input (in label order) a swatch, the name and a gap,
 * wrapped at the right margin; a name the font cannot draw as it is gets a '*', and a
 * last row says so.  Draws when c != NULL; returns the number of rows. */
static int
legend (SpStage *st, const GArray *segs, SpCanvas *c, int W, int y0)
{
  g_autoptr (GArray) labels = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; i < segs->len; i++)
    g_array_append_val (labels, g_array_index (segs, SpSegment, i).label);
  g_array_sort (labels, compare_int);
  int th = sp_text_height (FONT_SCALE), x = MARGIN, rows = 0;
  gboolean inexact = FALSE;
  for (guint i = 0; i < labels->len; i++) {
    int l = g_array_index (labels, int, i);
    if (i > 0 && l == g_array_index (labels, int, i - 1))
      continue;
    char buf[32];
    const char *label = sp_sink_label (st, l, buf);
    g_autofree char *name = sp_text_exact (label) ? g_strdup (label)
                                                  : g_strconcat (label, " *", NULL);
    inexact |= !sp_text_exact (label);
    int w = th + 6 + sp_text_width (name, FONT_SCALE) + 18;
    if (rows == 0 || (x > MARGIN && x + w > W - MARGIN)) {
      x = MARGIN;
      rows++;
    }
    if (c != NULL) {
      int y = y0 + (rows - 1) * (th + 8);
      guint8 col[3];
      sp_label_colour (l, col);
      sp_canvas_fill (c, x, y, x + th, y + th, col);
      sp_canvas_text (c, x + th + 6, y + FONT_SCALE, FONT_SCALE, name, INK);
    }
    x += w;
  }
  if (inexact) {
    if (c != NULL)
      sp_canvas_text (c, MARGIN, y0 + rows * (th + 8) + FONT_SCALE, FONT_SCALE,
                      "* drawn in plain letters; the CSV, segments and subtitles have the "
                      "exact names", INK);
    rows++;
  }
  return rows;
}

/* The thumbnails: `thumbs` frames nearest to evenly spaced times, each centred over
 * the tick of its own frame's time as far as its neighbours and the margins allow
 * (a forward pass keeps them apart, a backward pass inside the right margin), so a
 * thumbnail never drifts away from the place on the band where its frame is. */
static void
draw_thumbs (TimelinePriv *p, const Layout *L, SpCanvas *c)
{
  int k = (int) p->thumbs, tw = p->store.tw, gap = 4;
  int lo = MARGIN, hi = L->W - MARGIN - tw;
  g_autofree int *slot = g_new (int, MAX (k, 1));
  g_autofree int *x = g_new (int, MAX (k, 1));
  int n = 0;

  for (int i = 0; i < k; i++) {
    int s = sp_thumbs_nearest (&p->store, L->t0 + (i + 0.5) / k * (L->t1 - L->t0));
    if (s < 0 || (n > 0 && slot[n - 1] == s))
      continue;
    slot[n] = s;
    x[n] = band_x (L, p->store.time[s]) - tw / 2;
    n++;
  }
  for (int i = 0; i < n; i++)
    x[i] = MAX (x[i], i > 0 ? x[i - 1] + tw + gap : lo);
  for (int i = n - 1; i >= 0; i--)
    x[i] = MIN (x[i], i < n - 1 ? x[i + 1] - tw - gap : hi);
  for (int i = 0; i < n; i++) {
    int tx = band_x (L, p->store.time[slot[i]]);
    sp_canvas_blit (c, MAX (x[i], lo), MARGIN, sp_thumbs_pixels (&p->store, slot[i]), tw,
                    p->store.th);
    sp_canvas_fill (c, tx, L->y_band - 5, tx + 2, L->y_band, INK);
  }
}

static void
draw_band (TimelinePriv *p, const Layout *L, SpCanvas *c)
{
  int y0 = L->y_band, y1 = y0 + (int) p->band_height;
  for (guint i = 0; i < p->segments->len; i++) {
    const SpSegment *s = &g_array_index (p->segments, SpSegment, i);
    guint8 col[3];
    int x0 = band_x (L, s->start), x1 = band_x (L, s->end);
    sp_label_colour (s->label, col);
    sp_canvas_fill (c, x0, y0, MAX (x1, x0 + 1), y1, col);
  }
  int xl = MARGIN - 1, xr = MARGIN + L->bw;
  sp_canvas_fill (c, xl, y0 - 1, xr + 1, y0, INK);
  sp_canvas_fill (c, xl, y1, xr + 1, y1 + 1, INK);
  sp_canvas_fill (c, xl, y0, xl + 1, y1, INK);
  sp_canvas_fill (c, xr, y0, xr + 1, y1, INK);
  /* time axis: 5 ticks with m:ss.s labels, kept inside the margins */
  for (int i = 0; i <= 4; i++) {
    double t = L->t0 + i / 4.0 * (L->t1 - L->t0);
    char buf[32];
    int x = MIN (band_x (L, t), MARGIN + L->bw - 1);
    format_time (buf, sizeof buf, t);
    int w = sp_text_width (buf, FONT_SCALE);
    sp_canvas_fill (c, x, y1 + 1, x + 1, y1 + 5, INK);
    sp_canvas_text (c, CLAMP (x - w / 2, MARGIN, L->W - MARGIN - w), L->y_axis, FONT_SCALE,
                    buf, INK);
  }
}

static gboolean
timeline_flush (SpStage *st, GError **error)
{
  TimelinePriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_finish (&p->seg, st, &done))
    g_array_append_val (p->segments, done);

  Layout L = { .W = (int) p->width };
  L.bw = L.W - 2 * MARGIN;
  if (p->segments->len > 0) {
    L.t0 = g_array_index (p->segments, SpSegment, 0).start;
    L.t1 = g_array_index (p->segments, SpSegment, p->segments->len - 1).end;
  }
  if (!(L.t1 > L.t0))
    L.t1 = L.t0 + 1;
  gboolean with_thumbs = p->store_ready && sp_thumbs_nearest (&p->store, L.t0) >= 0;
  int text_h = sp_text_height (FONT_SCALE);
  L.y_band = MARGIN + (with_thumbs ? p->store.th + 8 : 0);
  L.y_axis = L.y_band + (int) p->band_height + 8;
  L.y_legend = L.y_axis + text_h + 10;
  int rows = legend (st, p->segments, NULL, L.W, L.y_legend);
  L.H = L.y_legend + rows * (text_h + 8) + MARGIN;

  g_auto (SpCanvas) c = { 0 };
  sp_canvas_init (&c, L.W, L.H, WHITE);
  if (with_thumbs)
    draw_thumbs (p, &L, &c);
  draw_band (p, &L, &c);
  legend (st, p->segments, &c, L.W, L.y_legend);
  return sp_canvas_write_png (&c, &p->out, error) && sp_out_close (&p->out, error);
}

static void
timeline_finalize (SpStage *st)
{
  TimelinePriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->segments != NULL)
    g_array_free (p->segments, TRUE);
  if (p->store_ready)
    sp_thumbs_clear (&p->store);
}

const SpStageClass sp_sink_timeline = {
  .name = "timeline",
  .kind = SP_STAGE_SINK,
  .description = "PNG: thumbnails over a band of label colours, a time axis and a legend",
  .keys = timeline_keys,
  .priv_size = sizeof (TimelinePriv),
  .init = timeline_init,
  .write = timeline_write,
  .flush = timeline_flush,
  .finalize = timeline_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
