/* spm-json.h — a small strict JSON reader and string escaping, enough for safetensors
 * headers, checkpoint metadata (label and vocabulary arrays) and seqpipe's own files. */
#ifndef SPM_JSON_H
#define SPM_JSON_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum { SPM_JSON_NULL, SPM_JSON_BOOL, SPM_JSON_NUMBER, SPM_JSON_STRING,
               SPM_JSON_ARRAY, SPM_JSON_OBJECT } SpmJsonType;

typedef struct SpmJson SpmJson;
struct SpmJson {
  SpmJsonType type;
  gboolean boolean;
  double number;
  char *string;          /* STRING: value (UTF-8, unescaped) */
  char **keys;           /* OBJECT: n keys, in file order */
  SpmJson **items;       /* ARRAY / OBJECT: n values */
  int n;
};

/* Strict RFC 8259 parse (depth-limited, rejects trailing data and duplicate keys).
 * `what` names the source in the error. */
SpmJson *spm_json_parse (const char *text, gsize len, const char *what, GError **error);
void spm_json_free (SpmJson *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmJson, spm_json_free)
const SpmJson *spm_json_get (const SpmJson *obj, const char *key);   /* NULL if absent */
/* Appends s as a JSON string literal (with quotes); NULL is ""; bytes that are not
 * UTF-8 (a file name can hold any) become U+FFFD, so the output is always valid JSON */
void spm_json_append_string (GString *out, const char *s);
/* a JSON array of strings -> NULL-terminated strv, or NULL + error if not that */
char **spm_json_strv (const char *text, const char *what, GError **error);
/* a strv -> JSON array text (newly allocated) */
char *spm_json_strv_to_text (const char *const *v);

G_END_DECLS

#endif
