/* tsr-network-page.c: the emulated network
 *
 * The profile switch (off, the seed's slow lossy network, or custom settings for every node),
 * the totals the emulated links count and one row per node with its virtual address beside
 * its real one. Statistics follow the backend's node snapshots, which are coalesced to four a
 * second and taken on the main loop from counters the engine keeps under short locks; every
 * change of settings is saved by the backend on a worker thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-network-page.h"

enum
{
  PROFILE_OFF,
  PROFILE_SEED,
  PROFILE_CUSTOM,
};

struct _TsrNetworkPage
{
  AdwBin parent_instance;

  AdwComboRow *profile_row;
  AdwEntryRow *bandwidth_row;
  AdwEntryRow *latency_row;
  AdwEntryRow *loss_row;
  GtkLabel *error_label;
  AdwActionRow *packets_row;
  AdwActionRow *lost_row;
  AdwActionRow *delivery_row;
  AdwActionRow *throughput_row;
  AdwPreferencesGroup *nodes_group;

  TsrBackend *backend;
  GCancellable *cancellable;
  GPtrArray *rows;        /* AdwActionRow, in node order */
  gboolean updating;      /* the combo is being set from the engine, not by the user */
  TsrNetemSettings shown; /* what the entry rows were last filled with */
  gboolean shown_valid;
  char *totals_text;
};

G_DEFINE_FINAL_TYPE (TsrNetworkPage, tsr_network_page, ADW_TYPE_BIN)

static char *
rate_text (double bytes_per_second)
{
  g_autofree char *size = g_format_size ((guint64)bytes_per_second);

  /* Translators: a rate, such as "64.0 kB/s" */
  return g_strdup_printf (_ ("%s/s"), size);
}

static char *
count_text (guint64 n)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, n);
}

static char *
settings_text (const TsrNetemSettings *s)
{
  g_autofree char *rate = NULL;

  if (!s->enabled)
    return g_strdup (_ ("Not emulated"));
  if (s->bandwidth == 0)
    rate = g_strdup (_ ("unlimited"));
  else
    {
      /* Settings in the units people type them in (the seed's 64 KB are 64 KiB). */
      g_autofree char *size = g_format_size_full (s->bandwidth, G_FORMAT_SIZE_IEC_UNITS);
      rate = g_strdup_printf (_ ("%s/s"), size);
    }
  /* Translators: a link's settings: bandwidth, delay range in ms and packet loss */
  return g_strdup_printf (_ ("%s, %g–%g ms, %g %% loss"), rate, s->latency_min_us / 1000.0,
                          s->latency_max_us / 1000.0, s->loss_ppm / 10000.0);
}

static void
set_error (TsrNetworkPage *self, const char *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
on_set_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrNetworkPage) self = data;
  g_autoptr (GError) error = NULL;

  if (!tsr_backend_set_netem_finish (TSR_BACKEND (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_error (self, error->message);
}

static void
apply_profile (TsrNetworkPage *self, const char *profile)
{
  set_error (self, NULL);
  tsr_backend_set_netem_async (self->backend, profile, NULL, self->cancellable, on_set_done,
                               g_object_ref (self));
}

static void
on_profile_selected (TsrNetworkPage *self)
{
  guint selected = adw_combo_row_get_selected (self->profile_row);

  if (self->updating || self->backend == NULL || !tsr_backend_get_cluster_ready (self->backend))
    return;
  if (selected == PROFILE_OFF)
    apply_profile (self, "off");
  else if (selected == PROFILE_SEED)
    apply_profile (self, "seed");
  /* Custom: the settings below apply when confirmed. */
}

static void
on_apply (TsrNetworkPage *self)
{
  const char *bandwidth = gtk_editable_get_text (GTK_EDITABLE (self->bandwidth_row));
  const char *latency = gtk_editable_get_text (GTK_EDITABLE (self->latency_row));
  const char *loss = gtk_editable_get_text (GTK_EDITABLE (self->loss_row));
  g_autoptr (GError) error = NULL;
  TsrNetemSettings s;

  if (self->backend == NULL || !tsr_backend_get_cluster_ready (self->backend))
    return;
  tsr_netem_settings_init_off (&s);
  s.enabled = TRUE;
  gtk_widget_remove_css_class (GTK_WIDGET (self->bandwidth_row), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->latency_row), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->loss_row), "error");
  if (!tsr_netem_parse_rate (bandwidth, &s.bandwidth, &error))
    gtk_widget_add_css_class (GTK_WIDGET (self->bandwidth_row), "error");
  else if (!tsr_netem_parse_latency (latency, &s.latency_min_us, &s.latency_max_us, &error))
    gtk_widget_add_css_class (GTK_WIDGET (self->latency_row), "error");
  else if (!tsr_netem_parse_loss (loss, &s.loss_ppm, &error))
    gtk_widget_add_css_class (GTK_WIDGET (self->loss_row), "error");
  if (error != NULL)
    {
      set_error (self, error->message);
      return;
    }
  set_error (self, NULL);
  self->updating = TRUE;
  adw_combo_row_set_selected (self->profile_row, PROFILE_CUSTOM);
  self->updating = FALSE;
  tsr_backend_set_netem_async (self->backend, NULL, &s, self->cancellable, on_set_done,
                               g_object_ref (self));
}

