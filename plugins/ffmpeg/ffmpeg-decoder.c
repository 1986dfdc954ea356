/* ffmpeg-decoder.c — the `ffmpeg` decoder stage: video files through libavformat,
 * libavcodec and libswscale.
 *
 *  - stream: the best video stream (av_find_best_stream); other streams are discarded.
 *  - index: the frame's position among the frames the decoder outputs, in display
 *    order from the start of the stream (the order of ffprobe -show_frames), 0-based.
 *  - time: best_effort_timestamp (else pts, else the previous time plus the frame's
 *    duration) minus the stream's start_time (else the first frame's timestamp), in
 *    seconds.
 *  - fps: see ffmpeg-sampler.h; 0 delivers every decoded frame.
 *  - rotation: a stream whose display matrix turns it by a multiple of 90 degrees
 *    (phone videos) is delivered upright, as the ffmpeg tool shows it.
 *  - window [start, end): decoding starts at the last keyframe at or before `start`
 *    when ffmpeg-seek.c can still number the frames from the packets alone, and
 *    else at the stream's start; frames outside the window are dropped before
 *    scaling and decoding stops at the first frame at or after `end`.  The sample
 *    instants stay on the grid of the stream start, so a window delivers the same
 *    frames as a full run restricted to it.
 *  - broken frames: see ffmpeg-input.c; those outside the window are not reported.
 *  - frames that will not be delivered and that no other frame refers to are not
 *    decoded (ffmpeg-skip.h); they are numbered and sampled like decoded ones, so the
 *    delivered frames are those of decoding everything.  When the skip plan turns
 *    out wrong, decoding starts over without it and the frames already delivered
 *    are not delivered again.  SEQPIPE_FFMPEG_DECODE_ALL=1 in the environment turns
 *    skipping off, for tests that compare both ways.
 *  - libav's own log is silenced unless G_MESSAGES_DEBUG is set, so damaged inputs
 *    do not flood the terminal; failures reach the user as errors or broken frames.
 */
#include <gmodule.h>
#include <math.h>
#include <seqpipe/plugin.h>
#include <libavutil/log.h>

#include "ffmpeg-input.h"
#include "ffmpeg-sampler.h"
#include "ffmpeg-scale.h"
#include "ffmpeg-seek.h"
#include "ffmpeg-skip.h"

typedef struct {
  SpAvInput in;
  gboolean opened;
  AVFrame *frame;
  SpSampler sampler;
  SpScaler scaler;
  int64_t origin;          /* ticks of the stream start; AV_NOPTS_VALUE until known */
  int64_t last_ticks;      /* timestamp of the previous frame */
  int64_t n_decoded;       /* frames the decoder has output */
  double last_time;        /* seconds of the previous frame, -inf before the first */
  int turns;               /* clockwise quarter turns that make the picture upright */
  SpFrameIndex seek;       /* native numbers when decoding started at a window's keyframe */
  gboolean resumed;        /* the sampler has been set for the first frame after that */
  gboolean done;
  const SpInputInfo *input;  /* (transfer none) */
  SpSkipPlan plan;         /* frames not to decode; method SP_SKIP_NEVER when off */
  gboolean decode_all;     /* skipping is off (asked for, or the plan went wrong) */
  int64_t delivered;       /* index of the last frame delivered; -1 before the first */
  int broken_seen;         /* broken frames met since decoding (re)started */
  int broken_reported;     /* broken frames reported; a restart does not repeat them */
} FfDecoder;

static void
quiet_libav_once (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      if (g_getenv ("G_MESSAGES_DEBUG") == NULL)
        av_log_set_level (AV_LOG_QUIET);
      g_once_init_leave (&once, 1);
    }
}

/* expected frames: the window's length (clipped to the stream) times the native
 * rate (the stream's frame count over its duration, else its guessed rate), or times
 * the sample rate when that is lower */
