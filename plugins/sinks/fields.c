/* fields.c — value formatting shared by the text sinks. */
#include "fields.h"

#include <math.h>
#include <string.h>

const char *
sp_sink_label (SpStage *st, int i, char buf[32])
{
  if (i < 0)
    return "";
  if (st->labels != NULL && i < st->n_labels)
    return st->labels[i];
  g_snprintf (buf, 32, "%d", i);
  return buf;
}

const char *
sp_sink_input (SpStage *st)
{
  return st->input != NULL && st->input->path != NULL ? st->input->path : "";
}

void
sp_csv_append_field (GString *out, const char *s)
{
  if (s[strcspn (s, ",\"\r\n")] == '\0') {
    g_string_append (out, s);
    return;
  }
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++) {
    if (*p == '"')
      g_string_append_c (out, '"');
    g_string_append_c (out, *p);
  }
  g_string_append_c (out, '"');
}

void
sp_append_fixed (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.6f", v));
}

void
sp_json_append_number (GString *out, double v)
{
  if (!isfinite (v))
    g_string_append (out, "null");
  else
    sp_append_fixed (out, v);
}

void
sp_append_cue_time (GString *out, double seconds, char sep)
{
  gint64 ms = isfinite (seconds) && seconds > 0 ? (gint64) llround (seconds * 1000.0) : 0;
  g_string_append_printf (out, "%02" G_GINT64_FORMAT ":%02d:%02d%c%03d",
                          ms / 3600000, (int) (ms / 60000 % 60), (int) (ms / 1000 % 60),
                          sep, (int) (ms % 1000));
}
