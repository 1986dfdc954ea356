/* test-train-val.c — `seqpipe train` with validation held out of the training
 * manifest, early stopping, its refusals (config, --resume) and partial or bad labels,
 * end to end on the small demo set. */
#include "heads-test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *labeler_config (const char *name, int epochs);

/* seqpipe args...; the exit status must be `status` and stderr + stdout hold `needle` */
static HtRun
run_expect (const char *const *args, int status, const char *needle)
{
  HtRun r;
  ht_seqpipe (&r, args);
  if (r.status != status || (needle && !strstr (r.err, needle) && !strstr (r.out, needle)))
    g_error ("seqpipe %s: exit %d (want %d), stdout:\n%s\nstderr:\n%s(want \"%s\")", args[0],
             r.status, status, r.out, r.err, needle ? needle : "");
  return r;
}

static void
expect (const char *const *args, int status, const char *needle)
{
  HtRun r = run_expect (args, status, needle);
  ht_run_clear (&r);
}

/* column `col` of train-log.csv's rows */
static GArray *
log_column (const char *log, int col)
{
  g_autofree char *text = ht_read (log);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GArray *v = g_array_new (FALSE, FALSE, sizeof (double));
  for (int i = 1; lines[i] && *lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    double x = g_ascii_strtod (f[col], NULL);
    g_array_append_val (v, x);
  }
  return v;
}

/* val-fraction holds one of the three training videos out, written to val-split.csv;
 * an SGD rate too small to move a float makes every epoch after the first no better:
 * patience 1 stops after epoch 2 with epoch 1 the best */
static void
test_val_fraction_patience (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("vf", 6);
  const char *args[] = { "train", "-q", ini, "--set", "train.val-manifest=", "--set",
                         "train.val-fraction=0.34", "--set", "train.patience=1", "--set",
                         "train.optimizer=sgd", "--set", "train.lr=1e-12", NULL };
  HtRun r = run_expect (args, 0, NULL);
  g_assert_nonnull (strstr (r.out, "trained 2 of 6 epochs"));
  g_assert_nonnull (strstr (r.out, "stopped early, no better validation loss for 1 epochs"));
  g_assert_nonnull (strstr (r.out, "best epoch 1: validation loss"));
  g_assert_nonnull (strstr (r.out, "class counts (frames)"));
  ht_run_clear (&r);
  g_assert_cmpint (ht_lines ("out/vf/train-log.csv"), ==, 3);
  g_autofree char *split = ht_read ("out/vf/val-split.csv");
  g_auto (GStrv) rows = g_strsplit (split, "\n", -1);
  g_assert_cmpstr (rows[0], ==, "path,split");
  g_assert_cmpint (g_strv_length (rows), ==, 5);   /* header, 3 inputs, "" */
  int val = 0;
  for (int i = 1; i <= 3; i++) {
    g_assert_true (g_str_has_prefix (rows[i], "train-"));
    val += g_str_has_suffix (rows[i], ",val");
  }
  g_assert_cmpint (val, ==, 1);
  /* the same seed holds out the same input */
  expect (args, 0, NULL);
  g_autofree char *again = ht_read ("out/vf/val-split.csv");
  g_assert_cmpstr (split, ==, again);
}

/* the classifier's split keeps each class's share: 3 training videos per class at
 * 0.34 put one of each on the validation side; rare classes are warned of */
