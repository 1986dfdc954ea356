/* extract.c — an input's decoder and extractor (the chain every verb shares), and
 * sp_extract_features: a whole input's features in memory, for train and eval. */
#include "run.h"

#include <string.h>

void
sp_decoder_params_from_config (SpConfig *c, SpDecoderParams *dec)
{
  dec->fps = sp_config_double (c, "decoder", "fps");
  dec->width = (int) sp_config_int (c, "decoder", "width");
  dec->height = (int) sp_config_int (c, "decoder", "height");
  dec->threads = (int) sp_config_int (c, "decoder", "threads");
}

gboolean
sp_input_is_sequence_pattern (const char *path)
{
  const char *base = strrchr (path, '/');

  for (const char *p = base ? base + 1 : path; (p = strchr (p, '%')) != NULL; p++)
    {
      const char *q = p + 1;

      while (*q >= '0' && *q <= '9')
        q++;
      if (*q == 'd')
        return TRUE;
    }
  return FALSE;
}

static const SpStageClass *
decoder_claiming (SpRegistry *r, const char *ext)
{
  const SpRegistryStage *stages;
  int n;

  stages = sp_registry_stages (r, &n);
  for (int i = 0; i < n; i++)
    {
      const SpStageClass *k = stages[i].klass;

      if (k->kind != SP_STAGE_DECODER || k->extensions == NULL)
        continue;
      for (int e = 0; k->extensions[e] != NULL; e++)
        if (g_ascii_strcasecmp (k->extensions[e], ext) == 0)
          return k;
    }
  return NULL;
}

const SpStageClass *
sp_chain_decoder_class (SpConfig *c, const SpInputInfo *in, GError **error)
{
  SpRegistry *r = sp_config_registry (c);
  const char *name = sp_config_decoder (c);
  const SpStageClass *k;
  g_autofree char *ext = NULL;

  if (name != NULL)
    {
      k = sp_registry_find (r, name, SP_STAGE_DECODER);
      if (k == NULL)
        g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                     "[decoder] plugin: no decoder named \"%s\"", name);
      return k;
    }
  if (sp_input_is_sequence_pattern (in->path) || g_file_test (in->path, G_FILE_TEST_IS_DIR))
    {
      k = decoder_claiming (r, "/");
      if (k == NULL)
        g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                     "%s: no decoder reads directories or numbered file patterns",
                     in->path);
      return k;
    }
  if (strrchr (in->name, '.') == NULL)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "%s: no extension to choose a decoder by; set [decoder] plugin", in->path);
      return NULL;
    }
  ext = g_ascii_strdown (strrchr (in->name, '.') + 1, -1);
  k = decoder_claiming (r, ext);
  if (k == NULL)
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                 "%s: no decoder reads .%s files; set [decoder] plugin", in->path, ext);
  return k;
}

void
sp_chain_free (SpChain *ch)
{
  if (ch == NULL)
    return;
  g_clear_pointer (&ch->extractor, sp_stage_free);
  g_clear_pointer (&ch->decoder, sp_stage_free);
  g_free (ch);
}

void
sp_error_name_input (GError *error, const SpInputInfo *in, int64_t frame)
{
  const char *msg = error->message;
  size_t plen = strlen (in->path);
  g_autofree char *where = NULL;
  char *old = error->message;

  if (strncmp (msg, in->path, plen) == 0 && msg[plen] == ':')
    msg += plen + 1;
  while (*msg == ' ')
    msg++;
  where = frame >= 0 ? g_strdup_printf ("frame %" G_GINT64_FORMAT ": ", frame) : g_strdup ("");
  error->message = g_strdup_printf ("%s: %s%s", in->path, where, msg);
  g_free (old);
}

static SpChain *
chain_open (SpConfig *c, const SpInputInfo *in, const SpDecoderParams *dec, GError **error)
{
  g_autoptr (SpChain) ch = g_new0 (SpChain, 1);
  const SpStageClass *dk, *ek;
  const char *ename;

  dk = sp_chain_decoder_class (c, in, error);
  if (dk == NULL)
    return NULL;
  ch->decoder = sp_stage_new (c, dk, "decoder", in, dec, error);
  if (ch->decoder == NULL || !sp_stage_init (ch->decoder, error))
    return NULL;
  ch->expected_frames = sp_stage_expected_frames (ch->decoder);
  ch->feature_dim = sp_stage_output_dim (ch->decoder);
  if (ch->feature_dim > 0)
    return g_steal_pointer (&ch);     /* features straight from the decoder */

  ename = sp_config_extractor (c);
  ek = sp_registry_find (sp_config_registry (c), ename, SP_STAGE_EXTRACTOR);
  if (ek == NULL)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                   "[extractor] plugin: no extractor named \"%s\"", ename);
      return NULL;
    }
  ch->extractor = sp_stage_new (c, ek, "extractor", in, dec, error);
  if (ch->extractor == NULL || !sp_stage_init (ch->extractor, error))
    return NULL;
  ch->feature_dim = sp_stage_output_dim (ch->extractor);
  if (ch->feature_dim <= 0)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN,
                   "[extractor] plugin: the %s extractor did not give its feature size",
                   ek->name);
      return NULL;
    }
  return g_steal_pointer (&ch);
}

SpChain *
sp_chain_open (SpConfig *c, const SpInputInfo *in, const SpDecoderParams *dec,
               GError **error)
{
  GError *local = NULL;
  SpChain *ch = chain_open (c, in, dec, &local);

  if (ch == NULL)
    {
      if (!g_error_matches (local, SP_ERROR, SP_ERROR_CONFIG)
          && !g_error_matches (local, SP_ERROR, SP_ERROR_PLUGIN))
        sp_error_name_input (local, in, -1);
      g_propagate_error (error, local);
    }
  return ch;
}

/* ---- sp_extract_features --------------------------------------------------------- */

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
