/* test-ffmpeg.c — the `ffmpeg` decoder against ffprobe's view of media made here.
 *
 * Every clip is made once, at start-up, with lavfi's testsrc2; each case decodes
 * through the harness and compares the frame count, native indices and times with
 * ffprobe, the `fps` sample choice with the documented rule recomputed from
 * ffprobe's timestamps, and lossless clips with golden per-frame checksums.  The
 * frames that sampling leaves undecoded do not change what is delivered: the same
 * frames as decoding every one (SEQPIPE_FFMPEG_DECODE_ALL=1). */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "decoder-test.h"

#define SRC "-f lavfi -i testsrc2=size=96x72:rate=25:duration=2 "

static char *media_dir;

typedef struct {
  const char *name;     /* file name in media_dir; the extension picks the muxer */
  const char *args;     /* ffmpeg arguments before the output */
} Clip;

static const Clip codec_clips[] = {
  { "h264.mp4", SRC "-c:v libx264 -pix_fmt yuv420p -g 12 -bf 2" },
  { "vp9.webm", SRC "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 12" },
  { "mpeg4.avi", SRC "-c:v mpeg4 -q:v 5 -g 12 -bf 2" },
  { "mjpeg.avi", SRC "-c:v mjpeg -q:v 5" },
  { "ffv1.mkv", SRC "-c:v ffv1 -pix_fmt yuv420p" },
  { "theora.ogv", SRC "-c:v libtheora -q:v 5 -g 12" },
  { "anim.gif", SRC "-c:v gif" },
  { "raw.y4m", SRC "-pix_fmt yuv420p" },
};

static const Clip other_clips[] = {
  /* odd frame size, scaled to an odd size below */
  { "odd.avi", "-f lavfi -i testsrc2=size=640x465:rate=25:duration=0.6 -c:v mpeg4 -q:v 5" },
  { "odd.mkv", "-f lavfi -i testsrc2=size=161x121:rate=25:duration=1 -c:v ffv1 -pix_fmt yuv420p" },
  /* variable frame rate: 10 frames 0.1 s apart, 20 at 30 fps (stored in ms, so
   * 1.033, 1.066, ...), a 0.367 s gap, 20 at 25 fps */
  { "vfr.mkv", "-f lavfi -i testsrc2=size=96x72:rate=25:duration=2 -c:v libx264 -g 12 "
               "-vf \"settb=1/1000,setpts='(if(lt(N,10),N*0.1,if(lt(N,30),1+(N-10)/30,"
               "2+(N-30)*0.04)))/TB'\" -fps_mode vfr -r 1000" },
  /* mjpeg whose 3 damaged frames are made below */
  { "damaged.avi", SRC "-c:v mjpeg -q:v 5" },
  /* resolution change: two mpeg2 transport streams, concatenated below */
  { "part1.ts", "-f lavfi -i testsrc2=size=96x72:rate=25:duration=1 -c:v mpeg2video -q:v 4" },
  { "part2.ts", "-f lavfi -i testsrc2=size=64x48:rate=25:duration=1 -c:v mpeg2video -q:v 4 "
                "-output_ts_offset 1" },
  /* the source of the clip whose first packets are not keyframes */
  { "gop.mkv", SRC "-c:v libx264 -g 12 -bf 2" },
  /* audio only */
  { "audio.wav", "-f lavfi -i sine=duration=0.2 -c:a pcm_s16le" },
  /* for skipping: B-pyramids (the middle B-frame of each group is a reference) in
   * one long GOP, in MP4 (dts from the file) and Matroska (dts made up by lavf) */
  { "pyramid.mp4", "-f lavfi -i testsrc2=size=96x72:rate=30:duration=4 -c:v libx264 "
                   "-pix_fmt yuv420p -g 250 -x264-params b-pyramid=normal:bframes=3" },
  { "pyramid.mkv", "-f lavfi -i testsrc2=size=96x72:rate=30:duration=4 -c:v libx264 "
                   "-pix_fmt yuv420p -g 250 -x264-params b-pyramid=normal:bframes=3" },
  /* open GOPs: the B-frames before each non-IDR I-frame refer to the GOP before */
  { "opengop.mkv", "-f lavfi -i testsrc2=size=96x72:rate=24:duration=4 -c:v libx264 "
                   "-pix_fmt yuv420p -x264-params open-gop=1:keyint=20:min-keyint=20:"
                   "scenecut=0:bframes=3:b-pyramid=normal" },
  /* MPEG-4 part 2 and MPEG-2 with B-frames, in containers that store pts */
  { "mpeg4-bf.mp4", "-f lavfi -i testsrc2=size=96x72:rate=20:duration=4 -c:v mpeg4 -q:v 5 "
                    "-g 100 -bf 2" },
  { "mpeg4-bf.mkv", "-f lavfi -i testsrc2=size=96x72:rate=20:duration=4 -c:v mpeg4 -q:v 5 "
                    "-g 100 -bf 2" },
  { "mpeg2-bf.ts", "-f lavfi -i testsrc2=size=96x72:rate=30:duration=3 -c:v mpeg2video "
                   "-q:v 4 -g 15 -bf 2" },
  /* FFV1 of keyframes only, whose 11th, 21st, 31st and 41st frames are damaged below */
  { "intra.avi", "-f lavfi -i testsrc2=size=96x72:rate=25:duration=2 -c:v ffv1 -g 1 "
                 "-pix_fmt yuv420p" },
};

static char *
media (const char *name)
{
  return g_build_filename (media_dir, name, NULL);
}

