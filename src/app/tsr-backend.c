/* tsr-backend.c: the engine as the app sees it
 *
 * Owns the cluster and the accounts of one data dir. Everything that touches the disk, the
 * network or a password hash runs on a worker thread; results come back on the main context.
 * Engine signals arrive there too, and node updates are coalesced so the views redraw a few
 * times a second however busy the cluster is.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tsr-backend.h"

struct _TsrBackend
{
  GObject parent_instance;

  char *data_dir;
  TsrCluster *cluster;
  TsrAccounts *accounts;
  gboolean accounts_ready;
  gboolean cluster_ready;
  char *start_error;
  guint health_interval; /* seconds; the cluster's until it is ready */

  char *username;
  char *token;
  int backup_codes_left; /* after the last sign-in spent a backup code; -1: it spent none */

  GListStore *files;     /* TsrFileItem */
  GListStore *transfers; /* TsrTransfer */
  GPtrArray *nodes;      /* TsrNodeStatus, the last snapshot */
  char *up_nodes;        /* which nodes counted as up when file health was last computed */
  guint nodes_source;
  guint files_source;       /* a reload waiting out TSR_BACKEND_COALESCE_MS */
  gint64 files_reloaded_at; /* when the last reload began */
  gboolean files_loading;
  gboolean files_dirty;
  GCancellable *cancellable; /* background work, cancelled at shutdown */
  GQueue dropped;            /* GFile: files to upload, looked at one after another */
  gboolean dropped_stale;    /* the head's look was under way when its user signed out */
};

G_DEFINE_FINAL_TYPE (TsrBackend, tsr_backend, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ACCOUNTS_READY,
  PROP_CLUSTER_READY,
  PROP_START_ERROR,
  PROP_USERNAME,
  PROP_HEALTH_INTERVAL,
  N_PROPS
};

enum
{
  SIGNAL_NODES_CHANGED,
  SIGNAL_TRANSFER_FINISHED,
  SIGNAL_NOTICE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void reload_files (TsrBackend *self);

/* ---- secrets ---- */

static void
wipe_string (char *s)
{
  if (s != NULL)
    {
      explicit_bzero (s, strlen (s));
      g_free (s);
    }
}

typedef struct
{
  char *username;
  char *email;
  char *secret; /* password */
  char *code;
  char *current_code; /* confirming a switch of authenticator: one of the working two-factor */
  char *id;           /* a node's or a file's */
  gboolean enabled;
  TsrNetemSettings netem;
  int backup_codes_left; /* signing in: as TsrLogin's */
} TaskData;

static void
task_data_free (gpointer data)
{
  TaskData *d = data;
  g_free (d->username);
  g_free (d->email);
  wipe_string (d->secret);
  wipe_string (d->code);
  wipe_string (d->current_code);
  g_free (d->id);
  g_free (d);
}

static GTask *
new_task (TsrBackend *self, GCancellable *cancellable, GAsyncReadyCallback callback,
          gpointer user_data, gpointer tag, TaskData **data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  *data = g_new0 (TaskData, 1);
  g_task_set_task_data (task, *data, task_data_free);
  return task;
}

/* ---- starting ---- */

typedef struct
{
  TsrCluster *cluster;
  TsrAccounts *accounts;
} Opened;

static void
opened_free (Opened *o)
{
  g_clear_object (&o->cluster);
  g_clear_object (&o->accounts);
  g_free (o);
}

static void
open_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  g_autoptr (GError) error = NULL;
  g_autofree char *accounts_path = g_build_filename (self->data_dir, "accounts.json", NULL);
  Opened *o = g_new0 (Opened, 1);

  /* Opening takes the data dir's lock, so the accounts are ours before they are read. */
  o->cluster = tsr_cluster_open (self->data_dir, &error);
  if (o->cluster != NULL)
    o->accounts = tsr_accounts_load (accounts_path, &error);
  if (o->accounts == NULL)
    {
      opened_free (o);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, o, (GDestroyNotify)opened_free);
}

static void
start_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  GError *error = NULL;

  if (tsr_cluster_start (self->cluster, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
set_start_error (TsrBackend *self, const GError *error)
{
  g_free (self->start_error);
  self->start_error = g_strdup (error->message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_START_ERROR]);
}

/* File health depends only on which nodes are up (enabled and answering): "Node_01 Node_03 ". */
static char *
describe_up_nodes (GPtrArray *nodes)
{
  GString *up = g_string_new (NULL);

  for (guint i = 0; i < nodes->len; i++)
    {
      const TsrNodeStatus *s = nodes->pdata[i];
      if (tsr_node_status_is_up (s))
        g_string_append_printf (up, "%s ", s->node_id);
    }
  return g_string_free (up, FALSE);
}

static void
snapshot_nodes (TsrBackend *self)
{
  g_autofree char *up = NULL;

  g_clear_pointer (&self->nodes, g_ptr_array_unref);
  self->nodes = tsr_cluster_dup_node_status (self->cluster);
  /* Statistics change several times a second during transfers; walking every chunk of every
   * file is only worth it when a node came or went. */
  up = describe_up_nodes (self->nodes);
  if (g_strcmp0 (up, self->up_nodes) != 0)
    {
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->files)); i++)
        {
          g_autoptr (TsrFileItem) item = g_list_model_get_item (G_LIST_MODEL (self->files), i);
          tsr_file_item_update_health (item, self->cluster);
        }
      g_free (self->up_nodes);
      self->up_nodes = g_steal_pointer (&up);
    }
  g_signal_emit (self, signals[SIGNAL_NODES_CHANGED], 0);
}

