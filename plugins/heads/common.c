/* common.c — checkpoint loading and checks shared by the heads (see heads.h). */
#include "heads.h"

#include <stdio.h>
#include <string.h>

#include "spm-json.h"


int
sp_heads_argmax (const float *p, int n)
{
  int k = 0;
  for (int i = 1; i < n; i++)
    if (p[i] > p[k])
      k = i;
  return k;
}

static gboolean
json_equal (const SpmJson *a, const SpmJson *b)
{
  if (!a || !b)
    return a == b;
  if (a->type != b->type)
    return FALSE;
  switch (a->type) {
  case SPM_JSON_NULL: return TRUE;
  case SPM_JSON_BOOL: return a->boolean == b->boolean;
  case SPM_JSON_NUMBER: return a->number == b->number;
  case SPM_JSON_STRING: return strcmp (a->string, b->string) == 0;
  case SPM_JSON_ARRAY:
    if (a->n != b->n)
      return FALSE;
    for (int i = 0; i < a->n; i++)
      if (!json_equal (a->items[i], b->items[i]))
        return FALSE;
    return TRUE;
  case SPM_JSON_OBJECT:
    if (a->n != b->n)
      return FALSE;
    for (int i = 0; i < a->n; i++)
      if (!json_equal (a->items[i], spm_json_get (b, a->keys[i])))
        return FALSE;
    return TRUE;
  }
  return FALSE;
}

static void
append_value (GString *s, const SpmJson *v)
{
  if (!v)
    g_string_append (s, "unset");
  else if (v->type == SPM_JSON_STRING)
    g_string_append (s, v->string);
  else if (v->type == SPM_JSON_NUMBER)
    g_string_append_printf (s, "%g", v->number);
  else if (v->type == SPM_JSON_BOOL)
    g_string_append (s, v->boolean ? "true" : "false");
  else
    g_string_append (s, "(value)");
}

/* appends "[which] key (checkpoint A, config B)" for every key whose values differ */
static void
diff_settings (GString *out, const char *which, const SpmJson *ck, const SpmJson *cf)
{
  const SpmJson *objs[2] = { ck, cf };
  for (int side = 0; side < 2; side++) {
    const SpmJson *o = objs[side];
    for (int i = 0; o && o->type == SPM_JSON_OBJECT && i < o->n; i++) {
      const char *key = o->keys[i];
      if (side == 1 && ck && spm_json_get (ck, key))
        continue;   /* listed already from the checkpoint's side */
      const SpmJson *a = spm_json_get (ck, key), *b = spm_json_get (cf, key);
      if (json_equal (a, b))
        continue;
      g_string_append_printf (out, "%s[%s] %s (checkpoint ", out->len ? ", " : "", which, key);
      append_value (out, a);
      g_string_append (out, ", config ");
      append_value (out, b);
      g_string_append (out, ")");
    }
  }
}

/* An .npy input is features already: the [decoder] fps/width/height and the extractor
 * describe frames those features did not come from, so they are not compared. */
static gboolean
features_input (SpStage *st, const SpmJson *ck_decoder)
{
  const char *cf = sp_stage_feature_settings (st, "decoder");
  g_autoptr (SpmJson) d = cf ? spm_json_parse (cf, strlen (cf), "config", NULL) : NULL;
  const SpmJson *a = d ? spm_json_get (d, "plugin") : NULL;
  const SpmJson *b = ck_decoder ? spm_json_get (ck_decoder, "plugin") : NULL;
  if ((a && a->type == SPM_JSON_STRING && !strcmp (a->string, "npy"))
      || (b && b->type == SPM_JSON_STRING && !strcmp (b->string, "npy")))
    return TRUE;
  const char *in = st->input ? st->input->path : NULL;
  return in && g_str_has_suffix (in, ".npy");
}

/* settings without the keys an .npy input does not use (plugin: npy on one side, chosen
 * by the extension on the other) */
static void
drop_frame_keys (SpmJson *o)
{
  static const char *const keys[] = { "fps", "width", "height", "threads", "plugin" };
  for (int i = 0; o && o->type == SPM_JSON_OBJECT && i < o->n;) {
    gboolean drop = FALSE;
    for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
      drop = drop || !strcmp (o->keys[i], keys[k]);
    if (!drop) {
      i++;
      continue;
    }
    spm_json_free (o->items[i]);
    g_free (o->keys[i]);
    memmove (&o->items[i], &o->items[i + 1], sizeof *o->items * (size_t) (o->n - i - 1));
    /* keys are NULL-terminated (g_strfreev): the terminator moves too */
    memmove (&o->keys[i], &o->keys[i + 1], sizeof *o->keys * (size_t) (o->n - i));
    o->n--;
  }
}

