/* tsr-corked-stream.c
 *
 * GIO's TLS stream hands every TLS record (at most 16 KiB) to the stream below it as soon as it
 * is sealed, so a 64 KiB segment left as five send() calls, each a trip through the loopback
 * TCP stack and a wake-up of the reader. Under TLS, this stream collects the records of one
 * frame and sends them together when its owner flushes after writing the frame (cf. TCP_CORK).
 *
 * It passes writes straight through until it is corked: the TLS handshake (whose reads must
 * not wait on buffered writes) runs before that, and afterwards every write belongs to a frame
 * whose writer flushes it. A write that would overflow the buffer sends what is buffered first.
 * It is pollable, as glib-networking requires, and always writable: a write either lands in
 * memory or blocks on the socket as a plain blocking write would.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-corked-stream.h"

#include <string.h>

#define BUFFER_SIZE (128 * 1024)

struct _TsrCorkedStream
{
  GOutputStream parent_instance;

  GOutputStream *base;
  GMutex lock; /* the buffer: TLS close may race a last flush */
  guint8 *buf;
  gsize len;
  gboolean corked;
};

static void tsr_corked_stream_pollable_iface_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TsrCorkedStream, tsr_corked_stream, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      tsr_corked_stream_pollable_iface_init))

static gboolean
flush_locked (TsrCorkedStream *self, GCancellable *cancellable, GError **error)
{
  gsize n = self->len;

  self->len = 0;
  return n == 0 || g_output_stream_write_all (self->base, self->buf, n, NULL, cancellable, error);
}

static gssize
corked_write (TsrCorkedStream *self, const void *buffer, gsize count, GCancellable *cancellable,
              GError **error)
{
  gssize ret = count;

  g_mutex_lock (&self->lock);
  if (!self->corked || count > BUFFER_SIZE)
    {
      if (!flush_locked (self, cancellable, error))
        ret = -1;
      else
        ret = g_output_stream_write (self->base, buffer, count, cancellable, error);
    }
  else
    {
      if (self->len + count > BUFFER_SIZE && !flush_locked (self, cancellable, error))
        ret = -1;
      else
        {
          memcpy (self->buf + self->len, buffer, count);
          self->len += count;
        }
    }
  g_mutex_unlock (&self->lock);
  return ret;
}

static gssize
tsr_corked_stream_write (GOutputStream *stream, const void *buffer, gsize count,
                         GCancellable *cancellable, GError **error)
{
  return corked_write (TSR_CORKED_STREAM (stream), buffer, count, cancellable, error);
}

static gssize
tsr_corked_stream_write_nonblocking (GPollableOutputStream *stream, const void *buffer, gsize count,
                                     GError **error)
{
  return corked_write (TSR_CORKED_STREAM (stream), buffer, count, NULL, error);
}

/**
 * tsr_corked_stream_send:
 *
 * Sends what is buffered. Unlike g_output_stream_flush() it does not mark the stream busy, so
 * it may run while the TLS layer writes from another thread (the buffer has its own lock).
 */
gboolean
tsr_corked_stream_send (TsrCorkedStream *self, GCancellable *cancellable, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TSR_IS_CORKED_STREAM (self), FALSE);

  g_mutex_lock (&self->lock);
  ok = flush_locked (self, cancellable, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

static gboolean
tsr_corked_stream_flush (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  return tsr_corked_stream_send (TSR_CORKED_STREAM (stream), cancellable, error);
}

static gboolean
tsr_corked_stream_close (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  TsrCorkedStream *self = TSR_CORKED_STREAM (stream);
  g_autoptr (GError) flush_error = NULL;
  gboolean flushed = tsr_corked_stream_flush (stream, cancellable, &flush_error);

  if (!g_output_stream_close (self->base, cancellable, error))
    return FALSE;
  if (!flushed)
    {
      g_propagate_error (error, g_steal_pointer (&flush_error));
      return FALSE;
    }
  return TRUE;
}

static gboolean
tsr_corked_stream_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static gboolean
tsr_corked_stream_is_writable (GPollableOutputStream *stream)
{
  return TRUE;
}

static GSource *
tsr_corked_stream_create_source (GPollableOutputStream *stream, GCancellable *cancellable)
{
  g_autoptr (GSource) ready = g_timeout_source_new (0);

  return g_pollable_source_new_full (stream, ready, cancellable);
}

static void
tsr_corked_stream_pollable_iface_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = tsr_corked_stream_can_poll;
  iface->is_writable = tsr_corked_stream_is_writable;
  iface->create_source = tsr_corked_stream_create_source;
  iface->write_nonblocking = tsr_corked_stream_write_nonblocking;
}

static void
tsr_corked_stream_finalize (GObject *object)
{
  TsrCorkedStream *self = TSR_CORKED_STREAM (object);

  g_clear_object (&self->base);
  g_free (self->buf);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (tsr_corked_stream_parent_class)->finalize (object);
}

static void
tsr_corked_stream_class_init (TsrCorkedStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_corked_stream_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = tsr_corked_stream_write;
  G_OUTPUT_STREAM_CLASS (klass)->flush = tsr_corked_stream_flush;
  G_OUTPUT_STREAM_CLASS (klass)->close_fn = tsr_corked_stream_close;
}

static void
tsr_corked_stream_init (TsrCorkedStream *self)
{
  g_mutex_init (&self->lock);
}

/**
 * tsr_corked_stream_new:
 * @base: the socket's output stream
 *
 * Returns: (transfer full): a stream writing straight to @base until corked
 */
GOutputStream *
tsr_corked_stream_new (GOutputStream *base)
{
  TsrCorkedStream *self;

  g_return_val_if_fail (G_IS_OUTPUT_STREAM (base), NULL);

  self = g_object_new (TSR_TYPE_CORKED_STREAM, NULL);
  self->base = g_object_ref (base);
  self->buf = g_malloc (BUFFER_SIZE);
  return G_OUTPUT_STREAM (self);
}

/**
 * tsr_corked_stream_set_corked:
 *
 * From now on writes wait in memory until g_output_stream_flush(), a full buffer or close.
 * Uncorking sends nothing by itself: flush first.
 */
void
tsr_corked_stream_set_corked (TsrCorkedStream *self, gboolean corked)
{
  g_return_if_fail (TSR_IS_CORKED_STREAM (self));

  g_mutex_lock (&self->lock);
  self->corked = corked;
  g_mutex_unlock (&self->lock);
}
