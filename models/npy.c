/* npy.c — NumPy .npy files (spm-npy.h): the header read and validated, written, and
 * whole 2-D arrays read and written atomically.
 *
 * The dict is parsed as the small subset of Python literals NumPy writes: quoted
 * strings without escapes, True/False and tuples of non-negative integers (an 'L'
 * suffix, as Python 2 wrote, is accepted).  As NumPy's own reader, exactly the keys
 * 'descr', 'fortran_order' and 'shape' are allowed; an unknown, repeated or missing
 * key, any other value, or text after the dict is an error.
 */
#include "spm-npy.h"
#include "spm-io.h"
#include "spm-model.h"

#include <errno.h>
#include <string.h>

#define NPY_MAX_HEADER_LEN (1u << 24)

typedef struct {
  const char *p, *end;
  const char *path;
} Lex;

static gboolean G_GNUC_PRINTF (3, 4)
malformed (const Lex *lx, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
               "%s: malformed .npy header: %s", lx->path, what);
  return FALSE;
}

static void
skip_ws (Lex *lx)
{
  while (lx->p < lx->end && g_ascii_isspace (*lx->p))
    lx->p++;
}

static gboolean
expect (Lex *lx, char c, const char *where, GError **error)
{
  skip_ws (lx);
  if (lx->p >= lx->end || *lx->p != c)
    return malformed (lx, error, "expected '%c' %s", c, where);
  lx->p++;
  return TRUE;
}

static gboolean
parse_string (Lex *lx, char **out, GError **error)
{
  skip_ws (lx);
  if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"'))
    return malformed (lx, error, "expected a quoted string");
  char quote = *lx->p++;
  const char *start = lx->p;
  while (lx->p < lx->end && *lx->p != quote)
    {
      if (*lx->p == '\\')
        return malformed (lx, error, "escape sequences are not supported");
      lx->p++;
    }
  if (lx->p >= lx->end)
    return malformed (lx, error, "unterminated string");
  *out = g_strndup (start, lx->p - start);
  lx->p++;
  return TRUE;
}

static gboolean
parse_bool (Lex *lx, gboolean *out, GError **error)
{
  skip_ws (lx);
  size_t left = lx->end - lx->p;
  if (left >= 4 && memcmp (lx->p, "True", 4) == 0)
    {
      *out = TRUE;
      lx->p += 4;
      return TRUE;
    }
  if (left >= 5 && memcmp (lx->p, "False", 5) == 0)
    {
      *out = FALSE;
      lx->p += 5;
      return TRUE;
    }
  return malformed (lx, error, "'fortran_order' must be True or False");
}

static gboolean
parse_int (Lex *lx, int64_t *out, GError **error)
{
  skip_ws (lx);
  if (lx->p >= lx->end || !g_ascii_isdigit (*lx->p))
    return malformed (lx, error, "expected a non-negative integer in 'shape'");
  int64_t v = 0;
  while (lx->p < lx->end && g_ascii_isdigit (*lx->p))
    {
      if (v > (G_MAXINT64 - 9) / 10)
        return malformed (lx, error, "dimension too large in 'shape'");
      v = v * 10 + (*lx->p++ - '0');
    }
  if (lx->p < lx->end && *lx->p == 'L')
    lx->p++;
  *out = v;
  return TRUE;
}

/* '(' [int (',' int)* [',']] ')' */
static gboolean
parse_shape (Lex *lx, SpmNpyHeader *h, GError **error)
{
  if (!expect (lx, '(', "to open 'shape'", error))
    return FALSE;
  h->ndim = 0;
  for (;;)
    {
      skip_ws (lx);
      if (lx->p < lx->end && *lx->p == ')')
        break;
      if (h->ndim == SPM_NPY_MAX_DIMS)
        return malformed (lx, error, "more than %d dimensions in 'shape'", SPM_NPY_MAX_DIMS);
      if (!parse_int (lx, &h->shape[h->ndim++], error))
        return FALSE;
      skip_ws (lx);
      if (lx->p < lx->end && *lx->p == ',')
        {
          lx->p++;
          continue;
        }
      if (lx->p < lx->end && *lx->p == ')')
        break;
      return malformed (lx, error, "expected ',' or ')' in 'shape'");
    }
  lx->p++;
  return TRUE;
}