static gboolean
check_settings (SpStage *st, const SpmModel *m, const char *path, GError **error)
{
  g_autoptr (GString) diff = g_string_new (NULL);
  static const char *const which[] = { "decoder", "extractor" };
  gboolean npy = FALSE;
  for (int w = 0; w < 2; w++) {
    const char *ck_text = m->meta ? g_hash_table_lookup (m->meta, which[w]) : NULL;
    const char *cf_text = sp_stage_feature_settings (st, which[w]);
    if (!ck_text)
      continue;   /* made elsewhere without the record: nothing to check against */
    g_autoptr (SpmJson) ck = spm_json_parse (ck_text, strlen (ck_text), path, NULL);
    g_autoptr (SpmJson) cf = cf_text ? spm_json_parse (cf_text, strlen (cf_text), "config", NULL)
                                     : NULL;
    if (!ck || ck->type != SPM_JSON_OBJECT) {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "%s: its \"%s\" metadata is not a JSON object", path, which[w]);
      return FALSE;
    }
    if (w == 0)
      npy = features_input (st, ck);
    if (npy && w == 1)
      continue;
    if (npy) {
      drop_frame_keys (ck);
      drop_frame_keys (cf);
    }
    if (!json_equal (ck, cf))
      diff_settings (diff, which[w], ck, cf);
  }
  if (diff->len) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "%s: the model was trained on features made with other settings: %s", path,
                 diff->str);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_labels_file (const SpmModel *m, const char *labels_path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) e = NULL;
  if (!g_file_get_contents (labels_path, &text, &len, &e)) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG, "[head] labels: %s", e->message);
    return FALSE;
  }
  /* as training read it: a NUL byte is an error, a UTF-8 byte-order mark is not a name */
  const char *nul = memchr (text, '\0', len);
  if (nul) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "[head] labels: %s: byte offset %" G_GSIZE_FORMAT ": a NUL byte (not a text "
                 "file)", labels_path, (gsize) (nul - text));
    return FALSE;
  }
  const char *body = len >= 3 && !memcmp (text, "\xEF\xBB\xBF", 3) ? text + 3 : text;
  g_auto (GStrv) lines = g_strsplit (body, "\n", -1);
  int k = 0;
  for (int i = 0; lines[i]; i++) {
    char *name = g_strstrip (lines[i]);
    if (!*name)
      continue;
    if (k >= m->cfg.C || strcmp (name, m->names[k])) {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "%s:%d: \"%s\" differs from the checkpoint's label %d (%s)", labels_path,
                   i + 1, name, k + 1, k < m->cfg.C ? m->names[k] : "none: it has fewer labels");
      return FALSE;
    }
    k++;
  }
  if (k != m->cfg.C) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "%s: lists %d labels, the checkpoint has %d", labels_path, k, m->cfg.C);
    return FALSE;
  }
  return TRUE;
}

SpmModel *
sp_heads_load (SpStage *st, SpmHeadKind kind, const char *labels_path, GError **error)
{
  const char *path = sp_stage_model_checkpoint (st);
  if (!path) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "[model] checkpoint: the %s head needs a trained checkpoint", spm_head_kind_name (kind));
    return NULL;
  }
  g_autoptr (GError) e = NULL;
  g_autoptr (SpmModel) m = spm_model_load (path, &e);
  if (!m) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG, "%s", e->message);
    return NULL;
  }
  if (m->cfg.head != kind) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "%s: a checkpoint for the %s head, not for the %s head", path,
                 spm_head_kind_name (m->cfg.head), spm_head_kind_name (kind));
    return NULL;
  }
  /* the settings first: when they differ, the message names the keys that do */
  if (!check_settings (st, m, path, error))
    return NULL;
  if (st->feature_dim != m->cfg.D) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "%s: the model takes features of size %d, the input's features have size %d; "
                 "the [extractor] keys make that size (here %s)", path, m->cfg.D,
                 st->feature_dim, sp_stage_feature_settings (st, "extractor"));
    return NULL;
  }
  if (kind != SPM_HEAD_CAPTIONER) {
    if (labels_path && !check_labels_file (m, labels_path, error))
      return NULL;
    sp_stage_set_labels (st, (const char *const *) m->names, m->cfg.C);
  }
  return g_steal_pointer (&m);
}

/* the checkpoint's own __metadata__ value of key, read from its header alone (NULL
 * when absent or unreadable: the full load reports a bad file) */
static char *
header_meta (const char *path, const char *key)
{
  FILE *f = fopen (path, "rb");
  if (!f)
    return NULL;
  guint8 b[8];
  char *value = NULL;
  if (fread (b, 1, 8, f) == 8) {
    guint64 n = 0;
    for (int i = 7; i >= 0; i--)
      n = (n << 8) | b[i];
    g_autofree char *text = n < (100u << 20) ? g_malloc (n + 1) : NULL;
    if (text && fread (text, 1, n, f) == n) {
      g_autoptr (SpmJson) j = spm_json_parse (text, n, path, NULL);
      const SpmJson *md = j ? spm_json_get (j, "__metadata__") : NULL;
      const SpmJson *v = md ? spm_json_get (md, key) : NULL;
      if (v && v->type == SPM_JSON_STRING)
        value = g_strdup (v->string);
    }
  }
  fclose (f);
  return value;
}

gboolean
sp_heads_apply_pool (SpStage *st, SpmModel *m, const char *pool, GError **error)
{
  const char *path = sp_stage_model_checkpoint (st);
  g_autofree char *recorded = header_meta (path, "pool");
  if (!recorded) {
    /* made elsewhere without the record: the config says how it pools */
    if (pool)
      m->cfg.pool = !strcmp (pool, "mean") ? SPM_POOL_MEAN : SPM_POOL_LAST;
    return TRUE;
  }
  const char *trained = m->cfg.pool == SPM_POOL_MEAN ? "mean" : "last";
  if (pool && strcmp (pool, trained)) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "[head] pool: \"%s\", but the checkpoint %s was trained with pool = %s", pool,
                 path, trained);
    return FALSE;
  }
  return TRUE;
}
