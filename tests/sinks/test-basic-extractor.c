/* test-extract.c — the `basic` extractor through the harness: dimension, ranges,
 * determinism, motion, separation of unlike frames, a golden checksum, speed. */
#include "helpers.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* block offsets of the default layout (plugins/extract/basic-features.h) */
enum { THUMB = 0, HUE = 192, LUMA = 204, SAT = 212, EDGE_MEAN = 216, EDGE_STD = 232,
       ORIENT = 248, GLOBAL = 256, MOTION = 258, MOTION_ALL = 274, DIM = 275 };

#define W 48
#define H 32

typedef void (*Paint) (uint8_t *rgb, int w, int h, int arg);

static SpHarness *
extractor_new (const char *const *keys, int w, int h)
{
  GError *error = NULL;
  SpDecoderParams dec = { 10.0, w, h, 0 };
  SpHarness *hs = sp_harness_new (SP_EXTRACT_DIR, "basic", keys, NULL, &dec, &error);
  g_assert_no_error (error);
  g_assert_true (sp_harness_init (hs, &error));
  g_assert_no_error (error);
  return hs;
}

/* paints a frame of the harness with paint(arg), extracts; out[DIM] */
static void
extract (SpHarness *hs, Paint paint, int arg, float *out, int dim)
{
  GError *error = NULL;
  SpFrame *f = sp_harness_frame (hs);
  paint (f->rgb, f->width, f->height, arg);
  g_assert_true (sp_harness_process (hs, f, &error));
  g_assert_no_error (error);
  g_assert_cmpint (f->feature_dim, ==, dim);
  memcpy (out, f->features, sizeof (float) * (size_t) dim);
}

static void
paint_solid (uint8_t *rgb, int w, int h, int packed)
{
  for (int i = 0; i < w * h; i++) {
    rgb[3 * i] = (uint8_t) (packed >> 16);
    rgb[3 * i + 1] = (uint8_t) (packed >> 8);
    rgb[3 * i + 2] = (uint8_t) packed;
  }
}

/* a fixed scene: diagonal ramps, a disc and a bar, moved right by `shift` pixels */
static void
paint_scene (uint8_t *rgb, int w, int h, int shift)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int sx = x - shift, i = 3 * (y * w + x);
      int dx = sx - w / 3, dy = y - h / 2;
      gboolean disc = dx * dx + dy * dy < (h / 4) * (h / 4);
      gboolean bar = sx > 2 * w / 3 && sx < 2 * w / 3 + 4;
      rgb[i] = (uint8_t) (disc ? 230 : (sx * 5 + y * 3) & 255);
      rgb[i + 1] = (uint8_t) (bar ? 250 : (sx * y) & 255);
      rgb[i + 2] = (uint8_t) (disc ? 40 : 255 - ((y * 7) & 255));
    }
}

/* uniform noise from a 32-bit LCG seeded with seed */
static void
paint_noise (uint8_t *rgb, int w, int h, int seed)
{
  guint32 s = (guint32) seed * 2654435761u + 1u;
  for (int i = 0; i < w * h * 3; i++) {
    s = s * 1664525u + 1013904223u;
    rgb[i] = (uint8_t) (s >> 24);
  }
}

static void
test_dim (void)
{
  g_autoptr (SpHarness) a = extractor_new (NULL, W, H);
  g_assert_cmpint (sp_stage_output_dim (sp_harness_stage (a)), ==, DIM);
  /* 3*4^2 + 12+8+4 + 2*2^2 + 8 + 2 + 2^2+1 */
  const char *keys[] = { "thumb=4", "grid=2", NULL };
  g_autoptr (SpHarness) b = extractor_new (keys, W, H);
  g_assert_cmpint (sp_stage_output_dim (sp_harness_stage (b)), ==, 48 + 24 + 8 + 8 + 2 + 5);

  GError *error = NULL;
  const char *bad[] = { "thumb=0", NULL };
  SpHarness *c = sp_harness_new (SP_EXTRACT_DIR, "basic", bad, NULL, NULL, &error);
  g_assert_null (c);
  g_assert_nonnull (error);
  g_test_message ("thumb=0: %s", error->message);
  g_error_free (error);
}

static double
block_sum (const float *v, int off, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += v[off + i];
  return s;
}

static void
check_range (const float *v, int off, int n, float lo, float hi)
{
  for (int i = off; i < off + n; i++) {
    if (!(v[i] >= lo && v[i] <= hi))
      g_error ("feature %d = %g outside [%g, %g]", i, v[i], lo, hi);
  }
}

