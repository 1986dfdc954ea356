/* run-inputs.c — a run's inputs and what each is called (run-inputs.h). */
#include "run-inputs.h"
#include "data-manifest.h"

#include <glob.h>
#include <string.h>

gboolean
sp_input_is_sequence_pattern (const char *path)
{
  const char *base = strrchr (path, '/');

  for (const char *p = base ? base + 1 : path; (p = strchr (p, '%')) != NULL; p++)
    {
      const char *q = p + 1;

      while (*q >= '0' && *q <= '9')
        q++;
      if (*q == 'd')
        return TRUE;
    }
  return FALSE;
}

char *
sp_path_normalize (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr (GPtrArray) keep = g_ptr_array_new ();
  gboolean absolute = path[0] == '/';
  GString *out = g_string_new (absolute ? "/" : "");

  for (int i = 0; parts[i] != NULL; i++)
    {
      const char *p = parts[i];

      if (p[0] == '\0' || strcmp (p, ".") == 0)
        continue;
      if (strcmp (p, "..") == 0 && keep->len > 0
          && strcmp (keep->pdata[keep->len - 1], "..") != 0)
        {
          g_ptr_array_remove_index (keep, keep->len - 1);
          continue;
        }
      if (strcmp (p, "..") == 0 && absolute)
        continue;                     /* /.. is / */
      g_ptr_array_add (keep, (char *) p);
    }
  for (guint i = 0; i < keep->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, '/');
      g_string_append (out, keep->pdata[i]);
    }
  if (out->len == 0)
    g_string_append_c (out, '.');
  return g_string_free (out, FALSE);
}

void
sp_input_info_init (SpInputInfo *in, const char *path, int index, double start, double end)
{
  g_autofree char *dir = NULL;
  const char *dot;

  memset (in, 0, sizeof *in);
  in->path = sp_path_normalize (path);
  path = in->path;
  if (sp_input_is_sequence_pattern (path))
    {
      dir = g_path_get_dirname (path);
      in->name = g_path_get_basename (dir);
      in->stem = g_strdup (in->name);
    }
  else
    {
      char *name = g_path_get_basename (path);

      in->name = name;
      dot = strrchr (name, '.');
      if (dot != NULL && dot != name && !g_file_test (path, G_FILE_TEST_IS_DIR))
        in->stem = g_strndup (name, dot - name);
      else
        in->stem = g_strdup (name);
    }
  in->index = index;
  in->start = start > 0 ? start : 0;
  in->end = end;
}

void
sp_input_info_clear (SpInputInfo *in)
{
  g_clear_pointer ((char **) &in->path, g_free);
  g_clear_pointer ((char **) &in->name, g_free);
  g_clear_pointer ((char **) &in->stem, g_free);
}

static void
input_info_clear (gpointer p)
{
  sp_input_info_clear (p);
}

static void
add_input (GArray *inputs, const char *path, double start, double end)
{
  SpInputInfo in;

  sp_input_info_init (&in, path, (int) inputs->len, start, end);
  g_array_append_val (inputs, in);
}

static gboolean
has_glob_chars (const char *s)
{
  return strpbrk (s, "*?[") != NULL;
}

/* items (globs expanded, sorted; a numbered pattern stays one input); where names
 * them in messages */
static gboolean
inputs_from_list (const char *const *items, const char *where, GArray *inputs,
                  SpProgress *progress, GError **error)
{
  for (int i = 0; items != NULL && items[i] != NULL; i++)
    {
      const char *item = items[i];
      glob_t g;
      int rc;

      if (item[0] == '\0')
        continue;
      if (sp_input_is_sequence_pattern (item) || !has_glob_chars (item))
        {
          add_input (inputs, item, 0, -1);
          continue;
        }
      memset (&g, 0, sizeof g);
      rc = glob (item, 0, NULL, &g);        /* sorted */
      if (rc == GLOB_NOMATCH)
        sp_progress_message (progress, "seqpipe: %s: \"%s\" matches no file", where, item);
      else if (rc != 0)
        {
          g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s: cannot expand \"%s\"", where,
                       item);
          globfree (&g);
          return FALSE;
        }
      for (size_t k = 0; rc == 0 && k < g.gl_pathc; k++)
        add_input (inputs, g.gl_pathv[k], 0, -1);
      globfree (&g);
    }
  return TRUE;
}

/* one input per distinct (path, start, end): a captioner's manifest repeats paths */
static gboolean
inputs_from_manifest (const char *file, GArray *inputs, GError **error)
{
  g_autoptr (SpManifest) m = sp_manifest_read (file, error);
  g_autoptr (GHashTable) seen = NULL;

  if (m == NULL)
    return FALSE;
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < m->n_rows; i++)
    {
      const SpManifestRow *row = &m->rows[i];
      char *key = g_strdup_printf ("%s\n%.17g\n%.17g", row->path, row->start, row->end);

      if (!g_hash_table_add (seen, key))
        continue;
      add_input (inputs, row->path, row->start < 0 ? 0 : row->start, row->end);
    }
  return TRUE;
}

GArray *
sp_inputs_gather (SpConfig *c, const char *const *cli_inputs, SpProgress *progress,
                  GError **error)
{
  g_autoptr (GArray) inputs = g_array_new (FALSE, TRUE, sizeof (SpInputInfo));
  g_autofree char *manifest = NULL;
  gboolean has_list = sp_config_has (c, "pipeline", "inputs");
  g_auto (GStrv) items = NULL;

  g_array_set_clear_func (inputs, input_info_clear);
  if (cli_inputs != NULL && cli_inputs[0] != NULL)
    {
      if (!inputs_from_list (cli_inputs, "command line", inputs, progress, error))
        return NULL;
      if (inputs->len == 0)
        {
          g_set_error (error, SP_ERROR, SP_ERROR_USAGE, "command line: no input to process");
          return NULL;
        }
      return g_steal_pointer (&inputs);
    }
  manifest = sp_config_path (c, "pipeline", "manifest");
  if (manifest != NULL && has_list)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                   "[pipeline] inputs: set either inputs or manifest, not both");
      return NULL;
    }
  if (manifest == NULL && !has_list)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                   "[pipeline] inputs: missing; expected a list of inputs or [pipeline] manifest");
      return NULL;
    }
  items = manifest == NULL ? sp_config_path_list (c, "pipeline", "inputs") : NULL;
  if (manifest != NULL ? !inputs_from_manifest (manifest, inputs, error)
                       : !inputs_from_list ((const char *const *) items, "[pipeline] inputs",
                                            inputs, progress, error))
    return NULL;
  if (inputs->len == 0)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "%s: no input to process",
                   manifest != NULL ? manifest : "[pipeline] inputs");
      return NULL;
    }
  return g_steal_pointer (&inputs);
}

/* "I/N" with 0 <= I < N: both plain decimal numbers */
gboolean
sp_parse_shard (const char *text, int *shard, int *shards)
{
  const char *slash = text != NULL ? strchr (text, '/') : NULL;
  guint64 i, n;

  if (slash == NULL || slash == text || slash[1] == '\0')
    return FALSE;
  for (const char *p = text; *p; p++)
    if (p != slash && !g_ascii_isdigit (*p))
      return FALSE;
  i = g_ascii_strtoull (text, NULL, 10);
  n = g_ascii_strtoull (slash + 1, NULL, 10);
  if (n < 1 || n > 1000000 || i >= n)
    return FALSE;
  *shard = (int) i;
  *shards = (int) n;
  return TRUE;
}

