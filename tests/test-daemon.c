/* test-daemon.c: tesserad as a separate process, remote nodes in a cluster, and `remote add`
 * provisioning a node over a real SSH server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define PASSWORD "correct horse battery"

typedef struct
{
  char *dir;
  char *data_dir; /* the CLI's */
  GRand *rand;
} Fixture;

typedef struct
{
  char *name;
  char *dir;
  char *netns; /* NULL: the test's own network namespace */
  char *host;
  guint16 port;
  char *id;
  char *log;
  GSubprocess *proc;
} Daemon;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = tsr_test_make_tmpdir ();
  f->data_dir = g_build_filename (f->dir, "data", NULL);
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->data_dir);
  g_rand_free (f->rand);
}

/* Runs tessera-cli --data-dir DIR ARGS... */
static void cli (Fixture *f, TsrTestRun *r, const char *input, ...) G_GNUC_NULL_TERMINATED;

static void
cli (Fixture *f, TsrTestRun *r, const char *input, ...)
{
  va_list args;

  va_start (args, input);
  tsr_test_cli_valist (f->data_dir, f->dir, r, input, args);
  va_end (args);
}

static void
login (Fixture *f)
{
  g_auto (TsrTestRun) reg = { 0 };
  g_auto (TsrTestRun) in = { 0 };

  cli (f, &reg, PASSWORD "\n", "register", "tester", "--email", "tester@example.org",
       "--password-stdin", NULL);
  g_assert_cmpint (reg.status, ==, 0);
  cli (f, &in, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (in.status, ==, 0);
}

static char *
client_id (Fixture *f)
{
  g_auto (TsrTestRun) r = { 0 };

  cli (f, &r, NULL, "id", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_strstrip (r.out);
  g_assert_true (tsr_segment_id_is_valid (r.out));
  return g_strdup (r.out);
}

static int tesserad (const char *dir, char **out, char **err, ...) G_GNUC_NULL_TERMINATED;

/* Runs tesserad --data-dir DIR ARGS... to completion. */
static int
tesserad (const char *dir, char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (char *)g_getenv ("TESSERAD"));
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, (char *)dir);
  va_start (args, err);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return tsr_test_spawn ((const char *const *)argv->pdata, out, err);
}

static gboolean
port_open (const char *host, guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect_to_host (client, host, port, NULL, NULL);
  return conn != NULL;
}

static Daemon *
daemon_new (Fixture *f, const char *name, const char *netns, const char *host, guint16 port)
{
  Daemon *d = g_new0 (Daemon, 1);
  g_autofree char *out = NULL;

  d->name = g_strdup (name);
  d->dir = g_build_filename (f->dir, name, NULL);
  d->netns = g_strdup (netns);
  d->host = g_strdup (host);
  d->port = port ? port : tsr_test_free_port ();
  d->log = g_strconcat (d->dir, ".log", NULL);
  g_assert_cmpint (tesserad (d->dir, &out, NULL, "--print-id", NULL), ==, 0);
  d->id = g_strdup (g_strstrip (out));
  g_assert_true (tsr_segment_id_is_valid (d->id));
  return d;
}

/* A daemon must not outlive a test that aborts. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts it and waits until it accepts connections (or fails the test with its log). */
static void
daemon_start (Daemon *d)
{
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  if (d->netns != NULL)
    {
      g_ptr_array_add (argv, g_strdup (g_getenv ("IP")));
      g_ptr_array_add (argv, g_strdup ("netns"));
      g_ptr_array_add (argv, g_strdup ("exec"));
      g_ptr_array_add (argv, g_strdup (d->netns));
    }
  g_ptr_array_add (argv, g_strdup (g_getenv ("TESSERAD")));
  g_ptr_array_add (argv, g_strdup ("--data-dir"));
  g_ptr_array_add (argv, g_strdup (d->dir));
  g_ptr_array_add (argv, g_strdup ("--listen"));
  g_ptr_array_add (argv, g_strdup_printf ("%s:%u", d->netns ? "0.0.0.0" : d->host, d->port));
  g_ptr_array_add (argv, g_strdup ("--name"));
  g_ptr_array_add (argv, g_strdup (d->name));
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_stderr_file_path (launcher, d->log);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  d->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  while (!port_open (d->host, d->port))
    {
      if (g_subprocess_get_identifier (d->proc) == NULL)
        {
          g_autofree char *log = NULL;
          g_file_get_contents (d->log, &log, NULL, NULL);
          g_error ("tesserad %s did not start:\n%s", d->name, log);
        }
      g_usleep (20000);
    }
}

