/* ffmpeg-input.c — demux one file and decode its best video stream.
 *
 * The loop is the send/receive model of libavcodec: receive until EAGAIN, then read
 * the next packet of our stream and send it; at the end of the file send the flush
 * packet and receive until EOF.  Frames come out in display order, exactly as
 * ffprobe -show_frames lists them, so counting them gives the native frame number.
 *
 * Damage: a packet the decoder rejects (send) or a frame it fails to finish
 * (receive) is reported as one broken frame and decoding goes on with the next
 * packet.  A container read error other than the end of file ends the input the
 * way the ffmpeg tool does (drain the decoder), and counts as one broken frame.
 *
 * Skipping (in->skip, ffmpeg-skip.h): each packet is sent as the plan says, with
 * skip_frame set for it or not at all; a decoded frame is held back until the
 * frames the plan kept from the decoder and that are displayed before it have been
 * handed out, so the caller still sees every frame of the stream in display order.
 */
#include "ffmpeg-input.h"

#include <math.h>
#include <seqpipe/plugin.h>
#include <libavutil/display.h>
#include <libavutil/error.h>

static void
set_av_error (GError **error, int code, const char *path, const char *what, int ret)
{
  char msg[AV_ERROR_MAX_STRING_SIZE] = { 0 };
  av_strerror (ret, msg, sizeof msg);
  g_set_error (error, SP_PLUGIN_ERROR, code, "%s: %s: %s", path, what, msg);
}

gboolean
sp_av_input_open (SpAvInput *in, const char *path, int threads, GError **error)
{
  int ret;
  const AVCodec *dec = NULL;

  memset (in, 0, sizeof *in);
  in->path = path;

  ret = avformat_open_input (&in->fmt, path, NULL, NULL);
  if (ret < 0)
    {
      set_av_error (error, SP_PLUGIN_ERROR_OPEN, path, "cannot open", ret);
      return FALSE;
    }
  ret = avformat_find_stream_info (in->fmt, NULL);
  if (ret < 0)
    {
      set_av_error (error, SP_PLUGIN_ERROR_FORMAT, path, "cannot read stream info", ret);
      return FALSE;
    }
  ret = av_find_best_stream (in->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
  if (ret == AVERROR_STREAM_NOT_FOUND)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                   "%s: no video stream", path);
      return FALSE;
    }
  if (ret < 0 || dec == NULL)
    {
      set_av_error (error, SP_PLUGIN_ERROR_FORMAT, path, "no decoder for the video stream",
                    ret < 0 ? ret : AVERROR_DECODER_NOT_FOUND);
      return FALSE;
    }
  in->stream = in->fmt->streams[ret];
  /* only our stream's packets are needed: the demuxer may skip the others */
  for (unsigned i = 0; i < in->fmt->nb_streams; i++)
    if ((int) i != in->stream->index)
      in->fmt->streams[i]->discard = AVDISCARD_ALL;

  in->codec = avcodec_alloc_context3 (dec);
  in->pkt = av_packet_alloc ();
  in->ahead = av_packet_alloc ();
  in->held = av_frame_alloc ();
  if (in->codec == NULL || in->pkt == NULL || in->ahead == NULL || in->held == NULL)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: out of memory for the decoder", path);
      return FALSE;
    }
  ret = avcodec_parameters_to_context (in->codec, in->stream->codecpar);
  if (ret < 0)
    {
      set_av_error (error, SP_PLUGIN_ERROR_FORMAT, path, "bad codec parameters", ret);
      return FALSE;
    }
  in->codec->pkt_timebase = in->stream->time_base;
  in->codec->thread_count = threads;
  in->codec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  ret = avcodec_open2 (in->codec, dec, NULL);
  if (ret < 0)
    {
      set_av_error (error, SP_PLUGIN_ERROR_FORMAT, path, "cannot open the video decoder", ret);
      return FALSE;
    }
  return TRUE;
}

/* the next packet of our stream into in->pkt: the one kept by a seek, the one read
 * ahead, or a new one; av_read_frame's answer */
static int
read_packet (SpAvInput *in)
{
  if (in->pending)
    {
      in->pending = FALSE;
      return 0;
    }
  if (in->has_ahead)
    {
      in->has_ahead = FALSE;
      av_packet_move_ref (in->pkt, in->ahead);
      return in->ahead_ret;
    }
  for (;;)
    {
      int rd = av_read_frame (in->fmt, in->pkt);
      if (rd < 0 || in->pkt->stream_index == in->stream->index)
        return rd;
      av_packet_unref (in->pkt);
    }
}

/* TRUE when the packet after in->pkt is a keyframe or there is none; it is kept for
 * the next read_packet() */
static gboolean
next_is_key (SpAvInput *in)
{
  if (!in->has_ahead)
    {
      for (;;)
        {
          in->ahead_ret = av_read_frame (in->fmt, in->ahead);
          if (in->ahead_ret < 0 || in->ahead->stream_index == in->stream->index)
            break;
          av_packet_unref (in->ahead);
        }
      in->has_ahead = TRUE;
    }
  if (in->ahead_ret < 0)
    return in->ahead_ret == AVERROR_EOF;
  return (in->ahead->flags & AV_PKT_FLAG_KEY) != 0;
}

