/* run-signals.h — SIGINT/SIGTERM (DESIGN §3, exit 3): the first sets the flag every
 * loop polls; a second one ends the process. */
#ifndef SP_RUN_SIGNALS_H
#define SP_RUN_SIGNALS_H

#include <glib.h>

G_BEGIN_DECLS

/* installs the handlers; call it first thing in a verb */
void sp_signals_install (void);
/* set by the handlers */
gboolean sp_interrupted (void);

G_END_DECLS

#endif
