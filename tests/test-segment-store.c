/* test-segment-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;
  GRand *rand;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *base = tsr_test_make_tmpdir ();

  /* A node directory that does not exist yet: the store creates it. */
  f->dir = g_build_filename (base, "Node_01", NULL);
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *base = g_path_get_dirname (f->dir);

  tsr_test_rmdir (base);
  g_free (f->dir);
  g_rand_free (f->rand);
}

static TsrSegmentStore *
open_store (Fixture *f, guint64 capacity)
{
  g_autoptr (GError) error = NULL;
  TsrSegmentStore *store = tsr_segment_store_open (f->dir, capacity, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static char *
put_flags_ok (TsrSegmentStore *store, GBytes *data, TsrSegmentPutFlags flags)
{
  g_autoptr (GError) error = NULL;
  char *id = NULL;

  g_assert_true (tsr_segment_store_put_full (store, data, NULL, flags, &id, &error));
  g_assert_no_error (error);
  return id;
}

static char *
put_ok (TsrSegmentStore *store, GBytes *data)
{
  return put_flags_ok (store, data, TSR_SEGMENT_PUT_NONE);
}

static void
close_ok (TsrSegmentStore *store)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (tsr_segment_store_close (store, &error));
  g_assert_no_error (error);
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  const gsize sizes[] = { 1, 100, 65535, 65536, 65537, 1 << 20 };
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  guint64 total = 0;

  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, 0);
  g_assert_true (g_file_test (f->dir, G_FILE_TEST_IS_DIR));

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      GBytes *blob = tsr_test_random_bytes (f->rand, sizes[i]);
      g_autofree char *expected = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, blob);
      char *id = put_ok (store, blob);

      /* The id is the SHA-256 of the bytes, as an independent implementation computes it. */
      g_assert_cmpstr (id, ==, expected);
      g_assert_true (tsr_segment_store_has (store, id));
      g_ptr_array_add (blobs, blob);
      g_ptr_array_add (ids, id);
      total += sizes[i];
    }
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, total);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, G_N_ELEMENTS (sizes));

  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) back = tsr_segment_store_get (store, ids->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, blobs->pdata[i]));
    }

  /* Storing the same bytes again is a no-op, not a second charge against capacity. */
  g_free (put_ok (store, blobs->pdata[0]));
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, total);

  {
    g_autoptr (GPtrArray) listed = tsr_segment_store_list (store);
    g_assert_cmpuint (listed->len, ==, ids->len);
    for (guint i = 1; i < listed->len; i++)
      g_assert_cmpstr (listed->pdata[i - 1], <, listed->pdata[i]);
    for (guint i = 0; i < ids->len; i++)
      g_assert_true (g_ptr_array_find_with_equal_func (listed, ids->pdata[i], g_str_equal, NULL));
  }

  /* Everything survives a clean close and reopen, from metadata.json, without a recount. */
  close_ok (store);
  g_clear_object (&store);
  store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_assert_false (tsr_segment_store_was_rebuilt (store));
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, total);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) back = tsr_segment_store_get (store, ids->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, blobs->pdata[i]));
    }
}

static void
test_flipped_byte_is_corrupt (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GBytes) a = tsr_test_random_bytes (f->rand, 65536);
  g_autoptr (GBytes) b = tsr_test_random_bytes (f->rand, 4000);
  g_autofree char *id_a = put_ok (store, a);
  g_autofree char *id_b = put_ok (store, b);
  g_autofree char *path = tsr_segment_store_segment_path (store, id_a);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) back = NULL;
  gsize len;
  FILE *fp;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpuint (len, ==, 65536);

  /* Flip one bit in the middle of the file, as bit rot would. */
  fp = fopen (path, "r+b");
  g_assert_nonnull (fp);
  g_assert_cmpint (fseek (fp, 40000, SEEK_SET), ==, 0);
  g_assert_cmpint (fputc (contents[40000] ^ 0x01, fp), !=, EOF);
  g_assert_cmpint (fclose (fp), ==, 0);

  back = tsr_segment_store_get (store, id_a, &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_assert_null (back);
  g_clear_error (&error);

  /* A truncated file is corrupt too. */
  g_assert_cmpint (truncate (path, 100), ==, 0);
  back = tsr_segment_store_get (store, id_a, &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_clear_error (&error);

  /* The other segment is untouched. */
  back = tsr_segment_store_get (store, id_b, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, b));
}

