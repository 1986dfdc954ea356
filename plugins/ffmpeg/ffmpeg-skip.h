/* ffmpeg-skip.h — which packets need not be decoded under `fps` sampling, and where
 * the frames they would have given stand in display order.
 *
 * A frame may go undecoded only when no other frame refers to it and it will not be
 * delivered.  Two ways, by codec:
 *  - NONREF (H.264, MPEG-1/2 video, MPEG-4 part 2): the packet is sent with
 *    skip_frame = AVDISCARD_NONREF, so the decoder itself, which knows from the
 *    bitstream whether the picture is a reference (nal_ref_idc, B-VOP/B-picture),
 *    drops it or decodes it as usual (B-frames of a pyramid are references).
 *  - UNSENT (raw video, FFV1): frames that depend on nothing before the next
 *    keyframe; a packet followed by a keyframe packet (or by the end) is not sent.
 * Other codecs decode every packet: without a way to tell reference-ness, correctness
 * comes first.
 *
 * "Will not be delivered" is decided at send time from the packets read so far: with
 * the frames in display order f_0 < f_1 < ... (their pts), the sampler takes f_i
 * exactly when an instant lies in (f_{i-1}, f_i] (see ffmpeg-sampler.h).  A frame
 * displayed before f_i but not read yet can only raise f_{i-1}, which shrinks the
 * interval, so "no instant in it" stays true: the decision never skips a frame the
 * sampler would take.  The decoder stage still feeds every skipped frame through its
 * sampler and restarts without skipping should one be taken (a damaged frame before
 * it, which the plan could not see, moves the sample grid).
 *
 * Placeholders: a frame not decoded is still a frame of the stream (it has a native
 * number and a time, its packet's pts).  The frames that come out of the decoder
 * have distinct, increasing pts equal to their best_effort_timestamp (checked); a
 * skipped frame is reported just before the first decoded frame displayed after it,
 * or at the end.  Whatever breaks those assumptions once something was skipped makes
 * the plan "diverged": the caller decodes again from the start without skipping.
 *
 * Damage in a frame that is not decoded is not seen: it counts as a frame (not a
 * broken one), where full decoding would have reported it broken and numbered the
 * frames after it one lower.
 */
#ifndef SP_FFMPEG_SKIP_H
#define SP_FFMPEG_SKIP_H

#include <glib.h>
#include <stdint.h>
#include <libavcodec/avcodec.h>

typedef enum {
  SP_SKIP_NEVER,
  SP_SKIP_NONREF,
  SP_SKIP_UNSENT,
} SpSkipMethod;

typedef enum {
  SP_SKIP_SEND,          /* decode as usual */
  SP_SKIP_SEND_NONREF,   /* send with skip_frame = AVDISCARD_NONREF */
  SP_SKIP_DROP,          /* do not send */
} SpSkipAction;

/* TRUE when the frame at pts (absolute ticks), displayed right after the frame at
 * prev (AV_NOPTS_VALUE: none known), might be delivered */
typedef gboolean (*SpSkipWanted) (gpointer data, int64_t prev, int64_t pts);

typedef struct {
  SpSkipMethod method;
  SpSkipWanted wanted;
  gpointer data;
  GArray *seen;          /* sorted pts of the packets read (int64_t) */
  GArray *open;          /* sorted pts of packets sent with NONREF or dropped whose
                          * frame has not come out yet */
  int64_t last_out;      /* pts of the last frame reported; AV_NOPTS_VALUE before */
  gboolean off;          /* stopped planning: the packets or frames do not fit */
  gboolean used;         /* some packet was sent with NONREF or dropped */
  int64_t n_skipped;     /* frames reported as not decoded */
} SpSkipPlan;

SpSkipMethod sp_skip_method (enum AVCodecID id);
/* method SP_SKIP_NEVER leaves every packet alone */
void sp_skip_init (SpSkipPlan *p, SpSkipMethod method, SpSkipWanted wanted, gpointer data);
void sp_skip_clear (SpSkipPlan *p);

/* What to do with pkt, the next packet of the stream in decode order.  next_key:
 * the packet after it is a keyframe or there is none (asked only for UNSENT). */
SpSkipAction sp_skip_decide (SpSkipPlan *p, const AVPacket *pkt, gboolean next_key);
/* TRUE when UNSENT needs to know whether the packet after pkt is a keyframe */
gboolean sp_skip_wants_next (const SpSkipPlan *p, const AVPacket *pkt);

/* A decoded frame came out; *pts gets its time.  FALSE when the plan diverged. */
gboolean sp_skip_decoded (SpSkipPlan *p, const AVFrame *frame, int64_t *pts);
/* The next frame that was not decoded and is displayed before `before`
 * (G_MAXINT64: any), in *pts; FALSE when there is none. */
gboolean sp_skip_next_skipped (SpSkipPlan *p, int64_t before, int64_t *pts);

#endif
