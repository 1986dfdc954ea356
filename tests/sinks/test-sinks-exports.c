/* test-sinks-exports.c — txt, chapters and audacity through the harness, each read
 * back by its reader: the lines, ffmpeg + ffprobe for the chapters (muxed into a
 * Matroska copy of a video made at test time), a tab-separated parse for the label
 * track whose times must equal the segments sink's, xmllint and XPath for the ELAN
 * document, ffprobe and ffmpeg's framemd5 for the labelled copy of a video. */
#include "helpers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spm-json.h"

/* labels that FFmetadata must escape, non-ASCII, and a tab and a line break */
static const char *const odd_labels[] = { "a=b", "semi;colon", "#hash \\ back", "café ☕",
                                          "tab\there\nnewline", NULL };
#define N_ODD 5
/* frames i = 0..9 at i / 10 s, native index 3 i; label odd_seq[i] */
static const int odd_seq[TEST_T] = { 0, 0, 1, 1, 1, 2, 3, 3, 4, 4 };

static SpHarness *
odd_sink (const char *stage, const char *path)
{
  GError *error = NULL;
  SpInputInfo in = { .path = "clips/a b.mp4", .name = "a b.mp4", .stem = "a b", .end = -1 };
  SpDecoderParams dec = { TEST_FPS, 16, 12, 0 };
  SpHarness *h = sp_harness_new (SP_SINKS_DIR, stage, NULL, &in, &dec, &error);
  g_assert_no_error (error);
  sp_harness_set_labels (h, odd_labels, N_ODD);
  sp_harness_set_feature_dim (h, TEST_D);
  sp_harness_set_output (h, path, FALSE);
  sp_harness_set_head (h, "labeler");
  sp_harness_set_records (h, SP_RECORDS_FRAME);
  g_assert_true (sp_harness_init (h, &error));
  g_assert_no_error (error);
  return h;
}

static void
feed_odd (SpHarness *h)
{
  GError *error = NULL;
  for (int i = 0; i < TEST_T; i++) {
    float features[TEST_D] = { 0 };
    SpFrame f = { 3 * i, i / TEST_FPS, 0, 0, NULL, features, TEST_D };
    SpRecord r = { &f, odd_seq[i], 0.5f, NULL, NULL };
    g_assert_true (sp_harness_write (h, &r, &error));
    g_assert_no_error (error);
  }
  sink_flush_ok (h);
}

/* the segments of odd_seq: [start, end) in ms and label */
static const struct { int start, end, label; } odd_segs[] = {
  { 0, 200, 0 }, { 200, 500, 1 }, { 500, 600, 2 }, { 600, 800, 3 }, { 800, 1000, 4 },
};
#define N_ODD_SEGS 5

static void
test_txt (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *path = g_build_filename (dir, "a.txt", NULL);
  {
    g_autoptr (SpHarness) h = odd_sink ("txt", path);
    feed_odd (h);
  }
  g_auto (GStrv) lines = read_lines (path);
  g_assert_cmpuint (g_strv_length (lines), ==, TEST_T);
  for (int i = 0; i < TEST_T; i++) {
    g_autofree char *want = g_strdup (odd_labels[odd_seq[i]]);
    g_strdelimit (want, "\r\n", ' ');
    g_assert_cmpstr (lines[i], ==, want);
  }
  /* an input without frames: an empty file */
  {
    g_autoptr (SpHarness) h = odd_sink ("txt", path);
    sink_flush_ok (h);
  }
  gsize len = 1;
  g_autofree char *empty = read_file (path, &len);
  g_assert_cmpuint (len, ==, 0);
}

static gboolean
run_tool (const char *cmd, char **out)
{
  int status = 0;
  g_autofree char *err = NULL;
  if (!g_spawn_command_line_sync (cmd, out, &err, &status, NULL))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_test_message ("%s: %s", cmd, err);
    return FALSE;
  }
  return TRUE;
}

