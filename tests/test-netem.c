/* test-netem.c: the emulated network, through real clusters on loopback TLS
 *
 * Timing: the machine is shared and noisy, so speed is for benchmarks. What is checked here
 * is the emulation's correctness: the time the emulator itself accounts for a transfer (from
 * its first packet's transmission to its last packet's delivery, planned on a virtual clock
 * from the settings alone) must match the seed's timing table within ±10 %. The wall clock
 * is only a lower bound (the caller sleeps until its last packet arrives, so a transfer can
 * never finish faster than its emulated time) plus a generous upper bound against hangs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <string.h>

#define MIB (1024 * 1024)

typedef struct
{
  char *dir;
  char *data_dir;
  GRand *rand;
  TsrCluster *cluster;
} Fixture;

typedef struct
{
  guint nodes;
  guint replicas;
} Shape;

static const Shape one_node = { 1, 1 };
static const Shape five_nodes = { 5, 1 };
static const Shape five_nodes_replicated = { 5, 2 };

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const Shape *shape = data ? data : &five_nodes;
  g_autoptr (GError) error = NULL;

  f->dir = tsr_test_make_tmpdir ();
  f->data_dir = g_build_filename (f->dir, "data", NULL);
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
  g_assert_true (tsr_cluster_init_data_dir (f->data_dir, shape->nodes,
                                            TSR_SEGMENT_STORE_DEFAULT_CAPACITY,
                                            TSR_CHUNK_SIZE_DEFAULT, shape->replicas, &error));
  g_assert_no_error (error);
  f->cluster = tsr_test_open_cluster (f->data_dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->cluster != NULL)
    tsr_test_close_cluster (g_steal_pointer (&f->cluster));
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->data_dir);
  g_rand_free (f->rand);
}

static GFile *
write_random (Fixture *f, const char *name, gsize len, GBytes **content)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);

  *content = tsr_test_random_bytes (f->rand, len);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (*content, NULL), len, NULL));
  return g_file_new_for_path (path);
}

static void
download_and_compare (Fixture *f, const char *file_id, GBytes *expected)
{
  tsr_test_download_and_compare (f->cluster, f->dir, file_id, expected);
}

static void
set_link (Fixture *f, guint64 bandwidth, guint lat_min_us, guint lat_max_us, guint loss_ppm)
{
  g_autoptr (GError) error = NULL;
  TsrNetemSettings s;

  tsr_netem_settings_init_off (&s);
  s.enabled = TRUE;
  s.bandwidth = bandwidth;
  s.latency_min_us = lat_min_us;
  s.latency_max_us = lat_max_us;
  s.loss_ppm = loss_ppm;
  s.rto_ms = 5;
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &s, &error));
  g_assert_no_error (error);
}

/* ---- packets and parsers ---- */

