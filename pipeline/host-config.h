/* host-config.h — a config (GKeyFile INI, DESIGN §4): loading, --set overrides,
 * validation of every group and key against the host's tables and the chosen stages'
 * tables, and the effective values.
 *
 * Paths in a config file are relative to the config file's directory; paths given
 * with --set are relative to the current directory. */
#ifndef SP_HOST_CONFIG_H
#define SP_HOST_CONFIG_H

#include "host-errors.h"
#include "host-registry.h"

G_BEGIN_DECLS

typedef struct SpConfig SpConfig;
/* Loads CONFIG, applies sets ("group.key=value", NULL-terminated), loads the plugins
 * (with [pipeline] plugin-path) and validates every group and key against the host's
 * tables and the chosen stages' tables.  verb: "run", "train" or "eval" (what is
 * required differs), or NULL (nothing beyond the tables).  Errors: SP_ERROR_CONFIG
 * "[group] key: WHAT" or "FILE[:LINE]: WHAT", SP_ERROR_USAGE for a malformed --set. */
SpConfig *sp_config_load (const char *path, const char *const *sets, const char *verb,
                          GError **error);
void sp_config_free (SpConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpConfig, sp_config_free)
SpRegistry *sp_config_registry (SpConfig *c);
/* Effective values (the default when unset) of any validated key; a key that no table
 * declares is a programming error (g_critical).  The config does not change after
 * loading; the getters may be called from several threads. */
const char *sp_config_string (SpConfig *c, const char *group, const char *key);  /* NULL if unset, no default */
gint64 sp_config_int (SpConfig *c, const char *group, const char *key);
double sp_config_double (SpConfig *c, const char *group, const char *key);
gboolean sp_config_bool (SpConfig *c, const char *group, const char *key);
/* a path key resolved as described above (newly allocated; NULL if unset) */
char *sp_config_path (SpConfig *c, const char *group, const char *key);
/* JSON object of the settings features are made with: "decoder" or "extractor",
 * for cache keys and checkpoint metadata; keys sorted, numbers as the shortest text
 * that reads back, so equal settings give equal text however they were written.
 * decoder: fps, width, height, plugin (when set) and the decoder's own keys that
 * differ from their default (e.g. npy transpose); extractor: plugin and every key of
 * the extractor.  A file key (SP_KEY_PATH, e.g. a CNN's weights) is written as
 * "sha256:HEX" of the file's contents when it can be read.  Newly allocated. */
char *sp_config_feature_settings (SpConfig *c, const char *which);
/* the head's name from [head] plugin, or NULL */
const char *sp_config_head (SpConfig *c);
/* the head stage [head] plugin names, or NULL without a [head] */
const SpStageClass *sp_config_head_class (SpConfig *c);
/* the config file as given, and its directory */
const char *sp_config_file (SpConfig *c);
const char *sp_config_dir (SpConfig *c);
/* a list key ([pipeline] inputs): the items as written (';'-separated), or NULL if
 * unset; sp_config_path_list resolves each item like sp_config_path (globs stay
 * globs).  Newly allocated. */
char **sp_config_strv (SpConfig *c, const char *group, const char *key);
char **sp_config_path_list (SpConfig *c, const char *group, const char *key);
/* the groups of the sinks, "sink:NAME", in file order (then --set order).  Newly
 * allocated.  `plugin` of a sink defaults to its NAME. */
char **sp_config_sink_groups (SpConfig *c);
/* the extractor's name ([extractor] plugin, default "basic") and the decoder's
 * ([decoder] plugin, NULL when chosen by extension) */
const char *sp_config_extractor (SpConfig *c);
const char *sp_config_decoder (SpConfig *c);
/* whether the config file or --set gave a value for group/key */
gboolean sp_config_has (SpConfig *c, const char *group, const char *key);

G_END_DECLS

#endif