static int64_t
expected_frames (const FfDecoder *d, const SpInputInfo *input, double fps)
{
  double dur = sp_av_input_duration (&d->in);
  const AVStream *s = d->in.stream;
  gboolean window = input->start > 0 || input->end >= 0;

  if (dur <= 0)
    return -1;
  double lo = input->start > 0 ? input->start : 0.0;
  double hi = (input->end >= 0 && input->end < dur) ? input->end : dur;
  if (hi <= lo)
    return 0;
  int64_t native = -1;
  if (!window && s->nb_frames > 0)
    native = s->nb_frames;
  else if (s->nb_frames > 0)
    native = (int64_t) ceil ((hi - lo) * s->nb_frames / dur);
  else
    {
      AVRational rate = av_guess_frame_rate (d->in.fmt, (AVStream *) s, NULL);
      if (rate.num > 0 && rate.den > 0)
        native = (int64_t) ceil ((hi - lo) * av_q2d (rate));
    }
  if (fps > 0)
    {
      int64_t sampled = (int64_t) ceil ((hi - lo) * fps);
      return native >= 0 && native < sampled ? native : sampled;
    }
  return native;
}

/* the SpSkipWanted of the plan: the sampler could take the frame at pts inside the
 * window.  Times as in ff_decode; before the stream start is known, anything may be. */
static gboolean
may_deliver (gpointer data, int64_t prev, int64_t pts)
{
  FfDecoder *d = data;
  const SpInputInfo *in = d->input;
  if (d->origin == AV_NOPTS_VALUE)
    return TRUE;
  double t = (pts - d->origin) * av_q2d (d->in.stream->time_base);
  if ((in->end >= 0 && t >= in->end) || (in->start > 0 && t < in->start))
    return FALSE;
  return sp_sampler_may_take (&d->sampler, prev == AV_NOPTS_VALUE ? prev : prev - d->origin,
                              pts - d->origin);
}

/* a fresh skip plan for d->in (opened) */
static void
attach_plan (FfDecoder *d)
{
  SpSkipMethod m = d->decode_all ? SP_SKIP_NEVER : sp_skip_method (d->in.codec->codec_id);
  sp_skip_clear (&d->plan);
  sp_skip_init (&d->plan, m, may_deliver, d);
  d->in.skip = m == SP_SKIP_NEVER ? NULL : &d->plan;
}

static gboolean
ff_init (SpStage *st, GError **error)
{
  FfDecoder *d = st->priv;
  const SpDecoderParams *p = st->decoder;

  quiet_libav_once ();
  if (p->width <= 0 || p->height <= 0)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "[decoder] width, height: the ffmpeg decoder needs a frame size, got %dx%d",
                   p->width, p->height);
      return FALSE;
    }
  d->frame = av_frame_alloc ();
  if (d->frame == NULL)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: out of memory", st->input->path);
      return FALSE;
    }
  d->opened = TRUE;
  d->input = st->input;
  d->delivered = -1;
  d->decode_all = g_strcmp0 (g_getenv ("SEQPIPE_FFMPEG_DECODE_ALL"), "1") == 0;
  if (!sp_av_input_open (&d->in, st->input->path, p->threads, error))
    return FALSE;

  d->origin = d->in.stream->start_time;
  if (st->input->start > 0 && d->origin != AV_NOPTS_VALUE)
    {
      double tb = av_q2d (d->in.stream->time_base);
      int64_t start = d->origin + (int64_t) floor (st->input->start / tb);
      if (!sp_av_seek_window (&d->in, p->threads, start, &d->seek, error))
        return FALSE;
    }
  /* after the seek, which may reopen the input */
  attach_plan (d);
  d->turns = sp_av_input_turns (&d->in);
  d->last_ticks = AV_NOPTS_VALUE;
  d->last_time = -INFINITY;
  sp_sampler_init (&d->sampler, p->fps, d->in.stream->time_base);
  sp_stage_set_expected_frames (st, expected_frames (d, st->input, p->fps));
  {
    /* where the input (its window) ends, for the sinks' last segment */
    double dur = sp_av_input_duration (&d->in);
    if (dur > 0)
      sp_stage_set_duration (st, st->input->end >= 0 ? MIN (st->input->end, dur) : dur);
  }
  return TRUE;
}

