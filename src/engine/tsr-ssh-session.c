/* tsr-ssh-session.c
 *
 * A libssh session, with its channels and SFTP handles, must only be used by one thread at a
 * time. Every operation holds the session's mutex, and the _async forms run on the session's
 * own worker (a thread pool of one), so asynchronous calls run in the order they were made
 * and never occupy more than one thread per session.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-ssh-session.h"
#include "tsr-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <libssh/sftp.h>

#define CONNECT_TIMEOUT_SECONDS 15
#define POLL_MS                 100

struct _TsrSshSession
{
  GObject parent_instance;

  char *user;
  char *host;
  guint16 port;
  TsrSshKey *key;
  char *known_hosts_path;

  GMutex mutex; /* serialises every use of @session */
  ssh_session session;
  gboolean connected;
  char *accepted_fingerprint;
  char *host_fingerprint;
  TsrSshHostKeyStatus host_key_status;

  GThreadPool *worker; /* one thread: the _async operations, in order */
};

G_DEFINE_FINAL_TYPE (TsrSshSession, tsr_ssh_session, G_TYPE_OBJECT)

void
tsr_ssh_exec_result_free (TsrSshExecResult *result)
{
  if (result == NULL)
    return;
  g_free (result->out);
  g_free (result->err);
  g_free (result);
}

static void
disconnect_locked (TsrSshSession *self)
{
  if (self->session != NULL)
    {
      if (self->connected)
        ssh_disconnect (self->session);
      ssh_free (self->session);
      self->session = NULL;
    }
  self->connected = FALSE;
}

static void
tsr_ssh_session_finalize (GObject *object)
{
  TsrSshSession *self = TSR_SSH_SESSION (object);

  /* Queued operations hold a reference, so no job is left; the last reference may be dropped
   * by the worker itself, finishing a job, which must then not wait for itself. */
  g_thread_pool_free (self->worker, FALSE, FALSE);
  disconnect_locked (self);
  g_clear_object (&self->key);
  g_free (self->user);
  g_free (self->host);
  g_free (self->known_hosts_path);
  g_free (self->accepted_fingerprint);
  g_free (self->host_fingerprint);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (tsr_ssh_session_parent_class)->finalize (object);
}

static void
tsr_ssh_session_class_init (TsrSshSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_ssh_session_finalize;
}

typedef struct
{
  GTask *task;
  GTaskThreadFunc func;
} Job;

static void
run_job (gpointer data, gpointer user_data)
{
  Job *job = data;

  job->func (job->task, g_task_get_source_object (job->task), g_task_get_task_data (job->task),
             g_task_get_cancellable (job->task));
  g_object_unref (job->task);
  g_free (job);
}

static void
tsr_ssh_session_init (TsrSshSession *self)
{
  g_mutex_init (&self->mutex);
  self->worker = g_thread_pool_new (run_job, NULL, 1, FALSE, NULL);
}

/* Runs @func for @task on the session's worker thread. Takes over @task. */
static void
run_on_worker (TsrSshSession *self, GTask *task, GTaskThreadFunc func)
{
  Job *job = g_new0 (Job, 1);

  job->task = task;
  job->func = func;
  g_thread_pool_push (self->worker, job, NULL);
}

/**
 * tsr_ssh_session_new:
 * @port: 0 for 22
 * @known_hosts_path: the known_hosts file this session trusts and adds accepted keys to
 */
TsrSshSession *
tsr_ssh_session_new (const char *user, const char *host, guint16 port, TsrSshKey *key,
                     const char *known_hosts_path)
{
  TsrSshSession *self;

  g_return_val_if_fail (user != NULL && host != NULL, NULL);
  g_return_val_if_fail (TSR_IS_SSH_KEY (key), NULL);
  g_return_val_if_fail (known_hosts_path != NULL, NULL);

  self = g_object_new (TSR_TYPE_SSH_SESSION, NULL);
  self->user = g_strdup (user);
  self->host = g_strdup (host);
  self->port = port ? port : 22;
  self->key = g_object_ref (key);
  self->known_hosts_path = g_strdup (known_hosts_path);
  return self;
}

const char *
tsr_ssh_session_get_user (TsrSshSession *self)
{
  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), NULL);
  return self->user;
}

const char *
tsr_ssh_session_get_host (TsrSshSession *self)
{
  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), NULL);
  return self->host;
}

