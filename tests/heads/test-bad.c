/* test-bad.c — bad input at every boundary: a clear error naming the place, the right
 * exit status, and nothing written under a final name. */
#include "heads-test.h"

#include <string.h>

char *labeler_config (const char *name, int epochs);

static void
expect (const char *const *args, int status, const char *needle)
{
  HtRun r;
  ht_seqpipe (&r, args);
  if (r.status != status || (needle && !strstr (r.err, needle)))
    g_error ("seqpipe %s: exit %d (want %d), stderr:\n%s(want \"%s\")", args[0], r.status, status,
             r.err, needle ? needle : "");
  ht_run_clear (&r);
}

/* a labeler config whose training manifest is `rows` (under demo/labeler/) */
static char *
bad_config (const char *name, const char *rows, const char *on_error)
{
  g_autofree char *mf = g_strdup_printf ("demo/labeler/%s.csv", name);
  g_free (ht_write (mf, rows));
  g_autofree char *base = labeler_config (name, 1);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (base, &text, NULL, NULL));
  g_autofree char *m = g_strdup_printf ("[train]\nmanifest = %s\nval-manifest =", mf);
  g_auto (GStrv) parts = g_strsplit (text, "[train]\nmanifest = demo/labeler/train.csv\n"
                                     "val-manifest =", 2);
  g_autofree char *joined = g_strjoinv (m, parts);
  g_autofree char *oe = g_strdup_printf ("on-error = %s", on_error);
  g_auto (GStrv) p2 = g_strsplit (joined, "on-error = skip", 2);
  g_autofree char *final = g_strjoinv (oe, p2);
  g_autofree char *file = g_strdup_printf ("%s.ini", name);
  return ht_write (file, final);
}

static gboolean
dir_empty (const char *name)
{
  g_autofree char *p = ht_path (name);
  GDir *d = g_dir_open (p, 0, NULL);
  if (!d)
    return TRUE;
  gboolean empty = g_dir_read_name (d) == NULL;
  g_dir_close (d);
  return empty;
}

static void
test_manifest_rows (void)
{
  ht_demo ("labeler");
  const char *rows = "path,labels\ntrain-0.mp4,train-0.txt\nmissing.mp4,train-0.txt\n"
                     "train-1.mp4,train-1.csv\n";
  g_autofree char *skip = bad_config ("bad-skip", rows, "skip");
  expect ((const char *[]) { "train", "-q", skip, NULL }, 2, "bad-skip.csv:3: ");
  g_assert_true (ht_exists ("out/bad-skip/model.safetensors"));
  g_autofree char *stop = bad_config ("bad-stop", rows, "stop");
  expect ((const char *[]) { "train", "-q", stop, NULL }, 1, "missing.mp4");
  g_assert_true (dir_empty ("out/bad-stop"));
}

static void
test_label_files (void)
{
  ht_demo ("labeler");
  /* an unknown label on line 3 of a .csv label file */
  g_free (ht_write ("demo/labeler/unknown.csv", "start,end,label\n0,2,bars\n2,30,zebra\n"));
  g_autofree char *a = bad_config ("bad-unknown", "path,labels\ntrain-0.mp4,unknown.csv\n", "stop");
  expect ((const char *[]) { "train", "-q", a, NULL }, 1, "unknown.csv:3: unknown label \"zebra\"");
  g_assert_true (dir_empty ("out/bad-unknown"));
  /* a .txt label file shorter than the video */
  g_autofree char *txt = ht_read ("demo/labeler/train-0.txt");
  txt[strlen (txt) / 2] = '\0';
  g_free (ht_write ("demo/labeler/short.txt", txt));
  g_autofree char *b = bad_config ("bad-short", "path,labels\ntrain-0.mp4,short.txt\n", "stop");
  expect ((const char *[]) { "train", "-q", b, NULL }, 1, "length mismatch");
  /* a header that is not start,end,label */
  g_free (ht_write ("demo/labeler/header.csv", "from,to,label\n0,2,bars\n"));
  g_autofree char *c = bad_config ("bad-header", "path,labels\ntrain-0.mp4,header.csv\n", "stop");
  expect ((const char *[]) { "train", "-q", c, NULL }, 1, "header.csv:1: ");
  /* a manifest without the labeler's column */
  g_autofree char *d = bad_config ("bad-columns", "path,label\ntrain-0.mp4,bars\n", "skip");
  expect ((const char *[]) { "train", "-q", d, NULL }, 1, "\"labels\" column");
  g_assert_true (dir_empty ("out/bad-columns"));
}