static gboolean
nodes_timeout (gpointer data)
{
  TsrBackend *self = data;

  self->nodes_source = 0;
  if (self->cluster != NULL)
    snapshot_nodes (self);
  return G_SOURCE_REMOVE;
}

/* Node states and statistics arrive often during transfers: redraw at most every 250 ms. */
static void
queue_nodes_update (TsrBackend *self)
{
  if (self->nodes_source == 0)
    self->nodes_source = g_timeout_add (TSR_BACKEND_COALESCE_MS, nodes_timeout, self);
}

static void
on_start_done (GObject *source, GAsyncResult *result, gpointer data)
{
  TsrBackend *self = TSR_BACKEND (source);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_start_error (self, error);
      return;
    }
  self->cluster_ready = TRUE;
  {
    g_autoptr (GPtrArray) nodes = tsr_cluster_dup_node_status (self->cluster);

    for (guint i = 0; i < nodes->len; i++)
      {
        TsrNodeStatus *s = nodes->pdata[i];
        if (s->problem != NULL)
          {
            g_autofree char *message =
                g_strdup_printf (_ ("%s is not running: %s"), s->node_id, s->problem);
            g_signal_emit (self, signals[SIGNAL_NOTICE], 0, message);
          }
      }
  }
  /* tsr_cluster_start() set the engine's default interval; the user's choice wins. */
  tsr_cluster_set_health_interval (self->cluster, self->health_interval);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLUSTER_READY]);
  snapshot_nodes (self);
  if (self->username != NULL)
    reload_files (self);
}

static void
on_cluster_signal (TsrBackend *self)
{
  queue_nodes_update (self);
}

static gboolean
files_timeout (gpointer data)
{
  TsrBackend *self = data;

  self->files_source = 0;
  reload_files (self);
  return G_SOURCE_REMOVE;
}

/* After each upload of a folder's worth of files: reloading the list means reading every
 * file's manifest summary, so at most every 250 ms (the first one at once). */
static void
on_files_changed (TsrBackend *self)
{
  gint64 since = (g_get_monotonic_time () - self->files_reloaded_at) / 1000;

  if (self->files_source != 0)
    return;
  if (since >= TSR_BACKEND_COALESCE_MS)
    reload_files (self);
  else
    self->files_source =
        g_timeout_add ((guint)(TSR_BACKEND_COALESCE_MS - since), files_timeout, self);
}

static TsrTransfer *
find_transfer (TsrBackend *self, GCancellable *cancellable)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->transfers)); i++)
    {
      g_autoptr (TsrTransfer) t = g_list_model_get_item (G_LIST_MODEL (self->transfers), i);
      if (tsr_transfer_get_cancellable (t) == cancellable)
        return t;
    }
  return NULL;
}

static void
on_transfer_progress (TsrCluster *cluster, GCancellable *cancellable, const char *name,
                      guint64 done, guint64 total, double rate, TsrBackend *self)
{
  TsrTransfer *t = cancellable != NULL ? find_transfer (self, cancellable) : NULL;

  if (t != NULL)
    tsr_transfer_set_progress (t, done, total, rate);
  /* The links' statistics move with every transfer; the snapshot is coalesced. */
  queue_nodes_update (self);
}

static void
on_open_done (GObject *source, GAsyncResult *result, gpointer data)
{
  TsrBackend *self = TSR_BACKEND (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  Opened *o = g_task_propagate_pointer (G_TASK (result), &error);

  if (o == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_start_error (self, error);
      return;
    }
  self->cluster = g_steal_pointer (&o->cluster);
  self->accounts = g_steal_pointer (&o->accounts);
  opened_free (o);
  g_signal_connect_object (self->cluster, "node-state-changed", G_CALLBACK (on_cluster_signal),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->cluster, "statistics-changed", G_CALLBACK (on_cluster_signal),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->cluster, "files-changed", G_CALLBACK (on_files_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->cluster, "transfer-progress", G_CALLBACK (on_transfer_progress),
                           self, 0);
  self->accounts_ready = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCOUNTS_READY]);

  /* Starting the nodes and the first health check take a moment: sign-in does not wait. */
  task = g_task_new (self, self->cancellable, on_start_done, NULL);
  g_task_run_in_thread (task, start_thread);
}

/**
 * tsr_backend_start:
 *
 * Opens the data dir and starts its nodes in the background. #TsrBackend:accounts-ready
 * turns on when sign-in can proceed, #TsrBackend:cluster-ready when files can move;
 * #TsrBackend:start-error says why when neither happens.
 */
