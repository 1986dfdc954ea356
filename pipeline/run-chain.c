/* run-chain.c — an input's decoder and extractor: the chain every verb shares
 * (run-chain.h). */
#include "run-chain.h"
#include "run-inputs.h"

#include <string.h>

void
sp_decoder_params_from_config (SpConfig *c, SpDecoderParams *dec)
{
  dec->fps = sp_config_double (c, "decoder", "fps");
  dec->width = (int) sp_config_int (c, "decoder", "width");
  dec->height = (int) sp_config_int (c, "decoder", "height");
  dec->threads = (int) sp_config_int (c, "decoder", "threads");
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
  ch->duration = sp_stage_host (ch->decoder)->duration;
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
      if (!sp_error_is_setup (local))
        sp_error_name_input (local, in, -1);
      g_propagate_error (error, local);
    }
  return ch;
}
