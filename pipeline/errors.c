/* errors.c — the error domains, and how the CLI shows an error and turns it into an
 * exit status (DESIGN §3). */
#include "sp-host.h"

#include <stdio.h>

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
