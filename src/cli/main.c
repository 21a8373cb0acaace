/* tessera-cli: the command-line client
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "tessera.h"

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: tessera-cli [--data-dir DIR] [--json] COMMAND ...\n"
           "\n"
           "Tessera splits files into encrypted segments and replicates them across your "
           "machines.\n"
           "\n"
           "Options:\n"
           "  --data-dir DIR   use DIR instead of $TESSERA_DATA_DIR or $XDG_DATA_HOME/tessera\n"
           "  --json           machine-readable output\n"
           "  --version        print the version\n"
           "  -h, --help       show this help\n"
           "\n"
           "Commands:\n"
           "  store-info DIR   show the usage of one node's segment store\n"
           "\n"
           "The cluster commands (upload, download, list, nodes, health, ...) are not built "
           "yet.\n");
}

static int
cmd_store_info (const char *dir, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) store = NULL;
  TsrStorageInfo info;

  g_autofree char *meta = g_build_filename (dir, "metadata.json", NULL);
  g_autofree char *segs = g_build_filename (dir, "segments", NULL);

  /* Refuse to turn an arbitrary directory into a store by looking at it. */
  if (!g_file_test (meta, G_FILE_TEST_EXISTS) && !g_file_test (segs, G_FILE_TEST_IS_DIR))
    {
      fprintf (stderr, "tessera-cli: %s is not a node store directory\n", dir);
      return 1;
    }
  store = tsr_segment_store_open (dir, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
  if (store == NULL)
    {
      fprintf (stderr, "tessera-cli: %s\n", error->message);
      return 1;
    }
  tsr_segment_store_get_info (store, &info);
  if (json)
    {
      g_autoptr (JsonNode) node = tsr_storage_info_to_json (&info);
      g_autofree char *text = json_to_string (node, TRUE);
      printf ("%s\n", text);
    }
  else
    {
      g_autofree char *used = g_format_size (info.used_bytes);
      g_autofree char *cap = g_format_size (info.capacity_bytes);
      g_autofree char *avail = g_format_size (info.available_bytes);
      printf ("Segments     %" G_GUINT64_FORMAT "\n", info.segment_count);
      printf ("Used         %s of %s (%.1f%%)\n", used, cap, info.utilization);
      printf ("Available    %s\n", avail);
    }
  if (!tsr_segment_store_close (store, &error))
    {
      fprintf (stderr, "tessera-cli: %s\n", error->message);
      return 1;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  gboolean json = FALSE;
  int i;

  setlocale (LC_ALL, "");

  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        json = TRUE;
      else if (strcmp (argv[i], "--data-dir") == 0 && i + 1 < argc)
        i++; /* accepted now so scripts keep working when the cluster commands land */
      else if (strcmp (argv[i], "--version") == 0)
        {
          printf ("tessera-cli %s\n", PACKAGE_VERSION);
          return 0;
        }
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      else
        {
          fprintf (stderr, "tessera-cli: unknown option %s\n\n", argv[i]);
          print_usage (stderr);
          return 2;
        }
    }

  if (i >= argc)
    {
      print_usage (stderr);
      return 2;
    }
  if (strcmp (argv[i], "store-info") == 0 && i + 2 == argc)
    return cmd_store_info (argv[i + 1], json);

  fprintf (stderr, "tessera-cli: unknown command or arguments: %s\n\n", argv[i]);
  print_usage (stderr);
  return 2;
}