/* ---- the rule of ffmpeg-sampler.h, recomputed from ffprobe's times ---------- */

static int64_t
instant (int64_t k, double fps, const DtProbe *p)
{
  return llround ((double) k * p->tb_den / (fps * p->tb_num));
}

/* indices of the frames `fps` should pick */
static GArray *
expected_samples (const DtProbe *p, double fps)
{
  GArray *idx = g_array_new (FALSE, FALSE, sizeof (int64_t));
  int64_t k = 0;
  for (int64_t i = 0; i < p->n_frames; i++)
    {
      int64_t ticks = llround (p->time[i] * p->tb_den / p->tb_num);
      if (fps > 0 && ticks < instant (k, fps, p))
        continue;
      g_array_append_val (idx, i);
      while (fps > 0 && instant (k, fps, p) <= ticks)
        k++;
    }
  return idx;
}

/* count, indices and times equal ffprobe's */
static void
assert_matches_probe (const DtRun *r, const DtProbe *p)
{
  g_assert_cmpint (r->frames->len, ==, p->n_frames);
  for (guint i = 0; i < r->frames->len; i++)
    {
      const DtFrame *f = &g_array_index (r->frames, DtFrame, i);
      g_assert_cmpint (f->index, ==, i);
      g_assert_cmpfloat_with_epsilon (f->time, p->time[i], 2e-6);
    }
}

static void
assert_samples (const char *file, const DtProbe *p, double fps)
{
  DtRun r = { 0 };
  g_autoptr (GError) error = NULL;
  DtParams prm = DT_PARAMS (fps, 32, 24);
  g_assert_true (dt_decode ("ffmpeg", file, &prm, &r, &error));
  g_assert_no_error (error);
  g_autoptr (GArray) want = expected_samples (p, fps);
  g_assert_cmpuint (r.frames->len, ==, want->len);
  for (guint i = 0; i < want->len; i++)
    {
      const DtFrame *f = &g_array_index (r.frames, DtFrame, i);
      int64_t w = g_array_index (want, int64_t, i);
      g_assert_cmpint (f->index, ==, w);
      g_assert_cmpfloat_with_epsilon (f->time, p->time[w], 2e-6);
    }
  dt_run_clear (&r);
}

