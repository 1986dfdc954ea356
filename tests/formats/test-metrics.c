/* test-metrics.c — metrics against fixtures/metrics.json, which
 * gen_metric_fixtures.py makes with NLTK and MS-TCN's eval.py definitions. */
#include "spm-metrics.h"
#include "spm-json.h"

#include <math.h>
#include <string.h>

#define TOL 1e-9

static SpmJson *fixture;

/* a metric: a fraction in [0, 1] equal to the fixture's within TOL */
static void
check_fraction (const char *what, double got, double want)
{
  if (!(fabs (got - want) <= TOL))
    g_error ("%s: %.17g, expected %.17g", what, got, want);
  g_assert_true (got >= 0.0 && got <= 1.0);
}

static double
num (const SpmJson *obj, const char *key)
{
  const SpmJson *v = spm_json_get (obj, key);
  g_assert_nonnull (v);
  g_assert_cmpint (v->type, ==, SPM_JSON_NUMBER);
  return v->number;
}

static int32_t *
int_array (const SpmJson *a)
{
  g_assert_cmpint (a->type, ==, SPM_JSON_ARRAY);
  int32_t *v = g_new (int32_t, a->n + 1);
  for (int i = 0; i < a->n; i++)
    v[i] = (int32_t) a->items[i]->number;
  return v;
}

/* tokens: JSON array of strings -> NULL-terminated borrowed vector */
static const char **
tokens (const SpmJson *a)
{
  const char **v = g_new0 (const char *, a->n + 1);
  for (int i = 0; i < a->n; i++)
    v[i] = a->items[i]->string;
  return v;
}

static void
test_classification (void)
{
  const SpmJson *cases = spm_json_get (fixture, "classification");
  g_assert_cmpint (cases->n, >, 0);
  for (int c = 0; c < cases->n; c++) {
    const SpmJson *k = cases->items[c];
    int C = (int) num (k, "C");
    const SpmJson *pj = spm_json_get (k, "pred");
    g_autofree int32_t *pred = int_array (pj);
    g_autofree int32_t *truth = int_array (spm_json_get (k, "truth"));
    g_autofree int64_t *conf = g_new (int64_t, C * C);
    SpmClassMetrics m;
    spm_metrics_classification (pred, truth, pj->n, C, &m, conf);
    g_assert_cmpint (m.n, ==, pj->n);
    check_fraction ("accuracy", m.accuracy, num (k, "accuracy"));
    check_fraction ("macro_f1", m.macro_f1, num (k, "macro_f1"));
    const SpmJson *cj = spm_json_get (k, "confusion");
    for (int t = 0; t < C; t++)
      for (int p = 0; p < C; p++)
        g_assert_cmpint (conf[t * C + p], ==, (int64_t) cj->items[t]->items[p]->number);
  }
}

static void
test_classification_edges (void)
{
  SpmClassMetrics m;
  spm_metrics_classification (NULL, NULL, 0, 3, &m, NULL);
  g_assert_cmpint (m.n, ==, 0);
  g_assert_cmpfloat (m.accuracy, ==, 0.0);
  /* labels outside [0, C) are wrong and stay out of the confusion matrix */
  const int32_t pred[] = { 0, 7, -1, 1 }, truth[] = { 0, 1, 1, 9 };
  int64_t conf[4] = { 9, 9, 9, 9 };
  spm_metrics_classification (pred, truth, 4, 2, &m, conf);
  g_assert_cmpfloat (m.accuracy, ==, 0.25);
  g_assert_cmpint (conf[0], ==, 1);
  g_assert_cmpint (conf[1] + conf[2] + conf[3], ==, 0);
  /* class 0: tp 1; class 1: fn 2, fp 1 -> F1 0; macro = 0.5 */
  g_assert_cmpfloat_with_epsilon (m.macro_f1, 0.5, 1e-15);
}

static void
test_segmentation (void)
{
  const SpmJson *cases = spm_json_get (fixture, "segmentation");
  g_assert_cmpint (cases->n, >, 0);
  for (int c = 0; c < cases->n; c++) {
    const SpmJson *k = cases->items[c];
    const SpmJson *pj = spm_json_get (k, "pred"), *tj = spm_json_get (k, "truth");
    int n = pj->n;
    int32_t **pred = g_new (int32_t *, n);
    int32_t **truth = g_new (int32_t *, n);
    g_autofree int64_t *len = g_new (int64_t, n);
    for (int s = 0; s < n; s++) {
      pred[s] = int_array (pj->items[s]);
      truth[s] = int_array (tj->items[s]);
      len[s] = pj->items[s]->n;
    }
    SpmSegMetrics m;
    spm_metrics_segmentation ((const int32_t *const *) pred, (const int32_t *const *) truth, len,
                              n, &m);
    g_assert_cmpint (m.n, ==, n);
    g_assert_cmpint (m.frames, ==, (int64_t) num (k, "frames"));
    check_fraction ("frame_accuracy", m.frame_accuracy, num (k, "frame_accuracy"));
    check_fraction ("edit", m.edit, num (k, "edit"));
    check_fraction ("f1@10", m.f1_10, num (k, "f1@10"));
    check_fraction ("f1@25", m.f1_25, num (k, "f1@25"));
    check_fraction ("f1@50", m.f1_50, num (k, "f1@50"));
    for (int s = 0; s < n; s++) {
      g_free (pred[s]);
      g_free (truth[s]);
    }
    g_free (pred);
    g_free (truth);
  }
}

