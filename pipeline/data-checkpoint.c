/* data-checkpoint.c — the config's [model] keys against a checkpoint (see
 * data-checkpoint.h). */
#include "data-checkpoint.h"
#include "host-errors.h"

gboolean
sp_checkpoint_check_model_keys (SpConfig *c, const SpmModel *m, GError **error)
{
  static const char *const keys[] = { "cell", "hidden", "layers" };
  gboolean any = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    any = any || sp_config_has (c, "model", keys[i]);
  if (!any)
    return TRUE;
  g_autofree char *path = sp_config_path (c, "model", "checkpoint");
  g_autoptr (SpmModel) loaded = NULL;
  if (!m) {
    if (!path || !*path || !g_file_test (path, G_FILE_TEST_EXISTS))
      return TRUE;   /* the head reports a missing checkpoint */
    loaded = spm_model_load (path, error);
    if (!loaded)
      return FALSE;
    m = loaded;
  }
  static const char *const cells[] = { "lstm", "rnn" };
  const int have[] = { (int) m->cfg.cell, m->cfg.H, m->cfg.L };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    if (!sp_config_has (c, "model", keys[i]))
      continue;
    int want = (int) sp_config_int (c, "model", keys[i]);
    if (want == have[i])
      continue;
    g_autofree char *a = i == 0 ? g_strdup (cells[want]) : g_strdup_printf ("%d", want);
    g_autofree char *b = i == 0 ? g_strdup (cells[have[i]]) : g_strdup_printf ("%d", have[i]);
    g_set_error (error, SP_ERROR, SP_ERROR_CONFIG, "[model] %s: %s, but the checkpoint %s has "
                 "%s %s (run and eval use the checkpoint's model; drop the key or train "
                 "again)", keys[i], a, path ? path : "", keys[i], b);
    return FALSE;
  }
  return TRUE;
}
