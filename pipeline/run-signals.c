/* signals.c — SIGINT/SIGTERM set a flag that long loops poll (sp_interrupted).
 *
 * The first signal only sets the flag, so the run can stop decoding, remove its
 * temporary files and write its summary; the handler is installed with
 * SA_RESETHAND, so a second signal takes the default action and ends the process
 * at once. */
#include "run-signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t sp_signal_seen;

static void
on_signal (int signo)
{
  sp_signal_seen = signo;
}

void
sp_signals_install (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
}

gboolean
sp_interrupted (void)
{
  return sp_signal_seen != 0;
}
