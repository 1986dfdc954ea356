/* test-checkpoint.c — checkpoints: save -> load -> forward is bit-identical, metadata
 * round-trips, a minimal checkpoint made elsewhere loads, malformed ones are rejected
 * naming the file and tensor, and the committed seqpipe-written checkpoints (which
 * gen_fixtures.py loads into torch with load_state_dict(strict=True)) still give the
 * outputs stored beside them.
 *
 *   test-train-checkpoint --write-fixtures DIR   rewrites DIR/seqpipe-*.safetensors
 */
#include "train-check.h"
#include "spm-json.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* probs of every step (labeler) or of the sequence (classifier) for x [T][D] */
static float *
run (const SpmModel *m, const float *x, int T)
{
  const int C = m->cfg.C;
  g_autoptr (SpmRunner) r = spm_runner_new (m);
  float *out = g_new0 (float, (size_t) (T + 1) * C);
  for (int t = 0; t < T; t++)
    spm_runner_step (r, x + (size_t) t * m->cfg.D, out + (size_t) t * C);
  if (m->cfg.head == SPM_HEAD_CLASSIFIER)
    spm_runner_classify (r, out + (size_t) T * C);
  return out;
}

static float *
random_input (int T, int D, uint64_t seed)
{
  SpmRng rng;
  spm_rng_seed (&rng, seed);
  float *x = g_new (float, (size_t) T * D);
  for (int i = 0; i < T * D; i++)
    x[i] = (float) spm_rng_normal (&rng);
  return x;
}

/* ---- round trip ------------------------------------------------------------------ */

static void
test_round_trip (gconstpointer data)
{
  const SpmHeadKind head = GPOINTER_TO_INT (data);
  const int C = head == SPM_HEAD_CAPTIONER ? 9 : 4, D = 5, T = 7;
  g_autoptr (SpmModel) m = random_model (head, SPM_CELL_LSTM, D, 6, 2, C, TRUE, 17);
  m->cfg.pool = SPM_POOL_MEAN;
  g_hash_table_insert (m->meta, g_strdup ("decoder"), g_strdup ("{\"fps\":10}"));
  g_hash_table_insert (m->meta, g_strdup ("extractor"), g_strdup ("{\"plugin\":\"x\"}"));
  g_autofree char *path = tmp_path ("round.safetensors");
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_model_save (m, path, &error));
  g_assert_no_error (error);
  g_autoptr (SpmModel) l = spm_model_load (path, &error);
  g_assert_no_error (error);

  g_assert_cmpint (l->cfg.head, ==, head);
  g_assert_cmpint (l->cfg.cell, ==, SPM_CELL_LSTM);
  g_assert_cmpint (l->cfg.H, ==, 6);
  g_assert_cmpint (l->cfg.L, ==, 2);
  g_assert_cmpint (l->cfg.D, ==, D);
  g_assert_cmpint (l->cfg.C, ==, C);
  g_assert_true (l->cfg.has_norm);
  if (head == SPM_HEAD_CLASSIFIER)
    g_assert_cmpint (l->cfg.pool, ==, SPM_POOL_MEAN);
  g_assert_cmpmem (l->params, l->n_params * sizeof (float), m->params, m->n_params * sizeof (float));
  g_assert_true (g_strv_equal ((const char *const *) l->names, (const char *const *) m->names));
  g_assert_cmpstr (g_hash_table_lookup (l->meta, "decoder"), ==, "{\"fps\":10}");
  g_assert_cmpstr (g_hash_table_lookup (l->meta, "extractor"), ==, "{\"plugin\":\"x\"}");
  g_assert_null (g_hash_table_lookup (l->meta, "format"));

  g_autofree float *x = random_input (T, D, 3);
  if (head == SPM_HEAD_CAPTIONER)
    {
      int32_t a[12], b[12];
      float sa, sb;
      int na = spm_caption (m, x, 3, 12, 0, 0, a, &sa);
      int nb = spm_caption (l, x, 3, 12, 0, 0, b, &sb);
      g_assert_cmpmem (a, na * sizeof (int32_t), b, nb * sizeof (int32_t));
      g_assert_cmpmem (&sa, sizeof sa, &sb, sizeof sb);
    }
  else
    {
      g_autofree float *pa = run (m, x, T), *pb = run (l, x, T);
      g_assert_cmpmem (pa, (size_t) (T + 1) * C * sizeof (float), pb, (size_t) (T + 1) * C * sizeof (float));
    }
  g_unlink (path);
}