static gboolean
set_dtype (Lex *lx, const char *descr, SpmNpyHeader *h, GError **error)
{
  /* byte order, kind, size: e.g. "<f4" */
  if (strlen (descr) == 3 && strchr ("<>=", descr[0]) != NULL && descr[1] == 'f'
      && (descr[2] == '4' || descr[2] == '8'))
    {
      h->big_endian = descr[0] == '>';
      h->item_size = descr[2] - '0';
      return TRUE;
    }
  g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
               "%s: unsupported dtype '%s': expected float32 or float64 "
               "('<f4', '<f8', '>f4', '>f8')", lx->path, descr);
  return FALSE;
}

gboolean
spm_npy_header_parse_dict (const char *text, size_t len, const char *path, SpmNpyHeader *h,
                          GError **error)
{
  Lex lx = { text, text + len, path };
  gboolean seen_descr = FALSE, seen_fortran = FALSE, seen_shape = FALSE;

  if (!expect (&lx, '{', "at the start", error))
    return FALSE;
  for (;;)
    {
      skip_ws (&lx);
      if (lx.p < lx.end && *lx.p == '}')
        break;
      g_autofree char *key = NULL;
      if (!parse_string (&lx, &key, error) || !expect (&lx, ':', "after a key", error))
        return FALSE;
      gboolean *seen = NULL;
      if (g_str_equal (key, "descr"))
        {
          g_autofree char *descr = NULL;
          skip_ws (&lx);
          if (lx.p < lx.end && *lx.p == '[')
            {
              g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                           "%s: unsupported dtype: a structured array "
                           "(expected float32 or float64)", path);
              return FALSE;
            }
          if (!parse_string (&lx, &descr, error) || !set_dtype (&lx, descr, h, error))
            return FALSE;
          seen = &seen_descr;
        }
      else if (g_str_equal (key, "fortran_order"))
        {
          if (!parse_bool (&lx, &h->fortran_order, error))
            return FALSE;
          seen = &seen_fortran;
        }
      else if (g_str_equal (key, "shape"))
        {
          if (!parse_shape (&lx, h, error))
            return FALSE;
          seen = &seen_shape;
        }
      else
        return malformed (&lx, error, "unknown key '%s'", key);
      if (*seen)
        return malformed (&lx, error, "key '%s' appears twice", key);
      *seen = TRUE;

      skip_ws (&lx);
      if (lx.p < lx.end && *lx.p == ',')
        {
          lx.p++;
          continue;
        }
      if (lx.p < lx.end && *lx.p == '}')
        break;
      return malformed (&lx, error, "expected ',' or '}' after the value of '%s'", key);
    }
  lx.p++;
  skip_ws (&lx);
  if (lx.p != lx.end)
    return malformed (&lx, error, "unexpected text after the dict");
  if (!seen_descr || !seen_fortran || !seen_shape)
    return malformed (&lx, error, "missing key '%s'",
                      !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
  return TRUE;
}

gboolean
spm_npy_header_read (FILE *fp, const char *path, SpmNpyHeader *h, GError **error)
{
  static const unsigned char magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };
  unsigned char pre[12];
  Lex lx = { NULL, NULL, path };

  memset (h, 0, sizeof *h);
  if (fread (pre, 1, 8, fp) != 8 || memcmp (pre, magic, 6) != 0)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: not a .npy file (no \\x93NUMPY magic)", path);
      return FALSE;
    }
  h->major = pre[6];
  h->minor = pre[7];
  if (h->major < 1 || h->major > 3)
    {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: unsupported .npy format version %d.%d (expected 1.x, 2.x or 3.x)",
                   path, h->major, h->minor);
      return FALSE;
    }
  size_t len_bytes = h->major == 1 ? 2 : 4;
  if (fread (pre + 8, 1, len_bytes, fp) != len_bytes)
    return malformed (&lx, error, "truncated before the header length");
  guint32 hlen = pre[8] | (guint32) pre[9] << 8;
  if (len_bytes == 4)
    hlen |= (guint32) pre[10] << 16 | (guint32) pre[11] << 24;
  if (hlen == 0 || hlen > NPY_MAX_HEADER_LEN)
    return malformed (&lx, error, "header length %u out of range", hlen);

  g_autofree char *text = g_malloc (hlen);
  if (fread (text, 1, hlen, fp) != hlen)
    return malformed (&lx, error, "truncated: the header says %u bytes", hlen);
  if (!spm_npy_header_parse_dict (text, hlen, path, h, error))
    return FALSE;
  h->data_offset = 8 + (int64_t) len_bytes + hlen;
  return TRUE;
}

