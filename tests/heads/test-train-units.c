/* test-train-units.c — training's host-side rules without spawning seqpipe: the
 * validation split, the early-stopping monitor, partial labels and bad label files. */
#include "data-labels.h"
#include "data-split.h"
#include "train-monitor.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

/* ---- val-fraction ------------------------------------------------------------------ */

static int
count (const gboolean *v, int from, int to)
{
  int n = 0;
  for (int i = from; i < to; i++)
    n += v[i] != 0;
  return n;
}

/* 20 inputs of "a", 10 of "b", 5 of "c" held out at 0.2: 4, 2 and 1 of them (each
 * class keeps its share); the same seed chooses the same, another seed others */
static void
test_split_stratified (void)
{
  const char *strata[35];
  for (int i = 0; i < 35; i++)
    strata[i] = i < 20 ? "a" : i < 30 ? "b" : "c";
  gboolean v1[35], v2[35], v3[35];
  sp_split_choose (strata, 35, 0.2, 1, v1);
  g_assert_cmpint (count (v1, 0, 20), ==, 4);
  g_assert_cmpint (count (v1, 20, 30), ==, 2);
  g_assert_cmpint (count (v1, 30, 35), ==, 1);
  sp_split_choose (strata, 35, 0.2, 1, v2);
  g_assert_cmpmem (v1, sizeof v1, v2, sizeof v2);
  sp_split_choose (strata, 35, 0.2, 2, v3);
  g_assert_cmpint (count (v3, 0, 20), ==, 4);
  g_assert_true (memcmp (v1, v3, sizeof v1) != 0);
  /* interleaved strata: the counts follow the labels, not the positions */
  const char *mixed[12];
  for (int i = 0; i < 12; i++)
    mixed[i] = i % 3 == 0 ? "x" : "y";
  gboolean m[12];
  sp_split_choose (mixed, 12, 0.25, 7, m);
  int x = 0, y = 0;
  for (int i = 0; i < 12; i++)
    if (m[i] && i % 3 == 0)
      x++;
    else if (m[i])
      y++;
  g_assert_cmpint (x, ==, 1);   /* round (0.25 x 4) */
  g_assert_cmpint (y, ==, 2);   /* round (0.25 x 8) */
}

/* at least one input on each side when there are two or more */
static void
test_split_both_sides (void)
{
  gboolean v[3];
  sp_split_choose (NULL, 2, 0.1, 1, v);     /* round (0.2) = 0: one goes anyway */
  g_assert_cmpint (count (v, 0, 2), ==, 1);
  sp_split_choose (NULL, 3, 0.9, 1, v);     /* round (2.7) = 3: one comes back */
  g_assert_cmpint (count (v, 0, 3), ==, 2);
  const char *single[] = { "a", "b", "c" };  /* singleton classes: round (0.3) = 0 each */
  sp_split_choose (single, 3, 0.3, 1, v);
  g_assert_cmpint (count (v, 0, 3), ==, 1);
  sp_split_choose (NULL, 1, 0.4, 1, v);     /* one input, round (0.4) = 0: it trains */
  g_assert_cmpint (count (v, 0, 1), ==, 0);
}

/* ---- monitor and patience ----------------------------------------------------------- */

/* a validation loss curve: best at epoch 4; patience 2 stops after epoch 6 */
static void
test_monitor_loss (void)
{
  SpMonitor m;
  GError *e = NULL;
  g_assert_true (sp_monitor_init (&m, SPM_HEAD_LABELER, "loss", 2, &e));
  g_assert_true (m.lower_better);
  const double curve[] = { 1.0, 0.8, 0.9, 0.7, 0.75, 0.7, 0.6 };
  const gboolean better[] = { TRUE, TRUE, FALSE, TRUE, FALSE, FALSE };
  int stopped_after = 0;
  for (int i = 0; i < 7 && !stopped_after; i++) {
    g_assert_cmpint (sp_monitor_observe (&m, i + 1, curve[i]), ==, better[i]);
    if (sp_monitor_should_stop (&m))
      stopped_after = i + 1;
  }
  g_assert_cmpint (stopped_after, ==, 6);   /* equal to the best (0.7) is not better */
  g_assert_cmpint (m.best_epoch, ==, 4);
  g_assert_cmpfloat (m.best, ==, 0.7);
}

