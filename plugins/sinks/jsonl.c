/* jsonl.c — the `jsonl` sink: one JSON object per line.
 *   labeler     {["input",]"frame","time","label","score"[,"probs":{label: p}]}
 *   classifier  {"input","label","score"[,"probs":{label: p}]}
 *   captioner   {"input","caption","score"}
 * `input` leads the labeler's objects only when several inputs share the file. */
#include <seqpipe/plugin.h>

#include "fields.h"
#include "spm-json.h"
#include "out.h"
#include "sinks.h"

typedef struct {
  gboolean probs;       /* key */
  SpOut out;
  GString *line;
} JsonlPriv;

static const SpKey jsonl_keys[] = {
  { "probs", SP_KEY_BOOL, G_STRUCT_OFFSET (JsonlPriv, probs), "false", 0, 0, NULL,
    "also write \"probs\": {label: probability} (labeler, classifier)" },
  SP_KEY_END
};

static gboolean
jsonl_init (SpStage *st, GError **error)
{
  JsonlPriv *p = st->priv;
  p->line = g_string_sized_new (256);
  return sp_out_open (&p->out, st->output_path, error);
}

static void
append_key (GString *l, const char *key)
{
  if (l->len > 1)
    g_string_append_c (l, ',');
  spm_json_append_string (l, key);
  g_string_append_c (l, ':');
}

static gboolean
jsonl_write (SpStage *st, const SpRecord *r, GError **error)
{
  JsonlPriv *p = st->priv;
  unsigned head = st->records;
  GString *l = p->line;
  char buf[32];

  g_string_append_c (l, '{');
  if (head != SP_RECORDS_FRAME || st->combined) {
    append_key (l, "input");
    spm_json_append_string (l, sp_sink_input (st));
  }
  if (head == SP_RECORDS_FRAME) {
    append_key (l, "frame");
    g_string_append_printf (l, "%" G_GINT64_FORMAT, r->frame->index);
    append_key (l, "time");
    sp_json_append_number (l, r->frame->time);
  }
  if (head == SP_RECORDS_CAPTION) {
    append_key (l, "caption");
    spm_json_append_string (l, r->text ? r->text : "");
  } else {
    append_key (l, "label");
    spm_json_append_string (l, sp_sink_label (st, r->label, buf));
  }
  append_key (l, "score");
  sp_json_append_number (l, r->score);
  if (p->probs && head != SP_RECORDS_CAPTION && r->probs != NULL && st->n_labels > 0) {
    append_key (l, "probs");
    g_string_append_c (l, '{');
    for (int k = 0; k < st->n_labels; k++) {
      if (k > 0)
        g_string_append_c (l, ',');
      spm_json_append_string (l, sp_sink_label (st, k, buf));
      g_string_append_c (l, ':');
      sp_json_append_number (l, r->probs[k]);
    }
    g_string_append_c (l, '}');
  }
  g_string_append (l, "}\n");
  return sp_out_gstring (&p->out, l, error);
}

static gboolean
jsonl_flush (SpStage *st, GError **error)
{
  JsonlPriv *p = st->priv;
  return sp_out_close (&p->out, error);
}

static void
jsonl_finalize (SpStage *st)
{
  JsonlPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}

const SpStageClass sp_sink_jsonl = {
  .name = "jsonl",
  .kind = SP_STAGE_SINK,
  .description = "JSON Lines: one object per frame (labeler) or per input",
  .keys = jsonl_keys,
  .priv_size = sizeof (JsonlPriv),
  .init = jsonl_init,
  .write = jsonl_write,
  .flush = jsonl_flush,
  .finalize = jsonl_finalize,
  .header_lines = 0,
  .can_combine = TRUE,
  .takes = SP_RECORDS_ALL,
};
