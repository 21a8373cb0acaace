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

  /* The file list holds summaries: the whole manifest of the file the map shows is read on a
   * worker thread when it is picked, and again when a reload gave its item a newer summary
   * (a repair may have moved copies). */
  char *shown_id;           /* the file last read (NULL for none)... */
  guint shown_generation;   /* ...as of this generation of its item... */
  TsrManifest *manifest;    /* ...and its manifest, NULL if it could not be read */
  GCancellable *loading;    /* while a read is under way, for... */
  char *loading_id;         /* ...this file... */
  guint loading_generation; /* ...as of this generation of its item */
};

G_DEFINE_FINAL_TYPE (TsrTopologyPage, tsr_topology_page, ADW_TYPE_BIN)

static void update_chunk_map (TsrTopologyPage *self);

static void
stop_loading (TsrTopologyPage *self)
{
  g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  g_clear_pointer (&self->loading_id, g_free);
}

/* A read that was superseded or stopped ends CANCELLED (the task checks its cancellable), so
 * any other end is the read under way. */
static void
on_manifest_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrTopologyPage) self = data;
  g_autoptr (GError) error = NULL;
  TsrManifest *m = tsr_backend_load_manifest_finish (TSR_BACKEND (source), result, &error);

  if (m == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_free (self->shown_id);
  self->shown_id = g_steal_pointer (&self->loading_id);
  self->shown_generation = self->loading_generation;
  stop_loading (self);
  g_clear_pointer (&self->manifest, tsr_manifest_free);
  /* A file deleted meanwhile, or a damaged manifest: the map stays empty (and is not read
   * again until a reload gives the item a newer summary). */
  if (m == NULL)
    g_debug ("No chunk map: %s", error->message);
  self->manifest = m;
  update_chunk_map (self);
}

static void
start_loading (TsrTopologyPage *self, TsrFileItem *item)
{
  const char *file_id = tsr_file_item_get_file_id (item);
  guint generation = tsr_file_item_get_generation (item);

  if (self->loading != NULL && g_strcmp0 (self->loading_id, file_id) == 0 &&
      self->loading_generation == generation)
    return; /* already under way */
  stop_loading (self);
  self->loading = g_cancellable_new ();
  self->loading_id = g_strdup (file_id);
  self->loading_generation = generation;
  tsr_backend_load_manifest_async (self->backend, file_id, self->loading, on_manifest_loaded,
                                   g_object_ref (self));
}

static void
update_chunk_map (TsrTopologyPage *self)
{
  TsrFileItem *item = gtk_drop_down_get_selected_item (self->file_dropdown);
  const char *file_id = item != NULL ? tsr_file_item_get_file_id (item) : NULL;

  if (self->backend == NULL)
    return;
  /* Another file's map goes at once; the same file's stays until its newer one is read. */
  if (g_strcmp0 (self->shown_id, file_id) != 0)
    {
      g_clear_pointer (&self->manifest, tsr_manifest_free);
      g_clear_pointer (&self->shown_id, g_free);
    }
  if (item == NULL)
    stop_loading (self);
  else if (self->shown_id == NULL || self->shown_generation != tsr_file_item_get_generation (item))
    start_loading (self, item);
  tsr_chunk_map_set (self->chunk_map, self->manifest, tsr_backend_get_nodes (self->backend));
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

  stop_loading (self);
  g_clear_pointer (&self->manifest, tsr_manifest_free);
  g_clear_pointer (&self->shown_id, g_free);
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
