/* spm-safetensors.h — reading and writing safetensors files (float32 tensors).
 *
 * File: 8-byte little-endian header size N, N bytes of JSON
 *   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * then the raw little-endian data; offsets are relative to the end of the header.
 * The reader validates everything (JSON syntax, dtype F32, F64, F16 or BF16,
 * shape x dtype size == end - begin without overflow, offsets inside the file, no
 * overlap, the data region fully covered, metadata values strings; header keys in
 * any order) and rejects anything else with SPM_ERROR_FORMAT naming the file and
 * the fault; a file that cannot be opened or mapped is SPM_ERROR_IO.
 * Tensors come back in data order; each `data` is a g_malloc'd float copy (never
 * NULL, even for 0 elements) freed by spm_safetensors_free; `metadata` is never NULL.
 * With SPM_ST_KEEP_NONFLOAT (the *_full readers) the integer and boolean dtypes
 * (I64, I32, I16, I8, U64, U32, U16, U8, BOOL) are accepted too, validated exactly as
 * the float ones, and come back with their name, shape and dtype but data = NULL
 * (a state_dict's num_batches_tracked, say, which a reader skips by name).
 */
#ifndef SPM_SAFETENSORS_H
#define SPM_SAFETENSORS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SPM_ST_MAX_DIMS 8

typedef struct {
  char *name;
  int ndim;
  int64_t shape[SPM_ST_MAX_DIMS];
  int64_t numel;
  const char *dtype;       /* the file's dtype: "F32", "F16", ..., "I64" (static string) */
  float *data;             /* owned, aligned copy (F32; F64/F16/BF16 converted to float);
                            * NULL for an integer or boolean entry (SPM_ST_KEEP_NONFLOAT) */
} SpmStTensor;

typedef struct {
  SpmStTensor *tensors;
  int n_tensors;
  GHashTable *metadata;    /* char* -> char*, owned */
} SpmSafetensors;

/* `what` names the source in error messages (a path, or "<memory>") */
SpmSafetensors *spm_safetensors_parse (const guint8 *data, gsize len, const char *what,
                                       GError **error);
SpmSafetensors *spm_safetensors_read (const char *path, GError **error);
/* flags: 0 (as the two above) or SPM_ST_KEEP_NONFLOAT */
#define SPM_ST_KEEP_NONFLOAT (1u << 0)
SpmSafetensors *spm_safetensors_parse_full (const guint8 *data, gsize len, const char *what,
                                            guint flags, GError **error);
SpmSafetensors *spm_safetensors_read_full (const char *path, guint flags, GError **error);
void spm_safetensors_free (SpmSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmSafetensors, spm_safetensors_free)
const SpmStTensor *spm_safetensors_get (const SpmSafetensors *st, const char *name);

/* What to write: n tensors (data not copied) and metadata pairs. */
typedef struct {
  const char *name;
  const float *data;
  int ndim;
  int64_t shape[SPM_ST_MAX_DIMS];
} SpmStWrite;

/* Writes atomically: PATH.tmp-XXXXXX, fsync, rename.  meta: "k", "v", ..., NULL
 * (may be NULL).  Tensors are written in the order given, 8-byte aligned header,
 * __metadata__ first.  Bad input (repeated or reserved name, negative shape, no
 * data, metadata without value or not UTF-8) is SPM_ERROR_FAILED and writes
 * nothing; an I/O failure is SPM_ERROR_IO and leaves PATH as it was, with no
 * temporary file behind. */
gboolean spm_safetensors_write (const char *path, const SpmStWrite *tensors, int n,
                                const char *const *meta, GError **error);

G_END_DECLS

#endif
