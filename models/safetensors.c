/* safetensors.c — reading (validating everything) and atomically writing
 * safetensors files.
 *
 * Layout: u64 little-endian N | N bytes of JSON header | data region.
 * A tensor entry is {"dtype": D, "shape": [d0, ...], "data_offsets": [b, e]} with
 * b, e relative to the start of the data region.  The reader accepts F32 and
 * converts F64, F16 and BF16 to float; with SPM_ST_KEEP_NONFLOAT it also accepts the
 * integer and boolean dtypes, validated alike, as entries without data; it requires
 *   e - b == prod(shape) * sizeof(D)       (no overflow on the way),
 *   the ranges, sorted by b, tile [0, data size) exactly (no overlap, no gap),
 *   __metadata__ (optional) an object of strings, no other keys in an entry.
 * Every rejection is SPM_ERROR_FORMAT; failing to open or map is SPM_ERROR_IO.
 */
#include "spm-safetensors.h"
#include "spm-io.h"
#include "spm-json.h"
#include "spm-model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u * 1024u * 1024u)   /* as the reference implementation */
#define ST_MAX_EXACT ((guint64) 1 << 53)        /* integers a JSON double holds exactly */

typedef enum {
  DT_F32, DT_F64, DT_F16, DT_BF16,                       /* converted to float */
  DT_I64, DT_I32, DT_I16, DT_I8, DT_U64, DT_U32, DT_U16, DT_U8, DT_BOOL, /* kept without data */
} Dtype;
#define DT_N_FLOAT (DT_BF16 + 1)
static const struct { const char *name; guint64 size; } dtypes[] = {
  [DT_F32] = { "F32", 4 }, [DT_F64] = { "F64", 8 }, [DT_F16] = { "F16", 2 }, [DT_BF16] = { "BF16", 2 },
  [DT_I64] = { "I64", 8 }, [DT_I32] = { "I32", 4 }, [DT_I16] = { "I16", 2 }, [DT_I8] = { "I8", 1 },
  [DT_U64] = { "U64", 8 }, [DT_U32] = { "U32", 4 }, [DT_U16] = { "U16", 2 }, [DT_U8] = { "U8", 1 },
  [DT_BOOL] = { "BOOL", 1 },
};

typedef struct {
  const char *name;      /* borrowed from the header JSON */
  Dtype dtype;
  int ndim;
  int64_t shape[SPM_ST_MAX_DIMS];
  guint64 numel, begin, end;
} Entry;

G_GNUC_PRINTF (3, 4) static gboolean
st_fail (GError **error, const char *what, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SPM_ERROR, SPM_ERROR_FORMAT, "%s: %s", what, msg);
  return FALSE;
}

void
spm_safetensors_free (SpmSafetensors *st)
{
  if (st == NULL)
    return;
  for (int i = 0; i < st->n_tensors; i++) {
    g_free (st->tensors[i].name);
    g_free (st->tensors[i].data);
  }
  g_free (st->tensors);
  if (st->metadata != NULL)
    g_hash_table_unref (st->metadata);
  g_free (st);
}

const SpmStTensor *
spm_safetensors_get (const SpmSafetensors *st, const char *name)
{
  for (int i = 0; st != NULL && name != NULL && i < st->n_tensors; i++)
    if (strcmp (st->tensors[i].name, name) == 0)
      return &st->tensors[i];
  return NULL;
}

/* A non-negative integer that a JSON number represents exactly. */
static gboolean
json_uint (const SpmJson *j, guint64 *out)
{
  if (j == NULL || j->type != SPM_JSON_NUMBER || !(j->number >= 0) ||
      j->number > (double) ST_MAX_EXACT || j->number != floor (j->number))
    return FALSE;
  *out = (guint64) j->number;
  return TRUE;
}

