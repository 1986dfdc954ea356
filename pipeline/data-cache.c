/* data-cache.c — an input's features in memory, and the feature cache (data-cache.h). */
#include "data-cache.h"
#include "run-chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

static GQuark
cache_quark (void)
{
  return g_quark_from_static_string ("sp-cache");
}

gboolean
sp_npy_write (const char *path, const void *data, int64_t rows, int64_t cols, int elem_size,
              GError **error)
{
  g_autofree char *dict = g_strdup_printf (
      "{'descr': '<f%d', 'fortran_order': False, 'shape': (%" G_GINT64_FORMAT ", %"
      G_GINT64_FORMAT "), }", elem_size, rows, cols);
  /* magic (6) + version (2) + header length (2) + dict + padding + '\n' = multiple of 64 */
  size_t len = 10 + strlen (dict) + 1;
  size_t pad = (64 - len % 64) % 64;
  size_t hlen = strlen (dict) + pad + 1;
  g_autoptr (GString) head = g_string_new_len ("\x93NUMPY\x01\x00", 8);
  g_string_append_c (head, (char) (hlen & 0xff));
  g_string_append_c (head, (char) (hlen >> 8));
  g_string_append (head, dict);
  for (size_t i = 0; i < pad; i++)
    g_string_append_c (head, ' ');
  g_string_append_c (head, '\n');

  g_autofree char *tmp = g_strdup_printf ("%s.tmp-%d", path, (int) getpid ());
  FILE *fp = fopen (tmp, "wb");
  if (!fp) {
    g_set_error (error, cache_quark (), 0, "%s: %s", tmp, g_strerror (errno));
    return FALSE;
  }
  size_t n = (size_t) (rows * cols);
  gboolean ok = fwrite (head->str, 1, head->len, fp) == head->len
                && (n == 0 || fwrite (data, (size_t) elem_size, n, fp) == n);
  ok = (fflush (fp) == 0) && ok;
  ok = (fclose (fp) == 0) && ok;
  if (!ok || g_rename (tmp, path) != 0) {
    g_set_error (error, cache_quark (), 0, "%s: cannot write: %s", path, g_strerror (errno));
    g_unlink (tmp);
    return FALSE;
  }
  return TRUE;
}

gboolean
sp_npy_read (const char *path, void **data, int64_t *rows, int64_t *cols, int *elem_size,
             GError **error)
{
  g_autofree char *buf = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &buf, &len, error))
    return FALSE;
  if (len < 10 || memcmp (buf, "\x93NUMPY", 6) || buf[6] != 1) {
    g_set_error (error, cache_quark (), 0, "%s: not a version 1 .npy file", path);
    return FALSE;
  }
  size_t hlen = (unsigned char) buf[8] | ((size_t) (unsigned char) buf[9] << 8);
  if (10 + hlen > len) {
    g_set_error (error, cache_quark (), 0, "%s: truncated header", path);
    return FALSE;
  }
  g_autofree char *dict = g_strndup (buf + 10, hlen);
  int es = strstr (dict, "'descr': '<f4'") ? 4 : strstr (dict, "'descr': '<f8'") ? 8 : 0;
  const char *shape = strstr (dict, "'shape': (");
  long long r = -1, c = -1;
  if (!es || strstr (dict, "'fortran_order': True") || !shape
      || sscanf (shape, "'shape': (%lld, %lld)", &r, &c) != 2 || r < 0 || c < 0) {
    g_set_error (error, cache_quark (), 0, "%s: expected a 2-D float32/float64 array", path);
    return FALSE;
  }
  if ((guint64) r * (guint64) c * (guint64) es != len - 10 - hlen) {
    g_set_error (error, cache_quark (), 0, "%s: data size does not match the shape", path);
    return FALSE;
  }
  *data = g_memdup2 (buf + 10 + hlen, len - 10 - hlen);
  *rows = r;
  *cols = c;
  *elem_size = es;
  return TRUE;
}

char *
sp_cache_key (SpConfig *c, const SpInputInfo *input, GError **error)
{
  GStatBuf sb;
  if (g_stat (input->path, &sb) != 0) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: %s", input->path, g_strerror (errno));
    return NULL;
  }
  g_autofree char *abs = g_canonicalize_filename (input->path, NULL);
  g_autofree char *dec = sp_config_feature_settings (c, "decoder");
  g_autofree char *ext = sp_config_feature_settings (c, "extractor");
  g_autofree char *id = g_strdup_printf (
      "seqpipe-cache-1\n%s\n%lld\n%lld.%09ld\n%.9g\n%.9g\n%s\n%s\n", abs, (long long) sb.st_size,
      (long long) sb.st_mtim.tv_sec, (long) sb.st_mtim.tv_nsec, input->start, input->end,
      dec ? dec : "", ext ? ext : "");
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, id, -1);
}

