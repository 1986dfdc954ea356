/* test-units.c — the pieces under the heads, without spawning seqpipe: the min-segment
 * rule, the heads through the harness (isolated plugin path), label files and the
 * tokeniser/vocabulary. */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <seqpipe/check.h>

#include "host-stage.h"
#include "data-cache.h"
#include "spm-npy.h"
#include "data-labels.h"
#include "data-vocab.h"
#include "../../plugins/heads/smooth.h"

/* ---- the min-segment rule ------------------------------------------------------- */

typedef struct { GArray *out; } Sink;

static gboolean
take (int64_t n, int label, void *user, GError **error)
{
  Sink *s = user;
  (void) error;
  for (int64_t i = 0; i < n; i++)
    g_array_append_val (s->out, label);
  return TRUE;
}

/* labels (one char per frame, 10 fps) through the rule -> smoothed labels as chars */
static char *
smooth (const char *in, double min_seg)
{
  SpSmooth sm;
  sp_smooth_init (&sm, min_seg, 1000);
  Sink s = { g_array_new (FALSE, FALSE, sizeof (int)) };
  for (int i = 0; in[i]; i++) {
    g_assert_true (sp_smooth_push (&sm, in[i], i / 10.0, take, &s, NULL));
    g_assert_cmpint (sm.pending, <=, 1000);
  }
  g_assert_true (sp_smooth_finish (&sm, take, &s, NULL));
  char *out = g_new0 (char, s.out->len + 1);
  for (guint i = 0; i < s.out->len; i++)
    out[i] = (char) g_array_index (s.out, int, i);
  g_array_unref (s.out);
  return out;
}

static void
test_smooth_cases (void)
{
  static const struct { const char *in, *want; } cases[] = {
    { "AAAAABAAAA", "AAAAAAAAAA" },              /* a blip joins the segment around it */
    { "AAAAABBBBBBAAA", "AAAAABBBBBBBBB" },      /* a short tail joins the segment before */
    { "BAAAAAA", "AAAAAAA" },                    /* a short head joins the first long run */
    { "AAAAABCBCBCAAAAA", "AAAAAAAAAAAAAAAA" },  /* flicker */
    { "AAAAABBBBBCCCCC", "AAAAABBBBBCCCCC" },    /* runs of exactly 0.5 s stay */
    { "ABA", "AAA" },                            /* an input shorter than min-seg: one label */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *got = smooth (cases[i].in, 0.5);
    g_assert_cmpstr (got, ==, cases[i].want);
  }
}

/* random sequences: same length, and every run at least min-seg long */
static void
test_smooth_random (void)
{
  GRand *r = g_rand_new_with_seed (3);
  for (int iter = 0; iter < 500; iter++) {
    int n = g_rand_int_range (r, 10, 200);
    g_autofree char *in = g_new0 (char, n + 1);
    for (int i = 0; i < n; i++)
      in[i] = (char) ('A' + (g_rand_int_range (r, 0, 8) == 0 ? g_rand_int_range (r, 0, 3)
                                                              : (i / 13) % 3));
    g_autofree char *out = smooth (in, 0.4);
    g_assert_cmpint ((int) strlen (out), ==, n);
    int start = 0;
    for (int i = 1; i <= n; i++)
      if (i == n || out[i] != out[start]) {
        g_assert_cmpint (i - start, >=, 4);
        start = i;
      }
  }
  g_rand_free (r);
}

/* ---- heads through the harness ---------------------------------------------------- */

static float *
fixture_features (int64_t *T, int64_t *D)
{
  g_autofree char *path = g_build_filename (g_getenv ("SEQPIPE_HEADS_FIXTURES"), "features.npy",
                                            NULL);
  void *x = NULL;
  int es = 0;
  GError *e = NULL;
  g_assert_true (spm_npy_read (path, &x, T, D, &es, &e));
  g_assert_no_error (e);
  g_assert_cmpint (es, ==, 4);
  return x;
}

static SpHarness *
head (const char *name, const char *const *keys, GError **error)
{
  SpInputInfo in = { "fixture.npy", "fixture.npy", "fixture", 0, 0, -1 };
  SpHarness *h = sp_harness_new (g_getenv ("SEQPIPE_HEADS_PLUGIN_DIR"), name, keys, &in, NULL,
                                 error);
  g_assert_no_error (*error);
  g_autofree char *ck = g_build_filename (g_getenv ("SEQPIPE_HEADS_FIXTURES"),
                                          "labeler.safetensors", NULL);
  sp_harness_set_checkpoint (h, ck);
  sp_harness_set_feature_dim (h, 6);
  return h;
}