/* Fills the entry rows with the links' settings, unless they already show them (so what the
 * user is typing is not replaced on every statistics update). */
static void
show_settings (TsrNetworkPage *self, const TsrNetemSettings *s)
{
  g_autofree char *bandwidth = NULL, *latency = NULL, *loss = NULL;

  if (self->shown_valid && tsr_netem_settings_equal (&self->shown, s) &&
      self->shown.enabled == s->enabled)
    return;
  self->shown = *s;
  self->shown_valid = TRUE;
  if (!s->enabled)
    return; /* keep the last custom values as a starting point */
  bandwidth = s->bandwidth == 0 ? g_strdup ("unlimited")
              : s->bandwidth % 1024 == 0
                  ? g_strdup_printf ("%" G_GUINT64_FORMAT "KiB/s", s->bandwidth / 1024)
                  : g_strdup_printf ("%" G_GUINT64_FORMAT "B/s", s->bandwidth);
  latency = g_strdup_printf ("%u-%uus", s->latency_min_us, s->latency_max_us);
  if (s->latency_min_us % 1000 == 0 && s->latency_max_us % 1000 == 0)
    {
      g_free (latency);
      latency = g_strdup_printf ("%u-%ums", s->latency_min_us / 1000, s->latency_max_us / 1000);
    }
  {
    char number[G_ASCII_DTOSTR_BUF_SIZE];

    /* What the parser reads back, whatever the locale's decimal separator. */
    loss = g_strconcat (g_ascii_formatd (number, sizeof number, "%g", s->loss_ppm / 10000.0), "%",
                        NULL);
  }
  gtk_editable_set_text (GTK_EDITABLE (self->bandwidth_row), bandwidth);
  gtk_editable_set_text (GTK_EDITABLE (self->latency_row), latency);
  gtk_editable_set_text (GTK_EDITABLE (self->loss_row), loss);
}

static void
update_totals (TsrNetworkPage *self)
{
  TsrCluster *cluster = tsr_backend_get_cluster (self->backend);
  g_autofree char *sent = NULL, *received = NULL, *lost = NULL, *again = NULL, *up = NULL,
                  *down = NULL, *packets = NULL, *losses = NULL, *delivery = NULL,
                  *throughput = NULL;
  TsrNetemStats t;

  tsr_netem_get_total_stats (tsr_cluster_get_netem (cluster), &t);
  sent = count_text (t.packets_sent);
  received = count_text (t.packets_received);
  lost = count_text (t.packets_lost);
  again = count_text (t.packets_retransmitted);
  up = rate_text (t.send_throughput_bps);
  down = rate_text (t.receive_throughput_bps);
  /* Translators: packet counts */
  packets = g_strdup_printf (_ ("%s sent, %s received"), sent, received);
  /* Translators: packet counts */
  losses = g_strdup_printf (_ ("%s lost, %s retransmitted"), lost, again);
  /* Translators: delivery times of packets, in milliseconds */
  delivery = g_strdup_printf (_ ("%.1f ms on average, %.1f ms for 95 %%"), t.delivery_ms_mean,
                              t.delivery_ms_p95);
  /* Translators: throughput to the nodes and from them */
  throughput = g_strdup_printf (_ ("%s up, %s down"), up, down);
  adw_action_row_set_subtitle (self->packets_row, packets);
  adw_action_row_set_subtitle (self->lost_row, losses);
  adw_action_row_set_subtitle (self->delivery_row, delivery);
  adw_action_row_set_subtitle (self->throughput_row, throughput);
  g_free (self->totals_text);
  self->totals_text = g_strjoin ("\n", packets, losses, delivery, throughput, NULL);
}