void
tsr_backend_start (TsrBackend *self)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (TSR_IS_BACKEND (self));
  g_return_if_fail (self->cluster == NULL);

  task = g_task_new (self, self->cancellable, on_open_done, NULL);
  g_task_run_in_thread (task, open_thread);
}

/**
 * tsr_backend_shutdown:
 *
 * Cancels the transfers and stops the nodes. Waits for the cancelled work to unwind, which
 * is quick: call it when the app quits.
 */
void
tsr_backend_shutdown (TsrBackend *self)
{
  g_return_if_fail (TSR_IS_BACKEND (self));

  g_cancellable_cancel (self->cancellable);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->transfers)); i++)
    {
      g_autoptr (TsrTransfer) t = g_list_model_get_item (G_LIST_MODEL (self->transfers), i);
      tsr_transfer_cancel (t);
    }
  g_clear_handle_id (&self->nodes_source, g_source_remove);
  g_clear_handle_id (&self->files_source, g_source_remove);
  if (self->cluster != NULL)
    tsr_cluster_stop (self->cluster);
}

/* ---- accounts ---- */

static void
set_username (TsrBackend *self, const char *username)
{
  if (g_strcmp0 (self->username, username) == 0)
    return;
  g_free (self->username);
  self->username = g_strdup (username);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USERNAME]);
}

static gboolean
login_and_open_catalog (TsrBackend *self, TaskData *d, char **token, GError **error)
{
  g_autoptr (TsrLogin) login = NULL;

  login = tsr_accounts_login (self->accounts, d->username, d->secret, d->code, "the Tessera app",
                              error);
  if (login == NULL)
    return FALSE;
  if (!tsr_cluster_set_user (self->cluster, login->username, login->data_key, error))
    return FALSE;
  *token = g_strdup (login->token);
  d->backup_codes_left = login->backup_codes_left;
  return TRUE;
}

static void
sign_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  TaskData *d = task_data;
  GError *error = NULL;
  char *token = NULL;

  if (d->email != NULL /* registering first */
      && !tsr_accounts_register (self->accounts, d->username, d->email, d->secret, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (!login_and_open_catalog (self, d, &token, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, token, (GDestroyNotify)wipe_string);
}

static gboolean
sign_in_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  TaskData *d = g_task_get_task_data (G_TASK (result));
  char *token = g_task_propagate_pointer (G_TASK (result), error);

  if (token == NULL)
    return FALSE;
  wipe_string (self->token);
  self->token = token;
  self->backup_codes_left = d->backup_codes_left;
  set_username (self, d->username);
  if (self->cluster_ready)
    reload_files (self);
  return TRUE;
}

void
tsr_backend_sign_in_async (TsrBackend *self, const char *username, const char *password,
                           const char *code, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  g_return_if_fail (TSR_IS_BACKEND (self) && self->accounts_ready);

  task = new_task (self, cancellable, callback, user_data, tsr_backend_sign_in_async, &d);
  d->username = g_strdup (username);
  d->secret = g_strdup (password);
  d->code = code != NULL && *code != '\0' ? g_strdup (code) : NULL;
  g_task_run_in_thread (task, sign_in_thread);
}

gboolean
tsr_backend_sign_in_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return sign_in_finish (self, result, error);
}

/**
 * tsr_backend_register_async:
 *
 * Creates the account and signs in to it.
 */
void
tsr_backend_register_async (TsrBackend *self, const char *username, const char *email,
                            const char *password, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  g_return_if_fail (TSR_IS_BACKEND (self) && self->accounts_ready);

  task = new_task (self, cancellable, callback, user_data, tsr_backend_register_async, &d);
  d->username = g_strdup (username);
  d->email = g_strdup (email);
  d->secret = g_strdup (password);
  g_task_run_in_thread (task, sign_in_thread);
}

gboolean
tsr_backend_register_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return sign_in_finish (self, result, error);
}

static void
logout_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  TaskData *d = task_data;
  g_autoptr (GError) error = NULL;

  if (!tsr_accounts_logout (self->accounts, d->secret, &error))
    g_message ("Signing out: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

/**
 * tsr_backend_cancel_transfers:
 *
 * Cancels every transfer, and drops the files dropped and not yet looked at: none of them
 * starts later (least of all into the catalog of whoever signs in next). Each transfer ends
 * with #TsrBackend::transfer-finished once the engine has undone its part.
 */
void
tsr_backend_cancel_transfers (TsrBackend *self)
{
  g_return_if_fail (TSR_IS_BACKEND (self));

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->transfers)); i++)
    {
      g_autoptr (TsrTransfer) t = g_list_model_get_item (G_LIST_MODEL (self->transfers), i);
      tsr_transfer_cancel (t);
    }
  /* The one being looked at ends when its look does. */
  while (g_queue_get_length (&self->dropped) > 1)
    g_object_unref (g_queue_pop_tail (&self->dropped));
  self->dropped_stale = !g_queue_is_empty (&self->dropped);
}

