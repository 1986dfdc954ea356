/* out.c — checked writes to a sink's file. */
#include "out.h"

#include <seqpipe/plugin.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

static gboolean
fail (SpOut *o, const char *what, int err, GError **error)
{
  g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: %s: %s",
               o->path ? o->path : "output", what, g_strerror (err ? err : EIO));
  return FALSE;
}

gboolean
sp_out_open (SpOut *o, const char *path, GError **error)
{
  g_free (o->path);
  o->path = g_strdup (path);
  if (path == NULL || *path == '\0') {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG, "sink has no output path");
    return FALSE;
  }
  o->fp = fopen (path, "wb");
  if (o->fp == NULL)
    return fail (o, "cannot create", errno, error);
  return TRUE;
}

gboolean
sp_out_write (SpOut *o, const void *data, size_t n, GError **error)
{
  if (o->fp == NULL)
    return fail (o, "cannot write", EBADF, error);
  if (n == 0)
    return TRUE;
  errno = 0;
  if (fwrite (data, 1, n, o->fp) != n || ferror (o->fp))
    return fail (o, "cannot write", errno, error);
  return TRUE;
}

gboolean
sp_out_gstring (SpOut *o, GString *s, GError **error)
{
  gboolean ok = sp_out_write (o, s->str, s->len, error);
  g_string_truncate (s, 0);
  return ok;
}

gboolean
sp_out_seek (SpOut *o, long offset, GError **error)
{
  if (o->fp == NULL)
    return fail (o, "cannot seek", EBADF, error);
  errno = 0;
  if (fflush (o->fp) != 0)
    return fail (o, "cannot write", errno, error);
  if (fseek (o->fp, offset, SEEK_SET) != 0)
    return fail (o, "cannot seek", errno, error);
  return TRUE;
}

gboolean
sp_out_close (SpOut *o, GError **error)
{
  if (o->fp == NULL)
    return fail (o, "cannot close", EBADF, error);
  FILE *fp = o->fp;
  o->fp = NULL;
  errno = 0;
  if (fflush (fp) != 0 || ferror (fp)) {
    int err = errno;
    fclose (fp);
    return fail (o, "cannot write", err, error);
  }
  /* a device or pipe cannot be synced; that is not a failure of the file */
  if (fsync (fileno (fp)) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
    int err = errno;
    fclose (fp);
    return fail (o, "cannot write", err, error);
  }
  if (fclose (fp) != 0)
    return fail (o, "cannot close", errno, error);
  return TRUE;
}

void
sp_out_abandon (SpOut *o)
{
  if (o->fp != NULL)
    fclose (o->fp);
  o->fp = NULL;
  g_clear_pointer (&o->path, g_free);
}