guint16
tsr_ssh_session_get_port (TsrSshSession *self)
{
  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), 0);
  return self->port;
}

/**
 * tsr_ssh_session_set_accepted_host_key:
 * @fingerprint: (nullable): "SHA256:…", as shown to and confirmed by the user
 *
 * An unknown host whose key has this fingerprint is accepted at the next connect and added
 * to known_hosts. A host whose known key changed is refused whatever this says.
 */
void
tsr_ssh_session_set_accepted_host_key (TsrSshSession *self, const char *fingerprint)
{
  g_return_if_fail (TSR_IS_SSH_SESSION (self));

  g_mutex_lock (&self->mutex);
  g_free (self->accepted_fingerprint);
  self->accepted_fingerprint = g_strdup (fingerprint);
  g_mutex_unlock (&self->mutex);
}

TsrSshHostKeyStatus
tsr_ssh_session_get_host_key_status (TsrSshSession *self)
{
  TsrSshHostKeyStatus ret;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), TSR_SSH_HOST_KEY_UNCHECKED);
  g_mutex_lock (&self->mutex);
  ret = self->host_key_status;
  g_mutex_unlock (&self->mutex);
  return ret;
}

/**
 * tsr_ssh_session_dup_host_fingerprint:
 *
 * Returns: (transfer full) (nullable): the SHA256 fingerprint of the key the host presented
 * at the last connect, whether or not it was accepted
 */
char *
tsr_ssh_session_dup_host_fingerprint (TsrSshSession *self)
{
  char *ret;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), NULL);
  g_mutex_lock (&self->mutex);
  ret = g_strdup (self->host_fingerprint);
  g_mutex_unlock (&self->mutex);
  return ret;
}

gboolean
tsr_ssh_session_is_connected (TsrSshSession *self)
{
  gboolean ret;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), FALSE);
  g_mutex_lock (&self->mutex);
  ret = self->connected;
  g_mutex_unlock (&self->mutex);
  return ret;
}

static char *
describe (TsrSshSession *self)
{
  return self->port == 22 ? g_strdup_printf ("%s@%s", self->user, self->host)
                          : g_strdup_printf ("%s@%s:%u", self->user, self->host, self->port);
}

/* Called with the mutex held. */
static gboolean
verify_host_locked (TsrSshSession *self, GError **error)
{
  g_autofree char *who = describe (self);
  g_autofree char *dir = NULL;
  ssh_key server_key = NULL;
  enum ssh_known_hosts_e known;

  if (ssh_get_server_publickey (self->session, &server_key) != SSH_OK)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL, _ ("%s presented no host key"), who);
      return FALSE;
    }
  g_free (self->host_fingerprint);
  self->host_fingerprint = tsr_ssh_fingerprint_of (server_key);
  ssh_key_free (server_key);

  known = ssh_session_is_known_server (self->session);
  switch (known)
    {
      case SSH_KNOWN_HOSTS_OK:
        self->host_key_status = TSR_SSH_HOST_KEY_KNOWN;
        return TRUE;

      case SSH_KNOWN_HOSTS_CHANGED:
      case SSH_KNOWN_HOSTS_OTHER:
        self->host_key_status = TSR_SSH_HOST_KEY_CHANGED;
        g_set_error (
            error, TSR_ERROR, TSR_ERROR_IDENTITY,
            _ ("WARNING: THE HOST KEY OF %s HAS CHANGED. It now presents %s, which is not "
               "the key recorded in %s. Someone may be intercepting the connection, or the "
               "host was reinstalled. Refused: if the change is expected, remove the old "
               "entry from %s and connect again"),
            who, self->host_fingerprint, self->known_hosts_path, self->known_hosts_path);
        return FALSE;

      case SSH_KNOWN_HOSTS_UNKNOWN:
      case SSH_KNOWN_HOSTS_NOT_FOUND:
        if (self->accepted_fingerprint == NULL ||
            strcmp (self->accepted_fingerprint, self->host_fingerprint) != 0)
          {
            self->host_key_status = TSR_SSH_HOST_KEY_UNKNOWN;
            if (self->accepted_fingerprint != NULL)
              g_set_error (error, TSR_ERROR, TSR_ERROR_IDENTITY,
                           _ ("%s presents the host key %s, not the %s that was accepted: refused"),
                           who, self->host_fingerprint, self->accepted_fingerprint);
            else
              g_set_error (error, TSR_ERROR, TSR_ERROR_IDENTITY,
                           _ ("%s is not a known host. Its host key fingerprint is %s. Check it "
                              "with the host's owner (ssh-keygen -lf on the host's key) and accept "
                              "it explicitly to connect"),
                           who, self->host_fingerprint);
            return FALSE;
          }
        dir = g_path_get_dirname (self->known_hosts_path);
        if (g_mkdir_with_parents (dir, 0700) != 0)
          {
            tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), dir);
            return FALSE;
          }
        if (ssh_session_update_known_hosts (self->session) != SSH_OK)
          {
            g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot add %s to %s: %s"), who,
                         self->known_hosts_path, ssh_get_error (self->session));
            return FALSE;
          }
        self->host_key_status = TSR_SSH_HOST_KEY_ACCEPTED;
        return TRUE;

      case SSH_KNOWN_HOSTS_ERROR:
      default:
        self->host_key_status = TSR_SSH_HOST_KEY_UNCHECKED;
        g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot check the host key of %s: %s"), who,
                     ssh_get_error (self->session));
        return FALSE;
    }
}

