/* run-progress.h — the progress line (DESIGN §3): a single updating line on a
 * terminal, silent otherwise; and whole lines printed without breaking it. */
#ifndef SP_RUN_PROGRESS_H
#define SP_RUN_PROGRESS_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct SpProgress SpProgress;
SpProgress *sp_progress_new (gboolean quiet);
void sp_progress_update (SpProgress *p, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
void sp_progress_free (SpProgress *p);  /* clears the line */

/* Machine-readable progress (--progress FILE, or - for stdout), as ffmpeg's -progress:
 * blocks of key=value lines, each ending in progress=continue, the last one (end)
 * in progress=end.  fmt gives the block's lines ("key=value\n" each); a block comes
 * at most twice a second, the end block always. */
gboolean sp_progress_open_report (SpProgress *p, const char *target, GError **error);
void sp_progress_report (SpProgress *p, gboolean end, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);
/* prints a whole line on stderr without breaking the status line */
void sp_progress_message (SpProgress *p, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpProgress, sp_progress_free)

G_END_DECLS

#endif
