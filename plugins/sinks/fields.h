/* fields.h — what the text sinks share: which head made the records, and how a
 * value is written in CSV, JSON and subtitle files (locale-independent). */
#ifndef SP_SINK_FIELDS_H
#define SP_SINK_FIELDS_H

#include <seqpipe/plugin.h>

typedef enum {
  SP_SINK_HEAD_UNKNOWN = 0,
  SP_SINK_HEAD_LABELER,
  SP_SINK_HEAD_CLASSIFIER,
  SP_SINK_HEAD_CAPTIONER,
} SpSinkHead;

/* the run's head from the host, UNKNOWN when it does not say */
SpSinkHead sp_sink_head_of_stage (SpStage *st);
/* Whether a sink writes record r for the run's head.  The host passes every frame
 * to the sinks: a head's record when it made one, otherwise a record with only the
 * frame and label -1 (a classifier's or captioner's frames, a frame the labeler
 * holds until it decides, every frame of a run without a head).  So:
 *   labeler               frame records with a label (label >= 0)
 *   classifier/captioner  per-input records (frame NULL)
 * With *head UNKNOWN, the first record that shows the head sets it: a labelled
 * frame record the labeler, a per-input record with text the captioner, without
 * text the classifier; frame records with label -1 are skipped until then. */
gboolean sp_sink_accept (SpSinkHead *head, const SpRecord *r);
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
