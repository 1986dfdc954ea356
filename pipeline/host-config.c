/* config.c — loading a config (GKeyFile INI, DESIGN §4), applying --set overrides and
 * validating every group and key against the host's tables and the chosen stages'
 * tables.  The getters and the feature settings are in config-values.c.
 *
 * Values may end in a comment (" # ..." after whitespace), and `""` is the empty
 * string, as the DESIGN's example writes them.  An empty string or path counts as
 * unset.  Every error names the group and key: `[group] key: WHAT`. */
#include "host-config-private.h"

#include <string.h>



/* "value # comment" -> "value"; "\"\"" -> "" */
static void
strip_comments (GKeyFile *kf)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (int g = 0; groups[g]; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
    for (int k = 0; keys && keys[k]; k++) {
      g_autofree char *v = g_key_file_get_value (kf, groups[g], keys[k], NULL);
      if (!v)
        continue;
      for (char *p = v; *p; p++)
        if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
          *p = '\0';
          break;
        }
      g_strchomp (v);
      if (g_str_equal (v, "\"\""))
        v[0] = '\0';
      g_key_file_set_value (kf, groups[g], keys[k], v);
    }
  }
}

/* "[group]   # comment" -> "[group]" (GKeyFile takes comments on lines of their own) */
static void
strip_header_comments (char *text)
{
  for (char *line = text; *line;) {
    size_t len = strcspn (line, "\n");
    size_t i = strspn (line, " \t");
    char *close = line[i] == '[' ? memchr (line + i, ']', len - i) : NULL;
    if (close) {
      size_t after = (size_t) (close + 1 - line);
      size_t j = after + strspn (close + 1, " \t");
      if (j < len && line[j] == '#')
        memset (line + after, ' ', len - after);
    }
    line += len + (line[len] == '\n');
  }
}

/* the 1-based line GKeyFile's message quotes ("... line “X” ..."), or 0 */
static int
line_of_error (const char *text, const char *message)
{
  const char *open = strstr (message, "\u201c");
  const char *close = open ? strstr (open + 3, "\u201d") : NULL;
  if (!close)
    return 0;
  g_autofree char *quoted = g_strndup (open + 3, (gsize) (close - open - 3));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i]; i++)
    if (g_str_equal (g_strchomp (lines[i]), quoted))
      return i + 1;
  return 0;
}

/* a group ("decoder", "sink:csv") or a key ("fps") as a --set may name them: what
 * GKeyFile stores and no config file could spell otherwise */
static gboolean
set_name_valid (const char *s, gboolean group)
{
  if (*s == '\0')
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && !(group && (*p == ':' || *p == '.')))
      return FALSE;
  return TRUE;
}

static gboolean
apply_sets (SpConfig *c, const char *const *sets, GError **error)
{
  for (int i = 0; sets && sets[i]; i++) {
    const char *eq = strchr (sets[i], '=');
    g_autofree char *lhs = eq ? g_strndup (sets[i], (gsize) (eq - sets[i])) : NULL;
    char *dot = lhs ? strrchr (lhs, '.') : NULL;
    if (dot)
      *dot = '\0';
    if (!dot || !set_name_valid (lhs, TRUE) || !set_name_valid (dot + 1, FALSE)) {
      g_set_error (error, SP_ERROR, SP_ERROR_USAGE,
                   "--set: \"%s\" is not GROUP.KEY=VALUE (e.g. decoder.fps=10)", sets[i]);
      return FALSE;
    }
    g_key_file_set_value (c->kf, lhs, dot + 1, eq + 1);
    g_hash_table_add (c->from_set, g_strconcat (lhs, "\x1f", dot + 1, NULL));
  }
  return TRUE;
}

