/* fields.h — what the text sinks share: how a value is written in CSV, JSON and
 * subtitle files (locale-independent).  Which records a sink gets is declared in its
 * class (`takes`) and said by st->records (plugin.h). */
#ifndef SP_SINK_FIELDS_H
#define SP_SINK_FIELDS_H

#include <seqpipe/plugin.h>

/* label name of index i: the head's name, the number when there are no names, ""
 * for -1 */
const char *sp_sink_label (SpStage *st, int i, char buf[32]);
/* the input as the user named it ("" when unknown) */
const char *sp_sink_input (SpStage *st);

/* RFC 4180: quoted (with "" for ") when it contains , " CR or LF */
void sp_csv_append_field (GString *out, const char *s);
/* "%.6f" in the C locale; nan/inf written as they are */
void sp_append_fixed (GString *out, double v);
/* JSON: a number ("%.6f", null when not finite) */
void sp_json_append_number (GString *out, double v);
/* subtitle time: HH:MM:SS<sep>mmm, rounded to the millisecond, negative as 0 */
void sp_append_cue_time (GString *out, double seconds, char sep);

#endif
