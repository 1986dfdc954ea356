/* spm-model.h — a recurrent core with one of the three heads, its one parameter
 * block, checkpoints, inference and training.  Knows nothing about plugins or video.
 *
 * Tensors (DESIGN §8), in this order inside the parameter block:
 *   {lstm|rnn}.weight_ih_l{k} [G*H][D or H], .weight_hh_l{k} [G*H][H], .bias_ih_l{k}, .bias_hh_l{k} [G*H]
 *   head.weight [C][H], head.bias [C]
 *   embed.weight [V][E]                 (captioner)
 *   proj.weight [H][D], proj.bias [H]   (captioner)
 *   norm.mean [D], norm.std [D]         (when has_norm; not trained)
 * The captioner's first layer takes the embedding: its input size is E, not D.
 */
#ifndef SPM_MODEL_H
#define SPM_MODEL_H

#include "spm-layers.h"

G_BEGIN_DECLS

#define SPM_ERROR (spm_error_quark ())
GQuark spm_error_quark (void);
typedef enum {
  SPM_ERROR_FAILED,
  SPM_ERROR_IO,        /* reading or writing a file */
  SPM_ERROR_FORMAT,    /* a malformed checkpoint */
  SPM_ERROR_MISMATCH,  /* a checkpoint that does not fit what is asked of it */
  SPM_ERROR_DIVERGED,  /* NaN or Inf during training */
} SpmError;

#define SPM_MAX_LAYERS 8

/* The head kinds, and their names in checkpoints (`head` metadata) and messages.  The
 * plugin ABI speaks of the records a head makes instead (SP_RECORDS_FRAME, _INPUT,
 * _CAPTION, in this order); the host maps one to the other in one place
 * (sp_dataset_head_kind). */
typedef enum { SPM_HEAD_LABELER = 0, SPM_HEAD_CLASSIFIER = 1, SPM_HEAD_CAPTIONER = 2 } SpmHeadKind;
/* "labeler", "classifier", "captioner" */
const char *spm_head_kind_name (SpmHeadKind kind);
typedef enum { SPM_POOL_LAST = 0, SPM_POOL_MEAN = 1 } SpmPool;

/* Vocabulary specials of the captioner */
enum { SPM_TOK_NULL = 0, SPM_TOK_START = 1, SPM_TOK_END = 2, SPM_TOK_UNK = 3 };

typedef struct {
  SpmHeadKind head;
  SpmCell cell;
  SpmPool pool;      /* classifier */
  int D;             /* feature size */
  int H, L;          /* hidden size, layers (1..SPM_MAX_LAYERS) */
  int C;             /* classes (labeler, classifier) or vocabulary size V (captioner) */
  int E;             /* embedding size (captioner; 0 = H) */
  float dropout;     /* between stacked layers, training only */
  gboolean has_norm;
} SpmModelConfig;

typedef struct {
  const char *name;  /* e.g. "lstm.weight_ih_l0" */
  float *data;       /* view into the block */
  int ndim;
  int64_t shape[2];
  gboolean trainable;
} SpmTensor;

typedef struct {
  SpmModelConfig cfg;
  float *params;                  /* the one block (trainable tensors first) */
  size_t n_params;                /* floats in the block */
  size_t n_trainable;             /* floats from the start of the block that are trained */
  SpmTensor *tensors; int n_tensors;
  SpmRecurrentParams layer[SPM_MAX_LAYERS];   /* views */
  float *head_W, *head_b;
  float *embed;                   /* captioner */
  float *proj_W, *proj_b;         /* captioner */
  float *norm_mean, *norm_std;    /* has_norm */
  char **names;                   /* labels (C) or vocabulary (V); NULL-terminated, owned */
  GHashTable *meta;               /* other __metadata__ strings (char* -> char*), owned,
                                   * e.g. "decoder", "extractor" */
} SpmModel;

SpmModel *spm_model_new (const SpmModelConfig *cfg, GError **error);
void spm_model_free (SpmModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmModel, spm_model_free)
/* PyTorch's default initialisation: U(-1/sqrt(H), 1/sqrt(H)) for the core,
 * U(-1/sqrt(in), 1/sqrt(in)) for linear layers, N(0, 1) for the embedding; norm = (0, 1). */
void spm_model_init (SpmModel *m, uint64_t seed);
/* names: NULL-terminated list of C labels or V words (copied) */
void spm_model_set_names (SpmModel *m, const char *const *names);
const SpmTensor *spm_model_tensor (const SpmModel *m, const char *name);

