/* registry.c — finds plugin files, loads them with local binding, and checks each
 * descriptor and stage class before anything of the plugin is called (DESIGN §10).
 * A file either loads with all its stages or is refused with a reason. */
#include "host-errors.h"
#include "host-keys.h"
#include "host-registry.h"

#include <gmodule.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GModule, g_module_close)

#define MAX_STAGES_PER_PLUGIN 256

typedef struct {
  char *file;
  GModule *module;
} Plugin;

struct SpRegistry {
  GPtrArray *plugins;       /* Plugin*, in load order */
  GArray *stages;           /* SpRegistryStage */
  GArray *refusals;         /* SpRegistryRefusal, strings owned */
  GHashTable *seen;         /* canonical file and directory paths already scanned */
};

static void
plugin_free (Plugin *p)
{
  if (p->module)
    g_module_close (p->module);
  g_free (p->file);
  g_free (p);
}

static void
refusal_clear (SpRegistryRefusal *r)
{
  g_free ((char *) r->file);
  g_free ((char *) r->reason);
}

const char *
sp_stage_kind_name (SpStageKind kind)
{
  switch (kind) {
  case SP_STAGE_DECODER: return "decoder";
  case SP_STAGE_EXTRACTOR: return "extractor";
  case SP_STAGE_HEAD: return "head";
  case SP_STAGE_SINK: return "sink";
  }
  return "unknown";
}

static void
refuse (SpRegistry *r, const char *file, char *reason /* transfer full */)
{
  SpRegistryRefusal ref = { g_strdup (file), reason };
  g_array_append_val (r->refusals, ref);
}

/* the host keys a stage of this kind may not declare (they live in the same group) */
static char **
reserved_keys (SpStageKind kind)
{
  const SpGroupKind groups[] = { [SP_STAGE_DECODER] = SP_GROUP_DECODER,
                                 [SP_STAGE_EXTRACTOR] = SP_GROUP_EXTRACTOR,
                                 [SP_STAGE_HEAD] = SP_GROUP_HEAD,
                                 [SP_STAGE_SINK] = SP_GROUP_SINK };
  return sp_host_group_key_names (sp_host_group_by_kind (groups[kind]));
}

/* The record declarations (ABI 1.2): a head emits exactly one kind of record; a sink
 * takes at least one thing, with the function that receives it.  A plugin built for
 * ABI 1.1 declares nothing: its sinks are read through heads_mask (sp_stage_class_takes);
 * its heads cannot be routed and are refused. */
static char *
check_records (const SpStageClass *k, guint32 abi_minor)
{
  const unsigned takes_all = SP_RECORDS_ALL | SP_TAKES_FRAMES;
  if (k->kind == SP_STAGE_HEAD) {
    if (abi_minor < 2)
      return g_strdup_printf ("head '%s' is built for ABI 1.%u and does not declare its records "
                              "(SpStageClass.records, ABI 1.2); rebuild it", k->name, abi_minor);
    if (k->records != SP_RECORDS_FRAME && k->records != SP_RECORDS_INPUT
        && k->records != SP_RECORDS_CAPTION)
      return g_strdup_printf ("head '%s': records 0x%x is not one of SP_RECORDS_FRAME, "
                              "SP_RECORDS_INPUT, SP_RECORDS_CAPTION", k->name, k->records);
  } else if (k->records != 0) {
    return g_strdup_printf ("stage '%s': only a head declares records", k->name);
  }
  if (k->kind == SP_STAGE_SINK && abi_minor >= 2) {
    if (k->takes == 0 || (k->takes & ~takes_all))
      return g_strdup_printf ("sink '%s': takes 0x%x is not a set of SP_RECORDS_* and "
                              "SP_TAKES_FRAMES", k->name, k->takes);
    if ((k->takes & SP_TAKES_FRAMES) && !k->frame)
      return g_strdup_printf ("sink '%s': missing function frame (it takes SP_TAKES_FRAMES)",
                              k->name);
    if ((k->takes & SP_RECORDS_ALL) && !k->write)
      return g_strdup_printf ("sink '%s': missing function write (it takes records)", k->name);
  } else if (k->kind != SP_STAGE_SINK && (k->takes != 0 || k->frame)) {
    return g_strdup_printf ("stage '%s': only a sink declares takes and frame", k->name);
  }
  return NULL;
}

