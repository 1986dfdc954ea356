/* run-signals.c — SIGINT/SIGTERM set a flag that long loops poll (sp_interrupted).
 *
 * The first signal only sets the flag, so the run can stop decoding, remove its
 * temporary files and write its summary; it also puts both signals back to their
 * default action, so a second one — SIGINT or SIGTERM, whichever came first — ends
 * the process at once, even while something blocks. */
#include "run-signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t sp_signal_seen;

static void
on_signal (int signo)
{
  struct sigaction dfl;

  sp_signal_seen = signo;
  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset (&dfl.sa_mask);
  sigaction (SIGINT, &dfl, NULL);     /* async-signal-safe */
  sigaction (SIGTERM, &dfl, NULL);
}

void
sp_signals_install (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
}

gboolean
sp_interrupted (void)
{
  return sp_signal_seen != 0;
}