static void
test_packet_header (void)
{
  TsrNetemPacketHeader h = {
    TSR_NETEM_PACKET_DATA, 0xc0a80101, 0xc0a80102, 4000000000u, 7, 42, 1472, 0
  };
  TsrNetemPacketHeader got;
  guint8 wire[TSR_NETEM_HEADER_SIZE];
  guint8 payload[1472];
  g_autoptr (GError) error = NULL;
  guint16 sum;

  for (guint i = 0; i < sizeof payload; i++)
    payload[i] = i * 7;
  tsr_netem_header_encode (&h, wire);
  sum = tsr_netem_checksum (wire, payload, sizeof payload);
  h.checksum = sum;
  tsr_netem_header_encode (&h, wire);
  /* The checksum field does not count in its own sum. */
  g_assert_cmpuint (tsr_netem_checksum (wire, payload, sizeof payload), ==, sum);
  g_assert_true (tsr_netem_header_decode (wire, sizeof wire, &got, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got.type, ==, h.type);
  g_assert_cmpuint (got.source, ==, h.source);
  g_assert_cmpuint (got.destination, ==, h.destination);
  g_assert_cmpuint (got.seq, ==, h.seq);
  g_assert_cmpuint (got.ack, ==, h.ack);
  g_assert_cmpuint (got.packet_id, ==, h.packet_id);
  g_assert_cmpuint (got.payload_len, ==, h.payload_len);
  g_assert_cmpuint (got.checksum, ==, h.checksum);

  /* One flipped bit anywhere changes the sum. */
  payload[100] ^= 0x10;
  g_assert_cmpuint (tsr_netem_checksum (wire, payload, sizeof payload), !=, sum);
  payload[100] ^= 0x10;
  wire[13] ^= 1;
  g_assert_cmpuint (tsr_netem_checksum (wire, payload, sizeof payload), !=, sum);
  wire[13] ^= 1;

  g_assert_false (tsr_netem_header_decode (wire, sizeof wire - 1, &got, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL);
  g_clear_error (&error);
  wire[3] = 0;
  g_assert_false (tsr_netem_header_decode (wire, sizeof wire, &got, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL);
  g_clear_error (&error);
  wire[3] = TSR_NETEM_PACKET_DATA;
  wire[0] = 'X';
  g_assert_false (tsr_netem_header_decode (wire, sizeof wire, &got, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL);
}

static void
test_parsers (void)
{
  static const struct
  {
    const char *text;
    guint64 bps;
  } rates[] = {
    { "64KB/s", 64000 },    { "512KiB/s", 512 * 1024 }, { "4MiB/s", 4 * MIB },
    { "1.5MB/s", 1500000 }, { "100B/s", 100 },          { "unlimited", 0 },
  };
  static const char *bad_rates[] = { "",
                                     "64KB",
                                     "64 KB/s",
                                     "KB/s",
                                     "-1KB/s",
                                     "0KB/s",
                                     "1.KB/s",
                                     "64XB/s",
                                     "101GB/s",
                                     "99999999999999999999B/s",
                                     "1.0000001MB/s" };
  static const char *bad_latencies[] = { "", "1-10", "10-1ms", "1--2ms", "11s", "ms", "-1ms" };
  static const char *bad_losses[] = { "", "101", "1%%", "-1", "x", "0.0000001" };
  g_autoptr (GError) error = NULL;
  guint64 bps;
  guint lo, hi, ppm;

  for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
    {
      g_assert_true (tsr_netem_parse_rate (rates[i].text, &bps, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (bps, ==, rates[i].bps);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_rates); i++)
    {
      g_assert_false (tsr_netem_parse_rate (bad_rates[i], &bps, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "512KiB/s"));
      g_clear_error (&error);
    }

  g_assert_true (tsr_netem_parse_latency ("1-10ms", &lo, &hi, &error));
  g_assert_cmpuint (lo, ==, 1000);
  g_assert_cmpuint (hi, ==, 10000);
  g_assert_true (tsr_netem_parse_latency ("0.5ms", &lo, &hi, &error));
  g_assert_cmpuint (lo, ==, 500);
  g_assert_cmpuint (hi, ==, 500);
  g_assert_true (tsr_netem_parse_latency ("1-2s", &lo, &hi, &error));
  g_assert_cmpuint (hi, ==, 2000000);
  for (guint i = 0; i < G_N_ELEMENTS (bad_latencies); i++)
    {
      g_assert_false (tsr_netem_parse_latency (bad_latencies[i], &lo, &hi, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  g_assert_true (tsr_netem_parse_loss ("1%", &ppm, &error));
  g_assert_cmpuint (ppm, ==, 10000);
  g_assert_true (tsr_netem_parse_loss ("0.5", &ppm, &error));
  g_assert_cmpuint (ppm, ==, 5000);
  g_assert_true (tsr_netem_parse_loss ("100%", &ppm, &error));
  g_assert_cmpuint (ppm, ==, 1000000);
  for (guint i = 0; i < G_N_ELEMENTS (bad_losses); i++)
    {
      g_assert_false (tsr_netem_parse_loss (bad_losses[i], &ppm, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
}

/* The seed's register_node: addresses in order from .2, kept by a node registered again, never
 * given to another node after one left. */
static void
test_virtual_addresses (void)
{
  g_autoptr (TsrNetem) netem = tsr_netem_new ();
  const char *names[] = { "A", "B", "C" };
  g_autoptr (TsrNetemLink) again = NULL;
  g_autoptr (TsrNetemLink) d = NULL;
  g_autoptr (GPtrArray) links = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (TsrNetemLink) link = tsr_netem_add_link (netem, names[i], NULL);
      g_autofree char *expected = g_strdup_printf ("192.168.1.%u", i + 2);

      g_assert_cmpstr (tsr_netem_link_get_virtual_address (link), ==, expected);
      g_assert_false (tsr_netem_link_is_active (link));
    }
  tsr_netem_remove_link (netem, "B");
  d = tsr_netem_add_link (netem, "D", NULL);
  g_assert_cmpstr (tsr_netem_link_get_virtual_address (d), ==, "192.168.1.5");
  again = tsr_netem_add_link (netem, "A", NULL);
  g_assert_cmpstr (tsr_netem_link_get_virtual_address (again), ==, "192.168.1.2");
  links = tsr_netem_dup_links (netem);
  g_assert_cmpuint (links->len, ==, 3);
}

/* ---- timing: the seed's table, scaled to 512 KiB/s ---- */

static void
check_emulated_time (Fixture *f, gsize bytes, gint64 wall_us, double expected_s)
{
  TsrNetemStats total;
  double emulated_s;

  tsr_netem_get_total_stats (tsr_cluster_get_netem (f->cluster), &total);
  emulated_s = total.emulated_us / 1e6;
  g_test_message ("%zu bytes: emulated %.3f s, wall %.3f s, %" G_GUINT64_FORMAT " packets", bytes,
                  emulated_s, wall_us / 1e6, total.packets_sent);
  g_assert_cmpfloat (emulated_s, >=, expected_s * 0.9);
  g_assert_cmpfloat (emulated_s, <=, expected_s * 1.1);
  /* Lower bound: nothing arrives before the emulator says it does. */
  g_assert_cmpint (wall_us, >=, total.emulated_us);
  /* Upper bound only against hangs: the machine may be very busy. */
  g_assert_cmpint (wall_us, <, 10 * expected_s * G_USEC_PER_SEC);
  g_assert_cmpuint (total.bytes_sent, >=, bytes);
  /* An MTU's worth of payload per packet (1500 - 28 bytes of header). */
  g_assert_cmpuint (total.packets_sent, >=, bytes / (TSR_NETEM_MTU_DEFAULT - 28));
}

static void
timed_upload (Fixture *f, gsize size, double expected_s)
{
  g_autoptr (GBytes) content = NULL;
  g_autoptr (GFile) file = write_random (f, "timed.bin", size, &content);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = NULL;
  gint64 t0;

  /* The seed's 1-10 ms, at 512 KiB/s instead of 64 KB/s so the test stays short. */
  set_link (f, 512 * 1024, 1000, 10000, 0);
  tsr_netem_reset_stats (tsr_cluster_get_netem (f->cluster));
  t0 = g_get_monotonic_time ();
  m = tsr_cluster_upload (f->cluster, file, NULL, &error);
  g_assert_no_error (error);
  check_emulated_time (f, size, g_get_monotonic_time () - t0, expected_s);
}

/* The seed: 1 MB at 64 KB/s takes 16 s; at 512 KiB/s, 2 s. */
static void
test_one_node_timing (Fixture *f, gconstpointer data)
{
  timed_upload (f, MIB, 2.0);
}

/* Spread over 5 nodes, each with its own link, 5 MiB takes as long as 1 MiB to one. */
static void
test_five_nodes_timing (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) status = NULL;

  timed_upload (f, 5 * MIB, 2.0);
  status = tsr_cluster_dup_node_status (f->cluster);
  for (guint i = 0; i < status->len; i++)
    {
      TsrNodeStatus *s = status->pdata[i];
      g_autofree char *addr = g_strdup_printf ("192.168.1.%u", i + 2);

      g_assert_cmpstr (s->virtual_address, ==, addr);
      /* Round-robin placement: a fifth each. */
      g_assert_cmpuint (s->link.bytes_sent, >=, MIB);
      g_assert_cmpuint (s->link.bytes_sent, <, MIB + 64 * 1024);
      g_assert_cmpfloat (s->link.emulated_us / 1e6, <=, 2.2);
    }
}

/* ---- loss ---- */

static void
test_loss_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autoptr (GFile) file = write_random (f, "lossy.bin", 2 * MIB + 12345, &content);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (JsonNode) info = NULL;
  TsrNetemStats total;
  JsonObject *t;

  /* 5 % loss, no bandwidth limit, 0-1 ms: many losses, and quickly. */
  set_link (f, 0, 0, 1000, 50000);
  tsr_netem_reset_stats (tsr_cluster_get_netem (f->cluster));
  m = tsr_cluster_upload (f->cluster, file, NULL, &error);
  g_assert_no_error (error);
  download_and_compare (f, m->file_id, content);

  tsr_netem_get_total_stats (tsr_cluster_get_netem (f->cluster), &total);
  g_test_message ("sent %" G_GUINT64_FORMAT ", lost %" G_GUINT64_FORMAT
                  ", retransmitted %" G_GUINT64_FORMAT,
                  total.packets_sent, total.packets_lost, total.packets_retransmitted);
  /* Two copies up and one down: about 4,400 packets, 220 of them lost. */
  g_assert_cmpuint (total.packets_lost, >, 50);
  g_assert_cmpuint (total.packets_lost, ==, total.packets_retransmitted);
  g_assert_cmpuint (total.bytes_received, >=, 2 * MIB);
  g_assert_cmpfloat (total.delivery_ms_p95, >=, total.delivery_ms_mean * 0.5);

  /* The same figures reach the JSON the CLI and the app show. */
  info = tsr_cluster_get_network_info (f->cluster);
  t = json_object_get_object_member (json_node_get_object (info), "total");
  g_assert_cmpint (json_object_get_int_member (t, "packets_lost"), ==, total.packets_lost);
  g_assert_cmpint (json_object_get_int_member (t, "packets_retransmitted"), ==,
                   total.packets_retransmitted);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info), "profile"), ==,
                   "custom");
}

/* Every packet lost: the link gives up after its retransmissions, with a clear timeout, and
 * nothing is left behind. */
static void
test_total_loss_times_out (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autoptr (GFile) file = write_random (f, "lost.bin", 100000, &content);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GPtrArray) files = NULL;
  TsrNetemSettings s;
  gint64 t0, limit_us;

  tsr_netem_settings_init_off (&s);
  s.enabled = TRUE;
  s.loss_ppm = TSR_NETEM_LOSS_PPM_MAX;
  s.rto_ms = 20;
  s.max_retransmits = 3;
  limit_us = tsr_netem_settings_give_up_us (&s);
  g_assert_cmpint (limit_us, ==, (20 + 40 + 80 + 160) * 1000);
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &s, &error));
  g_assert_no_error (error);

  /* One call on the node's link, as the cluster's client makes it: a timeout, not retried
   * on top of the link's own retransmissions. */
  {
    g_autofree char *client_dir = g_build_filename (f->data_dir, "client", NULL);
    g_autoptr (TsrIdentity) me = tsr_identity_load_or_create (client_dir, "tessera-client", &error);
    g_autoptr (GPtrArray) status = tsr_cluster_dup_node_status (f->cluster);
    TsrNodeStatus *st = status->pdata[0];
    const TsrNodeConfig *nc =
        tsr_cluster_config_find (tsr_cluster_get_config (f->cluster), "Node_01");
    g_autoptr (TsrNodeClient) client =
        tsr_node_client_new ("Node_01", st->address, nc->identity, me);
    g_autoptr (TsrNetemLink) link =
        tsr_netem_get_link (tsr_cluster_get_netem (f->cluster), "Node_01");
    char id[TSR_SHA256_HEX_LEN + 1];

    g_assert_no_error (error);
    tsr_node_client_set_netem_link (client, link);
    tsr_sha256_hex (g_bytes_get_data (content, NULL), g_bytes_get_size (content), id);
    t0 = g_get_monotonic_time ();
    g_assert_false (tsr_node_client_store_segment (client, id, content, FALSE, NULL, &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_TIMEOUT);
    g_test_message ("%s after %.3f s", error->message, (g_get_monotonic_time () - t0) / 1e6);
    /* The limit exactly, as accounted; on the wall clock at least that and nowhere near a
     * hang. */
    g_assert_nonnull (strstr (error->message, "gave up after 300 ms"));
    g_assert_cmpint (g_get_monotonic_time () - t0, >=, limit_us);
    g_assert_cmpint (g_get_monotonic_time () - t0, <, limit_us + 10 * G_USEC_PER_SEC);
    g_clear_error (&error);
  }

  /* The cluster reports the node unreachable, with the link's reason. */
  t0 = g_get_monotonic_time ();
  m = tsr_cluster_upload (f->cluster, file, NULL, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_test_message ("%s after %.3f s", error->message, (g_get_monotonic_time () - t0) / 1e6);
  g_assert_nonnull (strstr (error->message, "gave up"));
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, limit_us);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, limit_us + 20 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* With the default timers a dead link is given up after 12.6 s, but health checks keep
   * their own 3 s deadline: the node is reported down, and soon. */
  tsr_netem_settings_init_off (&s);
  s.enabled = TRUE;
  s.loss_ppm = TSR_NETEM_LOSS_PPM_MAX;
  g_assert_cmpint (tsr_netem_settings_give_up_us (&s), ==, 12600 * 1000);
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &s, &error));
  t0 = g_get_monotonic_time ();
  g_assert_true (tsr_cluster_check_health (f->cluster, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 10 * G_USEC_PER_SEC);
  {
    g_autoptr (GPtrArray) status = tsr_cluster_dup_node_status (f->cluster);
    g_assert_false (((TsrNodeStatus *)status->pdata[0])->alive);
  }

  /* Back to normal, and the failed upload left no file. */
  g_assert_true (tsr_cluster_set_netem_profile (f->cluster, "off", &error));
  g_assert_no_error (error);
  files = tsr_cluster_list_files (f->cluster, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (files->len, ==, 0);
}

/* ---- changes at run time ---- */

typedef struct
{
  Fixture *f;
  GFile *file;
  TsrManifest *manifest;
  GError *error;
} UploadJob;

static gpointer
upload_thread (gpointer data)
{
  UploadJob *job = data;

  job->manifest = tsr_cluster_upload (job->f->cluster, job->file, NULL, &job->error);
  return NULL;
}

/* The seed profile would take 16 s for this file; switched off half a second in, the
 * transfer finishes at full speed, without errors, and the bytes round-trip. */
static void
test_switch_off_mid_transfer (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autoptr (GFile) file = write_random (f, "slow.bin", MIB, &content);
  g_autoptr (GError) error = NULL;
  UploadJob job = { f, file, NULL, NULL };
  TsrNetemStats total;
  GThread *thread;
  gint64 t0;

  g_assert_true (tsr_cluster_set_netem_profile (f->cluster, "seed", &error));
  g_assert_no_error (error);
  tsr_netem_reset_stats (tsr_cluster_get_netem (f->cluster));
  t0 = g_get_monotonic_time ();
  thread = g_thread_new ("upload", upload_thread, &job);
  g_usleep (500 * 1000);
  tsr_netem_get_total_stats (tsr_cluster_get_netem (f->cluster), &total);
  /* Under way: data is queued on the slow link. */
  g_assert_cmpuint (total.packets_sent, >, 0);
  g_assert_cmpint (total.backlog_us, >, G_USEC_PER_SEC);
  g_assert_true (tsr_cluster_set_netem_profile (f->cluster, "off", &error));
  g_assert_no_error (error);
  g_thread_join (thread);
  g_assert_no_error (job.error);
  g_assert_nonnull (job.manifest);
  g_test_message ("finished after %.3f s", (g_get_monotonic_time () - t0) / 1e6);
  /* Far below the 16 s the seed profile would have taken. */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 10 * G_USEC_PER_SEC);
  download_and_compare (f, job.manifest->file_id, content);
  tsr_manifest_free (job.manifest);
}

/* A link that loses everything, switched off before it gives up: what was waiting for a
 * retransmission arrives, and the upload succeeds. */
static void
test_switch_off_rescues_lost_link (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autoptr (GFile) file = write_random (f, "rescued.bin", 200000, &content);
  g_autoptr (GError) error = NULL;
  UploadJob job = { f, file, NULL, NULL };
  TsrNetemSettings s;
  GThread *thread;
  gint64 t0;

  tsr_netem_settings_init_off (&s);
  s.enabled = TRUE;
  s.loss_ppm = TSR_NETEM_LOSS_PPM_MAX; /* gives up after 12.6 s */
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &s, &error));
  t0 = g_get_monotonic_time ();
  thread = g_thread_new ("upload", upload_thread, &job);
  g_usleep (300 * 1000);
  g_assert_true (tsr_cluster_set_netem_profile (f->cluster, "off", &error));
  g_thread_join (thread);
  g_assert_no_error (job.error);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, tsr_netem_settings_give_up_us (&s));
  tsr_test_download_and_compare (f->cluster, f->dir, job.manifest->file_id, content);
  tsr_manifest_free (job.manifest);
}

