/* labels.c — label sets and label files (see labels.h). */
#include "data-labels.h"
#include "data-csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

SpLabelSet *
sp_label_set_new (const char *const *names)
{
  SpLabelSet *s = g_new0 (SpLabelSet, 1);
  s->names = g_strdupv ((char **) names);
  s->n = s->names ? (int) g_strv_length (s->names) : 0;
  if (!s->names)
    s->names = g_new0 (char *, 1);
  s->index = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < s->n; i++)
    g_hash_table_insert (s->index, s->names[i], GINT_TO_POINTER (i + 1));
  return s;
}

void
sp_label_set_free (SpLabelSet *s)
{
  if (!s)
    return;
  g_hash_table_unref (s->index);
  g_strfreev (s->names);
  g_free (s);
}

int
sp_label_set_find (const SpLabelSet *s, const char *name)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (s->index, name)) - 1;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

SpLabelSet *
sp_label_set_sorted (GHashTable *names)
{
  g_autofree const char **v = (const char **) g_hash_table_get_keys_as_array (names, NULL);
  qsort (v, g_hash_table_size (names), sizeof *v, cmp_str);
  return sp_label_set_new (v);
}

SpLabelSet *
sp_label_set_read (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; lines[i]; i++) {
    char *name = g_strstrip (lines[i]);
    if (!*name)
      continue;
    if (g_hash_table_contains (seen, name)) {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s:%d: label \"%s\" is listed twice",
                   path, i + 1, name);
      return NULL;
    }
    g_hash_table_add (seen, name);
    g_ptr_array_add (names, name);
  }
  if (names->len == 0) {
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s: no labels in the file", path);
    return NULL;
  }
  g_ptr_array_add (names, NULL);
  return sp_label_set_new ((const char *const *) names->pdata);
}

static gboolean
parse_seconds (const char *s, double *out)
{
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (s, &end);
  if (end == s || *end || errno || !isfinite (v) || v < 0)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
read_segments (SpLabelFile *lf, const char *text, GError **error)
{
  g_autoptr (SpCsv) csv = sp_csv_parse (text, strlen (text), lf->file, error);
  if (!csv)
    return FALSE;
  GArray *start = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *end = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *line_no = g_array_new (FALSE, FALSE, sizeof (int));
  GPtrArray *label = g_ptr_array_new ();
  gboolean ok = TRUE;
  if (csv->n_rows == 0 || csv->rows[0].n != 3 || strcmp (csv->rows[0].fields[0], "start")
      || strcmp (csv->rows[0].fields[1], "end") || strcmp (csv->rows[0].fields[2], "label")) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: expected the header \"start,end,label\"",
                 lf->file, csv->n_rows ? csv->rows[0].line : 1);
    ok = FALSE;
  }
  for (int r = 1; ok && r < csv->n_rows; r++) {
    char **f = csv->rows[r].fields;
    int ln = csv->rows[r].line;
    double s, e;
    if (csv->rows[r].n != 3) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: expected 3 columns, found %d",
                   lf->file, ln, csv->rows[r].n);
      ok = FALSE;
    } else if (!parse_seconds (f[0], &s) || !parse_seconds (f[1], &e) || e <= s) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "%s:%d: start and end must be seconds with 0 <= start < end (\"%s\", \"%s\")",
                   lf->file, ln, f[0], f[1]);
      ok = FALSE;
    } else if (!*f[2]) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: empty label", lf->file, ln);
      ok = FALSE;
    } else {
      g_array_append_val (start, s);
      g_array_append_val (end, e);
      g_array_append_val (line_no, ln);
      g_ptr_array_add (label, g_strdup (f[2]));
    }
  }
  if (ok && label->len == 0) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: no segments", lf->file);
    ok = FALSE;
  }
  lf->n_segs = (int) label->len;
  g_ptr_array_add (label, NULL);
  lf->seg_label = (char **) g_ptr_array_free (label, FALSE);
  lf->start = (double *) g_array_free (start, FALSE);
  lf->end = (double *) g_array_free (end, FALSE);
  lf->seg_line = (int *) g_array_free (line_no, FALSE);
  return ok;
}

