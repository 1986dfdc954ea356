/* run-inputs.h — the inputs of a run (DESIGN §3, §5): from [pipeline] inputs (globs,
 * image-sequence patterns) or a manifest, and what an input is called (one rule for
 * every verb: summary.json, sink paths, error messages). */
#ifndef SP_RUN_INPUTS_H
#define SP_RUN_INPUTS_H

#include "host-config.h"
#include "run-progress.h"

G_BEGIN_DECLS

/* A printf pattern of numbered files (%d, %5d, %05d in the base name): one
 * image-sequence input. */
gboolean sp_input_is_sequence_pattern (const char *path);

/* path with "." and "DIR/.." components removed, lexically (cfg/../data/x.mkv ->
 * data/x.mkv): how an input is named in messages, outputs and summary.json.  Newly
 * allocated. */
char *sp_path_normalize (const char *path);

/* Fills in for path (normalized as above): name = the file name, for a numbered pattern
 * (seq/%05d.png) its directory's name; stem = the name without its extension (a
 * directory's or a pattern's name stays whole).  start < 0 counts as 0; end < 0 = to
 * the end.  sp_input_info_clear frees the strings. */
void sp_input_info_init (SpInputInfo *in, const char *path, int index, double start,
                         double end);
void sp_input_info_clear (SpInputInfo *in);

/* The inputs of a run, in order: cli_inputs when given (the command line's, relative
 * to the current directory), else [pipeline] inputs (items as written, globs expanded
 * and sorted; an item matching nothing is reported on progress) or one per distinct
 * (path, start, end) of [pipeline] manifest.  A GArray of SpInputInfo that clears its
 * elements.  NULL + SP_ERROR_CONFIG when both or neither are set, or nothing is left
 * (SP_ERROR_USAGE for the command line's). */
GArray *sp_inputs_gather (SpConfig *c, const char *const *cli_inputs, SpProgress *progress,
                          GError **error);

/* --shard I/N (DESIGN §3, §11): "I/N", two plain decimal numbers, 0 <= I < N */
gboolean sp_parse_shard (const char *text, int *shard, int *shards);

G_END_DECLS

#endif
