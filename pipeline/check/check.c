/* check.c — one stage of one plugin directory driven by hand, for tests: the same
 * instance code as a run (stage.c), an isolated plugin path, frames from a pool the
 * harness owns, and the records a head emits kept as copies. */
#include <seqpipe/check.h>

#include "host-config-private.h"
#include "host-stage.h"

#include <string.h>

struct SpHarness {
  SpRegistry *reg;
  SpStage *st;
  SpInputInfo input;
  char *input_strings[3];        /* path, name, stem behind input */
  SpDecoderParams dec;
  SpFrame frame;
  uint8_t *rgb;
  size_t rgb_size;
  float *features;
  int features_size;
  GArray *records;               /* SpRecord copies */
  GPtrArray *owned;              /* frames, probs and texts behind records */
  char *output;
  GHashTable *aux;               /* suffix -> path */
};

static void
set_input (SpHarness *h, const SpInputInfo *in)
{
  const char *path = in && in->path ? in->path : "input";
  h->input_strings[0] = g_strdup (path);
  h->input_strings[1] = in && in->name ? g_strdup (in->name) : g_path_get_basename (path);
  if (in && in->stem) {
    h->input_strings[2] = g_strdup (in->stem);
  } else {
    char *stem = g_strdup (h->input_strings[1]);
    char *dot = strrchr (stem, '.');
    if (dot && dot != stem)
      *dot = '\0';
    h->input_strings[2] = stem;
  }
  h->input.path = h->input_strings[0];
  h->input.name = h->input_strings[1];
  h->input.stem = h->input_strings[2];
  h->input.index = in ? in->index : 0;
  h->input.start = in ? in->start : 0.0;
  h->input.end = in ? in->end : -1.0;
}

static gboolean
harness_emit (SpStage *head, const SpRecord *record, void *user_data, GError **error)
{
  SpHarness *h = user_data;
  SpRecord copy = *record;
  (void) error;
  if (record->frame) {
    SpFrame *f = g_new0 (SpFrame, 1);
    f->index = record->frame->index;
    f->time = record->frame->time;
    f->width = record->frame->width;
    f->height = record->frame->height;
    f->feature_dim = record->frame->feature_dim;
    g_ptr_array_add (h->owned, f);
    copy.frame = f;
  }
  if (record->probs && head->n_labels > 0) {
    float *p = g_memdup2 (record->probs, sizeof (float) * (gsize) head->n_labels);
    g_ptr_array_add (h->owned, p);
    copy.probs = p;
  }
  if (record->text) {
    char *t = g_strdup (record->text);
    g_ptr_array_add (h->owned, t);
    copy.text = t;
  }
  g_array_append_val (h->records, copy);
  return TRUE;
}

static const char *
harness_aux_path (SpStage *st, const char *suffix, GError **error)
{
  SpHarness *h = sp_stage_host (st)->aux_data;
  if (!st->output_path) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: no output path was set",
                 sp_stage_host (st)->klass->name);
    return NULL;
  }
  char *path = g_hash_table_lookup (h->aux, suffix);
  if (!path) {
    path = g_strconcat (st->output_path, suffix, NULL);
    g_hash_table_insert (h->aux, g_strdup (suffix), path);
  }
  return path;
}

static char *
dir_listing (SpRegistry *reg)
{
  GString *s = g_string_new (NULL);
  int n = 0;
  const SpRegistryStage *stages = sp_registry_stages (reg, &n);
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", stages[i].klass->name);
  if (n == 0)
    g_string_append (s, "no stages");
  const SpRegistryRefusal *refusals = sp_registry_refusals (reg, &n);
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "; refused %s: %s", refusals[i].file, refusals[i].reason);
  return g_string_free (s, FALSE);
}

