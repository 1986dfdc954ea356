/* run-progress.c — one updating status line on stderr when stderr is a terminal that
 * understands escape codes (not TERM=dumb), and machine-readable reports for
 * --progress.
 *
 * Updates are drawn at most ten times a second, reports written at most twice a
 * second; every call is safe from any thread.  sp_progress_message prints a whole
 * line (an error, a -v report) above the status line without mixing the two. */
#include "run-progress.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SP_PROGRESS_INTERVAL_US (100 * 1000)
#define SP_REPORT_INTERVAL_US (500 * 1000)

struct SpProgress {
  GMutex lock;
  gboolean active;      /* stderr is a terminal and not quiet */
  gboolean drawn;       /* a status line is on screen */
  gint64 last;          /* monotonic time of the last draw, 0 = never */
  FILE *report;         /* --progress target, or NULL */
  gboolean report_owned;
  gint64 last_report;
};

/* a terminal that takes the carriage return and erase-line codes of the status line */
static gboolean
status_line_possible (void)
{
  const char *term = g_getenv ("TERM");

  return isatty (STDERR_FILENO) && term != NULL && *term != '\0' && strcmp (term, "dumb") != 0;
}

SpProgress *
sp_progress_new (gboolean quiet)
{
  SpProgress *p = g_new0 (SpProgress, 1);

  g_mutex_init (&p->lock);
  p->active = !quiet && status_line_possible ();
  return p;
}

gboolean
sp_progress_open_report (SpProgress *p, const char *target, GError **error)
{
  if (strcmp (target, "-") == 0)
    p->report = stdout;
  else
    {
      p->report = fopen (target, "w");
      if (p->report == NULL)
        {
          int e = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                       "--progress: %s: %s", target, g_strerror (e));
          return FALSE;
        }
      p->report_owned = TRUE;
    }
  return TRUE;
}

void
sp_progress_report (SpProgress *p, gboolean end, const char *fmt, ...)
{
  va_list ap;
  gint64 now;

  if (p == NULL || p->report == NULL)
    return;
  now = g_get_monotonic_time ();
  g_mutex_lock (&p->lock);
  if (!end && p->last_report != 0 && now - p->last_report < SP_REPORT_INTERVAL_US)
    {
      g_mutex_unlock (&p->lock);
      return;
    }
  va_start (ap, fmt);
  vfprintf (p->report, fmt, ap);
  va_end (ap);
  fprintf (p->report, "progress=%s\n", end ? "end" : "continue");
  fflush (p->report);
  p->last_report = now;
  g_mutex_unlock (&p->lock);
}

static void
progress_clear_locked (SpProgress *p)
{
  if (p->drawn)
    {
      fputs ("\r\033[K", stderr);
      p->drawn = FALSE;
    }
}

void
sp_progress_update (SpProgress *p, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *line = NULL;
  gint64 now;

  if (p == NULL || !p->active)
    return;
  now = g_get_monotonic_time ();
  g_mutex_lock (&p->lock);
  if (p->last != 0 && now - p->last < SP_PROGRESS_INTERVAL_US)
    {
      g_mutex_unlock (&p->lock);
      return;
    }
  va_start (ap, fmt);
  line = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "\r%s\033[K", line);
  fflush (stderr);
  p->drawn = TRUE;
  p->last = now;
  g_mutex_unlock (&p->lock);
}

void
sp_progress_message (SpProgress *p, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *line = NULL;

  va_start (ap, fmt);
  line = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (p == NULL)
    {
      fprintf (stderr, "%s\n", line);
      return;
    }
  g_mutex_lock (&p->lock);
  progress_clear_locked (p);
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  p->last = 0;          /* redraw the status line at the next update */
  g_mutex_unlock (&p->lock);
}

void
sp_progress_free (SpProgress *p)
{
  if (p == NULL)
    return;
  g_mutex_lock (&p->lock);
  progress_clear_locked (p);
  fflush (stderr);
  if (p->report_owned)
    fclose (p->report);
  g_mutex_unlock (&p->lock);
  g_mutex_clear (&p->lock);
  g_free (p);
}
