/* fuzz-metadata.c: libFuzzer target for the node metadata loader (metadata.json of a segment
 * store, src/engine/tsr-segment-store.c)
 *
 * The file lives on a node's disk, where a crash, a full disk or a person can leave anything.
 * Whatever the loader accepts must be what the store relies on: valid ids, sizes within the
 * segment limit, and totals that agree with the list; anything else must be refused as
 * CORRUPT (the store then rebuilds its index from the segment files).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;
  guint64 used = 0, sum = 0;

  if (!tsr_segment_store_parse_metadata ((const char *)data, size, table, &used, &error))
    {
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      return 0;
    }
  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_assert_true (tsr_segment_id_is_valid (key));
      g_assert_cmpuint (GPOINTER_TO_SIZE (value), <=, TSR_SEGMENT_MAX_SIZE);
      sum += GPOINTER_TO_SIZE (value);
    }
  g_assert_cmpuint (sum, ==, used);
  return 0;
}