static void
test_capacity (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, 200 * 1024);
  g_autoptr (GBytes) big = tsr_test_random_bytes (f->rand, 64 * 1024);
  g_autoptr (GError) error = NULL;
  g_autofree char *segments_dir = g_build_filename (f->dir, "segments", NULL);
  g_autofree char *first = NULL;
  g_autofree char *refused_id = NULL;
  TsrStorageInfo info;
  guint64 used_before, disk_before;

  first = put_ok (store, big);
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 64 * 1024);
      g_free (put_ok (store, blob));
    }
  used_before = tsr_segment_store_get_used (store);
  disk_before = tsr_test_sum_file_sizes (segments_dir);
  g_assert_cmpuint (used_before, ==, 3 * 64 * 1024);
  g_assert_cmpuint (disk_before, ==, used_before);

  {
    g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 64 * 1024);
    g_assert_false (tsr_segment_store_put (store, blob, NULL, &refused_id, &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_NO_SPACE);
    g_assert_null (refused_id);
    g_clear_error (&error);
  }
  /* A refused put changes nothing: not the count, not the disk. */
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, used_before);
  g_assert_cmpuint (tsr_test_sum_file_sizes (f->dir) - tsr_test_sum_file_sizes (segments_dir), <,
                    64 * 1024);
  g_assert_cmpuint (tsr_test_sum_file_sizes (segments_dir), ==, disk_before);

  /* A small one still fits exactly. */
  {
    g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 200 * 1024 - used_before);
    g_free (put_ok (store, blob));
  }
  tsr_segment_store_get_info (store, &info);
  g_assert_cmpuint (info.capacity_bytes, ==, 200 * 1024);
  g_assert_cmpuint (info.used_bytes, ==, 200 * 1024);
  g_assert_cmpuint (info.available_bytes, ==, 0);
  g_assert_cmpfloat_with_epsilon (info.utilization, 100.0, 1e-9);
  g_assert_cmpuint (info.segment_count, ==, 4);

  /* Deleting gives the space back. */
  g_assert_true (tsr_segment_store_delete (store, first, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, 200 * 1024 - 64 * 1024);
  g_assert_false (tsr_segment_store_has (store, first));
  g_assert_false (tsr_segment_store_delete (store, first, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_free (put_ok (store, big));
}

static void
test_storage_info_json (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, 4000000);
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 1000000);
  g_autofree char *id = put_ok (store, blob);
  g_autoptr (JsonNode) node = NULL;
  TsrStorageInfo info;
  JsonObject *obj;

  tsr_segment_store_get_info (store, &info);
  node = tsr_storage_info_to_json (&info);
  obj = json_node_get_object (node);
  g_assert_cmpint (json_object_get_int_member (obj, "capacity_bytes"), ==, 4000000);
  g_assert_cmpint (json_object_get_int_member (obj, "used_bytes"), ==, 1000000);
  g_assert_cmpint (json_object_get_int_member (obj, "available_bytes"), ==, 3000000);
  g_assert_cmpint (json_object_get_int_member (obj, "segment_count"), ==, 1);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (obj, "utilization"), 25.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (obj, "used_gb"), 0.001, 1e-12);
}

static void
test_expected_id_mismatch (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 1000);
  g_autoptr (GBytes) other = tsr_test_random_bytes (f->rand, 1000);
  g_autofree char *other_id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, other);
  g_autofree char *right_id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, blob);
  g_autoptr (GError) error = NULL;

  g_assert_false (tsr_segment_store_put (store, blob, other_id, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, 0);
  g_assert_false (tsr_segment_store_has (store, other_id));

  g_assert_true (tsr_segment_store_put (store, blob, right_id, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_segment_store_has (store, right_id));
}

static void
test_invalid_ids (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 10);
  g_autofree char *escape = g_build_filename (f->dir, "..", "victim", NULL);
  const char *bad[] = {
    "",
    "../victim",
    "../../../../../../../etc/passwd",
    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
    "e3/0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
  };

  g_assert_true (g_file_set_contents (escape, "keep me", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) got = tsr_segment_store_get (store, bad[i], &error);

      g_assert_null (got);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (tsr_segment_store_has (store, bad[i]));
      g_assert_false (tsr_segment_store_delete (store, bad[i], &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (tsr_segment_store_put (store, blob, bad[i], NULL, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (g_file_test (escape, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, 0);
}

static void
test_second_open_busy (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) second = tsr_segment_store_open (f->dir, 1000, &error);

  g_assert_null (second);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "in use by process"));
  g_clear_error (&error);

  close_ok (store);
  second = tsr_segment_store_open (f->dir, 1000, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);
}

static void
test_leftovers_cleaned (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 5000);
  g_autofree char *id = put_ok (store, blob);
  g_autofree char *segments_dir = g_build_filename (f->dir, "segments", NULL);
  g_autofree char *final = tsr_segment_store_segment_path (store, id);
  g_autofree char *fan = g_path_get_dirname (final);
  g_autofree char *partial = g_strdup_printf ("%s/.%s.Ab12Cd", fan, id);
  g_autofree char *meta_tmp = g_build_filename (f->dir, "metadata.json.Xy12Zw", NULL);
  g_autofree char *marker = g_build_filename (f->dir, "metadata.dirty", NULL);

  close_ok (store);
  g_clear_object (&store);
  /* What a crash in the middle of writes leaves behind: half a segment, half a metadata
   * file, and the marker that says the metadata is behind. */
  g_assert_true (g_file_set_contents (partial, "half a segm", -1, NULL));
  g_assert_true (g_file_set_contents (meta_tmp, "{\"form", -1, NULL));
  g_assert_true (g_file_set_contents (marker, "unsynced changes\n", -1, NULL));
  g_assert_cmpuint (tsr_test_count_partial_segments (segments_dir), ==, 1);

  store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_assert_cmpuint (tsr_test_count_partial_segments (segments_dir), ==, 0);
  g_assert_false (g_file_test (meta_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, 5000);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, 1);
}

/* Puts a few segments and closes cleanly; returns the total size. */
static guint64
fill_and_close (Fixture *f, GPtrArray *ids)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  guint64 total = 0;

  for (int i = 0; i < 20; i++)
    {
      gsize len = 1 + g_rand_int_range (f->rand, 0, 100000);
      g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, len);
      g_ptr_array_add (ids, put_ok (store, blob));
      total += len;
    }
  close_ok (store);
  return total;
}

