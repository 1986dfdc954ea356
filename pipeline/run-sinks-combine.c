/* run-sinks-combine.c — a run-wide file: each input writes its own part (the sink
 * writes an `input` column), and the parts of the inputs that succeeded are joined in
 * input order, keeping only the first part's header lines (run-sinks-private.h). */
#include "run-sinks-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Appends src to out; skips its first `skip` lines. */
static gboolean
append_part (FILE *out, const char *dest, const char *src, int skip, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0, off = 0;

  if (!g_file_get_contents (src, &data, &len, error))
    return FALSE;
  for (int l = 0; l < skip && off < len; l++)
    {
      const char *nl = memchr (data + off, '\n', len - off);
      off = nl ? (gsize) (nl - data) + 1 : len;
    }
  if (len > off && fwrite (data + off, 1, len - off, out) != len - off)
    {
      int e = errno;
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: cannot write: %s", dest,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

gboolean
sp_sinks_write_combined (SpSinkSet *s, SinkDef *d, GError **error)
{
  g_autofree char *final = sp_sinks_full_path (s, d->run_rel);
  g_autofree char *tmp = NULL;
  FILE *out;
  gboolean first = TRUE, ok = TRUE;

  tmp = sp_sinks_make_temp (final, NULL, error);
  if (tmp == NULL)
    return FALSE;
  out = fopen (tmp, "wb");
  if (out == NULL)
    {
      int e = errno;
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: %s", tmp, g_strerror (e));
      g_unlink (tmp);
      return FALSE;
    }
  for (int i = 0; ok && i < s->n_inputs; i++)
    {
      if (d->parts[i] == NULL)
        continue;
      ok = append_part (out, final, d->parts[i], first ? 0 : d->klass->header_lines, error);
      first = FALSE;
    }
  if (fflush (out) != 0 || fsync (fileno (out)) != 0)
    {
      if (ok)
        {
          int e = errno;
          g_set_error (error, SP_ERROR, SP_ERROR_INPUT, "%s: cannot write: %s", final,
                       g_strerror (e));
        }
      ok = FALSE;
    }
  fclose (out);
  if (ok)
    ok = sp_sinks_rename (tmp, final, error);
  if (!ok)
    g_unlink (tmp);
  return ok;
}

