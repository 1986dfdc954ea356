/* faultfs.c — an LD_PRELOAD library that makes one I/O call on files under a
 * directory fail, for the fault sweep (sweep.py).
 *
 * Environment:
 *   SP_FAULT_PREFIX  absolute directory; only files under it are counted
 *   SP_FAULT_FAIL    N >= 1: the Nth counted call fails; 0 or unset: none fails
 *   SP_FAULT_ERRNO   EIO (default) or ENOSPC
 *   SP_FAULT_STICKY  1: every counted call from the Nth on fails (a full disk stays full)
 *   SP_FAULT_LOG     file that receives, at exit, one line per counted call: "N CALL PATH"
 *
 * Counted calls, on files opened for writing under the prefix: write, fsync,
 * fdatasync, close, and rename (when either name is under the prefix).  stdio is
 * covered without knowing glibc's internal paths: fopen/fopen64 of such a file opens
 * it here and returns a fopencookie stream whose writes and close are the counted
 * write and close, so fwrite, fprintf, fputs, fflush and fclose all end in them;
 * fileno of that stream returns the real descriptor, so fsync (fileno (fp)) counts too.
 * A failed call does nothing and returns -1 with errno set (a failed rename leaves
 * both names as they were).  mkstemp-style temporaries are covered because GLib and
 * glibc callers reach open/open64 through the dynamic linker.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FDS 4096
#define MAX_LOG 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char prefix[PATH_MAX];
static size_t prefix_len;
static long fail_at, count;
static int fail_errno = EIO, sticky;
static char *fd_path[MAX_FDS];         /* tracked descriptors and their paths */
static char *log_lines[MAX_LOG];

static ssize_t (*real_write) (int, const void *, size_t);
static int (*real_close) (int);
static int (*real_fsync) (int);
static int (*real_fdatasync) (int);
static int (*real_rename) (const char *, const char *);
static int (*real_open) (const char *, int, ...);
static int (*real_open64) (const char *, int, ...);
static int (*real_openat) (int, const char *, int, ...);
static int (*real_fileno) (FILE *);

__attribute__ ((constructor)) static void
setup (void)
{
  real_write = dlsym (RTLD_NEXT, "write");
  real_close = dlsym (RTLD_NEXT, "close");
  real_fsync = dlsym (RTLD_NEXT, "fsync");
  real_fdatasync = dlsym (RTLD_NEXT, "fdatasync");
  real_rename = dlsym (RTLD_NEXT, "rename");
  real_open = dlsym (RTLD_NEXT, "open");
  real_open64 = dlsym (RTLD_NEXT, "open64");
  real_openat = dlsym (RTLD_NEXT, "openat");
  real_fileno = dlsym (RTLD_NEXT, "fileno");
  const char *p = getenv ("SP_FAULT_PREFIX");
  if (p != NULL && p[0] == '/' && strlen (p) < sizeof prefix - 2) {
    strcpy (prefix, p);
    prefix_len = strlen (prefix);
    while (prefix_len > 1 && prefix[prefix_len - 1] == '/')
      prefix[--prefix_len] = '\0';
  }
  const char *n = getenv ("SP_FAULT_FAIL");
  fail_at = n != NULL ? atol (n) : 0;
  const char *e = getenv ("SP_FAULT_ERRNO");
  if (e != NULL && strcmp (e, "ENOSPC") == 0)
    fail_errno = ENOSPC;
  const char *s = getenv ("SP_FAULT_STICKY");
  sticky = s != NULL && strcmp (s, "1") == 0;
}

__attribute__ ((destructor)) static void
report (void)
{
  const char *path = getenv ("SP_FAULT_LOG");
  if (path == NULL)
    return;
  int fd = real_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  for (long i = 0; i < count && i < MAX_LOG; i++)
    if (log_lines[i] != NULL && real_write (fd, log_lines[i], strlen (log_lines[i])) < 0)
      break;
  real_close (fd);
}

