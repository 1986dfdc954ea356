/* test-keys.c — parsing values against key tables, the messages users see, near-miss
 * suggestions, and the sanity checks on a plugin's table. */
#include "host-config-private.h"

#include <string.h>

typedef struct {
  gint64 i;
  double d;
  gboolean b;
  int c;
  char *s;
} Priv;

static const SpKey keys[] = {
  { "count", SP_KEY_INT, offsetof (Priv, i), "3", 1, 64, NULL, "an int" },
  { "rate", SP_KEY_DOUBLE, offsetof (Priv, d), "0.5", 0, 1, NULL, "a double" },
  { "flag", SP_KEY_BOOL, offsetof (Priv, b), "false", 0, 0, NULL, "a bool" },
  { "mode", SP_KEY_CHOICE, offsetof (Priv, c), "b", 0, 0, "a|b|c", "a choice" },
  { "name", SP_KEY_STRING, offsetof (Priv, s), NULL, 0, 0, NULL, "a string" },
  { "free", SP_KEY_INT, offsetof (Priv, i), "-7", 1, 0, NULL, "no range (min > max)" },
  SP_KEY_END
};

static const struct {
  const char *key, *text;
  const char *error;   /* NULL: parses */
} parse_cases[] = {
  { "count", "1", NULL },
  { "count", "64", NULL },
  { "count", "0", "value \"0\" is out of range; expected an integer in [1, 64]" },
  { "count", "65", "out of range" },
  { "count", "3.5", "value \"3.5\" is not an integer; expected an integer in [1, 64]" },
  { "count", "", "is not an integer" },
  { "count", " 3", "is not an integer" },
  { "count", "99999999999999999999", "is not an integer" },
  { "rate", "0.25", NULL },
  { "rate", "1e-3", NULL },
  { "rate", "nan", "is not a number" },
  { "rate", "inf", "is not a number" },
  { "rate", "1.5", "value \"1.5\" is out of range; expected a number in [0, 1]" },
  { "rate", "x", "value \"x\" is not a number; expected a number in [0, 1]" },
  { "flag", "true", NULL },
  { "flag", "0", NULL },
  { "flag", "yes", "value \"yes\" is not a boolean; expected true or false" },
  { "mode", "c", NULL },
  { "mode", "d", "value \"d\" is not a valid choice; expected one of a, b, c" },
  { "mode", "A", "not a valid choice" },
  { "name", "anything at all", NULL },
  { "free", "-123456789012", NULL },
};

static void
test_parse (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (parse_cases); i++) {
    const SpKey *k = sp_key_find (keys, parse_cases[i].key);
    g_assert_nonnull (k);
    SpKeyValue v;
    g_autoptr (GError) error = NULL;
    gboolean ok = sp_key_parse (k, parse_cases[i].text, &v, &error);
    if (!parse_cases[i].error) {
      g_assert_no_error (error);
      g_assert_true (ok);
    } else {
      g_assert_false (ok);
      g_assert_error (error, SP_ERROR, SP_ERROR_CONFIG);
      if (!strstr (error->message, parse_cases[i].error))
        g_error ("%s=%s: \"%s\" lacks \"%s\"", parse_cases[i].key, parse_cases[i].text,
                 error->message, parse_cases[i].error);
    }
  }
}

static void
test_store (void)
{
  Priv p = { 0 };
  SpKeyValue v;
  g_assert_true (sp_key_parse (&keys[0], "17", &v, NULL));
  sp_key_store (&keys[0], &v, NULL, &p);
  g_assert_true (sp_key_parse (&keys[1], "0.125", &v, NULL));
  sp_key_store (&keys[1], &v, NULL, &p);
  g_assert_true (sp_key_parse (&keys[2], "true", &v, NULL));
  sp_key_store (&keys[2], &v, NULL, &p);
  g_assert_true (sp_key_parse (&keys[3], "c", &v, NULL));
  sp_key_store (&keys[3], &v, NULL, &p);
  g_assert_true (sp_key_parse (&keys[4], "hello", &v, NULL));
  sp_key_store (&keys[4], &v, "hello", &p);
  g_assert_cmpint (p.i, ==, 17);
  g_assert_cmpfloat (p.d, ==, 0.125);
  g_assert_true (p.b);
  g_assert_cmpint (p.c, ==, 2);
  g_assert_cmpstr (p.s, ==, "hello");
}

static void
test_describe (void)
{
  g_autofree char *r0 = sp_key_range_text (&keys[0]);
  g_autofree char *r3 = sp_key_range_text (&keys[3]);
  g_autofree char *r5 = sp_key_range_text (&keys[5]);
  g_autofree char *e2 = sp_key_expected (&keys[2]);
  g_assert_cmpstr (r0, ==, "[1, 64]");
  g_assert_cmpstr (r3, ==, "a, b, c");
  g_assert_cmpstr (r5, ==, "");
  g_assert_cmpstr (e2, ==, "true or false");
  g_assert_cmpstr (sp_key_type_name (SP_KEY_PATH), ==, "path");
}

