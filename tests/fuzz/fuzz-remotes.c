/* fuzz-remotes.c: libFuzzer target for DATA_DIR/remotes.json (tsr-remotes.c)
 *
 * Its values reach SSH and commands on the hosts: what the parser accepts must have the forms
 * the CLI relies on (a safe name, a provisioned remote with an id and absolute paths), and must
 * survive a save and a second parse unchanged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"

#include <stdint.h>
#include <string.h>
#include <glib/gstdio.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *scratch;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  scratch = g_dir_make_tmp ("tessera-fuzz-remotes-XXXXXX", NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) remotes = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autofree char *path = NULL;

  if (scratch == NULL)
    LLVMFuzzerInitialize (NULL, NULL);
  remotes = tsr_remotes_parse ((const char *)data, size, &error);
  if (remotes == NULL)
    {
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      return 0;
    }
  for (guint i = 0; i < remotes->len; i++)
    {
      TsrRemote *r = remotes->pdata[i];

      g_assert_true (tsr_cluster_node_id_is_valid (r->name));
      g_assert_true (tsr_remotes_find (remotes, r->name) == r);
      g_assert_cmpuint (r->port, >, 0);
      g_assert_true (r->user[0] != '-' && r->host[0] != '-');
      if (strcmp (r->service, "none") != 0)
        {
          g_assert_true (tsr_segment_id_is_valid (r->node_id));
          g_assert_true (g_path_is_absolute (r->remote_dir));
          g_assert_true (g_path_is_absolute (r->tesserad));
        }
    }

  path = g_build_filename (scratch, "remotes.json", NULL);
  g_assert_true (tsr_remotes_save (remotes, path, &error));
  again = tsr_remotes_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, remotes->len);
  for (guint i = 0; i < remotes->len; i++)
    {
      TsrRemote *a = remotes->pdata[i], *b = again->pdata[i];
      g_assert_cmpstr (a->name, ==, b->name);
      g_assert_cmpstr (a->host, ==, b->host);
      g_assert_cmpstr (a->node_id, ==, b->node_id);
      g_assert_cmpuint (a->port, ==, b->port);
    }
  g_unlink (path);
  return 0;
}
