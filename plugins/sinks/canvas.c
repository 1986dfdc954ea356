/* canvas.c — drawing for the timeline sink (see canvas.h). */
#include "canvas.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <seqpipe/plugin.h>
#include <stb_image_write.h>

/* stb_easy_font is header-only with static functions, some of which we do not call */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

void
sp_canvas_init (SpCanvas *c, int w, int h, const guint8 bg[3])
{
  c->w = w;
  c->h = h;
  c->px = g_new (guint8, (size_t) w * h * 3);
  for (size_t i = 0; i < (size_t) w * h; i++)
    memcpy (c->px + 3 * i, bg, 3);
}

void
sp_canvas_clear (SpCanvas *c)
{
  g_clear_pointer (&c->px, g_free);
  c->w = c->h = 0;
}

void
sp_canvas_fill (SpCanvas *c, int x0, int y0, int x1, int y1, const guint8 rgb[3])
{
  x0 = CLAMP (x0, 0, c->w);
  x1 = CLAMP (x1, 0, c->w);
  y0 = CLAMP (y0, 0, c->h);
  y1 = CLAMP (y1, 0, c->h);
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      memcpy (c->px + ((size_t) y * c->w + x) * 3, rgb, 3);
}

void
sp_canvas_blit (SpCanvas *c, int x, int y, const guint8 *rgb, int w, int h)
{
  for (int j = 0; j < h; j++) {
    int cy = y + j;
    if (cy < 0 || cy >= c->h)
      continue;
    for (int i = 0; i < w; i++) {
      int cx = x + i;
      if (cx >= 0 && cx < c->w)
        memcpy (c->px + ((size_t) cy * c->w + cx) * 3, rgb + ((size_t) j * w + i) * 3, 3);
    }
  }
}

/* text limited to the characters the font has: UTF-8 transliterated to ASCII where
 * that keeps it readable (é -> e, ß -> ss, Ø -> O), '?' for the rest */
static char *
printable (const char *text)
{
  char *s = g_utf8_validate (text, -1, NULL) ? g_str_to_ascii (text, "C") : g_strdup (text);
  for (char *p = s; *p; p++)
    if ((unsigned char) *p < 32 || (unsigned char) *p > 126)
      *p = '?';
  return s;
}

gboolean
sp_text_exact (const char *text)
{
  for (const char *p = text; *p; p++)
    if ((unsigned char) *p < 32 || (unsigned char) *p > 126)
      return FALSE;
  return TRUE;
}

int
sp_text_width (const char *text, int scale)
{
  g_autofree char *s = printable (text);
  return stb_easy_font_width (s) * scale;
}

int
sp_text_height (int scale)
{
  return 10 * scale;   /* the font's glyphs stay within 10 rows from the top */
}

void
sp_canvas_text (SpCanvas *c, int x, int y, int scale, const char *text, const guint8 rgb[3])
{
  g_autofree char *s = printable (text);
  /* each quad is 4 vertices of 16 bytes (x, y, z floats and 4 colour bytes); no glyph
   * has more than a dozen strokes, so 1 KiB per character always suffices */
  size_t size = strlen (s) * 1024 + 64;
  if (size > INT32_MAX)
    return;
  g_autofree char *vbuf = g_malloc (size);
  int quads = stb_easy_font_print (0, 0, s, NULL, vbuf, (int) size);
  for (int q = 0; q < quads; q++) {
    float v[4][2];
    for (int k = 0; k < 4; k++)
      memcpy (v[k], vbuf + (size_t) (q * 4 + k) * 16, sizeof v[k]);
    float x0 = MIN (MIN (v[0][0], v[1][0]), MIN (v[2][0], v[3][0]));
    float x1 = MAX (MAX (v[0][0], v[1][0]), MAX (v[2][0], v[3][0]));
    float y0 = MIN (MIN (v[0][1], v[1][1]), MIN (v[2][1], v[3][1]));
    float y1 = MAX (MAX (v[0][1], v[1][1]), MAX (v[2][1], v[3][1]));
    sp_canvas_fill (c, x + (int) lrintf (x0 * scale), y + (int) lrintf (y0 * scale),
                    x + (int) lrintf (x1 * scale), y + (int) lrintf (y1 * scale), rgb);
  }
}

