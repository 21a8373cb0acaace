/* test-cluster.c: the embedded 5-node cluster, through the API, on real sockets and disks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-cluster-private.h"
#include "tsr-node-private.h"
#include "tsr-test-util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;
  char *data_dir;
  GRand *rand;
  TsrCluster *cluster;
} Fixture;

static void
open_cluster (Fixture *f)
{
  f->cluster = tsr_test_open_cluster (f->data_dir);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint64 capacity = data ? GPOINTER_TO_UINT (data) : TSR_SEGMENT_STORE_DEFAULT_CAPACITY;

  f->dir = tsr_test_make_tmpdir ();
  f->data_dir = g_build_filename (f->dir, "data", NULL);
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
  g_assert_true (
      tsr_cluster_init_data_dir (f->data_dir, 5, capacity, TSR_CHUNK_SIZE_DEFAULT, 2, &error));
  g_assert_no_error (error);
  open_cluster (f);
}

/* For tests that watch the page cache: a scrub would read copies back into it. */
static void
fixture_setup_no_scrub (Fixture *f, gconstpointer data)
{
  g_setenv ("TESSERA_SCRUB_RATE", "0", TRUE);
  fixture_setup (f, data);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->cluster != NULL)
    {
      tsr_cluster_stop (f->cluster);
      g_assert_finalize_object (f->cluster);
    }
  g_unsetenv ("TESSERA_SCRUB_RATE");
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->data_dir);
  g_rand_free (f->rand);
}

static char *
write_file (Fixture *f, const char *name, GBytes *content)
{
  char *path = g_build_filename (f->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (content, NULL),
                                      g_bytes_get_size (content), NULL));
  return path;
}

static TsrManifest *
upload_path (Fixture *f, const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  TsrManifest *m = tsr_cluster_upload (f->cluster, file, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static void
download_and_compare (Fixture *f, const char *file_id, GBytes *expected)
{
  tsr_test_download_and_compare (f->cluster, f->dir, file_id, expected);
}

static void
test_round_trips (Fixture *f, gconstpointer data)
{
  const gsize sizes[] = { 0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 7 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, sizes[i]);
      g_autofree char *name = g_strdup_printf ("file-%u.bin", i);
      g_autofree char *path = write_file (f, name, content);
      g_autoptr (TsrManifest) m = upload_path (f, path);
      g_autofree char *hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);

      /* The seed's FileMetadata: file_id is the first 16 hex of the plaintext SHA-256. */
      g_assert_cmpstr (m->file_hash, ==, hash);
      g_assert_true (strncmp (m->file_id, hash, 16) == 0);
      g_assert_cmpstr (m->name, ==, name);
      g_assert_cmpuint (m->size, ==, sizes[i]);
      g_assert_cmpuint (m->chunk_count, ==, tsr_chunk_count (sizes[i], TSR_CHUNK_SIZE_DEFAULT));
      download_and_compare (f, m->file_id, content);
    }
  {
    g_autoptr (GPtrArray) files = tsr_cluster_list_files (f->cluster, NULL);
    g_assert_cmpuint (files->len, ==, G_N_ELEMENTS (sizes));
  }
}

/* Transfers keep a window of chunks in flight sized by bytes as well as by count: 4 KiB chunks
 * go 32 at a time in groups, 1 MiB chunks 8 at a time, 16 MiB chunks 2 at a time, one per
 * job. Each file spans several windows and ends in a part-filled chunk. */
static void
test_chunk_sizes (Fixture *f, gconstpointer data)
{
  const struct
  {
    guint32 chunk_size;
    gsize file_size;
  } cases[] = {
    { 4096, 100 * 4096 + 1 },
    { 1024 * 1024, 19 * 1024 * 1024 + 3 },
    { 16 * 1024 * 1024, 2 * 16 * 1024 * 1024 + 5 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *data_dir = g_strdup_printf ("%s/data-%u", f->dir, cases[i].chunk_size);
      g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, cases[i].file_size);
      g_autofree char *name = g_strdup_printf ("chunks-%u.bin", cases[i].chunk_size);
      g_autofree char *path = write_file (f, name, content);
      g_autoptr (GFile) file = g_file_new_for_path (path);
      g_autoptr (TsrCluster) cluster = NULL;
      g_autoptr (TsrManifest) m = NULL;
      g_autoptr (GError) error = NULL;

      g_assert_true (tsr_cluster_init_data_dir (data_dir, 5, TSR_SEGMENT_STORE_DEFAULT_CAPACITY,
                                                cases[i].chunk_size, 2, &error));
      g_assert_no_error (error);
      cluster = tsr_test_open_cluster (data_dir);
      m = tsr_cluster_upload (cluster, file, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (m->chunk_size, ==, cases[i].chunk_size);
      g_assert_cmpuint (m->chunk_count, ==,
                        tsr_chunk_count (cases[i].file_size, cases[i].chunk_size));
      for (guint j = 0; j < m->chunk_count; j++)
        {
          TsrManifestChunk *c = m->chunks->pdata[j];
          g_autofree char *first = g_strdup_printf ("Node_%02u", j % 5 + 1);
          g_assert_cmpstr (c->nodes->pdata[0], ==, first);
        }
      tsr_test_download_and_compare (cluster, f->dir, m->file_id, content);
      tsr_cluster_stop (cluster);
    }
}

/* Nodes of an earlier version know neither StoreSegments nor RetrieveSegments: they refuse
 * the first batch of each kind with an ERROR frame and close the connection, under whatever
 * else was in flight on it. Uploads and downloads still work, one segment at a time, with
 * every copy where round robin puts it. */
static void
test_nodes_of_an_earlier_version (Fixture *f, gconstpointer data)
{
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *node_id = g_strdup_printf ("Node_%02u", i);
      _tsr_node_set_refuses_batches (tsr_cluster_get_embedded_node (f->cluster, node_id), TRUE);
    }
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 3 * 1024 * 1024 + 7 * i);
      g_autofree char *name = g_strdup_printf ("old-nodes-%u.bin", i);
      g_autofree char *path = write_file (f, name, content);
      g_autoptr (TsrManifest) m = upload_path (f, path);

      for (guint j = 0; j < m->chunk_count; j++)
        {
          TsrManifestChunk *c = m->chunks->pdata[j];
          g_autofree char *first = g_strdup_printf ("Node_%02u", j % 5 + 1);
          g_autofree char *second = g_strdup_printf ("Node_%02u", (j + 1) % 5 + 1);

          g_assert_cmpuint (c->nodes->len, ==, 2);
          g_assert_cmpstr (c->nodes->pdata[0], ==, first);
          g_assert_cmpstr (c->nodes->pdata[1], ==, second);
        }
      download_and_compare (f, m->file_id, content);
    }
}

/* The seed's File Distribution Example: 40 chunks round robin over 5 nodes, here with the
 * second copy on the next node. */
