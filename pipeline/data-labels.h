/* data-labels.h — class names and the labeler's label files (DESIGN §5).
 *
 * A label set is an ordered list of class names with a name -> index map.  A label
 * file gives every frame of one input its class:
 *   *.txt  one name per line; line i (0-based) = native frame i of the input;
 *   *.csv  header `start,end,label`, times in seconds, segments half-open [start, end).
 * A sampled frame takes the label of its own native index (.txt) or time (.csv).
 */
#ifndef SP_LABELS_H
#define SP_LABELS_H

#include "data-cache.h"

G_BEGIN_DECLS

typedef struct {
  char **names;          /* NULL-terminated, owned */
  int n;
  GHashTable *index;     /* name -> GINT_TO_POINTER (i + 1) */
} SpLabelSet;

SpLabelSet *sp_label_set_new (const char *const *names);      /* copied */
void sp_label_set_free (SpLabelSet *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpLabelSet, sp_label_set_free)
/* index of name, or -1 */
int sp_label_set_find (const SpLabelSet *s, const char *name);
/* for an unknown name: "; did you mean 'x'?", else the list of names when it is short,
 * else "" (newly allocated) */
char *sp_label_set_hint (const SpLabelSet *s, const char *name);
/* A `[head] labels` file: one name per line, blank lines ignored, no duplicates; a
 * UTF-8 byte-order mark is dropped and a NUL byte is an error (file, byte offset). */
SpLabelSet *sp_label_set_read (const char *path, GError **error);
/* The sorted set of the names in a hash set (char* keys). */
SpLabelSet *sp_label_set_sorted (GHashTable *names);

typedef struct {
  char *file;
  gboolean segments;     /* .csv */
  /* .txt: one name per native frame */
  char **frames;
  int64_t n_frames;
  /* .csv: segments in file order */
  double *start, *end;
  char **seg_label;
  int *seg_line;
  int n_segs;
} SpLabelFile;

/* Reads a .txt or .csv label file; a malformed file is an error naming file and line:
 * for segments, a time that is not a finite number >= 0, end <= start, two segments
 * that overlap (naming both lines), an empty label.  A leading UTF-8 byte-order mark
 * is dropped; a NUL byte is an error naming its byte offset. */
SpLabelFile *sp_label_file_read (const char *path, GError **error);
void sp_label_file_free (SpLabelFile *lf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpLabelFile, sp_label_file_free)
/* Adds every name the file uses to names (a set of char*, owned by the caller's table
 * with g_free keys). */
void sp_label_file_collect (const SpLabelFile *lf, GHashTable *names);
/* The label covering the most of the file: the longest total duration of segments,
 * the most lines of a .txt file; ties go to the name first in byte order.
 * (transfer none; NULL for an empty file) */
const char *sp_label_file_dominant (const SpLabelFile *lf);
/* y[t] = class of frame t of f, or -1 (unlabelled) for a frame no .csv segment covers
 * (segments are half-open: a segment ending at a frame's time does not cover it);
 * *unlabelled = the number of those.  Errors (file and line named): a name not in set
 * (with a "did you mean"), a .txt file shorter than the input, or one of another length
 * than the input when every native frame was decoded (whole = TRUE; both counts said). */
gboolean sp_label_file_assign (const SpLabelFile *lf, const SpLabelSet *set,
                               const SpFeatures *f, gboolean whole, int32_t *y,
                               int64_t *unlabelled, GError **error);


G_END_DECLS

#endif
