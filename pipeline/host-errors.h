/* host-errors.h — the host's error domain and the CLI's error conventions (DESIGN §3):
 * `seqpipe: WHERE: WHAT` on stderr, and the exit status an error stands for. */
#ifndef SP_HOST_ERRORS_H
#define SP_HOST_ERRORS_H

#include <seqpipe/plugin.h>

G_BEGIN_DECLS

#define SP_ERROR (sp_error_quark ())
GQuark sp_error_quark (void);
typedef enum {
  SP_ERROR_USAGE,      /* exit 1 */
  SP_ERROR_CONFIG,     /* exit 1: names [group] key */
  SP_ERROR_PLUGIN,     /* exit 1 */
  SP_ERROR_INPUT,      /* one input failed: exit 2 when others went on */
  SP_ERROR_INTERRUPTED /* exit 3 */
} SpErrorCode;

/* `seqpipe: MESSAGE` on stderr (messages start with their WHERE) */
void sp_error_print (const GError *error);
/* the exit status DESIGN §3 gives the error: 1, 2 or 3 */
int sp_error_exit_status (const GError *error);
/* sets an SP_ERROR_CONFIG error ("[group] key: WHAT"); always FALSE */
gboolean sp_config_error (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* an error that holds for every input of a run (config, plugin): nothing is processed */
gboolean sp_error_is_setup (const GError *error);

/* Puts "PATH: " (unless the message starts so already) and "frame N: " (frame >= 0)
 * in front of error's message: the WHERE of a per-input error. */
void sp_error_name_input (GError *error, const SpInputInfo *in, int64_t frame);

G_END_DECLS

#endif
