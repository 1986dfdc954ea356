/* cnn.c — the `small` and `resnet18` extractors: their layer lists and tensor
 * tables, the memory plan, forward and backward over a batch of frames.
 * Initialisation, import and hashing are cnn-weights.c; the layers spm-conv.h. */
#include "cnn-private.h"
#include "spm-model.h"

#include <string.h>

const char *
spm_cnn_arch_name (SpmCnnArch arch)
{
  return arch == SPM_CNN_RESNET18 ? "resnet18" : "small";
}

gboolean
spm_cnn_arch_from_name (const char *name, SpmCnnArch *arch, GError **error)
{
  if (g_strcmp0 (name, "small") == 0)
    *arch = SPM_CNN_SMALL;
  else if (g_strcmp0 (name, "resnet18") == 0)
    *arch = SPM_CNN_RESNET18;
  else
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "unknown CNN arch \"%s\" (small or resnet18)", name != NULL ? name : "");
      return FALSE;
    }
  return TRUE;
}

/* The minimum input.
 * small: each MaxPool2d(2) floors H/2, so K blocks need H, W >= 2^K, or a map
 *   vanishes (PyTorch refuses such an input too).
 * resnet18: the network halves its input five times (conv1, the max pool, layer2-4:
 *   a total stride of 32).  Smaller inputs still give a 1 x 1 map, because every
 *   stride-2 layer pads, but then the last stages see a single position whose
 *   3 x 3 windows are mostly padding, and every size from 1 to 32 maps onto the same
 *   1 x 1 grid: the features no longer describe the image the net was trained on.
 *   So we ask for H, W >= 32: each stride-2 layer receives at least 2 x 2 real
 *   values and layer4 ends on at least one position computed from the image. */
static int
min_input (SpmCnnArch arch, int n_channels)
{
  return arch == SPM_CNN_RESNET18 ? 32 : 1 << n_channels;
}

gboolean
spm_cnn_check_input (SpmCnnArch arch, int n_channels, int H, int W, GError **error)
{
  int m = min_input (arch, n_channels);
  if (H < m || W < m)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "CNN %s%s: input %dx%d is too small, the minimum is %dx%d",
                   spm_cnn_arch_name (arch),
                   arch == SPM_CNN_SMALL ? (n_channels == 1 ? " (1 block)" : " (blocks)") : "",
                   W, H, m, m);
      return FALSE;
    }
  return TRUE;
}

/* ---- the tensor table and the layer lists ---- */

static int
add_tensor (SpmCnn *cnn, const char *name, gboolean trainable, int ndim, const int64_t *shape)
{
  SpmCnnTensor t = { g_strdup (name), ndim, { 0 }, 1, 0, trainable };
  for (int k = 0; k < ndim; k++)
    {
      t.shape[k] = shape[k];
      t.numel *= (size_t) shape[k];
    }
  if (trainable)
    {
      t.offset = cnn->n_trainable;
      cnn->n_trainable += t.numel;
    }
  else
    {
      t.offset = cnn->n_total;       /* buffers counted apart, moved behind in build */
      cnn->n_total += t.numel;
    }
  g_array_append_val (cnn->tensors, t);
  return (int) cnn->tensors->len - 1;
}

/* Conv2d(cin, cout, k, stride s, padding p, bias=False) named conv, BatchNorm2d(cout) named bn */
static int
add_unit (SpmCnn *cnn, const char *conv, const char *bn, int cin, int cout, int k, int s, int p)
{
  CnnUnit *u = &cnn->units[cnn->n_units];
  u->conv = (SpmConv2d) { cin, cout, k, k, s, s, p, p };
  g_autofree char *wn = g_strdup_printf ("%s.weight", conv);
  int64_t wshape[4] = { cout, cin, k, k }, c[1] = { cout };
  u->t_conv = add_tensor (cnn, wn, TRUE, 4, wshape);
  static const char *const bn_names[4] = { "weight", "bias", "running_mean", "running_var" };
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *n = g_strdup_printf ("%s.%s", bn, bn_names[i]);
      int t = add_tensor (cnn, n, i < 2, 1, c);
      if (i == 0)
        u->t_bn = t;
    }
  return cnn->n_units++;
}

