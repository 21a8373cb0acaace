/* test-chunker.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  char *dir;
  GRand *rand;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = tsr_test_make_tmpdir ();
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_rand_free (f->rand);
}

/* Writes @len random bytes to a real file, chunks it back and checks every chunk. */
static void
check_chunking (Fixture *f, gsize len, gsize chunk_size)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, len);
  g_autofree char *path = g_build_filename (f->dir, "input.bin", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrChunker) chunker = NULL;
  g_autoptr (GByteArray) joined = g_byte_array_new ();
  guint64 expected_chunks = len / chunk_size + (len % chunk_size ? 1 : 0);
  GBytes *chunk;
  guint64 n = 0;

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (content, NULL), len, NULL));
  chunker = tsr_chunker_new_for_file (file, chunk_size, NULL, &error);
  g_assert_no_error (error);

  while ((chunk = tsr_chunker_next (chunker, NULL, &error)) != NULL)
    {
      gsize clen;
      const guint8 *cdata = g_bytes_get_data (chunk, &clen);

      n++;
      /* Every chunk is full except the last, which is never empty. */
      if (n < expected_chunks)
        g_assert_cmpuint (clen, ==, chunk_size);
      else
        {
          g_assert_cmpuint (clen, >, 0);
          g_assert_cmpuint (clen, ==, len - (expected_chunks - 1) * chunk_size);
        }
      g_byte_array_append (joined, cdata, clen);
      g_bytes_unref (chunk);
    }
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, expected_chunks);
  g_assert_cmpuint (tsr_chunk_count (len, chunk_size), ==, expected_chunks);
  g_assert_cmpuint (tsr_chunker_get_index (chunker), ==, expected_chunks);
  g_assert_cmpuint (tsr_chunker_get_offset (chunker), ==, len);
  g_assert_cmpuint (joined->len, ==, len);
  g_assert_cmpmem (joined->data, joined->len, g_bytes_get_data (content, NULL), len);
  /* After the end it stays at the end. */
  g_assert_null (tsr_chunker_next (chunker, NULL, &error));
  g_assert_no_error (error);
}

static void
test_sizes (Fixture *f, gconstpointer data)
{
  const gsize chunk_sizes[] = { TSR_CHUNK_SIZE_MIN, TSR_CHUNK_SIZE_DEFAULT, 100000 };

  for (guint c = 0; c < G_N_ELEMENTS (chunk_sizes); c++)
    {
      gsize cs = chunk_sizes[c];
      const gsize sizes[] = { 0, 1, cs - 1, cs, cs + 1, 3 * cs + 7 };

      for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
        check_chunking (f, sizes[i], cs);
    }
  g_assert_cmpuint (tsr_chunk_count (0, 65536), ==, 0);
  g_assert_cmpuint (tsr_chunk_count (3 * 65536 + 7, 65536), ==, 4);
}

static void
test_chunk_size_limits (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "x", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrChunker) chunker = NULL;

  g_assert_true (g_file_set_contents (path, "abc", 3, NULL));
  g_assert_false (tsr_chunk_size_is_valid (TSR_CHUNK_SIZE_MIN - 1));
  g_assert_false (tsr_chunk_size_is_valid (TSR_CHUNK_SIZE_MAX + 1));
  g_assert_true (tsr_chunk_size_is_valid (TSR_CHUNK_SIZE_MAX));

  chunker = tsr_chunker_new_for_file (file, 1024, NULL, &error);
  g_assert_null (chunker);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
}

static void
test_refuses_directory_and_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GFile) dir = g_file_new_for_path (f->dir);
  g_autofree char *missing_path = g_build_filename (f->dir, "missing", NULL);
  g_autoptr (GFile) missing = g_file_new_for_path (missing_path);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrChunker) chunker = NULL;

  chunker = tsr_chunker_new_for_file (dir, TSR_CHUNK_SIZE_DEFAULT, NULL, &error);
  g_assert_null (chunker);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  chunker = tsr_chunker_new_for_file (missing, TSR_CHUNK_SIZE_DEFAULT, NULL, &error);
  g_assert_null (chunker);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
}

