/* tsr-cli-nodes.c: nodes, health, storage, topology, stats, node enable/disable
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <string.h>

#include "tsr-cli.h"

#define SET_STR(b, k, v)                                                                           \
  G_STMT_START                                                                                     \
  {                                                                                                \
    json_builder_set_member_name (b, k);                                                           \
    json_builder_add_string_value (b, v);                                                          \
  }                                                                                                \
  G_STMT_END
#define SET_INT(b, k, v)                                                                           \
  G_STMT_START                                                                                     \
  {                                                                                                \
    json_builder_set_member_name (b, k);                                                           \
    json_builder_add_int_value (b, (gint64)(v));                                                   \
  }                                                                                                \
  G_STMT_END
#define SET_DOUBLE(b, k, v)                                                                        \
  G_STMT_START                                                                                     \
  {                                                                                                \
    json_builder_set_member_name (b, k);                                                           \
    json_builder_add_double_value (b, v);                                                          \
  }                                                                                                \
  G_STMT_END

/* Starts the cluster (which runs a health check) and returns the node status list. */
static GPtrArray *
node_status (TsrCli *cli, int argc, const char *command)
{
  TsrCluster *cluster;

  if (argc > 1)
    {
      tsr_cli_usage_error (command, _ ("takes no arguments"));
      return NULL;
    }
  cluster = tsr_cli_cluster (cli, TRUE);
  if (cluster == NULL)
    return NULL;
  if (cli->interactive)
    tsr_cluster_check_health (cluster, NULL, NULL);
  return tsr_cluster_dup_node_status (cluster);
}

int
tsr_cli_cmd_nodes (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GPtrArray) nodes = node_status (cli, argc, "nodes");
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (nodes == NULL)
    return argc > 1 ? TSR_EXIT_USAGE : TSR_EXIT_FAILED;
  if (!cli->json)
    printf ("%-10s  %-13s  %-21s  %-8s  %10s  %10s  %9s  %s\n", _ ("NODE"), _ ("VIRTUAL"),
            _ ("ADDRESS"), _ ("STATE"), _ ("USED"), _ ("CAPACITY"), _ ("SEGMENTS"), _ ("KIND"));
  json_builder_begin_array (b);
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];
      const char *state = tsr_node_state_to_string (s->state);

      if (cli->json)
        {
          json_builder_begin_object (b);
          SET_STR (b, "node_id", s->node_id);
          SET_STR (b, "address", s->address);
          SET_STR (b, "virtual_address", s->virtual_address);
          SET_STR (b, "state", state);
          SET_INT (b, "used_bytes", s->used_bytes);
          SET_INT (b, "capacity_bytes", s->capacity_bytes);
          SET_INT (b, "segments", s->segment_count);
          json_builder_set_member_name (b, "enabled");
          json_builder_add_boolean_value (b, s->enabled);
          json_builder_set_member_name (b, "embedded");
          json_builder_add_boolean_value (b, s->embedded);
          json_builder_end_object (b);
        }
      else
        {
          g_autofree char *used = g_format_size (s->used_bytes);
          g_autofree char *cap = g_format_size (s->capacity_bytes);
          g_autofree char *id = tsr_cli_escape (s->node_id);
          g_autofree char *virt = tsr_cli_escape (s->virtual_address);
          g_autofree char *address = tsr_cli_escape (s->address);
          printf ("%-10s  %-13s  %-21s  %-8s  %10s  %10s  %9" G_GUINT64_FORMAT "  %s%s\n", id, virt,
                  address, state, used, cap, s->segment_count,
                  s->embedded ? _ ("embedded") : _ ("remote"), s->enabled ? "" : _ (", disabled"));
        }
    }
  json_builder_end_array (b);
  if (cli->json)
    tsr_cli_print_builder (b);
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_health (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GPtrArray) nodes = node_status (cli, argc, "health");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint alive = 0;

  if (nodes == NULL)
    return argc > 1 ? TSR_EXIT_USAGE : TSR_EXIT_FAILED;
  json_builder_begin_array (b);
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];

      alive += s->alive;
      if (cli->json)
        {
          json_builder_begin_object (b);
          SET_STR (b, "node_id", s->node_id);
          json_builder_set_member_name (b, "alive");
          json_builder_add_boolean_value (b, s->alive);
          SET_STR (b, "state", tsr_node_state_to_string (s->state));
          SET_DOUBLE (b, "latency_ms", s->latency_ms);
          json_builder_end_object (b);
        }
      else
        {
          char latency[32];
          g_autofree char *id = tsr_cli_escape (s->node_id);
          g_snprintf (latency, sizeof latency, "%.1f ms", s->latency_ms);
          printf ("%-10s  %-5s  %-8s  %s\n", id, s->alive ? _ ("alive") : _ ("DOWN"),
                  tsr_node_state_to_string (s->state),
                  s->alive ? latency : (s->enabled ? _ ("no answer") : _ ("disabled")));
        }
    }
  json_builder_end_array (b);
  if (cli->json)
    tsr_cli_print_builder (b);
  else
    printf (ngettext ("%u of %u node alive\n", "%u of %u nodes alive\n", nodes->len), alive,
            nodes->len);
  return alive == nodes->len ? TSR_EXIT_OK : TSR_EXIT_FAILED;
}