/* Checkpoints (DESIGN §8).  save is atomic (temporary file, fsync, rename).
 * Metadata written: format, head, cell, hidden, layers, feature_dim, labels | vocab,
 * pool (classifier), dropout, then every entry of m->meta.  load takes the shapes it
 * needs from the tensors when the metadata leaves them out (only format, head and
 * labels | vocab are required), checks every tensor's presence and shape, refuses
 * unknown tensors, and puts the metadata it does not interpret into m->meta. */
gboolean spm_model_save (const SpmModel *m, const char *path, GError **error);
SpmModel *spm_model_load (const char *path, GError **error);

/* ---- inference -------------------------------------------------------------- */
/* A streaming runner of a labeler or classifier (a captioner uses spm_caption):
 * B = 1, one step per call, constant memory; state carried until reset. */
typedef struct SpmRunner SpmRunner;
SpmRunner *spm_runner_new (const SpmModel *m);
void spm_runner_free (SpmRunner *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmRunner, spm_runner_free)
void spm_runner_reset (SpmRunner *r);
/* x: D raw features (normalised inside).  Labeler: probs [C] of this step (may be NULL).
 * Classifier: accumulates the pooling; probs unused. */
void spm_runner_step (SpmRunner *r, const float *x, float *probs);
/* classifier: probs [C] of the sequence stepped so far */
void spm_runner_classify (SpmRunner *r, float *probs);
/* captioner: from the raw feature vector f [D].  beam >= 1 (1 = greedy: the argmax
 * word at every step); temperature > 0 samples (with seed) instead.  Beam search ranks
 * hypotheses by their log-prob sum (no length normalisation), keeps those that ended
 * in <end>, and stops when no live one can beat the best finished or at max_len.
 * <null> and <start> are never produced.  Writes up to max_len tokens (tokens must
 * hold max_len; without <start>/<end>) and returns their count; *score = the
 * sentence's probability (exp of the log-prob sum over its tokens including <end>). */
int spm_caption (const SpmModel *m, const float *f, int beam, int max_len, float temperature,
                 uint64_t seed, int32_t *tokens, float *score);

/* ---- training --------------------------------------------------------------- */
/* One training sequence.
 *  labeler:    x [T][D], y [T] one class per step (-1 = no label)
 *  classifier: x [T][D], y [1]
 *  captioner:  x [1][D] (the input's pooled features), y = <start> w1 .. wn <end>, n_y = n + 2 */
typedef struct {
  int T;
  const float *x;
  const int32_t *y;
  int n_y;
} SpmExample;

typedef enum { SPM_OPT_SGD = 0, SPM_OPT_ADAM = 1 } SpmOptimizer;

/* From the [train] keys (DESIGN §4): optimizer, lr, momentum, weight-decay, clip, tbptt,
 * batch, seed, shuffle as named; epochs -> epochs; lr-schedule -> lr_schedule;
 * class-weights = balanced -> class_weights = spm_class_weights_balanced (counts) with
 * counts = spm_class_counts (head, C, training examples) (none -> NULL; the captioner
 * takes none). */

/* [train] lr-schedule: the learning rate of each epoch (see spm_lr_at) */
typedef enum { SPM_LR_CONSTANT = 0, SPM_LR_COSINE = 1, SPM_LR_STEP = 2 } SpmLrSchedule;

typedef struct {
  SpmOptimizer optimizer;
  float lr, momentum, weight_decay;   /* lr: the base rate, that of epoch 0 */
  float beta1, beta2, eps;   /* Adam; 0 = PyTorch defaults 0.9, 0.999, 1e-8 */
  float clip;                /* global gradient-norm clip, 0 = off */
  int tbptt;                 /* chunk length, 0 = full BPTT */
  int batch;
  uint64_t seed;
  gboolean shuffle;
  /* [train] class-weights: C weights (finite, >= 0), one per class of the labeler or
   * classifier, NULL = unweighted.  (transfer none: spm_trainer_new copies them.)  The
   * loss of an update becomes PyTorch's cross_entropy(logits, y, weight=w,
   * ignore_index=-1, reduction='mean') = Σ w[y_i] nll_i / Σ w[y_i] over the update's
   * valid targets: the labeler's frames of the chunk in every sequence of the batch, the
   * classifier's sequences ending in the chunk (one target each).  A chunk whose valid
   * targets all weigh 0 makes no update (PyTorch's loss would be 0/0).  The captioner
   * is never weighted: spm_trainer_new refuses weights for it. */
  const float *class_weights;
  SpmLrSchedule lr_schedule;
  int epochs;                /* epochs of the whole run: the length of a cosine or step
                              * schedule (needed, >= 1, by those; unused by constant) */
} SpmTrainConfig;