static void
check_ranges (const float *v)
{
  check_range (v, THUMB, HUE - THUMB, 0, 1);
  check_range (v, HUE, LUMA - HUE, 0, 1);
  double hue = block_sum (v, HUE, 12);
  g_assert_true (fabs (hue - 1) < 1e-5 || hue == 0);
  check_range (v, LUMA, 8, 0, 1);
  g_assert_cmpfloat_with_epsilon (block_sum (v, LUMA, 8), 1.0, 1e-5);
  check_range (v, SAT, 4, 0, 1);
  g_assert_cmpfloat_with_epsilon (block_sum (v, SAT, 4), 1.0, 1e-5);
  check_range (v, EDGE_MEAN, 16, 0, 1);
  check_range (v, EDGE_STD, 16, 0, 0.5f);
  check_range (v, ORIENT, 8, 0, 1);
  double orient = block_sum (v, ORIENT, 8);
  g_assert_true (fabs (orient - 1) < 1e-5 || orient == 0);
  check_range (v, GLOBAL, 1, 0, 0.5f);
  check_range (v, GLOBAL + 1, 1, 0, 1);
  check_range (v, MOTION, 17, 0, 1);
}

static void
test_ranges (void)
{
  g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
  float v[DIM];
  /* a sequence of unlike frames, so motion sees large changes too */
  extract (hs, paint_noise, 1, v, DIM);
  check_ranges (v);
  extract (hs, paint_solid, 0xffffff, v, DIM);
  check_ranges (v);
  g_assert_cmpfloat (v[MOTION_ALL], >, 0.3);
  extract (hs, paint_solid, 0x000000, v, DIM);
  check_ranges (v);
  g_assert_cmpfloat (v[MOTION_ALL], ==, 1.0);
  extract (hs, paint_scene, 0, v, DIM);
  check_ranges (v);
  extract (hs, paint_noise, 2, v, DIM);
  check_ranges (v);
}

/* mid grey: every block has a value that follows from its definition */
static void
test_grey (void)
{
  g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
  float v[DIM];
  extract (hs, paint_solid, 0x808080, v, DIM);
  for (int i = 0; i < 64; i++) {
    g_assert_cmpfloat_with_epsilon (v[THUMB + i], 128 / 255.0, 1e-6);
    g_assert_cmpfloat_with_epsilon (v[THUMB + 64 + i], 0.5, 1e-6);
    g_assert_cmpfloat_with_epsilon (v[THUMB + 128 + i], 0.5, 1e-6);
  }
  g_assert_cmpfloat (block_sum (v, HUE, 12), ==, 0);
  g_assert_cmpfloat (v[LUMA + 4], ==, 1);     /* 128/255 * 8 = 4.02 */
  g_assert_cmpfloat (v[SAT + 0], ==, 1);
  g_assert_cmpfloat (block_sum (v, EDGE_MEAN, 16 + 16 + 8), ==, 0);
  g_assert_cmpfloat (v[GLOBAL], ==, 0);
  g_assert_cmpfloat (v[GLOBAL + 1], ==, 0);
  g_assert_cmpfloat (block_sum (v, MOTION, 17), ==, 0);

  /* pure red, green and blue fall on hue bins 0, 4 and 8 */
  const int colours[3] = { 0xff0000, 0x00ff00, 0x0000ff };
  for (int c = 0; c < 3; c++) {
    extract (hs, paint_solid, colours[c], v, DIM);
    g_assert_cmpfloat (v[HUE + 4 * c], ==, 1);
    g_assert_cmpfloat (v[SAT + 3], ==, 1);
  }
}

static void
test_determinism (void)
{
  float a[DIM], b[DIM], c[DIM];
  g_autoptr (SpHarness) h1 = extractor_new (NULL, W, H);
  g_autoptr (SpHarness) h2 = extractor_new (NULL, W, H);
  extract (h1, paint_scene, 3, a, DIM);
  extract (h2, paint_scene, 3, b, DIM);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  /* the same frame again: everything but motion is bit-identical, motion is 0 */
  extract (h1, paint_scene, 3, c, DIM);
  g_assert_cmpmem (a, sizeof (float) * MOTION, c, sizeof (float) * MOTION);
  g_assert_cmpfloat (block_sum (c, MOTION, 17), ==, 0);
}

static void
test_motion (void)
{
  g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
  float a[DIM], b[DIM];
  extract (hs, paint_scene, 0, a, DIM);
  g_assert_cmpfloat (block_sum (a, MOTION, 17), ==, 0);    /* first frame */
  extract (hs, paint_scene, 4, b, DIM);
  g_assert_cmpfloat (b[MOTION_ALL], >, 0.01);
  int moving = 0;
  for (int i = 0; i < 16; i++)
    moving += b[MOTION + i] > 0;
  g_assert_cmpint (moving, >=, 8);
  /* motion_all is the mean of the cells when they are equal in size (48x32 / 4) */
  g_assert_cmpfloat_with_epsilon (block_sum (b, MOTION, 16) / 16, b[MOTION_ALL], 1e-6);
}

