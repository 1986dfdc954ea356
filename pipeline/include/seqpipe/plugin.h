/* seqpipe/plugin.h — the one public header a seqpipe plugin is built against.
 *
 * A plugin is a shared object that exports exactly one symbol,
 *
 *     const SpPluginDescriptor seqpipe_plugin_descriptor;
 *
 * normally through SP_PLUGIN_DEFINE().  Out of the seqpipe tree, against an installed
 * seqpipe:
 *
 *     cc -fPIC -shared $(pkg-config --cflags seqpipe) -o my-stage.so my-stage.c
 *     cp my-stage.so "$(pkg-config --variable=plugindir seqpipe)"   # or any directory
 *                                                    # on $SEQPIPE_PLUGIN_PATH
 *
 * (the host services below are resolved from the seqpipe process that loads it).
 * The descriptor names the ABI the plugin was built for and a NULL-terminated list
 * of stage classes.  The host checks the ABI
 * (major equal, minor not newer than its own) and every field of the descriptor and
 * of each class before it calls any function of the plugin.
 *
 * A run chains, for every input:
 *
 *     decoder --SpFrame--> extractor --SpFrame--> head --SpRecord--> sink, sink, ...
 *                                        \------------SpFrame-----> sink (SP_TAKES_FRAMES)
 *
 * Records are declared, never guessed (ABI 1.2): a head class says what its records
 * are (`records`: one per frame, one per input, or one caption per input) and a sink
 * class says what it takes (`takes`: any of those, and/or every delivered frame).  The
 * host checks the sinks of a run against its head before anything runs (a sink that
 * takes nothing the run makes is a config error), and hands each sink exactly what it
 * declared: records of the head's kind through write(), frames through frame().
 *
 * Every stage is instantiated once per input (so a stage needs no locking: one
 * instance is only ever called from one thread at a time).  The host allocates the
 * instance's private state (`priv_size` bytes, zeroed), fills the declared keys into
 * it, calls init, then process/flush, and always finalize — even when init failed.
 *
 * Ownership, once for all hand-offs:
 *  - SpFrame: owned by the host (a pool sized by the queue).  Stages get
 *    (transfer none) pointers, valid only for the call; a decoder writes into the
 *    buffers the host allocated (rgb: width*height*3, features: feature_dim floats).
 *    A stage that must keep data past the call copies it.
 *  - SpRecord: owned by the head that emits it (transfer none to the host and sinks);
 *    valid only during sp_stage_emit().
 *  - Strings filled from keys are owned by the host and live until after finalize.
 *  - GError: a FALSE (or SP_DECODE_ERROR) return always sets *error; the host owns it
 *    from then on.
 */
#ifndef SEQPIPE_PLUGIN_H
#define SEQPIPE_PLUGIN_H

#include <glib.h>
#include <gmodule.h>   /* G_MODULE_EXPORT, used by SP_PLUGIN_DEFINE */
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SP_ABI_MAJOR 1
#define SP_ABI_MINOR 2   /* 1.1: SP_KEY_PATH; 1.2: declared records (records, takes, frame) */

/* The error domain plugins use for their own failures (any domain is accepted). */
#define SP_PLUGIN_ERROR (sp_plugin_error_quark ())
GQuark sp_plugin_error_quark (void);
typedef enum {
  SP_PLUGIN_ERROR_FAILED,   /* generic */
  SP_PLUGIN_ERROR_OPEN,     /* input cannot be opened / read */
  SP_PLUGIN_ERROR_FORMAT,   /* input is malformed */
  SP_PLUGIN_ERROR_CONFIG,   /* a key's value is unusable */
  SP_PLUGIN_ERROR_IO,       /* writing an output failed */
} SpPluginError;

typedef enum {
  SP_STAGE_DECODER = 1,
  SP_STAGE_EXTRACTOR,
  SP_STAGE_HEAD,
  SP_STAGE_SINK,
} SpStageKind;

