/* tsr-nodes-page.h: a card per node
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tsr-backend.h"
#include "tsr-node-card.h"

G_BEGIN_DECLS

#define TSR_TYPE_NODES_PAGE (tsr_nodes_page_get_type ())
G_DECLARE_FINAL_TYPE (TsrNodesPage, tsr_nodes_page, TSR, NODES_PAGE, AdwBin)

void tsr_nodes_page_set_backend (TsrNodesPage *self, TsrBackend *backend);
TsrNodeCard *tsr_nodes_page_get_card (TsrNodesPage *self, const char *node_id);

G_END_DECLS
