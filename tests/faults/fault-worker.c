/* fault-worker: the program the fault-injection suite kills
 *
 *   fault-worker work DATA_DIR SRC_DIR JOURNAL SEED
 *     Uploads, deletes, takes nodes out and back, repairs and collects garbage in a loop
 *     until it is killed. JOURNAL (appended, fsync'd) records what was acknowledged:
 *       U FILE_ID NAME   an upload returned success: the file is committed
 *       D? FILE_ID       a delete is about to start: the file may be gone from now on
 *       D FILE_ID        the delete returned
 *       S                the cluster started (the checker times most kills from here)
 *
 *   fault-worker fill WORK_DIR OUT_DIR
 *     In a mount namespace of its own, mounts a 3 MB tmpfs on WORK_DIR, keeps a cluster of
 *     five 10 GB nodes there and uploads until the real file system is full. Checks that the
 *     failing upload says NO_SPACE, that every committed file downloads (into OUT_DIR, on the
 *     real disk) byte for byte, also after a restart, and that space freed is usable again.
 *     Exits 77 when the kernel refuses the namespace or the mount.
 *
 *   fault-worker eio WORK_DIR
 *     As root, in a mount namespace of its own: a 12 MB tmpfs on WORK_DIR holding a 6 MB
 *     filler and a sparse 64 MB disk image, formatted ext4 and mounted through a loop device.
 *     Once the tmpfs is full, writing the image back fails: the ext4 on it sees real I/O
 *     errors. Stores 32 MiB of segments in a segment store there and checks that the sync
 *     fails; then deletes the filler, as a disk that comes back would, and checks that later
 *     syncs fail too (syncfs() reports a writeback error only once, and the writes it lost
 *     stay lost). Exits 77 without root, loop devices or mkfs.ext4.
 *
 *   fault-worker nodirect WORK_DIR
 *     In a mount namespace of its own, mounts a ramfs on WORK_DIR, which refuses O_DIRECT, and
 *     checks that a segment store there reads back every segment put, of sizes on and off the
 *     4 KiB blocks O_DIRECT reads in: stores read around the page cache where they can and
 *     through it where not. Exits 77 when the kernel refuses the namespace or the mount, or
 *     when ramfs accepts O_DIRECT after all.
 *
 *   fault-worker noproc WORK_DIR
 *     In a mount namespace of its own, mounts a tmpfs on WORK_DIR and hides /proc under another,
 *     so that a store cannot link in the unnamed files (O_TMPFILE) it writes segments to, and
 *     checks that it stores and reads back every segment under temporary names instead, leaving
 *     none behind. Exits 77 when the kernel refuses the namespace or the mounts.
 *
 *   fault-worker fdbudget WORK_DIR
 *     With soft and hard limits of 64 and 128 open files, set before any store opens: checks that
 *     opening a store in WORK_DIR (on the real disk) raises the soft limit to 128, that 160 cold
 *     puts all succeed (the store keeps at most a quarter of the limit open, and the rest by
 *     name), and that after a sync none of their pages is cached and no descriptor is left.
 *     Exits 77 where the page cache cannot be watched.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "fault-common.h"
#include "tsr-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/resource.h>
#include <unistd.h>
#include <glib/gstdio.h>

static int journal_fd = -1;

static void journal (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static void
journal (const char *fmt, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, fmt);
  line = g_strdup_vprintf (fmt, args);
  va_end (args);
  if (write (journal_fd, line, strlen (line)) != (ssize_t)strlen (line) || fsync (journal_fd) != 0)
    g_error ("Cannot write the journal: %s", g_strerror (errno));
}

/* Committed files not being deleted, from earlier runs' journal. */
static GPtrArray *
read_committed (const char *path)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GHashTable) gone = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return ids;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "D? "))
      g_hash_table_add (gone, lines[i] + 3);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "U ") && strlen (lines[i]) > 2 + TSR_FILE_ID_LEN)
      {
        char *id = g_strndup (lines[i] + 2, TSR_FILE_ID_LEN);
        if (g_hash_table_contains (gone, id))
          g_free (id);
        else
          g_ptr_array_add (ids, id);
      }
  return ids;
}

