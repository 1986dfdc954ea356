/* captioner.c — the `captioner` head: a sentence per input (one-to-many).
 *
 * f [D] = mean over the input's frames of their features (an image has one frame);
 * h_0 = proj.W f + proj.b, c_0 = 0; then beam search (beam >= 2), greedy (beam = 1)
 * or sampling (temperature > 0, with seed) over the vocabulary, at most max-length
 * words.  One record per input: text = the words joined by spaces, score = the
 * sentence's probability. */
#include "heads.h"

#include <string.h>

typedef struct {
  /* keys */
  gint64 beam, max_length, seed, min_count;
  double temperature;
  /* state */
  SpmModel *m;
  double *sum;          /* [D] */
  int64_t frames;
} CaptionerPriv;

static const SpKey captioner_keys[] = {
  { "beam", SP_KEY_INT, G_STRUCT_OFFSET (CaptionerPriv, beam), "3", 1, 64, NULL,
    "beam width; 1 = greedy" },
  { "max-length", SP_KEY_INT, G_STRUCT_OFFSET (CaptionerPriv, max_length), "16", 1, 256, NULL,
    "most words in a caption" },
  { "temperature", SP_KEY_DOUBLE, G_STRUCT_OFFSET (CaptionerPriv, temperature), "0", 0, 100,
    NULL, "0 = most probable sentence (beam search); > 0 = sample words at this temperature" },
  { "seed", SP_KEY_INT, G_STRUCT_OFFSET (CaptionerPriv, seed), "1", 0, G_MAXUINT32, NULL,
    "random seed of sampling" },
  { "min-count", SP_KEY_INT, G_STRUCT_OFFSET (CaptionerPriv, min_count), "1", 1, 1000000, NULL,
    "train: words seen fewer times in the training captions become <unk>" },
  SP_KEY_END
};

static gboolean
captioner_init (SpStage *st, GError **error)
{
  CaptionerPriv *p = st->priv;
  p->m = sp_heads_load (st, SPM_HEAD_CAPTIONER, NULL, error);
  if (!p->m)
    return FALSE;
  p->sum = g_new0 (double, p->m->cfg.D);
  return TRUE;
}

static gboolean
captioner_process (SpStage *st, SpFrame *frame, GError **error)
{
  CaptionerPriv *p = st->priv;
  (void) error;
  for (int d = 0; d < p->m->cfg.D; d++)
    p->sum[d] += frame->features[d];
  p->frames++;
  return TRUE;
}

static gboolean
captioner_flush (SpStage *st, GError **error)
{
  CaptionerPriv *p = st->priv;
  int D = p->m->cfg.D;
  if (p->frames == 0) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                 "%s: no frames to caption", st->input ? st->input->path : "input");
    return FALSE;
  }
  g_autofree float *f = g_new (float, D);
  for (int d = 0; d < D; d++)
    f[d] = (float) (p->sum[d] / (double) p->frames);
  g_autofree int32_t *tok = g_new (int32_t, p->max_length + 1);
  float score = 0;
  int n = spm_caption (p->m, f, (int) p->beam, (int) p->max_length, (float) p->temperature,
                       (uint64_t) p->seed, tok, &score);
  g_autoptr (GString) text = g_string_new (NULL);
  for (int i = 0; i < n; i++) {
    if (tok[i] < SPM_TOK_UNK || tok[i] >= p->m->cfg.C)
      continue;
    if (text->len)
      g_string_append_c (text, ' ');
    g_string_append (text, p->m->names[tok[i]]);
  }
  SpRecord rec = { NULL, -1, score, NULL, text->str };
  return sp_stage_emit (st, &rec, error);
}

static void
captioner_finalize (SpStage *st)
{
  CaptionerPriv *p = st->priv;
  g_clear_pointer (&p->m, spm_model_free);
  g_clear_pointer (&p->sum, g_free);
}

const SpStageClass sp_head_captioner = {
  .name = "captioner",
  .kind = SP_STAGE_HEAD,
  .description = "a sentence per input from its mean frame features (one-to-many)",
  .keys = captioner_keys,
  .priv_size = sizeof (CaptionerPriv),
  .init = captioner_init,
  .process = captioner_process,
  .flush = captioner_flush,
  .finalize = captioner_finalize,
  .records = SP_RECORDS_CAPTION,
};
