/* host-registry.h — the plugin registry: every .so of the plugin path loaded with
 * local binding, its descriptor and classes checked before anything is called, and
 * every refusal kept with its reason (DESIGN §10). */
#ifndef SP_HOST_REGISTRY_H
#define SP_HOST_REGISTRY_H

#include <seqpipe/plugin.h>

G_BEGIN_DECLS

typedef struct SpRegistry SpRegistry;
/* Scans, in order: extra_dirs (NULL-terminated, may be NULL), $SEQPIPE_PLUGIN_PATH
 * (':'-separated), the build tree's plugins (when running from the build tree), the
 * installed plugin dir.  The first stage of a name and kind wins; a file with a later
 * one is refused (a name may be used once per kind: decoder npy and sink npy). */
SpRegistry *sp_registry_new (const char *const *extra_dirs);
/* Scans only dirs (each and its immediate subdirectories): an isolated plugin path. */
SpRegistry *sp_registry_new_isolated (const char *const *dirs);
void sp_registry_free (SpRegistry *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpRegistry, sp_registry_free)

typedef struct {
  const SpStageClass *klass;
  const SpPluginDescriptor *plugin;
  const char *file;                 /* the .so it came from */
} SpRegistryStage;
typedef struct {
  const char *file;
  const char *reason;               /* e.g. "not a plugin (...)", "ABI 2.0 ..." */
} SpRegistryRefusal;

const SpStageClass *sp_registry_find (SpRegistry *r, const char *name, SpStageKind kind);
/* every stage loaded, in scan order; every file refused (both owned by r) */
const SpRegistryStage *sp_registry_stages (SpRegistry *r, int *n);
const SpRegistryRefusal *sp_registry_refusals (SpRegistry *r, int *n);
/* the first stage of that name, of any kind, or NULL */
const SpRegistryStage *sp_registry_lookup (SpRegistry *r, const char *name);
/* "decoder", "extractor", "head", "sink" (or "unknown") */
const char *sp_stage_kind_name (SpStageKind kind);

G_END_DECLS

#endif