static void
test_round_robin_placement (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 40 * 65536);
  g_autofree char *path = write_file (f, "seed-example.bin", content);
  g_autoptr (TsrManifest) m = upload_path (f, path);
  g_autoptr (GPtrArray) status = NULL;

  g_assert_cmpuint (m->chunk_count, ==, 40);
  for (guint i = 0; i < 40; i++)
    {
      TsrManifestChunk *c = m->chunks->pdata[i];
      g_autofree char *first = g_strdup_printf ("Node_%02u", i % 5 + 1);
      g_autofree char *second = g_strdup_printf ("Node_%02u", (i + 1) % 5 + 1);

      g_assert_cmpuint (c->nodes->len, ==, 2);
      g_assert_cmpstr (c->nodes->pdata[0], ==, first);
      g_assert_cmpstr (c->nodes->pdata[1], ==, second);
      /* and the copies really are on those nodes' disks */
      for (guint j = 0; j < 2; j++)
        {
          TsrNode *node = tsr_cluster_get_embedded_node (f->cluster, c->nodes->pdata[j]);
          g_assert_true (tsr_segment_store_has (tsr_node_get_store (node), c->segment_id));
        }
    }
  g_assert_true (tsr_cluster_check_health (f->cluster, NULL, NULL));
  status = tsr_cluster_dup_node_status (f->cluster);
  for (guint i = 0; i < status->len; i++)
    g_assert_cmpuint (((TsrNodeStatus *)status->pdata[i])->segment_count, ==, 16);

  /* The seed's detailed report says the same. */
  {
    g_autoptr (JsonNode) report = tsr_cluster_get_detailed_report (f->cluster);
    JsonObject *o = json_node_get_object (report);
    JsonObject *sys = json_object_get_object_member (o, "system");
    JsonArray *files = json_object_get_array_member (o, "files");
    JsonArray *chunks =
        json_object_get_array_member (json_array_get_object_element (files, 0), "chunks");
    JsonArray *third = json_array_get_array_element (chunks, 2);

    g_assert_cmpint (json_object_get_int_member (sys, "nodes_alive"), ==, 5);
    g_assert_cmpint (json_object_get_int_member (sys, "files"), ==, 1);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "nodes")), ==, 5);
    g_assert_cmpuint (json_array_get_length (chunks), ==, 40);
    g_assert_cmpstr (json_array_get_string_element (third, 0), ==, "Node_03");
    g_assert_cmpstr (json_array_get_string_element (third, 1), ==, "Node_04");
  }
}

/* What reading a 64 KiB chunk's segment around the page cache takes from the disk: whole 4 KiB
 * blocks. */
#define SEGMENT_ON_DISK ((65536 + TSR_CHUNK_OVERHEAD + 4095) / 4096 * 4096)

/* Whether each copy of each of @m's chunks is in its node's page cache: all of the first copy's
 * pages for chunks from @hot_from on, none otherwise. */
static void
assert_cached_copies (Fixture *f, TsrManifest *m, guint hot_from)
{
  for (guint i = 0; i < m->chunk_count; i++)
    {
      TsrManifestChunk *c = m->chunks->pdata[i];

      g_assert_cmpuint (c->nodes->len, ==, 2);
      for (guint j = 0; j < 2; j++)
        {
          TsrNode *node = tsr_cluster_get_embedded_node (f->cluster, c->nodes->pdata[j]);
          g_autofree char *seg =
              tsr_segment_store_segment_path (tsr_node_get_store (node), c->segment_id);
          guint pages, cached = tsr_test_cached_pages (seg, &pages);

          g_assert_cmpuint (pages, >, 0);
          g_assert_cmpuint (cached, ==, j == 0 && i >= hot_from ? pages : 0);
        }
    }
}

/* An upload keeps the first copies of its last chunks, up to a budget, in the nodes' page cache,
 * and a download right after reads them from there, not from the disk; every other copy leaves
 * the cache, and a download, which reads around it, brings none back: storing and reading back a
 * big file does not push the desktop's own files out of memory. A segment read from the disk is
 * at least a chunk; the file system may read a block of its own for the download's new file. */
static void
test_copies_leave_cache (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 40 * 65536);
  g_autoptr (GBytes) small = tsr_test_random_bytes (f->rand, 8 * 65536 + 5);
  g_autofree char *path = write_file (f, "photos.tar", content);
  g_autofree char *small_path = write_file (f, "notes.txt", small);
  g_autofree char *why = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (TsrManifest) sm = NULL;
  guint64 read;

  if (!tsr_test_page_cache_observable (f->dir, &why) ||
      !tsr_test_disk_reads_observable (f->dir, &why))
    {
      g_test_skip (why);
      return;
    }
  /* The last 10 chunks' first copies stay cached: the budget; the other 30 are read from disk. */
  _tsr_cluster_set_cache_budget (f->cluster, 10 * 65536);
  m = upload_path (f, path);
  assert_cached_copies (f, m, 30);
  tsr_test_download_and_compare_counting (f->cluster, f->dir, m->file_id, content, &read);
  g_assert_cmpuint (read, >=, 30 * SEGMENT_ON_DISK);
  g_assert_cmpuint (read, <, 31 * SEGMENT_ON_DISK);
  assert_cached_copies (f, m, 30);

  /* A file within the budget is read back from memory alone. */
  _tsr_cluster_set_cache_budget (f->cluster, 1024 * 1024);
  sm = upload_path (f, small_path);
  assert_cached_copies (f, sm, 0);
  tsr_test_download_and_compare_counting (f->cluster, f->dir, sm->file_id, small, &read);
  g_assert_cmpuint (read, <, SEGMENT_ON_DISK);
}

