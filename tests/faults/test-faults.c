/* test-faults.c: the fault-injection suite
 *
 * For real: a worker process (fault-worker) uploading, deleting, repairing and collecting
 * garbage through the embedded cluster is killed with SIGKILL after a random delay, many
 * times over; bytes are flipped in stored segments; a node's directory is deleted; a small
 * file system is filled. After each step every committed file is downloaded and compared
 * byte for byte.
 *
 * TESSERA_FAULT_ITERATIONS (default 8) sets the number of kills, TESSERA_FAULT_SEED (default
 * 1) the seed of the delays and of the workers' operations. The delays and operations are
 * reproducible; where in its work a killed worker was depends on the machine's speed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"
#include "fault-common.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;
  char *data_dir;
  char *src_dir;
  char *out_dir;
  char *journal;
  char *worker;
  guint seed;
  guint iterations;
} Fixture;

static guint
env_uint (const char *name, guint fallback)
{
  const char *v = g_getenv (name);
  return v != NULL && *v != '\0' ? (guint)g_ascii_strtoull (v, NULL, 10) : fallback;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = tsr_test_make_tmpdir ();
  f->data_dir = g_build_filename (f->dir, "data", NULL);
  f->src_dir = g_build_filename (f->dir, "src", NULL);
  f->out_dir = g_build_filename (f->dir, "out", NULL);
  f->journal = g_build_filename (f->dir, "journal", NULL);
  f->worker = g_strdup (g_getenv ("TESSERA_FAULT_WORKER"));
  g_assert_nonnull (f->worker);
  f->seed = env_uint ("TESSERA_FAULT_SEED", 1);
  f->iterations = env_uint ("TESSERA_FAULT_ITERATIONS", 8);
  g_assert_cmpint (g_mkdir (f->src_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (f->out_dir, 0700), ==, 0);
  g_assert_true (tsr_cluster_init_data_dir (f->data_dir, 5, TSR_SEGMENT_STORE_DEFAULT_CAPACITY,
                                            TSR_CHUNK_SIZE_DEFAULT, 2, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->data_dir);
  g_free (f->src_dir);
  g_free (f->out_dir);
  g_free (f->journal);
  g_free (f->worker);
}

/* Opens the cluster as a user would after a crash: a worker killed while it had a node out of
 * service leaves it disabled (that is persisted, as `node disable` is), so it is enabled
 * again first. */
static TsrCluster *
open_cluster (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  TsrCluster *cluster = tsr_cluster_open (f->data_dir, &error);
  const TsrClusterConfig *config;

  g_assert_no_error (error);
  g_assert_true (tsr_cluster_start (cluster, &error));
  g_assert_no_error (error);
  config = tsr_cluster_get_config (cluster);
  for (guint i = 0; i < config->nodes->len; i++)
    {
      TsrNodeConfig *node = config->nodes->pdata[i];
      if (!node->enabled)
        g_assert_true (tsr_cluster_set_node_enabled (cluster, node->node_id, TRUE, &error));
      g_assert_no_error (error);
    }
  return cluster;
}

static void
close_cluster (TsrCluster *cluster)
{
  tsr_cluster_stop (cluster);
  g_assert_finalize_object (cluster);
}

static void
check_download (Fixture *f, TsrCluster *cluster, const char *file_id, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (f->out_dir, "check.bin", NULL);
  g_autoptr (GFile) dest = g_file_new_for_path (out);
  g_autoptr (GBytes) expected = fault_content_for_name (name);
  g_autofree char *got = NULL;
  gsize len;

  g_assert_nonnull (expected);
  tsr_cluster_download (cluster, file_id, dest, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (out, &got, &len, NULL));
  g_assert_cmpmem (got, len, g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

/* Every committed file that no delete touched is listed; every listed file is whole; no
 * manifest in the catalog is half-written. Returns the number of files checked. */
static guint
check_committed (Fixture *f, TsrCluster *cluster)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GHashTable) deleting = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) files = NULL;
  g_autofree char *catalog = g_build_filename (f->data_dir, "catalog", NULL);
  g_autoptr (GDir) d = NULL;
  const char *name;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (f->journal, &text, NULL, NULL))
    text = g_strdup ("");
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "D? "))
      g_hash_table_add (deleting, lines[i] + 3);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) parts = NULL;
      g_autoptr (TsrManifest) m = NULL;

      if (!g_str_has_prefix (lines[i], "U "))
        continue;
      parts = g_strsplit (lines[i], " ", 3);
      g_assert_cmpuint (g_strv_length (parts), ==, 3);
      if (g_hash_table_contains (deleting, parts[1]))
        continue;
      m = tsr_cluster_get_file (cluster, parts[1], &error);
      g_assert_no_error (error);
    }

  d = g_dir_open (catalog, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    if (strlen (name) == TSR_FILE_ID_LEN + 5)
      {
        g_autofree char *path = g_build_filename (catalog, name, NULL);
        g_autoptr (TsrManifest) m = tsr_manifest_load (path, &error);
        g_assert_no_error (error);
      }

  files = tsr_cluster_list_files (cluster, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < files->len; i++)
    {
      TsrManifest *m = files->pdata[i];
      check_download (f, cluster, m->file_id, m->name);
    }
  return files->len;
}

