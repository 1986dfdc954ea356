/* host-config-private.h — what the config's own files (host-config*.c) and the
 * stage instances built from it (host-stage.c, the check library) share. */
#ifndef SP_HOST_CONFIG_PRIVATE_H
#define SP_HOST_CONFIG_PRIVATE_H

#include "host-config.h"
#include "host-keys.h"

G_BEGIN_DECLS

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

G_END_DECLS

#endif