/* the frame's timestamp in ticks of the stream's time base */
static int64_t
frame_ticks (FfDecoder *d, const AVFrame *f)
{
  int64_t ts = f->best_effort_timestamp;
  if (ts == AV_NOPTS_VALUE)
    ts = f->pts;
  if (ts == AV_NOPTS_VALUE && d->last_ticks != AV_NOPTS_VALUE)
    {
      int64_t step = f->pkt_duration;
      AVRational rate = av_guess_frame_rate (d->in.fmt, d->in.stream, NULL);
      if (step <= 0 && rate.num > 0 && rate.den > 0)
        step = av_rescale_q (1, av_inv_q (rate), d->in.stream->time_base);
      ts = d->last_ticks + (step > 0 ? step : 1);
    }
  if (ts == AV_NOPTS_VALUE)
    ts = 0;
  d->last_ticks = ts;
  return ts;
}

/* The native number of the frame decoded at `ticks` (absolute).  After a seek to a
 * window's keyframe it comes from the packet index; FALSE when that index did not
 * predict the first frame's time (the caller starts over from the stream start). */
static gboolean
number_frame (FfDecoder *d, int64_t ticks, int64_t *index)
{
  *index = d->n_decoded;
  if (d->seek.active)
    {
      int64_t known = sp_frame_index_lookup (&d->seek, ticks);
      if (!d->resumed)
        {
          if (known < 0 || !sp_frame_index_has (&d->seek, ticks))
            return FALSE;
          /* sample as if the frame displayed before this one had been seen (a seek
           * happens only when the stream start, origin, is known) */
          int64_t prev = sp_frame_index_previous (&d->seek, ticks);
          if (prev != AV_NOPTS_VALUE)
            sp_sampler_skip_past (&d->sampler, prev - d->origin);
          d->resumed = TRUE;
        }
      if (known >= 0)
        *index = known;
    }
  d->n_decoded = *index + 1;
  return TRUE;
}

/* back to the stream's start: after a seek whose frames the packets did not predict
 * (nothing delivered yet), or after a skip plan went wrong (then without skipping;
 * the frames up to d->delivered and the first d->broken_reported broken ones are
 * not reported again) */
static gboolean
restart (SpStage *st, const char *why, GError **error)
{
  FfDecoder *d = st->priv;
  const char *path = d->in.path;
  g_debug ("%s: %s; decoding from the start", path, why);
  sp_frame_index_clear (&d->seek);
  sp_av_input_close (&d->in);
  if (!sp_av_input_open (&d->in, path, st->decoder->threads, error))
    return FALSE;
  attach_plan (d);
  d->broken_seen = 0;
  d->resumed = FALSE;
  d->n_decoded = 0;
  d->last_ticks = AV_NOPTS_VALUE;
  d->last_time = -INFINITY;
  sp_sampler_init (&d->sampler, st->decoder->fps, d->in.stream->time_base);
  return TRUE;
}

/* for tests and -v: how many frames went undecoded */
static void
report_skipped (const FfDecoder *d)
{
  g_debug ("%s: not decoded: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " frames, "
           "%" G_GINT64_FORMAT " packets sent", d->in.path, d->plan.n_skipped, d->n_decoded,
           d->in.n_sent);
}

