/* cmd-inspect.c — `seqpipe inspect NAME`: a stage's description and its key table
 * (name, type, default, range or choices, help), or the keys of a host config group
 * (pipeline, decoder, extractor, model, head, train, sink). */
#include "cmds.h"
#include "host-keys.h"
#include "host-registry.h"
#include "host-stage.h"

#include <stdio.h>
#include <string.h>

/* a key table as aligned columns: KEY TYPE DEFAULT RANGE HELP */
typedef struct {
  GPtrArray *cells;      /* 5 strings per row */
} Table;

static void
table_add (Table *t, const char *name, const char *type, const char *def, const char *range,
           const char *help)
{
  const char *row[] = { name, type, def, range, help ? help : "" };
  for (int i = 0; i < 5; i++)
    g_ptr_array_add (t->cells, g_strdup (row[i]));
}

static void
table_print (Table *t)
{
  size_t width[4] = { 0 };
  for (guint i = 0; i < t->cells->len; i++)
    if (i % 5 < 4)
      width[i % 5] = MAX (width[i % 5], strlen (t->cells->pdata[i]));
  for (guint i = 0; i < t->cells->len; i += 5)
    printf ("  %-*s  %-*s  %-*s  %-*s  %s\n", (int) width[0], (char *) t->cells->pdata[i],
            (int) width[1], (char *) t->cells->pdata[i + 1], (int) width[2],
            (char *) t->cells->pdata[i + 2], (int) width[3], (char *) t->cells->pdata[i + 3],
            (char *) t->cells->pdata[i + 4]);
  g_ptr_array_unref (t->cells);
}

static Table
table_new (void)
{
  Table t = { g_ptr_array_new_with_free_func (g_free) };
  table_add (&t, "KEY", "TYPE", "DEFAULT", "RANGE", "HELP");
  return t;
}

static void
print_keys (const SpKey *keys)
{
  Table t = table_new ();
  for (const SpKey *k = keys; k && k->name; k++) {
    g_autofree char *range = sp_key_range_text (k);
    table_add (&t, k->name, sp_key_type_name (k->type), k->def ? k->def : "-", range, k->help);
  }
  table_print (&t);
}

static const char *
group_of (SpStageKind kind)
{
  switch (kind) {
  case SP_STAGE_DECODER: return "decoder";
  case SP_STAGE_EXTRACTOR: return "extractor";
  case SP_STAGE_HEAD: return "head";
  case SP_STAGE_SINK: return "sink:NAME";
  }
  return "?";
}

static void
print_stage (const SpRegistryStage *s)
{
  const SpStageClass *k = s->klass;
  printf ("%s: %s (%s %s, %s)\n", k->name, sp_stage_kind_name (k->kind), s->plugin->name,
          s->plugin->version, s->file);
  if (k->description)
    printf ("  %s\n", k->description);
  if (k->kind == SP_STAGE_DECODER && k->extensions) {
    g_autofree char *ext = g_strjoinv (" ", (char **) k->extensions);
    printf ("  extensions: %s\n", ext);
  }
  if (k->kind == SP_STAGE_HEAD)
    printf ("  records: %s\n", sp_records_describe (k->records));
  if (k->kind == SP_STAGE_SINK) {
    static const unsigned kinds[] = { SP_RECORDS_FRAME, SP_RECORDS_INPUT, SP_RECORDS_CAPTION,
                                      SP_TAKES_FRAMES };
    unsigned takes = sp_stage_class_takes (k);
    g_autoptr (GString) what = g_string_new (NULL);
    for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
      if (takes & kinds[i])
        g_string_append_printf (what, "%s%s", what->len ? ", " : "", sp_records_describe (kinds[i]));
    printf ("  takes: %s; one file for several inputs: %s\n", what->str,
            k->can_combine ? "yes" : "no");
  }
  printf ("\nkeys in [%s]", group_of (k->kind));
  printf (" (with the host's: `seqpipe inspect %s`):\n",
          k->kind == SP_STAGE_SINK ? "sink" : group_of (k->kind));
  if (k->keys && k->keys->name)
    print_keys (k->keys);
  else
    printf ("  (none)\n");
}

static gint
compare_names (gconstpointer a, gconstpointer b, gpointer data)
{
  (void) data;
  return strcmp (a, b);
}

static gboolean
print_tree_key (gpointer key, gpointer value, gpointer data)
{
  (void) value;
  (void) data;
  printf ("%s\n", (const char *) key);
  return FALSE;
}

static void
print_group (const SpHostGroup *g)
{
  printf ("[%s]: %s\n\n", g->kind == SP_GROUP_SINK ? "sink:NAME" : g->name, g->help);
  Table t = table_new ();
  for (const SpHostKey *hk = g->keys; hk->key.name; hk++) {
    g_autofree char *range = sp_host_key_range_text (hk);
    const char *type = (hk->flags & SP_HKEY_LIST) ? "list"
                     : (hk->flags & SP_HKEY_PATH) ? "path" : sp_key_type_name (hk->key.type);
    const char *def = hk->key.def ? hk->key.def : (hk->flags & SP_HKEY_REQUIRED) ? "(required)"
                                                                                 : "-";
    table_add (&t, hk->key.name, type, def, range, hk->key.help);
  }
  table_print (&t);
}