static void
build (SpmCnn *cnn)
{
  if (cnn->arch == SPM_CNN_SMALL)
    {
      int cin = 3;
      for (int k = 0; k < cnn->n_channels; k++)
        {
          g_autofree char *conv = g_strdup_printf ("features.%d", 4 * k);
          g_autofree char *bn = g_strdup_printf ("features.%d", 4 * k + 1);
          add_unit (cnn, conv, bn, cin, cnn->channels[k], 3, 1, 1);
          cnn->pools[cnn->n_pools++] = (CnnPool) { .k = 2, .s = 2, .p = 0 };
          cin = cnn->channels[k];
        }
      cnn->D = cin;
    }
  else
    {
      add_unit (cnn, "conv1", "bn1", 3, 64, 7, 2, 3);
      cnn->pools[cnn->n_pools++] = (CnnPool) { .k = 3, .s = 2, .p = 1 };
      int cin = 64;
      for (int l = 0; l < 4; l++)
        {
          int c = 64 << l;
          for (int b = 0; b < 2; b++)
            {
              int s = (l > 0 && b == 0) ? 2 : 1;
              g_autofree char *pre = g_strdup_printf ("layer%d.%d", l + 1, b);
              g_autofree char *c1 = g_strdup_printf ("%s.conv1", pre);
              g_autofree char *b1 = g_strdup_printf ("%s.bn1", pre);
              g_autofree char *c2 = g_strdup_printf ("%s.conv2", pre);
              g_autofree char *b2 = g_strdup_printf ("%s.bn2", pre);
              CnnBlock *blk = &cnn->blocks[cnn->n_blocks++];
              blk->u1 = add_unit (cnn, c1, b1, cin, c, 3, s, 1);
              blk->u2 = add_unit (cnn, c2, b2, c, c, 3, 1, 1);
              blk->ds = -1;
              if (s != 1 || cin != c)
                {
                  g_autofree char *d0 = g_strdup_printf ("%s.downsample.0", pre);
                  g_autofree char *d1 = g_strdup_printf ("%s.downsample.1", pre);
                  blk->ds = add_unit (cnn, d0, d1, cin, c, 1, s, 0);
                }
              cin = c;
            }
        }
      cnn->D = 512;
    }
  for (guint i = 0; i < cnn->tensors->len; i++)
    {
      SpmCnnTensor *t = &g_array_index (cnn->tensors, SpmCnnTensor, i);
      if (!t->trainable)
        t->offset += cnn->n_trainable;
    }
  cnn->n_total += cnn->n_trainable;
}

/* Sets every layer's input and output size for frames of H x W. */
static void
propagate (SpmCnn *cnn, int H, int W)
{
  if (cnn->arch == SPM_CNN_SMALL)
    {
      for (int k = 0; k < cnn->n_units; k++)
        {
          CnnUnit *u = &cnn->units[k];
          CnnPool *p = &cnn->pools[k];
          u->H = H, u->W = W;
          u->Ho = spm_conv2d_out_h (&u->conv, H), u->Wo = spm_conv2d_out_w (&u->conv, W);
          *p = (CnnPool) { p->k, p->s, p->p, u->conv.Cout, u->Ho, u->Wo,
                           spm_maxpool2d_out (u->Ho, p->k, p->s, p->p),
                           spm_maxpool2d_out (u->Wo, p->k, p->s, p->p), p->y, p->arg };
          H = p->Ho, W = p->Wo;
        }
      return;
    }
  CnnUnit *u0 = &cnn->units[0];
  CnnPool *p = &cnn->pools[0];
  u0->H = H, u0->W = W;
  u0->Ho = spm_conv2d_out_h (&u0->conv, H), u0->Wo = spm_conv2d_out_w (&u0->conv, W);
  *p = (CnnPool) { p->k, p->s, p->p, 64, u0->Ho, u0->Wo,
                   spm_maxpool2d_out (u0->Ho, p->k, p->s, p->p),
                   spm_maxpool2d_out (u0->Wo, p->k, p->s, p->p), p->y, p->arg };
  H = p->Ho, W = p->Wo;
  for (int b = 0; b < cnn->n_blocks; b++)
    {
      int ids[3] = { cnn->blocks[b].u1, cnn->blocks[b].ds, cnn->blocks[b].u2 };
      for (int i = 0; i < 3; i++)
        {
          if (ids[i] < 0)
            continue;
          CnnUnit *u = &cnn->units[ids[i]];
          u->H = i == 2 ? cnn->units[ids[0]].Ho : H;
          u->W = i == 2 ? cnn->units[ids[0]].Wo : W;
          u->Ho = spm_conv2d_out_h (&u->conv, u->H), u->Wo = spm_conv2d_out_w (&u->conv, u->W);
        }
      H = cnn->units[ids[2]].Ho, W = cnn->units[ids[2]].Wo;
    }
}