/* ffmpeg muxes the chapters file into a copy of a video; ffprobe reads them back */
static void
test_chapters (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *path = g_build_filename (dir, "chapters.txt", NULL);
  g_autofree char *video = g_build_filename (dir, "in.mkv", NULL);
  g_autofree char *muxed = g_build_filename (dir, "out.mkv", NULL);
  {
    g_autoptr (SpHarness) h = odd_sink ("chapters", path);
    feed_odd (h);
  }
  g_autofree char *text = read_file (path, NULL);
  g_assert_true (g_str_has_prefix (text, ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\n"));
  g_assert_nonnull (strstr (text, "title=a\\=b\n"));

  g_autofree char *make = g_strdup_printf ("ffmpeg -nostdin -v error -y -f lavfi -i "
                                           "testsrc2=size=64x48:rate=10:duration=1 -c:v ffv1 "
                                           "'%s'", video);
  g_autofree char *mux = g_strdup_printf ("ffmpeg -nostdin -v error -y -i '%s' -i '%s' "
                                          "-map 0 -map_metadata 1 -codec copy '%s'",
                                          video, path, muxed);
  g_autofree char *probe = g_strdup_printf ("ffprobe -v error -show_chapters -of json '%s'",
                                            muxed);
  g_autofree char *json = NULL;
  if (!run_tool (make, NULL)) {
    g_test_fail_printf ("ffmpeg cannot make a test video: install ffmpeg "
                        "(tests/install-deps.sh)");
    return;
  }
  g_assert_true (run_tool (mux, NULL));
  g_assert_true (run_tool (probe, &json));
  GError *error = NULL;
  g_autoptr (SpmJson) j = spm_json_parse (json, strlen (json), "ffprobe", &error);
  g_assert_no_error (error);
  const SpmJson *ch = spm_json_get (j, "chapters");
  g_assert_nonnull (ch);
  g_assert_cmpint (ch->n, ==, N_ODD_SEGS);
  for (int i = 0; i < N_ODD_SEGS; i++) {
    const SpmJson *c = ch->items[i];
    /* ffprobe writes times as strings of seconds */
    const SpmJson *st = spm_json_get (c, "start_time"), *et = spm_json_get (c, "end_time");
    g_assert_nonnull (st);
    g_assert_nonnull (et);
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (st->string, NULL), odd_segs[i].start / 1e3,
                                    1e-6);
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (et->string, NULL), odd_segs[i].end / 1e3,
                                    1e-6);
    const SpmJson *title = spm_json_get (spm_json_get (c, "tags"), "title");
    g_assert_nonnull (title);
    g_assert_cmpstr (title->string, ==, odd_labels[odd_segs[i].label]);
  }
}

/* the label track parsed back: three tab-separated fields a line, times equal to the
 * segments sink's start and end columns */
static void
test_audacity (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *path = g_build_filename (dir, "labels.txt", NULL);
  g_autofree char *seg = g_build_filename (dir, "segments.csv", NULL);
  {
    g_autoptr (SpHarness) h = odd_sink ("audacity", path);
    feed_odd (h);
  }
  {
    g_autoptr (SpHarness) h = odd_sink ("segments", seg);
    feed_odd (h);
  }
  g_auto (GStrv) lines = read_lines (path);
  GError *error = NULL;
  g_autoptr (SpCsv) csv = sp_csv_read (seg, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (lines), ==, N_ODD_SEGS);
  g_assert_cmpint (csv->n_rows, ==, 1 + N_ODD_SEGS);
  for (int i = 0; i < N_ODD_SEGS; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
    g_assert_cmpuint (g_strv_length (f), ==, 3);
    g_assert_cmpstr (f[0], ==, csv->rows[1 + i].fields[0]);
    g_assert_cmpstr (f[1], ==, csv->rows[1 + i].fields[1]);
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (f[0], NULL), odd_segs[i].start / 1e3, 1e-9);
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (f[1], NULL), odd_segs[i].end / 1e3, 1e-9);
    g_autofree char *want = g_strdup (odd_labels[odd_segs[i].label]);
    g_strdelimit (want, "\t\r\n", ' ');
    g_assert_cmpstr (f[2], ==, want);
  }
}

