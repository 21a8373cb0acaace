/* tsr-corked-stream.h: a write buffer under TLS, so a frame's records leave in one send()
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_TYPE_CORKED_STREAM (tsr_corked_stream_get_type ())
G_DECLARE_FINAL_TYPE (TsrCorkedStream, tsr_corked_stream, TSR, CORKED_STREAM, GOutputStream)

GOutputStream *tsr_corked_stream_new (GOutputStream *base);
void tsr_corked_stream_set_corked (TsrCorkedStream *self, gboolean corked);
gboolean tsr_corked_stream_send (TsrCorkedStream *self, GCancellable *cancellable, GError **error);

G_END_DECLS
