/* tsr-topology-view.c: the nodes and their links, live
 *
 * This computer sits in the middle and the nodes around it. A link's width follows the
 * node's current throughput, and while data moves, dots travel along it. Node colours are
 * the state colours used everywhere in the app. An emulated link (the Network page) is drawn
 * dotted, with its settings written along it. Clicking a node shows its details.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "tessera.h"
#include "tsr-node-card.h"
#include "tsr-topology-view.h"

#define NODE_RADIUS 40.0

typedef struct
{
  char *node_id;
  char *address;
  char *virtual_address;
  char *link; /* the emulated link's settings, NULL when it is not emulated */
  TsrNodeState state;
  gboolean alive;
  guint64 used, capacity, segments;
  double throughput; /* bytes per second, both ways */
  double x, y;       /* centre, set at snapshot time */
} TopoNode;

struct _TsrTopologyView
{
  GtkWidget parent_instance;
  GPtrArray *nodes; /* TopoNode */
  GtkWidget *popover;
  GtkWidget *details;
  guint tick_id;
  GHashTable *layouts; /* "b"/"r" + text -> PangoLayout, so moving frames do not reshape text */
  double phase;        /* 0..1 along the links */
  gint64 last_frame;
};

G_DEFINE_FINAL_TYPE (TsrTopologyView, tsr_topology_view, GTK_TYPE_WIDGET)

static void
topo_node_free (TopoNode *n)
{
  g_free (n->node_id);
  g_free (n->address);
  g_free (n->virtual_address);
  g_free (n->link);
  g_free (n);
}

/**
 * tsr_state_color:
 *
 * The colour of a node state, the same on every page: green ready, amber waiting, blue
 * running, red stopped.
 */
void
tsr_state_color (int state, gboolean alive, GdkRGBA *rgba)
{
  static const char *colors[] = { "#2ec27e", "#e5a50a", "#3584e4", "#e01b24" };

  if (!alive || state < 0 || state > TSR_NODE_STATE_STOPPED)
    state = TSR_NODE_STATE_STOPPED;
  gdk_rgba_parse (rgba, colors[state]);
}

static void
layout_nodes (TsrTopologyView *self, double w, double h)
{
  double cx = w / 2, cy = h / 2;
  double r = MAX (40, MIN (w, h) / 2 - NODE_RADIUS - 28);

  for (guint i = 0; i < self->nodes->len; i++)
    {
      TopoNode *n = self->nodes->pdata[i];
      double angle = -G_PI / 2 + 2 * G_PI * i / MAX (1, self->nodes->len);
      n->x = cx + r * cos (angle);
      n->y = cy + r * sin (angle);
    }
}

static PangoLayout *
get_layout (TsrTopologyView *self, const char *text, gboolean bold)
{
  g_autofree char *key = g_strconcat (bold ? "b" : "r", text, NULL);
  PangoLayout *layout = g_hash_table_lookup (self->layouts, key);

  if (layout != NULL)
    return layout;
  /* Segment counts change during uploads: keep the cache from growing without bound. */
  if (g_hash_table_size (self->layouts) > 256)
    g_hash_table_remove_all (self->layouts);
  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  if (bold)
    {
      g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", text);
      pango_layout_set_markup (layout, markup, -1);
    }
  else
    pango_layout_set_text (layout, text, -1);
  g_hash_table_insert (self->layouts, g_steal_pointer (&key), layout);
  return layout;
}

static void
append_centered_text (TsrTopologyView *self, GtkSnapshot *snapshot, const char *text, double x,
                      double y, const GdkRGBA *color, gboolean bold)
{
  PangoLayout *layout = get_layout (self, text, bold);
  int tw, th;

  pango_layout_get_pixel_size (layout, &tw, &th);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x - tw / 2.0, y - th / 2.0));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static double
link_width (double throughput)
{
  /* 1.5 px idle, about 10 px at a gigabyte a second: a log scale shows both ends. */
  return 1.5 + (throughput > 1024 ? 1.2 * log10 (throughput / 1024) : 0);
}

/* Shapes as render nodes rather than one cairo node: a cairo node the size of the view is a
 * fresh image every frame (megabytes of new pages to fault in and clear), which made single
 * frames take 50 ms in software rendering while the dots move. */
static void
append_circle (GtkSnapshot *snapshot, double x, double y, double r, const GdkRGBA *color)
{
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (x - r, y - r, 2 * r, 2 * r);
  GskRoundedRect round;

  gsk_rounded_rect_init_from_rect (&round, &bounds, r);
  gtk_snapshot_push_rounded_clip (snapshot, &round);
  gtk_snapshot_append_color (snapshot, color, &bounds);
  gtk_snapshot_pop (snapshot);
}

