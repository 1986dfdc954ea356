/* fuzz-safetensors.c — libFuzzer target for the checkpoint and JSON readers.
 *
 * Each input is read three ways: as JSON text, as a safetensors file, and as a
 * safetensors header followed by data (the input is split after its last '}'
 * and given a correct header size, so mutations reach the tensor checks rather
 * than stopping at the size field).  Accepted values must satisfy the readers'
 * promises; anything else aborts, which the fuzzer reports as a crash.
 */
#include "spm-json.h"
#include "spm-model.h"
#include "spm-safetensors.h"

#include <stdlib.h>
#include <string.h>

static void
serialize (GString *out, const SpmJson *j)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  switch (j->type) {
  case SPM_JSON_NULL: g_string_append (out, "null"); break;
  case SPM_JSON_BOOL: g_string_append (out, j->boolean ? "true" : "false"); break;
  case SPM_JSON_NUMBER: g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.17g", j->number)); break;
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
        if (spm_json_get (j, j->keys[i]) != j->items[i])   /* keys are unique */
          abort ();
      }
      serialize (out, j->items[i]);
    }
    g_string_append_c (out, j->type == SPM_JSON_ARRAY ? ']' : '}');
    break;
  }
}

/* Accepted JSON, written back out, parses again to the same text. */
static void
check_json (const char *data, size_t size)
{
  GError *error = NULL;
  SpmJson *j = spm_json_parse (data, size, "<fuzz>", &error);
  if (j == NULL) {
    if (error == NULL || error->domain != SPM_ERROR || error->code != SPM_ERROR_FORMAT)
      abort ();
    g_error_free (error);
    return;
  }
  GString *a = g_string_new (NULL), *b = g_string_new (NULL);
  serialize (a, j);
  SpmJson *k = spm_json_parse (a->str, a->len, "<again>", NULL);
  if (k == NULL)
    abort ();
  serialize (b, k);
  if (strcmp (a->str, b->str) != 0)
    abort ();
  spm_json_free (k);
  spm_json_free (j);
  g_string_free (a, TRUE);
  g_string_free (b, TRUE);
}

static void
check_safetensors (const guint8 *data, size_t size)
{
  GError *error = NULL;
  SpmSafetensors *st = spm_safetensors_parse (data, size, "<fuzz>", &error);
  if (st == NULL) {
    if (error == NULL || error->domain != SPM_ERROR || error->code != SPM_ERROR_FORMAT)
      abort ();
    g_error_free (error);
    return;
  }
  int64_t bytes = 0;
  for (int i = 0; i < st->n_tensors; i++) {
    const SpmStTensor *t = &st->tensors[i];
    int64_t numel = 1;
    for (int k = 0; k < t->ndim; k++)
      numel *= t->shape[k];
    if (numel != t->numel || spm_safetensors_get (st, t->name) != t)
      abort ();
    for (int64_t k = 0; k < numel; k++)   /* touch every element (ASan checks bounds) */
      bytes += t->data[k] == t->data[k];
  }
  if (bytes > (int64_t) size * 4)
    abort ();
  spm_safetensors_free (st);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  check_json ((const char *) data, size);
  check_safetensors (data, size);

  const uint8_t *brace = size > 0 ? memrchr (data, '}', size) : NULL;
  guint64 hlen = brace != NULL ? (guint64) (brace - data) + 1 : (guint64) size;
  guint8 *wrapped = g_malloc (size + 8);
  guint64 le = GUINT64_TO_LE (hlen);
  memcpy (wrapped, &le, 8);
  if (size > 0)
    memcpy (wrapped + 8, data, size);
  check_safetensors (wrapped, size + 8);
  g_free (wrapped);
  return 0;
}
