/* test-stage.c — stage instances through the harness: keys applied from "key=value",
 * each kind driven by hand, records a head emits, a sink's second output, and
 * finalize exactly once after init — also when init failed. */
#include <seqpipe/check.h>

#include "host-stage.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *fake_dir;

static char *
read_file (const char *path)
{
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
test_decoder (void)
{
  const char *keys[] = { "frames=4", "broken-at=1", NULL };
  SpDecoderParams dec = { 0, 3, 2, 0 };
  SpInputInfo in = { "clips/x.fake", NULL, NULL, 7, 0, -1 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpHarness) h = sp_harness_new (fake_dir, "fake-dec", keys, &in, &dec, &error);
  g_assert_no_error (error);
  SpStage *st = sp_harness_stage (h);
  g_assert_cmpstr (st->input->name, ==, "x.fake");
  g_assert_cmpstr (st->input->stem, ==, "x");
  g_assert_cmpint (st->input->index, ==, 7);
  g_assert_cmpint (st->decoder->width, ==, 3);
  g_assert_true (sp_harness_init (h, &error));
  g_assert_cmpint (sp_stage_expected_frames (st), ==, 4);

  const SpDecodeStatus want[] = { SP_DECODE_FRAME, SP_DECODE_BROKEN, SP_DECODE_FRAME,
                                  SP_DECODE_FRAME, SP_DECODE_EOF };
  for (int i = 0; i < 5; i++) {
    SpFrame *f = sp_harness_frame (h);
    g_assert_nonnull (f->rgb);
    g_assert_cmpint (f->width, ==, 3);
    g_assert_cmpint (f->height, ==, 2);
    SpDecodeStatus s = sp_harness_decode (h, f, &error);
    g_assert_no_error (error);
    g_assert_cmpint (s, ==, want[i]);
    if (s == SP_DECODE_FRAME) {
      g_assert_cmpint (f->index, ==, i);
      g_assert_cmpfloat (f->time, ==, i / 10.0);
      g_assert_cmpint (f->rgb[3 * 2 * 3 - 1], ==, i);
    }
  }
  /* a decoder has no process */
  g_assert_false (sp_harness_process (h, sp_harness_frame (h), &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_USAGE);
}

static void
test_keys (void)
{
  g_autoptr (GError) error = NULL;
  const char *typo[] = { "frmaes=3", NULL };
  g_assert_null (sp_harness_new (fake_dir, "fake-dec", typo, NULL, NULL, &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "frmaes=3: unknown key; did you mean 'frames'?"));
  g_clear_error (&error);

  const char *bad[] = { "frames=lots", NULL };
  g_assert_null (sp_harness_new (fake_dir, "fake-dec", bad, NULL, NULL, &error));
  g_assert_cmpstr (error->message, ==,
                   "fake-dec: frames: value \"lots\" is not an integer; expected an integer in [0, 1000]");
  g_clear_error (&error);

  const char *no_eq[] = { "frames", NULL };
  g_assert_null (sp_harness_new (fake_dir, "fake-dec", no_eq, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "expected KEY=VALUE"));
  g_clear_error (&error);

  g_assert_null (sp_harness_new (fake_dir, "no-such-stage", NULL, NULL, NULL, &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "no stage 'no-such-stage'"));
  g_assert_nonnull (strstr (error->message, "fake-dec"));
  g_clear_error (&error);

  /* kind:name picks by kind */
  g_autoptr (SpHarness) ok = sp_harness_new (fake_dir, "decoder:fake-dec", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ok);
  g_assert_null (sp_harness_new (fake_dir, "sink:fake-dec", NULL, NULL, NULL, &error));
  g_clear_error (&error);

  /* every type lands at its offset: defaults and given values */
  typedef struct {
    gint64 frames, broken_at;
    gboolean fail_init;
    char *trace;
    double scale;
    int mode;
    char *label_file;
  } DecPriv;
  const char *all[] = { "scale=2.5", "mode=exact", "trace=/dev/null", "label-file=l.txt", NULL };
  g_autoptr (SpHarness) h = sp_harness_new (fake_dir, "fake-dec", all, NULL, NULL, &error);
  g_assert_no_error (error);
  const DecPriv *p = sp_harness_stage (h)->priv;
  g_assert_cmpint (p->frames, ==, 5);
  g_assert_cmpint (p->broken_at, ==, -1);
  g_assert_false (p->fail_init);
  g_assert_cmpstr (p->trace, ==, "/dev/null");
  g_assert_cmpfloat (p->scale, ==, 2.5);
  g_assert_cmpint (p->mode, ==, 2);
  g_assert_cmpstr (p->label_file, ==, "l.txt");
}

static void
test_extractor (void)
{
  const char *keys[] = { "dim=6", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpHarness) h = sp_harness_new (fake_dir, "fake-ext", keys, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sp_harness_init (h, &error));
  g_assert_cmpint (sp_stage_output_dim (sp_harness_stage (h)), ==, 6);
  SpFrame *f = sp_harness_frame (h);
  g_assert_cmpint (f->feature_dim, ==, 6);
  g_assert_cmpint (f->width, ==, 64);     /* default decoder params: 64 x 64 */
  f->rgb[0] = 10;
  g_assert_true (sp_harness_process (h, f, &error));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (f->features[i], ==, 10.0f + (float) i);
}

static void
test_head (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpHarness) h = sp_harness_new (fake_dir, "fake-head", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  sp_harness_set_feature_dim (h, 3);
  sp_harness_set_checkpoint (h, "model.safetensors");
  sp_harness_set_head (h, "labeler");
  SpStage *st = sp_harness_stage (h);
  g_assert_cmpstr (sp_stage_model_checkpoint (st), ==, "model.safetensors");
  g_assert_cmpstr (sp_stage_head_name (st), ==, "labeler");
  g_assert_cmpstr (sp_stage_feature_settings (st, "decoder"), ==,
                   "{\"fps\":0,\"height\":64,\"width\":64}");
  sp_harness_set_feature_settings (h, "extractor", "{\"plugin\":\"x\"}");
  g_assert_cmpstr (sp_stage_feature_settings (st, "extractor"), ==, "{\"plugin\":\"x\"}");
  g_assert_true (sp_harness_init (h, &error));
  g_assert_cmpint (st->n_labels, ==, 2);
  g_assert_cmpstr (st->labels[1], ==, "b");
  for (int i = 0; i < 3; i++) {
    SpFrame *f = sp_harness_frame (h);
    g_assert_cmpint (f->feature_dim, ==, 3);
    f->index = 10 + i;
    f->time = i;
    g_assert_true (sp_harness_process (h, f, &error));
  }
  g_assert_true (sp_harness_flush (h, &error));
  int n = 0;
  const SpRecord *r = sp_harness_records (h, &n);
  g_assert_cmpint (n, ==, 3);
  for (int i = 0; i < 3; i++) {
    g_assert_cmpint (r[i].frame->index, ==, 10 + i);
    g_assert_cmpint (r[i].label, ==, (10 + i) % 2);
    g_assert_cmpfloat (r[i].probs[r[i].label], ==, 0.75f);   /* copies: each its own */
    g_assert_null (r[i].text);
  }
}

static void
test_sink (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sp-stage-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "out.txt", NULL);
  g_autofree char *aux = g_strconcat (out, ".aux", NULL);
  const char *keys[] = { "upper=true", NULL };
  g_autoptr (GError) error = NULL;
  SpHarness *h = sp_harness_new (fake_dir, "fake-sink", keys, NULL, NULL, &error);
  g_assert_no_error (error);
  const char *labels[] = { "cat", "dog" };
  sp_harness_set_labels (h, labels, 2);
  sp_harness_set_output (h, out, TRUE);
  sp_harness_set_records (h, SP_RECORDS_FRAME);
  g_assert_true (sp_harness_stage (h)->combined);
  g_assert_true (sp_harness_init (h, &error));
  SpFrame *f = sp_harness_frame (h);
  f->index = 3;
  SpRecord rec = { f, 1, 0.5f, NULL, NULL };
  g_assert_true (sp_harness_write (h, &rec, &error));
  g_assert_cmpstr (sp_stage_output_path_aux (sp_harness_stage (h), ".aux", &error), ==, aux);
  g_assert_true (sp_harness_flush (h, &error));
  sp_harness_free (h);
  g_autofree char *text = read_file (out);
  g_autofree char *aux_text = read_file (aux);
  g_assert_cmpstr (text, ==, "frame,label\n3,DOG\n");
  g_assert_cmpstr (aux_text, ==, "frames=1\n");
  g_assert_cmpint (g_remove (out), ==, 0);
  g_assert_cmpint (g_remove (aux), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* finalize runs once after init, even a failed one; never without init */
static void
test_finalize (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sp-stage-XXXXXX", NULL);
  g_autofree char *trace = g_build_filename (dir, "trace", NULL);
  g_autofree char *trace_key = g_strconcat ("trace=", trace, NULL);
  const char *fail[] = { trace_key, "fail-init=true", NULL };
  SpInputInfo in = { "bad.fake", NULL, NULL, 0, 0, -1 };
  g_autoptr (GError) error = NULL;

  SpHarness *h = sp_harness_new (fake_dir, "fake-dec", fail, &in, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sp_harness_init (h, &error));
  g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_OPEN);
  g_assert_cmpstr (error->message, ==, "bad.fake: fake-dec refuses");
  g_clear_error (&error);
  sp_harness_free (h);
  g_autofree char *t1 = read_file (trace);
  g_assert_cmpstr (t1, ==, "fake-dec init\nfake-dec finalize\n");

  const char *ok[] = { trace_key, NULL };
  h = sp_harness_new (fake_dir, "fake-dec", ok, NULL, NULL, &error);
  sp_harness_free (h);    /* never initialised: no finalize */
  g_autofree char *t2 = read_file (trace);
  g_assert_cmpstr (t2, ==, t1);

  /* the same through sp_stage_new/init/free */
  const char *dirs[] = { fake_dir, NULL };
  g_autoptr (SpRegistry) reg = sp_registry_new_isolated (dirs);
  const SpStageClass *k = sp_registry_find (reg, "fake-ext", SP_STAGE_EXTRACTOR);
  g_assert_nonnull (k);
  g_assert_cmpint (g_remove (trace), ==, 0);
  g_autofree char *cfg = g_build_filename (dir, "c.ini", NULL);
  g_autofree char *text = g_strdup_printf ("[pipeline]\nplugin-path = %s\n"
                                           "[extractor]\nplugin = fake-ext\ntrace = %s\n",
                                           fake_dir, trace);
  g_assert_true (g_file_set_contents (cfg, text, -1, NULL));
  g_autoptr (SpConfig) c = sp_config_load (cfg, NULL, NULL, &error);
  g_assert_no_error (error);
  SpStage *st = sp_stage_new (c, k, "extractor", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sp_stage_init (st, &error));
  g_assert_cmpint (sp_stage_output_dim (st), ==, 4);
  sp_stage_free (st);
  g_autofree char *t3 = read_file (trace);
  g_assert_cmpstr (t3, ==, "fake-ext init\nfake-ext finalize\n");
  g_assert_cmpint (g_remove (trace), ==, 0);
  g_assert_cmpint (g_remove (cfg), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* host services on a bare instance: labels are copied, emit without sinks is fine */
static void
test_services (void)
{
  const char *dirs[] = { fake_dir, NULL };
  g_autoptr (SpRegistry) reg = sp_registry_new_isolated (dirs);
  const SpStageClass *k = sp_registry_find (reg, "fake-head", SP_STAGE_HEAD);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpStage) st = sp_stage_new (NULL, k, "head", NULL, NULL, &error);
  g_assert_no_error (error);
  char a[] = "alpha", b[] = "beta";
  const char *labels[] = { a, b };
  sp_stage_set_labels (st, labels, 2);
  a[0] = 'X';
  g_assert_cmpstr (st->labels[0], ==, "alpha");
  g_assert_cmpint (st->n_labels, ==, 2);
  sp_stage_set_expected_frames (st, -5);
  g_assert_cmpint (sp_stage_expected_frames (st), ==, -1);
  /* a record of the kind the head declares goes nowhere without sinks; one of another
   * kind is refused, naming the head */
  SpFrame f = { 0 };
  SpRecord r = { &f, 0, 1, NULL, NULL };
  g_assert_true (sp_stage_emit (st, &r, &error));
  SpRecord wrong = { NULL, 0, 1, NULL, NULL };
  g_assert_false (sp_stage_emit (st, &wrong, &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "fake-head head declares one record per frame"));
  g_clear_error (&error);
  SpRecord unknown = { &f, 2, 1, NULL, NULL };
  g_assert_false (sp_stage_emit (st, &unknown, &error));
  g_assert_nonnull (strstr (error->message, "a label outside its labels"));
  g_clear_error (&error);
  g_assert_null (sp_stage_model_checkpoint (st));
  g_assert_null (sp_stage_head_name (st));
  g_assert_cmpstr (sp_stage_feature_settings (st, "decoder"), ==, "{}");
  g_assert_null (sp_stage_output_path_aux (st, ".x", &error));
  g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fake_dir = g_getenv ("SP_FAKE_PLUGIN_DIR");
  g_assert_nonnull (fake_dir);
  g_test_add_func ("/stage/decoder", test_decoder);
  g_test_add_func ("/stage/keys", test_keys);
  g_test_add_func ("/stage/extractor", test_extractor);
  g_test_add_func ("/stage/head", test_head);
  g_test_add_func ("/stage/sink", test_sink);
  g_test_add_func ("/stage/finalize", test_finalize);
  g_test_add_func ("/stage/services", test_services);
  return g_test_run ();
}