/* Called with the mutex held. */
static gboolean
connect_locked (TsrSshSession *self, GError **error)
{
  g_autofree char *who = describe (self);
  unsigned int port = self->port;
  long timeout = CONNECT_TIMEOUT_SECONDS;
  bool process_config = false;
  int rc;

  if (self->connected)
    return TRUE;
  disconnect_locked (self);
  self->session = ssh_new ();
  if (self->session == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Out of memory for an SSH session"));
      return FALSE;
    }
  /* The user's ~/.ssh/config is not read: what Tessera connects to, and how, is what it was
   * told, and known hosts are Tessera's own file. */
  ssh_options_set (self->session, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
  ssh_options_set (self->session, SSH_OPTIONS_HOST, self->host);
  ssh_options_set (self->session, SSH_OPTIONS_PORT, &port);
  ssh_options_set (self->session, SSH_OPTIONS_USER, self->user);
  ssh_options_set (self->session, SSH_OPTIONS_KNOWNHOSTS, self->known_hosts_path);
  ssh_options_set (self->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  ssh_options_set (self->session, SSH_OPTIONS_TIMEOUT, &timeout);

  if (ssh_connect (self->session) != SSH_OK)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_UNREACHABLE, _ ("Cannot connect to %s: %s"), who,
                   ssh_get_error (self->session));
      disconnect_locked (self);
      return FALSE;
    }
  self->connected = TRUE;
  if (!verify_host_locked (self, error))
    {
      disconnect_locked (self);
      return FALSE;
    }
  rc = ssh_userauth_publickey (self->session, NULL, tsr_ssh_key_get_handle (self->key));
  if (rc != SSH_AUTH_SUCCESS)
    {
      g_autofree char *fp = tsr_ssh_key_dup_fingerprint (self->key);
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   _ ("%s refused the SSH key %s: add its public key to ~/.ssh/authorized_keys "
                      "there"),
                   who, fp);
      disconnect_locked (self);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_ssh_session_connect:
 *
 * Connects, checks the host key against known_hosts and authenticates with the key. An
 * unknown host fails with %TSR_ERROR_IDENTITY and status %TSR_SSH_HOST_KEY_UNKNOWN unless its
 * fingerprint is the accepted one; a changed key always fails (status
 * %TSR_SSH_HOST_KEY_CHANGED). A rejected key fails with %TSR_ERROR_AUTH.
 */
gboolean
tsr_ssh_session_connect (TsrSshSession *self, GCancellable *cancellable, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  g_mutex_lock (&self->mutex);
  ok = connect_locked (self, error);
  g_mutex_unlock (&self->mutex);
  return ok;
}

static void
connect_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (tsr_ssh_session_connect (source, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
tsr_ssh_session_connect_async (TsrSshSession *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tsr_ssh_session_connect_async);
  run_on_worker (self, task, connect_thread);
}

gboolean
tsr_ssh_session_connect_finish (TsrSshSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Called with the mutex held; the session is connected. */
static gboolean
not_connected (TsrSshSession *self, GError **error)
{
  if (self->connected)
    return FALSE;
  g_set_error (error, TSR_ERROR, TSR_ERROR_CLOSED, _ ("Not connected to %s"), self->host);
  return TRUE;
}

/* @n is what a channel read returned. */
static gboolean
append_output (GByteArray *buf, char *chunk, int n, GError **error)
{
  if (n == SSH_EOF || n == 0)
    return TRUE;
  if (n < 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("The command's output was cut off"));
      return FALSE;
    }
  if (buf->len + (gsize)n > TSR_SSH_EXEC_MAX_OUTPUT)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE,
                   _ ("The command wrote more than %u bytes"), TSR_SSH_EXEC_MAX_OUTPUT);
      return FALSE;
    }
  g_byte_array_append (buf, (guint8 *)chunk, n);
  return TRUE;
}