/* Sends @sig and returns the exit status (128 + signal when killed). */
static int
daemon_stop (Daemon *d, int sig)
{
  int status;

  if (d->proc == NULL)
    return 0;
  g_subprocess_send_signal (d->proc, sig);
  g_assert_true (g_subprocess_wait (d->proc, NULL, NULL));
  status = g_subprocess_get_if_exited (d->proc) ? g_subprocess_get_exit_status (d->proc)
                                                : 128 + g_subprocess_get_term_sig (d->proc);
  g_clear_object (&d->proc);
  return status;
}

static void
daemon_free (Daemon *d)
{
  daemon_stop (d, SIGTERM);
  g_free (d->name);
  g_free (d->dir);
  g_free (d->netns);
  g_free (d->host);
  g_free (d->id);
  g_free (d->log);
  g_free (d);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Daemon, daemon_free)

static char *
read_log (Daemon *d)
{
  char *log = NULL;
  g_file_get_contents (d->log, &log, NULL, NULL);
  return log ? log : g_strdup ("");
}

static void
test_identity_trust_sigterm (Fixture *f, gconstpointer data)
{
  g_autoptr (Daemon) d = daemon_new (f, "solo", NULL, "127.0.0.1", 0);
  g_autofree char *again = NULL;
  g_autofree char *err = NULL;
  g_autofree char *trusted = NULL;
  g_autofree char *log = NULL;
  g_autofree char *me = client_id (f);
  g_autofree char *trusted_path = g_build_filename (d->dir, "node", "trusted.json", NULL);

  /* The id is stable. */
  g_assert_cmpint (tesserad (d->dir, &again, NULL, "--print-id", NULL), ==, 0);
  g_assert_cmpstr (g_strstrip (again), ==, d->id);

  /* A malformed id is a usage error and changes nothing. */
  g_assert_cmpint (tesserad (d->dir, NULL, &err, "trust", "not-an-id", NULL), ==, 2);
  g_assert_false (g_file_test (trusted_path, G_FILE_TEST_EXISTS));

  /* Trusting a client while the daemon runs reaches the running daemon. */
  daemon_start (d);
  g_assert_cmpint (tesserad (d->dir, NULL, NULL, "trust", me, "laptop", NULL), ==, 0);
  g_assert_true (g_file_get_contents (trusted_path, &trusted, NULL, NULL));
  g_assert_nonnull (strstr (trusted, me));
  {
    /* The running node now serves that client. */
    g_autoptr (GError) error = NULL;
    g_autofree char *client_dir = g_build_filename (f->data_dir, "client", NULL);
    g_autoptr (TsrIdentity) identity = tsr_identity_load_or_create (client_dir, "c", &error);
    g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", d->port);
    g_autoptr (TsrNodeClient) client = tsr_node_client_new ("solo", address, d->id, identity);
    g_autoptr (TsrNodeHealth) h = NULL;

    g_assert_no_error (error);
    /* SIGHUP is asynchronous: the daemon logs once it has reloaded. */
    for (;;)
      {
        g_autofree char *l = read_log (d);
        if (strstr (l, "reloaded the trusted clients") != NULL)
          break;
        g_usleep (20000);
      }
    h = tsr_node_client_health_check_full (client, 5000, 0, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (h->is_alive);
  }

  /* One daemon per data dir: a second one is refused and the first keeps serving. */
  {
    g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", tsr_test_free_port ());
    g_autofree char *second_err = NULL;

    g_assert_cmpint (tesserad (d->dir, NULL, &second_err, "--listen", listen, NULL), ==, 1);
    g_assert_nonnull (strstr (second_err, "in use"));
    g_assert_true (port_open ("127.0.0.1", d->port));
  }

  /* SIGTERM stops it cleanly. */
  g_assert_cmpint (daemon_stop (d, SIGTERM), ==, 0);
  log = read_log (d);
  g_assert_nonnull (strstr (log, "solo stopped"));
  g_assert_false (port_open ("127.0.0.1", d->port));
}

/* A TLS client connection to the daemon with @identity; NULL with @error when refused. */
static GIOStream *
tls_connect (Daemon *d, TsrIdentity *identity, const char *pinned, GError **error)
{
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect_to_host (sc, d->host, d->port, NULL, error);
  g_autoptr (GIOStream) tls = NULL;

  if (conn == NULL)
    return NULL;
  tls = tsr_tls_client_new (G_IO_STREAM (conn), identity, pinned, error);
  if (tls == NULL || !tsr_tls_handshake (tls, NULL, error))
    return NULL;
  return g_steal_pointer (&tls);
}

static void
test_tls13_and_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr (Daemon) d = daemon_new (f, "tough", NULL, "127.0.0.1", 0);
  g_autoptr (GError) error = NULL;
  g_autofree char *client_dir = g_build_filename (f->dir, "client", NULL);
  g_autofree char *stranger_dir = g_build_filename (f->dir, "stranger", NULL);
  g_autoptr (TsrIdentity) me = tsr_identity_load_or_create (client_dir, "me", &error);
  g_autoptr (TsrIdentity) stranger = tsr_identity_load_or_create (stranger_dir, "x", NULL);
  g_autoptr (GIOStream) tls = NULL;
  g_autofree char *address = NULL;
  g_autoptr (TsrNodeClient) client = NULL;
  g_autoptr (TsrNodeHealth) h = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (tesserad (d->dir, NULL, NULL, "trust", tsr_identity_get_id (me), NULL), ==, 0);
  daemon_start (d);

  /* Random bytes, a TLS record header announcing a huge handshake and then garbage, and a
   * connection closed at once: each is dropped, and the daemon keeps serving. */
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr (GSocketClient) sc = g_socket_client_new ();
      g_autoptr (GSocketConnection) conn =
          g_socket_client_connect_to_host (sc, "127.0.0.1", d->port, NULL, &error);
      g_autoptr (GBytes) junk = tsr_test_random_bytes (f->rand, 65536);
      GOutputStream *out;

      g_assert_no_error (error);
      out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
      if (round == 1)
        {
          const guint8 header[] = { 0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0xff, 0xff, 0xfb };
          g_output_stream_write_all (out, header, sizeof header, NULL, NULL, NULL);
        }
      if (round < 2)
        /* The daemon may close on us mid-write: that is its right. */
        g_output_stream_write_all (out, g_bytes_get_data (junk, NULL), g_bytes_get_size (junk),
                                   NULL, NULL, NULL);
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
    }
  g_assert_nonnull (g_subprocess_get_identifier (d->proc));

  /* It speaks TLS 1.3 to a trusted client... */
  tls = tls_connect (d, me, d->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_tls_connection_get_protocol_version (G_TLS_CONNECTION (tls)), ==,
                   G_TLS_PROTOCOL_VERSION_TLS_1_3);
  g_io_stream_close (tls, NULL, NULL);

  /* ...and serves it. */
  address = g_strdup_printf ("127.0.0.1:%u", d->port);
  client = tsr_node_client_new ("tough", address, d->id, me);
  h = tsr_node_client_health_check_full (client, 5000, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (h->is_alive);

  /* A client it does not trust gets nothing. */
  {
    g_autoptr (TsrNodeClient) other = tsr_node_client_new ("tough", address, d->id, stranger);
    g_autoptr (TsrNodeHealth) none =
        tsr_node_client_health_check_full (other, 5000, 0, NULL, &error);
    g_assert_null (none);
    g_assert_nonnull (error);
    g_clear_error (&error);
  }
  g_assert_cmpint (daemon_stop (d, SIGTERM), ==, 0);
}

