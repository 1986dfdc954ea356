/* cmd-eval.c — `seqpipe eval CONFIG [--set G.K=V]... [--metrics-out FILE] [-q]`.
 *
 * Scores the model in [model] checkpoint on the labelled [pipeline] manifest with the
 * DESIGN §9 metrics: a table on stdout, and JSON with exactly the §9 keys in FILE.
 * Predictions come from the configured head stage itself, fed the input's features
 * (extracted once into [train] cache-dir), so eval scores what `run` writes —
 * including the labeler's min-segment rule and the captioner's beam search.
 * Frames no segment covers are unlabelled: reported per input, counted in
 * `unlabelled`, and left out of every metric.
 * Bad rows follow [pipeline] on-error as in train: skip (reported, exit 2) or stop
 * (exit 1, nothing scored). */
#include "cmds.h"
#include "data-checkpoint.h"
#include "data-score.h"
#include "run-engine.h"
#include "run-inputs.h"
#include "run-signals.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const SpDataset *ds;
  SpPredictions *p;
  size_t ex;            /* labeler/classifier: example being run */
  guint input;          /* captioner: input being run */
  int64_t n;            /* records so far for this input */
} Collect;

static gboolean
collect (SpStage *head, const SpRecord *r, void *user, GError **error)
{
  Collect *c = user;
  (void) head;
  (void) error;
  if (c->ds->head == SPM_HEAD_LABELER) {
    if (c->n < c->ds->ex[c->ex].T)
      c->p->frame[c->ex][c->n] = r->label;
  } else if (c->ds->head == SPM_HEAD_CLASSIFIER) {
    c->p->cls[c->ex] = r->label;
  } else {
    g_free (c->p->caption[c->input]);
    c->p->caption[c->input] = g_strdup (r->text ? r->text : "");
  }
  c->n++;
  return TRUE;
}

/* one input's frames through a fresh instance of the head stage, as `run` drives it */
static gboolean
run_head (SpConfig *c, const SpStageClass *klass, const SpDataInput *in, int index,
          Collect *col, GError **error)
{
  SpInputInfo info;
  SpDecoderParams dec;
  gboolean ok;

  sp_input_info_init (&info, in->path, index, in->start, in->end);
  sp_decoder_params_from_config (c, &dec);
  col->n = 0;
  ok = sp_run_head_on_features (c, klass, &info, &dec, in->f.T, in->f.D, in->f.x, in->f.index,
                                in->f.time, collect, col, error);
  sp_input_info_clear (&info);
  return ok;
}

/* per_class and the confusion matrix (rows: truth, columns: prediction) */
static void
print_classes (const SpScore *s, const char *const *names)
{
  int w = 8;
  for (int i = 0; i < s->C; i++)
    w = MAX (w, (int) strlen (names[i]));
  printf ("\n%*s  precision  recall     f1  support\n", w, "");
  for (int c = 0; c < s->C; c++) {
    double pr, re, f1;
    int64_t support;
    sp_score_per_class (s, c, &pr, &re, &f1, &support);
    printf ("%*s  %9.4f  %6.4f  %.4f  %7" G_GINT64_FORMAT "\n", w, names[c], pr, re, f1, support);
  }
  printf ("\nconfusion (rows: truth, columns: prediction)\n%*s", w, "");
  for (int k = 0; k < s->C; k++)
    printf (" %*s", w, names[k]);
  printf ("\n");
  for (int i = 0; i < s->C; i++) {
    printf ("%*s", w, names[i]);
    for (int k = 0; k < s->C; k++)
      printf (" %*" G_GINT64_FORMAT, w, s->confusion[(size_t) i * s->C + k]);
    printf ("\n");
  }
}

static void
print_table (const SpScore *s, const char *const *names)
{
  if (s->head == SPM_HEAD_LABELER) {
    printf ("n               %" G_GINT64_FORMAT "\nframes          %" G_GINT64_FORMAT "\n"
            "unlabelled      %" G_GINT64_FORMAT "\n", s->seg.n, s->seg.frames, s->unlabelled);
    printf ("frame_accuracy  %.4f\nedit            %.4f\n", s->seg.frame_accuracy, s->seg.edit);
    printf ("f1@10           %.4f\nf1@25           %.4f\nf1@50           %.4f\n", s->seg.f1_10,
            s->seg.f1_25, s->seg.f1_50);
    print_classes (s, names);
  } else if (s->head == SPM_HEAD_CLASSIFIER) {
    printf ("n          %" G_GINT64_FORMAT "\naccuracy   %.4f\nmacro_f1   %.4f\n", s->cls.n,
            s->cls.accuracy, s->cls.macro_f1);
    print_classes (s, names);
  } else {
    printf ("n            %" G_GINT64_FORMAT "\nbleu1        %.4f\nbleu4        %.4f\n"
            "exact_match  %.4f\n", s->cap.n, s->cap.bleu1, s->cap.bleu4, s->cap.exact_match);
  }
}

static int
fail (GError *e)
{
  g_printerr ("seqpipe: %s\n", e->message);
  return g_error_matches (e, SP_ERROR, SP_ERROR_INTERRUPTED) ? 3 : 1;
}