static void
check_rebuilt (Fixture *f, GPtrArray *ids, guint64 total)
{
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autofree char *meta = g_build_filename (f->dir, "metadata.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_test_expect_message ("tessera", G_LOG_LEVEL_WARNING, "*unusable*rebuilding*");
  store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_test_assert_expected_messages ();

  g_assert_true (tsr_segment_store_was_rebuilt (store));
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, total);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, ids->len);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) back = tsr_segment_store_get (store, ids->pdata[i], &error);
      g_assert_no_error (error);
    }

  /* The rebuilt metadata.json was written back and is valid again. */
  g_assert_true (json_parser_load_from_file (parser, meta, NULL));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)),
                                               "used_bytes"),
                   ==, total);
  close_ok (store);
  g_clear_object (&store);
  store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_assert_false (tsr_segment_store_was_rebuilt (store));
}

static void
test_metadata_deleted (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  guint64 total = fill_and_close (f, ids);
  g_autofree char *meta = g_build_filename (f->dir, "metadata.json", NULL);

  g_assert_cmpint (g_unlink (meta), ==, 0);
  check_rebuilt (f, ids, total);
}

static void
test_metadata_truncated (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  guint64 total = fill_and_close (f, ids);
  g_autofree char *meta = g_build_filename (f->dir, "metadata.json", NULL);
  GStatBuf st;

  g_assert_cmpint (g_stat (meta, &st), ==, 0);
  g_assert_cmpint (truncate (meta, st.st_size / 2), ==, 0);
  check_rebuilt (f, ids, total);
}

/* Cut to nothing (a crash between creating and writing it, on a file system that allows
 * that): the store is rebuilt from its files as for any other unreadable metadata. */
static void
test_metadata_empty (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  guint64 total = fill_and_close (f, ids);
  g_autofree char *meta = g_build_filename (f->dir, "metadata.json", NULL);

  g_assert_cmpint (truncate (meta, 0), ==, 0);
  check_rebuilt (f, ids, total);
}

static void
test_metadata_wrong_types (Fixture *f, gconstpointer data)
{
  const char *bad[] = {
    "[]",
    "{\"format\":\"tessera-node-metadata\",\"version\":1,\"used_bytes\":\"12\","
    "\"segment_count\":0,\"segments\":{}}",
    "{\"format\":\"tessera-node-metadata\",\"version\":1,\"used_bytes\":0,"
    "\"segment_count\":0,\"segments\":5}",
    /* plausible, but the totals disagree with the list: a lie is as bad as garbage */
    "{\"format\":\"tessera-node-metadata\",\"version\":1,\"used_bytes\":10,"
    "\"segment_count\":0,\"segments\":{}}",
    "{\"format\":\"tessera-node-metadata\",\"version\":1,\"used_bytes\":5,\"segment_count\":1,"
    "\"segments\":{\"../../x\":5}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      guint64 total;
      g_autofree char *meta = NULL;

      tsr_test_rmdir (f->dir);
      total = fill_and_close (f, ids);
      meta = g_build_filename (f->dir, "metadata.json", NULL);
      g_assert_true (g_file_set_contents (meta, bad[i], -1, NULL));
      check_rebuilt (f, ids, total);
    }
}

/* The metadata corpus doubles as a table of verdicts: every valid-* file is read as written,
 * every bad-* file is refused, so the parser cannot drift into accepting what it should not
 * (or refusing what save_metadata() writes, which would recount the store on every open). */