/* ---- a checkpoint made elsewhere with only format, head and labels ------------------- */

/* writes m's tensors (skipping `skip`, adding `extra`, reshaping `reshape`) with meta */
static void
write_variant (const SpmModel *m, const char *path, const char *skip, const char *extra,
               const char *reshape, const char *const *meta)
{
  g_autofree SpmStWrite *w = g_new0 (SpmStWrite, m->n_tensors + 1);
  int n = 0;
  for (int i = 0; i < m->n_tensors; i++)
    {
      const SpmTensor *t = &m->tensors[i];
      if (skip != NULL && strcmp (t->name, skip) == 0)
        continue;
      w[n] = (SpmStWrite) { .name = t->name, .data = t->data, .ndim = t->ndim,
                            .shape = { t->shape[0], t->shape[1] } };
      if (reshape != NULL && strcmp (t->name, reshape) == 0)
        {
          w[n].shape[0] = t->shape[1];   /* same size, transposed shape */
          w[n].shape[1] = t->shape[0];
        }
      n++;
    }
  if (extra != NULL)
    w[n++] = (SpmStWrite) { .name = extra, .data = m->params, .ndim = 1, .shape = { 2 } };
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_safetensors_write (path, w, n, meta, &error));
  g_assert_no_error (error);
}

static void
test_minimal (void)
{
  g_autoptr (SpmModel) m = random_model (SPM_HEAD_LABELER, SPM_CELL_RNN, 3, 5, 3, 4, FALSE, 2);
  g_autofree char *path = tmp_path ("minimal.safetensors");
  g_autofree char *labels = spm_json_strv_to_text ((const char *const *) m->names);
  const char *meta[] = { "format", "seqpipe-1", "head", "labeler", "labels", labels, NULL };
  write_variant (m, path, NULL, NULL, NULL, meta);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) l = spm_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (l->cfg.cell, ==, SPM_CELL_RNN);
  g_assert_cmpint (l->cfg.H, ==, 5);
  g_assert_cmpint (l->cfg.L, ==, 3);
  g_assert_cmpint (l->cfg.D, ==, 3);
  g_assert_cmpint (l->cfg.C, ==, 4);
  g_assert_false (l->cfg.has_norm);
  g_assert_cmpmem (l->params, l->n_params * sizeof (float), m->params, m->n_params * sizeof (float));
  g_unlink (path);
}

static void
test_minimal_captioner (void)
{
  g_autoptr (SpmModel) m = random_model (SPM_HEAD_CAPTIONER, SPM_CELL_LSTM, 6, 5, 2, 9, TRUE, 4);
  g_autofree char *path = tmp_path ("minimal-cap.safetensors");
  g_autofree char *vocab = spm_json_strv_to_text ((const char *const *) m->names);
  const char *meta[] = { "format", "seqpipe-1", "head", "captioner", "vocab", vocab, NULL };
  write_variant (m, path, NULL, NULL, NULL, meta);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) l = spm_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (l->cfg.cell, ==, SPM_CELL_LSTM);
  g_assert_cmpint (l->cfg.H, ==, 5);
  g_assert_cmpint (l->cfg.L, ==, 2);
  g_assert_cmpint (l->cfg.D, ==, 6);
  g_assert_cmpint (l->cfg.E, ==, 5);
  g_assert_cmpint (l->cfg.C, ==, 9);
  g_assert_true (l->cfg.has_norm);
  g_assert_cmpmem (l->params, l->n_params * sizeof (float), m->params, m->n_params * sizeof (float));
  g_unlink (path);
}

