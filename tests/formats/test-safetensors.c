/* test-safetensors.c — round trips, a table of malformed files, a file laid out
 * as the reference safetensors library writes it, and the writer under I/O failure. */
#include "spm-safetensors.h"
#include "spm-json.h"
#include "spm-model.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

static char *
make_tmpdir (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("spm-st-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

/* Removes dir and the plain files in it. */
static void
rm_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      g_rmdir (p);
    else
      g_unlink (p);
  }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (dir);
}

static int
count_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  int n = 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

/* A small file: two matrices, a scalar, an empty tensor and metadata. */
static const float w_data[6] = { 1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-40f };
static const float b_data[3] = { INFINITY, -7.0f, 123456.789f };
static const float s_data[1] = { 42.0f };
static const SpmStWrite small_tensors[] = {
  { "head.weight", w_data, 2, { 2, 3 } },
  { "head.bias", b_data, 1, { 3 } },
  { "scalar", s_data, 0, { 0 } },
  { "empty", NULL, 2, { 0, 5 } },
};
static const char *const small_meta[] = { "format", "seqpipe-1", "labels", "[\"a\",\"b \\\"c\\\"\"]",
                                          "unicode", "\xc3\xa9\xe2\x82\xac", NULL };

static GBytes *
write_small (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "small.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (spm_safetensors_write (path, small_tensors, G_N_ELEMENTS (small_tensors),
                                        small_meta, &error));
  g_assert_no_error (error);
  char *contents;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new_take (contents, len);
}

static void
test_roundtrip (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "small.safetensors", NULL);
  g_autoptr (GBytes) bytes = write_small (dir);
  gsize len;
  const guint8 *raw = g_bytes_get_data (bytes, &len);

  /* layout: header size multiple of 8, __metadata__ first, tensors in order */
  guint64 hsize;
  memcpy (&hsize, raw, 8);
  hsize = GUINT64_FROM_LE (hsize);
  g_assert_cmpuint (hsize % 8, ==, 0);
  g_assert_cmpuint (8 + hsize + 4 * (6 + 3 + 1), ==, len);
  g_assert_true (g_str_has_prefix ((const char *) raw + 8, "{\"__metadata__\":{\"format\":"));
  g_autofree char *header = g_strndup ((const char *) raw + 8, hsize);
  const char *w = strstr (header, "\"head.weight\""), *b = strstr (header, "\"head.bias\"");
  g_assert_true (w != NULL && b != NULL && w < b);
  g_assert_cmpint (memcmp (raw + 8 + hsize, w_data, sizeof w_data), ==, 0);

  g_autoptr (GError) error = NULL;
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (st->n_tensors, ==, G_N_ELEMENTS (small_tensors));
  for (gsize i = 0; i < G_N_ELEMENTS (small_tensors); i++) {
    const SpmStWrite *in = &small_tensors[i];
    const SpmStTensor *t = spm_safetensors_get (st, in->name);
    g_assert_nonnull (t);
    g_assert_cmpint (t->ndim, ==, in->ndim);
    int64_t numel = 1;
    for (int k = 0; k < in->ndim; k++) {
      g_assert_cmpint (t->shape[k], ==, in->shape[k]);
      numel *= in->shape[k];
    }
    g_assert_cmpint (t->numel, ==, numel);
    g_assert_nonnull (t->data);
    if (numel > 0)
      g_assert_cmpint (memcmp (t->data, in->data, (size_t) numel * 4), ==, 0);
  }
  g_assert_null (spm_safetensors_get (st, "missing"));
  g_assert_cmpuint (g_hash_table_size (st->metadata), ==, 3);
  for (int k = 0; small_meta[k] != NULL; k += 2)
    g_assert_cmpstr (g_hash_table_lookup (st->metadata, small_meta[k]), ==, small_meta[k + 1]);
  g_auto (GStrv) labels = spm_json_strv (g_hash_table_lookup (st->metadata, "labels"), "l", NULL);
  g_assert_cmpstr (labels[1], ==, "b \"c\"");

  /* rewriting what was read gives the same bytes */
  g_autofree char *again = g_build_filename (dir, "again.safetensors", NULL);
  g_assert_true (spm_safetensors_write (again, small_tensors, G_N_ELEMENTS (small_tensors),
                                        small_meta, NULL));
  g_autofree char *c2 = NULL;
  gsize l2;
  g_assert_true (g_file_get_contents (again, &c2, &l2, NULL));
  g_assert_cmpmem (c2, l2, raw, len);
  g_assert_cmpint (count_entries (dir), ==, 2);

  /* no metadata, no tensors */
  g_autofree char *bare = g_build_filename (dir, "bare.safetensors", NULL);
  g_assert_true (spm_safetensors_write (bare, NULL, 0, NULL, NULL));
  g_autoptr (SpmSafetensors) e = spm_safetensors_read (bare, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->n_tensors, ==, 0);
  g_assert_cmpuint (g_hash_table_size (e->metadata), ==, 0);
  rm_tree (dir);
}

