/* tsr-ssh-manager.c
 *
 * A broadcast runs every host's command at once, each on its own thread (a session is used by
 * one thread at a time, so one thread per host is the most parallelism there is), and returns
 * one reply per host in the order the hosts were added. One host failing does not fail the
 * others: the seed's broadcast_command reported per host too.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-ssh-manager.h"
#include "tsr-error.h"

struct _TsrSshManager
{
  GObject parent_instance;

  TsrSshKey *key;
  char *known_hosts_path;

  GMutex mutex;
  GPtrArray *names;     /* in the order added */
  GHashTable *sessions; /* name -> TsrSshSession */
};

G_DEFINE_FINAL_TYPE (TsrSshManager, tsr_ssh_manager, G_TYPE_OBJECT)

void
tsr_ssh_reply_free (TsrSshReply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->name);
  tsr_ssh_exec_result_free (reply->result);
  g_clear_error (&reply->error);
  g_free (reply);
}

static void
tsr_ssh_manager_finalize (GObject *object)
{
  TsrSshManager *self = TSR_SSH_MANAGER (object);

  g_clear_object (&self->key);
  g_free (self->known_hosts_path);
  g_ptr_array_unref (self->names);
  g_hash_table_unref (self->sessions);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (tsr_ssh_manager_parent_class)->finalize (object);
}

static void
tsr_ssh_manager_class_init (TsrSshManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_ssh_manager_finalize;
}

static void
tsr_ssh_manager_init (TsrSshManager *self)
{
  g_mutex_init (&self->mutex);
  self->names = g_ptr_array_new_with_free_func (g_free);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * tsr_ssh_manager_new:
 * @key: the key every session authenticates with
 * @known_hosts_path: the known_hosts file every session checks and adds to
 */
TsrSshManager *
tsr_ssh_manager_new (TsrSshKey *key, const char *known_hosts_path)
{
  TsrSshManager *self;

  g_return_val_if_fail (TSR_IS_SSH_KEY (key), NULL);
  g_return_val_if_fail (known_hosts_path != NULL, NULL);

  self = g_object_new (TSR_TYPE_SSH_MANAGER, NULL);
  self->key = g_object_ref (key);
  self->known_hosts_path = g_strdup (known_hosts_path);
  return self;
}

/**
 * tsr_ssh_manager_add_host:
 * @name: what the user calls the host; unique (%TSR_ERROR_EXISTS otherwise)
 * @key: (nullable): this host's key, when not the manager's
 *
 * Returns: (transfer none): the host's session, not connected yet
 */
TsrSshSession *
tsr_ssh_manager_add_host (TsrSshManager *self, const char *name, const char *user, const char *host,
                          guint16 port, TsrSshKey *key, GError **error)
{
  TsrSshSession *session;

  g_return_val_if_fail (TSR_IS_SSH_MANAGER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  g_mutex_lock (&self->mutex);
  if (g_hash_table_contains (self->sessions, name))
    {
      g_mutex_unlock (&self->mutex);
      g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS, _ ("There is already a host named %s"),
                   name);
      return NULL;
    }
  session =
      tsr_ssh_session_new (user, host, port, key != NULL ? key : self->key, self->known_hosts_path);
  g_hash_table_insert (self->sessions, g_strdup (name), session);
  g_ptr_array_add (self->names, g_strdup (name));
  g_mutex_unlock (&self->mutex);
  return session;
}

/* Returns: (transfer none) (nullable) */
TsrSshSession *
tsr_ssh_manager_get_session (TsrSshManager *self, const char *name)
{
  TsrSshSession *ret;

  g_return_val_if_fail (TSR_IS_SSH_MANAGER (self), NULL);
  g_mutex_lock (&self->mutex);
  ret = g_hash_table_lookup (self->sessions, name);
  g_mutex_unlock (&self->mutex);
  return ret;
}

/* Returns: (transfer full) (element-type utf8): the host names in the order added */
GPtrArray *
tsr_ssh_manager_list_hosts (TsrSshManager *self)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (TSR_IS_SSH_MANAGER (self), ret);
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->names->len; i++)
    g_ptr_array_add (ret, g_strdup (self->names->pdata[i]));
  g_mutex_unlock (&self->mutex);
  return ret;
}