/* Settings per node survive a restart (they live in cluster.json), apply to the named node
 * only, and bad ones are refused. */
static void
test_settings_persist (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) status = NULL;
  g_autoptr (JsonNode) info = NULL;
  TsrNetemSettings s, bad;

  tsr_netem_settings_init_seed (&s);
  s.bandwidth = 4 * MIB;
  g_assert_true (tsr_cluster_set_netem (f->cluster, "Node_03", &s, &error));
  g_assert_no_error (error);
  g_assert_false (tsr_cluster_set_netem (f->cluster, "Node_99", &s, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  bad = s;
  bad.latency_min_us = 20000; /* above the maximum */
  g_assert_false (tsr_cluster_set_netem (f->cluster, NULL, &bad, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tsr_cluster_set_netem_profile (f->cluster, "fast", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  tsr_test_close_cluster (g_steal_pointer (&f->cluster));
  f->cluster = tsr_test_open_cluster (f->data_dir);
  status = tsr_cluster_dup_node_status (f->cluster);
  for (guint i = 0; i < status->len; i++)
    {
      TsrNodeStatus *st = status->pdata[i];
      if (i == 2)
        g_assert_true (tsr_netem_settings_equal (&st->netem, &s));
      else
        g_assert_false (st->netem.enabled);
    }
  info = tsr_cluster_get_network_info (f->cluster);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info), "profile"), ==,
                   "mixed");
  g_assert_true (tsr_cluster_set_netem_profile (f->cluster, "seed", &error));
  g_clear_pointer (&info, json_node_unref);
  info = tsr_cluster_get_network_info (f->cluster);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info), "profile"), ==,
                   "seed");
}

