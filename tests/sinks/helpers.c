/* helpers.c — see helpers.h. */
#include "helpers.h"

#include <glib/gstdio.h>

const char *const test_labels[5] = { "walk", "run", "sit, down", "say \"hi\"", NULL };
const int test_seq[TEST_T] = { 0, 0, 0, 1, 1, 2, 2, 2, 3, 0 };

float
test_score (int i)
{
  return 0.5f + 0.05f * (float) i;
}

float
test_prob (int i, int k)
{
  float rest = (1.f - test_score (i)) / (N_TEST_LABELS - 1);
  return k == test_seq[i] ? test_score (i) : rest;
}

float
test_feature (int i, int d)
{
  return (float) i + 0.125f * (float) d - 1.f;
}

TestDir *
test_dir_new (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("seqpipe-sinks-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

void
test_dir_free (TestDir *dir)
{
  if (dir == NULL)
    return;
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    g_remove (p);
  }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (dir);
  g_free (dir);
}

SpHarness *
sink_new (const char *stage, const char *const *keys, const char *head, const char *path,
          gboolean combined)
{
  return sink_new_fps (stage, keys, head, path, combined, TEST_FPS);
}

SpHarness *
sink_new_fps (const char *stage, const char *const *keys, const char *head,
              const char *path, gboolean combined, double fps)
{
  GError *error = NULL;
  SpInputInfo in = { .path = "clips/a b.mp4", .name = "a b.mp4", .stem = "a b", .end = -1 };
  SpDecoderParams dec = { fps, 16, 12, 0 };
  SpHarness *h = sp_harness_new (SP_SINKS_DIR, stage, keys, &in, &dec, &error);
  g_assert_no_error (error);
  sp_harness_set_labels (h, test_labels, N_TEST_LABELS);
  sp_harness_set_feature_dim (h, TEST_D);
  sp_harness_set_output (h, path, combined);
  if (head != NULL)
    sp_harness_set_head (h, head);
  sp_harness_set_records (h, g_strcmp0 (head, "labeler") == 0 ? SP_RECORDS_FRAME
                             : g_strcmp0 (head, "classifier") == 0 ? SP_RECORDS_INPUT
                             : g_strcmp0 (head, "captioner") == 0 ? SP_RECORDS_CAPTION : 0);
  g_assert_true (sp_harness_init (h, &error));
  g_assert_no_error (error);
  return h;
}

/* frame i of the sequence, pixels a colour ramp over the 16 x 12 frame */
static void
make_frame (SpFrame *f, int i, uint8_t *rgb, float *features)
{
  for (int p = 0; p < 16 * 12; p++) {
    rgb[3 * p] = (uint8_t) (20 * i);
    rgb[3 * p + 1] = (uint8_t) (p % 16 * 15);
    rgb[3 * p + 2] = (uint8_t) (p / 16 * 20);
  }
  for (int d = 0; d < TEST_D; d++)
    features[d] = test_feature (i, d);
  *f = (SpFrame) { 3 * i, i / TEST_FPS, 16, 12, rgb, features, TEST_D };
}

/* what the host hands a sink: the frame when it takes frames, the record when it
 * takes the run's records (plugin.h) */
void
give_frame (SpHarness *h, const SpFrame *f)
{
  GError *error = NULL;
  if (sp_stage_class_takes (sp_stage_host (sp_harness_stage (h))->klass) & SP_TAKES_FRAMES) {
    g_assert_true (sp_harness_frame_to_sink (h, f, &error));
    g_assert_no_error (error);
  }
}

void
give_record (SpHarness *h, const SpRecord *r)
{
  GError *error = NULL;
  SpStage *st = sp_harness_stage (h);
  if (sp_stage_class_takes (sp_stage_host (st)->klass) & st->records) {
    g_assert_true (sp_harness_write (h, r, &error));
    g_assert_no_error (error);
  }
}

void
feed_labeler (SpHarness *h, gboolean held)
{
  static uint8_t rgb[TEST_T][16 * 12 * 3];
  static float features[TEST_T][TEST_D];
  SpFrame f[TEST_T];
  for (int i = 0; i < TEST_T; i++) {
    make_frame (&f[i], i, rgb[i], features[i]);
    if (held)
      give_frame (h, &f[i]);
  }
  for (int i = 0; i < TEST_T; i++) {
    float probs[N_TEST_LABELS];
    for (int k = 0; k < N_TEST_LABELS; k++)
      probs[k] = test_prob (i, k);
    if (!held)
      give_frame (h, &f[i]);
    SpRecord r = { &f[i], test_seq[i], test_score (i), probs, NULL };
    give_record (h, &r);
  }
}

void
feed_per_input (SpHarness *h, int label, const char *caption)
{
  float probs[N_TEST_LABELS];
  for (int i = 0; i < TEST_T; i++) {
    uint8_t rgb[16 * 12 * 3];
    float features[TEST_D];
    SpFrame f;
    make_frame (&f, i, rgb, features);
    give_frame (h, &f);
  }
  for (int k = 0; k < N_TEST_LABELS; k++)
    probs[k] = k == label ? 0.7f : 0.1f;
  SpRecord r = { NULL, caption ? -1 : label, caption ? 0.25f : 0.7f, caption ? NULL : probs,
                 caption };
  give_record (h, &r);
}

void
sink_flush_ok (SpHarness *h)
{
  GError *error = NULL;
  g_assert_true (sp_harness_flush (h, &error));
  g_assert_no_error (error);
}

char *
read_file (const char *path, gsize *len)
{
  GError *error = NULL;
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, len, &error));
  g_assert_no_error (error);
  return text;
}

char **
read_lines (const char *path)
{
  g_autofree char *text = read_file (path, NULL);
  char **lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  if (n > 0 && lines[n - 1][0] == '\0') {
    g_free (lines[n - 1]);
    lines[n - 1] = NULL;
  }
  return lines;
}
