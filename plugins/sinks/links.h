/* links.h — how an export names its input: as an absolute file: URI, and as a URL
 * relative to the export's own directory (so the export and the media can move
 * together).  The output path's directory is the final file's: the host's temporary
 * name sits beside it. */
#ifndef SP_SINK_LINKS_H
#define SP_SINK_LINKS_H

#include <seqpipe/plugin.h>

/* file:///abs/path of the input (transfer full), NULL when it has no path */
char *sp_sink_input_uri (SpStage *st);
/* the input relative to dirname (st->output_path), each path segment percent-encoded,
 * e.g. "../clips/a%20b.mp4" (transfer full); NULL when it has no path */
char *sp_sink_input_relative_url (SpStage *st);

#endif
