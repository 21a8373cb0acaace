/* tsr-chunk-map.c: which node holds which chunk of one file
 *
 * One row per node, one column per chunk (or per run of chunks when the file has more chunks
 * than the row has pixels); a cell is filled in the node's state colour where the node holds
 * a copy, so a stopped node's share of the file shows in red at a glance.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-chunk-map.h"
#include "tsr-topology-view.h"

#define ROW_HEIGHT  22
#define LABEL_WIDTH 110

typedef struct
{
  char *node_id;
  TsrNodeState state;
  gboolean alive;
  guint8 *held; /* one flag per chunk */
  guint count;
} MapRow;

struct _TsrChunkMap
{
  GtkWidget parent_instance;
  GPtrArray *rows; /* MapRow */
  guint n_chunks;
};

G_DEFINE_FINAL_TYPE (TsrChunkMap, tsr_chunk_map, GTK_TYPE_WIDGET)

static void
map_row_free (MapRow *r)
{
  g_free (r->node_id);
  g_free (r->held);
  g_free (r);
}

static void
tsr_chunk_map_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  TsrChunkMap *self = TSR_CHUNK_MAP (widget);
  double w = gtk_widget_get_width (widget) - LABEL_WIDTH;
  GdkRGBA fg, empty;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  empty = fg;
  empty.alpha = 0.08;
  if (self->n_chunks == 0 || w < 10)
    return;
  for (guint i = 0; i < self->rows->len; i++)
    {
      MapRow *r = self->rows->pdata[i];
      g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, r->node_id);
      double y = i * ROW_HEIGHT;
      double cell = w / self->n_chunks;
      GdkRGBA c;

      tsr_state_color (r->state, r->alive, &c);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (0, y + 2));
      gtk_snapshot_append_layout (snapshot, layout, &fg);
      gtk_snapshot_restore (snapshot);
      gtk_snapshot_append_color (snapshot, &empty,
                                 &GRAPHENE_RECT_INIT (LABEL_WIDTH, y + 3, w, ROW_HEIGHT - 6));
      /* Runs of held chunks as one rectangle each: a 1 GiB file has 16,384 chunks. */
      for (guint k = 0; k < self->n_chunks;)
        {
          guint end = k;
          if (!r->held[k])
            {
              k++;
              continue;
            }
          while (end < self->n_chunks && r->held[end])
            end++;
          gtk_snapshot_append_color (
              snapshot, &c,
              &GRAPHENE_RECT_INIT (LABEL_WIDTH + k * cell, y + 3,
                                   MAX (1.0, (end - k) * cell - (cell > 4 ? 1 : 0)),
                                   ROW_HEIGHT - 6));
          k = end;
        }
    }
}

static void
tsr_chunk_map_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                       int *natural, int *minimum_baseline, int *natural_baseline)
{
  TsrChunkMap *self = TSR_CHUNK_MAP (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = LABEL_WIDTH + 100;
  else
    *minimum = *natural = self->rows->len * ROW_HEIGHT;
}

static void
tsr_chunk_map_finalize (GObject *object)
{
  TsrChunkMap *self = TSR_CHUNK_MAP (object);

  g_ptr_array_unref (self->rows);
  G_OBJECT_CLASS (tsr_chunk_map_parent_class)->finalize (object);
}

static void
tsr_chunk_map_class_init (TsrChunkMapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = tsr_chunk_map_finalize;
  widget_class->snapshot = tsr_chunk_map_snapshot;
  widget_class->measure = tsr_chunk_map_measure;
  gtk_widget_class_set_css_name (widget_class, "chunkmap");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
tsr_chunk_map_init (TsrChunkMap *self)
{
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify)map_row_free);
}

GtkWidget *
tsr_chunk_map_new (void)
{
  return g_object_new (TSR_TYPE_CHUNK_MAP, NULL);
}

/**
 * tsr_chunk_map_set:
 * @manifest: (nullable): the file to map, %NULL to clear
 * @nodes: (element-type TsrNodeStatus) (nullable): the nodes, for rows and colours
 */
void
tsr_chunk_map_set (TsrChunkMap *self, const TsrManifest *manifest, GPtrArray *nodes)
{
  GString *summary = g_string_new (NULL);

  g_return_if_fail (TSR_IS_CHUNK_MAP (self));

  g_ptr_array_set_size (self->rows, 0);
  self->n_chunks = manifest != NULL ? manifest->chunks->len : 0;
  for (guint i = 0; manifest != NULL && nodes != NULL && i < nodes->len; i++)
    {
      const TsrNodeStatus *s = nodes->pdata[i];
      MapRow *r = g_new0 (MapRow, 1);
      r->node_id = g_strdup (s->node_id);
      r->state = s->state;
      r->alive = s->alive && s->enabled;
      r->held = g_new0 (guint8, MAX (1, self->n_chunks));
      for (guint k = 0; k < self->n_chunks; k++)
        {
          const TsrManifestChunk *c = manifest->chunks->pdata[k];
          for (guint j = 0; j < c->nodes->len; j++)
            if (g_strcmp0 (c->nodes->pdata[j], s->node_id) == 0)
              {
                r->held[k] = 1;
                r->count++;
              }
        }
      g_string_append_printf (summary,
                              ngettext ("%s holds %u chunk. ", "%s holds %u chunks. ", r->count),
                              r->node_id, r->count);
      g_ptr_array_add (self->rows, r);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  summary->str, -1);
  g_string_free (summary, TRUE);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

/* How many of the file's chunks the map shows on @node_id. */
guint
tsr_chunk_map_count (TsrChunkMap *self, const char *node_id)
{
  g_return_val_if_fail (TSR_IS_CHUNK_MAP (self), 0);
  for (guint i = 0; i < self->rows->len; i++)
    if (g_strcmp0 (((MapRow *)self->rows->pdata[i])->node_id, node_id) == 0)
      return ((MapRow *)self->rows->pdata[i])->count;
  return 0;
}
