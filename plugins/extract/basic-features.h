/* basic-features.h — the blocks of the `basic` extractor's feature vector, as plain
 * functions over one RGB24 frame.  The stage (basic.c) owns the scratch state; this
 * file only computes.
 *
 * Layout of the vector for the default keys (thumb 8, grid 4, hue-bins 12,
 * luma-bins 8, sat-bins 4, orient-bins 8), dimension 275; with other keys every block
 * keeps its place and changes its size as written:
 *
 *   offset size          block                                             range
 *   0      3*thumb^2=192 thumbnail: Y plane, then Cb, then Cr, each
 *                        thumb x thumb row-major area means (BT.601 full
 *                        range, Cb/Cr offset by 0.5)                       [0, 1]
 *   192    hue-bins=12   hue histogram, each pixel weighted by its HSV
 *                        saturation, linear (soft) binning between bin
 *                        centres k/hue-bins on the hue circle; sums to 1
 *                        (all 0 for a frame without any saturated pixel)   [0, 1]
 *   204    luma-bins=8   luma histogram, fraction of pixels; sums to 1     [0, 1]
 *   212    sat-bins=4    saturation histogram, fraction of pixels; sums 1  [0, 1]
 *   216    grid^2=16     Sobel gradient magnitude, mean per grid cell,
 *                        magnitude scaled by 1/(4*sqrt 2)                  [0, 1]
 *   232    grid^2=16     Sobel gradient magnitude, std per grid cell       [0, 0.5]
 *   248    orient-bins=8 unsigned gradient orientation histogram over
 *                        [0, pi), weighted by magnitude; sums to 1 (all 0
 *                        for a flat frame)                                 [0, 1]
 *   256    2             luma standard deviation; luma p95 - p5            [0, 0.5]; [0, 1]
 *   258    grid^2=16     motion: mean |Y_t - Y_prev| per grid cell against
 *                        the previous frame of the input (0 for the first) [0, 1]
 *   274    1             motion: mean |Y_t - Y_prev| over the frame        [0, 1]
 *
 * Grid cells and thumbnail cells partition the frame: cell i of n along a side of
 * S pixels covers [floor(i*S/n), floor((i+1)*S/n)), widened to one pixel when S < n.
 * Every sum runs in a fixed order in double precision, so a frame always gives the
 * same bits.
 */
#ifndef SP_BASIC_FEATURES_H
#define SP_BASIC_FEATURES_H

#include <glib.h>
#include <stdint.h>

typedef struct {
  int thumb, grid, hue_bins, luma_bins, sat_bins, orient_bins;
} SpBasicLayout;

/* offsets of each block inside the vector, and the total dimension */
typedef struct {
  int thumb, hue, luma, sat, edge_mean, edge_std, orient, global, motion, motion_all, dim;
} SpBasicOffsets;

void sp_basic_offsets (const SpBasicLayout *l, SpBasicOffsets *o);

/* Per-frame planes, w*h floats each, row-major. */
typedef struct {
  int w, h;
  float *y;             /* luma in [0, 1] */
  float *diff;          /* |Y - prev_y| */
  float *mag;           /* scaled Sobel magnitude in [0, 1] */
  float *prev_y;        /* luma of the previous frame, valid when have_prev */
  gboolean have_prev;
  float *orient_cos, *orient_sin;    /* orient-bins boundary directions k*pi/bins */
} SpBasicScratch;

/* (Re)allocates the planes for w x h (clearing have_prev when the size changes). */
void sp_basic_scratch_resize (SpBasicScratch *s, const SpBasicLayout *l, int w, int h);
void sp_basic_scratch_clear (SpBasicScratch *s);

/* rgb: h x w x 3 bytes -> out[o.dim]; updates s->prev_y for the next call. */
void sp_basic_compute (const SpBasicLayout *l, SpBasicScratch *s, const uint8_t *rgb,
                       float *out);

#endif
