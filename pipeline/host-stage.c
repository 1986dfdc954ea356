/* host-stage.c — a stage instance: private state allocated zeroed and filled from the
 * key table, the one path into each of its functions (host-stage.h), finalize
 * whenever init was called (even when it failed); and the host services
 * <seqpipe/plugin.h> promises a stage. */
#include "host-config-private.h"
#include "host-stage.h"

#include <math.h>
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
  if (klass->kind == SP_STAGE_HEAD)
    st->records = klass->records;
  host->expected_frames = -1;
  host->duration = -1;
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

/* ---- calling a stage ----------------------------------------------------------------- */

/* FALSE from a stage: *error is set, whatever the stage did with its own */
static gboolean
failed (SpStage *st, const char *what, GError *local, GError **error)
{
  const SpStageClass *k = sp_stage_host (st)->klass;

  if (local == NULL)
    local = g_error_new (SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FAILED,
                         "the %s %s failed in %s without saying why", k->name,
                         sp_stage_kind_name (k->kind), what);
  g_propagate_error (error, local);
  return FALSE;
}

/* TRUE from a stage: an error it set anyway is dropped */
static gboolean
succeeded (SpStage *st, const char *what, GError *local)
{
  if (local != NULL) {
    g_warning ("seqpipe: stage '%s' set an error but its %s succeeded: %s",
               sp_stage_host (st)->klass->name, what, local->message);
    g_error_free (local);
  }
  return TRUE;
}

static gboolean
missing (SpStage *st, const char *what, GError **error)
{
  const SpStageClass *k = sp_stage_host (st)->klass;

  g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN, "the %s %s has no %s function", k->name,
               sp_stage_kind_name (k->kind), what);
  return FALSE;
}

#define CALL(st, fn, what, error, ...)                                            \
  G_STMT_START {                                                                  \
    GError *local_ = NULL;                                                        \
    if (sp_stage_host (st)->klass->fn == NULL)                                    \
      return missing (st, what, error);                                           \
    if (sp_stage_host (st)->klass->fn (st, __VA_ARGS__, &local_))                 \
      return succeeded (st, what, local_);                                        \
    return failed (st, what, local_, error);                                      \
  } G_STMT_END

gboolean
sp_stage_init (SpStage *st, GError **error)
{
  SpStageHost *host = sp_stage_host (st);
  GError *local = NULL;
  host->init_called = TRUE;
  if (host->klass->init (st, &local))
    return succeeded (st, "init", local);
  return failed (st, "init", local, error);
}

SpDecodeStatus
sp_stage_decode (SpStage *st, SpFrame *frame, GError **error)
{
  const SpStageClass *k = sp_stage_host (st)->klass;
  GError *local = NULL;
  SpDecodeStatus s;

  if (k->decode == NULL) {
    missing (st, "decode", error);
    return SP_DECODE_ERROR;
  }
  s = k->decode (st, frame, &local);
  switch (s) {
  case SP_DECODE_FRAME:
  case SP_DECODE_BROKEN:
  case SP_DECODE_EOF:
    succeeded (st, "decode", local);
    return s;
  case SP_DECODE_ERROR:
    failed (st, "decode", local, error);
    return SP_DECODE_ERROR;
  }
  g_clear_error (&local);
  g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN, "the %s decoder returned an unknown status %d",
               k->name, (int) s);
  return SP_DECODE_ERROR;
}

gboolean
sp_stage_process (SpStage *st, SpFrame *frame, GError **error)
{
  CALL (st, process, "process", error, frame);
}

gboolean
sp_stage_write (SpStage *st, const SpRecord *record, GError **error)
{
  CALL (st, write, "write", error, record);
}

gboolean
sp_stage_frame (SpStage *st, const SpFrame *frame, GError **error)
{
  const SpStageClass *k = sp_stage_host (st)->klass;

  if (k->frame == NULL && k->write != NULL) {
    /* a sink of ABI 1.1 taking frames (SP_HEADS_NONE) had them as label -1 records */
    SpRecord rec = { .frame = frame, .label = -1 };
    return sp_stage_write (st, &rec, error);
  }
  CALL (st, frame, "frame", error, frame);
}

