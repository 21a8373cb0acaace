/* bench-metadata: opening and syncing a node store that holds many segments
 *
 * A node's metadata.json lists every segment it holds: 160,000 for a full 10 GB node of
 * 64 KiB segments. Every tessera-cli command opens each embedded node's store and reads it; a
 * sync saves it only once a quarter of it changed, a close always does. This writes such a file
 * (the segment files themselves are not needed to open a cleanly closed store), then times
 * opening the store, one put and its sync, and the close that saves the file, with the
 * process's resident memory after each step. For reference it also reads the same file into a
 * json-glib tree, as the store once did. Last, it times the recount an open does after a crash
 * left the index behind, over as many (one-byte) segment files, their directory entries cached.
 *
 * Usage: bench-metadata [SEGMENTS]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"

#include <stdio.h>
#include <stdlib.h>
#include <glib/gstdio.h>

#define SEG_SIZE 65576 /* a 64 KiB chunk and its encryption overhead */

static double
rss_mib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (line = strstr (status, "VmRSS:")) == NULL)
    return 0;
  return g_ascii_strtod (line + 6, NULL) / 1024.0;
}

static double
seconds_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? (guint)atoi (argv[1]) : 160000;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tessera-bench-metadata-XXXXXX", &error);
  g_autofree char *meta = g_build_filename (dir, "metadata.json", NULL);
  g_autoptr (GString) json = g_string_sized_new ((gsize)n * 80 + 256);
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (GBytes) seg = g_bytes_new_static ("one more segment", 16);
  g_autoptr (JsonParser) parser = json_parser_new ();
  double base = rss_mib (), t;
  gint64 t0;

  g_assert_no_error (error);
  g_string_append_printf (
      json,
      "{\"format\":\"tessera-node-metadata\",\"version\":1,"
      "\"updated_at\":\"2026-11-28T00:00:00Z\",\"capacity_bytes\":%" G_GUINT64_FORMAT
      ",\"used_bytes\":%" G_GUINT64_FORMAT ",\"segment_count\":%u,\"segments\":{",
      TSR_SEGMENT_STORE_DEFAULT_CAPACITY, (guint64)n * SEG_SIZE, n);
  for (guint i = 0; i < n; i++)
    {
      char id[TSR_SHA256_HEX_LEN + 1];

      tsr_sha256_hex (&i, sizeof i, id);
      g_string_append_printf (json, "%s\"%s\":%d", i ? "," : "", id, SEG_SIZE);
    }
  g_string_append (json, "}}");
  g_assert_true (g_file_set_contents (meta, json->str, json->len, NULL));
  printf ("metadata.json with %u segments: %.1f MB\n", n, json->len / 1e6);
  g_string_truncate (json, 0);
  base = rss_mib ();

  t0 = g_get_monotonic_time ();
  store = tsr_segment_store_open (dir, (guint64)n * SEG_SIZE * 2, &error);
  g_assert_no_error (error);
  t = seconds_since (t0);
  g_assert_false (tsr_segment_store_was_rebuilt (store));
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, n);
  printf ("open:                    %6.3f s  RSS +%.1f MiB\n", t, rss_mib () - base);

  g_assert_true (tsr_segment_store_put (store, seg, NULL, NULL, &error));
  t0 = g_get_monotonic_time ();
  g_assert_true (tsr_segment_store_sync (store, &error));
  printf ("one put, then sync:      %6.3f s  RSS +%.1f MiB\n", seconds_since (t0),
          rss_mib () - base);
  t0 = g_get_monotonic_time ();
  g_assert_true (tsr_segment_store_close (store, &error));
  printf ("close (saves the index): %6.3f s  RSS +%.1f MiB\n", seconds_since (t0),
          rss_mib () - base);
  g_clear_object (&store);

  t0 = g_get_monotonic_time ();
  g_assert_true (json_parser_load_from_file (parser, meta, &error));
  printf ("(json-glib tree of it:   %6.3f s  RSS +%.1f MiB)\n", seconds_since (t0),
          rss_mib () - base);

  /* A store whose index is behind: the same number of segment files and the marker. */
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'/*", dir);
    g_autofree char *marker = g_build_filename (dir, "metadata.dirty", NULL);

    g_assert_cmpint (system (cmd), ==, 0);
    store = tsr_segment_store_open (dir, (guint64)n * SEG_SIZE * 2, &error);
    g_assert_no_error (error);
    g_assert_true (tsr_segment_store_close (store, &error));
    g_clear_object (&store);
    for (guint i = 0; i < n; i++)
      {
        char id[TSR_SHA256_HEX_LEN + 1];
        char fan[3] = { 0 };
        g_autofree char *path = NULL;

        tsr_sha256_hex (&i, sizeof i, id);
        memcpy (fan, id, 2);
        path = g_build_filename (dir, "segments", fan, id, NULL);
        g_assert_true (g_file_set_contents (path, "x", 1, NULL));
      }
    g_assert_true (g_file_set_contents (marker, "", 0, NULL));
    t0 = g_get_monotonic_time ();
    store = tsr_segment_store_open (dir, (guint64)n * SEG_SIZE * 2, &error);
    g_assert_no_error (error);
    t = seconds_since (t0);
    g_assert_true (tsr_segment_store_was_rebuilt (store));
    g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, n);
    printf ("open after a crash:      %6.3f s  (a recount of %u files, and saving it)\n", t, n);
    g_clear_object (&store);
  }

  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
    if (system (cmd) != 0)
      g_printerr ("could not remove %s\n", dir);
  }
  return 0;
}
