/* data-manifest.c — dataset manifests (DESIGN §5): CSV with a header row naming the
 * columns path (required), label, labels, caption, start, end.  `path` is resolved
 * against the manifest's directory; other values are kept as written.  Errors name
 * the file and line. */
#include "data-csv.h"
#include "data-manifest.h"
#include "host-errors.h"
#include "host-keys.h"

#include <math.h>

enum { COL_PATH, COL_LABEL, COL_LABELS, COL_CAPTION, COL_START, COL_END, N_COLS };
static const char *const columns[] = { "path", "label", "labels", "caption", "start", "end", NULL };

void
sp_manifest_free (SpManifest *m)
{
  if (!m)
    return;
  for (int i = 0; i < m->n_rows; i++) {
    g_free (m->rows[i].path);
    g_free (m->rows[i].label);
    g_free (m->rows[i].labels);
    g_free (m->rows[i].caption);
  }
  g_free (m->rows);
  g_free (m->file);
  g_free (m);
}

static gboolean
manifest_error (GError **error, const char *file, int line, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

static gboolean
manifest_error (GError **error, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s:%d: %s", file, line, msg);
  return FALSE;
}

/* seconds >= 0, or -1 for an empty field */
static gboolean
parse_seconds (const char *text, double *out)
{
  g_autofree char *t = g_strstrip (g_strdup (text));
  if (!*t) {
    *out = -1;
    return TRUE;
  }
  char *end = NULL;
  double v = g_ascii_strtod (t, &end);
  if (*end != '\0' || !isfinite (v) || v < 0)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
read_header (const char *file, const SpCsvRow *header, int *col_of, GError **error)
{
  for (int c = 0; c < N_COLS; c++)
    col_of[c] = -1;
  for (int f = 0; f < header->n; f++) {
    g_autofree char *name = g_strstrip (g_strdup (header->fields[f]));
    int c = 0;
    while (columns[c] && !g_str_equal (columns[c], name))
      c++;
    if (!columns[c]) {
      g_autofree char *hint = sp_suggest_text (name, columns);
      return manifest_error (error, file, header->line,
                             "unknown column '%s'%s (columns: path, label, labels, caption, "
                             "start, end)", name, hint);
    }
    if (col_of[c] >= 0)
      return manifest_error (error, file, header->line, "column '%s' appears twice", name);
    col_of[c] = f;
  }
  if (col_of[COL_PATH] < 0)
    return manifest_error (error, file, header->line, "no 'path' column in the header");
  return TRUE;
}

SpManifest *
sp_manifest_read (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SpCsv) csv = sp_csv_read (path, &local);
  if (!csv) {
    g_set_error_literal (error, SP_ERROR, SP_ERROR_CONFIG, local->message);
    return NULL;
  }
  if (csv->n_rows == 0) {
    manifest_error (error, path, 1, "empty; expected a header row with a 'path' column");
    return NULL;
  }
  int col_of[N_COLS];
  if (!read_header (path, &csv->rows[0], col_of, error))
    return NULL;

  g_autoptr (SpManifest) m = g_new0 (SpManifest, 1);
  m->file = g_strdup (path);
  m->has_label = col_of[COL_LABEL] >= 0;
  m->has_labels = col_of[COL_LABELS] >= 0;
  m->has_caption = col_of[COL_CAPTION] >= 0;
  m->rows = g_new0 (SpManifestRow, (gsize) csv->n_rows);
  g_autofree char *dir = g_path_get_dirname (path);
  int width = csv->rows[0].n;
  for (int r = 1; r < csv->n_rows; r++) {
    const SpCsvRow *row = &csv->rows[r];
    if (row->n != width) {
      manifest_error (error, path, row->line, "%d fields, but the header has %d", row->n, width);
      return NULL;
    }
    SpManifestRow *out = &m->rows[m->n_rows++];
    out->line = row->line;
    const char *p = row->fields[col_of[COL_PATH]];
    if (!*p) {
      manifest_error (error, path, row->line, "empty path");
      return NULL;
    }
    out->path = g_path_is_absolute (p) || g_str_equal (dir, ".")
                  ? g_strdup (p) : g_build_filename (dir, p, NULL);
    if (col_of[COL_LABEL] >= 0)
      out->label = g_strdup (row->fields[col_of[COL_LABEL]]);
    if (col_of[COL_LABELS] >= 0)
      out->labels = g_strdup (row->fields[col_of[COL_LABELS]]);
    if (col_of[COL_CAPTION] >= 0)
      out->caption = g_strdup (row->fields[col_of[COL_CAPTION]]);
    out->start = out->end = -1;
    const int times[] = { COL_START, COL_END };
    double *slots[] = { &out->start, &out->end };
    for (int t = 0; t < 2; t++)
      if (col_of[times[t]] >= 0
          && !parse_seconds (row->fields[col_of[times[t]]], slots[t])) {
        manifest_error (error, path, row->line, "%s \"%s\" is not a time in seconds >= 0",
                        columns[times[t]], row->fields[col_of[times[t]]]);
        return NULL;
      }
    if (out->start >= 0 && out->end >= 0 && out->end <= out->start) {
      manifest_error (error, path, row->line, "end %g is not after start %g", out->end,
                      out->start);
      return NULL;
    }
  }
  return g_steal_pointer (&m);
}