/* xmllint's answer to an XPath expression over file */
static char *
xpath (const char *file, const char *expr)
{
  g_autofree char *qfile = g_shell_quote (file), *qexpr = g_shell_quote (expr);
  g_autofree char *cmd = g_strdup_printf ("xmllint --xpath %s %s", qexpr, qfile);
  char *out = NULL;
  g_assert_true (run_tool (cmd, &out));
  return g_strchomp (out);
}

static void
assert_xpath (const char *file, const char *expr, const char *want)
{
  g_autofree char *got = xpath (file, expr);
  g_assert_cmpstr (got, ==, want);
}

/* xmllint: well-formed, then the tier, the slots and the values by XPath (Debian
 * ships no EAF schema to validate against) */
static void
test_eaf (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *path = g_build_filename (dir, "a.eaf", NULL);
  g_autofree char *lint = g_strdup_printf ("xmllint --noout '%s'", path);
  g_setenv ("SOURCE_DATE_EPOCH", "1700000000", TRUE);
  {
    g_autoptr (SpHarness) h = odd_sink ("eaf", path);
    feed_odd (h);
  }
  if (!run_tool ("xmllint --version", NULL)) {
    g_test_fail_printf ("xmllint is missing: install libxml2-utils (tests/install-deps.sh)");
    return;
  }
  g_assert_true (run_tool (lint, NULL));
  assert_xpath (path, "string(/ANNOTATION_DOCUMENT/@FORMAT)", "3.0");
  assert_xpath (path, "string(/ANNOTATION_DOCUMENT/@DATE)", "2023-11-14T22:13:20Z");
  assert_xpath (path, "string(//HEADER/@TIME_UNITS)", "milliseconds");
  assert_xpath (path, "string(//MEDIA_DESCRIPTOR/@MIME_TYPE)", "video/mp4");
  assert_xpath (path, "count(/ANNOTATION_DOCUMENT/TIER)", "1");
  assert_xpath (path, "string(//TIER/@TIER_ID)", "labels");
  assert_xpath (path, "string(//TIER/@LINGUISTIC_TYPE_REF)", "labels");
  assert_xpath (path, "string(//LINGUISTIC_TYPE/@LINGUISTIC_TYPE_ID)", "labels");
  assert_xpath (path, "string(//LINGUISTIC_TYPE/@TIME_ALIGNABLE)", "true");
  assert_xpath (path, "count(//TIME_SLOT)", "6");
  assert_xpath (path, "count(//ALIGNABLE_ANNOTATION)", "5");
  for (int i = 0; i < N_ODD_SEGS; i++) {
    g_autofree char *a = g_strdup_printf ("(//ALIGNABLE_ANNOTATION)[%d]", i + 1);
    g_autofree char *q1 = g_strdup_printf ("string(//TIME_SLOT[@TIME_SLOT_ID = %s"
                                           "/@TIME_SLOT_REF1]/@TIME_VALUE)", a);
    g_autofree char *q2 = g_strdup_printf ("string(//TIME_SLOT[@TIME_SLOT_ID = %s"
                                           "/@TIME_SLOT_REF2]/@TIME_VALUE)", a);
    g_autofree char *qv = g_strdup_printf ("string(%s/ANNOTATION_VALUE)", a);
    g_autofree char *w1 = g_strdup_printf ("%d", odd_segs[i].start);
    g_autofree char *w2 = g_strdup_printf ("%d", odd_segs[i].end);
    g_autofree char *wv = g_strdup (odd_labels[odd_segs[i].label]);
    assert_xpath (path, q1, w1);
    assert_xpath (path, q2, w2);
    if (strchr (wv, '\n') != NULL)
      *strchr (wv, '\n') = '\0';    /* xmllint prints the value as is: compare a prefix */
    g_autofree char *got = xpath (path, qv);
    g_assert_true (g_str_has_prefix (got, wv));
  }
  /* the media: the relative URL resolved against the document's directory is the input */
  g_autofree char *rel = xpath (path, "string(//MEDIA_DESCRIPTOR/@RELATIVE_MEDIA_URL)");
  g_autofree char *unescaped = g_uri_unescape_string (rel, NULL);
  g_autofree char *joined = g_build_filename (dir, unescaped, NULL);
  g_autofree char *resolved = g_canonicalize_filename (joined, NULL);
  g_autofree char *input = g_canonicalize_filename ("clips/a b.mp4", NULL);
  g_assert_cmpstr (resolved, ==, input);
  g_autofree char *uri = xpath (path, "string(//MEDIA_DESCRIPTOR/@MEDIA_URL)");
  g_autofree char *from_uri = g_filename_from_uri (uri, NULL, NULL);
  g_assert_cmpstr (from_uri, ==, input);
}

