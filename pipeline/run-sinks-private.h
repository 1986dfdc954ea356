/* run-sinks-private.h — what the files of the run's sinks share (run-sinks.h):
 *   run-sinks.c          checking the sinks against the run; each input's instances,
 *                        and records and frames routed to the sinks that take them
 *   run-sinks-names.c    the naming policy: where each sink writes for each input
 *   run-sinks-files.c    temporary files and renames (a file appears complete or not
 *                        at all)
 *   run-sinks-combine.c  a run-wide file from the parts of the inputs that succeeded */
#ifndef SP_RUN_SINKS_PRIVATE_H
#define SP_RUN_SINKS_PRIVATE_H

#include "run-sinks.h"

G_BEGIN_DECLS

typedef struct {
  char *name;               /* NAME */
  char *group;              /* "sink:NAME" */
  const SpStageClass *klass;
  unsigned takes;           /* sp_stage_class_takes */
  gboolean per_input;       /* path has {stem} or {name} */
  gboolean combined;        /* one file for the run, written in parts */
  char *run_rel;            /* the run's file, relative to output-dir (!per_input) */
  char **rel;               /* [input] per-input file, relative to output-dir */
  char **parts;             /* [input] committed part of a combined sink */
  gboolean written;         /* the combined file exists */
} SinkDef;

struct SpSinkSet {
  SpConfig *config;
  char *output_dir;
  const SpInputInfo *inputs;
  int n_inputs;
  SinkDef *defs;
  int n;
  char **names;             /* NULL-terminated sink names */
  unsigned records;         /* what the run's head makes (0: no head) */
  char *run_suffix;         /* a shard's "-I-of-N", or "" */
  char *summary_name;       /* summary.json, or summary-I-of-N.json */
  GMutex lock;              /* parts */
};

typedef struct {
  char *suffix;
  char *tmp;
} AuxFile;

typedef struct {
  SpSinkSet *set;
  SinkDef *def;
  SpStage *stage;
  char *tmp;                /* st->output_path */
  char *final;              /* full final path; NULL for a part */
  GPtrArray *aux;           /* AuxFile */
} SinkInst;

struct SpSinkOutput {
  SpSinkSet *set;
  int input;
  SinkInst *inst;
  int n;
};

/* output-dir/rel, or rel when absolute (newly allocated) */
char *sp_sinks_full_path (SpSinkSet *s, const char *rel);

/* rel with suffix before its last extension (all.csv, -0-of-2 -> all-0-of-2.csv) */
char *sp_sinks_suffixed (const char *rel, const char *suffix);

/* Names every file of the run: the run-wide files, then each input's (DESIGN §6).
 * FALSE + SP_ERROR_CONFIG for a path with an unknown placeholder. */
gboolean sp_sinks_name_outputs (SpSinkSet *s, const SpSinkSpec *specs, GError **error);

/* Creates "DIR/.BASE[SUFFIX].tmp-XXXXXX" beside final (and DIR itself); the file exists
 * empty.  Errors name DIR. */
char *sp_sinks_make_temp (const char *final, const char *suffix, GError **error);
/* rename(2), the error naming final */
gboolean sp_sinks_rename (const char *tmp, const char *final, GError **error);

/* The run-wide file of sink d from the committed parts, in input order, keeping the
 * first part's header lines only. */
gboolean sp_sinks_write_combined (SpSinkSet *s, SinkDef *d, GError **error);

G_END_DECLS

#endif
