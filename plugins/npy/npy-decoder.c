/* npy-decoder.c — the `npy` decoder stage: a (T, D) float32/float64 .npy array as T
 * frames of D features (no pixels).
 *
 *  - layout: shape (T, D); with `transpose = true` shape (D, T), as MS-TCN feature
 *    files.  fortran_order = True is the same data in column-major order, which is
 *    read as such (so (T, D) Fortran order holds the same bytes as (D, T) C order).
 *  - dtype: '<f4', '<f8', '>f4', '>f8'; float64 is rounded to float32.
 *  - frame r: index = r, time = r / fps, or r when fps = 0 (one row per second).
 *    Every row is delivered: `fps` only gives the rows' times.
 *  - window [start, end): the rows whose time lies in it.
 *  - streaming: a time-major file is read one row per frame; a feature-major one
 *    (strided rows) is read in blocks of rows, one contiguous read per feature, so
 *    memory stays near NPY_BLOCK_BYTES whatever the file's size.
 *  - the file must hold the data the header promises; a shorter one is an error at
 *    init that names the file and the sizes.
 */
#include <errno.h>
#include <math.h>
#include <seqpipe/plugin.h>
#include <string.h>
#include <unistd.h>

#include "spm-io.h"
#include "spm-npy.h"
#include "frame-times.h"

#define NPY_BLOCK_BYTES (4u << 20)

typedef struct {
  gboolean transpose;       /* key */

  FILE *fp;
  SpmNpyHeader h;
  int64_t T;
  int D;
  gboolean time_major;      /* the D values of one row are contiguous */
  int64_t row, row_end;     /* next row to deliver, end of the window */
  /* feature-major: rows [block_t0, block_t0 + block_n) of every feature,
   * value (t, d) at block[(d * block_n + t - block_t0) * item_size] */
  unsigned char *block;
  int64_t block_t0, block_n, block_cap;
  int64_t pos;              /* data offset the stream is at; -1 unknown */
} NpyDecoder;

static gboolean
check_size (NpyDecoder *d, const char *path, GError **error)
{
  if (d->T > 0 && (int64_t) d->D > G_MAXINT64 / 8 / d->T)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                   "%s: shape (%" G_GINT64_FORMAT ", %d) is too large", path, d->T, d->D);
      return FALSE;
    }
  int64_t need = d->T * d->D * d->h.item_size;
  if (fseeko (d->fp, 0, SEEK_END) != 0)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_OPEN, "%s: cannot seek: %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  int64_t have = (int64_t) ftello (d->fp) - d->h.data_offset;
  if (have < need)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                   "%s: truncated data: shape (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                   ") needs %" G_GINT64_FORMAT " bytes after the header, the file has %"
                   G_GINT64_FORMAT, path, d->h.shape[0], d->h.shape[1], need,
                   have < 0 ? (int64_t) 0 : have);
      return FALSE;
    }
  return TRUE;
}

static gboolean
npy_init (SpStage *st, GError **error)
{
  NpyDecoder *d = st->priv;
  const char *path = st->input->path;

  /* a FIFO or a device is refused before anything could block on it */
  int fd = spm_file_open_regular (path, error);
  if (fd < 0)
    return FALSE;
  d->fp = fdopen (fd, "rb");
  if (d->fp == NULL)
    {
      int e = errno;
      close (fd);
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_OPEN, "%s: cannot open: %s",
                   path, g_strerror (e));
      return FALSE;
    }
  if (!spm_npy_header_read (d->fp, path, &d->h, error))
    return FALSE;
  if (d->h.ndim != 2)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                   "%s: expected a 2-D array %s, got %d dimension%s", path,
                   d->transpose ? "(D, T)" : "(T, D)", d->h.ndim, d->h.ndim == 1 ? "" : "s");
      return FALSE;
    }
  int64_t dim = d->transpose ? d->h.shape[0] : d->h.shape[1];
  d->T = d->transpose ? d->h.shape[1] : d->h.shape[0];
  if (dim < 1 || dim > G_MAXINT / 8)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                   "%s: feature size D = %" G_GINT64_FORMAT " is out of range", path, dim);
      return FALSE;
    }
  d->D = (int) dim;
  d->time_major = d->h.fortran_order == d->transpose;
  if (!check_size (d, path, error))
    return FALSE;

  double fps = st->decoder->fps;
  d->row = sp_first_frame_at (fps, st->input->start, d->T);
  d->row_end = st->input->end >= 0 ? sp_first_frame_at (fps, st->input->end, d->T) : d->T;
  if (d->row_end < d->row)
    d->row_end = d->row;

  int64_t row_bytes = (int64_t) d->D * d->h.item_size;
  d->block_cap = d->time_major ? 1 : MAX (1, NPY_BLOCK_BYTES / row_bytes);
  d->block = g_malloc ((size_t) (d->block_cap * row_bytes));
  d->block_n = 0;
  d->pos = -1;

  sp_stage_set_feature_dim (st, d->D);
  sp_stage_set_expected_frames (st, d->row_end - d->row);
  return TRUE;
}