static void
test_classifier_split (void)
{
  ht_demo ("classifier");
  g_autofree char *ini = ht_write ("clsplit.ini",
      "[pipeline]\noutput-dir = out/clsplit\n"
      "[decoder]\nfps = 5\nwidth = 32\nheight = 24\n"
      "[model]\ncell = rnn\nhidden = 8\ncheckpoint = out/clsplit/model.safetensors\n"
      "[head]\nplugin = classifier\n"
      "[train]\nmanifest = demo/classifier/train.csv\nval-fraction = 0.34\nseed = 3\n"
      "epochs = 2\nbatch = 4\nthreads = 1\ncache-dir = cache\nmonitor = macro_f1\n"
      "class-weights = balanced\nlr-schedule = step\n");
  HtRun r = run_expect ((const char *[]) { "train", "-q", ini, NULL }, 0,
                        "class counts (inputs): bars 2");
  g_assert_nonnull (strstr (r.err, "warning: class \"bars\" has 2 input(s)"));
  g_assert_nonnull (strstr (r.out, "validation macro_f1"));
  ht_run_clear (&r);
  g_autofree char *split = ht_read ("out/clsplit/val-split.csv");
  g_auto (GStrv) rows = g_strsplit (split, "\n", -1);
  g_autoptr (GHashTable) val = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int n = 0;
  for (int i = 1; rows[i] && *rows[i]; i++, n++) {
    if (!g_str_has_suffix (rows[i], ",val"))
      continue;
    g_auto (GStrv) f = g_strsplit (rows[i], "-", 3);   /* train-CLASS-i.mp4,val */
    g_assert_false (g_hash_table_contains (val, f[1]));
    g_hash_table_add (val, g_strdup (f[1]));
  }
  g_assert_cmpint (n, ==, 15);
  g_assert_cmpint (g_hash_table_size (val), ==, 5);
}

/* a real curve: the best epoch the summary names is the first maximum of the logged
 * monitor, training stops `patience` epochs after it (or at the end), and the best
 * checkpoint differs from the last when they are different epochs */
static void
test_monitor_best (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("mon", 8);
  HtRun r = run_expect ((const char *[]) { "train", "-q", ini, "--set",
                                           "train.monitor=frame_accuracy", "--set",
                                           "train.patience=2", NULL }, 0, NULL);
  g_autoptr (GArray) acc = log_column ("out/mon/train-log.csv", 4);
  int best = 0;
  for (guint i = 0; i < acc->len; i++)
    if (best == 0 || g_array_index (acc, double, i) > g_array_index (acc, double, best - 1))
      best = (int) i + 1;
  g_autofree char *want = g_strdup_printf ("best epoch %d: validation frame_accuracy", best);
  if (!strstr (r.out, want))
    g_error ("want \"%s\" in:\n%s", want, r.out);
  g_assert_cmpint ((int) acc->len, ==, MIN (8, best + 2));
  ht_run_clear (&r);
  g_autofree char *a = NULL, *b = NULL;
  gsize na, nb;
  g_autofree char *pa = ht_path ("out/mon/model.safetensors");
  g_autofree char *pb = ht_path ("out/mon/model.last.safetensors");
  g_assert_true (g_file_get_contents (pa, &a, &na, NULL));
  g_assert_true (g_file_get_contents (pb, &b, &nb, NULL));
  if (best == (int) acc->len)
    g_assert_true (na == nb && memcmp (a, b, na) == 0);
  else
    g_assert_false (na == nb && memcmp (a, b, na) == 0);
}

static void
test_config_refusals (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("cfg", 1);
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.monitor=frame_acuracy", NULL },
          1, "[train] monitor: \"frame_acuracy\" is not a figure of the labeler head; did you "
             "mean 'frame_accuracy'?");
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.val-manifest=", "--set",
                             "train.patience=3", NULL }, 1, "[train] patience: 3 needs validation");
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.val-manifest=", "--set",
                             "train.monitor=edit", NULL }, 1, "[train] monitor: \"edit\" needs");
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.val-fraction=0.2", NULL }, 1,
          "[train] val-fraction: 0.2 with val-manifest set");
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.lr-schedule=linear", NULL }, 1,
          "[train] lr-schedule");
  /* the captioner has no classes to weigh (checked before any data is read) */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (ini, &text, NULL, NULL));
  g_auto (GStrv) parts = g_strsplit (text, "plugin = labeler\nlabels = demo/labeler/labels.txt", 2);
  g_autofree char *cap = g_strjoinv ("plugin = captioner", parts);
  g_autofree char *cap_ini = ht_write ("cfg-cap.ini", cap);
  expect ((const char *[]) { "train", "-q", cap_ini, "--set", "train.class-weights=balanced",
                             NULL }, 1, "[train] class-weights: balanced weighs classes");
}