/* A node at a known address presenting another identity is refused, by the engine and in the
 * cluster's health check. */
static void
test_wrong_identity (Fixture *f, gconstpointer data)
{
  g_autoptr (Daemon) real = daemon_new (f, "real", NULL, "127.0.0.1", 0);
  g_autoptr (Daemon) impostor = daemon_new (f, "impostor", NULL, "127.0.0.1", 0);
  g_autoptr (GError) error = NULL;
  g_autofree char *me = client_id (f);
  g_autofree char *client_dir = g_build_filename (f->data_dir, "client", NULL);
  g_autoptr (TsrIdentity) identity = tsr_identity_load_or_create (client_dir, "c", &error);
  g_autofree char *address = NULL;
  g_autoptr (TsrNodeClient) client = NULL;
  g_autoptr (TsrNodeHealth) h = NULL;
  g_auto (TsrTestRun) init = { 0 };
  g_auto (TsrTestRun) add = { 0 };
  g_auto (TsrTestRun) health = { 0 };
  g_autoptr (JsonNode) json = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (tesserad (impostor->dir, NULL, NULL, "trust", me, NULL), ==, 0);
  daemon_start (impostor);

  /* The impostor trusts us and answers at the address we pinned "real"'s id for. */
  address = g_strdup_printf ("127.0.0.1:%u", impostor->port);
  client = tsr_node_client_new ("real", address, real->id, identity);
  h = tsr_node_client_health_check_full (client, 5000, 0, NULL, &error);
  g_assert_null (h);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IDENTITY);
  g_assert_nonnull (strstr (error->message, real->id));
  g_clear_error (&error);

  cli (f, &init, NULL, "init", "--nodes", "0", "--replicas", "1", NULL);
  g_assert_cmpint (init.status, ==, 0);
  cli (f, &add, NULL, "node", "add", address, "--id", real->id, "--name", "Real", NULL);
  g_assert_cmpint (add.status, ==, 0);
  cli (f, &health, NULL, "--json", "health", NULL);
  g_assert_cmpint (health.status, ==, 1);
  json = tsr_test_parse_json (health.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json)), ==, 1);
  g_assert_false (json_object_get_boolean_member (
      json_array_get_object_element (json_node_get_array (json), 0), "alive"));
}

