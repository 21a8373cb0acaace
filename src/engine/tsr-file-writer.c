/* tsr-file-writer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-file-writer.h"
#include "tsr-error.h"
#include "tsr-json.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SIZE (1024 * 1024)
#define N_BLOCKS   3    /* one being filled, one being written, one spare */
#define ALIGNMENT  4096 /* O_DIRECT wants the buffer, the offset and the length aligned */

typedef struct
{
  guint8 *data;
  gsize len;
} Block;

struct _TsrFileWriter
{
  int fd;
  char *name;
  gboolean direct; /* O_DIRECT is on; only the writing thread turns it off */
  guint64 length;  /* bytes handed to the writing thread */
  GThread *thread;
  GAsyncQueue *full; /* Block*, to the writing thread; the stop marker ends it */
  GAsyncQueue *free; /* Block*, back to the caller */
  Block blocks[N_BLOCKS];
  Block *current;
  gboolean finished;

  GMutex mutex;
  GError *error; /* the writing thread's first failure */
};

static Block stop_marker;

/* Writes one block at the file's end. With O_DIRECT the last block is padded with zeros to
 * whole device blocks (tsr_file_writer_finish() cuts the file back); where the file system
 * refuses O_DIRECT at write time, the writer falls back to the page cache for good. */
static gboolean
write_block (TsrFileWriter *self, Block *b)
{
  for (;;)
    {
      gsize len = b->len;

      if (self->direct && len % ALIGNMENT != 0)
        {
          gsize padded = (len + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
          memset (b->data + len, 0, padded - len);
          len = padded;
        }
      if (tsr_write_all (self->fd, b->data, len))
        return TRUE;
      if (errno != EINVAL || !self->direct)
        return FALSE;
      g_debug ("%s: O_DIRECT refused; writing through the page cache", self->name);
      self->direct = FALSE;
      fcntl (self->fd, F_SETFL, fcntl (self->fd, F_GETFL) & ~O_DIRECT);
    }
}

static gpointer
writer_thread (gpointer data)
{
  TsrFileWriter *self = data;

  for (;;)
    {
      Block *b = g_async_queue_pop (self->full);
      gboolean failed;

      if (b == &stop_marker)
        break;
      g_mutex_lock (&self->mutex);
      failed = self->error != NULL;
      g_mutex_unlock (&self->mutex);
      if (!failed && !write_block (self, b))
        {
          int saved = errno;
          g_mutex_lock (&self->mutex);
          tsr_set_error_from_errno (&self->error, saved, _ ("Cannot write %s"), self->name);
          g_mutex_unlock (&self->mutex);
        }
      g_async_queue_push (self->free, b);
    }
  return NULL;
}

/**
 * tsr_file_writer_new:
 * @fd: a file open for writing at its end; the writer does not close it
 * @name: the file's name, for messages
 */
TsrFileWriter *
tsr_file_writer_new (int fd, const char *name)
{
  TsrFileWriter *self = g_new0 (TsrFileWriter, 1);
  int flags;

  self->fd = fd;
  self->name = g_strdup (name);
  flags = fcntl (fd, F_GETFL);
  self->direct = flags >= 0 && fcntl (fd, F_SETFL, flags | O_DIRECT) == 0;
  g_mutex_init (&self->mutex);
  self->full = g_async_queue_new ();
  self->free = g_async_queue_new ();
  for (guint i = 0; i < N_BLOCKS; i++)
    {
      self->blocks[i].data = g_aligned_alloc (1, BLOCK_SIZE, ALIGNMENT);
      if (i > 0)
        g_async_queue_push (self->free, &self->blocks[i]);
    }
  self->current = &self->blocks[0];
  self->thread = g_thread_new ("tsr-file-writer", writer_thread, self);
  return self;
}

static gboolean
check_error (TsrFileWriter *self, GError **error)
{
  gboolean ok;

  g_mutex_lock (&self->mutex);
  ok = self->error == NULL;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&self->error));
  g_mutex_unlock (&self->mutex);
  return ok;
}

/* Hands the current block to the writing thread and takes a free one. */
static void
submit_current (TsrFileWriter *self)
{
  self->length += self->current->len;
  g_async_queue_push (self->full, self->current);
  self->current = g_async_queue_pop (self->free);
  self->current->len = 0;
}

/**
 * tsr_file_writer_write:
 *
 * Appends @len bytes. Blocks only while the device is behind by two blocks. A failure of an
 * earlier block's write is reported here or by tsr_file_writer_finish().
 */
gboolean
tsr_file_writer_write (TsrFileWriter *self, const void *data, gsize len, GError **error)
{
  const guint8 *p = data;

  g_return_val_if_fail (!self->finished, FALSE);
  while (len > 0)
    {
      gsize n = MIN (len, BLOCK_SIZE - self->current->len);

      memcpy (self->current->data + self->current->len, p, n);
      self->current->len += n;
      p += n;
      len -= n;
      if (self->current->len == BLOCK_SIZE)
        {
          if (!check_error (self, error))
            return FALSE;
          submit_current (self);
        }
    }
  return TRUE;
}

/**
 * tsr_file_writer_finish:
 *
 * Writes what is left, waits for every write and cuts off the padding of the last block. The
 * file is not synced.
 */
gboolean
tsr_file_writer_finish (TsrFileWriter *self, GError **error)
{
  g_return_val_if_fail (!self->finished, FALSE);
  self->finished = TRUE;
  if (self->current->len > 0)
    submit_current (self);
  g_async_queue_push (self->full, &stop_marker);
  g_thread_join (self->thread);
  self->thread = NULL;
  if (!check_error (self, error))
    return FALSE;
  if (self->length % ALIGNMENT != 0 && ftruncate (self->fd, self->length) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot write %s"), self->name);
      return FALSE;
    }
  return TRUE;
}

/* Whether the writes bypass the page cache (O_DIRECT); for tests. */
gboolean
tsr_file_writer_is_direct (TsrFileWriter *self)
{
  return self->direct;
}

/* Abandons whatever was not written yet (a failed or cancelled download) and frees. */
void
tsr_file_writer_free (TsrFileWriter *self)
{
  if (self == NULL)
    return;
  if (self->thread != NULL)
    {
      /* Blocks still queued are skipped, as after a failure. */
      g_mutex_lock (&self->mutex);
      if (self->error == NULL)
        self->error = g_error_new (TSR_ERROR, TSR_ERROR_CANCELLED, _ ("Abandoned"));
      g_mutex_unlock (&self->mutex);
      g_async_queue_push (self->full, &stop_marker);
      g_thread_join (self->thread);
    }
  for (guint i = 0; i < N_BLOCKS; i++)
    g_aligned_free (self->blocks[i].data);
  g_async_queue_unref (self->full);
  g_async_queue_unref (self->free);
  g_clear_error (&self->error);
  g_mutex_clear (&self->mutex);
  g_free (self->name);
  g_free (self);
}