/* ---- key tables ------------------------------------------------------------
 * A stage declares its config keys in a table; the host parses the config group,
 * checks types and ranges, and stores each value at `offset` inside the private
 * state.  `seqpipe inspect` prints the same table.  The stage never sees GKeyFile.
 *
 *   SP_KEY_BOOL    gboolean  "true"/"false"
 *   SP_KEY_INT     gint64    within [min, max]
 *   SP_KEY_DOUBLE  double    within [min, max]
 *   SP_KEY_STRING  char *    (host-owned; NULL when the default is NULL and unset)
 *   SP_KEY_CHOICE  int       index into `choices` ("a|b|c")
 *   SP_KEY_PATH    char *    as SP_KEY_STRING, but a relative value is resolved by the
 *                            host (against the config file's directory, or the current
 *                            directory for --set values) before the stage sees it (ABI 1.1)
 */
typedef enum {
  SP_KEY_BOOL = 1,
  SP_KEY_INT,
  SP_KEY_DOUBLE,
  SP_KEY_STRING,
  SP_KEY_CHOICE,
  SP_KEY_PATH,
} SpKeyType;

typedef struct {
  const char *name;      /* NULL terminates the table */
  SpKeyType type;
  size_t offset;         /* offset of the value inside the private state */
  const char *def;       /* default, written as in the config; NULL = required (or NULL string) */
  double min, max;       /* SP_KEY_INT, SP_KEY_DOUBLE; ignored when min > max */
  const char *choices;   /* SP_KEY_CHOICE: "a|b|c" */
  const char *help;
} SpKey;

#define SP_KEY_END { NULL, 0, 0, NULL, 0, 0, NULL, NULL }

/* ---- frames and records ---------------------------------------------------- */

typedef struct {
  int64_t index;        /* frame number in the input at its native rate, 0-based */
  double time;          /* presentation time in seconds */
  int width, height;    /* of rgb: the [decoder] width x height */
  uint8_t *rgb;         /* RGB24, packed rows (stride = width*3); NULL for feature inputs */
  float *features;      /* feature_dim floats; filled by the extractor, or by a feature decoder */
  int feature_dim;
} SpFrame;

/* What a head's records are (SpStageClass.records: exactly one of the three) and what
 * a sink takes (SpStageClass.takes: any of them, plus SP_TAKES_FRAMES).
 *   SP_RECORDS_FRAME    one record per delivered frame, in frame order: frame set,
 *                       label in [0, n_labels) (the labeler)
 *   SP_RECORDS_INPUT    one record per input, from flush(): frame NULL, label in
 *                       [0, n_labels) (the classifier)
 *   SP_RECORDS_CAPTION  one record per input, from flush(): frame NULL, text set,
 *                       label -1 (the captioner)
 *   SP_TAKES_FRAMES     sinks: every frame the chain delivers, through frame(), whatever
 *                       the head (and in a run without a head) */
typedef enum {
  SP_RECORDS_FRAME = 1u << 0,
  SP_RECORDS_INPUT = 1u << 1,
  SP_RECORDS_CAPTION = 1u << 2,
} SpRecordKind;
#define SP_RECORDS_ALL (SP_RECORDS_FRAME | SP_RECORDS_INPUT | SP_RECORDS_CAPTION)
#define SP_TAKES_FRAMES (1u << 8)

typedef struct {
  const SpFrame *frame; /* the frame this record is about; NULL for a per-input record */
  int label;            /* index into the head's labels; -1 when none (captioner) */
  float score;          /* probability of the chosen label, or the caption's score */
  const float *probs;   /* n_labels probabilities, or NULL */
  const char *text;     /* captioner: the sentence; NULL otherwise */
} SpRecord;

/* ---- the per-input instance --------------------------------------------------
 * Public fields are read-only for plugins unless stated. */

typedef struct SpStage SpStage;

typedef struct {
  const char *path;         /* the input as the user named it */
  const char *name;         /* file name with extension */
  const char *stem;         /* file name without extension */
  int index;                /* position of the input in the run */
  double start, end;        /* window in seconds from a manifest; end < 0 = to the end */
} SpInputInfo;

