/* chapters.c — the `chapters` sink: the labeler's segments as FFmpeg metadata chapters,
 *   ;FFMETADATA1
 *   [CHAPTER]
 *   TIMEBASE=1/1000
 *   START=<ms>
 *   END=<ms>
 *   title=<label>
 * one [CHAPTER] per segment of segmenter.h, its boundaries rounded to the millisecond.
 * In the title, = ; # \ and line breaks are preceded by a backslash (FFmetadata
 * escaping).  `ffmpeg -i in.mp4 -i chapters.txt -map_metadata 1 -codec copy out.mkv`
 * reads it. */
#include <seqpipe/plugin.h>

#include <math.h>

#include "fields.h"
#include "out.h"
#include "segmenter.h"
#include "sinks.h"

typedef struct {
  SpOut out;
  SpSegmenter seg;
  GString *line;
} ChaptersPriv;

static gint64
ms_of (double seconds)
{
  return isfinite (seconds) && seconds > 0 ? (gint64) llround (seconds * 1000.0) : 0;
}

static void
append_escaped (GString *l, const char *s)
{
  for (const char *c = s; *c; c++) {
    if (*c == '=' || *c == ';' || *c == '#' || *c == '\\' || *c == '\n' || *c == '\r')
      g_string_append_c (l, '\\');
    g_string_append_c (l, *c);
  }
}

static gboolean
chapters_init (SpStage *st, GError **error)
{
  ChaptersPriv *p = st->priv;
  p->line = g_string_sized_new (256);
  if (!sp_out_open (&p->out, st->output_path, error))
    return FALSE;
  g_string_append (p->line, ";FFMETADATA1\n");
  return sp_out_gstring (&p->out, p->line, error);
}

static gboolean
write_chapter (SpStage *st, ChaptersPriv *p, const SpSegment *s, GError **error)
{
  char buf[32];
  g_string_append_printf (p->line, "[CHAPTER]\nTIMEBASE=1/1000\nSTART=%" G_GINT64_FORMAT
                          "\nEND=%" G_GINT64_FORMAT "\ntitle=", ms_of (s->start),
                          ms_of (s->end));
  append_escaped (p->line, sp_sink_label (st, s->label, buf));
  g_string_append_c (p->line, '\n');
  return sp_out_gstring (&p->out, p->line, error);
}

static gboolean
chapters_write (SpStage *st, const SpRecord *r, GError **error)
{
  ChaptersPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_push (&p->seg, r, &done))
    return write_chapter (st, p, &done, error);
  return TRUE;
}

static gboolean
chapters_flush (SpStage *st, GError **error)
{
  ChaptersPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_finish (&p->seg, st, &done) && !write_chapter (st, p, &done, error))
    return FALSE;
  return sp_out_close (&p->out, error);
}

static void
chapters_finalize (SpStage *st)
{
  ChaptersPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}

const SpStageClass sp_sink_chapters = {
  .name = "chapters",
  .kind = SP_STAGE_SINK,
  .description = "FFMETADATA1 chapters, one per labelled segment (ffmpeg -map_metadata)",
  .priv_size = sizeof (ChaptersPriv),
  .init = chapters_init,
  .write = chapters_write,
  .flush = chapters_flush,
  .finalize = chapters_finalize,
  .header_lines = 1,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