/* every key name group may hold (for "did you mean") */
static char **
group_key_names (SpConfig *c, const SpHostGroup *hg, const SpStageClass *klass)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const SpHostKey *k = hg->keys; k->key.name; k++)
    g_ptr_array_add (names, g_strdup (k->key.name));
  int n = 0;
  const SpRegistryStage *stages = sp_registry_stages (c->reg, &n);
  for (int i = 0; i < n; i++) {
    const SpStageClass *s = stages[i].klass;
    if (klass ? s != klass : (hg->kind != SP_GROUP_DECODER || s->kind != SP_STAGE_DECODER))
      continue;
    for (const SpKey *k = s->keys; k && k->name; k++)
      g_ptr_array_add (names, g_strdup (k->name));
  }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static char **
stage_names (SpConfig *c, SpStageKind kind)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  int n = 0;
  const SpRegistryStage *stages = sp_registry_stages (c->reg, &n);
  for (int i = 0; i < n; i++)
    if (stages[i].klass->kind == kind)
      g_ptr_array_add (names, g_strdup (stages[i].klass->name));
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static gboolean
unknown_stage (SpConfig *c, const char *group, const char *name, SpStageKind kind,
               GError **error)
{
  g_auto (GStrv) names = stage_names (c, kind);
  g_autofree char *hint = sp_suggest_text (name, (const char *const *) names);
  g_autofree char *known = names[0] ? g_strjoinv (", ", names) : g_strdup ("none");
  const SpRegistryStage *other = sp_registry_lookup (c->reg, name);
  if (other)
    return sp_config_error (error, "[%s] plugin: '%s' is a %s, not a %s", group, name,
                         sp_stage_kind_name (other->klass->kind), sp_stage_kind_name (kind));
  return sp_config_error (error, "[%s] plugin: no %s named '%s'%s (found: %s; see `seqpipe plugins`)",
                       group, sp_stage_kind_name (kind), name, hint, known);
}

/* checks one value against its key; host-level open bounds too */
static gboolean
check_value (SpConfig *c, const char *group, const char *key, const SpKey *k,
             const SpHostKey *hk, GError **error)
{
  g_autoptr (GError) local = NULL;
  /* a bad escape (\q, \1) comes back as a string *and* an error: the error counts */
  g_autofree char *text = g_key_file_get_string (c->kf, group, key, &local);
  if (local != NULL || text == NULL)
    return sp_config_error (error, "[%s] %s: %s", group, key,
                         local != NULL ? local->message : "cannot be read");
  if (hk && (hk->flags & SP_HKEY_LIST))
    return TRUE;
  if (!*text && (k->type == SP_KEY_STRING || k->type == SP_KEY_PATH))
    return TRUE;
  SpKeyValue v;
  if (!sp_key_parse (k, text, &v, &local)) {
    char *tail = g_strrstr (local->message, "; expected ");
    if (hk && tail && (hk->flags & (SP_HKEY_MAX_OPEN | SP_HKEY_MIN_OPEN))) {
      g_autofree char *expected = sp_host_key_expected (hk);
      *tail = '\0';
      return sp_config_error (error, "[%s] %s: %s; expected %s", group, key, local->message,
                           expected);
    }
    return sp_config_error (error, "[%s] %s: %s", group, key, local->message);
  }
  if (hk && (((hk->flags & SP_HKEY_MAX_OPEN) && v.d >= k->max)
             || ((hk->flags & SP_HKEY_MIN_OPEN) && v.d <= k->min))) {
    g_autofree char *expected = sp_host_key_expected (hk);
    return sp_config_error (error, "[%s] %s: value \"%s\" is out of range; expected %s", group, key,
                         text, expected);
  }
  return TRUE;
}

