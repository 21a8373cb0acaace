/* test-maintenance.c: file health, repair, scrub, garbage collection, node remove, full nodes
 * and concurrent transfers through a node restart, on the embedded cluster (real sockets,
 * real disks)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-cluster-private.h"
#include "tsr-test-util.h"

#include <string.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;
  char *data_dir;
  GRand *rand;
  TsrCluster *cluster;
  guint n_files;
  GPtrArray *ids;      /* file ids uploaded */
  GPtrArray *contents; /* their bytes */
} Fixture;

static void
open_cluster (Fixture *f)
{
  f->cluster = tsr_test_open_cluster (f->data_dir);
}

static void
close_cluster (Fixture *f)
{
  tsr_test_close_cluster (g_steal_pointer (&f->cluster));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint n_nodes = data ? GPOINTER_TO_UINT (data) : 5;

  f->dir = tsr_test_make_tmpdir ();
  f->data_dir = g_build_filename (f->dir, "data", NULL);
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
  f->ids = g_ptr_array_new_with_free_func (g_free);
  f->contents = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_assert_true (tsr_cluster_init_data_dir (
      f->data_dir, n_nodes, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, TSR_CHUNK_SIZE_DEFAULT, 2, &error));
  g_assert_no_error (error);
  open_cluster (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->cluster != NULL)
    close_cluster (f);
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->data_dir);
  g_rand_free (f->rand);
  g_ptr_array_unref (f->ids);
  g_ptr_array_unref (f->contents);
}

static char *
write_file (Fixture *f, const char *name, GBytes *content)
{
  char *path = g_build_filename (f->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (content, NULL),
                                      g_bytes_get_size (content), NULL));
  return path;
}

/* Uploads @size random bytes and remembers them. */
static TsrManifest *
upload_random (Fixture *f, gsize size)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, size);
  g_autofree char *name = g_strdup_printf ("file-%u.bin", f->n_files++);
  g_autofree char *path = write_file (f, name, content);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  TsrManifest *m = tsr_cluster_upload (f->cluster, file, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_ptr_array_add (f->ids, g_strdup (m->file_id));
  g_ptr_array_add (f->contents, g_bytes_ref (content));
  return m;
}

static void
download_and_compare (Fixture *f, const char *file_id, GBytes *expected)
{
  tsr_test_download_and_compare (f->cluster, f->dir, file_id, expected);
}

static void
check_every_file (Fixture *f)
{
  for (guint i = 0; i < f->ids->len; i++)
    download_and_compare (f, f->ids->pdata[i], f->contents->pdata[i]);
}

static void
get_health (Fixture *f, const char *file_id, TsrFileHealthInfo *h)
{
  g_autoptr (TsrManifest) m = tsr_cluster_get_file (f->cluster, file_id, NULL);

  g_assert_nonnull (m);
  tsr_cluster_get_file_health (f->cluster, m, h);
}

static void
assert_all_healthy (Fixture *f, guint survives)
{
  for (guint i = 0; i < f->ids->len; i++)
    {
      TsrFileHealthInfo h;
      get_health (f, f->ids->pdata[i], &h);
      g_assert_cmpstr (tsr_file_health_state_to_string (h.state), ==, "healthy");
      g_assert_cmpuint (h.survives, ==, survives);
    }
}

static TsrSegmentStore *
store_of (Fixture *f, const char *node_id)
{
  TsrNode *node = tsr_cluster_get_embedded_node (f->cluster, node_id);
  g_assert_nonnull (node);
  return tsr_node_get_store (node);
}

static void
repair (Fixture *f, TsrRepairReport *r)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (tsr_cluster_repair (f->cluster, NULL, NULL, NULL, r, &error));
  g_assert_no_error (error);
}

/* A disabled node makes files degraded; repair makes them whole on the others, is idempotent,
 * and the copies left on the node are garbage once it is back. */
static void
test_repair_after_node_loss (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TsrRepairReport r;
  TsrGcReport gc;
  TsrFileHealthInfo h;

  g_autoptr (TsrManifest) a = upload_random (f, 10 * 65536 + 5);
  g_autoptr (TsrManifest) b = upload_random (f, 1000);
  g_autoptr (TsrManifest) empty = upload_random (f, 0);
  assert_all_healthy (f, 1);

  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_02", FALSE, &error));
  g_assert_no_error (error);
  get_health (f, a->file_id, &h);
  g_assert_cmpint (h.state, ==, TSR_FILE_DEGRADED);
  g_assert_cmpuint (h.survives, ==, 0);
  g_assert_cmpuint (h.degraded_chunks, ==, 5); /* chunks 0, 1, 5, 6, 10 had a copy on Node_02 */

  repair (f, &r);
  g_assert_cmpuint (r.files, ==, 3);
  g_assert_cmpuint (r.copies_missing, ==, 6); /* and chunk 0 of b */
  g_assert_cmpuint (r.copies_made, ==, 6);
  g_assert_cmpuint (r.chunks_degraded + r.chunks_lost, ==, 0);
  assert_all_healthy (f, 1);
  check_every_file (f);

  /* Idempotent: nothing left to do. */
  repair (f, &r);
  g_assert_cmpuint (r.copies_made, ==, 0);
  g_assert_cmpuint (r.files_updated, ==, 0);

  /* Node_02 comes back with its six old copies, which no manifest lists any more. */
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_02", TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store_of (f, "Node_02")), ==, 6);
  g_assert_true (tsr_cluster_gc (f->cluster, 3600, NULL, &gc, &error));
  g_assert_cmpuint (gc.orphans, ==, 0);
  g_assert_cmpuint (gc.young, ==, 6);
  g_assert_true (tsr_cluster_gc (f->cluster, 0, NULL, &gc, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gc.orphans, ==, 6);
  g_assert_cmpuint (gc.segments, ==, 2 * 12 + 6);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store_of (f, "Node_02")), ==, 0);
  g_assert_true (tsr_cluster_gc (f->cluster, 0, NULL, &gc, &error));
  g_assert_cmpuint (gc.orphans, ==, 0);
  check_every_file (f);
}

/* Both copies of a chunk on disabled nodes: the file is lost, repair says so and changes
 * nothing, and the file comes back whole when one node does. */