static gboolean
tree_contains (const char *dir, const char *needle)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      if (strstr (name, needle) != NULL)
        return TRUE;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (tree_contains (path, needle))
            return TRUE;
        }
      else if (g_file_get_contents (path, &contents, &len, NULL) &&
               g_strstr_len (contents, len, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_nodes_never_see_plaintext (Fixture *f, gconstpointer data)
{
  const char *marker = "TESSERA-PLAINTEXT-MARKER-7f3a";
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = NULL;
  g_autofree char *nodes_dir = g_build_filename (f->data_dir, "nodes", NULL);
  g_autoptr (TsrManifest) m = NULL;

  while (text->len < 300000)
    g_string_append_printf (text, "%s line %u\n", marker, (guint)text->len);
  content = g_bytes_new (text->str, text->len);
  path = write_file (f, "secret-plans-7f3a.txt", content);
  m = upload_path (f, path);

  g_assert_false (tree_contains (nodes_dir, marker));
  g_assert_false (tree_contains (nodes_dir, "secret-plans-7f3a"));
  g_assert_false (tree_contains (nodes_dir, m->file_hash));
  /* The check itself works: the marker is in the plaintext we uploaded. */
  g_assert_true (tree_contains (f->dir, marker));
  download_and_compare (f, m->file_id, content);
}

static void
test_download_with_any_node_disabled (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 20 * 65536 + 99);
  g_autofree char *path = write_file (f, "spread.bin", content);
  g_autoptr (TsrManifest) m = upload_path (f, path);
  g_autoptr (GError) error = NULL;

  for (guint k = 1; k <= 5; k++)
    {
      g_autofree char *node_id = g_strdup_printf ("Node_%02u", k);
      g_autoptr (GPtrArray) status = NULL;

      g_assert_true (tsr_cluster_set_node_enabled (f->cluster, node_id, FALSE, &error));
      g_assert_no_error (error);
      status = tsr_cluster_dup_node_status (f->cluster);
      g_assert_cmpint (((TsrNodeStatus *)status->pdata[k - 1])->state, ==, TSR_NODE_STATE_STOPPED);
      download_and_compare (f, m->file_id, content);
      g_assert_true (tsr_cluster_set_node_enabled (f->cluster, node_id, TRUE, &error));
      g_assert_no_error (error);
    }
}

/* Every node serves the bytes it was asked for, but the catalog has two chunks swapped (a
 * damaged or tampered manifest): each chunk's AEAD tag is bound to its position, so the
 * download refuses rather than writing the file in the wrong order. */
static void
test_swapped_chunks_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 3 * 65536);
  g_autofree char *path = write_file (f, "swap.bin", content);
  g_autoptr (TsrManifest) m = upload_path (f, path);
  g_autofree char *name = g_strconcat (m->file_id, ".json", NULL);
  g_autofree char *manifest_path = g_build_filename (f->data_dir, "catalog", name, NULL);
  g_autofree char *out = g_build_filename (f->dir, "swapped.bin", NULL);
  g_autoptr (GFile) dest = g_file_new_for_path (out);
  g_autoptr (TsrManifest) tampered = NULL;
  g_autoptr (GError) error = NULL;
  TsrManifestChunk *c0, *c1;
  char *id;
  GPtrArray *nodes;

  tampered = tsr_manifest_load (manifest_path, &error);
  g_assert_no_error (error);
  c0 = tampered->chunks->pdata[0];
  c1 = tampered->chunks->pdata[1];
  id = c0->segment_id, c0->segment_id = c1->segment_id, c1->segment_id = id;
  nodes = c0->nodes, c0->nodes = c1->nodes, c1->nodes = nodes;
  g_assert_true (tsr_manifest_save (tampered, manifest_path, &error));
  g_assert_no_error (error);

  g_assert_false (tsr_cluster_download (f->cluster, m->file_id, dest, FALSE, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "altered"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* New uploads use AES-256-GCM where the CPU has AES-NI, XChaCha20-Poly1305 elsewhere; the
 * manifest says which, and a cluster reads both (files from a machine without AES-NI, or from
 * before AES-256-GCM), also after a restart. */
static void
test_both_ciphers (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) a = tsr_test_random_bytes (f->rand, 5 * 65536 + 3);
  g_autoptr (GBytes) b = tsr_test_random_bytes (f->rand, 5 * 65536 + 3);
  g_autofree char *path_a = write_file (f, "preferred.bin", a);
  g_autofree char *path_b = write_file (f, "xchacha.bin", b);
  g_autoptr (TsrManifest) ma = upload_path (f, path_a);
  g_autoptr (TsrManifest) mb = NULL;
  g_autoptr (TsrManifest) loaded = NULL;
  g_autoptr (GError) error = NULL;
  TsrChunkCipher parsed;

  g_assert_cmpstr (ma->cipher, ==, tsr_chunk_cipher_to_string (tsr_chunk_cipher_preferred ()));
  g_test_message ("this machine seals new files with %s", ma->cipher);
  _tsr_cluster_set_chunk_cipher (f->cluster, TSR_CHUNK_CIPHER_XCHACHA20POLY1305);
  mb = upload_path (f, path_b);
  g_assert_cmpstr (mb->cipher, ==, "xchacha20poly1305");
  /* Same size and overhead either way: usage and capacity checks need not know the cipher. */
  for (guint i = 0; i < ma->chunks->len; i++)
    g_assert_cmpuint (((TsrManifestChunk *)ma->chunks->pdata[i])->size, ==,
                      ((TsrManifestChunk *)mb->chunks->pdata[i])->size);

  tsr_test_close_cluster (f->cluster);
  open_cluster (f);
  loaded = tsr_cluster_get_file (f->cluster, ma->file_id, &error);
  g_assert_no_error (error);
  g_assert_true (tsr_chunk_cipher_from_string (loaded->cipher, &parsed));
  g_assert_cmpint (parsed, ==, tsr_chunk_cipher_preferred ());
  download_and_compare (f, ma->file_id, a);
  download_and_compare (f, mb->file_id, b);
}

/* One copy of a chunk rots on its node's disk. A download asks nodes not to hash what they
 * send (it checks each chunk's AEAD tag itself), so no node reports it: the tag fails, and
 * the download takes the other copy. */
static void
test_rotted_copy_falls_back (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 4 * 65536);
  g_autofree char *path = write_file (f, "rot.bin", content);
  g_autoptr (TsrManifest) m = upload_path (f, path);

  for (guint i = 0; i < m->chunks->len; i++)
    {
      TsrManifestChunk *c = m->chunks->pdata[i];
      char fan[3] = { c->segment_id[0], c->segment_id[1], '\0' };
      g_autofree char *seg = g_build_filename (f->data_dir, "nodes", c->nodes->pdata[0], "segments",
                                               fan, c->segment_id, NULL);
      g_autofree char *bytes = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (seg, &bytes, &len, NULL));
      bytes[len / 2] ^= 0x40;
      g_assert_true (g_file_set_contents (seg, bytes, len, NULL));
    }
  download_and_compare (f, m->file_id, content);
}

static guint64
node_used (Fixture *f, guint k)
{
  g_autofree char *node_id = g_strdup_printf ("Node_%02u", k);
  TsrNode *node = tsr_cluster_get_embedded_node (f->cluster, node_id);

  return tsr_segment_store_get_used (tsr_node_get_store (node));
}

static void
test_delete_restores_usage (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) keep = tsr_test_random_bytes (f->rand, 100000);
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 17 * 65536 + 5);
  g_autofree char *keep_path = write_file (f, "keep.bin", keep);
  g_autofree char *path = write_file (f, "doomed.bin", content);
  g_autoptr (TsrManifest) kept = upload_path (f, keep_path);
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GError) error = NULL;
  guint64 before[6];
  guint64 total_after = 0;

  for (guint k = 1; k <= 5; k++)
    before[k] = node_used (f, k);
  m = upload_path (f, path);
  for (guint k = 1; k <= 5; k++)
    total_after += node_used (f, k) - before[k];
  /* two encrypted copies of every chunk */
  g_assert_cmpuint (total_after, ==, 2 * g_bytes_get_size (content) + 2 * 18 * TSR_CHUNK_OVERHEAD);

  g_assert_true (tsr_cluster_delete (f->cluster, m->file_id, NULL, &error));
  g_assert_no_error (error);
  for (guint k = 1; k <= 5; k++)
    g_assert_cmpuint (node_used (f, k), ==, before[k]);
  g_assert_false (tsr_cluster_delete (f->cluster, m->file_id, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  /* The other file is untouched. */
  download_and_compare (f, kept->file_id, keep);
}

typedef struct
{
  GCancellable *cancel;
  guint64 seen;
  GAsyncResult *result;
} CancelState;

static void
cancel_at_half (TsrCluster *cluster, GCancellable *cancellable, const char *name, guint64 done,
                guint64 total, double rate, gpointer data)
{
  CancelState *s = data;

  /* The signal names the transfer by the cancellable it was started with. */
  g_assert_true (cancellable == s->cancel);

  s->seen = MAX (s->seen, done);
  if (done >= total / 2)
    g_cancellable_cancel (s->cancel);
}

static void
test_cancelled_upload_leaves_nothing (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 24 * 1024 * 1024);
  g_autofree char *path = write_file (f, "big.bin", content);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autofree char *catalog = g_build_filename (f->data_dir, "catalog", NULL);
  CancelState s = { g_cancellable_new (), 0, NULL };
  guint64 before = 0, after = 0;
  TsrManifest *m;

  TsrNetemSettings slow;

  /* Progress reaches the main loop ten times a second, and an upload of 24 MiB can be over
   * before one says "half": emulated links of 16 MB/s each make it take about a second. */
  tsr_netem_settings_init_off (&slow);
  slow.enabled = TRUE;
  slow.bandwidth = 16 * 1000 * 1000;
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &slow, &error));
  g_assert_no_error (error);
  for (guint k = 1; k <= 5; k++)
    before += node_used (f, k);
  g_signal_connect (f->cluster, "transfer-progress", G_CALLBACK (cancel_at_half), &s);
  tsr_cluster_upload_async (f->cluster, file, s.cancel, tsr_test_keep_result, &s.result);
  while (s.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  m = tsr_cluster_upload_finish (f->cluster, s.result, &error);
  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CANCELLED);
  g_assert_cmpuint (s.seen, >=, g_bytes_get_size (content) / 2);
  g_assert_cmpuint (s.seen, <, g_bytes_get_size (content));

  files = tsr_cluster_list_files (f->cluster, NULL);
  g_assert_cmpuint (files->len, ==, 0);
  g_assert_true (tsr_test_dir_is_empty (catalog));
  for (guint k = 1; k <= 5; k++)
    after += node_used (f, k);
  g_assert_cmpuint (after, ==, before);

  g_signal_handlers_disconnect_by_data (f->cluster, &s);
  g_object_unref (s.result);
  g_object_unref (s.cancel);
}

