/* cmd-extract.c — `seqpipe extract CONFIG [--set G.K=V]... [--shard I/N] [-q|-v]`
 * (DESIGN §3, §11): fills [train] cache-dir with the features of every input of
 * [train] manifest and val-manifest, and does nothing else, so extraction can be
 * split over machines (--shard, one process per shard) before one `seqpipe train`
 * reads the cache.  An input is one distinct (path, start, end), in manifest order,
 * train manifest first; inputs are extracted one after the other (each decoder has its
 * own thread, as in every verb).
 * Exit: 0 all extracted (or already there), 1 usage/config error, 2 some inputs
 * failed (each reported), 3 interrupted. */
#include "cmds.h"
#include "data-cache.h"
#include "data-manifest.h"
#include "run-inputs.h"
#include "run-signals.h"

#include <stdio.h>
#include <string.h>


/* the distinct (path, start, end) of a manifest, appended to all */
static gboolean
add_manifest (const char *file, GArray *all, GHashTable *seen, GError **error)
{
  g_autoptr (SpManifest) m = sp_manifest_read (file, error);

  if (m == NULL)
    return FALSE;
  for (int i = 0; i < m->n_rows; i++)
    {
      const SpManifestRow *r = &m->rows[i];
      char *key = g_strdup_printf ("%s\n%.17g\n%.17g", r->path, r->start, r->end);
      SpInputInfo in;

      if (!g_hash_table_add (seen, key))
        continue;
      sp_input_info_init (&in, r->path, (int) all->len, r->start, r->end);
      g_array_append_val (all, in);
    }
  return TRUE;
}

/* every input of the shard into the cache; the count of failures */
static int
extract_all (SpConfig *c, const char *cache_dir, GArray *inputs, SpProgress *progress,
             gboolean verbose, int *hits)
{
  int failed = 0;

  *hits = 0;
  for (guint i = 0; i < inputs->len && !sp_interrupted (); i++)
    {
      const SpInputInfo *in = &g_array_index (inputs, SpInputInfo, i);
      g_autoptr (GError) error = NULL;
      gboolean hit = FALSE;
      SpFeatures f;
      gboolean ok = sp_cache_features (c, cache_dir, in, &f, &hit, &error);

      sp_features_clear (&f);
      if (!ok && !g_error_matches (error, SP_ERROR, SP_ERROR_INTERRUPTED))
        {
          failed++;
          sp_progress_message (progress, "seqpipe: %s", error->message);
        }
      *hits += ok && hit;
      if (ok && verbose)
        sp_progress_message (progress, "seqpipe: %s: %s", in->path,
                             hit ? "already in the cache" : "extracted");
      sp_progress_update (progress, "%u/%u inputs", i + 1, inputs->len);
    }
  return failed;
}

int
sp_cmd_extract (int argc, char **argv)
{
  g_auto (GStrv) sets = NULL;
  g_autofree char *shard = NULL;
  gboolean quiet = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, "Override a config key (repeatable)",
      "GROUP.KEY=VALUE" },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard,
      "Extract only the inputs at positions p with p mod N = I", "I/N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress line", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "One line per input", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpConfig) c = NULL;
  g_autoptr (GArray) all = NULL;
  g_autoptr (GArray) mine = NULL;
  g_autoptr (GHashTable) seen = NULL;
  g_autofree char *manifest = NULL, *val = NULL, *cache_dir = NULL;
  g_autoptr (SpProgress) progress = NULL;
  int i_shard = 0, n_shards = 1, hits = 0, failed;

  if (!sp_cmd_parse ("extract", "CONFIG", "Fill [train] cache-dir with the features of the "
                     "inputs of [train] manifest and val-manifest.", entries, &argc, &argv, 1, 1)
      || !sp_cmd_quiet_verbose ("extract", quiet, verbose))
    return 1;
  if (shard != NULL && !sp_parse_shard (shard, &i_shard, &n_shards))
    {
      fprintf (stderr, "seqpipe: extract: --shard %s: expected I/N with 0 <= I < N (e.g. 0/4)\n",
               shard);
      return 1;
    }
  sp_signals_install ();
  c = sp_config_load (argv[1], (const char *const *) sets, NULL, &error);
  if (c == NULL)
    {
      sp_error_print (error);
      return 1;
    }
  manifest = sp_config_path (c, "train", "manifest");
  val = sp_config_path (c, "train", "val-manifest");
  cache_dir = sp_config_path (c, "train", "cache-dir");
  if (manifest == NULL || cache_dir == NULL)
    {
      fprintf (stderr, "seqpipe: [train] %s: required by extract\n",
               manifest == NULL ? "manifest" : "cache-dir");
      return 1;
    }
  all = g_array_new (FALSE, TRUE, sizeof (SpInputInfo));
  g_array_set_clear_func (all, (GDestroyNotify) sp_input_info_clear);
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!add_manifest (manifest, all, seen, &error)
      || (val != NULL && !add_manifest (val, all, seen, &error)))
    {
      sp_error_print (error);
      return 1;
    }
  /* this shard's inputs keep their names; their positions are the whole list's */
  mine = g_array_new (FALSE, TRUE, sizeof (SpInputInfo));
  for (guint i = 0; i < all->len; i++)
    if ((int) (i % (guint) n_shards) == i_shard)
      g_array_append_val (mine, g_array_index (all, SpInputInfo, i));

  progress = sp_progress_new (quiet);
  failed = extract_all (c, cache_dir, mine, progress, verbose, &hits);
  if (verbose || failed > 0)
    sp_progress_message (progress, "seqpipe: %u input%s: %u extracted, %d already cached, "
                         "%d failed", mine->len, mine->len == 1 ? "" : "s",
                         mine->len - (guint) hits - (guint) failed, hits, failed);
  if (sp_interrupted ())
    {
      fprintf (stderr, "seqpipe: interrupted\n");
      return 3;
    }
  return failed > 0 ? 2 : 0;
}
