/* spm-npy.h — NumPy .npy files: the one reader and writer of the project (the npy
 * decoder and sink, the feature cache).  Header of format versions 1.0, 2.0, 3.0:
 *
 *   "\x93NUMPY" major minor  HEADER_LEN (uint16 LE for 1.x, uint32 LE for 2.x/3.x)
 *   HEADER: a Python dict literal, e.g.
 *           {'descr': '<f4', 'fortran_order': False, 'shape': (100, 64), }
 *   then the raw array data.
 */
#ifndef SPM_NPY_H
#define SPM_NPY_H

#include <glib.h>
#include <stdint.h>
#include <stdio.h>

#define SPM_NPY_MAX_DIMS 8

typedef struct {
  int major, minor;
  int item_size;              /* 4 (float32) or 8 (float64) */
  gboolean big_endian;
  gboolean fortran_order;
  int ndim;
  int64_t shape[SPM_NPY_MAX_DIMS];
  int64_t data_offset;        /* bytes from the start of the file to the data */
} SpmNpyHeader;

/* Reads and validates the header from the start of fp: the magic, the version, a
 * well-formed dict with 'descr', 'fortran_order' and 'shape', a float dtype
 * ('<f4', '>f4', '<f8', '>f8'; '=' means little-endian here).  Errors name path. */
gboolean spm_npy_header_read (FILE *fp, const char *path, SpmNpyHeader *h, GError **error);

/* Parses the dict text alone (for tests and for spm_npy_header_read). */
gboolean spm_npy_header_parse_dict (const char *text, size_t len, const char *path,
                                   SpmNpyHeader *h, GError **error);

/* The `size` bytes (a multiple of 64) of a version 1.0 header of a (rows, cols) C-order
 * array of dtype descr ("<f4", "<f8"), padded with spaces and ending in '\n'.  FALSE
 * when it does not fit in size. */
gboolean spm_npy_header_v1 (char *buf, size_t size, const char *descr, int64_t rows,
                            int64_t cols);

/* A 2-D little-endian float32 (elem_size 4) or float64 (8) array, written atomically
 * (spm-io.h: a crash leaves the old file or none, never a part). */
gboolean spm_npy_write (const char *path, int elem_size, const void *data, int64_t rows,
                        int64_t cols, GError **error);
/* Reads a 2-D little-endian C-order float32/float64 array (any .npy version); data is
 * newly allocated.  Every check of spm_npy_header_read, plus the data size. */
gboolean spm_npy_read (const char *path, void **data, int64_t *rows, int64_t *cols,
                       int *elem_size, GError **error);

#endif
