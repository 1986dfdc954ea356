/* test-sinks-text.c — csv, jsonl, segments, srt and vtt through the harness: every
 * file is parsed back (CSV with the host's RFC 4180 reader, JSON with spm_json). */
#include "helpers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spm-json.h"

#define INPUT "clips/a b.mp4"

static SpCsv *
csv_of (const char *path)
{
  GError *error = NULL;
  SpCsv *csv = sp_csv_read (path, &error);
  g_assert_no_error (error);
  return csv;
}

static void
assert_row (const SpCsvRow *row, const char *const *expect)
{
  g_assert_cmpint (row->n, ==, (int) g_strv_length ((char **) expect));
  for (int i = 0; i < row->n; i++)
    g_assert_cmpstr (row->fields[i], ==, expect[i]);
}

static double
num (const char *s)
{
  char *end = NULL;
  double v = g_ascii_strtod (s, &end);
  g_assert_true (end != s && *end == '\0');
  return v;
}

/* the labeler's rows: [input,]frame,time,label,score[,p:...] */
static void
check_labeler_csv (const char *path, gboolean combined, gboolean probs)
{
  g_autoptr (SpCsv) csv = csv_of (path);
  int c = combined ? 1 : 0;
  const char *header[] = { "input", "frame", "time", "label", "score", "p:walk", "p:run",
                           "p:sit, down", "p:say \"hi\"", NULL };
  g_assert_cmpint (csv->n_rows, ==, 1 + TEST_T);
  g_assert_cmpint (csv->rows[0].n, ==, 4 + c + (probs ? N_TEST_LABELS : 0));
  for (int i = 0; i < csv->rows[0].n; i++)
    g_assert_cmpstr (csv->rows[0].fields[i], ==, header[1 - c + i]);
  for (int i = 0; i < TEST_T; i++) {
    const SpCsvRow *r = &csv->rows[1 + i];
    g_assert_cmpint (r->n, ==, csv->rows[0].n);
    if (combined)
      g_assert_cmpstr (r->fields[0], ==, INPUT);
    g_assert_cmpint ((int) num (r->fields[c]), ==, 3 * i);
    g_assert_cmpfloat_with_epsilon (num (r->fields[c + 1]), i / TEST_FPS, 1e-6);
    g_assert_cmpstr (r->fields[c + 2], ==, test_labels[test_seq[i]]);
    g_assert_cmpfloat_with_epsilon (num (r->fields[c + 3]), test_score (i), 1e-6);
    for (int k = 0; probs && k < N_TEST_LABELS; k++)
      g_assert_cmpfloat_with_epsilon (num (r->fields[c + 4 + k]), test_prob (i, k), 1e-6);
  }
}

static void
test_csv_labeler (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.csv", NULL);
  g_autofree char *b = g_build_filename (dir, "b.csv", NULL);
  g_autofree char *c = g_build_filename (dir, "c.csv", NULL);
  {
    g_autoptr (SpHarness) h = sink_new ("csv", NULL, "labeler", a, FALSE);
    feed_labeler (h, FALSE);
    sink_flush_ok (h);
  }
  check_labeler_csv (a, FALSE, FALSE);
  /* frames the labeler holds back first change nothing */
  {
    g_autoptr (SpHarness) h = sink_new ("csv", NULL, "labeler", b, FALSE);
    feed_labeler (h, TRUE);
    sink_flush_ok (h);
  }
  g_autofree char *ta = read_file (a, NULL), *tb = read_file (b, NULL);
  g_assert_cmpstr (ta, ==, tb);
  g_assert_true (g_str_has_prefix (ta, "frame,time,label,score\n0,0.000000,walk,0.500000\n"));
  g_assert_nonnull (strstr (ta, "\n15,0.500000,\"sit, down\",0.750000\n"));
  g_assert_nonnull (strstr (ta, "\n24,0.800000,\"say \"\"hi\"\"\",0.900000\n"));
  {
    const char *keys[] = { "probs=true", NULL };
    g_autoptr (SpHarness) h = sink_new ("csv", keys, "labeler", c, TRUE);
    feed_labeler (h, FALSE);
    sink_flush_ok (h);
  }
  check_labeler_csv (c, TRUE, TRUE);
}