SpHarness *
sp_harness_new (const char *plugin_dir, const char *stage_name, const char *const *keys,
                const SpInputInfo *input, const SpDecoderParams *dec, GError **error)
{
  g_autoptr (SpHarness) h = g_new0 (SpHarness, 1);
  const char *dirs[] = { plugin_dir, NULL };
  h->reg = sp_registry_new_isolated (dirs);
  h->records = g_array_new (FALSE, FALSE, sizeof (SpRecord));
  h->owned = g_ptr_array_new_with_free_func (g_free);
  h->aux = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  /* "kind:name" picks one of two stages of the same name (decoder:npy, sink:npy) */
  const SpRegistryStage *found = NULL;
  const char *colon = strchr (stage_name, ':');
  if (colon) {
    int n = 0;
    const SpRegistryStage *stages = sp_registry_stages (h->reg, &n);
    for (int i = 0; i < n && !found; i++)
      if (g_str_equal (stages[i].klass->name, colon + 1)
          && strncmp (sp_stage_kind_name (stages[i].klass->kind), stage_name,
                      (size_t) (colon - stage_name)) == 0
          && sp_stage_kind_name (stages[i].klass->kind)[colon - stage_name] == '\0')
        found = &stages[i];
  } else {
    found = sp_registry_lookup (h->reg, stage_name);
  }
  if (!found) {
    g_autofree char *listing = dir_listing (h->reg);
    g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN, "%s: no stage '%s' (%s)", plugin_dir,
                 stage_name, listing);
    return NULL;
  }
  const SpStageClass *klass = found->klass;

  g_autoptr (GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (int i = 0; keys && keys[i]; i++) {
    const char *eq = strchr (keys[i], '=');
    g_autofree char *name = eq ? g_strndup (keys[i], (gsize) (eq - keys[i])) : g_strdup (keys[i]);
    if (!eq || !sp_key_find (klass->keys, name)) {
      g_autoptr (GPtrArray) names = g_ptr_array_new ();
      for (const SpKey *k = klass->keys; k && k->name; k++)
        g_ptr_array_add (names, (char *) k->name);
      g_ptr_array_add (names, NULL);
      g_autofree char *hint = sp_suggest_text (name, (const char *const *) names->pdata);
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s: %s: %s%s", stage_name, keys[i],
                   eq ? "unknown key" : "expected KEY=VALUE", eq ? hint : "");
      return NULL;
    }
    g_hash_table_replace (values, g_steal_pointer (&name), g_strdup (eq + 1));
  }

  set_input (h, input);
  h->dec = dec ? *dec : (SpDecoderParams) { 0.0, 64, 64, 0 };
  g_autofree char *where = g_strdup_printf ("%s: ", stage_name);
  h->st = sp_stage_new_from_values (klass, values, where, &h->input, &h->dec, error);
  if (!h->st)
    return NULL;
  SpStageHost *host = sp_stage_host (h->st);
  host->emit = harness_emit;
  host->emit_data = h;
  host->aux_path = harness_aux_path;
  host->aux_data = h;
  host->settings[0] = g_strdup_printf ("{\"fps\":%g,\"height\":%d,\"width\":%d}", h->dec.fps,
                                       h->dec.height, h->dec.width);
  host->settings[1] = g_strdup ("{}");
  return g_steal_pointer (&h);
}

void
sp_harness_free (SpHarness *h)
{
  if (!h)
    return;
  sp_stage_free (h->st);          /* finalize before the plugin is unloaded */
  sp_registry_free (h->reg);
  for (int i = 0; i < 3; i++)
    g_free (h->input_strings[i]);
  g_free (h->rgb);
  g_free (h->features);
  if (h->records)
    g_array_unref (h->records);
  if (h->owned)
    g_ptr_array_unref (h->owned);
  if (h->aux)
    g_hash_table_unref (h->aux);
  g_free (h->output);
  g_free (h);
}

SpStage *
sp_harness_stage (SpHarness *h)
{
  return h->st;
}

void
sp_harness_set_feature_dim (SpHarness *h, int dim)
{
  h->st->feature_dim = dim;
}

void
sp_harness_set_labels (SpHarness *h, const char *const *labels, int n)
{
  sp_stage_set_labels (h->st, labels, n);
}

void
sp_harness_set_output (SpHarness *h, const char *path, gboolean combined)
{
  g_free (h->output);
  h->output = g_strdup (path);
  h->st->output_path = h->output;
  h->st->combined = combined;
}

void
sp_harness_set_checkpoint (SpHarness *h, const char *path)
{
  SpStageHost *host = sp_stage_host (h->st);
  g_free (host->checkpoint);
  host->checkpoint = g_strdup (path);
}

void
sp_harness_set_head (SpHarness *h, const char *head)
{
  SpStageHost *host = sp_stage_host (h->st);
  g_free (host->head_name);
  host->head_name = g_strdup (head);
}

