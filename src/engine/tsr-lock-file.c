/* tsr-lock-file.c
 *
 * The lock is flock(2) on an open file: the kernel drops it when the process dies, so a
 * SIGKILL never leaves a stale lock behind. The file holds the owner's PID only so that the
 * second process can say who holds it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-lock-file.h"
#include "tsr-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>
#include <glib/gstdio.h>

struct _TsrLockFile
{
  int fd;
  char *path;
};

static long
read_owner_pid (int fd)
{
  char buf[32] = { 0 };
  ssize_t n = pread (fd, buf, sizeof buf - 1, 0);

  if (n <= 0)
    return 0;
  return strtol (buf, NULL, 10);
}

/**
 * tsr_lock_file_acquire:
 * @path: the lock file; created if missing
 * @what: what is being locked, for the error message ("data dir /x")
 *
 * Returns: (transfer full): the held lock, or %NULL with %TSR_ERROR_BUSY when another open
 * file description holds it (another process, or this one opening the same thing twice).
 */
TsrLockFile *
tsr_lock_file_acquire (const char *path, const char *what, GError **error)
{
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot open lock file %s: %s"), path,
                   g_strerror (saved));
      return NULL;
    }

  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;
      long pid = read_owner_pid (fd);

      close (fd);
      if (saved == EWOULDBLOCK)
        {
          if (pid > 0)
            g_set_error (error, TSR_ERROR, TSR_ERROR_BUSY,
                         _ ("The %s is in use by process %ld; stop it first"), what, pid);
          else
            g_set_error (error, TSR_ERROR, TSR_ERROR_BUSY,
                         _ ("The %s is in use by another process; stop it first"), what);
        }
      else
        g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot lock %s: %s"), path,
                     g_strerror (saved));
      return NULL;
    }

  {
    char buf[32];
    int len = g_snprintf (buf, sizeof buf, "%ld\n", (long)getpid ());

    /* The PID is advice for error messages; failing to write it does not weaken the lock. */
    if (ftruncate (fd, 0) != 0 || pwrite (fd, buf, len, 0) != len)
      g_debug ("Could not record the owner PID in %s", path);
  }

  TsrLockFile *self = g_new0 (TsrLockFile, 1);
  self->fd = fd;
  self->path = g_strdup (path);
  return self;
}

void
tsr_lock_file_release (TsrLockFile *self)
{
  if (self == NULL)
    return;
  /* Leave the file in place: unlinking it would race with a process that just opened it. */
  if (ftruncate (self->fd, 0) != 0)
    g_debug ("Could not clear %s", self->path);
  close (self->fd);
  g_free (self->path);
  g_free (self);
}
