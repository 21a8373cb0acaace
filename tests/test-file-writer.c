/* test-file-writer.c: a download's writes on their own thread, to a real file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* Pieces of uneven sizes, across and exactly on the writer's 1 MiB blocks, come back as they
 * went in, in order, without the padding O_DIRECT needs for the last block. */
static void
check_round_trip (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "out.bin", NULL);
  g_autoptr (GRand) rand = g_rand_new_with_seed (21);
  const gsize totals[] = { 0, 1, 4096, 1024 * 1024, 3 * 1024 * 1024 + 7 };

  for (guint t = 0; t < G_N_ELEMENTS (totals); t++)
    {
      g_autoptr (GBytes) content = tsr_test_random_bytes (rand, totals[t]);
      const guint8 *p = g_bytes_get_data (content, NULL);
      g_autoptr (TsrFileWriter) writer = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *back = NULL;
      gsize done = 0, len;
      int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

      g_assert_cmpint (fd, >=, 0);
      writer = tsr_file_writer_new (fd, path);
      while (done < totals[t])
        {
          gsize piece = g_rand_int_range (rand, 1, 200000);

          piece = MIN (piece, totals[t] - done);
          g_assert_true (tsr_file_writer_write (writer, p + done, piece, &error));
          g_assert_no_error (error);
          done += piece;
        }
      g_assert_true (tsr_file_writer_finish (writer, &error));
      g_assert_no_error (error);
      g_test_message ("%s, %zu bytes: %s", dir, totals[t],
                      tsr_file_writer_is_direct (writer) ? "O_DIRECT" : "page cache");
      g_assert_cmpint (close (fd), ==, 0);

      g_assert_true (g_file_get_contents (path, &back, &len, NULL));
      g_assert_cmpmem (back, len, p, totals[t]);
    }
  g_unlink (path);
}

static void
test_round_trip (void)
{
  g_autofree char *dir = tsr_test_make_tmpdir ();

  check_round_trip (dir);
  tsr_test_rmdir (dir);
  /* tmpfs: O_DIRECT refused (before Linux 6.6) or honoured, the bytes are the same. */
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && access ("/dev/shm", W_OK) == 0)
    check_round_trip ("/dev/shm");
}

/* A device with no space left: the failure comes back as NO_SPACE naming the file, from a
 * later write or from finish, and nothing hangs. */
static void
test_no_space (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (22);
  g_autoptr (GBytes) block = tsr_test_random_bytes (rand, 300000);
  g_autoptr (TsrFileWriter) writer = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;
  int fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);

  if (fd < 0)
    {
      g_test_skip ("no /dev/full");
      return;
    }
  writer = tsr_file_writer_new (fd, "the download");
  for (guint i = 0; i < 40 && ok; i++)
    ok = tsr_file_writer_write (writer, g_bytes_get_data (block, NULL), 300000, &error);
  if (ok)
    ok = tsr_file_writer_finish (writer, &error);
  g_assert_false (ok);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "the download"));
  close (fd);
}

/* A download that fails or is cancelled drops its writer without finishing it: whatever was
 * still queued is not written, and freeing does not wait for it. */
static void
test_abandon (void)
{
  g_autofree char *dir = tsr_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "out.bin", NULL);
  g_autoptr (GRand) rand = g_rand_new_with_seed (23);
  g_autoptr (GBytes) block = tsr_test_random_bytes (rand, 1024 * 1024);
  TsrFileWriter *writer;
  GStatBuf st;
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  writer = tsr_file_writer_new (fd, path);
  for (guint i = 0; i < 5; i++)
    g_assert_true (
        tsr_file_writer_write (writer, g_bytes_get_data (block, NULL), 1024 * 1024, NULL));
  tsr_file_writer_free (writer);
  g_assert_cmpint (close (fd), ==, 0);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, <=, 5 * 1024 * 1024);
  g_assert_cmpint (st.st_size % (1024 * 1024), ==, 0);
  tsr_test_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tessera/file-writer/round-trip", test_round_trip);
  g_test_add_func ("/tessera/file-writer/no-space", test_no_space);
  g_test_add_func ("/tessera/file-writer/abandon", test_abandon);

  return g_test_run ();
}