/* the hashes of a file's video packets, in order (ffmpeg's framemd5 of a stream copy:
 * timestamps differ between containers, the packets' bytes must not) */
static char **
video_packet_hashes (const char *file)
{
  g_autofree char *q = g_shell_quote (file);
  g_autofree char *cmd = g_strdup_printf ("ffmpeg -nostdin -v error -i %s -map 0:v -c copy "
                                          "-f framemd5 -", q);
  g_autofree char *out = NULL;
  g_assert_true (run_tool (cmd, &out));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  GPtrArray *h = g_ptr_array_new ();
  for (int i = 0; lines[i]; i++) {
    if (lines[i][0] == '#' || lines[i][0] == '\0')
      continue;
    const char *last = strrchr (lines[i], ',');
    g_assert_nonnull (last);
    g_ptr_array_add (h, g_strstrip (g_strdup (last + 1)));
  }
  g_ptr_array_add (h, NULL);
  return (char **) g_ptr_array_free (h, FALSE);
}

/* the input copied with a labels stream and chapters: ffprobe sees both, and the video
 * packets are the input's */
static void
check_mux (const char *video, const char *ext, const char *sub_codec)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *name = g_strconcat ("out.", ext, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  {
    GError *error = NULL;
    SpInputInfo in = { .path = video, .name = "in.mp4", .stem = "in", .end = -1 };
    SpDecoderParams dec = { TEST_FPS, 16, 12, 0 };
    g_autoptr (SpHarness) h = sp_harness_new (SP_SINKS_DIR, "mux", NULL, &in, &dec, &error);
    g_assert_no_error (error);
    sp_harness_set_labels (h, odd_labels, N_ODD);
    sp_harness_set_output (h, path, FALSE);
    sp_harness_set_records (h, SP_RECORDS_FRAME);
    g_assert_true (sp_harness_init (h, &error));
    g_assert_no_error (error);
    feed_odd (h);
  }
  g_autofree char *q = g_shell_quote (path);
  g_autofree char *probe = g_strdup_printf ("ffprobe -v error -show_chapters -show_streams "
                                            "-of json %s", q);
  g_autofree char *json = NULL;
  g_assert_true (run_tool (probe, &json));
  GError *error = NULL;
  g_autoptr (SpmJson) j = spm_json_parse (json, strlen (json), "ffprobe", &error);
  g_assert_no_error (error);
  const SpmJson *ch = spm_json_get (j, "chapters"), *streams = spm_json_get (j, "streams");
  g_assert_cmpint (ch->n, ==, N_ODD_SEGS);
  for (int i = 0; i < N_ODD_SEGS; i++) {
    const SpmJson *c = ch->items[i];
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (spm_json_get (c, "start_time")->string,
                                                    NULL), odd_segs[i].start / 1e3, 1e-6);
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (spm_json_get (c, "end_time")->string,
                                                    NULL), odd_segs[i].end / 1e3, 1e-6);
    g_assert_cmpstr (spm_json_get (spm_json_get (c, "tags"), "title")->string, ==,
                     odd_labels[odd_segs[i].label]);
  }
  int n_video = 0, n_sub = 0;
  for (int i = 0; i < streams->n; i++) {
    const char *type = spm_json_get (streams->items[i], "codec_type")->string;
    if (strcmp (type, "video") == 0)
      n_video++;
    if (strcmp (type, "subtitle") == 0) {
      n_sub++;
      g_assert_cmpstr (spm_json_get (streams->items[i], "codec_name")->string, ==, sub_codec);
    }
  }
  g_assert_cmpint (n_video, ==, 1);
  g_assert_cmpint (n_sub, ==, 1);
  /* the cues: one subtitle packet with text per segment (MP4's muxer adds an empty
   * 2-byte sample where each cue ends) */
  g_autofree char *list = g_strdup_printf ("ffprobe -v error -select_streams s -show_entries "
                                           "packet=size -of csv=p=0 %s", q);
  g_autofree char *sizes = NULL;
  g_assert_true (run_tool (list, &sizes));
  g_auto (GStrv) size = g_strsplit (sizes, "\n", -1);
  int n_cues = 0;
  for (int i = 0; size[i]; i++)
    n_cues += atoi (size[i]) > 2;
  g_assert_cmpint (n_cues, ==, N_ODD_SEGS);
  g_auto (GStrv) a = video_packet_hashes (video);
  g_auto (GStrv) b = video_packet_hashes (path);
  g_assert_cmpuint (g_strv_length (a), ==, 10);
  g_assert_cmpuint (g_strv_length (b), ==, g_strv_length (a));
  for (guint i = 0; a[i]; i++)
    g_assert_cmpstr (a[i], ==, b[i]);
}