/* A line WIDTH wide with round ends; DASH > 0 draws it in dashes and gaps that long. */
static void
append_line (GtkSnapshot *snapshot, double x1, double y1, double x2, double y2, double width,
             double dash, const GdkRGBA *color)
{
  double length = hypot (x2 - x1, y2 - y1);
  double step = dash > 0 ? dash : length;

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x1, y1));
  gtk_snapshot_rotate (snapshot, atan2 (y2 - y1, x2 - x1) * 180 / G_PI);
  for (double at = 0; at<length; at += dash> 0 ? 2 * dash : length)
    {
      graphene_rect_t piece =
          GRAPHENE_RECT_INIT (at - width / 2, -width / 2, MIN (step, length - at) + width, width);
      GskRoundedRect round;

      gsk_rounded_rect_init_from_rect (&round, &piece, width / 2);
      gtk_snapshot_push_rounded_clip (snapshot, &round);
      gtk_snapshot_append_color (snapshot, color, &piece);
      gtk_snapshot_pop (snapshot);
    }
  gtk_snapshot_restore (snapshot);
}

static void
tsr_topology_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  TsrTopologyView *self = TSR_TOPOLOGY_VIEW (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  double cx = w / 2, cy = h / 2;
  /* This computer, in the accent blue: white text reads on it in light and dark styles. */
  GdkRGBA fg, faint, white = { 1, 1, 1, 1 }, you = { 0x35 / 255.0, 0x84 / 255.0, 0xe4 / 255.0, 1 };

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  layout_nodes (self, w, h);

  /* Peer links: every node knows the others. */
  faint = fg;
  faint.alpha = 0.12;
  for (guint i = 0; i < self->nodes->len; i++)
    for (guint j = i + 1; j < self->nodes->len; j++)
      {
        TopoNode *a = self->nodes->pdata[i], *b = self->nodes->pdata[j];
        append_line (snapshot, a->x, a->y, b->x, b->y, 1, 0, &faint);
      }
  /* Client links, as wide as their traffic, dashed when the node is down. */
  for (guint i = 0; i < self->nodes->len; i++)
    {
      TopoNode *n = self->nodes->pdata[i];
      GdkRGBA c;

      tsr_state_color (n->state, n->alive, &c);
      c.alpha = 0.8;
      /* Dashed when the node is down, dotted when its link is emulated. */
      append_line (snapshot, cx, cy, n->x, n->y, link_width (n->throughput),
                   !n->alive         ? 6
                   : n->link != NULL ? 2
                                     : 0,
                   &c);
      if (n->alive && n->throughput > 1024)
        for (int k = 0; k < 3; k++) /* packets on the move */
          {
            double t = fmod (self->phase + k / 3.0, 1.0);
            append_circle (snapshot, cx + (n->x - cx) * t, cy + (n->y - cy) * t, 3.5, &c);
          }
    }
  append_circle (snapshot, cx, cy, 24, &you);
  /* The nodes. */
  for (guint i = 0; i < self->nodes->len; i++)
    {
      TopoNode *n = self->nodes->pdata[i];
      GdkRGBA c;
      tsr_state_color (n->state, n->alive, &c);
      append_circle (snapshot, n->x, n->y, NODE_RADIUS, &c);
    }

  append_centered_text (self, snapshot, _ ("You"), cx, cy, &white, TRUE);
  for (guint i = 0; i < self->nodes->len; i++)
    {
      TopoNode *n = self->nodes->pdata[i];
      const char *state =
          tsr_node_state_get_display_name (n->alive ? n->state : TSR_NODE_STATE_STOPPED);
      g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, n->segments);
      g_autofree char *segments =
          g_strdup_printf (ngettext ("%s segment", "%s segments", n->segments), count);
      append_centered_text (self, snapshot, n->node_id, n->x, n->y - 7, &white, TRUE);
      append_centered_text (self, snapshot, state, n->x, n->y + 9, &white, FALSE);
      append_centered_text (self, snapshot, segments, n->x,
                            n->y + NODE_RADIUS + (n->y >= cy ? 12 : -NODE_RADIUS * 2 - 12), &fg,
                            FALSE);
      /* An emulated link's settings go under the count, outside the ring, where the labels
       * of neighbouring links cannot collide. */
      if (n->link != NULL)
        append_centered_text (self, snapshot, n->link, n->x,
                              n->y + NODE_RADIUS + (n->y >= cy ? 30 : -NODE_RADIUS * 2 - 30), &fg,
                              FALSE);
    }
}