static gboolean
parse_metadata (const char *data, gsize len, GError **error)
{
  g_autoptr (TsrSegmentIndex) index = tsr_segment_index_new ();
  guint64 used = 0;

  return tsr_segment_store_parse_metadata (data, len, index, &used, error);
}

static void
test_metadata_corpus (void)
{
  tsr_test_check_corpus_verdicts ("metadata", parse_metadata, 3, 10);
}

/* The child: put segments forever, syncing now and then, and report each id once put
 * returned. It is killed with SIGKILL somewhere in there. */
G_GNUC_NORETURN static void
child_put_loop (const char *dir, int fd, guint32 seed)
{
  g_autoptr (GError) error = NULL;
  TsrSegmentStore *store = tsr_segment_store_open (dir, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
  GRand *rand = g_rand_new_with_seed (seed);

  if (store == NULL)
    _exit (3);
  for (guint i = 0; i < 100000; i++)
    {
      gsize len = 1 + g_rand_int_range (rand, 0, 128 * 1024);
      g_autoptr (GBytes) blob = tsr_test_random_bytes (rand, len);
      g_autofree char *id = NULL;
      g_autofree char *line = NULL;

      if (!tsr_segment_store_put (store, blob, NULL, &id, &error))
        _exit (4);
      if (i % 7 == 3 && !tsr_segment_store_delete (store, id, &error))
        _exit (5);
      else if (i % 7 != 3)
        {
          line = g_strdup_printf ("%s\n", id);
          if (write (fd, line, strlen (line)) != (ssize_t)strlen (line))
            _exit (6);
        }
      if (i % 11 == 0 && !tsr_segment_store_sync (store, &error))
        _exit (7);
    }
  _exit (0);
}

static void
test_sigkill_during_puts (Fixture *f, gconstpointer data)
{
  const guint iterations = 6;

  for (guint iter = 0; iter < iterations; iter++)
    {
      g_autoptr (GPtrArray) acked = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (TsrSegmentStore) store = NULL;
      g_autoptr (GPtrArray) listed = NULL;
      g_autofree char *segments_dir = g_build_filename (f->dir, "segments", NULL);
      g_autoptr (GString) pending = g_string_new (NULL);
      guint target = 10 + iter * 13;
      int fds[2], status;
      pid_t pid;
      char buf[4096];
      ssize_t n;

      g_assert_cmpint (pipe (fds), ==, 0);
      pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          close (fds[0]);
          child_put_loop (f->dir, fds[1], iter + 1);
        }
      close (fds[1]);

      /* Read acknowledgements until the child is well into its loop, then kill it at a random
       * moment: inside a write, a rename, a sync or a metadata save. */
      while (acked->len < target && (n = read (fds[0], buf, sizeof buf)) > 0)
        {
          char *nl;
          g_string_append_len (pending, buf, n);
          while ((nl = strchr (pending->str, '\n')) != NULL)
            {
              g_ptr_array_add (acked, g_strndup (pending->str, nl - pending->str));
              g_string_erase (pending, 0, nl - pending->str + 1);
            }
        }
      g_usleep (g_rand_int_range (f->rand, 0, 3000));
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));
      while ((n = read (fds[0], buf, sizeof buf)) > 0)
        {
          char *nl;
          g_string_append_len (pending, buf, n);
          while ((nl = strchr (pending->str, '\n')) != NULL)
            {
              g_ptr_array_add (acked, g_strndup (pending->str, nl - pending->str));
              g_string_erase (pending, 0, nl - pending->str + 1);
            }
        }
      close (fds[0]);
      g_assert_cmpuint (acked->len, >=, target);

      store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);

      /* Every acknowledged put is there and whole. */
      for (guint i = 0; i < acked->len; i++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (GBytes) back = tsr_segment_store_get (store, acked->pdata[i], &error);
          g_assert_no_error (error);
        }
      /* Every segment the store lists is whole: no partial file became visible. */
      listed = tsr_segment_store_list (store);
      for (guint i = 0; i < listed->len; i++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (GBytes) back = tsr_segment_store_get (store, listed->pdata[i], &error);
          g_assert_no_error (error);
        }
      /* Usage agrees with the whole segment files on disk, and no partial file is left. */
      g_assert_cmpuint (tsr_segment_store_get_used (store), ==,
                        tsr_test_sum_file_sizes (segments_dir));
      g_assert_cmpuint (tsr_test_count_partial_segments (segments_dir), ==, 0);
      close_ok (store);
    }
}

