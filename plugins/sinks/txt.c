/* txt.c — the `txt` sink: the labeler's label of every delivered frame, one name per
 * line, in frame order.  With [decoder] fps = 0 line i is native frame i: the MS-TCN
 * groundTruth/ layout that a labeler manifest reads back as a label file.  A line
 * break inside a label's name is written as a space (it would split the line); the
 * label file reader strips the whitespace around a name. */
#include <seqpipe/plugin.h>

#include "fields.h"
#include "out.h"
#include "sinks.h"

typedef struct {
  SpOut out;
  GString *line;
} TxtPriv;

static gboolean
txt_init (SpStage *st, GError **error)
{
  TxtPriv *p = st->priv;
  p->line = g_string_sized_new (64);
  return sp_out_open (&p->out, st->output_path, error);
}

static gboolean
txt_write (SpStage *st, const SpRecord *r, GError **error)
{
  TxtPriv *p = st->priv;
  char buf[32];
  gsize at = p->line->len;
  g_string_append (p->line, sp_sink_label (st, r->label, buf));
  for (gsize i = at; i < p->line->len; i++)
    if (p->line->str[i] == '\n' || p->line->str[i] == '\r')
      p->line->str[i] = ' ';
  g_string_append_c (p->line, '\n');
  /* lines are short: write them in blocks */
  if (p->line->len < 4096)
    return TRUE;
  return sp_out_gstring (&p->out, p->line, error);
}

static gboolean
txt_flush (SpStage *st, GError **error)
{
  TxtPriv *p = st->priv;
  if (!sp_out_gstring (&p->out, p->line, error))
    return FALSE;
  return sp_out_close (&p->out, error);
}

static void
txt_finalize (SpStage *st)
{
  TxtPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}

const SpStageClass sp_sink_txt = {
  .name = "txt",
  .kind = SP_STAGE_SINK,
  .description = "one label per line per delivered frame (MS-TCN groundTruth with fps = 0)",
  .priv_size = sizeof (TxtPriv),
  .init = txt_init,
  .write = txt_write,
  .flush = txt_flush,
  .finalize = txt_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
