/* e2e.c — helpers of the end-to-end tests (e2e.h). */
#include "e2e.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *
seqpipe_bin (void)
{
  const char *b = g_getenv ("SEQPIPE_BIN");

  g_assert_nonnull (b);
  return b;
}

E2e *
e2e_new (void)
{
  E2e *t = g_new0 (E2e, 1);
  g_autoptr (GError) error = NULL;

  t->dir = g_dir_make_tmp ("seqpipe-e2e-XXXXXX", &error);
  g_assert_no_error (error);
  t->out = g_build_filename (t->dir, "out", NULL);
  return t;
}

static void
remove_tree (const char *path)
{
  GDir *d;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_unlink (path);
      return;
    }
  d = g_dir_open (path, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (path);
}

void
e2e_free (E2e *t)
{
  if (t == NULL)
    return;
  if (g_getenv ("SEQPIPE_E2E_KEEP") == NULL)
    remove_tree (t->dir);
  else
    g_printerr ("kept %s\n", t->dir);
  g_free (t->dir);
  g_free (t->out);
  g_free (t);
}

char *
e2e_path (E2e *t, const char *name)
{
  return g_build_filename (t->dir, name, NULL);
}

char *
e2e_write (E2e *t, const char *name, const char *contents)
{
  char *path = e2e_path (t, name);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0777), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