static gboolean
validate_group (SpConfig *c, const char *group, GError **error)
{
  const SpHostGroup *hg = sp_host_group_for (group);
  if (!hg) {
    const char *colon = strchr (group, ':');
    g_autofree char *prefix = colon ? g_strndup (group, (gsize) (colon - group)) : NULL;
    if (prefix && sp_edit_distance (prefix, "sink") <= 2 && colon[1])
      return sp_config_error (error, "[%s]: unknown group; did you mean 'sink:%s'?", group,
                           colon + 1);
    g_autoptr (GPtrArray) names = g_ptr_array_new ();
    for (const SpHostGroup *g = sp_host_groups; g->name; g++)
      if (g->kind != SP_GROUP_SINK)
        g_ptr_array_add (names, (char *) g->name);
    g_ptr_array_add (names, NULL);
    g_autofree char *hint = sp_suggest_text (group, (const char *const *) names->pdata);
    return sp_config_error (error, "[%s]: unknown group%s (groups: pipeline, decoder, extractor, "
                         "model, head, train, sink:NAME)", group, hint);
  }

  const SpStageClass *klass = NULL;
  if (hg->stage_kind) {
    g_autofree char *plugin = sp_config_raw (c, group, "plugin");
    if (!plugin && hg->kind == SP_GROUP_HEAD)
      return sp_config_error (error, "[%s] plugin: missing; a value is required", group);
    if (!plugin && hg->kind == SP_GROUP_SINK)
      plugin = g_strdup (group + 5);
    if (plugin) {
      klass = sp_registry_find (c->reg, plugin, hg->stage_kind);
      if (!klass)
        return unknown_stage (c, group, plugin, hg->stage_kind, error);
    } else if (hg->kind == SP_GROUP_EXTRACTOR) {
      klass = sp_registry_find (c->reg, hg->keys[0].key.def, SP_STAGE_EXTRACTOR);
    }
  }

  g_auto (GStrv) keys = g_key_file_get_keys (c->kf, group, NULL, NULL);
  for (int i = 0; keys && keys[i]; i++) {
    const SpHostKey *hk = NULL;
    const SpKey *k = sp_config_find_key (c, group, keys[i], &hk);
    if (!k) {
      g_auto (GStrv) names = group_key_names (c, hg, klass);
      g_autofree char *hint = sp_suggest_text (keys[i], (const char *const *) names);
      if (!klass && hg->kind == SP_GROUP_EXTRACTOR)
        return sp_config_error (error, "[%s] %s: unknown key; the extractor '%s' is not installed",
                             group, keys[i], hg->keys[0].key.def);
      return sp_config_error (error, "[%s] %s: unknown key%s", group, keys[i], hint);
    }
    if (!check_value (c, group, keys[i], k, hk, error))
      return FALSE;
  }
  for (const SpHostKey *hk = hg->keys; hk->key.name; hk++) {
    g_autofree char *v = (hk->flags & SP_HKEY_REQUIRED) ? sp_config_raw (c, group, hk->key.name)
                                                        : g_strdup ("");
    if (!v)
      return sp_config_error (error, "[%s] %s: missing; a value is required", group, hk->key.name);
  }
  /* a stage's key without a default must be given (a NULL string is a value) */
  for (const SpKey *k = klass ? klass->keys : NULL; k && k->name; k++)
    if (!k->def && k->type != SP_KEY_STRING && k->type != SP_KEY_PATH
        && !sp_config_has (c, group, k->name)) {
      g_autofree char *expected = sp_key_expected (k);
      return sp_config_error (error, "[%s] %s: missing; expected %s", group, k->name, expected);
    }
  return TRUE;
}

static gboolean
need (SpConfig *c, const char *group, const char *key, const char *verb, GError **error)
{
  g_autofree char *v = sp_config_raw (c, group, key);
  if (v)
    return TRUE;
  return sp_config_error (error, "[%s] %s: missing; `seqpipe %s` needs it", group, key, verb);
}

