/* tsr-topology-view.h: the nodes and their links, live
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TSR_TYPE_TOPOLOGY_VIEW (tsr_topology_view_get_type ())
G_DECLARE_FINAL_TYPE (TsrTopologyView, tsr_topology_view, TSR, TOPOLOGY_VIEW, GtkWidget)

GtkWidget *tsr_topology_view_new (void);
void tsr_topology_view_set_nodes (TsrTopologyView *self, GPtrArray *nodes);
guint64 tsr_topology_view_get_segments (TsrTopologyView *self, const char *node_id);
void tsr_topology_view_show_details (TsrTopologyView *self, const char *node_id);
const char *tsr_topology_view_get_details (TsrTopologyView *self);

void tsr_state_color (int state, gboolean alive, GdkRGBA *rgba);

G_END_DECLS