/* --keys: every GROUP.KEY a --set may name, one per line (the shell completion's
 * list): the host's groups with their stages' keys, a sink's under sink:NAME with
 * the sink's own name as NAME (what [sink:NAME] defaults to) */
static void
print_key_names (SpRegistry *reg)
{
  int n = 0;
  const SpRegistryStage *stages = sp_registry_stages (reg, &n);
  g_autoptr (GTree) seen = g_tree_new_full (compare_names, NULL, g_free, NULL);

  for (const SpHostGroup *g = sp_host_groups; g->name; g++)
    for (const SpHostKey *hk = g->keys; hk->key.name; hk++)
      if (g->kind != SP_GROUP_SINK)
        g_tree_insert (seen, g_strdup_printf ("%s.%s", g->name, hk->key.name), NULL);
  for (int i = 0; i < n; i++)
    {
      const SpStageClass *k = stages[i].klass;
      g_autofree char *group = k->kind == SP_STAGE_SINK ? g_strdup_printf ("sink:%s", k->name)
                               : g_strdup (group_of (k->kind));
      if (k->kind == SP_STAGE_SINK)
        for (const SpHostKey *hk = sp_host_group_by_kind (SP_GROUP_SINK)->keys; hk->key.name;
             hk++)
          g_tree_insert (seen, g_strdup_printf ("%s.%s", group, hk->key.name), NULL);
      for (const SpKey *key = k->keys; key && key->name; key++)
        g_tree_insert (seen, g_strdup_printf ("%s.%s", group, key->name), NULL);
    }
  g_tree_foreach (seen, print_tree_key, NULL);
}

int
sp_cmd_inspect (int argc, char **argv)
{
  g_auto (GStrv) dirs = NULL;
  gboolean keys = FALSE, quiet = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "plugin-path", 'p', 0, G_OPTION_ARG_FILENAME_ARRAY, &dirs,
      "also search DIR first (repeatable)", "DIR" },
    { "keys", 0, 0, G_OPTION_ARG_NONE, &keys,
      "list every GROUP.KEY that --set may name (for shell completion)", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no effect (every verb takes -q)", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "no effect (every verb takes -v)", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("NAME - describe a stage or a config "
                                                         "group and its keys");
  g_option_context_set_summary (ctx, "NAME is a stage (see `seqpipe plugins`), KIND:NAME "
                                "for a name two kinds use (sink:npy), or a config group: "
                                "pipeline, decoder, extractor, model, head, train, sink.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "seqpipe: inspect: %s\n", error->message);
    return 1;
  }
  if (keys && argc == 1) {
    g_autoptr (SpRegistry) reg = sp_registry_new ((const char *const *) dirs);
    print_key_names (reg);
    return 0;
  }
  if (argc != 2) {
    fprintf (stderr, "seqpipe: inspect: expected one NAME (see `seqpipe inspect --help`)\n");
    return 1;
  }
  const char *name = argv[1];
  g_autoptr (SpRegistry) reg = sp_registry_new ((const char *const *) dirs);
  /* "kind:name" (sink:npy) narrows a name that two kinds use */
  const char *colon = strchr (name, ':');
  g_autofree char *kind = colon ? g_strndup (name, (gsize) (colon - name)) : NULL;
  const char *stage_name = colon ? colon + 1 : name;
  int n = 0, found = 0;
  const SpRegistryStage *stages = sp_registry_stages (reg, &n);
  for (int i = 0; i < n; i++)
    if (g_str_equal (stages[i].klass->name, stage_name)
        && (!kind || g_str_equal (kind, sp_stage_kind_name (stages[i].klass->kind)))) {
      if (found++)
        printf ("\n");
      print_stage (&stages[i]);   /* a name may be a decoder and a sink (npy) */
    }
  if (found)
    return 0;
  const SpHostGroup *g = g_str_equal (name, "sink") ? sp_host_group_by_kind (SP_GROUP_SINK)
                                                    : sp_host_group_for (name);
  if (g) {
    print_group (g);
    return 0;
  }

  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int i = 0; i < n; i++)
    g_ptr_array_add (names, (char *) stages[i].klass->name);
  for (const SpHostGroup *hg = sp_host_groups; hg->name; hg++)
    g_ptr_array_add (names, (char *) hg->name);
  g_ptr_array_add (names, NULL);
  g_autofree char *hint = sp_suggest_text (name, (const char *const *) names->pdata);
  fprintf (stderr, "seqpipe: %s: no stage or config group of that name%s "
           "(see `seqpipe plugins`)\n", name, hint);
  return 1;
}
