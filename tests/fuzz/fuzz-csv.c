/* fuzz-csv.c — libFuzzer target for the CSV reader and what is built on it:
 * manifests (pipeline/data-manifest.c) and label files (pipeline/data-labels.c).
 *
 * Each input is parsed by sp_csv_parse, then written to a scratch file and read as a
 * manifest, as a .txt and a .csv label file and as a `[head] labels` list; an
 * accepted label file is assigned to five frames (0.1 s apart) with the set of its
 * own names.  Checked:
 *   - every reader returns a value and no error, or NULL with one SP_ERROR;
 *   - CSV rows have n >= 1 fields, NULL-terminated, and start on increasing lines;
 *   - a manifest row has a non-empty path, a line after the header, the columns its
 *     header declares, and times that are -1 or finite and >= 0;
 *   - a .txt label file has n_frames >= 1 names, none empty; a .csv one n_segs >= 1
 *     segments with finite 0 <= start < end and a non-empty label;
 *   - a label list has no duplicates and every name maps back to its index;
 *   - assigning a file's own names never fails on an unknown label and gives indices
 *     inside the set.
 */
#include "data-csv.h"
#include "data-labels.h"
#include "data-manifest.h"
#include "fuzz-common.h"

#include <math.h>
#include <string.h>

static void
check_csv (const char *text, size_t len)
{
  GError *error = NULL;
  SpCsv *csv = sp_csv_parse (text, len, "<fuzz>", &error);
  fuzz_check_outcome (csv != NULL, error, SP_ERROR);
  g_clear_error (&error);
  if (csv == NULL)
    return;
  int last = 0;
  for (int r = 0; r < csv->n_rows; r++) {
    const SpCsvRow *row = &csv->rows[r];
    if (row->n < 1 || row->fields[row->n] != NULL || (int) g_strv_length (row->fields) != row->n)
      abort ();
    if (row->line <= last)
      abort ();
    last = row->line;
  }
  sp_csv_free (csv);
}

static void
check_manifest (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("manifest.csv", data, size);
  GError *error = NULL;
  SpManifest *m = sp_manifest_read (path, &error);
  fuzz_check_outcome (m != NULL, error, SP_ERROR);
  g_clear_error (&error);
  if (m == NULL)
    return;
  for (int r = 0; r < m->n_rows; r++) {
    const SpManifestRow *row = &m->rows[r];
    if (row->path == NULL || !*row->path || row->line < 2)
      abort ();
    if ((row->label != NULL) != m->has_label || (row->labels != NULL) != m->has_labels
        || (row->caption != NULL) != m->has_caption)
      abort ();
    if ((row->start != -1 && !(isfinite (row->start) && row->start >= 0))
        || (row->end != -1 && !(isfinite (row->end) && row->end >= 0)))
      abort ();
  }
  sp_manifest_free (m);
}

static void
check_label_file (const char *name, const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write (name, data, size);
  GError *error = NULL;
  SpLabelFile *lf = sp_label_file_read (path, &error);
  fuzz_check_outcome (lf != NULL, error, SP_ERROR);
  g_clear_error (&error);
  if (lf == NULL)
    return;
  if (lf->segments != g_str_has_suffix (name, ".csv"))
    abort ();
  if (lf->segments) {
    if (lf->n_segs < 1)
      abort ();
    for (int s = 0; s < lf->n_segs; s++)
      if (!isfinite (lf->start[s]) || !isfinite (lf->end[s]) || lf->start[s] < 0
          || lf->end[s] <= lf->start[s] || !*lf->seg_label[s])
        abort ();
  } else {
    if (lf->n_frames < 1)
      abort ();
    for (int64_t i = 0; i < lf->n_frames; i++)
      if (lf->frames[i] == NULL || !*lf->frames[i])
        abort ();
  }

  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sp_label_file_collect (lf, names);
  SpLabelSet *set = sp_label_set_sorted (names);
  int64_t index[5] = { 0, 1, 2, 3, 4 };
  double time[5] = { 0.0, 0.1, 0.2, 0.3, 0.4 };
  float x[5] = { 0 };
  SpFeatures f = { .T = 5, .D = 1, .x = x, .index = index, .time = time };
  int32_t y[5] = { -1, -1, -1, -1, -1 };
  int64_t unlabelled = -1;
  gboolean ok = sp_label_file_assign (lf, set, &f, FALSE, y, &unlabelled, &error);
  fuzz_check_outcome (ok, error, SP_ERROR);
  if (!ok && strstr (error->message, "unknown label") != NULL)
    abort ();
  g_clear_error (&error);
  /* a frame no segment covers is unlabelled (-1), and counted */
  int64_t minus = 0;
  for (int t = 0; ok && t < 5; t++)
    {
      if (y[t] < -1 || y[t] >= set->n)
        abort ();
      minus += y[t] == -1;
    }
  if (ok && minus != unlabelled)
    abort ();
  sp_label_set_free (set);
  g_hash_table_unref (names);
  sp_label_file_free (lf);
}

static void
check_label_list (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("labels.txt", data, size);
  GError *error = NULL;
  SpLabelSet *set = sp_label_set_read (path, &error);
  fuzz_check_outcome (set != NULL, error, SP_ERROR);
  g_clear_error (&error);
  if (set == NULL)
    return;
  if (set->n < 1 || set->names[set->n] != NULL)
    abort ();
  for (int i = 0; i < set->n; i++)
    if (sp_label_set_find (set, set->names[i]) != i)
      abort ();
  sp_label_set_free (set);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  check_csv ((const char *) data, size);
  check_manifest (data, size);
  check_label_file ("frames.txt", data, size);
  check_label_file ("segments.csv", data, size);
  check_label_list (data, size);
  return 0;
}