static void
decode_ok (const char *file, const DtParams *prm, DtRun *r)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = dt_decode ("ffmpeg", file, prm, r, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

/* ---- cases ------------------------------------------------------------------ */

static void
test_codec (gconstpointer data)
{
  const Clip *c = data;
  g_autofree char *file = media (c->name);
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  g_assert_cmpint (p.n_frames, ==, 50);
  decode_ok (file, &prm, &r);
  g_assert_cmpint (r.broken, ==, 0);
  assert_matches_probe (&r, &p);
  /* announced from the container's duration and rate: close to the truth */
  g_assert_cmpint (r.expected, >=, 49);
  g_assert_cmpint (r.expected, <=, 51);
  assert_samples (file, &p, 7);
  assert_samples (file, &p, 2.5);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

static void
test_sampling_every_fifth (void)
{
  g_autofree char *file = media ("h264.mp4");
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (5, 16, 16);
  decode_ok (file, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 10);
  g_assert_cmpint (r.expected, ==, 10);
  for (guint i = 0; i < r.frames->len; i++)
    {
      const DtFrame *f = &g_array_index (r.frames, DtFrame, i);
      g_assert_cmpint (f->index, ==, 5 * i);
      g_assert_cmpfloat_with_epsilon (f->time, 0.2 * i, 1e-9);
    }
  dt_run_clear (&r);

  /* faster than the video: every frame once, none repeated */
  prm.fps = 60;
  decode_ok (file, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 50);
  g_assert_cmpint (r.expected, ==, 50);
  dt_run_clear (&r);
}

static void
test_odd_size (void)
{
  g_autofree char *file = media ("odd.avi");
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 33, 25);

  dt_probe (file, &p);
  decode_ok (file, &prm, &r);
  assert_matches_probe (&r, &p);
  /* not scaled at all: the native odd size comes through */
  dt_run_clear (&r);
  prm.width = 640;
  prm.height = 465;
  decode_ok (file, &prm, &r);
  assert_matches_probe (&r, &p);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

static void
test_vfr (void)
{
  g_autofree char *file = media ("vfr.mkv");
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  g_assert_cmpint (p.n_frames, ==, 50);
  /* really variable: gaps of 0.1 s, 1/30 s and 0.367 s */
  g_assert_cmpfloat_with_epsilon (p.time[1] - p.time[0], 0.1, 1e-9);
  g_assert_cmpfloat_with_epsilon (p.time[11] - p.time[10], 0.033, 1e-9);
  g_assert_cmpfloat_with_epsilon (p.time[30] - p.time[29], 0.367, 1e-9);
  decode_ok (file, &prm, &r);
  assert_matches_probe (&r, &p);
  for (double fps = 1; fps <= 30; fps += 3.5)
    assert_samples (file, &p, fps);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

static void
test_no_duration (void)
{
  g_autofree char *file = media ("piped.mkv");
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  g_assert_false (p.has_duration);
  decode_ok (file, &prm, &r);
  assert_matches_probe (&r, &p);
  dt_run_clear (&r);
  prm.fps = 10;
  decode_ok (file, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 20);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

static void
test_no_keyframe_start (void)
{
  g_autofree char *file = media ("nokey.mkv");
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  g_assert_cmpint (p.n_frames, >, 0);
  g_assert_cmpint (p.n_frames, <, 50);
  decode_ok (file, &prm, &r);
  assert_matches_probe (&r, &p);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

static void
test_damaged (void)
{
  g_autofree char *file = media ("damaged.avi");
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  decode_ok (file, &prm, &r);
  g_assert_cmpint (r.broken, ==, 3);
  g_assert_cmpint (p.n_frames, ==, 47);
  assert_matches_probe (&r, &p);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

/* cut at 60 %: every frame before the cut, no error */
static void
test_truncated (void)
{
  g_autofree char *file = media ("truncated.mkv");
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  g_assert_cmpint (p.n_frames, >, 10);
  g_assert_cmpint (p.n_frames, <, 50);
  decode_ok (file, &prm, &r);
  assert_matches_probe (&r, &p);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

static void
test_size_change (void)
{
  g_autofree char *file = media ("change.ts");
  DtProbe p;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  /* the last frame of the first part may be lost at the seam */
  g_assert_cmpint (p.n_frames, >=, 48);
  decode_ok (file, &prm, &r);
  g_assert_cmpint (r.broken, ==, 0);
  assert_matches_probe (&r, &p);
  dt_run_clear (&r);
  dt_probe_clear (&p);
}

/* ---- windows: equal to the full run restricted to [start, end), whether the
 * decoder seeks to the window's keyframe or decodes from the start ------------- */

static int seeks;   /* windows the decoder started at a keyframe, from its debug log */
static int restarts;  /* decodings started over from the stream start */
/* from the decoder's last "not decoded: N of M frames" */
static int64_t not_decoded = -1, of_frames = -1;

static GLogWriterOutput
read_debug_log (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer user_data)
{
  for (gsize i = 0; i < n; i++)
    {
      if (!g_str_equal (fields[i].key, "MESSAGE") || fields[i].length >= 0)
        continue;
      const char *msg = fields[i].value, *nd;
      if (strstr (msg, "window starts at the keyframe") != NULL)
        g_atomic_int_inc (&seeks);
      if (strstr (msg, "decoding from the start") != NULL)
        g_atomic_int_inc (&restarts);
      if ((nd = strstr (msg, "not decoded: ")) != NULL)
        {
          gint64 a = -1, b = -1;
          if (sscanf (nd, "not decoded: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT, &a, &b) == 2)
            not_decoded = a, of_frames = b;
        }
    }
  return g_log_writer_default (level, fields, n, user_data);
}

typedef struct {
  const char *clip;
  double fps, start, end;
  gboolean seeks;      /* the decoder must start at a keyframe */
} WindowCase;

static const WindowCase window_cases[] = {
  { "h264.mp4", 7, 0.5, 1.3, TRUE },
  { "h264.mp4", 0, 1.0, 1.2, TRUE },
  { "h264.mp4", 0, 1.45, -1, TRUE },
  { "gop.mkv", 0, 0.9, 1.7, TRUE },
  { "gop.mkv", 10, 1.3, -1, TRUE },
  { "vp9.webm", 0, 1.0, 1.5, TRUE },
  { "ffv1.mkv", 3, 0.7, -1, TRUE },
  { "mjpeg.avi", 0, 1.1, 1.6, TRUE },
  { "mpeg4.avi", 0, 1.1, -1, FALSE },
  { "theora.ogv", 0, 1.1, -1, FALSE },
  { "vfr.mkv", 10, 1.05, 2.5, FALSE },
  { "change.ts", 0, 0.9, -1, FALSE },
  { "odd.avi", 0, 0.3, -1, FALSE },
};

static void
test_window (gconstpointer data)
{
  const WindowCase *c = data;
  g_autofree char *file = media (c->clip);
  DtRun all = { 0 }, win = { 0 };
  DtParams prm = DT_PARAMS (c->fps, 32, 24);

  decode_ok (file, &prm, &all);
  prm.start = c->start;
  prm.end = c->end;
  int before = g_atomic_int_get (&seeks);
  decode_ok (file, &prm, &win);
  gboolean sought = g_atomic_int_get (&seeks) > before;
  g_test_message ("%s [%g, %g) at fps %g: %u frames, %s", c->clip, c->start, c->end, c->fps,
                  win.frames->len, sought ? "started at a keyframe" : "decoded from the start");
  if (c->seeks)
    g_assert_true (sought);

  guint j = 0;
  for (guint i = 0; i < all.frames->len; i++)
    {
      const DtFrame *a = &g_array_index (all.frames, DtFrame, i);
      if (a->time < c->start || (c->end >= 0 && a->time >= c->end))
        continue;
      g_assert_cmpuint (j, <, win.frames->len);
      const DtFrame *w = &g_array_index (win.frames, DtFrame, j++);
      g_assert_cmpint (w->index, ==, a->index);
      g_assert_cmpfloat (w->time, ==, a->time);
      g_assert_cmpstr (w->md5, ==, a->md5);
    }
  g_assert_cmpuint (j, ==, win.frames->len);
  g_assert_cmpuint (j, >, 0);
  g_assert_cmpint (win.broken, ==, 0);
  dt_run_clear (&win);
  dt_run_clear (&all);
}

/* every frame of [1.0, 1.2) of a 25 fps clip: indices 25 to 29 */
static void
test_window_count (void)
{
  g_autofree char *file = media ("h264.mp4");
  DtRun win = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);
  prm.start = 1.0;
  prm.end = 1.2;
  decode_ok (file, &prm, &win);
  g_assert_cmpuint (win.frames->len, ==, 5);
  g_assert_cmpint (win.expected, ==, 5);
  g_assert_cmpint (g_array_index (win.frames, DtFrame, 0).index, ==, 25);
  dt_run_clear (&win);
}

static void
test_threads (void)
{
  g_autofree char *file = media ("h264.mp4");
  DtRun one = { 0 }, two = { 0 }, any = { 0 };
  DtParams prm = DT_PARAMS (0, 48, 36);

  prm.threads = 1;
  decode_ok (file, &prm, &one);
  prm.threads = 2;
  decode_ok (file, &prm, &two);
  prm.threads = 0;
  decode_ok (file, &prm, &any);
  g_assert_cmpuint (one.frames->len, ==, 50);
  g_assert_cmpuint (two.frames->len, ==, 50);
  g_assert_cmpuint (any.frames->len, ==, 50);
  for (guint i = 0; i < 50; i++)
    {
      g_assert_cmpstr (g_array_index (one.frames, DtFrame, i).md5, ==,
                       g_array_index (two.frames, DtFrame, i).md5);
      g_assert_cmpstr (g_array_index (one.frames, DtFrame, i).md5, ==,
                       g_array_index (any.frames, DtFrame, i).md5);
    }
  dt_run_clear (&one);
  dt_run_clear (&two);
  dt_run_clear (&any);
}

/* ---- skipping: under fps, the frames nothing refers to and that will not be
 * delivered are not decoded, and the delivered frames are those of decoding all --- */

typedef struct {
  const char *clip;
  gboolean skips;      /* the codec lets the decoder leave frames undecoded */
} SkipCase;

static const SkipCase skip_cases[] = {
  { "h264.mp4", TRUE },
  { "vp9.webm", FALSE },
  /* AVI stores no pts for a stream with B-frames: nothing to place skipped frames by */
  { "mpeg4.avi", FALSE },
  /* tables of one JPEG may serve the next: every frame is decoded */
  { "mjpeg.avi", FALSE },
  { "ffv1.mkv", TRUE },
  { "theora.ogv", FALSE },
  { "anim.gif", FALSE },
  { "raw.y4m", TRUE },
  { "pyramid.mp4", TRUE },
  { "pyramid.mkv", TRUE },
  { "opengop.mkv", TRUE },
  { "vfr.mkv", TRUE },
  { "mpeg4-bf.mp4", TRUE },
  { "mpeg4-bf.mkv", TRUE },
  { "mpeg2-bf.ts", TRUE },
  { "change.ts", FALSE },
};

/* same frames, indices, times, pixels and broken count */
static void
assert_same_run (const DtRun *a, const DtRun *b)
{
  g_assert_cmpuint (a->frames->len, ==, b->frames->len);
  for (guint i = 0; i < a->frames->len; i++)
    {
      const DtFrame *x = &g_array_index (a->frames, DtFrame, i);
      const DtFrame *y = &g_array_index (b->frames, DtFrame, i);
      g_assert_cmpint (x->index, ==, y->index);
      g_assert_cmpfloat (x->time, ==, y->time);
      g_assert_cmpstr (x->md5, ==, y->md5);
    }
  g_assert_cmpint (a->broken, ==, b->broken);
}

/* decodes with skipping into *skip (*skipped: frames not decoded) and with
 * SEQPIPE_FFMPEG_DECODE_ALL=1 into *all */
static void
decode_both_ways (const char *file, const DtParams *prm, DtRun *skip, int64_t *skipped,
                  DtRun *all)
{
  not_decoded = -1;
  decode_ok (file, prm, skip);
  g_assert_cmpint (not_decoded, >=, 0);
  *skipped = not_decoded;
  g_assert_true (g_setenv ("SEQPIPE_FFMPEG_DECODE_ALL", "1", TRUE));
  not_decoded = -1;
  decode_ok (file, prm, all);
  g_unsetenv ("SEQPIPE_FFMPEG_DECODE_ALL");
  g_assert_cmpint (not_decoded, ==, 0);
}

static void
test_skip (gconstpointer data)
{
  const SkipCase *c = data;
  g_autofree char *file = media (c->clip);
  static const double rates[] = { 1, 2, 5, 7, 10 };
  DtProbe p;

  dt_probe (file, &p);
  for (gsize i = 0; i < G_N_ELEMENTS (rates); i++)
    for (int threads = 1; threads <= 2; threads++)
      {
        DtRun skip = { 0 }, all = { 0 };
        int64_t skipped = 0;
        DtParams prm = DT_PARAMS (rates[i], 32, 24);
        prm.threads = threads;
        int before = g_atomic_int_get (&restarts);
        decode_both_ways (file, &prm, &skip, &skipped, &all);
        g_test_message ("%s at fps %g, %d threads: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                        " frames not decoded, %u delivered", c->clip, rates[i], threads,
                        skipped, of_frames, skip.frames->len);
        assert_same_run (&skip, &all);
        /* the undamaged clips never need the way back */
        g_assert_cmpint (g_atomic_int_get (&restarts), ==, before);
        if (c->skips)
          g_assert_cmpint (skipped, >, 0);
        else
          g_assert_cmpint (skipped, ==, 0);
        /* and both are the documented rule, on ffprobe's frames */
        if (!g_str_equal (c->clip, "change.ts"))
          {
            g_autoptr (GArray) want = expected_samples (&p, rates[i]);
            g_assert_cmpuint (skip.frames->len, ==, want->len);
            for (guint j = 0; j < want->len; j++)
              g_assert_cmpint (g_array_index (skip.frames, DtFrame, j).index, ==,
                               g_array_index (want, int64_t, j));
          }
        dt_run_clear (&skip);
        dt_run_clear (&all);
      }
  dt_probe_clear (&p);
}

/* a long GOP of B-frames at 5 fps from 30: of each group of four (P, a reference B,
 * two non-reference B), the two non-reference ones are left out unless sampled */
static void
test_skip_share (void)
{
  g_autofree char *file = media ("pyramid.mp4");
  DtRun skip = { 0 }, all = { 0 };
  int64_t skipped = 0;
  DtParams prm = DT_PARAMS (5, 32, 24);
  decode_both_ways (file, &prm, &skip, &skipped, &all);
  assert_same_run (&skip, &all);
  g_assert_cmpint (of_frames, ==, 120);
  g_assert_cmpuint (skip.frames->len, ==, 20);
  g_assert_cmpint (skipped, >=, 40);
  dt_run_clear (&skip);
  dt_run_clear (&all);

  /* every frame delivered: nothing to skip */
  prm.fps = 0;
  decode_both_ways (file, &prm, &skip, &skipped, &all);
  g_assert_cmpint (skipped, ==, 0);
  dt_run_clear (&skip);
  dt_run_clear (&all);
}

/* a window: frames before its start are not delivered either; in short GOPs the
 * decoder also starts at the window's keyframe */
static void
test_skip_window (void)
{
  static const char *const clips[] = { "pyramid.mp4", "pyramid.mkv", "opengop.mkv",
                                       "mpeg4-bf.mp4", "raw.y4m", "h264.mp4", "gop.mkv" };
  for (gsize i = 0; i < G_N_ELEMENTS (clips); i++)
    for (double fps = 0; fps <= 10; fps += 5)
      {
        g_autofree char *file = media (clips[i]);
        DtRun skip = { 0 }, all = { 0 };
        int64_t skipped = 0;
        DtParams prm = DT_PARAMS (fps, 32, 24);
        prm.start = 1.3;
        prm.end = 1.9;
        int before = g_atomic_int_get (&seeks);
        decode_both_ways (file, &prm, &skip, &skipped, &all);
        if (g_str_has_prefix (clips[i], "h264") || g_str_has_prefix (clips[i], "gop"))
          g_assert_cmpint (g_atomic_int_get (&seeks), ==, before + 2);
        g_test_message ("%s [1.3, 1.9) at fps %g: %" G_GINT64_FORMAT " not decoded", clips[i],
                        fps, skipped);
        assert_same_run (&skip, &all);
        g_assert_cmpuint (skip.frames->len, >, 0);
        dt_run_clear (&skip);
        dt_run_clear (&all);
      }
}

/* Damaged frames the plan could not foresee: the 11th, 21st, ... frame fails to
 * decode, so at 5 fps the frame after it is the sample, one the plan left out.
 * The decoder starts over without skipping and delivers what full decoding does. */
static void
test_skip_damaged (void)
{
  g_autofree char *file = media ("intra.avi");
  DtProbe p;

  dt_probe (file, &p);
  g_assert_cmpint (p.n_frames, ==, 46);
  for (int threads = 1; threads <= 2; threads++)
    {
      DtRun skip = { 0 }, all = { 0 };
      int64_t skipped = 0;
      DtParams prm = DT_PARAMS (5, 32, 24);
      prm.threads = threads;
      int before = g_atomic_int_get (&restarts);
      decode_both_ways (file, &prm, &skip, &skipped, &all);
      g_test_message ("%d threads: %u frames, %d broken; skipping %u frames, %d broken, "
                      "%d restarts", threads, all.frames->len, all.broken, skip.frames->len,
                      skip.broken, g_atomic_int_get (&restarts) - before);
      g_assert_cmpint (g_atomic_int_get (&restarts), >, before);
      assert_same_run (&skip, &all);
      dt_run_clear (&skip);
      dt_run_clear (&all);
    }
  dt_probe_clear (&p);
}

static void
test_golden (gconstpointer data)
{
  const char *const *g = data;   /* golden name, clip, width, height */
  g_autofree char *file = media (g[1]);
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, atoi (g[2]), atoi (g[3]));
  decode_ok (file, &prm, &r);
  dt_check_golden (g[0], &r);
  dt_run_clear (&r);
}

/* Every frame equals the ffmpeg tool's scale filter with the same flags: one
 * swscale pass, same colour matrix and range (mjpeg is full range). */
static void
test_same_as_ffmpeg (gconstpointer data)
{
  const char *const *c = data;   /* clip, width, height */
  g_autofree char *file = media (c[0]);
  int w = atoi (c[1]), h = atoi (c[2]);
  g_autofree char *raw = g_strdup_printf ("%s.rgb", file);
  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -nostdin -v error -y -i '%s' -fps_mode passthrough "
      "-vf scale=%d:%d:flags=bilinear+accurate_rnd+bitexact -pix_fmt rgb24 -f rawvideo '%s'",
      file, w, h, raw);
  const char *argv[] = { "sh", "-c", cmd, NULL };
  g_autofree char *ref = NULL;
  gsize len = 0, size = (gsize) w * h * 3;
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, w, h);

  dt_spawn (argv, NULL);
  g_assert_true (g_file_get_contents (raw, &ref, &len, NULL));
  prm.keep_rgb = TRUE;
  decode_ok (file, &prm, &r);
  g_assert_cmpuint (len, ==, r.frames->len * size);
  for (guint i = 0; i < r.frames->len; i++)
    g_assert_cmpmem (g_array_index (r.frames, DtFrame, i).rgb, size, ref + i * size, size);
  dt_run_clear (&r);
}

/* Rotated streams (display matrix) come out upright.  Exact: the rotated clip at
 * W x H equals the plain clip decoded at H x W (for quarter turns) and turned here.
 * Direction: the ffmpeg tool's autorotated output must be near ours and far from
 * the opposite turn. */
static const uint8_t *
pixel (const uint8_t *rgb, int w, int x, int y)
{
  return rgb + ((size_t) y * w + x) * 3;
}

/* s is sw x sh; d = s turned `turns` quarter turns clockwise */
static void
turn (const uint8_t *s, int sw, int sh, int turns, uint8_t *d)
{
  int dw = turns % 2 ? sh : sw;
  int dh = turns % 2 ? sw : sh;
  for (int y = 0; y < sh; y++)
    for (int x = 0; x < sw; x++)
      {
        int dx = x, dy = y;
        if (turns == 1)
          dx = sh - 1 - y, dy = x;
        else if (turns == 2)
          dx = sw - 1 - x, dy = sh - 1 - y;
        else if (turns == 3)
          dx = y, dy = sw - 1 - x;
        memcpy ((uint8_t *) pixel (d, dw, dx, dy), pixel (s, sw, x, y), 3);
      }
  (void) dh;
}

static double
mean_abs_diff (const uint8_t *a, const uint8_t *b, size_t n)
{
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += abs ((int) a[i] - (int) b[i]);
  return sum / n;
}

static void
test_rotation (gconstpointer data)
{
  /* ffmpeg 5.1's mov muxer stores `rotate=D` as a display matrix of D degrees
   * counter-clockwise (ffprobe: rotation=D), which the ffmpeg tool shows turned
   * D degrees counter-clockwise: (4 - D/90) clockwise quarter turns */
  int deg = GPOINTER_TO_INT (data);
  int turns = (4 - deg / 90) % 4;
  const int W = 40, H = 30;
  g_autofree char *name = g_strdup_printf ("rot%d.mp4", deg);
  g_autofree char *file = media (name);
  g_autofree char *plain = media ("h264.mp4");
  DtRun r = { 0 }, p = { 0 };
  DtParams prm = DT_PARAMS (0, W, H);
  prm.keep_rgb = TRUE;
  decode_ok (file, &prm, &r);
  prm.width = turns % 2 ? H : W;
  prm.height = turns % 2 ? W : H;
  decode_ok (plain, &prm, &p);
  g_assert_cmpuint (r.frames->len, ==, 50);
  g_assert_cmpuint (p.frames->len, ==, 50);
  g_autofree uint8_t *want = g_malloc ((gsize) W * H * 3);
  for (guint i = 0; i < 50; i++)
    {
      turn (g_array_index (p.frames, DtFrame, i).rgb, prm.width, prm.height, turns, want);
      g_assert_cmpmem (g_array_index (r.frames, DtFrame, i).rgb, W * H * 3, want, W * H * 3);
    }

  /* the same way as the ffmpeg tool */
  g_autofree char *raw = media ("rotated.rgb");
  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -nostdin -v error -y -i '%s' -frames:v 1 -vf scale=%d:%d -sws_flags bilinear "
      "-pix_fmt rgb24 -f rawvideo '%s'", file, W, H, raw);
  const char *argv[] = { "sh", "-c", cmd, NULL };
  dt_spawn (argv, NULL);
  g_autofree char *ref = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (raw, &ref, &len, NULL));
  g_assert_cmpuint (len, ==, (gsize) W * H * 3);
  const uint8_t *ours = g_array_index (r.frames, DtFrame, 0).rgb;
  double near = mean_abs_diff (ours, (const uint8_t *) ref, len);
  /* for scale: ours turned half a turn more, i.e. the opposite turn */
  g_autofree uint8_t *other = g_malloc (len);
  turn (ours, W, H, 2, other);
  double far = mean_abs_diff (other, (const uint8_t *) ref, len);
  g_test_message ("turns %d: mean |ours - ffmpeg| = %.2f, opposite turn %.2f", turns, near, far);
  /* ffmpeg turns the YUV picture before scaling (moving the chroma siting), we
   * turn the scaled RGB: close, not equal, on these tiny saturated bars */
  g_assert_cmpfloat (near, <, 30.0);
  g_assert_cmpfloat (far, >, 4 * near);
  dt_run_clear (&r);
  dt_run_clear (&p);
}

static void
assert_fails (const char *file, const char *what)
{
  DtRun r = { 0 };
  g_autoptr (GError) error = NULL;
  DtParams prm = DT_PARAMS (0, 32, 24);
  g_assert_false (dt_decode ("ffmpeg", file, &prm, &r, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, file));
  g_assert_nonnull (strstr (error->message, what));
  dt_run_clear (&r);
}

static void
test_errors (void)
{
  g_autofree char *missing = media ("missing.mp4");
  g_autofree char *text = media ("text.mp4");
  g_autofree char *audio = media ("audio.wav");
  g_assert_true (g_file_set_contents (text, "not a video\n", -1, NULL));
  assert_fails (missing, "cannot open");
  assert_fails (text, "");
  assert_fails (audio, "no video stream");
}

/* ---- media --------------------------------------------------------------------- */

/* flips one byte in every 50 of the middle 60 % of a transport stream (never in a
 * packet's 4-byte header, so the stream still demuxes): h264 slices that the decoder
 * conceals, as a damaged broadcast recording has */
static void
damage_ts (const char *file)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  for (gsize i = len / 5; i < 4 * len / 5; i += 997)
    if (i % 188 >= 4)
      data[i] ^= 0x5a;
  g_assert_true (g_file_set_contents (file, data, len, NULL));
}

/* frames the decoder put together with concealment count as broken, as ffmpeg's
 * error reports do (they were counted as good frames, and labelled) */
static void
test_concealed (void)
{
  g_autofree char *file = media ("concealed.ts");
  g_autofree char *clean = media ("clean.ts");
  DtProbe p;
  DtRun r = { 0 }, c = { 0 };
  DtParams prm = DT_PARAMS (0, 32, 24);

  dt_probe (file, &p);
  decode_ok (file, &prm, &r);
  g_test_message ("%u frames delivered, %d broken, %" G_GINT64_FORMAT " read by ffprobe",
                  r.frames->len, r.broken, p.n_frames);
  /* a frame lost whole is broken here and not read by ffprobe: at least its count,
   * at most the source's 100 frames */
  g_assert_cmpint (r.broken, >, 0);
  g_assert_cmpint ((int64_t) r.frames->len + r.broken, >=, p.n_frames);
  g_assert_cmpint ((int64_t) r.frames->len + r.broken, <=, 100);
  g_assert_cmpint ((int64_t) r.frames->len, <, p.n_frames);
  dt_probe_clear (&p);
  dt_probe (clean, &p);
  decode_ok (clean, &prm, &c);
  g_assert_cmpint (c.broken, ==, 0);
  g_assert_cmpint (c.frames->len, ==, p.n_frames);
  dt_run_clear (&r);
  dt_run_clear (&c);
  dt_probe_clear (&p);
}

/* zero the first 600 bytes of the 11th, 21st and 31st JPEG (SOI FF D8 FF) */
static void
damage_mjpeg (const char *file)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  int soi = 0;
  for (gsize i = 0; i + 3 < len; i++)
    {
      if ((guchar) data[i] != 0xff || (guchar) data[i + 1] != 0xd8 || (guchar) data[i + 2] != 0xff)
        continue;
      if (soi == 10 || soi == 20 || soi == 30)
        memset (data + i, 0, MIN (600, len - i));
      soi++;
    }
  g_assert_cmpint (soi, ==, 50);
  g_assert_true (g_file_set_contents (file, data, len, NULL));
}

/* every byte 0xff in the 11th, 21st, 31st and 41st video chunk ("00dc") of an AVI
 * file's movi list: those frames fail to decode */
static void
damage_avi (const char *file)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  gsize at = 0;
  while (at + 4 <= len && memcmp (data + at, "movi", 4) != 0)
    at++;
  g_assert_cmpuint (at + 4, <=, len);
  at += 4;
  int n = 0;
  while (at + 8 <= len && memcmp (data + at, "00dc", 4) == 0)
    {
      guint32 size;
      memcpy (&size, data + at + 4, 4);
      size = GUINT32_FROM_LE (size);
      g_assert_cmpuint (at + 8 + size, <=, len);
      if (n == 10 || n == 20 || n == 30 || n == 40)
        memset (data + at + 8, 0xff, size);
      n++;
      at += 8 + size + (size & 1);
    }
  g_assert_cmpint (n, ==, 50);
  g_assert_true (g_file_set_contents (file, data, len, NULL));
}

