/* data-split.c — holding out a stratified share of the inputs (see data-split.h). */
#include "data-split.h"

#include <string.h>

typedef struct {
  const char *name;   /* NULL: the stratum of items without one */
  GArray *items;      /* int */
} Stratum;

static int
cmp_stratum (gconstpointer a, gconstpointer b)
{
  const Stratum *x = a, *y = b;
  if (!x->name || !y->name)
    return (x->name != NULL) - (y->name != NULL);
  return strcmp (x->name, y->name);
}

static void
stratum_clear (gpointer p)
{
  g_array_unref (((Stratum *) p)->items);
}

void
sp_split_choose (const char *const *strata, int n, double fraction, uint64_t seed,
                 gboolean *is_val)
{
  g_autoptr (GArray) groups = g_array_new (FALSE, TRUE, sizeof (Stratum));
  g_array_set_clear_func (groups, stratum_clear);
  g_autoptr (GHashTable) where = g_hash_table_new (g_str_hash, g_str_equal);
  int unnamed = -1;
  for (int i = 0; i < n; i++) {
    const char *name = strata ? strata[i] : NULL;
    gpointer v = NULL;
    int g = name ? (g_hash_table_lookup_extended (where, name, NULL, &v)
                        ? GPOINTER_TO_INT (v) : -1)
                 : unnamed;
    if (g < 0) {
      Stratum s = { name, g_array_new (FALSE, FALSE, sizeof (int)) };
      g_array_append_val (groups, s);
      g = (int) groups->len - 1;
      if (name)
        g_hash_table_insert (where, (gpointer) name, GINT_TO_POINTER (g));
      else
        unnamed = g;
    }
    g_array_append_val (g_array_index (groups, Stratum, g).items, i);
  }
  g_array_sort (groups, cmp_stratum);

  /* one generator for the whole choice: the strata in name order, each shuffled
   * (Fisher-Yates) in item order */
  guint32 words[2] = { (guint32) seed, (guint32) (seed >> 32) };
  g_autoptr (GRand) rng = g_rand_new_with_seed_array (words, 2);
  int n_val = 0, largest = -1;
  memset (is_val, 0, sizeof (gboolean) * (size_t) n);
  for (guint g = 0; g < groups->len; g++) {
    GArray *it = g_array_index (groups, Stratum, g).items;
    int *v = (int *) (void *) it->data, m = (int) it->len;
    for (int i = m - 1; i > 0; i--) {
      int j = g_rand_int_range (rng, 0, i + 1), t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
    int k = (int) (fraction * m + 0.5);
    for (int i = 0; i < k; i++)
      is_val[v[i]] = TRUE;
    n_val += k;
    if (largest < 0 || m > (int) g_array_index (groups, Stratum, largest).items->len)
      largest = (int) g;
  }
  if (n < 2 || fraction <= 0)
    return;
  GArray *big = g_array_index (groups, Stratum, largest).items;
  if (n_val == 0)
    is_val[g_array_index (big, int, 0)] = TRUE;
  else if (n_val == n)
    is_val[g_array_index (big, int, 0)] = FALSE;
}

/* the stratum of a row: the label it gives its input */
static const char *
row_stratum (const SpDataRow *r)
{
  if (r->label)
    return r->label;
  return r->lf ? sp_label_file_dominant (r->lf) : NULL;
}

/* CSV field: quoted when it holds a comma, quote or line end */
static void
append_field (GString *out, const char *s)
{
  if (!strpbrk (s, ",\"\r\n")) {
    g_string_append (out, s);
    return;
  }
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++) {
    if (*p == '"')
      g_string_append_c (out, '"');
    g_string_append_c (out, *p);
  }
  g_string_append_c (out, '"');
}

SpDataset *
sp_dataset_split (SpDataset *ds, double fraction, uint64_t seed, const char *split_csv,
                  GError **error)
{
  int n_in = (int) ds->inputs->len;
  /* the inputs with rows, in manifest order, and the stratum of each */
  g_autofree int *used = g_new (int, n_in + 1);
  g_autofree int *slot = g_new (int, n_in + 1);
  g_autofree const char **strata = g_new0 (const char *, n_in + 1);
  int n_used = 0;
  for (int i = 0; i < n_in; i++)
    slot[i] = -1;
  for (guint r = 0; r < ds->rows->len; r++) {
    const SpDataRow *row = &g_array_index (ds->rows, SpDataRow, r);
    if (slot[row->input] >= 0)
      continue;
    slot[row->input] = n_used;
    strata[n_used] = row_stratum (row);
    used[n_used++] = row->input;
  }
  g_autofree gboolean *is_val = g_new0 (gboolean, n_used + 1);
  sp_split_choose (strata, n_used, fraction, seed, is_val);

  g_autoptr (GString) csv = g_string_new ("path,split\n");
  g_autofree char *dir = g_path_get_dirname (ds->manifest);
  g_autofree char *prefix = g_strconcat (dir, G_DIR_SEPARATOR_S, NULL);
  for (int u = 0; u < n_used; u++) {
    const SpDataInput *in = g_ptr_array_index (ds->inputs, used[u]);
    const char *p = g_str_has_prefix (in->path, prefix) ? in->path + strlen (prefix) : in->path;
    append_field (csv, p);
    g_string_append (csv, is_val[u] ? ",val\n" : ",train\n");
  }
  if (split_csv && !g_file_set_contents (split_csv, csv->str, (gssize) csv->len, error))
    return NULL;

  /* move: inputs to their side (new indices), then the rows after them */
  g_autoptr (SpDataset) val = sp_dataset_new (ds->manifest, ds->head);
  val->D = ds->D;
  gsize n = 0;
  g_autofree SpDataInput **all = (SpDataInput **) g_ptr_array_steal (ds->inputs, &n);
  g_autofree int *new_index = g_new (int, n_in + 1);
  for (int i = 0; i < n_in; i++) {
    GPtrArray *side = slot[i] >= 0 && is_val[slot[i]] ? val->inputs : ds->inputs;
    new_index[i] = (int) side->len;
    g_ptr_array_add (side, all[i]);
  }
  GArray *rows = ds->rows;
  ds->rows = g_array_new (FALSE, TRUE, sizeof (SpDataRow));
  for (guint r = 0; r < rows->len; r++) {
    SpDataRow row = g_array_index (rows, SpDataRow, r);
    gboolean v = is_val[slot[row.input]];
    row.input = new_index[row.input];
    g_array_append_val (v ? val->rows : ds->rows, row);
  }
  g_array_unref (rows);
  return g_steal_pointer (&val);
}