/* Journal lines of @kind ("U", "D", "S"...). */
static guint
count_lines (Fixture *f, const char *kind)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  if (!g_file_get_contents (f->journal, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) parts = g_strsplit (lines[i], " ", 2);
      n += parts[0] != NULL && strcmp (parts[0], kind) == 0;
    }
  return n;
}

/* Kills the worker at random moments; checks after each kill. */
static void
test_sigkill (Fixture *f, gconstpointer data)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (f->seed);
  guint kills = 0, files = 0, before_start = 0;
  TsrCluster *cluster;
  TsrGcReport gc;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < f->iterations; i++)
    {
      g_autofree char *seed = g_strdup_printf ("%u", f->seed * 1000 + i);
      const char *argv[] = { f->worker, "work", f->data_dir, f->src_dir, f->journal, seed, NULL };
      /* Mostly while working, timed from the worker's start line so that a slow build (ASan,
       * valgrind) is killed as deep into its work as a fast one; sometimes while starting or
       * recovering from the previous kill. */
      gboolean early = g_rand_int_range (rand, 0, 4) == 0;
      guint delay_ms = early ? g_rand_int_range (rand, 0, 300) : g_rand_int_range (rand, 0, 2000);
      guint starts = count_lines (f, "S");
      GPid pid;
      int status;

      g_assert_true (g_spawn_async (NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                    NULL, &pid, &error));
      g_assert_no_error (error);
      for (guint waited = 0; !early && count_lines (f, "S") == starts && waited < 1200; waited++)
        g_usleep (100 * 1000);
      g_usleep (delay_ms * 1000);
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_spawn_close_pid (pid);
      /* A worker that ended by itself failed an assertion: that is a failure here too. */
      g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
      kills++;
      before_start += early;

      cluster = open_cluster (f);
      files = check_committed (f, cluster);
      close_cluster (cluster);
    }

  /* What the kills left behind is collected, and only that. */
  cluster = open_cluster (f);
  g_assert_true (tsr_cluster_repair (cluster, NULL, NULL, NULL, NULL, &error));
  g_assert_true (tsr_cluster_gc (cluster, 0, NULL, &gc, &error));
  g_assert_no_error (error);
  g_test_message ("gc after the kills: %" G_GUINT64_FORMAT " orphaned copies of %" G_GUINT64_FORMAT,
                  gc.orphans, gc.segments);
  files = check_committed (f, cluster);
  g_assert_true (tsr_cluster_gc (cluster, 0, NULL, &gc, &error));
  g_assert_cmpuint (gc.orphans, ==, 0);
  close_cluster (cluster);
  g_test_message ("SIGKILL: %u kill points survived (%u of them early); %u uploads and %u "
                  "deletes acknowledged; %u files whole",
                  kills, before_start, count_lines (f, "U"), count_lines (f, "D"), files);
  /* Not vacuous: the workers got far enough to commit files. */
  g_assert_cmpuint (count_lines (f, "U"), >, 0);
}