typedef struct {
  double fps;               /* [decoder] fps: sample rate, 0 = every decoded frame */
  int width, height;        /* [decoder] width/height: size handed to the extractor */
  int threads;              /* [decoder] threads: codec threads, 0 = auto */
} SpDecoderParams;

struct SpStage {
  void *priv;                       /* private state, priv_size bytes, zeroed, keys filled */
  const SpInputInfo *input;
  const SpDecoderParams *decoder;   /* the common [decoder] keys, for every stage */
  int feature_dim;                  /* features arriving at this stage (0 before they are known) */
  const char *const *labels;        /* the head's label names (after the head's init), or NULL */
  int n_labels;
  /* sinks only */
  const char *output_path;          /* where to write: a temporary name the host renames */
  gboolean combined;                /* one file for the whole run: write an `input` column first */
  /* host-private from here */
  void *host;
  /* ABI 1.2.  heads: their class's records; sinks: the records of the run's head
   * (one SpRecordKind), 0 in a run without a head */
  unsigned records;
};

/* Decoders: what decode() returned. */
typedef enum {
  SP_DECODE_FRAME = 1,   /* *frame was filled */
  SP_DECODE_BROKEN,      /* one frame could not be decoded; counted, decoding goes on */
  SP_DECODE_EOF,         /* no more frames */
  SP_DECODE_ERROR,       /* fatal for this input; *error is set */
} SpDecodeStatus;

typedef struct {
  /* identity */
  const char *name;               /* [a-z0-9-]+, unique among the stages of its kind
                                   * (the decoder `npy` and the sink `npy` are two) */
  SpStageKind kind;
  const char *description;        /* one line */
  const SpKey *keys;              /* may be NULL */
  size_t priv_size;

  /* decoders: the lower-case file extensions it claims (NULL-terminated), or NULL.
   * A directory or a printf pattern is claimed by the decoder that lists "/" */
  const char *const *extensions;

  /* every kind: prepare for st->input.  Decoders open the input and call
   * sp_stage_set_feature_dim() if they produce features themselves and
   * sp_stage_set_expected_frames() when they know a count; extractors call
   * sp_stage_set_feature_dim() with their output size; heads load their model and
   * call sp_stage_set_labels(); sinks open st->output_path. */
  gboolean (*init) (SpStage *st, GError **error);

  /* decoders: fill the next frame (index, time, rgb or features). */
  SpDecodeStatus (*decode) (SpStage *st, SpFrame *frame, GError **error);

  /* extractors: fill frame->features from frame->rgb (frames arrive in order).
   * heads: consume frame->features; may emit records with sp_stage_emit().
   * sinks: not used (see write). */
  gboolean (*process) (SpStage *st, SpFrame *frame, GError **error);

  /* sinks: one record of the head, of the kind st->records says (and only when the
   * class `takes` it).  A labeler may hold frames back to smooth its segments: their
   * records come later, in frame order, with a copy of the frame. */
  gboolean (*write) (SpStage *st, const SpRecord *record, GError **error);

  /* end of the input: heads emit their per-input records; sinks complete the file.
   * Not called after a failure; finalize is. */
  gboolean (*flush) (SpStage *st, GError **error);

  /* always called once per successful or failed init; frees everything. */
  void (*finalize) (SpStage *st);

  /* sinks: how many header lines each file starts with; when several inputs share one
   * file (`combined`), the host keeps the header of the first part only.  Sinks whose
   * output cannot be concatenated (binary) set can_combine = FALSE. */
  int header_lines;
  gboolean can_combine;
  /* ABI 1.1 sinks: which heads they serve (SP_HEADS_*; 0 = all).  Read only for a
   * sink that declares no `takes` (built against ABI 1.1): LABELER stands for
   * SP_RECORDS_FRAME, CLASSIFIER for SP_RECORDS_INPUT, CAPTIONER for SP_RECORDS_CAPTION
   * and NONE for SP_TAKES_FRAMES (frames then arrive through write() as records with
   * label -1). */
  unsigned heads_mask;

  /* ABI 1.2 */
  unsigned records;     /* heads: the SpRecordKind of every record they emit (required) */
  unsigned takes;       /* sinks: SpRecordKind bits and/or SP_TAKES_FRAMES (required) */
  /* sinks that take SP_TAKES_FRAMES: every frame the chain delivers, in order
   * (transfer none: valid during the call; features filled, rgb set unless the
   * decoder made the features itself) */
  gboolean (*frame) (SpStage *st, const SpFrame *frame, GError **error);
  /* extractors that work on several frames at once (a CNN): fill the features of
   * frames[0..n) (in input order, n <= the batch the instance asked for with
   * sp_stage_set_batch; fewer at the end of the input).  Called instead of process()
   * once the instance asked for a batch > 1.  The frames stay in the host's pool until
   * the call returns (transfer none), so the pool holds a batch plus the decoder's
   * frames: memory stays bounded by the batch, not by the input. */
  gboolean (*process_batch) (SpStage *st, SpFrame *const *frames, int n, GError **error);

  void *reserved[5];
} SpStageClass;

