/* tsr-topology-page.c: the topology and one file's chunk map
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-topology-page.h"

struct _TsrTopologyPage
{
  AdwBin parent_instance;

  TsrTopologyView *topology_view;
  GtkDropDown *file_dropdown;
  TsrChunkMap *chunk_map;

  TsrBackend *backend;
};

G_DEFINE_FINAL_TYPE (TsrTopologyPage, tsr_topology_page, ADW_TYPE_BIN)

static void
update_chunk_map (TsrTopologyPage *self)
{
  TsrFileItem *item = gtk_drop_down_get_selected_item (self->file_dropdown);

  tsr_chunk_map_set (self->chunk_map, item != NULL ? tsr_file_item_get_manifest (item) : NULL,
                     tsr_backend_get_nodes (self->backend));
}

static void
on_nodes_changed (TsrTopologyPage *self)
{
  tsr_topology_view_set_nodes (self->topology_view, tsr_backend_get_nodes (self->backend));
  update_chunk_map (self);
}

static void
tsr_topology_page_dispose (GObject *object)
{
  TsrTopologyPage *self = TSR_TOPOLOGY_PAGE (object);

  if (self->backend != NULL)
    g_signal_handlers_disconnect_by_data (self->backend, self);
  g_clear_object (&self->backend);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_TOPOLOGY_PAGE);
  G_OBJECT_CLASS (tsr_topology_page_parent_class)->dispose (object);
}

static void
tsr_topology_page_class_init (TsrTopologyPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_topology_page_dispose;
  g_type_ensure (TSR_TYPE_TOPOLOGY_VIEW);
  g_type_ensure (TSR_TYPE_CHUNK_MAP);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-topology-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrTopologyPage, topology_view);
  gtk_widget_class_bind_template_child (widget_class, TsrTopologyPage, file_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TsrTopologyPage, chunk_map);
}

static void
tsr_topology_page_init (TsrTopologyPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
tsr_topology_page_set_backend (TsrTopologyPage *self, TsrBackend *backend)
{
  g_return_if_fail (TSR_IS_TOPOLOGY_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  gtk_drop_down_set_expression (self->file_dropdown,
                                gtk_property_expression_new (TSR_TYPE_FILE_ITEM, NULL, "name"));
  gtk_drop_down_set_model (self->file_dropdown, tsr_backend_get_files (backend));
  g_signal_connect_swapped (self->file_dropdown, "notify::selected-item",
                            G_CALLBACK (update_chunk_map), self);
  g_signal_connect_swapped (backend, "nodes-changed", G_CALLBACK (on_nodes_changed), self);
  on_nodes_changed (self);
}

TsrTopologyView *
tsr_topology_page_get_view (TsrTopologyPage *self)
{
  g_return_val_if_fail (TSR_IS_TOPOLOGY_PAGE (self), NULL);
  return self->topology_view;
}

TsrChunkMap *
tsr_topology_page_get_chunk_map (TsrTopologyPage *self)
{
  g_return_val_if_fail (TSR_IS_TOPOLOGY_PAGE (self), NULL);
  return self->chunk_map;
}

/* Maps @file_id's chunks, as picking it in the drop-down does. */
void
tsr_topology_page_show_file (TsrTopologyPage *self, const char *file_id)
{
  GListModel *files;

  g_return_if_fail (TSR_IS_TOPOLOGY_PAGE (self));
  files = tsr_backend_get_files (self->backend);
  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr (TsrFileItem) item = g_list_model_get_item (files, i);
      if (g_strcmp0 (tsr_file_item_get_file_id (item), file_id) == 0)
        gtk_drop_down_set_selected (self->file_dropdown, i);
    }
  update_chunk_map (self);
}
