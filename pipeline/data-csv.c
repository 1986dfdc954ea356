/* csv.c — an RFC 4180 reader: fields separated by ',', records by CRLF or LF, fields
 * in double quotes may hold ',', line breaks and doubled quotes (""), a UTF-8 byte
 * order mark is skipped, blank lines are skipped.  Errors name the file and line. */
#include "data-csv.h"
#include "host-errors.h"

#include <string.h>

static void
row_clear (SpCsvRow *row)
{
  g_strfreev (row->fields);
}

void
sp_csv_free (SpCsv *csv)
{
  if (!csv)
    return;
  for (int i = 0; i < csv->n_rows; i++)
    row_clear (&csv->rows[i]);
  g_free (csv->rows);
  g_free (csv);
}

static gboolean
csv_error (GError **error, const char *what, int line, const char *msg)
{
  g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s:%d: %s", what, line, msg);
  return FALSE;
}

/* one field starting at t[*i]; leaves *i on the character after it */
static gboolean
parse_field (const char *t, gsize len, gsize *i, int *line, GString *field, gboolean *quoted,
             const char *what, GError **error)
{
  g_string_truncate (field, 0);
  *quoted = *i < len && t[*i] == '"';
  if (!*quoted) {
    for (; *i < len && t[*i] != ',' && t[*i] != '\n'; (*i)++) {
      if (t[*i] == '\r' && *i + 1 < len && t[*i + 1] == '\n')
        break;
      if (t[*i] == '"')
        return csv_error (error, what, *line, "a quote inside an unquoted field");
      g_string_append_c (field, t[*i]);
    }
    return TRUE;
  }
  int start = *line;
  for ((*i)++;; (*i)++) {
    if (*i >= len)
      return csv_error (error, what, start, "a quoted field is not closed");
    if (t[*i] == '"') {
      if (*i + 1 < len && t[*i + 1] == '"') {
        g_string_append_c (field, '"');
        (*i)++;
        continue;
      }
      (*i)++;
      break;
    }
    if (t[*i] == '\n')
      (*line)++;
    g_string_append_c (field, t[*i]);
  }
  gboolean ends = *i >= len || t[*i] == ',' || t[*i] == '\n'
                  || (t[*i] == '\r' && *i + 1 < len && t[*i + 1] == '\n');
  if (!ends)
    return csv_error (error, what, *line, "text after a closing quote");
  return TRUE;
}

SpCsv *
sp_csv_parse (const char *text, gsize len, const char *what, GError **error)
{
  const char *nul = memchr (text, '\0', len);
  if (nul) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                 "%s: byte offset %" G_GSIZE_FORMAT ": a NUL byte (not a text file)", what,
                 (gsize) (nul - text));
    return NULL;
  }
  gsize i = 0;
  if (len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (SpCsvRow));
  g_array_set_clear_func (rows, (GDestroyNotify) row_clear);
  g_autoptr (GString) field = g_string_new (NULL);
  int line = 1;
  while (i < len) {
    SpCsvRow row = { NULL, 0, line };
    g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
    gboolean quoted = FALSE;
    for (;;) {
      if (!parse_field (text, len, &i, &line, field, &quoted, what, error))
        return NULL;
      g_ptr_array_add (fields, g_strndup (field->str, field->len));
      if (i < len && text[i] == ',') {
        i++;
        continue;
      }
      if (i < len && text[i] == '\r')
        i++;
      if (i < len && text[i] == '\n') {
        i++;
        line++;
      }
      break;
    }
    if (fields->len == 1 && !quoted && !*(char *) fields->pdata[0])
      continue;   /* a blank line */
    row.n = (int) fields->len;
    g_ptr_array_add (fields, NULL);
    row.fields = (char **) g_ptr_array_free (g_steal_pointer (&fields), FALSE);
    g_array_append_val (rows, row);
  }
  SpCsv *csv = g_new0 (SpCsv, 1);
  csv->n_rows = (int) rows->len;
  g_array_set_clear_func (rows, NULL);
  csv->rows = (SpCsvRow *) (void *) g_array_free (g_steal_pointer (&rows), FALSE);
  return csv;
}

SpCsv *
sp_csv_read (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local)) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: %s", path, local->message);
    return NULL;
  }
  return sp_csv_parse (text, len, path, error);
}

char *
sp_text_read (const char *path, gsize *len, GError **error)
{
  g_autofree char *text = NULL;
  gsize n = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, &n, &local)) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: %s", path, local->message);
    return NULL;
  }
  const char *nul = memchr (text, '\0', n);
  if (nul) {
    g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                 "%s: byte offset %" G_GSIZE_FORMAT ": a NUL byte (not a text file)", path,
                 (gsize) (nul - text));
    return NULL;
  }
  if (n >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0) {
    memmove (text, text + 3, n - 3 + 1);   /* with the terminating NUL */
    n -= 3;
  }
  if (len)
    *len = n;
  return g_steal_pointer (&text);
}
