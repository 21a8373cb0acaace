/* tsr-chunk-map.h: which node holds which chunk of one file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TSR_TYPE_CHUNK_MAP (tsr_chunk_map_get_type ())
G_DECLARE_FINAL_TYPE (TsrChunkMap, tsr_chunk_map, TSR, CHUNK_MAP, GtkWidget)

GtkWidget *tsr_chunk_map_new (void);
void tsr_chunk_map_set (TsrChunkMap *self, const TsrManifest *manifest, GPtrArray *nodes);
guint tsr_chunk_map_count (TsrChunkMap *self, const char *node_id);

G_END_DECLS
