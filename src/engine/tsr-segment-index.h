/* tsr-segment-index.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "tsr-hash.h"

G_BEGIN_DECLS

/**
 * TsrSegmentIndex:
 *
 * A node store's index: the size of every segment it holds, by id (64 lowercase hex digits,
 * as tsr_segment_id_is_valid() checks; anything else is a programming error). It keeps an id
 * in its 32 bytes rather than as a string, so that a store of millions of segments costs
 * about 45 bytes a segment instead of a hash table's 105. Not thread-safe.
 */
typedef struct _TsrSegmentIndex TsrSegmentIndex;

TsrSegmentIndex *tsr_segment_index_new (void);
void tsr_segment_index_free (TsrSegmentIndex *self);
guint tsr_segment_index_size (const TsrSegmentIndex *self);
gboolean tsr_segment_index_lookup (const TsrSegmentIndex *self, const char *id, gsize *size);
gboolean tsr_segment_index_insert (TsrSegmentIndex *self, const char *id, gsize size);
gboolean tsr_segment_index_remove (TsrSegmentIndex *self, const char *id, gsize *size);
void tsr_segment_index_get (const TsrSegmentIndex *self, guint position,
                            char id[TSR_SHA256_HEX_LEN + 1], gsize *size);
gsize tsr_segment_index_get_memory (const TsrSegmentIndex *self);
GPtrArray *tsr_segment_index_page (const TsrSegmentIndex *self, const char *after, guint limit,
                                   gboolean *more);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrSegmentIndex, tsr_segment_index_free)

G_END_DECLS
