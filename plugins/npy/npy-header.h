/* npy-header.h — the header of a NumPy .npy file (format versions 1.0, 2.0, 3.0).
 *
 *   "\x93NUMPY" major minor  HEADER_LEN (uint16 LE for 1.x, uint32 LE for 2.x/3.x)
 *   HEADER: a Python dict literal, e.g.
 *           {'descr': '<f4', 'fortran_order': False, 'shape': (100, 64), }
 *   then the raw array data.
 */
#ifndef SP_NPY_HEADER_H
#define SP_NPY_HEADER_H

#include <glib.h>
#include <stdint.h>
#include <stdio.h>

#define SP_NPY_MAX_DIMS 8

typedef struct {
  int major, minor;
  int item_size;              /* 4 (float32) or 8 (float64) */
  gboolean big_endian;
  gboolean fortran_order;
  int ndim;
  int64_t shape[SP_NPY_MAX_DIMS];
  int64_t data_offset;        /* bytes from the start of the file to the data */
} SpNpyHeader;

/* Reads and validates the header from the start of fp: the magic, the version, a
 * well-formed dict with 'descr', 'fortran_order' and 'shape', a float dtype
 * ('<f4', '>f4', '<f8', '>f8'; '=' means little-endian here).  Errors name path. */
gboolean sp_npy_header_read (FILE *fp, const char *path, SpNpyHeader *h, GError **error);

/* Parses the dict text alone (for tests and for sp_npy_header_read). */
gboolean sp_npy_header_parse_dict (const char *text, size_t len, const char *path,
                                   SpNpyHeader *h, GError **error);

#endif