static void
feed (SpHarness *h, const float *x, int64_t T, int64_t D)
{
  GError *e = NULL;
  for (int64_t t = 0; t < T; t++) {
    SpFrame *f = sp_harness_frame (h);
    f->index = t;
    f->time = t / 10.0;
    memcpy (f->features, x + t * D, sizeof (float) * D);
    g_assert_true (sp_harness_process (h, f, &e));
    g_assert_no_error (e);
  }
  g_assert_true (sp_harness_flush (h, &e));
  g_assert_no_error (e);
}

static void
test_harness_labeler (void)
{
  int64_t T, D;
  g_autofree float *x = fixture_features (&T, &D);
  g_autofree char *exp_path = g_build_filename (g_getenv ("SEQPIPE_HEADS_FIXTURES"),
                                                "expected.csv", NULL);
  g_autofree char *want = NULL;
  g_assert_true (g_file_get_contents (exp_path, &want, NULL, NULL));
  g_auto (GStrv) rows = g_strsplit (want, "\n", -1);
  GError *e = NULL;
  g_autoptr (SpHarness) h = head ("labeler", NULL, &e);
  g_assert_true (sp_harness_init (h, &e));
  g_assert_no_error (e);
  g_assert_cmpint (sp_harness_stage (h)->n_labels, ==, 3);
  g_assert_cmpstr (sp_harness_stage (h)->labels[2], ==, "sit");
  feed (h, x, T, D);
  int n = 0;
  const SpRecord *r = sp_harness_records (h, &n);
  g_assert_cmpint (n, ==, T);
  for (int t = 0; t < n; t++) {
    g_auto (GStrv) p = g_strsplit (rows[t], ",", -1);
    int best = 0;
    for (int k = 0; k < 3; k++) {
      double b = g_ascii_strtod (p[k], NULL);
      if (fabs (r[t].probs[k] - b) > 1e-5 + 1e-4 * fabs (b))
        g_error ("frame %d class %d: %.7f, PyTorch %.7f", t, k, r[t].probs[k], b);
      if (r[t].probs[k] > r[t].probs[best])
        best = k;
    }
    g_assert_cmpint (r[t].label, ==, best);
    g_assert_cmpfloat (r[t].score, ==, r[t].probs[best]);
  }
}

/* min-segment: records in frame order, carrying the frames' own features, in runs of
 * at least min-segment */
static void
test_harness_min_segment (void)
{
  int64_t T, D;
  g_autofree float *x = fixture_features (&T, &D);
  GError *e = NULL;
  g_autoptr (SpHarness) h = head ("labeler", (const char *[]) { "min-segment=0.5", NULL }, &e);
  g_assert_true (sp_harness_init (h, &e));
  feed (h, x, T, D);
  int n = 0;
  const SpRecord *r = sp_harness_records (h, &n);
  g_assert_cmpint (n, ==, T);
  int start = 0;
  for (int t = 0; t < n; t++) {
    g_assert_nonnull (r[t].frame);
    g_assert_cmpint (r[t].frame->index, ==, t);
    g_assert_cmpfloat (r[t].score, ==, r[t].probs[r[t].label]);
    if (t + 1 == n || r[t + 1].label != r[start].label) {
      g_assert_cmpint (t + 1 - start, >=, 5);
      start = t + 1;
    }
  }
}

static void
test_harness_refusals (void)
{
  GError *e = NULL;
  /* a labeler checkpoint for the classifier */
  g_autoptr (SpHarness) c = head ("classifier", NULL, &e);
  g_assert_false (sp_harness_init (c, &e));
  g_assert_nonnull (strstr (e->message, "for the labeler head"));
  g_clear_error (&e);
  /* features of another size */
  g_autoptr (SpHarness) d = head ("labeler", NULL, &e);
  sp_harness_set_feature_dim (d, 7);
  g_assert_false (sp_harness_init (d, &e));
  g_assert_nonnull (strstr (e->message, "size 6"));
  g_clear_error (&e);
  /* a labels file in another order */
  g_autofree char *tmp = NULL;
  int fd = g_file_open_tmp ("labels-XXXXXX.txt", &tmp, NULL);
  close (fd);
  g_assert_true (g_file_set_contents (tmp, "walk\nsit\nrun\n", -1, NULL));
  g_autofree char *key = g_strdup_printf ("labels=%s", tmp);
  g_autoptr (SpHarness) l = head ("labeler", (const char *[]) { key, NULL }, &e);
  g_assert_false (sp_harness_init (l, &e));
  g_assert_nonnull (strstr (e->message, ":2: \"sit\" differs from the checkpoint's label 2 (run)"));
  g_clear_error (&e);
  g_unlink (tmp);
  /* no checkpoint at all */
  g_autoptr (SpHarness) z = head ("captioner", NULL, &e);
  sp_harness_set_checkpoint (z, NULL);
  g_assert_false (sp_harness_init (z, &e));
  g_assert_nonnull (strstr (e->message, "[model] checkpoint"));
  g_clear_error (&e);
}