/* balanced class weights and a cosine schedule train; the resume refusals */
static void
test_weights_resume (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("wr", 2);
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.class-weights=balanced",
                             "--set", "train.lr-schedule=cosine", NULL }, 0, "all epochs run");
  expect ((const char *[]) { "train", "-q", ini, "--set", "model.checkpoint=out/wr/b.safetensors",
                             "--set", "train.epochs=3", "--set", "train.class-weights=balanced",
                             "--set", "train.lr-schedule=cosine", NULL }, 0, NULL);
  /* the best checkpoint is not one to resume from */
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.epochs=3", "--set",
                             "train.class-weights=balanced", "--set", "train.lr-schedule=cosine",
                             "--resume", "out/wr/model.safetensors", NULL }, 1,
          "not a NAME.last.safetensors checkpoint");
  /* the best epoch so far was by the loss: another monitor cannot take it over */
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.class-weights=balanced",
                             "--set", "train.lr-schedule=cosine", "--set", "train.monitor=edit",
                             "--resume",
                             "out/wr/model.last.safetensors", NULL }, 1,
          "[train] monitor: \"edit\", but the run in out/wr/model.last.safetensors monitored \"loss\"");
  /* a .last beside the state of another run's moment */
  g_autofree char *state = NULL;
  gsize n;
  g_autofree char *sb = ht_path ("out/wr/b.last.state.safetensors");
  g_autofree char *sa = ht_path ("out/wr/model.last.state.safetensors");
  g_assert_true (g_file_get_contents (sb, &state, &n, NULL));
  g_assert_true (g_file_set_contents (sa, state, (gssize) n, NULL));
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.epochs=3", "--set",
                             "train.class-weights=balanced", "--set", "train.lr-schedule=cosine",
                             "--resume", "out/wr/model.last.safetensors", NULL }, 1,
          "were not written together");
}

/* the reported bug: a segment file whose last segment ends at the last frame's time
 * (that frame is uncovered, half-open) must train; a gap leaves frames unlabelled,
 * which eval counts and leaves out */
static void
test_partial_labels (void)
{
  ht_demo ("labeler");
  g_autofree char *src = ht_read ("demo/labeler/train-1.csv");
  g_auto (GStrv) lines = g_strsplit (src, "\n", -1);
  g_autoptr (GString) out = g_string_new ("start,end,label\n");
  int n = 0;
  while (lines[n + 1] && *lines[n + 1])
    n++;   /* segments on lines 1..n */
  double end = 0;
  for (int i = 1; i <= n; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    if (i == 2)
      continue;   /* a gap */
    end = g_ascii_strtod (f[1], NULL);
    if (i == n)
      g_string_append_printf (out, "%s,%.1f,%s\n", f[0], end - 0.1, f[2]);
    else
      g_string_append_printf (out, "%s\n", lines[i]);
  }
  g_free (ht_write ("demo/labeler/partial.csv", out->str));
  g_free (ht_write ("demo/labeler/partial-train.csv",
                    "path,labels\ntrain-0.mp4,train-0.txt\ntrain-1.mp4,partial.csv\n"));
  g_free (ht_write ("demo/labeler/partial-test.csv", "path,labels\ntrain-1.mp4,partial.csv\n"));
  g_autofree char *ini = labeler_config ("part", 2);
  expect ((const char *[]) { "train", "-q", ini, "--set",
                             "train.manifest=demo/labeler/partial-train.csv", NULL }, 0,
          "frames unlabelled");
  expect ((const char *[]) { "eval", "-q", ini, "--set",
                             "pipeline.manifest=demo/labeler/partial-test.csv", "--metrics-out",
                             "out/part/m.json", NULL }, 0, "frames unlabelled");
  g_autofree char *json = ht_read ("out/part/m.json");
  double frames = ht_json_number (json, "frames"), unl = ht_json_number (json, "unlabelled");
  g_assert_cmpfloat (unl, >=, 2);   /* at least a 2 s segment's gap at 10 fps ... */
  /* ... and every frame is either scored or unlabelled: the video is `end` seconds */
  g_assert_cmpfloat (frames + unl, ==, end * 10);
}

