/* keys.c — key tables: what a value of each type looks like, how it is parsed and
 * stored in a stage's private state, and whether a table a plugin hands us is sane. */
#include "host-errors.h"
#include "host-keys.h"

#include <errno.h>
#include <math.h>
#include <string.h>

const char *
sp_key_type_name (SpKeyType type)
{
  switch (type) {
  case SP_KEY_BOOL: return "bool";
  case SP_KEY_INT: return "int";
  case SP_KEY_DOUBLE: return "double";
  case SP_KEY_STRING: return "string";
  case SP_KEY_CHOICE: return "choice";
  case SP_KEY_PATH: return "path";
  }
  return "unknown";
}

static gboolean
has_range (const SpKey *k)
{
  return (k->type == SP_KEY_INT || k->type == SP_KEY_DOUBLE) && k->min <= k->max;
}

/* a bound as the user would write it: integers without a fraction */
static char *
bound_text (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (v == floor (v) && fabs (v) < 1e15)
    return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) v);
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%g", v));
}

char *
sp_key_range_text (const SpKey *k)
{
  if (k->type == SP_KEY_CHOICE && k->choices) {
    g_auto (GStrv) parts = g_strsplit (k->choices, "|", -1);
    return g_strjoinv (", ", parts);
  }
  if (!has_range (k))
    return g_strdup ("");
  g_autofree char *lo = bound_text (k->min);
  g_autofree char *hi = bound_text (k->max);
  if (k->max >= 1e15)
    return g_strdup_printf (">= %s", lo);
  return g_strdup_printf ("[%s, %s]", lo, hi);
}

char *
sp_key_expected (const SpKey *k)
{
  g_autofree char *range = sp_key_range_text (k);
  switch (k->type) {
  case SP_KEY_BOOL:
    return g_strdup ("true or false");
  case SP_KEY_INT:
    return *range ? g_strdup_printf ("an integer %s%s", range[0] == '[' ? "in " : "", range)
                  : g_strdup ("an integer");
  case SP_KEY_DOUBLE:
    return *range ? g_strdup_printf ("a number %s%s", range[0] == '[' ? "in " : "", range)
                  : g_strdup ("a number");
  case SP_KEY_CHOICE:
    return g_strdup_printf ("one of %s", range);
  case SP_KEY_STRING:
    return g_strdup ("a string");
  case SP_KEY_PATH:
    return g_strdup ("a path");
  }
  return g_strdup ("a known type");
}

static gboolean
value_error (const SpKey *k, const char *text, const char *what, GError **error)
{
  g_autofree char *expected = sp_key_expected (k);
  g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "value \"%s\" is %s; expected %s",
               text, what, expected);
  return FALSE;
}

gboolean
sp_key_parse (const SpKey *k, const char *text, SpKeyValue *out, GError **error)
{
  memset (out, 0, sizeof *out);
  out->type = k->type;
  out->s = text;
  switch (k->type) {
  case SP_KEY_BOOL:
    if (g_str_equal (text, "true") || g_str_equal (text, "1"))
      out->b = TRUE;
    else if (g_str_equal (text, "false") || g_str_equal (text, "0"))
      out->b = FALSE;
    else
      return value_error (k, text, "not a boolean", error);
    return TRUE;
  case SP_KEY_INT: {
    char *end = NULL;
    errno = 0;
    gint64 v = g_ascii_strtoll (text, &end, 10);
    if (*text == '\0' || g_ascii_isspace (*text) || *end != '\0' || errno != 0)
      return value_error (k, text, "not an integer", error);
    if (has_range (k) && ((double) v < k->min || (double) v > k->max))
      return value_error (k, text, "out of range", error);
    out->i = v;
    return TRUE;
  }
  case SP_KEY_DOUBLE: {
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod (text, &end);
    if (*text == '\0' || g_ascii_isspace (*text) || *end != '\0' || errno == ERANGE
        || !isfinite (v))
      return value_error (k, text, "not a number", error);
    if (has_range (k) && (v < k->min || v > k->max))
      return value_error (k, text, "out of range", error);
    out->d = v;
    return TRUE;
  }
  case SP_KEY_CHOICE: {
    g_auto (GStrv) parts = g_strsplit (k->choices ? k->choices : "", "|", -1);
    for (int i = 0; parts[i]; i++)
      if (g_str_equal (parts[i], text)) {
        out->choice = i;
        return TRUE;
      }
    return value_error (k, text, "not a valid choice", error);
  }
  case SP_KEY_STRING:
  case SP_KEY_PATH:
    return TRUE;
  }
  g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN, "key type %d is unknown", (int) k->type);
  return FALSE;
}