static double
distance (const float *a, const float *b)
{
  double s = 0;
  for (int i = 0; i < DIM; i++)
    s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
  return sqrt (s);
}

static void
test_separates (void)
{
  float v[4][DIM];
  const int colours[3] = { 0xff0000, 0x00ff00, 0x0000ff };
  for (int c = 0; c < 4; c++) {
    g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
    if (c < 3)
      extract (hs, paint_solid, colours[c], v[c], DIM);
    else
      extract (hs, paint_noise, 7, v[c], DIM);
  }
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++) {
      double d = distance (v[i], v[j]);
      g_test_message ("distance %d-%d = %.4f", i, j, d);
      g_assert_cmpfloat (d, >, 1.0);
    }
  /* two different noise frames are closer to each other than to any solid colour */
  float n2[DIM];
  g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
  extract (hs, paint_noise, 8, n2, DIM);
  double dn = distance (v[3], n2);
  g_test_message ("noise-noise distance = %.4f", dn);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat (dn, <, distance (v[c], n2));
}

/* FNV-1a 64 over the bytes of the vectors of two frames of the scene (the second
 * moved, so motion counts).  SEQPIPE_REGEN_GOLDEN=1 prints the value to paste. */
#define GOLDEN G_GUINT64_CONSTANT (0x728319528d8ebb51)
static void
test_golden (void)
{
  g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
  float v[2][DIM];
  extract (hs, paint_scene, 0, v[0], DIM);
  extract (hs, paint_scene, 2, v[1], DIM);
  guint64 hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  const guint8 *bytes = (const guint8 *) v;
  for (size_t i = 0; i < sizeof v; i++) {
    hash ^= bytes[i];
    hash *= G_GUINT64_CONSTANT (0x100000001b3);
  }
  if (g_getenv ("SEQPIPE_REGEN_GOLDEN")) {
    g_print ("#define GOLDEN G_GUINT64_CONSTANT (0x%016" G_GINT64_MODIFIER "x)\n", hash);
    return;
  }
  g_assert_cmphex (hash, ==, GOLDEN);
}

static void
test_no_pixels (void)
{
  g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
  GError *error = NULL;
  SpFrame *f = sp_harness_frame (hs);
  f->rgb = NULL;
  g_assert_false (sp_harness_process (hs, f, &error));
  g_assert_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT);
  g_error_free (error);
}

/* a frame of another size than the one before: no motion against it, and the next
 * frame of that size compares with it */
static void
test_size_change (void)
{
  g_autoptr (SpHarness) hs = extractor_new (NULL, W, H);
  GError *error = NULL;
  float v[DIM];
  extract (hs, paint_scene, 0, v, DIM);
  for (int k = 0; k < 2; k++) {
    SpFrame *f = sp_harness_frame (hs);     /* a smaller frame inside the pool's buffer */
    f->width = W / 2;
    f->height = H / 2;
    paint_noise (f->rgb, f->width, f->height, 3 + k);
    g_assert_true (sp_harness_process (hs, f, &error));
    g_assert_no_error (error);
    memcpy (v, f->features, sizeof v);
    check_ranges (v);
    if (k == 0)
      g_assert_cmpfloat (block_sum (v, MOTION, 17), ==, 0);
    else
      g_assert_cmpfloat (v[MOTION_ALL], >, 0.1);
  }
}

/* the default 64x64 frames must cost far less than decoding them */
static void
test_speed (void)
{
  g_autoptr (SpHarness) hs = extractor_new (NULL, 64, 64);
  float v[DIM];
  const int n = 500;
  struct timespec t0, t1;
  /* CPU time of this thread, so that other work on the machine does not count */
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t0);
  for (int i = 0; i < n; i++)
    extract (hs, paint_scene, i % 7, v, DIM);
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t1);
  double us = ((t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3) / n;
  g_test_message ("basic extractor, 64x64: %.1f us CPU per frame (painting included)", us);
  g_assert_cmpfloat (us, <, 2000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/extract/basic/dim", test_dim);
  g_test_add_func ("/extract/basic/ranges", test_ranges);
  g_test_add_func ("/extract/basic/grey", test_grey);
  g_test_add_func ("/extract/basic/determinism", test_determinism);
  g_test_add_func ("/extract/basic/motion", test_motion);
  g_test_add_func ("/extract/basic/separates", test_separates);
  g_test_add_func ("/extract/basic/golden", test_golden);
  g_test_add_func ("/extract/basic/no-pixels", test_no_pixels);
  g_test_add_func ("/extract/basic/size-change", test_size_change);
  g_test_add_func ("/extract/basic/speed", test_speed);
  return g_test_run ();
}
