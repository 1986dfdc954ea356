/* plugin.c — the cnn plugin's one exported descriptor. */
#include <gmodule.h>
#include <seqpipe/plugin.h>

extern const SpStageClass sp_extract_cnn;

SP_PLUGIN_DEFINE ("cnn", "0.1.0", "a convolutional frame extractor over libseqpipe-models",
                  "MIT", &sp_extract_cnn);
