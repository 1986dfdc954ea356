/* host-keys.h — key tables: parsing values, checking tables, describing keys, "did
 * you mean"; and the host's own config groups as tables of the same shape
 * (host-tables.c), each key stored at its offset in the group's typed settings. */
#ifndef SP_HOST_KEYS_H
#define SP_HOST_KEYS_H

#include <seqpipe/plugin.h>

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

G_END_DECLS

#endif