/* A file written to while it uploads (an editor saving it, a download still running into it) is
 * not stored: its chunks would mix two versions, a file that never existed whole. The upload
 * fails with CHANGED, naming it, and leaves no manifest and no copies. */
typedef struct
{
  const char *path;
  gboolean written;
  GAsyncResult *result;
} ChangeState;

static void
change_at_quarter (TsrCluster *cluster, GCancellable *cancellable, const char *name, guint64 done,
                   guint64 total, double rate, gpointer data)
{
  ChangeState *s = data;

  if (!s->written && done >= total / 4 && done < total)
    {
      /* In place, the size kept: only the modification time tells. */
      int fd = open (s->path, O_WRONLY);

      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (pwrite (fd, "edit", 4, (off_t)total - 4), ==, 4);
      g_assert_cmpint (close (fd), ==, 0);
      s->written = TRUE;
    }
}

static void
test_file_changed_during_upload (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 24 * 1024 * 1024);
  g_autofree char *path = write_file (f, "draft.odt", content);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = NULL;
  ChangeState s = { path, FALSE, NULL };
  TsrNetemSettings slow;
  guint64 before = 0, after = 0;
  TsrManifest *m;

  /* As in cancelled-upload-leaves-nothing: slow enough for progress to be seen halfway. */
  tsr_netem_settings_init_off (&slow);
  slow.enabled = TRUE;
  slow.bandwidth = 16 * 1000 * 1000;
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &slow, &error));
  g_assert_no_error (error);
  for (guint k = 1; k <= 5; k++)
    before += node_used (f, k);
  g_signal_connect (f->cluster, "transfer-progress", G_CALLBACK (change_at_quarter), &s);
  tsr_cluster_upload_async (f->cluster, file, NULL, tsr_test_keep_result, &s.result);
  while (s.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handlers_disconnect_by_data (f->cluster, &s);
  g_assert_true (s.written);
  m = tsr_cluster_upload_finish (f->cluster, s.result, &error);
  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CHANGED);
  g_assert_nonnull (strstr (error->message, "draft.odt"));
  g_clear_object (&s.result);

  files = tsr_cluster_list_files (f->cluster, NULL);
  g_assert_cmpuint (files->len, ==, 0);
  for (guint k = 1; k <= 5; k++)
    after += node_used (f, k);
  g_assert_cmpuint (after, ==, before);

  /* Left alone, it uploads. */
  g_clear_error (&error);
  m = tsr_cluster_upload (f->cluster, file, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  tsr_manifest_free (m);
}

/* Threads of this process named @name. */
static guint
count_threads (const char *name)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_equal (g_strchomp (comm), name))
        n++;
    }
  return n;
}

/* An upload's result, and how many ended before it. */
typedef struct
{
  GAsyncResult *result;
  guint rank;
  guint *ended;
} Ranked;

static void
on_ranked_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Ranked *r = data;

  r->result = g_object_ref (result);
  r->rank = (*r->ended)++;
}

/* A folder's worth of files dropped at once: a few uploads run together, each on a thread of
 * its own, the rest wait their turn; a file too big for the budget goes alone; one cancelled
 * while it waits ends at once; every other one is stored whole. */
static void
test_uploads_wait_their_turn (Fixture *f, gconstpointer data)
{
  const guint n_small = 40, n_big = 3, n = n_small + n_big + 1;
  const gsize big = 17 << 20; /* past the 16 MiB the uploads running together may have */
  g_autoptr (GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GCancellable) keep = g_cancellable_new ();
  g_autoptr (GCancellable) drop = g_cancellable_new ();
  g_autofree Ranked *ranked = g_new0 (Ranked, n);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  guint before = count_threads ("tsr-task"), peak_uploads, done_before_cancel = 0, ended = 0;
  guint64 peak_bytes;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("file-%02u.bin", i);
      gsize len = i < n_big ? big : (gsize)g_rand_int_range (f->rand, 1, 200000);
      GBytes *content = tsr_test_random_bytes (f->rand, len);
      g_autofree char *path = write_file (f, name, content);

      g_ptr_array_add (contents, content);
      g_ptr_array_add (files, g_file_new_for_path (path));
    }
  /* All asked for at once, as when they are dropped together. */
  for (guint i = 0; i < n; i++)
    {
      ranked[i].ended = &ended;
      tsr_cluster_upload_async (f->cluster, files->pdata[i], i == n - 1 ? drop : keep,
                                on_ranked_done, &ranked[i]);
    }
  /* Every upload was asked for, and only a few threads exist for them. */
  g_assert_cmpuint (count_threads ("tsr-task") - before, <=, 8);

  /* The last one waits behind the others; cancelled, it ends before any of them. */
  g_cancellable_cancel (drop);
  while (ranked[n - 1].result == NULL)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < n - 1; i++)
    done_before_cancel += ranked[i].result != NULL;
  g_assert_cmpuint (done_before_cancel, ==, 0);
  g_assert_null (tsr_cluster_upload_finish (f->cluster, ranked[n - 1].result, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CANCELLED);
  g_clear_error (&error);

  for (guint i = 0; i < n - 1; i++)
    {
      g_autoptr (TsrManifest) m = NULL;

      while (ranked[i].result == NULL)
        g_main_context_iteration (NULL, TRUE);
      m = tsr_cluster_upload_finish (f->cluster, ranked[i].result, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (m->size, ==, g_bytes_get_size (contents->pdata[i]));
      if (i == 0 || i == n - 2)
        download_and_compare (f, m->file_id, contents->pdata[i]);
    }
  /* In the order asked: after the cancelled one, the big ones, each alone, before any small
   * one. */
  g_assert_cmpuint (ranked[n - 1].rank, ==, 0);
  for (guint i = 0; i < n - 1; i++)
    g_assert_cmpuint (ranked[i].rank <= n_big, ==, i < n_big);
  /* Several ran together, never more than eight, and a big one with nothing else. */
  _tsr_cluster_get_upload_peak (f->cluster, &peak_uploads, &peak_bytes);
  g_assert_cmpuint (peak_uploads, >, 1);
  g_assert_cmpuint (peak_uploads, <=, 8);
  g_assert_cmpuint (peak_bytes, ==, big);
  for (guint i = 0; i < n; i++)
    g_object_unref (ranked[i].result);
}

/* The app quits while a folder's worth of uploads waits: each ends, stored or refused because
 * the cluster stopped, and none runs on without its nodes. */
static void
test_stop_with_uploads_waiting (Fixture *f, gconstpointer data)
{
  const guint n = 24;
  g_autofree Ranked *ranked = g_new0 (Ranked, n);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  guint stored = 0, stopped = 0, ended = 0;

  /* Every file written first, then all asked for at once: written in between, on a slow
   * machine (a sanitizer build) each upload ended before the next was asked for, and none
   * was left waiting when the cluster stopped. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("file-%02u.bin", i);
      g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 3 << 20);
      g_autofree char *path = write_file (f, name, content);

      g_ptr_array_add (files, g_file_new_for_path (path));
    }
  for (guint i = 0; i < n; i++)
    {
      ranked[i].ended = &ended;
      tsr_cluster_upload_async (f->cluster, files->pdata[i], NULL, on_ranked_done, &ranked[i]);
    }
  tsr_cluster_stop (f->cluster);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TsrManifest) m = NULL;

      while (ranked[i].result == NULL)
        g_main_context_iteration (NULL, TRUE);
      m = tsr_cluster_upload_finish (f->cluster, ranked[i].result, &error);
      if (m != NULL)
        stored++;
      else
        {
          g_assert_error (error, TSR_ERROR, TSR_ERROR_STOPPED);
          stopped++;
        }
      g_object_unref (ranked[i].result);
    }
  g_assert_cmpuint (stored + stopped, ==, n);
  g_assert_cmpuint (stopped, >, 0);
}

static void
test_download_refuses_to_overwrite (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 5000);
  g_autofree char *path = write_file (f, "a.bin", content);
  g_autoptr (TsrManifest) m = upload_path (f, path);
  g_autofree char *existing = g_build_filename (f->dir, "precious.txt", NULL);
  g_autoptr (GFile) dest = g_file_new_for_path (existing);
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (existing, "do not lose me", -1, NULL));
  g_assert_false (tsr_cluster_download (f->cluster, m->file_id, dest, FALSE, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_EXISTS);
  g_assert_true (g_file_get_contents (existing, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "do not lose me");
  /* No temporary file is left beside it either. */
  {
    g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL)
      g_assert_null (strstr (name, ".tessera-"));
  }
  g_clear_error (&error);
  g_assert_true (tsr_cluster_download (f->cluster, m->file_id, dest, TRUE, NULL, &error));
  g_assert_no_error (error);
}