/* a metric: higher is better; NAN never improves; patience 0 never stops */
static void
test_monitor_metric (void)
{
  SpMonitor m;
  GError *e = NULL;
  g_assert_true (sp_monitor_init (&m, SPM_HEAD_CLASSIFIER, "macro_f1", 0, &e));
  g_assert_false (m.lower_better);
  g_assert_false (sp_monitor_observe (&m, 1, NAN));
  g_assert_true (sp_monitor_observe (&m, 2, 0.5));
  g_assert_false (sp_monitor_observe (&m, 3, 0.4));
  g_assert_true (sp_monitor_observe (&m, 4, 0.6));
  for (int i = 5; i < 50; i++)
    sp_monitor_observe (&m, i, 0.1);
  g_assert_false (sp_monitor_should_stop (&m));
  g_assert_cmpint (m.best_epoch, ==, 4);
  /* a name of another head, and a near miss */
  g_assert_false (sp_monitor_init (&m, SPM_HEAD_CLASSIFIER, "frame_accuracy", 1, &e));
  g_assert_nonnull (strstr (e->message, "[train] monitor"));
  g_clear_error (&e);
  g_assert_false (sp_monitor_init (&m, SPM_HEAD_CLASSIFIER, "acuracy", 1, &e));
  g_assert_nonnull (strstr (e->message, "did you mean 'accuracy'"));
  g_clear_error (&e);
}

/* ---- partial labels and bad label files ------------------------------------------- */

static char *dir;

static char *
write_file (const char *name, const char *text, gssize len)
{
  char *p = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (p, text, len, NULL));
  return p;
}

/* the reported case: the last segment ends at the last frame's time, which the
 * half-open [start, end) leaves uncovered: unlabelled, not an error; a gap too */
static void
test_labels_partial (void)
{
  g_autofree char *csv = write_file ("p.csv", "start,end,label\n0,0.5,x\n1,1.5,y\n", -1);
  g_autoptr (SpLabelSet) set = sp_label_set_new ((const char *[]) { "x", "y", NULL });
  int64_t index[] = { 0, 1, 2, 3 };
  double time[] = { 0.0, 0.5, 1.0, 1.5 };
  SpFeatures f = { .T = 4, .D = 1, .index = index, .time = time };
  int32_t y[4];
  int64_t unl = 0;
  GError *e = NULL;
  g_autoptr (SpLabelFile) lf = sp_label_file_read (csv, &e);
  g_assert_no_error (e);
  g_assert_true (sp_label_file_assign (lf, set, &f, FALSE, y, &unl, &e));
  g_assert_cmpint (y[0], ==, 0);
  g_assert_cmpint (y[1], ==, -1);   /* 0.5: in the gap [0.5, 1) */
  g_assert_cmpint (y[2], ==, 1);
  g_assert_cmpint (y[3], ==, -1);   /* 1.5: the end of the last segment */
  g_assert_cmpint (unl, ==, 2);
}

/* read must fail with every needle in the message */
static void
expect_bad (const char *name, const char *text, gssize len, const char *n1, const char *n2)
{
  g_autofree char *p = write_file (name, text, len);
  GError *e = NULL;
  g_assert_null (sp_label_file_read (p, &e));
  g_assert_nonnull (e);
  if (!strstr (e->message, n1) || (n2 && !strstr (e->message, n2)))
    g_error ("%s: \"%s\" lacks \"%s\" / \"%s\"", name, e->message, n1, n2 ? n2 : "");
  g_clear_error (&e);
}

