/* config-values.c — reading a validated config: effective values (the default when
 * unset), paths resolved where they were written, and the canonical JSON of the
 * settings that change features. */
#include "host-config-private.h"
#include "spm-json.h"

#include <math.h>
#include <string.h>

static char *
cache_key (const char *group, const char *key)
{
  return g_strconcat (group, "\x1f", key, NULL);
}

char *
sp_config_raw (SpConfig *c, const char *group, const char *key)
{
  char *v = g_key_file_get_string (c->kf, group, key, NULL);
  if (v && !*v)
    g_clear_pointer (&v, g_free);
  return v;
}

gboolean
sp_config_has (SpConfig *c, const char *group, const char *key)
{
  g_autofree char *v = sp_config_raw (c, group, key);
  return v != NULL;
}

const SpStageClass *
sp_config_group_stage (SpConfig *c, const char *group)
{
  const SpHostGroup *hg = sp_host_group_for (group);
  if (!hg || !hg->stage_kind)
    return NULL;
  g_autofree char *plugin = sp_config_raw (c, group, "plugin");
  if (!plugin && hg->kind == SP_GROUP_SINK)
    plugin = g_strdup (group + 5);
  if (!plugin && hg->kind == SP_GROUP_EXTRACTOR)
    plugin = g_strdup (hg->keys[0].key.def);
  if (!plugin)
    return NULL;
  return sp_registry_find (c->reg, plugin, hg->stage_kind);
}

const SpKey *
sp_config_find_key (SpConfig *c, const char *group, const char *key, const SpHostKey **host)
{
  *host = NULL;
  const SpHostGroup *hg = sp_host_group_for (group);
  if (!hg)
    return NULL;
  const SpHostKey *hk = sp_host_key_find (hg, key);
  if (hk) {
    *host = hk;
    return &hk->key;
  }
  const SpStageClass *klass = sp_config_group_stage (c, group);
  if (klass)
    return sp_key_find (klass->keys, key);
  if (hg->kind != SP_GROUP_DECODER || sp_config_has (c, group, "plugin"))
    return NULL;
  /* no [decoder] plugin: the decoder is chosen per input, any decoder's key is fine */
  int n = 0;
  const SpRegistryStage *stages = sp_registry_stages (c->reg, &n);
  for (int i = 0; i < n; i++) {
    const SpKey *k = stages[i].klass->kind == SP_STAGE_DECODER
                       ? sp_key_find (stages[i].klass->keys, key) : NULL;
    if (k)
      return k;
  }
  return NULL;
}

static char *
resolve (SpConfig *c, const char *group, const char *key, const char *value)
{
  g_autofree char *ck = cache_key (group, key);
  if (g_path_is_absolute (value) || g_hash_table_contains (c->from_set, ck)
      || g_str_equal (c->dir, "."))
    return g_strdup (value);
  return g_build_filename (c->dir, value, NULL);
}

char *
sp_config_value (SpConfig *c, const char *group, const char *key, gboolean is_path)
{
  char *v = sp_config_raw (c, group, key);
  if (v && is_path) {
    char *r = resolve (c, group, key, v);
    g_free (v);
    v = r;
  }
  return v;
}

/* the effective text of a declared key, or NULL (unset without default); k set */
static const char *
effective (SpConfig *c, const char *group, const char *key, const SpKey **k)
{
  const SpHostKey *hk;
  *k = sp_config_find_key (c, group, key, &hk);
  if (!*k) {
    g_critical ("seqpipe: [%s] %s is not a declared key", group, key);
    return NULL;
  }
  char *v = sp_config_raw (c, group, key);
  if (!v && hk && g_str_has_prefix (group, "sink:") && g_str_equal (key, "plugin"))
    v = g_strdup (group + 5);
  if (!v && (*k)->def)
    v = g_strdup ((*k)->def);
  if (!v)
    return NULL;
  /* one string per key for the config's lifetime: an earlier caller's pointer stays
   * valid, and threads asking at once share it */
  g_autofree char *ck = cache_key (group, key);
  g_mutex_lock (&c->cache_lock);
  const char *cached = g_hash_table_lookup (c->cache, ck);
  if (cached) {   /* the config does not change after loading: the same value */
    g_free (v);
    v = (char *) cached;
  } else {
    g_hash_table_insert (c->cache, g_steal_pointer (&ck), v);
  }
  g_mutex_unlock (&c->cache_lock);
  return v;
}