static char *
read_text (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

static void
put_and_sync (TsrSegmentStore *store, GRand *rand)
{
  g_autoptr (GBytes) blob = tsr_test_random_bytes (rand, 1 + g_rand_int_range (rand, 0, 4096));
  g_autoptr (GError) error = NULL;

  g_free (put_ok (store, blob));
  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_no_error (error);
}

/* A sync makes puts durable without rewriting metadata.json, which lists every segment: it is
 * saved once a quarter of its entries changed, at a checkpoint after a quiet spell and at
 * close. A crash in between costs a recount and loses nothing. */
static void
test_sync_saves_index_when_due (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (GBytes) late = tsr_test_random_bytes (f->rand, 3000);
  g_autofree char *late_id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, late);
  g_autofree char *meta = g_build_filename (f->dir, "metadata.json", NULL);
  g_autofree char *marker = g_build_filename (f->dir, "metadata.dirty", NULL);
  g_autofree char *saved = NULL;
  g_autoptr (GError) error = NULL;
  guint64 total = fill_and_close (f, ids); /* 20 segments */
  int status;
  pid_t pid;

  /* A process that puts one segment, syncs and dies. */
  saved = read_text (meta);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      TsrSegmentStore *child =
          tsr_segment_store_open (f->dir, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, NULL);
      _exit (child != NULL && tsr_segment_store_put (child, late, NULL, NULL, NULL) &&
                     tsr_segment_store_sync (child, NULL)
                 ? 0
                 : 1);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  {
    g_autofree char *after = read_text (meta);
    g_assert_true (g_str_equal (after, saved)); /* not printed: it is long */
  }
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));

  /* The recount finds what the sync made durable, and saves it. */
  store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_assert_true (tsr_segment_store_was_rebuilt (store));
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, 21);
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, total + 3000);
  g_assert_true (tsr_segment_store_has (store, late_id));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));

  /* 21 listed: due once 5 changed (at 26 segments, 26 / 4 = 6: at the sixth). */
  g_free (saved);
  saved = read_text (meta);
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *after = NULL;

      put_and_sync (store, f->rand);
      after = read_text (meta);
      g_assert_true (g_str_equal (after, saved)); /* not printed: it is long */
      g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
    }
  put_and_sync (store, f->rand);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  {
    g_autoptr (TsrSegmentIndex) index = tsr_segment_index_new ();
    g_autofree char *text = read_text (meta);
    guint64 used = 0;

    g_assert_true (tsr_segment_store_parse_metadata (text, strlen (text), index, &used, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (tsr_segment_index_size (index), ==, 27);
    g_assert_cmpuint (used, ==, tsr_segment_store_get_used (store));
  }

  /* A checkpoint saves it once nothing changed for as long as it asks, and not before. */
  put_and_sync (store, f->rand);
  g_assert_true (tsr_segment_store_checkpoint (store, 3600, &error));
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_true (tsr_segment_store_checkpoint (store, 0, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));

  /* And so does a close. */
  put_and_sync (store, f->rand);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  close_ok (store);
  g_clear_object (&store);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_assert_false (tsr_segment_store_was_rebuilt (store));
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, 29);
}

/* Cold puts (copies read only when another is missing) leave the page cache once written
 * back, and read back intact; ordinary puts stay cached (which shows the check sees pages). */
static void
test_cold_puts_leave_cache (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  const guint n_cold = 40, n = 48;

  if (!tsr_test_page_cache_observable (f->dir, &why))
    {
      g_test_skip (why);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      GBytes *blob = tsr_test_random_bytes (f->rand, 65536 + 40);

      g_ptr_array_add (blobs, blob);
      g_ptr_array_add (
          ids,
          put_flags_ok (store, blob, i < n_cold ? TSR_SEGMENT_PUT_COLD : TSR_SEGMENT_PUT_NONE));
    }
  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = tsr_segment_store_segment_path (store, ids->pdata[i]);
      guint pages, cached = tsr_test_cached_pages (path, &pages);

      g_assert_cmpuint (pages, ==, tsr_test_pages_for (65536 + 40));
      if (i < n_cold)
        g_assert_cmpuint (cached, ==, 0);
      else
        g_assert_cmpuint (cached, ==, pages);
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GBytes) back = tsr_segment_store_get (store, ids->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, blobs->pdata[i]));
    }
  close_ok (store);
}

/* A node reads segments around the page cache: a download or a scrub of data on disk leaves no
 * pages behind, and every way of reading gives the bytes that were put. */