static gboolean
parse_entry (const char *what, const char *name, const SpmJson *v, guint flags, Entry *e,
             GError **error)
{
  if (v->type != SPM_JSON_OBJECT)
    return st_fail (error, what, "tensor \"%s\": entry is not an object", name);
  for (int k = 0; k < v->n; k++)
    if (strcmp (v->keys[k], "dtype") != 0 && strcmp (v->keys[k], "shape") != 0 &&
        strcmp (v->keys[k], "data_offsets") != 0)
      return st_fail (error, what, "tensor \"%s\": unknown field \"%s\"", name, v->keys[k]);
  const SpmJson *dt = spm_json_get (v, "dtype");
  const SpmJson *shape = spm_json_get (v, "shape");
  const SpmJson *offs = spm_json_get (v, "data_offsets");
  if (dt == NULL || shape == NULL || offs == NULL)
    return st_fail (error, what, "tensor \"%s\": needs dtype, shape and data_offsets", name);
  e->name = name;
  if (dt->type != SPM_JSON_STRING)
    return st_fail (error, what, "tensor \"%s\": dtype is not a string", name);
  int d = -1;
  int n_dtypes = (flags & SPM_ST_KEEP_NONFLOAT) ? (int) G_N_ELEMENTS (dtypes) : DT_N_FLOAT;
  for (int k = 0; k < n_dtypes; k++)
    if (strcmp (dt->string, dtypes[k].name) == 0)
      d = k;
  if (d < 0)
    return st_fail (error, what, "tensor \"%s\": dtype %s is not supported (F32, F64, F16, BF16)",
                    name, dt->string);
  e->dtype = (Dtype) d;
  if (shape->type != SPM_JSON_ARRAY)
    return st_fail (error, what, "tensor \"%s\": shape is not an array", name);
  if (shape->n > SPM_ST_MAX_DIMS)
    return st_fail (error, what, "tensor \"%s\": %d dimensions, at most %d supported", name,
                    shape->n, SPM_ST_MAX_DIMS);
  e->ndim = shape->n;
  e->numel = 1;
  for (int k = 0; k < shape->n; k++) {
    guint64 dim;
    if (!json_uint (shape->items[k], &dim))
      return st_fail (error, what, "tensor \"%s\": shape[%d] is not a non-negative integer", name, k);
    if (!g_uint64_checked_mul (&e->numel, e->numel, dim) || e->numel > (guint64) G_MAXINT64)
      return st_fail (error, what, "tensor \"%s\": element count overflows", name);
    e->shape[k] = (int64_t) dim;
  }
  guint64 nbytes;
  if (!g_uint64_checked_mul (&nbytes, e->numel, dtypes[d].size))
    return st_fail (error, what, "tensor \"%s\": byte size overflows", name);
  if (offs->type != SPM_JSON_ARRAY || offs->n != 2 || !json_uint (offs->items[0], &e->begin) ||
      !json_uint (offs->items[1], &e->end))
    return st_fail (error, what, "tensor \"%s\": data_offsets is not two non-negative integers", name);
  if (e->end < e->begin)
    return st_fail (error, what, "tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %"
                    G_GUINT64_FORMAT "] end before they begin", name, e->begin, e->end);
  if (e->end - e->begin != nbytes)
    return st_fail (error, what, "tensor \"%s\": data_offsets span %" G_GUINT64_FORMAT
                    " bytes but shape x %s needs %" G_GUINT64_FORMAT, name, e->end - e->begin,
                    dtypes[d].name, nbytes);
  return TRUE;
}

static gboolean
parse_metadata (const char *what, const SpmJson *v, GHashTable *into, GError **error)
{
  if (v->type != SPM_JSON_OBJECT)
    return st_fail (error, what, "__metadata__ is not an object");
  for (int k = 0; k < v->n; k++) {
    if (v->items[k]->type != SPM_JSON_STRING)
      return st_fail (error, what, "__metadata__ \"%s\" is not a string", v->keys[k]);
    g_hash_table_insert (into, g_strdup (v->keys[k]), g_strdup (v->items[k]->string));
  }
  return TRUE;
}

