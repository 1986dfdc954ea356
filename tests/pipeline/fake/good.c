/* good.c — a well-formed plugin with one stage of each kind, for the host's tests.
 *
 * Every stage has a `trace` key: a file to which it appends "<stage> init" and
 * "<stage> finalize", so tests can see that finalize runs exactly once after init,
 * even when init fails (`fail-init = true`).
 *   fake-dec   decoder of *.fake: `frames` frames whose pixels all equal the index
 *              (mod 256); frame `broken-at` is broken; time = index / 10
 *   fake-ext   extractor: `dim` features, features[i] = rgb[0] + i
 *   fake-head  head: labels a, b; a per-frame record with label index % 2 and
 *              probs; at flush a per-input record with text "done"
 *   fake-sink  sink: "frame,label" lines; at flush "frames=N" into output + ".aux"
 *   fake-strict  the same sink with a required key `level` */
#include <seqpipe/plugin.h>

#include <stdio.h>
#include <string.h>

static void
trace (const char *file, const char *stage, const char *what)
{
  if (!file)
    return;
  FILE *f = fopen (file, "a");
  if (f) {
    fprintf (f, "%s %s\n", stage, what);
    fclose (f);
  }
}

/* ---- decoder -------------------------------------------------------------------- */
typedef struct {
  gint64 frames;
  gint64 broken_at;
  gboolean fail_init;
  char *trace;
  double scale;
  int mode;
  char *label_file;
  gint64 next;
} Dec;

static const SpKey dec_keys[] = {
  { "frames", SP_KEY_INT, offsetof (Dec, frames), "5", 0, 1000, NULL, "frames to make" },
  { "broken-at", SP_KEY_INT, offsetof (Dec, broken_at), "-1", -1, 1000, NULL, "a broken frame" },
  { "fail-init", SP_KEY_BOOL, offsetof (Dec, fail_init), "false", 0, 0, NULL, "init fails" },
  { "trace", SP_KEY_STRING, offsetof (Dec, trace), NULL, 0, 0, NULL, "trace file" },
  { "scale", SP_KEY_DOUBLE, offsetof (Dec, scale), "1.5", 0, 10, NULL, "a number" },
  { "mode", SP_KEY_CHOICE, offsetof (Dec, mode), "fast", 0, 0, "fast|slow|exact", "a choice" },
  { "label-file", SP_KEY_PATH, offsetof (Dec, label_file), NULL, 0, 0, NULL, "a path" },
  SP_KEY_END
};

static gboolean
dec_init (SpStage *st, GError **error)
{
  Dec *d = st->priv;
  trace (d->trace, "fake-dec", "init");
  if (d->fail_init) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_OPEN, "%s: fake-dec refuses",
                 st->input->path);
    return FALSE;
  }
  sp_stage_set_expected_frames (st, d->frames);
  return TRUE;
}

static SpDecodeStatus
dec_decode (SpStage *st, SpFrame *frame, GError **error)
{
  Dec *d = st->priv;
  (void) error;
  if (d->next >= d->frames)
    return SP_DECODE_EOF;
  gint64 i = d->next++;
  if (i == d->broken_at)
    return SP_DECODE_BROKEN;
  frame->index = i;
  frame->time = (double) i / 10.0;
  if (frame->rgb)
    memset (frame->rgb, (int) (i & 0xff), (size_t) frame->width * (size_t) frame->height * 3);
  return SP_DECODE_FRAME;
}

static void
dec_finalize (SpStage *st)
{
  Dec *d = st->priv;
  trace (d->trace, "fake-dec", "finalize");
}

static const char *const dec_ext[] = { "fake", NULL };

static const SpStageClass fake_dec = {
  .name = "fake-dec", .kind = SP_STAGE_DECODER, .description = "frames of a fixed pattern",
  .keys = dec_keys, .priv_size = sizeof (Dec), .extensions = dec_ext,
  .init = dec_init, .decode = dec_decode, .finalize = dec_finalize,
};

/* ---- extractor ------------------------------------------------------------------ */
typedef struct {
  gint64 dim;
  char *trace;
} Ext;

static const SpKey ext_keys[] = {
  { "dim", SP_KEY_INT, offsetof (Ext, dim), "4", 1, 64, NULL, "feature size" },
  { "trace", SP_KEY_STRING, offsetof (Ext, trace), NULL, 0, 0, NULL, "trace file" },
  SP_KEY_END
};

static gboolean
ext_init (SpStage *st, GError **error)
{
  Ext *e = st->priv;
  (void) error;
  trace (e->trace, "fake-ext", "init");
  sp_stage_set_feature_dim (st, (int) e->dim);
  return TRUE;
}

static gboolean
ext_process (SpStage *st, SpFrame *frame, GError **error)
{
  Ext *e = st->priv;
  (void) error;
  for (int i = 0; i < (int) e->dim; i++)
    frame->features[i] = (float) frame->rgb[0] + (float) i;
  frame->feature_dim = (int) e->dim;
  return TRUE;
}

static void
ext_finalize (SpStage *st)
{
  Ext *e = st->priv;
  trace (e->trace, "fake-ext", "finalize");
}

static const SpStageClass fake_ext = {
  .name = "fake-ext", .kind = SP_STAGE_EXTRACTOR, .description = "pixel value plus offset",
  .keys = ext_keys, .priv_size = sizeof (Ext),
  .init = ext_init, .process = ext_process, .finalize = ext_finalize,
};

