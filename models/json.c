/* json.c — a strict RFC 8259 reader (recursive descent over a byte range that
 * need not be NUL-terminated) and JSON string escaping.
 *
 * Strictness: the whole text must be valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF); only the four JSON whitespace bytes; numbers follow
 * the RFC grammar exactly and must be finite as doubles; strings hold no raw
 * control characters, only the RFC escapes, \u surrogates only as proper pairs,
 * and no \u0000 (values are C strings); objects have no duplicate keys; nesting
 * is at most SPM_JSON_MAX_DEPTH deep; nothing but whitespace after the value.
 * Every error is SPM_ERROR_FORMAT and reads "WHAT: byte OFFSET: PROBLEM".
 */
#include "spm-json.h"
#include "spm-model.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* The model library's error domain lives here so that the JSON and checkpoint
 * readers link without the rest of the model code. */
G_DEFINE_QUARK (spm-error-quark, spm_error)

#define SPM_JSON_MAX_DEPTH 64

typedef struct {
  const char *s;
  gsize len;
  gsize pos;
  int depth;
  const char *what;
  GError **error;
} Parser;

static SpmJson *parse_value (Parser *p);

G_GNUC_PRINTF (3, 4) static void
fail_at (Parser *p, gsize at, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (p->error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: byte %" G_GSIZE_FORMAT ": %s",
               p->what, at, msg);
}

/* A printable description of the byte at p->pos for error messages. */
static char *
describe_here (const Parser *p)
{
  if (p->pos >= p->len)
    return g_strdup ("end of input");
  unsigned char c = (unsigned char) p->s[p->pos];
  if (c >= 0x20 && c < 0x7f)
    return g_strdup_printf ("'%c'", c);
  return g_strdup_printf ("byte 0x%02x", c);
}

static void
skip_ws (Parser *p)
{
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      break;
    p->pos++;
  }
}

static SpmJson *
node_new (SpmJsonType type)
{
  SpmJson *j = g_new0 (SpmJson, 1);
  j->type = type;
  return j;
}

void
spm_json_free (SpmJson *j)
{
  if (j == NULL)
    return;
  g_free (j->string);
  if (j->keys != NULL)
    g_strfreev (j->keys);
  for (int i = 0; i < j->n && j->items != NULL; i++)
    spm_json_free (j->items[i]);
  g_free (j->items);
  g_free (j);
}

static gboolean
parse_literal (Parser *p, const char *word)
{
  gsize n = strlen (word);
  if (p->len - p->pos < n || memcmp (p->s + p->pos, word, n) != 0) {
    fail_at (p, p->pos, "expected '%s'", word);
    return FALSE;
  }
  p->pos += n;
  return TRUE;
}

static gboolean
is_digit (const Parser *p, gsize at)
{
  return at < p->len && p->s[at] >= '0' && p->s[at] <= '9';
}

/* number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ] */
static SpmJson *
parse_number (Parser *p)
{
  gsize start = p->pos, i = p->pos;
  if (i < p->len && p->s[i] == '-')
    i++;
  if (!is_digit (p, i)) {
    fail_at (p, i, "a number needs a digit here");
    return NULL;
  }
  if (p->s[i] == '0') {
    i++;
    if (is_digit (p, i)) {
      fail_at (p, i, "a number may not have a leading zero");
      return NULL;
    }
  } else {
    while (is_digit (p, i))
      i++;
  }
  if (i < p->len && p->s[i] == '.') {
    i++;
    if (!is_digit (p, i)) {
      fail_at (p, i, "a number needs a digit after '.'");
      return NULL;
    }
    while (is_digit (p, i))
      i++;
  }
  if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
    i++;
    if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
      i++;
    if (!is_digit (p, i)) {
      fail_at (p, i, "a number needs a digit in its exponent");
      return NULL;
    }
    while (is_digit (p, i))
      i++;
  }
  /* The grammar has been checked; strtod reads a NUL-terminated copy so that it
   * can never run past the range. */
  g_autofree char *copy = g_strndup (p->s + start, i - start);
  errno = 0;
  double v = g_ascii_strtod (copy, NULL);
  if (!isfinite (v)) {
    fail_at (p, start, "number %s is out of range", copy);
    return NULL;
  }
  p->pos = i;
  SpmJson *j = node_new (SPM_JSON_NUMBER);
  j->number = v;
  return j;
}

