/* plugin.c — the heads plugin's one exported descriptor. */
#include <gmodule.h>
#include <seqpipe/plugin.h>

#include "heads.h"

SP_PLUGIN_DEFINE ("heads", "0.1.0", "the labeler, classifier and captioner heads", "MIT",
                  &sp_head_labeler, &sp_head_classifier, &sp_head_captioner);