int
sp_stage_batch (SpStage *st)
{
  SpStageHost *host = sp_stage_host (st);

  return host->klass->process_batch != NULL && host->batch > 1 ? host->batch : 1;
}

gboolean
sp_stage_process_batch (SpStage *st, SpFrame *const *frames, int n, GError **error)
{
  const SpStageClass *k = sp_stage_host (st)->klass;
  GError *local = NULL;

  if (sp_stage_batch (st) == 1)
    {
      for (int i = 0; i < n; i++)
        if (!sp_stage_process (st, frames[i], error))
          return FALSE;
      return TRUE;
    }
  g_return_val_if_fail (n <= sp_stage_batch (st), FALSE);
  if (k->process_batch (st, frames, n, &local))
    return succeeded (st, "process_batch", local);
  return failed (st, "process_batch", local, error);
}

gboolean
sp_stage_flush (SpStage *st, GError **error)
{
  GError *local = NULL;
  if (sp_stage_host (st)->klass->flush == NULL)
    return TRUE;
  if (sp_stage_host (st)->klass->flush (st, &local))
    return succeeded (st, "flush", local);
  return failed (st, "flush", local, error);
}

#undef CALL

/* ---- record declarations -------------------------------------------------------------- */

unsigned
sp_stage_class_takes (const SpStageClass *k)
{
  unsigned takes = 0;

  if (k->takes != 0 || k->kind != SP_STAGE_SINK)
    return k->takes;
  /* ABI 1.1 (the registry refuses a 1.2 sink without takes) */
  if (k->heads_mask == 0)
    return SP_RECORDS_ALL | SP_TAKES_FRAMES;
  if (k->heads_mask & SP_HEADS_LABELER)
    takes |= SP_RECORDS_FRAME;
  if (k->heads_mask & SP_HEADS_CLASSIFIER)
    takes |= SP_RECORDS_INPUT;
  if (k->heads_mask & SP_HEADS_CAPTIONER)
    takes |= SP_RECORDS_CAPTION;
  if (k->heads_mask & SP_HEADS_NONE)
    takes |= SP_TAKES_FRAMES;
  return takes;
}

const char *
sp_records_describe (unsigned records)
{
  switch (records) {
  case SP_RECORDS_FRAME: return "one record per frame";
  case SP_RECORDS_INPUT: return "one record per input";
  case SP_RECORDS_CAPTION: return "a caption per input";
  case SP_TAKES_FRAMES: return "the frames";
  case 0: return "nothing";
  }
  return "records of several kinds";
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
sp_stage_set_duration (SpStage *st, double seconds)
{
  sp_stage_host (st)->duration = seconds > 0 && isfinite (seconds) ? seconds : -1;
}

double
sp_stage_input_duration (SpStage *st)
{
  return sp_stage_host (st)->duration;
}

void
sp_stage_set_batch (SpStage *st, int n)
{
  sp_stage_host (st)->batch = CLAMP (n, 1, 256);
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

/* A record is what its head declared (plugin.h): the host routes it by that
 * declaration, so one of another shape would reach sinks that cannot read it. */
static gboolean
record_fits (SpStage *st, const SpRecord *r, GError **error)
{
  const char *name = sp_stage_host (st)->klass->name;
  const char *what = NULL;

  switch (st->records) {
  case SP_RECORDS_FRAME:
    if (r->frame == NULL)
      what = "a record without a frame";
    break;
  case SP_RECORDS_INPUT:
  case SP_RECORDS_CAPTION:
    if (r->frame != NULL)
      what = "a record of one frame";
    else if (st->records == SP_RECORDS_CAPTION && r->text == NULL)
      what = "a record without a caption";
    break;
  default:
    what = "a record (it is not a head)";
  }
  if (what == NULL && st->records != SP_RECORDS_CAPTION
      && (r->label < 0 || (st->n_labels > 0 && r->label >= st->n_labels)))
    what = "a record with a label outside its labels";
  if (what == NULL)
    return TRUE;
  g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN, "the %s head declares %s but emitted %s",
               name, sp_records_describe (st->records), what);
  return FALSE;
}

gboolean
sp_stage_emit (SpStage *st, const SpRecord *record, GError **error)
{
  SpStageHost *host = sp_stage_host (st);
  if (!record_fits (st, record, error))
    return FALSE;
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