int
tsr_cli_cmd_storage (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GPtrArray) nodes = node_status (cli, argc, "storage");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint64 used = 0, capacity = 0, available;

  if (nodes == NULL)
    return argc > 1 ? TSR_EXIT_USAGE : TSR_EXIT_FAILED;
  available = tsr_node_status_sum_available (nodes);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  if (!cli->json)
    printf ("%-10s  %10s  %10s  %10s  %6s\n", _ ("NODE"), _ ("USED"), _ ("CAPACITY"),
            _ ("AVAILABLE"), _ ("USE%"));
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];
      guint64 avail = tsr_node_status_get_available (s); /* its disk may have less */
      double util = s->capacity_bytes ? 100.0 * s->used_bytes / s->capacity_bytes : 0;

      used += s->used_bytes;
      capacity += s->capacity_bytes;
      if (cli->json)
        {
          json_builder_begin_object (b);
          SET_STR (b, "node_id", s->node_id);
          SET_INT (b, "used_bytes", s->used_bytes);
          SET_INT (b, "capacity_bytes", s->capacity_bytes);
          SET_INT (b, "available_bytes", avail);
          SET_DOUBLE (b, "utilization", util);
          json_builder_end_object (b);
        }
      else
        {
          g_autofree char *u = g_format_size (s->used_bytes);
          g_autofree char *c = g_format_size (s->capacity_bytes);
          g_autofree char *a = g_format_size (avail);
          g_autofree char *id = tsr_cli_escape (s->node_id);
          printf ("%-10s  %10s  %10s  %10s  %5.1f%%\n", id, u, c, a, util);
        }
    }
  json_builder_end_array (b);
  SET_INT (b, "total_used_bytes", used);
  SET_INT (b, "total_capacity_bytes", capacity);
  /* Not the sum of the rows: nodes on one disk share what it has free. */
  SET_INT (b, "total_available_bytes", MIN (available, G_MAXINT64));
  json_builder_end_object (b);
  if (cli->json)
    tsr_cli_print_builder (b);
  else
    {
      g_autofree char *u = g_format_size (used);
      g_autofree char *c = g_format_size (capacity);
      g_autofree char *a = g_format_size (available);
      printf ("%-10s  %10s  %10s  %10s  %5.1f%%\n", _ ("total"), u, c, a,
              capacity ? 100.0 * used / capacity : 0);
    }
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_topology (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GPtrArray) nodes = node_status (cli, argc, "topology");
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (nodes == NULL)
    return argc > 1 ? TSR_EXIT_USAGE : TSR_EXIT_FAILED;
  json_builder_begin_array (b);
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];
      TsrNode *node = tsr_cluster_get_embedded_node (cli->cluster, s->node_id);
      g_autoptr (GPtrArray) peers = node ? tsr_node_dup_peers (node) : NULL;

      if (cli->json)
        {
          json_builder_begin_object (b);
          SET_STR (b, "node_id", s->node_id);
          SET_STR (b, "address", s->address);
          SET_STR (b, "virtual_address", s->virtual_address);
          SET_STR (b, "state", tsr_node_state_to_string (s->state));
          json_builder_set_member_name (b, "link");
          tsr_netem_settings_to_json (&s->netem, b);
          SET_DOUBLE (b, "send_throughput_bps", s->link.send_throughput_bps);
          SET_DOUBLE (b, "receive_throughput_bps", s->link.receive_throughput_bps);
          SET_DOUBLE (b, "backlog_ms", s->link.backlog_us / 1000.0);
          json_builder_set_member_name (b, "peers");
          json_builder_begin_array (b);
          for (guint j = 0; peers && j < peers->len; j++)
            json_builder_add_string_value (b, ((TsrPeerInfo *)peers->pdata[j])->node_id);
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      else
        {
          g_autofree char *link = tsr_netem_settings_describe (&s->netem);
          g_autofree char *id = tsr_cli_escape (s->node_id);
          g_autofree char *virt = tsr_cli_escape (s->virtual_address);
          g_autofree char *address = tsr_cli_escape (s->address);

          printf ("%s (%s, %s, %s)\n", id, virt, address, tsr_node_state_to_string (s->state));
          printf (_ ("  link from this client (%s): %s\n"), TSR_NETEM_CLIENT_ADDRESS, link);
          for (guint j = 0; peers && j < peers->len; j++)
            {
              TsrPeerInfo *p = peers->pdata[j];
              g_autofree char *peer_id = tsr_cli_escape (p->node_id); /* as the peer says */
              g_autofree char *peer_address = tsr_cli_escape (p->address);
              /* A tree: the last peer closes it. */
              printf (_ ("  %s %s at %s\n"), j + 1 < peers->len ? "├─" : "└─", peer_id,
                      peer_address);
            }
        }
    }
  json_builder_end_array (b);
  if (cli->json)
    tsr_cli_print_builder (b);
  return TSR_EXIT_OK;
}

