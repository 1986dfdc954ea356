/* sinks.h — the stage classes of the sinks plugin, one per .c file. */
#ifndef SP_SINKS_H
#define SP_SINKS_H

#include <seqpipe/plugin.h>

extern const SpStageClass sp_sink_csv;
extern const SpStageClass sp_sink_jsonl;
extern const SpStageClass sp_sink_segments;
extern const SpStageClass sp_sink_srt;
extern const SpStageClass sp_sink_vtt;
extern const SpStageClass sp_sink_timeline;
extern const SpStageClass sp_sink_npy;
extern const SpStageClass sp_sink_txt;
extern const SpStageClass sp_sink_chapters;
extern const SpStageClass sp_sink_audacity;
extern const SpStageClass sp_sink_eaf;
extern const SpStageClass sp_sink_html;
extern const SpStageClass sp_sink_mux;

#endif