/* a frame the plan kept from the decoder: no picture, only its time */
static SpAvStatus
skipped_frame (AVFrame *frame, int64_t pts)
{
  frame->pts = pts;
  frame->best_effort_timestamp = pts;
  return SP_AV_SKIPPED;
}

/* sends in->pkt as the skip plan says; avcodec_send_packet's answer, 0 when the
 * packet is not sent */
static int
send_planned (SpAvInput *in)
{
  SpSkipAction act = SP_SKIP_SEND;
  if (in->skip != NULL)
    {
      gboolean key_next = sp_skip_wants_next (in->skip, in->pkt) ? next_is_key (in) : FALSE;
      act = sp_skip_decide (in->skip, in->pkt, key_next);
    }
  if (act == SP_SKIP_DROP)
    return 0;
  /* with frame threads the context's skip_frame is copied for the packet when it is
   * submitted, which send does once receive has said EAGAIN; a second frame of a
   * packet that a bitstream filter split is submitted under the same setting,
   * since nothing changes it before the next send */
  in->codec->skip_frame = act == SP_SKIP_SEND_NONREF ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
  in->n_sent++;
  return avcodec_send_packet (in->codec, in->pkt);
}

SpAvStatus
sp_av_input_next (SpAvInput *in, AVFrame *frame, GError **error)
{
  int ret;
  int64_t pts;

  av_frame_unref (frame);
  for (;;)
    {
      /* a decoded frame waits for the skipped frames displayed before it */
      if (in->holding)
        {
          if (sp_skip_next_skipped (in->skip, in->held->best_effort_timestamp, &pts))
            return skipped_frame (frame, pts);
          av_frame_move_ref (frame, in->held);
          in->holding = FALSE;
          return SP_AV_FRAME;
        }
      if (in->eof)
        {
          if (in->skip != NULL && sp_skip_next_skipped (in->skip, G_MAXINT64, &pts))
            return skipped_frame (frame, pts);
          return SP_AV_EOF;
        }
      ret = avcodec_receive_frame (in->codec, frame);
      if (ret == 0)
        {
          if (in->skip == NULL)
            return SP_AV_FRAME;
          if (!sp_skip_decoded (in->skip, frame, &pts))
            {
              av_frame_unref (frame);
              return SP_AV_DIVERGED;
            }
          av_frame_move_ref (in->held, frame);
          in->holding = TRUE;
          continue;
        }
      if (ret == AVERROR_EOF)
        {
          in->eof = TRUE;
          continue;
        }
      if (ret != AVERROR (EAGAIN))
        return SP_AV_BROKEN;
      if (in->draining)
        {
          /* a drained decoder answers EOF, never EAGAIN; do not spin */
          in->eof = TRUE;
          continue;
        }

      int rd = read_packet (in);
      if (rd < 0)
        {
          in->draining = TRUE;
          ret = avcodec_send_packet (in->codec, NULL);
          if (ret < 0 && ret != AVERROR_EOF)
            {
              set_av_error (error, SP_PLUGIN_ERROR_FAILED, in->path, "cannot flush the decoder", ret);
              return SP_AV_ERROR;
            }
          if (rd != AVERROR_EOF && !(in->fmt->pb != NULL && avio_feof (in->fmt->pb)))
            return SP_AV_BROKEN;
          continue;
        }
      ret = send_planned (in);
      av_packet_unref (in->pkt);
      if (ret < 0 && ret != AVERROR (EAGAIN) && ret != AVERROR_EOF)
        return SP_AV_BROKEN;
    }
}

int
sp_av_input_turns (const SpAvInput *in)
{
  size_t size = 0;
  const uint8_t *m = av_stream_get_side_data (in->stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (m == NULL || size < 9 * sizeof (int32_t))
    return 0;
  /* av_display_rotation_get: counter-clockwise degrees; we turn clockwise */
  double cw = -round (av_display_rotation_get ((const int32_t *) m));
  if (isnan (cw))
    return 0;
  cw -= 360.0 * floor (cw / 360.0);
  double q = round (cw / 90.0);
  if (fabs (cw - 90.0 * q) > 1.0)
    return 0;
  return (int) q & 3;
}

double
sp_av_input_duration (const SpAvInput *in)
{
  if (in->stream->duration != AV_NOPTS_VALUE && in->stream->duration > 0)
    return in->stream->duration * av_q2d (in->stream->time_base);
  if (in->fmt->duration != AV_NOPTS_VALUE && in->fmt->duration > 0)
    return in->fmt->duration / (double) AV_TIME_BASE;
  return -1.0;
}

void
sp_av_input_close (SpAvInput *in)
{
  av_packet_free (&in->pkt);
  av_packet_free (&in->ahead);
  av_frame_free (&in->held);
  avcodec_free_context (&in->codec);
  avformat_close_input (&in->fmt);
  in->stream = NULL;
}
