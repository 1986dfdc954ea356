/* test-npy.c — the `npy` decoder: NumPy-written fixtures in every layout and dtype,
 * streaming over block boundaries, windows and times, and a table of malformed
 * files that must fail with an error naming the file. */
#include <glib/gstdio.h>
#include <string.h>

#include "decoder-test.h"

static char *work;

/* the fixtures' values: a[t, d] = t - 0.25 d, T = 5, D = 3 */
#define FIX_T 5
#define FIX_D 3

static char *
fixture (const char *name)
{
  const char *dir = g_getenv ("SEQPIPE_DECODER_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

/* Writes a .npy file: magic, version major.0, the header padded with spaces and a
 * newline to a multiple of 64 bytes (as NumPy does), then data. */
static char *
write_npy (const char *name, int major, const char *header, const void *data, gsize len)
{
  GString *s = g_string_new (NULL);
  g_string_append_len (s, "\x93NUMPY", 6);
  g_string_append_c (s, (char) major);
  g_string_append_c (s, 0);
  gsize pre = 6 + 2 + (major == 1 ? 2 : 4);
  gsize hlen = strlen (header) + 1;
  hlen += (64 - (pre + hlen) % 64) % 64;
  for (int i = 0; i < (major == 1 ? 2 : 4); i++)
    g_string_append_c (s, (char) ((hlen >> (8 * i)) & 0xff));
  g_string_append (s, header);
  while (s->len < pre + hlen - 1)
    g_string_append_c (s, ' ');
  g_string_append_c (s, '\n');
  g_string_append_len (s, data, len);
  char *path = g_build_filename (work, name, NULL);
  g_assert_true (g_file_set_contents (path, s->str, s->len, NULL));
  g_string_free (s, TRUE);
  return path;
}

static void
decode_ok (const char *path, const DtParams *prm, DtRun *r)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = dt_decode ("npy", path, prm, r, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
assert_fixture_values (const DtRun *r)
{
  g_assert_cmpuint (r->frames->len, ==, FIX_T);
  for (int t = 0; t < FIX_T; t++)
    {
      const DtFrame *f = &g_array_index (r->frames, DtFrame, t);
      g_assert_cmpint (f->index, ==, t);
      g_assert_cmpint (f->dim, ==, FIX_D);
      for (int d = 0; d < FIX_D; d++)
        g_assert_cmpfloat (f->features[d], ==, t - 0.25f * d);
    }
}

static void
test_fixture (gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = fixture (name);
  static const char *const transpose[] = { "transpose=true", NULL };
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 8, 8);
  if (strstr (name, "transposed") != NULL)
    prm.keys = transpose;
  decode_ok (path, &prm, &r);
  assert_fixture_values (&r);
  for (int t = 0; t < FIX_T; t++)
    g_assert_cmpfloat (g_array_index (r.frames, DtFrame, t).time, ==, t);
  dt_run_clear (&r);
}

static void
test_times_window (void)
{
  g_autofree char *path = fixture ("f4.npy");
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (2, 8, 8);
  decode_ok (path, &prm, &r);
  g_assert_cmpfloat (g_array_index (r.frames, DtFrame, 3).time, ==, 1.5);
  dt_run_clear (&r);

  prm.start = 1.0;
  prm.end = 2.0;
  decode_ok (path, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 2);
  g_assert_cmpint (g_array_index (r.frames, DtFrame, 0).index, ==, 2);
  g_assert_cmpint (g_array_index (r.frames, DtFrame, 1).index, ==, 3);
  g_assert_cmpfloat (g_array_index (r.frames, DtFrame, 1).features[0], ==, 3.0f);
  dt_run_clear (&r);
}

/* float64 is rounded to the nearest float32 */
static void
test_f8_rounding (void)
{
  double v[2] = { 1.0 / 3.0, -2.0 / 7.0 };
  g_autofree char *path = write_npy ("third.npy", 1,
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", v, sizeof v);
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 8, 8);
  decode_ok (path, &prm, &r);
  g_assert_cmpfloat (g_array_index (r.frames, DtFrame, 0).features[0], ==, (float) (1.0 / 3.0));
  g_assert_cmpfloat (g_array_index (r.frames, DtFrame, 0).features[1], ==, (float) (-2.0 / 7.0));
  dt_run_clear (&r);
}

static void
test_empty (void)
{
  g_autofree char *path = write_npy ("empty.npy", 1,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", "", 0);
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 8, 8);
  decode_ok (path, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, 0);
  dt_run_clear (&r);
}

/* Larger than one read block (4 MiB) in the feature-major layout, so rows are read
 * in several blocks: every value must still land in its place.  f(t, d) = t/2 + d. */
static void
test_streaming (gconstpointer data)
{
  gboolean feature_major = GPOINTER_TO_INT (data);
  const int T = 1030, D = 2048;
  g_autofree float *a = g_new (float, (gsize) T * D);
  for (int t = 0; t < T; t++)
    for (int d = 0; d < D; d++)
      {
        float v = t * 0.5f + d;
        if (feature_major)
          a[(gsize) d * T + t] = v;    /* stored (D, T) */
        else
          a[(gsize) t * D + d] = v;    /* stored (T, D) */
      }
  g_autofree char *header = g_strdup_printf (
      "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }",
      feature_major ? D : T, feature_major ? T : D);
  g_autofree char *path = write_npy ("big.npy", 1, header, a, sizeof (float) * T * D);
  static const char *const transpose[] = { "transpose=true", NULL };
  DtRun r = { 0 };
  DtParams prm = DT_PARAMS (0, 8, 8);
  prm.keys = feature_major ? transpose : NULL;
  decode_ok (path, &prm, &r);
  g_assert_cmpuint (r.frames->len, ==, T);
  for (int t = 0; t < T; t++)
    {
      const DtFrame *f = &g_array_index (r.frames, DtFrame, t);
      g_assert_cmpint (f->index, ==, t);
      for (int d = 0; d < D; d++)
        if (f->features[d] != t * 0.5f + d)
          g_error ("frame %d feature %d: %g, expected %g", t, d, f->features[d], t * 0.5f + d);
    }
  dt_run_clear (&r);
  g_unlink (path);
}

/* ---- malformed files ------------------------------------------------------------ */

typedef struct {
  const char *name;
  int major;            /* 0: `header` is the whole file */
  const char *header;
  int data_bytes;       /* bytes of zero data after the header */
  const char *expect;   /* in the message, after the file name */
  gsize raw_len;        /* major 0: the file's length (it may hold NULs) */
} BadCase;

#define DICT(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " shape ", }"

static const BadCase bad_cases[] = {
  { "empty-file", 0, "", 0, "not a .npy file", 0 },
  { "bad-magic", 0, "\x93NUMPX\x01\x00\x10\x00{}", 0, "not a .npy file", 12 },
  { "version-4", 4, DICT ("(2, 3)"), 24, "unsupported .npy format version 4.0", 0 },
  { "header-cut", 0, "\x93NUMPY\x01\x00\x40\x00{'descr'", 0, "truncated", 18 },
  { "not-a-dict", 1, "[1, 2]", 0, "expected '{'", 0 },
  { "missing-shape", 1, "{'descr': '<f4', 'fortran_order': False}", 0, "missing key 'shape'", 0 },
  { "missing-descr", 1, "{'fortran_order': False, 'shape': (2, 3)}", 0, "missing key 'descr'", 0 },
  { "duplicate-key", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
    0, "appears twice", 0 },
  { "unknown-key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
    0, "unknown key 'x'", 0 },
  { "fortran-not-bool", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", 0,
    "True or False", 0 },
  { "shape-negative", 1, DICT ("(2, -3)"), 0, "non-negative integer", 0 },
  { "shape-list", 1, DICT ("[2, 3]"), 0, "expected '('", 0 },
  { "shape-huge", 1, DICT ("(99999999999999999999, 3)"), 0, "too large", 0 },
  { "shape-overflow", 1, DICT ("(4611686018427387904, 3)"), 0, "too large", 0 },
  { "unterminated", 1, "{'descr': '<f4", 0, "unterminated string", 0 },
  { "no-close", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),", 0,
    "expected a quoted string", 0 },
  { "trailing-text", 1, DICT ("(2, 3)") " x", 24, "unexpected text after the dict", 0 },
  { "dtype-int", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", 24,
    "unsupported dtype '<i4'", 0 },
  { "dtype-half", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", 12,
    "unsupported dtype '<f2'", 0 },
  { "dtype-structured", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }",
    24, "structured", 0 },
  { "ndim-1", 1, DICT ("(6,)"), 24, "expected a 2-D array", 0 },
  { "ndim-3", 1, DICT ("(1, 2, 3)"), 24, "expected a 2-D array", 0 },
  { "no-features", 1, DICT ("(2, 0)"), 0, "feature size D = 0", 0 },
  { "truncated-data", 1, DICT ("(4, 3)"), 20, "truncated data", 0 },
  { "truncated-v2", 2, DICT ("(4, 3)"), 47, "truncated data", 0 },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *c = data;
  g_autofree char *name = g_strconcat (c->name, ".npy", NULL);
  g_autofree char *zeros = g_malloc0 (c->data_bytes + 1);
  g_autofree char *path = NULL;
  if (c->major == 0)
    {
      path = g_build_filename (work, name, NULL);
      g_assert_true (g_file_set_contents (path, c->header, c->raw_len, NULL));
    }
  else
    path = write_npy (name, c->major, c->header, zeros, c->data_bytes);

  DtRun r = { 0 };
  g_autoptr (GError) error = NULL;
  DtParams prm = DT_PARAMS (0, 8, 8);
  g_assert_false (dt_decode ("npy", path, &prm, &r, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  if (strstr (error->message, c->expect) == NULL)
    g_test_fail_printf ("'%s' does not say '%s'", error->message, c->expect);
  dt_run_clear (&r);
}

static void
test_bad_fixture (gconstpointer data)
{
  const char *const *c = data;  /* fixture, expected text */
  g_autofree char *path = fixture (c[0]);
  DtRun r = { 0 };
  g_autoptr (GError) error = NULL;
  DtParams prm = DT_PARAMS (0, 8, 8);
  g_assert_false (dt_decode ("npy", path, &prm, &r, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, c[1]));
  dt_run_clear (&r);
}

int
main (int argc, char **argv)
{
  static const char *const fixtures[] = {
    "f4.npy", "f8.npy", "f4-big-endian.npy", "f8-big-endian.npy", "f4-fortran.npy",
    "f4-transposed.npy", "f4-transposed-fortran.npy", "f4-v2.npy", "f4-v3.npy",
  };
  static const char *const wrong_dtype[] = { "i4.npy", "unsupported dtype '<i4'" };
  static const char *const wrong_ndim[] = { "f4-1d.npy", "expected a 2-D array" };

  g_test_init (&argc, &argv, NULL);
  work = dt_tmpdir ();

  for (gsize i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *p = g_strdup_printf ("/npy/fixture/%s", fixtures[i]);
      g_test_add_data_func (p, fixtures[i], test_fixture);
    }
  g_test_add_func ("/npy/times-window", test_times_window);
  g_test_add_func ("/npy/f8-rounding", test_f8_rounding);
  g_test_add_func ("/npy/empty", test_empty);
  g_test_add_data_func ("/npy/streaming/time-major", GINT_TO_POINTER (FALSE), test_streaming);
  g_test_add_data_func ("/npy/streaming/feature-major", GINT_TO_POINTER (TRUE), test_streaming);
  g_test_add_data_func ("/npy/bad/wrong-dtype", wrong_dtype, test_bad_fixture);
  g_test_add_data_func ("/npy/bad/wrong-ndim", wrong_ndim, test_bad_fixture);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/npy/bad/%s", bad_cases[i].name);
      g_test_add_data_func (p, &bad_cases[i], test_bad);
    }

  int ret = g_test_run ();
  dt_rmtree (work);
  g_free (work);
  return ret;
}