/* ---- head ----------------------------------------------------------------------- */
typedef struct {
  char *trace;
  float probs[2];
} Head;

static const SpKey head_keys[] = {
  { "trace", SP_KEY_STRING, offsetof (Head, trace), NULL, 0, 0, NULL, "trace file" },
  SP_KEY_END
};

static gboolean
head_init (SpStage *st, GError **error)
{
  Head *h = st->priv;
  static const char *const labels[] = { "a", "b" };
  (void) error;
  trace (h->trace, "fake-head", "init");
  sp_stage_set_labels (st, labels, 2);
  return TRUE;
}

static gboolean
head_process (SpStage *st, SpFrame *frame, GError **error)
{
  Head *h = st->priv;
  int label = (int) (frame->index % 2);
  h->probs[label] = 0.75f;
  h->probs[1 - label] = 0.25f;
  SpRecord r = { frame, label, 0.75f, h->probs, NULL };
  return sp_stage_emit (st, &r, error);
}


static void
head_finalize (SpStage *st)
{
  Head *h = st->priv;
  trace (h->trace, "fake-head", "finalize");
}

static const SpStageClass fake_head = {
  .name = "fake-head", .kind = SP_STAGE_HEAD, .description = "alternating labels",
  .keys = head_keys, .priv_size = sizeof (Head),
  .init = head_init, .process = head_process, .finalize = head_finalize,
  .records = SP_RECORDS_FRAME,
};

/* ---- sink ----------------------------------------------------------------------- */
typedef struct {
  char *trace;
  gboolean upper;
  FILE *out;
  gint64 n;
} Sink;

static const SpKey sink_keys[] = {
  { "trace", SP_KEY_STRING, offsetof (Sink, trace), NULL, 0, 0, NULL, "trace file" },
  { "upper", SP_KEY_BOOL, offsetof (Sink, upper), "false", 0, 0, NULL, "labels upper-case" },
  SP_KEY_END
};

static gboolean
sink_init (SpStage *st, GError **error)
{
  Sink *s = st->priv;
  trace (s->trace, "fake-sink", "init");
  s->out = fopen (st->output_path, "w");
  if (!s->out) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: cannot open", st->output_path);
    return FALSE;
  }
  fprintf (s->out, "frame,label\n");
  return TRUE;
}

static gboolean
sink_write (SpStage *st, const SpRecord *r, GError **error)
{
  Sink *s = st->priv;
  (void) error;
  const char *label = r->label >= 0 && r->label < st->n_labels ? st->labels[r->label] : "";
  g_autofree char *shown = s->upper ? g_ascii_strup (label, -1) : g_strdup (label);
  fprintf (s->out, "%" G_GINT64_FORMAT ",%s\n", r->frame ? (gint64) r->frame->index : (gint64) -1,
           r->text ? r->text : shown);
  s->n++;
  return TRUE;
}

/* a run without a head: every frame, with no label */
static gboolean
sink_frame (SpStage *st, const SpFrame *frame, GError **error)
{
  SpRecord r = { frame, -1, 0.0f, NULL, NULL };
  return st->records != 0 || sink_write (st, &r, error);
}

static gboolean
sink_flush (SpStage *st, GError **error)
{
  Sink *s = st->priv;
  const char *aux = sp_stage_output_path_aux (st, ".aux", error);
  if (!aux)
    return FALSE;
  FILE *f = fopen (aux, "w");
  if (!f) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: cannot open", aux);
    return FALSE;
  }
  fprintf (f, "frames=%" G_GINT64_FORMAT "\n", s->n);
  fclose (f);
  if (fflush (s->out) != 0) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: write failed", st->output_path);
    return FALSE;
  }
  return TRUE;
}

static void
sink_finalize (SpStage *st)
{
  Sink *s = st->priv;
  trace (s->trace, "fake-sink", "finalize");
  if (s->out)
    fclose (s->out);
}

static const SpStageClass fake_sink = {
  .name = "fake-sink", .kind = SP_STAGE_SINK, .description = "frame,label lines",
  .keys = sink_keys, .priv_size = sizeof (Sink),
  .init = sink_init, .write = sink_write, .flush = sink_flush, .finalize = sink_finalize,
  .header_lines = 1, .can_combine = TRUE, .takes = SP_RECORDS_ALL | SP_TAKES_FRAMES,
  .frame = sink_frame,
};

/* fake-strict: the sink with a required key (no default) */
typedef struct {
  Sink sink;
  gint64 level;
} Strict;

static const SpKey strict_keys[] = {
  { "level", SP_KEY_INT, offsetof (Strict, level), NULL, 0, 9, NULL, "required" },
  SP_KEY_END
};

static const SpStageClass fake_strict = {
  .name = "fake-strict", .kind = SP_STAGE_SINK, .description = "a sink with a required key",
  .keys = strict_keys, .priv_size = sizeof (Strict),
  .init = sink_init, .write = sink_write, .flush = sink_flush, .finalize = sink_finalize,
  .header_lines = 1, .can_combine = TRUE, .takes = SP_RECORDS_ALL | SP_TAKES_FRAMES,
  .frame = sink_frame,
};

SP_PLUGIN_DEFINE ("fake-good", "1.2.3", "stages for the host's tests", "MIT",
                  &fake_dec, &fake_ext, &fake_head, &fake_sink, &fake_strict);
