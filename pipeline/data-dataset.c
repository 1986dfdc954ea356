/* data-dataset.c — manifests to examples, predictions to metrics (see dataset.h). */
#include "data-dataset.h"
#include "data-manifest.h"
#include "run-inputs.h"
#include "run-signals.h"
#include "data-cache.h"

#include <string.h>

static void
data_input_free (gpointer p)
{
  SpDataInput *in = p;
  g_free (in->path);
  sp_features_clear (&in->f);
  g_free (in->pooled);
  g_free (in);
}

void
sp_dataset_free (SpDataset *ds)
{
  if (!ds)
    return;
  for (guint i = 0; ds->rows && i < ds->rows->len; i++) {
    SpDataRow *r = &g_array_index (ds->rows, SpDataRow, i);
    g_free (r->label);
    g_free (r->caption);
    sp_label_file_free (r->lf);
  }
  if (ds->rows)
    g_array_unref (ds->rows);
  if (ds->inputs)
    g_ptr_array_unref (ds->inputs);
  if (ds->errors)
    g_ptr_array_unref (ds->errors);
  if (ds->store)
    g_ptr_array_unref (ds->store);
  g_free (ds->ex);
  g_free (ds->ex_row);
  g_free (ds->ex_unlabelled);
  g_free (ds->manifest);
  g_free (ds);
}

SpDataset *
sp_dataset_new (const char *manifest, SpmHeadKind head)
{
  SpDataset *ds = g_new0 (SpDataset, 1);
  ds->manifest = g_strdup (manifest);
  ds->head = head;
  ds->inputs = g_ptr_array_new_with_free_func (data_input_free);
  ds->rows = g_array_new (FALSE, TRUE, sizeof (SpDataRow));
  ds->errors = g_ptr_array_new_with_free_func (g_free);
  ds->store = g_ptr_array_new_with_free_func (g_free);
  return ds;
}

gboolean
sp_dataset_head_kind (const SpStageClass *head, SpmHeadKind *out, GError **error)
{
  switch (head != NULL ? head->records : 0) {
  case SP_RECORDS_FRAME: *out = SPM_HEAD_LABELER; return TRUE;
  case SP_RECORDS_INPUT: *out = SPM_HEAD_CLASSIFIER; return TRUE;
  case SP_RECORDS_CAPTION: *out = SPM_HEAD_CAPTIONER; return TRUE;
  }
  g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[head] plugin: %s; train and eval need a "
               "head of one record per frame, per input or a caption per input",
               head != NULL ? "the head declares no records" : "missing");
  return FALSE;
}

static void G_GNUC_PRINTF (3, 4)
row_error (SpDataset *ds, int line, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_ptr_array_add (ds->errors, g_strdup_printf ("%s:%d: %s", ds->manifest, line, what));
}

static const char *
required_column (SpmHeadKind head)
{
  return head == SPM_HEAD_LABELER ? "labels" : head == SPM_HEAD_CLASSIFIER ? "label" : "caption";
}