static gboolean
effective_value (SpConfig *c, const char *group, const char *key, SpKeyValue *out)
{
  const SpKey *k;
  const char *text = effective (c, group, key, &k);
  memset (out, 0, sizeof *out);
  if (!text)
    return FALSE;
  g_autoptr (GError) error = NULL;
  if (!sp_key_parse (k, text, out, &error)) {
    g_critical ("seqpipe: [%s] %s: %s", group, key, error->message);
    return FALSE;
  }
  return TRUE;
}

const char *
sp_config_string (SpConfig *c, const char *group, const char *key)
{
  const SpKey *k;
  return effective (c, group, key, &k);
}

gint64
sp_config_int (SpConfig *c, const char *group, const char *key)
{
  SpKeyValue v;
  if (!effective_value (c, group, key, &v))
    return 0;
  return v.type == SP_KEY_CHOICE ? v.choice : v.type == SP_KEY_BOOL ? v.b : v.i;
}

double
sp_config_double (SpConfig *c, const char *group, const char *key)
{
  SpKeyValue v;
  if (!effective_value (c, group, key, &v))
    return 0;
  return v.type == SP_KEY_INT ? (double) v.i : v.d;
}

gboolean
sp_config_bool (SpConfig *c, const char *group, const char *key)
{
  SpKeyValue v;
  return effective_value (c, group, key, &v) && v.b;
}

char *
sp_config_path (SpConfig *c, const char *group, const char *key)
{
  g_autofree char *v = sp_config_value (c, group, key, TRUE);
  if (v)
    return g_steal_pointer (&v);
  const SpKey *k;
  const char *def = effective (c, group, key, &k);
  return g_strdup (def);   /* a default is relative to the current directory */
}

char **
sp_config_strv (SpConfig *c, const char *group, const char *key)
{
  g_auto (GStrv) items = g_key_file_get_string_list (c->kf, group, key, NULL, NULL);
  if (!items)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  for (int i = 0; items[i]; i++) {
    g_strstrip (items[i]);
    if (*items[i])
      g_ptr_array_add (out, g_strdup (items[i]));
  }
  if (out->len == 0)
    return NULL;
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

char **
sp_config_path_list (SpConfig *c, const char *group, const char *key)
{
  char **items = sp_config_strv (c, group, key);
  for (int i = 0; items && items[i]; i++) {
    char *r = resolve (c, group, key, items[i]);
    g_free (items[i]);
    items[i] = r;
  }
  return items;
}

char **
sp_config_sink_groups (SpConfig *c)
{
  g_auto (GStrv) groups = g_key_file_get_groups (c->kf, NULL);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  for (int i = 0; groups[i]; i++)
    if (g_str_has_prefix (groups[i], "sink:") && groups[i][5])
      g_ptr_array_add (out, g_strdup (groups[i]));
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

const char *
sp_config_head (SpConfig *c)
{
  if (!g_key_file_has_group (c->kf, "head"))
    return NULL;
  return sp_config_string (c, "head", "plugin");
}

const SpStageClass *
sp_config_head_class (SpConfig *c)
{
  const char *name = sp_config_head (c);

  /* sp_config_load checked that a [head] plugin names a head stage */
  return name != NULL ? sp_registry_find (c->reg, name, SP_STAGE_HEAD) : NULL;
}

const char *
sp_config_extractor (SpConfig *c)
{
  return sp_config_string (c, "extractor", "plugin");
}

const char *
sp_config_decoder (SpConfig *c)
{
  return sp_config_string (c, "decoder", "plugin");
}

/* ---- feature settings --------------------------------------------------------------- */

/* the JSON of a parsed value: the shortest decimal that reads back as the double */
static char *
value_json (const SpKey *k, const SpKeyValue *v)
{
  GString *out = g_string_new (NULL);
  switch (k->type) {
  case SP_KEY_BOOL: g_string_append (out, v->b ? "true" : "false"); break;
  case SP_KEY_INT: g_string_append_printf (out, "%" G_GINT64_FORMAT, v->i); break;
  case SP_KEY_DOUBLE: {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (v->d == floor (v->d) && fabs (v->d) < 1e15) {
      g_string_append_printf (out, "%" G_GINT64_FORMAT, (gint64) v->d);
      break;
    }
    for (int prec = 1; prec <= 17; prec++) {
      char fmt[8];
      g_snprintf (fmt, sizeof fmt, "%%.%dg", prec);
      g_ascii_formatd (buf, sizeof buf, fmt, v->d);
      if (g_ascii_strtod (buf, NULL) == v->d)
        break;
    }
    g_string_append (out, buf);
    break;
  }
  case SP_KEY_CHOICE:
  case SP_KEY_STRING:
  case SP_KEY_PATH:
    spm_json_append_string (out, v->s ? v->s : "");
    break;
  }
  return g_string_free (out, FALSE);
}

/* "sha256:HEX" of a file's contents, once per file for the config's lifetime; NULL
 * when it cannot be read (the stage that reads it reports that) */
static char *
file_digest (SpConfig *c, const char *path)
{
  g_autofree char *ck = g_strconcat ("sha256\x1f", path, NULL);
  g_autoptr (GChecksum) sum = NULL;
  g_autoptr (GMappedFile) map = NULL;
  char *digest;

  g_mutex_lock (&c->cache_lock);
  digest = g_strdup (g_hash_table_lookup (c->cache, ck));
  g_mutex_unlock (&c->cache_lock);
  if (digest != NULL)
    return digest;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  map = g_mapped_file_new (path, FALSE, NULL);
  if (map == NULL)
    return NULL;
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) g_mapped_file_get_contents (map),
                     (gssize) g_mapped_file_get_length (map));
  digest = g_strconcat ("sha256:", g_checksum_get_string (sum), NULL);
  g_mutex_lock (&c->cache_lock);
  g_hash_table_replace (c->cache, g_steal_pointer (&ck), g_strdup (digest));
  g_mutex_unlock (&c->cache_lock);
  return digest;
}