char *
e2e_read (E2e *t, const char *name)
{
  g_autofree char *path = e2e_path (t, name);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

gboolean
e2e_exists (E2e *t, const char *name)
{
  g_autofree char *path = e2e_path (t, name);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static char **
run_argv (E2e *t, const char *config, const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();

  g_free (e2e_write (t, "run.ini", config));
  g_ptr_array_add (argv, g_strdup (seqpipe_bin ()));
  g_ptr_array_add (argv, g_strdup ("run"));
  g_ptr_array_add (argv, g_strdup ("run.ini"));
  for (int i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

static char **
run_env (void)
{
  char **env = g_get_environ ();
  const char *fake = g_getenv ("SEQPIPE_E2E_FAKE_DIR");

  if (fake != NULL)
    env = g_environ_setenv (env, "SEQPIPE_PLUGIN_PATH", fake, TRUE);
  return env;
}

/* reads fd to the end into a string */
static char *
slurp_fd (int fd)
{
  GString *s = g_string_new (NULL);
  char buf[4096];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (s, buf, n);
  close (fd);
  return g_string_free (s, FALSE);
}

static int
run_child (E2e *t, const char *config, const char *const *args, int interrupt_ms,
           char **err, long *peak_kb)
{
  g_auto (GStrv) argv = run_argv (t, config, args);
  g_auto (GStrv) env = run_env ();
  g_autoptr (GError) error = NULL;
  g_autofree char *stderr_text = NULL;
  GPid pid;
  int err_fd, status = 0;
  struct rusage ru;

  g_spawn_async_with_pipes (t->dir, argv, env, G_SPAWN_DO_NOT_REAP_CHILD
                            | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, NULL, NULL,
                            &err_fd, &error);
  g_assert_no_error (error);
  if (interrupt_ms > 0)
    {
      g_usleep ((gulong) interrupt_ms * 1000);
      kill (pid, SIGINT);
    }
  stderr_text = slurp_fd (err_fd);
  while (wait4 (pid, &status, 0, &ru) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  g_spawn_close_pid (pid);
  if (g_test_verbose ())
    g_printerr ("%s", stderr_text);
  if (peak_kb != NULL)
    *peak_kb = ru.ru_maxrss;
  if (err != NULL)
    *err = g_steal_pointer (&stderr_text);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}

int
e2e_run (E2e *t, const char *config, const char *const *args, char **err, long *peak_kb)
{
  return run_child (t, config, args, 0, err, peak_kb);
}

int
e2e_run_interrupted (E2e *t, const char *config, int delay_ms, char **err)
{
  return run_child (t, config, NULL, delay_ms, err, NULL);
}

int
e2e_run_tty (E2e *t, const char *config, const char *const *args, char **tty)
{
  g_auto (GStrv) argv = run_argv (t, config, args);
  g_auto (GStrv) env = run_env ();
  g_autoptr (GError) error = NULL;
  GString *seen = g_string_new (NULL);
  int master, slave, status = 0;
  GPid pid;
  char buf[4096];
  ssize_t n;

  g_assert_cmpint (openpty (&master, &slave, NULL, NULL, NULL), ==, 0);
  g_spawn_async_with_fds (t->dir, argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                          -1, -1, slave, &error);
  g_assert_no_error (error);
  close (slave);
  /* read until the child closed its side (EIO on Linux) */
  while ((n = read (master, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (seen, buf, n);
  close (master);
  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  g_spawn_close_pid (pid);
  *tty = g_string_free (seen, FALSE);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

SpmJson *
e2e_summary (E2e *t)
{
  g_autofree char *text = e2e_read (t, "out/summary.json");
  g_autoptr (GError) error = NULL;
  SpmJson *j;

  g_assert_nonnull (text);
  j = spm_json_parse (text, strlen (text), "summary.json", &error);
  g_assert_no_error (error);
  g_assert_cmpint (j->type, ==, SPM_JSON_OBJECT);
  return j;
}

const SpmJson *
e2e_summary_input (const SpmJson *summary, const char *input)
{
  const SpmJson *inputs = spm_json_get (summary, "inputs");

  g_assert_nonnull (inputs);
  g_assert_cmpint (inputs->type, ==, SPM_JSON_ARRAY);
  for (int i = 0; i < inputs->n; i++)
    {
      const char *path = e2e_str (inputs->items[i], "input");

      if (path != NULL && g_str_has_suffix (path, input))
        return inputs->items[i];
    }
  g_error ("summary.json has no input %s", input);
  return NULL;
}

const char *
e2e_str (const SpmJson *obj, const char *key)
{
  const SpmJson *v = spm_json_get (obj, key);

  return v != NULL && v->type == SPM_JSON_STRING ? v->string : NULL;
}

double
e2e_num (const SpmJson *obj, const char *key)
{
  const SpmJson *v = spm_json_get (obj, key);

  return v != NULL && v->type == SPM_JSON_NUMBER ? v->number : NAN;
}

static int
count_temp (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  int n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        n += count_temp (child);
      else if (strstr (name, ".tmp-") != NULL || strstr (name, ".part") != NULL
               || g_str_has_prefix (name, "summary.json."))
        {
          g_printerr ("temporary file left: %s\n", child);
          n++;
        }
    }
  if (d != NULL)
    g_dir_close (d);
  return n;
}

int
e2e_count_temp_files (E2e *t)
{
  return count_temp (t->out);
}

gboolean
e2e_ffmpeg (E2e *t, const char *lavfi, const char *args, const char *name)
{
  g_autofree char *path = e2e_path (t, name);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *cmd = g_strdup_printf ("ffmpeg -nostdin -v error -y -f lavfi -i '%s' %s '%s'",
                                          lavfi, args, path);
  int status = 0;

  g_mkdir_with_parents (dir, 0777);
  if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL))
    return FALSE;
  return g_spawn_check_wait_status (status, NULL);
}

static char *media_dir;
static GHashTable *made;      /* name -> path */
static char *listing;         /* `seqpipe plugins` */

static void
media_dir_remove (void)
{
  if (g_getenv ("SEQPIPE_E2E_KEEP") == NULL)
    remove_tree (media_dir);
  g_clear_pointer (&media_dir, g_free);
  g_clear_pointer (&made, g_hash_table_unref);
  g_clear_pointer (&listing, g_free);
}

const char *
e2e_media (const char *lavfi, const char *args, const char *name)
{
  char *path;

  if (made == NULL)
    {
      made = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      media_dir = g_dir_make_tmp ("seqpipe-e2e-media-XXXXXX", NULL);
      g_assert_nonnull (media_dir);
      atexit (media_dir_remove);
    }
  path = g_hash_table_lookup (made, name);
  if (path == NULL)
    {
      g_autofree char *cmd = NULL;
      int status = 0;

      path = g_build_filename (media_dir, name, NULL);
      cmd = g_strdup_printf ("ffmpeg -nostdin -v error -y -f lavfi -i '%s' %s '%s'", lavfi,
                             args, path);
      if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL)
          || !g_spawn_check_wait_status (status, NULL))
        {
          g_free (path);
          return NULL;
        }
      g_hash_table_insert (made, g_strdup (name), path);
    }
  return path;
}

gboolean
e2e_have_stage (const char *name, const char *kind)
{
  g_autofree char *pattern = NULL;

  if (listing == NULL)
    {
      if (made == NULL)
        e2e_media ("nullsrc", "-frames:v 1", "null.png");   /* sets up the cleanup */
      const char *argv[] = { seqpipe_bin (), "plugins", NULL };
      g_auto (GStrv) env = run_env ();

      if (!g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                         &listing, NULL, NULL, NULL))
        listing = g_strdup ("");
    }
  pattern = g_strdup_printf ("^%s\\s+%s\\s", name, kind);
  return g_regex_match_simple (pattern, listing, G_REGEX_MULTILINE, 0);
}
