/* host-errors.c — the error domains, and how the CLI shows an error and turns it into
 * an exit status (DESIGN §3). */
#include "host-errors.h"

#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK (seqpipe-error-quark, sp_error)
G_DEFINE_QUARK (seqpipe-plugin-error-quark, sp_plugin_error)

void
sp_error_print (const GError *error)
{
  fprintf (stderr, "seqpipe: %s\n", error ? error->message : "unknown error");
  fflush (stderr);
}

int
sp_error_exit_status (const GError *error)
{
  if (error && error->domain == SP_ERROR) {
    switch ((SpErrorCode) error->code) {
    case SP_ERROR_INPUT: return 2;
    case SP_ERROR_INTERRUPTED: return 3;
    case SP_ERROR_USAGE:
    case SP_ERROR_CONFIG:
    case SP_ERROR_PLUGIN:
      return 1;
    }
  }
  return 1;
}

gboolean
sp_error_is_setup (const GError *e)
{
  return g_error_matches (e, SP_ERROR, SP_ERROR_CONFIG)
         || g_error_matches (e, SP_ERROR, SP_ERROR_PLUGIN)
         || g_error_matches (e, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG);
}

void
sp_error_name_input (GError *error, const SpInputInfo *in, int64_t frame)
{
  const char *msg = error->message;
  size_t plen = strlen (in->path);
  g_autofree char *where = NULL;
  char *old = error->message;

  if (strncmp (msg, in->path, plen) == 0 && msg[plen] == ':')
    msg += plen + 1;
  while (*msg == ' ')
    msg++;
  where = frame >= 0 ? g_strdup_printf ("frame %" G_GINT64_FORMAT ": ", frame) : g_strdup ("");
  error->message = g_strdup_printf ("%s: %s%s", in->path, where, msg);
  g_free (old);
}

gboolean
sp_config_error (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, SP_ERROR, SP_ERROR_CONFIG, msg);
  return FALSE;
}