/* NULL when the class is acceptable, else the reason (newly allocated) */
static char *
check_class (const SpStageClass *k, guint32 abi_minor)
{
  if (!sp_name_valid (k->name))
    return g_strdup_printf ("stage name '%s' is not [a-z0-9-]+", k->name ? k->name : "(null)");
  const char *missing = NULL;
  switch (k->kind) {
  case SP_STAGE_DECODER:
    missing = !k->init ? "init" : !k->decode ? "decode" : !k->finalize ? "finalize" : NULL;
    break;
  case SP_STAGE_EXTRACTOR:
  case SP_STAGE_HEAD:
    missing = !k->init ? "init" : !k->process ? "process" : !k->finalize ? "finalize" : NULL;
    break;
  case SP_STAGE_SINK:
    missing = !k->init ? "init" : (abi_minor < 2 && !k->write) ? "write" : !k->flush ? "flush"
            : !k->finalize ? "finalize" : NULL;
    break;
  default:
    return g_strdup_printf ("stage '%s': unknown kind %d", k->name, (int) k->kind);
  }
  if (missing)
    return g_strdup_printf ("stage '%s': missing function %s (a %s needs it)", k->name,
                            missing, sp_stage_kind_name (k->kind));
  if (k->header_lines < 0)
    return g_strdup_printf ("stage '%s': header_lines %d is negative", k->name, k->header_lines);
  const unsigned all_heads = SP_HEADS_LABELER | SP_HEADS_CLASSIFIER | SP_HEADS_CAPTIONER
                             | SP_HEADS_NONE;
  if (k->heads_mask & ~all_heads)
    return g_strdup_printf ("stage '%s': heads_mask 0x%x has unknown bits", k->name,
                            k->heads_mask);
  char *why = check_records (k, abi_minor);
  if (why)
    return why;
  if (k->process_batch && k->kind != SP_STAGE_EXTRACTOR)
    return g_strdup_printf ("stage '%s': only an extractor has process_batch", k->name);
  g_auto (GStrv) reserved = reserved_keys (k->kind);
  g_autoptr (GError) error = NULL;
  if (!sp_key_table_check (k->keys, k->priv_size, (const char *const *) reserved, &error))
    return g_strdup_printf ("stage '%s': %s", k->name, error->message);
  return NULL;
}

/* the first stage of that name and kind (kind 0: any kind) */
static const SpRegistryStage *
find_stage (SpRegistry *r, const char *name, SpStageKind kind)
{
  for (guint i = 0; i < r->stages->len; i++) {
    const SpRegistryStage *s = &g_array_index (r->stages, SpRegistryStage, i);
    if (g_str_equal (s->klass->name, name) && (!kind || s->klass->kind == kind))
      return s;
  }
  return NULL;
}

/* NULL when the descriptor and all its classes are acceptable, else the reason */
static char *
check_descriptor (SpRegistry *r, const SpPluginDescriptor *d)
{
  if (d->abi_major != SP_ABI_MAJOR)
    return g_strdup_printf ("built for ABI %u.%u; this seqpipe loads ABI major %d only",
                            d->abi_major, d->abi_minor, SP_ABI_MAJOR);
  if (d->abi_minor > SP_ABI_MINOR)
    return g_strdup_printf ("built for ABI %u.%u, which is newer than %d.%d", d->abi_major,
                            d->abi_minor, SP_ABI_MAJOR, SP_ABI_MINOR);
  if (!d->name || !*d->name)
    return g_strdup ("descriptor has no name");
  if (!d->version)
    return g_strdup ("descriptor has no version");
  if (!d->stages || !d->stages[0])
    return g_strdup ("descriptor has no stages");
  for (int i = 0; d->stages[i]; i++) {
    if (i >= MAX_STAGES_PER_PLUGIN)
      return g_strdup_printf ("more than %d stages (a missing NULL?)", MAX_STAGES_PER_PLUGIN);
    char *why = check_class (d->stages[i], d->abi_minor);
    if (why)
      return why;
    /* names are unique per kind: the decoder npy and the sink npy are two stages */
    const SpStageClass *k = d->stages[i];
    for (int j = 0; j < i; j++)
      if (g_str_equal (d->stages[j]->name, k->name) && d->stages[j]->kind == k->kind)
        return g_strdup_printf ("stage '%s' is declared twice", k->name);
    const SpRegistryStage *prev = find_stage (r, k->name, k->kind);
    if (prev)
      return g_strdup_printf ("duplicate stage name '%s' (a %s already provided by %s)",
                              k->name, sp_stage_kind_name (k->kind), prev->file);
  }
  return NULL;
}

