/* sp_extract_features (train and eval's way into the run engine's chain), in
 * process, with the fake decoder: frames, features, indices, times, broken frames
 * and errors that name the input. */
#include "data-cache.h"
#include "run-chain.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *dir;
  SpConfig *config;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ini = NULL;

  (void) data;
  f->dir = g_dir_make_tmp ("seqpipe-extract-XXXXXX", &error);
  g_assert_no_error (error);
  ini = g_build_filename (f->dir, "x.ini", NULL);
  g_assert_true (g_file_set_contents (ini, "[pipeline]\ninputs = a.fake\n", -1, NULL));
  f->config = sp_config_load (ini, NULL, "run", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autofree char *ini = g_build_filename (f->dir, "x.ini", NULL);

  (void) data;
  sp_config_free (f->config);
  g_unlink (ini);
  g_rmdir (f->dir);
  g_free (f->dir);
}

static SpInputInfo
input_of (Fixture *f, const char *name, const char *contents, char **path)
{
  SpInputInfo in = { 0 };

  *path = g_build_filename (f->dir, name, NULL);
  if (contents != NULL)
    g_assert_true (g_file_set_contents (*path, contents, -1, NULL));
  in.path = *path;
  in.name = name;
  in.stem = "a";
  in.end = -1;
  return in;
}

static void
test_features (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL;
  SpInputInfo in = input_of (f, "a.fake", "frames=7 dim=3 broken=3", &path);
  SpFeatures out;
  g_autoptr (GError) error = NULL;

  (void) data;
  g_assert_true (sp_extract_features (f->config, &in, &out, &error));
  g_assert_no_error (error);
  /* frames 2 and 5 are lost */
  g_assert_cmpint (out.T, ==, 5);
  g_assert_cmpint (out.D, ==, 3);
  g_assert_cmpint (out.broken, ==, 2);
  for (int t = 0; t < 5; t++)
    {
      int64_t frame = (int64_t[]) { 0, 1, 3, 4, 6 }[t];

      g_assert_cmpint (out.index[t], ==, frame);
      g_assert_cmpfloat_with_epsilon (out.time[t], frame * 0.1, 1e-12);
      for (int d = 0; d < 3; d++)
        g_assert_cmpfloat (out.x[t * 3 + d], ==, (float) frame);
    }
  sp_features_clear (&out);
  g_assert_null (out.x);
  g_assert_cmpint (out.T, ==, 0);
  g_unlink (path);
}

/* more frames than the pool holds, so the decoder waits for the consumer */
static void
test_many_frames (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL;
  SpInputInfo in = input_of (f, "a.fake", "frames=1000 dim=5", &path);
  SpFeatures out;
  g_autoptr (GError) error = NULL;

  (void) data;
  g_assert_true (sp_extract_features (f->config, &in, &out, &error));
  g_assert_cmpint (out.T, ==, 1000);
  g_assert_cmpfloat (out.x[999 * 5 + 4], ==, 999.0f);
  sp_features_clear (&out);
  g_unlink (path);
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  const struct {
    const char *name, *contents, *expect;
  } cases[] = {
    { "missing.fake", NULL, "missing.fake: " },
    { "bad.fake", "what is this", "bad.fake: not a fake video" },
    { "late.fake", "frames=20 dim=2 fail-at=12", "late.fake: frame 12 is damaged" },
    { "none.fake", "frames=0 dim=2", "none.fake: no frame to process" },
    { "allbroken.fake", "frames=3 dim=2 broken=1", "allbroken.fake: no frame could be decoded "
      "(3 broken)" },
    { "x.unknown", "", "x.unknown: no decoder reads .unknown files" },
  };

  (void) data;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = NULL;
      SpInputInfo in = input_of (f, cases[i].name, cases[i].contents, &path);
      SpFeatures out;
      g_autoptr (GError) error = NULL;

      g_assert_false (sp_extract_features (f->config, &in, &out, &error));
      g_assert_nonnull (error);
      if (g_test_verbose ())
        g_printerr ("%s\n", error->message);
      g_assert_true (g_str_has_prefix (error->message, path));
      g_assert_nonnull (strstr (error->message, strchr (cases[i].expect, ':')));
      g_assert_null (out.x);
      g_unlink (path);
    }
}

/* 8 frames, fewer when 8 would pass 64 MiB, never fewer than 2 */
static void
test_pool_size (void)
{
  g_assert_cmpint (sp_run_pool_frames (64 * 64 * 3 + 4 * 275), ==, 8);
  g_assert_cmpint (sp_run_pool_frames (1920 * 1080 * 3), ==, 8);
  g_assert_cmpint (sp_run_pool_frames (2560 * 1440 * 3), ==, 6);
  g_assert_cmpint (sp_run_pool_frames (3840 * 2160 * 3), ==, 2);
  g_assert_cmpint (sp_run_pool_frames ((size_t) 8192 * 8192 * 3), ==, 2);
  g_assert_cmpint (sp_run_pool_frames (0), ==, 8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/extract/pool-size", test_pool_size);
  g_test_add ("/e2e/extract/features", Fixture, NULL, fixture_set_up, test_features,
              fixture_tear_down);
  g_test_add ("/e2e/extract/many-frames", Fixture, NULL, fixture_set_up, test_many_frames,
              fixture_tear_down);
  g_test_add ("/e2e/extract/errors", Fixture, NULL, fixture_set_up, test_errors,
              fixture_tear_down);
  return g_test_run ();
}