/* one stored value -> float, converting byte order and precision */
static inline float
load_value (const unsigned char *p, int item_size, gboolean big_endian)
{
  gboolean swap = big_endian != (G_BYTE_ORDER == G_BIG_ENDIAN);
  if (item_size == 4)
    {
      guint32 u;
      float f;
      memcpy (&u, p, 4);
      if (swap)
        u = GUINT32_SWAP_LE_BE (u);
      memcpy (&f, &u, 4);
      return f;
    }
  guint64 u;
  double v;
  memcpy (&u, p, 8);
  if (swap)
    u = GUINT64_SWAP_LE_BE (u);
  memcpy (&v, &u, 8);
  return (float) v;
}

/* n bytes at `offset` into the data; sequential reads skip the seek, which would
 * drop stdio's buffer */
static gboolean
read_at (NpyDecoder *d, int64_t offset, void *buf, size_t n, const char *path,
         GError **error)
{
  gboolean seek_ok = offset == d->pos
                     || fseeko (d->fp, d->h.data_offset + offset, SEEK_SET) == 0;
  d->pos = -1;
  if (!seek_ok || fread (buf, 1, n, d->fp) != n)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                   "%s: truncated data: cannot read %zu bytes at data offset %" G_GINT64_FORMAT,
                   path, n, offset);
      return FALSE;
    }
  d->pos = offset + (int64_t) n;
  return TRUE;
}

/* feature-major: rows [t0, t0 + n) of every feature d sit at (d * T + t0) items */
static gboolean
load_block (NpyDecoder *d, int64_t t0, const char *path, GError **error)
{
  int isz = d->h.item_size;
  int64_t n = MIN (d->block_cap, d->row_end - t0);
  for (int f = 0; f < d->D; f++)
    if (!read_at (d, ((int64_t) f * d->T + t0) * isz, d->block + (size_t) f * n * isz,
                  (size_t) (n * isz), path, error))
      return FALSE;
  d->block_t0 = t0;
  d->block_n = n;
  return TRUE;
}

static SpDecodeStatus
npy_decode (SpStage *st, SpFrame *frame, GError **error)
{
  NpyDecoder *d = st->priv;
  const char *path = st->input->path;
  int isz = d->h.item_size;

  if (d->row >= d->row_end)
    return SP_DECODE_EOF;
  if (frame->features == NULL || frame->feature_dim != d->D)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                   "%s: the host handed a frame without room for %d features", path, d->D);
      return SP_DECODE_ERROR;
    }

  int64_t t = d->row;
  if (d->time_major)
    {
      if (!read_at (d, t * d->D * isz, d->block, (size_t) d->D * isz, path, error))
        return SP_DECODE_ERROR;
      for (int f = 0; f < d->D; f++)
        frame->features[f] = load_value (d->block + (size_t) f * isz, isz, d->h.big_endian);
    }
  else
    {
      if (d->block_n == 0 || t >= d->block_t0 + d->block_n)
        if (!load_block (d, t, path, error))
          return SP_DECODE_ERROR;
      const unsigned char *col = d->block + (size_t) (t - d->block_t0) * isz;
      for (int f = 0; f < d->D; f++)
        frame->features[f] = load_value (col + (size_t) f * d->block_n * isz, isz,
                                         d->h.big_endian);
    }
  frame->index = t;
  frame->time = sp_frame_time (st->decoder->fps, t);
  d->row++;
  return SP_DECODE_FRAME;
}

static void
npy_finalize (SpStage *st)
{
  NpyDecoder *d = st->priv;
  if (d->fp != NULL)
    fclose (d->fp);
  g_free (d->block);
}

static const SpKey npy_keys[] = {
  { "transpose", SP_KEY_BOOL, G_STRUCT_OFFSET (NpyDecoder, transpose), "false", 0, 0, NULL,
    "the array is (D, T), features by frames as in MS-TCN feature files, instead of (T, D)" },
  SP_KEY_END
};

static const char *const npy_extensions[] = { "npy", NULL };

const SpStageClass sp_npy_decoder_class = {
  .name = "npy",
  .kind = SP_STAGE_DECODER,
  .description = "per-frame features from a (T, D) float32/float64 NumPy .npy file",
  .keys = npy_keys,
  .priv_size = sizeof (NpyDecoder),
  .extensions = npy_extensions,
  .init = npy_init,
  .decode = npy_decode,
  .finalize = npy_finalize,
};

SP_PLUGIN_DEFINE ("npy", "0.1.0", "NumPy .npy feature arrays", "MIT", &sp_npy_decoder_class);