/* A byte image: u64 header size, header text, then data_len bytes of 0x3f. */
static GBytes *
build (const char *header, gsize data_len)
{
  gsize h = strlen (header);
  guint8 *buf = g_malloc (8 + h + data_len);
  guint64 le = GUINT64_TO_LE ((guint64) h);
  memcpy (buf, &le, 8);
  memcpy (buf + 8, header, h);
  memset (buf + 8 + h, 0x3f, data_len);
  return g_bytes_new_take (buf, 8 + h + data_len);
}

static void
assert_rejected (const guint8 *data, gsize len, const char *label)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmSafetensors) st = spm_safetensors_parse (data, len, "bad.st", &error);
  if (st != NULL)
    g_error ("%s: accepted", label);
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
  if (!g_str_has_prefix (error->message, "bad.st: "))
    g_error ("%s: message does not name the source: %s", label, error->message);
}

#define T(name, dt, shape, offs) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static const struct { const char *why, *header; gsize data; } malformed[] = {
  { "empty header", "", 0 },
  { "bad JSON", "{" T ("a", "F32", "[1]", "[0,4]"), 4 },
  { "trailing JSON", "{}}", 0 },
  { "not an object", "[]", 0 },
  { "entry not an object", "{\"a\":1}", 0 },
  { "unknown dtype", "{" T ("a", "I32", "[1]", "[0,4]") "}", 4 },
  { "lowercase dtype", "{" T ("a", "f32", "[1]", "[0,4]") "}", 4 },
  { "dtype not a string", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4 },
  { "missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4 },
  { "missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4 },
  { "unknown field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4 },
  { "shape/offset mismatch", "{" T ("a", "F32", "[2]", "[0,4]") "}", 4 },
  { "F16 size counted as F32", "{" T ("a", "F16", "[2]", "[0,8]") "}", 8 },
  { "negative dim", "{" T ("a", "F32", "[-1]", "[0,4]") "}", 4 },
  { "fractional dim", "{" T ("a", "F32", "[1.5]", "[0,4]") "}", 4 },
  { "dim as string", "{" T ("a", "F32", "[\"1\"]", "[0,4]") "}", 4 },
  { "shape not an array", "{" T ("a", "F32", "1", "[0,4]") "}", 4 },
  { "too many dims", "{" T ("a", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4 },
  { "element count overflow", "{" T ("a", "F32", "[4294967296,4294967296,4294967296]", "[0,4]") "}", 4 },
  { "byte size overflow", "{" T ("a", "F64", "[2147483648,2147483648]", "[0,8]") "}", 8 },
  { "huge dim", "{" T ("a", "F32", "[1e300]", "[0,4]") "}", 4 },
  { "offsets reversed", "{" T ("a", "F32", "[1]", "[4,0]") "}", 4 },
  { "three offsets", "{" T ("a", "F32", "[1]", "[0,4,8]") "}", 4 },
  { "negative offset", "{" T ("a", "F32", "[1]", "[-4,0]") "}", 4 },
  { "offsets past end", "{" T ("a", "F32", "[2]", "[0,8]") "}", 4 },
  { "offsets far past end", "{" T ("a", "F32", "[2251799813685248]", "[0,9007199254740992]") "}", 4 },
  { "overlap", "{" T ("a", "F32", "[2]", "[0,8]") "," T ("b", "F32", "[2]", "[4,12]") "}", 12 },
  { "same range twice", "{" T ("a", "F32", "[1]", "[0,4]") "," T ("b", "F32", "[1]", "[0,4]") "}", 4 },
  { "gap", "{" T ("a", "F32", "[1]", "[0,4]") "," T ("b", "F32", "[1]", "[8,12]") "}", 12 },
  { "trailing data", "{" T ("a", "F32", "[1]", "[0,4]") "}", 8 },
  { "data without tensors", "{}", 4 },
  { "duplicate tensor", "{" T ("a", "F32", "[1]", "[0,4]") "," T ("a", "F32", "[1]", "[4,8]") "}", 8 },
  { "non-string metadata", "{\"__metadata__\":{\"format\":1}}", 0 },
  { "null metadata value", "{\"__metadata__\":{\"format\":null}}", 0 },
  { "metadata not an object", "{\"__metadata__\":\"x\"}", 0 },
  { "metadata twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0 },
  { "header not UTF-8", "{\"\xff\":1}", 0 },
};

static void
test_malformed_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (malformed); i++) {
    g_autoptr (GBytes) b = build (malformed[i].header, malformed[i].data);
    gsize len;
    const guint8 *d = g_bytes_get_data (b, &len);
    assert_rejected (d, len, malformed[i].why);
  }
  /* the same shapes, well formed, are accepted: the table tests what it says */
  const char *good[] = { "{" T ("a", "F32", "[1]", "[0,4]") "," T ("b", "F32", "[1]", "[4,8]") "}",
                         "{" T ("a", "F16", "[2]", "[0,4]") "," T ("b", "BF16", "[0,3]", "[4,4]")
                         "," T ("c", "F64", "[]", "[4,12]") ",\"__metadata__\":{\"k\":\"v\"}}     " };
  const gsize good_len[] = { 8, 12 };
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GBytes) b = build (good[i], good_len[i]);
    g_autoptr (GError) error = NULL;
    g_autoptr (SpmSafetensors) st = spm_safetensors_parse (g_bytes_get_data (b, NULL),
                                                           g_bytes_get_size (b), "good", &error);
    g_assert_no_error (error);
    g_assert_nonnull (st);
  }
}

