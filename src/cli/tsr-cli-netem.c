/* tsr-cli-netem.c: netem show, netem set, netem profile (the emulated network)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tsr-cli.h"
#include "tsr-json.h"

#define NETEM_USAGE                                                                                \
  "use: netem show | netem profile off|seed | netem set [--node NODE_ID] [--bandwidth RATE] "      \
  "[--latency MIN-MAX] [--loss PCT] [--processing DELAY] [--mtu BYTES] [--rto MS] "                \
  "[--retransmits N]"

static int
netem_show (TsrCli *cli)
{
  TsrCluster *cluster = tsr_cli_cluster (cli, TRUE);
  g_autoptr (JsonNode) info = NULL;
  g_autoptr (GPtrArray) nodes = NULL;
  TsrNetemStats total;

  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  info = tsr_cluster_get_network_info (cluster);
  if (cli->json)
    {
      tsr_cli_print_json (info);
      return TSR_EXIT_OK;
    }
  nodes = tsr_cluster_dup_node_status (cluster);
  tsr_netem_get_total_stats (tsr_cluster_get_netem (cluster), &total);
  printf (_ ("Profile: %s; this client is %s\n"),
          json_object_get_string_member (json_node_get_object (info), "profile"),
          TSR_NETEM_CLIENT_ADDRESS);
  printf ("%-10s  %-13s  %-21s  %s\n", _ ("NODE"), _ ("VIRTUAL"), _ ("ADDRESS"), _ ("LINK"));
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];
      g_autofree char *link = tsr_netem_settings_describe (&s->netem);
      g_autofree char *id = tsr_cli_escape (s->node_id);
      g_autofree char *virt = tsr_cli_escape (s->virtual_address);
      g_autofree char *address = tsr_cli_escape (s->address);

      printf ("%-10s  %-13s  %-21s  %s\n", id, virt, address, link);
    }
  {
    /* Counts go in as text: xgettext cannot read G_GUINT64_FORMAT inside a msgid. */
    g_autofree char *sent = g_strdup_printf ("%" G_GUINT64_FORMAT, total.packets_sent);
    g_autofree char *received = g_strdup_printf ("%" G_GUINT64_FORMAT, total.packets_received);
    g_autofree char *lost = g_strdup_printf ("%" G_GUINT64_FORMAT, total.packets_lost);
    g_autofree char *again = g_strdup_printf ("%" G_GUINT64_FORMAT, total.packets_retransmitted);

    printf (_ ("Packets sent %s, received %s, lost %s, retransmitted %s\n"), sent, received, lost,
            again);
  }
  return TSR_EXIT_OK;
}

