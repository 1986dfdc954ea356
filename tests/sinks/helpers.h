/* helpers.h — what the sinks and extractor tests share: a harness per stage with an
 * isolated plugin path, a labelled frame sequence, files read back. */
#ifndef SP_TEST_SINKS_HELPERS_H
#define SP_TEST_SINKS_HELPERS_H

#include <seqpipe/check.h>

#include "data-csv.h"
#include "host-stage.h"

/* the labels of the test sequence: names that need CSV quoting and JSON escaping */
extern const char *const test_labels[5];   /* NULL-terminated */
#define N_TEST_LABELS 4
/* the sequence: frame i at time i / TEST_FPS, native index 3 i, label test_seq[i] */
#define TEST_FPS 10.0
#define TEST_T 10
#define TEST_D 5
extern const int test_seq[TEST_T];
float test_score (int i);
float test_prob (int i, int k);        /* probs of frame i; [test_seq[i]] = test_score */
float test_feature (int i, int d);

/* a fresh directory for one test's files; test_dir_free removes it and its files */
typedef char TestDir;
TestDir *test_dir_new (void);
void test_dir_free (TestDir *dir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestDir, test_dir_free)

/* a sink of the sinks plugin writing to path, for head ("labeler", ...; NULL =
 * unknown), with the test labels and [decoder] fps = TEST_FPS; initialised */
SpHarness *sink_new (const char *stage, const char *const *keys, const char *head,
                     const char *path, gboolean combined);
/* the same with another [decoder] fps (0 = every frame) */
SpHarness *sink_new_fps (const char *stage, const char *const *keys, const char *head,
                         const char *path, gboolean combined, double fps);
/* feeds the labelled sequence as the host routes it: each frame to a sink that takes
 * frames, each record to a sink that takes the run's records; with held, every frame
 * goes before the first record (as when the labeler holds frames to smooth them) */
void feed_labeler (SpHarness *h, gboolean held);
/* a classifier's or captioner's input: every frame (to a sink that takes frames),
 * then the per-input record (text = caption or NULL) */
void feed_per_input (SpHarness *h, int label, const char *caption);
void sink_flush_ok (SpHarness *h);
/* one frame, one record, as the host hands them: only to a sink that takes it */
void give_frame (SpHarness *h, const SpFrame *f);
void give_record (SpHarness *h, const SpRecord *r);

char *read_file (const char *path, gsize *len);
/* the lines of a text file without their '\n' (a final empty piece dropped) */
char **read_lines (const char *path);

#endif
