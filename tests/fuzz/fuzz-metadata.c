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
  g_autoptr (TsrSegmentIndex) index = tsr_segment_index_new ();
  guint64 used = 0, sum = 0;

  if (!tsr_segment_store_parse_metadata ((const char *)data, size, index, &used, &error))
    {
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      return 0;
    }
  for (guint i = 0; i < tsr_segment_index_size (index); i++)
    {
      char id[TSR_SHA256_HEX_LEN + 1];
      gsize seg_size;

      tsr_segment_index_get (index, i, id, &seg_size);
      g_assert_true (tsr_segment_id_is_valid (id));
      g_assert_cmpuint (seg_size, <=, TSR_SEGMENT_MAX_SIZE);
      sum += seg_size;
    }
  g_assert_cmpuint (sum, ==, used);
  return 0;
}