static gboolean
predict (SpConfig *c, const SpDataset *ds, SpPredictions *p, GError **error)
{
  const SpStageClass *klass = sp_config_head_class (c);
  Collect col = { .ds = ds, .p = p };
  if (ds->head == SPM_HEAD_CAPTIONER) {
    g_autofree gboolean *used = g_new0 (gboolean, ds->inputs->len + 1);
    for (size_t e = 0; e < ds->n_ex; e++)
      used[g_array_index (ds->rows, SpDataRow, ds->ex_row[e]).input] = TRUE;
    for (guint i = 0; i < ds->inputs->len; i++) {
      const SpDataInput *in = g_ptr_array_index (ds->inputs, i);
      col.input = i;
      if (sp_interrupted ()) {
        g_set_error (error, SP_ERROR, SP_ERROR_INTERRUPTED, "interrupted");
        return FALSE;
      }
      if (used[i] && !run_head (c, klass, in, (int) i, &col, error))
        return FALSE;
    }
    return TRUE;
  }
  for (size_t e = 0; e < ds->n_ex; e++) {
    const SpDataRow *r = &g_array_index (ds->rows, SpDataRow, ds->ex_row[e]);
    col.ex = e;
    if (sp_interrupted ()) {
      g_set_error (error, SP_ERROR, SP_ERROR_INTERRUPTED, "interrupted");
      return FALSE;
    }
    if (!run_head (c, klass, g_ptr_array_index (ds->inputs, r->input), r->input, &col, error))
      return FALSE;
  }
  return TRUE;
}

int
sp_cmd_eval (int argc, char **argv)
{
  g_auto (GStrv) sets = NULL;
  g_autofree char *metrics_out = NULL;
  gboolean quiet = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, "override a config key", "GROUP.KEY=VALUE" },
    { "metrics-out", 0, 0, G_OPTION_ARG_FILENAME, &metrics_out, "write the metrics as JSON",
      "FILE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress line", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "no effect (every verb takes -v)", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GError) e = NULL;
  if (!sp_cmd_parse ("eval", "CONFIG", "Score [model] checkpoint on the labelled [pipeline] "
                     "manifest.", entries, &argc, &argv, 1, 1)
      || !sp_cmd_quiet_verbose ("eval", quiet, verbose))
    return 1;
  sp_signals_install ();
  g_autoptr (SpConfig) c = sp_config_load (argv[1], (const char *const *) sets, "eval", &e);
  if (!c)
    return fail (e);
  SpmHeadKind kind;
  if (!sp_dataset_head_kind (sp_config_head_class (c), &kind, &e))
    return fail (e);
  g_autofree char *manifest = sp_config_path (c, "pipeline", "manifest");
  g_autofree char *ckpt = sp_config_path (c, "model", "checkpoint");
  g_autofree char *cache_dir = sp_config_path (c, "train", "cache-dir");
  if (!manifest || !ckpt) {
    g_printerr ("seqpipe: %s\n", !manifest ? "[pipeline] manifest: required by eval (a labelled "
                                             "manifest)"
                                          : "[model] checkpoint: required by eval");
    return 1;
  }
  g_autoptr (SpmModel) m = spm_model_load (ckpt, &e);
  if (!m)
    return fail (e);
  if (!sp_checkpoint_check_model_keys (c, m, &e))
    return fail (e);
  if (m->cfg.head != kind) {
    g_printerr ("seqpipe: %s: a checkpoint for the %s head, not for the %s head\n", ckpt,
                spm_head_kind_name (m->cfg.head), sp_config_head (c));
    return 1;
  }
  SpProgress *progress = sp_progress_new (quiet);
  g_autoptr (SpDataset) ds = sp_dataset_read (c, manifest, kind, cache_dir,
                                              progress, &e);
  sp_progress_free (progress);
  if (!ds)
    return fail (e);
  if (kind == SPM_HEAD_CAPTIONER) {
    g_autoptr (SpVocab) v = sp_vocab_new ((const char *const *) m->names, &e);
    if (!v)
      return fail (e);
    sp_dataset_assign_vocab (ds, v);
  } else {
    g_autoptr (SpLabelSet) set = sp_label_set_new ((const char *const *) m->names);
    sp_dataset_assign_labels (ds, set, sp_config_double (c, "decoder", "fps") == 0);
  }
  for (guint i = 0; i < ds->errors->len; i++)
    g_printerr ("seqpipe: %s\n", (char *) ds->errors->pdata[i]);
  sp_dataset_report_unlabelled (ds);
  if (ds->errors->len && !g_strcmp0 (sp_config_string (c, "pipeline", "on-error"), "stop")) {
    g_printerr ("seqpipe: %u bad manifest row(s); nothing scored ([pipeline] on-error = stop)\n",
                ds->errors->len);
    return 1;
  }
  if (ds->n_ex == 0) {
    g_printerr ("seqpipe: %s: no usable examples\n", manifest);
    return 1;
  }
  SpPredictions *p = sp_predictions_new (ds);
  if (!predict (c, ds, p, &e)) {
    sp_predictions_free (p, ds);
    return fail (e);
  }
  SpScore s;
  sp_dataset_score (ds, p, m->cfg.C, &s);
  sp_predictions_free (p, ds);
  print_table (&s, (const char *const *) m->names);
  int status = ds->errors->len ? 2 : 0;
  if (metrics_out) {
    g_autofree char *json = sp_score_json (&s, (const char *const *) m->names);
    g_autofree char *text = g_strconcat (json, "\n", NULL);
    if (!g_file_set_contents (metrics_out, text, -1, &e)) {
      g_printerr ("seqpipe: --metrics-out: %s\n", e->message);
      status = 1;
    }
  }
  sp_score_clear (&s);
  return status;
}
