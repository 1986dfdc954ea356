/* spm-cnn.h — the CNN frame extractor: the `small` and `resnet18` architectures
 * (DESIGN §7), their parameters under PyTorch's state_dict names (DESIGN §8),
 * forward over a batch of frames, backward into a gradient block, initialisation,
 * weight import and a weight hash.
 *
 * Architectures (every Conv2d has bias=False and is followed by a BatchNorm2d):
 *   small:    for each c of channels: Conv2d(c_in, c, 3, padding=1) -> BatchNorm2d(c)
 *             -> ReLU -> MaxPool2d(2); then the mean over H, W.  D = the last c.
 *             Tensors features.{4k}.weight, features.{4k+1}.{weight,bias,running_mean,running_var}.
 *   resnet18: torchvision's ResNet-18 up to its global average pool (no fc), D = 512.
 *             Tensors conv1.weight, bn1.*, layer{1-4}.{0,1}.{conv1,bn1,conv2,bn2}.*,
 *             layer{2-4}.0.downsample.{0,1}.*  (the `cnn.` prefix is the saver's).
 *
 * Memory plan: one parameter block, the trainable tensors (conv weights, BN weight and
 * bias) first, then the BN buffers (running_mean, running_var); the gradient block
 * mirrors the trainable part.  Activations, packing and gradient workspaces are
 * allocated by spm_cnn_new for at most max_N frames of H x W and re-planned only by
 * spm_cnn_reserve with a larger size; forward and backward allocate nothing.
 *
 * Ownership: the SpmCnn owns every block; pointers returned by the accessors are
 * (transfer none) and stay valid until spm_cnn_reserve or spm_cnn_free.
 */
#ifndef SPM_CNN_H
#define SPM_CNN_H

#include "spm-layers.h"

G_BEGIN_DECLS

typedef enum { SPM_CNN_SMALL = 0, SPM_CNN_RESNET18 = 1 } SpmCnnArch;
#define SPM_CNN_MAX_SMALL_BLOCKS 16

/* "small" / "resnet18"; FALSE (with error) for any other name */
gboolean spm_cnn_arch_from_name (const char *name, SpmCnnArch *arch, GError **error);
const char *spm_cnn_arch_name (SpmCnnArch arch);

/* One named tensor of the parameter block. */
typedef struct {
  char *name;                /* state_dict name without the `cnn.` prefix */
  int ndim;
  int64_t shape[4];
  size_t numel;
  size_t offset;             /* floats from the start of the parameter block */
  gboolean trainable;        /* FALSE for running_mean / running_var */
} SpmCnnTensor;

typedef struct SpmCnn SpmCnn;

/* The smallest input H x W the arch accepts (see cnn.c for the rule).
 * FALSE, with an error saying the minimum, for a smaller one. */
gboolean spm_cnn_check_input (SpmCnnArch arch, int n_channels, int H, int W, GError **error);

/* channels: the `small` list (n_channels in 1..SPM_CNN_MAX_SMALL_BLOCKS, each >= 1);
 * ignored for resnet18.  Parameters are zero until spm_cnn_init or spm_cnn_load_weights. */
SpmCnn *spm_cnn_new (SpmCnnArch arch, const int *channels, int n_channels, int max_N, int H,
                     int W, GError **error);
void spm_cnn_free (SpmCnn *cnn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmCnn, spm_cnn_free)
/* Makes room for max_N frames of H x W; re-plans the workspaces only when that is
 * larger than the current plan in some dimension (parameters are kept; the last
 * forward is forgotten, so backward needs a new one).  If that allocation fails the
 * net keeps its parameters but has no plan: forward fails until a reserve succeeds. */
gboolean spm_cnn_reserve (SpmCnn *cnn, int max_N, int H, int W, GError **error);

SpmCnnArch spm_cnn_arch (const SpmCnn *cnn);
int spm_cnn_dim (const SpmCnn *cnn);                    /* D */
/* The parameter block: *n_trainable floats of trainable tensors, then the buffers,
 * *n_total floats in all (either pointer may be NULL). */
float *spm_cnn_params (SpmCnn *cnn, size_t *n_trainable, size_t *n_total);
/* The gradient block, n_trainable floats laid out as the trainable part of params. */
float *spm_cnn_grads (SpmCnn *cnn);
int spm_cnn_n_tensors (const SpmCnn *cnn);
const SpmCnnTensor *spm_cnn_tensor (const SpmCnn *cnn, int i);   /* state_dict order */
const SpmCnnTensor *spm_cnn_find (const SpmCnn *cnn, const char *name);

/* PyTorch's default initialisation: conv weights U(−1/sqrt(fan_in), 1/sqrt(fan_in))
 * (kaiming_uniform_ with a = sqrt(5)), in tensor order from rng; BN weight 1, bias 0,
 * running_mean 0, running_var 1. */
void spm_cnn_init (SpmCnn *cnn, SpmRng *rng);

/* x [N][3][H][W] float (normalised NCHW frames, see spm_cnn_input_rgb24); out [N][D].
 * train = TRUE: BatchNorm uses the statistics of these N frames and updates the
 * running stats (every frame given counts: hand only valid frames); FALSE: the
 * running stats.  FALSE with an error when N, H, W exceed the plan, the input is too
 * small, or a train-mode BatchNorm would see a single value per channel. */
gboolean spm_cnn_forward (SpmCnn *cnn, int N, int H, int W, const float *x, gboolean train,
                          float *out, GError **error);
/* dout [N][D]: accumulates d(loss)/d(params) into the gradient block, through the
 * BatchNorm mode of the last forward (train: batch statistics; eval: the affine
 * map), for the frames of the last forward.  FALSE with an error if no forward ran. */
gboolean spm_cnn_backward (SpmCnn *cnn, const float *dout, GError **error);

/* rgb: N packed RGB24 frames of H x W (frame n at rgb + n·H·W·3) -> x [N][3][H][W]:
 *   x[n][c][h][w] = (rgb[n][h][w][c]/255 − mean_c) / std_c
 * with torchvision's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). */
void spm_cnn_input_rgb24 (int N, int H, int W, const uint8_t *rgb, float *x);

/* Reads a safetensors state_dict of the arch into the parameters, names with or
 * without the `cnn.` prefix; fc.* and *.num_batches_tracked (any dtype) are ignored;
 * F16/BF16/F64 are converted.  Every other tensor of the arch must be there with its
 * shape and finite values.  A missing, extra, repeated or mis-shaped tensor, a
 * non-float or non-finite one, or the other arch's state_dict is SPM_ERROR_MISMATCH
 * naming the file and the tensor (a malformed file: SPM_ERROR_FORMAT/IO); on any
 * error the parameters are left as they were. */
gboolean spm_cnn_load_weights (SpmCnn *cnn, const char *path, GError **error);

/* Floating-point operations of the convolutions of one frame of H x W in a forward
 * pass (2 per multiply-add; BatchNorm, ReLU and pooling not counted). */
double spm_cnn_forward_flops (SpmCnn *cnn, int H, int W);

/* SHA-256 (hex, g_free) over the arch, every tensor's name, shape and little-endian
 * float32 values in table order: equal exactly when the networks compute the same. */
char *spm_cnn_weights_hash (const SpmCnn *cnn);

G_END_DECLS

#endif