/**
 * tsr_backend_sign_out:
 *
 * Cancels the user's transfers, forgets the session and empties the file list.
 */
void
tsr_backend_sign_out (TsrBackend *self)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  g_return_if_fail (TSR_IS_BACKEND (self));

  tsr_backend_cancel_transfers (self);
  g_list_store_remove_all (self->files);
  set_username (self, NULL);
  if (self->token == NULL)
    return;
  task = new_task (self, NULL, NULL, NULL, tsr_backend_sign_out, &d);
  d->secret = g_steal_pointer (&self->token);
  g_task_run_in_thread (task, logout_thread);
}

const char *
tsr_backend_get_username (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return self->username;
}

/**
 * tsr_backend_get_backup_codes_left:
 *
 * Returns: how many backup codes are left when the last sign-in spent one, or -1
 */
int
tsr_backend_get_backup_codes_left (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), -1);
  return self->backup_codes_left;
}

gboolean
tsr_backend_user_has_otp (TsrBackend *self, const char *username)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), FALSE);
  return self->accounts != NULL && username != NULL &&
         tsr_accounts_user_has_otp (self->accounts, username);
}

static void
otp_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  TaskData *d = task_data;
  GError *error = NULL;
  gpointer tag = g_task_get_source_tag (task);

  if (tag == tsr_backend_otp_begin_async)
    {
      TsrOtpEnrollment *e = tsr_accounts_otp_begin (self->accounts, d->username, &error);
      if (e == NULL)
        g_task_return_error (task, error);
      else
        g_task_return_pointer (task, e, (GDestroyNotify)tsr_otp_enrollment_free);
      return;
    }
  if (tag == tsr_backend_otp_confirm_async
          ? tsr_accounts_otp_confirm (self->accounts, d->username, d->secret, d->current_code,
                                      d->code, &error)
          : tsr_accounts_otp_disable (self->accounts, d->username, d->secret, d->code, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
run_otp_task (TsrBackend *self, gpointer tag, const char *password, const char *current_code,
              const char *code, GCancellable *cancellable, GAsyncReadyCallback callback,
              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  task = new_task (self, cancellable, callback, user_data, tag, &d);
  d->username = g_strdup (self->username);
  d->secret = g_strdup (password);
  d->code = g_strdup (code);
  d->current_code = current_code != NULL && *current_code != '\0' ? g_strdup (current_code) : NULL;
  if (self->username == NULL)
    g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_AUTH, "%s", _ ("Sign in first"));
  else
    g_task_run_in_thread (task, otp_thread);
}

void
tsr_backend_otp_begin_async (TsrBackend *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TSR_IS_BACKEND (self));
  run_otp_task (self, tsr_backend_otp_begin_async, NULL, NULL, NULL, cancellable, callback,
                user_data);
}

TsrOtpEnrollment *
tsr_backend_otp_begin_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tsr_backend_otp_confirm_async:
 * @password: the user's password
 * @current_code: (nullable): when two-factor is on already, a code of the working authenticator
 *   or a backup code
 * @code: the new authenticator app's code
 *
 * Confirms the enrollment begun with tsr_backend_otp_begin_async() on the worker thread
 * (tsr_accounts_otp_confirm()); the copies of the password and codes are wiped when it ends.
 */
void
tsr_backend_otp_confirm_async (TsrBackend *self, const char *password, const char *current_code,
                               const char *code, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TSR_IS_BACKEND (self));
  run_otp_task (self, tsr_backend_otp_confirm_async, password, current_code, code, cancellable,
                callback, user_data);
}

gboolean
tsr_backend_otp_confirm_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
tsr_backend_otp_disable_async (TsrBackend *self, const char *password, const char *code,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_return_if_fail (TSR_IS_BACKEND (self));
  run_otp_task (self, tsr_backend_otp_disable_async, password, NULL, code, cancellable, callback,
                user_data);
}

gboolean
tsr_backend_otp_disable_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- files ---- */

static void
list_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  GError *error = NULL;
  /* Summaries: a file's chunks are read only when the chunk map shows them
   * (tsr_backend_load_manifest_async()). */
  GPtrArray *files = tsr_cluster_list_file_summaries (self->cluster, &error);

  if (files == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, files, (GDestroyNotify)g_ptr_array_unref);
}

/* Merges by file id so the selection and scroll position survive a reload: items of files
 * that are gone are removed, the others take their new manifest (a repair may have moved
 * copies), and new files are appended in one change. By hash, not by search: after each upload
 * of a folder's worth of files the whole list is merged again. */