/* A node added to a running cluster (the shell, the app) is used at once. */
static void
test_add_to_running_cluster (Fixture *f, gconstpointer data)
{
  g_autoptr (Daemon) d = daemon_new (f, "late", NULL, "127.0.0.1", 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrCluster) cluster = NULL;
  g_autoptr (TsrIdentity) me = NULL;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GPtrArray) status = NULL;
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 200 * 1024 + 3);
  g_autofree char *client_dir = g_build_filename (f->data_dir, "client", NULL);
  g_autofree char *src = g_build_filename (f->dir, "late.bin", NULL);
  g_autofree char *dst = g_build_filename (f->dir, "late-back.bin", NULL);
  g_autoptr (GFile) src_file = g_file_new_for_path (src);
  g_autoptr (GFile) dst_file = g_file_new_for_path (dst);
  g_autofree char *got = NULL;
  gsize len;

  g_assert_true (tsr_cluster_init_data_dir (f->data_dir, 0, TSR_SEGMENT_STORE_DEFAULT_CAPACITY,
                                            TSR_CHUNK_SIZE_DEFAULT, 1, &error));
  g_assert_no_error (error);
  cluster = tsr_cluster_open (f->data_dir, &error);
  g_assert_no_error (error);
  g_assert_true (tsr_cluster_start (cluster, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (src, g_bytes_get_data (content, NULL),
                                      g_bytes_get_size (content), NULL));

  /* No node yet: an upload is refused. */
  g_assert_null (tsr_cluster_upload (cluster, src_file, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_UNREACHABLE);
  g_clear_error (&error);

  me = tsr_identity_load_or_create (client_dir, "tessera-client", &error);
  g_assert_no_error (error);
  g_assert_cmpint (tesserad (d->dir, NULL, NULL, "trust", tsr_identity_get_id (me), NULL), ==, 0);
  daemon_start (d);
  g_assert_true (tsr_cluster_add_remote_node (cluster, "Late", "127.0.0.1", d->port, d->id,
                                              TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error));
  g_assert_no_error (error);
  g_assert_false (tsr_cluster_add_remote_node (cluster, "Late", "127.0.0.1", d->port, d->id,
                                               TSR_SEGMENT_STORE_DEFAULT_CAPACITY, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_EXISTS);
  g_clear_error (&error);

  status = tsr_cluster_dup_node_status (cluster);
  g_assert_cmpuint (status->len, ==, 1);
  g_assert_true (((TsrNodeStatus *)status->pdata[0])->alive);
  g_assert_false (((TsrNodeStatus *)status->pdata[0])->embedded);

  m = tsr_cluster_upload (cluster, src_file, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tsr_cluster_download (cluster, m->file_id, dst_file, FALSE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (dst, &got, &len, NULL));
  g_assert_cmpmem (got, len, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  tsr_cluster_stop (cluster);
}

/* Three namespaces joined to this one by veth pairs, each daemon on its own address. Returns
 * FALSE (with the reason) where the kernel or the container refuses. */
static gboolean
make_namespaces (const char *prefix, guint n, GPtrArray *hosts, char **why)
{
  const char *ip = g_getenv ("IP");

  if (ip == NULL || !g_file_test (ip, G_FILE_TEST_IS_EXECUTABLE))
    {
      *why = g_strdup ("the ip program (iproute2) is not installed");
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *ns = g_strdup_printf ("%sn%u", prefix, i);
      g_autofree char *veth = g_strdup_printf ("%sv%u", prefix, i);
      g_autofree char *outer = g_strdup_printf ("10.213.%u.1/24", 10 + i);
      g_autofree char *inner = g_strdup_printf ("10.213.%u.2/24", 10 + i);
      const char *const steps[][12] = {
        { ip, "netns", "add", ns, NULL },
        { ip, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns, NULL },
        { ip, "addr", "add", outer, "dev", veth, NULL },
        { ip, "link", "set", veth, "up", NULL },
        { ip, "-n", ns, "addr", "add", inner, "dev", "eth0", NULL },
        { ip, "-n", ns, "link", "set", "eth0", "up", NULL },
        { ip, "-n", ns, "link", "set", "lo", "up", NULL },
      };
      for (guint s = 0; s < G_N_ELEMENTS (steps); s++)
        {
          g_autofree char *err = NULL;
          if (tsr_test_spawn (steps[s], NULL, &err) != 0)
            {
              *why = g_strdup_printf ("“%s %s %s” was refused: %s", steps[s][1], steps[s][2],
                                      steps[s][3], g_strstrip (err));
              return FALSE;
            }
        }
      g_ptr_array_add (hosts, g_strdup_printf ("10.213.%u.2", 10 + i));
    }
  return TRUE;
}

static void
remove_namespaces (const char *prefix, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *ns = g_strdup_printf ("%sn%u", prefix, i);
      const char *argv[] = { g_getenv ("IP"), "netns", "del", ns, NULL };
      if (argv[0] != NULL)
        tsr_test_spawn (argv, NULL, NULL); /* the veth pair goes with it */
    }
}

/* Namespaces left by a run of this test that aborted (its process is gone). */
static void
remove_stale_namespaces (void)
{
  const char *argv[] = { g_getenv ("IP"), "netns", "list", NULL };
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;

  if (argv[0] == NULL || tsr_test_spawn (argv, &out, NULL) != 0)
    return;
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 pid;
      char *end = NULL;

      if (!g_str_has_prefix (lines[i], "tsrt"))
        continue;
      pid = g_ascii_strtoull (lines[i] + 4, &end, 10);
      if (end == NULL || *end != 'n' || pid == 0 || kill ((pid_t)pid, 0) == 0)
        continue;
      {
        g_autofree char *name = g_strndup (lines[i], strcspn (lines[i], " "));
        const char *del[] = { argv[0], "netns", "del", name, NULL };
        tsr_test_spawn (del, NULL, NULL);
      }
    }
}

/* Three tesserad processes as the whole cluster: a file survives one of them being killed. */
/* The file's health as `list --json` gives it. */
static const char *
file_health (Fixture *f, const char *file_id)
{
  g_auto (TsrTestRun) list = { 0 };
  g_autoptr (JsonNode) json = NULL;
  JsonArray *a;

  cli (f, &list, NULL, "--json", "list", NULL);
  g_assert_cmpint (list.status, ==, 0);
  json = tsr_test_parse_json (list.out);
  a = json_node_get_array (json);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_strcmp0 (json_object_get_string_member (o, "file_id"), file_id) == 0)
        return g_intern_string (json_object_get_string_member (o, "health"));
    }
  g_assert_not_reached ();
}

