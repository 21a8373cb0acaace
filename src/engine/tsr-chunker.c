/* tsr-chunker.c
 *
 * Holds one chunk at a time, so memory stays at the chunk size whatever the file size.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-chunker.h"
#include "tsr-error.h"

struct _TsrChunker
{
  GObject parent_instance;

  GInputStream *stream;
  gsize chunk_size;
  guint64 index;  /* of the next chunk */
  guint64 offset; /* bytes handed out so far */
  gboolean eof;
  GFileInfo *opened; /* a file's size and modification time before the first read */
};

#define STAMP_ATTRIBUTES                                                                           \
  G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_TIME_MODIFIED                                \
                                 "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC

G_DEFINE_FINAL_TYPE (TsrChunker, tsr_chunker, G_TYPE_OBJECT)

gboolean
tsr_chunk_size_is_valid (guint64 chunk_size)
{
  return chunk_size >= TSR_CHUNK_SIZE_MIN && chunk_size <= TSR_CHUNK_SIZE_MAX;
}

/* An empty file has no chunks; the last chunk may be short. */
guint64
tsr_chunk_count (guint64 file_size, gsize chunk_size)
{
  g_return_val_if_fail (chunk_size > 0, 0);
  return file_size / chunk_size + (file_size % chunk_size != 0);
}

/**
 * tsr_chunker_new:
 * @stream: where the file's bytes come from; read sequentially
 * @chunk_size: between %TSR_CHUNK_SIZE_MIN and %TSR_CHUNK_SIZE_MAX
 */
TsrChunker *
tsr_chunker_new (GInputStream *stream, gsize chunk_size)
{
  TsrChunker *self;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);
  g_return_val_if_fail (tsr_chunk_size_is_valid (chunk_size), NULL);

  self = g_object_new (TSR_TYPE_CHUNKER, NULL);
  self->stream = g_object_ref (stream);
  self->chunk_size = chunk_size;
  return self;
}

/**
 * tsr_chunker_new_for_file:
 *
 * Opens @file for reading. A directory is refused with %TSR_ERROR_INVALID_ARGUMENT.
 */
TsrChunker *
tsr_chunker_new_for_file (GFile *file, gsize chunk_size, GCancellable *cancellable, GError **error)
{
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  if (!tsr_chunk_size_is_valid (chunk_size))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("Chunk size %llu is outside %llu–%llu bytes"), (unsigned long long)chunk_size,
                   (unsigned long long)TSR_CHUNK_SIZE_MIN, (unsigned long long)TSR_CHUNK_SIZE_MAX);
      return NULL;
    }

  in = g_file_read (file, cancellable, &local_error);
  if (in == NULL)
    {
      g_autofree char *name = g_file_get_parse_name (file);
      TsrError code = TSR_ERROR_IO;

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY))
        code = TSR_ERROR_INVALID_ARGUMENT;
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        code = TSR_ERROR_NOT_FOUND;
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        code = TSR_ERROR_CANCELLED;
      g_set_error (error, TSR_ERROR, code, _ ("Cannot read %s: %s"), name, local_error->message);
      return NULL;
    }
  return tsr_chunker_new (G_INPUT_STREAM (in), chunk_size);
}

/**
 * tsr_chunker_check_unchanged:
 * @name: the file's name, for the message
 *
 * Fails with %TSR_ERROR_CHANGED when the file open for reading no longer has the size and the
 * modification time it had at the first read: something wrote to it while it was read, so the
 * chunks handed out may mix two versions, or hold one that never existed whole.
 */
gboolean
tsr_chunker_check_unchanged (TsrChunker *self, const char *name, GError **error)
{
  g_autoptr (GFileInfo) now = NULL;

  g_return_val_if_fail (TSR_IS_CHUNKER (self), FALSE);

  if (self->opened == NULL)
    return TRUE;
  now = g_file_input_stream_query_info (G_FILE_INPUT_STREAM (self->stream), STAMP_ATTRIBUTES, NULL,
                                        NULL);
  if (now != NULL && g_file_info_get_size (now) == g_file_info_get_size (self->opened) &&
      (!self->eof || self->offset == (guint64)g_file_info_get_size (now)) &&
      g_file_info_get_attribute_uint64 (now, G_FILE_ATTRIBUTE_TIME_MODIFIED) ==
          g_file_info_get_attribute_uint64 (self->opened, G_FILE_ATTRIBUTE_TIME_MODIFIED) &&
      g_file_info_get_attribute_uint32 (now, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC) ==
          g_file_info_get_attribute_uint32 (self->opened, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC))
    return TRUE;
  g_set_error (error, TSR_ERROR, TSR_ERROR_CHANGED,
               _ ("%s changed while it was being uploaded; upload it again once nothing writes "
                  "to it"),
               name);
  return FALSE;
}

gsize
tsr_chunker_get_chunk_size (TsrChunker *self)
{
  g_return_val_if_fail (TSR_IS_CHUNKER (self), 0);
  return self->chunk_size;
}

/* The index the next chunk will have; after the last one, the chunk count. */
guint64
tsr_chunker_get_index (TsrChunker *self)
{
  g_return_val_if_fail (TSR_IS_CHUNKER (self), 0);
  return self->index;
}

guint64
tsr_chunker_get_offset (TsrChunker *self)
{
  g_return_val_if_fail (TSR_IS_CHUNKER (self), 0);
  return self->offset;
}

/**
 * tsr_chunker_next:
 *
 * Reads the next chunk: exactly the chunk size, except the last one, which may be short.
 *
 * Returns: (transfer full) (nullable): the chunk, or %NULL at the end of the file (with no
 * error set) or on error
 */
GBytes *
tsr_chunker_next (TsrChunker *self, GCancellable *cancellable, GError **error)
{
  g_autofree guint8 *buf = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize got = 0;

  g_return_val_if_fail (TSR_IS_CHUNKER (self), NULL);

  if (self->eof)
    return NULL;
  /* fstat() of the open file at the first read, not at the open: an upload may wait its turn
   * for minutes after opening, and a change then is no change while reading. Where it fails,
   * changes go unnoticed. */
  if (self->index == 0 && G_IS_FILE_INPUT_STREAM (self->stream))
    self->opened = g_file_input_stream_query_info (G_FILE_INPUT_STREAM (self->stream),
                                                   STAMP_ATTRIBUTES, cancellable, NULL);

  buf = g_malloc (self->chunk_size);
  if (!g_input_stream_read_all (self->stream, buf, self->chunk_size, &got, cancellable,
                                &local_error))
    {
      g_set_error (
          error, TSR_ERROR,
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? TSR_ERROR_CANCELLED
                                                                          : TSR_ERROR_IO,
          "Cannot read chunk %" G_GUINT64_FORMAT ": %s", self->index, local_error->message);
      return NULL;
    }
  if (got < self->chunk_size)
    self->eof = TRUE;
  if (got == 0)
    return NULL;

  self->index++;
  self->offset += got;
  if (got < self->chunk_size)
    return g_bytes_new_take (g_realloc (g_steal_pointer (&buf), got), got);
  return g_bytes_new_take (g_steal_pointer (&buf), got);
}

static void
tsr_chunker_finalize (GObject *object)
{
  TsrChunker *self = TSR_CHUNKER (object);

  g_clear_object (&self->stream);
  g_clear_object (&self->opened);
  G_OBJECT_CLASS (tsr_chunker_parent_class)->finalize (object);
}

static void
tsr_chunker_class_init (TsrChunkerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_chunker_finalize;
}

static void
tsr_chunker_init (TsrChunker *self)
{
}