static void
on_list_done (GObject *source, GAsyncResult *result, gpointer data)
{
  TsrBackend *self = TSR_BACKEND (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) manifests = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr (GHashTable) fresh = NULL; /* file id -> its index in @manifests */
  g_autoptr (GPtrArray) added = NULL;
  GListModel *model = G_LIST_MODEL (self->files);
  guint i = 0;

  self->files_loading = FALSE;
  if (manifests == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, signals[SIGNAL_NOTICE], 0, error->message);
    }
  else if (self->username != NULL)
    {
      fresh = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint k = 0; k < manifests->len; k++)
        g_hash_table_insert (fresh, ((TsrManifest *)manifests->pdata[k])->file_id,
                             GUINT_TO_POINTER (k));
      while (i < g_list_model_get_n_items (model))
        {
          g_autoptr (TsrFileItem) item = g_list_model_get_item (model, i);
          gpointer k;

          if (!g_hash_table_steal_extended (fresh, tsr_file_item_get_file_id (item), NULL, &k))
            {
              g_list_store_remove (self->files, i);
              continue;
            }
          /* The item owns it now. */
          tsr_file_item_set_manifest (item,
                                      g_steal_pointer (&manifests->pdata[GPOINTER_TO_UINT (k)]));
          tsr_file_item_update_health (item, self->cluster);
          i++;
        }
      added = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint k = 0; k < manifests->len; k++)
        if (manifests->pdata[k] != NULL)
          {
            TsrFileItem *item = tsr_file_item_new (g_steal_pointer (&manifests->pdata[k]));

            tsr_file_item_update_health (item, self->cluster);
            g_ptr_array_add (added, item);
          }
      g_list_store_splice (self->files, g_list_model_get_n_items (model), 0, added->pdata,
                           added->len);
    }
  if (self->files_dirty)
    reload_files (self);
}

static void
reload_files (TsrBackend *self)
{
  g_autoptr (GTask) task = NULL;

  if (self->cluster == NULL || self->username == NULL)
    return;
  if (self->files_loading)
    {
      self->files_dirty = TRUE; /* once more when this load ends */
      return;
    }
  self->files_loading = TRUE;
  self->files_dirty = FALSE;
  self->files_reloaded_at = g_get_monotonic_time ();
  task = g_task_new (self, self->cancellable, on_list_done, NULL);
  g_task_run_in_thread (task, list_thread);
}

GListModel *
tsr_backend_get_files (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return G_LIST_MODEL (self->files);
}

GListModel *
tsr_backend_get_transfers (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return G_LIST_MODEL (self->transfers);
}

static void
transfer_finished (TsrBackend *self, TsrTransfer *transfer, const GError *error)
{
  guint pos;

  if (g_list_store_find (self->transfers, transfer, &pos))
    g_list_store_remove (self->transfers, pos);
  g_signal_emit (self, signals[SIGNAL_TRANSFER_FINISHED], 0, transfer, error);
}

/* Whether the list has a file called @name other than @file_id. */
static gboolean
has_other_file_named (TsrBackend *self, const char *name, const char *file_id)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->files));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (TsrFileItem) item = g_list_model_get_item (G_LIST_MODEL (self->files), i);

      if (g_strcmp0 (tsr_file_item_get_name (item), name) == 0 &&
          g_strcmp0 (tsr_file_item_get_file_id (item), file_id) != 0)
        return TRUE;
    }
  return FALSE;
}

static void
on_uploaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrTransfer) transfer = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrManifest) manifest = NULL;
  TsrBackend *self;

  manifest = tsr_cluster_upload_finish (TSR_CLUSTER (source), result, &error);
  self = g_object_get_data (G_OBJECT (transfer), "backend");
  /* The file id is the content's hash: the same content under another name is the file stored
   * already, under its first name, and the list shows that one. */
  if (manifest != NULL &&
      g_strcmp0 (manifest->name, g_object_get_data (G_OBJECT (transfer), "stored-name")) != 0)
    {
      g_autofree char *message =
          g_strdup_printf (_ ("“%s” has the same content as “%s”, which is stored already"),
                           tsr_transfer_get_name (transfer), manifest->name);
      g_signal_emit (self, signals[SIGNAL_NOTICE], 0, message);
    }
  /* Other content under a name the list has: both are kept, and two rows read the same. */
  else if (manifest != NULL && has_other_file_named (self, manifest->name, manifest->file_id))
    {
      g_autofree char *message = g_strdup_printf (
          _ ("Another file named “%s” is stored already; both are kept, told apart by when "
             "they were uploaded"),
          manifest->name);
      g_signal_emit (self, signals[SIGNAL_NOTICE], 0, message);
    }
  transfer_finished (self, transfer, error);
}

static void
start_upload (TsrBackend *self, GFile *file, GFileInfo *info)
{
  g_autoptr (TsrTransfer) transfer = NULL;

  transfer = tsr_transfer_new (TSR_TRANSFER_UPLOAD, g_file_info_get_display_name (info),
                               g_file_info_get_size (info));
  g_object_set_data_full (G_OBJECT (transfer), "backend", g_object_ref (self), g_object_unref);
  /* The name the upload stores it under, as the engine makes it: GIO's display name says
   * " (invalid encoding)" where the engine's shows U+FFFD. */
  if (g_file_peek_path (file) != NULL)
    g_object_set_data_full (G_OBJECT (transfer), "stored-name",
                            g_filename_display_basename (g_file_peek_path (file)), g_free);
  g_list_store_append (self->transfers, transfer);
  tsr_cluster_upload_async (self->cluster, file, tsr_transfer_get_cancellable (transfer),
                            on_uploaded, g_object_ref (transfer));
}