void
sp_harness_set_records (SpHarness *h, unsigned records)
{
  h->st->records = records;
}

void
sp_harness_set_feature_settings (SpHarness *h, const char *which, const char *json)
{
  SpStageHost *host = sp_stage_host (h->st);
  int i = g_strcmp0 (which, "extractor") == 0;
  g_free (host->settings[i]);
  host->settings[i] = g_strdup (json);
}

gboolean
sp_harness_init (SpHarness *h, GError **error)
{
  return sp_stage_init (h->st, error);
}

SpFrame *
sp_harness_frame (SpHarness *h)
{
  SpStageKind kind = sp_stage_host (h->st)->klass->kind;
  int out_dim = sp_stage_output_dim (h->st);
  int dim = (kind == SP_STAGE_DECODER || kind == SP_STAGE_EXTRACTOR) && out_dim > 0
              ? out_dim : h->st->feature_dim;
  size_t rgb_size = (size_t) h->dec.width * (size_t) h->dec.height * 3;
  if (h->rgb == NULL || rgb_size != h->rgb_size) {
    g_free (h->rgb);
    h->rgb = g_malloc0 (MAX (rgb_size, 1));
    h->rgb_size = rgb_size;
  }
  if (MAX (dim, 1) > h->features_size) {
    g_free (h->features);
    h->features_size = MAX (dim, 1);
    h->features = g_new0 (float, (gsize) h->features_size);
  }
  memset (h->rgb, 0, MAX (h->rgb_size, 1));
  memset (h->features, 0, sizeof (float) * (gsize) h->features_size);
  h->frame = (SpFrame) { 0, 0.0, h->dec.width, h->dec.height, h->rgb, h->features, dim };
  if (kind == SP_STAGE_DECODER && out_dim > 0)
    h->frame.rgb = NULL;     /* a feature decoder's frames have no pixels */
  return &h->frame;
}

/* what a sink class takes and the records the harness says the run makes */
static gboolean
sink_takes (SpHarness *h, unsigned what, GError **error)
{
  const SpStageClass *k = sp_stage_host (h->st)->klass;
  unsigned takes = sp_stage_class_takes (k);

  if (k->kind == SP_STAGE_SINK && (takes & what))
    return TRUE;
  g_set_error (error, SP_ERROR, SP_ERROR_USAGE, "%s: the %s does not take %s (set the run's "
               "records with sp_harness_set_records)", k->name, sp_stage_kind_name (k->kind),
               sp_records_describe (what));
  return FALSE;
}

/* a function the stage's kind does not have is a mistake of the test */
static gboolean
has (SpHarness *h, gboolean present, const char *what, GError **error)
{
  const SpStageClass *k = sp_stage_host (h->st)->klass;

  if (present)
    return TRUE;
  g_set_error (error, SP_ERROR, SP_ERROR_USAGE, "%s: a %s has no %s function", k->name,
               sp_stage_kind_name (k->kind), what);
  return FALSE;
}

SpDecodeStatus
sp_harness_decode (SpHarness *h, SpFrame *frame, GError **error)
{
  if (!has (h, sp_stage_host (h->st)->klass->decode != NULL, "decode", error))
    return SP_DECODE_ERROR;
  return sp_stage_decode (h->st, frame, error);
}

gboolean
sp_harness_process (SpHarness *h, SpFrame *frame, GError **error)
{
  return has (h, sp_stage_host (h->st)->klass->process != NULL, "process", error)
         && sp_stage_process (h->st, frame, error);
}

gboolean
sp_harness_write (SpHarness *h, const SpRecord *record, GError **error)
{
  return sink_takes (h, h->st->records, error) && sp_stage_write (h->st, record, error);
}

gboolean
sp_harness_frame_to_sink (SpHarness *h, const SpFrame *frame, GError **error)
{
  return sink_takes (h, SP_TAKES_FRAMES, error) && sp_stage_frame (h->st, frame, error);
}

gboolean
sp_harness_flush (SpHarness *h, GError **error)
{
  return sp_stage_flush (h->st, error);
}

const SpRecord *
sp_harness_records (SpHarness *h, int *n)
{
  *n = (int) h->records->len;
  return (const SpRecord *) (void *) h->records->data;
}