static void
test_csv_per_input (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.csv", NULL);
  g_autofree char *b = g_build_filename (dir, "b.csv", NULL);
  g_autofree char *c = g_build_filename (dir, "c.csv", NULL);
  {
    g_autoptr (SpHarness) h = sink_new ("csv", NULL, "classifier", a, FALSE);
    feed_per_input (h, 2, NULL);
    sink_flush_ok (h);
  }
  {
    g_autoptr (SpHarness) h = sink_new ("csv", (const char *[]) { "probs=true", NULL },
                                        "classifier", b, TRUE);
    feed_per_input (h, 1, NULL);
    sink_flush_ok (h);
  }
  {
    /* captions may hold commas, quotes and line breaks */
    g_autoptr (SpHarness) h = sink_new ("csv", NULL, "captioner", c, TRUE);
    feed_per_input (h, -1, "a man, \"walking\"\nfast");
    sink_flush_ok (h);
  }
  g_autoptr (SpCsv) ca = csv_of (a);
  g_assert_cmpint (ca->n_rows, ==, 2);
  assert_row (&ca->rows[0], (const char *[]) { "input", "label", "score", NULL });
  assert_row (&ca->rows[1], (const char *[]) { INPUT, "sit, down", "0.700000", NULL });
  /* combined: `input` is already the first column */
  g_autoptr (SpCsv) cb = csv_of (b);
  g_assert_cmpint (cb->n_rows, ==, 2);
  assert_row (&cb->rows[0], (const char *[]) { "input", "label", "score", "p:walk", "p:run",
                                               "p:sit, down", "p:say \"hi\"", NULL });
  assert_row (&cb->rows[1], (const char *[]) { INPUT, "run", "0.700000", "0.100000",
                                               "0.700000", "0.100000", "0.100000", NULL });
  g_autoptr (SpCsv) cc = csv_of (c);
  g_assert_cmpint (cc->n_rows, ==, 2);
  assert_row (&cc->rows[0], (const char *[]) { "input", "caption", "score", NULL });
  assert_row (&cc->rows[1], (const char *[]) { INPUT, "a man, \"walking\"\nfast", "0.250000",
                                               NULL });
}

static SpmJson *
json_of (const char *line)
{
  GError *error = NULL;
  SpmJson *j = spm_json_parse (line, strlen (line), "jsonl line", &error);
  g_assert_no_error (error);
  g_assert_cmpint (j->type, ==, SPM_JSON_OBJECT);
  return j;
}

static void
assert_keys (const SpmJson *j, const char *const *keys)
{
  g_assert_cmpint (j->n, ==, (int) g_strv_length ((char **) keys));
  for (int i = 0; i < j->n; i++)
    g_assert_cmpstr (j->keys[i], ==, keys[i]);
}