/* saving where nothing can be written fails with an error and leaves no file */
static void
test_save_fails (void)
{
  g_autoptr (SpmModel) m = random_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 3, 4, 1, 2, FALSE, 1);
  g_autofree char *path = tmp_path ("missing-dir/x.safetensors");
  g_autoptr (GError) error = NULL;
  g_assert_false (spm_model_save (m, path, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  /* names that do not match the outputs cannot make a loadable checkpoint */
  spm_model_set_names (m, (const char *const[]) { "only-one", NULL });
  g_autofree char *p2 = tmp_path ("names.safetensors");
  g_assert_false (spm_model_save (m, p2, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_MISMATCH);
}

/* ---- malformed checkpoints ------------------------------------------------------------ */

typedef struct {
  const char *name;
  const char *skip, *extra, *reshape;
  gboolean bad_labels, truncate, no_format;
  const char *says;        /* part of the message */
} Bad;

static void
test_rejected (gconstpointer data)
{
  const Bad *b = data;
  g_autoptr (SpmModel) m = random_model (SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, 3, 4, 2, 3, TRUE, 2);
  g_autofree char *path = tmp_path ("bad.safetensors");
  g_autofree char *labels = b->bad_labels ? g_strdup ("[\"a\",\"b\"]")
                                          : spm_json_strv_to_text ((const char *const *) m->names);
  const char *meta[] = { "format", b->no_format ? "other" : "seqpipe-1", "head", "classifier",
                         "labels", labels, "hidden", "4", "layers", "2", NULL };
  write_variant (m, path, b->skip, b->extra, b->reshape, meta);
  if (b->truncate)
    {
      g_autofree char *bytes = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      g_assert_true (g_file_set_contents (path, bytes, len - 10, NULL));
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) l = spm_model_load (path, &error);
  g_assert_null (l);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  if (b->says != NULL && strstr (error->message, b->says) == NULL)
    {
      g_printerr ("message \"%s\" does not name \"%s\"\n", error->message, b->says);
      g_test_fail ();
    }
  g_unlink (path);
}

/* what the loader refuses in values: a non-finite number in any tensor (norm included),
 * a label list with a name twice or an empty name, metadata claiming sizes its tensors
 * do not have (refused before anything is allocated from it), and a FIFO given as the
 * file (refused at once instead of blocking) */
static void
expect_refused (const char *path, const char *says)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) l = spm_model_load (path, &error);
  g_assert_null (l);
  g_assert_nonnull (error);
  if (strstr (error->message, says) == NULL)
    {
      g_printerr ("message \"%s\" does not name \"%s\"\n", error->message, says);
      g_test_fail ();
    }
}