static gboolean
check_verb (SpConfig *c, const char *verb, GError **error)
{
  if (!verb)
    return TRUE;
  gboolean has_head = g_key_file_has_group (c->kf, "head");
  if (g_str_equal (verb, "run")) {
    g_autofree char *inputs = sp_config_raw (c, "pipeline", "inputs");
    g_autofree char *manifest = sp_config_raw (c, "pipeline", "manifest");
    if (!inputs && !manifest)
      return sp_config_error (error, "[pipeline] inputs: missing; `seqpipe run` needs inputs "
                           "or manifest");
    if (inputs && manifest)
      return sp_config_error (error, "[pipeline] manifest: give inputs or manifest, not both");
    if (has_head && !need (c, "model", "checkpoint", verb, error))
      return FALSE;
  } else if (g_str_equal (verb, "train") || g_str_equal (verb, "eval")) {
    if (!has_head)
      return sp_config_error (error, "[head] plugin: missing; `seqpipe %s` needs a head", verb);
    if (!need (c, "model", "checkpoint", verb, error))
      return FALSE;
    if (g_str_equal (verb, "train") ? !need (c, "train", "manifest", verb, error)
                                    : !need (c, "pipeline", "manifest", verb, error))
      return FALSE;
  }
  return TRUE;
}

SpConfig *
sp_config_load (const char *path, const char *const *sets, const char *verb, GError **error)
{
  g_autoptr (SpConfig) c = g_new0 (SpConfig, 1);
  c->file = g_strdup (path);
  c->dir = g_path_get_dirname (path);
  c->kf = g_key_file_new ();
  c->from_set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&c->cache_lock);
  g_key_file_set_list_separator (c->kf, ';');

  g_autoptr (GError) local = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, &local)) {
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s: %s", path, local->message);
    return NULL;
  }
  const char *nul = memchr (text, '\0', len);
  if (nul) {
    /* GKeyFile would stop there and silently drop the rest */
    int line = 1;
    for (const char *p = text; p < nul; p++)
      line += *p == '\n';
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s:%d: a NUL byte at offset %" G_GSIZE_FORMAT
                 "; a config is text", path, line, (gsize) (nul - text));
    return NULL;
  }
  strip_header_comments (text);
  if (!g_key_file_load_from_data (c->kf, text, (gsize) -1, G_KEY_FILE_NONE, &local)) {
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s:%d: %s", path,
                 line_of_error (text, local->message), local->message);
    return NULL;
  }
  strip_comments (c->kf);
  if (!apply_sets (c, sets, error))
    return NULL;

  /* [pipeline] first: its plugin-path decides which plugins exist */
  c->reg = sp_registry_new_isolated (NULL);
  if (g_key_file_has_group (c->kf, "pipeline") && !validate_group (c, "pipeline", error))
    return NULL;
  sp_registry_free (c->reg);
  c->reg = NULL;
  g_auto (GStrv) dirs = sp_config_path_list (c, "pipeline", "plugin-path");
  for (int i = 0; dirs && dirs[i]; i++)
    if (!g_file_test (dirs[i], G_FILE_TEST_IS_DIR)) {
      sp_config_error (error, "[pipeline] plugin-path: \"%s\" is not a directory", dirs[i]);
      return NULL;
    }
  c->reg = sp_registry_new ((const char *const *) dirs);

  g_auto (GStrv) groups = g_key_file_get_groups (c->kf, NULL);
  for (int i = 0; groups[i]; i++)
    if (!g_str_equal (groups[i], "pipeline") && !validate_group (c, groups[i], error))
      return NULL;
  if (!check_verb (c, verb, error))
    return NULL;
  return g_steal_pointer (&c);
}

void
sp_config_free (SpConfig *c)
{
  if (!c)
    return;
  sp_registry_free (c->reg);
  if (c->kf)
    g_key_file_free (c->kf);
  g_clear_pointer (&c->from_set, g_hash_table_unref);
  if (c->cache) {
    g_hash_table_unref (c->cache);
    g_mutex_clear (&c->cache_lock);
  }
  g_free (c->file);
  g_free (c->dir);
  g_free (c);
}

SpRegistry *
sp_config_registry (SpConfig *c)
{
  return c->reg;
}

const char *
sp_config_file (SpConfig *c)
{
  return c->file;
}

const char *
sp_config_dir (SpConfig *c)
{
  return c->dir;
}
