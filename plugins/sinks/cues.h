/* cues.h — what the subtitle sinks (srt.c, vtt.c) share: one cue per segment
 * (segmenter.h), cue text = the label's name, written as each segment closes. */
#ifndef SP_SINK_CUES_H
#define SP_SINK_CUES_H

#include <seqpipe/plugin.h>

#include "out.h"
#include "segmenter.h"

typedef struct {
  SpOut out;
  SpSegmenter seg;
  GString *line;
  gint64 n_cues;
} SpCuesPriv;

/* appends cue `number` (1-based) for segment s with text to l */
typedef void (*SpCueFormat) (GString *l, gint64 number, const SpSegment *s, const char *text);

/* opens the file and writes preamble (may be NULL) */
gboolean sp_cues_init (SpStage *st, const char *preamble, GError **error);
gboolean sp_cues_write (SpStage *st, const SpRecord *r, SpCueFormat format, GError **error);
gboolean sp_cues_flush (SpStage *st, SpCueFormat format, GError **error);
void sp_cues_finalize (SpStage *st);

#endif
