/* tsr-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tsr-test-util.h"

#include <errno.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

/* A fresh directory under $TMPDIR (meson gives each test its own environment). */
char *
tsr_test_make_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("tessera-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
tsr_test_rmdir (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);
        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          tsr_test_rmdir (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

GBytes *
tsr_test_random_bytes (GRand *rand, gsize len)
{
  guint8 *buf = g_malloc (MAX (len, 1));

  for (gsize i = 0; i < len; i++)
    buf[i] = g_rand_int (rand) & 0xff;
  return g_bytes_new_take (buf, len);
}

/* Total size of the regular files under @dir, recursively: an independent view of usage. */
guint64
tsr_test_sum_file_sizes (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint64 sum = 0;

  if (d == NULL)
    return 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);
      GStatBuf st;

      if (g_lstat (child, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        sum += tsr_test_sum_file_sizes (child);
      else if (S_ISREG (st.st_mode))
        sum += st.st_size;
    }
  return sum;
}

gboolean
tsr_test_dir_is_empty (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);

  return d == NULL || g_dir_read_name (d) == NULL;
}