/* The learning rate of epoch `epoch` (0-based) of a run of `epochs` with base rate lr,
 * bit for bit the value PyTorch 1.13's scheduler puts in the optimizer when it is made
 * before epoch 0 and stepped once after every epoch (Python floats are doubles):
 *   constant: lr;
 *   cosine:   CosineAnnealingLR(T_max = epochs, eta_min = 0) in its recursive form:
 *             lr_0 = lr,  lr_e = (1 + cos(π e / T)) / (1 + cos(π (e-1) / T)) · lr_{e-1},
 *             except lr_e = lr_{e-1} + lr (1 - cos(π / T)) / 2 when e = T + 1 (mod 2T).
 *             Within the run this is lr (1 + cos(π e / T)) / 2 up to rounding: the last
 *             epoch runs at lr (1 - cos(π / T)) / 2 and the rate would be 0 at e = T, one
 *             past the run (beyond it PyTorch's cosine rises again, and so does this);
 *   step:     MultiStepLR(milestones = [epochs // 2, (3 epochs) // 4], gamma = 0.1):
 *             lr_e = lr_{e-1} · 0.1^k, k = the number of milestones equal to e
 *             (lr_{-1} = lr), so epoch e runs at lr · 0.1^(milestones <= e).
 *             Rounding: the milestones are rounded down, as that PyTorch expression
 *             does, so each drop happens at the epoch that holds the 50% (75%) mark of the
 *             run: epochs = 8 gives lr x4, lr/10 x2, lr/100 x2; 5 gives lr x2, lr/10,
 *             lr/100 x2.  Rounding up would err by the same half epoch the other way at odd
 *             counts (5: lr x3, lr/10, lr/100) and part from the expression a PyTorch user
 *             writes, so the design's "50% and 75%" is read with PyTorch's floor.  Below 4
 *             epochs the three phases cannot all exist and milestones collide: 3 gives
 *             lr, lr/10, lr/100; 2 gives lr, lr/100; 1 puts both at epoch 0, whose only
 *             epoch then runs at lr/100 (as in PyTorch) — a step schedule needs >= 4.
 * The trainer sets the optimizer's rate to spm_lr_at (cfg->lr_schedule, cfg->lr,
 * epochs done, cfg->epochs) when an epoch starts, and keeps it in the state file, so a
 * run resumed inside an epoch goes on with the very same rate. */
double spm_lr_at (SpmLrSchedule schedule, double lr, int epoch, int epochs);

/* scikit-learn's class_weight="balanced": w_c = n / (C n_c) with n = Σ_c n_c, from the
 * class counts [C] (spm_class_counts).  A class with n_c = 0 gets w_c = 1: it has no
 * target in the training set, so its weight never enters the training loss (any value
 * gives the same training run); 1 keeps it finite and neutral — as an unweighted class —
 * wherever else the weights are applied (a validation loss over data that holds the
 * class), where 0 would make its errors cost nothing and n / 0 would be infinite.  All
 * counts 0: every weight is 1.  (scikit-learn refuses such a class outright.)
 * w [C] receives the weights as float, computed in double. */
void spm_class_weights_balanced (const int64_t *counts, int C, float *w);
/* Counts [C] of the training targets that weights are applied to: the labeler's valid
 * frame labels (y[t] in [0, C); -1 and anything outside are not counted), the
 * classifier's class y[0] of each sequence.  The captioner is never weighted: counts
 * are all 0. */
void spm_class_counts (SpmHeadKind head, int C, const SpmExample *ex, size_t n,
                       int64_t *counts);

/* The trainer (DESIGN §7).  Batches: the examples, shuffled per epoch by a generator
 * seeded with (seed, epoch) when cfg->shuffle, are taken `batch` at a time; a batch is
 * padded to its longest sequence (masks: padding neither counts in the loss nor makes
 * gradient) and starts from a zero state — the captioner's from h = proj.W f̂ + proj.b
 * in every layer, c = 0.  Each batch is cut into chunks of `tbptt` steps (0 = the
 * longest sequence, i.e. full BPTT); the state is carried into the next chunk without
 * gradient, and every chunk with a valid target makes one update (loss = mean
 * cross-entropy over the chunk's valid targets, class-weighted when
 * cfg->class_weights is set; learning rate cfg->lr, or the schedule's for the epoch).
 * The classifier's target sits at the chunk holding the sequence's last valid step;
 * mean pooling sums over all its chunks.
 * Dropout (m->cfg.dropout when the trainer is made) acts between stacked layers.
 * One chunk's activations are allocated once and reused: memory depends on tbptt x
 * batch, not on sequence length.  With one BLAS thread, results are bit-reproducible. */