static void
test_lost_file_comes_back (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) a = upload_random (f, 3 * 65536);
  TsrRepairReport r;
  TsrFileHealthInfo h;

  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_01", FALSE, &error));
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_02", FALSE, &error));
  get_health (f, a->file_id, &h);
  g_assert_cmpint (h.state, ==, TSR_FILE_LOST);
  g_assert_cmpuint (h.lost_chunks, ==, 1);
  repair (f, &r);
  g_assert_cmpuint (r.chunks_lost, ==, 1);
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_02", TRUE, &error));
  repair (f, &r);
  g_assert_cmpuint (r.chunks_lost + r.chunks_degraded, ==, 0);
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_01", TRUE, &error));
  assert_all_healthy (f, 1);
  check_every_file (f);
}

static GPtrArray *
segment_files (const char *node_dir)
{
  g_autofree char *segs = g_build_filename (node_dir, "segments", NULL);
  g_autoptr (GDir) d = g_dir_open (segs, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *fan;

  while (d != NULL && (fan = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *fan_dir = g_build_filename (segs, fan, NULL);
      g_autoptr (GDir) fd = g_dir_open (fan_dir, 0, NULL);
      const char *name;

      while (fd != NULL && (name = g_dir_read_name (fd)) != NULL)
        if (name[0] != '.')
          g_ptr_array_add (files, g_build_filename (fan_dir, name, NULL));
    }
  return files;
}

static void
flip_byte (const char *path, GRand *rand)
{
  g_autofree char *data = NULL;
  gsize len;
  gsize at;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >, 0);
  at = g_rand_int_range (rand, 0, (gint32)len);
  data[at] ^= 1 << g_rand_int_range (rand, 0, 8);
  g_assert_true (g_file_set_contents (path, data, len, NULL));
}

/* Bytes flipped on disk: scrub finds exactly those copies, quarantines them, and repair makes
 * them again from the healthy replicas. */
static void
test_scrub_repairs_corruption (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) a = upload_random (f, 20 * 65536);
  g_autofree char *node_dir = g_build_filename (f->data_dir, "nodes", "Node_03", NULL);
  g_autofree char *quarantine = g_build_filename (node_dir, "quarantine", NULL);
  g_autoptr (GPtrArray) files = segment_files (node_dir);
  TsrScrubReport r;

  g_assert_cmpuint (files->len, ==, 8);
  for (guint i = 0; i < 3; i++)
    flip_byte (files->pdata[i * 2], f->rand);
  g_assert_true (tsr_cluster_scrub (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.nodes, ==, 5);
  g_assert_cmpuint (r.checked, ==, 40);
  g_assert_cmpuint (r.corrupt, ==, 3);
  g_assert_cmpuint (r.repaired, ==, 3);
  g_assert_cmpuint (r.lost, ==, 0);
  /* The bad copies are kept aside for a person to look at, never served. */
  g_assert_false (tsr_test_dir_is_empty (quarantine));
  assert_all_healthy (f, 1);
  check_every_file (f);

  g_assert_true (tsr_cluster_scrub (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_cmpuint (r.corrupt, ==, 0);
  g_assert_cmpuint (r.repaired, ==, 0);
}

/* Every copy of a chunk rotted: scrub puts both aside and cannot make it again, and from then
 * on the file shows as lost (it showed as healthy, its manifest still naming both nodes, while
 * a download failed), and a download says the chunk is lost. */
static void
test_rotten_chunk_shows_as_lost (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) a = upload_random (f, 3 * 65536);
  g_autoptr (TsrManifest) after = NULL;
  g_autofree char *out = g_build_filename (f->dir, "back.bin", NULL);
  g_autoptr (GFile) dest = g_file_new_for_path (out);
  TsrManifestChunk *c = a->chunks->pdata[1];
  TsrScrubReport r;
  TsrFileHealthInfo h;

  for (guint i = 0; i < c->nodes->len; i++)
    {
      g_autofree char *path =
          tsr_segment_store_segment_path (store_of (f, c->nodes->pdata[i]), c->segment_id);
      flip_byte (path, f->rand);
    }
  /* Found a second or more after the upload, as rot is: a manifest committed in the second
   * its nodes were listed (created_at has seconds) may name copies stored after the list,
   * and keeps them (repair-beside-uploads). */
  g_usleep (1100 * 1000);
  g_assert_true (tsr_cluster_scrub (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.corrupt, ==, 2);
  g_assert_cmpuint (r.lost, ==, 1);

  get_health (f, a->file_id, &h);
  g_assert_cmpstr (tsr_file_health_state_to_string (h.state), ==, "lost");
  g_assert_cmpuint (h.lost_chunks, ==, 1);
  after = tsr_cluster_get_file (f->cluster, a->file_id, &error);
  g_assert_cmpuint (((TsrManifestChunk *)after->chunks->pdata[1])->nodes->len, ==, 0);
  g_assert_false (tsr_cluster_download (f->cluster, a->file_id, dest, FALSE, NULL, &error));
  g_assert_nonnull (strstr (error->message, "Chunk 1 of file-0.bin is lost"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* Repair walks the catalog beside uploads (both hold the segments lock shared): an upload may
 * store a chunk on a node after repair listed that node's segments, and commit its manifest
 * before repair lists the manifests. Its copies are not lost: repair must leave them listed
 * (a second reader's reproduction stripped every node from such a chunk). */
typedef struct
{
  TsrCluster *cluster;
  gint stop;
  guint64 lost;
  guint runs;
  guint stripped; /* chunks a run left listing fewer than two nodes */
} RepairLoop;

static gpointer
repair_loop (gpointer data)
{
  RepairLoop *l = data;

  while (!g_atomic_int_get (&l->stop))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) files = NULL;
      TsrRepairReport r;

      g_assert_true (tsr_cluster_repair (l->cluster, NULL, NULL, NULL, &r, &error));
      l->lost += r.chunks_lost;
      l->runs++;
      /* Looked at before the next run, which would adopt the copies again: uploads commit
       * every chunk with two nodes, so only a run can have listed fewer. */
      files = tsr_cluster_list_files (l->cluster, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < files->len; i++)
        {
          TsrManifest *m = files->pdata[i];
          for (guint c = 0; c < m->chunks->len; c++)
            l->stripped += ((TsrManifestChunk *)m->chunks->pdata[c])->nodes->len < 2;
        }
    }
  return NULL;
}

static void
test_repair_beside_uploads (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  RepairLoop loop = { f->cluster, 0, 0, 0, 0 };
  TsrNetemSettings slow;
  GThread *thread;

  /* Latency widens the window between a node's list and the manifests' list. */
  tsr_netem_settings_init_off (&slow);
  slow.enabled = TRUE;
  slow.latency_min_us = slow.latency_max_us = 40000;
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &slow, &error));
  g_assert_no_error (error);
  thread = g_thread_new ("repair", repair_loop, &loop);
  /* Eight at a time, as a dropped folder goes: more commits fall in each repair's window. */
  for (guint round = 0; round < 6; round++)
    {
      GAsyncResult *results[8] = { NULL };

      for (guint i = 0; i < G_N_ELEMENTS (results); i++)
        {
          g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 3000);
          g_autofree char *name = g_strdup_printf ("file-%u.bin", f->n_files++);
          g_autofree char *path = write_file (f, name, content);
          g_autoptr (GFile) file = g_file_new_for_path (path);

          g_ptr_array_add (f->contents, g_bytes_ref (content));
          tsr_cluster_upload_async (f->cluster, file, NULL, tsr_test_keep_result, &results[i]);
        }
      for (guint i = 0; i < G_N_ELEMENTS (results); i++)
        {
          g_autoptr (TsrManifest) m = NULL;

          while (results[i] == NULL)
            g_main_context_iteration (NULL, TRUE);
          m = tsr_cluster_upload_finish (f->cluster, results[i], &error);
          g_assert_no_error (error);
          g_ptr_array_add (f->ids, g_strdup (m->file_id));
          g_object_unref (results[i]);
        }
    }
  g_atomic_int_set (&loop.stop, 1);
  g_thread_join (thread);
  g_assert_cmpuint (loop.runs, >, 0);
  g_test_message ("%u repairs ran beside the uploads; they counted %" G_GUINT64_FORMAT
                  " chunks without a listed copy",
                  loop.runs, loop.lost);
  g_assert_cmpuint (loop.stripped, ==, 0);
  /* Nor did they count the files committed beside them as lost (8 to 16 chunks, once). */
  g_assert_cmpuint (loop.lost, ==, 0);
  for (guint i = 0; i < f->ids->len; i++)
    {
      g_autoptr (TsrManifest) m = tsr_cluster_get_file (f->cluster, f->ids->pdata[i], &error);

      g_assert_no_error (error);
      for (guint c = 0; c < m->chunks->len; c++)
        g_assert_cmpuint (((TsrManifestChunk *)m->chunks->pdata[c])->nodes->len, ==, 2);
    }
  check_every_file (f);
}

/* A node's directory deleted while the process was down: it starts empty, and repair finds
 * every copy it should hold missing and makes them again. */
static void
test_deleted_node_directory (Fixture *f, gconstpointer data)
{
  g_autofree char *node_dir = g_build_filename (f->data_dir, "nodes", "Node_04", NULL);
  TsrRepairReport r;

  for (guint i = 0; i < 4; i++)
    {
      g_autoptr (TsrManifest) m = upload_random (f, 3 * 65536 + i);
    }
  close_cluster (f);
  tsr_test_rmdir (node_dir);
  g_assert_false (g_file_test (node_dir, G_FILE_TEST_EXISTS));
  open_cluster (f);
  check_every_file (f); /* the other copies serve meanwhile */
  repair (f, &r);
  g_assert_cmpuint (r.copies_missing, >, 0);
  g_assert_cmpuint (r.copies_made, ==, r.copies_missing);
  g_assert_cmpuint (r.chunks_degraded + r.chunks_lost, ==, 0);
  /* They went back where placement puts them: Node_04 holds copies again. */
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store_of (f, "Node_04")), >, 0);
  close_cluster (f);
  open_cluster (f);
  check_every_file (f);
}