static void
test_jsonl (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.jsonl", NULL);
  g_autofree char *b = g_build_filename (dir, "b.jsonl", NULL);
  g_autofree char *c = g_build_filename (dir, "c.jsonl", NULL);
  {
    g_autoptr (SpHarness) h = sink_new ("jsonl", (const char *[]) { "probs=true", NULL },
                                        "labeler", a, FALSE);
    feed_labeler (h, TRUE);
    sink_flush_ok (h);
  }
  g_auto (GStrv) lines = read_lines (a);
  g_assert_cmpint (g_strv_length (lines), ==, TEST_T);
  for (int i = 0; i < TEST_T; i++) {
    g_autoptr (SpmJson) j = json_of (lines[i]);
    assert_keys (j, (const char *[]) { "frame", "time", "label", "score", "probs", NULL });
    g_assert_cmpfloat (spm_json_get (j, "frame")->number, ==, 3 * i);
    g_assert_cmpfloat_with_epsilon (spm_json_get (j, "time")->number, i / TEST_FPS, 1e-6);
    g_assert_cmpstr (spm_json_get (j, "label")->string, ==, test_labels[test_seq[i]]);
    g_assert_cmpfloat_with_epsilon (spm_json_get (j, "score")->number, test_score (i), 1e-6);
    const SpmJson *probs = spm_json_get (j, "probs");
    assert_keys (probs, test_labels);
    for (int k = 0; k < N_TEST_LABELS; k++)
      g_assert_cmpfloat_with_epsilon (probs->items[k]->number, test_prob (i, k), 1e-6);
  }
  {
    g_autoptr (SpHarness) h = sink_new ("jsonl", NULL, "classifier", b, TRUE);
    feed_per_input (h, 3, NULL);
    sink_flush_ok (h);
  }
  g_auto (GStrv) lb = read_lines (b);
  g_assert_cmpint (g_strv_length (lb), ==, 1);
  g_autoptr (SpmJson) jb = json_of (lb[0]);
  assert_keys (jb, (const char *[]) { "input", "label", "score", NULL });
  g_assert_cmpstr (spm_json_get (jb, "input")->string, ==, INPUT);
  g_assert_cmpstr (spm_json_get (jb, "label")->string, ==, "say \"hi\"");
  {
    g_autoptr (SpHarness) h = sink_new ("jsonl", NULL, "captioner", c, FALSE);
    feed_per_input (h, -1, "tab\there, \"quoted\"\nand \\ more");
    sink_flush_ok (h);
  }
  g_auto (GStrv) lc = read_lines (c);
  g_assert_cmpint (g_strv_length (lc), ==, 1);
  g_autoptr (SpmJson) jc = json_of (lc[0]);
  assert_keys (jc, (const char *[]) { "input", "caption", "score", NULL });
  g_assert_cmpstr (spm_json_get (jc, "caption")->string, ==,
                   "tab\there, \"quoted\"\nand \\ more");
  g_assert_cmpfloat_with_epsilon (spm_json_get (jc, "score")->number, 0.25, 1e-9);
}

/* the segments of the test sequence: runs of test_seq, the last one ending one frame
 * period (1 / TEST_FPS) after its frame */
typedef struct {
  double start, end;
  int label, frames;
  double score;
  int start_frame, end_frame;   /* native indices (3 i): first and last frame, inclusive */
} Seg;
static const Seg expected[] = {
  { 0.0, 0.3, 0, 3, 0.55, 0, 6 }, { 0.3, 0.5, 1, 2, 0.675, 9, 12 },
  { 0.5, 0.8, 2, 3, 0.8, 15, 21 }, { 0.8, 0.9, 3, 1, 0.9, 24, 24 },
  { 0.9, 1.0, 0, 1, 0.95, 27, 27 },
};
#define N_SEG G_N_ELEMENTS (expected)

static void
check_segments (const char *path, gboolean combined)
{
  g_autoptr (SpCsv) csv = csv_of (path);
  int c = combined ? 1 : 0;
  g_assert_cmpint (csv->n_rows, ==, 1 + N_SEG);
  if (combined)
    assert_row (&csv->rows[0], (const char *[]) { "input", "start", "end", "label", "frames",
                                                  "score", "start_frame", "end_frame", NULL });
  else
    assert_row (&csv->rows[0], (const char *[]) { "start", "end", "label", "frames", "score",
                                                  "start_frame", "end_frame", NULL });
  for (guint i = 0; i < N_SEG; i++) {
    const SpCsvRow *r = &csv->rows[1 + i];
    if (combined)
      g_assert_cmpstr (r->fields[0], ==, INPUT);
    g_assert_cmpfloat_with_epsilon (num (r->fields[c]), expected[i].start, 1e-6);
    g_assert_cmpfloat_with_epsilon (num (r->fields[c + 1]), expected[i].end, 1e-6);
    g_assert_cmpstr (r->fields[c + 2], ==, test_labels[expected[i].label]);
    g_assert_cmpint ((int) num (r->fields[c + 3]), ==, expected[i].frames);
    g_assert_cmpfloat_with_epsilon (num (r->fields[c + 4]), expected[i].score, 1e-6);
    g_assert_cmpint ((int) num (r->fields[c + 5]), ==, expected[i].start_frame);
    g_assert_cmpint ((int) num (r->fields[c + 6]), ==, expected[i].end_frame);
  }
}