/* The last layer's output: [D][N][S] */
static const float *
last_output (const SpmCnn *cnn, size_t *S)
{
  if (cnn->arch == SPM_CNN_SMALL)
    {
      const CnnPool *p = &cnn->pools[cnn->n_pools - 1];
      *S = (size_t) p->Ho * p->Wo;
      return p->y;
    }
  const CnnUnit *u = &cnn->units[cnn->blocks[cnn->n_blocks - 1].u2];
  *S = (size_t) u->Ho * u->Wo;
  return u->z;
}

static void
free_plan (SpmCnn *cnn)
{
  g_clear_pointer (&cnn->act, g_free);
  g_clear_pointer (&cnn->args, g_free);
  g_clear_pointer (&cnn->col, g_free);
  g_clear_pointer (&cnn->stats, g_free);
  for (int i = 0; i < 4; i++)
    cnn->gbuf[i] = NULL;          /* inside act */
  cnn->x0 = NULL;
  cnn->have_forward = FALSE;
}

/* Allocates every workspace for N frames of H x W.  The sizes grow with N, H and W,
 * so this plan serves every smaller input. */
static gboolean
plan (SpmCnn *cnn, int N, int H, int W, GError **error)
{
  propagate (cnn, H, W);
  size_t act = (size_t) 3 * N * H * W, args = 0, col = 0, big = 0, stats = 0;
  for (int i = 0; i < cnn->n_units; i++)
    {
      CnnUnit *u = &cnn->units[i];
      u->cap_y = (size_t) u->conv.Cout * N * u->Ho * u->Wo;
      u->cap_col = spm_conv2d_col_size (&u->conv, N, u->H, u->W);
      act += 2 * u->cap_y;
      col = MAX (col, u->cap_col);
      big = MAX (big, MAX (u->cap_y, (size_t) u->conv.Cin * N * u->H * u->W));
      stats += 2 * (size_t) u->conv.Cout;
    }
  for (int i = 0; i < cnn->n_pools; i++)
    {
      size_t n = (size_t) cnn->pools[i].C * N * cnn->pools[i].Ho * cnn->pools[i].Wo;
      act += n;
      args += n;
    }
  act += 4 * big;
  free_plan (cnn);
  cnn->act = g_try_new (float, act);
  cnn->args = g_try_new (int32_t, MAX (args, 1));
  cnn->col = g_try_new (float, MAX (col, 1));
  cnn->stats = g_try_new0 (float, stats);
  if (cnn->act == NULL || cnn->args == NULL || cnn->col == NULL || cnn->stats == NULL)
    {
      free_plan (cnn);
      cnn->max_N = cnn->max_H = cnn->max_W = 0;
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "CNN %s: out of memory planning %d frames of %dx%d (%zu MB)",
                   spm_cnn_arch_name (cnn->arch), N, W, H,
                   (act + args + col + stats) * sizeof (float) >> 20);
      return FALSE;
    }
  float *a = cnn->act, *s = cnn->stats;
  int32_t *g = cnn->args;
  cnn->x0 = a;
  a += (size_t) 3 * N * H * W;
  for (int i = 0; i < cnn->n_units; i++)
    {
      CnnUnit *u = &cnn->units[i];
      u->y = a, a += u->cap_y;
      u->z = a, a += u->cap_y;
      u->mean = s, s += u->conv.Cout;
      u->rstd = s, s += u->conv.Cout;
    }
  for (int i = 0; i < cnn->n_pools; i++)
    {
      size_t n = (size_t) cnn->pools[i].C * N * cnn->pools[i].Ho * cnn->pools[i].Wo;
      cnn->pools[i].y = a, a += n;
      cnn->pools[i].arg = g, g += n;
    }
  for (int i = 0; i < 4; i++)
    cnn->gbuf[i] = a, a += big;
  cnn->max_N = N, cnn->max_H = H, cnn->max_W = W;
  return TRUE;
}