/* Copies no manifest lists (a crash between storing and committing) are collected; young ones
 * survive a collection with a grace period, and so do half-written manifests. */
static void
test_gc_collects_orphans (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) kept = upload_random (f, 100000);
  g_autofree char *leftover =
      g_build_filename (f->data_dir, "catalog", "0123456789abcdef.json.Ab12Cd", NULL);
  TsrGcReport gc;

  for (guint i = 0; i < 6; i++)
    {
      g_autoptr (GBytes) junk = tsr_test_random_bytes (f->rand, 1000 + i);
      g_autofree char *node_id = g_strdup_printf ("Node_%02u", i % 5 + 1);
      g_assert_true (tsr_segment_store_put (store_of (f, node_id), junk, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (g_file_set_contents (leftover, "{", 1, NULL));

  g_assert_true (tsr_cluster_gc (f->cluster, 3600, NULL, &gc, &error));
  g_assert_cmpuint (gc.orphans, ==, 0);
  g_assert_cmpuint (gc.young, ==, 6);
  g_assert_true (g_file_test (leftover, G_FILE_TEST_EXISTS));

  g_assert_true (tsr_cluster_gc (f->cluster, 0, NULL, &gc, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gc.nodes, ==, 5);
  g_assert_cmpuint (gc.orphans, ==, 6);
  g_assert_cmpuint (gc.bytes, ==, 6 * 1000 + 15);
  g_assert_cmpuint (gc.temp_files, ==, 1);
  g_assert_false (g_file_test (leftover, G_FILE_TEST_EXISTS));
  check_every_file (f);
}

/* A damaged manifest stops garbage collection: its segments would look unused. */
static void
test_gc_refuses_damaged_manifest (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) kept = upload_random (f, 100000);
  g_autofree char *path = g_build_filename (f->data_dir, "catalog", "fedcba9876543210.json", NULL);
  TsrGcReport gc;

  g_assert_true (g_file_set_contents (path, "{\"file_id\": 3", -1, NULL));
  g_assert_false (tsr_cluster_gc (f->cluster, 0, NULL, &gc, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "fedcba9876543210.json"));
  check_every_file (f);
}

static gboolean
manifests_mention (Fixture *f, const char *node_id)
{
  g_autoptr (GPtrArray) files = tsr_cluster_list_files (f->cluster, NULL);

  for (guint i = 0; i < files->len; i++)
    {
      TsrManifest *m = files->pdata[i];
      for (guint c = 0; c < m->chunks->len; c++)
        {
          TsrManifestChunk *chunk = m->chunks->pdata[c];
          for (guint n = 0; n < chunk->nodes->len; n++)
            if (g_strcmp0 (chunk->nodes->pdata[n], node_id) == 0)
              return TRUE;
        }
    }
  return FALSE;
}

/* node remove drains first: afterwards no manifest lists the node, the config no longer has
 * it, files are whole and healthy, and new uploads use the nodes that are left. Removing below
 * the replication factor is refused. */
static void
test_remove_node_drains (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TsrRepairReport r;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (TsrManifest) m = upload_random (f, 7 * 65536 + i);
    }
  g_assert_true (manifests_mention (f, "Node_02"));
  g_assert_true (tsr_cluster_remove_node (f->cluster, "Node_02", NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.copies_made, >, 0);
  g_assert_false (manifests_mention (f, "Node_02"));
  g_assert_null (tsr_cluster_config_find (tsr_cluster_get_config (f->cluster), "Node_02"));
  assert_all_healthy (f, 1);
  check_every_file (f);

  /* Survives a restart: the config was saved without it. */
  close_cluster (f);
  open_cluster (f);
  g_assert_cmpuint (tsr_cluster_get_config (f->cluster)->nodes->len, ==, 4);
  {
    g_autoptr (TsrManifest) m = upload_random (f, 8 * 65536);
  }
  g_assert_false (manifests_mention (f, "Node_02"));
  check_every_file (f);

  /* A node that is down can be removed too: the other copies are the sources. */
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_05", FALSE, &error));
  g_assert_true (tsr_cluster_remove_node (f->cluster, "Node_05", NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_cluster_remove_node (f->cluster, "Node_01", NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_false (tsr_cluster_remove_node (f->cluster, "Node_03", NULL, NULL, NULL, &r, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tsr_cluster_remove_node (f->cluster, "Node_09", NULL, NULL, NULL, &r, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  assert_all_healthy (f, 1);
  check_every_file (f);
}

/* The copies a repair makes are not read again soon: they leave the nodes' page cache once
 * synced (StoreSegment with cold set), as an upload's second copies do. */
static void
test_repair_copies_leave_cache (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrManifest) before = upload_random (f, 6 * 65536);
  g_autoptr (TsrManifest) after = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  TsrRepairReport r;
  guint checked = 0;

  if (!tsr_test_page_cache_observable (f->dir, &why))
    {
      g_test_skip (why);
      return;
    }
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_01", FALSE, &error));
  g_assert_no_error (error);
  repair (f, &r);
  g_assert_cmpuint (r.copies_made, >, 0);
  after = tsr_cluster_get_file (f->cluster, before->file_id, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < after->chunks->len; c++)
    {
      TsrManifestChunk *chunk = after->chunks->pdata[c];
      TsrManifestChunk *old = before->chunks->pdata[c];

      for (guint j = 0; j < chunk->nodes->len; j++)
        {
          g_autofree char *seg = NULL;
          guint pages;

          if (g_ptr_array_find_with_equal_func (old->nodes, chunk->nodes->pdata[j], g_str_equal,
                                                NULL))
            continue;
          seg = tsr_segment_store_segment_path (store_of (f, chunk->nodes->pdata[j]),
                                                chunk->segment_id);
          g_assert_cmpuint (tsr_test_cached_pages (seg, &pages), ==, 0);
          g_assert_cmpuint (pages, >, 0);
          checked++;
        }
    }
  g_assert_cmpuint (checked, ==, r.copies_made);
}

/* A node removed while an upload is storing copies on it: the removal waits for the upload, so
 * that the drain sees its manifest, and no file is left listing the removed node. */
static void
test_remove_node_waits_for_uploads (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 8 * 1024 * 1024);
  g_autofree char *path = write_file (f, "late.bin", content);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GError) error = NULL;
  TsrNetemSettings slow;
  TsrRepairReport r;

  /* Emulated links of 8 MB/s: the upload takes about a second. */
  tsr_netem_settings_init_off (&slow);
  slow.enabled = TRUE;
  slow.bandwidth = 8 * 1000 * 1000;
  g_assert_true (tsr_cluster_set_netem (f->cluster, NULL, &slow, &error));
  g_assert_no_error (error);
  tsr_cluster_upload_async (f->cluster, file, NULL, tsr_test_keep_result, &result);
  /* The upload has stored copies on Node_05 when the removal begins. */
  while (tsr_segment_store_get_used (store_of (f, "Node_05")) == 0)
    {
      g_assert_null (result);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_true (tsr_cluster_remove_node (f->cluster, "Node_05", NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  m = tsr_cluster_upload_finish (f->cluster, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_ptr_array_add (f->ids, g_strdup (m->file_id));
  g_ptr_array_add (f->contents, g_bytes_ref (content));

  g_assert_false (manifests_mention (f, "Node_05"));
  assert_all_healthy (f, 1);
  check_every_file (f);
}

/* Adds an embedded node to the config, the cluster closed and opened again around it. */
static void
add_embedded_node (Fixture *f, const char *node_id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *config_path = g_build_filename (f->data_dir, "cluster.json", NULL);
  g_autoptr (TsrClusterConfig) config = NULL;
  TsrNodeConfig *added;

  close_cluster (f);
  config = tsr_cluster_config_load (config_path, &error);
  g_assert_no_error (error);
  added = g_new0 (TsrNodeConfig, 1);
  added->node_id = g_strdup (node_id);
  added->embedded = TRUE;
  added->host = g_strdup ("127.0.0.1");
  added->capacity = TSR_SEGMENT_STORE_DEFAULT_CAPACITY;
  added->enabled = TRUE;
  g_ptr_array_add (config->nodes, added);
  g_assert_true (tsr_cluster_config_save (config, config_path, &error));
  open_cluster (f);
}

/* A node added to the config takes chunks of new uploads (placement is i mod n over the
 * current nodes); old files stay where they are until a rebalance. */
static void
test_new_node_takes_new_chunks (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrManifest) old = upload_random (f, 6 * 65536);

  g_assert_false (manifests_mention (f, "Node_04"));
  add_embedded_node (f, "Node_04");
  {
    g_autoptr (TsrManifest) m = upload_random (f, 8 * 65536);
    guint on_new = 0;

    for (guint c = 0; c < m->chunks->len; c++)
      {
        TsrManifestChunk *chunk = m->chunks->pdata[c];
        on_new += g_strcmp0 (chunk->nodes->pdata[0], "Node_04") == 0;
      }
    g_assert_cmpuint (on_new, ==, 2); /* chunks 3 and 7 */
  }
  check_every_file (f);
}

/* Every chunk of every file has @replicas copies on distinct nodes, each one stored there. */
static void
assert_copies_in_place (Fixture *f, guint replicas)
{
  for (guint i = 0; i < f->ids->len; i++)
    {
      g_autoptr (TsrManifest) m = tsr_cluster_get_file (f->cluster, f->ids->pdata[i], NULL);

      g_assert_nonnull (m);
      for (guint c = 0; c < m->chunks->len; c++)
        {
          TsrManifestChunk *chunk = m->chunks->pdata[c];

          g_assert_cmpuint (chunk->nodes->len, ==, replicas);
          for (guint j = 0; j < chunk->nodes->len; j++)
            {
              for (guint k = 0; k < j; k++)
                g_assert_cmpstr (chunk->nodes->pdata[k], !=, chunk->nodes->pdata[j]);
              g_assert_true (
                  tsr_segment_store_has (store_of (f, chunk->nodes->pdata[j]), chunk->segment_id));
            }
        }
    }
}

/* A node added after files were uploaded gets its share of them from a rebalance: the copies
 * move from the fuller nodes (none is lost or doubled up on one node, the old copies are
 * deleted, so gc finds nothing), every file reads back, and a second run moves nothing. */
static void
test_rebalance_fills_new_node (Fixture *f, gconstpointer data)
{
  static const char *const nodes[] = { "Node_01", "Node_02", "Node_03", "Node_04" };
  g_autoptr (GError) error = NULL;
  TsrRebalanceReport r;
  TsrGcReport gc;
  guint64 before = 0, after = 0;

  for (guint i = 0; i < 4; i++)
    {
      g_autoptr (TsrManifest) m = upload_random (f, 12 * 65536 + i * 1000);
    }
  add_embedded_node (f, "Node_04");
  for (guint n = 0; n < 3; n++)
    before += tsr_segment_store_get_used (store_of (f, nodes[n]));
  g_assert_cmpuint (tsr_segment_store_get_used (store_of (f, "Node_04")), ==, 0);
  g_assert_true (tsr_cluster_check_health (f->cluster, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.files, ==, 4);
  g_assert_cmpuint (r.copies_moved, >, 0);
  g_assert_cmpuint (r.copies_failed, ==, 0);
  /* Each node within two chunks of a quarter of what they hold in all, which is unchanged. */
  for (guint n = 0; n < 4; n++)
    after += tsr_segment_store_get_used (store_of (f, nodes[n]));
  g_assert_cmpuint (after, ==, before);
  for (guint n = 0; n < 4; n++)
    {
      guint64 used = tsr_segment_store_get_used (store_of (f, nodes[n]));

      g_test_message ("%s holds %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT, nodes[n], used,
                      after);
      g_assert_cmpuint (used + 2 * (65536 + 16), >=, after / 4);
      g_assert_cmpuint (used, <=, after / 4 + 2 * (65536 + 16));
    }
  g_assert_cmpuint (r.bytes_moved, >=, tsr_segment_store_get_used (store_of (f, "Node_04")));
  assert_copies_in_place (f, 2);
  assert_all_healthy (f, 1);
  check_every_file (f);

  /* The old copies were deleted: nothing left for gc. */
  g_assert_true (tsr_cluster_gc (f->cluster, 0, NULL, &gc, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gc.orphans, ==, 0);

  /* Balanced: a second run moves nothing. */
  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.copies_moved, ==, 0);
  g_assert_cmpuint (r.files_updated, ==, 0);

  /* And it lasts: after a restart every file still reads back from where it now is. */
  close_cluster (f);
  open_cluster (f);
  assert_copies_in_place (f, 2);
  check_every_file (f);
}

/* A node being removed (between the start of its drain and its removal) takes no new copy:
 * neither from an upload, nor from a rebalance, nor from a repair; once it is no longer being
 * removed (the removal failed), it takes them again. */
static void
test_draining_node_takes_no_copies (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TsrRebalanceReport r;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (TsrManifest) m = upload_random (f, 12 * 65536 + i * 1000);
    }
  add_embedded_node (f, "Node_04");
  g_assert_true (tsr_cluster_check_health (f->cluster, NULL, &error));
  g_assert_no_error (error);
  _tsr_cluster_set_draining (f->cluster, "Node_04", TRUE);

  /* An upload places its chunks on the three other nodes. */
  {
    g_autoptr (TsrManifest) m = upload_random (f, 8 * 65536);
  }
  g_assert_false (manifests_mention (f, "Node_04"));

  /* A rebalance, which would fill it, moves nothing there. */
  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.copies_moved, ==, 0);
  g_assert_false (manifests_mention (f, "Node_04"));
  g_assert_cmpuint (tsr_segment_store_get_used (store_of (f, "Node_04")), ==, 0);

  /* Nor does a repair, with Node_02's copies to make again and only Node_04 out of every
   * chunk's pair. */
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_02", FALSE, &error));
  g_assert_no_error (error);
  {
    TsrRepairReport rr;

    repair (f, &rr);
    g_assert_cmpuint (rr.copies_made, >, 0);
  }
  g_assert_false (manifests_mention (f, "Node_04"));
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_02", TRUE, &error));
  g_assert_no_error (error);

  /* No longer being removed: the next rebalance gives it its share. */
  _tsr_cluster_set_draining (f->cluster, "Node_04", FALSE);
  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.copies_moved, >, 0);
  g_assert_true (manifests_mention (f, "Node_04"));
  check_every_file (f);
}

/* What a repair or rebalance rewrites is the manifest it loaded, or nothing: a file deleted
 * meanwhile does not come back, and one deleted and uploaded again (same content, so the same
 * path, but a key and segments of its own) is not replaced by the old one. */
static void
test_rewrite_only_what_was_loaded (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) first = upload_random (f, 5 * 65536 + 3);
  g_autofree char *name = g_strconcat (first->file_id, ".json", NULL);
  g_autofree char *path = g_build_filename (f->data_dir, "catalog", name, NULL);
  g_autoptr (TsrManifest) second = NULL;
  g_autoptr (TsrManifest) on_disk = NULL;
  gboolean written = TRUE;

  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  /* The current one is rewritten. */
  g_assert_true (_tsr_cluster_rewrite_manifest (f->cluster, first, path, &written, &error));
  g_assert_no_error (error);
  g_assert_true (written);

  /* Deleted: not brought back. */
  g_assert_true (tsr_cluster_delete (f->cluster, first->file_id, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (_tsr_cluster_rewrite_manifest (f->cluster, first, path, &written, &error));
  g_assert_false (written);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Uploaded again: the new manifest stays, and the file reads back from it. */
  {
    g_autofree char *again = write_file (f, "again.bin", f->contents->pdata[0]);
    g_autoptr (GFile) file = g_file_new_for_path (again);

    second = tsr_cluster_upload (f->cluster, file, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (second->file_id, ==, first->file_id);
    g_assert_cmpstr (second->sealed_key, !=, first->sealed_key);
  }
  g_assert_true (_tsr_cluster_rewrite_manifest (f->cluster, first, path, &written, &error));
  g_assert_no_error (error);
  g_assert_false (written);
  on_disk = tsr_manifest_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (on_disk->sealed_key, ==, second->sealed_key);
  check_every_file (f);
}

/* A chunk whose other copy is on a node that is down keeps the copy it has where it is: a
 * download holding the manifest from before must still find one. Once the node is back, the
 * next run evens out the rest. */
static void
test_rebalance_keeps_a_live_copy (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) before = g_ptr_array_new_with_free_func ((GDestroyNotify)g_strfreev);
  TsrRebalanceReport r;
  guint touching = 0, k;

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (TsrManifest) up = upload_random (f, 12 * 65536);
    }
  add_embedded_node (f, "Node_04");
  /* Where every chunk of every file is, in order. */
  for (guint i = 0; i < f->ids->len; i++)
    {
      g_autoptr (TsrManifest) m = tsr_cluster_get_file (f->cluster, f->ids->pdata[i], NULL);

      for (guint c = 0; c < m->chunks->len; c++)
        {
          TsrManifestChunk *chunk = m->chunks->pdata[c];
          char **nodes = g_new0 (char *, chunk->nodes->len + 1);

          for (guint j = 0; j < chunk->nodes->len; j++)
            nodes[j] = g_strdup (chunk->nodes->pdata[j]);
          g_ptr_array_add (before, nodes);
        }
    }
  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_01", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.copies_moved, >, 0);
  k = 0;
  for (guint i = 0; i < f->ids->len; i++)
    {
      g_autoptr (TsrManifest) m = tsr_cluster_get_file (f->cluster, f->ids->pdata[i], NULL);

      for (guint c = 0; c < m->chunks->len; c++, k++)
        {
          TsrManifestChunk *chunk = m->chunks->pdata[c];
          char **was = before->pdata[k];

          if (!g_strv_contains ((const char *const *)was, "Node_01"))
            continue;
          touching++;
          g_assert_cmpuint (chunk->nodes->len, ==, 2);
          g_assert_cmpstr (chunk->nodes->pdata[0], ==, was[0]);
          g_assert_cmpstr (chunk->nodes->pdata[1], ==, was[1]);
        }
    }
  g_assert_cmpuint (touching, >, 0);

  g_assert_true (tsr_cluster_set_node_enabled (f->cluster, "Node_01", TRUE, &error));
  g_assert_true (tsr_cluster_check_health (f->cluster, NULL, &error));
  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_cmpuint (r.copies_moved, ==, 0);
  assert_copies_in_place (f, 2);
  check_every_file (f);
}

/* Garbage on a node (copies no manifest lists, as a killed upload leaves) is no part of its
 * share: evenly placed files stay where they are. */
static void
test_rebalance_ignores_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TsrRebalanceReport r;

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (TsrManifest) m = upload_random (f, 12 * 65536);
    }
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr (GBytes) junk = tsr_test_random_bytes (f->rand, 65536 + 16);
      g_autofree char *id = NULL;

      g_assert_true (tsr_segment_store_put (store_of (f, "Node_01"), junk, NULL, &id, &error));
      g_assert_no_error (error);
    }
  g_assert_true (tsr_cluster_rebalance (f->cluster, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.files, ==, 2);
  g_assert_cmpuint (r.copies_moved, ==, 0);
  assert_copies_in_place (f, 2);
}

/* An upload that cannot fit fails at once, saying how much it needs, and stores nothing. */
static void
test_upload_says_what_it_needs (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 600000);
  g_autofree char *path = write_file (f, "big.bin", content);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (TsrManifest) kept = NULL;
  TsrManifest *m;
  guint64 before = 0, after = 0;

  close_cluster (f);
  tsr_test_rmdir (f->data_dir);
  g_assert_true (
      tsr_cluster_init_data_dir (f->data_dir, 5, 200000, TSR_CHUNK_SIZE_DEFAULT, 2, &error));
  open_cluster (f);
  kept = upload_random (f, 50000);
  g_assert_true (tsr_cluster_check_health (f->cluster, NULL, NULL));
  for (guint k = 1; k <= 5; k++)
    {
      g_autofree char *id = g_strdup_printf ("Node_%02u", k);
      before += tsr_segment_store_get_used (store_of (f, id));
    }
  m = tsr_cluster_upload (f->cluster, file, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NO_SPACE);
  /* 600,000 bytes in 10 chunks of 16-byte tags, twice. */
  g_assert_nonnull (strstr (error->message, "1200320 bytes"));
  g_assert_nonnull (strstr (error->message, "big.bin"));
  for (guint k = 1; k <= 5; k++)
    {
      g_autofree char *id = g_strdup_printf ("Node_%02u", k);
      after += tsr_segment_store_get_used (store_of (f, id));
    }
  g_assert_cmpuint (after, ==, before);
  check_every_file (f);
}

static gint
compare_ids (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* The store's side of a scrub: pages in id order, a cursor to go on from, corrupt and vanished
 * copies quarantined and forgotten, good ones untouched. */
static void
test_store_scrub_pages (void)
{
  g_autofree char *dir = tsr_test_make_tmpdir ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) store = tsr_segment_store_open (dir, 1 << 30, &error);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) page = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *gone = NULL;
  TsrScrubResult r = { 0 };
  guint64 checked = 0, corrupt = 0, rounds = 0;
  gboolean more;
  char *after = NULL;

  g_assert_no_error (error);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr (GBytes) data = tsr_test_random_bytes (rand, 1000);
      char *id = NULL;
      g_assert_true (tsr_segment_store_put (store, data, NULL, &id, &error));
      g_ptr_array_add (ids, id);
    }
  g_ptr_array_sort (ids, compare_ids);
  g_assert_true (tsr_segment_store_sync (store, &error));

  page = tsr_segment_store_list_page (store, NULL, 4, &more);
  g_assert_cmpuint (page->len, ==, 4);
  g_assert_true (more);
  g_assert_cmpstr (((TsrSegmentInfo *)page->pdata[0])->id, ==, ids->pdata[0]);
  g_assert_cmpuint (((TsrSegmentInfo *)page->pdata[0])->size, ==, 1000);
  g_clear_pointer (&page, g_ptr_array_unref);
  page = tsr_segment_store_list_page (store, ids->pdata[7], 4, &more);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_false (more);

  /* One copy with a flipped byte, one whose file vanished. */
  bad = tsr_segment_store_segment_path (store, ids->pdata[3]);
  {
    g_autofree char *bytes = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (bad, &bytes, &len, NULL));
    bytes[17] ^= 0x08;
    g_assert_true (g_file_set_contents (bad, bytes, len, NULL));
  }
  gone = tsr_segment_store_segment_path (store, ids->pdata[8]);
  g_assert_cmpint (g_unlink (gone), ==, 0);

  /* 2,500 bytes a call: three segments a page. */
  do
    {
      g_assert_true (tsr_segment_store_scrub (store, after, 2500, &r, &error));
      g_assert_no_error (error);
      checked += r.checked;
      corrupt += r.corrupt->len;
      g_free (after);
      after = g_steal_pointer (&r.next);
      tsr_scrub_result_clear (&r);
      rounds++;
    }
  while (after != NULL);
  g_assert_cmpuint (checked, ==, 10);
  g_assert_cmpuint (corrupt, ==, 2);
  g_assert_cmpuint (rounds, >, 2);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, 8);
  g_assert_cmpuint (tsr_segment_store_get_used (store), ==, 8000);
  g_assert_false (tsr_segment_store_has (store, ids->pdata[3]));
  g_assert_true (tsr_segment_store_has (store, ids->pdata[4]));
  g_assert_true (tsr_segment_store_sync (store, &error));
  g_assert_true (tsr_segment_store_close (store, &error));
  g_clear_object (&store);

  /* The quarantine survives a reopen, outside the index. */
  store = tsr_segment_store_open (dir, 1 << 30, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tsr_segment_store_get_segment_count (store), ==, 8);
  g_assert_true (tsr_segment_store_close (store, &error));
  tsr_test_rmdir (dir);
}

