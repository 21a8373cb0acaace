/* tsr-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tsr-test-util.h"
#include "tessera.h"

#include <errno.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

/* A file of @len zero bytes under @dir, written and synced, open read-write on the returned
 * descriptor; *@path gets its name, for the caller to unlink. The probes below try a file
 * system with it. */
static int
open_synced_probe (const char *dir, const char *name, gsize len, char **path)
{
  g_autofree char *data = g_malloc0 (len);
  int fd;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  *path = g_build_filename (dir, name, NULL);
  fd = open (*path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, len), ==, (gssize)len);
  g_assert_cmpint (fsync (fd), ==, 0);
  return fd;
}

/* Whether tsr_test_cached_pages() tells what the tests need for files under @dir: that a file
 * just written is in the page cache and leaves it when synced and dropped. Not so on tmpfs
 * (the page cache is the storage), nor on file systems with a cache of their own (ZFS, FUSE
 * with direct_io). Tried with a file of its own. */
gboolean
tsr_test_page_cache_observable (const char *dir, char **why)
{
  g_autofree char *probe = NULL;
  int fd = open_synced_probe (dir, ".page-cache-probe", 4 * sysconf (_SC_PAGESIZE), &probe);
  guint pages, before, after = 0;

  before = tsr_test_cached_pages (probe, &pages);
  if (before == pages)
    {
      posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
      after = tsr_test_cached_pages (probe, &pages);
    }
  close (fd);
  g_unlink (probe);
  if (before != pages || after != 0)
    {
      *why = g_strdup_printf ("the page cache of files in %s cannot be watched (%u of %u pages "
                              "cached when written, %u after dropping)",
                              dir, before, pages, after);
      return FALSE;
    }
  return TRUE;
}

/* How many pages of the page cache @len bytes of a file take. */
guint
tsr_test_pages_for (gsize len)
{
  long page = sysconf (_SC_PAGESIZE);

  return (guint)((len + page - 1) / page);
}

/* How many of @path's pages are in the page cache, as mincore() sees them; @out_pages gets how
 * many pages the file has. */
guint
tsr_test_cached_pages (const char *path, guint *out_pages)
{
  g_autofree unsigned char *vec = NULL;
  struct stat st;
  guint n, cached = 0;
  void *map;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  n = tsr_test_pages_for (st.st_size);
  *out_pages = n;
  if (n > 0)
    {
      /* Mapping a file does not read it: only the pages already cached show as resident. */
      map = mmap (NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
      g_assert_true (map != MAP_FAILED);
      vec = g_malloc (n);
      g_assert_cmpint (mincore (map, st.st_size, vec), ==, 0);
      for (guint i = 0; i < n; i++)
        cached += vec[i] & 1;
      munmap (map, st.st_size);
    }
  close (fd);
  return cached;
}

/* How many bytes the calling thread (or its whole process) has had read from a disk, not from
 * the page cache: read_bytes in /proc/thread-self/io. G_MAXUINT64 where the kernel keeps no
 * such count. */
guint64
tsr_test_disk_read_bytes (gboolean whole_process)
{
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents (whole_process ? "/proc/self/io" : "/proc/thread-self/io", &text, NULL,
                            NULL))
    return G_MAXUINT64;
  line = strstr (text, "\nread_bytes: ");
  if (line == NULL)
    return G_MAXUINT64;
  return g_ascii_strtoull (line + strlen ("\nread_bytes: "), NULL, 10);
}

/* Whether tsr_test_disk_read_bytes() sees this thread read a file under @dir from the disk: not
 * where the kernel keeps no count, nor on file systems whose reads do not go through the block
 * layer (NFS, FUSE, virtiofs, 9p: the count stays 0). Tried with a file of its own, dropped
 * from the page cache and read back. */
