/* ffmpeg-input.h — one video stream of one file, decoded frame by frame in display order. */
#ifndef SP_FFMPEG_INPUT_H
#define SP_FFMPEG_INPUT_H

#include <glib.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "ffmpeg-skip.h"

typedef enum {
  SP_AV_FRAME,    /* a decoded frame was written */
  SP_AV_BROKEN,   /* one packet or frame failed to decode; call again */
  SP_AV_SKIPPED,  /* a frame that was not decoded (ffmpeg-skip.h): only its pts and
                   * best_effort_timestamp are set */
  SP_AV_DIVERGED, /* the skip plan no longer holds: decode again without one */
  SP_AV_EOF,      /* the decoder is drained */
  SP_AV_ERROR,    /* fatal; *error is set */
} SpAvStatus;

typedef struct {
  const char *path;          /* (transfer none) for messages */
  AVFormatContext *fmt;
  AVCodecContext *codec;
  AVStream *stream;          /* the best video stream of fmt */
  AVPacket *pkt;
  AVPacket *ahead;           /* the packet after pkt, read to decide on pkt */
  int ahead_ret;             /* av_read_frame's answer for it; < 0 when there is none */
  gboolean has_ahead;
  AVFrame *held;             /* a decoded frame waiting for the skipped frames before it */
  gboolean holding;
  SpSkipPlan *skip;          /* (transfer none) may be NULL: decode every packet */
  int64_t n_sent;            /* packets sent to the decoder */
  gboolean pending;          /* pkt holds a packet read ahead: send it first */
  gboolean draining;         /* the flush packet was sent */
  gboolean eof;
} SpAvInput;

/* Opens path, picks the best video stream and opens its decoder with `threads`
 * codec threads (0 = as many as libavcodec chooses).  Errors name the file. */
gboolean sp_av_input_open (SpAvInput *in, const char *path, int threads, GError **error);
/* The next frame in display order into `frame` (unreferenced first): decoded, or,
 * with in->skip set, one the plan kept from the decoder.  Every failed
 * avcodec_send_packet() or avcodec_receive_frame() and a container read error
 * before the end of the file each count as one SP_AV_BROKEN. */
SpAvStatus sp_av_input_next (SpAvInput *in, AVFrame *frame, GError **error);
void sp_av_input_close (SpAvInput *in);

/* Clockwise quarter turns (0-3) that display the stream upright, from its display
 * matrix as the ffmpeg tool reads it; 0 without one or for angles that are not a
 * multiple of 90 degrees. */
int sp_av_input_turns (const SpAvInput *in);

/* The stream's duration in seconds, or a negative value when unknown. */
double sp_av_input_duration (const SpAvInput *in);

#endif