static gboolean
cache_load (const char *x_path, const char *f_path, SpFeatures *out)
{
  void *x = NULL, *fr = NULL;
  int64_t r1, c1, r2, c2;
  int e1, e2;
  if (!sp_npy_read (x_path, &x, &r1, &c1, &e1, NULL))
    return FALSE;
  if (!sp_npy_read (f_path, &fr, &r2, &c2, &e2, NULL) || e1 != 4 || e2 != 8 || r1 != r2
      || c2 != 2 || c1 > G_MAXINT) {
    g_free (x);
    g_free (fr);
    return FALSE;
  }
  const double *rows = fr;
  out->T = r1;
  out->D = (int) c1;
  out->x = x;
  out->index = g_new (int64_t, r1 > 0 ? r1 : 1);
  out->time = g_new (double, r1 > 0 ? r1 : 1);
  for (int64_t t = 0; t < r1; t++) {
    out->index[t] = (int64_t) rows[2 * t];
    out->time[t] = rows[2 * t + 1];
  }
  out->broken = 0;
  g_free (fr);
  return TRUE;
}

gboolean
sp_cache_features (SpConfig *c, const char *cache_dir, const SpInputInfo *input,
                   SpFeatures *out, gboolean *hit, GError **error)
{
  memset (out, 0, sizeof *out);
  if (hit)
    *hit = FALSE;
  if (!cache_dir)
    return sp_extract_features (c, input, out, error);
  g_autofree char *key = sp_cache_key (c, input, error);
  if (!key)
    return FALSE;
  g_autofree char *x_path = g_strdup_printf ("%s/%s.npy", cache_dir, key);
  g_autofree char *f_path = g_strdup_printf ("%s/%s.frames.npy", cache_dir, key);
  if (cache_load (x_path, f_path, out)) {
    if (hit)
      *hit = TRUE;
    return TRUE;
  }
  if (!sp_extract_features (c, input, out, error))
    return FALSE;
  if (g_mkdir_with_parents (cache_dir, 0755) != 0) {
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[train] cache-dir: %s: %s", cache_dir,
                 g_strerror (errno));
    return FALSE;
  }
  g_autofree double *rows = g_new (double, 2 * (out->T > 0 ? out->T : 1));
  for (int64_t t = 0; t < out->T; t++) {
    rows[2 * t] = (double) out->index[t];
    rows[2 * t + 1] = out->time[t];
  }
  /* frames first: an entry counts only when both files exist */
  g_autoptr (GError) e = NULL;
  if (!sp_npy_write (f_path, rows, out->T, 2, 8, &e)
      || !sp_npy_write (x_path, out->x, out->T, out->D, 4, &e)) {
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[train] cache-dir: %s", e->message);
    return FALSE;
  }
  return TRUE;
}

/* ---- a whole input in memory --------------------------------------------------------- */

typedef struct {
  GArray *x;        /* float, T*D */
  GArray *index;    /* int64_t */
  GArray *time;     /* double */
  int D;
} Collect;

static gboolean
collect_frame (SpFrame *frame, void *user_data, GError **error)
{
  Collect *col = user_data;

  (void) error;
  g_array_append_vals (col->x, frame->features, col->D);
  g_array_append_val (col->index, frame->index);
  g_array_append_val (col->time, frame->time);
  return TRUE;
}

void
sp_features_clear (SpFeatures *f)
{
  g_clear_pointer (&f->x, g_free);
  g_clear_pointer (&f->index, g_free);
  g_clear_pointer (&f->time, g_free);
  f->T = 0;
  f->D = 0;
  f->broken = 0;
}

gboolean
sp_extract_features (SpConfig *c, const SpInputInfo *input, SpFeatures *out, GError **error)
{
  SpDecoderParams dec;
  g_autoptr (SpChain) ch = NULL;
  SpStreamStats stats = { 0, 0 };
  Collect col;
  gboolean ok;

  memset (out, 0, sizeof *out);
  sp_decoder_params_from_config (c, &dec);
  ch = sp_chain_open (c, input, &dec, error);
  if (ch == NULL)
    return FALSE;
  col.D = ch->feature_dim;
  col.x = g_array_new (FALSE, FALSE, sizeof (float));
  col.index = g_array_new (FALSE, FALSE, sizeof (int64_t));
  col.time = g_array_new (FALSE, FALSE, sizeof (double));
  ok = sp_chain_stream (ch, collect_frame, &col, &stats, error);
  if (!ok)
    {
      g_array_free (col.x, TRUE);
      g_array_free (col.index, TRUE);
      g_array_free (col.time, TRUE);
      return FALSE;
    }
  out->T = (int64_t) col.index->len;
  out->D = col.D;
  out->broken = stats.broken;
  out->x = (float *) (void *) g_array_free (col.x, FALSE);
  out->index = (int64_t *) (void *) g_array_free (col.index, FALSE);
  out->time = (double *) (void *) g_array_free (col.time, FALSE);
  return TRUE;
}
