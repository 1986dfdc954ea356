/* spm-io.h — files written atomically and read without blocking: the one home of
 * both for the project (checkpoints, .npy files, the feature cache, summaries, logs).
 *
 * A writer creates DIR/.BASE.tmp-XXXXXX beside the final file (mkstemp, so
 * concurrent writers of one path never share a temporary), takes the bytes, and on
 * commit flushes, fsyncs, closes and renames it over the final name, then syncs the
 * directory: a crash or an error leaves the old file (or none), never a part, and no
 * temporary.  Every error names the final path, not the temporary one. */
#ifndef SPM_IO_H
#define SPM_IO_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct SpmFileWriter SpmFileWriter;
/* SPM_ERROR_IO when the temporary file cannot be created (the directory must exist) */
SpmFileWriter *spm_file_writer_new (const char *path, GError **error);
gboolean spm_file_writer_write (SpmFileWriter *w, const void *data, size_t n, GError **error);
/* fsync, close, rename; FALSE + SPM_ERROR_IO leaves no temporary behind.  Once. */
gboolean spm_file_writer_commit (SpmFileWriter *w, GError **error);
/* removes the temporary unless committed */
void spm_file_writer_free (SpmFileWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpmFileWriter, spm_file_writer_free)

/* SPM_ERROR_IO naming dir unless a file can be created in it (and is removed again) */
gboolean spm_file_probe_writable (const char *dir, GError **error);
/* Removes DIR/.BASE.tmp-XXXXXX (six characters, the writer's pattern) left beside path
 * by a writer killed before its commit: only temporaries of this file, never others. */
void spm_file_remove_stale_temps (const char *path);

/* the whole of data as path, atomically */
gboolean spm_file_replace (const char *path, const void *data, size_t n, GError **error);

/* The whole of a regular file.  The type is checked before anything can block: a FIFO,
 * a device or a directory is SPM_ERROR_IO "not a regular file" at once.  *data is
 * NUL-terminated (not counted in *len). */
gboolean spm_file_get_regular (const char *path, char **data, gsize *len, GError **error);
/* opens a regular file for reading the same way (FALSE + error otherwise); the fd is
 * blocking again when returned */
int spm_file_open_regular (const char *path, GError **error);

G_END_DECLS

#endif
