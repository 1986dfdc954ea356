/* run-sinks-files.c — a sink's files appear complete or not at all: each is written
 * under a temporary name in its final directory and renamed into place
 * (run-sinks-private.h). */
#include "run-sinks-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

char *
sp_sinks_make_temp (const char *final, const char *suffix, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (final);
  g_autofree char *base = g_path_get_basename (final);
  g_autofree char *tmpl = NULL;
  int fd;

  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      int e = errno;
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: cannot create the directory: %s",
                   dir, g_strerror (e));
      return NULL;
    }
  tmpl = g_strdup_printf ("%s/.%s%s.tmp-XXXXXX", dir, base, suffix ? suffix : "");
  fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: cannot create a file: %s",
                   dir, g_strerror (e));
      return NULL;
    }
  close (fd);
  return g_steal_pointer (&tmpl);
}

gboolean
sp_sinks_rename (const char *tmp, const char *final, GError **error)
{
  if (g_rename (tmp, final) != 0)
    {
      int e = errno;
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: cannot rename into place: %s",
                   final, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

