/* plugin.c — the extract plugin's one exported descriptor. */
#include <gmodule.h>
#include <seqpipe/plugin.h>

#include "extract.h"

SP_PLUGIN_DEFINE ("extract", "0.1.0", "built-in feature extractors", "MIT",
                  &sp_extract_basic);
