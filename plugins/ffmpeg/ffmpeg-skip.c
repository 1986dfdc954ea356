/* ffmpeg-skip.c — the skip plan of ffmpeg-skip.h. */
#include "ffmpeg-skip.h"

SpSkipMethod
sp_skip_method (enum AVCodecID id)
{
  switch (id)
    {
    /* the decoders whose AVDISCARD_NONREF drops exactly the pictures nothing refers
     * to: H.264 by nal_ref_idc = 0, the MPEG ones their B-pictures.  Not HEVC, whose
     * sub-layer non-reference pictures may be references of a higher temporal layer. */
    case AV_CODEC_ID_H264:
    case AV_CODEC_ID_MPEG1VIDEO:
    case AV_CODEC_ID_MPEG2VIDEO:
    case AV_CODEC_ID_MPEG4:
      return SP_SKIP_NONREF;
    /* every keyframe resets the decoder: a frame followed by a keyframe is needed by
     * none.  Not MJPEG: its Huffman and quantisation tables carry over to the frames
     * after the one that defines them. */
    case AV_CODEC_ID_RAWVIDEO:
    case AV_CODEC_ID_FFV1:
      return SP_SKIP_UNSENT;
    default:
      return SP_SKIP_NEVER;
    }
}

void
sp_skip_init (SpSkipPlan *p, SpSkipMethod method, SpSkipWanted wanted, gpointer data)
{
  memset (p, 0, sizeof *p);
  p->method = method;
  p->wanted = wanted;
  p->data = data;
  p->seen = g_array_new (FALSE, FALSE, sizeof (int64_t));
  p->open = g_array_new (FALSE, FALSE, sizeof (int64_t));
  p->last_out = AV_NOPTS_VALUE;
  p->off = method == SP_SKIP_NEVER;
}

void
sp_skip_clear (SpSkipPlan *p)
{
  if (p->seen != NULL)
    g_array_unref (p->seen);
  if (p->open != NULL)
    g_array_unref (p->open);
  memset (p, 0, sizeof *p);
}

/* number of entries of the sorted array a that are < v */
static guint
count_below (const GArray *a, int64_t v)
{
  guint lo = 0, hi = a->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (g_array_index (a, int64_t, mid) < v)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* inserts v into the sorted array a; FALSE (and nothing inserted) when it is there */
static gboolean
insert_sorted (GArray *a, int64_t v)
{
  guint i = count_below (a, v);
  if (i < a->len && g_array_index (a, int64_t, i) == v)
    return FALSE;
  g_array_insert_val (a, i, v);
  return TRUE;
}

gboolean
sp_skip_wants_next (const SpSkipPlan *p, const AVPacket *pkt)
{
  return !p->off && p->method == SP_SKIP_UNSENT && pkt->pts != AV_NOPTS_VALUE;
}

SpSkipAction
sp_skip_decide (SpSkipPlan *p, const AVPacket *pkt, gboolean next_key)
{
  if (p->off)
    return SP_SKIP_SEND;
  /* a packet the demuxer marks as not to be shown (before an edit list's start) is
   * decoded and dropped by libavcodec: it is no displayed frame, and a reference
   * perhaps */
  if (pkt->flags & AV_PKT_FLAG_DISCARD)
    return SP_SKIP_SEND;
  /* frames are told apart by their pts: without one, or with one seen before, the
   * plan cannot place them */
  if (pkt->pts == AV_NOPTS_VALUE || !insert_sorted (p->seen, pkt->pts))
    {
      g_debug ("packet without a distinct pts: no more frames are skipped");
      p->off = TRUE;
      return SP_SKIP_SEND;
    }
  if ((pkt->flags & AV_PKT_FLAG_CORRUPT) || (p->method == SP_SKIP_UNSENT && !next_key))
    return SP_SKIP_SEND;

  guint i = count_below (p->seen, pkt->pts);
  int64_t prev = i > 0 ? g_array_index (p->seen, int64_t, i - 1) : AV_NOPTS_VALUE;
  if (p->wanted (p->data, prev, pkt->pts))
    return SP_SKIP_SEND;
  insert_sorted (p->open, pkt->pts);
  p->used = TRUE;
  return p->method == SP_SKIP_UNSENT ? SP_SKIP_DROP : SP_SKIP_SEND_NONREF;
}

gboolean
sp_skip_decoded (SpSkipPlan *p, const AVFrame *frame, int64_t *pts)
{
  int64_t ts = frame->best_effort_timestamp;
  *pts = ts;
  if (p->method == SP_SKIP_NEVER)
    return TRUE;
  /* a frame's time must be its packet's pts, and times must increase, for the
   * skipped frames to be numbered and timed as the decoder would have */
  if (ts == AV_NOPTS_VALUE || ts != frame->pts
      || (p->last_out != AV_NOPTS_VALUE && ts <= p->last_out))
    {
      if (p->used)
        return FALSE;
      if (!p->off)
        g_debug ("frame times are not their packets' pts: no frames are skipped");
      p->off = TRUE;
      return TRUE;
    }
  p->last_out = ts;
  /* sent with NONREF but a reference, so decoded after all */
  guint i = count_below (p->open, ts);
  if (i < p->open->len && g_array_index (p->open, int64_t, i) == ts)
    g_array_remove_index (p->open, i);
  return TRUE;
}

gboolean
sp_skip_next_skipped (SpSkipPlan *p, int64_t before, int64_t *pts)
{
  if (p->open == NULL || p->open->len == 0)
    return FALSE;
  int64_t first = g_array_index (p->open, int64_t, 0);
  if (before != G_MAXINT64 && first >= before)
    return FALSE;
  g_array_remove_index (p->open, 0);
  *pts = first;
  p->n_skipped++;
  return TRUE;
}