/* bad labels through train: each error names the file and line */
static void
test_bad_labels (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("bl", 1);
  g_free (ht_write ("demo/labeler/ov.csv", "start,end,label\n0,2,bars\n1,3,box\n"));
  g_free (ht_write ("demo/labeler/ov-train.csv", "path,labels\ntrain-1.mp4,ov.csv\n"));
  expect ((const char *[]) { "train", "-q", ini, "--set",
                             "train.manifest=demo/labeler/ov-train.csv", NULL }, 1,
          "ov.csv:3: segment [1, 3) overlaps [0, 2) on line 2");
  /* with [head] labels: an unknown label says which one was meant */
  g_free (ht_write ("demo/labeler/typo.csv", "start,end,label\n0,2,bars\n2,30,boxx\n"));
  g_free (ht_write ("demo/labeler/typo-train.csv", "path,labels\ntrain-1.mp4,typo.csv\n"));
  expect ((const char *[]) { "train", "-q", ini, "--set",
                             "train.manifest=demo/labeler/typo-train.csv", NULL }, 1,
          "typo.csv:3: unknown label \"boxx\"; did you mean 'box'?");
  /* without it: a label only the validation set has */
  g_free (ht_write ("demo/labeler/vo.csv", "start,end,label\n0,2,bars\n2,30,zebra\n"));
  g_free (ht_write ("demo/labeler/vo-val.csv", "path,labels\nval-0.mp4,vo.csv\n"));
  expect ((const char *[]) { "train", "-q", ini, "--set", "head.labels=", "--set",
                             "train.val-manifest=demo/labeler/vo-val.csv", NULL }, 1,
          "vo.csv:3: label \"zebra\" appears only in the validation set");
  /* a NUL byte in the labels list */
  g_free (ht_write ("demo/labeler/nul-labels.txt", "bars\nbox"));
  g_autofree char *p = ht_path ("demo/labeler/nul-labels.txt");
  FILE *f = fopen (p, "ab");
  fputc (0, f);
  fclose (f);
  expect ((const char *[]) { "train", "-q", ini, "--set",
                             "head.labels=demo/labeler/nul-labels.txt", NULL }, 1,
          "nul-labels.txt: byte offset 8: a NUL byte");
}

/* the PyTorch fixture's checkpoint with its metadata edited: `head` replaced by
 * `head_meta` (the classifier has the labeler's tensors) and `extra` JSON members put
 * first into __metadata__; written to ht_dir()/name */