static void
test_header_size (void)
{
  g_autoptr (GBytes) b = build ("{}", 0);
  gsize len;
  const guint8 *raw = g_bytes_get_data (b, &len);
  g_autofree guint8 *d = g_memdup2 (raw, len);
  const guint64 sizes[] = { 3, 100, G_MAXUINT32, (guint64) 1 << 40, G_MAXUINT64 - 7, G_MAXUINT64 };
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++) {
    guint64 le = GUINT64_TO_LE (sizes[i]);
    memcpy (d, &le, 8);
    assert_rejected (d, len, "header size");
  }
  assert_rejected (d, 0, "empty");
  assert_rejected (d, 7, "seven bytes");
}

/* Every proper prefix of a valid file is rejected, cleanly. */
static void
test_truncated (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GBytes) bytes = write_small (dir);
  gsize len;
  const guint8 *raw = g_bytes_get_data (bytes, &len);
  for (gsize n = 0; n < len; n++) {
    g_autofree guint8 *copy = g_memdup2 (raw, n);   /* exact size: ASan sees any overread */
    g_autofree char *label = g_strdup_printf ("truncated at %" G_GSIZE_FORMAT, n);
    assert_rejected (copy, n, label);
  }
  g_autoptr (SpmSafetensors) st = spm_safetensors_parse (raw, len, "full", NULL);
  g_assert_nonnull (st);
  rm_tree (dir);
}

