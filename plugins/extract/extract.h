/* extract.h — the stage classes of the extract plugin. */
#ifndef SP_EXTRACT_H
#define SP_EXTRACT_H

#include <seqpipe/plugin.h>

extern const SpStageClass sp_extract_basic;

#endif
