/* image-decoder.c — the `image` decoder stage: one image = one frame.
 *
 *  - input: a single image, a directory (images in natural order) or a numbered
 *    pattern such as frames/%05d.png; see image-list.h.
 *  - pixels: stb_image, converted to RGB (grey is replicated, alpha dropped, 16-bit
 *    and HDR reduced to 8 bits by stb_image), then resized to [decoder] width x
 *    height by stb_image_resize with the triangle (tent) filter, edges clamped, in
 *    the stored (non-linearised) values — the counterpart of the ffmpeg decoder's
 *    bilinear swscale, deterministic for a given build.  An image already at the
 *    target size is copied unchanged.
 *  - frame i: index = i, time = i / fps, or i when fps = 0 (one image per second).
 *    Every image is delivered: `fps` only gives the images' times.
 *  - window [start, end): the images whose time lies in it.
 *  - an image that cannot be read or decoded is an error naming its file.
 */
#include <math.h>
#include <seqpipe/plugin.h>
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <string.h>

#include "image-list.h"
#include "frame-times.h"

typedef struct {
  char **files;          /* NULL-terminated, in frame order */
  int64_t n_files;
  int64_t next, end;     /* next image to deliver, end of the window */
} ImageDecoder;

static gboolean
image_init (SpStage *st, GError **error)
{
  ImageDecoder *d = st->priv;
  const SpDecoderParams *p = st->decoder;

  if (p->width <= 0 || p->height <= 0)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "[decoder] width, height: the image decoder needs a frame size, got %dx%d",
                   p->width, p->height);
      return FALSE;
    }
  d->files = sp_image_list (st->input->path, error);
  if (d->files == NULL)
    return FALSE;
  d->n_files = g_strv_length (d->files);
  d->next = sp_first_frame_at (p->fps, st->input->start, d->n_files);
  d->end = st->input->end >= 0 ? sp_first_frame_at (p->fps, st->input->end, d->n_files)
                               : d->n_files;
  if (d->end < d->next)
    d->end = d->next;
  sp_stage_set_expected_frames (st, d->end - d->next);
  return TRUE;
}

/* src (w x h RGB24) -> dst (W x H RGB24, stride W * 3) */
static gboolean
scale_rgb (const unsigned char *src, int w, int h, uint8_t *dst, int W, int H)
{
  if (w == W && h == H)
    {
      memcpy (dst, src, (size_t) W * H * 3);
      return TRUE;
    }
  return stbir_resize_uint8_generic (src, w, h, 0, dst, W, H, W * 3, 3,
                                     STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                     STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR,
                                     NULL) == 1;
}

static SpDecodeStatus
image_decode (SpStage *st, SpFrame *frame, GError **error)
{
  ImageDecoder *d = st->priv;

  if (d->next >= d->end)
    return SP_DECODE_EOF;
  if (frame->rgb == NULL || frame->width != st->decoder->width
      || frame->height != st->decoder->height)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: the host handed a frame without a %dx%d RGB buffer",
                   st->input->path, st->decoder->width, st->decoder->height);
      return SP_DECODE_ERROR;
    }

  const char *file = d->files[d->next];
  int w = 0, h = 0, comp = 0;
  unsigned char *pixels = stbi_load (file, &w, &h, &comp, 3);
  if (pixels == NULL)
    {
      const char *why = stbi_failure_reason ();
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                   "%s: cannot read the image: %s", file, why != NULL ? why : "unknown error");
      return SP_DECODE_ERROR;
    }
  gboolean ok = scale_rgb (pixels, w, h, frame->rgb, frame->width, frame->height);
  stbi_image_free (pixels);
  if (!ok)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: cannot resize the %dx%d image to %dx%d", file, w, h,
                   frame->width, frame->height);
      return SP_DECODE_ERROR;
    }
  frame->index = d->next;
  frame->time = sp_frame_time (st->decoder->fps, d->next);
  d->next++;
  return SP_DECODE_FRAME;
}

static void
image_finalize (SpStage *st)
{
  ImageDecoder *d = st->priv;
  g_strfreev (d->files);
}

/* gif is left to the ffmpeg decoder, which reads every frame of an animation; a gif
 * inside a directory or pattern, or named with plugin = image, is read here */
static const char *const image_extensions[] = {
  "png", "jpg", "jpeg", "bmp", "tga", "ppm", "pgm", "pnm", "psd", "hdr", "pic", "/", NULL
};

const SpStageClass sp_image_decoder_class = {
  .name = "image",
  .kind = SP_STAGE_DECODER,
  .description = "still images, directories of images and numbered patterns (stb_image)",
  .keys = NULL,
  .priv_size = sizeof (ImageDecoder),
  .extensions = image_extensions,
  .init = image_init,
  .decode = image_decode,
  .finalize = image_finalize,
};

SP_PLUGIN_DEFINE ("image", "0.1.0", "Images and image sequences with stb_image", "MIT",
                  &sp_image_decoder_class);