static void
test_rejected_values (void)
{
  g_autofree char *path = tmp_path ("values.safetensors");
  g_autoptr (GError) error = NULL;
  static const struct { const char *tensor; float value; const char *says; } poison[] = {
    { "lstm.weight_ih_l0", NAN, "tensor 'lstm.weight_ih_l0' holds NaN at element 5" },
    { "head.bias", INFINITY, "tensor 'head.bias' holds an infinity at element 5" },
    { "norm.mean", NAN, "tensor 'norm.mean' holds NaN at element 5" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (poison); i++)
    {
      g_autoptr (SpmModel) m = random_model (SPM_HEAD_LABELER, SPM_CELL_LSTM, 6, 4, 1, 7, TRUE, 3);
      const SpmTensor *t = spm_model_tensor (m, poison[i].tensor);
      g_assert_nonnull (t);
      t->data[5] = poison[i].value;
      g_assert_true (spm_model_save (m, path, &error));
      expect_refused (path, poison[i].says);
    }
  {
    g_autoptr (SpmModel) m = random_model (SPM_HEAD_CLASSIFIER, SPM_CELL_RNN, 3, 4, 1, 3, TRUE, 4);
    const char *twice[] = { "a", "b", "a", NULL }, *empty[] = { "a", "", "b", NULL };
    spm_model_set_names (m, twice);
    g_assert_true (spm_model_save (m, path, &error));
    expect_refused (path, "metadata 'labels': a name given twice at 2");
    spm_model_set_names (m, empty);
    g_assert_true (spm_model_save (m, path, &error));
    expect_refused (path, "metadata 'labels': an empty name at 1");
  }
  {
    g_autoptr (SpmModel) m = random_model (SPM_HEAD_CLASSIFIER, SPM_CELL_LSTM, 3, 4, 2, 3, TRUE, 2);
    g_autofree char *labels = spm_json_strv_to_text ((const char *const *) m->names);
    const char *huge[] = { "format", "seqpipe-1", "head", "classifier", "labels", labels,
                           "hidden", "1048576", "layers", "2", NULL };
    const char *wide[] = { "format", "seqpipe-1", "head", "classifier", "labels", labels,
                           "feature_dim", "16777216", NULL };
    write_variant (m, path, NULL, NULL, NULL, huge);
    expect_refused (path, "tensor 'lstm.weight_ih_l0' has shape [16, 3], but the metadata makes "
                          "it [4194304, 3]");
    write_variant (m, path, NULL, NULL, NULL, wide);
    expect_refused (path, "but the metadata makes it [16, 16777216]");
  }
  g_unlink (path);
  g_autofree char *fifo = tmp_path ("fifo.safetensors");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  expect_refused (fifo, "not a regular file");
  g_unlink (fifo);
}

/* every proper prefix of a valid checkpoint is refused with an error, never a crash */
static void
test_every_truncation (void)
{
  g_autoptr (SpmModel) m = random_model (SPM_HEAD_CAPTIONER, SPM_CELL_RNN, 3, 4, 1, 6, TRUE, 9);
  g_autofree char *path = tmp_path ("whole.safetensors");
  g_autofree char *cut = tmp_path ("cut.safetensors");
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_model_save (m, path, &error));
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  for (gsize n = 0; n < len; n++)
    {
      g_assert_true (g_file_set_contents_full (cut, bytes, n, G_FILE_SET_CONTENTS_NONE, 0644, NULL));
      g_autoptr (SpmModel) l = spm_model_load (cut, &error);
      if (l != NULL || error == NULL)
        g_error ("a checkpoint cut to %zu of %zu bytes was accepted", n, len);
      g_clear_error (&error);
    }
  g_unlink (cut);
  g_unlink (path);
}

/* ---- the committed seqpipe-written checkpoints ------------------------------------------ */

static const struct {
  const char *name;
  SpmHeadKind head;
  SpmCell cell;
  SpmPool pool;
  int L;
} written[] = {
  { "seqpipe-labeler-lstm", SPM_HEAD_LABELER, SPM_CELL_LSTM, SPM_POOL_LAST, 2 },
  { "seqpipe-classifier-rnn", SPM_HEAD_CLASSIFIER, SPM_CELL_RNN, SPM_POOL_MEAN, 2 },
};