static TsrSshExecResult *
exec_locked (TsrSshSession *self, const char *command, GCancellable *cancellable, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GByteArray) err = g_byte_array_new ();
  TsrSshExecResult *result;
  ssh_channel channel;
  char chunk[16384];

  if (not_connected (self, error))
    return NULL;
  channel = ssh_channel_new (self->session);
  if (channel == NULL || ssh_channel_open_session (channel) != SSH_OK ||
      ssh_channel_request_exec (channel, command) != SSH_OK)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot run a command on %s: %s"), self->host,
                   ssh_get_error (self->session));
      if (channel != NULL)
        ssh_channel_free (channel);
      /* A session that cannot open channels is of no further use. */
      disconnect_locked (self);
      return NULL;
    }
  ssh_channel_send_eof (channel);
  /* Short reads with a timeout, so that cancellation is noticed; stderr is drained alongside
   * stdout so that a command filling one pipe never blocks on the other. */
  for (;;)
    {
      int n;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto fail;
      n = ssh_channel_read_timeout (channel, chunk, sizeof chunk, 0, POLL_MS);
      if (!append_output (out, chunk, n, error))
        goto fail;
      n = ssh_channel_read_nonblocking (channel, chunk, sizeof chunk, 1);
      if (!append_output (err, chunk, n, error))
        goto fail;
      if (ssh_channel_is_eof (channel) && ssh_channel_poll (channel, 0) <= 0 &&
          ssh_channel_poll (channel, 1) <= 0)
        break;
    }
  result = g_new0 (TsrSshExecResult, 1);
  result->exit_status = ssh_channel_get_exit_status (channel);
  ssh_channel_close (channel);
  ssh_channel_free (channel);
  result->out_len = out->len;
  g_byte_array_append (out, (guint8 *)"", 1);
  result->out = (char *)g_byte_array_free (g_steal_pointer (&out), FALSE);
  result->err_len = err->len;
  g_byte_array_append (err, (guint8 *)"", 1);
  result->err = (char *)g_byte_array_free (g_steal_pointer (&err), FALSE);
  return result;

fail:
  ssh_channel_close (channel);
  ssh_channel_free (channel);
  return NULL;
}

/**
 * tsr_ssh_session_exec:
 * @command: a shell command line, run by the user's login shell on the host
 *
 * Runs @command with no input and collects its exit status, stdout and stderr (each up to
 * %TSR_SSH_EXEC_MAX_OUTPUT). A non-zero exit status is a result, not an error.
 */
TsrSshExecResult *
tsr_ssh_session_exec (TsrSshSession *self, const char *command, GCancellable *cancellable,
                      GError **error)
{
  TsrSshExecResult *ret;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);

  g_mutex_lock (&self->mutex);
  ret = exec_locked (self, command, cancellable, error);
  g_mutex_unlock (&self->mutex);
  return ret;
}

static void
exec_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  TsrSshExecResult *r = tsr_ssh_session_exec (source, data, cancellable, &error);

  if (r != NULL)
    g_task_return_pointer (task, r, (GDestroyNotify)tsr_ssh_exec_result_free);
  else
    g_task_return_error (task, error);
}

void
tsr_ssh_session_exec_async (TsrSshSession *self, const char *command, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tsr_ssh_session_exec_async);
  g_task_set_task_data (task, g_strdup (command), g_free);
  run_on_worker (self, task, exec_thread);
}

