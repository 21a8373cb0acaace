/* bench-node: one client storing and retrieving 1 GiB of 64 KiB segments on one node over
 * loopback TLS
 *
 * The client is one TsrNodeClient; a few threads share it so that many requests are in
 * flight, as the cluster's upload pipeline does. Store is timed to the last acknowledgement
 * and then to the end of one Sync (durable on disk); the disk's own sequential fdatasync rate
 * is measured in the same run so the durable figure can be read as a ratio to it, and so is
 * how long creating a file takes (slow on ext4 without a journal right after mass deletions).
 *
 * Usage: bench-node [MIB] [THREADS]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "bench-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define SEG ((gsize)64 * 1024)

typedef struct
{
  TsrNodeClient *client;
  const guint8 *data;
  char **ids;
  gsize n;
  gint next;
  gboolean retrieve;
} Shared;

static gpointer
worker (gpointer p)
{
  Shared *s = p;
  gint i;

  while ((i = g_atomic_int_add (&s->next, 1)) < (gint)s->n)
    {
      g_autoptr (GError) error = NULL;
      if (s->retrieve)
        {
          g_autoptr (GBytes) b =
              tsr_node_client_retrieve_segment (s->client, s->ids[i], NULL, &error);
          if (b == NULL)
            g_error ("retrieve: %s", error->message);
        }
      else
        {
          g_autoptr (GBytes) b = g_bytes_new_static (s->data + (gsize)i * SEG, SEG);
          if (!tsr_node_client_store_segment (s->client, s->ids[i], b, FALSE, NULL, &error))
            g_error ("store: %s", error->message);
        }
    }
  return NULL;
}

static double
run (Shared *s, guint threads)
{
  GThread **t = g_new (GThread *, threads);
  gint64 t0 = g_get_monotonic_time ();

  s->next = 0;
  for (guint i = 0; i < threads; i++)
    t[i] = g_thread_new ("bench", worker, s);
  for (guint i = 0; i < threads; i++)
    g_thread_join (t[i]);
  g_free (t);
  return (g_get_monotonic_time () - t0) / 1e6;
}

int
main (int argc, char **argv)
{
  gsize mib = argc > 1 ? (gsize)atoi (argv[1]) : 1024;
  guint threads = argc > 2 ? (guint)atoi (argv[2]) : 8;
  gsize total = mib * 1024 * 1024, n = total / SEG;
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("tessera-bench-node-XXXXXX", &error);
  g_autofree char *store_dir = g_build_filename (base, "Node_01", NULL);
  g_autofree char *nid_dir = g_build_filename (base, "node-id", NULL);
  g_autofree char *cid_dir = g_build_filename (base, "client-id", NULL);
  g_autofree guint8 *data = g_malloc (total);
  g_autoptr (TsrIdentity) nid = NULL;
  g_autoptr (TsrIdentity) cid = NULL;
  g_autoptr (TsrTrustStore) trusted = tsr_trust_store_new ();
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (TsrNode) node = NULL;
  g_autoptr (TsrNodeClient) client = NULL;
  g_autofree char *address = NULL;
  Shared s = { 0 };
  double disk, create_usec, t_store, t_sync, t_get, cpu_store, cpu_get;
  gint64 t0;

  bench_fill (data, total, 0x9e3779b97f4a7c15ULL);
  s.ids = g_new0 (char *, n + 1);
  for (gsize i = 0; i < n; i++)
    {
      s.ids[i] = g_malloc (TSR_SHA256_HEX_LEN + 1);
      tsr_sha256_hex (data + i * SEG, SEG, s.ids[i]);
    }

  disk = bench_disk_rate (base, data, total);
  create_usec = bench_create_probe (base);

  nid = tsr_identity_load_or_create (nid_dir, "node", &error);
  g_assert_no_error (error);
  cid = tsr_identity_load_or_create (cid_dir, "client", &error);
  g_assert_no_error (error);
  tsr_trust_store_add (trusted, tsr_identity_get_id (cid), NULL, &error);
  store = tsr_segment_store_open (store_dir, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
  g_assert_no_error (error);
  node = tsr_node_new ("Node_01", store, nid, trusted);
  if (!tsr_node_start (node, "127.0.0.1", 0, &error))
    g_error ("%s", error->message);
  address = tsr_node_dup_address (node);
  client = tsr_node_client_new ("Node_01", address, tsr_identity_get_id (nid), cid);

  s.client = client;
  s.data = data;
  s.n = n;
  cpu_store = bench_cpu_seconds ();
  t_store = run (&s, threads);
  cpu_store = bench_cpu_seconds () - cpu_store;
  t0 = g_get_monotonic_time ();
  if (!tsr_node_client_sync (client, NULL, &error))
    g_error ("sync: %s", error->message);
  t_sync = (g_get_monotonic_time () - t0) / 1e6;
  s.retrieve = TRUE;
  cpu_get = bench_cpu_seconds ();
  t_get = run (&s, threads);
  cpu_get = bench_cpu_seconds () - cpu_get;

  printf ("1 client, %u threads, %u connections, %" G_GSIZE_FORMAT " x 64 KiB = %" G_GSIZE_FORMAT
          " MiB over loopback TLS\n",
          threads, tsr_node_client_get_n_connections (client), n, mib);
  printf ("disk (one file, fdatasync):  %8.1f MB/s\n", disk);
  bench_print_create_probe (create_usec);
  printf ("store (acknowledged):        %8.1f MB/s  (CPU %.2f s: %.2f cores)\n",
          total / t_store / 1e6, cpu_store, cpu_store / t_store);
  printf ("store + one sync (durable):  %8.1f MB/s  (%.2fx the disk)\n",
          total / (t_store + t_sync) / 1e6, total / (t_store + t_sync) / 1e6 / disk);
  printf ("retrieve (verified twice):   %8.1f MB/s  (CPU %.2f s: %.2f cores)\n",
          total / t_get / 1e6, cpu_get, cpu_get / t_get);

  tsr_node_stop (node);
  tsr_segment_store_close (store, NULL);
  g_strfreev (s.ids);
  bench_rm_rf (base);
  return 0;
}