static void
test_suggest (void)
{
  const char *const names[] = { "fps", "width", "height", "threads", "plugin", NULL };
  g_assert_cmpint (sp_edit_distance ("fps", "fps"), ==, 0);
  g_assert_cmpint (sp_edit_distance ("fsp", "fps"), ==, 2);
  g_assert_cmpint (sp_edit_distance ("", "abc"), ==, 3);
  g_assert_cmpint (sp_edit_distance ("kitten", "sitting"), ==, 3);
  g_assert_cmpstr (sp_suggest ("fsp", names), ==, "fps");
  g_assert_cmpstr (sp_suggest ("widht", names), ==, "width");
  g_assert_cmpstr (sp_suggest ("heigth", names), ==, "height");
  g_assert_null (sp_suggest ("completely-else", names));
  g_autofree char *t = sp_suggest_text ("thread", names);
  g_assert_cmpstr (t, ==, "; did you mean 'threads'?");
  g_autofree char *none = sp_suggest_text ("zzzzzz", names);
  g_assert_cmpstr (none, ==, "");
}

static void
test_names (void)
{
  g_assert_true (sp_name_valid ("ffmpeg"));
  g_assert_true (sp_name_valid ("a-b-2"));
  g_assert_false (sp_name_valid (""));
  g_assert_false (sp_name_valid (NULL));
  g_assert_false (sp_name_valid ("A"));
  g_assert_false (sp_name_valid ("a_b"));
  g_assert_false (sp_name_valid ("a b"));
}

typedef struct {
  char pad;
  double d;
} Odd;

static void
test_table_check (void)
{
  const char *const reserved[] = { "path", NULL };
  g_autoptr (GError) error = NULL;
  g_assert_true (sp_key_table_check (keys, sizeof (Priv), reserved, &error));
  g_assert_no_error (error);
  g_assert_true (sp_key_table_check (NULL, 0, NULL, &error));

  const SpKey twice[] = {
    { "a", SP_KEY_INT, 0, "1", 0, 2, NULL, NULL },
    { "a", SP_KEY_INT, 0, "1", 0, 2, NULL, NULL },
    SP_KEY_END
  };
  g_assert_false (sp_key_table_check (twice, sizeof (gint64), NULL, &error));
  g_assert_error (error, SP_ERROR, SP_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "declared twice"));
  g_clear_error (&error);

  const SpKey misaligned[] = { { "d", SP_KEY_DOUBLE, 1, "1", 0, 2, NULL, NULL }, SP_KEY_END };
  g_assert_false (sp_key_table_check (misaligned, sizeof (Odd), NULL, &error));
  g_assert_nonnull (strstr (error->message, "misaligned"));
  g_clear_error (&error);

  const SpKey reserved_key[] = { { "path", SP_KEY_STRING, 0, NULL, 0, 0, NULL, NULL }, SP_KEY_END };
  g_assert_false (sp_key_table_check (reserved_key, sizeof (char *), reserved, &error));
  g_assert_nonnull (strstr (error->message, "key 'path' is the host's"));
  g_clear_error (&error);

  const SpKey no_choices[] = { { "c", SP_KEY_CHOICE, 0, NULL, 0, 0, NULL, NULL }, SP_KEY_END };
  g_assert_false (sp_key_table_check (no_choices, sizeof (int), NULL, &error));
  g_assert_nonnull (strstr (error->message, "has no choices"));
  g_clear_error (&error);

  const SpKey empty_choice[] = { { "c", SP_KEY_CHOICE, 0, NULL, 0, 0, "a||b", NULL }, SP_KEY_END };
  g_assert_false (sp_key_table_check (empty_choice, sizeof (int), NULL, &error));
  g_assert_nonnull (strstr (error->message, "empty choice"));
  g_clear_error (&error);

  /* a required int (no default) is fine; an offset past the end is not */
  const SpKey required[] = { { "n", SP_KEY_INT, 0, NULL, 0, 9, NULL, NULL }, SP_KEY_END };
  g_assert_true (sp_key_table_check (required, sizeof (gint64), NULL, &error));
  g_assert_false (sp_key_table_check (required, sizeof (gint64) - 1, NULL, &error));
  g_assert_nonnull (strstr (error->message, "outside priv_size"));
}

/* every host group's table is itself sane */
static void
test_host_tables (void)
{
  for (const SpHostGroup *g = sp_host_groups; g->name; g++)
    for (const SpHostKey *hk = g->keys; hk->key.name; hk++) {
      g_assert_true (sp_name_valid (hk->key.name));
      if (hk->key.def) {
        SpKeyValue v;
        g_autoptr (GError) error = NULL;
        if (!sp_key_parse (&hk->key, hk->key.def, &v, &error))
          g_error ("[%s] %s: default: %s", g->name, hk->key.name, error->message);
      }
    }
  g_assert_true (sp_host_group_for ("sink:csv") == sp_host_group_by_kind (SP_GROUP_SINK));
  g_assert_null (sp_host_group_for ("sink:"));
  g_assert_null (sp_host_group_for ("sink"));
  g_assert_null (sp_host_group_for ("decodr"));
  const SpHostKey *dropout = sp_host_key_find (sp_host_group_for ("model"), "dropout");
  g_autofree char *expected = sp_host_key_expected (dropout);
  g_assert_cmpstr (expected, ==, "a number in [0, 1)");
  const SpHostKey *lr = sp_host_key_find (sp_host_group_for ("train"), "lr");
  g_autofree char *lr_range = sp_host_key_range_text (lr);
  g_assert_cmpstr (lr_range, ==, "(0, 10]");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/keys/parse", test_parse);
  g_test_add_func ("/keys/store", test_store);
  g_test_add_func ("/keys/describe", test_describe);
  g_test_add_func ("/keys/suggest", test_suggest);
  g_test_add_func ("/keys/names", test_names);
  g_test_add_func ("/keys/table-check", test_table_check);
  g_test_add_func ("/keys/host-tables", test_host_tables);
  return g_test_run ();
}
