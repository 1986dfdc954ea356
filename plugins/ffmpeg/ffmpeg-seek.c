/* ffmpeg-seek.c — start a window at its keyframe (see ffmpeg-seek.h).
 *
 * A frame's native number is the count of frames displayed before it.  When every
 * packet is one displayed frame — true of the codecs listed below in undamaged files
 * — that is the count of packets with a smaller pts, which a pass over the packets
 * gives without decoding them.  Packets come in decode order with non-decreasing dts
 * and dts <= pts, so once a packet with dts = X has been read, every packet with
 * pts < X has been: X is the horizon up to which (inclusive) numbers are looked up;
 * after it the decoder counts on from the last frame.
 *
 * Damage before the window is not seen this way: a frame that would fail to decode
 * there still counts as one, where decoding from the start would skip it.
 */
#include "ffmpeg-seek.h"

#include <stdlib.h>

/* codecs whose packets are exactly the displayed frames (not VP8, whose invisible
 * altref frames are packets of their own, nor MPEG-4 part 2, whose "packed" B-frames
 * put two frames in one AVI packet) */
static const enum AVCodecID one_frame_per_packet[] = {
  AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_MPEG1VIDEO, AV_CODEC_ID_MPEG2VIDEO,
  AV_CODEC_ID_MJPEG, AV_CODEC_ID_FFV1, AV_CODEC_ID_VP9, AV_CODEC_ID_AV1,
  AV_CODEC_ID_PRORES, AV_CODEC_ID_DNXHD,
};

static gboolean
codec_listed (enum AVCodecID id)
{
  for (gsize i = 0; i < G_N_ELEMENTS (one_frame_per_packet); i++)
    if (one_frame_per_packet[i] == id)
      return TRUE;
  return FALSE;
}

static int
cmp_int64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

static gboolean
reopen (SpAvInput *in, int threads, GError **error)
{
  const char *path = in->path;
  sp_av_input_close (in);
  return sp_av_input_open (in, path, threads, error);
}

/* after av_seek_frame: the first packet of the stream must be a keyframe no later
 * than the one aimed at; it is kept for the decoder */
static gboolean
landed_before (SpAvInput *in, int64_t key_pts, int64_t key_dts)
{
  while (av_read_frame (in->fmt, in->pkt) >= 0)
    {
      AVPacket *p = in->pkt;
      if (p->stream_index != in->stream->index)
        {
          av_packet_unref (p);
          continue;
        }
      if ((p->flags & AV_PKT_FLAG_KEY)
          && ((p->pts != AV_NOPTS_VALUE && p->pts <= key_pts)
              || (p->dts != AV_NOPTS_VALUE && p->dts <= key_dts)))
        {
          in->pending = TRUE;
          return TRUE;
        }
      av_packet_unref (p);
      return FALSE;
    }
  return FALSE;
}

gboolean
sp_av_seek_window (SpAvInput *in, int threads, int64_t start, SpFrameIndex *idx,
                   GError **error)
{
  memset (idx, 0, sizeof *idx);
  if (!codec_listed (in->codec->codec_id) || in->fmt->pb == NULL
      || !(in->fmt->pb->seekable & AVIO_SEEKABLE_NORMAL))
    return TRUE;

  g_autoptr (GArray) pts = g_array_new (FALSE, FALSE, sizeof (int64_t));
  int64_t key_pts = AV_NOPTS_VALUE, key_dts = AV_NOPTS_VALUE, last_dts = G_MININT64;
  int64_t horizon = G_MAXINT64;
  guint key_at = 0;
  gboolean usable = TRUE;
  for (;;)
    {
      int ret = av_read_frame (in->fmt, in->pkt);
      if (ret < 0)
        {
          usable = ret == AVERROR_EOF;
          break;
        }
      AVPacket *p = in->pkt;
      if (p->stream_index != in->stream->index)
        {
          av_packet_unref (p);
          continue;
        }
      /* the first packets of a stream with B-frames may have no dts yet (Matroska
       * stores only pts); every packet needs a pts, and known dts must not go back */
      gboolean has_dts = p->dts != AV_NOPTS_VALUE;
      if (p->pts == AV_NOPTS_VALUE || (has_dts && (p->dts < last_dts || p->pts < p->dts))
          || (p->flags & (AV_PKT_FLAG_DISCARD | AV_PKT_FLAG_CORRUPT)))
        {
          av_packet_unref (p);
          usable = FALSE;
          break;
        }
      if (has_dts)
        last_dts = p->dts;
      if ((p->flags & AV_PKT_FLAG_KEY) && p->pts <= start)
        {
          key_pts = p->pts;
          key_dts = p->dts;
          key_at = pts->len;
        }
      g_array_append_val (pts, p->pts);
      gboolean reached = has_dts && p->dts >= start;
      if (reached)
        horizon = p->dts;
      av_packet_unref (p);
      if (reached)
        break;
    }

  /* worth it only when the keyframe is not the first packet anyway */
  if (usable && key_pts != AV_NOPTS_VALUE && key_at > 0
      && av_seek_frame (in->fmt, in->stream->index,
                        key_dts != AV_NOPTS_VALUE ? key_dts : key_pts, AVSEEK_FLAG_BACKWARD) >= 0
      && landed_before (in, key_pts, key_dts))
    {
      avcodec_flush_buffers (in->codec);
      qsort (pts->data, pts->len, sizeof (int64_t), cmp_int64);
      idx->n = pts->len;
      idx->pts = (int64_t *) g_array_free (g_steal_pointer (&pts), FALSE);
      idx->horizon = horizon;
      idx->active = TRUE;
      g_debug ("%s: window starts at the keyframe at pts %" G_GINT64_FORMAT, in->path, key_pts);
      return TRUE;
    }
  return reopen (in, threads, error);
}

/* number of entries < pts (binary search) */
static size_t
count_below (const SpFrameIndex *idx, int64_t pts)
{
  size_t lo = 0, hi = idx->n;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (idx->pts[mid] < pts)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

int64_t
sp_frame_index_lookup (const SpFrameIndex *idx, int64_t pts)
{
  if (!idx->active || pts > idx->horizon)
    return -1;
  return (int64_t) count_below (idx, pts);
}

gboolean
sp_frame_index_has (const SpFrameIndex *idx, int64_t pts)
{
  size_t i = count_below (idx, pts);
  return i < idx->n && idx->pts[i] == pts;
}

int64_t
sp_frame_index_previous (const SpFrameIndex *idx, int64_t pts)
{
  size_t i = count_below (idx, pts);
  return i > 0 ? idx->pts[i - 1] : AV_NOPTS_VALUE;
}

void
sp_frame_index_clear (SpFrameIndex *idx)
{
  g_free (idx->pts);
  memset (idx, 0, sizeof *idx);
}
