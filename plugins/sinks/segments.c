/* segments.c — the `segments` sink: runs of equal labels of the labeler,
 *   [input,]start,end,label,frames,score,start_frame,end_frame
 * with every column as defined in segmenter.h (end_frame is the segment's last frame,
 * inclusive). */
#include <seqpipe/plugin.h>

#include "fields.h"
#include "out.h"
#include "segmenter.h"
#include "sinks.h"

typedef struct {
  SpOut out;
  SpSegmenter seg;
  GString *line;
} SegmentsPriv;

static gboolean
segments_init (SpStage *st, GError **error)
{
  SegmentsPriv *p = st->priv;
  p->line = g_string_sized_new (256);
  if (!sp_out_open (&p->out, st->output_path, error))
    return FALSE;
  if (st->combined)
    g_string_append (p->line, "input,");
  g_string_append (p->line, "start,end,label,frames,score,start_frame,end_frame\n");
  return sp_out_gstring (&p->out, p->line, error);
}

static gboolean
write_segment (SpStage *st, SegmentsPriv *p, const SpSegment *s, GError **error)
{
  GString *l = p->line;
  char buf[32];
  if (st->combined) {
    sp_csv_append_field (l, sp_sink_input (st));
    g_string_append_c (l, ',');
  }
  sp_append_fixed (l, s->start);
  g_string_append_c (l, ',');
  sp_append_fixed (l, s->end);
  g_string_append_c (l, ',');
  sp_csv_append_field (l, sp_sink_label (st, s->label, buf));
  g_string_append_printf (l, ",%" G_GINT64_FORMAT ",", s->frames);
  sp_append_fixed (l, s->score);
  g_string_append_printf (l, ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "\n", s->start_frame,
                          s->end_frame);
  return sp_out_gstring (&p->out, l, error);
}

static gboolean
segments_write (SpStage *st, const SpRecord *r, GError **error)
{
  SegmentsPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_push (&p->seg, r, &done))
    return write_segment (st, p, &done, error);
  return TRUE;
}

static gboolean
segments_flush (SpStage *st, GError **error)
{
  SegmentsPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_finish (&p->seg, st, &done) && !write_segment (st, p, &done, error))
    return FALSE;
  return sp_out_close (&p->out, error);
}

static void
segments_finalize (SpStage *st)
{
  SegmentsPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}

const SpStageClass sp_sink_segments = {
  .name = "segments",
  .kind = SP_STAGE_SINK,
  .description = "CSV of labelled segments: start,end,label,frames,score,start_frame,end_frame",
  .priv_size = sizeof (SegmentsPriv),
  .init = segments_init,
  .write = segments_write,
  .flush = segments_flush,
  .finalize = segments_finalize,
  .header_lines = 1,
  .can_combine = TRUE,
  .takes = SP_RECORDS_FRAME,
};