static void look_at_next_dropped (TsrBackend *self);

static void
on_upload_info (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrBackend) self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileInfo) info = g_file_query_info_finish (G_FILE (source), result, &error);
  g_autofree char *message = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Shutting down: the rest are not looked at either. */
      g_queue_clear_full (&self->dropped, g_object_unref);
      return;
    }
  if (self->dropped_stale)
    self->dropped_stale = FALSE; /* dropped before a sign-out: not uploaded, nothing said */
  else if (info == NULL)
    {
      g_autofree char *name = g_file_get_parse_name (G_FILE (source));
      message = g_strdup_printf (_ ("Cannot upload “%s”: %s"), name, error->message);
    }
  else if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    /* The catalog is flat, so a folder's layout could not come back: say so and let the
     * user choose the files. */
    message = g_strdup_printf (_ ("“%s” is a folder. Tessera stores files: open the folder and "
                                  "drop the files in it."),
                               g_file_info_get_display_name (info));
  else if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    message = g_strdup_printf (_ ("“%s” is not a regular file and cannot be uploaded."),
                               g_file_info_get_display_name (info));
  else if (self->cluster_ready && self->username != NULL)
    start_upload (self, G_FILE (source), info);
  else
    message = g_strdup (_ ("The nodes are still starting; try again in a moment."));
  if (message != NULL)
    g_signal_emit (self, signals[SIGNAL_NOTICE], 0, message);
  g_object_unref (g_queue_pop_head (&self->dropped));
  look_at_next_dropped (self);
}

/* One at a time, so that the uploads start, and their rows appear, in the order dropped. */
static void
look_at_next_dropped (TsrBackend *self)
{
  GFile *file = g_queue_peek_head (&self->dropped);

  if (file != NULL)
    g_file_query_info_async (file,
                             G_FILE_ATTRIBUTE_STANDARD_TYPE
                             "," G_FILE_ATTRIBUTE_STANDARD_SIZE
                             "," G_FILE_ATTRIBUTE_STANDARD_DISPLAY_NAME,
                             G_FILE_QUERY_INFO_NONE, G_PRIORITY_DEFAULT, self->cancellable,
                             on_upload_info, g_object_ref (self));
}

/**
 * tsr_backend_upload_files:
 * @files: (element-type GFile): files chosen or dropped
 *
 * Starts one upload per regular file. Folders and special files are refused with a notice.
 */
void
tsr_backend_upload_files (TsrBackend *self, GList *files)
{
  gboolean idle;

  g_return_if_fail (TSR_IS_BACKEND (self));

  idle = g_queue_is_empty (&self->dropped);
  for (GList *l = files; l != NULL; l = l->next)
    g_queue_push_tail (&self->dropped, g_object_ref (l->data));
  if (idle)
    look_at_next_dropped (self);
}

static void
on_downloaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrTransfer) transfer = data;
  g_autoptr (GError) error = NULL;
  TsrBackend *self = g_object_get_data (G_OBJECT (transfer), "backend");

  tsr_cluster_download_finish (TSR_CLUSTER (source), result, &error);
  transfer_finished (self, transfer, error);
}

/**
 * tsr_backend_download:
 * @destination: where to write; replaced if it exists (the save dialog asked)
 *
 * Returns: (transfer none): the transfer, until #TsrBackend::transfer-finished
 */
TsrTransfer *
tsr_backend_download (TsrBackend *self, TsrFileItem *item, GFile *destination)
{
  g_autoptr (TsrTransfer) transfer = NULL;
  const TsrManifest *m;

  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  g_return_val_if_fail (TSR_IS_FILE_ITEM (item), NULL);
  g_return_val_if_fail (self->cluster != NULL, NULL);

  m = tsr_file_item_get_manifest (item);
  transfer = tsr_transfer_new (TSR_TRANSFER_DOWNLOAD, m->name, m->size);
  g_object_set_data_full (G_OBJECT (transfer), "backend", g_object_ref (self), g_object_unref);
  g_list_store_append (self->transfers, transfer);
  tsr_cluster_download_async (self->cluster, m->file_id, destination, TRUE,
                              tsr_transfer_get_cancellable (transfer), on_downloaded,
                              g_object_ref (transfer));
  return transfer;
}