static void
on_nodes_changed (TsrNetworkPage *self)
{
  GPtrArray *nodes = tsr_backend_get_nodes (self->backend);
  const char *profile = NULL;

  if (nodes == NULL || !tsr_backend_get_cluster_ready (self->backend))
    return;
  if (self->rows->len != nodes->len)
    {
      for (guint i = 0; i < self->rows->len; i++)
        adw_preferences_group_remove (self->nodes_group, self->rows->pdata[i]);
      g_ptr_array_set_size (self->rows, 0);
      for (guint i = 0; i < nodes->len; i++)
        {
          GtkWidget *row = adw_action_row_new ();
          adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
          adw_preferences_group_add (self->nodes_group, row);
          g_ptr_array_add (self->rows, row);
        }
    }
  for (guint i = 0; i < nodes->len; i++)
    {
      const TsrNodeStatus *s = nodes->pdata[i];
      const char *p = tsr_netem_settings_get_profile (&s->netem);
      g_autofree char *link = settings_text (&s->netem);
      g_autofree char *sent = count_text (s->link.packets_sent);
      g_autofree char *lost = count_text (s->link.packets_lost);
      g_autofree char *subtitle = NULL;

      /* Translators: a node's virtual address, its real one, its link and its packets */
      subtitle = g_strdup_printf (_ ("%s ↔ %s\n%s\n%s packets sent, %s lost"),
                                  s->virtual_address ? s->virtual_address : "", s->address, link,
                                  sent, lost);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->rows->pdata[i]), s->node_id);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->rows->pdata[i]), subtitle);
      profile = profile == NULL || g_strcmp0 (profile, p) == 0 ? p : "custom";
      if (i == 0)
        show_settings (self, &s->netem);
    }
  self->updating = TRUE;
  adw_combo_row_set_selected (self->profile_row, g_strcmp0 (profile, "seed") == 0 ? PROFILE_SEED
                                                 : g_strcmp0 (profile, "custom") == 0
                                                     ? PROFILE_CUSTOM
                                                     : PROFILE_OFF);
  self->updating = FALSE;
  update_totals (self);
}

static void
tsr_network_page_dispose (GObject *object)
{
  TsrNetworkPage *self = TSR_NETWORK_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->backend != NULL)
    g_signal_handlers_disconnect_by_data (self->backend, self);
  g_clear_object (&self->backend);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->totals_text, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_NETWORK_PAGE);
  G_OBJECT_CLASS (tsr_network_page_parent_class)->dispose (object);
}

static void
tsr_network_page_class_init (TsrNetworkPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_network_page_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-network-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, profile_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, bandwidth_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, latency_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, loss_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, packets_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, lost_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, delivery_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, throughput_row);
  gtk_widget_class_bind_template_child (widget_class, TsrNetworkPage, nodes_group);
  gtk_widget_class_bind_template_callback (widget_class, on_profile_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_apply);
}

static void
tsr_network_page_init (TsrNetworkPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
}

void
tsr_network_page_set_backend (TsrNetworkPage *self, TsrBackend *backend)
{
  g_return_if_fail (TSR_IS_NETWORK_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect_swapped (backend, "nodes-changed", G_CALLBACK (on_nodes_changed), self);
  on_nodes_changed (self);
}

/* As choosing "off" or "seed" in the profile row does. */
void
tsr_network_page_select_profile (TsrNetworkPage *self, const char *profile)
{
  g_return_if_fail (TSR_IS_NETWORK_PAGE (self));
  adw_combo_row_set_selected (self->profile_row,
                              g_strcmp0 (profile, "seed") == 0 ? PROFILE_SEED : PROFILE_OFF);
}

/* As typing into the three rows and confirming does. */
void
tsr_network_page_apply_custom (TsrNetworkPage *self, const char *bandwidth, const char *latency,
                               const char *loss)
{
  g_return_if_fail (TSR_IS_NETWORK_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->bandwidth_row), bandwidth);
  gtk_editable_set_text (GTK_EDITABLE (self->latency_row), latency);
  gtk_editable_set_text (GTK_EDITABLE (self->loss_row), loss);
  g_signal_emit_by_name (self->loss_row, "apply");
}

/* The message shown under the settings, or NULL. */
const char *
tsr_network_page_get_error (TsrNetworkPage *self)
{
  g_return_val_if_fail (TSR_IS_NETWORK_PAGE (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->error_label))
             ? gtk_label_get_text (self->error_label)
             : NULL;
}

const char *
tsr_network_page_get_totals_text (TsrNetworkPage *self)
{
  g_return_val_if_fail (TSR_IS_NETWORK_PAGE (self), NULL);
  return self->totals_text;
}

/* The subtitle of a node's row. */
const char *
tsr_network_page_get_node_text (TsrNetworkPage *self, guint index)
{
  g_return_val_if_fail (TSR_IS_NETWORK_PAGE (self), NULL);
  if (index >= self->rows->len)
    return NULL;
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (self->rows->pdata[index]));
}