static void
test_mux (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *video = g_build_filename (dir, "in.mp4", NULL);
  g_autofree char *make = g_strdup_printf ("ffmpeg -nostdin -v error -y -f lavfi -i "
                                           "testsrc2=size=64x48:rate=10:duration=1 -c:v libx264 "
                                           "-pix_fmt yuv420p '%s'", video);
  if (!run_tool (make, NULL)) {
    g_test_fail_printf ("ffmpeg cannot make a test video: install ffmpeg "
                        "(tests/install-deps.sh)");
    return;
  }
  check_mux (video, "mkv", "webvtt");
  check_mux (video, "mp4", "mov_text");

  /* an input that is gone by the end: the input's error, naming it */
  g_autofree char *gone = g_build_filename (dir, "gone.mp4", NULL);
  g_autofree char *out = g_build_filename (dir, "out.mkv", NULL);
  GError *error = NULL;
  SpInputInfo in = { .path = gone, .name = "gone.mp4", .stem = "gone", .end = -1 };
  SpDecoderParams dec = { TEST_FPS, 16, 12, 0 };
  g_autoptr (SpHarness) h = sp_harness_new (SP_SINKS_DIR, "mux", NULL, &in, &dec, &error);
  g_assert_no_error (error);
  sp_harness_set_labels (h, odd_labels, N_ODD);
  sp_harness_set_output (h, out, FALSE);
  sp_harness_set_records (h, SP_RECORDS_FRAME);
  g_assert_true (sp_harness_init (h, &error));
  g_assert_no_error (error);
  g_assert_false (sp_harness_flush (h, &error));
  g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, gone));
  g_clear_error (&error);

  /* a path without a container's extension: a config error at init */
  g_autofree char *odd = g_build_filename (dir, "out.labels", NULL);
  g_autoptr (SpHarness) h2 = sp_harness_new (SP_SINKS_DIR, "mux", NULL, &in, &dec, &error);
  g_assert_no_error (error);
  sp_harness_set_output (h2, odd, FALSE);
  sp_harness_set_records (h2, SP_RECORDS_FRAME);
  g_assert_false (sp_harness_init (h2, &error));
  g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sinks/txt/lines", test_txt);
  g_test_add_func ("/sinks/chapters/ffprobe", test_chapters);
  g_test_add_func ("/sinks/audacity/parse-back", test_audacity);
  g_test_add_func ("/sinks/eaf/xmllint", test_eaf);
  g_test_add_func ("/sinks/mux/ffprobe", test_mux);
  return g_test_run ();
}
