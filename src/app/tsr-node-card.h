/* tsr-node-card.h: one node's state, usage and traffic, with stop and start
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TSR_TYPE_NODE_CARD (tsr_node_card_get_type ())
G_DECLARE_FINAL_TYPE (TsrNodeCard, tsr_node_card, TSR, NODE_CARD, AdwBin)

GtkWidget *tsr_node_card_new (void);
void tsr_node_card_update (TsrNodeCard *self, const TsrNodeStatus *status);
const char *tsr_node_card_get_node_id (TsrNodeCard *self);
const char *tsr_node_card_get_state_text (TsrNodeCard *self);
const char *tsr_node_card_get_rate_text (TsrNodeCard *self);
GtkButton *tsr_node_card_get_toggle_button (TsrNodeCard *self);
const char *tsr_node_state_get_display_name (TsrNodeState state);

G_END_DECLS