static void
test_segmentation_edges (void)
{
  SpmSegMetrics m;
  spm_metrics_segmentation (NULL, NULL, NULL, 0, &m);
  g_assert_cmpint (m.frames, ==, 0);
  /* an empty sequence counts in n and nowhere else */
  const int32_t a[] = { 0, 0, 1, 1, 1 }, b[] = { 0, 1, 1, 1, 1 };
  const int32_t *p[] = { a, a }, *t[] = { b, b };
  const int64_t len[] = { 0, 5 };
  spm_metrics_segmentation (p, t, len, 2, &m);
  g_assert_cmpint (m.n, ==, 2);
  g_assert_cmpint (m.frames, ==, 5);
  g_assert_cmpfloat (m.frame_accuracy, ==, 0.8);
  g_assert_cmpfloat (m.edit, ==, 1.0);
  /* segments [0,2) [2,4] against [0,1) [1,4]: IoU 1/2 and 2/3 */
  g_assert_cmpfloat (m.f1_50, ==, 1.0);
}

static void
test_captions (void)
{
  const SpmJson *cases = spm_json_get (fixture, "captions");
  g_assert_cmpint (cases->n, >, 0);
  for (int c = 0; c < cases->n; c++) {
    const SpmJson *k = cases->items[c];
    const SpmJson *hj = spm_json_get (k, "hyps"), *rj = spm_json_get (k, "refs");
    int n = hj->n;
    const char ***hyps = g_new (const char **, n);
    const char ****refs = g_new (const char ***, n);
    for (int i = 0; i < n; i++) {
      hyps[i] = tokens (hj->items[i]);
      const SpmJson *ri = rj->items[i];
      refs[i] = g_new0 (const char **, ri->n + 1);
      for (int r = 0; r < ri->n; r++)
        refs[i][r] = tokens (ri->items[r]);
    }
    SpmCaptionMetrics m;
    spm_metrics_captions ((const char *const *const *) hyps,
                          (const char *const *const *const *) refs, n, &m);
    g_assert_cmpint (m.n, ==, n);
    check_fraction ("bleu1", m.bleu1, num (k, "bleu1"));
    check_fraction ("bleu4", m.bleu4, num (k, "bleu4"));
    check_fraction ("exact_match", m.exact_match, num (k, "exact_match"));
    for (int i = 0; i < n; i++) {
      g_free (hyps[i]);
      for (int r = 0; refs[i][r] != NULL; r++)
        g_free (refs[i][r]);
      g_free (refs[i]);
    }
    g_free (hyps);
    g_free (refs);
  }
}

static void
test_captions_edges (void)
{
  SpmCaptionMetrics m;
  spm_metrics_captions (NULL, NULL, 0, &m);
  g_assert_cmpfloat (m.bleu4, ==, 0.0);
  /* an empty hypothesis and one without references score, but match nothing */
  const char *h0[] = { NULL }, *h1[] = { "a", "b", "c", "d", NULL };
  const char *r0[] = { "a", NULL }, *r1[] = { "a", "b", "c", "d", NULL };
  const char *const *refs0[] = { r0, NULL }, *const *refs1[] = { r1, NULL }, *const *none[] = { NULL };
  const char *const *hyps[] = { h0, h1, h1 };
  const char *const *const *refs[] = { refs0, refs1, none };
  spm_metrics_captions (hyps, refs, 3, &m);
  g_assert_cmpfloat (m.exact_match, ==, 1.0 / 3.0);
  /* p1 = 4/(1+4+4), c = 8 > r = 1+4+0: no penalty */
  g_assert_cmpfloat_with_epsilon (m.bleu1, 4.0 / 9.0, 1e-15);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "metrics.json", NULL);
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &text, &len, &error))
    g_error ("%s", error->message);
  fixture = spm_json_parse (text, len, path, &error);
  if (fixture == NULL)
    g_error ("%s", error->message);
  g_test_add_func ("/metrics/classification", test_classification);
  g_test_add_func ("/metrics/classification-edges", test_classification_edges);
  g_test_add_func ("/metrics/segmentation", test_segmentation);
  g_test_add_func ("/metrics/segmentation-edges", test_segmentation_edges);
  g_test_add_func ("/metrics/captions", test_captions);
  g_test_add_func ("/metrics/captions-edges", test_captions_edges);
  int rc = g_test_run ();
  spm_json_free (fixture);
  return rc;
}
