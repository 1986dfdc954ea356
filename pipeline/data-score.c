/* data-score.c — a dataset's predictions and their DESIGN §9 metrics (see data-score.h). */
#include "data-score.h"
#include "spm-json.h"

#include <math.h>
#include <string.h>

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
  out->loss = NAN;
  if (ds->head == SPM_HEAD_LABELER) {
    /* only labelled frames are scored: each sequence is cut down to them (the segment
     * metrics then see the labelled frames joined up in order) */
    g_autofree int32_t **pred = g_new0 (int32_t *, ds->n_ex + 1);
    g_autofree int32_t **truth = g_new0 (int32_t *, ds->n_ex + 1);
    g_autofree int64_t *len = g_new0 (int64_t, ds->n_ex + 1);
    out->confusion = g_new0 (int64_t, (size_t) C * C);
    for (size_t e = 0; e < ds->n_ex; e++) {
      const SpmExample *ex = &ds->ex[e];
      pred[e] = g_new (int32_t, ex->T + 1);
      truth[e] = g_new (int32_t, ex->T + 1);
      for (int t = 0; t < ex->T; t++) {
        if (ex->y[t] < 0 || ex->y[t] >= C) {
          out->unlabelled++;
          continue;
        }
        int32_t k = p->frame[e][t];
        pred[e][len[e]] = k;
        truth[e][len[e]++] = ex->y[t];
        if (k >= 0 && k < C)
          out->confusion[(size_t) ex->y[t] * C + k]++;
      }
    }
    spm_metrics_segmentation ((const int32_t *const *) pred, (const int32_t *const *) truth, len,
                              (int64_t) ds->n_ex, &out->seg);
    for (size_t e = 0; e < ds->n_ex; e++) {
      g_free (pred[e]);
      g_free (truth[e]);
    }
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
sp_score_per_class (const SpScore *s, int c, double *precision, double *recall, double *f1,
                    int64_t *support)
{
  int64_t row = 0, col = 0, tp = s->confusion[(size_t) c * s->C + c];
  for (int k = 0; k < s->C; k++) {
    row += s->confusion[(size_t) c * s->C + k];
    col += s->confusion[(size_t) k * s->C + c];
  }
  *precision = col ? (double) tp / (double) col : 0.0;
  *recall = row ? (double) tp / (double) row : 0.0;
  *f1 = *precision + *recall > 0 ? 2 * *precision * *recall / (*precision + *recall) : 0.0;
  *support = row;
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

/* "per_class": {LABEL: {precision, recall, f1, support}}, "confusion": {labels, matrix} */
static void
append_classes (GString *j, const SpScore *s, const char *const *names)
{
  g_string_append (j, "\"per_class\": {");
  for (int c = 0; c < s->C; c++) {
    double pr, re, f1;
    int64_t support;
    sp_score_per_class (s, c, &pr, &re, &f1, &support);
    if (c)
      g_string_append (j, ", ");
    spm_json_append_string (j, names[c]);
    g_string_append (j, ": {");
    append_num (j, "precision", pr, FALSE);
    append_num (j, "recall", re, FALSE);
    append_num (j, "f1", f1, FALSE);
    g_string_append_printf (j, "\"support\": %" G_GINT64_FORMAT "}", support);
  }
  g_string_append (j, "}, ");
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
}

char *
sp_score_json (const SpScore *s, const char *const *names)
{
  GString *j = g_string_new ("{");
  if (s->head == SPM_HEAD_LABELER) {
    g_string_append_printf (j, "\"n\": %" G_GINT64_FORMAT ", \"frames\": %" G_GINT64_FORMAT
                            ", \"unlabelled\": %" G_GINT64_FORMAT ", ", s->seg.n, s->seg.frames,
                            s->unlabelled);
    append_num (j, "frame_accuracy", s->seg.frame_accuracy, FALSE);
    append_num (j, "edit", s->seg.edit, FALSE);
    append_num (j, "f1@10", s->seg.f1_10, FALSE);
    append_num (j, "f1@25", s->seg.f1_25, FALSE);
    append_num (j, "f1@50", s->seg.f1_50, FALSE);
    append_classes (j, s, names);
  } else if (s->head == SPM_HEAD_CLASSIFIER) {
    g_string_append_printf (j, "\"n\": %" G_GINT64_FORMAT ", ", s->cls.n);
    append_num (j, "accuracy", s->cls.accuracy, FALSE);
    append_num (j, "macro_f1", s->cls.macro_f1, FALSE);
    append_classes (j, s, names);
  } else {
    g_string_append_printf (j, "\"n\": %" G_GINT64_FORMAT ", ", s->cap.n);
    append_num (j, "bleu1", s->cap.bleu1, FALSE);
    append_num (j, "bleu4", s->cap.bleu4, FALSE);
    append_num (j, "exact_match", s->cap.exact_match, TRUE);
  }
  g_string_append (j, "}");
  return g_string_free (j, FALSE);
}
