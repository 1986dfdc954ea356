/* io.c — atomic writes and non-blocking opens (spm-io.h). */
#include "spm-io.h"
#include "spm-model.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

struct SpmFileWriter {
  char *path;               /* final */
  char *tmp;
  int fd;
  gboolean committed;
};

static gboolean
io_error (GError **error, const char *path, const char *what, int e)
{
  g_set_error (error, SPM_ERROR, SPM_ERROR_IO, "%s: %s: %s", path, what, g_strerror (e));
  return FALSE;
}

SpmFileWriter *
spm_file_writer_new (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  SpmFileWriter *w = g_new0 (SpmFileWriter, 1);

  w->path = g_strdup (path);
  w->tmp = g_strdup_printf ("%s/.%s.tmp-XXXXXX", dir, base);
  w->fd = g_mkstemp_full (w->tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (w->fd < 0) {
    io_error (error, path, "cannot create a temporary file beside it", errno);
    g_clear_pointer (&w->tmp, g_free);
    spm_file_writer_free (w);
    return NULL;
  }
  return w;
}

gboolean
spm_file_writer_write (SpmFileWriter *w, const void *data, size_t n, GError **error)
{
  const char *p = data;

  while (n > 0) {
    ssize_t k = write (w->fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return io_error (error, w->path, "cannot write", k < 0 ? errno : EIO);
    p += k;
    n -= (size_t) k;
  }
  return TRUE;
}

gboolean
spm_file_writer_commit (SpmFileWriter *w, GError **error)
{
  g_autofree char *dir = NULL;
  int fd = w->fd, dfd;

  g_return_val_if_fail (!w->committed && fd >= 0, FALSE);
  w->fd = -1;
  if (fsync (fd) != 0 && errno != EINVAL) {
    int e = errno;
    close (fd);
    return io_error (error, w->path, "cannot write", e);
  }
  if (close (fd) != 0)
    return io_error (error, w->path, "cannot close", errno);
  if (g_rename (w->tmp, w->path) != 0)
    return io_error (error, w->path, "cannot rename into place", errno);
  w->committed = TRUE;
  /* makes the rename durable; a failure leaves a complete file in place */
  dir = g_path_get_dirname (w->path);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void) fsync (dfd);
    close (dfd);
  }
  return TRUE;
}

void
spm_file_writer_free (SpmFileWriter *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close (w->fd);
  if (!w->committed && w->tmp != NULL)
    g_unlink (w->tmp);
  g_free (w->tmp);
  g_free (w->path);
  g_free (w);
}

gboolean
spm_file_probe_writable (const char *dir, GError **error)
{
  g_autofree char *probe = g_build_filename (dir, ".seqpipe-probe-XXXXXX", NULL);
  int fd = g_mkstemp_full (probe, O_WRONLY | O_CLOEXEC, 0600);

  if (fd < 0)
    return io_error (error, dir, "cannot write in the directory", errno);
  close (fd);
  g_unlink (probe);
  return TRUE;
}

void
spm_file_remove_stale_temps (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strdup_printf (".%s.tmp-", base);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      gboolean ours = g_str_has_prefix (name, prefix) && strlen (name) == strlen (prefix) + 6;
      for (const char *p = name + strlen (prefix); ours && *p; p++)
        ours = g_ascii_isalnum (*p);
      if (ours)
        {
          g_autofree char *full = g_build_filename (dir, name, NULL);
          g_unlink (full);
        }
    }
}

gboolean
spm_file_replace (const char *path, const void *data, size_t n, GError **error)
{
  g_autoptr (SpmFileWriter) w = spm_file_writer_new (path, error);

  return w != NULL && spm_file_writer_write (w, data, n, error)
         && spm_file_writer_commit (w, error);
}

int
spm_file_open_regular (const char *path, GError **error)
{
  struct stat sb;
  /* O_NONBLOCK: opening a FIFO without a writer must not hang; the type is checked
   * on the opened file, so it cannot change between the check and the read */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

  if (fd < 0) {
    io_error (error, path, "cannot open", errno);
    return -1;
  }
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode)) {
    close (fd);
    g_set_error (error, SPM_ERROR, SPM_ERROR_IO, "%s: not a regular file", path);
    return -1;
  }
  (void) fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

gboolean
spm_file_get_regular (const char *path, char **data, gsize *len, GError **error)
{
  struct stat sb;
  int fd = spm_file_open_regular (path, error);
  char *buf;
  gsize got = 0;

  if (fd < 0)
    return FALSE;
  if (fstat (fd, &sb) != 0 || sb.st_size < 0 || (guint64) sb.st_size >= G_MAXSIZE) {
    close (fd);
    return io_error (error, path, "cannot read", EFBIG);
  }
  buf = g_malloc ((gsize) sb.st_size + 1);
  while (got < (gsize) sb.st_size) {
    ssize_t k = read (fd, buf + got, (gsize) sb.st_size - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      int e = k < 0 ? errno : EIO;
      close (fd);
      g_free (buf);
      return io_error (error, path, k == 0 ? "truncated while reading" : "cannot read", e);
    }
    got += (gsize) k;
  }
  close (fd);
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return TRUE;
}