static void
load_file (SpRegistry *r, const char *file)
{
  g_autoptr (GModule) module = g_module_open (file, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (!module) {
    refuse (r, file, g_strdup_printf ("not a plugin (%s)", g_module_error ()));
    return;
  }
  /* Never unloaded: a plugin's libraries may have started threads (OpenBLAS, codecs)
   * or registered global state that must not vanish under them.  g_module_close
   * then only drops our reference. */
  g_module_make_resident (module);
  gpointer sym = NULL;
  if (!g_module_symbol (module, SP_PLUGIN_DESCRIPTOR_SYMBOL, &sym) || !sym) {
    refuse (r, file, g_strdup ("not a plugin (no " SP_PLUGIN_DESCRIPTOR_SYMBOL " symbol)"));
    return;
  }
  const SpPluginDescriptor *d = sym;
  char *why = check_descriptor (r, d);
  if (why) {
    refuse (r, file, why);
    return;
  }
  Plugin *p = g_new0 (Plugin, 1);
  p->file = g_strdup (file);
  p->module = g_steal_pointer (&module);
  g_ptr_array_add (r->plugins, p);
  for (int i = 0; d->stages[i]; i++) {
    SpRegistryStage s = { d->stages[i], d, p->file };
    g_array_append_val (r->stages, s);
  }
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* the .so files of dir (sorted), and with subdirs those of its immediate subdirectories */
static void
scan_dir (SpRegistry *r, const char *dir, gboolean subdirs)
{
  g_autofree char *canon = g_canonicalize_filename (dir, NULL);
  if (!g_hash_table_add (r->seen, g_strconcat ("dir:", canon, NULL)))
    return;
  g_autoptr (GDir) d = g_dir_open (canon, 0, NULL);
  if (!d)
    return;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (canon, names->pdata[i], NULL);
    if (g_str_has_suffix (names->pdata[i], ".so")
        && g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
      if (g_hash_table_add (r->seen, g_strconcat ("file:", path, NULL)))
        load_file (r, path);
    }
  }
  if (!subdirs)
    return;
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (canon, names->pdata[i], NULL);
    if (!g_str_has_suffix (names->pdata[i], ".p") && g_file_test (path, G_FILE_TEST_IS_DIR))
      scan_dir (r, path, FALSE);
  }
}

static SpRegistry *
registry_alloc (void)
{
  SpRegistry *r = g_new0 (SpRegistry, 1);
  r->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) plugin_free);
  r->stages = g_array_new (FALSE, FALSE, sizeof (SpRegistryStage));
  r->refusals = g_array_new (FALSE, FALSE, sizeof (SpRegistryRefusal));
  g_array_set_clear_func (r->refusals, (GDestroyNotify) refusal_clear);
  r->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return r;
}

/* whether the running binary lives in the build tree this library was built in */
static gboolean
running_from_build_tree (void)
{
#ifdef SP_BUILD_ROOT
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  if (!exe)
    return FALSE;
  char *real = realpath (SP_BUILD_ROOT, NULL);   /* /proc/self/exe has links resolved */
  if (!real)
    return FALSE;
  g_autofree char *prefix = g_strconcat (real, "/", NULL);
  free (real);
  return g_str_has_prefix (exe, prefix);
#else
  return FALSE;
#endif
}

SpRegistry *
sp_registry_new (const char *const *extra_dirs)
{
  SpRegistry *r = registry_alloc ();
  for (int i = 0; extra_dirs && extra_dirs[i]; i++)
    scan_dir (r, extra_dirs[i], FALSE);
  const char *env = g_getenv ("SEQPIPE_PLUGIN_PATH");
  if (env) {
    g_auto (GStrv) dirs = g_strsplit (env, ":", -1);
    for (int i = 0; dirs[i]; i++)
      if (*dirs[i])
        scan_dir (r, dirs[i], FALSE);
  }
#ifdef SP_BUILD_PLUGIN_DIR
  if (running_from_build_tree ())
    scan_dir (r, SP_BUILD_PLUGIN_DIR, TRUE);
#endif
#ifdef SP_PLUGIN_INSTALL_DIR
  scan_dir (r, SP_PLUGIN_INSTALL_DIR, FALSE);
#endif
  return r;
}

SpRegistry *
sp_registry_new_isolated (const char *const *dirs)
{
  SpRegistry *r = registry_alloc ();
  for (int i = 0; dirs && dirs[i]; i++)
    scan_dir (r, dirs[i], TRUE);
  return r;
}

void
sp_registry_free (SpRegistry *r)
{
  if (!r)
    return;
  g_array_unref (r->stages);
  g_array_unref (r->refusals);
  g_ptr_array_unref (r->plugins);
  g_hash_table_unref (r->seen);
  g_free (r);
}

const SpStageClass *
sp_registry_find (SpRegistry *r, const char *name, SpStageKind kind)
{
  const SpRegistryStage *s = name && kind ? find_stage (r, name, kind) : NULL;
  return s ? s->klass : NULL;
}

const SpRegistryStage *
sp_registry_lookup (SpRegistry *r, const char *name)
{
  return find_stage (r, name, 0);
}

const SpRegistryStage *
sp_registry_stages (SpRegistry *r, int *n)
{
  *n = (int) r->stages->len;
  return (const SpRegistryStage *) (void *) r->stages->data;
}

const SpRegistryRefusal *
sp_registry_refusals (SpRegistry *r, int *n)
{
  *n = (int) r->refusals->len;
  return (const SpRegistryRefusal *) (void *) r->refusals->data;
}