gboolean
tsr_test_disk_reads_observable (const char *dir, char **why)
{
  g_autofree char *probe = NULL;
  int fd = open_synced_probe (dir, ".disk-read-probe", 65536, &probe);
  char byte;
  guint64 before, after;

  posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
  before = tsr_test_disk_read_bytes (FALSE);
  g_assert_cmpint (pread (fd, &byte, 1, 0), ==, 1);
  after = tsr_test_disk_read_bytes (FALSE);
  close (fd);
  g_unlink (probe);
  if (before == G_MAXUINT64 || after == before)
    {
      *why = g_strdup_printf ("the kernel counts no disk reads for files in %s", dir);
      return FALSE;
    }
  return TRUE;
}

/* Files whose names start with a dot in the segment directories: puts in progress. */
guint
tsr_test_count_partial_segments (const char *segments_dir)
{
  g_autoptr (GDir) d = g_dir_open (segments_dir, 0, NULL);
  const char *fan;
  guint n = 0;

  while (d != NULL && (fan = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *sub = g_build_filename (segments_dir, fan, NULL);
      g_autoptr (GDir) sd = g_dir_open (sub, 0, NULL);
      const char *name;
      while (sd != NULL && (name = g_dir_read_name (sd)) != NULL)
        n += name[0] == '.';
    }
  return n;
}

/* How many descriptors this process has open (each entry of /proc/self/fd, the one reading it
 * included). */
guint
tsr_test_count_open_files (void)
{
  g_autoptr (GDir) d = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

gboolean
tsr_test_dir_is_empty (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);

  return d == NULL || g_dir_read_name (d) == NULL;
}

/* A TCP port nobody listens on right now (the kernel's pick for an ephemeral bind). */
guint16
tsr_test_free_port (void)
{
  g_autoptr (GSocket) sock =
      g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_nonnull (sock);
  g_assert_true (g_socket_bind (sock, addr, FALSE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Whether something accepts TCP connections on 127.0.0.1:@port now. */
gboolean
tsr_test_port_is_open (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return conn != NULL;
}

/* Runs @argv, asserting it could start; returns its exit status and, if wanted, its output. */
int
tsr_test_spawn (const char *const *argv, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_newv (
      argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_autofree char *o = NULL;
  g_autofree char *e = NULL;

  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &o, &e, &error));
  g_assert_no_error (error);
  if (out != NULL)
    *out = g_steal_pointer (&o);
  if (err != NULL)
    *err = g_steal_pointer (&e);
  if (!g_subprocess_get_if_exited (proc))
    return 128 + g_subprocess_get_term_sig (proc);
  return g_subprocess_get_exit_status (proc);
}

/* An Ed25519 key pair made by OpenSSH's own ssh-keygen (not by the code under test). */
gboolean
tsr_test_ssh_keygen (const char *path, char **skip_reason)
{
  const char *keygen = g_getenv ("SSH_KEYGEN");
  g_autofree char *err = NULL;
  const char *argv[] = { keygen, "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", path, NULL };

  if (keygen == NULL || !g_file_test (keygen, G_FILE_TEST_IS_EXECUTABLE))
    {
      *skip_reason = g_strdup ("ssh-keygen (openssh-client) is not installed");
      return FALSE;
    }
  if (tsr_test_spawn (argv, NULL, &err) != 0)
    {
      *skip_reason = g_strdup_printf ("ssh-keygen failed: %s", err);
      return FALSE;
    }
  return TRUE;
}

/* What OpenSSH says the fingerprint of the key at @key_path is ("SHA256:…"). */
char *
tsr_test_ssh_fingerprint (const char *key_path)
{
  g_autofree char *pub = g_strconcat (key_path, ".pub", NULL);
  const char *argv[] = { g_getenv ("SSH_KEYGEN"), "-l", "-E", "sha256", "-f", pub, NULL };
  g_autofree char *out = NULL;
  g_auto (GStrv) fields = NULL;

  g_assert_cmpint (tsr_test_spawn (argv, &out, NULL), ==, 0);
  fields = g_strsplit (out, " ", -1);
  g_assert_nonnull (fields[1]);
  return g_strdup (fields[1]);
}

void
tsr_test_sshd_free (TsrTestSshd *sshd)
{
  if (sshd == NULL)
    return;
  if (sshd->proc != NULL)
    {
      g_subprocess_send_signal (sshd->proc, SIGTERM);
      g_subprocess_wait (sshd->proc, NULL, NULL);
      g_object_unref (sshd->proc);
    }
  g_free (sshd->dir);
  g_free (sshd->host_key);
  g_free (sshd->authorized_keys);
  g_free (sshd);
}

/* A server must not outlive a test that aborts. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/**
 * tsr_test_sshd_start:
 * @dir: a directory of its own for the config, keys and log
 * @host_key: (nullable): the host key to use; NULL makes one in @dir
 * @authorized_keys: the authorized_keys file (public keys that may log in as this user)
 *
 * Starts OpenSSH's sshd -D on 127.0.0.1 at a free port, for the current user. Returns NULL
 * with @skip_reason when this machine cannot run it (not installed, no privilege separation
 * directory when root).
 */
TsrTestSshd *
tsr_test_sshd_start (const char *dir, const char *host_key, const char *authorized_keys,
                     char **skip_reason)
{
  const char *sshd_path = g_getenv ("SSHD");
  g_autoptr (GError) error = NULL;

  if (sshd_path == NULL || !g_file_test (sshd_path, G_FILE_TEST_IS_EXECUTABLE))
    {
      *skip_reason = g_strdup ("sshd (openssh-server) is not installed");
      return NULL;
    }
  /* As root, sshd insists on its privilege separation directory, which a system that never
   * started the ssh service has not made. */
  if (geteuid () == 0 && !g_file_test ("/run/sshd", G_FILE_TEST_IS_DIR) &&
      g_mkdir ("/run/sshd", 0755) != 0)
    {
      *skip_reason =
          g_strdup_printf ("sshd needs /run/sshd and it cannot be made: %s", g_strerror (errno));
      return NULL;
    }
  g_mkdir_with_parents (dir, 0700);
  for (int attempt = 0; attempt < 5; attempt++)
    {
      TsrTestSshd *sshd = g_new0 (TsrTestSshd, 1);
      g_autofree char *config_path = g_build_filename (dir, "sshd_config", NULL);
      g_autofree char *log_path = g_build_filename (dir, "sshd.log", NULL);
      g_autofree char *pid_path = g_build_filename (dir, "sshd.pid", NULL);
      g_autoptr (GString) config = g_string_new (NULL);
      g_autoptr (GSubprocessLauncher) launcher =
          g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);

      sshd->dir = g_strdup (dir);
      sshd->authorized_keys = g_strdup (authorized_keys);
      if (host_key != NULL)
        sshd->host_key = g_strdup (host_key);
      else
        {
          sshd->host_key = g_build_filename (dir, "ssh_host_ed25519_key", NULL);
          if (!g_file_test (sshd->host_key, G_FILE_TEST_EXISTS) &&
              !tsr_test_ssh_keygen (sshd->host_key, skip_reason))
            {
              tsr_test_sshd_free (sshd);
              return NULL;
            }
        }
      sshd->port = tsr_test_free_port ();
      /* StrictModes would refuse keys under a temporary directory's permissions; root may log
       * in with keys only, as the container's tests run as root; no PAM, no passwords. */
      g_string_append_printf (config,
                              "Port %u\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\n"
                              "AuthorizedKeysFile %s\nStrictModes no\n"
                              "PermitRootLogin prohibit-password\nUsePAM no\n"
                              "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                              "PubkeyAuthentication yes\nSubsystem sftp internal-sftp\n"
                              "MaxStartups 50\nLogLevel ERROR\n",
                              sshd->port, sshd->host_key, pid_path, authorized_keys);
      /* Sanitizer builds: programs started over SSH (tesserad) get the test's sanitizer
       * settings, leak suppressions included, as if started by the test itself. */
      if (g_getenv ("ASAN_OPTIONS") != NULL || g_getenv ("LSAN_OPTIONS") != NULL ||
          g_getenv ("UBSAN_OPTIONS") != NULL)
        {
          g_string_append (config, "SetEnv");
          for (guint i = 0; i < 3; i++)
            {
              const char *names[] = { "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS" };
              const char *v = g_getenv (names[i]);
              if (v != NULL)
                g_string_append_printf (config, " %s=%s", names[i], v);
            }
          g_string_append (config, "\n");
        }
      g_assert_true (g_file_set_contents (config_path, config->str, -1, NULL));
      g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
      g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
      sshd->proc = g_subprocess_launcher_spawn (launcher, &error, sshd_path, "-D", "-e", "-f",
                                                config_path, NULL);
      g_assert_no_error (error);
      /* Ready when it accepts connections; gone when it could not start (port taken by a
       * racing test: try another; anything else: skip with its log). */
      while (!tsr_test_port_is_open (sshd->port))
        {
          if (g_subprocess_get_identifier (sshd->proc) == NULL)
            break;
          g_usleep (20000);
        }
      if (g_subprocess_get_identifier (sshd->proc) != NULL)
        return sshd;
      {
        g_autofree char *log = NULL;
        g_file_get_contents (log_path, &log, NULL, NULL);
        if (log == NULL || strstr (log, "Address already in use") == NULL)
          {
            *skip_reason = g_strdup_printf ("sshd did not start: %s", log ? log : "no log");
            tsr_test_sshd_free (sshd);
            return NULL;
          }
      }
      tsr_test_sshd_free (sshd);
    }
  *skip_reason = g_strdup ("sshd found no free port in five attempts");
  return NULL;
}

void
tsr_test_run_clear (TsrTestRun *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* Runs $TESSERA_CLI --data-dir @data_dir ARGS... in @cwd with @input on its standard input. */
void
tsr_test_cli_valist (const char *data_dir, const char *cwd, TsrTestRun *r, const char *input,
                     va_list args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *arg;

  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *)arg);
  g_ptr_array_add (argv, NULL);
  tsr_test_cli_argv (data_dir, cwd, r, input, (const char *const *)argv->pdata);
}

/* Like tsr_test_cli_valist(), with the arguments in a %NULL-terminated array. */
void
tsr_test_cli_argv (const char *data_dir, const char *cwd, TsrTestRun *r, const char *input,
                   const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                 G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr (GSubprocess) proc = NULL;

  g_ptr_array_add (argv, (char *)g_getenv ("TESSERA_CLI"));
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, (char *)data_dir);
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (char *)*args);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_cwd (launcher, cwd);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, input, NULL, &r->out, &r->err, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (proc))
    g_error ("tessera-cli %s died of signal %d:\n%s", (char *)argv->pdata[3],
             g_subprocess_get_term_sig (proc), r->err);
  r->status = g_subprocess_get_exit_status (proc);
  if (g_test_verbose ())
    g_printerr ("$ tessera-cli %s -> %d\n%s%s", (char *)argv->pdata[3], r->status, r->out, r->err);
}

