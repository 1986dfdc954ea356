/* trainer-private.h — the trainer's state, shared by trainer.c (batches, epochs,
 * updates), chunk.c (the whole model forward and backward over one chunk) and
 * train-state.c (the optimizer state file).  Not installed. */
#ifndef SPM_TRAINER_PRIVATE_H
#define SPM_TRAINER_PRIVATE_H

#include "spm-model.h"

struct SpmTrainer {
  SpmModel *m;
  SpmTrainConfig cfg;
  SpmOptim *opt;
  float *grad;                              /* [n_trainable], mirrors m->params */
  SpmRecurrentParams g[SPM_MAX_LAYERS];     /* views into grad */
  float *g_head_W, *g_head_b, *g_embed, *g_proj_W, *g_proj_b;
  float dropout;                            /* m->cfg.dropout when the trainer was made */
  SpmRng rng;                               /* dropout masks */
  int epochs;                               /* epochs completed */
  size_t pos;                               /* batches done in the epoch under way */
  int chunk_pos;             /* > 0: batch `pos` was stopped before the chunk at this step */
  int carry_B;               /* its sequences; carry holds its state: */
  float *carry;              /* h [L][B][H], c [L][B][H], pool sums [B][H] */
  float *class_w;            /* [C] loss weight per class, or NULL (unweighted) */
  double lr;                 /* the learning rate of the epoch under way */
  /* the epoch under way so far (kept across save / load, so a resumed epoch reports
   * the figures of the whole epoch) */
  double ep_loss, ep_weight;  /* Σ w[y] nll, Σ w[y] over its updates' valid targets */
  int64_t ep_targets, ep_frames;   /* valid targets (of updates), valid input steps */

  /* activations of one chunk, for up to Tk steps x Bk sequences */
  int Tk, Bk;
  size_t bytes;                             /* allocated in bufs */
  GPtrArray *bufs;                          /* owns everything below */
  SpmRecurrentWork *work[SPM_MAX_LAYERS];
  float *xin;                  /* [Tk][Bk][Din] layer-0 input: x̂ or embeddings */
  float *y[SPM_MAX_LAYERS];    /* [Tk][Bk][H] layer outputs */
  float *yd[SPM_MAX_LAYERS];   /* [Tk][Bk][H] y after dropout (inputs of layer l+1) */
  uint8_t *dmask[SPM_MAX_LAYERS];
  float *dy, *dx;              /* [Tk][Bk][max(H, Din)] gradients between layers */
  float *logits, *dlogits;     /* [Tk][Bk][C] */
  uint8_t *valid;              /* [Tk][Bk] */
  int32_t *tok, *tgt;          /* [Tk][Bk] input tokens (captioner), targets */
  float *h[SPM_MAX_LAYERS], *c[SPM_MAX_LAYERS];     /* [Bk][H] carried state */
  float *hT[SPM_MAX_LAYERS], *cT[SPM_MAX_LAYERS];   /* [Bk][H] state after the chunk */
  float *f, *dh0, *dh0_sum;    /* [Bk][D], [Bk][H] x2: captioner's start */
  float *pool, *pooled, *dpooled;   /* [Bk][H] classifier */
  int *len;                    /* [Bk] steps of each sequence in the batch */
  const SpmExample **batch;    /* [Bk] */
};

/* steps fed to the core: T, or the n_y - 1 input tokens of a caption */
G_GNUC_INTERNAL int spm_chunk_seq_len (const SpmModel *m, const SpmExample *e);
/* the start of a batch of B sequences in t->batch: lengths and initial state */
G_GNUC_INTERNAL void spm_chunk_begin (SpmTrainer *t, int B);
/* inputs, masks and targets of steps [t0, t0 + kc); adds the valid steps to *frames */
G_GNUC_INTERNAL void spm_chunk_inputs (SpmTrainer *t, int B, int t0, int kc, int64_t *frames);
/* forward with dropout from rng; returns the valid targets, *loss_sum = Σ w[y] (-log p),
 * *weight_sum = Σ w[y] (w = class_w, or 1) */
G_GNUC_INTERNAL int spm_chunk_forward (SpmTrainer *t, int B, int t0, int kc, SpmRng *rng,
                                       double *loss_sum, double *weight_sum);
/* backward of the last forward into t->grad (zeroed first) */
G_GNUC_INTERNAL void spm_chunk_backward (SpmTrainer *t, int B, int kc, gboolean first);
/* the state after the chunk becomes the state entering the next */
G_GNUC_INTERNAL void spm_chunk_carry (SpmTrainer *t);

#endif
