/* fuzz-accounts.c: libFuzzer target for the accounts loader (src/engine/tsr-accounts.c)
 *
 * accounts.json can be damaged on disk. Whatever the loader makes of it, it must refuse
 * cleanly or produce accounts that answer questions without crashing; a refused file must be
 * left exactly as it was.
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
  scratch = g_dir_make_tmp ("tessera-fuzz-accounts-XXXXXX", NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  g_autofree char *after = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = NULL;
  gsize after_len = 0;

  if (scratch == NULL)
    LLVMFuzzerInitialize (NULL, NULL);
  path = g_build_filename (scratch, "accounts.json", NULL);
  g_assert_true (g_file_set_contents (path, (const char *)data, size, NULL));
  accounts = tsr_accounts_load (path, &error);
  if (accounts == NULL)
    {
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
      g_assert_cmpmem (after, after_len, data, size);
    }
  else
    {
      /* Questions that need no password hashing, so each input stays fast. */
      g_assert_false (tsr_accounts_has_user (accounts, "no such user!"));
      (void)tsr_accounts_user_has_otp (accounts, "alice");
      g_assert_null (tsr_accounts_validate_session (accounts, "0000", NULL));
    }
  g_unlink (path);
  return 0;
}
