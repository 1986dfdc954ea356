/* test-e2e.c — each head trained briefly on the small demo set, scored, and run; every
 * labeler sink's output read back and checked against the others. */
#include "heads-test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm-json.h"

#define LABELER_INI \
  "[pipeline]\nmanifest = demo/labeler/test.csv\noutput-dir = out/%s\non-error = skip\n" \
  "[decoder]\nfps = 10\nwidth = 32\nheight = 24\n" \
  "[model]\nhidden = 24\ncheckpoint = out/%s/model.safetensors\n" \
  "[head]\nplugin = labeler\nlabels = demo/labeler/labels.txt\n" \
  "[train]\nmanifest = demo/labeler/train.csv\nval-manifest = demo/labeler/val.csv\n" \
  "epochs = %d\nbatch = 2\nlr = 0.01\ntbptt = 16\nthreads = 1\ncache-dir = cache\n" \
  "[sink:csv]\npath = {stem}.csv\nprobs = true\n[sink:jsonl]\npath = {stem}.jsonl\n" \
  "[sink:segments]\npath = {stem}.segments.csv\n[sink:srt]\npath = {stem}.srt\n" \
  "[sink:vtt]\npath = {stem}.vtt\n[sink:timeline]\npath = {stem}.png\n"

/* the labeler config NAME.ini (output under out/NAME) */
char *
labeler_config (const char *name, int epochs)
{
  g_autofree char *text = g_strdup_printf (LABELER_INI, name, name, epochs);
  g_autofree char *file = g_strdup_printf ("%s.ini", name);
  return ht_write (file, text);
}

typedef struct { double start, end; char *label; int frames; } Seg;

static GArray *
read_segments (const char *name)
{
  g_autofree char *text = ht_read (name);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "start,end,label,frames,score,start_frame,end_frame");
  GArray *segs = g_array_new (FALSE, FALSE, sizeof (Seg));
  for (int i = 1; lines[i] && *lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    g_assert_cmpint (g_strv_length (f), ==, 7);
    Seg s = { g_ascii_strtod (f[0], NULL), g_ascii_strtod (f[1], NULL), g_strdup (f[2]),
              atoi (f[3]) };
    g_assert_cmpfloat (s.end, >, s.start);
    if (segs->len)
      g_assert_cmpstr (g_array_index (segs, Seg, segs->len - 1).label, !=, s.label);
    g_array_append_val (segs, s);
  }
  return segs;
}

static void
free_segments (GArray *segs)
{
  for (guint i = 0; i < segs->len; i++)
    g_free (g_array_index (segs, Seg, i).label);
  g_array_unref (segs);
}

/* "00:00:03,000" or "00:00:03.000" -> seconds */
static double
cue_time (const char *s)
{
  int h, m, sec, ms;
  char sep;
  g_assert_cmpint (sscanf (s, "%d:%d:%d%c%d", &h, &m, &sec, &sep, &ms), ==, 5);
  return h * 3600 + m * 60 + sec + ms / 1000.0;
}

/* SRT/VTT cues: one per segment, same times (to the millisecond) and text */
static void
check_cues (const char *name, GArray *segs, gboolean vtt)
{
  g_autofree char *text = ht_read (name);
  if (vtt)
    g_assert_true (g_str_has_prefix (text, "WEBVTT"));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint cue = 0;
  for (int i = 0; lines[i]; i++) {
    char *arrow = strstr (lines[i], " --> ");
    if (!arrow)
      continue;
    g_assert_cmpuint (cue, <, segs->len);
    const Seg *s = &g_array_index (segs, Seg, cue);
    g_assert_cmpfloat (fabs (cue_time (lines[i]) - s->start), <, 0.0015);
    g_assert_cmpfloat (fabs (cue_time (arrow + 5) - s->end), <, 0.0015);
    g_assert_nonnull (lines[i + 1]);
    g_assert_cmpstr (g_strstrip (lines[i + 1]), ==, s->label);
    cue++;
  }
  g_assert_cmpuint (cue, ==, segs->len);
}

/* per-frame CSV: header with p:<label> columns, probabilities summing to 1, score =
 * p of the label; runs of labels equal to the segments.  Returns the frame count. */
static int
check_frames_csv (const char *name, GArray *segs, const char *const *labels, int C)
{
  g_autofree char *text = ht_read (name);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) header = g_string_new ("frame,time,label,score");
  for (int k = 0; k < C; k++)
    g_string_append_printf (header, ",p:%s", labels[k]);
  g_assert_cmpstr (lines[0], ==, header->str);
  int n = 0;
  guint seg = 0;
  int in_seg = 0;
  for (int i = 1; lines[i] && *lines[i]; i++, n++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    g_assert_cmpint (g_strv_length (f), ==, 4 + C);
    double sum = 0, score = g_ascii_strtod (f[3], NULL), p_label = -1;
    for (int k = 0; k < C; k++) {
      double p = g_ascii_strtod (f[4 + k], NULL);
      sum += p;
      if (!strcmp (labels[k], f[2]))
        p_label = p;
    }
    g_assert_cmpfloat (fabs (sum - 1), <, 1e-4);
    g_assert_cmpfloat (fabs (score - p_label), <, 1e-6);
    g_assert_cmpuint (seg, <, segs->len);
    g_assert_cmpstr (f[2], ==, g_array_index (segs, Seg, seg).label);
    if (++in_seg == g_array_index (segs, Seg, seg).frames) {
      seg++;
      in_seg = 0;
    }
  }
  g_assert_cmpuint (seg, ==, segs->len);
  return n;
}