static TsrManifest *
upload_one (TsrCluster *cluster, const char *src_dir, guint seed, guint n, GError **error)
{
  g_autoptr (GBytes) content = fault_content (seed, n);
  g_autofree char *name = fault_name (seed, n);
  g_autofree char *path = g_build_filename (src_dir, name, NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);

  if (!g_file_set_contents (path, g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                            error))
    return NULL;
  return tsr_cluster_upload (cluster, file, NULL, error);
}

static int
work (const char *data_dir, const char *src_dir, const char *journal_path, guint seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrCluster) cluster = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (GPtrArray) committed = read_committed (journal_path);
  guint n = 0;

  journal_fd = g_open (journal_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (journal_fd < 0)
    g_error ("Cannot open %s: %s", journal_path, g_strerror (errno));
  cluster = tsr_cluster_open (data_dir, &error);
  if (cluster == NULL || !tsr_cluster_start (cluster, &error))
    g_error ("Cannot start the cluster: %s", error->message);
  /* A node the previous worker took out of service when it was killed comes back. */
  for (guint i = 0; i < tsr_cluster_get_config (cluster)->nodes->len; i++)
    {
      TsrNodeConfig *node = tsr_cluster_get_config (cluster)->nodes->pdata[i];
      if (!node->enabled && !tsr_cluster_set_node_enabled (cluster, node->node_id, TRUE, &error))
        g_error ("Enable failed: %s", error->message);
    }
  journal ("S\n");

  for (;;)
    {
      guint op = g_rand_int_range (rand, 0, 10);
      g_autoptr (TsrManifest) m = NULL;
      g_autoptr (GError) op_error = NULL;

      if (op <= 4)
        {
          m = upload_one (cluster, src_dir, seed, n++, &op_error);
          if (m == NULL)
            g_error ("Upload failed: %s", op_error->message);
          journal ("U %s %s\n", m->file_id, m->name);
          g_ptr_array_add (committed, g_strdup (m->file_id));
        }
      else if (op <= 6 && committed->len > 0)
        {
          guint k = g_rand_int_range (rand, 0, committed->len);
          g_autofree char *id = g_ptr_array_steal_index_fast (committed, k);

          journal ("D? %s\n", id);
          if (!tsr_cluster_delete (cluster, id, NULL, &op_error) &&
              !g_error_matches (op_error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
            g_error ("Delete failed: %s", op_error->message);
          journal ("D %s\n", id);
          /* The same content uploaded twice is one file: forget every entry for it. */
          for (guint i = committed->len; i-- > 0;)
            if (strcmp (committed->pdata[i], id) == 0)
              g_ptr_array_remove_index_fast (committed, i);
        }
      else if (op == 7)
        {
          /* A node out of service during an upload, then a repair that must copy. */
          g_autofree char *node = g_strdup_printf ("Node_%02d", g_rand_int_range (rand, 1, 6));

          if (!tsr_cluster_set_node_enabled (cluster, node, FALSE, &op_error))
            g_error ("Disable failed: %s", op_error->message);
          m = upload_one (cluster, src_dir, seed, n++, &op_error);
          if (m == NULL)
            g_error ("Upload failed: %s", op_error->message);
          journal ("U %s %s\n", m->file_id, m->name);
          g_ptr_array_add (committed, g_strdup (m->file_id));
          if (!tsr_cluster_set_node_enabled (cluster, node, TRUE, &op_error))
            g_error ("Enable failed: %s", op_error->message);
          if (!tsr_cluster_repair (cluster, NULL, NULL, NULL, NULL, &op_error))
            g_error ("Repair failed: %s", op_error->message);
        }
      else if (op == 8)
        {
          if (!tsr_cluster_repair (cluster, NULL, NULL, NULL, NULL, &op_error))
            g_error ("Repair failed: %s", op_error->message);
        }
      else if (op == 9)
        {
          if (!tsr_cluster_gc (cluster, 0, NULL, NULL, &op_error))
            g_error ("Garbage collection failed: %s", op_error->message);
        }
    }
  return 0;
}

static gboolean
write_proc (const char *path, const char *text)
{
  return g_file_set_contents (path, text, -1, NULL);
}

/* A private mount namespace (and, when not root, a user namespace mapping us to root in it)
 * with a file system of @type (tmpfs, size-limited by @options, or ramfs) on @dir. */
static gboolean
mount_privately (const char *dir, const char *type, const char *options)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();

  if (uid != 0)
    {
      g_autofree char *uid_map = g_strdup_printf ("0 %u 1\n", (guint)uid);
      g_autofree char *gid_map = g_strdup_printf ("0 %u 1\n", (guint)gid);

      if (unshare (CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return FALSE;
      write_proc ("/proc/self/setgroups", "deny");
      if (!write_proc ("/proc/self/uid_map", uid_map) ||
          !write_proc ("/proc/self/gid_map", gid_map))
        return FALSE;
    }
  else if (unshare (CLONE_NEWNS) != 0)
    return FALSE;
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return FALSE;
  return mount ("tessera-faults", dir, type, 0, options) == 0;
}

static void
check_download (TsrCluster *cluster, TsrManifest *m, const char *out_dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (out_dir, "check.bin", NULL);
  g_autoptr (GFile) dest = g_file_new_for_path (out);
  g_autoptr (GBytes) expected = fault_content_for_name (m->name);
  g_autofree char *got = NULL;
  gsize len;

  if (!tsr_cluster_download (cluster, m->file_id, dest, TRUE, NULL, &error))
    g_error ("Download of %s failed: %s", m->name, error->message);
  if (!g_file_get_contents (out, &got, &len, NULL) || expected == NULL ||
      len != g_bytes_get_size (expected) || memcmp (got, g_bytes_get_data (expected, NULL), len))
    g_error ("%s came back different", m->name);
}

static guint
check_all (TsrCluster *cluster, const char *out_dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = tsr_cluster_list_files (cluster, &error);

  if (files == NULL)
    g_error ("Cannot list: %s", error->message);
  for (guint i = 0; i < files->len; i++)
    check_download (cluster, files->pdata[i], out_dir);
  return files->len;
}

/* Writes @path until the file system has no byte left. */
static void
fill_up (const char *path)
{
  static const char zeros[4096];
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd < 0)
    g_error ("Cannot create %s: %s", path, g_strerror (errno));
  for (gsize step = sizeof zeros; step > 0; step /= 2)
    while (write (fd, zeros, step) == (ssize_t)step)
      ;
  if (errno != ENOSPC)
    g_error ("Filling %s: %s", path, g_strerror (errno));
  close (fd);
}

static int
fill (const char *work_dir, const char *out_dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_dir = g_build_filename (work_dir, "data", NULL);
  g_autofree char *filler = g_build_filename (work_dir, "filler", NULL);
  g_autofree char *filler_2 = g_build_filename (work_dir, "filler-2", NULL);
  g_autoptr (TsrCluster) cluster = NULL;
  g_autoptr (TsrManifest) victim = NULL;
  guint committed = 0, n = 0;

  if (!mount_privately (work_dir, "tmpfs", "size=3m,mode=0700"))
    {
      g_printerr ("The kernel refused a tmpfs mount: %s\n", g_strerror (errno));
      return 77;
    }
  if (!tsr_cluster_init_data_dir (data_dir, 5, TSR_SEGMENT_STORE_DEFAULT_CAPACITY,
                                  TSR_CHUNK_SIZE_DEFAULT, 2, &error))
    g_error ("%s", error->message);
  cluster = tsr_cluster_open (data_dir, &error);
  if (cluster == NULL || !tsr_cluster_start (cluster, &error))
    g_error ("Cannot start the cluster: %s", error->message);

  /* The nodes believe they have 10 GB each; the file system has 3 MB. */
  for (;;)
    {
      g_autoptr (GBytes) content = fault_content (4242, n);
      g_autofree char *name = fault_name (4242, n++);
      g_autofree char *path = g_build_filename (out_dir, name, NULL);
      g_autoptr (GFile) file = g_file_new_for_path (path);
      g_autoptr (TsrManifest) m = NULL;

      g_assert_true (g_file_set_contents (path, g_bytes_get_data (content, NULL),
                                          g_bytes_get_size (content), NULL));
      m = tsr_cluster_upload (cluster, file, NULL, &error);
      if (m == NULL)
        break;
      committed++;
      if (victim == NULL && g_bytes_get_size (content) > 100000)
        victim = g_steal_pointer (&m);
      if (n > 200)
        g_error ("3 MB never filled up");
    }
  if (!g_error_matches (error, TSR_ERROR, TSR_ERROR_NO_SPACE))
    g_error ("A full file system was reported as: %s (%s)", error->message,
             tsr_error_code_to_string (error->code));
  g_print ("full after %u uploads: %s\n", committed, error->message);
  g_clear_error (&error);
  if (check_all (cluster, out_dir) != committed)
    g_error ("Committed files went missing");

  /* The disk full to the last byte (a failed upload frees what it stored, so a filler takes
   * that) under nodes with nothing unsynced (a restart syncs them). A delete must still work,
   * being how a person makes room. */
  tsr_cluster_stop (cluster);
  g_clear_object (&cluster);
  cluster = tsr_cluster_open (data_dir, &error);
  if (cluster == NULL || !tsr_cluster_start (cluster, &error))
    g_error ("Cannot restart: %s", error->message);
  fill_up (filler);
  if (victim != NULL)
    {
      if (!tsr_cluster_delete (cluster, victim->file_id, NULL, &error))
        g_error ("Delete on a full disk failed: %s", error->message);
      committed--;
      g_print ("deleted a file on a full disk\n");
    }

  /* A restart, still full, after what a crash with unsynced changes leaves behind (each
   * node's metadata.dirty; an empty file needs no free block): each node recounts from its
   * files and cannot save the result, but it must open and serve every committed file. */
  fill_up (filler_2);
  tsr_cluster_stop (cluster);
  g_clear_object (&cluster);
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *node = g_strdup_printf ("Node_%02u", i);
      g_autofree char *marker = g_build_filename (data_dir, "nodes", node, "metadata.dirty", NULL);
      g_assert_true (g_file_set_contents (marker, "", 0, NULL));
    }
  cluster = tsr_cluster_open (data_dir, &error);
  if (cluster == NULL || !tsr_cluster_start (cluster, &error))
    g_error ("Cannot restart while the disk is full: %s", error->message);
  if (!tsr_cluster_check_health (cluster, NULL, &error))
    g_error ("Health check after a restart on a full disk: %s", error->message);
  {
    g_autoptr (GPtrArray) nodes = tsr_cluster_dup_node_status (cluster);
    for (guint i = 0; i < nodes->len; i++)
      if (!((TsrNodeStatus *)nodes->pdata[i])->alive)
        g_error ("%s did not come back on a full disk",
                 ((TsrNodeStatus *)nodes->pdata[i])->node_id);
  }
  if (check_all (cluster, out_dir) != committed)
    g_error ("Committed files went missing after a restart on a full disk");
  g_print ("%u committed files whole after a restart on a full disk\n", committed);

  /* A download onto the full disk says NO_SPACE and leaves neither the file nor its
   * temporary behind (the writes fail on the download's writing thread). */
  {
    g_autoptr (GPtrArray) files = tsr_cluster_list_files (cluster, &error);
    g_autofree char *out = g_build_filename (work_dir, "onto-full.bin", NULL);
    g_autoptr (GFile) dest = g_file_new_for_path (out);
    g_autoptr (GDir) d = NULL;
    TsrManifest *big = NULL;
    const char *entry;

    for (guint i = 0; files != NULL && i < files->len; i++)
      if (big == NULL || ((TsrManifest *)files->pdata[i])->size > big->size)
        big = files->pdata[i];
    if (big == NULL || big->size == 0)
      g_error ("No file to download onto the full disk");
    if (tsr_cluster_download (cluster, big->file_id, dest, FALSE, NULL, &error))
      g_error ("A download onto a full disk succeeded");
    if (!g_error_matches (error, TSR_ERROR, TSR_ERROR_NO_SPACE))
      g_error ("A download onto a full disk was reported as: %s (%s)", error->message,
               tsr_error_code_to_string (error->code));
    g_print ("download onto the full disk: %s\n", error->message);
    g_clear_error (&error);
    d = g_dir_open (work_dir, 0, NULL);
    while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
      if (strstr (entry, "onto-full") != NULL)
        g_error ("A failed download left %s behind", entry);
  }
  g_unlink (filler);
  g_unlink (filler_2);

  /* Space freed is usable again, and nothing was left half-written. */
  {
    g_autoptr (GBytes) small = fault_content (4243, 0);
    g_autofree char *path = g_build_filename (out_dir, "f-4243-0.bin", NULL);
    g_autoptr (GFile) file = g_file_new_for_path (path);
    g_autoptr (TsrManifest) m = NULL;
    TsrGcReport gc;

    if (!tsr_cluster_gc (cluster, 0, NULL, &gc, &error))
      g_error ("Garbage collection after a full disk failed: %s", error->message);
    g_print ("collected %" G_GUINT64_FORMAT " orphaned copies left by the failed upload\n",
             gc.orphans);
    g_assert_true (g_file_set_contents (path, g_bytes_get_data (small, NULL),
                                        MIN (g_bytes_get_size (small), 20000), NULL));
    m = tsr_cluster_upload (cluster, file, NULL, &error);
    if (m == NULL)
      g_error ("Upload after freeing space failed: %s", error->message);
    if (m->size != MIN (g_bytes_get_size (small), 20000) ||
        !tsr_cluster_delete (cluster, m->file_id, NULL, &error))
      g_error ("The upload after freeing space is wrong");
  }

  /* A file whose two copies need more than the disk has free is refused before anything is
   * written, although each of the five nodes on that disk could take one copy: they share
   * its free space (it was counted once per node, and the upload filled the disk). */
  {
    struct statvfs fs;
    guint64 free_bytes, size;
    g_autoptr (GBytes) big = NULL;
    g_autofree char *path = g_build_filename (out_dir, "f-4244-0.bin", NULL);
    g_autoptr (GFile) file = g_file_new_for_path (path);
    g_autoptr (TsrManifest) m = NULL;

    if (statvfs (data_dir, &fs) != 0)
      g_error ("statvfs: %s", g_strerror (errno));
    free_bytes = (guint64)fs.f_bavail * fs.f_frsize;
    size = free_bytes * 3 / 4; /* two copies: 1.5 times what is free */
    big = fault_content (4244, 0);
    {
      g_autofree guint8 *data = g_malloc (size);
      for (guint64 i = 0; i < size; i++)
        data[i] = ((const guint8 *)g_bytes_get_data (big, NULL))[i % g_bytes_get_size (big)];
      g_assert_true (g_file_set_contents (path, (const char *)data, size, NULL));
    }
    m = tsr_cluster_upload (cluster, file, NULL, &error);
    if (m != NULL)
      g_error ("An upload needing more than the disk has free was stored");
    if (!g_error_matches (error, TSR_ERROR, TSR_ERROR_NO_SPACE) ||
        !g_str_has_prefix (error->message, "Not enough space to upload"))
      g_error ("An upload needing more than the disk has free was refused as: %s", error->message);
    g_print ("refused up front: %s\n", error->message);
    g_clear_error (&error);
  }

  /* A restart recounts the nodes and finds every committed file whole. */
  tsr_cluster_stop (cluster);
  g_clear_object (&cluster);
  cluster = tsr_cluster_open (data_dir, &error);
  if (cluster == NULL || !tsr_cluster_start (cluster, &error))
    g_error ("Cannot restart on a full disk: %s", error->message);
  if (check_all (cluster, out_dir) != committed)
    g_error ("Committed files went missing after the restart");
  g_print ("%u committed files whole after the restart\n", committed);
  tsr_cluster_stop (cluster);
  return 0;
}

/* Runs @argv; FALSE (with what it printed) when it cannot be run or fails. */
static gboolean
run_tool (const char *const *argv, char **why)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    {
      *why = g_strdup_printf ("%s: %s %s", argv[0], error->message, err ? err : "");
      return FALSE;
    }
  return TRUE;
}