static void
test_reads_leave_no_cache (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GByteArray) all = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  /* Sizes around the 4 KiB blocks O_DIRECT reads in, and an empty segment. */
  const gsize sizes[] = { 65536 + 16, 4096, 4095, 4097, 1, 0, 3 * 65536 };
  /* Where the cache cannot be watched, the bytes are still checked. */
  gboolean observable = tsr_test_page_cache_observable (f->dir, &why);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      GBytes *blob = tsr_test_random_bytes (f->rand, sizes[i]);

      g_ptr_array_add (blobs, blob);
      g_ptr_array_add (ids, put_flags_ok (store, blob, TSR_SEGMENT_PUT_COLD));
    }
  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) verified = tsr_segment_store_get (store, ids->pdata[i], &error);
      g_autoptr (GBytes) unverified = NULL;
      g_autofree char *path = tsr_segment_store_segment_path (store, ids->pdata[i]);
      guint pages;

      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (verified, blobs->pdata[i]));
      unverified = tsr_segment_store_get_unverified (store, ids->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (unverified, blobs->pdata[i]));
      g_assert_true (
          tsr_segment_store_read_into (store, ids->pdata[i], TRUE, all, G_MAXSIZE, &error));
      g_assert_no_error (error);
      if (observable)
        g_assert_cmpuint (tsr_test_cached_pages (path, &pages), ==, 0);
    }
  /* read_into appended them one after another, each whole. */
  for (guint i = 0, offset = 0; i < G_N_ELEMENTS (sizes); offset += sizes[i++])
    g_assert_cmpmem (all->data + offset, sizes[i], g_bytes_get_data (blobs->pdata[i], NULL),
                     sizes[i]);
  close_ok (store);
  if (!observable)
    g_test_skip (why);
}

/* A segment whose pages are all in the page cache (a put not marked cold) is read from there:
 * no disk read. One cold, or only partly cached, is read from the disk, around the cache, and a
 * scrub reads every one from the disk.
 * Checked with the kernel's count of bytes this thread had read from a disk, and with both ways
 * of asking what is cached (cachestat(), and mincore() as on kernels before 6.5). */
static void
test_cached_reads_skip_the_disk (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GBytes) hot = tsr_test_random_bytes (f->rand, 65536 + 16);
  g_autoptr (GBytes) cold = tsr_test_random_bytes (f->rand, 65536 + 16);
  g_autoptr (GBytes) part = tsr_test_random_bytes (f->rand, 65536 + 16);
  g_autofree char *hot_id = put_ok (store, hot);
  g_autofree char *cold_id = put_flags_ok (store, cold, TSR_SEGMENT_PUT_COLD);
  g_autofree char *part_id = put_ok (store, part);
  g_autofree char *part_path = tsr_segment_store_segment_path (store, part_id);
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  guint pages;
  int fd;

  if (!tsr_test_page_cache_observable (f->dir, &why) ||
      !tsr_test_disk_reads_observable (f->dir, &why))
    {
      g_test_skip (why);
      return;
    }
  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_no_error (error);

  for (int probe = 0; probe < 2; probe++)
    {
      const char *ids[] = { hot_id, cold_id, part_id };
      GBytes *blobs[] = { hot, cold, part };

      _tsr_segment_store_use_mincore (probe == 1);
      /* The third segment leaves the cache, and only its start comes back (a large folio of
       * the page cache can only leave whole). */
      fd = open (part_path, O_RDONLY | O_CLOEXEC);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED), ==, 0);
      g_assert_cmpint (posix_fadvise (fd, 0, 0, POSIX_FADV_RANDOM), ==, 0);
      g_assert_cmpint (pread (fd, &(char){ 0 }, 1, 0), ==, 1);
      close (fd);
      g_assert_cmpuint (tsr_test_cached_pages (part_path, &pages), >, 0);
      g_assert_cmpuint (tsr_test_cached_pages (part_path, &pages), <, pages);

      for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
        {
          guint64 before = tsr_test_disk_read_bytes (FALSE);
          g_autoptr (GBytes) got = tsr_segment_store_get (store, ids[i], &error);
          guint64 read = tsr_test_disk_read_bytes (FALSE) - before;

          g_assert_no_error (error);
          g_assert_true (g_bytes_equal (got, blobs[i]));
          if (i == 0)
            g_assert_cmpuint (read, ==, 0);
          else
            g_assert_cmpuint (read, >=, g_bytes_get_size (blobs[i]));
        }
    }
  _tsr_segment_store_use_mincore (FALSE);

  /* A scrub checks what the disk holds: it reads every segment from there, cached or not. */
  {
    guint64 before = tsr_test_disk_read_bytes (FALSE);
    TsrScrubResult result;

    g_assert_true (tsr_segment_store_scrub (store, NULL, G_MAXUINT64, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (result.checked, ==, 3);
    g_assert_cmpuint (result.corrupt->len, ==, 0);
    g_assert_cmpuint (tsr_test_disk_read_bytes (FALSE) - before, >=,
                      g_bytes_get_size (hot) + g_bytes_get_size (cold) + g_bytes_get_size (part));
    tsr_scrub_result_clear (&result);
  }
  close_ok (store);
}

/* A segment read on its own (a scrub, a single RetrieveSegment) takes about its own size in
 * memory, not the next power of two: 16 MiB and 16 bytes, the biggest chunk and its tag, took
 * 32 MiB. */
static void
test_get_takes_its_size (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  const gsize sizes[] = { 16 * 1024 * 1024 + 16, 65536 + 16 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, sizes[i]);
      g_autofree char *id = put_flags_ok (store, blob, TSR_SEGMENT_PUT_COLD);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) got = NULL;

      g_assert_true (tsr_segment_store_sync (store, &error));
      g_assert_no_error (error);
      got = tsr_segment_store_get (store, id, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (got, blob));
      /* The bytes, the blocks a direct read rounds them up to, and one block to align them. */
      g_assert_cmpuint (malloc_usable_size ((gpointer)g_bytes_get_data (got, NULL)), <,
                        sizes[i] + 3 * 4096);
    }
  close_ok (store);
}

