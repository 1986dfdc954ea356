/* cnn.c — the `cnn` extractor: a convolutional net (models/spm-cnn.h, DESIGN §7) over
 * the decoder's frames, in eval mode (BatchNorm with its running statistics), one
 * forward per batch of up to `batch` consecutive frames.  The weights come from a
 * PyTorch state_dict (`weights`, torchvision's names) or from PyTorch's default
 * initialisation drawn from `seed`.  Everything is planned in init for `batch` frames
 * of the decoder's width x height: process_batch allocates nothing. */
#include <seqpipe/plugin.h>

#include "spm-cnn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  /* keys */
  int arch;                 /* SpmCnnArch: the order of the choices */
  char *channels;
  char *weights;
  gboolean train;
  gint64 batch, seed;
  /* state */
  SpmCnn *cnn;
  int D, H, W, max_n;
  float *x;                 /* [batch][3][H][W] */
  float *out;               /* [batch][D] */
  uint8_t *rgb;             /* [batch][H][W][3] */
} CnnPriv;

static const SpKey cnn_keys[] = {
  { "arch", SP_KEY_CHOICE, G_STRUCT_OFFSET (CnnPriv, arch), "small", 0, 0, "small|resnet18",
    "small: conv-BN-ReLU-maxpool blocks of `channels`, then the mean over H, W (D = the "
    "last channel count); resnet18: torchvision's ResNet-18 up to its average pool (D = 512)" },
  { "channels", SP_KEY_STRING, G_STRUCT_OFFSET (CnnPriv, channels), "32;64;128;128", 0, 0, NULL,
    "arch = small: output channels of its conv blocks, 1 to 16 positive integers separated "
    "by ';'" },
  { "weights", SP_KEY_PATH, G_STRUCT_OFFSET (CnnPriv, weights), NULL, 0, 0, NULL,
    "safetensors state_dict of the arch with PyTorch's names (fc.* ignored); its digest is "
    "part of the feature settings.  Unset: PyTorch's default initialisation from `seed`" },
  { "train", SP_KEY_BOOL, G_STRUCT_OFFSET (CnnPriv, train), "false", 0, 0, NULL,
    "true: `seqpipe train` trains the CNN end to end with the head; in `seqpipe run` the "
    "extractor is always frozen (BatchNorm uses its running statistics)" },
  { "batch", SP_KEY_INT, G_STRUCT_OFFSET (CnnPriv, batch), "16", 1, 256, NULL,
    "frames per forward pass (memory grows with it; features change only by rounding)" },
  { "seed", SP_KEY_INT, G_STRUCT_OFFSET (CnnPriv, seed), "0", 0, (double) G_MAXINT32, NULL,
    "seed of the initialisation when `weights` is unset" },
  SP_KEY_END
};

/* "32;64;128" -> channels[]; FALSE naming the key and the bad item */
static gboolean
parse_channels (const char *text, int *channels, int *n, GError **error)
{
  g_auto (GStrv) items = g_strsplit (text ? text : "", ";", -1);
  *n = 0;
  for (int i = 0; items[i] != NULL; i++)
    {
      const char *s = g_strstrip (items[i]);
      char *end = NULL;
      long v;
      if (*s == '\0' && items[i + 1] == NULL && i > 0)
        break;                          /* a trailing ';' */
      errno = 0;
      v = strtol (s, &end, 10);
      if (*s == '\0' || *end != '\0' || errno != 0 || v < 1 || v > 65536)
        {
          g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                       "[extractor] channels: '%s' is not a channel count (a positive "
                       "integer), in '%s'", s, text);
          return FALSE;
        }
      if (*n == SPM_CNN_MAX_SMALL_BLOCKS)
        {
          g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                       "[extractor] channels: more than %d blocks in '%s'",
                       SPM_CNN_MAX_SMALL_BLOCKS, text);
          return FALSE;
        }
      channels[(*n)++] = (int) v;
    }
  if (*n == 0)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "[extractor] channels: empty; give 1 to %d channel counts separated by ';'",
                   SPM_CNN_MAX_SMALL_BLOCKS);
      return FALSE;
    }
  return TRUE;
}

