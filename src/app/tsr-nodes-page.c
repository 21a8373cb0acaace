/* tsr-nodes-page.c: a card per node
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-nodes-page.h"
#include "tsr-window.h"

struct _TsrNodesPage
{
  AdwBin parent_instance;

  GtkLabel *summary_label;
  GtkFlowBox *flow_box;

  TsrBackend *backend;
  GPtrArray *cards; /* TsrNodeCard, in node order */
};

G_DEFINE_FINAL_TYPE (TsrNodesPage, tsr_nodes_page, ADW_TYPE_BIN)

static void
on_toggled (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrNodesPage) self = data;
  g_autoptr (GError) error = NULL;

  if (tsr_backend_set_node_enabled_finish (TSR_BACKEND (source), result, &error))
    tsr_backend_refresh (self->backend);
  else
    tsr_window_toast_for (GTK_WIDGET (self), error->message);
}

static void
toggle_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrNodesPage *self = TSR_NODES_PAGE (widget);
  const char *node_id;
  gboolean enable;

  g_variant_get (param, "(&sb)", &node_id, &enable);
  tsr_backend_set_node_enabled_async (self->backend, node_id, enable, NULL, on_toggled,
                                      g_object_ref (self));
}

static void
on_nodes_changed (TsrNodesPage *self)
{
  GPtrArray *nodes = tsr_backend_get_nodes (self->backend);
  guint up = 0;
  g_autofree char *summary = NULL;

  if (nodes == NULL)
    return;
  if (self->cards->len != nodes->len)
    {
      GtkWidget *child;
      while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->flow_box))) != NULL)
        gtk_flow_box_remove (self->flow_box, child);
      g_ptr_array_set_size (self->cards, 0);
      for (guint i = 0; i < nodes->len; i++)
        {
          GtkWidget *card = tsr_node_card_new ();
          gtk_flow_box_append (self->flow_box, card);
          g_ptr_array_add (self->cards, card);
        }
    }
  for (guint i = 0; i < nodes->len; i++)
    {
      const TsrNodeStatus *s = nodes->pdata[i];
      tsr_node_card_update (self->cards->pdata[i], s);
      up += s->alive && s->enabled;
    }
  summary = g_strdup_printf (ngettext ("%u of %u node is up. Stop one to watch the files stay "
                                       "available from the other copies.",
                                       "%u of %u nodes are up. Stop one to watch the files "
                                       "stay available from the other copies.",
                                       nodes->len),
                             up, nodes->len);
  gtk_label_set_text (self->summary_label, summary);
}

static void
tsr_nodes_page_dispose (GObject *object)
{
  TsrNodesPage *self = TSR_NODES_PAGE (object);

  if (self->backend != NULL)
    g_signal_handlers_disconnect_by_data (self->backend, self);
  g_clear_object (&self->backend);
  g_clear_pointer (&self->cards, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_NODES_PAGE);
  G_OBJECT_CLASS (tsr_nodes_page_parent_class)->dispose (object);
}

static void
tsr_nodes_page_class_init (TsrNodesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_nodes_page_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-nodes-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrNodesPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNodesPage, flow_box);
  gtk_widget_class_install_action (widget_class, "nodes.toggle", "(sb)", toggle_action);
}

static void
tsr_nodes_page_init (TsrNodesPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cards = g_ptr_array_new ();
}

void
tsr_nodes_page_set_backend (TsrNodesPage *self, TsrBackend *backend)
{
  g_return_if_fail (TSR_IS_NODES_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect_swapped (backend, "nodes-changed", G_CALLBACK (on_nodes_changed), self);
  on_nodes_changed (self);
}

TsrNodeCard *
tsr_nodes_page_get_card (TsrNodesPage *self, const char *node_id)
{
  g_return_val_if_fail (TSR_IS_NODES_PAGE (self), NULL);
  for (guint i = 0; i < self->cards->len; i++)
    if (g_strcmp0 (tsr_node_card_get_node_id (self->cards->pdata[i]), node_id) == 0)
      return self->cards->pdata[i];
  return NULL;
}
