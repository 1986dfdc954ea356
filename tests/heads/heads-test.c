/* heads-test.c — helpers of the heads suite (see heads-test.h). */
#include "heads-test.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "spm-json.h"

static char *dir;

const char *
ht_dir (void)
{
  if (!dir) {
    GError *e = NULL;
    dir = g_dir_make_tmp ("seqpipe-heads-XXXXXX", &e);
    g_assert_no_error (e);
  }
  return dir;
}

void
ht_demo (const char *parts)
{
  const char *script = g_getenv ("SEQPIPE_DEMO_SCRIPT");
  g_assert_nonnull (script);
  g_autofree char *out = g_build_filename (ht_dir (), "demo", NULL);
  g_autofree char *stamp = g_strdup_printf ("%s/.made-%s", out, parts);
  if (g_file_test (stamp, G_FILE_TEST_EXISTS))
    return;
  const char *argv[] = { "/usr/bin/env", "SMALL=1", NULL, "/bin/bash", script, out, NULL };
  g_autofree char *p = g_strdup_printf ("PARTS=%s", parts);
  argv[2] = p;
  int status = 0;
  GError *e = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &e);
  g_assert_no_error (e);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_file_set_contents (stamp, "", 0, NULL);
}

/* the last lines of a child's stderr, at most about 4 KiB of them */
static const char *
stderr_tail (const char *err)
{
  if (!err)
    return "";
  size_t n = strlen (err);
  const char *t = n > 4096 ? err + n - 4096 : err;
  const char *nl = t != err ? strchr (t, '\n') : NULL;
  return nl ? nl + 1 : t;
}

gboolean
ht_fail_if_signalled (int wait_status, const char *what, const char *err)
{
  if (!WIFSIGNALED (wait_status))
    return FALSE;
  /* A child killed by a signal crashed (a sanitizer's abort included): that is a
   * failure of the test, never a skip, whatever the test goes on to check. */
  int sig = WTERMSIG (wait_status);
  g_test_message ("%s was killed by signal %d (%s)%s; its stderr ends:\n%s", what, sig,
                  g_strsignal (sig), WCOREDUMP (wait_status) ? ", core dumped" : "",
                  stderr_tail (err));
  g_test_fail ();
  return TRUE;
}

void
ht_seqpipe (HtRun *r, const char *const *args)
{
  const char *bin = g_getenv ("SEQPIPE_BIN");
  g_assert_nonnull (bin);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) bin);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  GError *e = NULL;
  memset (r, 0, sizeof *r);
  g_spawn_sync (ht_dir (), (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r->out,
                &r->err, &status, &e);
  g_assert_no_error (e);
  /* Under AddressSanitizer, LeakSanitizer's own tracer can fault while it scans at exit
   * ("Tracer caught signal" then "LeakSanitizer has encountered a fatal error",
   * SIGABRT): that one signature is a failure of the tool; the run goes once more.
   * Any other death by a signal fails the test below. */
  if (WIFSIGNALED (status) && WTERMSIG (status) == SIGABRT && r->err != NULL
      && strstr (r->err, "Tracer caught signal") != NULL
      && strstr (r->err, "LeakSanitizer has encountered a fatal error") != NULL)
    {
      g_test_message ("seqpipe %s: LeakSanitizer's tracer faulted at exit; running it again",
                      args[0]);
      g_clear_pointer (&r->out, g_free);
      g_clear_pointer (&r->err, g_free);
      g_spawn_sync (ht_dir (), (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                    &r->out, &r->err, &status, &e);
      g_assert_no_error (e);
    }
  r->status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  g_autofree char *what = g_strdup_printf ("seqpipe %s", args[0]);
  ht_fail_if_signalled (status, what, r->err);
  if (g_test_verbose ())
    g_printerr ("seqpipe %s -> %d\n%s", args[0], r->status, r->err);
}

void
ht_run_clear (HtRun *r)
{
  g_free (r->out);
  g_free (r->err);
  memset (r, 0, sizeof *r);
}

char *
ht_path (const char *name)
{
  return g_build_filename (ht_dir (), name, NULL);
}

char *
ht_write (const char *name, const char *text)
{
  char *p = ht_path (name);
  g_autofree char *d = g_path_get_dirname (p);
  g_mkdir_with_parents (d, 0755);
  GError *e = NULL;
  g_file_set_contents (p, text, -1, &e);
  g_assert_no_error (e);
  return p;
}

char *
ht_read (const char *name)
{
  g_autofree char *p = ht_path (name);
  char *text = NULL;
  if (!g_file_get_contents (p, &text, NULL, NULL))
    g_error ("cannot read %s", p);
  return text;
}

gboolean
ht_exists (const char *name)
{
  g_autofree char *p = ht_path (name);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

int
ht_lines (const char *name)
{
  g_autofree char *p = ht_path (name);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (p, &text, NULL, NULL))
    return 0;
  int n = 0;
  for (char *c = text; *c; c++)
    n += *c == '\n';
  return n;
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *d = g_dir_open (path, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name (d))) {
      g_autofree char *c = g_build_filename (path, n, NULL);
      rm_rf (c);
    }
    if (d)
      g_dir_close (d);
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

void
ht_cleanup (void)
{
  if (dir && !g_getenv ("SEQPIPE_KEEP_TEST_DIR"))
    rm_rf (dir);
  else if (dir)
    g_printerr ("test data kept in %s\n", dir);
  g_clear_pointer (&dir, g_free);
}

double
ht_json_number (const char *json, const char *key)
{
  GError *e = NULL;
  g_autoptr (SpmJson) j = spm_json_parse (json, strlen (json), "json", &e);
  g_assert_no_error (e);
  const SpmJson *v = spm_json_get (j, key);
  if (!v || v->type != SPM_JSON_NUMBER)
    g_error ("no number \"%s\" in %s", key, json);
  return v->number;
}