static char *
edited_fixture (const char *name, const char *head_meta, const char *extra)
{
  g_autofree char *src = g_build_filename (g_getenv ("SEQPIPE_HEADS_FIXTURES"),
                                           "labeler.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | (guint8) data[i];
  g_autofree char *header = g_strndup (data + 8, n);
  g_auto (GStrv) a = g_strsplit (header, "\"head\": \"labeler\"", 2);
  g_autofree char *h1 = g_strjoinv (head_meta, a);
  g_auto (GStrv) b = g_strsplit (h1, "\"__metadata__\": {", 2);
  g_autofree char *with = g_strconcat ("\"__metadata__\": {", extra, NULL);
  g_autoptr (GString) h = g_string_new (NULL);
  g_string_append (h, b[0]);
  g_string_append (h, with);
  g_string_append (h, b[1]);
  while (h->len % 8)
    g_string_append_c (h, ' ');
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint8 size[8];
  for (int i = 0; i < 8; i++)
    size[i] = (guint8) ((guint64) h->len >> (8 * i));
  g_byte_array_append (out, size, 8);
  g_byte_array_append (out, (const guint8 *) h->str, h->len);
  g_byte_array_append (out, (const guint8 *) data + 8 + n, (guint) (len - 8 - n));
  char *path = ht_path (name);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
  return path;
}

/* run on .npy features with a checkpoint made elsewhere */
static char *
npy_config (const char *name, const char *ckpt, const char *head, const char *extra)
{
  g_autofree char *npy = g_build_filename (g_getenv ("SEQPIPE_HEADS_FIXTURES"), "features.npy",
                                           NULL);
  g_autofree char *text = g_strdup_printf (
      "[pipeline]\ninputs = %s\noutput-dir = out/%s\n[decoder]\nplugin = npy\n%s"
      "[model]\ncheckpoint = %s\n[head]\nplugin = %s\n[sink:csv]\npath = {stem}.csv\n",
      npy, name, extra, ckpt, head);
  g_autofree char *file = g_strdup_printf ("%s.ini", name);
  return ht_write (file, text);
}

static void
test_checkpoint_honesty (void)
{
  /* no `pool` in the metadata: [head] pool = mean is how it pools, not a mismatch */
  g_autofree char *cls = edited_fixture ("cls-nopool.safetensors", "\"head\": \"classifier\"", "");
  g_autofree char *a = npy_config ("hon-pool", cls, "classifier\npool = mean", "");
  expect ((const char *[]) { "run", "-q", a, NULL }, 0, NULL);
  /* recorded: the config must agree */
  g_autofree char *last = edited_fixture ("cls-last.safetensors", "\"head\": \"classifier\"",
                                          "\"pool\": \"last\", ");
  g_autofree char *b = npy_config ("hon-pool2", last, "classifier\npool = mean", "");
  expect ((const char *[]) { "run", "-q", b, NULL }, 1, "trained with pool = last");
  /* [model] hidden against an H = 8 checkpoint, in run and in eval */
  g_autofree char *fx = g_build_filename (g_getenv ("SEQPIPE_HEADS_FIXTURES"),
                                          "labeler.safetensors", NULL);
  g_autofree char *c = npy_config ("hon-hidden", fx, "labeler", "");
  expect ((const char *[]) { "run", "-q", c, "--set", "model.hidden=32", NULL }, 1,
          "[model] hidden: 32, but the checkpoint");
  expect ((const char *[]) { "run", "-q", c, "--set", "model.hidden=8", NULL }, 0, NULL);
  /* a labels list saved with a byte-order mark matches the checkpoint's labels */
  g_free (ht_write ("bom-labels.txt", "\xEF\xBB\xBFwalk\r\nrun\r\nsit\r\n"));
  g_autofree char *bl = npy_config ("hon-bom", fx, "labeler\nlabels = bom-labels.txt", "");
  expect ((const char *[]) { "run", "-q", bl, NULL }, 0, NULL);
  /* .npy inputs: the checkpoint's frame settings do not apply */
  g_autofree char *dec = edited_fixture ("lab-dec.safetensors", "\"head\": \"labeler\"",
                                         "\"decoder\": \"{\\\"fps\\\":10,\\\"height\\\":48,"
                                         "\\\"plugin\\\":\\\"npy\\\",\\\"width\\\":48}\", ");
  g_autofree char *d = npy_config ("hon-npy", dec, "labeler", "fps = 25\nwidth = 99\n");
  expect ((const char *[]) { "run", "-q", d, NULL }, 0, NULL);
}

void
add_train_val_tests (void)
{
  g_test_add_func ("/heads/train/val-fraction-patience", test_val_fraction_patience);
  g_test_add_func ("/heads/train/monitor-best", test_monitor_best);
  g_test_add_func ("/heads/train/classifier-split", test_classifier_split);
  g_test_add_func ("/heads/train/config-refusals", test_config_refusals);
  g_test_add_func ("/heads/train/weights-resume", test_weights_resume);
  g_test_add_func ("/heads/train/partial-labels", test_partial_labels);
  g_test_add_func ("/heads/train/bad-labels", test_bad_labels);
  g_test_add_func ("/heads/checkpoint/honesty", test_checkpoint_honesty);
}
