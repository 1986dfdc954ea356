/* ffmpeg-scale.c — decoded frame -> [decoder] width x height RGB24, in one pass.
 *
 * Filter: SWS_BILINEAR, a tent filter that widens with the downscale factor (so a
 * strong reduction averages every source pixel instead of skipping rows), with
 * SWS_ACCURATE_RND | SWS_BITEXACT so that the result is the same on every x86 CPU
 * whatever SIMD it has: the per-frame checksums of the tests depend on it.
 *
 * Colour: YUV input is read with the matrix the frame declares (BT.601 when it
 * declares none, as the ffmpeg tool's scale filter does) and its range (limited
 * unless flagged full, or a yuvj format); RGB is written full range.
 *
 * Rotation: a picture that must be turned a quarter turn is scaled in its stored
 * orientation to dst_h x dst_w, then turned into dst; a half turn is done in place.
 */
#include "ffmpeg-scale.h"

#include <seqpipe/plugin.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#define SP_SWS_FLAGS (SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT)

/* the deprecated full-range yuvj formats as their plain twin + full range */
static enum AVPixelFormat
plain_format (enum AVPixelFormat f, int *range)
{
  switch (f)
    {
    case AV_PIX_FMT_YUVJ420P: *range = AVCOL_RANGE_JPEG; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: *range = AVCOL_RANGE_JPEG; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: *range = AVCOL_RANGE_JPEG; return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: *range = AVCOL_RANGE_JPEG; return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P: *range = AVCOL_RANGE_JPEG; return AV_PIX_FMT_YUV411P;
    default: return f;
    }
}

static gboolean
scale_to (SpScaler *sc, const AVFrame *src, uint8_t *dst, int dst_w, int dst_h,
          const char *path, GError **error)
{
  int range = src->color_range;
  enum AVPixelFormat fmt = plain_format ((enum AVPixelFormat) src->format, &range);

  if (sc->sws == NULL || sc->src_w != src->width || sc->src_h != src->height
      || sc->src_fmt != (int) fmt || sc->colorspace != (int) src->colorspace
      || sc->range != range || sc->dst_w != dst_w || sc->dst_h != dst_h)
    {
      sws_freeContext (sc->sws);
      sc->sws = sws_getContext (src->width, src->height, fmt, dst_w, dst_h,
                                AV_PIX_FMT_RGB24, SP_SWS_FLAGS, NULL, NULL, NULL);
      if (sc->sws == NULL)
        {
          g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                       "%s: cannot convert %dx%d %s frames to %dx%d RGB24", path,
                       src->width, src->height,
                       av_get_pix_fmt_name (fmt) ? av_get_pix_fmt_name (fmt) : "(unknown)",
                       dst_w, dst_h);
          return FALSE;
        }
      const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get (fmt);
      if (desc != NULL && !(desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL))
          && desc->nb_components >= 3)
        {
          /* brightness 0, contrast and saturation 1.0 in 16.16 fixed point */
          sws_setColorspaceDetails (sc->sws, sws_getCoefficients (src->colorspace),
                                    range == AVCOL_RANGE_JPEG,
                                    sws_getCoefficients (SWS_CS_DEFAULT), 1,
                                    0, 1 << 16, 1 << 16);
        }
      sc->src_w = src->width;
      sc->src_h = src->height;
      sc->src_fmt = fmt;
      sc->colorspace = src->colorspace;
      sc->range = range;
      sc->dst_w = dst_w;
      sc->dst_h = dst_h;
    }

  uint8_t *dst_planes[4] = { dst, NULL, NULL, NULL };
  int dst_strides[4] = { dst_w * 3, 0, 0, 0 };
  int rows = sws_scale (sc->sws, (const uint8_t *const *) src->data, src->linesize, 0,
                        src->height, dst_planes, dst_strides);
  if (rows != dst_h)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: scaling a %dx%d frame to %dx%d failed", path, src->width,
                   src->height, dst_w, dst_h);
      return FALSE;
    }
  return TRUE;
}

/* in place: pixel i <-> pixel n - 1 - i */
static void
turn_half (uint8_t *rgb, size_t n)
{
  for (size_t i = 0, j = n - 1; i < j; i++, j--)
    for (int c = 0; c < 3; c++)
      {
        uint8_t t = rgb[i * 3 + c];
        rgb[i * 3 + c] = rgb[j * 3 + c];
        rgb[j * 3 + c] = t;
      }
}

/* s: the stored picture, h x w (width h, height w); d: w x h.
 *   clockwise:         d(x, y) = s(y, w - 1 - x)
 *   counter-clockwise: d(x, y) = s(h - 1 - y, x) */
static void
turn_quarter (const uint8_t *s, uint8_t *d, int w, int h, gboolean clockwise)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int sx = clockwise ? y : h - 1 - y;
        int sy = clockwise ? w - 1 - x : x;
        memcpy (d + ((size_t) y * w + x) * 3, s + ((size_t) sy * h + sx) * 3, 3);
      }
}

gboolean
sp_scaler_convert (SpScaler *sc, const AVFrame *src, int turns, uint8_t *dst, int dst_w,
                   int dst_h, const char *path, GError **error)
{
  turns &= 3;
  if (turns == 0)
    return scale_to (sc, src, dst, dst_w, dst_h, path, error);
  if (turns == 2)
    {
      if (!scale_to (sc, src, dst, dst_w, dst_h, path, error))
        return FALSE;
      turn_half (dst, (size_t) dst_w * dst_h);
      return TRUE;
    }
  size_t size = (size_t) dst_w * dst_h * 3;
  if (sc->turn_size != size)
    {
      g_free (sc->turn_buf);
      sc->turn_buf = g_malloc (size);
      sc->turn_size = size;
    }
  if (!scale_to (sc, src, sc->turn_buf, dst_h, dst_w, path, error))
    return FALSE;
  turn_quarter (sc->turn_buf, dst, dst_w, dst_h, turns == 1);
  return TRUE;
}

void
sp_scaler_clear (SpScaler *sc)
{
  g_free (sc->turn_buf);
  sws_freeContext (sc->sws);
  memset (sc, 0, sizeof *sc);
}
