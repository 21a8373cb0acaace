/* tsr-node-card.c: one node's state, usage and traffic, with stop and start
 *
 * The button asks the window (through the "node.toggle" action's parameter, the node id)
 * to stop or start the node, so the card holds no engine reference.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-node-card.h"

struct _TsrNodeCard
{
  AdwBin parent_instance;

  GtkLabel *name_label;
  GtkLabel *state_label;
  GtkLabel *address_label;
  GtkLevelBar *usage_bar;
  GtkLabel *usage_label;
  GtkLabel *segments_label;
  GtkLabel *throughput_label;
  GtkButton *toggle_button;

  char *node_id;
  const char *state_class;
};

G_DEFINE_FINAL_TYPE (TsrNodeCard, tsr_node_card, ADW_TYPE_BIN)

static void
tsr_node_card_finalize (GObject *object)
{
  TsrNodeCard *self = TSR_NODE_CARD (object);

  g_free (self->node_id);
  G_OBJECT_CLASS (tsr_node_card_parent_class)->finalize (object);
}

static void
tsr_node_card_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TSR_TYPE_NODE_CARD);
  G_OBJECT_CLASS (tsr_node_card_parent_class)->dispose (object);
}

static void
tsr_node_card_class_init (TsrNodeCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_node_card_dispose;
  object_class->finalize = tsr_node_card_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-node-card.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, name_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, state_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, address_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, usage_bar);
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, usage_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, segments_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, throughput_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNodeCard, toggle_button);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
tsr_node_card_init (TsrNodeCard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
tsr_node_card_new (void)
{
  return g_object_new (TSR_TYPE_NODE_CARD, NULL);
}

void
tsr_node_card_update (TsrNodeCard *self, const TsrNodeStatus *s)
{
  static const char *classes[] = { "state-ready", "state-waiting", "state-running",
                                   "state-stopped" };
  gboolean up = s->alive && s->enabled;
  TsrNodeState state = up ? s->state : TSR_NODE_STATE_STOPPED;
  g_autofree char *used = g_format_size (s->used_bytes);
  g_autofree char *capacity = g_format_size (s->capacity_bytes);
  g_autofree char *usage = NULL;
  g_autofree char *segments = NULL;
  g_autofree char *rate = NULL;
  g_autofree char *rate_text = NULL;
  g_autofree char *button_label = NULL;
  g_autofree char *count = NULL;

  g_return_if_fail (TSR_IS_NODE_CARD (self));

  if (g_strcmp0 (self->node_id, s->node_id) != 0)
    {
      g_free (self->node_id);
      self->node_id = g_strdup (s->node_id);
      gtk_label_set_text (self->name_label, s->node_id);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      s->node_id, -1);
    }
  gtk_label_set_text (self->address_label, s->address != NULL
                                               ? s->address
                                               : (s->embedded ? _ ("embedded, not running") : ""));
  gtk_label_set_text (self->state_label, tsr_node_state_get_display_name (state));
  if (self->state_class != NULL)
    gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), self->state_class);
  self->state_class = classes[MIN ((guint)state, G_N_ELEMENTS (classes) - 1)];
  gtk_widget_add_css_class (GTK_WIDGET (self->state_label), self->state_class);

  gtk_level_bar_set_value (
      self->usage_bar,
      s->capacity_bytes > 0 ? MIN (1.0, (double)s->used_bytes / s->capacity_bytes) : 0);
  usage = g_strdup_printf (_ ("%s of %s used"), used, capacity);
  gtk_label_set_text (self->usage_label, usage);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->usage_bar), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  usage, -1);
  count = g_strdup_printf ("%" G_GUINT64_FORMAT, s->segment_count);
  /* The count goes in as text: xgettext cannot read G_GUINT64_FORMAT inside a msgid. */
  segments = g_strdup_printf (ngettext ("%s segment", "%s segments", s->segment_count), count);
  gtk_label_set_text (self->segments_label, segments);
  /* A node that is down moves nothing: its statistics are from its last health check. */
  gtk_widget_set_visible (GTK_WIDGET (self->throughput_label), up);
  if (up)
    {
      rate =
          g_format_size ((guint64)(s->stats.send_throughput_bps + s->stats.receive_throughput_bps));
      rate_text = g_strdup_printf (_ ("%s/s"), rate);
      gtk_label_set_text (self->throughput_label, rate_text);
    }

  gtk_button_set_label (self->toggle_button, s->enabled ? _ ("Stop Node") : _ ("Start Node"));
  /* The target first: a name without its target would not match the action's type. */
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->toggle_button),
                                          g_variant_new ("(sb)", s->node_id, !s->enabled));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->toggle_button), "nodes.toggle");
  button_label = g_strdup_printf (s->enabled ? _ ("Stop %s") : _ ("Start %s"), s->node_id);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->toggle_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, button_label, -1);
}

const char *
tsr_node_card_get_node_id (TsrNodeCard *self)
{
  g_return_val_if_fail (TSR_IS_NODE_CARD (self), NULL);
  return self->node_id;
}

/* The state as the card shows it: READY, WAITING, RUNNING or STOPPED. */
const char *
tsr_node_card_get_state_text (TsrNodeCard *self)
{
  g_return_val_if_fail (TSR_IS_NODE_CARD (self), NULL);
  return gtk_label_get_text (self->state_label);
}

/* The traffic rate the card shows, or %NULL when it shows none (the node is down). */
const char *
tsr_node_card_get_rate_text (TsrNodeCard *self)
{
  g_return_val_if_fail (TSR_IS_NODE_CARD (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->throughput_label))
             ? gtk_label_get_text (self->throughput_label)
             : NULL;
}

GtkButton *
tsr_node_card_get_toggle_button (TsrNodeCard *self)
{
  g_return_val_if_fail (TSR_IS_NODE_CARD (self), NULL);
  return self->toggle_button;
}

/**
 * tsr_node_state_get_display_name:
 *
 * The state as the app shows it: the engine's names (READY, WAITING, RUNNING, STOPPED) are
 * protocol words, so the app shows a translated label instead.
 */
const char *
tsr_node_state_get_display_name (TsrNodeState state)
{
  switch (state)
    {
      case TSR_NODE_STATE_READY:
        /* Translators: a node's state, shown in capitals on its card */
        return C_ ("node state", "READY");
      case TSR_NODE_STATE_WAITING:
        /* Translators: a node's state: waiting for the disk or the network */
        return C_ ("node state", "WAITING");
      case TSR_NODE_STATE_RUNNING:
        /* Translators: a node's state: busy with a request */
        return C_ ("node state", "RUNNING");
      case TSR_NODE_STATE_STOPPED:
      default:
        /* Translators: a node's state: not serving */
        return C_ ("node state", "STOPPED");
    }
}