/* A store larger than the pages scrub looks ids up in (1024): one call goes over all of it,
 * and calls whose budgets end mid-page or on a page's last id go on where the last stopped,
 * each segment checked once a pass. */
static void
test_store_scrub_many_pages (void)
{
  g_autofree char *dir = tsr_test_make_tmpdir ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) store = tsr_segment_store_open (dir, 1 << 30, &error);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const guint n = 2600, size = 100;
  const guint64 budgets[] = { G_MAXUINT64, 1500 * size, 1024 * size, 333 * size };
  TsrScrubResult r = { 0 };

  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GBytes) data = tsr_test_random_bytes (rand, size);
      g_assert_true (tsr_segment_store_put (store, data, NULL, NULL, &error));
    }
  g_assert_true (tsr_segment_store_sync (store, &error));

  for (guint b = 0; b < G_N_ELEMENTS (budgets); b++)
    {
      g_autofree char *after = NULL;
      guint64 checked = 0, calls = 0;

      do
        {
          g_assert_true (tsr_segment_store_scrub (store, after, budgets[b], &r, &error));
          g_assert_no_error (error);
          g_assert_cmpuint (r.corrupt->len, ==, 0);
          checked += r.checked;
          /* Each call goes on after the last: its cursor only grows. */
          if (after != NULL && r.next != NULL)
            g_assert_cmpstr (r.next, >, after);
          g_free (after);
          after = g_steal_pointer (&r.next);
          tsr_scrub_result_clear (&r);
          calls++;
        }
      while (after != NULL);
      g_assert_cmpuint (checked, ==, n);
      /* As many calls as budgets it takes to read the store: one, 2, 3 and 8. */
      g_assert_cmpuint (calls, ==,
                        budgets[b] >= n * size ? 1 : (n * size + budgets[b] - 1) / budgets[b]);
    }
  g_assert_true (tsr_segment_store_close (store, &error));
  tsr_test_rmdir (dir);
}