static void
test_labels_bad (void)
{
  expect_bad ("ov.csv", "start,end,label\n0,2,x\n3,4,y\n1.5,2.5,x\n", -1, "ov.csv:4: ",
              "overlaps [0, 2) on line 2");
  expect_bad ("back.csv", "start,end,label\n0,1,x\n2,2,y\n", -1, "back.csv:3: ",
              "end 2 is not after start 2");
  expect_bad ("nan.csv", "start,end,label\n0,nan,x\n", -1, "nan.csv:2: ", "not finite");
  expect_bad ("inf.csv", "start,end,label\n0,1,x\ninf,5,y\n", -1, "inf.csv:3: ", "not finite");
  expect_bad ("neg.csv", "start,end,label\n-1,1,x\n", -1, "neg.csv:2: ", "negative");
  expect_bad ("nul.csv", "start,end,label\n0,1,x\0\n", 22, "nul.csv: byte offset 21", NULL);
  expect_bad ("nul.txt", "x\nx\0\n", 5, "nul.txt: byte offset 3", NULL);

  /* a byte-order mark is not part of the first name or header */
  g_autofree char *bom = write_file ("bom.csv", "\xEF\xBB\xBFstart,end,label\n0,1,x\n", -1);
  g_autofree char *bomt = write_file ("bom.txt", "\xEF\xBB\xBFx\ny\n", -1);
  g_autofree char *boml = write_file ("labels.txt", "\xEF\xBB\xBFx\r\ny\r\n", -1);
  GError *e = NULL;
  g_autoptr (SpLabelFile) a = sp_label_file_read (bom, &e);
  g_assert_no_error (e);
  g_assert_cmpstr (a->seg_label[0], ==, "x");
  g_autoptr (SpLabelFile) b = sp_label_file_read (bomt, &e);
  g_assert_no_error (e);
  g_assert_cmpstr (b->frames[0], ==, "x");
  g_autoptr (SpLabelSet) set = sp_label_set_read (boml, &e);
  g_assert_no_error (e);
  g_assert_cmpstr (set->names[0], ==, "x");
  g_assert_cmpint (set->n, ==, 2);
  g_autofree char *nul = write_file ("nul-labels.txt", "x\ny\0z\n", 6);
  g_assert_null (sp_label_set_read (nul, &e));
  g_assert_nonnull (strstr (e->message, "nul-labels.txt: byte offset 3"));
  g_clear_error (&e);

  /* a .txt of 2 lines against 3 decoded frames, and against 1: both counts said */
  int64_t index[] = { 0, 1, 2 };
  double time[] = { 0, 0.1, 0.2 };
  SpFeatures f3 = { .T = 3, .D = 1, .index = index, .time = time };
  SpFeatures f1 = { .T = 1, .D = 1, .index = index, .time = time };
  int32_t y[3];
  int64_t unl;
  g_assert_false (sp_label_file_assign (b, set, &f3, TRUE, y, &unl, &e));
  g_assert_nonnull (strstr (e->message, "bom.txt: 2 lines, but the input has at least 3 frames"));
  g_clear_error (&e);
  g_assert_false (sp_label_file_assign (b, set, &f1, TRUE, y, &unl, &e));
  g_assert_nonnull (strstr (e->message, "bom.txt: 2 lines, but the input has 1 frames"));
  g_clear_error (&e);
  /* an unknown name: file, line, and the near miss */
  g_autofree char *typo = write_file ("typo.csv", "start,end,label\n0,1,x\n1,2,yy\n", -1);
  g_autoptr (SpLabelFile) c = sp_label_file_read (typo, &e);
  g_assert_no_error (e);
  g_autoptr (SpLabelSet) big = sp_label_set_new ((const char *[]) { "walk", "run", "yyy", NULL });
  g_assert_false (sp_label_file_assign (c, big, &f1, FALSE, y, &unl, &e));
  g_assert_nonnull (strstr (e->message, "typo.csv:2: unknown label \"x\""));
  g_clear_error (&e);
  g_autoptr (SpLabelSet) near = sp_label_set_new ((const char *[]) { "x", "yyy", NULL });
  g_assert_false (sp_label_file_assign (c, near, &f1, FALSE, y, &unl, &e));
  g_assert_nonnull (strstr (e->message, "typo.csv:3: unknown label \"yy\"; did you mean 'yyy'?"));
  g_clear_error (&e);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("sp-train-units-XXXXXX", NULL);
  g_test_add_func ("/heads/split/stratified", test_split_stratified);
  g_test_add_func ("/heads/split/both-sides", test_split_both_sides);
  g_test_add_func ("/heads/monitor/loss-patience", test_monitor_loss);
  g_test_add_func ("/heads/monitor/metric", test_monitor_metric);
  g_test_add_func ("/heads/labels/partial", test_labels_partial);
  g_test_add_func ("/heads/labels/bad", test_labels_bad);
  int status = g_test_run ();
  const char *const rm[] = { "/bin/rm", "-rf", dir, NULL };
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (dir);
  return status;
}