static SpDecodeStatus
ff_decode (SpStage *st, SpFrame *frame, GError **error)
{
  FfDecoder *d = st->priv;
  const SpInputInfo *in = st->input;

  if (frame->rgb == NULL || frame->width != st->decoder->width
      || frame->height != st->decoder->height)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: the host handed a frame without a %dx%d RGB buffer", in->path,
                   st->decoder->width, st->decoder->height);
      return SP_DECODE_ERROR;
    }
  while (!d->done)
    {
      gboolean skipped = FALSE;
      switch (sp_av_input_next (&d->in, d->frame, error))
        {
        case SP_AV_FRAME:
          break;
        case SP_AV_SKIPPED:
          skipped = TRUE;
          break;
        case SP_AV_DIVERGED:
          d->decode_all = TRUE;
          if (!restart (st, "decoded frames do not fit the skip plan", error))
            return SP_DECODE_ERROR;
          continue;
        case SP_AV_BROKEN:
          /* only damage inside the window counts, and once */
          if ((d->last_time >= in->start || in->start <= 0)
              && ++d->broken_seen > d->broken_reported)
            {
              d->broken_reported++;
              return SP_DECODE_BROKEN;
            }
          continue;
        case SP_AV_EOF:
          report_skipped (d);
          d->done = TRUE;
          return SP_DECODE_EOF;
        case SP_AV_ERROR:
        default:
          return SP_DECODE_ERROR;
        }

      int64_t ticks = frame_ticks (d, d->frame);
      int64_t index;
      if (!number_frame (d, ticks, &index))
        {
          if (!restart (st, "frame times differ from packet times", error))
            return SP_DECODE_ERROR;
          continue;
        }
      if (d->origin == AV_NOPTS_VALUE)
        d->origin = ticks;
      ticks -= d->origin;
      double t = ticks * av_q2d (d->in.stream->time_base);
      d->last_time = t;

      if (in->end >= 0 && t >= in->end)
        {
          report_skipped (d);
          d->done = TRUE;
          return SP_DECODE_EOF;
        }
      /* sample before windowing, so the window does not move the sample grid */
      if (!sp_sampler_take (&d->sampler, ticks))
        continue;
      if (in->start > 0 && t < in->start)
        continue;
      /* a frame the plan did not decode is one to deliver after all: damage before
       * it, unseen by the plan, moved the samples */
      if (skipped)
        {
          d->decode_all = TRUE;
          if (!restart (st, "a frame that was not decoded is a sample", error))
            return SP_DECODE_ERROR;
          continue;
        }
      /* after a restart, what was delivered before is not delivered again */
      if (index <= d->delivered)
        continue;
      d->delivered = index;
      /* a picture the decoder put together with concealment (missing references,
       * damaged slices: what ffmpeg's -err_detect reports) is a broken frame, not
       * one to label: its pixels are partly guessed */
      if (d->frame->decode_error_flags != 0 || (d->frame->flags & AV_FRAME_FLAG_CORRUPT))
        {
          if (++d->broken_seen > d->broken_reported)
            {
              d->broken_reported++;
              return SP_DECODE_BROKEN;
            }
          continue;
        }

      if (!sp_scaler_convert (&d->scaler, d->frame, d->turns, frame->rgb, frame->width,
                              frame->height, in->path, error))
        return SP_DECODE_ERROR;
      frame->index = index;
      frame->time = t;
      return SP_DECODE_FRAME;
    }
  return SP_DECODE_EOF;
}

static void
ff_finalize (SpStage *st)
{
  FfDecoder *d = st->priv;
  if (d->opened)
    sp_av_input_close (&d->in);
  sp_frame_index_clear (&d->seek);
  sp_skip_clear (&d->plan);
  sp_scaler_clear (&d->scaler);
  av_frame_free (&d->frame);
}

static const char *const ff_extensions[] = {
  "mp4", "mkv", "webm", "avi", "mov", "ogv", "ogg", "m4v", "mpg", "mpeg", "ts", "mts",
  "flv", "wmv", "gif", "y4m", "nut", NULL
};

const SpStageClass sp_ffmpeg_decoder_class = {
  .name = "ffmpeg",
  .kind = SP_STAGE_DECODER,
  .description = "video files via libavformat/libavcodec, scaled once by libswscale",
  .keys = NULL,
  .priv_size = sizeof (FfDecoder),
  .extensions = ff_extensions,
  .init = ff_init,
  .decode = ff_decode,
  .finalize = ff_finalize,
};

SP_PLUGIN_DEFINE ("ffmpeg", "0.1.0", "Video decoding with FFmpeg's libraries", "MIT",
                  &sp_ffmpeg_decoder_class);
