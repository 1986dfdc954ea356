/* data-csv.h — CSV files (RFC 4180: quotes, doubled quotes, CRLF, embedded newlines,
 * a byte-order mark), the reader of manifests, segment label files and label lists. */
#ifndef SP_DATA_CSV_H
#define SP_DATA_CSV_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char **fields;                    /* NULL-terminated */
  int n;
  int line;                         /* 1-based line where the record starts */
} SpCsvRow;
typedef struct {
  SpCsvRow *rows;
  int n_rows;
} SpCsv;
/* Every record of the file (blank lines skipped).  Errors name WHAT (a file name) and
 * the line. */
SpCsv *sp_csv_parse (const char *text, gsize len, const char *what, GError **error);
SpCsv *sp_csv_read (const char *path, GError **error);
/* The contents of a text file (NUL-terminated, newly allocated; *len may be NULL) with
 * a leading UTF-8 byte-order mark removed.  A NUL byte inside is an error naming the
 * file and the byte's offset; so is an unreadable file. */
char *sp_text_read (const char *path, gsize *len, GError **error);
void sp_csv_free (SpCsv *csv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpCsv, sp_csv_free)

G_END_DECLS

#endif
