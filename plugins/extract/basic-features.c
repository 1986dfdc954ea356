/* basic-features.c — the blocks of the `basic` feature vector (layout in basic-features.h). */
#include "basic-features.h"

#include <math.h>
#include <string.h>

void
sp_basic_offsets (const SpBasicLayout *l, SpBasicOffsets *o)
{
  int g2 = l->grid * l->grid;
  o->thumb = 0;
  o->hue = o->thumb + 3 * l->thumb * l->thumb;
  o->luma = o->hue + l->hue_bins;
  o->sat = o->luma + l->luma_bins;
  o->edge_mean = o->sat + l->sat_bins;
  o->edge_std = o->edge_mean + g2;
  o->orient = o->edge_std + g2;
  o->global = o->orient + l->orient_bins;
  o->motion = o->global + 2;
  o->motion_all = o->motion + g2;
  o->dim = o->motion_all + 1;
}

void
sp_basic_scratch_clear (SpBasicScratch *s)
{
  g_free (s->y);
  g_free (s->diff);
  g_free (s->mag);
  g_free (s->prev_y);
  g_free (s->orient_cos);
  g_free (s->orient_sin);
  memset (s, 0, sizeof *s);
}

void
sp_basic_scratch_resize (SpBasicScratch *s, const SpBasicLayout *l, int w, int h)
{
  if (s->w == w && s->h == h && s->y != NULL)
    return;
  sp_basic_scratch_clear (s);
  size_t n = (size_t) w * (size_t) h;
  s->w = w;
  s->h = h;
  s->y = g_new (float, n);
  s->diff = g_new (float, n);
  s->mag = g_new (float, n);
  s->prev_y = g_new (float, n);
  s->have_prev = FALSE;
  /* boundary k (1..bins-1) of the orientation histogram is the direction k*pi/bins */
  s->orient_cos = g_new (float, l->orient_bins);
  s->orient_sin = g_new (float, l->orient_bins);
  for (int k = 0; k < l->orient_bins; k++) {
    s->orient_cos[k] = (float) cos (k * G_PI / l->orient_bins);
    s->orient_sin[k] = (float) sin (k * G_PI / l->orient_bins);
  }
}

/* cell i of n along a side of `size` pixels: [*a, *b) */
static void
cell_range (int i, int n, int size, int *a, int *b)
{
  *a = (int) ((int64_t) i * size / n);
  *b = (int) ((int64_t) (i + 1) * size / n);
  if (*a > size - 1)
    *a = size - 1;
  if (*b <= *a)
    *b = *a + 1;
}

/* mean of plane p (w x h) over cell (ci, cj) of an n x n grid */
static double
cell_mean (const float *p, int w, int h, int n, int ci, int cj)
{
  int y0, y1, x0, x1;
  cell_range (ci, n, h, &y0, &y1);
  cell_range (cj, n, w, &x0, &x1);
  double sum = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      sum += p[(size_t) y * w + x];
  return sum / ((double) (y1 - y0) * (x1 - x0));
}

static float
clamp01 (float v)
{
  return v < 0.f ? 0.f : v > 1.f ? 1.f : v;
}

/* thumbnail: the mean colour of each thumb x thumb cell, summed as integers, then
 * taken to Y, Cb, Cr (the transform is linear, so the mean of the converted pixels
 * is the converted mean):
 *   Y  = (0.299 R + 0.587 G + 0.114 B) / 255
 *   Cb = (-0.168736 R - 0.331264 G + 0.5 B) / 255 + 0.5
 *   Cr = (0.5 R - 0.418688 G - 0.081312 B) / 255 + 0.5
 * with R, G, B the cell's mean r, g, b in 0..255; each clamped to [0, 1]. */
static void
thumb_block (const SpBasicLayout *l, const SpBasicScratch *s, const uint8_t *rgb,
             const SpBasicOffsets *o, float *out)
{
  int t = l->thumb, w = s->w;
  for (int i = 0; i < t; i++)
    for (int j = 0; j < t; j++) {
      int y0, y1, x0, x1;
      cell_range (i, t, s->h, &y0, &y1);
      cell_range (j, t, w, &x0, &x1);
      guint64 sum[3] = { 0, 0, 0 };
      for (int y = y0; y < y1; y++) {
        const uint8_t *p = rgb + ((size_t) y * w + x0) * 3;
        guint32 row[3] = { 0, 0, 0 };
        for (int x = x0; x < x1; x++, p += 3) {
          row[0] += p[0];
          row[1] += p[1];
          row[2] += p[2];
        }
        for (int c = 0; c < 3; c++)
          sum[c] += row[c];
      }
      double count = (double) (y1 - y0) * (x1 - x0);
      double R = sum[0] / count, G = sum[1] / count, B = sum[2] / count;
      double ycc[3] = {
        (0.299 * R + 0.587 * G + 0.114 * B) / 255.0,
        (-0.168736 * R - 0.331264 * G + 0.5 * B) / 255.0 + 0.5,
        (0.5 * R - 0.418688 * G - 0.081312 * B) / 255.0 + 0.5,
      };
      for (int c = 0; c < 3; c++)
        out[o->thumb + (c * t + i) * t + j] = clamp01 ((float) ycc[c]);
    }
}

