/* data-cache.c — an input's features in memory, and the feature cache (data-cache.h). */
#include "data-cache.h"
#include "run-chain.h"
#include "spm-npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

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
      "seqpipe-cache-1 " SP_VERSION "\n%s\n%lld\n%lld.%09ld\n%.9g\n%.9g\n%s\n%s\n", abs,
      (long long) sb.st_size,
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
  if (!spm_npy_read (x_path, &x, &r1, &c1, &e1, NULL))
    return FALSE;
  if (!spm_npy_read (f_path, &fr, &r2, &c2, &e2, NULL) || e1 != 4 || e2 != 8 || r1 != r2
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
  /* the features are made: a cache that cannot keep them costs time, not the input */
  if (g_mkdir_with_parents (cache_dir, 0755) != 0) {
    g_printerr ("seqpipe: warning: [train] cache-dir: %s: %s; the features of %s are not "
                "kept\n", cache_dir, g_strerror (errno), input->path);
    return TRUE;
  }
  g_autofree double *rows = g_new (double, 2 * (out->T > 0 ? out->T : 1));
  for (int64_t t = 0; t < out->T; t++) {
    rows[2 * t] = (double) out->index[t];
    rows[2 * t + 1] = out->time[t];
  }
  /* frames first: an entry counts only when both files exist */
  g_autoptr (GError) e = NULL;
  if (!spm_npy_write (f_path, 8, rows, out->T, 2, &e)
      || !spm_npy_write (x_path, 4, out->x, out->T, out->D, &e))
    g_printerr ("seqpipe: warning: [train] cache-dir: %s; the features of %s are not kept\n",
                e->message, input->path);
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
