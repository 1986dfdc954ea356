/* cnn-private.h — the SpmCnn structure, shared by cnn.c (plan, forward, backward)
 * and cnn-weights.c (initialisation, import, hash). */
#ifndef SPM_CNN_PRIVATE_H
#define SPM_CNN_PRIVATE_H

#include "spm-cnn.h"
#include "spm-conv.h"

/* A Conv2d (bias=False) and the BatchNorm2d after it. */
typedef struct {
  SpmConv2d conv;
  int t_conv;                /* tensor index of the conv weight */
  int t_bn;                  /* tensor index of the BN weight; bias, running_mean, running_var follow */
  int H, W, Ho, Wo;          /* input and output size of the current forward */
  size_t cap_col, cap_y;     /* planned floats of the packing and of y / z */
  float *y;                  /* conv output [Cout][N][Ho][Wo] */
  float *z;                  /* BN output (ReLU, residual add applied in place as the arch says) */
  float *mean, *rstd;        /* [Cout] statistics of the last train-mode forward */
} CnnUnit;

/* MaxPool2d(k, s, p) */
typedef struct {
  int k, s, p;
  int C, H, W, Ho, Wo;
  float *y;                  /* [C][N][Ho][Wo] */
  int32_t *arg;              /* argmax, same shape */
} CnnPool;

/* A torchvision BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)) */
typedef struct {
  int u1, u2, ds;            /* unit indices; ds = -1 for the identity shortcut */
} CnnBlock;

#define CNN_MAX_UNITS 24
#define CNN_MAX_POOLS SPM_CNN_MAX_SMALL_BLOCKS

struct SpmCnn {
  SpmCnnArch arch;
  int n_channels;
  int channels[SPM_CNN_MAX_SMALL_BLOCKS];
  int D;

  GArray *tensors;           /* SpmCnnTensor, state_dict order */
  size_t n_trainable, n_total;
  float *params;             /* [n_total] */
  float *grads;              /* [n_trainable] */

  CnnUnit units[CNN_MAX_UNITS];
  int n_units;
  CnnPool pools[CNN_MAX_POOLS];
  int n_pools;
  CnnBlock blocks[8];
  int n_blocks;

  /* plan */
  int max_N, max_H, max_W;
  float *act;                /* every unit's y, z, pool output, the input copy: one block */
  int32_t *args;             /* every pool's argmax */
  float *col;                /* the packing workspace, the largest unit's */
  float *stats;              /* every unit's mean and rstd */
  float *gbuf[4];            /* backward scratch, each of the largest activation */
  float *x0;                 /* the input as [3][N][H][W] */

  /* the last forward */
  int N, H, W;
  gboolean have_forward, train;
};

static inline float *
cnn_tensor_data (SpmCnn *cnn, int t)
{
  return cnn->params + g_array_index (cnn->tensors, SpmCnnTensor, t).offset;
}

static inline float *
cnn_tensor_grad (SpmCnn *cnn, int t)
{
  const SpmCnnTensor *e = &g_array_index (cnn->tensors, SpmCnnTensor, t);
  return e->trainable ? cnn->grads + e->offset : NULL;
}

#endif