TsrSshExecResult *
tsr_ssh_session_exec_finish (TsrSshSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
set_sftp_error (GError **error, TsrSshSession *self, sftp_session sftp, const char *what,
                const char *path)
{
  int code = sftp ? sftp_get_error (sftp) : 0;
  TsrError tcode = code == SSH_FX_NO_SUCH_FILE ? TSR_ERROR_NOT_FOUND : TSR_ERROR_IO;
  const char *why = code == SSH_FX_NO_SUCH_FILE        ? "no such file or directory"
                    : code == SSH_FX_PERMISSION_DENIED ? "permission denied"
                                                       : ssh_get_error (self->session);

  g_set_error (error, TSR_ERROR, tcode, "%s %s on %s: %s", what, path, self->host, why);
}

static sftp_session
open_sftp_locked (TsrSshSession *self, GError **error)
{
  sftp_session sftp;

  if (not_connected (self, error))
    return NULL;
  sftp = sftp_new (self->session);
  if (sftp == NULL || sftp_init (sftp) != SSH_OK)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("%s offers no SFTP: %s"), self->host,
                   ssh_get_error (self->session));
      if (sftp != NULL)
        sftp_free (sftp);
      return NULL;
    }
  return sftp;
}

/* Written to a temporary name and renamed into place, so that a running program (say, an
 * older tesserad) is replaced rather than overwritten under its feet (ETXTBSY), and an
 * interrupted upload never leaves a truncated file under the real name. */
static gboolean
upload_locked (TsrSshSession *self, const char *local_path, const char *remote_path, int mode,
               GCancellable *cancellable, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (local_path);
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *part = g_strconcat (remote_path, ".tessera-part", NULL);
  g_autofree char *buf = g_malloc (TSR_SSH_SFTP_CHUNK);
  sftp_session sftp;
  sftp_file f;
  gboolean ok = FALSE;

  in = g_file_read (file, cancellable, &local_error);
  if (in == NULL)
    {
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                       ? TSR_ERROR_NOT_FOUND
                       : TSR_ERROR_IO,
                   _ ("Cannot read %s: %s"), local_path, local_error->message);
      return FALSE;
    }
  sftp = open_sftp_locked (self, error);
  if (sftp == NULL)
    return FALSE;
  f = sftp_open (sftp, part, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (f == NULL)
    {
      set_sftp_error (error, self, sftp, "Cannot create", part);
      sftp_free (sftp);
      return FALSE;
    }
  for (;;)
    {
      gssize n = g_input_stream_read (G_INPUT_STREAM (in), buf, TSR_SSH_SFTP_CHUNK, cancellable,
                                      &local_error);
      if (n < 0)
        {
          g_set_error (error, TSR_ERROR,
                       g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                           ? TSR_ERROR_CANCELLED
                           : TSR_ERROR_IO,
                       _ ("Cannot read %s: %s"), local_path, local_error->message);
          goto out;
        }
      if (n == 0)
        break;
      /* sftp_write sends its whole buffer as one packet: keep each within the server's
       * limits (OpenSSH accepts 256 KiB; 32 KiB is what every server must). */
      if (sftp_write (f, buf, n) != n)
        {
          set_sftp_error (error, self, sftp, "Cannot write", part);
          goto out;
        }
    }
  ok = TRUE;

out:
  if (sftp_close (f) != SSH_NO_ERROR && ok)
    {
      set_sftp_error (error, self, sftp, "Cannot finish writing", part);
      ok = FALSE;
    }
  if (ok)
    {
      sftp_unlink (sftp, remote_path); /* SFTPv3 rename refuses an existing target */
      if (sftp_rename (sftp, part, remote_path) != SSH_OK)
        {
          set_sftp_error (error, self, sftp, "Cannot rename into place", remote_path);
          ok = FALSE;
        }
      else if (sftp_chmod (sftp, remote_path, mode) != SSH_OK) /* the umask applied at open */
        {
          set_sftp_error (error, self, sftp, "Cannot set the mode of", remote_path);
          ok = FALSE;
        }
    }
  if (!ok)
    sftp_unlink (sftp, part);
  sftp_free (sftp);
  return ok;
}

/**
 * tsr_ssh_session_upload:
 * @mode: the remote file's mode, such as 0755 for a program
 *
 * Copies @local_path to @remote_path over SFTP, replacing what is there.
 */
gboolean
tsr_ssh_session_upload (TsrSshSession *self, const char *local_path, const char *remote_path,
                        int mode, GCancellable *cancellable, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), FALSE);
  g_mutex_lock (&self->mutex);
  ok = upload_locked (self, local_path, remote_path, mode, cancellable, error);
  g_mutex_unlock (&self->mutex);
  return ok;
}

typedef struct
{
  char *from;
  char *to;
  int mode;
} Transfer;

static void
transfer_free (Transfer *t)
{
  g_free (t->from);
  g_free (t->to);
  g_free (t);
}