SpmCnn *
spm_cnn_new (SpmCnnArch arch, const int *channels, int n_channels, int max_N, int H, int W,
             GError **error)
{
  if (arch != SPM_CNN_SMALL && arch != SPM_CNN_RESNET18)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED, "unknown CNN arch %d", (int) arch);
      return NULL;
    }
  if (arch == SPM_CNN_SMALL)
    {
      if (n_channels < 1 || n_channels > SPM_CNN_MAX_SMALL_BLOCKS || channels == NULL)
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                       "CNN small: %d channel entries, 1 to %d needed", n_channels,
                       SPM_CNN_MAX_SMALL_BLOCKS);
          return NULL;
        }
      for (int k = 0; k < n_channels; k++)
        if (channels[k] < 1 || channels[k] > 65536)
          {
            g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                         "CNN small: channels[%d] = %d, must be 1 to 65536", k, channels[k]);
            return NULL;
          }
    }
  else
    n_channels = 0;
  if (max_N < 1)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED, "CNN: a batch of %d frames", max_N);
      return NULL;
    }
  if (!spm_cnn_check_input (arch, n_channels, H, W, error))
    return NULL;
  g_autoptr (SpmCnn) cnn = g_new0 (SpmCnn, 1);
  cnn->arch = arch;
  cnn->n_channels = n_channels;
  for (int k = 0; k < n_channels; k++)
    cnn->channels[k] = channels[k];
  cnn->tensors = g_array_new (FALSE, TRUE, sizeof (SpmCnnTensor));
  build (cnn);
  cnn->params = g_try_new0 (float, cnn->n_total);
  cnn->grads = g_try_new0 (float, MAX (cnn->n_trainable, 1));
  if (cnn->params == NULL || cnn->grads == NULL)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED, "CNN: out of memory for %zu parameters",
                   cnn->n_total);
      return NULL;
    }
  if (!plan (cnn, max_N, H, W, error))
    return NULL;
  return g_steal_pointer (&cnn);
}

void
spm_cnn_free (SpmCnn *cnn)
{
  if (cnn == NULL)
    return;
  free_plan (cnn);
  if (cnn->tensors != NULL)
    {
      for (guint i = 0; i < cnn->tensors->len; i++)
        g_free (g_array_index (cnn->tensors, SpmCnnTensor, i).name);
      g_array_unref (cnn->tensors);
    }
  g_free (cnn->params);
  g_free (cnn->grads);
  g_free (cnn);
}

gboolean
spm_cnn_reserve (SpmCnn *cnn, int max_N, int H, int W, GError **error)
{
  if (max_N < 1)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED, "CNN: a batch of %d frames", max_N);
      return FALSE;
    }
  if (!spm_cnn_check_input (cnn->arch, cnn->n_channels, H, W, error))
    return FALSE;
  if (max_N <= cnn->max_N && H <= cnn->max_H && W <= cnn->max_W)
    return TRUE;
  return plan (cnn, MAX (max_N, cnn->max_N), MAX (H, cnn->max_H), MAX (W, cnn->max_W), error);
}

