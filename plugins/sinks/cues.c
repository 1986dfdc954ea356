/* cues.c — one subtitle cue per labelled segment. */
#include "cues.h"

#include "fields.h"

gboolean
sp_cues_init (SpStage *st, const char *preamble, GError **error)
{
  SpCuesPriv *p = st->priv;
  p->line = g_string_sized_new (256);
  if (!sp_out_open (&p->out, st->output_path, error))
    return FALSE;
  if (preamble == NULL)
    return TRUE;
  g_string_append (p->line, preamble);
  return sp_out_gstring (&p->out, p->line, error);
}

static gboolean
write_cue (SpStage *st, SpCuesPriv *p, SpCueFormat format, const SpSegment *s,
           GError **error)
{
  char buf[32];
  /* a line break would end the cue early */
  g_autofree char *text = g_strdup (sp_sink_label (st, s->label, buf));
  g_strdelimit (text, "\r\n", ' ');
  format (p->line, ++p->n_cues, s, text);
  return sp_out_gstring (&p->out, p->line, error);
}

gboolean
sp_cues_write (SpStage *st, const SpRecord *r, SpCueFormat format, GError **error)
{
  SpCuesPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_push (&p->seg, r, &done))
    return write_cue (st, p, format, &done, error);
  return TRUE;
}

gboolean
sp_cues_flush (SpStage *st, SpCueFormat format, GError **error)
{
  SpCuesPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_finish (&p->seg, st, &done)
      && !write_cue (st, p, format, &done, error))
    return FALSE;
  return sp_out_close (&p->out, error);
}

void
sp_cues_finalize (SpStage *st)
{
  SpCuesPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}