static void
upload_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Transfer *t = data;
  GError *error = NULL;

  if (tsr_ssh_session_upload (source, t->from, t->to, t->mode, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
tsr_ssh_session_upload_async (TsrSshSession *self, const char *local_path, const char *remote_path,
                              int mode, GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Transfer *t = g_new0 (Transfer, 1);

  t->from = g_strdup (local_path);
  t->to = g_strdup (remote_path);
  t->mode = mode;
  g_task_set_source_tag (task, tsr_ssh_session_upload_async);
  g_task_set_task_data (task, t, (GDestroyNotify)transfer_free);
  run_on_worker (self, task, upload_thread);
}

gboolean
tsr_ssh_session_upload_finish (TsrSshSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
download_locked (TsrSshSession *self, const char *remote_path, const char *local_path,
                 GCancellable *cancellable, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (local_path);
  g_autoptr (GFileOutputStream) out = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *buf = g_malloc (TSR_SSH_SFTP_CHUNK);
  sftp_session sftp;
  sftp_file f;
  gboolean ok = FALSE;

  sftp = open_sftp_locked (self, error);
  if (sftp == NULL)
    return FALSE;
  f = sftp_open (sftp, remote_path, O_RDONLY, 0);
  if (f == NULL)
    {
      set_sftp_error (error, self, sftp, "Cannot open", remote_path);
      sftp_free (sftp);
      return FALSE;
    }
  /* Replaced atomically: the destination appears only once whole. */
  out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, cancellable,
                        &local_error);
  if (out == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot write %s: %s"), local_path,
                   local_error->message);
      goto out;
    }
  for (;;)
    {
      ssize_t n = sftp_read (f, buf, TSR_SSH_SFTP_CHUNK);

      if (n < 0)
        {
          set_sftp_error (error, self, sftp, "Cannot read", remote_path);
          goto out;
        }
      if (n == 0)
        break;
      if (!g_output_stream_write_all (G_OUTPUT_STREAM (out), buf, n, NULL, cancellable,
                                      &local_error))
        {
          g_set_error (error, TSR_ERROR,
                       g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                           ? TSR_ERROR_CANCELLED
                           : TSR_ERROR_IO,
                       _ ("Cannot write %s: %s"), local_path, local_error->message);
          goto out;
        }
    }
  if (!g_output_stream_close (G_OUTPUT_STREAM (out), cancellable, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot write %s: %s"), local_path,
                   local_error->message);
      goto out;
    }
  ok = TRUE;

out:
  if (!ok && out != NULL)
    {
      /* Closing after a cancel leaves the old file in place and drops the temporary one. */
      g_autoptr (GCancellable) cancelled = g_cancellable_new ();
      g_cancellable_cancel (cancelled);
      g_output_stream_close (G_OUTPUT_STREAM (out), cancelled, NULL);
    }
  sftp_close (f);
  sftp_free (sftp);
  return ok;
}

/**
 * tsr_ssh_session_download:
 *
 * Copies @remote_path to @local_path over SFTP; @local_path is replaced only when the whole
 * file arrived.
 */
gboolean
tsr_ssh_session_download (TsrSshSession *self, const char *remote_path, const char *local_path,
                          GCancellable *cancellable, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (self), FALSE);
  g_mutex_lock (&self->mutex);
  ok = download_locked (self, remote_path, local_path, cancellable, error);
  g_mutex_unlock (&self->mutex);
  return ok;
}

static void
download_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Transfer *t = data;
  GError *error = NULL;

  if (tsr_ssh_session_download (source, t->from, t->to, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
tsr_ssh_session_download_async (TsrSshSession *self, const char *remote_path,
                                const char *local_path, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Transfer *t = g_new0 (Transfer, 1);

  t->from = g_strdup (remote_path);
  t->to = g_strdup (local_path);
  g_task_set_source_tag (task, tsr_ssh_session_download_async);
  g_task_set_task_data (task, t, (GDestroyNotify)transfer_free);
  run_on_worker (self, task, download_thread);
}

gboolean
tsr_ssh_session_download_finish (TsrSshSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Closes the connection; the next operation needs a connect first. */
void
tsr_ssh_session_disconnect (TsrSshSession *self)
{
  g_return_if_fail (TSR_IS_SSH_SESSION (self));
  g_mutex_lock (&self->mutex);
  disconnect_locked (self);
  g_mutex_unlock (&self->mutex);
}