JsonNode *
tsr_test_parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/**
 * tsr_test_sshd_start_for_key:
 * @dir: made: the user's key DIR/id_user (ssh-keygen), DIR/authorized_keys, the server's
 *   files in DIR/sshd
 * @user_key: (out): the private key sshd accepts
 *
 * An sshd that accepts one freshly made user key; NULL with @skip_reason where it cannot run.
 */
TsrTestSshd *
tsr_test_sshd_start_for_key (const char *dir, char **user_key, char **skip_reason)
{
  g_autofree char *key = g_build_filename (dir, "id_user", NULL);
  g_autofree char *pub = g_strconcat (key, ".pub", NULL);
  g_autofree char *authorized = g_build_filename (dir, "authorized_keys", NULL);
  g_autofree char *sshd_dir = g_build_filename (dir, "sshd", NULL);
  g_autofree char *line = NULL;
  TsrTestSshd *sshd;

  if (!tsr_test_ssh_keygen (key, skip_reason))
    return NULL;
  g_assert_true (g_file_get_contents (pub, &line, NULL, NULL));
  g_assert_true (g_file_set_contents (authorized, line, -1, NULL));
  sshd = tsr_test_sshd_start (sshd_dir, NULL, authorized, skip_reason);
  if (sshd != NULL)
    *user_key = g_steal_pointer (&key);
  return sshd;
}