/* adds "key": value of group/key to members (a sorted tree) when it has a value.  A
 * file (a PATH key: CNN weights, say) stands for its contents, "sha256:HEX": features
 * made with other weights are other features, wherever the file lies. */
static void
add_member (SpConfig *c, GTree *members, const char *group, const char *key, gboolean always)
{
  const SpHostKey *hk;
  const SpKey *k = sp_config_find_key (c, group, key, &hk);
  if (!k)
    return;
  g_autofree char *set = sp_config_raw (c, group, key);
  const char *text = set ? set : k->def;
  if (!text || (!always && !set))
    return;
  SpKeyValue v, d;
  if (!sp_key_parse (k, text, &v, NULL))
    return;
  g_autofree char *json = value_json (k, &v);
  if (k->type == SP_KEY_PATH && set != NULL && *set != '\0') {
    g_autofree char *path = sp_config_value (c, group, key, TRUE);
    g_autofree char *digest = path != NULL ? file_digest (c, path) : NULL;
    if (digest != NULL) {
      GString *s = g_string_new (NULL);
      spm_json_append_string (s, digest);
      g_free (json);
      json = g_string_free (s, FALSE);
    }
  }
  if (!always && k->def && sp_key_parse (k, k->def, &d, NULL)) {
    g_autofree char *def_json = value_json (k, &d);
    if (g_str_equal (json, def_json))
      return;    /* a key set to its default makes the same features as unset */
  }
  g_tree_replace (members, g_strdup (key), g_steal_pointer (&json));
}

static gboolean
append_member (gpointer key, gpointer value, gpointer data)
{
  GString *out = data;
  if (out->len > 1)
    g_string_append_c (out, ',');
  spm_json_append_string (out, key);
  g_string_append_c (out, ':');
  g_string_append (out, value);
  return FALSE;
}

static gint
compare_keys (gconstpointer a, gconstpointer b, gpointer data)
{
  (void) data;
  return strcmp (a, b);
}

char *
sp_config_feature_settings (SpConfig *c, const char *which)
{
  g_autoptr (GTree) members = g_tree_new_full (compare_keys, NULL, g_free, g_free);
  gboolean decoder = g_str_equal (which, "decoder");
  const char *group = decoder ? "decoder" : "extractor";
  const SpHostGroup *hg = sp_host_group_for (group);
  for (const SpHostKey *hk = hg->keys; hk->key.name; hk++)
    if (hk->flags & SP_HKEY_FEATURES)
      add_member (c, members, group, hk->key.name,
                  !(decoder && g_str_equal (hk->key.name, "plugin")));
  /* the stage's own keys: the extractor's all; the decoder's those that differ from
   * their default (with no [decoder] plugin the decoder varies per input) */
  const SpStageClass *klass = sp_config_group_stage (c, group);
  if (klass) {
    for (const SpKey *k = klass->keys; k && k->name; k++)
      add_member (c, members, group, k->name, !decoder);
  } else {
    g_auto (GStrv) keys = g_key_file_get_keys (c->kf, group, NULL, NULL);
    for (int i = 0; keys && keys[i]; i++)
      if (!sp_host_key_find (hg, keys[i]))
        add_member (c, members, group, keys[i], FALSE);
  }
  GString *out = g_string_new ("{");
  g_tree_foreach (members, append_member, out);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}