SpmCnnArch
spm_cnn_arch (const SpmCnn *cnn)
{
  return cnn->arch;
}

int
spm_cnn_dim (const SpmCnn *cnn)
{
  return cnn->D;
}

float *
spm_cnn_params (SpmCnn *cnn, size_t *n_trainable, size_t *n_total)
{
  if (n_trainable != NULL)
    *n_trainable = cnn->n_trainable;
  if (n_total != NULL)
    *n_total = cnn->n_total;
  return cnn->params;
}

float *
spm_cnn_grads (SpmCnn *cnn)
{
  return cnn->grads;
}

int
spm_cnn_n_tensors (const SpmCnn *cnn)
{
  return (int) cnn->tensors->len;
}

const SpmCnnTensor *
spm_cnn_tensor (const SpmCnn *cnn, int i)
{
  g_return_val_if_fail (i >= 0 && i < (int) cnn->tensors->len, NULL);
  return &g_array_index (cnn->tensors, SpmCnnTensor, i);
}

const SpmCnnTensor *
spm_cnn_find (const SpmCnn *cnn, const char *name)
{
  for (guint i = 0; name != NULL && i < cnn->tensors->len; i++)
    if (strcmp (g_array_index (cnn->tensors, SpmCnnTensor, i).name, name) == 0)
      return &g_array_index (cnn->tensors, SpmCnnTensor, i);
  return NULL;
}

double
spm_cnn_forward_flops (SpmCnn *cnn, int H, int W)
{
  propagate (cnn, H, W);
  double f = 0.0;
  for (int i = 0; i < cnn->n_units; i++)
    {
      const CnnUnit *u = &cnn->units[i];
      f += 2.0 * u->conv.Cout * u->conv.Cin * u->conv.kh * u->conv.kw * u->Ho * u->Wo;
    }
  if (cnn->have_forward)
    propagate (cnn, cnn->H, cnn->W);      /* backward needs the last forward's sizes */
  return f;
}

/* ---- forward ---- */

/* z = BN(conv(x)) for the unit's current sizes, then in eval mode (fused into the
 * BN pass) relu = TRUE: z = max(z, 0); shortcut != NULL: z = max(z + shortcut, 0).
 * Train mode leaves the ReLU and the residual add to the caller. */
static void
unit_forward (SpmCnn *cnn, CnnUnit *u, int N, const float *x, gboolean train, gboolean relu,
              const float *shortcut)
{
  float *w = cnn_tensor_data (cnn, u->t_conv), *g = cnn_tensor_data (cnn, u->t_bn);
  float *beta = cnn_tensor_data (cnn, u->t_bn + 1), *rm = cnn_tensor_data (cnn, u->t_bn + 2);
  float *rv = cnn_tensor_data (cnn, u->t_bn + 3);
  size_t M = (size_t) N * u->Ho * u->Wo;
  spm_conv2d_forward (&u->conv, N, u->H, u->W, x, w, NULL, u->y, cnn->col);
  if (train)
    spm_bn2d_forward_train (u->conv.Cout, M, u->y, g, beta, rm, rv, u->mean, u->rstd, u->z);
  else if (shortcut != NULL)
    spm_bn2d_add_relu_forward_eval (u->conv.Cout, M, u->y, g, beta, rm, rv, shortcut, u->z);
  else if (relu)
    spm_bn2d_relu_forward_eval (u->conv.Cout, M, u->y, g, beta, rm, rv, u->z);
  else
    spm_bn2d_forward_eval (u->conv.Cout, M, u->y, g, beta, rm, rv, u->z);
}

static size_t
unit_out_size (const CnnUnit *u, int N)
{
  return (size_t) u->conv.Cout * N * u->Ho * u->Wo;
}