/* Nodes scrub by themselves, within their budget, and quarantine what they find. Waits for
 * the first background slice (10 s) with a generous bound; asserts no duration. */
static void
test_background_scrub (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrManifest) m = upload_random (f, 5 * 65536);
  g_autofree char *node_dir = g_build_filename (f->data_dir, "nodes", "Node_01", NULL);
  g_autoptr (GPtrArray) files = segment_files (node_dir);
  TsrNode *node = tsr_cluster_get_embedded_node (f->cluster, "Node_01");
  guint64 checked = 0, corrupt = 0;
  TsrRepairReport r;

  g_assert_cmpuint (files->len, ==, 2);
  flip_byte (files->pdata[0], f->rand);
  tsr_node_set_scrub_rate (node, 1 << 20);
  for (guint i = 0; i < 600 && corrupt == 0; i++)
    {
      g_usleep (100 * 1000);
      tsr_node_get_scrub_counts (node, &checked, &corrupt);
    }
  g_assert_cmpuint (corrupt, ==, 1);
  g_assert_cmpuint (checked, ==, 2);
  repair (f, &r);
  g_assert_cmpuint (r.copies_made, ==, 1);
  check_every_file (f);
}

/* ---- 8 uploads and 8 downloads at once while a node is stopped and restarted ---- */