/* A file system may accept O_DIRECT at the open and then refuse the read (EINVAL) or give it
 * short: the bytes still come back whole, through the page cache. A refusal turns direct reads
 * off for the store from then on; a short read only for that read. */
static void
test_direct_read_fails_after_open (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  gboolean observable = tsr_test_page_cache_observable (f->dir, &why);
  GBytes *blobs[3];
  char *ids[3];

  for (guint i = 0; i < 3; i++)
    {
      blobs[i] = tsr_test_random_bytes (f->rand, 65536 + 16 + i);
      ids[i] = put_flags_ok (store, blobs[i], TSR_SEGMENT_PUT_COLD);
    }
  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 3; i++)
    {
      /* 0: short, 1: read as usual after it, 2: refused. */
      TsrDirectReadFault fault = i == 0   ? TSR_DIRECT_READ_FAULT_SHORT
                                 : i == 2 ? TSR_DIRECT_READ_FAULT_EINVAL
                                          : TSR_DIRECT_READ_FAULT_NONE;
      g_autoptr (GBytes) back = NULL;
      g_autofree char *path = tsr_segment_store_segment_path (store, ids[i]);
      guint pages, cached;

      _tsr_segment_store_inject_direct_read_fault (store, fault);
      back = tsr_segment_store_get (store, ids[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, blobs[i]));
      cached = tsr_test_cached_pages (path, &pages);
      if (observable)
        g_assert_cmpuint (cached, ==, fault == TSR_DIRECT_READ_FAULT_NONE ? 0 : pages);
    }
  /* After the refusal, reads go through the page cache for good: segment 1, read directly
   * above (nothing cached), now leaves its pages. */
  if (observable)
    {
      g_autofree char *path = tsr_segment_store_segment_path (store, ids[1]);
      g_autoptr (GBytes) back = NULL;
      guint pages;

      back = tsr_segment_store_get (store, ids[1], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, blobs[1]));
      g_assert_cmpuint (tsr_test_cached_pages (path, &pages), ==, pages);
    }
  for (guint i = 0; i < 3; i++)
    {
      g_bytes_unref (blobs[i]);
      g_free (ids[i]);
    }
  close_ok (store);
  if (!observable)
    g_test_skip (why);
}

/* A file under a segment's name that the index does not know (a crash before a sync can leave
 * one, half written) is replaced by the next put of that segment, which leaves nothing else. */
static void
test_stray_file_replaced (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 65536 + 16);
  g_autoptr (GBytes) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *segments_dir = g_build_filename (f->dir, "segments", NULL);
  g_autofree char *path = NULL;
  g_autofree char *id = NULL;
  char expected[TSR_SHA256_HEX_LEN + 1];

  tsr_sha256_hex (g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), expected);
  path = tsr_segment_store_segment_path (store, expected);
  g_assert_true (g_file_set_contents (path, "half a segm", -1, NULL));
  g_assert_false (tsr_segment_store_has (store, expected));

  id = put_ok (store, blob);
  g_assert_cmpstr (id, ==, expected);
  back = tsr_segment_store_get (store, id, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, blob));
  g_assert_cmpuint (tsr_test_count_partial_segments (segments_dir), ==, 0);
  g_assert_cmpuint (tsr_test_sum_file_sizes (segments_dir), ==, g_bytes_get_size (blob));
  close_ok (store);
}

/* Cold puts keep their descriptors open until their pages are dropped, and a sync closes them
 * all. (The budget of descriptors is tested by the fault worker, which can set the limits before
 * any store opens.) */
static void
test_cold_puts_close_their_files (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GError) error = NULL;
  guint before = tsr_test_count_open_files ();

  for (guint i = 0; i < 40; i++)
    {
      g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 65536 + 16);

      g_assert_true (
          tsr_segment_store_put_full (store, blob, NULL, TSR_SEGMENT_PUT_COLD, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tsr_test_count_open_files (), ==, before);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, 40);
  close_ok (store);
}

/* Without a sync, a store writes back in the background after every
 * TSR_SEGMENT_STORE_FLUSH_EVERY bytes put, and then drops the cold puts' pages: a long upload's
 * second copies leave the cache as it goes. */
