/* run-sinks.h — where a run's sinks write (DESIGN §6).
 *
 * A sink whose `path` holds {stem} or {name} writes one file per input; any other
 * path is one file for the run.  All names are fixed before anything runs: when two
 * inputs would get the same file, the later ones (input order) get -2, -3, ... before
 * the extension.  Every file is written under a temporary name in its final
 * directory and renamed when its input completes; the file of a run-wide sink is
 * written by each input as its own part (`combined`: the sink writes an `input`
 * column), and the parts of the inputs that succeeded are concatenated, in input
 * order, keeping only the first part's header lines.  A failed input's temporary
 * files are removed.
 *
 * Threads: an input's worker opens, writes to, flushes and commits or aborts its own
 * output; several inputs' workers do so at the same time.  sp_sinks_new, _finish and
 * _output run on the run's main thread before and after the workers. */
#ifndef SP_SINKS_H
#define SP_SINKS_H

#include "host-stage.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;             /* NAME of [sink:NAME] */
  const SpStageClass *klass;
  const char *path;             /* the `path` key as written: relative to output-dir */
} SpSinkSpec;

typedef struct SpSinkSet SpSinkSet;
typedef struct SpSinkOutput SpSinkOutput;

/* Checks every sink against the run (it takes the records of the head, NULL = no
 * head, or the frames; a sink that cannot combine needs {stem}/{name} when there
 * are several inputs) and names every output file.  FALSE + SP_ERROR_CONFIG naming
 * [sink:NAME] otherwise. */
SpSinkSet *sp_sinks_new (SpConfig *c, const SpSinkSpec *specs, int n_specs,
                         const char *output_dir, const SpInputInfo *inputs, int n_inputs,
                         const SpStageClass *head, GError **error);
/* A shard's run-wide files and summary carry `suffix` before their last extension
 * (all.csv -> all-0-of-2.csv, summary-0-of-2.json); call before sp_sinks_new's naming,
 * i.e. use sp_sinks_new_for_shard. */
SpSinkSet *sp_sinks_new_for_shard (SpConfig *c, const SpSinkSpec *specs, int n_specs,
                                   const char *output_dir, const SpInputInfo *inputs,
                                   int n_inputs, const SpStageClass *head,
                                   const char *suffix, GError **error);
/* whether sink k writes one file per input ({stem} or {name} in its path) */
gboolean sp_sinks_per_input (SpSinkSet *s, int k);
/* the summary's file relative to output-dir: summary.json or summary-I-of-N.json */
const char *sp_sinks_summary_name (SpSinkSet *s);
void sp_sinks_free (SpSinkSet *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpSinkSet, sp_sinks_free)
int sp_sinks_count (SpSinkSet *s);
const char *const *sp_sinks_names (SpSinkSet *s);

/* Creates and inits input's sink instances, writing to temporary files.  labels
 * (transfer none) must outlive the returned output. */
SpSinkOutput *sp_sinks_open (SpSinkSet *s, int input, const SpDecoderParams *dec,
                             const char *const *labels, int n_labels, int feature_dim,
                             double duration, GError **error);
/* One record of the head to every sink that takes its kind, in order. */
gboolean sp_sinks_write (SpSinkOutput *o, const SpRecord *record, GError **error);
/* One delivered frame to every sink that takes frames, in order. */
gboolean sp_sinks_frame (SpSinkOutput *o, const SpFrame *frame, GError **error);
/* End of the input: every sink completes its file. */
gboolean sp_sinks_flush (SpSinkOutput *o, GError **error);
/* Finalizes the sinks and moves their files to their final names (or keeps a
 * run-wide sink's part for sp_sinks_finish).  Consumes o, also on failure, when
 * every file of the input is removed. */
gboolean sp_sinks_commit (SpSinkOutput *o, GError **error);
/* Finalizes the sinks and removes every file of the input.  Consumes o. */
void sp_sinks_abort (SpSinkOutput *o);

/* After the last input: writes each run-wide file from the parts of the inputs that
 * committed, and removes every part. */
gboolean sp_sinks_finish (SpSinkSet *s, GError **error);
/* The file (relative to output-dir) that input's records went to for sink k, or
 * NULL (not committed, or the run-wide file was not written). */
const char *sp_sinks_output (SpSinkSet *s, int input, int k);

/* The sink instances' service behind sp_stage_output_path_aux. */
const char *sp_sinks_aux_path (SpStage *st, const char *suffix, GError **error);

G_END_DECLS

#endif
