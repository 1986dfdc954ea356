/* fuzz-npy.c — libFuzzer target for the .npy reader (models/npy.c).
 *
 * Each input is read three ways: as the header's dict text
 * (spm_npy_header_parse_dict), as a whole .npy file (spm_npy_header_read and
 * spm_npy_read), and as a dict followed by data behind a correct version 1.0 preamble
 * (the input is split after its first '\n', so mutations reach the dict and the data
 * size checks rather than stopping at the magic).  Checked:
 *   - a failure sets one SPM_ERROR and returns FALSE, a success sets none;
 *   - an accepted header has a float item size (4 or 8), 0..SPM_NPY_MAX_DIMS
 *     non-negative dimensions and a data offset inside the preamble + header;
 *   - an accepted array is 2-D, its data size is rows x cols x item size, equal to the
 *     bytes after the header, and every element can be read (ASan checks the bounds).
 */
#include "fuzz-common.h"
#include "spm-model.h"
#include "spm-npy.h"

#include <stdio.h>
#include <string.h>

/* every byte of an accepted array is read into this (ASan checks the bounds) */
static volatile uint8_t touched;

static void
check_header (const SpmNpyHeader *h, gboolean from_file, size_t file_size)
{
  if (h->item_size != 4 && h->item_size != 8)
    abort ();
  if (h->ndim < 0 || h->ndim > SPM_NPY_MAX_DIMS)
    abort ();
  for (int i = 0; i < h->ndim; i++)
    if (h->shape[i] < 0)
      abort ();
  if (from_file && (h->data_offset < 10 || (size_t) h->data_offset > file_size))
    abort ();
}

static void
check_dict (const char *text, size_t len)
{
  GError *error = NULL;
  SpmNpyHeader h;
  memset (&h, 0, sizeof h);
  gboolean ok = spm_npy_header_parse_dict (text, len, "<fuzz>", &h, &error);
  fuzz_check_outcome (ok, error, SPM_ERROR);
  if (ok)
    check_header (&h, FALSE, 0);
  g_clear_error (&error);
}

static void
check_file (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("in.npy", data, size);
  GError *error = NULL;
  SpmNpyHeader h;
  FILE *fp = fopen (path, "rb");
  if (fp == NULL)
    abort ();
  gboolean ok = spm_npy_header_read (fp, path, &h, &error);
  fclose (fp);
  fuzz_check_outcome (ok, error, SPM_ERROR);
  if (ok)
    check_header (&h, TRUE, size);
  g_clear_error (&error);

  void *values = NULL;
  int64_t rows = -1, cols = -1;
  int elem = 0;
  gboolean read = spm_npy_read (path, &values, &rows, &cols, &elem, &error);
  fuzz_check_outcome (read, error, SPM_ERROR);
  g_clear_error (&error);
  if (!read)
    return;
  /* an array is accepted only when its header is, and its data fills the rest */
  if (!ok || h.ndim != 2 || rows != h.shape[0] || cols != h.shape[1] || elem != h.item_size)
    abort ();
  int64_t n;
  if (rows < 0 || cols < 0 || __builtin_mul_overflow (rows, cols, &n)
      || __builtin_mul_overflow (n, (int64_t) elem, &n) || (size_t) n != size - (size_t) h.data_offset)
    abort ();
  for (int64_t i = 0; i < rows * cols * elem; i++)
    touched ^= ((const uint8_t *) values)[i];
  g_free (values);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size > 65000)
    return 0;
  check_dict ((const char *) data, size);
  check_file (data, size);

  /* "\x93NUMPY" 1 0, HEADER_LEN = the bytes up to and including the first '\n' */
  const uint8_t *nl = size > 0 ? memchr (data, '\n', size) : NULL;
  size_t hlen = nl != NULL ? (size_t) (nl - data) + 1 : size;
  guint8 *wrapped = g_malloc (size + 10);
  memcpy (wrapped, "\x93NUMPY\x01\x00", 8);
  wrapped[8] = (guint8) (hlen & 0xff);
  wrapped[9] = (guint8) (hlen >> 8);
  if (size > 0)
    memcpy (wrapped + 10, data, size);
  check_file (wrapped, size + 10);
  g_free (wrapped);
  return 0;
}