/* ---- label files ------------------------------------------------------------------ */

static void
test_label_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sp-labels-XXXXXX", NULL);
  g_autofree char *txt = g_build_filename (dir, "a.txt", NULL);
  g_autofree char *csv = g_build_filename (dir, "a.csv", NULL);
  g_assert_true (g_file_set_contents (txt, "x\nx\ny\ny\ny\nz\n", -1, NULL));
  g_assert_true (g_file_set_contents (csv, "start,end,label\n0,0.2,x\n0.2,0.5,y\n0.5,1,z\n", -1,
                                      NULL));
  g_autoptr (SpLabelSet) set = sp_label_set_new ((const char *[]) { "z", "y", "x", NULL });
  /* frames 0, 2, 4 sampled from a 10 fps input */
  int64_t index[] = { 0, 2, 4 };
  double time[] = { 0.0, 0.2, 0.4 };
  SpFeatures f = { .T = 3, .D = 1, .index = index, .time = time };
  int32_t y[3];
  int64_t unl = -1;
  GError *e = NULL;
  g_autoptr (SpLabelFile) a = sp_label_file_read (txt, &e);
  g_assert_no_error (e);
  g_assert_true (sp_label_file_assign (a, set, &f, FALSE, y, &unl, &e));
  g_assert_cmpint (y[0], ==, 2);
  g_assert_cmpint (y[1], ==, 1);
  g_assert_cmpint (y[2], ==, 1);
  /* every native frame decoded: 5 frames against 6 lines is a mismatch */
  int64_t all[] = { 0, 1, 2, 3, 4 };
  double ts[] = { 0, 0.1, 0.2, 0.3, 0.4 };
  SpFeatures g = { .T = 5, .D = 1, .index = all, .time = ts };
  int32_t y5[5];
  g_assert_false (sp_label_file_assign (a, set, &g, TRUE, y5, &unl, &e));
  g_assert_nonnull (strstr (e->message, "length mismatch"));
  g_clear_error (&e);
  g_autoptr (SpLabelFile) b = sp_label_file_read (csv, &e);
  g_assert_no_error (e);
  g_assert_true (sp_label_file_assign (b, set, &f, FALSE, y, &unl, &e));
  g_assert_cmpint (y[0], ==, 2);        /* 0.0 in [0, 0.2) */
  g_assert_cmpint (y[1], ==, 1);        /* 0.2 in [0.2, 0.5): half-open */
  g_assert_cmpint (y[2], ==, 1);
  g_autoptr (SpLabelSet) small = sp_label_set_new ((const char *[]) { "x", "y", NULL });
  g_assert_false (sp_label_file_assign (b, small, &f, FALSE, y, &unl, &e));
  g_assert_nonnull (strstr (e->message, "a.csv:4: unknown label \"z\""));
  g_clear_error (&e);
  /* RFC 4180 quoting in a segment file: a label with a comma, CRLF line ends */
  g_assert_true (g_file_set_contents (csv, "start,end,label\r\n0,1,\"walk, fast\"\r\n", -1,
                                      NULL));
  g_autoptr (SpLabelFile) q = sp_label_file_read (csv, &e);
  g_assert_no_error (e);
  g_assert_cmpint (q->n_segs, ==, 1);
  g_assert_cmpstr (q->seg_label[0], ==, "walk, fast");
  /* a bad header and an unterminated quote name the file and line */
  g_assert_true (g_file_set_contents (csv, "begin,end,label\n0,1,x\n", -1, NULL));
  g_assert_null (sp_label_file_read (csv, &e));
  g_assert_nonnull (strstr (e->message, "a.csv:1: expected the header"));
  g_clear_error (&e);
  g_assert_true (g_file_set_contents (csv, "start,end,label\n0,1,\"x\n", -1, NULL));
  g_assert_null (sp_label_file_read (csv, &e));
  g_assert_nonnull (strstr (e->message, "a.csv:2"));
  g_clear_error (&e);
  g_unlink (txt);
  g_unlink (csv);
  g_rmdir (dir);
}

/* ---- the feature cache ---------------------------------------------------------------- */

