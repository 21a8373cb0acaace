/* fuzz-cluster-config.c: libFuzzer target for DATA_DIR/cluster.json (tsr-cluster-config.c)
 *
 * What the parser accepts must be usable as is (valid chunk size, replicas, unique node ids,
 * remote nodes with a pinned identity, link settings the emulated network accepts) and must
 * survive a save and a second parse unchanged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"

#include <stdint.h>
#include <glib/gstdio.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *scratch;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  scratch = g_dir_make_tmp ("tessera-fuzz-config-XXXXXX", NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrClusterConfig) c = NULL;
  g_autoptr (TsrClusterConfig) again = NULL;
  g_autofree char *path = NULL;

  if (scratch == NULL)
    LLVMFuzzerInitialize (NULL, NULL);
  c = tsr_cluster_config_parse ((const char *)data, size, &error);
  if (c == NULL)
    {
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      return 0;
    }
  g_assert_true (tsr_chunk_size_is_valid (c->chunk_size));
  g_assert_cmpuint (c->replicas, >, 0);
  for (guint i = 0; i < c->nodes->len; i++)
    {
      TsrNodeConfig *n = c->nodes->pdata[i];
      g_assert_true (tsr_cluster_config_find (c, n->node_id) == n);
      g_assert_true (n->embedded || (n->identity != NULL && n->port != 0));
      g_assert_true (tsr_netem_settings_validate (&n->netem, NULL));
    }

  path = g_build_filename (scratch, "cluster.json", NULL);
  g_assert_true (tsr_cluster_config_save (c, path, &error));
  again = tsr_cluster_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->nodes->len, ==, c->nodes->len);
  g_assert_cmpuint (again->chunk_size, ==, c->chunk_size);
  for (guint i = 0; i < c->nodes->len; i++)
    g_assert_true (tsr_netem_settings_equal (&((TsrNodeConfig *)c->nodes->pdata[i])->netem,
                                             &((TsrNodeConfig *)again->nodes->pdata[i])->netem));
  g_unlink (path);
  return 0;
}
