/* test-json.c — the strict JSON reader against accept and reject tables, escaping
 * round trips and the strv helpers. */
#include "spm-json.h"
#include "spm-model.h"

#include <string.h>

/* Compact re-serialisation of a parsed value, to compare against expectations. */
static void
dump (GString *out, const SpmJson *j)
{
  switch (j->type) {
  case SPM_JSON_NULL: g_string_append (out, "null"); break;
  case SPM_JSON_BOOL: g_string_append (out, j->boolean ? "true" : "false"); break;
  case SPM_JSON_NUMBER: {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.17g", j->number));
    break;
  }
  case SPM_JSON_STRING: spm_json_append_string (out, j->string); break;
  case SPM_JSON_ARRAY:
  case SPM_JSON_OBJECT:
    g_string_append_c (out, j->type == SPM_JSON_ARRAY ? '[' : '{');
    for (int i = 0; i < j->n; i++) {
      if (i > 0)
        g_string_append_c (out, ',');
      if (j->type == SPM_JSON_OBJECT) {
        spm_json_append_string (out, j->keys[i]);
        g_string_append_c (out, ':');
      }
      dump (out, j->items[i]);
    }
    g_string_append_c (out, j->type == SPM_JSON_ARRAY ? ']' : '}');
    break;
  }
}

static const struct { const char *in, *out; } accept[] = {
  { "null", "null" },
  { " \t\r\ntrue \n", "true" },
  { "false", "false" },
  { "0", "0" },
  { "-0", "-0" },
  { "12", "12" },
  { "-1.5e3", "-1500" },
  { "1E+2", "100" },
  { "2.5e-1", "0.25" },
  { "0.1", "0.10000000000000001" },
  { "9007199254740993", "9007199254740992" },
  { "1e-400", "0" },
  { "\"\"", "\"\"" },
  { "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\"" },
  { "\"\\u00e9\\u4e2D\"", "\"\xc3\xa9\xe4\xb8\xad\"" },
  { "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"" },
  { "\"\xf0\x9f\x98\x80 raw\"", "\"\xf0\x9f\x98\x80 raw\"" },
  { "\"\\u001f\"", "\"\\u001f\"" },
  { "[]", "[]" },
  { "{}", "{}" },
  { "[1, [2, [3]], {\"a\": {}}]", "[1,[2,[3]],{\"a\":{}}]" },
  { "{\"b\":1,\"a\":2}", "{\"b\":1,\"a\":2}" },
  { "{\"a\":1,\"A\":2}", "{\"a\":1,\"A\":2}" },
};

/* Rejected inputs and the byte offset the error must name. */
static const struct { const char *in; gsize at; } reject[] = {
  { "", 0 },
  { "   ", 3 },
  { "nul", 0 },
  { "True", 0 },
  { "01", 1 },
  { "-", 1 },
  { "+1", 0 },
  { "1.", 2 },
  { ".5", 0 },
  { "1e", 2 },
  { "1e+", 3 },
  { "0x10", 1 },
  { "1e400", 0 },
  { "-1e400", 0 },
  { "NaN", 0 },
  { "Infinity", 0 },
  { "1 2", 2 },
  { "{} x", 3 },
  { "[1,]", 3 },
  { "[1 2]", 3 },
  { "[", 1 },
  { "{\"a\"}", 4 },
  { "{\"a\":1,}", 7 },
  { "{a:1}", 1 },
  { "{'a':1}", 1 },
  { "{\"a\":1,\"a\":2}", 7 },
  { "\"abc", 0 },
  { "\"a\\", 0 },
  { "\"\\x\"", 1 },
  { "\"\\u12\"", 1 },
  { "\"\\u12G4\"", 1 },
  { "\"\\ud800\"", 1 },
  { "\"\\ud800\\u0041\"", 1 },
  { "\"\\udc00\"", 1 },
  { "\"\\u0000\"", 1 },
  { "\"a\tb\"", 2 },
  { "\"a\nb\"", 2 },
  { "\"\xc3\x28\"", 1 },           /* bad continuation */
  { "\"\xc0\xaf\"", 1 },           /* overlong '/' */
  { "\"\xed\xa0\x80\"", 1 },       /* encoded surrogate */
  { "\"\xf4\x90\x80\x80\"", 1 },   /* above U+10FFFF */
  { "\"\xe4\xb8\"", 1 },           /* truncated sequence */
  { "\xef\xbb\xbf{}", 0 },         /* byte order mark */
  { "[1]\x0c", 3 },                /* form feed is not JSON whitespace */
};

static void
test_accept (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (accept); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (SpmJson) j = spm_json_parse (accept[i].in, strlen (accept[i].in), "t", &error);
    if (j == NULL)
      g_error ("accept[%" G_GSIZE_FORMAT "] %s: %s", i, accept[i].in, error->message);
    g_autoptr (GString) out = g_string_new (NULL);
    dump (out, j);
    g_assert_cmpstr (out->str, ==, accept[i].out);
  }
}

static void
test_reject (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (reject); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (SpmJson) j = spm_json_parse (reject[i].in, strlen (reject[i].in), "src.json", &error);
    if (j != NULL)
      g_error ("reject[%" G_GSIZE_FORMAT "] %s was accepted", i, reject[i].in);
    g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
    g_autofree char *where = g_strdup_printf ("src.json: byte %" G_GSIZE_FORMAT ": ", reject[i].at);
    if (!g_str_has_prefix (error->message, where))
      g_error ("reject[%" G_GSIZE_FORMAT "] %s: expected \"%s...\", got \"%s\"", i, reject[i].in,
               where, error->message);
  }
}