static GPtrArray *
all_segment_files (const char *data_dir)
{
  g_autofree char *nodes = g_build_filename (data_dir, "nodes", NULL);
  g_autoptr (GDir) nd = g_dir_open (nodes, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *node;

  while (nd != NULL && (node = g_dir_read_name (nd)) != NULL)
    for (guint fan = 0; fan < 256; fan++)
      {
        g_autofree char *fan_name = g_strdup_printf ("%02x", fan);
        g_autofree char *dir = g_build_filename (nodes, node, "segments", fan_name, NULL);
        g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
        const char *name;

        while (d != NULL && (name = g_dir_read_name (d)) != NULL)
          if (name[0] != '.')
            g_ptr_array_add (files, g_build_filename (dir, name, NULL));
      }
  return files;
}

/* Uploads a fresh set of files, then flips bytes in stored copies and deletes a node's
 * directory, checking every file after each step. */
static void
test_corruption_and_lost_node (Fixture *f, gconstpointer data)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (f->seed + 7);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) segs = NULL;
  TsrCluster *cluster = open_cluster (f);
  guint rounds = MAX (f->iterations / 2, 2), flipped = 0, files = 0;
  TsrScrubReport scrub;
  TsrRepairReport repair;

  for (guint n = 0; n < 12; n++)
    {
      g_autoptr (GBytes) content = fault_content (f->seed + 99, n);
      g_autofree char *name = fault_name (f->seed + 99, n);
      g_autofree char *path = g_build_filename (f->src_dir, name, NULL);
      g_autoptr (GFile) file = g_file_new_for_path (path);
      g_autoptr (TsrManifest) m = NULL;

      g_assert_true (g_file_set_contents (path, g_bytes_get_data (content, NULL),
                                          g_bytes_get_size (content), NULL));
      m = tsr_cluster_upload (cluster, file, NULL, &error);
      g_assert_no_error (error);
    }

  /* Bytes flipped in random stored copies; each round's copies are distinct files, so the
   * scrub must find exactly that many. */
  for (guint r = 0; r < rounds; r++)
    {
      /* Distinct segment ids: one bad copy per chunk, so a healthy replica always exists. */
      g_autoptr (GHashTable) chosen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      guint k = g_rand_int_range (rand, 1, 6);

      segs = all_segment_files (f->data_dir);
      while (g_hash_table_size (chosen) < MIN (k, segs->len / 2))
        {
          guint at = g_rand_int_range (rand, 0, segs->len);
          g_autofree char *bytes = NULL;
          g_autofree char *id = g_path_get_basename (segs->pdata[at]);
          gsize len;

          if (g_hash_table_contains (chosen, id))
            continue;
          g_hash_table_add (chosen, g_steal_pointer (&id));
          g_assert_true (g_file_get_contents (segs->pdata[at], &bytes, &len, NULL));
          if (len == 0)
            continue;
          bytes[g_rand_int_range (rand, 0, (gint32)len)] ^= 0x40;
          g_assert_true (g_file_set_contents (segs->pdata[at], bytes, len, NULL));
          flipped++;
        }
      g_clear_pointer (&segs, g_ptr_array_unref);
      g_assert_true (tsr_cluster_scrub (cluster, NULL, NULL, NULL, &scrub, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (scrub.corrupt, ==, g_hash_table_size (chosen));
      g_assert_cmpuint (scrub.repaired, ==, scrub.corrupt);
      g_assert_cmpuint (scrub.lost, ==, 0);
      files = check_committed (f, cluster);
    }

  /* A node's whole directory gone while the process was down. */
  close_cluster (cluster);
  {
    g_autofree char *node_dir = g_build_filename (f->data_dir, "nodes", "Node_03", NULL);
    tsr_test_rmdir (node_dir);
  }
  cluster = open_cluster (f);
  files = check_committed (f, cluster);
  g_assert_true (tsr_cluster_repair (cluster, NULL, NULL, NULL, &repair, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (repair.copies_made, >, 0);
  g_assert_cmpuint (repair.chunks_degraded + repair.chunks_lost, ==, 0);
  files = check_committed (f, cluster);
  close_cluster (cluster);
  g_test_message ("corruption: %u flipped copies survived over %u scrubs; a deleted node "
                  "directory: %" G_GUINT64_FORMAT " copies made again; %u files whole",
                  flipped, rounds, repair.copies_made, files);
}

/* Runs the worker's @mode in a new directory @name, which most modes mount over in a namespace
 * of their own; returns what it printed, or NULL after skipping the test (the worker exits 77
 * where the system does not allow what the mode needs), saying @skip_why and the worker's
 * reason. */
static char *
run_mounting_worker (Fixture *f, const char *mode, const char *name, const char *skip_why)
{
  g_autofree char *work = g_build_filename (f->dir, name, NULL);
  const char *argv[] = { f->worker, mode, work, f->out_dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  /* Only "fill" takes an output directory. */
  if (strcmp (mode, "fill") != 0)
    argv[3] = NULL;
  g_assert_cmpint (g_mkdir (work, 0700), ==, 0);
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_autofree char *why = g_strdup_printf ("%s (%s)", skip_why, g_strstrip (err));
      g_test_skip (why);
      return NULL;
    }
  g_test_message ("%s%s", out, err);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  return g_steal_pointer (&out);
}

/* A real full file system: a 3 MB tmpfs in a mount namespace of the worker's own. */
static void
test_full_file_system (Fixture *f, gconstpointer data)
{
  /* test-maintenance's upload-says-what-it-needs covers capacity-limited nodes. */
  g_autofree char *out = run_mounting_worker (
      f, "fill", "small-fs",
      "the kernel refused a size-limited tmpfs; full nodes are covered by capacity-limited "
      "nodes in test-maintenance");

  if (out != NULL)
    g_assert_nonnull (strstr (out, "full after"));
}

/* A disk that fails writes (a loop device whose image cannot grow): the first sync fails, and
 * so does every later one, where syncfs() alone would report the error once and then succeed
 * over the lost writes. */
static void
test_write_errors_stay_reported (Fixture *f, gconstpointer data)
{
  g_autofree char *out =
      run_mounting_worker (f, "eio", "failing-disk", "no failing disk can be made here");

  if (out == NULL)
    return;
  g_assert_nonnull (strstr (out, "sync 1: Cannot flush node store"));
  g_assert_nonnull (strstr (out, "sync 3: Node store"));
  g_assert_nonnull (strstr (out, "failed to write to its disk earlier"));
}

/* Worker modes whose whole check is the worker's own: it prints @expect when all held. */
typedef struct
{
  const char *mode;
  const char *dir;
  const char *skip_why;
  const char *expect;
} WorkerCase;

/* A file system that refuses O_DIRECT (ramfs): segments are read through the page cache
 * instead, whole, whatever their size. */
static const WorkerCase reads_without_direct_io = {
  "nodirect", "ramfs", "no file system refusing O_DIRECT can be made here",
  "read back 6 segments without O_DIRECT"
};

/* Where /proc is missing, unnamed files (O_TMPFILE) cannot be linked in: segments are written
 * under temporary names and renamed, as on file systems without O_TMPFILE. */
static const WorkerCase writes_without_proc = { "noproc", "noproc",
                                                "no mount namespace could hide /proc here",
                                                "stored and read back 6 segments without /proc" };

/* Cold puts keep their files open until their pages are dropped, within a budget of descriptors
 * that a low limit on open files makes small: past it they are dropped by name. */
static const WorkerCase cold_puts_past_descriptor_budget = {
  "fdbudget", "fdbudget", "the page cache cannot be watched here",
  "160 cold puts past a budget of 32 descriptors"
};

static void
test_worker_case (Fixture *f, gconstpointer data)
{
  const WorkerCase *c = data;
  g_autofree char *out = run_mounting_worker (f, c->mode, c->dir, c->skip_why);

  if (out != NULL)
    g_assert_nonnull (strstr (out, c->expect));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Corruptions are counted by the scrub the test asks for, not found by the background. */
  g_setenv ("TESSERA_SCRUB_RATE", "0", TRUE);

  g_test_add ("/tessera/faults/sigkill", Fixture, NULL, fixture_setup, test_sigkill,
              fixture_teardown);
  g_test_add ("/tessera/faults/corruption-and-lost-node", Fixture, NULL, fixture_setup,
              test_corruption_and_lost_node, fixture_teardown);
  g_test_add ("/tessera/faults/full-file-system", Fixture, NULL, fixture_setup,
              test_full_file_system, fixture_teardown);
  g_test_add ("/tessera/faults/write-errors-stay-reported", Fixture, NULL, fixture_setup,
              test_write_errors_stay_reported, fixture_teardown);
  g_test_add ("/tessera/faults/reads-without-direct-io", Fixture, &reads_without_direct_io,
              fixture_setup, test_worker_case, fixture_teardown);
  g_test_add ("/tessera/faults/writes-without-proc", Fixture, &writes_without_proc, fixture_setup,
              test_worker_case, fixture_teardown);
  g_test_add ("/tessera/faults/cold-puts-past-descriptor-budget", Fixture,
              &cold_puts_past_descriptor_budget, fixture_setup, test_worker_case, fixture_teardown);
  return g_test_run ();
}