static int
eio (const char *work_dir)
{
  g_autofree char *image = g_build_filename (work_dir, "disk.img", NULL);
  g_autofree char *filler = g_build_filename (work_dir, "filler", NULL);
  g_autofree char *six_mib = g_malloc0 (6 << 20);
  g_autofree char *mnt = g_build_filename (work_dir, "mnt", NULL);
  g_autofree char *root = g_build_filename (mnt, "Node_01", NULL);
  g_autofree char *why = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (4242);
  const char *mkfs[] = {
    "mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "lazy_itable_init=1,lazy_journal_init=1",
    image,       NULL
  };
  /* mount -o loop sets the loop device to go away with the mount (and with this process). */
  const char *mount_loop[] = { "mount", "-o", "loop", "-t", "ext4", image, mnt, NULL };
  int fd;

  if (getuid () != 0 || !mount_privately (work_dir, "tmpfs", "size=12m,mode=0700"))
    {
      g_printerr ("needs root and a mount namespace of its own\n");
      return 77;
    }
  /* mkfs.ext4 lives in sbin, which a root shell's PATH does not always have. */
  {
    g_autofree char *path = g_strdup_printf ("/usr/sbin:/sbin:%s", g_getenv ("PATH") ?: "/usr/bin");
    g_setenv ("PATH", path, TRUE);
  }
  if (!g_file_set_contents (filler, six_mib, 6 << 20, NULL))
    g_error ("Cannot write %s", filler);
  fd = g_open (image, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate (fd, 64 << 20) != 0 || close (fd) != 0 || g_mkdir (mnt, 0700) != 0)
    g_error ("Cannot make the disk image: %s", g_strerror (errno));
  if (!run_tool (mkfs, &why) || !run_tool (mount_loop, &why))
    {
      g_printerr ("no loop device or mkfs.ext4 here: %s\n", why);
      return 77;
    }

  store = tsr_segment_store_open (root, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
  if (store == NULL)
    g_error ("Cannot open a store on the loop device: %s", error->message);
  /* Twice what the tmpfs under the image holds: the page cache takes it all, writeback not. */
  for (guint i = 0; i < 512; i++)
    {
      g_autoptr (GBytes) seg = NULL;
      guint8 *buf = g_malloc (65536);

      for (guint j = 0; j < 65536 / 4; j++)
        ((guint32 *)buf)[j] = g_rand_int (rand);
      seg = g_bytes_new_take (buf, 65536);
      if (!tsr_segment_store_put_full (store, seg, NULL, i % 2 ? TSR_SEGMENT_PUT_COLD : 0, NULL,
                                       &error))
        break;
    }
  g_print ("puts: %s\n", error ? error->message : "all 512 accepted");
  g_clear_error (&error);

  for (int attempt = 1; attempt <= 3; attempt++)
    {
      if (tsr_segment_store_sync (store, &error))
        g_error ("Sync %d reported success over writes the disk refused", attempt);
      g_print ("sync %d: %s\n", attempt, error->message);
      g_clear_error (&error);
      /* Room again: from now on writeback works, but what the first one lost is gone. */
      if (attempt == 1 && g_unlink (filler) != 0)
        g_error ("Cannot delete %s", filler);
    }
  tsr_segment_store_close (store, NULL);
  g_clear_object (&store);
  umount2 (mnt, MNT_DETACH);
  return 0;
}

/* Puts segments of sizes on and off the 4 KiB blocks O_DIRECT reads in into a store at @root,
 * syncing after each, reads each back, verified and not, and checks that no temporary file is
 * left. Returns how many. */
static guint
round_trip_sizes (const char *root)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GRand) rand = g_rand_new_with_seed (77);
  g_autofree char *segments_dir = g_build_filename (root, "segments", NULL);
  const gsize sizes[] = { 65536 + 16, 4096, 4095, 4097, 1, 0 };

  store = tsr_segment_store_open (root, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
  if (store == NULL)
    g_error ("Cannot open a store in %s: %s", root, error->message);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      GBytes *seg = tsr_test_random_bytes (rand, sizes[i]);
      char *id = NULL;

      if (!tsr_segment_store_put (store, seg, NULL, &id, &error) ||
          !tsr_segment_store_sync (store, &error))
        g_error ("Cannot store a segment of %" G_GSIZE_FORMAT " bytes: %s", sizes[i],
                 error->message);
      g_ptr_array_add (ids, id);
      g_ptr_array_add (blobs, seg);
    }
  for (guint i = 0; i < ids->len; i++)
    for (int verify = 0; verify < 2; verify++)
      {
        g_autoptr (GBytes) back =
            verify ? tsr_segment_store_get (store, ids->pdata[i], &error)
                   : tsr_segment_store_get_unverified (store, ids->pdata[i], &error);

        if (back == NULL)
          g_error ("Cannot read segment %u back: %s", i, error->message);
        if (!g_bytes_equal (back, blobs->pdata[i]))
          g_error ("Segment %u came back different", i);
      }
  if (tsr_test_count_partial_segments (segments_dir) != 0)
    g_error ("Temporary files were left in %s", segments_dir);
  if (!tsr_segment_store_close (store, &error))
    g_error ("Cannot close the store: %s", error->message);
  return ids->len;
}

