/* bench-segment-store: put and get throughput of one node's segment store
 *
 * Stores 1 GiB of 64 KiB segments with one sync at the end, then reads every segment back
 * (from the page cache) with its hash check. Before that it measures the disk itself: the
 * same gigabyte written sequentially to one file with fdatasync, so the put figure can be
 * read as a ratio to what the disk does right now (this machine's durable write rate swings
 * between ~160 and ~270 MB/s).
 *
 * Usage: bench-segment-store [DIR] [MIB]
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

int
main (int argc, char **argv)
{
  g_autofree char *base = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GError) error = NULL;
  gsize mib = argc > 2 ? (gsize)atoi (argv[2]) : 1024;
  gsize total = mib * 1024 * 1024;
  gsize n = total / SEG;
  g_autofree guint8 *data = g_malloc (total);
  char **ids = g_new0 (char *, n + 1);
  double disk, create_usec, put_rate, put_nosync_rate, get_rate;
  gint64 t0, t1;

  if (argc > 1)
    base = g_strdup (argv[1]);
  else
    base = g_dir_make_tmp ("tessera-bench-XXXXXX", &error);
  g_assert_no_error (error);
  dir = g_build_filename (base, "Node_01", NULL);
  bench_fill (data, total, 0x9e3779b97f4a7c15ULL);

  disk = bench_disk_rate (base, data, total);
  create_usec = bench_create_probe (base);

  {
    g_autoptr (TsrSegmentStore) store =
        tsr_segment_store_open (dir, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
    g_assert_no_error (error);

    t0 = g_get_monotonic_time ();
    for (gsize i = 0; i < n; i++)
      {
        g_autoptr (GBytes) b = g_bytes_new_static (data + i * SEG, SEG);
        if (!tsr_segment_store_put (store, b, NULL, &ids[i], &error))
          g_error ("put: %s", error->message);
      }
    t1 = g_get_monotonic_time ();
    if (!tsr_segment_store_sync (store, &error))
      g_error ("sync: %s", error->message);
    put_nosync_rate = total / ((t1 - t0) / 1e6) / 1e6;
    put_rate = total / ((g_get_monotonic_time () - t0) / 1e6) / 1e6;

    t0 = g_get_monotonic_time ();
    for (gsize i = 0; i < n; i++)
      {
        g_autoptr (GBytes) b = tsr_segment_store_get (store, ids[i], &error);
        if (b == NULL)
          g_error ("get: %s", error->message);
      }
    get_rate = total / ((g_get_monotonic_time () - t0) / 1e6) / 1e6;
    g_assert (tsr_segment_store_close (store, &error));
  }

  printf ("segments: %" G_GSIZE_FORMAT " x 64 KiB = %" G_GSIZE_FORMAT " MiB in %s\n", n, mib, dir);
  printf ("disk (one file, fdatasync): %8.1f MB/s\n", disk);
  bench_print_create_probe (create_usec);
  printf ("put + one sync:             %8.1f MB/s  (%.2fx the disk; before the sync %.1f MB/s)\n",
          put_rate, put_rate / disk, put_nosync_rate);
  printf ("get (page cache, verified): %8.1f MB/s\n", get_rate);

  g_strfreev (ids);
  bench_rm_rf (argc > 1 ? dir : base);
  return 0;
}