static void
delete_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  TaskData *d = task_data;
  GError *error = NULL;

  if (tsr_cluster_delete (self->cluster, d->id, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
tsr_backend_delete_async (TsrBackend *self, const char *file_id, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  g_return_if_fail (TSR_IS_BACKEND (self) && self->cluster != NULL);

  task = new_task (self, cancellable, callback, user_data, tsr_backend_delete_async, &d);
  d->id = g_strdup (file_id);
  g_task_run_in_thread (task, delete_thread);
}

gboolean
tsr_backend_delete_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
load_manifest_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  TaskData *d = task_data;
  GError *error = NULL;
  TsrManifest *m = tsr_cluster_get_file (self->cluster, d->id, &error);

  if (m == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, m, (GDestroyNotify)tsr_manifest_free);
}

/**
 * tsr_backend_load_manifest_async:
 *
 * Reads @file_id's whole manifest, chunks and all, on a worker thread: the file list holds
 * only summaries.
 */
void
tsr_backend_load_manifest_async (TsrBackend *self, const char *file_id, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  g_return_if_fail (TSR_IS_BACKEND (self) && self->cluster != NULL);

  task = new_task (self, cancellable, callback, user_data, tsr_backend_load_manifest_async, &d);
  d->id = g_strdup (file_id);
  g_task_run_in_thread (task, load_manifest_thread);
}

/**
 * tsr_backend_load_manifest_finish:
 *
 * Returns: (transfer full): the manifest, or %NULL with @error
 */
TsrManifest *
tsr_backend_load_manifest_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- nodes ---- */

/**
 * tsr_backend_get_nodes:
 *
 * Returns: (transfer none) (element-type TsrNodeStatus) (nullable): the last snapshot
 */
GPtrArray *
tsr_backend_get_nodes (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return self->nodes;
}

static void
node_enable_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  TaskData *d = task_data;
  GError *error = NULL;

  if (tsr_cluster_set_node_enabled (self->cluster, d->id, d->enabled, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
tsr_backend_set_node_enabled_async (TsrBackend *self, const char *node_id, gboolean enabled,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  g_return_if_fail (TSR_IS_BACKEND (self) && self->cluster_ready);

  task = new_task (self, cancellable, callback, user_data, tsr_backend_set_node_enabled_async, &d);
  d->id = g_strdup (node_id);
  d->enabled = enabled;
  g_task_run_in_thread (task, node_enable_thread);
}

gboolean
tsr_backend_set_node_enabled_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
health_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  g_autoptr (GError) error = NULL;

  if (!tsr_cluster_check_health (self->cluster, cancellable, &error))
    g_message ("Health check: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
on_refreshed (GObject *source, GAsyncResult *result, gpointer data)
{
  TsrBackend *self = TSR_BACKEND (source);

  if (g_task_propagate_boolean (G_TASK (result), NULL))
    {
      queue_nodes_update (self);
      reload_files (self);
    }
}

/**
 * tsr_backend_refresh:
 *
 * Checks every node now and reloads the file list (F5).
 */
void
tsr_backend_refresh (TsrBackend *self)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (TSR_IS_BACKEND (self));
  if (!self->cluster_ready)
    return;
  task = g_task_new (self, self->cancellable, on_refreshed, NULL);
  g_task_run_in_thread (task, health_thread);
}

/* ---- the emulated network ---- */

static void
netem_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  TsrBackend *self = source;
  TaskData *d = task_data;
  GError *error = NULL;
  gboolean ok;

  /* Saving the cluster config is a durable write: not on the main loop. */
  if (d->id != NULL)
    ok = tsr_cluster_set_netem_profile (self->cluster, d->id, &error);
  else
    ok = tsr_cluster_set_netem (self->cluster, NULL, &d->netem, &error);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * tsr_backend_set_netem_async:
 * @profile: (nullable): "off" or "seed"; %NULL to use @settings
 * @settings: (nullable): every node's link, when @profile is %NULL
 *
 * Changes the emulated network at once, transfers under way included, and saves it.
 */
void
tsr_backend_set_netem_async (TsrBackend *self, const char *profile,
                             const TsrNetemSettings *settings, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TaskData *d;

  g_return_if_fail (TSR_IS_BACKEND (self) && self->cluster_ready);
  g_return_if_fail (profile != NULL || settings != NULL);

  task = new_task (self, cancellable, callback, user_data, tsr_backend_set_netem_async, &d);
  d->id = g_strdup (profile);
  if (settings != NULL)
    d->netem = *settings;
  g_task_run_in_thread (task, netem_thread);
}

gboolean
tsr_backend_set_netem_finish (TsrBackend *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- the object ---- */

const char *
tsr_backend_get_data_dir (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return self->data_dir;
}

gboolean
tsr_backend_get_accounts_ready (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), FALSE);
  return self->accounts_ready;
}

gboolean
tsr_backend_get_cluster_ready (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), FALSE);
  return self->cluster_ready;
}

const char *
tsr_backend_get_start_error (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return self->start_error;
}

TsrCluster *
tsr_backend_get_cluster (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return self->cluster;
}

TsrAccounts *
tsr_backend_get_accounts (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), NULL);
  return self->accounts;
}

