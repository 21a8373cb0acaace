/* tsr-buffered-stream.h: a read buffer under TLS, so each TLS record is not two recv() calls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_TYPE_BUFFERED_STREAM (tsr_buffered_stream_get_type ())
G_DECLARE_FINAL_TYPE (TsrBufferedStream, tsr_buffered_stream, TSR, BUFFERED_STREAM, GInputStream)

GIOStream *tsr_buffered_io_stream_new (GIOStream *base);

G_END_DECLS
