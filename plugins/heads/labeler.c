/* labeler.c — the `labeler` head: one label per frame, streaming.
 *
 * For every frame: probs [C] = softmax (head.W h_t + head.b), h_t from the recurrent
 * core stepped once (state carried from frame to frame, constant memory); the
 * record's label = argmax probs (or the min-segment rule's label, see smooth.h),
 * score = probs[label].  With min-segment > 0 the frames of the trailing run are
 * held (copied) until their label is decided, so records leave in order and the
 * per-frame labels are exactly the segments the sinks build from them. */
#include "heads.h"
#include "smooth.h"

#include <string.h>

#define HOLD_CAP 4096   /* frames held at most before the first segment is decided */

typedef struct {
  SpFrame frame;        /* a copy: rgb and features owned */
  float *probs;         /* [C] */
} Held;

typedef struct {
  /* keys */
  char *labels;
  double min_segment;
  /* state */
  SpmModel *m;
  SpmRunner *run;
  float *probs;
  SpSmooth smooth;
  GQueue held;          /* Held*, oldest first */
  SpStage *st;
} LabelerPriv;

static const SpKey labeler_keys[] = {
  { "labels", SP_KEY_PATH, G_STRUCT_OFFSET (LabelerPriv, labels), NULL, 0, 0, NULL,
    "file of label names, one per line: fixes the class order (must match the checkpoint)" },
  { "min-segment", SP_KEY_DOUBLE, G_STRUCT_OFFSET (LabelerPriv, min_segment), "0", 0, 3600,
    NULL, "seconds: shorter runs of a label join the segment before them (0 = off)" },
  SP_KEY_END
};

static void
held_free (gpointer p)
{
  Held *h = p;
  g_free (h->frame.rgb);
  g_free (h->frame.features);
  g_free (h->probs);
  g_free (h);
}

static gboolean
labeler_init (SpStage *st, GError **error)
{
  LabelerPriv *p = st->priv;
  p->m = sp_heads_load (st, SPM_HEAD_LABELER, p->labels, error);
  if (!p->m)
    return FALSE;
  p->run = spm_runner_new (p->m);
  p->probs = g_new (float, p->m->cfg.C);
  p->st = st;
  g_queue_init (&p->held);
  sp_smooth_init (&p->smooth, p->min_segment, HOLD_CAP);
  return TRUE;
}

static gboolean
emit (SpStage *st, const SpFrame *frame, const float *probs, int label, GError **error)
{
  SpRecord rec = { frame, label, probs[label], probs, NULL };
  return sp_stage_emit (st, &rec, error);
}

/* the smoother decided: the n oldest held frames get `label` */
static gboolean
release (int64_t n, int label, void *user, GError **error)
{
  LabelerPriv *p = user;
  for (int64_t i = 0; i < n; i++) {
    Held *h = g_queue_pop_head (&p->held);
    gboolean ok = emit (p->st, &h->frame, h->probs, label, error);
    held_free (h);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

static gboolean
labeler_process (SpStage *st, SpFrame *frame, GError **error)
{
  LabelerPriv *p = st->priv;
  int C = p->m->cfg.C;
  spm_runner_step (p->run, frame->features, p->probs);
  int label = sp_heads_argmax (p->probs, C);
  if (p->min_segment <= 0)
    return emit (st, frame, p->probs, label, error);

  Held *h = g_new0 (Held, 1);
  h->frame = *frame;
  if (frame->rgb)
    h->frame.rgb = g_memdup2 (frame->rgb, (gsize) frame->width * frame->height * 3);
  h->frame.features = g_memdup2 (frame->features, sizeof (float) * frame->feature_dim);
  h->probs = g_memdup2 (p->probs, sizeof (float) * C);
  g_queue_push_tail (&p->held, h);
  return sp_smooth_push (&p->smooth, label, frame->time, release, p, error);
}

static gboolean
labeler_flush (SpStage *st, GError **error)
{
  LabelerPriv *p = st->priv;
  if (p->min_segment <= 0)
    return TRUE;
  return sp_smooth_finish (&p->smooth, release, p, error);
}

static void
labeler_finalize (SpStage *st)
{
  LabelerPriv *p = st->priv;
  g_queue_clear_full (&p->held, held_free);
  g_clear_pointer (&p->run, spm_runner_free);
  g_clear_pointer (&p->m, spm_model_free);
  g_clear_pointer (&p->probs, g_free);
}

const SpStageClass sp_head_labeler = {
  .name = "labeler",
  .kind = SP_STAGE_HEAD,
  .description = "one label per frame (synced many-to-many), merged into segments by the sinks",
  .keys = labeler_keys,
  .priv_size = sizeof (LabelerPriv),
  .init = labeler_init,
  .process = labeler_process,
  .flush = labeler_flush,
  .finalize = labeler_finalize,
  .records = SP_RECORDS_FRAME,
};