/* path made absolute (against the working directory) without resolving links */
static int
absolute (const char *path, char *out)
{
  if (path[0] == '/')
    return snprintf (out, PATH_MAX, "%s", path) < PATH_MAX;
  char cwd[PATH_MAX];
  if (getcwd (cwd, sizeof cwd) == NULL)
    return 0;
  return snprintf (out, PATH_MAX, "%s/%s", cwd, path) < PATH_MAX;
}

static int
under_prefix (const char *path)
{
  char abs[PATH_MAX];
  if (prefix_len == 0 || path == NULL || !absolute (path, abs))
    return 0;
  return strncmp (abs, prefix, prefix_len) == 0 && abs[prefix_len] == '/';
}

/* Counts one call; returns 1 when it is to fail (errno is then set). */
static int
fault (const char *call, const char *path)
{
  pthread_mutex_lock (&lock);
  long n = ++count;
  if (n <= MAX_LOG) {
    size_t len = strlen (call) + strlen (path) + 32;
    log_lines[n - 1] = malloc (len);
    if (log_lines[n - 1] != NULL)
      snprintf (log_lines[n - 1], len, "%ld %s %s\n", n, call, path);
  }
  pthread_mutex_unlock (&lock);
  if (fail_at > 0 && (n == fail_at || (sticky && n > fail_at))) {
    errno = fail_errno;
    return 1;
  }
  return 0;
}

static const char *
tracked (int fd)
{
  if (fd < 0 || fd >= MAX_FDS)
    return NULL;
  pthread_mutex_lock (&lock);
  const char *p = fd_path[fd];
  pthread_mutex_unlock (&lock);
  return p;
}

static void
track (int fd, const char *path, int flags)
{
  if (fd < 0 || fd >= MAX_FDS || (flags & O_ACCMODE) == O_RDONLY || !under_prefix (path))
    return;
  pthread_mutex_lock (&lock);
  free (fd_path[fd]);
  fd_path[fd] = strdup (path);
  pthread_mutex_unlock (&lock);
}

static void
untrack (int fd)
{
  if (fd < 0 || fd >= MAX_FDS)
    return;
  pthread_mutex_lock (&lock);
  free (fd_path[fd]);
  fd_path[fd] = NULL;
  pthread_mutex_unlock (&lock);
}

#define MODE_ARG(flags, mode)                                           \
  do {                                                                  \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                              \
      va_list ap;                                                       \
      va_start (ap, flags);                                             \
      mode = va_arg (ap, mode_t);                                       \
      va_end (ap);                                                      \
    }                                                                   \
  } while (0)

int
open (const char *path, int flags, ...)
{
  mode_t mode = 0;
  MODE_ARG (flags, mode);
  int fd = real_open (path, flags, mode);
  track (fd, path, flags);
  return fd;
}

int
open64 (const char *path, int flags, ...)
{
  mode_t mode = 0;
  MODE_ARG (flags, mode);
  int fd = real_open64 (path, flags, mode);
  track (fd, path, flags);
  return fd;
}

int
openat (int dirfd, const char *path, int flags, ...)
{
  mode_t mode = 0;
  MODE_ARG (flags, mode);
  int fd = real_openat (dirfd, path, flags, mode);
  if (dirfd == AT_FDCWD || path[0] == '/')
    track (fd, path, flags);
  return fd;
}

