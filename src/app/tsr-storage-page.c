/* tsr-storage-page.c: used and free space, per node and in all
 *
 * "Even Out" runs a rebalance (tsr_cluster_rebalance_async(), on a thread of its own): a node
 * added after files were uploaded, or out of service while they were, gets its share. The
 * outcome is a toast, and the usage is read again.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-storage-page.h"
#include "tsr-window.h"

struct _TsrStoragePage
{
  AdwBin parent_instance;

  GtkLabel *total_label;
  GtkLevelBar *total_bar;
  GtkLabel *percent_label;
  GtkLabel *free_label;
  AdwPreferencesGroup *nodes_group;
  GtkButton *rebalance_button;

  TsrBackend *backend;
  GPtrArray *rows;           /* AdwActionRow, in node order; each has a "bar" */
  GCancellable *cancellable; /* cancelled when the page goes */
  gboolean rebalancing;
  TsrCluster *progress_source; /* the cluster whose progress the button shows, while it runs */
  char *rebalance_result;      /* what the last run's toast said */
};

G_DEFINE_FINAL_TYPE (TsrStoragePage, tsr_storage_page, ADW_TYPE_BIN)

static char *
usage_text (const TsrNodeStatus *s)
{
  guint64 used = s->used_bytes, capacity = s->capacity_bytes;
  guint64 available = tsr_node_status_get_available (s);
  g_autofree char *u = g_format_size (used);
  g_autofree char *c = g_format_size (capacity);
  g_autofree char *f = g_format_size (available);

  /* Its copies stay and count; its room does not, until it is back. */
  if (!s->enabled)
    /* Translators: "Disabled · 1.2 GB of 10 GB · 12.0 %" */
    return g_strdup_printf (_ ("Disabled · %s of %s · %.1f %%"), u, c,
                            capacity > 0 ? 100.0 * used / capacity : 0.0);
  if (!s->alive)
    /* Translators: "Stopped · 1.2 GB of 10 GB · 12.0 %" */
    return g_strdup_printf (_ ("Stopped · %s of %s · %.1f %%"), u, c,
                            capacity > 0 ? 100.0 * used / capacity : 0.0);
  if (available < tsr_node_status_get_quota_left (s))
    /* Translators: "1.2 GB of 10 GB · 12.0 % · 20 MB free: its disk is nearly full" */
    return g_strdup_printf (_ ("%s of %s · %.1f %% · %s free: its disk is nearly full"), u, c,
                            capacity > 0 ? 100.0 * used / capacity : 0.0, f);
  /* Translators: "1.2 GB of 10 GB · 12.0 % · 8.8 GB free" */
  return g_strdup_printf (_ ("%s of %s · %.1f %% · %s free"), u, c,
                          capacity > 0 ? 100.0 * used / capacity : 0.0, f);
}