static int
nodirect (const char *work_dir)
{
  g_autofree char *root = g_build_filename (work_dir, "Node_01", NULL);
  g_autofree char *probe = g_build_filename (work_dir, "probe", NULL);
  int fd;

  if (!mount_privately (work_dir, "ramfs", "mode=0700"))
    {
      g_printerr ("the kernel refused a ramfs in a namespace of our own\n");
      return 77;
    }
  if (!g_file_set_contents (probe, "x", 1, NULL))
    g_error ("Cannot write %s", probe);
  fd = g_open (probe, O_RDONLY | O_DIRECT | O_CLOEXEC, 0);
  if (fd >= 0 || errno != EINVAL)
    {
      g_printerr ("ramfs accepted O_DIRECT here\n");
      return 77;
    }
  g_print ("read back %u segments without O_DIRECT\n", round_trip_sizes (root));
  return 0;
}

static int
noproc (const char *work_dir)
{
  g_autofree char *root = g_build_filename (work_dir, "Node_01", NULL);
  guint n;

  if (!mount_privately (work_dir, "tmpfs", "size=8m,mode=0700") ||
      mount ("tessera-faults", "/proc", "tmpfs", 0, "size=64k,mode=0700") != 0)
    {
      g_printerr ("the kernel refused a tmpfs in a namespace of our own\n");
      return 77;
    }
  if (g_file_test ("/proc/self/fd", G_FILE_TEST_EXISTS))
    g_error ("/proc is still there");
  n = round_trip_sizes (root);
  /* Back, for LeakSanitizer, which reads /proc at exit. */
  if (umount2 ("/proc", MNT_DETACH) != 0)
    g_error ("Cannot show /proc again: %s", g_strerror (errno));
  g_print ("stored and read back %u segments without /proc\n", n);
  return 0;
}

