/* decoder-test.c — shared helpers of the decoder tests (see decoder-test.h). */
#include "decoder-test.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqpipe/check.h>

#include "host-stage.h"

char *
dt_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("seqpipe-decoders-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

void
dt_rmtree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        dt_rmtree (p);
      else
        g_unlink (p);
    }
  g_rmdir (dir);
}

void
dt_spawn (const char *const *argv, char **out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *std_out = NULL, *std_err = NULL;
  int status = 0;
  g_autofree char *cmd = g_strjoinv (" ", (char **) argv);

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &std_out,
                &std_err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("`%s` failed:\n%s", cmd, std_err);
  if (out != NULL)
    *out = g_steal_pointer (&std_out);
}

char *
dt_ffmpeg (const char *dir, const char *name, const char *args)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) parts = NULL;
  char *file = g_build_filename (dir, name, NULL);

  g_shell_parse_argv (args, NULL, &parts, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, "ffmpeg");
  g_ptr_array_add (argv, "-nostdin");
  g_ptr_array_add (argv, "-v");
  g_ptr_array_add (argv, "error");
  g_ptr_array_add (argv, "-y");
  for (int i = 0; parts[i] != NULL; i++)
    g_ptr_array_add (argv, parts[i]);
  g_ptr_array_add (argv, file);
  g_ptr_array_add (argv, NULL);
  dt_spawn ((const char *const *) argv->pdata, NULL);
  return file;
}

/* ffprobe -of default=nw=1: "key=value" lines (a stream can be listed more than
 * once, under its program and on its own) */
static char **
probe_lines (const char *file, const char *entries, gboolean count)
{
  const char *argv[] = { "ffprobe", "-v", "error", "-select_streams", "v:0",
                         "-show_entries", entries, "-of", "default=nw=1",
                         count ? "-count_frames" : file, count ? file : NULL, NULL };
  g_autofree char *out = NULL;
  dt_spawn (argv, &out);
  return g_strsplit (out, "\n", -1);
}

/* the first value of key, or NULL */
static const char *
probe_value (char **lines, const char *key)
{
  size_t n = strlen (key);
  for (int i = 0; lines[i] != NULL; i++)
    if (strncmp (lines[i], key, n) == 0 && lines[i][n] == '=')
      return lines[i] + n + 1;
  return NULL;
}

static gboolean
probe_known (const char *v)
{
  return v != NULL && *v != '\0' && g_ascii_strcasecmp (v, "N/A") != 0;
}

void
dt_probe (const char *file, DtProbe *p)
{
  memset (p, 0, sizeof *p);

  g_auto (GStrv) s = probe_lines (file, "stream=time_base,start_time,duration,nb_read_frames", TRUE);
  const char *tb = probe_value (s, "time_base"), *st = probe_value (s, "start_time");
  const char *nb = probe_value (s, "nb_read_frames");
  g_assert_true (tb != NULL && sscanf (tb, "%d/%d", &p->tb_num, &p->tb_den) == 2);
  g_assert_true (probe_known (nb));
  gboolean has_start = probe_known (st);
  double start = has_start ? g_ascii_strtod (st, NULL) : 0.0;
  p->has_duration = probe_known (probe_value (s, "duration"));
  p->n_frames = g_ascii_strtoll (nb, NULL, 10);
  if (!p->has_duration)
    {
      const char *argv[] = { "ffprobe", "-v", "error", "-show_entries", "format=duration",
                             "-of", "default=nw=1", file, NULL };
      g_autofree char *d = NULL;
      dt_spawn (argv, &d);
      g_auto (GStrv) fl = g_strsplit (d, "\n", -1);
      p->has_duration = probe_known (probe_value (fl, "duration"));
    }

  g_auto (GStrv) lines = probe_lines (file, "frame=best_effort_timestamp_time", FALSE);
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  static const char key[] = "best_effort_timestamp_time=";
  for (int i = 0; lines[i] != NULL; i++)
    {
      if (!g_str_has_prefix (lines[i], key))
        continue;
      const char *v = lines[i] + strlen (key);
      double t;
      if (probe_known (v))
        {
          t = g_ascii_strtod (v, NULL);
          if (!has_start && times->len == 0)
            start = t;
          t -= start;
        }
      else
        {
          /* no timestamp (e.g. the last frame of packed B-frames in AVI): the
           * decoder extrapolates by one frame duration; in these constant-rate
           * clips that is the previous gap */
          guint n = times->len;
          g_assert_cmpuint (n, >=, 2);
          t = 2 * g_array_index (times, double, n - 1) - g_array_index (times, double, n - 2);
        }
      g_array_append_val (times, t);
    }
  g_assert_cmpint (times->len, ==, p->n_frames);
  p->time = (double *) g_array_free (g_steal_pointer (&times), FALSE);
}

