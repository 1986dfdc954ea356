/* data-dataset.c — manifests to examples, predictions to metrics (see dataset.h). */
#include "data-dataset.h"
#include "data-manifest.h"
#include "run-inputs.h"
#include "run-signals.h"
#include "data-cache.h"
#include "spm-json.h"

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
  g_free (ds->manifest);
  g_free (ds);
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
  g_autoptr (SpDataset) ds = g_new0 (SpDataset, 1);
  ds->manifest = g_strdup (manifest);
  ds->head = head;
  ds->inputs = g_ptr_array_new_with_free_func (data_input_free);
  ds->rows = g_array_new (FALSE, TRUE, sizeof (SpDataRow));
  ds->errors = g_ptr_array_new_with_free_func (g_free);
  ds->store = g_ptr_array_new_with_free_func (g_free);
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
  ds->ex = g_new0 (SpmExample, ds->rows->len + 1);
  ds->ex_row = g_new0 (int, ds->rows->len + 1);
  ds->n_ex = 0;
  ds->frames = 0;
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
        row_error (ds, r->line, "unknown label \"%s\"", r->label);
        r->failed = TRUE;
        continue;
      }
      int32_t *y = g_new (int32_t, 1);
      y[0] = k;
      example_add (ds, (int) i, (int) in->f.T, in->f.x, y, 1);
    } else if (r->lf) {
      int32_t *y = g_new (int32_t, in->f.T);
      gboolean w = whole && in->start <= 0 && in->end < 0;
      if (!sp_label_file_assign (r->lf, set, &in->f, w, y, &e)) {
        row_error (ds, r->line, "%s", e->message);
        r->failed = TRUE;
        g_free (y);
        continue;
      }
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

/* ---- predictions and scores ---------------------------------------------------- */

SpPredictions *
sp_predictions_new (const SpDataset *ds)
{
  SpPredictions *p = g_new0 (SpPredictions, 1);
  p->frame = g_new0 (int32_t *, ds->n_ex + 1);
  p->cls = g_new0 (int32_t, ds->n_ex + 1);
  p->caption = g_new0 (char *, ds->inputs->len + 1);
  for (size_t e = 0; ds->head == SPM_HEAD_LABELER && e < ds->n_ex; e++)
    p->frame[e] = g_new0 (int32_t, ds->ex[e].T);
  return p;
}

void
sp_predictions_free (SpPredictions *p, const SpDataset *ds)
{
  if (!p)
    return;
  for (size_t e = 0; e < ds->n_ex; e++)
    g_free (p->frame[e]);
  for (guint i = 0; i < ds->inputs->len; i++)
    g_free (p->caption[i]);
  g_free (p->frame);
  g_free (p->cls);
  g_free (p->caption);
  g_free (p);
}

static int32_t
argmax (const float *p, int n)
{
  int k = 0;
  for (int i = 1; i < n; i++)
    if (p[i] > p[k])
      k = i;
  return k;
}

/* used[i]: input i has a good row (its captions are references); newly allocated */
static gboolean *
inputs_used (const SpDataset *ds)
{
  gboolean *used = g_new0 (gboolean, ds->inputs->len + 1);
  for (size_t e = 0; e < ds->n_ex; e++)
    used[g_array_index (ds->rows, SpDataRow, ds->ex_row[e]).input] = TRUE;
  return used;
}

void
sp_dataset_predict (const SpDataset *ds, const SpmModel *m, int beam, int max_len,
                    SpPredictions *p)
{
  if (ds->head == SPM_HEAD_CAPTIONER) {
    g_autofree int32_t *tok = g_new (int32_t, max_len + 1);
    g_autofree gboolean *used = inputs_used (ds);
    for (guint i = 0; i < ds->inputs->len; i++) {
      SpDataInput *in = g_ptr_array_index (ds->inputs, i);
      if (in->failed || !used[i])
        continue;
      float score;
      int n = spm_caption (m, in->pooled, beam, max_len, 0.0f, 0, tok, &score);
      g_free (p->caption[i]);
      p->caption[i] = sp_vocab_decode ((const char *const *) m->names, m->cfg.C, tok, n);
    }
    return;
  }
  g_autoptr (SpmRunner) run = spm_runner_new (m);
  g_autofree float *probs = g_new (float, m->cfg.C);
  for (size_t e = 0; e < ds->n_ex; e++) {
    const SpmExample *ex = &ds->ex[e];
    spm_runner_reset (run);
    for (int t = 0; t < ex->T; t++) {
      spm_runner_step (run, ex->x + (size_t) t * m->cfg.D, probs);
      if (ds->head == SPM_HEAD_LABELER)
        p->frame[e][t] = argmax (probs, m->cfg.C);
    }
    if (ds->head == SPM_HEAD_CLASSIFIER) {
      spm_runner_classify (run, probs);
      p->cls[e] = argmax (probs, m->cfg.C);
    }
  }
}

void
sp_dataset_score (const SpDataset *ds, const SpPredictions *p, int C, SpScore *out)
{
  memset (out, 0, sizeof *out);
  out->head = ds->head;
  out->C = C;
  if (ds->head == SPM_HEAD_LABELER) {
    g_autofree const int32_t **truth = g_new0 (const int32_t *, ds->n_ex + 1);
    g_autofree int64_t *len = g_new0 (int64_t, ds->n_ex + 1);
    for (size_t e = 0; e < ds->n_ex; e++) {
      truth[e] = ds->ex[e].y;
      len[e] = ds->ex[e].T;
    }
    spm_metrics_segmentation ((const int32_t *const *) p->frame, truth, len,
                              (int64_t) ds->n_ex, &out->seg);
  } else if (ds->head == SPM_HEAD_CLASSIFIER) {
    g_autofree int32_t *truth = g_new0 (int32_t, ds->n_ex + 1);
    for (size_t e = 0; e < ds->n_ex; e++)
      truth[e] = ds->ex[e].y[0];
    out->confusion = g_new0 (int64_t, (size_t) C * C);
    spm_metrics_classification (p->cls, truth, (int64_t) ds->n_ex, C, &out->cls,
                                out->confusion);
  } else {
    /* per input: hypothesis tokens, references = tokens of all its good captions */
    g_autofree GPtrArray **by_input = g_new0 (GPtrArray *, ds->inputs->len + 1);
    for (size_t e = 0; e < ds->n_ex; e++) {
      const SpDataRow *row = &g_array_index (ds->rows, SpDataRow, ds->ex_row[e]);
      if (!by_input[row->input])
        by_input[row->input] = g_ptr_array_new ();
      g_ptr_array_add (by_input[row->input], sp_tokenize (row->caption));
    }
    GPtrArray *hyps = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
    GPtrArray *refs = g_ptr_array_new ();
    for (guint i = 0; i < ds->inputs->len; i++) {
      GPtrArray *r = by_input[i];
      if (!r)
        continue;
      if (!p->caption[i]) {
        for (guint k = 0; k < r->len; k++)
          g_strfreev (r->pdata[k]);
        g_ptr_array_unref (r);
        continue;
      }
      g_ptr_array_add (r, NULL);
      g_ptr_array_add (hyps, sp_tokenize (p->caption[i]));
      g_ptr_array_add (refs, g_ptr_array_free (r, FALSE));
    }
    spm_metrics_captions ((const char *const *const *) hyps->pdata,
                          (const char *const *const *const *) refs->pdata, hyps->len, &out->cap);
    for (guint i = 0; i < refs->len; i++) {
      char ***r = refs->pdata[i];
      for (int k = 0; r[k]; k++)
        g_strfreev (r[k]);
      g_free (r);
    }
    g_ptr_array_unref (refs);
    g_ptr_array_unref (hyps);
  }
}

void
sp_score_clear (SpScore *s)
{
  g_clear_pointer (&s->confusion, g_free);
}

double
sp_score_main (const SpScore *s)
{
  return s->head == SPM_HEAD_LABELER ? s->seg.frame_accuracy
         : s->head == SPM_HEAD_CLASSIFIER ? s->cls.accuracy : s->cap.bleu4;
}

static void
append_num (GString *j, const char *key, double v, gboolean last)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf (j, "\"%s\": %s%s", key, g_ascii_dtostr (buf, sizeof buf, v),
                          last ? "" : ", ");
}

