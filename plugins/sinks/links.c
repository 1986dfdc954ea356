/* links.c — the input as a URI and as a relative URL (links.h). */
#include "links.h"

#include <string.h>

static char *
input_abs (SpStage *st)
{
  if (st->input == NULL || st->input->path == NULL || *st->input->path == '\0')
    return NULL;
  return g_canonicalize_filename (st->input->path, NULL);
}

char *
sp_sink_input_uri (SpStage *st)
{
  g_autofree char *abs = input_abs (st);
  return abs != NULL ? g_filename_to_uri (abs, NULL, NULL) : NULL;
}

char *
sp_sink_input_relative_url (SpStage *st)
{
  g_autofree char *abs = input_abs (st);
  if (abs == NULL)
    return NULL;
  g_autofree char *out = g_canonicalize_filename (st->output_path ? st->output_path : ".", NULL);
  g_autofree char *out_dir = g_path_get_dirname (out);
  g_auto (GStrv) from = g_strsplit (out_dir, "/", -1);
  g_auto (GStrv) to = g_strsplit (abs, "/", -1);
  /* both start with "" (the root); skip the directories they share */
  guint n_from = g_strv_length (from), n_to = g_strv_length (to), common = 0;
  if (n_from > 0 && from[n_from - 1][0] == '\0')
    n_from--;   /* out_dir "/" splits into "", "" */
  while (common < n_from && common + 1 < n_to && strcmp (from[common], to[common]) == 0)
    common++;
  GString *url = g_string_new (NULL);
  for (guint i = common; i < n_from; i++)
    g_string_append (url, "../");
  for (guint i = common; i < n_to; i++) {
    g_autofree char *seg = g_uri_escape_string (to[i], NULL, FALSE);
    g_string_append (url, seg);
    if (i + 1 < n_to)
      g_string_append_c (url, '/');
  }
  return g_string_free (url, FALSE);
}
