/* fuzz-config.c — libFuzzer target for configs (pipeline/host-config.c): the INI text
 * and --set overrides, validated against the host's tables and the tables of the
 * build tree's plugins.
 *
 * An input is split at its NUL bytes: the first part is the config file's text, the
 * next ones (up to four) are --set strings "group.key=value".  The verb is chosen by
 * the input's length (none, run, train, eval).  Checked: sp_config_load returns a
 * config and no error, or NULL with one SP_ERROR; an accepted config answers
 * sp_config_sink_groups and sp_config_feature_settings.
 *
 * The process works in its scratch directory, with $SEQPIPE_PLUGIN_PATH unset; inputs
 * that name plugin-path are skipped, so that no directory other than the build
 * tree's plugins is ever scanned and no library of the system is loaded as a plugin,
 * and so are inputs that name /dev, /proc or /sys (a key naming a file, such as a CNN's
 * weights, is hashed when it can be read).
 */
#include "fuzz-common.h"
#include "host-config.h"

#include <string.h>
#include <unistd.h>

#define MAX_SETS 4

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean ready;
  if (!ready) {
    g_unsetenv ("SEQPIPE_PLUGIN_PATH");
    if (chdir (fuzz_scratch ()) != 0)
      abort ();
    ready = TRUE;
  }
  static const char *const skipped[] = { "plugin-path", "/dev", "/proc", "/sys" };
  if (size > 8192)
    return 0;
  for (size_t i = 0; i < G_N_ELEMENTS (skipped); i++)
    if (memmem (data, size, skipped[i], strlen (skipped[i])) != NULL)
      return 0;

  const char *end = (const char *) data + size;
  const char *p = memchr (data, '\0', size);
  size_t text_len = p != NULL ? (size_t) (p - (const char *) data) : size;
  g_autofree char *path = fuzz_write ("config.ini", data, text_len);
  char *sets[MAX_SETS + 1] = { NULL };
  int n = 0;
  while (p != NULL && p < end && n < MAX_SETS) {
    const char *s = p + 1;
    p = memchr (s, '\0', (size_t) (end - s));
    sets[n++] = g_strndup (s, (size_t) ((p != NULL ? p : end) - s));
  }
  static const char *const verbs[] = { NULL, "run", "train", "eval" };

  GError *error = NULL;
  SpConfig *c = sp_config_load (path, (const char *const *) sets, verbs[size % 4], &error);
  fuzz_check_outcome (c != NULL, error, SP_ERROR);
  g_clear_error (&error);
  if (c != NULL) {
    g_strfreev (sp_config_sink_groups (c));
    g_free (sp_config_feature_settings (c, "decoder"));
    g_free (sp_config_feature_settings (c, "extractor"));
    sp_config_free (c);
  }
  for (int i = 0; i < n; i++)
    g_free (sets[i]);
  return 0;
}