static TsrSshSession *
dup_session (TsrSshManager *self, const char *name, GError **error)
{
  TsrSshSession *session;

  g_mutex_lock (&self->mutex);
  session = g_hash_table_lookup (self->sessions, name);
  if (session != NULL)
    g_object_ref (session);
  g_mutex_unlock (&self->mutex);
  if (session == NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no host named %s"), name);
  return session;
}

/* Connects to host @name unless it is connected already. */
gboolean
tsr_ssh_manager_connect (TsrSshManager *self, const char *name, GCancellable *cancellable,
                         GError **error)
{
  g_autoptr (TsrSshSession) session = NULL;

  g_return_val_if_fail (TSR_IS_SSH_MANAGER (self), FALSE);
  session = dup_session (self, name, error);
  if (session == NULL)
    return FALSE;
  return tsr_ssh_session_connect (session, cancellable, error);
}

/* Runs @command on host @name, connecting first when needed. */
TsrSshExecResult *
tsr_ssh_manager_exec (TsrSshManager *self, const char *name, const char *command,
                      GCancellable *cancellable, GError **error)
{
  g_autoptr (TsrSshSession) session = NULL;

  g_return_val_if_fail (TSR_IS_SSH_MANAGER (self), NULL);
  session = dup_session (self, name, error);
  if (session == NULL || !tsr_ssh_session_connect (session, cancellable, error))
    return NULL;
  return tsr_ssh_session_exec (session, command, cancellable, error);
}

typedef struct
{
  TsrSshSession *session;
  const char *command;
  GCancellable *cancellable;
  TsrSshReply *reply;
} BroadcastJob;

static gpointer
broadcast_thread (gpointer data)
{
  BroadcastJob *job = data;

  if (tsr_ssh_session_connect (job->session, job->cancellable, &job->reply->error))
    job->reply->result =
        tsr_ssh_session_exec (job->session, job->command, job->cancellable, &job->reply->error);
  return NULL;
}

/**
 * tsr_ssh_manager_broadcast:
 *
 * The seed's broadcast_command: runs @command on every host at once, connecting where
 * needed.
 *
 * Returns: (transfer full) (element-type TsrSshReply): one reply per host, in the order the
 * hosts were added
 */
GPtrArray *
tsr_ssh_manager_broadcast (TsrSshManager *self, const char *command, GCancellable *cancellable)
{
  GPtrArray *replies = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_ssh_reply_free);
  g_autoptr (GPtrArray) names = NULL;
  g_autofree BroadcastJob *jobs = NULL;
  g_autofree GThread **threads = NULL;

  g_return_val_if_fail (TSR_IS_SSH_MANAGER (self), replies);
  g_return_val_if_fail (command != NULL, replies);

  names = tsr_ssh_manager_list_hosts (self);
  jobs = g_new0 (BroadcastJob, names->len);
  threads = g_new0 (GThread *, names->len);
  for (guint i = 0; i < names->len; i++)
    {
      jobs[i].session = dup_session (self, names->pdata[i], NULL);
      jobs[i].command = command;
      jobs[i].cancellable = cancellable;
      jobs[i].reply = g_new0 (TsrSshReply, 1);
      jobs[i].reply->name = g_strdup (names->pdata[i]);
      g_ptr_array_add (replies, jobs[i].reply);
      threads[i] = g_thread_new ("tsr-ssh-broadcast", broadcast_thread, &jobs[i]);
    }
  for (guint i = 0; i < names->len; i++)
    {
      g_thread_join (threads[i]);
      g_object_unref (jobs[i].session);
    }
  return replies;
}

static void
broadcast_task (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_task_return_pointer (task, tsr_ssh_manager_broadcast (source, data, cancellable),
                         (GDestroyNotify)g_ptr_array_unref);
}

void
tsr_ssh_manager_broadcast_async (TsrSshManager *self, const char *command,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tsr_ssh_manager_broadcast_async);
  g_task_set_task_data (task, g_strdup (command), g_free);
  g_task_run_in_thread (task, broadcast_task);
}

/* Returns: (transfer full) (element-type TsrSshReply) */
GPtrArray *
tsr_ssh_manager_broadcast_finish (TsrSshManager *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
tsr_ssh_manager_disconnect_all (TsrSshManager *self)
{
  g_autoptr (GPtrArray) names = NULL;

  g_return_if_fail (TSR_IS_SSH_MANAGER (self));
  names = tsr_ssh_manager_list_hosts (self);
  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr (TsrSshSession) session = dup_session (self, names->pdata[i], NULL);
      if (session != NULL)
        tsr_ssh_session_disconnect (session);
    }
}
