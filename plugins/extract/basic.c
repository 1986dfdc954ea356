/* basic.c — the default extractor: a fixed-size float vector per frame from its
 * spatial layout, colours, edges and motion (layout and ranges in basic-features.h and
 * README.md).  Deterministic: the same frames in the same order give the same bits. */
#include <seqpipe/plugin.h>

#include "extract.h"
#include "basic-features.h"

typedef struct {
  /* keys */
  gint64 thumb, grid, hue_bins, luma_bins, sat_bins, orient_bins;
  /* state */
  SpBasicLayout layout;
  int dim;
  SpBasicScratch scratch;
} BasicPriv;

static const SpKey basic_keys[] = {
  { "thumb", SP_KEY_INT, G_STRUCT_OFFSET (BasicPriv, thumb), "8", 1, 32, NULL,
    "side of the Y/Cb/Cr thumbnail (3*thumb^2 values)" },
  { "grid", SP_KEY_INT, G_STRUCT_OFFSET (BasicPriv, grid), "4", 1, 16, NULL,
    "side of the cell grid for edge and motion statistics (3*grid^2 values)" },
  { "hue-bins", SP_KEY_INT, G_STRUCT_OFFSET (BasicPriv, hue_bins), "12", 1, 64, NULL,
    "bins of the saturation-weighted hue histogram" },
  { "luma-bins", SP_KEY_INT, G_STRUCT_OFFSET (BasicPriv, luma_bins), "8", 1, 64, NULL,
    "bins of the luma histogram" },
  { "sat-bins", SP_KEY_INT, G_STRUCT_OFFSET (BasicPriv, sat_bins), "4", 1, 64, NULL,
    "bins of the saturation histogram" },
  { "orient-bins", SP_KEY_INT, G_STRUCT_OFFSET (BasicPriv, orient_bins), "8", 1, 64, NULL,
    "bins of the gradient orientation histogram over [0, pi)" },
  SP_KEY_END
};

static gboolean
basic_init (SpStage *st, GError **error)
{
  BasicPriv *p = st->priv;
  (void) error;
  p->layout = (SpBasicLayout) {
    .thumb = (int) p->thumb, .grid = (int) p->grid, .hue_bins = (int) p->hue_bins,
    .luma_bins = (int) p->luma_bins, .sat_bins = (int) p->sat_bins,
    .orient_bins = (int) p->orient_bins,
  };
  SpBasicOffsets o;
  sp_basic_offsets (&p->layout, &o);
  p->dim = o.dim;
  sp_stage_set_feature_dim (st, p->dim);
  return TRUE;
}

static gboolean
basic_process (SpStage *st, SpFrame *frame, GError **error)
{
  BasicPriv *p = st->priv;
  if (frame->rgb == NULL || frame->width <= 0 || frame->height <= 0) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                 "%s: frame %" G_GINT64_FORMAT ": the basic extractor needs pixels, "
                 "the frame has none", st->input ? st->input->path : "input", frame->index);
    return FALSE;
  }
  if (frame->features == NULL) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                 "%s: frame %" G_GINT64_FORMAT ": no feature buffer",
                 st->input ? st->input->path : "input", frame->index);
    return FALSE;
  }
  sp_basic_scratch_resize (&p->scratch, &p->layout, frame->width, frame->height);
  sp_basic_compute (&p->layout, &p->scratch, frame->rgb, frame->features);
  frame->feature_dim = p->dim;
  return TRUE;
}

static void
basic_finalize (SpStage *st)
{
  BasicPriv *p = st->priv;
  sp_basic_scratch_clear (&p->scratch);
}

const SpStageClass sp_extract_basic = {
  .name = "basic",
  .kind = SP_STAGE_EXTRACTOR,
  .description = "thumbnail, colour histograms, edge statistics and motion per frame "
                 "(275 floats with the default keys)",
  .keys = basic_keys,
  .priv_size = sizeof (BasicPriv),
  .init = basic_init,
  .process = basic_process,
  .finalize = basic_finalize,
};