static void
test_second_process_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrCluster) second = tsr_cluster_open (f->data_dir, &error);

  g_assert_null (second);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "in use by process"));
}

static void
test_folder_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GFile) folder = g_file_new_for_path (f->dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = tsr_cluster_upload (f->cluster, folder, NULL, &error);

  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "folder"));
}

static void
test_too_few_nodes_fails_cleanly (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 300000);
  g_autofree char *path = write_file (f, "lonely.bin", content);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GPtrArray) files = NULL;

  for (guint k = 2; k <= 5; k++)
    {
      g_autofree char *node_id = g_strdup_printf ("Node_%02u", k);
      g_assert_true (tsr_cluster_set_node_enabled (f->cluster, node_id, FALSE, NULL));
    }
  m = tsr_cluster_upload (f->cluster, file, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "1 of 2 copies"));
  g_assert_nonnull (strstr (error->message, "4 are down or disabled"));
  files = tsr_cluster_list_files (f->cluster, NULL);
  g_assert_cmpuint (files->len, ==, 0);
  g_assert_cmpuint (node_used (f, 1), ==, 0);
}

static void
test_full_nodes_fail_cleanly (Fixture *f, gconstpointer data)
{
  /* Five nodes of 200 KB each cannot hold two copies of 600 KB. */
  g_autoptr (GBytes) small = tsr_test_random_bytes (f->rand, 50000);
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 600000);
  g_autofree char *small_path = write_file (f, "small.bin", small);
  g_autofree char *path = write_file (f, "too-big.bin", content);
  g_autoptr (TsrManifest) kept = upload_path (f, small_path);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = NULL;
  guint64 before = 0, after = 0;

  for (guint k = 1; k <= 5; k++)
    before += node_used (f, k);
  m = tsr_cluster_upload (f->cluster, file, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NO_SPACE);
  for (guint k = 1; k <= 5; k++)
    after += node_used (f, k);
  g_assert_cmpuint (after, ==, before);
  download_and_compare (f, kept->file_id, small);
}

/* The file id is the content's hash: the same bytes twice make one file, not two manifests
 * fighting over one name, and the second upload's segments do not linger. */
static void
test_same_content_twice (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 150000);
  g_autofree char *a = write_file (f, "a.bin", content);
  g_autofree char *b = write_file (f, "b.bin", content);
  g_autoptr (TsrManifest) first = upload_path (f, a);
  g_autoptr (TsrManifest) second = NULL;
  g_autoptr (GPtrArray) files = NULL;
  guint64 after_first = 0, after_second = 0;

  for (guint k = 1; k <= 5; k++)
    after_first += node_used (f, k);
  second = upload_path (f, b);
  for (guint k = 1; k <= 5; k++)
    after_second += node_used (f, k);

  g_assert_cmpstr (second->file_id, ==, first->file_id);
  g_assert_cmpstr (second->name, ==, "a.bin");
  g_assert_cmpuint (after_second, ==, after_first);
  files = tsr_cluster_list_files (f->cluster, NULL);
  g_assert_cmpuint (files->len, ==, 1);
  download_and_compare (f, first->file_id, content);
}

static void
test_no_nodes_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *empty_dir = g_build_filename (f->dir, "empty-cluster", NULL);
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 1000);
  g_autofree char *path = write_file (f, "x.bin", content);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrCluster) empty = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GPtrArray) files = NULL;

  g_assert_true (tsr_cluster_init_data_dir (empty_dir, 0, 1000000, 65536, 2, &error));
  g_assert_no_error (error);
  empty = tsr_cluster_open (empty_dir, &error);
  g_assert_no_error (error);
  g_assert_true (tsr_cluster_start (empty, &error));
  m = tsr_cluster_upload (empty, file, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_UNREACHABLE);
  files = tsr_cluster_list_files (empty, NULL);
  g_assert_cmpuint (files->len, ==, 0);
  tsr_cluster_stop (empty);
}

static void
on_state_changed (TsrCluster *cluster, const char *node_id, TsrNodeState state, gpointer data)
{
  GPtrArray *seen = data;
  g_ptr_array_add (seen, g_strdup_printf ("%s:%s", node_id, tsr_node_state_to_string (state)));
}

static void
test_health_tracks_stopped_node (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) status = NULL;
  TsrNode *node = tsr_cluster_get_embedded_node (f->cluster, "Node_03");

  g_signal_connect (f->cluster, "node-state-changed", G_CALLBACK (on_state_changed), seen);
  /* A node that dies on its own (not disabled through the cluster) is noticed by the next
   * health check. */
  tsr_node_stop (node);
  g_assert_true (tsr_cluster_check_health (f->cluster, NULL, NULL));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  status = tsr_cluster_dup_node_status (f->cluster);
  g_assert_cmpint (((TsrNodeStatus *)status->pdata[2])->state, ==, TSR_NODE_STATE_STOPPED);
  g_assert_false (((TsrNodeStatus *)status->pdata[2])->alive);
  g_assert_true (((TsrNodeStatus *)status->pdata[0])->alive);
  g_assert_true (g_ptr_array_find_with_equal_func (seen, "Node_03:STOPPED", g_str_equal, NULL));
  g_signal_handlers_disconnect_by_data (f->cluster, seen);
}

static void
assert_same_health (TsrCluster *cluster, const TsrManifest *whole, const TsrManifest *summary)
{
  TsrFileHealthInfo a, b;

  tsr_cluster_get_file_health (cluster, whole, &a);
  tsr_cluster_get_file_health (cluster, summary, &b);
  g_assert_cmpint (a.state, ==, b.state);
  g_assert_cmpuint (a.min_copies, ==, b.min_copies);
  g_assert_cmpuint (a.survives, ==, b.survives);
  g_assert_cmpuint (a.degraded_chunks, ==, b.degraded_chunks);
  g_assert_cmpuint (a.lost_chunks, ==, b.lost_chunks);
}

/* `list` reads summaries: the same files in the same order as whole manifests, with the same
 * health while nodes come and go, in a fraction of the memory. */