static SpConfig *
npy_config (const char *dir, const char *extra)
{
  g_autofree char *text = g_strdup_printf ("[pipeline]\ninputs = f.npy\n[decoder]\nplugin = npy\n%s",
                                           extra);
  g_autofree char *path = g_build_filename (dir, "c.ini", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  GError *e = NULL;
  SpConfig *c = sp_config_load (path, NULL, "run", &e);
  g_assert_no_error (e);
  return c;
}

/* a second read comes from the cache; a changed file or setting extracts again */
static void
test_cache (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sp-cache-XXXXXX", NULL);
  g_autofree char *src = g_build_filename (g_getenv ("SEQPIPE_HEADS_FIXTURES"), "features.npy",
                                           NULL);
  g_autofree char *npy = g_build_filename (dir, "f.npy", NULL);
  g_autofree char *cache = g_build_filename (dir, "cache", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_assert_true (g_file_set_contents (npy, data, (gssize) len, NULL));
  g_autoptr (SpConfig) c = npy_config (dir, "");
  SpInputInfo in = { npy, "f.npy", "f", 0, 0, -1 };
  SpFeatures a, b;
  gboolean hit = TRUE;
  GError *e = NULL;
  g_assert_true (sp_cache_features (c, cache, &in, &a, &hit, &e));
  g_assert_no_error (e);
  g_assert_false (hit);
  g_assert_cmpint (a.T, ==, 37);
  g_assert_cmpint (a.D, ==, 6);
  g_assert_true (sp_cache_features (c, cache, &in, &b, &hit, &e));
  g_assert_true (hit);
  g_assert_cmpint (b.T, ==, a.T);
  g_assert_cmpmem (b.x, sizeof (float) * a.T * a.D, a.x, sizeof (float) * a.T * a.D);
  g_assert_cmpmem (b.index, sizeof (int64_t) * a.T, a.index, sizeof (int64_t) * a.T);
  g_assert_cmpmem (b.time, sizeof (double) * a.T, a.time, sizeof (double) * a.T);
  sp_features_clear (&b);
  /* another setting of the decoder */
  g_autoptr (SpConfig) c2 = npy_config (dir, "transpose = false\nwidth = 32\n");
  g_autofree char *k1 = sp_cache_key (c, &in, NULL);
  g_autofree char *k2 = sp_cache_key (c2, &in, NULL);
  g_assert_cmpstr (k1, !=, k2);
  /* the same file rewritten (another modification time) */
  g_usleep (20000);
  g_assert_true (g_file_set_contents (npy, data, (gssize) len, NULL));
  g_autofree char *k3 = sp_cache_key (c, &in, NULL);
  g_assert_cmpstr (k1, !=, k3);
  g_assert_true (sp_cache_features (c, cache, &in, &b, &hit, &e));
  g_assert_false (hit);
  sp_features_clear (&b);
  sp_features_clear (&a);
  const char *const rm[] = { "/bin/rm", "-rf", dir, NULL };
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* ---- tokeniser and vocabulary -------------------------------------------------------- */

static void
test_vocab (void)
{
  g_auto (GStrv) tok = sp_tokenize ("A Red-square, on the LEFT!");
  g_autofree char *joined = g_strjoinv ("|", tok);
  g_assert_cmpstr (joined, ==, "a|red|square|on|the|left");
  const char *caps[] = { "a red box", "a blue box", "a red dot", "the box", NULL };
  g_autoptr (SpVocab) v = sp_vocab_build (caps, 2);
  g_autofree char *words = g_strjoinv (" ", v->words);
  /* box 3, a 3 (ties alphabetical), red 2; blue, dot, the (1 each) fall under min-count */
  g_assert_cmpstr (words, ==, "<null> <start> <end> <unk> a box red");
  int n = 0;
  g_autofree int32_t *y = sp_vocab_encode (v, "A blue box.", &n);
  g_assert_cmpint (n, ==, 5);
  int32_t want[] = { 1, 4, 3, 5, 2 };
  g_assert_cmpmem (y, sizeof want, want, sizeof want);
  g_autofree char *back = sp_vocab_decode ((const char *const *) v->words, v->n, y, n);
  g_assert_cmpstr (back, ==, "a <unk> box");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/heads/smooth/cases", test_smooth_cases);
  g_test_add_func ("/heads/smooth/random", test_smooth_random);
  g_test_add_func ("/heads/harness/labeler-pytorch", test_harness_labeler);
  g_test_add_func ("/heads/harness/min-segment", test_harness_min_segment);
  g_test_add_func ("/heads/harness/refusals", test_harness_refusals);
  g_test_add_func ("/heads/labels/files", test_label_files);
  g_test_add_func ("/heads/vocab/build-encode", test_vocab);
  g_test_add_func ("/heads/cache/hit-and-invalidate", test_cache);
  return g_test_run ();
}