static void
check_jsonl (const char *name, int frames)
{
  g_autofree char *text = ht_read (name);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  int n = 0;
  for (int i = 0; lines[i] && *lines[i]; i++, n++) {
    GError *e = NULL;
    g_autoptr (SpmJson) j = spm_json_parse (lines[i], strlen (lines[i]), name, &e);
    g_assert_no_error (e);
    g_assert_nonnull (spm_json_get (j, "frame"));
    g_assert_nonnull (spm_json_get (j, "time"));
    g_assert_nonnull (spm_json_get (j, "label"));
    g_assert_nonnull (spm_json_get (j, "score"));
  }
  g_assert_cmpint (n, ==, frames);
}

static void
check_png (const char *name)
{
  g_autofree char *data = ht_read (name);
  g_assert_true (memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0);
  const unsigned char *ihdr = (const unsigned char *) data + 16;
  guint32 w = (guint32) ihdr[0] << 24 | ihdr[1] << 16 | ihdr[2] << 8 | ihdr[3];
  guint32 h = (guint32) ihdr[4] << 24 | ihdr[5] << 16 | ihdr[6] << 8 | ihdr[7];
  g_assert_cmpuint (w, >=, 100);
  g_assert_cmpuint (h, >=, 20);
}

static void
test_labeler (void)
{
  ht_demo ("labeler");
  g_autofree char *ini = labeler_config ("lab", 12);
  HtRun r;
  ht_seqpipe (&r, (const char *[]) { "train", "-q", ini, NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  g_assert_true (ht_exists ("out/lab/model.safetensors"));
  g_assert_true (ht_exists ("out/lab/model.last.safetensors"));
  g_assert_true (ht_exists ("out/lab/model.last.state.safetensors"));
  g_assert_cmpint (ht_lines ("out/lab/train-log.csv"), ==, 13);
  check_png ("out/lab/train-log.png");

  ht_seqpipe (&r, (const char *[]) { "eval", "-q", ini, "--metrics-out", "out/lab/m.json", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "frame_accuracy"));
  ht_run_clear (&r);
  g_autofree char *json = ht_read ("out/lab/m.json");
  g_autoptr (SpmJson) j = spm_json_parse (json, strlen (json), "m.json", NULL);
  static const char *const keys[] = { "n", "frames", "unlabelled", "frame_accuracy", "edit",
                                      "f1@10", "f1@25", "f1@50", "per_class", "confusion" };
  g_assert_cmpint (j->n, ==, G_N_ELEMENTS (keys));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_assert_cmpstr (j->keys[i], ==, keys[i]);
  g_assert_cmpfloat (ht_json_number (json, "frame_accuracy"), >, 0.6);   /* chance: 0.2 */
  g_assert_cmpfloat (ht_json_number (json, "f1@50"), >, 0.3);

  /* run on the held-out video: every sink, read back */
  ht_seqpipe (&r, (const char *[]) { "run", "-q", ini, "--set", "pipeline.manifest=",
                                     "--set", "pipeline.inputs=demo/labeler/heldout.mp4", NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  static const char *const labels[] = { "bars", "testcard", "fractal", "box", "noise" };
  GArray *segs = read_segments ("out/lab/heldout.segments.csv");
  int frames = check_frames_csv ("out/lab/heldout.csv", segs, labels, 5);
  g_assert_cmpint (frames, >, 50);
  check_cues ("out/lab/heldout.srt", segs, FALSE);
  check_cues ("out/lab/heldout.vtt", segs, TRUE);
  check_jsonl ("out/lab/heldout.jsonl", frames);
  check_png ("out/lab/heldout.png");
  free_segments (segs);

  /* several inputs at once, one head instance each */
  ht_seqpipe (&r, (const char *[]) { "run", "-q", ini, "--set", "pipeline.manifest=demo/labeler/train.csv",
                                     "--set", "pipeline.jobs=2",
                                     "--set", "pipeline.output-dir=out/lab-jobs", NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  for (int i = 0; i < 3; i++) {
    g_autofree char *seg_name = g_strdup_printf ("out/lab-jobs/train-%d.segments.csv", i);
    g_autofree char *csv_name = g_strdup_printf ("out/lab-jobs/train-%d.csv", i);
    GArray *s = read_segments (seg_name);
    g_assert_cmpint (check_frames_csv (csv_name, s, labels, 5), >, 50);
    free_segments (s);
  }

  /* min-segment: no segment shorter than 1 s, per-frame records consistent with them */
  ht_seqpipe (&r, (const char *[]) { "run", "-q", ini, "--set", "pipeline.manifest=",
                                     "--set", "pipeline.inputs=demo/labeler/heldout.mp4",
                                     "--set", "head.min-segment=1.0",
                                     "--set", "pipeline.output-dir=out/lab-smooth", NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  segs = read_segments ("out/lab-smooth/heldout.segments.csv");
  for (guint i = 0; i < segs->len; i++)
    g_assert_cmpfloat (g_array_index (segs, Seg, i).end - g_array_index (segs, Seg, i).start,
                       >=, 1.0 - 1e-6);
  g_assert_cmpint (check_frames_csv ("out/lab-smooth/heldout.csv", segs, labels, 5), ==, frames);
  free_segments (segs);
}

static void
test_classifier (void)
{
  ht_demo ("classifier");
  g_autofree char *ini = ht_write ("cls.ini",
      "[pipeline]\nmanifest = demo/classifier/test.csv\noutput-dir = out/cls\n"
      "[decoder]\nfps = 5\nwidth = 32\nheight = 24\n"
      "[model]\ncell = rnn\nlayers = 2\nhidden = 24\ncheckpoint = out/cls/model.safetensors\n"
      "[head]\nplugin = classifier\npool = mean\n"
      "[train]\nmanifest = demo/classifier/train.csv\nval-manifest = demo/classifier/val.csv\n"
      "epochs = 25\nbatch = 4\nlr = 0.01\ntbptt = 0\nthreads = 1\ncache-dir = cache\n"
      "[sink:csv]\npath = predictions.csv\nprobs = true\n");
  HtRun r;
  ht_seqpipe (&r, (const char *[]) { "train", "-q", ini, NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  ht_seqpipe (&r, (const char *[]) { "eval", "-q", ini, "--metrics-out", "out/cls/m.json", NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  g_autofree char *json = ht_read ("out/cls/m.json");
  g_assert_cmpfloat (ht_json_number (json, "accuracy"), >, 0.5);   /* chance: 0.2 */
  g_autoptr (SpmJson) j = spm_json_parse (json, strlen (json), "m.json", NULL);
  const SpmJson *conf = spm_json_get (j, "confusion");
  g_assert_nonnull (conf);
  g_assert_cmpint (spm_json_get (conf, "labels")->n, ==, 5);
  g_assert_cmpint (spm_json_get (conf, "matrix")->n, ==, 5);
  g_assert_cmpint (spm_json_get (conf, "matrix")->items[0]->n, ==, 5);
  /* pool must agree with the checkpoint's */
  ht_seqpipe (&r, (const char *[]) { "run", "-q", ini, "--set", "head.pool=last", NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "pool"));
  ht_run_clear (&r);
  ht_seqpipe (&r, (const char *[]) { "run", "-q", ini, NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  g_assert_cmpint (ht_lines ("out/cls/predictions.csv"), ==, 11);   /* header + 10 inputs */
}

static void
test_captioner (void)
{
  ht_demo ("captioner");
  g_autofree char *ini = ht_write ("cap.ini",
      "[pipeline]\nmanifest = demo/captioner/test.csv\noutput-dir = out/cap\n"
      "[decoder]\nwidth = 32\nheight = 32\n"
      "[model]\ncell = rnn\nhidden = 48\ncheckpoint = out/cap/model.safetensors\n"
      "[head]\nplugin = captioner\nbeam = 2\n"
      "[train]\nmanifest = demo/captioner/train.csv\n"
      "epochs = 40\nbatch = 16\nlr = 0.01\ntbptt = 0\nthreads = 1\ncache-dir = cache\n"
      "[sink:csv]\npath = captions.csv\n");
  HtRun r;
  ht_seqpipe (&r, (const char *[]) { "train", "-q", ini, NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  ht_seqpipe (&r, (const char *[]) { "eval", "-q", ini, "--metrics-out", "out/cap/m.json", NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  g_autofree char *json = ht_read ("out/cap/m.json");
  g_assert_cmpfloat (ht_json_number (json, "n"), ==, 14);   /* 12 images, 2 videos */
  g_assert_cmpfloat (ht_json_number (json, "bleu1"), >, 0.5);
  /* measured 0.74 / 0.52 / 0.5 (7 of 14 captions word for word) with seed 1 */
  g_test_message ("captioner metrics: %s", json);
  g_assert_cmpfloat (ht_json_number (json, "bleu4"), >, 0.3);
  g_assert_cmpfloat (ht_json_number (json, "exact_match"), >, 0.2);
  ht_seqpipe (&r, (const char *[]) { "run", "-q", ini, NULL });
  g_assert_cmpint (r.status, ==, 0);
  ht_run_clear (&r);
  g_autofree char *caps = ht_read ("out/cap/captions.csv");
  g_assert_true (g_str_has_prefix (caps, "input,caption,score\n"));
  g_assert_cmpint (ht_lines ("out/cap/captions.csv"), ==, 15);
}

void
add_e2e_tests (void)
{
  g_test_add_func ("/heads/labeler/train-eval-run", test_labeler);
  g_test_add_func ("/heads/classifier/train-eval-run", test_classifier);
  g_test_add_func ("/heads/captioner/train-eval-run", test_captioner);
}
