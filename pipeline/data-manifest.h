/* data-manifest.h — manifests (DESIGN §5): CSV with a header row, RFC 4180 quoting,
 * paths relative to the manifest's directory. */
#ifndef SP_DATA_MANIFEST_H
#define SP_DATA_MANIFEST_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *path;                       /* resolved against the manifest's directory */
  char *label, *labels, *caption;   /* NULL when the column is absent */
  double start, end;                /* -1 when absent */
  int line;                         /* 1-based line of the row in the file */
} SpManifestRow;
typedef struct {
  char *file;
  SpManifestRow *rows;
  int n_rows;
  gboolean has_label, has_labels, has_caption;
} SpManifest;
/* Requires a `path` column; known columns: path, label, labels, caption, start, end;
 * any other column is an error naming it.  Errors name the file and line. */
SpManifest *sp_manifest_read (const char *path, GError **error);
void sp_manifest_free (SpManifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpManifest, sp_manifest_free)

G_END_DECLS

#endif