/* A GAsyncReadyCallback that keeps the result in the GAsyncResult * @result_ptr points to: the
 * test iterates the main context until it is set. */
void
tsr_test_keep_result (GObject *source, GAsyncResult *result, gpointer result_ptr)
{
  *(GAsyncResult **)result_ptr = g_object_ref (result);
}

/* Opens and starts the cluster in @data_dir; the test fails if it cannot. */
TsrCluster *
tsr_test_open_cluster (const char *data_dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrCluster) cluster = tsr_cluster_open (data_dir, &error);

  g_assert_no_error (error);
  g_assert_true (tsr_cluster_start (cluster, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&cluster);
}

/* Stops the cluster and checks that nothing else holds it. */
void
tsr_test_close_cluster (TsrCluster *cluster)
{
  tsr_cluster_stop (cluster);
  g_assert_finalize_object (cluster);
}

/* Downloads @file_id into @dir and checks it byte for byte. */
void
tsr_test_download_and_compare (TsrCluster *cluster, const char *dir, const char *file_id,
                               GBytes *expected)
{
  tsr_test_download_and_compare_counting (cluster, dir, file_id, expected, NULL);
}

/* The same, and @disk_read gets how many bytes the process read from a disk during the
 * download itself (see tsr_test_disk_read_bytes()). */