static void
test_list_summaries (Fixture *f, gconstpointer data)
{
  const gsize sizes[] = { 0, 65537, 700 * 1024 + 3 };
  g_autoptr (GPtrArray) whole = NULL;
  g_autoptr (GPtrArray) summaries = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, sizes[i]);
      g_autofree char *name = g_strdup_printf ("listed-%u.bin", i);
      g_autofree char *path = write_file (f, name, content);
      g_autoptr (TsrManifest) m = upload_path (f, path);
    }
  whole = tsr_cluster_list_files (f->cluster, &error);
  g_assert_no_error (error);
  summaries = tsr_cluster_list_file_summaries (f->cluster, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (summaries->len, ==, G_N_ELEMENTS (sizes));
  g_assert_cmpuint (whole->len, ==, summaries->len);
  for (guint i = 0; i < whole->len; i++)
    {
      const TsrManifest *m = whole->pdata[i], *s = summaries->pdata[i];
      guint64 counted = 0;

      g_assert_cmpstr (s->file_id, ==, m->file_id);
      g_assert_cmpstr (s->name, ==, m->name);
      g_assert_cmpuint (s->size, ==, m->size);
      g_assert_cmpuint (s->chunk_count, ==, m->chunk_count);
      g_assert_cmpint (s->created_at, ==, m->created_at);
      g_assert_cmpuint (s->chunks->len, ==, 0);
      /* Round-robin placement over five nodes: at most five distinct pairs. */
      g_assert_cmpuint (s->placements->len, <=, 5);
      g_assert_cmpuint (s->placements->len, ==, MIN (m->chunk_count, 5));
      for (guint k = 0; k < m->chunks->len; k++)
        {
          const TsrManifestChunk *c = m->chunks->pdata[k];
          const TsrManifestPlacement *p = s->placements->pdata[k % 5];

          g_assert_cmpuint (p->nodes->len, ==, c->nodes->len);
          for (guint j = 0; j < c->nodes->len; j++)
            g_assert_cmpstr (p->nodes->pdata[j], ==, c->nodes->pdata[j]);
        }
      for (guint k = 0; k < s->placements->len; k++)
        counted += ((TsrManifestPlacement *)s->placements->pdata[k])->chunks;
      g_assert_cmpuint (counted, ==, m->chunk_count);
      assert_same_health (f->cluster, m, s);
    }

  /* One node down: the 700 KiB file's chunks on it are degraded; two adjacent nodes down: some
   * are lost. The summaries say so as the whole manifests do. */
  for (guint down = 1; down <= 2; down++)
    {
      g_autofree char *node_id = g_strdup_printf ("Node_0%u", down + 1);
      TsrFileHealthInfo h;

      g_assert_true (tsr_cluster_set_node_enabled (f->cluster, node_id, FALSE, &error));
      g_assert_no_error (error);
      tsr_cluster_check_health (f->cluster, NULL, NULL);
      for (guint i = 0; i < whole->len; i++)
        assert_same_health (f->cluster, whole->pdata[i], summaries->pdata[i]);
      tsr_cluster_get_file_health (f->cluster, summaries->pdata[2], &h);
      g_assert_cmpint (h.state, ==, down == 1 ? TSR_FILE_DEGRADED : TSR_FILE_LOST);
      g_assert_cmpuint (h.degraded_chunks, >, 0);
      g_assert_cmpuint (h.lost_chunks, ==, down == 1 ? 0 : 2); /* chunks 1 and 6 */
    }
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* With the main loop running, the periodic check notices a node that died, unprompted. */
static void
test_periodic_health (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  gboolean timed_out = FALSE;
  guint deadline;

  g_signal_connect (f->cluster, "node-state-changed", G_CALLBACK (on_state_changed), seen);
  tsr_cluster_set_health_interval (f->cluster, 1);
  tsr_node_stop (tsr_cluster_get_embedded_node (f->cluster, "Node_04"));
  deadline = g_timeout_add_seconds (10, on_deadline, &timed_out);
  while (!timed_out &&
         !g_ptr_array_find_with_equal_func (seen, "Node_04:STOPPED", g_str_equal, NULL))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (deadline);
  g_signal_handlers_disconnect_by_data (f->cluster, seen);
}

static void
test_restart_keeps_files (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 200000);
  g_autofree char *path = write_file (f, "persist.bin", content);
  g_autoptr (TsrManifest) m = upload_path (f, path);
  g_autofree char *file_id = g_strdup (m->file_id);

  tsr_cluster_stop (f->cluster);
  g_assert_finalize_object (f->cluster);
  open_cluster (f);
  download_and_compare (f, file_id, content);
}

/* The fallbacks of a download's file: a file system without unnamed files (a hidden file with
 * a short name, beside a destination whose name is as long as a name can be) and a sandbox
 * refusing to link one (copied to such a file). Each makes the file, refuses to overwrite
 * without being asked, replaces it when asked, and leaves nothing else in the folder. */
static void
test_download_fallbacks (Fixture *f, gconstpointer data)
{
  const TsrDownloadFile ways[] = { TSR_DOWNLOAD_FILE_NAMED, TSR_DOWNLOAD_FILE_COPIED };
  g_autoptr (GBytes) first = tsr_test_random_bytes (f->rand, 3 * 65536 + 5);
  g_autoptr (GBytes) second = tsr_test_random_bytes (f->rand, 70000);
  g_autofree char *first_path = write_file (f, "first.bin", first);
  g_autofree char *second_path = write_file (f, "second.bin", second);
  g_autoptr (TsrManifest) a = upload_path (f, first_path);
  g_autoptr (TsrManifest) b = upload_path (f, second_path);
  g_autofree char *long_name = g_strnfill (250, 'd');

  for (guint w = 0; w < G_N_ELEMENTS (ways); w++)
    {
      g_autofree char *name = g_strdup_printf ("out-%u", w);
      g_autofree char *dir = g_build_filename (f->dir, name, NULL);
      g_autofree char *out = g_build_filename (dir, long_name, NULL);
      g_autoptr (GFile) dest = g_file_new_for_path (out);
      g_autoptr (GError) error = NULL;
      g_autoptr (GDir) listing = NULL;

      g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
      _tsr_cluster_force_download_file (f->cluster, ways[w]);
      g_assert_true (tsr_cluster_download (f->cluster, a->file_id, dest, FALSE, NULL, &error));
      g_assert_no_error (error);
      tsr_test_assert_file_equals (out, first);

      g_assert_false (tsr_cluster_download (f->cluster, b->file_id, dest, FALSE, NULL, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_EXISTS);
      g_clear_error (&error);
      g_assert_true (tsr_cluster_download (f->cluster, b->file_id, dest, TRUE, NULL, &error));
      g_assert_no_error (error);
      tsr_test_assert_file_equals (out, second);

      listing = g_dir_open (dir, 0, NULL);
      g_assert_cmpstr (g_dir_read_name (listing), ==, long_name);
      g_assert_null (g_dir_read_name (listing));
    }
  _tsr_cluster_force_download_file (f->cluster, TSR_DOWNLOAD_FILE_UNNAMED);
}

/* A file whose name is not UTF-8 (from an old Latin-1 disk) is stored under its name with the
 * stray bytes shown as U+FFFD: before, its manifest could not be read back, and the file
 * vanished from the list right after its upload succeeded. */
static void
test_name_not_utf8 (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 70000);
  g_autofree char *path = write_file (f, "caf\xe9 cr\xe8me.txt", content);
  g_autoptr (TsrManifest) m = upload_path (f, path);
  g_autoptr (GPtrArray) files = tsr_cluster_list_files (f->cluster, NULL);

  g_assert_cmpstr (m->name, ==, "caf\uFFFD cr\uFFFDme.txt");
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_cmpstr (((TsrManifest *)files->pdata[0])->name, ==, m->name);
  download_and_compare (f, m->file_id, content);
}

/* A node whose identity file is damaged does not start, and says why; the others start, every
 * file is still read back (each has a copy elsewhere), and new files go to the four. */
