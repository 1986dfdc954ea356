/* classifier.c — the `classifier` head: one label per input (many-to-one).
 *
 * Every frame steps the recurrent core (state carried, constant memory); at the end
 * of the input probs [C] = softmax (head.W h + head.b) with h = h_T (pool = last) or
 * the mean of h_t over the input (pool = mean), as the checkpoint was trained.  One
 * record per input: label = argmax probs, score = probs[label]. */
#include "heads.h"

#include <string.h>

typedef struct {
  /* keys */
  char *labels;
  char *pool;
  /* state */
  SpmModel *m;
  SpmRunner *run;
  float *probs;
  int64_t frames;
} ClassifierPriv;

static const SpKey classifier_keys[] = {
  { "labels", SP_KEY_PATH, G_STRUCT_OFFSET (ClassifierPriv, labels), NULL, 0, 0, NULL,
    "file of label names, one per line: fixes the class order (must match the checkpoint)" },
  { "pool", SP_KEY_STRING, G_STRUCT_OFFSET (ClassifierPriv, pool), NULL, 0, 0, NULL,
    "last | mean: the hidden state the label comes from (train: default last; "
    "run/eval: the checkpoint's, this key must agree when set)" },
  SP_KEY_END
};

static gboolean
classifier_init (SpStage *st, GError **error)
{
  ClassifierPriv *p = st->priv;
  if (p->pool && strcmp (p->pool, "last") && strcmp (p->pool, "mean")) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "[head] pool: \"%s\" is not one of last, mean", p->pool);
    return FALSE;
  }
  p->m = sp_heads_load (st, SPM_HEAD_CLASSIFIER, p->labels, error);
  if (!p->m)
    return FALSE;
  if (!sp_heads_apply_pool (st, p->m, p->pool, error))
    return FALSE;
  p->run = spm_runner_new (p->m);
  p->probs = g_new (float, p->m->cfg.C);
  return TRUE;
}

static gboolean
classifier_process (SpStage *st, SpFrame *frame, GError **error)
{
  ClassifierPriv *p = st->priv;
  (void) error;
  spm_runner_step (p->run, frame->features, NULL);
  p->frames++;
  return TRUE;
}

static gboolean
classifier_flush (SpStage *st, GError **error)
{
  ClassifierPriv *p = st->priv;
  if (p->frames == 0) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                 "%s: no frames to classify", st->input ? st->input->path : "input");
    return FALSE;
  }
  spm_runner_classify (p->run, p->probs);
  int label = sp_heads_argmax (p->probs, p->m->cfg.C);
  SpRecord rec = { NULL, label, p->probs[label], p->probs, NULL };
  return sp_stage_emit (st, &rec, error);
}

static void
classifier_finalize (SpStage *st)
{
  ClassifierPriv *p = st->priv;
  g_clear_pointer (&p->run, spm_runner_free);
  g_clear_pointer (&p->m, spm_model_free);
  g_clear_pointer (&p->probs, g_free);
}

const SpStageClass sp_head_classifier = {
  .name = "classifier",
  .kind = SP_STAGE_HEAD,
  .description = "one label per input (many-to-one), from the last or mean hidden state",
  .keys = classifier_keys,
  .priv_size = sizeof (ClassifierPriv),
  .init = classifier_init,
  .process = classifier_process,
  .flush = classifier_flush,
  .finalize = classifier_finalize,
  .records = SP_RECORDS_INPUT,
};