typedef struct
{
  Fixture *f;
  guint pending;
  guint step;
  GPtrArray *new_ids; /* index -> file id of the concurrent uploads */
} Concurrent;

typedef struct
{
  Concurrent *c;
  guint index;
  char *dest;
} Op;

static void
on_uploaded (GObject *source, GAsyncResult *result, gpointer data)
{
  Op *op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) m = tsr_cluster_upload_finish (TSR_CLUSTER (source), result, &error);

  g_assert_no_error (error);
  g_free (op->c->new_ids->pdata[op->index]);
  op->c->new_ids->pdata[op->index] = g_strdup (m->file_id);
  op->c->pending--;
  g_free (op);
}

static void
on_downloaded (GObject *source, GAsyncResult *result, gpointer data)
{
  Op *op = data;
  g_autoptr (GError) error = NULL;

  g_assert_true (tsr_cluster_download_finish (TSR_CLUSTER (source), result, &error));
  g_assert_no_error (error);
  tsr_test_assert_file_equals (op->dest, op->c->f->contents->pdata[op->index]);
  op->c->pending--;
  g_free (op->dest);
  g_free (op);
}

/* Stops Node_03 while the transfers run, then starts it again. */
static gboolean
on_toggle (gpointer data)
{
  Concurrent *c = data;
  g_autoptr (GError) error = NULL;

  g_assert_true (tsr_cluster_set_node_enabled (c->f->cluster, "Node_03", c->step % 2 == 1, &error));
  g_assert_no_error (error);
  return ++c->step < 4 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
test_concurrent_transfers_node_restart (Fixture *f, gconstpointer data)
{
  Concurrent c = { f, 0, 0, g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GPtrArray) new_contents =
      g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  const guint n = 8;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (TsrManifest) m = upload_random (f, 40 * 65536 + i * 1000);
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 40 * 65536 + i * 777);
      g_autofree char *name = g_strdup_printf ("concurrent-%u.bin", i);
      g_autofree char *path = write_file (f, name, content);
      g_autoptr (GFile) file = g_file_new_for_path (path);
      g_autofree char *dname = g_strdup_printf ("down-%u.bin", i);
      g_autoptr (GFile) dest = NULL;
      Op *up = g_new0 (Op, 1), *down = g_new0 (Op, 1);

      g_ptr_array_add (c.new_ids, NULL);
      g_ptr_array_add (new_contents, g_bytes_ref (content));
      up->c = down->c = &c;
      up->index = down->index = i;
      down->dest = g_build_filename (f->dir, dname, NULL);
      dest = g_file_new_for_path (down->dest);
      c.pending += 2;
      tsr_cluster_upload_async (f->cluster, file, NULL, on_uploaded, up);
      tsr_cluster_download_async (f->cluster, f->ids->pdata[i], dest, TRUE, NULL, on_downloaded,
                                  down);
    }
  g_timeout_add (20, on_toggle, &c);
  while (c.pending > 0 || c.step < 4)
    g_main_context_iteration (NULL, TRUE);

  for (guint i = 0; i < n; i++)
    download_and_compare (f, c.new_ids->pdata[i], new_contents->pdata[i]);
  check_every_file (f);
  g_ptr_array_unref (c.new_ids);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Counted corruptions must be found by the scrub the test asks for, not the background. */
  g_setenv ("TESSERA_SCRUB_RATE", "0", TRUE);

