/* fuzz-common.h — what the file-reading targets share: a private scratch directory
 * made once per fuzzer process, the input written there under a chosen name, and
 * the check that a failure is one GError of the expected domain. */
#ifndef SP_FUZZ_COMMON_H
#define SP_FUZZ_COMMON_H

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The process's scratch directory, removed with its files at exit. */
static char *fuzz_dir;

static void
fuzz_dir_remove (void)
{
  GDir *d = g_dir_open (fuzz_dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (fuzz_dir, name, NULL);
    g_unlink (p);
  }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (fuzz_dir);
}

static const char *
fuzz_scratch (void)
{
  if (fuzz_dir == NULL) {
    /* in memory where the system has it: the writers fsync every file */
    if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && access ("/dev/shm", W_OK) == 0)
      fuzz_dir = g_mkdtemp (g_strdup ("/dev/shm/seqpipe-fuzz-XXXXXX"));
    else
      fuzz_dir = g_dir_make_tmp ("seqpipe-fuzz-XXXXXX", NULL);
    if (fuzz_dir == NULL)
      abort ();
    atexit (fuzz_dir_remove);
  }
  return fuzz_dir;
}

/* Writes the bytes to NAME in the scratch directory (no fsync: the file is read back
 * by this process only); returns its path (newly allocated). */
static char *
fuzz_write (const char *name, const uint8_t *data, size_t size)
{
  char *path = g_build_filename (fuzz_scratch (), name, NULL);
  FILE *fp = fopen (path, "wb");
  if (fp == NULL || (size > 0 && fwrite (data, 1, size, fp) != size) || fclose (fp) != 0)
    abort ();
  return path;
}

/* A reader either returned a value with no error set, or NULL with an error of
 * domain; anything else (both, neither, another domain) aborts. */
static void
fuzz_check_outcome (gboolean ok, GError *error, GQuark domain)
{
  if (ok ? error != NULL : (error == NULL || error->domain != domain || error->message == NULL))
    abort ();
}

#endif