static gboolean
on_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  TsrTopologyView *self = TSR_TOPOLOGY_VIEW (widget);
  gint64 now = gdk_frame_clock_get_frame_time (clock);

  if (self->last_frame != 0)
    self->phase = fmod (self->phase + (now - self->last_frame) / 1e6 / 1.2, 1.0);
  self->last_frame = now;
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static TopoNode *
find_node (TsrTopologyView *self, const char *node_id)
{
  for (guint i = 0; i < self->nodes->len; i++)
    if (g_strcmp0 (((TopoNode *)self->nodes->pdata[i])->node_id, node_id) == 0)
      return self->nodes->pdata[i];
  return NULL;
}

static void
update_details (TsrTopologyView *self, TopoNode *n)
{
  g_autofree char *used = g_format_size (n->used);
  g_autofree char *capacity = g_format_size (n->capacity);
  g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, n->segments);
  g_autofree char *text = NULL;

  g_autofree char *escaped = NULL;

  /* Translators: a node's details: its id, address, state, usage and segments */
  text = g_strdup_printf (
      _ ("<b>%s</b>\n%s\nState: %s\nStored: %s of %s\nSegments: %s"), n->node_id,
      n->address != NULL ? n->address : "",
      tsr_node_state_get_display_name (n->alive ? n->state : TSR_NODE_STATE_STOPPED), used,
      capacity, count);
  /* A node that is down has no traffic to tell of (see tsr_topology_view_set_nodes()). */
  if (n->alive)
    {
      g_autofree char *rate = g_format_size ((guint64)n->throughput);
      g_autofree char *more = NULL;

      /* Translators: a node's details, then its traffic per second */
      more = g_strdup_printf (_ ("%s\nTraffic: %s/s"), text, rate);
      g_free (text);
      text = g_steal_pointer (&more);
    }
  if (n->virtual_address != NULL)
    {
      g_autofree char *more = NULL;

      escaped = g_markup_escape_text (n->link != NULL ? n->link : _ ("not emulated"), -1);
      /* Translators: a node's address on the emulated network, and its link's settings */
      more = g_strdup_printf (_ ("%s\nVirtual address: %s\nLink: %s"), text, n->virtual_address,
                              escaped);
      g_free (text);
      text = g_steal_pointer (&more);
    }
  gtk_label_set_markup (GTK_LABEL (self->details), text);
}

/**
 * tsr_topology_view_show_details:
 *
 * Opens the details popover of @node_id, as a click on it does.
 */
void
tsr_topology_view_show_details (TsrTopologyView *self, const char *node_id)
{
  TopoNode *n = find_node (self, node_id);
  GdkRectangle rect;

  if (n == NULL)
    return;
  g_object_set_data_full (G_OBJECT (self->popover), "node-id", g_strdup (node_id), g_free);
  update_details (self, n);
  rect = (GdkRectangle){ (int)n->x - 2, (int)(n->y - NODE_RADIUS), 4, 4 };
  gtk_popover_set_pointing_to (GTK_POPOVER (self->popover), &rect);
  gtk_popover_popup (GTK_POPOVER (self->popover));
}

/**
 * tsr_topology_view_get_details:
 *
 * Returns: the text of the details popover, for tests
 */
const char *
tsr_topology_view_get_details (TsrTopologyView *self)
{
  return gtk_label_get_text (GTK_LABEL (self->details));
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, TsrTopologyView *self)
{
  for (guint i = 0; i < self->nodes->len; i++)
    {
      TopoNode *n = self->nodes->pdata[i];
      if (hypot (n->x - x, n->y - y) <= NODE_RADIUS)
        {
          tsr_topology_view_show_details (self, n->node_id);
          return;
        }
    }
}

static void
tsr_topology_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  TsrTopologyView *self = TSR_TOPOLOGY_VIEW (widget);

  layout_nodes (self, width, height);
  gtk_popover_present (GTK_POPOVER (self->popover));
}

static void
tsr_topology_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                           int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = 320;
  *natural = 480;
}