static void
src_range (int i, int d, int s, int *a, int *b)
{
  *a = (int) ((gint64) i * s / d);
  *b = (int) ((gint64) (i + 1) * s / d);
  if (*a > s - 1)
    *a = s - 1;
  if (*b <= *a)
    *b = *a + 1;
}

void
sp_resample_rgb (const guint8 *src, int sw, int sh, guint8 *dst, int dw, int dh)
{
  for (int j = 0; j < dh; j++) {
    int y0, y1;
    src_range (j, dh, sh, &y0, &y1);
    for (int i = 0; i < dw; i++) {
      int x0, x1;
      src_range (i, dw, sw, &x0, &x1);
      guint32 sum[3] = { 0, 0, 0 };
      for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
          for (int k = 0; k < 3; k++)
            sum[k] += src[((size_t) y * sw + x) * 3 + k];
      guint32 n = (guint32) ((y1 - y0) * (x1 - x0));
      for (int k = 0; k < 3; k++)
        dst[((size_t) j * dw + i) * 3 + k] = (guint8) ((sum[k] + n / 2) / n);
    }
  }
}

void
sp_label_colour (int label, guint8 rgb[3])
{
  static const guint8 palette[][3] = {
    { 0x1f, 0x77, 0xb4 }, { 0xff, 0x7f, 0x0e }, { 0x2c, 0xa0, 0x2c }, { 0xd6, 0x27, 0x28 },
    { 0x94, 0x67, 0xbd }, { 0x8c, 0x56, 0x4b }, { 0xe3, 0x77, 0xc2 }, { 0x7f, 0x7f, 0x7f },
    { 0xbc, 0xbd, 0x22 }, { 0x17, 0xbe, 0xcf }, { 0x00, 0x3f, 0x5c }, { 0xff, 0xd9, 0x2f },
  };
  const int n = G_N_ELEMENTS (palette);
  if (label >= 0 && label < n) {
    memcpy (rgb, palette[label], 3);
    return;
  }
  /* HSV with h = frac(label * 0.618034), s = 0.6, v = 0.85 */
  double h = fmod ((label < 0 ? 0 : label) * 0.6180339887, 1.0) * 6.0, s = 0.6, v = 0.85;
  int sector = (int) h % 6;
  double f = h - floor (h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;
  switch (sector) {
  case 0: r = v; g = t; b = p; break;
  case 1: r = q; g = v; b = p; break;
  case 2: r = p; g = v; b = t; break;
  case 3: r = p; g = q; b = v; break;
  case 4: r = t; g = p; b = v; break;
  default: r = v; g = p; b = q;
  }
  rgb[0] = (guint8) lrint (r * 255);
  rgb[1] = (guint8) lrint (g * 255);
  rgb[2] = (guint8) lrint (b * 255);
}

typedef struct {
  SpOut *out;
  GError *error;
} PngSink;

static void
png_chunk (void *ctx, void *data, int size)
{
  PngSink *s = ctx;
  if (s->error == NULL && size > 0)
    sp_out_write (s->out, data, (size_t) size, &s->error);
}

gboolean
sp_canvas_write_png (const SpCanvas *c, SpOut *out, GError **error)
{
  PngSink sink = { out, NULL };
  if (!stbi_write_png_to_func (png_chunk, &sink, c->w, c->h, 3, c->px, c->w * 3)) {
    if (sink.error == NULL)
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: cannot encode the PNG",
                   out->path);
    else
      g_propagate_error (error, sink.error);
    return FALSE;
  }
  if (sink.error != NULL) {
    g_propagate_error (error, sink.error);
    return FALSE;
  }
  return TRUE;
}
