/* fuzz-manifest.c: libFuzzer target for the manifest loader (src/engine/tsr-manifest.c)
 *
 * Manifests are read from the catalog on disk and, when a catalog is recovered, from the
 * nodes: untrusted. Whatever the loader accepts must be internally consistent (the checks the
 * download path relies on) and must survive a write and a second parse unchanged. The summary
 * `list` reads must accept and refuse exactly the same inputs, and account for every chunk.
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
  g_autoptr (TsrManifest) m = tsr_manifest_parse ((const char *)data, size, &error);
  g_autoptr (TsrManifest) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  gsize len, len2;

  g_autoptr (GError) summary_error = NULL;
  g_autoptr (TsrManifest) summary =
      tsr_manifest_parse_summary ((const char *)data, size, &summary_error);
  guint64 counted = 0;

  if (m == NULL)
    {
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      /* A summary is refused exactly where the whole manifest is, for the same reason. */
      g_assert_null (summary);
      g_assert_cmpstr (summary_error->message, ==, error->message);
      return 0;
    }
  g_assert_no_error (summary_error);
  g_assert_cmpstr (summary->file_id, ==, m->file_id);
  g_assert_cmpuint (summary->chunk_count, ==, m->chunk_count);
  g_assert_cmpuint (summary->chunks->len, ==, 0);
  for (guint i = 0; i < summary->placements->len; i++)
    counted += ((TsrManifestPlacement *)summary->placements->pdata[i])->chunks;
  g_assert_cmpuint (counted, ==, m->chunk_count);
  g_assert_true (tsr_file_id_is_valid (m->file_id));
  g_assert_cmpuint (m->chunks->len, ==, m->chunk_count);
  g_assert_cmpuint (m->chunk_count, ==, tsr_chunk_count (m->size, m->chunk_size));
  for (guint i = 0; i < m->chunks->len; i++)
    {
      TsrManifestChunk *c = m->chunks->pdata[i];
      g_assert_cmpuint (c->index, ==, i);
      g_assert_true (tsr_segment_id_is_valid (c->segment_id));
      g_assert_cmpuint (c->size, >=, TSR_CHUNK_OVERHEAD);
    }

  text = tsr_manifest_to_data (m, &len);
  again = tsr_manifest_parse (text, len, &error);
  g_assert_no_error (error);
  text2 = tsr_manifest_to_data (again, &len2);
  g_assert_cmpmem (text, len, text2, len2);
  return 0;
}