static void
test_node_that_cannot_start (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 5 * 65536 + 3);
  g_autoptr (GBytes) later = tsr_test_random_bytes (f->rand, 3 * 65536);
  g_autofree char *path = write_file (f, "before.bin", content);
  g_autofree char *later_path = write_file (f, "after.bin", later);
  g_autoptr (TsrManifest) m = upload_path (f, path);
  g_autoptr (TsrManifest) m2 = NULL;
  g_autofree char *identity =
      g_build_filename (f->data_dir, "nodes", "Node_03", "identity.pem", NULL);
  g_autoptr (GPtrArray) nodes = NULL;

  g_autofree char *good = NULL;
  gsize good_len;
  g_autoptr (GError) error = NULL;

  tsr_cluster_stop (f->cluster);
  g_assert_finalize_object (f->cluster);
  g_assert_true (g_file_get_contents (identity, &good, &good_len, NULL));
  g_assert_true (g_file_set_contents (identity, "not a certificate", -1, NULL));
  open_cluster (f);

  nodes = tsr_cluster_dup_node_status (f->cluster);
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];

      if (g_str_equal (s->node_id, "Node_03"))
        {
          g_assert_false (s->alive);
          g_assert_nonnull (s->problem);
          g_assert_nonnull (strstr (s->problem, "identity.pem"));
        }
      else
        {
          g_assert_true (s->alive);
          g_assert_null (s->problem);
        }
    }
  download_and_compare (f, m->file_id, content);
  m2 = upload_path (f, later_path);
  for (guint i = 0; i < m2->chunks->len; i++)
    {
      TsrManifestChunk *c = m2->chunks->pdata[i];
      g_assert_cmpuint (c->nodes->len, ==, 2);
      for (guint k = 0; k < c->nodes->len; k++)
        g_assert_cmpstr (c->nodes->pdata[k], !=, "Node_03");
    }
  download_and_compare (f, m2->file_id, later);
  /* The file was left as it was, for the user to restore or move away. */
  {
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (identity, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "not a certificate");
  }

  /* Enabling it again tries again: still damaged, it says so; restored, it runs. */
  g_assert_false (tsr_cluster_set_node_enabled (f->cluster, "Node_03", TRUE, &error));
  g_assert_nonnull (strstr (error->message, "identity.pem"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (identity, good, good_len, NULL));
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_03", TRUE, &error));
  g_assert_no_error (error);
  g_clear_pointer (&nodes, g_ptr_array_unref);
  nodes = tsr_cluster_dup_node_status (f->cluster);
  for (guint i = 0; i < nodes->len; i++)
    {
      TsrNodeStatus *s = nodes->pdata[i];
      g_assert_true (s->alive);
      g_assert_null (s->problem);
    }
  download_and_compare (f, m2->file_id, later);
}

/* The manifest loader reads the text without a JSON tree: members it does not know are skipped
 * whatever their shape, escapes are decoded, and what a damaged manifest can look like is
 * refused as CORRUPT rather than half-read. */
static const char manifest_text[] =
    "{\"format\":\"tessera-manifest\",\"version\":1,\"file_id\":\"c9fe1cb8c8d67acf\","
    "\"original_filename\":\"r\\u00e9sum\\u00e9 \\ud83d\\ude00 \\\"x\\\".pdf\","
    "\"future\":{\"a\":[1,-2.5e3,true,false,null,{\"b\":\"\\n\\/\"}],\"c\":{}},"
    "\"file_hash\":\"c9fe1cb8c8d67acf7978bd2a263371f4472e98bb90aa4dbaa5223375fa265903\","
    "\"total_size_bytes\":70000,\"chunk_size_bytes\":65536,\"total_chunks\":2,"
    "\"created_at\":\"2026-11-27T20:16:12Z\",\"replicas\":2,\"cipher\":\"xchacha20poly1305\","
    "\"sealed_key\":\"zgHk\",\"chunks\":["
    "{\"index\":0,\"extra\":[],\"segment_id\":"
    "\"a98bdb69c74b6c92d2f10b01ff21049dc2f421bce0efa5631573103d9d488782\",\"size\":65552,"
    "\"nodes\":[\"Node_01\",\"Node_02\"]},"
    "{\"nodes\":[],\"size\":4480,\"index\":1,\"segment_id\":"
    "\"58c8f6f028da7921e34df78d81848c7d174fa8f8a35e714ef69bf6726722648b\"}]}";

static void
assert_refused (const char *from, const char *to)
{
  g_autoptr (GString) text = g_string_new (manifest_text);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GError) summary_error = NULL;
  g_autoptr (TsrManifest) summary = NULL;

  g_assert_cmpuint (g_string_replace (text, from, to, 1), ==, 1);
  m = tsr_manifest_parse (text->str, text->len, &error);
  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_test_message ("%s -> %s: %s", from, to, error->message);
  /* A summary checks everything a whole manifest is checked for. */
  summary = tsr_manifest_parse_summary (text->str, text->len, &summary_error);
  g_assert_null (summary);
  g_assert_error (summary_error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_assert_cmpstr (summary_error->message, ==, error->message);
}