static void
test_multi_host (Fixture *f, gconstpointer data)
{
  g_autofree char *prefix = g_strdup_printf ("tsrt%u", (guint)getpid ());
  g_autoptr (GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) daemons = g_ptr_array_new_with_free_func ((GDestroyNotify)daemon_free);
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 2 * 1024 * 1024 + 4321);
  g_autofree char *src = g_build_filename (f->dir, "precious.bin", NULL);
  g_autofree char *dst = g_build_filename (f->dir, "back.bin", NULL);
  g_autofree char *why = NULL;
  g_autofree char *me = NULL;
  g_autofree char *file_id = NULL;
  g_autofree char *got = NULL;
  gboolean netns;
  gsize len;

  remove_stale_namespaces ();
  netns = make_namespaces (prefix, 3, hosts, &why);
  if (netns)
    g_test_message ("each tesserad in a network namespace of its own, joined by veth pairs");
  else
    {
      remove_namespaces (prefix, 3);
      g_ptr_array_set_size (hosts, 0);
      g_test_message ("no network namespaces (%s): three daemons on loopback ports instead", why);
      for (guint i = 0; i < 3; i++)
        g_ptr_array_add (hosts, g_strdup ("127.0.0.1"));
    }

  {
    g_auto (TsrTestRun) init = { 0 };
    cli (f, &init, NULL, "init", "--nodes", "0", "--replicas", "2", NULL);
    g_assert_cmpint (init.status, ==, 0);
  }
  login (f);
  me = client_id (f);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("Far_%u", i + 1);
      g_autofree char *ns = g_strdup_printf ("%sn%u", prefix, i);
      Daemon *d = daemon_new (f, name, netns ? ns : NULL, hosts->pdata[i], netns ? 7420 : 0);
      g_autofree char *address = g_strdup_printf ("%s:%u", d->host, d->port);
      g_auto (TsrTestRun) add = { 0 };

      g_ptr_array_add (daemons, d);
      g_assert_cmpint (tesserad (d->dir, NULL, NULL, "trust", me, NULL), ==, 0);
      daemon_start (d);
      cli (f, &add, NULL, "node", "add", address, "--id", d->id, "--name", name, NULL);
      g_assert_cmpint (add.status, ==, 0);
    }

  {
    g_auto (TsrTestRun) nodes = { 0 };
    g_autoptr (JsonNode) json = NULL;
    JsonArray *a;

    cli (f, &nodes, NULL, "--json", "nodes", NULL);
    g_assert_cmpint (nodes.status, ==, 0);
    json = tsr_test_parse_json (nodes.out);
    a = json_node_get_array (json);
    g_assert_cmpuint (json_array_get_length (a), ==, 3);
    for (guint i = 0; i < 3; i++)
      {
        JsonObject *o = json_array_get_object_element (a, i);
        g_assert_false (json_object_get_boolean_member (o, "embedded"));
        g_assert_cmpstr (json_object_get_string_member (o, "state"), !=, "STOPPED");
      }
  }

  g_assert_true (g_file_set_contents (src, g_bytes_get_data (content, NULL),
                                      g_bytes_get_size (content), NULL));
  {
    g_auto (TsrTestRun) up = { 0 };
    cli (f, &up, NULL, "upload", src, NULL);
    g_assert_cmpint (up.status, ==, 0);
    file_id = g_strndup (up.out, 16); /* "FILE_ID  PATH" */
    g_assert_true (tsr_file_id_is_valid (file_id));
  }
  /* Every daemon holds segments: placement spread the file over the remote nodes. */
  for (guint i = 0; i < 3; i++)
    {
      Daemon *d = daemons->pdata[i];
      g_autofree char *segments = g_build_filename (d->dir, "node", "segments", NULL);
      g_assert_cmpuint (tsr_test_sum_file_sizes (segments), >, 0);
    }

  /* One machine dies without warning. */
  g_assert_cmpint (daemon_stop (daemons->pdata[1], SIGKILL), ==, 128 + SIGKILL);
  {
    g_auto (TsrTestRun) down = { 0 };
    g_auto (TsrTestRun) health = { 0 };

    cli (f, &down, NULL, "download", file_id, "--output", dst, NULL);
    g_assert_cmpint (down.status, ==, 0);
    g_assert_true (g_file_get_contents (dst, &got, &len, NULL));
    g_assert_cmpmem (got, len, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
    cli (f, &health, NULL, "health", NULL);
    g_assert_cmpint (health.status, ==, 1);
    g_assert_nonnull (strstr (health.out, "2 of 3 nodes alive"));
  }

  /* Repair gives every chunk its second copy again on the two daemons left. */
  g_assert_cmpstr (file_health (f, file_id), ==, "degraded");
  {
    g_auto (TsrTestRun) repair = { 0 };
    cli (f, &repair, NULL, "repair", NULL);
    g_assert_cmpint (repair.status, ==, 0);
  }
  g_assert_cmpstr (file_health (f, file_id), ==, "healthy");

  /* It comes back with what it had; a second repair has nothing to do. */
  daemon_start (daemons->pdata[1]);
  {
    g_auto (TsrTestRun) health = { 0 };
    g_auto (TsrTestRun) down = { 0 };

    cli (f, &health, NULL, "health", NULL);
    g_assert_cmpint (health.status, ==, 0);
    cli (f, &down, NULL, "download", file_id, "--output", dst, "--force", NULL);
    g_assert_cmpint (down.status, ==, 0);
    g_free (got);
    g_assert_true (g_file_get_contents (dst, &got, &len, NULL));
    g_assert_cmpmem (got, len, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  }
  {
    g_auto (TsrTestRun) repair = { 0 };
    cli (f, &repair, NULL, "repair", NULL);
    g_assert_cmpint (repair.status, ==, 0);
  }
  g_assert_cmpstr (file_health (f, file_id), ==, "healthy");

  g_ptr_array_set_size (daemons, 0); /* SIGTERM before the namespaces go */
  if (netns)
    remove_namespaces (prefix, 3);
}

/* From a bare SSH account to a working node: `remote add` against a real sshd, with the
 * built tesserad uploaded to the "remote" (this machine). */
static void
test_remote_add (Fixture *f, gconstpointer data)
{
  g_autofree char *skip = NULL;
  g_autofree char *user_key = NULL;
  g_autofree char *remote_dir = g_build_filename (f->dir, "remote", NULL);
  g_autofree char *pid_path = g_build_filename (remote_dir, "tesserad.pid", NULL);
  g_autofree char *target = NULL;
  g_autofree char *fp = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *service = NULL;
  g_autofree char *installed = NULL;
  g_autoptr (TsrTestSshd) sshd = NULL;
  guint16 port = tsr_test_free_port ();

  sshd = tsr_test_sshd_start_for_key (f->dir, &user_key, &skip);
  if (sshd == NULL)
    {
      g_test_skip (skip);
      return;
    }
  fp = tsr_test_ssh_fingerprint (sshd->host_key);
  target = g_strdup_printf ("%s@127.0.0.1:%u", g_get_user_name (), sshd->port);
  listen = g_strdup_printf ("127.0.0.1:%u", port);

  {
    g_auto (TsrTestRun) init = { 0 };
    cli (f, &init, NULL, "init", "--nodes", "0", "--replicas", "1", NULL);
    g_assert_cmpint (init.status, ==, 0);
  }
  login (f);

  /* Unknown host: refused, its fingerprint shown, nothing started. */
  {
    g_auto (TsrTestRun) r = { 0 };
    cli (f, &r, NULL, "remote", "add", target, "--key", user_key, "--tesserad",
         g_getenv ("TESSERAD"), "--remote-dir", remote_dir, "--listen", listen, "--name", "Far",
         NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, fp));
    g_assert_false (g_file_test (remote_dir, G_FILE_TEST_EXISTS));
  }
  /* Accepted, but the host has no tesserad and none was given to upload. */
  installed = g_find_program_in_path ("tesserad");
  if (installed == NULL)
    {
      g_auto (TsrTestRun) r = { 0 };
      cli (f, &r, NULL, "remote", "add", target, "--key", user_key, "--trust-host-key", fp,
           "--remote-dir", remote_dir, "--listen", listen, "--name", "Far", NULL);
      g_assert_cmpint (r.status, ==, 1);
      g_assert_nonnull (strstr (r.err, "tesserad is not installed"));
    }
  /* Accepted with the fingerprint checked out of band: provisioned end to end. */
  {
    g_auto (TsrTestRun) r = { 0 };
    cli (f, &r, NULL, "remote", "add", target, "--key", user_key, "--trust-host-key", fp,
         "--tesserad", g_getenv ("TESSERAD"), "--remote-dir", remote_dir, "--listen", listen,
         "--name", "Far", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "Added Far"));
  }
  {
    g_auto (TsrTestRun) r = { 0 };
    g_autoptr (JsonNode) json = NULL;
    JsonObject *o;

    cli (f, &r, NULL, "--json", "remote", "list", NULL);
    g_assert_cmpint (r.status, ==, 0);
    json = tsr_test_parse_json (r.out);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (json)), ==, 1);
    o = json_array_get_object_element (json_node_get_array (json), 0);
    g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "Far");
    g_assert_true (tsr_segment_id_is_valid (json_object_get_string_member (o, "node_id")));
    service = g_strdup (json_object_get_string_member (o, "service"));
  }
  {
    /* The node is in the cluster, remote, alive, and stores files. */
    g_auto (TsrTestRun) nodes = { 0 };
    g_auto (TsrTestRun) up = { 0 };
    g_auto (TsrTestRun) down = { 0 };
    g_autoptr (JsonNode) json = NULL;
    g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 300 * 1024 + 5);
    g_autofree char *src = g_build_filename (f->dir, "far.bin", NULL);
    g_autofree char *dst = g_build_filename (f->dir, "far-back.bin", NULL);
    g_autofree char *got = NULL;
    g_autofree char *expected_address = g_strdup_printf ("127.0.0.1:%u", port);
    JsonObject *o;
    gsize len;

    cli (f, &nodes, NULL, "--json", "nodes", NULL);
    g_assert_cmpint (nodes.status, ==, 0);
    json = tsr_test_parse_json (nodes.out);
    o = json_array_get_object_element (json_node_get_array (json), 0);
    g_assert_cmpstr (json_object_get_string_member (o, "node_id"), ==, "Far");
    g_assert_cmpstr (json_object_get_string_member (o, "address"), ==, expected_address);
    g_assert_false (json_object_get_boolean_member (o, "embedded"));
    g_assert_cmpstr (json_object_get_string_member (o, "state"), !=, "STOPPED");

    g_assert_true (g_file_set_contents (src, g_bytes_get_data (content, NULL),
                                        g_bytes_get_size (content), NULL));
    cli (f, &up, NULL, "upload", src, NULL);
    g_assert_cmpint (up.status, ==, 0);
    up.out[MIN (strlen (up.out), 16)] = '\0'; /* "FILE_ID  PATH" */
    cli (f, &down, NULL, "download", up.out, "--output", dst, NULL);
    g_assert_cmpint (down.status, ==, 0);
    g_assert_true (g_file_get_contents (dst, &got, &len, NULL));
    g_assert_cmpmem (got, len, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  }
  {
    g_auto (TsrTestRun) one = { 0 };
    g_auto (TsrTestRun) all = { 0 };
    g_auto (TsrTestRun) logs = { 0 };
    g_auto (TsrTestRun) status = { 0 };
    g_autoptr (JsonNode) json = NULL;
    JsonObject *o;

    cli (f, &one, NULL, "remote", "exec", "Far", "echo out; echo err >&2; exit 3", NULL);
    g_assert_cmpint (one.status, ==, 1);
    g_assert_cmpstr (one.out, ==, "out\n");
    g_assert_cmpstr (one.err, ==, "err\n");
    cli (f, &all, NULL, "remote", "exec", "--all", "echo", "hi", NULL);
    g_assert_cmpint (all.status, ==, 0);
    g_assert_cmpstr (all.out, ==, "Far: hi\n");
    cli (f, &logs, NULL, "remote", "logs", "Far", NULL);
    g_assert_cmpint (logs.status, ==, 0);
    g_assert_nonnull (strstr (logs.out, "Far serving on"));
    cli (f, &status, NULL, "--json", "remote", "status", NULL);
    g_assert_cmpint (status.status, ==, 0);
    json = tsr_test_parse_json (status.out);
    o = json_array_get_object_element (json_node_get_array (json), 0);
    g_assert_true (json_object_get_boolean_member (o, "ssh"));
    g_assert_cmpstr (json_object_get_string_member (o, "tesserad"), ==, "active");
    g_assert_cmpstr (json_object_get_string_member (o, "node"), ==, "alive");
  }

  {
    /* A host recorded for commands only; exec --all reaches both, in the order added. */
    g_auto (TsrTestRun) bare = { 0 };
    g_auto (TsrTestRun) all = { 0 };
    g_auto (TsrTestRun) unknown = { 0 };

    cli (f, &bare, NULL, "remote", "add", target, "--key", user_key, "--no-provision", "--name",
         "Bare", NULL);
    g_assert_cmpint (bare.status, ==, 0);
    cli (f, &all, NULL, "remote", "exec", "--all", "echo", "hi", NULL);
    g_assert_cmpint (all.status, ==, 0);
    g_assert_cmpstr (all.out, ==, "Far: hi\nBare: hi\n");
    cli (f, &unknown, NULL, "remote", "exec", "Nowhere", "true", NULL);
    g_assert_cmpint (unknown.status, ==, 1);
    g_assert_nonnull (strstr (unknown.err, "no remote named Nowhere"));
  }

  /* Stop the daemon the test provisioned. */
  if (g_strcmp0 (service, "systemd") == 0)
    {
      g_auto (TsrTestRun) r = { 0 };
      cli (f, &r, NULL, "remote", "exec", "Far",
           "systemctl --user disable --now tesserad-Far.service", NULL);
    }
  else
    {
      g_autofree char *pid = NULL;
      g_assert_true (g_file_get_contents (pid_path, &pid, NULL, NULL));
      g_assert_cmpint (kill ((pid_t)g_ascii_strtoll (pid, NULL, 10), SIGTERM), ==, 0);
    }
  while (port_open ("127.0.0.1", port))
    g_usleep (20000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/daemon/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("identity-trust-sigterm", test_identity_trust_sigterm);
  ADD ("tls13-and-garbage", test_tls13_and_garbage);
  ADD ("wrong-identity", test_wrong_identity);
  ADD ("add-to-running-cluster", test_add_to_running_cluster);
  ADD ("multi-host", test_multi_host);
  ADD ("remote-add", test_remote_add);
#undef ADD

  return g_test_run ();
}
