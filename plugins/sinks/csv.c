/* csv.c — the `csv` sink: one row per record, RFC 4180 quoting.
 *   labeler     [input,]frame,time,label,score[,p:<label>...]
 *   classifier  input,label,score[,p:<label>...]
 *   captioner   input,caption,score
 * `input` leads the labeler's rows only when several inputs share the file.  The
 * header follows the run's head (st->records); it is written with the first record,
 * or at flush for an input without any. */
#include <seqpipe/plugin.h>

#include "fields.h"
#include "out.h"
#include "sinks.h"

typedef struct {
  gboolean probs;       /* key */
  SpOut out;
  gboolean header_done;
  GString *line;
} CsvPriv;

static const SpKey csv_keys[] = {
  { "probs", SP_KEY_BOOL, G_STRUCT_OFFSET (CsvPriv, probs), "false", 0, 0, NULL,
    "also write one p:<label> column per class (labeler, classifier)" },
  SP_KEY_END
};

static gboolean
csv_init (SpStage *st, GError **error)
{
  CsvPriv *p = st->priv;
  p->line = g_string_sized_new (256);
  return sp_out_open (&p->out, st->output_path, error);
}

static gboolean
with_probs (SpStage *st, CsvPriv *p)
{
  return p->probs && st->records != SP_RECORDS_CAPTION && st->n_labels > 0;
}

static void
append_header (SpStage *st, CsvPriv *p, GString *l)
{
  switch (st->records) {
  case SP_RECORDS_INPUT:
    g_string_append (l, "input,label,score");
    break;
  case SP_RECORDS_CAPTION:
    g_string_append (l, "input,caption,score");
    break;
  default:
    g_string_append (l, st->combined ? "input,frame,time,label,score" : "frame,time,label,score");
  }
  if (with_probs (st, p))
    for (int k = 0; k < st->n_labels; k++) {
      g_autofree char *name = g_strconcat ("p:", st->labels[k], NULL);
      g_string_append_c (l, ',');
      sp_csv_append_field (l, name);
    }
  g_string_append_c (l, '\n');
}

static gboolean
ensure_header (SpStage *st, CsvPriv *p, GError **error)
{
  if (p->header_done)
    return TRUE;
  p->header_done = TRUE;
  append_header (st, p, p->line);
  return sp_out_gstring (&p->out, p->line, error);
}

static gboolean
csv_write (SpStage *st, const SpRecord *r, GError **error)
{
  CsvPriv *p = st->priv;
  char buf[32];
  if (!ensure_header (st, p, error))
    return FALSE;

  GString *l = p->line;
  if (st->records == SP_RECORDS_FRAME) {
    if (st->combined) {
      sp_csv_append_field (l, sp_sink_input (st));
      g_string_append_c (l, ',');
    }
    g_string_append_printf (l, "%" G_GINT64_FORMAT ",", r->frame->index);
    sp_append_fixed (l, r->frame->time);
    g_string_append_c (l, ',');
  } else {
    sp_csv_append_field (l, sp_sink_input (st));
    g_string_append_c (l, ',');
  }
  if (st->records == SP_RECORDS_CAPTION)
    sp_csv_append_field (l, r->text ? r->text : "");
  else
    sp_csv_append_field (l, sp_sink_label (st, r->label, buf));
  g_string_append_c (l, ',');
  sp_append_fixed (l, r->score);
  if (with_probs (st, p))
    for (int k = 0; k < st->n_labels; k++) {
      g_string_append_c (l, ',');
      if (r->probs != NULL)
        sp_append_fixed (l, r->probs[k]);
    }
  g_string_append_c (l, '\n');
  return sp_out_gstring (&p->out, l, error);
}

static gboolean
csv_flush (SpStage *st, GError **error)
{
  CsvPriv *p = st->priv;
  if (!ensure_header (st, p, error))
    return FALSE;
  return sp_out_close (&p->out, error);
}

static void
csv_finalize (SpStage *st)
{
  CsvPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}

const SpStageClass sp_sink_csv = {
  .name = "csv",
  .kind = SP_STAGE_SINK,
  .description = "CSV rows: frame,time,label,score per frame, or input,label|caption,score "
                 "per input",
  .keys = csv_keys,
  .priv_size = sizeof (CsvPriv),
  .init = csv_init,
  .write = csv_write,
  .flush = csv_flush,
  .finalize = csv_finalize,
  .header_lines = 1,
  .can_combine = TRUE,
  .takes = SP_RECORDS_ALL,
};
