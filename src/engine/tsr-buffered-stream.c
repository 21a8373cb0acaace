/* tsr-buffered-stream.c
 *
 * GnuTLS reads a TLS record as two reads (its 5-byte header, then its body), and GIO passes each
 * one to the socket as a recv() of exactly that size: a 64 KiB segment arrives in five records,
 * so about ten system calls, each dearer than usual on the virtual machines Tessera runs on.
 * This stream sits between the socket and the TLS layer and reads whatever the socket has, up
 * to 128 KiB at a time, serving the small reads from memory. It is pollable (glib-networking
 * requires that of the stream under a TLS connection): it reports itself readable when its
 * buffer holds data, and otherwise defers to the socket.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-buffered-stream.h"
#include "tsr-corked-stream.h"

#include <string.h>

#define BUFFER_SIZE (128 * 1024)

struct _TsrBufferedStream
{
  GInputStream parent_instance;

  GInputStream *base; /* pollable */
  guint8 *buf;
  gsize start, end;
};

static void tsr_buffered_stream_pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TsrBufferedStream, tsr_buffered_stream, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      tsr_buffered_stream_pollable_iface_init))

static gssize
take_buffered (TsrBufferedStream *self, void *buffer, gsize count)
{
  gsize n = MIN (count, self->end - self->start);

  memcpy (buffer, self->buf + self->start, n);
  self->start += n;
  if (self->start == self->end)
    self->start = self->end = 0;
  return n;
}

/* Reads into the buffer when it is empty; a large read bypasses it. */
static gssize
fill_or_read (TsrBufferedStream *self, void *buffer, gsize count, gboolean blocking,
              GCancellable *cancellable, GError **error)
{
  gssize n;

  if (self->end > self->start)
    return take_buffered (self, buffer, count);
  if (count >= BUFFER_SIZE)
    return blocking ? g_input_stream_read (self->base, buffer, count, cancellable, error)
                    : g_pollable_input_stream_read_nonblocking (
                          G_POLLABLE_INPUT_STREAM (self->base), buffer, count, cancellable, error);
  n = blocking
          ? g_input_stream_read (self->base, self->buf, BUFFER_SIZE, cancellable, error)
          : g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base),
                                                      self->buf, BUFFER_SIZE, cancellable, error);
  if (n <= 0)
    return n;
  self->start = 0;
  self->end = n;
  return take_buffered (self, buffer, count);
}

static gssize
tsr_buffered_stream_read (GInputStream *stream, void *buffer, gsize count,
                          GCancellable *cancellable, GError **error)
{
  return fill_or_read (TSR_BUFFERED_STREAM (stream), buffer, count, TRUE, cancellable, error);
}

static gssize
tsr_buffered_stream_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count,
                                      GError **error)
{
  return fill_or_read (TSR_BUFFERED_STREAM (stream), buffer, count, FALSE, NULL, error);
}

static gboolean
tsr_buffered_stream_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static gboolean
tsr_buffered_stream_is_readable (GPollableInputStream *stream)
{
  TsrBufferedStream *self = TSR_BUFFERED_STREAM (stream);

  return self->end > self->start ||
         g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

static GSource *
tsr_buffered_stream_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  TsrBufferedStream *self = TSR_BUFFERED_STREAM (stream);
  GSource *base_source, *source;

  /* Data in the buffer: ready now. Otherwise: ready when the socket is. */
  if (self->end > self->start)
    base_source = g_timeout_source_new (0);
  else
    base_source =
        g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base), NULL);
  source = g_pollable_source_new_full (stream, base_source, cancellable);
  g_source_unref (base_source);
  return source;
}

static gboolean
tsr_buffered_stream_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return g_input_stream_close (TSR_BUFFERED_STREAM (stream)->base, cancellable, error);
}

static void
tsr_buffered_stream_pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = tsr_buffered_stream_can_poll;
  iface->is_readable = tsr_buffered_stream_is_readable;
  iface->create_source = tsr_buffered_stream_create_source;
  iface->read_nonblocking = tsr_buffered_stream_read_nonblocking;
}

static void
tsr_buffered_stream_finalize (GObject *object)
{
  TsrBufferedStream *self = TSR_BUFFERED_STREAM (object);

  g_clear_object (&self->base);
  g_free (self->buf);
  G_OBJECT_CLASS (tsr_buffered_stream_parent_class)->finalize (object);
}

static void
tsr_buffered_stream_class_init (TsrBufferedStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_buffered_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = tsr_buffered_stream_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = tsr_buffered_stream_close;
}

static void
tsr_buffered_stream_init (TsrBufferedStream *self)
{
}

/**
 * tsr_buffered_io_stream_new:
 * @base: a stream whose input is pollable, such as a #GSocketConnection
 *
 * Returns: (transfer full): buffered views of @base's input and output (a #TsrCorkedStream),
 *   to put under TLS
 */
GIOStream *
tsr_buffered_io_stream_new (GIOStream *base)
{
  TsrBufferedStream *in;
  g_autoptr (GOutputStream) out = NULL;
  GIOStream *ret;

  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (base)), NULL);

  in = g_object_new (TSR_TYPE_BUFFERED_STREAM, NULL);
  in->base = g_object_ref (g_io_stream_get_input_stream (base));
  in->buf = g_malloc (BUFFER_SIZE);
  out = tsr_corked_stream_new (g_io_stream_get_output_stream (base));
  ret = g_simple_io_stream_new (G_INPUT_STREAM (in), out);
  g_object_unref (in);
  return ret;
}