static void
tsr_backend_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TsrBackend *self = TSR_BACKEND (object);

  switch (prop_id)
    {
      case PROP_ACCOUNTS_READY:
        g_value_set_boolean (value, self->accounts_ready);
        break;
      case PROP_CLUSTER_READY:
        g_value_set_boolean (value, self->cluster_ready);
        break;
      case PROP_START_ERROR:
        g_value_set_string (value, self->start_error);
        break;
      case PROP_USERNAME:
        g_value_set_string (value, self->username);
        break;
      case PROP_HEALTH_INTERVAL:
        g_value_set_uint (value, self->health_interval);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_backend_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TsrBackend *self = TSR_BACKEND (object);

  switch (prop_id)
    {
      case PROP_HEALTH_INTERVAL:
        tsr_backend_set_health_interval (self, g_value_get_uint (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_backend_dispose (GObject *object)
{
  TsrBackend *self = TSR_BACKEND (object);

  tsr_backend_shutdown (self);
  G_OBJECT_CLASS (tsr_backend_parent_class)->dispose (object);
}

static void
tsr_backend_finalize (GObject *object)
{
  TsrBackend *self = TSR_BACKEND (object);

  g_clear_object (&self->cluster);
  g_clear_object (&self->accounts);
  g_clear_object (&self->files);
  g_clear_object (&self->transfers);
  g_clear_object (&self->cancellable);
  g_queue_clear_full (&self->dropped, g_object_unref);
  g_clear_pointer (&self->nodes, g_ptr_array_unref);
  g_free (self->up_nodes);
  g_free (self->data_dir);
  g_free (self->start_error);
  g_free (self->username);
  wipe_string (self->token);
  G_OBJECT_CLASS (tsr_backend_parent_class)->finalize (object);
}

static void
tsr_backend_class_init (TsrBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = tsr_backend_get_property;
  object_class->set_property = tsr_backend_set_property;
  object_class->dispose = tsr_backend_dispose;
  object_class->finalize = tsr_backend_finalize;

  properties[PROP_ACCOUNTS_READY] = g_param_spec_boolean ("accounts-ready", NULL, NULL, FALSE, ro);
  properties[PROP_CLUSTER_READY] = g_param_spec_boolean ("cluster-ready", NULL, NULL, FALSE, ro);
  properties[PROP_START_ERROR] = g_param_spec_string ("start-error", NULL, NULL, NULL, ro);
  properties[PROP_USERNAME] = g_param_spec_string ("username", NULL, NULL, NULL, ro);
  /**
   * TsrBackend:health-interval:
   *
   * Seconds between the cluster's health checks; 0 turns them off. Applies as soon as the
   * cluster is ready.
   */
  properties[PROP_HEALTH_INTERVAL] =
      g_param_spec_uint ("health-interval", NULL, NULL, 0, G_MAXUINT, TSR_CLUSTER_HEALTH_INTERVAL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TsrBackend::nodes-changed:
   *
   * A new node snapshot (tsr_backend_get_nodes()), at most every 250 ms.
   */
  signals[SIGNAL_NODES_CHANGED] =
      g_signal_new ("nodes-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 0);
  /**
   * TsrBackend::transfer-finished:
   * @transfer: the transfer, already gone from the transfer list
   * @error: (nullable): why it failed, %NULL when it succeeded
   */
  signals[SIGNAL_TRANSFER_FINISHED] =
      g_signal_new ("transfer-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 2, TSR_TYPE_TRANSFER, G_TYPE_ERROR);
  /**
   * TsrBackend::notice:
   * @message: something the user should read, such as a refused folder
   */
  signals[SIGNAL_NOTICE] = g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tsr_backend_init (TsrBackend *self)
{
  self->files = g_list_store_new (TSR_TYPE_FILE_ITEM);
  self->transfers = g_list_store_new (TSR_TYPE_TRANSFER);
  self->cancellable = g_cancellable_new ();
  self->health_interval = TSR_CLUSTER_HEALTH_INTERVAL;
  self->backup_codes_left = -1;
}

guint
tsr_backend_get_health_interval (TsrBackend *self)
{
  g_return_val_if_fail (TSR_IS_BACKEND (self), 0);
  return self->health_interval;
}

/**
 * tsr_backend_set_health_interval:
 * @seconds: between health checks; 0 turns them off
 *
 * Applies at once when the cluster is ready, otherwise when it becomes ready.
 */
void
tsr_backend_set_health_interval (TsrBackend *self, guint seconds)
{
  g_return_if_fail (TSR_IS_BACKEND (self));

  if (self->health_interval == seconds)
    return;
  self->health_interval = seconds;
  if (self->cluster_ready && self->cluster != NULL &&
      !g_cancellable_is_cancelled (self->cancellable))
    tsr_cluster_set_health_interval (self->cluster, seconds);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH_INTERVAL]);
}

TsrBackend *
tsr_backend_new (const char *data_dir)
{
  TsrBackend *self;

  g_return_val_if_fail (data_dir != NULL, NULL);

  /* Nodes and transfers run in this process: their threads give way to the window's. */
  tsr_priority_set_background_workers (TRUE);
  self = g_object_new (TSR_TYPE_BACKEND, NULL);
  self->data_dir = g_strdup (data_dir);
  return self;
}