void
dt_probe_clear (DtProbe *p)
{
  g_free (p->time);
  memset (p, 0, sizeof *p);
}

static void
frame_clear (gpointer data)
{
  DtFrame *f = data;
  g_free (f->features);
  g_free (f->rgb);
}

void
dt_run_clear (DtRun *r)
{
  if (r->frames != NULL)
    g_array_unref (r->frames);
  r->frames = NULL;
  r->broken = 0;
}

gboolean
dt_decode (const char *plugin, const char *path, const DtParams *prm, DtRun *out,
           GError **error)
{
  const char *root = g_getenv ("SP_TEST_PLUGIN_ROOT");
  g_assert_nonnull (root);
  g_autofree char *dir = g_build_filename (root, plugin, NULL);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *stem = g_strdup (name);
  char *dot = strrchr (stem, '.');
  if (dot != NULL && dot != stem)
    *dot = '\0';
  SpInputInfo in = { path, name, stem, 0, prm->start, prm->end };
  SpDecoderParams dec = { prm->fps, prm->width, prm->height, prm->threads };

  out->frames = g_array_new (FALSE, TRUE, sizeof (DtFrame));
  g_array_set_clear_func (out->frames, frame_clear);
  out->broken = 0;
  out->expected = -1;

  g_autoptr (SpHarness) h = sp_harness_new (dir, plugin, prm->keys, &in, &dec, error);
  if (h == NULL || !sp_harness_init (h, error))
    return FALSE;
  int dim = sp_harness_stage (h)->feature_dim;
  out->expected = sp_stage_expected_frames (sp_harness_stage (h));
  for (;;)
    {
      SpFrame *f = sp_harness_frame (h);
      switch (sp_harness_decode (h, f, error))
        {
        case SP_DECODE_FRAME:
          {
            DtFrame r = { f->index, f->time, "", NULL, 0, NULL };
            if (dim > 0)
              {
                g_assert_nonnull (f->features);
                r.dim = dim;
                r.features = g_memdup2 (f->features, sizeof (float) * dim);
              }
            else
              {
                g_assert_nonnull (f->rgb);
                g_autofree char *sum = g_compute_checksum_for_data (
                    G_CHECKSUM_MD5, f->rgb, (gsize) f->width * f->height * 3);
                g_strlcpy (r.md5, sum, sizeof r.md5);
                if (prm->keep_rgb)
                  r.rgb = g_memdup2 (f->rgb, (gsize) f->width * f->height * 3);
              }
            g_array_append_val (out->frames, r);
            break;
          }
        case SP_DECODE_BROKEN:
          out->broken++;
          break;
        case SP_DECODE_EOF:
          return TRUE;
        case SP_DECODE_ERROR:
        default:
          g_assert (error == NULL || *error != NULL);
          return FALSE;
        }
    }
}

static char *
run_text (const DtRun *r)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < r->frames->len; i++)
    {
      const DtFrame *f = &g_array_index (r->frames, DtFrame, i);
      g_string_append_printf (s, "%" G_GINT64_FORMAT " %.6f %s\n", f->index, f->time, f->md5);
    }
  return g_string_free (s, FALSE);
}

void
dt_check_golden (const char *name, const DtRun *r)
{
  const char *dir = g_getenv ("SEQPIPE_GOLDEN_DIR");
  g_assert_nonnull (dir);
  g_autofree char *file = g_strconcat (dir, G_DIR_SEPARATOR_S, name, ".txt", NULL);
  g_autofree char *have = run_text (r);
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (g_getenv ("SEQPIPE_REGEN_GOLDEN"), "1") == 0)
    {
      g_file_set_contents (file, have, -1, &error);
      g_assert_no_error (error);
      g_test_message ("rewrote %s", file);
      return;
    }
  g_autofree char *want = NULL;
  if (!g_file_get_contents (file, &want, NULL, &error))
    g_error ("%s (run with SEQPIPE_REGEN_GOLDEN=1 to create it)", error->message);
  if (g_strcmp0 (have, want) != 0)
    {
      g_test_message ("%s differs; this run gives:\n%s", file, have);
      g_test_fail_printf ("golden checksums differ from %s", file);
    }
}
