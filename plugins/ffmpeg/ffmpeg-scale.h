/* ffmpeg-scale.h — one swscale pass from a decoded frame to packed RGB24. */
#ifndef SP_FFMPEG_SCALE_H
#define SP_FFMPEG_SCALE_H

#include <glib.h>
#include <stdint.h>
#include <libavutil/frame.h>

typedef struct SwsContext SwsContext;

typedef struct {
  SwsContext *sws;
  /* what the context was made for; a change re-initialises it */
  int src_w, src_h, src_fmt, colorspace, range;
  int dst_w, dst_h;
  uint8_t *turn_buf;       /* the scaled picture before a quarter turn */
  size_t turn_size;
} SpScaler;

/* Converts and scales `src` (any pixel format libswscale reads) to dst_w x dst_h
 * RGB24 at `dst` (stride dst_w * 3), turned `turns` quarter turns clockwise (0-3)
 * so that a picture stored rotated comes out upright.  path names the input in
 * errors. */
gboolean sp_scaler_convert (SpScaler *sc, const AVFrame *src, int turns, uint8_t *dst,
                            int dst_w, int dst_h, const char *path, GError **error);
void sp_scaler_clear (SpScaler *sc);

#endif