#define SP_HEADS_LABELER    (1u << 0)
#define SP_HEADS_CLASSIFIER (1u << 1)
#define SP_HEADS_CAPTIONER  (1u << 2)
#define SP_HEADS_NONE       (1u << 3)

typedef struct {
  guint32 abi_major;
  guint32 abi_minor;
  const char *name;                    /* plugin name */
  const char *version;
  const char *description;
  const char *license;
  const SpStageClass *const *stages;   /* NULL-terminated */
} SpPluginDescriptor;

#define SP_PLUGIN_DESCRIPTOR_SYMBOL "seqpipe_plugin_descriptor"

#define SP_PLUGIN_DEFINE(name_, version_, description_, license_, ...)          \
  static const SpStageClass *const sp_plugin_stages_[] = { __VA_ARGS__, NULL }; \
  G_MODULE_EXPORT const SpPluginDescriptor seqpipe_plugin_descriptor = {        \
    SP_ABI_MAJOR, SP_ABI_MINOR, name_, version_, description_, license_,        \
    sp_plugin_stages_ }

/* ---- host services (implemented by libseqpipe) ------------------------------ */

void sp_stage_set_feature_dim (SpStage *st, int dim);
void sp_stage_set_expected_frames (SpStage *st, int64_t n);       /* for progress/ETA; <0 unknown */
/* decoders, from init: where the input (its window) ends, in the frames' time, when
 * known — the last segment a sink writes never runs past it */
void sp_stage_set_duration (SpStage *st, double seconds);
/* sinks: that time, or -1 when the decoder did not say */
double sp_stage_input_duration (SpStage *st);
/* extractors with process_batch, from init: frames per call (1..256; 1 = process()) */
void sp_stage_set_batch (SpStage *st, int n);
void sp_stage_set_labels (SpStage *st, const char *const *labels, int n);  /* (transfer none): copied */
/* heads: hand a record to every sink, in order. FALSE + error when a sink failed. */
gboolean sp_stage_emit (SpStage *st, const SpRecord *record, GError **error);
/* heads: the [model] checkpoint path (NULL when unset) and the settings the features
 * are made with, as JSON objects, for checking against a checkpoint's metadata. */
const char *sp_stage_model_checkpoint (SpStage *st);
const char *sp_stage_feature_settings (SpStage *st, const char *which /* "decoder" | "extractor" */);
/* sinks: a second output beside the main one (e.g. the npy sink's frames.csv): a
 * temporary path (transfer none, valid until finalize) that the host renames to the
 * final main path + suffix when the input completes, and removes on failure. */
const char *sp_stage_output_path_aux (SpStage *st, const char *suffix, GError **error);
/* the name of the run's head stage ([head] plugin), or NULL; for messages: what a
 * stage receives is said by st->records */
const char *sp_stage_head_name (SpStage *st);

G_END_DECLS

#endif /* SEQPIPE_PLUGIN_H */