typedef struct SpmTrainer SpmTrainer;
SpmTrainer *spm_trainer_new (SpmModel *m, const SpmTrainConfig *cfg, GError **error);
void spm_trainer_free (SpmTrainer *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmTrainer, spm_trainer_free)

/* Called after every update with the update's number (1-based, over all epochs), its
 * loss (mean per valid target of the chunk, weighted as cfg->class_weights says) and
 * the valid input steps consumed so far in this epoch (counting the part of a resumed
 * epoch run before the save).  Return FALSE to stop the epoch early (interruption):
 * the trainer returns right after that update, keeping the position and the state
 * carried inside the batch, so spm_trainer_save_state then spm_trainer_load_state and
 * spm_trainer_run_epoch continue exactly where it stopped (a resumed run reaches the
 * same weights as one never stopped). */
typedef gboolean (*SpmTrainCallback) (int64_t step, double loss, int64_t frames, void *user_data);

/* What one call of spm_trainer_run_epoch did. */
typedef struct {
  int epoch;            /* the epoch it worked on, 0-based (epochs done when it began) */
  double lr;            /* that epoch's learning rate */
  double mean_loss;     /* Σ w[y] nll / Σ w[y] over the valid targets of every update of
                         * that epoch so far — the whole epoch when completed, also when
                         * part of it ran before a save / load (w = 1 unweighted: the mean
                         * per valid target); 0 before any update */
  int64_t targets;      /* those valid targets */
  gboolean completed;   /* the epoch's last chunk is done: epochs done went up by one
                         * (a stop on the last update leaves the epoch open only when
                         * chunks without a valid target follow it: the next call runs
                         * them, makes no update, and completes the epoch) */
  gboolean stopped;     /* the callback returned FALSE (after that update) */
} SpmEpochResult;

/* One pass over ex (shuffled per epoch with the seed when cfg->shuffle), or the rest
 * of the epoch under way.  Returns FALSE with SPM_ERROR_DIVERGED naming the step on
 * NaN/Inf (parameters are left as they were before that update); *res is then
 * undefined.
 *
 * Contract of an interruption: when the callback returns FALSE, the call returns right
 * after that update with res->stopped.  If that update ended the epoch, the epoch is
 * done (res->completed, spm_trainer_epochs_done counts it, the state file's position is
 * the start of the next epoch) and the caller must still close it — validation, its
 * log row with res->mean_loss, its checkpoint — and then stop.  Otherwise
 * (completed = FALSE) the epoch stays open: save the state and stop; after a load, the
 * next call finishes that epoch and its result covers the whole epoch.  So a caller's
 * loop reads:
 *     while (epochs_done < epochs)
 *       { run_epoch (&r);  if (r.completed) close epoch r.epoch;  if (r.stopped) save, stop; } */
gboolean spm_trainer_run_epoch (SpmTrainer *t, const SpmExample *ex, size_t n,
                                SpmTrainCallback cb, void *user_data,
                                SpmEpochResult *res, GError **error);
/* The same, reporting only res.mean_loss and res.stopped (either may be NULL): a caller
 * of this form cannot tell an epoch closed by a stop on its last update from one left
 * open, so it should move to spm_trainer_run_epoch. */
gboolean spm_trainer_epoch (SpmTrainer *t, const SpmExample *ex, size_t n,
                            SpmTrainCallback cb, void *user_data,
                            double *mean_loss, gboolean *stopped, GError **error);
int64_t spm_trainer_step (const SpmTrainer *t);      /* updates made so far */
int spm_trainer_epochs_done (const SpmTrainer *t);
/* the learning rate the optimizer uses now (that of the epoch under way, or of the
 * last one when between epochs) */
double spm_trainer_lr (const SpmTrainer *t);
/* Optimizer state for --resume, a safetensors file: moments, step, epochs done, the
 * position in the epoch under way (and the state inside a batch stopped midway), the
 * dropout RNG, the learning rate of the epoch under way and its schedule, and that
 * epoch's running loss sum, weight sum, target and frame counts (so its mean_loss after
 * a resume is that of the run never stopped, to the bit).  load refuses a state made for
 * another optimizer, batch or seed, other class weights (the state keeps them), another
 * lr-schedule (cosine and step: or another epoch count), or other than the moment its model's checkpoint was tagged with
 * (spm_trainer_tag_model).  A file without the schedule's entries (of older runs)
 * counts as made with a constant rate: it resumes under lr-schedule = constant only,
 * at cfg->lr, with the epoch's sums from zero (that epoch's mean_loss then covers the
 * resumed part). */