char *
sp_score_json (const SpScore *s, const char *const *names)
{
  GString *j = g_string_new ("{");
  if (s->head == SPM_HEAD_LABELER) {
    g_string_append_printf (j, "\"n\": %" G_GINT64_FORMAT ", \"frames\": %" G_GINT64_FORMAT ", ",
                            s->seg.n, s->seg.frames);
    append_num (j, "frame_accuracy", s->seg.frame_accuracy, FALSE);
    append_num (j, "edit", s->seg.edit, FALSE);
    append_num (j, "f1@10", s->seg.f1_10, FALSE);
    append_num (j, "f1@25", s->seg.f1_25, FALSE);
    append_num (j, "f1@50", s->seg.f1_50, TRUE);
  } else if (s->head == SPM_HEAD_CLASSIFIER) {
    g_string_append_printf (j, "\"n\": %" G_GINT64_FORMAT ", ", s->cls.n);
    append_num (j, "accuracy", s->cls.accuracy, FALSE);
    append_num (j, "macro_f1", s->cls.macro_f1, FALSE);
    g_string_append (j, "\"confusion\": {\"labels\": [");
    for (int i = 0; i < s->C; i++) {
      if (i)
        g_string_append (j, ", ");
      spm_json_append_string (j, names[i]);
    }
    g_string_append (j, "], \"matrix\": [");
    for (int i = 0; i < s->C; i++) {
      g_string_append_printf (j, "%s[", i ? ", " : "");
      for (int k = 0; k < s->C; k++)
        g_string_append_printf (j, "%s%" G_GINT64_FORMAT, k ? ", " : "",
                                s->confusion[(size_t) i * s->C + k]);
      g_string_append_c (j, ']');
    }
    g_string_append (j, "]}");
  } else {
    g_string_append_printf (j, "\"n\": %" G_GINT64_FORMAT ", ", s->cap.n);
    append_num (j, "bleu1", s->cap.bleu1, FALSE);
    append_num (j, "bleu4", s->cap.bleu4, FALSE);
    append_num (j, "exact_match", s->cap.exact_match, TRUE);
  }
  g_string_append (j, "}");
  return g_string_free (j, FALSE);
}