static int
hex4 (const Parser *p, gsize at)
{
  if (at > p->len || p->len - at < 4)
    return -1;
  int v = 0;
  for (int k = 0; k < 4; k++) {
    int d = g_ascii_xdigit_value (p->s[at + k]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Reads one \u escape (p->pos at the backslash), a surrogate pair if it starts one. */
static gboolean
parse_u_escape (Parser *p, GString *out)
{
  gsize at = p->pos;
  int hi = hex4 (p, at + 2);
  if (hi < 0) {
    fail_at (p, at, "\\u needs four hex digits");
    return FALSE;
  }
  gunichar cp = (gunichar) hi;
  p->pos = at + 6;
  if (hi >= 0xDC00 && hi <= 0xDFFF) {
    fail_at (p, at, "\\u%04x is a low surrogate without a high one", hi);
    return FALSE;
  }
  if (hi >= 0xD800 && hi <= 0xDBFF) {
    int lo = -1;
    if (p->len - p->pos >= 6 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u')
      lo = hex4 (p, p->pos + 2);
    if (lo < 0xDC00 || lo > 0xDFFF) {
      fail_at (p, at, "\\u%04x is a high surrogate not followed by a low one", hi);
      return FALSE;
    }
    cp = 0x10000 + (((gunichar) hi - 0xD800) << 10) + ((gunichar) lo - 0xDC00);
    p->pos += 6;
  }
  if (cp == 0) {
    fail_at (p, at, "\\u0000 is not allowed (strings are NUL-terminated)");
    return FALSE;
  }
  g_string_append_unichar (out, cp);
  return TRUE;
}

/* p->pos at the opening quote.  The text is known to be valid UTF-8. */
static char *
parse_string (Parser *p)
{
  gsize open = p->pos;
  p->pos++;
  g_autoptr (GString) out = g_string_new (NULL);
  for (;;) {
    if (p->pos >= p->len) {
      fail_at (p, open, "string is not terminated");
      return NULL;
    }
    unsigned char c = (unsigned char) p->s[p->pos];
    if (c == '"') {
      p->pos++;
      return g_string_free (g_steal_pointer (&out), FALSE);
    }
    if (c < 0x20) {
      fail_at (p, p->pos, "control character 0x%02x in a string must be escaped", c);
      return NULL;
    }
    if (c != '\\') {
      g_string_append_c (out, (char) c);
      p->pos++;
      continue;
    }
    if (p->pos + 1 >= p->len) {
      fail_at (p, open, "string is not terminated");
      return NULL;
    }
    static const char escapes[] = "\"\\/bfnrt", meaning[] = "\"\\/\b\f\n\r\t";
    char e = p->s[p->pos + 1];
    const char *simple = e != '\0' ? strchr (escapes, e) : NULL;
    if (simple != NULL) {
      g_string_append_c (out, meaning[simple - escapes]);
      p->pos += 2;
    } else if (e == 'u') {
      if (!parse_u_escape (p, out))
        return NULL;
    } else {
      fail_at (p, p->pos, "invalid escape in a string");
      return NULL;
    }
  }
}

static gboolean
enter (Parser *p)
{
  if (++p->depth > SPM_JSON_MAX_DEPTH) {
    fail_at (p, p->pos, "nesting deeper than %d", SPM_JSON_MAX_DEPTH);
    return FALSE;
  }
  return TRUE;
}

static void
items_free (gpointer j)
{
  spm_json_free (j);
}

/* p->pos at '['. */
static SpmJson *
parse_array (Parser *p)
{
  if (!enter (p))
    return NULL;
  p->pos++;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (items_free);
  skip_ws (p);
  if (p->pos < p->len && p->s[p->pos] == ']') {
    p->pos++;
  } else {
    for (;;) {
      SpmJson *v = parse_value (p);
      if (v == NULL)
        return NULL;
      g_ptr_array_add (items, v);
      skip_ws (p);
      if (p->pos < p->len && p->s[p->pos] == ',') {
        p->pos++;
        continue;
      }
      if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        break;
      }
      g_autofree char *here = describe_here (p);
      fail_at (p, p->pos, "expected ',' or ']' in an array, found %s", here);
      return NULL;
    }
  }
  p->depth--;
  SpmJson *j = node_new (SPM_JSON_ARRAY);
  j->n = (int) items->len;
  g_ptr_array_set_free_func (items, NULL);
  j->items = (SpmJson **) g_ptr_array_free (g_steal_pointer (&items), FALSE);
  return j;
}

/* p->pos at '{'. */
static SpmJson *
parse_object (Parser *p)
{
  if (!enter (p))
    return NULL;
  p->pos++;
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (items_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  skip_ws (p);
  if (p->pos < p->len && p->s[p->pos] == '}') {
    p->pos++;
  } else {
    for (;;) {
      skip_ws (p);
      if (p->pos >= p->len || p->s[p->pos] != '"') {
        g_autofree char *here = describe_here (p);
        fail_at (p, p->pos, "expected a string key in an object, found %s", here);
        return NULL;
      }
      gsize key_at = p->pos;
      char *key = parse_string (p);
      if (key == NULL)
        return NULL;
      g_ptr_array_add (keys, key);
      if (!g_hash_table_add (seen, key)) {
        fail_at (p, key_at, "duplicate key \"%s\"", key);
        return NULL;
      }
      skip_ws (p);
      if (p->pos >= p->len || p->s[p->pos] != ':') {
        g_autofree char *here = describe_here (p);
        fail_at (p, p->pos, "expected ':' after a key, found %s", here);
        return NULL;
      }
      p->pos++;
      SpmJson *v = parse_value (p);
      if (v == NULL)
        return NULL;
      g_ptr_array_add (items, v);
      skip_ws (p);
      if (p->pos < p->len && p->s[p->pos] == ',') {
        p->pos++;
        continue;
      }
      if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        break;
      }
      g_autofree char *here = describe_here (p);
      fail_at (p, p->pos, "expected ',' or '}' in an object, found %s", here);
      return NULL;
    }
  }
  p->depth--;
  SpmJson *j = node_new (SPM_JSON_OBJECT);
  j->n = (int) items->len;
  g_ptr_array_add (keys, NULL);   /* keys is also a strv */
  g_ptr_array_set_free_func (keys, NULL);
  g_ptr_array_set_free_func (items, NULL);
  j->keys = (char **) g_ptr_array_free (g_steal_pointer (&keys), FALSE);
  j->items = (SpmJson **) g_ptr_array_free (g_steal_pointer (&items), FALSE);
  return j;
}

static SpmJson *
parse_value (Parser *p)
{
  skip_ws (p);
  if (p->pos >= p->len) {
    fail_at (p, p->pos, "expected a value, found end of input");
    return NULL;
  }
  SpmJson *j;
  switch (p->s[p->pos]) {
  case '{':
    return parse_object (p);
  case '[':
    return parse_array (p);
  case '"': {
    char *s = parse_string (p);
    if (s == NULL)
      return NULL;
    j = node_new (SPM_JSON_STRING);
    j->string = s;
    return j;
  }
  case 't':
  case 'f': {
    gboolean v = p->s[p->pos] == 't';
    if (!parse_literal (p, v ? "true" : "false"))
      return NULL;
    j = node_new (SPM_JSON_BOOL);
    j->boolean = v;
    return j;
  }
  case 'n':
    if (!parse_literal (p, "null"))
      return NULL;
    return node_new (SPM_JSON_NULL);
  default:
    if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
      return parse_number (p);
    g_autofree char *here = describe_here (p);
    fail_at (p, p->pos, "expected a value, found %s", here);
    return NULL;
  }
}

SpmJson *
spm_json_parse (const char *text, gsize len, const char *what, GError **error)
{
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  Parser p = { text != NULL ? text : "", len, 0, 0, what != NULL ? what : "<json>", error };
  const char *bad = NULL;
  if (!g_utf8_validate_len (p.s, len, &bad)) {
    fail_at (&p, (gsize) (bad - p.s), "invalid UTF-8 (or a NUL byte)");
    return NULL;
  }
  g_autoptr (SpmJson) root = parse_value (&p);
  if (root == NULL)
    return NULL;
  skip_ws (&p);
  if (p.pos != p.len) {
    fail_at (&p, p.pos, "unexpected data after the JSON value");
    return NULL;
  }
  return g_steal_pointer (&root);
}

const SpmJson *
spm_json_get (const SpmJson *obj, const char *key)
{
  if (obj == NULL || obj->type != SPM_JSON_OBJECT || key == NULL)
    return NULL;
  for (int i = 0; i < obj->n; i++)
    if (strcmp (obj->keys[i], key) == 0)
      return obj->items[i];
  return NULL;
}

void
spm_json_append_string (GString *out, const char *s)
{
  g_autofree char *valid = NULL;
  if (s == NULL)
    s = "";
  else if (!g_utf8_validate (s, -1, NULL))
    s = valid = g_utf8_make_valid (s, -1);
  g_string_append_c (out, '"');
  for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
    switch (*c) {
    case '"': g_string_append (out, "\\\""); break;
    case '\\': g_string_append (out, "\\\\"); break;
    case '\b': g_string_append (out, "\\b"); break;
    case '\f': g_string_append (out, "\\f"); break;
    case '\n': g_string_append (out, "\\n"); break;
    case '\r': g_string_append (out, "\\r"); break;
    case '\t': g_string_append (out, "\\t"); break;
    default:
      if (*c < 0x20 || *c == 0x7f)
        g_string_append_printf (out, "\\u%04x", *c);
      else
        g_string_append_c (out, (char) *c);
    }
  }
  g_string_append_c (out, '"');
}

char **
spm_json_strv (const char *text, const char *what, GError **error)
{
  if (what == NULL)
    what = "<json>";
  g_autoptr (SpmJson) j = spm_json_parse (text, text != NULL ? strlen (text) : 0, what, error);
  if (j == NULL)
    return NULL;
  if (j->type != SPM_JSON_ARRAY) {
    g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: expected a JSON array of strings", what);
    return NULL;
  }
  g_auto (GStrv) v = g_new0 (char *, (gsize) j->n + 1);
  for (int i = 0; i < j->n; i++) {
    if (j->items[i]->type != SPM_JSON_STRING) {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT,
                   "%s: item %d of the array is not a string", what, i);
      return NULL;
    }
    v[i] = g_strdup (j->items[i]->string);
  }
  return g_steal_pointer (&v);
}

char *
spm_json_strv_to_text (const char *const *v)
{
  GString *out = g_string_new ("[");
  for (gsize i = 0; v != NULL && v[i] != NULL; i++) {
    if (i > 0)
      g_string_append_c (out, ',');
    spm_json_append_string (out, v[i]);
  }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}