gboolean
spm_npy_header_v1 (char *buf, size_t size, const char *descr, int64_t rows, int64_t cols)
{
  char dict[160];
  int n = g_snprintf (dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                      "'shape': (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "), }", descr, rows,
                      cols);

  /* magic (6) + version (2) + length (2) + dict + padding + '\n' */
  if (n < 0 || (size_t) n >= sizeof dict || size % 64 != 0 || size < 10 + (size_t) n + 1
      || size - 10 > G_MAXUINT16)
    return FALSE;
  memset (buf, ' ', size);
  memcpy (buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (char) ((size - 10) & 0xff);
  buf[9] = (char) ((size - 10) >> 8);
  memcpy (buf + 10, dict, (size_t) n);
  buf[size - 1] = '\n';
  return TRUE;
}

gboolean
spm_npy_write (const char *path, int elem_size, const void *data, int64_t rows, int64_t cols,
               GError **error)
{
  const char *descr = elem_size == 8 ? "<f8" : "<f4";
  char header[128];
  size_t n = (size_t) rows * (size_t) cols * (size_t) elem_size;
  g_autoptr (SpmFileWriter) w = NULL;

  g_return_val_if_fail (elem_size == 4 || elem_size == 8, FALSE);
  g_return_val_if_fail (G_BYTE_ORDER == G_LITTLE_ENDIAN, FALSE);
  if (!spm_npy_header_v1 (header, sizeof header, descr, rows, cols)) {
    g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED, "%s: shape (%" G_GINT64_FORMAT ", %"
                 G_GINT64_FORMAT ") does not fit a .npy header", path, rows, cols);
    return FALSE;
  }
  w = spm_file_writer_new (path, error);
  return w != NULL && spm_file_writer_write (w, header, sizeof header, error)
         && spm_file_writer_write (w, data, n, error) && spm_file_writer_commit (w, error);
}

gboolean
spm_npy_read (const char *path, void **data, int64_t *rows, int64_t *cols, int *elem_size,
              GError **error)
{
  SpmNpyHeader h;
  g_autofree char *buf = NULL;
  gsize len = 0;
  FILE *fp = NULL;
  gboolean ok;

  if (!spm_file_get_regular (path, &buf, &len, error))
    return FALSE;
  fp = fmemopen (buf, len, "rb");
  if (fp == NULL) {
    g_set_error (error, SPM_ERROR, SPM_ERROR_IO, "%s: %s", path, g_strerror (errno));
    return FALSE;
  }
  ok = spm_npy_header_read (fp, path, &h, error);
  fclose (fp);
  if (!ok)
    return FALSE;
  if (h.ndim != 2 || h.fortran_order || h.big_endian) {
    g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: expected a 2-D little-endian C-order "
                 "array", path);
    return FALSE;
  }
  if ((guint64) h.shape[0] * (guint64) h.shape[1] * (guint64) h.item_size
      != len - (guint64) h.data_offset) {
    g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: the data size does not match the "
                 "shape (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")", path, h.shape[0],
                 h.shape[1]);
    return FALSE;
  }
  *data = g_memdup2 (buf + h.data_offset, len - (gsize) h.data_offset);
  *rows = h.shape[0];
  *cols = h.shape[1];
  *elem_size = h.item_size;
  return TRUE;
}