gboolean spm_trainer_save_state (const SpmTrainer *t, const char *path, GError **error);
gboolean spm_trainer_load_state (SpmTrainer *t, const char *path, GError **error);

/* Where a state file stands, read from its metadata alone (the host can show it, or
 * compare it with a checkpoint's before resuming). */
typedef struct {
  int64_t step;         /* updates made */
  int epochs_done;      /* epochs completed */
  size_t batch_pos;     /* batches done in the epoch under way */
  int chunk_pos;        /* > 0: stopped inside batch batch_pos, before the chunk at this step */
  double lr;            /* the rate of the epoch under way (0 in files of older runs) */
} SpmTrainStateInfo;
gboolean spm_trainer_state_info (const char *path, SpmTrainStateInfo *info, GError **error);
/* Puts the trainer's update step and epochs done into m->meta as "train_step" and
 * "train_epoch" (decimal), so the checkpoint spm_model_save writes next records the
 * moment of the run it holds; call it right before each save of a checkpoint that is
 * paired with a state file.  spm_trainer_load_state then refuses a state whose step or
 * epochs done differ from those of its trainer's model (when the model has the tags:
 * checkpoints of older runs are not checked), so a checkpoint and a state file that do
 * not belong together cannot be resumed from. */
void spm_trainer_tag_model (const SpmTrainer *t, SpmModel *m);

/* norm.mean / norm.std from the frames of all examples (population std, floored at 1e-6) */
void spm_model_fit_norm (SpmModel *m, const SpmExample *ex, size_t n);

/* Loss and gradient of ex[0..n) taken as one batch, full BPTT, no update: the
 * training code path without the optimizer (for gradient checks).  Dropout masks come
 * from an RNG seeded with dropout_seed, so two calls with one seed use the same masks.
 * *loss = mean per valid target (class-weighted as cfg->class_weights says); the
 * gradient is left in spm_trainer_grad (). */
gboolean spm_trainer_loss_grad (SpmTrainer *t, const SpmExample *ex, size_t n,
                                uint64_t dropout_seed, double *loss, GError **error);
/* bytes of the chunk activations the trainer holds now (its own buffers; the layers'
 * workspaces grow with them): a function of tbptt and batch, not of sequence length */
size_t spm_trainer_activation_bytes (const SpmTrainer *t);
/* the gradient block: n_trainable floats mirroring m->params */
const float *spm_trainer_grad (const SpmTrainer *t);

/* ---- optimizers over the flat block ----------------------------------------- */
/* Everything below runs over the first n floats of the parameter / gradient block
 * (the trainable tensors) in one loop; moments mirror that layout. */
typedef struct SpmOptim SpmOptim;
/* SGD or Adam as cfg says (lr, momentum, weight_decay, beta1, beta2, eps). */
SpmOptim *spm_optim_new (const SpmTrainConfig *cfg, size_t n);
void spm_optim_free (SpmOptim *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmOptim, spm_optim_free)
/* One update of p [n] from g [n] (g is read only); increments the step count. */
void spm_optim_step (SpmOptim *o, float *p, const float *g);
int64_t spm_optim_steps (const SpmOptim *o);
/* Moments for saving and restoring: 0 = SGD momentum buffer or Adam exp_avg,
 * 1 = Adam exp_avg_sq (NULL for SGD).  n floats each. */
float *spm_optim_moment (SpmOptim *o, int which);
void spm_optim_set_steps (SpmOptim *o, int64_t steps);
/* The learning rate of the next steps (a schedule's; starts at cfg->lr).  SGD uses it
 * rounded to float, Adam divides it by the bias correction in double, as torch.optim
 * does with the Python float in group['lr']. */
void spm_optim_set_lr (SpmOptim *o, double lr);
double spm_optim_lr (const SpmOptim *o);

/* ||g||_2 over n floats, accumulated in double and returned as float */
float spm_grad_norm (const float *g, size_t n);
/* torch.nn.utils.clip_grad_norm_: total = ||g||_2; when max_norm > 0 and
 * coef = max_norm / (total + 1e-6) < 1, g *= coef.  Returns total. */
float spm_clip_grad_norm (float *g, size_t n, float max_norm);

G_END_DECLS

#endif