static int
write_fixtures (const char *dir)
{
  const int D = 5, T = 9;
  for (size_t i = 0; i < G_N_ELEMENTS (written); i++)
    {
      g_autoptr (SpmModel) m = random_model (written[i].head, written[i].cell, D, 6,
                                             written[i].L, 4, TRUE, 100 + i);
      m->cfg.pool = written[i].pool;
      g_autofree char *file = g_strdup_printf ("%s.safetensors", written[i].name);
      g_autofree char *io = g_strdup_printf ("%s.io.safetensors", written[i].name);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_autofree char *iopath = g_build_filename (dir, io, NULL);
      g_autofree float *x = random_input (T, D, 200 + i);
      g_autofree float *probs = run (m, x, T);
      gboolean cls = written[i].head == SPM_HEAD_CLASSIFIER;
      SpmStWrite w[2] = {
        { .name = "x", .data = x, .ndim = 2, .shape = { T, D } },
        { .name = "probs", .data = probs + (cls ? (size_t) T * 4 : 0), .ndim = 2,
          .shape = { cls ? 1 : T, 4 } },
      };
      g_autoptr (GError) error = NULL;
      if (!spm_model_save (m, path, &error) || !spm_safetensors_write (iopath, w, 2, NULL, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      g_print ("wrote %s and %s\n", path, iopath);
    }
  return 0;
}

static void
test_written (gconstpointer data)
{
  const int i = GPOINTER_TO_INT (data);
  g_autofree char *file = g_strdup_printf ("%s.safetensors", written[i].name);
  g_autofree char *io = g_strdup_printf ("%s.io.safetensors", written[i].name);
  g_autofree char *path = fixture_path (file);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmModel) m = spm_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->cfg.cell, ==, written[i].cell);
  g_assert_cmpint (m->cfg.pool, ==, written[i].pool);
  g_autoptr (SpmSafetensors) st = read_fixture (io);
  const SpmStTensor *x = need (st, "x"), *want = need (st, "probs");
  const int T = (int) x->shape[0];
  g_autofree float *probs = run (m, x->data, T);
  const gboolean cls = written[i].head == SPM_HEAD_CLASSIFIER;
  check_close (written[i].name, probs + (cls ? (size_t) T * m->cfg.C : 0), want->data,
               (size_t) want->numel, 1e-5, 1e-4);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--write-fixtures") == 0)
    return write_fixtures (argv[2]);
  g_test_init (&argc, &argv, NULL);
  spm_set_threads (1);
  tmpdir = g_dir_make_tmp ("spm-ckpt-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_data_func ("/train/checkpoint/round-trip/labeler", GINT_TO_POINTER (SPM_HEAD_LABELER), test_round_trip);
  g_test_add_data_func ("/train/checkpoint/round-trip/classifier", GINT_TO_POINTER (SPM_HEAD_CLASSIFIER), test_round_trip);
  g_test_add_data_func ("/train/checkpoint/round-trip/captioner", GINT_TO_POINTER (SPM_HEAD_CAPTIONER), test_round_trip);
  g_test_add_func ("/train/checkpoint/minimal", test_minimal);
  g_test_add_func ("/train/checkpoint/minimal-captioner", test_minimal_captioner);
  g_test_add_func ("/train/checkpoint/save-fails", test_save_fails);
  static const Bad bad[] = {
    { "wrong-shape", .reshape = "lstm.weight_hh_l1", .says = "'lstm.weight_hh_l1' has shape [4, 16]" },
    { "missing-tensor", .skip = "lstm.bias_hh_l1", .says = "'lstm.bias_hh_l1' is missing" },
    { "missing-head", .skip = "head.weight", .says = "'head.weight' is missing" },
    { "unexpected-tensor", .extra = "lstm.weight_ih_l7", .says = "unexpected tensor 'lstm.weight_ih_l7'" },
    { "labels-vs-head", .bad_labels = TRUE, .says = "'head.weight'" },
    { "truncated", .truncate = TRUE },
    { "not-seqpipe", .no_format = TRUE, .says = "format" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *p = g_strdup_printf ("/train/checkpoint/rejected/%s", bad[i].name);
      g_test_add_data_func (p, &bad[i], test_rejected);
    }
  g_test_add_func ("/train/checkpoint/rejected/every-truncation", test_every_truncation);
  g_test_add_func ("/train/checkpoint/rejected/values", test_rejected_values);
  for (size_t i = 0; i < G_N_ELEMENTS (written); i++)
    {
      g_autofree char *p = g_strdup_printf ("/train/checkpoint/seqpipe-written/%s", written[i].name);
      g_test_add_data_func (p, GINT_TO_POINTER ((int) i), test_written);
    }
  int rc = g_test_run ();
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