static void
test_background_writeback (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrSegmentStore) store = open_store (f, TSR_SEGMENT_STORE_DEFAULT_CAPACITY);
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  g_autofree char *first = NULL, *last = NULL, *first_path = NULL, *last_path = NULL;
  /* 64 KiB each: the one before the last starts the first writeback */
  const guint n = TSR_SEGMENT_STORE_FLUSH_EVERY / 65536 + 1;
  gint64 deadline;
  guint pages, cached;

  if (!tsr_test_page_cache_observable (f->dir, &why))
    {
      g_test_skip (why);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 65536);
      char *id = put_flags_ok (store, blob, TSR_SEGMENT_PUT_COLD);

      if (i == 0)
        first = id;
      else if (i == n - 1)
        last = id;
      else
        g_free (id);
    }
  first_path = tsr_segment_store_segment_path (store, first);
  last_path = tsr_segment_store_segment_path (store, last);

  /* The writeback runs on its own thread: wait for it, within a generous bound. */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while ((cached = tsr_test_cached_pages (first_path, &pages)) > 0 &&
         g_get_monotonic_time () < deadline)
    g_usleep (G_USEC_PER_SEC / 50);
  g_assert_cmpuint (pages, ==, tsr_test_pages_for (65536));
  g_assert_cmpuint (cached, ==, 0);
  /* The put after it is left for the next writeback or sync. */
  g_assert_cmpuint (tsr_test_cached_pages (last_path, &pages), ==, pages);

  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tsr_test_cached_pages (last_path, &pages), ==, 0);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, n);
  close_ok (store);
}

/* Stores on one file system share its free space: they get one disk id, and another file
 * system (the in-memory one, where there is one) another. */
static void
test_disk_of (void)
{
  g_autofree char *a = tsr_test_make_tmpdir ();
  g_autofree char *b = tsr_test_make_tmpdir ();
  guint64 free_a, free_b, id_a, id_b;
  struct stat st_a, st_shm;

  tsr_segment_store_disk_of (a, &free_a, &id_a);
  tsr_segment_store_disk_of (b, &free_b, &id_b);
  g_assert_cmpuint (id_a, !=, 0);
  g_assert_cmpuint (id_a, ==, id_b);
  g_assert_cmpuint (free_a, >, 0);
  g_assert_cmpuint (free_a, <, G_MAXUINT64);
  if (stat (a, &st_a) == 0 && stat ("/dev/shm", &st_shm) == 0 && st_a.st_dev != st_shm.st_dev)
    {
      guint64 free_shm, id_shm;

      tsr_segment_store_disk_of ("/dev/shm", &free_shm, &id_shm);
      g_assert_cmpuint (id_shm, !=, id_a);
    }
  /* Nothing there: nothing known, and no id that could group it with another. */
  tsr_segment_store_disk_of ("/nonexistent/tessera", &free_b, &id_b);
  g_assert_cmpuint (free_b, ==, G_MAXUINT64);
  g_assert_cmpuint (id_b, ==, 0);
  tsr_test_rmdir (a);
  tsr_test_rmdir (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/segment-store/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("round-trip", test_round_trip);
  ADD ("flipped-byte-is-corrupt", test_flipped_byte_is_corrupt);
  ADD ("capacity", test_capacity);
  ADD ("storage-info-json", test_storage_info_json);
  ADD ("expected-id-mismatch", test_expected_id_mismatch);
  ADD ("invalid-ids", test_invalid_ids);
  ADD ("second-open-busy", test_second_open_busy);
  ADD ("leftovers-cleaned", test_leftovers_cleaned);
  ADD ("metadata-deleted", test_metadata_deleted);
  ADD ("metadata-truncated", test_metadata_truncated);
  ADD ("metadata-empty", test_metadata_empty);
  ADD ("metadata-wrong-types", test_metadata_wrong_types);
  ADD ("sigkill-during-puts", test_sigkill_during_puts);
  ADD ("sync-saves-index-when-due", test_sync_saves_index_when_due);
  ADD ("cold-puts-leave-cache", test_cold_puts_leave_cache);
  ADD ("background-writeback", test_background_writeback);
  ADD ("reads-leave-no-cache", test_reads_leave_no_cache);
  ADD ("cached-reads-skip-the-disk", test_cached_reads_skip_the_disk);
  ADD ("get-takes-its-size", test_get_takes_its_size);
  ADD ("direct-read-fails-after-open", test_direct_read_fails_after_open);
  ADD ("stray-file-replaced", test_stray_file_replaced);
  ADD ("cold-puts-close-their-files", test_cold_puts_close_their_files);
#undef ADD
  g_test_add_func ("/tessera/segment-store/metadata-corpus", test_metadata_corpus);
  g_test_add_func ("/tessera/segment-store/disk-of", test_disk_of);

  return g_test_run ();
}