/* The seed's chunk_file then reconstruct_file, through a real store on disk. */
static void
test_reconstruct_through_store (Fixture *f, gconstpointer data)
{
  gsize len = 3 * 65536 + 7;
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, len);
  g_autofree char *path = g_build_filename (f->dir, "doc.bin", NULL);
  g_autofree char *store_dir = g_build_filename (f->dir, "Node_01", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (TsrChunker) chunker = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GBytes) rebuilt = NULL;
  GBytes *chunk;

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (content, NULL), len, NULL));
  store = tsr_segment_store_open (store_dir, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
  g_assert_no_error (error);
  chunker = tsr_chunker_new_for_file (file, TSR_CHUNK_SIZE_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  while ((chunk = tsr_chunker_next (chunker, NULL, &error)) != NULL)
    {
      char *id = NULL;
      g_assert_true (tsr_segment_store_put (store, chunk, NULL, &id, &error));
      g_ptr_array_add (ids, id);
      g_bytes_unref (chunk);
    }
  g_assert_no_error (error);
  g_ptr_array_add (ids, NULL);
  g_assert_true (tsr_segment_store_sync (store, &error));

  g_assert_true (
      tsr_segment_store_reconstruct (store, (const char *const *)ids->pdata, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  rebuilt = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  g_assert_true (g_bytes_equal (rebuilt, content));
}

/* What counts as a change: one made while the file is read (grown, shrunk, or rewritten in
 * place with its size kept). One made after the open but before the first read is not: an
 * upload waits its turn between the two. */
static gboolean
read_all (TsrChunker *chunker, const char *path, gboolean append_after_first)
{
  g_autoptr (GError) error = NULL;
  GBytes *chunk;
  gboolean ok;

  while ((chunk = tsr_chunker_next (chunker, NULL, &error)) != NULL)
    {
      if (append_after_first && tsr_chunker_get_index (chunker) == 1)
        {
          g_autoptr (GFile) file = g_file_new_for_path (path);
          g_autoptr (GFileOutputStream) out = g_file_append_to (file, 0, NULL, NULL);
          g_assert_true (
              g_output_stream_write_all (G_OUTPUT_STREAM (out), "more", 4, NULL, NULL, NULL));
        }
      g_bytes_unref (chunk);
    }
  g_assert_no_error (error);
  ok = tsr_chunker_check_unchanged (chunker, "doc.bin", &error);
  if (!ok)
    {
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CHANGED);
      g_assert_nonnull (strstr (error->message, "doc.bin"));
    }
  return ok;
}

static void
test_changed_while_read (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 3 * 65536 + 7);
  g_autofree char *path = g_build_filename (f->dir, "doc.bin", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (TsrChunker) untouched = NULL, waited = NULL, grown = NULL;

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (content, NULL),
                                      g_bytes_get_size (content), NULL));
  untouched = tsr_chunker_new_for_file (file, TSR_CHUNK_SIZE_DEFAULT, NULL, NULL);
  g_assert_true (read_all (untouched, path, FALSE));

  /* Edited in place after the open, before the first read: what is read is one version. */
  waited = tsr_chunker_new_for_file (file, TSR_CHUNK_SIZE_DEFAULT, NULL, NULL);
  g_usleep (20 * 1000);
  {
    int fd = open (path, O_WRONLY);
    g_assert_cmpint (pwrite (fd, "edit", 4, 0), ==, 4);
    g_assert_cmpint (close (fd), ==, 0);
  }
  g_assert_true (read_all (waited, path, FALSE));

  grown = tsr_chunker_new_for_file (file, TSR_CHUNK_SIZE_DEFAULT, NULL, NULL);
  g_assert_false (read_all (grown, path, TRUE));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/chunker/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("sizes", test_sizes);
  ADD ("chunk-size-limits", test_chunk_size_limits);
  ADD ("refuses-directory-and-missing", test_refuses_directory_and_missing);
  ADD ("reconstruct-through-store", test_reconstruct_through_store);
  ADD ("changed-while-read", test_changed_while_read);
#undef ADD

  return g_test_run ();
}
