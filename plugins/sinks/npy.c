/* npy.c — the `npy` sink: the features of each input as a (T, D) float32 array in
 * NumPy's .npy format v1.0 ('<f4', C order), and beside it <file>.frames.csv with
 * `frame,time` for each of the T rows.
 *
 * The header is a fixed HEADER_SIZE bytes: magic "\x93NUMPY", version 1.0, a
 * little-endian uint16 length, then the dict padded with spaces and ending in '\n'
 * (a multiple of 64 bytes, as NumPy aligns it).  T is unknown until the input ends,
 * so the header is written first with T = 0 and rewritten in place at flush. */
#include <seqpipe/plugin.h>

#include <string.h>

#include "fields.h"
#include "spm-npy.h"
#include "out.h"
#include "sinks.h"

#define HEADER_SIZE 128

typedef struct {
  SpOut out;
  SpOut frames;
  gint64 T;
  int D;
  GString *line;
  float *swap;          /* big-endian hosts: one row in little-endian order */
} NpyPriv;

/* the HEADER_SIZE bytes of a (T, D) '<f4' array: any T and D that fit in gint64 and
 * int give a dict of at most 86 bytes, so it always fits */
static void
npy_header (char header[HEADER_SIZE], gint64 T, int D)
{
  gboolean fits = spm_npy_header_v1 (header, HEADER_SIZE, "<f4", T, D);
  g_assert (fits);
}

static gboolean
npy_init (SpStage *st, GError **error)
{
  NpyPriv *p = st->priv;
  char header[HEADER_SIZE];
  p->line = g_string_sized_new (64);
  p->D = st->feature_dim;
  const char *frames_path = sp_stage_output_path_aux (st, ".frames.csv", error);
  if (frames_path == NULL)
    return FALSE;
  if (!sp_out_open (&p->out, st->output_path, error)
      || !sp_out_open (&p->frames, frames_path, error))
    return FALSE;
  npy_header (header, 0, p->D);
  g_string_append (p->line, "frame,time\n");
  return sp_out_write (&p->out, header, HEADER_SIZE, error)
         && sp_out_gstring (&p->frames, p->line, error);
}

/* one row per delivered frame, whatever the head */
static gboolean
npy_frame (SpStage *st, const SpFrame *f, GError **error)
{
  NpyPriv *p = st->priv;
  int dim = f->feature_dim > 0 ? f->feature_dim : st->feature_dim;
  if (f->features == NULL || dim <= 0) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                 "%s: frame %" G_GINT64_FORMAT ": no features to write",
                 sp_sink_input (st), f->index);
    return FALSE;
  }
  if (p->T == 0 && p->D <= 0)
    p->D = dim;
  if (dim != p->D) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                 "%s: frame %" G_GINT64_FORMAT ": %d features where the rows before had %d",
                 sp_sink_input (st), f->index, dim, p->D);
    return FALSE;
  }
  const float *row = f->features;
#if G_BYTE_ORDER == G_BIG_ENDIAN
  if (p->swap == NULL)
    p->swap = g_new (float, p->D);
  for (int k = 0; k < p->D; k++) {
    guint32 u;
    memcpy (&u, &f->features[k], 4);
    u = GUINT32_SWAP_LE_BE (u);
    memcpy (&p->swap[k], &u, 4);
  }
  row = p->swap;
#endif
  if (!sp_out_write (&p->out, row, sizeof (float) * (size_t) p->D, error))
    return FALSE;
  p->T++;
  g_string_append_printf (p->line, "%" G_GINT64_FORMAT ",", f->index);
  sp_append_fixed (p->line, f->time);
  g_string_append_c (p->line, '\n');
  return sp_out_gstring (&p->frames, p->line, error);
}

static gboolean
npy_flush (SpStage *st, GError **error)
{
  NpyPriv *p = st->priv;
  char header[HEADER_SIZE];
  npy_header (header, p->T, MAX (p->D, 0));
  return sp_out_seek (&p->out, 0, error)
         && sp_out_write (&p->out, header, HEADER_SIZE, error)
         && sp_out_close (&p->out, error)
         && sp_out_close (&p->frames, error);
}

static void
npy_finalize (SpStage *st)
{
  NpyPriv *p = st->priv;
  sp_out_abandon (&p->out);
  sp_out_abandon (&p->frames);
  g_free (p->swap);
  if (p->line != NULL)
    g_string_free (p->line, TRUE);
}

const SpStageClass sp_sink_npy = {
  .name = "npy",
  .kind = SP_STAGE_SINK,
  .description = "features of each input as a (T, D) float32 .npy, and <file>.frames.csv "
                 "with frame,time",
  .priv_size = sizeof (NpyPriv),
  .init = npy_init,
  .frame = npy_frame,
  .flush = npy_flush,
  .finalize = npy_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_TAKES_FRAMES,
};