static void
test_manifest_reader (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = tsr_manifest_parse (manifest_text, -1, &error);
  g_autoptr (TsrManifest) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  TsrManifestChunk *c;
  gsize len, len2;

  g_assert_no_error (error);
  g_assert_cmpstr (m->name, ==, "r\xc3\xa9sum\xc3\xa9 \xf0\x9f\x98\x80 \"x\".pdf");
  g_assert_cmpuint (m->size, ==, 70000);
  g_assert_cmpuint (m->chunks->len, ==, 2);
  c = m->chunks->pdata[0];
  g_assert_cmpuint (c->size, ==, 65552);
  g_assert_cmpuint (c->nodes->len, ==, 2);
  g_assert_cmpstr (c->nodes->pdata[1], ==, "Node_02");
  c = m->chunks->pdata[1];
  g_assert_cmpuint (c->index, ==, 1);
  g_assert_cmpuint (c->nodes->len, ==, 0);

  /* What is written reads back the same. */
  text = tsr_manifest_to_data (m, &len);
  again = tsr_manifest_parse (text, len, &error);
  g_assert_no_error (error);
  text2 = tsr_manifest_to_data (again, &len2);
  g_assert_cmpmem (text, len, text2, len2);

  /* The summary: the same header, and each distinct placement once with its chunks. */
  {
    g_autoptr (TsrManifest) summary = tsr_manifest_parse_summary (manifest_text, -1, &error);
    TsrManifestPlacement *p;

    g_assert_no_error (error);
    g_assert_cmpstr (summary->file_id, ==, m->file_id);
    g_assert_cmpstr (summary->name, ==, m->name);
    g_assert_cmpuint (summary->size, ==, m->size);
    g_assert_cmpuint (summary->chunk_count, ==, 2);
    g_assert_cmpint (summary->created_at, ==, m->created_at);
    g_assert_cmpuint (summary->chunks->len, ==, 0);
    g_assert_cmpuint (summary->placements->len, ==, 2);
    p = summary->placements->pdata[0];
    g_assert_cmpuint (p->chunks, ==, 1);
    g_assert_cmpuint (p->nodes->len, ==, 2);
    g_assert_cmpstr (p->nodes->pdata[0], ==, "Node_01");
    p = summary->placements->pdata[1];
    g_assert_cmpuint (p->chunks, ==, 1);
    g_assert_cmpuint (p->nodes->len, ==, 0);
    g_assert_null (m->placements);
  }

  /* A second "chunks" replaces the first, in a summary as in a whole manifest. */
  {
    g_autoptr (GString) twice = g_string_new (manifest_text);
    g_autoptr (TsrManifest) whole = NULL;
    g_autoptr (TsrManifest) summary = NULL;

    g_assert_cmpuint (
        g_string_replace (twice, "\"sealed_key\":\"zgHk\",",
                          "\"sealed_key\":\"zgHk\",\"chunks\":[{\"index\":0,\"size\":65552,"
                          "\"nodes\":[\"Node_09\"],\"segment_id\":"
                          "\"58c8f6f028da7921e34df78d81848c7d174fa8f8a35e714ef69bf6726722648b\"}],",
                          1),
        ==, 1);
    whole = tsr_manifest_parse (twice->str, twice->len, &error);
    g_assert_no_error (error);
    summary = tsr_manifest_parse_summary (twice->str, twice->len, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (whole->chunks->len, ==, 2);
    g_assert_cmpuint (summary->placements->len, ==, 2);
  }

  /* The layout tells apart summaries whose placements and counts are the same but whose chunks
   * sit differently (as after a repair that moved two chunks' copies). */
  {
    const char *orders[2][3] = { { "Node_01", "Node_03", "Node_01" },
                                 { "Node_01", "Node_01", "Node_03" } };
    guint64 layouts[2];

    for (guint o = 0; o < 2; o++)
      {
        g_autoptr (TsrManifest) three = tsr_manifest_parse (manifest_text, -1, &error);
        g_autoptr (TsrManifest) summary = NULL;
        g_autofree char *data = NULL;
        gsize data_len;

        g_assert_no_error (error);
        three->size = 2 * 65536 + 4464;
        three->chunk_count = 3;
        g_ptr_array_set_size (three->chunks, 0);
        for (guint k = 0; k < 3; k++)
          {
            TsrManifestChunk *chunk = tsr_manifest_add_chunk (
                three, "58c8f6f028da7921e34df78d81848c7d174fa8f8a35e714ef69bf6726722648b",
                k < 2 ? 65552 : 4480);
            g_ptr_array_add (chunk->nodes, g_strdup (orders[o][k]));
          }
        data = tsr_manifest_to_data (three, &data_len);
        summary = tsr_manifest_parse_summary (data, data_len, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (summary->placements->len, ==, 2);
        g_assert_cmpuint (((TsrManifestPlacement *)summary->placements->pdata[0])->chunks, ==, 2);
        layouts[o] = summary->layout;
      }
    g_assert_cmpuint (layouts[0], !=, layouts[1]);
  }

  assert_refused ("}]}", "}]");                 /* truncated */
  assert_refused ("}]}", "}]}x");               /* trailing bytes */
  assert_refused ("\\ud83d\\ude00", "\\ud83d"); /* a lone surrogate */
  assert_refused ("\\u00e9", "\\u0000");        /* NUL in a name */
  assert_refused ("\\/", "\\q");                /* an unknown escape */
  assert_refused ("70000", "070000");           /* a leading zero */
  assert_refused ("\"total_chunks\":2", "\"total_chunks\":2.0");
  assert_refused ("\"total_chunks\":2", "\"total_chunks\":3");
  assert_refused ("\"replicas\":2", "\"replicas\":\"2\"");
  assert_refused ("\"index\":1", "\"index\":2");
  assert_refused ("\"size\":4480", "\"size\":4481");
  assert_refused ("\"nodes\":[]", "\"nodes\":[\"a/b\"]");
  assert_refused ("\"nodes\":[],", ""); /* nodes missing */
  assert_refused ("-2.5e3", "-2.5e");   /* bad JSON where nothing is read */
  assert_refused ("{\"b\"", "[{\"b\"");
}

/* The manifest corpus as a table of verdicts (see tsr_test_check_corpus_verdicts()). */
static gboolean
parse_manifest (const char *data, gsize len, GError **error)
{
  g_autoptr (TsrManifest) m = tsr_manifest_parse (data, len, error);
  g_autoptr (GError) summary_error = NULL;
  g_autoptr (TsrManifest) summary = tsr_manifest_parse_summary (data, len, &summary_error);

  /* A summary is refused exactly where the whole manifest is, for the same reason. */
  g_assert_true ((m != NULL) == (summary != NULL));
  if (m == NULL)
    g_assert_cmpstr (summary_error->message, ==, (*error)->message);
  return m != NULL;
}

static void
test_manifest_corpus (void)
{
  tsr_test_check_corpus_verdicts ("manifest", parse_manifest, 4, 7);
}

/* Sizes as people type them (the CLI's --capacity, the Add Node dialog): units SI or IEC,
 * spaces allowed before the unit, anything else refused. */
static void
test_parse_size (void)
{
  static const struct
  {
    const char *text;
    gboolean ok;
    guint64 value;
  } cases[] = {
    { "1048576", TRUE, 1048576 },
    { "10GB", TRUE, G_GUINT64_CONSTANT (10000000000) },
    { "10 GB", TRUE, G_GUINT64_CONSTANT (10000000000) },
    { "2  TB", TRUE, G_GUINT64_CONSTANT (2000000000000) },
    { "64KiB", TRUE, 65536 },
    { "512k", TRUE, 524288 },
    { "1 G", TRUE, 1073741824 },
    { "0", TRUE, 0 },
    { "", FALSE, 0 },
    { "GB", FALSE, 0 },
    { " 2GB", FALSE, 0 },
    { "2 ", FALSE, 0 },
    { "2GB ", FALSE, 0 },
    { "1.5TB", FALSE, 0 },
    { "-1", FALSE, 0 },
    { "2 XB", FALSE, 0 },
    { "18446744073709551615", TRUE, G_MAXUINT64 },
    { "18446744073709551616", FALSE, 0 },
    { "20000000000 GB", FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint64 value = 0;

      g_test_message ("“%s”", cases[i].text);
      g_assert_cmpint (tsr_parse_size (cases[i].text, &value), ==, cases[i].ok);
      if (cases[i].ok)
        g_assert_cmpuint (value, ==, cases[i].value);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/cluster/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  g_test_add_func ("/tessera/cluster/parse-size", test_parse_size);
  ADD ("round-trips", test_round_trips);
  ADD ("round-robin-placement", test_round_robin_placement);
  ADD ("nodes-never-see-plaintext", test_nodes_never_see_plaintext);
  ADD ("download-with-any-node-disabled", test_download_with_any_node_disabled);
  ADD ("delete-restores-usage", test_delete_restores_usage);
  ADD ("uploads-wait-their-turn", test_uploads_wait_their_turn);
  ADD ("stop-with-uploads-waiting", test_stop_with_uploads_waiting);
  ADD ("file-changed-during-upload", test_file_changed_during_upload);
  ADD ("node-that-cannot-start", test_node_that_cannot_start);
  ADD ("name-not-utf8", test_name_not_utf8);
  ADD ("download-fallbacks", test_download_fallbacks);
  ADD ("cancelled-upload-leaves-nothing", test_cancelled_upload_leaves_nothing);
  ADD ("download-refuses-to-overwrite", test_download_refuses_to_overwrite);
  ADD ("second-process-refused", test_second_process_refused);
  ADD ("folder-refused", test_folder_refused);
  ADD ("too-few-nodes-fails-cleanly", test_too_few_nodes_fails_cleanly);
  ADD ("health-tracks-stopped-node", test_health_tracks_stopped_node);
  ADD ("list-summaries", test_list_summaries);
  ADD ("restart-keeps-files", test_restart_keeps_files);
  ADD ("same-content-twice", test_same_content_twice);
  ADD ("periodic-health", test_periodic_health);
  ADD ("no-nodes-refused", test_no_nodes_refused);
  ADD ("swapped-chunks-refused", test_swapped_chunks_refused);
  ADD ("both-ciphers", test_both_ciphers);
  ADD ("rotted-copy-falls-back", test_rotted_copy_falls_back);
  ADD ("chunk-sizes", test_chunk_sizes);
  ADD ("nodes-of-an-earlier-version", test_nodes_of_an_earlier_version);
#undef ADD
  g_test_add ("/tessera/cluster/copies-leave-cache", Fixture, NULL, fixture_setup_no_scrub,
              test_copies_leave_cache, fixture_teardown);
  g_test_add_func ("/tessera/cluster/manifest-reader", test_manifest_reader);
  g_test_add_func ("/tessera/cluster/manifest-corpus", test_manifest_corpus);
  g_test_add ("/tessera/cluster/full-nodes-fail-cleanly", Fixture, GUINT_TO_POINTER (200000),
              fixture_setup, test_full_nodes_fail_cleanly, fixture_teardown);

  return g_test_run ();
}