static void
on_nodes_changed (TsrStoragePage *self)
{
  GPtrArray *nodes = tsr_backend_get_nodes (self->backend);
  guint64 used = 0, capacity = 0, available, up_left = 0;
  guint down = 0;
  g_autofree char *u = NULL, *c = NULL, *f = NULL, *total = NULL, *percent = NULL,
                  *free_text = NULL;

  if (nodes == NULL)
    return;
  if (self->rows->len != nodes->len)
    {
      for (guint i = 0; i < self->rows->len; i++)
        adw_preferences_group_remove (self->nodes_group, self->rows->pdata[i]);
      g_ptr_array_set_size (self->rows, 0);
      for (guint i = 0; i < nodes->len; i++)
        {
          GtkWidget *row = adw_action_row_new ();
          GtkWidget *bar = gtk_level_bar_new ();
          gtk_widget_set_size_request (bar, 180, -1);
          gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), bar);
          g_object_set_data (G_OBJECT (row), "bar", bar);
          adw_preferences_group_add (self->nodes_group, row);
          g_ptr_array_add (self->rows, row);
        }
    }
  for (guint i = 0; i < nodes->len; i++)
    {
      const TsrNodeStatus *s = nodes->pdata[i];
      GtkWidget *row = self->rows->pdata[i];
      GtkLevelBar *bar = g_object_get_data (G_OBJECT (row), "bar");
      g_autofree char *text = usage_text (s);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), s->node_id);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text);
      gtk_level_bar_set_value (
          bar, s->capacity_bytes > 0 ? MIN (1.0, (double)s->used_bytes / s->capacity_bytes) : 0);
      gtk_accessible_update_property (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_PROPERTY_LABEL, text,
                                      -1);
      used += s->used_bytes;
      capacity += s->capacity_bytes;
      if (tsr_node_status_is_up (s))
        up_left += tsr_node_status_get_quota_left (s);
      else
        down++;
    }
  /* Not the quotas left: nodes on one disk share what it has free, and those that are down
   * take nothing. */
  available = tsr_node_status_sum_available (nodes);
  u = g_format_size (used);
  c = g_format_size (capacity);
  f = g_format_size (available);
  total = g_strdup_printf (_ ("%s used of %s"), u, c);
  percent = g_strdup_printf (_ ("%.1f %% used"), capacity > 0 ? 100.0 * used / capacity : 0.0);
  if (available < up_left)
    /* Translators: "20 GB free: the disk holds less than the nodes' quotas" */
    free_text = g_strdup_printf (_ ("%s free: the disk holds less than the nodes’ quotas"), f);
  else if (down > 0)
    /* Translators: "40 GB free on the nodes that are up" */
    free_text = g_strdup_printf (_ ("%s free on the nodes that are up"), f);
  else
    free_text = g_strdup_printf (_ ("%s free"), f);
  gtk_label_set_text (self->total_label, total);
  gtk_level_bar_set_value (self->total_bar, capacity > 0 ? MIN (1.0, (double)used / capacity) : 0);
  gtk_label_set_text (self->percent_label, percent);
  gtk_label_set_text (self->free_label, free_text);
}

static void
set_rebalancing (TsrStoragePage *self, gboolean rebalancing)
{
  self->rebalancing = rebalancing;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "storage.rebalance", !rebalancing);
  gtk_button_set_label (self->rebalance_button, rebalancing ? _ ("Evening Out…") : _ ("_Even Out"));
}

/* The run's progress on its button: the file it is at, of how many. */
static void
on_cluster_progress (TsrCluster *cluster, GCancellable *cancellable, const char *name, guint64 done,
                     guint64 total, double rate, TsrStoragePage *self)
{
  g_autofree char *label = NULL;

  if (!self->rebalancing || g_strcmp0 (name, "rebalance") != 0 || total == 0)
    return;
  /* Translators: "Evening Out… 3 of 10": the file being looked at, of all the files. */
  label = g_strdup_printf (_ ("Evening Out… %llu of %llu"),
                           (unsigned long long)MIN (done + 1, total), (unsigned long long)total);
  gtk_button_set_label (self->rebalance_button, label);
}

static void
stop_showing_progress (TsrStoragePage *self)
{
  if (self->progress_source != NULL)
    g_signal_handlers_disconnect_by_func (self->progress_source, on_cluster_progress, self);
  g_clear_object (&self->progress_source);
}

static void
on_rebalanced (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrStoragePage) self = data;
  g_autoptr (GError) error = NULL;
  TsrRebalanceReport r;

  if (!tsr_cluster_rebalance_finish (TSR_CLUSTER (source), result, &r, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->backend == NULL)
        return;
      g_free (self->rebalance_result);
      self->rebalance_result =
          g_strdup_printf (_ ("Could not even out the nodes: %s"), error->message);
    }
  else if (r.copies_moved == 0)
    {
      g_free (self->rebalance_result);
      self->rebalance_result =
          g_strdup (r.copies_failed > 0 ? _ ("No copies could be moved: a node refused them.")
                                        : _ ("The nodes are even: nothing to move."));
    }
  else
    {
      g_autofree char *bytes = g_format_size (r.bytes_moved);
      g_free (self->rebalance_result);
      self->rebalance_result =
          g_strdup_printf (ngettext ("Moved %llu copy (%s) to a node with room",
                                     "Moved %llu copies (%s) to nodes "
                                     "with room",
                                     r.copies_moved),
                           (unsigned long long)r.copies_moved, bytes);
    }
  if (self->backend == NULL)
    return;
  stop_showing_progress (self);
  set_rebalancing (self, FALSE);
  tsr_window_toast_for (GTK_WIDGET (self), self->rebalance_result);
  tsr_backend_refresh (self->backend);
}