static gboolean
read_frames (SpLabelFile *lf, char **lines, GError **error)
{
  GPtrArray *names = g_ptr_array_new ();
  int n = (int) g_strv_length (lines);
  while (n > 0 && !*g_strstrip (lines[n - 1]))    /* trailing newlines */
    n--;
  gboolean ok = TRUE;
  for (int i = 0; i < n; i++) {
    char *name = g_strstrip (lines[i]);
    if (!*name) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: empty label", lf->file, i + 1);
      ok = FALSE;
      break;
    }
    g_ptr_array_add (names, g_strdup (name));
  }
  if (ok && names->len == 0) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: no labels", lf->file);
    ok = FALSE;
  }
  lf->n_frames = names->len;
  g_ptr_array_add (names, NULL);
  lf->frames = (char **) g_ptr_array_free (names, FALSE);
  return ok;
}

SpLabelFile *
sp_label_file_read (const char *path, GError **error)
{
  g_autoptr (SpLabelFile) lf = g_new0 (SpLabelFile, 1);
  lf->file = g_strdup (path);
  g_autofree char *text = NULL;
  g_autoptr (GError) e = NULL;
  if (!g_file_get_contents (path, &text, NULL, &e)) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: %s", path, e->message);
    return NULL;
  }
  if (g_str_has_suffix (path, ".csv")) {
    lf->segments = TRUE;
    if (!read_segments (lf, text, error))
      return NULL;
  } else if (g_str_has_suffix (path, ".txt")) {
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    if (!read_frames (lf, lines, error))
      return NULL;
  } else {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                 "%s: a label file must be .txt (one label per frame) or .csv (start,end,label)",
                 path);
    return NULL;
  }
  return g_steal_pointer (&lf);
}

void
sp_label_file_free (SpLabelFile *lf)
{
  if (!lf)
    return;
  g_free (lf->file);
  g_strfreev (lf->frames);
  g_free (lf->start);
  g_free (lf->end);
  g_strfreev (lf->seg_label);
  g_free (lf->seg_line);
  g_free (lf);
}

void
sp_label_file_collect (const SpLabelFile *lf, GHashTable *names)
{
  char **v = lf->segments ? lf->seg_label : lf->frames;
  for (int i = 0; v && v[i]; i++)
    if (!g_hash_table_contains (names, v[i]))
      g_hash_table_add (names, g_strdup (v[i]));
}

static gboolean
lookup (const SpLabelFile *lf, const SpLabelSet *set, const char *name, int line, int32_t *out,
        GError **error)
{
  int k = sp_label_set_find (set, name);
  if (k < 0) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: unknown label \"%s\"", lf->file,
                 line, name);
    return FALSE;
  }
  *out = k;
  return TRUE;
}

gboolean
sp_label_file_assign (const SpLabelFile *lf, const SpLabelSet *set, const SpFeatures *f,
                      gboolean whole, int32_t *y, GError **error)
{
  if (!lf->segments) {
    for (int64_t t = 0; t < f->T; t++) {
      int64_t i = f->index[t];
      if (i < 0 || i >= lf->n_frames) {
        g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                     "%s: has %" G_GINT64_FORMAT " lines but the input has frame %" G_GINT64_FORMAT
                     " (label file length mismatch)", lf->file, lf->n_frames, i);
        return FALSE;
      }
      if (!lookup (lf, set, lf->frames[i], (int) i + 1, &y[t], error))
        return FALSE;
    }
    if (whole && f->T > 0 && lf->n_frames != f->index[f->T - 1] + 1) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "%s: has %" G_GINT64_FORMAT " lines but the input has %" G_GINT64_FORMAT
                   " frames (label file length mismatch)", lf->file, lf->n_frames,
                   f->index[f->T - 1] + 1);
      return FALSE;
    }
    return TRUE;
  }
  /* segments: check every name first, so an unknown label is reported even when no
   * sampled frame falls into its segment */
  for (int s = 0; s < lf->n_segs; s++) {
    int32_t k;
    if (!lookup (lf, set, lf->seg_label[s], lf->seg_line[s], &k, error))
      return FALSE;
  }
  for (int64_t t = 0; t < f->T; t++) {
    double tm = f->time[t];
    int hit = -1;
    for (int s = 0; s < lf->n_segs && hit < 0; s++)
      if (tm >= lf->start[s] && tm < lf->end[s])
        hit = s;
    if (hit < 0) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "%s: no segment covers frame %" G_GINT64_FORMAT " at %.3f s", lf->file,
                   f->index[t], tm);
      return FALSE;
    }
    y[t] = sp_label_set_find (set, lf->seg_label[hit]);
  }
  return TRUE;
}
