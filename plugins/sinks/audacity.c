/* audacity.c — the `audacity` sink: the labeler's segments as an Audacity label track
 * (also read by Sonic Visualiser),
 *   <start>\t<end>\t<label>
 * one line per segment of segmenter.h, times in seconds with 6 decimals in the C
 * locale.  A tab or line break inside a label's name is written as a space (it would
 * split the fields or the line). */
#include <seqpipe/plugin.h>

#include "fields.h"
#include "out.h"
#include "segmenter.h"
#include "sinks.h"

typedef struct {
  SpOut out;
  SpSegmenter seg;
  GString *line;
} AudacityPriv;

static gboolean
audacity_init (SpStage *st, GError **error)
{
  AudacityPriv *p = st->priv;
  p->line = g_string_sized_new (256);
  return sp_out_open (&p->out, st->output_path, error);
}

static gboolean
write_label (SpStage *st, AudacityPriv *p, const SpSegment *s, GError **error)
{
  GString *l = p->line;
  char buf[32];
  sp_append_fixed (l, s->start);
  g_string_append_c (l, '\t');
  sp_append_fixed (l, s->end);
  g_string_append_c (l, '\t');
  gsize at = l->len;
  g_string_append (l, sp_sink_label (st, s->label, buf));
  for (gsize i = at; i < l->len; i++)
    if (l->str[i] == '\t' || l->str[i] == '\n' || l->str[i] == '\r')
      l->str[i] = ' ';
  g_string_append_c (l, '\n');
  return sp_out_gstring (&p->out, l, error);
}

static gboolean
audacity_write (SpStage *st, const SpRecord *r, GError **error)
{
  AudacityPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_push (&p->seg, r, &done))
    return write_label (st, p, &done, error);
  return TRUE;
}

static gboolean
audacity_flush (SpStage *st, GError **error)
{
  AudacityPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_finish (&p->seg, st, &done) && !write_label (st, p, &done, error))
    return FALSE;
  return sp_out_close (&p->out, error);
}

static void
audacity_finalize (SpStage *st)
{
  AudacityPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}

const SpStageClass sp_sink_audacity = {
  .name = "audacity",
  .kind = SP_STAGE_SINK,
  .description = "Audacity label track: start<TAB>end<TAB>label per labelled segment",
  .priv_size = sizeof (AudacityPriv),
  .init = audacity_init,
  .write = audacity_write,
  .flush = audacity_flush,
  .finalize = audacity_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
