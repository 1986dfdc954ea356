/* ffmpeg-seek.h — start a window at its keyframe instead of decoding all that
 * precedes it, and still number frames as if the whole stream had been decoded. */
#ifndef SP_FFMPEG_SEEK_H
#define SP_FFMPEG_SEEK_H

#include "ffmpeg-input.h"

typedef struct {
  gboolean active;     /* the input was positioned at a keyframe before the window */
  int64_t *pts;        /* [n] sorted pts of the packets read before the horizon */
  size_t n;
  int64_t horizon;     /* every packet with pts < horizon is in pts[] */
} SpFrameIndex;

/* Reads the packets of in's stream from its start up to the first one with
 * dts >= start (ticks of the stream's time base, absolute), then seeks to the last
 * keyframe at or before start.  When the stream does not allow it (an unlisted codec,
 * an unseekable file, a packet without pts or dts, discarded or corrupt packets, a
 * seek that lands after that keyframe) the input is reopened at its start and
 * idx->active is FALSE.  FALSE + error only when reopening fails. */
gboolean sp_av_seek_window (SpAvInput *in, int threads, int64_t start, SpFrameIndex *idx,
                            GError **error);

/* The native frame number of the frame at pts (count of packets before it in
 * display order), or -1 when pts is beyond the horizon. */
int64_t sp_frame_index_lookup (const SpFrameIndex *idx, int64_t pts);
/* TRUE when a packet read had exactly this pts */
gboolean sp_frame_index_has (const SpFrameIndex *idx, int64_t pts);
/* The pts of the packet displayed just before pts, or AV_NOPTS_VALUE. */
int64_t sp_frame_index_previous (const SpFrameIndex *idx, int64_t pts);
void sp_frame_index_clear (SpFrameIndex *idx);

#endif