static void
tsr_topology_view_dispose (GObject *object)
{
  TsrTopologyView *self = TSR_TOPOLOGY_VIEW (object);

  if (self->tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
  self->tick_id = 0;
  g_clear_pointer (&self->popover, gtk_widget_unparent);
  g_clear_pointer (&self->layouts, g_hash_table_unref);
  G_OBJECT_CLASS (tsr_topology_view_parent_class)->dispose (object);
}

static void
tsr_topology_view_finalize (GObject *object)
{
  TsrTopologyView *self = TSR_TOPOLOGY_VIEW (object);

  g_ptr_array_unref (self->nodes);
  G_OBJECT_CLASS (tsr_topology_view_parent_class)->finalize (object);
}

/* Fonts, scale or style changed: lay the text out again. */
static void
tsr_topology_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  TsrTopologyView *self = TSR_TOPOLOGY_VIEW (widget);

  GTK_WIDGET_CLASS (tsr_topology_view_parent_class)->css_changed (widget, change);
  if (self->layouts != NULL)
    g_hash_table_remove_all (self->layouts);
}

static void
tsr_topology_view_class_init (TsrTopologyViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_topology_view_dispose;
  object_class->finalize = tsr_topology_view_finalize;
  widget_class->snapshot = tsr_topology_view_snapshot;
  widget_class->css_changed = tsr_topology_view_css_changed;
  widget_class->measure = tsr_topology_view_measure;
  widget_class->size_allocate = tsr_topology_view_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "topology");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
tsr_topology_view_init (TsrTopologyView *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify)topo_node_free);
  self->layouts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->popover = gtk_popover_new ();
  self->details = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->details), 0);
  gtk_label_set_selectable (GTK_LABEL (self->details), TRUE);
  gtk_popover_set_child (GTK_POPOVER (self->popover), self->details);
  gtk_widget_set_parent (self->popover, GTK_WIDGET (self));
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Network topology: this computer and its nodes"), -1);
}

GtkWidget *
tsr_topology_view_new (void)
{
  return g_object_new (TSR_TYPE_TOPOLOGY_VIEW, NULL);
}

/**
 * tsr_topology_view_set_nodes:
 * @nodes: (element-type TsrNodeStatus): a snapshot
 */
void
tsr_topology_view_set_nodes (TsrTopologyView *self, GPtrArray *nodes)
{
  gboolean moving = FALSE;
  const char *shown;

  g_return_if_fail (TSR_IS_TOPOLOGY_VIEW (self));

  g_ptr_array_set_size (self->nodes, 0);
  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    {
      const TsrNodeStatus *s = nodes->pdata[i];
      TopoNode *n = g_new0 (TopoNode, 1);
      n->node_id = g_strdup (s->node_id);
      n->address = g_strdup (s->address);
      n->virtual_address = g_strdup (s->virtual_address);
      if (s->netem.enabled)
        {
          g_autofree char *rate =
              s->netem.bandwidth == 0
                  ? g_strdup (_ ("unlimited"))
                  : g_format_size_full (s->netem.bandwidth, G_FORMAT_SIZE_IEC_UNITS);
          /* Translators: an emulated link along its line: bandwidth, delay, loss */
          n->link = g_strdup_printf (_ ("%s/s · %g–%g ms · %g %%"), rate,
                                     s->netem.latency_min_us / 1000.0,
                                     s->netem.latency_max_us / 1000.0, s->netem.loss_ppm / 10000.0);
        }
      n->state = s->state;
      n->alive = s->alive && s->enabled;
      n->used = s->used_bytes;
      n->capacity = s->capacity_bytes;
      n->segments = s->segment_count;
      /* The link's own counters are live; the node's come with each health check, and a node
       * that is down keeps those of its last one. */
      if (n->alive)
        n->throughput = MAX (s->link.send_throughput_bps + s->link.receive_throughput_bps,
                             s->stats.send_throughput_bps + s->stats.receive_throughput_bps);
      moving |= n->alive && n->throughput > 1024;
      g_ptr_array_add (self->nodes, n);
    }
  /* Animate only while something moves, so an idle app costs nothing. */
  if (moving && self->tick_id == 0)
    {
      self->last_frame = 0;
      self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), on_tick, NULL, NULL);
    }
  else if (!moving && self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  shown = g_object_get_data (G_OBJECT (self->popover), "node-id");
  if (shown != NULL && find_node (self, shown) != NULL)
    update_details (self, find_node (self, shown));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The segment count drawn under @node_id. */
guint64
tsr_topology_view_get_segments (TsrTopologyView *self, const char *node_id)
{
  TopoNode *n;

  g_return_val_if_fail (TSR_IS_TOPOLOGY_VIEW (self), 0);
  n = find_node (self, node_id);
  return n != NULL ? n->segments : 0;
}