#define ADD(path, fn, data)                                                                        \
  g_test_add ("/tessera/maintenance/" path, Fixture, data, fixture_setup, fn, fixture_teardown)
  ADD ("repair-after-node-loss", test_repair_after_node_loss, NULL);
  ADD ("lost-file-comes-back", test_lost_file_comes_back, NULL);
  ADD ("scrub-repairs-corruption", test_scrub_repairs_corruption, NULL);
  ADD ("rotten-chunk-shows-as-lost", test_rotten_chunk_shows_as_lost, NULL);
  ADD ("repair-beside-uploads", test_repair_beside_uploads, NULL);
  ADD ("deleted-node-directory", test_deleted_node_directory, NULL);
  ADD ("gc-collects-orphans", test_gc_collects_orphans, NULL);
  ADD ("gc-refuses-damaged-manifest", test_gc_refuses_damaged_manifest, NULL);
  ADD ("remove-node-drains", test_remove_node_drains, NULL);
  ADD ("remove-node-waits-for-uploads", test_remove_node_waits_for_uploads, NULL);
  ADD ("repair-copies-leave-cache", test_repair_copies_leave_cache, NULL);
  ADD ("rebalance-fills-new-node", test_rebalance_fills_new_node, GUINT_TO_POINTER (3));
  ADD ("draining-node-takes-no-copies", test_draining_node_takes_no_copies, GUINT_TO_POINTER (3));
  ADD ("rebalance-keeps-a-live-copy", test_rebalance_keeps_a_live_copy, GUINT_TO_POINTER (3));
  ADD ("rebalance-ignores-garbage", test_rebalance_ignores_garbage, GUINT_TO_POINTER (3));
  ADD ("rewrite-only-what-was-loaded", test_rewrite_only_what_was_loaded, NULL);
  ADD ("new-node-takes-new-chunks", test_new_node_takes_new_chunks, GUINT_TO_POINTER (3));
  ADD ("upload-says-what-it-needs", test_upload_says_what_it_needs, NULL);
  ADD ("concurrent-transfers-node-restart", test_concurrent_transfers_node_restart, NULL);
  ADD ("background-scrub", test_background_scrub, NULL);
  g_test_add_func ("/tessera/maintenance/store-scrub-pages", test_store_scrub_pages);
  g_test_add_func ("/tessera/maintenance/store-scrub-many-pages", test_store_scrub_many_pages);
#undef ADD

  return g_test_run ();
}