/* The link between this client and a node, as the emulated network counts it: sent is towards
 * the node. With the emulation off, packets are what an MTU would cut the frames into. */
static void
add_stats (JsonBuilder *b, const TsrNetemStats *st)
{
  SET_INT (b, "packets_sent", st->packets_sent);
  SET_INT (b, "packets_received", st->packets_received);
  SET_INT (b, "bytes_sent", st->bytes_sent);
  SET_INT (b, "bytes_received", st->bytes_received);
  SET_INT (b, "packets_lost", st->packets_lost);
  SET_INT (b, "packets_retransmitted", st->packets_retransmitted);
  SET_DOUBLE (b, "delivery_ms_mean", st->delivery_ms_mean);
  SET_DOUBLE (b, "delivery_ms_p95", st->delivery_ms_p95);
  SET_DOUBLE (b, "send_throughput_bps", st->send_throughput_bps);
  SET_DOUBLE (b, "receive_throughput_bps", st->receive_throughput_bps);
}

static void
print_stats_row (const char *name, const TsrNetemStats *st)
{
  g_autofree char *shown = tsr_cli_escape (name);

  printf ("%-10s  %10" G_GUINT64_FORMAT "  %10" G_GUINT64_FORMAT "  %12" G_GUINT64_FORMAT
          "  %12" G_GUINT64_FORMAT "  %6" G_GUINT64_FORMAT "  %6" G_GUINT64_FORMAT
          "  %7.1f  %7.1f\n",
          shown, st->packets_sent, st->packets_received, st->bytes_sent, st->bytes_received,
          st->packets_lost, st->packets_retransmitted, st->delivery_ms_mean, st->delivery_ms_p95);
}

int
tsr_cli_cmd_stats (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GPtrArray) nodes = node_status (cli, argc, "stats");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  TsrNetemStats total;

  if (nodes == NULL)
    return argc > 1 ? TSR_EXIT_USAGE : TSR_EXIT_FAILED;
  tsr_netem_get_total_stats (tsr_cluster_get_netem (cli->cluster), &total);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  if (!cli->json)
    printf ("%-10s  %10s  %10s  %12s  %12s  %6s  %6s  %7s  %7s\n", _ ("NODE"), _ ("PKTS SENT"),
            _ ("PKTS RECV"), _ ("BYTES SENT"), _ ("BYTES RECV"), _ ("LOST"), _ ("RETX"),
            _ ("MEAN MS"), _ ("P95 MS"));
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];

      json_builder_begin_object (b);
      SET_STR (b, "node_id", s->node_id);
      SET_STR (b, "virtual_address", s->virtual_address);
      add_stats (b, &s->link);
      /* What the node itself counted (frames, all its clients), at the last health check. */
      SET_INT (b, "node_frames_sent", s->stats.packets_sent);
      SET_INT (b, "node_frames_received", s->stats.packets_received);
      SET_INT (b, "errors", s->stats.errors);
      json_builder_end_object (b);
      if (!cli->json)
        print_stats_row (s->node_id, &s->link);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "total");
  json_builder_begin_object (b);
  add_stats (b, &total);
  json_builder_end_object (b);
  json_builder_end_object (b);
  if (cli->json)
    tsr_cli_print_builder (b);
  else
    print_stats_row (_ ("total"), &total);
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_node (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gboolean enable;
  TsrCluster *cluster;

  if (argc > 1 && strcmp (argv[1], "add") == 0)
    return tsr_cli_cmd_node_add (cli, argc, argv);
  if (argc >= 2 && strcmp (argv[1], "remove") == 0)
    return tsr_cli_cmd_node_remove (cli, argc, argv);
  if (argc != 3 || (strcmp (argv[1], "enable") != 0 && strcmp (argv[1], "disable") != 0))
    return tsr_cli_usage_error ("node", _ ("use: node disable NODE_ID, or node enable NODE_ID"));
  if (tsr_cli_is_option (argv[2]))
    return tsr_cli_unknown_option ("node", argv[2]);
  enable = strcmp (argv[1], "enable") == 0;
  cluster = tsr_cli_cluster (cli, FALSE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  if (tsr_cluster_config_find (tsr_cluster_get_config (cluster), argv[2]) == NULL)
    {
      g_set_error (&error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no node %s"), argv[2]);
      return tsr_cli_fail (cli, error);
    }
  /* Enabling needs the node started; disabling needs only the config when nothing runs. */
  if ((enable || cli->interactive) && tsr_cli_cluster (cli, TRUE) == NULL)
    return TSR_EXIT_FAILED;
  if (!tsr_cluster_set_node_enabled (cluster, argv[2], enable, &error))
    return tsr_cli_fail (cli, error);
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      SET_STR (b, "node_id", argv[2]);
      json_builder_set_member_name (b, "enabled");
      json_builder_add_boolean_value (b, enable);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    printf (enable ? _ ("%s enabled\n") : _ ("%s disabled\n"), argv[2]);
  return TSR_EXIT_OK;
}
