/* sp-keys.h — key tables: parsing values, checking tables, describing keys; the
 * host's own groups; and the config internals that stage instances need.  Private
 * to libseqpipe (config.c, keys.c, host-tables.c, registry.c, stage.c, harness.c,
 * cmd-inspect.c). */
#ifndef SP_KEYS_H
#define SP_KEYS_H

#include "sp-host.h"

G_BEGIN_DECLS

/* one parsed value; s points into the text that was parsed */
typedef struct {
  SpKeyType type;
  gboolean b;
  gint64 i;
  double d;
  int choice;
  const char *s;
} SpKeyValue;

/* Parses text for k.  FALSE + error "value \"x\" is not ...; expected ..." (the
 * caller puts the WHERE in front). */
gboolean sp_key_parse (const SpKey *k, const char *text, SpKeyValue *out, GError **error);
/* Writes v at k->offset in priv; a string is stored as given (caller owns it). */
void sp_key_store (const SpKey *k, const SpKeyValue *v, const char *string, void *priv);
/* "bool", "int", "double", "string", "choice", "path" */
const char *sp_key_type_name (SpKeyType type);
/* what a value must be: "an integer in [1, 64]", "one of lstm, rnn", ... */
char *sp_key_expected (const SpKey *k);
/* the range or choices column of `inspect` ("" when none) */
char *sp_key_range_text (const SpKey *k);
const SpKey *sp_key_find (const SpKey *keys, const char *name);
/* Sanity of a stage's table: names [a-z0-9-]+ and unique, known types, value inside
 * priv_size and aligned, defaults that parse and lie in range, choices well formed,
 * none of the names in reserved (the host's keys of the stage's group). */
gboolean sp_key_table_check (const SpKey *keys, size_t priv_size,
                             const char *const *reserved, GError **error);
gboolean sp_name_valid (const char *name);   /* [a-z0-9-]+ */

/* Levenshtein distance, and the nearest candidate within 2 (or NULL) */
int sp_edit_distance (const char *a, const char *b);
const char *sp_suggest (const char *name, const char *const *candidates);
/* "; did you mean 'x'?" or "" (newly allocated) */
char *sp_suggest_text (const char *name, const char *const *candidates);

/* ---- the host's groups ---------------------------------------------------------- */
enum {
  SP_HKEY_PATH = 1 << 0,          /* resolved against the config's directory */
  SP_HKEY_LIST = 1 << 1,          /* ';'-separated list */
  SP_HKEY_REQUIRED = 1 << 2,      /* a string that must be given */
  SP_HKEY_MAX_OPEN = 1 << 3,      /* the range excludes max: [min, max) */
  SP_HKEY_FEATURES = 1 << 4,      /* changes the features (feature settings JSON) */
  SP_HKEY_MIN_OPEN = 1 << 5,      /* the range excludes min: (min, max] */
};
typedef struct {
  SpKey key;
  unsigned flags;
} SpHostKey;

typedef enum {
  SP_GROUP_NONE = 0,
  SP_GROUP_PIPELINE,
  SP_GROUP_DECODER,
  SP_GROUP_EXTRACTOR,
  SP_GROUP_MODEL,
  SP_GROUP_HEAD,
  SP_GROUP_TRAIN,
  SP_GROUP_SINK,
} SpGroupKind;

typedef struct {
  const char *name;              /* "pipeline", ..., "sink" (for [sink:NAME]) */
  SpGroupKind kind;
  SpStageKind stage_kind;        /* the plugin kind the group chooses, or 0 */
  const SpHostKey *keys;         /* terminated by a NULL name */
  const char *help;
} SpHostGroup;

/* every host group, NULL-terminated by name */
extern const SpHostGroup sp_host_groups[];
/* the group a config group name belongs to ("sink:csv" -> sink), or NULL */
const SpHostGroup *sp_host_group_for (const char *group);
const SpHostGroup *sp_host_group_by_kind (SpGroupKind kind);
const SpHostKey *sp_host_key_find (const SpHostGroup *g, const char *name);
/* the host key names of a group, NULL-terminated (for reserved names, suggestions) */
char **sp_host_group_key_names (const SpHostGroup *g);
/* sp_key_expected / sp_key_range_text with the open bounds of the flags */
char *sp_host_key_expected (const SpHostKey *hk);
char *sp_host_key_range_text (const SpHostKey *hk);

/* ---- config internals ----------------------------------------------------------- */
struct SpConfig {
  char *file;
  char *dir;                 /* the config's directory, for its relative paths */
  GKeyFile *kf;              /* values after comment stripping and --set */
  GHashTable *from_set;      /* "group\x1fkey" given by --set (relative to cwd) */
  GHashTable *cache;         /* "group\x1fkey" -> effective string (getter results) */
  GMutex cache_lock;         /* getters run on the run engine's worker threads too */
  SpRegistry *reg;
};
/* the key that group/key names (a host key, or a key of the group's stage, or with
 * no [decoder] plugin, of any decoder); NULL if none.  *host is set to the host key
 * when it is one. */
const SpKey *sp_config_find_key (SpConfig *c, const char *group, const char *key,
                                 const SpHostKey **host);
/* the string the config gives group/key (escapes applied; "" counts as unset); NULL
 * when unset.  Newly allocated. */
char *sp_config_raw (SpConfig *c, const char *group, const char *key);
/* The value of group/key as the config has it (file or --set), with a PATH key
 * resolved; NULL when unset.  Newly allocated. */
char *sp_config_value (SpConfig *c, const char *group, const char *key, gboolean is_path);
/* the stage class chosen for a group ([decoder] may have none) */
const SpStageClass *sp_config_group_stage (SpConfig *c, const char *group);

/* ---- stage instances --------------------------------------------------------------- */
/* sp_stage_new's core: values maps a key name to its text (PATH values already
 * resolved); keys without a value take their default.  where prefixes errors
 * (e.g. "[decoder] "). */
SpStage *sp_stage_new_from_values (const SpStageClass *klass, GHashTable *values,
                                   const char *where, const SpInputInfo *input,
                                   const SpDecoderParams *dec, GError **error);

G_END_DECLS

#endif