static void
test_checkpoints (void)
{
  const char *fx = g_getenv ("SEQPIPE_HEADS_FIXTURES");
  g_autofree char *ck = g_build_filename (fx, "labeler.safetensors", NULL);
  g_autofree char *npy = g_build_filename (fx, "features.npy", NULL);
  g_autofree char *text = g_strdup_printf (
      "[pipeline]\ninputs = %s\noutput-dir = out/ck\n[decoder]\nplugin = npy\n"
      "[model]\ncheckpoint = %s\n[head]\nplugin = classifier\n[sink:csv]\npath = {stem}.csv\n",
      npy, ck);
  g_autofree char *ini = ht_write ("ck.ini", text);
  /* a checkpoint for another head */
  expect ((const char *[]) { "run", "-q", ini, NULL }, 1, "for the labeler head");
  g_assert_false (ht_exists ("out/ck/features.csv"));
  /* features of another size: a (4, 5) array against a model of D = 6 */
  static const float five[20] = { 0 };
  g_autofree char *npy5 = ht_path ("five.npy");
  g_autoptr (GString) h = g_string_new_len ("\x93NUMPY\x01\x00\x76\x00", 10);
  g_string_append (h, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5), }");
  while (h->len < 127)
    g_string_append_c (h, ' ');
  g_string_append_c (h, '\n');
  g_string_append_len (h, (const char *) five, sizeof five);
  g_assert_true (g_file_set_contents (npy5, h->str, h->len, NULL));
  expect ((const char *[]) { "run", "-q", ini, "--set", "head.plugin=labeler", "--set",
                             "pipeline.inputs=five.npy", NULL }, 1, "size 6");
  g_assert_false (ht_exists ("out/ck/five.csv"));
  /* a truncated checkpoint */
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (ck, &data, &len, NULL));
  g_autofree char *cut = ht_path ("cut.safetensors");
  g_assert_true (g_file_set_contents (cut, data, (gssize) len - 100, NULL));
  expect ((const char *[]) { "run", "-q", ini, "--set", "head.plugin=labeler", "--set",
                             "model.checkpoint=cut.safetensors", NULL }, 1, "cut.safetensors");
  g_assert_false (ht_exists ("out/ck/features.csv"));
}

/* a trained checkpoint refuses features made with other decoder settings */
static void
test_settings (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("set", 1);
  expect ((const char *[]) { "train", "-q", ini, NULL }, 0, NULL);
  expect ((const char *[]) { "eval", "-q", ini, "--set", "decoder.fps=5", NULL }, 1,
          "[decoder] fps (checkpoint 10, config 5)");
  /* an extractor key that changes the feature size is named, not only the sizes */
  expect ((const char *[]) { "eval", "-q", ini, "--set", "extractor.thumb=4", NULL }, 1,
          "[extractor] thumb");
  /* [train] init: weights of a checkpoint of the same model, else a clear refusal */
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.init=out/set/model.safetensors",
                             "--set", "model.checkpoint=out/set/init.safetensors", NULL }, 0, NULL);
  expect ((const char *[]) { "train", "-q", ini, "--set", "train.init=out/set/model.safetensors",
                             "--set", "model.hidden=32", "--set",
                             "model.checkpoint=out/set/h32.safetensors", NULL }, 1,
          "hidden 24 ([model] hidden 32)");
  g_assert_false (ht_exists ("out/set/h32.safetensors"));
}

/* a captioner row without words */
static void
test_captions (void)
{
  ht_demo ("captioner");
  g_free (ht_write ("demo/captioner/empty.csv",
                    "path,caption\ntrain-0.png,a red square\ntrain-1.png,\" !? \"\n"));
  g_autofree char *ini = ht_write ("empty.ini",
      "[pipeline]\noutput-dir = out/empty\non-error = stop\n[decoder]\nwidth = 32\nheight = 32\n"
      "[model]\nhidden = 8\ncheckpoint = out/empty/model.safetensors\n"
      "[head]\nplugin = captioner\n[train]\nmanifest = demo/captioner/empty.csv\nepochs = 1\n"
      "cache-dir = cache\n");
  expect ((const char *[]) { "train", "-q", ini, NULL }, 1, "empty.csv:3: empty caption");
  g_assert_true (dir_empty ("out/empty"));
  expect ((const char *[]) { "train", "-q", ini, "--set", "pipeline.on-error=skip", NULL }, 2,
          "empty.csv:3: empty caption");
  g_assert_true (ht_exists ("out/empty/model.safetensors"));
}

void
add_bad_tests (void)
{
  g_test_add_func ("/heads/bad/manifest-rows", test_manifest_rows);
  g_test_add_func ("/heads/bad/label-files", test_label_files);
  g_test_add_func ("/heads/bad/checkpoints", test_checkpoints);
  g_test_add_func ("/heads/bad/feature-settings", test_settings);
  g_test_add_func ("/heads/bad/captions", test_captions);
}