static gboolean
cnn_init (SpStage *st, GError **error)
{
  CnnPriv *p = st->priv;
  int channels[SPM_CNN_MAX_SMALL_BLOCKS], n_channels = 0;
  g_autoptr (GError) err = NULL;
  SpmCnnArch arch = p->arch == 1 ? SPM_CNN_RESNET18 : SPM_CNN_SMALL;

  if (arch == SPM_CNN_SMALL && !parse_channels (p->channels, channels, &n_channels, error))
    return FALSE;
  p->H = st->decoder->height;
  p->W = st->decoder->width;
  p->max_n = (int) p->batch;
  if (!spm_cnn_check_input (arch, n_channels, p->H, p->W, &err))
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "[decoder] width/height %dx%d is too small for [extractor] arch = %s: %s",
                   p->W, p->H, spm_cnn_arch_name (arch), err->message);
      return FALSE;
    }
  p->cnn = spm_cnn_new (arch, channels, n_channels, p->max_n, p->H, p->W, &err);
  if (p->cnn == NULL)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "[extractor] cnn: %s", err->message);
      return FALSE;
    }
  if (p->weights != NULL)
    {
      if (!spm_cnn_load_weights (p->cnn, p->weights, &err))
        {
          g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                       "[extractor] weights: %s", err->message);
          return FALSE;
        }
    }
  else
    {
      SpmRng rng;
      spm_rng_seed (&rng, (uint64_t) p->seed);
      spm_cnn_init (p->cnn, &rng);
    }
  p->D = spm_cnn_dim (p->cnn);
  p->x = g_try_new (float, (size_t) p->max_n * 3 * p->H * p->W);
  p->out = g_try_new (float, (size_t) p->max_n * p->D);
  p->rgb = p->max_n > 1 ? g_try_new (uint8_t, (size_t) p->max_n * 3 * p->H * p->W) : NULL;
  if (p->x == NULL || p->out == NULL || (p->max_n > 1 && p->rgb == NULL))
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "[extractor] cnn: out of memory for a batch of %d frames of %dx%d",
                   p->max_n, p->W, p->H);
      return FALSE;
    }
  sp_stage_set_feature_dim (st, p->D);
  sp_stage_set_batch (st, p->max_n);
  return TRUE;
}

/* frames[0..n): pixels -> one eval-mode forward -> D floats each */
static gboolean
cnn_process_batch (SpStage *st, SpFrame *const *frames, int n, GError **error)
{
  CnnPriv *p = st->priv;
  size_t frame_bytes = (size_t) p->H * p->W * 3;
  const uint8_t *rgb;
  g_autoptr (GError) err = NULL;

  if (n < 1 || n > p->max_n)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: a batch of %d frames, the extractor planned for 1 to %d",
                   st->input ? st->input->path : "input", n, p->max_n);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      const SpFrame *f = frames[i];
      if (f->rgb == NULL || f->width != p->W || f->height != p->H || f->features == NULL)
        {
          g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                       "%s: frame %" G_GINT64_FORMAT ": the cnn extractor needs %dx%d pixels "
                       "and a feature buffer, the frame has %s %dx%d",
                       st->input ? st->input->path : "input", f->index, p->W, p->H,
                       f->rgb ? "pixels of" : "no pixels,", f->width, f->height);
          return FALSE;
        }
    }
  if (n == 1)
    rgb = frames[0]->rgb;
  else
    {
      for (int i = 0; i < n; i++)
        memcpy (p->rgb + (size_t) i * frame_bytes, frames[i]->rgb, frame_bytes);
      rgb = p->rgb;
    }
  spm_cnn_input_rgb24 (n, p->H, p->W, rgb, p->x);
  if (!spm_cnn_forward (p->cnn, n, p->H, p->W, p->x, FALSE, p->out, &err))
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED, "%s: frame %" G_GINT64_FORMAT
                   ": %s", st->input ? st->input->path : "input", frames[0]->index, err->message);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      memcpy (frames[i]->features, p->out + (size_t) i * p->D, (size_t) p->D * sizeof (float));
      frames[i]->feature_dim = p->D;
    }
  return TRUE;
}

static gboolean
cnn_process (SpStage *st, SpFrame *frame, GError **error)
{
  SpFrame *const one[1] = { frame };
  return cnn_process_batch (st, one, 1, error);
}

static void
cnn_finalize (SpStage *st)
{
  CnnPriv *p = st->priv;
  g_clear_pointer (&p->cnn, spm_cnn_free);
  g_clear_pointer (&p->x, g_free);
  g_clear_pointer (&p->out, g_free);
  g_clear_pointer (&p->rgb, g_free);
}

const SpStageClass sp_extract_cnn = {
  .name = "cnn",
  .kind = SP_STAGE_EXTRACTOR,
  .description = "a frozen CNN per frame: small conv blocks or torchvision's ResNet-18, "
                 "optionally with PyTorch weights",
  .keys = cnn_keys,
  .priv_size = sizeof (CnnPriv),
  .init = cnn_init,
  .process = cnn_process,
  .process_batch = cnn_process_batch,
  .finalize = cnn_finalize,
};
