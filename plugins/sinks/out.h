/* out.h — a sink's output file with every write checked.  Errors name the file:
 * "PATH: cannot write: No space left on device". */
#ifndef SP_SINK_OUT_H
#define SP_SINK_OUT_H

#include <glib.h>
#include <stdio.h>

typedef struct {
  FILE *fp;
  char *path;
} SpOut;

gboolean sp_out_open (SpOut *o, const char *path, GError **error);
gboolean sp_out_write (SpOut *o, const void *data, size_t n, GError **error);
/* writes s and empties it */
gboolean sp_out_gstring (SpOut *o, GString *s, GError **error);
gboolean sp_out_seek (SpOut *o, long offset, GError **error);
/* flushes, syncs and closes; FALSE if any of it failed */
gboolean sp_out_close (SpOut *o, GError **error);
/* closes without checking (after a failure, from finalize) */
void sp_out_abandon (SpOut *o);

#endif
