/* tsr-topology-page.h: the topology and one file's chunk map
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"
#include "tsr-chunk-map.h"
#include "tsr-topology-view.h"

G_BEGIN_DECLS

#define TSR_TYPE_TOPOLOGY_PAGE (tsr_topology_page_get_type ())
G_DECLARE_FINAL_TYPE (TsrTopologyPage, tsr_topology_page, TSR, TOPOLOGY_PAGE, AdwBin)

void tsr_topology_page_set_backend (TsrTopologyPage *self, TsrBackend *backend);
TsrTopologyView *tsr_topology_page_get_view (TsrTopologyPage *self);
TsrChunkMap *tsr_topology_page_get_chunk_map (TsrTopologyPage *self);
void tsr_topology_page_show_file (TsrTopologyPage *self, const char *file_id);

G_END_DECLS