int
creat (const char *path, mode_t mode)
{
  return open (path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

ssize_t
write (int fd, const void *buf, size_t n)
{
  const char *p = tracked (fd);
  if (p != NULL && fault ("write", p))
    return -1;
  return real_write (fd, buf, n);
}

int
fsync (int fd)
{
  const char *p = tracked (fd);
  if (p != NULL && fault ("fsync", p))
    return -1;
  return real_fsync (fd);
}

int
fdatasync (int fd)
{
  const char *p = tracked (fd);
  if (p != NULL && fault ("fdatasync", p))
    return -1;
  return real_fdatasync (fd);
}

int
close (int fd)
{
  const char *p = tracked (fd);
  if (p == NULL)
    return real_close (fd);
  /* the descriptor is released even when the call reports an error, as Linux does */
  int failed = fault ("close", p);
  int e = errno;
  untrack (fd);
  int rc = real_close (fd);
  if (failed) {
    errno = e;
    return -1;
  }
  return rc;
}

int
rename (const char *from, const char *to)
{
  if ((under_prefix (from) || under_prefix (to)) && fault ("rename", to))
    return -1;
  return real_rename (from, to);
}

/* ---- stdio streams over counted descriptors --------------------------------- */

typedef struct {
  int fd;
  FILE *fp;
} Cookie;

#define MAX_STREAMS 256
static Cookie *streams[MAX_STREAMS];

static ssize_t
cookie_read (void *c, char *buf, size_t n)
{
  return read (((Cookie *) c)->fd, buf, n);
}

static ssize_t
cookie_write (void *c, const char *buf, size_t n)
{
  ssize_t k = write (((Cookie *) c)->fd, buf, n);
  return k < 0 ? -1 : k;    /* glibc marks the stream failed on -1 */
}

static int
cookie_seek (void *c, off64_t *pos, int whence)
{
  off64_t r = lseek64 (((Cookie *) c)->fd, *pos, whence);
  if (r < 0)
    return -1;
  *pos = r;
  return 0;
}

static int
cookie_close (void *c)
{
  Cookie *k = c;
  pthread_mutex_lock (&lock);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (streams[i] == k)
      streams[i] = NULL;
  pthread_mutex_unlock (&lock);
  int rc = close (k->fd);
  free (k);
  return rc;
}

static FILE *
open_stream (const char *path, const char *mode, FILE *(*real) (const char *, const char *))
{
  int plus = strchr (mode, '+') != NULL;
  int flags;
  switch (mode[0]) {
  case 'w': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
  case 'a': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
  case 'r': flags = plus ? O_RDWR : O_RDONLY; break;
  default: return real (path, mode);
  }
  if (flags == O_RDONLY || !under_prefix (path))
    return real (path, mode);
  if (strchr (mode, 'x') != NULL)
    flags |= O_EXCL;
  if (strchr (mode, 'e') != NULL)
    flags |= O_CLOEXEC;
  int fd = open (path, flags, 0666);
  if (fd < 0)
    return NULL;
  Cookie *c = malloc (sizeof *c);
  if (c == NULL) {
    close (fd);
    errno = ENOMEM;
    return NULL;
  }
  c->fd = fd;
  cookie_io_functions_t io = { cookie_read, cookie_write, cookie_seek, cookie_close };
  c->fp = fopencookie (c, mode, io);
  if (c->fp == NULL) {
    int e = errno;
    untrack (fd);
    real_close (fd);
    free (c);
    errno = e;
    return NULL;
  }
  pthread_mutex_lock (&lock);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (streams[i] == NULL) {
      streams[i] = c;
      break;
    }
  pthread_mutex_unlock (&lock);
  return c->fp;
}

FILE *
fopen (const char *path, const char *mode)
{
  static FILE *(*real) (const char *, const char *);
  if (real == NULL)
    real = dlsym (RTLD_NEXT, "fopen");
  return open_stream (path, mode, real);
}

FILE *
fopen64 (const char *path, const char *mode)
{
  static FILE *(*real) (const char *, const char *);
  if (real == NULL)
    real = dlsym (RTLD_NEXT, "fopen64");
  return open_stream (path, mode, real);
}

int
fileno (FILE *fp)
{
  pthread_mutex_lock (&lock);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (streams[i] != NULL && streams[i]->fp == fp) {
      int fd = streams[i]->fd;
      pthread_mutex_unlock (&lock);
      return fd;
    }
  pthread_mutex_unlock (&lock);
  return real_fileno (fp);
}