static void
pool_forward (CnnPool *p, int N, const float *x)
{
  spm_maxpool2d_forward (p->C * N, p->H, p->W, p->k, p->s, p->p, x, p->y, p->arg);
}

gboolean
spm_cnn_forward (SpmCnn *cnn, int N, int H, int W, const float *x, gboolean train,
                 float *out, GError **error)
{
  cnn->have_forward = FALSE;
  if (!spm_cnn_check_input (cnn->arch, cnn->n_channels, H, W, error))
    return FALSE;
  if (N < 1 || N > cnn->max_N || H > cnn->max_H || W > cnn->max_W)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "CNN %s: %d frames of %dx%d, planned for 1 to %d of at most %dx%d",
                   spm_cnn_arch_name (cnn->arch), N, W, H, cnn->max_N, cnn->max_W, cnn->max_H);
      return FALSE;
    }
  propagate (cnn, H, W);
  if (train)
    for (int i = 0; i < cnn->n_units; i++)
      if ((size_t) N * cnn->units[i].Ho * cnn->units[i].Wo < 2)
        {
          g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                       "CNN %s: training on %d frame(s) of %dx%d leaves a BatchNorm with one "
                       "value per channel", spm_cnn_arch_name (cnn->arch), N, W, H);
          return FALSE;
        }

  /* x [N][3][H][W] -> x0 [3][N][H][W] */
  size_t HW = (size_t) H * W;
  for (int c = 0; c < 3; c++)
    for (int n = 0; n < N; n++)
      memcpy (cnn->x0 + ((size_t) c * N + n) * HW, x + ((size_t) n * 3 + c) * HW,
              sizeof (float) * HW);

  if (cnn->arch == SPM_CNN_SMALL)
    {
      const float *in = cnn->x0;
      for (int k = 0; k < cnn->n_units; k++)
        {
          CnnUnit *u = &cnn->units[k];
          unit_forward (cnn, u, N, in, train, TRUE, NULL);
          if (train)
            spm_relu_forward (unit_out_size (u, N), u->z, u->z);
          pool_forward (&cnn->pools[k], N, u->z);
          in = cnn->pools[k].y;
        }
    }
  else
    {
      CnnUnit *u0 = &cnn->units[0];
      unit_forward (cnn, u0, N, cnn->x0, train, TRUE, NULL);
      if (train)
        spm_relu_forward (unit_out_size (u0, N), u0->z, u0->z);
      pool_forward (&cnn->pools[0], N, u0->z);
      const float *in = cnn->pools[0].y;
      for (int b = 0; b < cnn->n_blocks; b++)
        {
          const CnnBlock *blk = &cnn->blocks[b];
          CnnUnit *u1 = &cnn->units[blk->u1], *u2 = &cnn->units[blk->u2];
          unit_forward (cnn, u1, N, in, train, TRUE, NULL);
          if (train)
            spm_relu_forward (unit_out_size (u1, N), u1->z, u1->z);
          const float *shortcut = in;
          if (blk->ds >= 0)
            {
              unit_forward (cnn, &cnn->units[blk->ds], N, in, train, FALSE, NULL);
              shortcut = cnn->units[blk->ds].z;
            }
          unit_forward (cnn, u2, N, u1->z, train, FALSE, train ? NULL : shortcut);
          if (train)
            {
              size_t n = unit_out_size (u2, N);
              spm_add_forward (n, u2->z, shortcut, u2->z);
              spm_relu_forward (n, u2->z, u2->z);
            }
          in = u2->z;
        }
    }
  size_t S;
  const float *last = last_output (cnn, &S);
  spm_gap_forward (cnn->D, N, S, last, out);
  cnn->N = N, cnn->H = H, cnn->W = W;
  cnn->train = train;
  cnn->have_forward = TRUE;
  return TRUE;
}

/* ---- backward ---- */

/* From dz (the gradient at the unit's BN output; left unchanged): accumulates the
 * conv and BN parameter gradients; dx (may be NULL) = the gradient at the unit's
 * input x; tmp receives the gradient at the conv output. */
