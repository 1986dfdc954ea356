/* stage.c — a stage instance: private state allocated zeroed and filled from the
 * key table, init, and finalize whenever init was called (even when it failed); and
 * the host services <seqpipe/plugin.h> promises a stage. */
#include "sp-keys.h"

#include <string.h>

static const SpInputInfo no_input = { "", "", "", 0, 0.0, -1.0 };
static const SpDecoderParams default_decoder = { 0.0, 64, 64, 0 };

SpStage *
sp_stage_new_from_values (const SpStageClass *klass, GHashTable *values, const char *where,
                          const SpInputInfo *input, const SpDecoderParams *dec, GError **error)
{
  g_autoptr (SpStage) st = g_new0 (SpStage, 1);
  SpStageHost *host = g_new0 (SpStageHost, 1);
  st->host = host;
  host->klass = klass;
  host->expected_frames = -1;
  st->priv = g_malloc0 (MAX (klass->priv_size, 1));
  st->input = input ? input : &no_input;
  st->decoder = dec ? dec : &default_decoder;

  g_autoptr (GPtrArray) strings = g_ptr_array_new ();
  gboolean ok = TRUE;
  for (const SpKey *k = klass->keys; ok && k && k->name; k++) {
    const char *text = values ? g_hash_table_lookup (values, k->name) : NULL;
    if (!text)
      text = k->def;
    if (!text) {
      if (k->type == SP_KEY_STRING || k->type == SP_KEY_PATH)
        continue;   /* a NULL string */
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s%s: missing; a value is required",
                   where, k->name);
      ok = FALSE;
      break;
    }
    SpKeyValue v;
    g_autoptr (GError) local = NULL;
    if (!sp_key_parse (k, text, &v, &local)) {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s%s: %s", where, k->name, local->message);
      ok = FALSE;
      break;
    }
    char *copy = NULL;
    if (k->type == SP_KEY_STRING || k->type == SP_KEY_PATH) {
      copy = g_strdup (text);
      g_ptr_array_add (strings, copy);
    }
    sp_key_store (k, &v, copy, st->priv);
  }
  g_ptr_array_add (strings, NULL);
  host->strings = (char **) g_ptr_array_free (g_steal_pointer (&strings), FALSE);
  if (!ok)
    return NULL;
  return g_steal_pointer (&st);
}

SpStage *
sp_stage_new (SpConfig *c, const SpStageClass *klass, const char *group,
              const SpInputInfo *input, const SpDecoderParams *dec, GError **error)
{
  g_autoptr (GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autofree char *where = g_strdup_printf ("[%s] ", group);
  for (const SpKey *k = klass->keys; c && k && k->name; k++) {
    char *v = sp_config_value (c, group, k->name, k->type == SP_KEY_PATH);
    if (v)
      g_hash_table_insert (values, (char *) k->name, v);
  }
  SpStage *st = sp_stage_new_from_values (klass, values, where, input, dec, error);
  if (!st)
    return NULL;
  SpStageHost *host = sp_stage_host (st);
  host->config = c;
  if (c) {
    host->checkpoint = sp_config_path (c, "model", "checkpoint");
    host->head_name = g_strdup (sp_config_head (c));
  }
  return st;
}

gboolean
sp_stage_init (SpStage *st, GError **error)
{
  SpStageHost *host = sp_stage_host (st);
  GError *local = NULL;
  host->init_called = TRUE;
  if (host->klass->init (st, &local)) {
    if (local) {
      g_warning ("seqpipe: stage '%s' set an error but its init succeeded: %s",
                 host->klass->name, local->message);
      g_error_free (local);
    }
    return TRUE;
  }
  if (!local)
    local = g_error_new (SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                         "%s: init failed without saying why", host->klass->name);
  g_propagate_error (error, local);
  return FALSE;
}

void
sp_stage_free (SpStage *st)
{
  if (!st)
    return;
  SpStageHost *host = sp_stage_host (st);
  if (host->init_called && host->klass->finalize)
    host->klass->finalize (st);
  g_free (st->priv);
  g_strfreev (host->strings);
  g_strfreev (host->labels);
  g_free (host->checkpoint);
  g_free (host->head_name);
  g_free (host->settings[0]);
  g_free (host->settings[1]);
  g_free (host);
  g_free (st);
}

int
sp_stage_output_dim (SpStage *st)
{
  return sp_stage_host (st)->output_dim;
}

int64_t
sp_stage_expected_frames (SpStage *st)
{
  return sp_stage_host (st)->expected_frames;
}

/* ---- host services (plugin.h) ------------------------------------------------------ */

void
sp_stage_set_feature_dim (SpStage *st, int dim)
{
  SpStageHost *host = sp_stage_host (st);
  host->output_dim = dim;
  if (host->klass->kind == SP_STAGE_DECODER)
    st->feature_dim = dim;   /* a decoder's frames carry the features it makes */
}

void
sp_stage_set_expected_frames (SpStage *st, int64_t n)
{
  sp_stage_host (st)->expected_frames = n < 0 ? -1 : n;
}

void
sp_stage_set_labels (SpStage *st, const char *const *labels, int n)
{
  SpStageHost *host = sp_stage_host (st);
  char **copy = g_new0 (char *, (gsize) MAX (n, 0) + 1);
  for (int i = 0; i < n; i++)
    copy[i] = g_strdup (labels[i] ? labels[i] : "");
  g_strfreev (host->labels);
  host->labels = copy;
  st->labels = (const char *const *) copy;
  st->n_labels = MAX (n, 0);
}

gboolean
sp_stage_emit (SpStage *st, const SpRecord *record, GError **error)
{
  SpStageHost *host = sp_stage_host (st);
  if (!host->emit)
    return TRUE;
  GError *local = NULL;
  if (host->emit (st, record, host->emit_data, &local))
    return TRUE;
  if (!local)
    local = g_error_new_literal (SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "a sink failed");
  g_propagate_error (error, local);
  return FALSE;
}

const char *
sp_stage_model_checkpoint (SpStage *st)
{
  return sp_stage_host (st)->checkpoint;
}

const char *
sp_stage_feature_settings (SpStage *st, const char *which)
{
  SpStageHost *host = sp_stage_host (st);
  int i = g_strcmp0 (which, "extractor") == 0;
  if (!host->settings[i])
    host->settings[i] = host->config ? sp_config_feature_settings (host->config, i ? "extractor"
                                                                                   : "decoder")
                                     : g_strdup ("{}");
  return host->settings[i];
}

const char *
sp_stage_head_name (SpStage *st)
{
  return sp_stage_host (st)->head_name;
}

const char *
sp_stage_output_path_aux (SpStage *st, const char *suffix, GError **error)
{
  SpStageHost *host = sp_stage_host (st);
  if (host->aux_path)
    return host->aux_path (st, suffix, error);
  g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO,
               "%s: no second output can be written here", host->klass->name);
  return NULL;
}
