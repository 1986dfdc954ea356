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
typedef enum { SPM_OPT_SGD = 0, SPM_OPT_ADAM = 1 } SpmOptimizer;

typedef struct {
  SpmOptimizer optimizer;
  float lr, momentum, weight_decay;
  float beta1, beta2, eps;   /* Adam; 0 = PyTorch defaults 0.9, 0.999, 1e-8 */
  float clip;                /* global gradient-norm clip, 0 = off */
  int tbptt;                 /* chunk length, 0 = full BPTT */
  int batch;
  uint64_t seed;
  gboolean shuffle;
} SpmTrainConfig;

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

/* The trainer (DESIGN §7).  Batches: the examples, shuffled per epoch by a generator
 * seeded with (seed, epoch) when cfg->shuffle, are taken `batch` at a time; a batch is
 * padded to its longest sequence (masks: padding neither counts in the loss nor makes
 * gradient) and starts from a zero state — the captioner's from h = proj.W f̂ + proj.b
 * in every layer, c = 0.  Each batch is cut into chunks of `tbptt` steps (0 = the
 * longest sequence, i.e. full BPTT); the state is carried into the next chunk without
 * gradient, and every chunk with a valid target makes one update (loss = mean
 * cross-entropy over the chunk's valid targets).  The classifier's target sits at the
 * chunk holding the sequence's last valid step; mean pooling sums over all its chunks.
 * Dropout (m->cfg.dropout when the trainer is made) acts between stacked layers.
 * One chunk's activations are allocated once and reused: memory depends on tbptt x
 * batch, not on sequence length.  With one BLAS thread, results are bit-reproducible. */
typedef struct SpmTrainer SpmTrainer;
SpmTrainer *spm_trainer_new (SpmModel *m, const SpmTrainConfig *cfg, GError **error);
void spm_trainer_free (SpmTrainer *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmTrainer, spm_trainer_free)

/* Called after every update with the update's number (1-based, over all epochs), its
 * loss (mean per valid target of the chunk) and the valid input steps consumed so far in
 * this epoch.  Return FALSE to stop the epoch early (interruption): the trainer returns
 * right after that update, keeping the position and the state carried inside the batch,
 * so spm_trainer_save_state then spm_trainer_load_state and spm_trainer_epoch continue
 * exactly where it stopped (a resumed run reaches the same weights as one never
 * stopped). */
typedef gboolean (*SpmTrainCallback) (int64_t step, double loss, int64_t frames, void *user_data);

/* One pass over ex (shuffled per epoch with the seed when cfg->shuffle).  Returns
 * FALSE with SPM_ERROR_DIVERGED naming the step on NaN/Inf (parameters are left as
 * they were before that update).  *mean_loss = mean loss per valid target. *stopped
 * is set when the callback stopped it. */
gboolean spm_trainer_epoch (SpmTrainer *t, const SpmExample *ex, size_t n,
                            SpmTrainCallback cb, void *user_data,
                            double *mean_loss, gboolean *stopped, GError **error);
int64_t spm_trainer_step (const SpmTrainer *t);      /* updates made so far */
int spm_trainer_epochs_done (const SpmTrainer *t);
/* Optimizer state for --resume, a safetensors file: moments, step, epochs done, the
 * position in the epoch under way (and the state inside a batch stopped midway), the
 * dropout RNG.  load refuses a state made for another optimizer, batch or seed. */
gboolean spm_trainer_save_state (const SpmTrainer *t, const char *path, GError **error);
gboolean spm_trainer_load_state (SpmTrainer *t, const char *path, GError **error);

/* norm.mean / norm.std from the frames of all examples (population std, floored at 1e-6) */
void spm_model_fit_norm (SpmModel *m, const SpmExample *ex, size_t n);

/* Loss and gradient of ex[0..n) taken as one batch, full BPTT, no update: the
 * training code path without the optimizer (for gradient checks).  Dropout masks come
 * from an RNG seeded with dropout_seed, so two calls with one seed use the same masks.
 * *loss = mean per valid target; the gradient is left in spm_trainer_grad (). */
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

/* ||g||_2 over n floats, accumulated in double and returned as float */
float spm_grad_norm (const float *g, size_t n);
/* torch.nn.utils.clip_grad_norm_: total = ||g||_2; when max_norm > 0 and
 * coef = max_norm / (total + 1e-6) < 1, g *= coef.  Returns total. */
float spm_clip_grad_norm (float *g, size_t n, float max_norm);

G_END_DECLS

#endif
