/* run-sinks-names.c — where every sink of a run writes (DESIGN §6), fixed before
 * anything runs (run-sinks-private.h).
 *
 * A sink's `path` holding {stem} (the input's name without extension) or {name}
 * (with it) is one file per input; any other path is one file for the run.  Any
 * other {word} is a config error.  The rule when files would collide:
 *  - run-wide files are named first, in sink order; a path already taken (by
 *    summary.json or an earlier sink) gets -2, -3, ... before its last extension; a
 *    shard's (--shard I/N) run-wide files and summary carry -I-of-N there first;
 *  - then each input in input order: its stem is used as it is when none of the
 *    input's files is taken, else as STEM-2, STEM-3, ... (the first that frees them
 *    all) — one suffix for the input across every sink, so `movie.srt` and
 *    `movie.labels.csv` of the second `movie` are `movie-2.srt` and
 *    `movie-2.labels.csv`; {name} becomes STEM-k.EXT;
 *  - two sinks of one input writing the same file: the later one's file is numbered.
 * Names are compared as canonical absolute paths.  Each stem remembers the first
 * suffix not yet tried, so naming N inputs that share a stem is linear in N. */
#include "run-sinks-private.h"

#include <string.h>

/* the length of the placeholder {word} at p (0 when p does not start one) */
static size_t
placeholder_len (const char *p)
{
  size_t n = 1;

  if (p[0] != '{')
    return 0;
  while (g_ascii_islower (p[n]) || p[n] == '-' || p[n] == '_')
    n++;
  return p[n] == '}' && n > 1 ? n + 1 : 0;
}

/* TRUE when path's placeholders are all {stem} or {name}; *per_input when it has one */
static gboolean
check_template (const char *group, const char *path, gboolean *per_input, GError **error)
{
  *per_input = FALSE;
  for (const char *p = path; *p; p++)
    {
      size_t n = placeholder_len (p);

      if (n == 0)
        continue;
      if (strncmp (p, "{stem}", n) == 0 || strncmp (p, "{name}", n) == 0)
        *per_input = TRUE;
      else
        {
          g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[%s] path: unknown placeholder "
                       "\"%.*s\" in \"%s\"; expected {stem} or {name}", group, (int) n, p,
                       path);
          return FALSE;
        }
      p += n - 1;
    }
  return TRUE;
}

/* templ with {stem} -> stem, {name} -> stem + ext */
static char *
expand (const char *templ, const char *stem, const char *ext)
{
  GString *out = g_string_new (NULL);

  for (const char *p = templ; *p;)
    {
      if (g_str_has_prefix (p, "{stem}"))
        {
          g_string_append (out, stem);
          p += strlen ("{stem}");
        }
      else if (g_str_has_prefix (p, "{name}"))
        {
          g_string_append (out, stem);
          g_string_append (out, ext);
          p += strlen ("{name}");
        }
      else
        g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

char *
sp_sinks_suffixed (const char *rel, const char *suffix)
{
  const char *base = strrchr (rel, '/');
  const char *dot;

  base = base ? base + 1 : rel;
  dot = strrchr (base, '.');
  if (dot == NULL || dot == base)
    return g_strconcat (rel, suffix, NULL);
  return g_strdup_printf ("%.*s%s%s", (int) (dot - rel), rel, suffix, dot);
}

/* "dir/a.labels.csv", 2 -> "dir/a.labels-2.csv" (the last extension of the base name) */
static char *
numbered_file (const char *rel, int k)
{
  g_autofree char *suffix = g_strdup_printf ("-%d", k);

  return sp_sinks_suffixed (rel, suffix);
}

typedef struct {
  SpSinkSet *s;
  GHashTable *taken;        /* canonical full paths */
} Names;

static char *
canonical (Names *n, const char *rel)
{
  g_autofree char *full = sp_sinks_full_path (n->s, rel);

  return g_canonicalize_filename (full, NULL);
}

static gboolean
taken (Names *n, const char *rel)
{
  g_autofree char *c = canonical (n, rel);

  return g_hash_table_contains (n->taken, c);
}

/* the first of rel, rel-2, ... (numbered_file) that is free; takes it */
static char *
claim_file (Names *n, const char *rel)
{
  for (int k = 1;; k++)
    {
      g_autofree char *cand = k == 1 ? g_strdup (rel) : numbered_file (rel, k);
      char *c = canonical (n, cand);

      if (g_hash_table_add (n->taken, c))
        return g_steal_pointer (&cand);
    }
}

gboolean
sp_sinks_name_outputs (SpSinkSet *s, const SpSinkSpec *specs, GError **error)
{
  g_autoptr (GHashTable) set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) next = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Names n = { s, set };
  gboolean any_per_input = FALSE;

  g_hash_table_add (set, canonical (&n, s->summary_name));
  for (int k = 0; k < s->n; k++)
    {
      SinkDef *d = &s->defs[k];

      if (!check_template (d->group, specs[k].path, &d->per_input, error))
        return FALSE;
      any_per_input |= d->per_input;
      if (d->per_input)
        continue;
      if (!d->klass->can_combine && s->n_inputs > 1)
        {
          g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                       "[%s] path: \"%s\" is one file for %d inputs, but the %s sink "
                       "cannot combine inputs; expected a path with {stem} or {name}",
                       d->group, specs[k].path, s->n_inputs, d->klass->name);
          return FALSE;
        }
      d->combined = d->klass->can_combine;
      {
        g_autofree char *rel = sp_sinks_suffixed (specs[k].path, s->run_suffix);
        d->run_rel = claim_file (&n, rel);
      }
    }
  for (int i = 0; any_per_input && i < s->n_inputs; i++)
    {
      const SpInputInfo *in = &s->inputs[i];
      const char *ext = in->name + MIN (strlen (in->stem), strlen (in->name));
      int k = GPOINTER_TO_INT (g_hash_table_lookup (next, in->stem));
      g_autofree char *stem = NULL;

      for (k = MAX (k, 1);; k++)
        {
          gboolean free_all = TRUE;

          g_free (stem);
          stem = k == 1 ? g_strdup (in->stem) : g_strdup_printf ("%s-%d", in->stem, k);
          for (int j = 0; free_all && j < s->n; j++)
            if (s->defs[j].per_input)
              {
                g_autofree char *rel = expand (specs[j].path, stem, ext);
                free_all = !taken (&n, rel);
              }
          if (free_all)
            break;
        }
      g_hash_table_replace (next, g_strdup (in->stem), GINT_TO_POINTER (k + 1));
      for (int j = 0; j < s->n; j++)
        if (s->defs[j].per_input)
          {
            g_autofree char *rel = expand (specs[j].path, stem, ext);
            s->defs[j].rel[i] = claim_file (&n, rel);
          }
    }
  return TRUE;
}
