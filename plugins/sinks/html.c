/* html.c — the `html` sink: a review page that needs nothing but the browser and the
 * media (no network resource, no file beside it).
 *
 * The file starts with one header line (doctype, head with the style and the one
 * script, the opening body tag); then each input adds one part, complete in itself:
 *   labeler     <section class="input">: the input's path and figures (frames, labels,
 *               duration); a <video> whose src is the input relative to the page
 *               (links.h) with the segments as a <track kind="subtitles"> whose src
 *               is a WebVTT data: URL (the cues of the vtt sink); the label band, an
 *               inline SVG with one rect per segment in the timeline's colours; the
 *               segment list, an <ol> with one <li> per segment.  Clicking an <li> or
 *               a rect seeks that section's video to the segment's start.
 *   classifier  <p class="row">: a link to the input, the label and its score
 *   captioner   <p class="row">: a link to the input, the caption and its score
 * Parts stack in input order, so several inputs can share one page (the host keeps the
 * first part's header line): a classifier's or captioner's run gets one page for the
 * run with a path without {stem}.  The end tags of body and html are optional in HTML
 * and never written, for the same reason.  Segments are those of segmenter.h; a
 * labeler's part is written at the end of its input. */
#include <seqpipe/plugin.h>

#include <math.h>

#include "canvas.h"
#include "fields.h"
#include "links.h"
#include "out.h"
#include "segmenter.h"
#include "sinks.h"

typedef struct {
  SpOut out;
  SpSegmenter seg;
  GArray *segments;     /* SpSegment */
  GString *doc;
} HtmlPriv;

/* one line: the host drops it from every part but the first */
static const char header[] =
  "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
  "<meta name=\"generator\" content=\"seqpipe\"><title>seqpipe review</title><style>"
  "body{font:14px/1.4 sans-serif;margin:1em auto;max-width:60em;padding:0 1em;color:#222}"
  "section.input{margin-bottom:2em}video{width:100%;max-height:45vh;background:#000}"
  "svg.band{display:block;width:100%;height:24px;margin:.5em 0;cursor:pointer}"
  "ol.segments{padding-left:2em}ol.segments li{cursor:pointer}"
  "ol.segments li:hover{background:#eef}"
  ".swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em}"
  "p.row{margin:.2em 0}p.row b{margin:0 .5em}"
  "</style><script>"
  "document.addEventListener('click',function(e){"
  "var el=e.target.closest('[data-start]');if(!el)return;"
  "var v=el.closest('section').querySelector('video');if(!v)return;"
  "v.currentTime=parseFloat(el.getAttribute('data-start'));});"
  "</script></head><body>\n";

static void
append_text (GString *s, const char *text)
{
  g_autofree char *e = g_markup_escape_text (text, -1);
  g_string_append (s, e);
}

static void
append_colour (GString *s, int label)
{
  guint8 c[3];
  sp_label_colour (label, c);
  g_string_append_printf (s, "#%02x%02x%02x", c[0], c[1], c[2]);
}

static gboolean
html_init (SpStage *st, GError **error)
{
  HtmlPriv *p = st->priv;
  p->segments = g_array_new (FALSE, FALSE, sizeof (SpSegment));
  p->doc = g_string_sized_new (8192);
  if (!sp_out_open (&p->out, st->output_path, error))
    return FALSE;
  g_string_append (p->doc, header);
  return sp_out_gstring (&p->out, p->doc, error);
}

/* a classifier's or captioner's row */
static gboolean
write_row (SpStage *st, HtmlPriv *p, const SpRecord *r, GError **error)
{
  GString *d = p->doc;
  char buf[32];
  g_autofree char *rel = sp_sink_input_relative_url (st);
  g_string_append (d, "<p class=\"row\"><a href=\"");
  append_text (d, rel ? rel : "");
  g_string_append (d, "\">");
  append_text (d, sp_sink_input (st));
  g_string_append (d, "</a><b>");
  append_text (d, st->records == SP_RECORDS_CAPTION ? (r->text ? r->text : "")
                                                    : sp_sink_label (st, r->label, buf));
  g_string_append (d, "</b><span class=\"score\">");
  sp_append_fixed (d, r->score);
  g_string_append (d, "</span></p>\n");
  return sp_out_gstring (&p->out, d, error);
}

static gboolean
html_write (SpStage *st, const SpRecord *r, GError **error)
{
  HtmlPriv *p = st->priv;
  SpSegment done;
  if (st->records != SP_RECORDS_FRAME)
    return write_row (st, p, r, error);
  if (sp_segmenter_push (&p->seg, r, &done))
    g_array_append_val (p->segments, done);
  return TRUE;
}

/* the cues of the vtt sink, one per segment */
static char *
vtt_of (SpStage *st, const SpSegment *s, guint n)
{
  g_autoptr (GString) v = g_string_new ("WEBVTT\n\n");
  char buf[32];
  for (guint i = 0; i < n; i++) {
    g_autofree char *text = g_markup_escape_text (sp_sink_label (st, s[i].label, buf), -1);
    g_strdelimit (text, "\r\n", ' ');
    sp_append_cue_time (v, s[i].start, '.');
    g_string_append (v, " --> ");
    sp_append_cue_time (v, s[i].end, '.');
    g_string_append_printf (v, "\n%s\n\n", text);
  }
  return g_base64_encode ((const guchar *) v->str, v->len);
}