/* The parser must stop at len even when the buffer goes on (it is not NUL-terminated). */
static void
test_bounded (void)
{
  const char *text = "[1,2]garbage";
  g_autoptr (SpmJson) j = spm_json_parse (text, 5, "t", NULL);
  g_assert_nonnull (j);
  g_assert_cmpint (j->n, ==, 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmJson) k = spm_json_parse ("\"ab\"", 3, "t", &error);
  g_assert_null (k);
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
  g_autoptr (SpmJson) z = spm_json_parse ("[1]\0", 4, "t", NULL);   /* NUL is not whitespace */
  g_assert_null (z);
}

/* SPM_JSON_MAX_DEPTH (64) nested arrays parse; one more is refused at its '['. */
static void
test_depth (void)
{
  for (int depth = 63; depth <= 66; depth++) {
    g_autoptr (GString) s = g_string_new (NULL);
    for (int k = 0; k < depth; k++)
      g_string_append (s, "[");
    for (int k = 0; k < depth; k++)
      g_string_append (s, "]");
    g_autoptr (GError) error = NULL;
    g_autoptr (SpmJson) j = spm_json_parse (s->str, s->len, "d", &error);
    if (depth <= 64) {
      g_assert_no_error (error);
      g_assert_nonnull (j);
    } else {
      g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
      g_assert_true (g_str_has_prefix (error->message, "d: byte 64: nesting"));
    }
  }
  /* deep nesting of objects too, and a huge depth costs nothing */
  g_autoptr (GString) s = g_string_new (NULL);
  for (int k = 0; k < 100000; k++)
    g_string_append (s, "{\"a\":");
  g_autoptr (SpmJson) j = spm_json_parse (s->str, s->len, "d", NULL);
  g_assert_null (j);
}

static void
test_get (void)
{
  const char *text = "{\"x\": [true, null], \"y\": \"z\"}";
  g_autoptr (SpmJson) j = spm_json_parse (text, strlen (text), "t", NULL);
  g_assert_nonnull (j);
  g_assert_cmpint (j->n, ==, 2);
  g_assert_cmpstr (j->keys[0], ==, "x");
  g_assert_null (j->keys[2]);
  const SpmJson *x = spm_json_get (j, "x");
  g_assert_nonnull (x);
  g_assert_cmpint (x->type, ==, SPM_JSON_ARRAY);
  g_assert_cmpint (x->items[1]->type, ==, SPM_JSON_NULL);
  g_assert_cmpstr (spm_json_get (j, "y")->string, ==, "z");
  g_assert_null (spm_json_get (j, "w"));
  g_assert_null (spm_json_get (x, "x"));
}

/* Every string survives append_string -> parse unchanged. */
static void
test_escape_roundtrip (void)
{
  const char *cases[] = { "", "plain", "q\"b\\s/", "\x01\x1f\x7f", "tab\tnl\ncr\r",
                          "\xc3\xa9\xf0\x9f\x98\x80", "</script>" };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GString) s = g_string_new (NULL);
    spm_json_append_string (s, cases[i]);
    g_autoptr (GError) error = NULL;
    g_autoptr (SpmJson) j = spm_json_parse (s->str, s->len, "t", &error);
    g_assert_no_error (error);
    g_assert_cmpint (j->type, ==, SPM_JSON_STRING);
    g_assert_cmpstr (j->string, ==, cases[i]);
  }
  g_autoptr (GString) s = g_string_new (NULL);
  spm_json_append_string (s, "a\"\n");
  g_assert_cmpstr (s->str, ==, "\"a\\\"\\n\"");
}

/* Bytes that are not UTF-8 (a file name may hold any) still give valid JSON: each
 * becomes U+FFFD; NULL is the empty string. */
static void
test_escape_invalid_utf8 (void)
{
  g_autoptr (GString) s = g_string_new (NULL);
  spm_json_append_string (s, "clip-\xff\xfe.mp4");
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmJson) j = spm_json_parse (s->str, s->len, "t", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (j->string, ==, "clip-\xef\xbf\xbd\xef\xbf\xbd.mp4");
  g_string_truncate (s, 0);
  spm_json_append_string (s, NULL);
  g_assert_cmpstr (s->str, ==, "\"\"");
}

static void
test_strv (void)
{
  const char *v[] = { "walk", "run \"fast\"", "\xc3\xa9", NULL };
  g_autofree char *text = spm_json_strv_to_text (v);
  g_assert_cmpstr (text, ==, "[\"walk\",\"run \\\"fast\\\"\",\"\xc3\xa9\"]");
  g_auto (GStrv) back = spm_json_strv (text, "labels", NULL);
  g_assert_nonnull (back);
  g_assert_true (g_strv_equal ((const char *const *) back, v));

  g_autofree char *empty = spm_json_strv_to_text (NULL);
  g_assert_cmpstr (empty, ==, "[]");
  g_auto (GStrv) none = spm_json_strv ("[]", "labels", NULL);
  g_assert_nonnull (none);
  g_assert_null (none[0]);

  const char *bad[] = { "[\"a\", 1]", "{\"a\":\"b\"}", "\"a\"", "[\"a\"", "[null]" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_auto (GStrv) r = spm_json_strv (bad[i], "labels", &error);
    g_assert_null (r);
    g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
    g_assert_true (g_str_has_prefix (error->message, "labels: "));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/accept", test_accept);
  g_test_add_func ("/json/reject", test_reject);
  g_test_add_func ("/json/bounded", test_bounded);
  g_test_add_func ("/json/depth", test_depth);
  g_test_add_func ("/json/get", test_get);
  g_test_add_func ("/json/escape-roundtrip", test_escape_roundtrip);
  g_test_add_func ("/json/escape-invalid-utf8", test_escape_invalid_utf8);
  g_test_add_func ("/json/strv", test_strv);
  return g_test_run ();
}