static int
fdbudget (const char *work_dir)
{
  g_autofree char *root = g_build_filename (work_dir, "Node_01", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GRand) rand = g_rand_new_with_seed (78);
  g_autofree char *why = NULL;
  struct rlimit rl = { 64, 128 };
  guint before, cached = 0;

  if (!tsr_test_page_cache_observable (work_dir, &why))
    {
      g_printerr ("%s\n", why);
      return 77;
    }
  if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
    g_error ("Cannot set the limit on open files: %s", g_strerror (errno));
  store = tsr_segment_store_open (root, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error);
  if (store == NULL)
    g_error ("Cannot open a store in %s: %s", root, error->message);
  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != 128)
    g_error ("The store did not raise the soft limit on open files to the hard one");
  before = tsr_test_count_open_files ();
  for (guint i = 0; i < 160; i++)
    {
      g_autoptr (GBytes) seg = tsr_test_random_bytes (rand, 4 * 4096 + 16);
      char *id = NULL;

      if (!tsr_segment_store_put_full (store, seg, NULL, TSR_SEGMENT_PUT_COLD, &id, &error))
        g_error ("Cold put %u failed: %s", i, error->message);
      g_ptr_array_add (ids, id);
    }
  if (!tsr_segment_store_sync (store, &error))
    g_error ("Cannot sync: %s", error->message);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *path = tsr_segment_store_segment_path (store, ids->pdata[i]);
      guint pages;

      cached += tsr_test_cached_pages (path, &pages);
    }
  if (cached != 0)
    g_error ("%u pages of cold puts are still cached after the sync", cached);
  if (tsr_test_count_open_files () != before)
    g_error ("%u files open after the sync, %u before the puts", tsr_test_count_open_files (),
             before);
  g_print ("%u cold puts past a budget of 32 descriptors left no page cached\n", ids->len);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 6 && strcmp (argv[1], "work") == 0)
    return work (argv[2], argv[3], argv[4], (guint)g_ascii_strtoull (argv[5], NULL, 10));
  if (argc == 4 && strcmp (argv[1], "fill") == 0)
    return fill (argv[2], argv[3]);
  if (argc == 3 && strcmp (argv[1], "eio") == 0)
    return eio (argv[2]);
  if (argc == 3 && strcmp (argv[1], "nodirect") == 0)
    return nodirect (argv[2]);
  if (argc == 3 && strcmp (argv[1], "noproc") == 0)
    return noproc (argv[2]);
  if (argc == 3 && strcmp (argv[1], "fdbudget") == 0)
    return fdbudget (argv[2]);
  g_printerr ("usage: fault-worker work DATA_DIR SRC_DIR JOURNAL SEED | fill WORK_DIR OUT_DIR | "
              "eio WORK_DIR | nodirect WORK_DIR | noproc WORK_DIR | fdbudget WORK_DIR\n");
  return 2;
}
