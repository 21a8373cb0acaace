/* test-ssh.c: keys, host key checks, exec, SFTP and broadcast against a real OpenSSH sshd
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;
  char *user_key_path; /* made by ssh-keygen: an independent implementation */
  char *known_hosts;
  TsrSshKey *user_key;
  TsrTestSshd *sshd;
  GRand *rand;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *skip = NULL;
  g_autofree char *pub = NULL;
  g_autofree char *authorized = NULL;
  g_autofree char *sshd_dir = NULL;

  f->dir = tsr_test_make_tmpdir ();
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
  f->known_hosts = g_build_filename (f->dir, "known_hosts", NULL);
  f->user_key_path = g_build_filename (f->dir, "id_user", NULL);
  if (!tsr_test_ssh_keygen (f->user_key_path, &skip))
    {
      g_test_skip (skip);
      return;
    }
  pub = g_strconcat (f->user_key_path, ".pub", NULL);
  authorized = g_build_filename (f->dir, "authorized_keys", NULL);
  {
    g_autofree char *line = NULL;
    g_assert_true (g_file_get_contents (pub, &line, NULL, NULL));
    g_assert_true (g_file_set_contents (authorized, line, -1, NULL));
  }
  f->user_key = tsr_ssh_key_load (f->user_key_path, NULL, &error);
  g_assert_no_error (error);
  sshd_dir = g_build_filename (f->dir, "sshd", NULL);
  f->sshd = tsr_test_sshd_start (sshd_dir, NULL, authorized, &skip);
  if (f->sshd == NULL)
    g_test_skip (skip);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  tsr_test_sshd_free (f->sshd);
  g_clear_object (&f->user_key);
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->user_key_path);
  g_free (f->known_hosts);
  g_rand_free (f->rand);
}

static TsrSshSession *
new_session (Fixture *f, TsrTestSshd *sshd)
{
  return tsr_ssh_session_new (g_get_user_name (), "127.0.0.1", sshd->port, f->user_key,
                              f->known_hosts);
}

/* Connects, accepting the host key as a user would after checking it. */
static TsrSshSession *
connected_session (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fp = tsr_test_ssh_fingerprint (f->sshd->host_key);
  TsrSshSession *s = new_session (f, f->sshd);

  tsr_ssh_session_set_accepted_host_key (s, fp);
  g_assert_true (tsr_ssh_session_connect (s, NULL, &error));
  g_assert_no_error (error);
  return s;
}