static int
netem_profile (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  TsrCluster *cluster;

  if (argc != 3)
    return tsr_cli_usage_error ("netem", NETEM_USAGE);
  cluster = tsr_cli_cluster (cli, FALSE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  if (!tsr_cluster_set_netem_profile (cluster, argv[2], &error))
    return tsr_cli_fail (cli, error);
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      tsr_json_set_string (b, "profile", argv[2]);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    printf (_ ("Every node's link now uses the %s profile\n"), argv[2]);
  return TSR_EXIT_OK;
}

static gboolean
parse_uint_option (const char *text, guint max, guint *out)
{
  char *end = NULL;
  guint64 v;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  v = g_ascii_strtoull (text, &end, 10);
  if (*end != '\0' || v > max)
    return FALSE;
  *out = (guint)v;
  return TRUE;
}

/* Options not given keep the node's current values; a link that was off starts from no
 * shaping at all, so `--loss 1%` alone means just that. */
static int
netem_set (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  const char *node_id = NULL;
  TsrNetemSettings s;
  TsrCluster *cluster;
  const TsrClusterConfig *config;
  TsrNodeConfig *base;
  gboolean any = FALSE;

  if (argc < 4 || argc % 2 != 0)
    return tsr_cli_usage_error ("netem", NETEM_USAGE);
  cluster = tsr_cli_cluster (cli, FALSE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  config = tsr_cluster_get_config (cluster);
  for (int i = 2; i + 1 < argc; i += 2)
    if (strcmp (argv[i], "--node") == 0)
      node_id = argv[i + 1];
  if (node_id != NULL)
    {
      base = tsr_cluster_config_find (config, node_id);
      if (base == NULL)
        {
          g_set_error (&error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no node %s"), node_id);
          return tsr_cli_fail (cli, error);
        }
    }
  else if (config->nodes->len == 0)
    {
      g_set_error (&error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("The cluster has no nodes"));
      return tsr_cli_fail (cli, error);
    }
  else
    base = config->nodes->pdata[0];
  s = base->netem;
  if (!s.enabled)
    tsr_netem_settings_init_off (&s);
  s.enabled = TRUE;

  for (int i = 2; i < argc; i += 2)
    {
      const char *opt = argv[i], *val = argv[i + 1];
      guint dummy;

      if (strcmp (opt, "--node") == 0)
        continue;
      any = TRUE;
      if (strcmp (opt, "--bandwidth") == 0)
        {
          if (!tsr_netem_parse_rate (val, &s.bandwidth, &error))
            return tsr_cli_usage_error ("netem", "%s", error->message);
        }
      else if (strcmp (opt, "--latency") == 0)
        {
          if (!tsr_netem_parse_latency (val, &s.latency_min_us, &s.latency_max_us, &error))
            return tsr_cli_usage_error ("netem", "%s", error->message);
        }
      else if (strcmp (opt, "--processing") == 0)
        {
          if (!tsr_netem_parse_latency (val, &dummy, &s.processing_us, &error) ||
              dummy != s.processing_us)
            return tsr_cli_usage_error ("netem", _ ("--processing takes one delay, like 1ms"));
        }
      else if (strcmp (opt, "--loss") == 0)
        {
          if (!tsr_netem_parse_loss (val, &s.loss_ppm, &error))
            return tsr_cli_usage_error ("netem", "%s", error->message);
        }
      else if (strcmp (opt, "--mtu") == 0)
        {
          if (!parse_uint_option (val, TSR_NETEM_MTU_MAX, &s.mtu) || s.mtu < TSR_NETEM_MTU_MIN)
            return tsr_cli_usage_error ("netem", _ ("--mtu takes a size from 576 to 65535 bytes"));
        }
      else if (strcmp (opt, "--rto") == 0)
        {
          if (!parse_uint_option (val, TSR_NETEM_RTO_MS_MAX, &s.rto_ms) || s.rto_ms == 0)
            return tsr_cli_usage_error ("netem", _ ("--rto takes milliseconds, from 1 to 60000"));
        }
      else if (strcmp (opt, "--retransmits") == 0)
        {
          if (!parse_uint_option (val, TSR_NETEM_RETRANSMITS_MAX, &s.max_retransmits))
            return tsr_cli_usage_error ("netem", _ ("--retransmits takes a number from 0 to 16"));
        }
      else
        return tsr_cli_usage_error ("netem", NETEM_USAGE);
    }
  if (!any)
    return tsr_cli_usage_error ("netem", NETEM_USAGE);
  if (!tsr_cluster_set_netem (cluster, node_id, &s, &error))
    return tsr_cli_fail (cli, error);
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      tsr_json_set_string (b, "node_id", node_id);
      json_builder_set_member_name (b, "settings");
      tsr_netem_settings_to_json (&s, b);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    {
      g_autofree char *text = tsr_netem_settings_describe (&s);
      if (node_id != NULL)
        printf (_ ("The link to %s: %s\n"), node_id, text);
      else
        printf (_ ("Every node's link: %s\n"), text);
    }
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_netem (TsrCli *cli, int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "show") == 0)
    return netem_show (cli);
  if (argc >= 2 && strcmp (argv[1], "profile") == 0)
    return netem_profile (cli, argc, argv);
  if (argc >= 2 && strcmp (argv[1], "set") == 0)
    return netem_set (cli, argc, argv);
  return tsr_cli_usage_error ("netem", NETEM_USAGE);
}
