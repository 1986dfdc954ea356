/* labels.c — label sets and label files (see labels.h). */
#include "data-labels.h"
#include "data-csv.h"
#include "host-keys.h"

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

char *
sp_label_set_hint (const SpLabelSet *s, const char *name)
{
  g_autofree char *h = sp_suggest_text (name, (const char *const *) s->names);
  if (*h)
    return g_steal_pointer (&h);
  /* no near miss: say what the names are when there are few */
  if (s->n > 0 && s->n <= 12) {
    g_autofree char *all = g_strjoinv (", ", s->names);
    return g_strdup_printf (" (the labels are %s)", all);
  }
  return g_strdup ("");
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
  g_autofree char *text = sp_text_read (path, NULL, error);
  if (!text)
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

/* a segment time: a finite number of seconds >= 0; FALSE sets the error naming the
 * file, line and column */
static gboolean
parse_seconds (const SpLabelFile *lf, int line, const char *col, const char *s, double *out,
               GError **error)
{
  g_autofree char *v_text = g_strstrip (g_strdup (s));
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (v_text, &end);
  const char *why = NULL;
  if (end == v_text || *end)
    why = "is not a number";
  else if (!isfinite (v))
    why = "is not finite";
  else if (v < 0)
    why = "is negative";
  if (why) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: %s \"%s\" %s (seconds >= 0 expected)",
                 lf->file, line, col, s, why);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

static int
cmp_seg_start (gconstpointer a, gconstpointer b, gpointer user)
{
  const SpLabelFile *lf = user;
  int i = *(const int *) a, k = *(const int *) b;
  return lf->start[i] < lf->start[k] ? -1 : lf->start[i] > lf->start[k] ? 1 : i - k;
}

/* Segments are half-open [start, end): two overlap when one starts before the other
 * ends.  Sorted by start, each must start at or after the end of the one before it. */
static gboolean
check_overlaps (const SpLabelFile *lf, GError **error)
{
  g_autofree int *order = g_new (int, lf->n_segs + 1);
  for (int i = 0; i < lf->n_segs; i++)
    order[i] = i;
  g_qsort_with_data (order, lf->n_segs, sizeof (int), cmp_seg_start, (gpointer) lf);
  for (int k = 1; k < lf->n_segs; k++) {
    int a = order[k - 1], b = order[k];
    if (lf->start[b] < lf->end[a]) {
      int first = MIN (lf->seg_line[a], lf->seg_line[b]);
      int second = MAX (lf->seg_line[a], lf->seg_line[b]);
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "%s:%d: segment [%g, %g) overlaps [%g, %g) on line %d", lf->file, second,
                   lf->seg_line[b] == second ? lf->start[b] : lf->start[a],
                   lf->seg_line[b] == second ? lf->end[b] : lf->end[a],
                   lf->seg_line[b] == second ? lf->start[a] : lf->start[b],
                   lf->seg_line[b] == second ? lf->end[a] : lf->end[b], first);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
read_segments (SpLabelFile *lf, const char *text, gsize len, GError **error)
{
  g_autoptr (SpCsv) csv = sp_csv_parse (text, len, lf->file, error);
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
    } else if (!parse_seconds (lf, ln, "start", f[0], &s, error)
               || !parse_seconds (lf, ln, "end", f[1], &e, error)) {
      ok = FALSE;
    } else if (e <= s) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "%s:%d: end %s is not after start %s (segments are [start, end))", lf->file,
                   ln, f[1], f[0]);
      ok = FALSE;
    } else if (!*g_strstrip (f[2])) {
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
  return ok && check_overlaps (lf, error);
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
  gsize len = 0;
  g_autofree char *text = sp_text_read (path, &len, error);
  if (!text)
    return NULL;
  if (g_str_has_suffix (path, ".csv")) {
    lf->segments = TRUE;
    if (!read_segments (lf, text, len, error))
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
    g_autofree char *hint = sp_label_set_hint (set, name);
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: unknown label \"%s\"%s", lf->file,
                 line, name, hint);
    return FALSE;
  }
  *out = k;
  return TRUE;
}

gboolean
sp_label_file_assign (const SpLabelFile *lf, const SpLabelSet *set, const SpFeatures *f,
                      gboolean whole, int32_t *y, int64_t *unlabelled, GError **error)
{
  *unlabelled = 0;
  if (!lf->segments) {
    for (int64_t t = 0; t < f->T; t++) {
      int64_t i = f->index[t];
      if (i < 0 || i >= lf->n_frames) {
        g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                     "%s: %" G_GINT64_FORMAT " lines, but the input has at least %" G_GINT64_FORMAT
                     " frames (label file length mismatch: a .txt file has one line per native frame)", lf->file,
                     lf->n_frames, i + 1);
        return FALSE;
      }
      if (!lookup (lf, set, lf->frames[i], (int) i + 1, &y[t], error))
        return FALSE;
    }
    if (whole && f->T > 0 && lf->n_frames != f->index[f->T - 1] + 1) {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "%s: %" G_GINT64_FORMAT " lines, but the input has %" G_GINT64_FORMAT
                   " frames (label file length mismatch: a .txt file has one line per native frame)", lf->file,
                   lf->n_frames, f->index[f->T - 1] + 1);
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
  /* a frame takes the segment holding its time, [start, end); none: unlabelled (-1) */
  for (int64_t t = 0; t < f->T; t++) {
    double tm = f->time[t];
    int hit = -1;
    for (int s = 0; s < lf->n_segs && hit < 0; s++)
      if (tm >= lf->start[s] && tm < lf->end[s])
        hit = s;
    y[t] = hit < 0 ? -1 : sp_label_set_find (set, lf->seg_label[hit]);
    if (hit < 0)
      (*unlabelled)++;
  }
  return TRUE;
}

const char *
sp_label_file_dominant (const SpLabelFile *lf)
{
  g_autoptr (GHashTable) weight = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  int n = lf->segments ? lf->n_segs : (int) lf->n_frames;
  for (int i = 0; i < n; i++) {
    const char *name = lf->segments ? lf->seg_label[i] : lf->frames[i];
    double *w = g_hash_table_lookup (weight, name);
    if (!w)
      g_hash_table_insert (weight, (gpointer) name, w = g_new0 (double, 1));
    *w += lf->segments ? lf->end[i] - lf->start[i] : 1.0;
  }
  const char *best = NULL;
  double best_w = -1;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, weight);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    double w = *(double *) v;
    if (w > best_w || (w == best_w && strcmp (k, best) < 0)) {
      best = k;
      best_w = w;
    }
  }
  return best;
}
