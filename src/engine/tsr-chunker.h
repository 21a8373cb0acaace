/* tsr-chunker.h: streams a file into fixed-size chunks (the seed's chunk_file)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_CHUNK_SIZE_DEFAULT ((gsize)64 * 1024)
#define TSR_CHUNK_SIZE_MIN     ((gsize)4 * 1024)
#define TSR_CHUNK_SIZE_MAX     ((gsize)16 * 1024 * 1024)

gboolean tsr_chunk_size_is_valid (guint64 chunk_size);
guint64 tsr_chunk_count (guint64 file_size, gsize chunk_size);

#define TSR_TYPE_CHUNKER (tsr_chunker_get_type ())
G_DECLARE_FINAL_TYPE (TsrChunker, tsr_chunker, TSR, CHUNKER, GObject)

TsrChunker *tsr_chunker_new (GInputStream *stream, gsize chunk_size);
TsrChunker *tsr_chunker_new_for_file (GFile *file, gsize chunk_size, GCancellable *cancellable,
                                      GError **error);

gsize tsr_chunker_get_chunk_size (TsrChunker *self);
guint64 tsr_chunker_get_index (TsrChunker *self);
guint64 tsr_chunker_get_offset (TsrChunker *self);
GBytes *tsr_chunker_next (TsrChunker *self, GCancellable *cancellable, GError **error);
gboolean tsr_chunker_check_unchanged (TsrChunker *self, const char *name, GError **error);

G_END_DECLS
