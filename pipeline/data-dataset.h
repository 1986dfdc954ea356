/* data-dataset.h — a manifest (DESIGN §5) turned into training examples and references.
 *
 * Reading is two steps, because the class order or the vocabulary may depend on every
 * row of the training set (and of the validation set):
 *   1. sp_dataset_read: rows, their features (through the cache), their label files
 *      or captions;
 *   2. sp_dataset_assign_labels / sp_dataset_assign_vocab: targets per example.
 * A bad row (missing file, unknown label, empty caption, label file length mismatch)
 * does not stop either step: it is left out and its message ("MANIFEST:LINE: ...")
 * added to `errors`; the caller decides between skipping and stopping.  Errors that
 * concern the whole manifest (unreadable, wrong columns) fail the call.
 */
#ifndef SP_DATASET_H
#define SP_DATASET_H

#include "data-cache.h"
#include "data-labels.h"
#include "data-vocab.h"
#include "run-progress.h"
#include "spm-model.h"

G_BEGIN_DECLS

typedef struct {
  char *path;               /* resolved */
  double start, end;        /* window, -1 when absent */
  int line;                 /* first manifest line naming it */
  SpFeatures f;             /* [T][D] */
  float *pooled;            /* [D] mean over frames (captioner) */
  gboolean failed;
} SpDataInput;

typedef struct {
  int input;                /* index into inputs */
  int line;
  char *label;              /* classifier */
  SpLabelFile *lf;          /* labeler */
  char *caption;            /* captioner */
  gboolean failed;
} SpDataRow;

typedef struct {
  char *manifest;
  SpmHeadKind head;
  int D;                    /* 0 until a row has features */
  GPtrArray *inputs;        /* SpDataInput* */
  GArray *rows;             /* SpDataRow */
  GPtrArray *errors;        /* char*: one message per bad row */
  /* after assign: one example per good row (captioner: per caption) */
  SpmExample *ex;
  int *ex_row;              /* row of each example */
  size_t n_ex;
  int64_t frames;           /* frames over all examples */
  int64_t *ex_unlabelled;   /* labeler: frames of each example no segment covers (y = -1) */
  int64_t unlabelled;       /* their sum */
  GPtrArray *store;         /* target arrays owned by the dataset */
} SpDataset;

/* The head kind of a head stage, from the records it declares (the one place the
 * plugin ABI's record kinds become the models' head kinds).  FALSE + SP_ERROR_CONFIG
 * naming [head] plugin for a head that is none of the three (or no head). */
gboolean sp_dataset_head_kind (const SpStageClass *head, SpmHeadKind *out, GError **error);

/* head: which columns are required.  cache_dir may be NULL (no cache).  *progress
 * (may be NULL) is updated per input. */
SpDataset *sp_dataset_read (SpConfig *c, const char *manifest, SpmHeadKind head,
                            const char *cache_dir, SpProgress *progress, GError **error);
/* an empty dataset of that manifest (no rows, inputs or targets) */
SpDataset *sp_dataset_new (const char *manifest, SpmHeadKind head);
void sp_dataset_free (SpDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpDataset, sp_dataset_free)

/* Adds the class names of the good rows to names (char* set with g_free keys). */
void sp_dataset_collect_labels (const SpDataset *ds, GHashTable *names);
/* The captions of the good rows (NULL-terminated, transfer container). */
const char **sp_dataset_captions (const SpDataset *ds);

/* Targets of every good row; rows that fail (unknown label, label file of the wrong
 * length) are marked failed and reported in `errors`.  whole: the decoder delivers
 * every native frame ([decoder] fps = 0), so a .txt label file of an input without a
 * window must have exactly one line per frame. */
void sp_dataset_assign_labels (SpDataset *ds, const SpLabelSet *set, gboolean whole);
void sp_dataset_assign_vocab (SpDataset *ds, const SpVocab *vocab);
/* One line on stderr per labeler example with unlabelled frames: where, how many
 * (ds may be NULL). */
void sp_dataset_report_unlabelled (const SpDataset *ds);

G_END_DECLS

#endif