static void
rebalance_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrStoragePage *self = TSR_STORAGE_PAGE (widget);
  TsrCluster *cluster;

  if (self->backend == NULL || self->rebalancing || !tsr_backend_get_cluster_ready (self->backend))
    return;
  cluster = tsr_backend_get_cluster (self->backend);
  set_rebalancing (self, TRUE);
  self->progress_source = g_object_ref (cluster);
  g_signal_connect (cluster, "transfer-progress", G_CALLBACK (on_cluster_progress), self);
  tsr_cluster_rebalance_async (cluster, self->cancellable, on_rebalanced, g_object_ref (self));
}

static void
tsr_storage_page_dispose (GObject *object)
{
  TsrStoragePage *self = TSR_STORAGE_PAGE (object);

  /* A run under way finishes its current file and stops; its callback finds no backend. */
  g_cancellable_cancel (self->cancellable);
  stop_showing_progress (self);
  if (self->backend != NULL)
    g_signal_handlers_disconnect_by_data (self->backend, self);
  g_clear_object (&self->backend);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_STORAGE_PAGE);
  G_OBJECT_CLASS (tsr_storage_page_parent_class)->dispose (object);
}

static void
tsr_storage_page_finalize (GObject *object)
{
  TsrStoragePage *self = TSR_STORAGE_PAGE (object);

  g_clear_object (&self->cancellable);
  g_free (self->rebalance_result);
  G_OBJECT_CLASS (tsr_storage_page_parent_class)->finalize (object);
}

static void
tsr_storage_page_class_init (TsrStoragePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_storage_page_dispose;
  object_class->finalize = tsr_storage_page_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-storage-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrStoragePage, total_label);
  gtk_widget_class_bind_template_child (widget_class, TsrStoragePage, total_bar);
  gtk_widget_class_bind_template_child (widget_class, TsrStoragePage, percent_label);
  gtk_widget_class_bind_template_child (widget_class, TsrStoragePage, free_label);
  gtk_widget_class_bind_template_child (widget_class, TsrStoragePage, nodes_group);
  gtk_widget_class_bind_template_child (widget_class, TsrStoragePage, rebalance_button);
  gtk_widget_class_install_action (widget_class, "storage.rebalance", NULL, rebalance_action);
}

static void
tsr_storage_page_init (TsrStoragePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
}

void
tsr_storage_page_set_backend (TsrStoragePage *self, TsrBackend *backend)
{
  g_return_if_fail (TSR_IS_STORAGE_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect_swapped (backend, "nodes-changed", G_CALLBACK (on_nodes_changed), self);
  on_nodes_changed (self);
}

/* The headline the user reads, such as "1.2 MB used of 50 GB". */
const char *
tsr_storage_page_get_total_text (TsrStoragePage *self)
{
  g_return_val_if_fail (TSR_IS_STORAGE_PAGE (self), NULL);
  return gtk_label_get_text (self->total_label);
}

const char *
tsr_storage_page_get_free_text (TsrStoragePage *self)
{
  g_return_val_if_fail (TSR_IS_STORAGE_PAGE (self), NULL);
  return gtk_label_get_text (self->free_label);
}

double
tsr_storage_page_get_total_fraction (TsrStoragePage *self)
{
  g_return_val_if_fail (TSR_IS_STORAGE_PAGE (self), 0);
  return gtk_level_bar_get_value (self->total_bar);
}

gboolean
tsr_storage_page_is_rebalancing (TsrStoragePage *self)
{
  g_return_val_if_fail (TSR_IS_STORAGE_PAGE (self), FALSE);
  return self->rebalancing;
}

/* What the last "Even Out" said, or %NULL before one finished. */
const char *
tsr_storage_page_get_rebalance_result (TsrStoragePage *self)
{
  g_return_val_if_fail (TSR_IS_STORAGE_PAGE (self), NULL);
  return self->rebalance_result;
}

/* The subtitle of @node_id's row, such as "1.0 MB of 10 GB · 0.0 % · 10 GB free". */
const char *
tsr_storage_page_get_node_text (TsrStoragePage *self, const char *node_id)
{
  g_return_val_if_fail (TSR_IS_STORAGE_PAGE (self), NULL);
  for (guint i = 0; i < self->rows->len; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (self->rows->pdata[i]), node_id) == 0)
      return adw_action_row_get_subtitle (self->rows->pdata[i]);
  return NULL;
}