static void
test_key_generate (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshKey) key = tsr_ssh_key_generate (&error);
  g_autoptr (TsrSshKey) loaded = NULL;
  g_autofree char *path = g_build_filename (f->dir, "keys", "id_ed25519", NULL);
  g_autofree char *pub_path = g_strconcat (path, ".pub", NULL);
  g_autofree char *plain = g_build_filename (f->dir, "keys", "id_plain", NULL);
  g_autofree char *fp = NULL;
  g_autofree char *fp2 = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *pub_line = NULL;
  const char *passphrase = "tile by tile";
  GStatBuf st;

  if (f->user_key == NULL)
    return;
  g_assert_no_error (error);
  g_assert_true (tsr_ssh_key_save (key, path, passphrase, "me@test", &error));
  g_assert_no_error (error);

  /* Private key 0600 whatever the umask, public key readable. */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (pub_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "BEGIN OPENSSH PRIVATE KEY"));
  g_assert_null (strstr (contents, passphrase));
  g_assert_true (tsr_ssh_key_is_encrypted_file (path));

  /* OpenSSH agrees with the public half and its fingerprint. */
  g_assert_true (g_file_get_contents (pub_path, &pub_line, NULL, NULL));
  g_assert_true (g_str_has_prefix (pub_line, "ssh-ed25519 AAAA"));
  g_assert_true (g_str_has_suffix (pub_line, " me@test\n"));
  fp = tsr_ssh_key_dup_fingerprint (key);
  fp2 = tsr_test_ssh_fingerprint (path);
  g_assert_cmpstr (fp, ==, fp2);

  /* The passphrase is needed (KEY_LOCKED: ask for it), and only the right one opens it. */
  loaded = tsr_ssh_key_load (path, NULL, &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_KEY_LOCKED);
  g_assert_nonnull (strstr (error->message, "needs its passphrase"));
  g_assert_null (loaded);
  g_clear_error (&error);
  loaded = tsr_ssh_key_load (path, "wrong", &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_KEY_LOCKED);
  g_assert_nonnull (strstr (error->message, "wrong passphrase"));
  g_clear_error (&error);
  loaded = tsr_ssh_key_load (path, passphrase, &error);
  g_assert_no_error (error);
  g_clear_pointer (&fp2, g_free);
  fp2 = tsr_ssh_key_dup_fingerprint (loaded);
  g_assert_cmpstr (fp, ==, fp2);

  /* A key is never overwritten. */
  g_assert_false (tsr_ssh_key_save (key, path, NULL, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_EXISTS);
  g_clear_error (&error);

  /* Without a passphrase, and loaded back. */
  g_assert_true (tsr_ssh_key_save (key, plain, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (tsr_ssh_key_is_encrypted_file (plain));
  g_clear_object (&loaded);
  loaded = tsr_ssh_key_load (plain, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);

  /* A file that is no key needs no passphrase: it is refused as such, passphrase or not. */
  {
    g_autofree char *junk = g_build_filename (f->dir, "not_a_key", NULL);

    g_assert_true (
        g_file_set_contents (junk, "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", -1, NULL));
    g_assert_false (tsr_ssh_key_is_encrypted_file (junk));
    g_clear_object (&loaded);
    loaded = tsr_ssh_key_load (junk, NULL, &error);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
    g_assert_nonnull (strstr (error->message, "not a private key"));
    g_clear_error (&error);
    loaded = tsr_ssh_key_load (junk, "anything", &error);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
    g_clear_error (&error);
  }

  /* A missing key is NOT_FOUND. */
  g_clear_object (&loaded);
  loaded = tsr_ssh_key_load ("/nonexistent/key", NULL, &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
}

/* A key made by Tessera logs in to OpenSSH. */
static void
test_key_login (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshKey) key = NULL;
  g_autoptr (TsrSshSession) s = NULL;
  g_autoptr (TsrSshExecResult) r = NULL;
  g_autofree char *line = NULL;
  g_autofree char *fp = NULL;

  if (f->sshd == NULL)
    return;
  key = tsr_ssh_key_generate (&error);
  g_assert_no_error (error);
  s = tsr_ssh_session_new (g_get_user_name (), "127.0.0.1", f->sshd->port, key, f->known_hosts);
  fp = tsr_test_ssh_fingerprint (f->sshd->host_key);
  tsr_ssh_session_set_accepted_host_key (s, fp);
  /* Not authorised yet: refused as AUTH. */
  g_assert_false (tsr_ssh_session_connect (s, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_clear_error (&error);

  line = tsr_ssh_key_dup_public_line (key, "tessera");
  {
    g_autofree char *old = NULL;
    g_autofree char *both = NULL;
    g_assert_true (g_file_get_contents (f->sshd->authorized_keys, &old, NULL, NULL));
    both = g_strconcat (old, line, NULL);
    g_assert_true (g_file_set_contents (f->sshd->authorized_keys, both, -1, NULL));
  }
  g_assert_true (tsr_ssh_session_connect (s, NULL, &error));
  g_assert_no_error (error);
  r = tsr_ssh_session_exec (s, "echo in", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r->out, ==, "in\n");
}

static void
test_unknown_host (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshSession) s = NULL;
  g_autoptr (TsrSshSession) again = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *kh = NULL;

  if (f->sshd == NULL)
    return;
  expected = tsr_test_ssh_fingerprint (f->sshd->host_key);
  s = new_session (f, f->sshd);

  /* Unknown: refused, with the fingerprint shown, and nothing written. */
  g_assert_false (tsr_ssh_session_connect (s, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IDENTITY);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_cmpint (tsr_ssh_session_get_host_key_status (s), ==, TSR_SSH_HOST_KEY_UNKNOWN);
  shown = tsr_ssh_session_dup_host_fingerprint (s);
  g_assert_cmpstr (shown, ==, expected);
  g_assert_false (tsr_ssh_session_is_connected (s));
  g_assert_false (g_file_test (f->known_hosts, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* Accepting some other fingerprint does not let it in. */
  tsr_ssh_session_set_accepted_host_key (s, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  g_assert_false (tsr_ssh_session_connect (s, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IDENTITY);
  g_assert_false (g_file_test (f->known_hosts, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* Accepted explicitly: connected and remembered. */
  tsr_ssh_session_set_accepted_host_key (s, expected);
  g_assert_true (tsr_ssh_session_connect (s, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tsr_ssh_session_get_host_key_status (s), ==, TSR_SSH_HOST_KEY_ACCEPTED);
  g_assert_true (g_file_get_contents (f->known_hosts, &kh, NULL, NULL));
  g_assert_nonnull (strstr (kh, "127.0.0.1"));

  /* A new session knows it without being told. */
  again = new_session (f, f->sshd);
  g_assert_true (tsr_ssh_session_connect (again, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tsr_ssh_session_get_host_key_status (again), ==, TSR_SSH_HOST_KEY_KNOWN);
}

static void
test_changed_host_key (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshSession) s = NULL;
  g_autoptr (TsrSshSession) s2 = NULL;
  g_autoptr (TsrTestSshd) other = NULL;
  g_autofree char *other_dir = NULL;
  g_autofree char *new_fp = NULL;
  g_autofree char *kh_before = NULL;
  g_autofree char *kh_after = NULL;
  g_autofree char *skip = NULL;
  guint16 port;

  if (f->sshd == NULL)
    return;
  /* Accept the first server's key... */
  s = connected_session (f);
  tsr_ssh_session_disconnect (s);
  port = f->sshd->port;

  /* ...then the same address answers with another key (a reinstalled host, or an attacker).
   * A second server with its own host key takes over the port. */
  other_dir = g_build_filename (f->dir, "sshd-other", NULL);
  g_mkdir_with_parents (other_dir, 0700);
  g_clear_pointer (&f->sshd->proc, g_object_unref); /* keep the struct for teardown */
  {
    const char *argv[] = { "kill", "-TERM", NULL, NULL };
    g_autofree char *pid_path = g_build_filename (f->sshd->dir, "sshd.pid", NULL);
    g_autofree char *pid = NULL;
    g_assert_true (g_file_get_contents (pid_path, &pid, NULL, NULL));
    argv[2] = g_strstrip (pid);
    g_assert_cmpint (tsr_test_spawn (argv, NULL, NULL), ==, 0);
    while (tsr_test_port_is_open (port))
      g_usleep (20000);
  }
  other = tsr_test_sshd_start (other_dir, NULL, f->sshd->authorized_keys, &skip);
  if (other == NULL)
    {
      g_test_skip (skip);
      return;
    }
  /* It listens on a new port: point the known_hosts entry there, as if it were the same
   * host answering with a different key. */
  g_assert_true (g_file_get_contents (f->known_hosts, &kh_before, NULL, NULL));
  {
    g_autofree char *from = g_strdup_printf ("[127.0.0.1]:%u", port);
    g_autofree char *to = g_strdup_printf ("[127.0.0.1]:%u", other->port);
    g_auto (GStrv) parts = g_strsplit (kh_before, from, -1);
    g_autofree char *moved = g_strjoinv (to, parts);
    g_assert_true (g_file_set_contents (f->known_hosts, moved, -1, NULL));
    g_free (kh_before);
    kh_before = g_steal_pointer (&moved);
  }
  new_fp = tsr_test_ssh_fingerprint (other->host_key);
  s2 = new_session (f, other);
  /* Refused loudly, even with the new fingerprint "accepted", and known_hosts untouched. */
  tsr_ssh_session_set_accepted_host_key (s2, new_fp);
  g_assert_false (tsr_ssh_session_connect (s2, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IDENTITY);
  g_assert_nonnull (strstr (error->message, "CHANGED"));
  g_assert_nonnull (strstr (error->message, new_fp));
  g_assert_cmpint (tsr_ssh_session_get_host_key_status (s2), ==, TSR_SSH_HOST_KEY_CHANGED);
  g_assert_true (g_file_get_contents (f->known_hosts, &kh_after, NULL, NULL));
  g_assert_cmpstr (kh_before, ==, kh_after);
}

static void
test_exec (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshSession) s = NULL;
  g_autoptr (TsrSshExecResult) ok = NULL;
  g_autoptr (TsrSshExecResult) fail = NULL;
  g_autoptr (TsrSshExecResult) big = NULL;

  if (f->sshd == NULL)
    return;
  s = connected_session (f);

  ok = tsr_ssh_session_exec (s, "echo hello; echo to-stderr >&2", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ok->exit_status, ==, 0);
  g_assert_cmpstr (ok->out, ==, "hello\n");
  g_assert_cmpstr (ok->err, ==, "to-stderr\n");

  /* A failing command is a result with its exit status, not an error. */
  fail = tsr_ssh_session_exec (s, "echo partial; echo 'no such thing' >&2; exit 3", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fail->exit_status, ==, 3);
  g_assert_cmpstr (fail->out, ==, "partial\n");
  g_assert_cmpstr (fail->err, ==, "no such thing\n");

  /* Both streams at once, larger than any channel window, neither blocks the other. */
  big = tsr_ssh_session_exec (s, "head -c 1048576 /dev/zero; head -c 300000 /dev/zero >&2; exit 7",
                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (big->exit_status, ==, 7);
  g_assert_cmpuint (big->out_len, ==, 1048576);
  g_assert_cmpuint (big->err_len, ==, 300000);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* The _async forms, as the app calls them: results delivered on the caller's context. */
static void
test_async (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshSession) s = NULL;
  g_autoptr (GAsyncResult) connected = NULL;
  g_autoptr (GAsyncResult) executed = NULL;
  g_autoptr (TsrSshExecResult) r = NULL;
  g_autofree char *fp = NULL;

  if (f->sshd == NULL)
    return;
  s = new_session (f, f->sshd);
  fp = tsr_test_ssh_fingerprint (f->sshd->host_key);
  tsr_ssh_session_set_accepted_host_key (s, fp);
  tsr_ssh_session_connect_async (s, NULL, tsr_test_keep_result, &connected);
  /* Queued behind the connect on the session's one worker. */
  tsr_ssh_session_exec_async (s, "echo async; exit 5", NULL, tsr_test_keep_result, &executed);
  g_assert_true (tsr_ssh_session_connect_finish (s, wait_result (&connected), &error));
  g_assert_no_error (error);
  r = tsr_ssh_session_exec_finish (s, wait_result (&executed), &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->exit_status, ==, 5);
  g_assert_cmpstr (r->out, ==, "async\n");
}

static void
test_sftp_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshSession) s = NULL;
  g_autoptr (GBytes) content = tsr_test_random_bytes (f->rand, 3 * 1024 * 1024 + 12345);
  g_autoptr (GAsyncResult) up = NULL;
  g_autofree char *local = g_build_filename (f->dir, "upload.bin", NULL);
  g_autofree char *remote = g_build_filename (f->dir, "remote", "stored.bin", NULL);
  g_autofree char *back = g_build_filename (f->dir, "back.bin", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "remote", "missing", NULL);
  g_autofree char *remote_dir = g_build_filename (f->dir, "remote", NULL);
  g_autofree char *got = NULL;
  g_autofree char *on_host = NULL;
  gsize len;
  GStatBuf st;

  if (f->sshd == NULL)
    return;
  s = connected_session (f);
  g_mkdir_with_parents (remote_dir, 0700);
  g_assert_true (g_file_set_contents (local, g_bytes_get_data (content, NULL),
                                      g_bytes_get_size (content), NULL));

  tsr_ssh_session_upload_async (s, local, remote, 0640, NULL, tsr_test_keep_result, &up);
  g_assert_true (tsr_ssh_session_upload_finish (s, wait_result (&up), &error));
  g_assert_no_error (error);
  /* The "remote" is this machine: the bytes on its disk are the bytes sent. */
  g_assert_true (g_file_get_contents (remote, &on_host, &len, NULL));
  g_assert_cmpmem (on_host, len, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  g_assert_cmpint (g_stat (remote, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);

  g_assert_true (tsr_ssh_session_download (s, remote, back, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (back, &got, &len, NULL));
  g_assert_cmpmem (got, len, g_bytes_get_data (content, NULL), g_bytes_get_size (content));

  /* Uploading again replaces the file. */
  g_assert_true (g_file_set_contents (local, "short", -1, NULL));
  g_assert_true (tsr_ssh_session_upload (s, local, remote, 0600, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&on_host, g_free);
  g_assert_true (g_file_get_contents (remote, &on_host, NULL, NULL));
  g_assert_cmpstr (on_host, ==, "short");

  /* A missing file is NOT_FOUND and leaves the destination alone. */
  g_assert_false (tsr_ssh_session_download (s, missing, back, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_clear_pointer (&got, g_free);
  g_assert_true (g_file_get_contents (back, &got, &len, NULL));
  g_assert_cmpuint (len, ==, g_bytes_get_size (content));
}

static void
test_broadcast (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshManager) m = tsr_ssh_manager_new (f->user_key, f->known_hosts);
  g_autoptr (TsrTestSshd) second = NULL;
  g_autoptr (GPtrArray) replies = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GAsyncResult) done = NULL;
  g_autoptr (TsrSshExecResult) one = NULL;
  g_autofree char *second_dir = NULL;
  g_autofree char *skip = NULL;
  g_autofree char *fp1 = NULL;
  g_autofree char *fp2 = NULL;
  guint16 dead_port;

  if (f->sshd == NULL)
    return;
  second_dir = g_build_filename (f->dir, "sshd-2", NULL);
  second = tsr_test_sshd_start (second_dir, NULL, f->sshd->authorized_keys, &skip);
  if (second == NULL)
    {
      g_test_skip (skip);
      return;
    }
  fp1 = tsr_test_ssh_fingerprint (f->sshd->host_key);
  fp2 = tsr_test_ssh_fingerprint (second->host_key);
  tsr_ssh_session_set_accepted_host_key (tsr_ssh_manager_add_host (m, "alpha", g_get_user_name (),
                                                                   "127.0.0.1", f->sshd->port, NULL,
                                                                   &error),
                                         fp1);
  g_assert_no_error (error);
  tsr_ssh_session_set_accepted_host_key (tsr_ssh_manager_add_host (m, "beta", g_get_user_name (),
                                                                   "127.0.0.1", second->port, NULL,
                                                                   &error),
                                         fp2);
  g_assert_no_error (error);
  g_assert_null (tsr_ssh_manager_add_host (m, "beta", "x", "127.0.0.1", 1, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_EXISTS);
  g_clear_error (&error);

  /* Each host runs it and reports its own result (the sshd port tells them apart). */
  replies = tsr_ssh_manager_broadcast (m, "echo \"${SSH_CONNECTION##* }\"; exit 4", NULL);
  g_assert_cmpuint (replies->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      TsrSshReply *r = replies->pdata[i];
      g_autofree char *port = g_strdup_printf ("%u\n", i == 0 ? f->sshd->port : second->port);

      g_assert_cmpstr (r->name, ==, i == 0 ? "alpha" : "beta");
      g_assert_no_error (r->error);
      g_assert_cmpint (r->result->exit_status, ==, 4);
      g_assert_cmpstr (r->result->out, ==, port);
    }

  /* One host down: its reply is an error, the others still answer. */
  dead_port = tsr_test_free_port ();
  g_assert_nonnull (
      tsr_ssh_manager_add_host (m, "gone", g_get_user_name (), "127.0.0.1", dead_port, NULL, NULL));
  tsr_ssh_manager_broadcast_async (m, "echo up", NULL, tsr_test_keep_result, &done);
  g_clear_pointer (&replies, g_ptr_array_unref);
  replies = tsr_ssh_manager_broadcast_finish (m, wait_result (&done), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (replies->len, ==, 3);
  g_assert_cmpstr (((TsrSshReply *)replies->pdata[0])->result->out, ==, "up\n");
  g_assert_cmpstr (((TsrSshReply *)replies->pdata[1])->result->out, ==, "up\n");
  g_assert_null (((TsrSshReply *)replies->pdata[2])->result);
  g_assert_error (((TsrSshReply *)replies->pdata[2])->error, TSR_ERROR, TSR_ERROR_UNREACHABLE);

  names = tsr_ssh_manager_list_hosts (m);
  g_assert_cmpuint (names->len, ==, 3);
  one = tsr_ssh_manager_exec (m, "beta", "echo just-beta", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (one->out, ==, "just-beta\n");

  tsr_ssh_manager_disconnect_all (m);
  g_assert_false (tsr_ssh_session_is_connected (tsr_ssh_manager_get_session (m, "alpha")));
  g_assert_false (tsr_ssh_session_is_connected (tsr_ssh_manager_get_session (m, "beta")));
}

/* The app's path: provisioning asynchronously, then the node answers with the id read back. */
static void
test_provision_async (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshSession) s = NULL;
  g_autoptr (GAsyncResult) done = NULL;
  g_autoptr (TsrProvisionResult) r = NULL;
  g_autoptr (TsrIdentity) me = NULL;
  g_autoptr (TsrNodeClient) client = NULL;
  g_autoptr (TsrNodeHealth) h = NULL;
  g_autofree char *me_dir = g_build_filename (f->dir, "me", NULL);
  g_autofree char *remote_dir = g_build_filename (f->dir, "far", NULL);
  g_autofree char *pid_path = g_build_filename (remote_dir, "tesserad.pid", NULL);
  g_autofree char *listen = NULL;
  g_autofree char *pid = NULL;
  g_autofree char *status_cmd = NULL;
  g_autoptr (TsrSshExecResult) status = NULL;
  TsrProvisionOptions options = { 0 };
  guint16 port = tsr_test_free_port ();

  if (f->sshd == NULL)
    return;
  s = connected_session (f);
  me = tsr_identity_load_or_create (me_dir, "me", &error);
  g_assert_no_error (error);
  listen = g_strdup_printf ("127.0.0.1:%u", port);
  options.name = "Far";
  options.client_id = tsr_identity_get_id (me);
  options.remote_dir = remote_dir;
  options.local_tesserad = g_getenv ("TESSERAD");
  options.listen = listen;
  tsr_ssh_provision_tesserad_async (s, &options, NULL, tsr_test_keep_result, &done);
  r = tsr_ssh_provision_tesserad_finish (s, wait_result (&done), &error);
  g_assert_no_error (error);
  g_assert_true (tsr_segment_id_is_valid (r->node_id));
  g_assert_cmpstr (r->remote_dir, ==, remote_dir);
  g_assert_true (g_file_test (r->tesserad, G_FILE_TEST_IS_EXECUTABLE));

  /* It comes up (asynchronously) and serves this client under the id it reported. */
  while (!tsr_test_port_is_open (port))
    g_usleep (20000);
  client = tsr_node_client_new ("Far", listen, r->node_id, me);
  h = tsr_node_client_health_check_full (client, 5000, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (h->is_alive);
  status_cmd = tsr_tesserad_status_command (r->service, "Far", r->remote_dir);
  status = tsr_ssh_session_exec (s, status_cmd, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_strstrip (status->out), ==, "active");

  if (g_strcmp0 (r->service, "process") == 0)
    {
      g_assert_true (g_file_get_contents (pid_path, &pid, NULL, NULL));
      g_assert_cmpint (kill ((pid_t)g_ascii_strtoll (pid, NULL, 10), SIGTERM), ==, 0);
    }
  else
    {
      g_autoptr (TsrSshExecResult) stop = tsr_ssh_session_exec (
          s, "systemctl --user disable --now tesserad-Far.service", NULL, NULL);
    }
  while (tsr_test_port_is_open (port))
    g_usleep (20000);
}

/* remotes.json: the seed corpus of its fuzz target, accepted and refused as named. */
static void
test_remotes_file (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", "remotes", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint seen = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) remotes = tsr_remotes_load (path, &error);

      if (g_str_has_prefix (name, "valid-"))
        {
          g_assert_no_error (error);
          g_assert_cmpuint (remotes->len, >, 0);
        }
      else
        {
          g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
          g_assert_null (remotes);
        }
      seen++;
    }
  g_assert_cmpuint (seen, >=, 4);
}

/* What the Add Node dialog and `remote add` take as an SSH target, and what they refuse with
 * a clear message rather than pass on to libssh ("Hostname required"). */
static void
test_parse_target (void)
{
  const char *good[][4] = {
    { "ada@nas.local", "ada", "nas.local", "22" },
    { "ada@nas.local:2222", "ada", "nas.local", "2222" },
    { "ada@192.168.1.20", "ada", "192.168.1.20", "22" },
    { "ada@[fe80::1%eth0]:22", "ada", "fe80::1%eth0", "22" },
    { "backup_user@my-server_2", "backup_user", "my-server_2", "22" },
  };
  const char *bad[] = { "not a host",       "ada@not a host", "ada@nas local:22", "ada@",
                        "-oProxyCommand=x", "ada@-x",         "a da@nas",         "ada@nas:0",
                        "ada@nas:65536",    "ada@fe80::1",    "ada@nas\n",        "ada@[]" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *user = NULL;
      g_autofree char *host = NULL;
      g_autofree char *port = NULL;
      guint16 p = 0;

      g_assert_true (tsr_parse_ssh_target (good[i][0], &user, &host, &p));
      port = g_strdup_printf ("%u", p);
      g_assert_cmpstr (user, ==, good[i][1]);
      g_assert_cmpstr (host, ==, good[i][2]);
      g_assert_cmpstr (port, ==, good[i][3]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      char *user = NULL;
      char *host = NULL;
      guint16 p = 0;

      if (tsr_parse_ssh_target (bad[i], &user, &host, &p))
        g_error ("“%s” was taken as %s@%s:%u", bad[i], user, host, p);
      g_assert_null (user);
      g_assert_null (host);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/ssh/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("key-generate", test_key_generate);
  ADD ("key-login", test_key_login);
  ADD ("unknown-host", test_unknown_host);
  ADD ("changed-host-key", test_changed_host_key);
  ADD ("exec", test_exec);
  ADD ("async", test_async);
  ADD ("sftp-round-trip", test_sftp_round_trip);
  ADD ("broadcast", test_broadcast);
  ADD ("provision-async", test_provision_async);
  g_test_add_func ("/tessera/ssh/remotes-file", test_remotes_file);
  g_test_add_func ("/tessera/ssh/parse-target", test_parse_target);
#undef ADD

  return g_test_run ();
}
