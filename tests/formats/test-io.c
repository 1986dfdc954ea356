/* test-io.c — models/io.c: atomic writes (a file appears complete or not at all, no
 * temporary left, errors name the final file), the stale-temporary clean-up that
 * removes only a file's own temporaries, the writable-directory probe, and reads that
 * refuse a FIFO at once instead of blocking. */
#include "spm-io.h"
#include "spm-model.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

static int
count_entries (void)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  int n = 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_writer (void)
{
  g_autofree char *path = g_build_filename (dir, "out.bin", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *got = NULL;
  gsize len = 0;

  g_assert_true (spm_file_replace (path, "old", 3, &error));
  {
    /* not committed: the old file stays, the temporary goes */
    g_autoptr (SpmFileWriter) w = spm_file_writer_new (path, &error);
    g_assert_nonnull (w);
    g_assert_true (spm_file_writer_write (w, "new!", 4, &error));
    g_assert_cmpint (count_entries (), ==, 2);
  }
  g_assert_cmpint (count_entries (), ==, 1);
  g_assert_true (spm_file_get_regular (path, &got, &len, &error));
  g_assert_cmpstr (got, ==, "old");
  g_clear_pointer (&got, g_free);
  g_assert_true (spm_file_replace (path, "new!", 4, &error));
  g_assert_true (spm_file_get_regular (path, &got, &len, &error));
  g_assert_cmpuint (len, ==, 4);
  g_assert_cmpstr (got, ==, "new!");
  g_assert_cmpint (count_entries (), ==, 1);
  /* a directory that is not there: the error names the final file */
  {
    g_autofree char *missing = g_build_filename (dir, "no", "such.bin", NULL);
    g_assert_false (spm_file_replace (missing, "x", 1, &error));
    g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message, missing));
    g_clear_error (&error);
  }
  g_unlink (path);
}

static void
test_stale_temps (void)
{
  const char *names[] = { ".m.safetensors.tmp-ab12CD", ".m.safetensors.tmp-abc",
                          ".m.safetensors.tmp-abcdefg", ".other.tmp-ab12CD", "m.safetensors",
                          ".m.last.safetensors.tmp-xyz123", NULL };
  g_autofree char *ckpt = g_build_filename (dir, "m.safetensors", NULL);

  for (int i = 0; names[i]; i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);
      g_assert_true (g_file_set_contents (p, "x", 1, NULL));
    }
  spm_file_remove_stale_temps (ckpt);
  /* only the six-character temporary of m.safetensors went */
  g_assert_cmpint (count_entries (), ==, 5);
  for (int i = 1; names[i]; i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);
      g_assert_true (g_file_test (p, G_FILE_TEST_EXISTS));
      g_unlink (p);
    }
}

static void
test_probe_and_fifo (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fifo = g_build_filename (dir, "pipe", NULL);
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (spm_file_probe_writable (dir, &error));
  g_assert_cmpint (count_entries (), ==, 0);
  g_assert_false (spm_file_probe_writable ("/proc/self", &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/proc/self: cannot write in the directory"));
  g_clear_error (&error);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  /* no writer on the FIFO: this would block forever if it were opened for reading */
  g_assert_false (spm_file_get_regular (fifo, &data, &len, &error));
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);
  g_assert_false (spm_file_get_regular (dir, &data, &len, &error));
  g_unlink (fifo);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("spm-io-XXXXXX", NULL);
  g_test_add_func ("/io/writer", test_writer);
  g_test_add_func ("/io/stale-temps", test_stale_temps);
  g_test_add_func ("/io/probe-and-fifo", test_probe_and_fifo);
  int rc = g_test_run ();
  g_rmdir (dir);
  g_free (dir);
  return rc;
}