void
tsr_test_download_and_compare_counting (TsrCluster *cluster, const char *dir, const char *file_id,
                                        GBytes *expected, guint64 *disk_read)
{
  g_autofree char *out = g_build_filename (dir, "downloaded.bin", NULL);
  g_autoptr (GFile) dest = g_file_new_for_path (out);
  g_autoptr (GError) error = NULL;
  guint64 before = tsr_test_disk_read_bytes (TRUE);

  g_assert_true (tsr_cluster_download (cluster, file_id, dest, TRUE, NULL, &error));
  g_assert_no_error (error);
  if (disk_read != NULL)
    *disk_read = tsr_test_disk_read_bytes (TRUE) - before;
  tsr_test_assert_file_equals (out, expected);
}

/* The file at @path holds @expected, byte for byte. */
void
tsr_test_assert_file_equals (const char *path, GBytes *expected)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

/* The fuzz corpus tests/fuzz/corpus/@corpus doubles as a table of verdicts: every valid-* file
 * must parse and every bad-* one must be refused as CORRUPT. */
void
tsr_test_check_corpus_verdicts (const char *corpus, TsrTestParseFunc parse, guint min_valid,
                                guint min_bad)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", corpus, NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint valid = 0, bad = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *data = NULL;
      g_autoptr (GError) error = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      if (parse (data, len, &error))
        {
          g_assert_no_error (error);
          g_test_message ("%s: accepted", name);
          g_assert_true (g_str_has_prefix (name, "valid-"));
          valid++;
        }
      else
        {
          g_test_message ("%s: %s", name, error->message);
          g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
          g_assert_true (g_str_has_prefix (name, "bad-"));
          bad++;
        }
    }
  g_assert_cmpuint (valid, >=, min_valid);
  g_assert_cmpuint (bad, >=, min_bad);
}