static void
test_segments (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.csv", NULL);
  g_autofree char *b = g_build_filename (dir, "b.csv", NULL);
  g_autofree char *c = g_build_filename (dir, "c.csv", NULL);
  {
    g_autoptr (SpHarness) h = sink_new ("segments", NULL, "labeler", a, FALSE);
    feed_labeler (h, TRUE);
    sink_flush_ok (h);
  }
  check_segments (a, FALSE);
  {
    g_autoptr (SpHarness) h = sink_new ("segments", NULL, "labeler", b, TRUE);
    feed_labeler (h, FALSE);
    sink_flush_ok (h);
  }
  check_segments (b, TRUE);
  /* without a sample rate the last segment takes the mean frame spacing: the same */
  {
    g_autoptr (SpHarness) h = sink_new_fps ("segments", NULL, "labeler", c, FALSE, 0.0);
    feed_labeler (h, FALSE);
    sink_flush_ok (h);
  }
  check_segments (c, FALSE);
  /* an input without frames: the header only */
  {
    g_autoptr (SpHarness) h = sink_new ("segments", NULL, "labeler", a, FALSE);
    sink_flush_ok (h);
  }
  g_autofree char *empty = read_file (a, NULL);
  g_assert_cmpstr (empty, ==, "start,end,label,frames,score,start_frame,end_frame\n");
}

/* "HH:MM:SS<sep>mmm" -> milliseconds, or -1 when the syntax is wrong */
static gint64
cue_ms (const char *s, char sep)
{
  if (strlen (s) != 12 || s[2] != ':' || s[5] != ':' || s[8] != sep)
    return -1;
  for (int i = 0; i < 12; i++)
    if (i != 2 && i != 5 && i != 8 && !g_ascii_isdigit (s[i]))
      return -1;
  int h = atoi (s), m = atoi (s + 3), sec = atoi (s + 6), ms = atoi (s + 9);
  if (m > 59 || sec > 59)
    return -1;
  return ((gint64) h * 3600 + m * 60 + sec) * 1000 + ms;
}

/* cue blocks of an SRT (numbered) or WebVTT file against the expected segments */
static void
check_cues (const char *path, gboolean vtt)
{
  g_auto (GStrv) lines = read_lines (path);
  guint n = g_strv_length (lines), at = 0;
  char sep = vtt ? '.' : ',';
  if (vtt) {
    g_assert_cmpstr (lines[0], ==, "WEBVTT");
    g_assert_cmpstr (lines[1], ==, "");
    at = 2;
  }
  for (guint i = 0; i < N_SEG; i++) {
    if (!vtt) {
      g_autofree char *number = g_strdup_printf ("%u", i + 1);
      g_assert_cmpstr (lines[at++], ==, number);
    }
    g_assert_cmpuint (at + 2, <, n + 1);
    g_auto (GStrv) t = g_strsplit (lines[at++], " --> ", -1);
    g_assert_cmpuint (g_strv_length (t), ==, 2);
    g_assert_cmpint (cue_ms (t[0], sep), ==, (gint64) llround (expected[i].start * 1000));
    g_assert_cmpint (cue_ms (t[1], sep), ==, (gint64) llround (expected[i].end * 1000));
    g_assert_cmpstr (lines[at++], ==, test_labels[expected[i].label]);
    g_assert_cmpstr (lines[at++], ==, "");
  }
  g_assert_cmpuint (at, ==, n);
}

static void
test_subtitles (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *srt = g_build_filename (dir, "a.srt", NULL);
  g_autofree char *vtt = g_build_filename (dir, "a.vtt", NULL);
  {
    g_autoptr (SpHarness) h = sink_new ("srt", NULL, "labeler", srt, FALSE);
    feed_labeler (h, TRUE);
    sink_flush_ok (h);
  }
  check_cues (srt, FALSE);
  {
    g_autoptr (SpHarness) h = sink_new ("vtt", NULL, "labeler", vtt, FALSE);
    feed_labeler (h, FALSE);
    sink_flush_ok (h);
  }
  check_cues (vtt, TRUE);
  g_assert_cmpint (cue_ms ("01:02:03,456", ','), ==, 3723456);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sinks/csv/labeler", test_csv_labeler);
  g_test_add_func ("/sinks/csv/per-input", test_csv_per_input);
  g_test_add_func ("/sinks/jsonl/all-heads", test_jsonl);
  g_test_add_func ("/sinks/segments/boundaries", test_segments);
  g_test_add_func ("/sinks/subtitles/cues", test_subtitles);
  return g_test_run ();
}