static void
test_read_errors (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  g_assert_null (spm_safetensors_read (missing, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, missing));
  g_clear_error (&error);
  g_assert_null (spm_safetensors_read (dir, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
  g_clear_error (&error);
  g_autofree char *empty = g_build_filename (dir, "empty.safetensors", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_null (spm_safetensors_read (empty, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_FORMAT);
  g_assert_true (g_str_has_prefix (error->message, empty));
  rm_tree (dir);
}

/* The writer refuses what the reader would refuse, and creates nothing. */
static void
test_write_rejects (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "x.safetensors", NULL);
  const float v[2] = { 1, 2 };
  const SpmStWrite dup[] = { { "a", v, 1, { 1 } }, { "a", v, 1, { 1 } } };
  const SpmStWrite reserved[] = { { "__metadata__", v, 1, { 1 } } };
  const SpmStWrite neg[] = { { "a", v, 1, { -1 } } };
  const SpmStWrite nodata[] = { { "a", NULL, 1, { 2 } } };
  const SpmStWrite dims[] = { { "a", v, SPM_ST_MAX_DIMS + 1, { 1 } } };
  const struct { const SpmStWrite *t; int n; const char *const *meta; } cases[] = {
    { dup, 2, NULL }, { reserved, 1, NULL }, { neg, 1, NULL }, { nodata, 1, NULL },
    { dims, 1, NULL }, { NULL, 0, (const char *const[]) { "k", NULL } },
    { NULL, 0, (const char *const[]) { "k", "v", "k", "w", NULL } },
    { NULL, 0, (const char *const[]) { "k", "\xff", NULL } },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (spm_safetensors_write (path, cases[i].t, cases[i].n, cases[i].meta, &error));
    g_assert_error (error, SPM_ERROR, SPM_ERROR_FAILED);
    g_assert_cmpint (count_entries (dir), ==, 0);
  }
  rm_tree (dir);
}

/* Like SQLite's I/O fault tests: let the file grow to only n bytes, for every n
 * short of the full size.  Each write must fail with SPM_ERROR_IO, leave the
 * previous file under the final name untouched, and leave no temporary file. */
static void
test_write_failures (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (GBytes) full = write_small (dir);
  g_autofree char *path = g_build_filename (dir, "small.safetensors", NULL);
  g_assert_true (g_file_set_contents (path, "previous", -1, NULL));
  struct rlimit saved;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  for (gsize n = 0; n < g_bytes_get_size (full); n++) {
    struct rlimit lim = { (rlim_t) n, saved.rlim_max };
    GError *error = NULL;
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);
    gboolean ok = spm_safetensors_write (path, small_tensors, G_N_ELEMENTS (small_tensors),
                                         small_meta, &error);
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
    g_assert_false (ok);
    g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
    g_error_free (error);
    g_autofree char *c = NULL;
    g_assert_true (g_file_get_contents (path, &c, NULL, NULL));
    g_assert_cmpstr (c, ==, "previous");
    g_assert_cmpint (count_entries (dir), ==, 1);
  }
  signal (SIGXFSZ, old_handler);

  /* the final name is a directory: the rename fails, nothing is left behind */
  g_autofree char *sub = g_build_filename (dir, "sub.safetensors", NULL);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_false (spm_safetensors_write (sub, small_tensors, 1, NULL, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
  g_assert_true (g_file_test (sub, G_FILE_TEST_IS_DIR));
  g_assert_cmpint (count_entries (dir), ==, 2);
  g_clear_error (&error);

  /* the directory does not exist */
  g_autofree char *nodir = g_build_filename (dir, "no", "x.safetensors", NULL);
  g_assert_false (spm_safetensors_write (nodir, small_tensors, 1, NULL, &error));
  g_assert_error (error, SPM_ERROR, SPM_ERROR_IO);
  g_assert_cmpint (count_entries (dir), ==, 2);

  /* and with room again, it succeeds and replaces the previous file */
  g_assert_true (spm_safetensors_write (path, small_tensors, G_N_ELEMENTS (small_tensors),
                                        small_meta, NULL));
  g_autofree char *c = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &c, &len, NULL));
  g_assert_cmpmem (c, len, g_bytes_get_data (full, NULL), g_bytes_get_size (full));
  rm_tree (dir);
}

/* fixtures/reference.safetensors is laid out as the reference library writes it
 * (gen_safetensors_fixture.py): keys not in data order, F32/F64/F16/BF16.
 * fixtures/reference.json holds each tensor's shape and values as float32. */
static void
test_reference_file (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "reference.safetensors", NULL);
  g_autofree char *expect_path = g_test_build_filename (G_TEST_DIST, "fixtures", "reference.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpmSafetensors) st = spm_safetensors_read (path, &error);
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (expect_path, &text, &len, NULL));
  g_autoptr (SpmJson) expect = spm_json_parse (text, len, expect_path, &error);
  g_assert_no_error (error);
  const SpmJson *tensors = spm_json_get (expect, "tensors");
  const SpmJson *meta = spm_json_get (expect, "metadata");
  g_assert_cmpint (st->n_tensors, ==, tensors->n);
  for (int i = 0; i < tensors->n; i++) {
    const SpmStTensor *t = spm_safetensors_get (st, tensors->keys[i]);
    g_assert_nonnull (t);
    const SpmJson *shape = spm_json_get (tensors->items[i], "shape");
    const SpmJson *values = spm_json_get (tensors->items[i], "values");
    g_assert_cmpint (t->ndim, ==, shape->n);
    for (int k = 0; k < shape->n; k++)
      g_assert_cmpint (t->shape[k], ==, (int64_t) shape->items[k]->number);
    g_assert_cmpint (t->numel, ==, values->n);
    for (int k = 0; k < values->n; k++) {
      const SpmJson *v = values->items[k];
      float want = v->type == SPM_JSON_STRING
                   ? (strcmp (v->string, "nan") == 0 ? NAN
                      : strcmp (v->string, "inf") == 0 ? INFINITY : -INFINITY)
                   : (float) v->number;
      if (isnan (want))
        g_assert_true (isnan (t->data[k]));
      else if (memcmp (&want, &t->data[k], 4) != 0)
        g_error ("%s[%d]: %.9g, expected %.9g", t->name, k, t->data[k], want);
    }
  }
  g_assert_cmpuint (g_hash_table_size (st->metadata), ==, (guint) meta->n);
  for (int i = 0; i < meta->n; i++)
    g_assert_cmpstr (g_hash_table_lookup (st->metadata, meta->keys[i]), ==, meta->items[i]->string);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func ("/safetensors/malformed-table", test_malformed_table);
  g_test_add_func ("/safetensors/header-size", test_header_size);
  g_test_add_func ("/safetensors/truncated", test_truncated);
  g_test_add_func ("/safetensors/read-errors", test_read_errors);
  g_test_add_func ("/safetensors/write-rejects", test_write_rejects);
  g_test_add_func ("/safetensors/write-failures", test_write_failures);
  g_test_add_func ("/safetensors/reference-file", test_reference_file);
  return g_test_run ();
}
