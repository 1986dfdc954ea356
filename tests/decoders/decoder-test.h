/* decoder-test.h — what the decoder tests share: media made at test time with the
 * ffmpeg tools, ffprobe's view of a file, running a decoder stage through the
 * harness, and golden per-frame checksums. */
#ifndef SP_DECODER_TEST_H
#define SP_DECODER_TEST_H

#include <glib.h>
#include <stdint.h>

/* a fresh directory under $TMPDIR, removed with dt_rmtree */
char *dt_tmpdir (void);
void dt_rmtree (const char *dir);

/* Runs argv (NULL-terminated); the test fails when it cannot start or exits
 * non-zero.  *out (may be NULL) gets its stdout. */
void dt_spawn (const char *const *argv, char **out);
/* ffmpeg -v error -y <args, split at spaces> dir/name; returns dir/name */
char *dt_ffmpeg (const char *dir, const char *name, const char *args);

/* ffprobe's view of the first video stream */
typedef struct {
  int64_t n_frames;         /* -count_frames nb_read_frames */
  double *time;             /* [n_frames] best_effort_timestamp_time - start_time */
  int tb_num, tb_den;       /* time_base */
  gboolean has_duration;    /* stream or container duration known */
} DtProbe;
void dt_probe (const char *file, DtProbe *p);
void dt_probe_clear (DtProbe *p);

/* one delivered frame */
typedef struct {
  int64_t index;
  double time;
  char md5[33];             /* of the rgb buffer; "" for feature frames */
  float *features;          /* copy; NULL for rgb frames */
  int dim;
  uint8_t *rgb;             /* copy when DtParams.keep_rgb, else NULL */
} DtFrame;

typedef struct {
  GArray *frames;           /* DtFrame */
  int broken;
  int64_t expected;         /* what the decoder announced at init; -1 unknown */
} DtRun;

typedef struct {
  double fps;
  int width, height, threads;
  double start, end;        /* end < 0: to the end */
  const char *const *keys;  /* "key=value", NULL-terminated, may be NULL */
  gboolean keep_rgb;        /* keep a copy of every frame's pixels */
} DtParams;
#define DT_PARAMS(fps_, w_, h_) ((DtParams) { (fps_), (w_), (h_), 0, 0.0, -1.0, NULL, FALSE })

/* Decodes path with the decoder `plugin` (the stage of the same name, loaded alone
 * from $SP_TEST_PLUGIN_ROOT/plugin) until EOF.  FALSE + error when init or a decode
 * call fails; out holds the frames delivered until then. */
gboolean dt_decode (const char *plugin, const char *path, const DtParams *prm, DtRun *out,
                    GError **error);
void dt_run_clear (DtRun *r);

/* Compares the run's "index time md5" lines with golden/NAME.txt, or rewrites that
 * file when SEQPIPE_REGEN_GOLDEN=1. */
void dt_check_golden (const char *name, const DtRun *r);

#endif
