/* plugin.c — the sinks plugin's one exported descriptor. */
#include <gmodule.h>
#include <seqpipe/plugin.h>

#include "sinks.h"

SP_PLUGIN_DEFINE ("sinks", "0.1.0", "exporters: CSV, JSON Lines, segments, subtitles, "
                  "timeline PNG, NumPy features, label files, chapters, label tracks, ELAN, "
                  "HTML review, a labelled copy of the input", "MIT",
                  &sp_sink_csv, &sp_sink_jsonl, &sp_sink_segments, &sp_sink_srt,
                  &sp_sink_vtt, &sp_sink_timeline, &sp_sink_npy, &sp_sink_txt,
                  &sp_sink_chapters, &sp_sink_audacity, &sp_sink_eaf, &sp_sink_html,
                  &sp_sink_mux);