static void
unit_backward (SpmCnn *cnn, CnnUnit *u, int N, const float *x, const float *dz, float *tmp,
               float *dx)
{
  const float *g = cnn_tensor_data (cnn, u->t_bn);
  size_t M = (size_t) N * u->Ho * u->Wo;
  float *dg = cnn_tensor_grad (cnn, u->t_bn), *db = cnn_tensor_grad (cnn, u->t_bn + 1);
  if (cnn->train)
    spm_bn2d_backward_train (u->conv.Cout, M, u->y, g, u->mean, u->rstd, dz, dg, db, tmp);
  else
    spm_bn2d_backward_eval (u->conv.Cout, M, u->y, g, cnn_tensor_data (cnn, u->t_bn + 2),
                            cnn_tensor_data (cnn, u->t_bn + 3), dz, dg, db, tmp);
  spm_conv2d_backward (&u->conv, N, u->H, u->W, x, cnn_tensor_data (cnn, u->t_conv), tmp,
                       cnn_tensor_grad (cnn, u->t_conv), NULL, dx, cnn->col);
}

static void
pool_backward (const CnnPool *p, int N, const float *dy, float *dx)
{
  spm_maxpool2d_backward (p->C * N, p->H, p->W, p->k, p->s, p->p, p->arg, dy, dx);
}

gboolean
spm_cnn_backward (SpmCnn *cnn, const float *dout, GError **error)
{
  if (!cnn->have_forward)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "CNN %s: backward without a forward of the same frames",
                   spm_cnn_arch_name (cnn->arch));
      return FALSE;
    }
  int N = cnn->N;
  float *A = cnn->gbuf[0], *B = cnn->gbuf[1], *C = cnn->gbuf[2], *D = cnn->gbuf[3];
  size_t S;
  last_output (cnn, &S);
  spm_gap_backward (cnn->D, N, S, dout, A);
  if (cnn->arch == SPM_CNN_SMALL)
    {
      for (int k = cnn->n_units - 1; k >= 0; k--)
        {
          CnnUnit *u = &cnn->units[k];
          pool_backward (&cnn->pools[k], N, A, B);
          spm_relu_backward (unit_out_size (u, N), u->z, B, B);
          const float *x = k == 0 ? cnn->x0 : cnn->pools[k - 1].y;
          unit_backward (cnn, u, N, x, B, C, k == 0 ? NULL : A);
        }
      return TRUE;
    }
  /* A holds the gradient at a block's output */
  for (int b = cnn->n_blocks - 1; b >= 0; b--)
    {
      const CnnBlock *blk = &cnn->blocks[b];
      CnnUnit *u1 = &cnn->units[blk->u1], *u2 = &cnn->units[blk->u2];
      const float *in = b == 0 ? cnn->pools[0].y : cnn->units[cnn->blocks[b - 1].u2].z;
      size_t n_out = unit_out_size (u2, N);
      size_t n_in = (size_t) u1->conv.Cin * N * u1->H * u1->W;
      spm_relu_backward (n_out, u2->z, A, A);
      unit_backward (cnn, u2, N, u1->z, A, B, C);
      spm_relu_backward (unit_out_size (u1, N), u1->z, C, C);
      unit_backward (cnn, u1, N, in, C, B, D);            /* D: through the main path */
      if (blk->ds >= 0)
        {
          unit_backward (cnn, &cnn->units[blk->ds], N, in, A, B, C);
          for (size_t i = 0; i < n_in; i++)
            D[i] += C[i];
        }
      else
        for (size_t i = 0; i < n_in; i++)
          D[i] += A[i];
      float *t = A;
      A = D, D = t;
    }
  CnnUnit *u0 = &cnn->units[0];
  pool_backward (&cnn->pools[0], N, A, B);
  spm_relu_backward (unit_out_size (u0, N), u0->z, B, B);
  unit_backward (cnn, u0, N, cnn->x0, B, C, NULL);
  return TRUE;
}