/* Luma plane and colour histograms.  For r, g, b in 0..255 of each pixel:
 *   Y  = (0.299 r + 0.587 g + 0.114 b) / 255 (the plane edges and motion use)
 *   S  = (max - min) / max (0 when max = 0);  hue u in [0, 1) as in HSV
 * hue[k] += S * max(0, 1 - d(u*bins, k)), d = circular distance; then / sum S.
 * luma[floor(Y*bins)] and sat[floor(S*bins)] count pixels; then / w*h. */
static void
colour_block (const SpBasicLayout *l, SpBasicScratch *s, const uint8_t *rgb,
              const SpBasicOffsets *o, float *out)
{
  size_t n = (size_t) s->w * s->h;
  const int hb = l->hue_bins, lb = l->luma_bins, sb = l->sat_bins;
  double hue[64] = { 0 }, hue_total = 0;
  guint64 luma[64] = { 0 }, sat[64] = { 0 };

  for (size_t i = 0; i < n; i++) {
    int r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    float y = clamp01 ((0.299f * r + 0.587f * g + 0.114f * b) / 255.f);
    s->y[i] = y;
    luma[MIN (lb - 1, (int) (y * lb))]++;

    int mx = MAX (r, MAX (g, b)), mn = MIN (r, MIN (g, b)), d = mx - mn;
    if (d == 0) {
      sat[0]++;
      continue;
    }
    float sv = (float) d / (float) mx;
    sat[MIN (sb - 1, (int) (sv * sb))]++;
    float h6;   /* hue in sextants, [0, 6) */
    if (mx == r)
      h6 = (float) (g - b) / d;
    else if (mx == g)
      h6 = 2.f + (float) (b - r) / d;
    else
      h6 = 4.f + (float) (r - g) / d;
    if (h6 < 0)
      h6 += 6.f;
    float p = h6 * (float) hb / 6.f;   /* >= 0, so truncation is floor */
    int k0 = (int) p;
    float frac = p - (float) k0;
    if (k0 >= hb)
      k0 -= hb;
    int k1 = k0 + 1 == hb ? 0 : k0 + 1;
    hue[k0] += (1.f - frac) * sv;
    hue[k1] += frac * sv;
    hue_total += sv;
  }

  for (int k = 0; k < hb; k++)
    out[o->hue + k] = hue_total > 0 ? (float) (hue[k] / hue_total) : 0.f;
  for (int k = 0; k < lb; k++)
    out[o->luma + k] = (float) ((double) luma[k] / n);
  for (int k = 0; k < sb; k++)
    out[o->sat + k] = (float) ((double) sat[k] / n);
}

/* Sobel on Y with edges clamped:
 *   gx = [-1 0 1; -2 0 2; -1 0 1] * Y,  gy = [-1 -2 -1; 0 0 0; 1 2 1] * Y
 *   mag = min(1, sqrt(gx^2 + gy^2) / (4 sqrt 2))
 * orientation theta in [0, pi) of (gx, gy) folded into the upper half plane;
 * orient[k] += mag for theta in [k pi/bins, (k+1) pi/bins), then / sum mag. */
