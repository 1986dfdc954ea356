/* test-manifest.c — the RFC 4180 reader (quotes, doubled quotes, CRLF, embedded
 * newlines, a BOM, blank lines) and manifests (columns, paths, windows, errors that
 * name file and line). */
#include "data-csv.h"
#include "data-manifest.h"
#include "host-errors.h"

#include <glib/gstdio.h>
#include <string.h>

static char *tmp_dir;

static void
check_rows (const char *text, int n_rows, const char *const *want, const int *lines)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpCsv) csv = sp_csv_parse (text, strlen (text), "t.csv", &error);
  g_assert_no_error (error);
  g_assert_cmpint (csv->n_rows, ==, n_rows);
  int k = 0;
  for (int r = 0; r < n_rows; r++) {
    g_assert_cmpint (csv->rows[r].line, ==, lines[r]);
    for (int f = 0; f < csv->rows[r].n; f++)
      g_assert_cmpstr (csv->rows[r].fields[f], ==, want[k++]);
    g_assert_cmpstr (want[k++], ==, "|");    /* end of row marker */
    g_assert_null (csv->rows[r].fields[csv->rows[r].n]);
  }
}

static void
test_csv (void)
{
  {
    const char *want[] = { "a", "b", "|", "1", "2", "|" };
    const int lines[] = { 1, 2 };
    check_rows ("a,b\n1,2\n", 2, want, lines);
    check_rows ("a,b\r\n1,2", 2, want, lines);                /* CRLF, no final newline */
    check_rows ("\xEF\xBB\xBF" "a,b\n1,2\n", 2, want, lines);  /* BOM */
  }
  {
    const char *want[] = { "a", "b", "|", "x, y", "say \"hi\"", "|", "", "", "|" };
    const int lines[] = { 1, 2, 4 };
    check_rows ("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\n,\n", 3, want, lines);
  }
  {
    const char *want[] = { "path", "caption", "|", "a.png", "line one\r\nline two", "|",
                           "b.png", "", "|" };
    const int lines[] = { 1, 2, 4 };
    check_rows ("path,caption\r\na.png,\"line one\r\nline two\"\r\nb.png,\"\"\r\n", 3, want, lines);
  }
  {
    const char *want[] = { "", "|" };   /* a quoted empty field is a record, a blank line is not */
    const int lines[] = { 2 };
    check_rows ("\n\"\"\n\n", 1, want, lines);
  }
  check_rows ("", 0, NULL, NULL);

  static const struct {
    const char *text, *error;
  } bad[] = {
    { "a,b\n\"open,2\n3,4\n", "t.csv:2: a quoted field is not closed" },
    { "a,b\n1,x\"y\n", "t.csv:2: a quote inside an unquoted field" },
    { "a\n\"x\"y\n", "t.csv:2: text after a closing quote" },
    { "a\n\"multi\nline\"z\n", "t.csv:3: text after a closing quote" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_null (sp_csv_parse (bad[i].text, strlen (bad[i].text), "t.csv", &error));
    g_assert_nonnull (error);
    g_assert_cmpstr (error->message, ==, bad[i].error);
  }
  g_autoptr (GError) error = NULL;
  g_assert_null (sp_csv_parse ("a\0b", 3, "t.csv", &error));
  g_assert_nonnull (strstr (error->message, "NUL"));
}

/* random texts over the characters that matter: whatever parses, written back with
 * every field quoted, parses to the same records (and nothing crashes) */
static void
test_csv_random (void)
{
  static const char alphabet[] = { 'a', 'b', ',', '"', '\n', '\r', ' ' };
  GRand *rand = g_rand_new_with_seed (4180);
  int parsed = 0;
  for (int iter = 0; iter < 3000; iter++) {
    int len = g_rand_int_range (rand, 0, 24);
    g_autofree char *text = g_new0 (char, (gsize) len + 1);
    for (int i = 0; i < len; i++)
      text[i] = alphabet[g_rand_int_range (rand, 0, G_N_ELEMENTS (alphabet))];
    g_autoptr (GError) error = NULL;
    g_autoptr (SpCsv) csv = sp_csv_parse (text, (gsize) len, "r.csv", &error);
    if (!csv) {
      g_assert_true (g_str_has_prefix (error->message, "r.csv:"));
      continue;
    }
    parsed++;
    g_autoptr (GString) out = g_string_new (NULL);
    for (int r = 0; r < csv->n_rows; r++) {
      for (int f = 0; f < csv->rows[r].n; f++) {
        g_string_append (out, f ? ",\"" : "\"");
        for (const char *p = csv->rows[r].fields[f]; *p; p++)
          g_string_append (out, *p == '"' ? "\"\"" : (char[]) { *p, 0 });
        g_string_append_c (out, '"');
      }
      g_string_append (out, "\r\n");
    }
    g_autoptr (SpCsv) again = sp_csv_parse (out->str, out->len, "w.csv", &error);
    g_assert_no_error (error);
    g_assert_cmpint (again->n_rows, ==, csv->n_rows);
    for (int r = 0; r < csv->n_rows; r++) {
      g_assert_cmpint (again->rows[r].n, ==, csv->rows[r].n);
      for (int f = 0; f < csv->rows[r].n; f++)
        g_assert_cmpstr (again->rows[r].fields[f], ==, csv->rows[r].fields[f]);
    }
  }
  g_assert_cmpint (parsed, >, 300);
  g_rand_free (rand);
}

static char *
write_manifest (const char *name, const char *text)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_manifest (void)
{
  g_autofree char *path = write_manifest ("data/m.csv",
                                          "\xEF\xBB\xBF" "path, label ,start,end\r\n"
                                          "clips/a.mp4,walk,1.5,3\r\n"
                                          "/abs/b.mp4,\"run, fast\",,\r\n"
                                          "c.mp4,sit,0,\r\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (SpManifest) m = sp_manifest_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->file, ==, path);
  g_assert_true (m->has_label);
  g_assert_false (m->has_labels);
  g_assert_false (m->has_caption);
  g_assert_cmpint (m->n_rows, ==, 3);
  g_autofree char *a = g_build_filename (tmp_dir, "data", "clips/a.mp4", NULL);
  g_assert_cmpstr (m->rows[0].path, ==, a);
  g_assert_cmpstr (m->rows[0].label, ==, "walk");
  g_assert_cmpfloat (m->rows[0].start, ==, 1.5);
  g_assert_cmpfloat (m->rows[0].end, ==, 3.0);
  g_assert_cmpint (m->rows[0].line, ==, 2);
  g_assert_cmpstr (m->rows[1].path, ==, "/abs/b.mp4");
  g_assert_cmpstr (m->rows[1].label, ==, "run, fast");
  g_assert_cmpfloat (m->rows[1].start, ==, -1);
  g_assert_cmpfloat (m->rows[1].end, ==, -1);
  g_assert_cmpfloat (m->rows[2].start, ==, 0);
  g_assert_null (m->rows[2].caption);
  g_assert_null (m->rows[2].labels);

  /* several captions per path; the label-file column is kept as written */
  g_autofree char *caps = write_manifest ("caps.csv",
                                          "caption,path,labels\n"
                                          "\"a red square,\nleft\",x.png,g/x.txt\n"
                                          "a blue circle,x.png,g/x.txt\n");
  g_autoptr (SpManifest) m2 = sp_manifest_read (caps, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m2->n_rows, ==, 2);
  g_assert_cmpstr (m2->rows[0].caption, ==, "a red square,\nleft");
  g_assert_cmpstr (m2->rows[0].labels, ==, "g/x.txt");
  g_assert_cmpint (m2->rows[1].line, ==, 4);
  g_autofree char *x = g_build_filename (tmp_dir, "x.png", NULL);
  g_assert_cmpstr (m2->rows[1].path, ==, x);
}

static void
test_manifest_errors (void)
{
  static const struct {
    const char *text, *error;
  } bad[] = {
    { "", ":1: empty; expected a header row" },
    { "label\nwalk\n", ":1: no 'path' column in the header" },
    { "path,lable\na,walk\n", ":1: unknown column 'lable'; did you mean 'label'?" },
    { "path,path\na,b\n", ":1: column 'path' appears twice" },
    { "path,label\na,walk\nb\n", ":3: 1 fields, but the header has 2" },
    { "path,label\n,walk\n", ":2: empty path" },
    { "path,start\na,-1\n", ":2: start \"-1\" is not a time in seconds >= 0" },
    { "path,end\na,soon\n", ":2: end \"soon\" is not a time in seconds >= 0" },
    { "path,start,end\na,3,2\n", ":2: end 2 is not after start 3" },
    { "path\n\"a\n", ":2: a quoted field is not closed" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *name = g_strdup_printf ("bad-%zu.csv", i);
    g_autofree char *path = write_manifest (name, bad[i].text);
    g_autoptr (GError) error = NULL;
    g_assert_null (sp_manifest_read (path, &error));
    g_assert_error (error, SP_ERROR, SP_ERROR_CONFIG);
    g_autofree char *want = g_strconcat (path, bad[i].error, NULL);
    if (!g_str_has_prefix (error->message, want))
      g_error ("case %zu: \"%s\" does not start with \"%s\"", i, error->message, want);
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.csv", NULL);
  g_assert_null (sp_manifest_read (missing, &error));
  g_assert_true (g_str_has_prefix (error->message, missing));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("sp-manifest-XXXXXX", NULL);
  g_test_add_func ("/csv/parse", test_csv);
  g_test_add_func ("/csv/random", test_csv_random);
  g_test_add_func ("/manifest/read", test_manifest);
  g_test_add_func ("/manifest/errors", test_manifest_errors);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_dir);
  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", tmp_dir);
  g_free (tmp_dir);
  return rc;
}