static void
append_band (GString *d, SpStage *st, const SpSegment *s, guint n, double t0, double t1)
{
  char buf[32];
  double span = t1 > t0 ? t1 - t0 : 1.0;
  g_string_append (d, "<svg class=\"band\" viewBox=\"0 0 1000 20\" preserveAspectRatio=\"none\" "
                   "xmlns=\"http://www.w3.org/2000/svg\">");
  for (guint i = 0; i < n; i++) {
    g_string_append (d, "<rect y=\"0\" height=\"20\" x=\"");
    sp_append_fixed (d, 1000.0 * (s[i].start - t0) / span);
    g_string_append (d, "\" width=\"");
    sp_append_fixed (d, 1000.0 * (s[i].end - s[i].start) / span);
    g_string_append (d, "\" fill=\"");
    append_colour (d, s[i].label);
    g_string_append (d, "\" data-start=\"");
    sp_append_fixed (d, s[i].start);
    g_string_append (d, "\"><title>");
    append_text (d, sp_sink_label (st, s[i].label, buf));
    g_string_append (d, "</title></rect>");
  }
  g_string_append (d, "</svg>\n");
}

static void
append_list (GString *d, SpStage *st, const SpSegment *s, guint n)
{
  char buf[32];
  g_string_append (d, "<ol class=\"segments\">\n");
  for (guint i = 0; i < n; i++) {
    g_string_append (d, "<li data-start=\"");
    sp_append_fixed (d, s[i].start);
    g_string_append (d, "\" data-end=\"");
    sp_append_fixed (d, s[i].end);
    g_string_append (d, "\" data-label=\"");
    append_text (d, sp_sink_label (st, s[i].label, buf));
    g_string_append (d, "\"><span class=\"swatch\" style=\"background:");
    append_colour (d, s[i].label);
    g_string_append (d, "\"></span>");
    sp_append_cue_time (d, s[i].start, '.');
    g_string_append (d, " – ");
    sp_append_cue_time (d, s[i].end, '.');
    g_string_append (d, " <b>");
    append_text (d, sp_sink_label (st, s[i].label, buf));
    g_string_append_printf (d, "</b> (%" G_GINT64_FORMAT " frames)</li>\n", s[i].frames);
  }
  g_string_append (d, "</ol>\n");
}

static gboolean
write_section (SpStage *st, HtmlPriv *p, GError **error)
{
  GString *d = p->doc;
  guint n = p->segments->len;
  const SpSegment *s = (const SpSegment *) (void *) p->segments->data;
  double t0 = n > 0 ? s[0].start : 0, t1 = n > 0 ? s[n - 1].end : 0;
  g_autofree gboolean *used = g_new0 (gboolean, MAX (st->n_labels, 1));
  int n_used = 0;
  for (guint i = 0; i < n; i++)
    if (s[i].label >= 0 && s[i].label < st->n_labels && !used[s[i].label]) {
      used[s[i].label] = TRUE;
      n_used++;
    }
  g_autofree char *rel = sp_sink_input_relative_url (st);
  g_autofree char *vtt = vtt_of (st, s, n);

  g_string_append_printf (d, "<section class=\"input\" data-frames=\"%" G_GINT64_FORMAT
                          "\" data-labels=\"%d\" data-duration=\"", p->seg.n, n_used);
  sp_append_fixed (d, t1 - t0);
  g_string_append (d, "\">\n<h2>");
  append_text (d, sp_sink_input (st));
  g_string_append_printf (d, "</h2>\n<p class=\"figures\">%" G_GINT64_FORMAT " frames, %u "
                          "segments, %d of %d labels, ", p->seg.n, n, n_used, st->n_labels);
  sp_append_cue_time (d, t1 - t0, '.');
  g_string_append (d, "</p>\n<video controls preload=\"auto\" src=\"");
  append_text (d, rel ? rel : "");
  g_string_append (d, "\"><track kind=\"subtitles\" label=\"labels\" srclang=\"en\" default "
                   "src=\"data:text/vtt;base64,");
  g_string_append (d, vtt);
  g_string_append (d, "\"></video>\n");
  append_band (d, st, s, n, t0, t1);
  append_list (d, st, s, n);
  g_string_append (d, "</section>\n");
  return sp_out_gstring (&p->out, d, error);
}

static gboolean
html_flush (SpStage *st, GError **error)
{
  HtmlPriv *p = st->priv;
  SpSegment done;
  if (st->records == SP_RECORDS_FRAME) {
    if (sp_segmenter_finish (&p->seg, st, &done))
      g_array_append_val (p->segments, done);
    if (!write_section (st, p, error))
      return FALSE;
  }
  return sp_out_close (&p->out, error);
}

static void
html_finalize (SpStage *st)
{
  HtmlPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->segments != NULL)
    g_array_unref (p->segments);
  if (p->doc != NULL)
    g_string_free (p->doc, TRUE);
}

const SpStageClass sp_sink_html = {
  .name = "html",
  .kind = SP_STAGE_SINK,
  .description = "self-contained review page: video, labels track, segment list, label band",
  .priv_size = sizeof (HtmlPriv),
  .init = html_init,
  .write = html_write,
  .flush = html_flush,
  .finalize = html_finalize,
  .header_lines = 1,
  .can_combine = TRUE,
  .takes = SP_RECORDS_ALL,
};
