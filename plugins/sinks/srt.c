/* srt.c — the `srt` sink: SubRip subtitles, one numbered cue per segment,
 *   N
 *   HH:MM:SS,mmm --> HH:MM:SS,mmm
 *   label
 *   <blank line>
 * with the segment boundaries of segmenter.h rounded to the millisecond. */
#include <seqpipe/plugin.h>

#include "cues.h"
#include "fields.h"
#include "sinks.h"

static void
srt_format (GString *l, gint64 number, const SpSegment *s, const char *text)
{
  g_string_append_printf (l, "%" G_GINT64_FORMAT "\n", number);
  sp_append_cue_time (l, s->start, ',');
  g_string_append (l, " --> ");
  sp_append_cue_time (l, s->end, ',');
  g_string_append_printf (l, "\n%s\n\n", text);
}

static gboolean
srt_init (SpStage *st, GError **error)
{
  return sp_cues_init (st, NULL, error);
}

static gboolean
srt_write (SpStage *st, const SpRecord *r, GError **error)
{
  return sp_cues_write (st, r, srt_format, error);
}

static gboolean
srt_flush (SpStage *st, GError **error)
{
  return sp_cues_flush (st, srt_format, error);
}

const SpStageClass sp_sink_srt = {
  .name = "srt",
  .kind = SP_STAGE_SINK,
  .description = "SubRip subtitles: one cue per labelled segment",
  .priv_size = sizeof (SpCuesPriv),
  .init = srt_init,
  .write = srt_write,
  .flush = srt_flush,
  .finalize = sp_cues_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