static void
concat_files (const char *a, const char *b, const char *out)
{
  g_autofree char *da = NULL, *db = NULL;
  gsize la = 0, lb = 0;
  g_assert_true (g_file_get_contents (a, &da, &la, NULL));
  g_assert_true (g_file_get_contents (b, &db, &lb, NULL));
  g_autofree char *all = g_malloc (la + lb);
  memcpy (all, da, la);
  memcpy (all + la, db, lb);
  g_assert_true (g_file_set_contents (out, all, la + lb, NULL));
}

static void
make_media (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (codec_clips); i++)
    g_free (dt_ffmpeg (media_dir, codec_clips[i].name, codec_clips[i].args));
  for (gsize i = 0; i < G_N_ELEMENTS (other_clips); i++)
    g_free (dt_ffmpeg (media_dir, other_clips[i].name, other_clips[i].args));

  g_autofree char *damaged = media ("damaged.avi");
  damage_mjpeg (damaged);

  const char *ts_args = "-f lavfi -i testsrc2=size=160x120:rate=25:duration=4 "
                        "-c:v libx264 -g 50 -bf 2 -pix_fmt yuv420p";
  g_free (dt_ffmpeg (media_dir, "clean.ts", ts_args));
  g_free (dt_ffmpeg (media_dir, "concealed.ts", ts_args));
  g_autofree char *concealed = media ("concealed.ts");
  damage_ts (concealed);

  g_autofree char *gop_src = media ("gop.mkv"), *cut = media ("truncated.mkv");
  g_autofree char *gop_data = NULL;
  gsize gop_len = 0;
  g_assert_true (g_file_get_contents (gop_src, &gop_data, &gop_len, NULL));
  g_assert_true (g_file_set_contents (cut, gop_data, gop_len * 6 / 10, NULL));

  g_autofree char *p1 = media ("part1.ts"), *p2 = media ("part2.ts"), *ch = media ("change.ts");
  concat_files (p1, p2, ch);

  /* the first 3 packets (the keyframe among them) dropped, stream copied */
  g_autofree char *gop = media ("gop.mkv");
  g_autofree char *args = g_strdup_printf ("-i '%s' -c copy -bsf:v 'noise=drop=lt(n\\,3)'", gop);
  g_free (dt_ffmpeg (media_dir, "nokey.mkv", args));

  g_autofree char *intra = media ("intra.avi");
  damage_avi (intra);

  /* a display matrix on a stream copy */
  g_autofree char *h264 = media ("h264.mp4");
  for (int deg = 90; deg <= 270; deg += 90)
    {
      g_autofree char *rot_name = g_strdup_printf ("rot%d.mp4", deg);
      g_autofree char *rot_args = g_strdup_printf (
          "-i '%s' -c copy -metadata:s:v:0 rotate=%d", h264, deg);
      g_free (dt_ffmpeg (media_dir, rot_name, rot_args));
    }

  /* written to a pipe, a Matroska file has no duration and no cues */
  g_autofree char *piped = media ("piped.mkv");
  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=96x72:rate=25:duration=2 "
      "-c:v libx264 -g 12 -f matroska - > '%s'", piped);
  const char *argv[] = { "sh", "-c", cmd, NULL };
  dt_spawn (argv, NULL);
}