/* features of one input (dedup by path and window) -> index into ds->inputs, or -1 */
static int
load_input (SpDataset *ds, SpConfig *c, const char *cache_dir, GHashTable *seen,
            const SpManifestRow *mr)
{
  g_autofree char *key = g_strdup_printf ("%s\n%.9g\n%.9g", mr->path, mr->start, mr->end);
  gpointer v;
  if (g_hash_table_lookup_extended (seen, key, NULL, &v)) {
    SpDataInput *in = g_ptr_array_index (ds->inputs, GPOINTER_TO_INT (v));
    if (in->failed) {
      row_error (ds, mr->line, "%s: its features could not be made (see line %d)", mr->path,
                 in->line);
      return -1;
    }
    return GPOINTER_TO_INT (v);
  }
  SpDataInput *in = g_new0 (SpDataInput, 1);
  in->path = g_strdup (mr->path);
  in->start = mr->start;
  in->end = mr->end;
  in->line = mr->line;
  int idx = (int) ds->inputs->len;
  g_ptr_array_add (ds->inputs, in);
  g_hash_table_insert (seen, g_steal_pointer (&key), GINT_TO_POINTER (idx));

  SpInputInfo info;
  sp_input_info_init (&info, mr->path, idx, mr->start, mr->end);
  g_autoptr (GError) e = NULL;
  if (!g_file_test (mr->path, G_FILE_TEST_EXISTS)) {
    row_error (ds, mr->line, "%s: no such file", mr->path);
    in->failed = TRUE;
  } else if (!sp_cache_features (c, cache_dir, &info, &in->f, NULL, &e)) {
    row_error (ds, mr->line, "%s", e->message);
    in->failed = TRUE;
  } else if (in->f.T == 0) {
    row_error (ds, mr->line, "%s: no frames", mr->path);
    in->failed = TRUE;
  } else if (ds->D && in->f.D != ds->D) {
    row_error (ds, mr->line, "%s: features of size %d, other inputs have %d", mr->path, in->f.D,
               ds->D);
    in->failed = TRUE;
  }
  sp_input_info_clear (&info);
  if (in->failed)
    return -1;
  ds->D = in->f.D;
  /* pooled [d] = 1/T sum_t x[t][d] (accumulated in double) */
  g_autofree double *acc = g_new0 (double, in->f.D);
  for (int64_t t = 0; t < in->f.T; t++)
    for (int d = 0; d < in->f.D; d++)
      acc[d] += in->f.x[t * in->f.D + d];
  in->pooled = g_new (float, in->f.D);
  for (int d = 0; d < in->f.D; d++)
    in->pooled[d] = (float) (acc[d] / (double) in->f.T);
  return idx;
}

SpDataset *
sp_dataset_read (SpConfig *c, const char *manifest, SpmHeadKind head, const char *cache_dir,
                 SpProgress *progress, GError **error)
{
  g_autoptr (SpManifest) m = sp_manifest_read (manifest, error);
  if (!m)
    return NULL;
  gboolean has = head == SPM_HEAD_LABELER ? m->has_labels
                 : head == SPM_HEAD_CLASSIFIER ? m->has_label : m->has_caption;
  if (!has) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:1: a %s manifest needs a \"%s\" column",
                 manifest,
                 spm_head_kind_name (head),
                 required_column (head));
    return NULL;
  }
  g_autoptr (SpDataset) ds = sp_dataset_new (manifest, head);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *dir = g_path_get_dirname (manifest);

  for (int i = 0; i < m->n_rows; i++) {
    const SpManifestRow *mr = &m->rows[i];
    SpDataRow r = { .input = -1, .line = mr->line };
    if (progress)
      sp_progress_update (progress, "features %d/%d", i + 1, m->n_rows);
    if (sp_interrupted ()) {
      g_set_error (error, SP_ERROR, SP_ERROR_INTERRUPTED, "interrupted");
      return NULL;
    }
    /* the row's own fields first: they cost nothing */
    if (head == SPM_HEAD_CLASSIFIER) {
      char *l = mr->label ? g_strstrip (g_strdup (mr->label)) : NULL;
      if (!l || !*l) {
        row_error (ds, mr->line, "empty label");
        g_free (l);
        continue;
      }
      r.label = l;
    } else if (head == SPM_HEAD_CAPTIONER) {
      g_auto (GStrv) tok = sp_tokenize (mr->caption ? mr->caption : "");
      if (!tok[0]) {
        row_error (ds, mr->line, "empty caption");
        continue;
      }
      r.caption = g_strdup (mr->caption);
    } else {
      if (!mr->labels || !*mr->labels) {
        row_error (ds, mr->line, "empty labels (a label file is needed)");
        continue;
      }
      g_autofree char *lpath = g_path_is_absolute (mr->labels)
                                   ? g_strdup (mr->labels)
                                   : g_build_filename (dir, mr->labels, NULL);
      g_autoptr (GError) e = NULL;
      r.lf = sp_label_file_read (lpath, &e);
      if (!r.lf) {
        row_error (ds, mr->line, "%s", e->message);
        continue;
      }
    }
    r.input = load_input (ds, c, cache_dir, seen, mr);
    if (r.input < 0) {
      g_free (r.label);
      g_free (r.caption);
      sp_label_file_free (r.lf);
      continue;
    }
    g_array_append_val (ds->rows, r);
  }
  return g_steal_pointer (&ds);
}

void
sp_dataset_collect_labels (const SpDataset *ds, GHashTable *names)
{
  for (guint i = 0; i < ds->rows->len; i++) {
    const SpDataRow *r = &g_array_index (ds->rows, SpDataRow, i);
    if (r->lf)
      sp_label_file_collect (r->lf, names);
    else if (r->label && !g_hash_table_contains (names, r->label))
      g_hash_table_add (names, g_strdup (r->label));
  }
}