void
sp_key_store (const SpKey *k, const SpKeyValue *v, const char *string, void *priv)
{
  char *at = (char *) priv + k->offset;
  switch (k->type) {
  case SP_KEY_BOOL: { gboolean b = v->b; memcpy (at, &b, sizeof b); break; }
  case SP_KEY_INT: { gint64 i = v->i; memcpy (at, &i, sizeof i); break; }
  case SP_KEY_DOUBLE: { double d = v->d; memcpy (at, &d, sizeof d); break; }
  case SP_KEY_CHOICE: { int c = v->choice; memcpy (at, &c, sizeof c); break; }
  case SP_KEY_STRING:
  case SP_KEY_PATH: { const char *s = string; memcpy (at, &s, sizeof s); break; }
  }
}

const SpKey *
sp_key_find (const SpKey *keys, const char *name)
{
  for (const SpKey *k = keys; k && k->name; k++)
    if (g_str_equal (k->name, name))
      return k;
  return NULL;
}

gboolean
sp_name_valid (const char *name)
{
  if (!name || !*name)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-'))
      return FALSE;
  return TRUE;
}

/* size and alignment of the value a key type stores */
static gboolean
type_layout (SpKeyType type, size_t *size, size_t *align)
{
  switch (type) {
  case SP_KEY_BOOL: *size = sizeof (gboolean); *align = _Alignof (gboolean); return TRUE;
  case SP_KEY_INT: *size = sizeof (gint64); *align = _Alignof (gint64); return TRUE;
  case SP_KEY_DOUBLE: *size = sizeof (double); *align = _Alignof (double); return TRUE;
  case SP_KEY_CHOICE: *size = sizeof (int); *align = _Alignof (int); return TRUE;
  case SP_KEY_STRING:
  case SP_KEY_PATH: *size = sizeof (char *); *align = _Alignof (char *); return TRUE;
  }
  return FALSE;
}

static gboolean
table_error (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
table_error (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SP_ERROR, SP_ERROR_PLUGIN, "bad key table: %s", msg);
  return FALSE;
}

gboolean
sp_key_table_check (const SpKey *keys, size_t priv_size, const char *const *reserved,
                    GError **error)
{
  for (const SpKey *k = keys; k && k->name; k++) {
    size_t size, align;
    if (!sp_name_valid (k->name))
      return table_error (error, "key name '%s' is not [a-z0-9-]+", k->name);
    for (const SpKey *o = keys; o != k; o++)
      if (g_str_equal (o->name, k->name))
        return table_error (error, "key '%s' is declared twice", k->name);
    if (reserved && g_strv_contains (reserved, k->name))
      return table_error (error, "key '%s' is the host's", k->name);
    if (!type_layout (k->type, &size, &align))
      return table_error (error, "key '%s' has unknown type %d", k->name, (int) k->type);
    if (k->offset > priv_size || size > priv_size - k->offset)
      return table_error (error, "key '%s' lies outside priv_size %zu", k->name, priv_size);
    if (k->offset % align != 0)
      return table_error (error, "key '%s' is misaligned at offset %zu", k->name, k->offset);
    if (k->type == SP_KEY_CHOICE) {
      if (!k->choices || !*k->choices)
        return table_error (error, "choice key '%s' has no choices", k->name);
      g_auto (GStrv) parts = g_strsplit (k->choices, "|", -1);
      for (int i = 0; parts[i]; i++)
        if (!*parts[i])
          return table_error (error, "choice key '%s' has an empty choice", k->name);
    }
    if ((k->type == SP_KEY_INT || k->type == SP_KEY_DOUBLE)
        && (isnan (k->min) || isnan (k->max)))
      return table_error (error, "key '%s' has a NaN bound", k->name);
    if (k->def) {
      SpKeyValue v;
      g_autoptr (GError) local = NULL;
      if (!sp_key_parse (k, k->def, &v, &local))
        return table_error (error, "key '%s' default: %s", k->name, local->message);
    }
  }
  return TRUE;
}

/* ---- near misses ------------------------------------------------------------------ */

int
sp_edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  g_autofree int *row = g_new (int, lb + 1);
  for (size_t j = 0; j <= lb; j++)
    row[j] = (int) j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int) i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      best = MIN (best, up + 1);
      best = MIN (best, row[j - 1] + 1);
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *
sp_suggest (const char *name, const char *const *candidates)
{
  const char *best = NULL;
  int best_d = 3;
  for (int i = 0; candidates && candidates[i]; i++) {
    int d = sp_edit_distance (name, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  return best;
}

char *
sp_suggest_text (const char *name, const char *const *candidates)
{
  const char *s = sp_suggest (name, candidates);
  return s ? g_strdup_printf ("; did you mean '%s'?", s) : g_strdup ("");
}