static int
entry_cmp (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return strcmp (x->name, y->name);
}

/* IEEE binary16 -> binary32: sign | exponent rebased 15 -> 127 | mantissa << 13;
 * subnormals are mantissa * 2^-24. */
static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  guint32 bits;
  if (exp == 0) {
    float f = ldexpf ((float) mant, -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

/* Converts numel little-endian elements of dtype at src into dst (floats). */
static void
convert (Dtype dt, const guint8 *src, guint64 numel, float *dst)
{
  for (guint64 i = 0; i < numel; i++) {
    switch (dt) {
    case DT_F32: {
      guint32 u;
      memcpy (&u, src + 4 * i, 4);
      u = GUINT32_FROM_LE (u);
      memcpy (&dst[i], &u, 4);
      break;
    }
    case DT_F64: {
      guint64 u;
      double d;
      memcpy (&u, src + 8 * i, 8);
      u = GUINT64_FROM_LE (u);
      memcpy (&d, &u, 8);
      dst[i] = (float) d;
      break;
    }
    case DT_F16:
    case DT_BF16: {
      guint16 u;
      memcpy (&u, src + 2 * i, 2);
      u = GUINT16_FROM_LE (u);
      if (dt == DT_F16) {
        dst[i] = half_to_float (u);
      } else {
        guint32 bits = (guint32) u << 16;
        memcpy (&dst[i], &bits, 4);
      }
      break;
    }
    default:                 /* integer dtypes carry no float data (never reached) */
      g_assert_not_reached ();
    }
  }
}

SpmSafetensors *
spm_safetensors_parse (const guint8 *data, gsize len, const char *what, GError **error)
{
  return spm_safetensors_parse_full (data, len, what, 0, error);
}

SpmSafetensors *
spm_safetensors_parse_full (const guint8 *data, gsize len, const char *what, guint flags,
                            GError **error)
{
  if (what == NULL)
    what = "<memory>";
  if (data == NULL && len > 0) {
    st_fail (error, what, "no data");
    return NULL;
  }
  if (len < 8) {
    st_fail (error, what, "%" G_GSIZE_FORMAT " bytes, too short for the 8-byte header size", len);
    return NULL;
  }
  guint64 hsize;
  memcpy (&hsize, data, 8);
  hsize = GUINT64_FROM_LE (hsize);
  if (hsize > ST_MAX_HEADER || hsize > len - 8) {
    st_fail (error, what, "header size %" G_GUINT64_FORMAT " does not fit in the file (%"
             G_GSIZE_FORMAT " bytes)", hsize, len);
    return NULL;
  }
  g_autofree char *hwhat = g_strdup_printf ("%s: header", what);
  g_autoptr (SpmJson) h = spm_json_parse ((const char *) data + 8, (gsize) hsize, hwhat, error);
  if (h == NULL)
    return NULL;
  if (h->type != SPM_JSON_OBJECT) {
    st_fail (error, what, "header is not a JSON object");
    return NULL;
  }
  const guint8 *region = data + 8 + hsize;
  guint64 region_len = len - 8 - hsize;

  g_autoptr (SpmSafetensors) st = g_new0 (SpmSafetensors, 1);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree Entry *entries = g_new0 (Entry, (gsize) h->n + 1);
  int n = 0;
  for (int k = 0; k < h->n; k++) {
    if (strcmp (h->keys[k], "__metadata__") == 0) {
      if (!parse_metadata (what, h->items[k], st->metadata, error))
        return NULL;
    } else if (!parse_entry (what, h->keys[k], h->items[k], flags, &entries[n++], error)) {
      return NULL;
    }
  }
  qsort (entries, (size_t) n, sizeof (Entry), entry_cmp);
  guint64 at = 0;
  for (int k = 0; k < n; k++) {
    if (entries[k].begin < at) {
      st_fail (error, what, "tensor \"%s\": data_offsets overlap \"%s\"", entries[k].name,
               entries[k - 1].name);
      return NULL;
    }
    if (entries[k].begin > at) {
      st_fail (error, what, "tensor \"%s\": data_offsets leave a gap at byte %" G_GUINT64_FORMAT
               " of the data", entries[k].name, at);
      return NULL;
    }
    if (entries[k].end > region_len) {
      st_fail (error, what, "tensor \"%s\": data_offsets end at %" G_GUINT64_FORMAT
               ", past the %" G_GUINT64_FORMAT " data bytes", entries[k].name, entries[k].end,
               region_len);
      return NULL;
    }
    at = entries[k].end;
  }
  if (at != region_len) {
    st_fail (error, what, "%" G_GUINT64_FORMAT " bytes after the last tensor's data",
             region_len - at);
    return NULL;
  }

  st->tensors = g_new0 (SpmStTensor, (gsize) n + 1);
  for (int k = 0; k < n; k++) {
    const Entry *e = &entries[k];
    SpmStTensor *t = &st->tensors[k];
    t->name = g_strdup (e->name);
    t->ndim = e->ndim;
    memcpy (t->shape, e->shape, sizeof t->shape);
    t->numel = (int64_t) e->numel;
    t->dtype = dtypes[e->dtype].name;
    st->n_tensors = k + 1;
    if (e->dtype >= DT_N_FLOAT)
      continue;                      /* kept by name, shape and dtype only */
    if (e->numel > G_MAXSIZE / sizeof (float)) {
      st_fail (error, what, "tensor \"%s\" is too large for this machine", e->name);
      return NULL;
    }
    t->data = g_try_new (float, (gsize) MAX (e->numel, 1));   /* never NULL, even when empty */
    if (t->data == NULL) {
      st_fail (error, what, "tensor \"%s\": out of memory for %" G_GUINT64_FORMAT " floats",
               e->name, e->numel);
      return NULL;
    }
    convert (e->dtype, region + e->begin, e->numel, t->data);
  }
  return g_steal_pointer (&st);
}

SpmSafetensors *
spm_safetensors_read (const char *path, GError **error)
{
  return spm_safetensors_read_full (path, 0, error);
}

SpmSafetensors *
spm_safetensors_read_full (const char *path, guint flags, GError **error)
{
  /* a FIFO or a device is refused before anything could block on it */
  int fd = spm_file_open_regular (path, error);
  if (fd < 0)
    return NULL;
  g_autoptr (GError) merr = NULL;
  g_autoptr (GMappedFile) map = g_mapped_file_new_from_fd (fd, FALSE, &merr);
  close (fd);
  if (map == NULL) {
    g_set_error (error, SPM_ERROR, SPM_ERROR_IO, "%s: %s", path, merr->message);
    return NULL;
  }
  return spm_safetensors_parse_full ((const guint8 *) g_mapped_file_get_contents (map),
                                     g_mapped_file_get_length (map), path, flags, error);
}

/* ---- writing ---- */

/* Writes numel floats little-endian. */
static gboolean
write_floats (SpmFileWriter *w, const float *data, guint64 numel, GError **error)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return spm_file_writer_write (w, data, (gsize) numel * sizeof (float), error);
#else
  guint32 buf[1024];
  for (guint64 i = 0; i < numel; i += G_N_ELEMENTS (buf)) {
    gsize m = (gsize) MIN (numel - i, G_N_ELEMENTS (buf));
    for (gsize k = 0; k < m; k++) {
      guint32 u;
      memcpy (&u, &data[i + k], 4);
      buf[k] = GUINT32_TO_LE (u);
    }
    if (!spm_file_writer_write (w, buf, m * 4, error))
      return FALSE;
  }
  return TRUE;
#endif
}

/* The header JSON, padded with spaces so that 8 + its length is a multiple of 8.
 * Checks what the reader would refuse: duplicate or reserved names, bad shapes,
 * metadata that is not UTF-8. */
static GString *
build_header (const char *path, const SpmStWrite *tensors, int n, const char *const *meta,
              GError **error)
{
  g_autoptr (GString) h = g_string_new ("{");
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  if (meta != NULL) {
    g_string_append (h, "\"__metadata__\":{");
    for (int k = 0; meta[k] != NULL; k += 2) {
      if (meta[k + 1] == NULL || !g_utf8_validate (meta[k], -1, NULL) ||
          !g_utf8_validate (meta[k + 1], -1, NULL) || !g_hash_table_add (seen, (char *) meta[k])) {
        g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                     "%s: metadata \"%s\" is missing its value, repeated or not UTF-8", path,
                     meta[k]);
        return NULL;
      }
      if (k > 0)
        g_string_append_c (h, ',');
      spm_json_append_string (h, meta[k]);
      g_string_append_c (h, ':');
      spm_json_append_string (h, meta[k + 1]);
    }
    g_string_append_c (h, '}');
  }
  g_hash_table_remove_all (seen);
  guint64 offset = 0;
  for (int i = 0; i < n; i++) {
    const SpmStWrite *t = &tensors[i];
    guint64 numel = 1;
    gboolean ok = t->name != NULL && g_utf8_validate (t->name, -1, NULL) &&
                  strcmp (t->name, "__metadata__") != 0 && t->ndim >= 0 &&
                  t->ndim <= SPM_ST_MAX_DIMS && g_hash_table_add (seen, (char *) t->name);
    for (int k = 0; ok && k < t->ndim; k++)
      ok = t->shape[k] >= 0 && g_uint64_checked_mul (&numel, numel, (guint64) t->shape[k]) &&
           numel <= ST_MAX_EXACT / 4;
    if (ok && numel > 0 && t->data == NULL)
      ok = FALSE;
    if (!ok) {
      g_set_error (error, SPM_ERROR, SPM_ERROR_FAILED,
                   "%s: tensor %d (\"%s\") has a bad, reserved or repeated name, bad shape or no data",
                   path, i, t->name != NULL ? t->name : "");
      return NULL;
    }
    if (h->len > 1)
      g_string_append_c (h, ',');
    spm_json_append_string (h, t->name);
    g_string_append (h, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int k = 0; k < t->ndim; k++)
      g_string_append_printf (h, "%s%" G_GINT64_FORMAT, k > 0 ? "," : "", (gint64) t->shape[k]);
    g_string_append_printf (h, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                            offset, offset + 4 * numel);
    offset += 4 * numel;
  }
  g_string_append_c (h, '}');
  while (h->len % 8 != 0)
    g_string_append_c (h, ' ');
  return g_steal_pointer (&h);
}

static guint64
numel_of (const SpmStWrite *t)
{
  guint64 m = 1;
  for (int k = 0; k < t->ndim; k++)
    m *= (guint64) t->shape[k];
  return m;
}

gboolean
spm_safetensors_write (const char *path, const SpmStWrite *tensors, int n,
                       const char *const *meta, GError **error)
{
  g_return_val_if_fail (path != NULL && n >= 0 && (n == 0 || tensors != NULL), FALSE);
  g_autoptr (GString) h = build_header (path, tensors, n, meta, error);
  if (h == NULL)
    return FALSE;
  g_autoptr (SpmFileWriter) w = spm_file_writer_new (path, error);
  guint64 hsize = GUINT64_TO_LE ((guint64) h->len);
  if (w == NULL || !spm_file_writer_write (w, &hsize, 8, error)
      || !spm_file_writer_write (w, h->str, h->len, error))
    return FALSE;
  for (int i = 0; i < n; i++)
    if (!write_floats (w, tensors[i].data, numel_of (&tensors[i]), error))
      return FALSE;
  return spm_file_writer_commit (w, error);
}