const char **
sp_dataset_captions (const SpDataset *ds)
{
  GPtrArray *v = g_ptr_array_new ();
  for (guint i = 0; i < ds->rows->len; i++) {
    const SpDataRow *r = &g_array_index (ds->rows, SpDataRow, i);
    if (r->caption)
      g_ptr_array_add (v, r->caption);
  }
  g_ptr_array_add (v, NULL);
  return (const char **) g_ptr_array_free (v, FALSE);
}

static SpDataInput *
row_input (const SpDataset *ds, const SpDataRow *r)
{
  return g_ptr_array_index (ds->inputs, r->input);
}

static void
examples_begin (SpDataset *ds)
{
  g_free (ds->ex);
  g_free (ds->ex_row);
  g_free (ds->ex_unlabelled);
  ds->ex = g_new0 (SpmExample, ds->rows->len + 1);
  ds->ex_row = g_new0 (int, ds->rows->len + 1);
  ds->ex_unlabelled = g_new0 (int64_t, ds->rows->len + 1);
  ds->n_ex = 0;
  ds->frames = 0;
  ds->unlabelled = 0;
}

static void
example_add (SpDataset *ds, int row, int T, const float *x, int32_t *y, int n_y)
{
  g_ptr_array_add (ds->store, y);
  ds->ex[ds->n_ex] = (SpmExample) { T, x, y, n_y };
  ds->ex_row[ds->n_ex] = row;
  ds->n_ex++;
  ds->frames += T;
}

void
sp_dataset_assign_labels (SpDataset *ds, const SpLabelSet *set, gboolean whole)
{
  examples_begin (ds);
  for (guint i = 0; i < ds->rows->len; i++) {
    SpDataRow *r = &g_array_index (ds->rows, SpDataRow, i);
    SpDataInput *in = row_input (ds, r);
    g_autoptr (GError) e = NULL;
    if (r->label) {
      int k = sp_label_set_find (set, r->label);
      if (k < 0) {
        g_autofree char *hint = sp_label_set_hint (set, r->label);
        row_error (ds, r->line, "unknown label \"%s\"%s", r->label, hint);
        r->failed = TRUE;
        continue;
      }
      int32_t *y = g_new (int32_t, 1);
      y[0] = k;
      example_add (ds, (int) i, (int) in->f.T, in->f.x, y, 1);
    } else if (r->lf) {
      int32_t *y = g_new (int32_t, in->f.T);
      gboolean w = whole && in->start <= 0 && in->end < 0;
      int64_t unl = 0;
      if (!sp_label_file_assign (r->lf, set, &in->f, w, y, &unl, &e)) {
        row_error (ds, r->line, "%s", e->message);
        r->failed = TRUE;
        g_free (y);
        continue;
      }
      ds->ex_unlabelled[ds->n_ex] = unl;
      ds->unlabelled += unl;
      example_add (ds, (int) i, (int) in->f.T, in->f.x, y, (int) in->f.T);
    }
  }
}

void
sp_dataset_assign_vocab (SpDataset *ds, const SpVocab *vocab)
{
  examples_begin (ds);
  for (guint i = 0; i < ds->rows->len; i++) {
    SpDataRow *r = &g_array_index (ds->rows, SpDataRow, i);
    int n = 0;
    int32_t *y = sp_vocab_encode (vocab, r->caption, &n);
    example_add (ds, (int) i, 1, row_input (ds, r)->pooled, y, n);
  }
}

void
sp_dataset_report_unlabelled (const SpDataset *ds)
{
  for (size_t e = 0; ds && ds->ex_unlabelled && e < ds->n_ex; e++) {
    if (ds->ex_unlabelled[e] == 0)
      continue;
    const SpDataRow *r = &g_array_index (ds->rows, SpDataRow, ds->ex_row[e]);
    g_printerr ("seqpipe: %s:%d: %s: %" G_GINT64_FORMAT " of %d frames unlabelled (no segment "
                "covers them: no loss, not scored)\n", ds->manifest, r->line,
                row_input (ds, r)->path, ds->ex_unlabelled[e], ds->ex[e].T);
  }
}
