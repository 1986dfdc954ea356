/* canvas.h — an RGB24 image to draw the timeline on: filled rectangles, scaled
 * copies of frames, text in stb_easy_font's bitmap font, label colours, PNG out. */
#ifndef SP_SINK_CANVAS_H
#define SP_SINK_CANVAS_H

#include <glib.h>

#include "out.h"

typedef struct {
  int w, h;
  guint8 *px;            /* h rows of w*3 bytes */
} SpCanvas;

void sp_canvas_init (SpCanvas *c, int w, int h, const guint8 bg[3]);
void sp_canvas_clear (SpCanvas *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SpCanvas, sp_canvas_clear)
/* fills [x0, x1) x [y0, y1), clipped to the canvas */
void sp_canvas_fill (SpCanvas *c, int x0, int y0, int x1, int y1, const guint8 rgb[3]);
/* copies an RGB24 image of w x h with its top-left corner at (x, y), clipped */
void sp_canvas_blit (SpCanvas *c, int x, int y, const guint8 *rgb, int w, int h);

/* text: top-left at (x, y), every font pixel drawn as scale x scale; characters
 * outside printable ASCII are drawn as '?' */
void sp_canvas_text (SpCanvas *c, int x, int y, int scale, const char *text,
                     const guint8 rgb[3]);
int sp_text_width (const char *text, int scale);
/* whether the font draws text as it is (printable ASCII); other text is drawn
 * transliterated (é as e), with '?' where that fails */
gboolean sp_text_exact (const char *text);
int sp_text_height (int scale);

/* Area resampling of src (sw x sh) to dst (dw x dh): each destination pixel is the
 * mean of the source rectangle it covers, [floor(i*S/D), floor((i+1)*S/D)) per
 * axis, widened to one pixel when upscaling. */
void sp_resample_rgb (const guint8 *src, int sw, int sh, guint8 *dst, int dw, int dh);

/* the colour of label i: a fixed palette, then golden-angle hues */
void sp_label_colour (int label, guint8 rgb[3]);

gboolean sp_canvas_write_png (const SpCanvas *c, SpOut *out, GError **error);

#endif