int
main (int argc, char **argv)
{
  g_log_set_writer_func (read_debug_log, NULL, NULL);
  g_test_init (&argc, &argv, NULL);
  media_dir = dt_tmpdir ();
  make_media ();

  for (gsize i = 0; i < G_N_ELEMENTS (codec_clips); i++)
    {
      g_autofree char *path = g_strdup_printf ("/ffmpeg/codec/%s", codec_clips[i].name);
      g_test_add_data_func (path, &codec_clips[i], test_codec);
    }
  g_test_add_func ("/ffmpeg/sampling/every-fifth", test_sampling_every_fifth);
  g_test_add_func ("/ffmpeg/odd-size", test_odd_size);
  g_test_add_func ("/ffmpeg/vfr", test_vfr);
  g_test_add_func ("/ffmpeg/no-duration", test_no_duration);
  g_test_add_func ("/ffmpeg/no-keyframe-start", test_no_keyframe_start);
  g_test_add_func ("/ffmpeg/damaged", test_damaged);
  g_test_add_func ("/ffmpeg/concealed", test_concealed);
  g_test_add_func ("/ffmpeg/truncated", test_truncated);
  g_test_add_func ("/ffmpeg/size-change", test_size_change);
  for (gsize i = 0; i < G_N_ELEMENTS (window_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/ffmpeg/window/%s/%g-%g-fps%g",
                                               window_cases[i].clip, window_cases[i].start,
                                               window_cases[i].end, window_cases[i].fps);
      g_test_add_data_func (path, &window_cases[i], test_window);
    }
  g_test_add_func ("/ffmpeg/window-count", test_window_count);
  for (gsize i = 0; i < G_N_ELEMENTS (skip_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/ffmpeg/skip/same/%s", skip_cases[i].clip);
      g_test_add_data_func (path, &skip_cases[i], test_skip);
    }
  g_test_add_func ("/ffmpeg/skip/share", test_skip_share);
  g_test_add_func ("/ffmpeg/skip/window", test_skip_window);
  g_test_add_func ("/ffmpeg/skip/damaged", test_skip_damaged);
  g_test_add_func ("/ffmpeg/threads", test_threads);
  static const char *const same_h264[] = { "h264.mp4", "40", "30" };
  static const char *const same_mjpeg[] = { "mjpeg.avi", "48", "36" };
  static const char *const same_odd[] = { "odd.avi", "33", "25" };
  static const char *const same_gif[] = { "anim.gif", "40", "30" };
  static const char *const same_up[] = { "theora.ogv", "160", "120" };
  g_test_add_data_func ("/ffmpeg/same-as-ffmpeg/h264", same_h264, test_same_as_ffmpeg);
  g_test_add_data_func ("/ffmpeg/same-as-ffmpeg/mjpeg", same_mjpeg, test_same_as_ffmpeg);
  g_test_add_data_func ("/ffmpeg/same-as-ffmpeg/odd", same_odd, test_same_as_ffmpeg);
  g_test_add_data_func ("/ffmpeg/same-as-ffmpeg/gif", same_gif, test_same_as_ffmpeg);
  g_test_add_data_func ("/ffmpeg/same-as-ffmpeg/upscale", same_up, test_same_as_ffmpeg);
  g_test_add_data_func ("/ffmpeg/rotation/90", GINT_TO_POINTER (90), test_rotation);
  g_test_add_data_func ("/ffmpeg/rotation/180", GINT_TO_POINTER (180), test_rotation);
  g_test_add_data_func ("/ffmpeg/rotation/270", GINT_TO_POINTER (270), test_rotation);
  static const char *const golden_yuv[] = { "ffv1-yuv420p-32x24", "ffv1.mkv", "32", "24" };
  static const char *const golden_odd[] = { "ffv1-161x121-33x25", "odd.mkv", "33", "25" };
  static const char *const golden_up[] = { "ffv1-yuv420p-128x100", "ffv1.mkv", "128", "100" };
  g_test_add_data_func ("/ffmpeg/golden/yuv420p", golden_yuv, test_golden);
  g_test_add_data_func ("/ffmpeg/golden/odd", golden_odd, test_golden);
  g_test_add_data_func ("/ffmpeg/golden/upscale", golden_up, test_golden);
  g_test_add_func ("/ffmpeg/errors", test_errors);

  int ret = g_test_run ();
  dt_rmtree (media_dir);
  g_free (media_dir);
  return ret;
}