static void
edge_block (const SpBasicLayout *l, SpBasicScratch *s, const SpBasicOffsets *o, float *out)
{
  int w = s->w, h = s->h;
  const float *Y = s->y;
  const float scale = (float) (1.0 / (4.0 * G_SQRT2));
  double orient[64] = { 0 }, orient_total = 0;

  for (int y = 0; y < h; y++) {
    const float *up = Y + (size_t) MAX (y - 1, 0) * w;
    const float *mid = Y + (size_t) y * w;
    const float *dn = Y + (size_t) MIN (y + 1, h - 1) * w;
    for (int x = 0; x < w; x++) {
      int xl = MAX (x - 1, 0), xr = MIN (x + 1, w - 1);
      float gx = (up[xr] + 2.f * mid[xr] + dn[xr]) - (up[xl] + 2.f * mid[xl] + dn[xl]);
      float gy = (dn[xl] + 2.f * dn[x] + dn[xr]) - (up[xl] + 2.f * up[x] + up[xr]);
      float m = sqrtf (gx * gx + gy * gy) * scale;
      if (m > 1.f)
        m = 1.f;
      s->mag[(size_t) y * w + x] = m;
      if (m == 0.f)
        continue;
      if (gy < 0.f || (gy == 0.f && gx < 0.f)) {
        gx = -gx;
        gy = -gy;
      }
      /* theta >= k pi/bins  <=>  cos(k pi/bins) gy - sin(k pi/bins) gx >= 0 */
      int k = 0;
      while (k + 1 < l->orient_bins
             && s->orient_cos[k + 1] * gy - s->orient_sin[k + 1] * gx >= 0)
        k++;
      orient[k] += m;
      orient_total += m;
    }
  }
  for (int k = 0; k < l->orient_bins; k++)
    out[o->orient + k] = orient_total > 0 ? (float) (orient[k] / orient_total) : 0.f;

  /* per cell: mean and population std of mag (two passes) */
  int n = l->grid;
  for (int ci = 0; ci < n; ci++)
    for (int cj = 0; cj < n; cj++) {
      int y0, y1, x0, x1;
      cell_range (ci, n, h, &y0, &y1);
      cell_range (cj, n, w, &x0, &x1);
      double mean = cell_mean (s->mag, w, h, n, ci, cj), var = 0;
      for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
          double d = s->mag[(size_t) y * w + x] - mean;
          var += d * d;
        }
      var /= (double) (y1 - y0) * (x1 - x0);
      out[o->edge_mean + ci * n + cj] = (float) mean;
      out[o->edge_std + ci * n + cj] = (float) sqrt (var);
    }
}

/* global contrast: std of Y; p95 - p5 of Y quantised to 256 levels, / 255, where
 * pq = the smallest level whose cumulative count reaches q * w*h. */
static void
global_block (SpBasicScratch *s, const SpBasicOffsets *o, float *out)
{
  size_t n = (size_t) s->w * s->h;
  double sum = 0, var = 0;
  guint64 hist[256] = { 0 };
  for (size_t i = 0; i < n; i++) {
    sum += s->y[i];
    hist[(int) (s->y[i] * 255.f + 0.5f)]++;
  }
  double mean = sum / n;
  for (size_t i = 0; i < n; i++) {
    double d = s->y[i] - mean;
    var += d * d;
  }
  int p5 = -1, p95 = -1;
  guint64 cum = 0;
  for (int v = 0; v < 256; v++) {
    cum += hist[v];
    if (p5 < 0 && (double) cum >= 0.05 * n)
      p5 = v;
    if (p95 < 0 && (double) cum >= 0.95 * n)
      p95 = v;
  }
  out[o->global] = (float) sqrt (var / n);
  out[o->global + 1] = (float) (p95 - p5) / 255.f;
}

/* motion[c] = mean over cell c of |Y_t - Y_prev|; motion_all over the frame.
 * All 0 without a previous frame of the same size.  Then Y_prev := Y_t. */
static void
motion_block (const SpBasicLayout *l, SpBasicScratch *s, const SpBasicOffsets *o, float *out)
{
  int w = s->w, h = s->h, n = l->grid;
  size_t npx = (size_t) w * h;
  if (!s->have_prev) {
    memset (out + o->motion, 0, sizeof (float) * (size_t) (n * n + 1));
  } else {
    float *diff = s->diff;
    double all = 0;
    for (size_t i = 0; i < npx; i++) {
      diff[i] = fabsf (s->y[i] - s->prev_y[i]);
      all += diff[i];
    }
    for (int ci = 0; ci < n; ci++)
      for (int cj = 0; cj < n; cj++)
        out[o->motion + ci * n + cj] = (float) cell_mean (diff, w, h, n, ci, cj);
    out[o->motion_all] = (float) (all / npx);
  }
  memcpy (s->prev_y, s->y, sizeof (float) * npx);
  s->have_prev = TRUE;
}

void
sp_basic_compute (const SpBasicLayout *l, SpBasicScratch *s, const uint8_t *rgb, float *out)
{
  SpBasicOffsets o;
  sp_basic_offsets (l, &o);
  thumb_block (l, s, rgb, &o, out);
  colour_block (l, s, rgb, &o, out);
  edge_block (l, s, &o, out);
  global_block (s, &o, out);
  motion_block (l, s, &o, out);
}
