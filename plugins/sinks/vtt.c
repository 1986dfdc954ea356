/* vtt.c — the `vtt` sink: WebVTT subtitles,
 *   WEBVTT
 *   <blank line>
 *   HH:MM:SS.mmm --> HH:MM:SS.mmm
 *   label
 *   <blank line>
 * one cue per segment of segmenter.h; & < > in the label are written as character
 * references (which also keeps "-->" out of the cue text). */
#include <seqpipe/plugin.h>

#include "cues.h"
#include "fields.h"
#include "sinks.h"

static void
vtt_format (GString *l, gint64 number, const SpSegment *s, const char *text)
{
  (void) number;
  sp_append_cue_time (l, s->start, '.');
  g_string_append (l, " --> ");
  sp_append_cue_time (l, s->end, '.');
  g_string_append_c (l, '\n');
  for (const char *c = text; *c; c++) {
    switch (*c) {
    case '&': g_string_append (l, "&amp;"); break;
    case '<': g_string_append (l, "&lt;"); break;
    case '>': g_string_append (l, "&gt;"); break;
    default: g_string_append_c (l, *c);
    }
  }
  g_string_append (l, "\n\n");
}

static gboolean
vtt_init (SpStage *st, GError **error)
{
  return sp_cues_init (st, "WEBVTT\n\n", error);
}

static gboolean
vtt_write (SpStage *st, const SpRecord *r, GError **error)
{
  return sp_cues_write (st, r, vtt_format, error);
}

static gboolean
vtt_flush (SpStage *st, GError **error)
{
  return sp_cues_flush (st, vtt_format, error);
}

const SpStageClass sp_sink_vtt = {
  .name = "vtt",
  .kind = SP_STAGE_SINK,
  .description = "WebVTT subtitles: one cue per labelled segment",
  .priv_size = sizeof (SpCuesPriv),
  .init = vtt_init,
  .write = vtt_write,
  .flush = vtt_flush,
  .finalize = sp_cues_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