/* The config parser stays strict about the new member. */
static void
test_config_strict (void)
{
  static const char *const bad[] = {
    "{\"enabled\":true}",
    "{\"enabled\":true,\"bandwidth_bps\":1,\"latency_min_us\":5,\"latency_max_us\":1,"
    "\"loss_ppm\":0,\"processing_us\":0,\"mtu\":1500,\"rto_ms\":200,\"max_retransmits\":8}",
    "{\"enabled\":true,\"bandwidth_bps\":1,\"latency_min_us\":0,\"latency_max_us\":1,"
    "\"loss_ppm\":1000001,\"processing_us\":0,\"mtu\":1500,\"rto_ms\":200,\"max_retransmits\":8}",
    "{\"enabled\":true,\"bandwidth_bps\":1,\"latency_min_us\":0,\"latency_max_us\":1,"
    "\"loss_ppm\":0,\"processing_us\":0,\"mtu\":100,\"rto_ms\":200,\"max_retransmits\":8}",
    "{\"enabled\":true,\"bandwidth_bps\":1,\"latency_min_us\":0,\"latency_max_us\":1,"
    "\"loss_ppm\":0,\"processing_us\":0,\"mtu\":1500,\"rto_ms\":0,\"max_retransmits\":8}",
    "\"seed\"",
  };
  const char *good = "{\"enabled\":true,\"bandwidth_bps\":65536,\"latency_min_us\":1000,"
                     "\"latency_max_us\":10000,\"loss_ppm\":10000,\"processing_us\":100,"
                     "\"mtu\":1500,\"rto_ms\":200,\"max_retransmits\":5}";
#define CONFIG_WITH_NETEM                                                                          \
  "{\"format\":\"tessera-cluster\",\"version\":1,\"chunk_size\":65536,\"replicas\":1,"             \
  "\"nodes\":[{\"node_id\":\"Node_01\",\"embedded\":true,\"host\":\"127.0.0.1\",\"port\":0,"       \
  "\"identity\":null,\"capacity_bytes\":1000,\"enabled\":true,\"netem\":%s}]}"
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *text = g_strdup_printf (CONFIG_WITH_NETEM, bad[i]);
      g_autoptr (TsrClusterConfig) c = tsr_cluster_config_parse (text, -1, &error);

      g_assert_null (c);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, "netem"));
      g_clear_error (&error);
    }
  {
    g_autofree char *text = g_strdup_printf (CONFIG_WITH_NETEM, good);
    g_autoptr (TsrClusterConfig) c = tsr_cluster_config_parse (text, -1, &error);
    TsrNetemSettings seed;

    g_assert_no_error (error);
    tsr_netem_settings_init_seed (&seed);
    g_assert_true (tsr_netem_settings_equal (&((TsrNodeConfig *)c->nodes->pdata[0])->netem, &seed));
    g_assert_cmpstr (tsr_netem_settings_get_profile (&((TsrNodeConfig *)c->nodes->pdata[0])->netem),
                     ==, "seed");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tessera/netem/packet-header", test_packet_header);
  g_test_add_func ("/tessera/netem/parsers", test_parsers);
  g_test_add_func ("/tessera/netem/config-strict", test_config_strict);
  g_test_add_func ("/tessera/netem/virtual-addresses", test_virtual_addresses);
#define ADD(path, shape, fn)                                                                       \
  g_test_add ("/tessera/netem/" path, Fixture, shape, fixture_setup, fn, fixture_teardown)
  ADD ("one-node-timing", &one_node, test_one_node_timing);
  ADD ("five-nodes-timing", &five_nodes, test_five_nodes_timing);
  ADD ("loss-round-trip", &five_nodes_replicated, test_loss_round_trip);
  ADD ("total-loss-times-out", &one_node, test_total_loss_times_out);
  ADD ("switch-off-mid-transfer", &one_node, test_switch_off_mid_transfer);
  ADD ("switch-off-rescues-lost-link", &one_node, test_switch_off_rescues_lost_link);
  ADD ("settings-persist", &five_nodes, test_settings_persist);
#undef ADD

  return g_test_run ();
}
