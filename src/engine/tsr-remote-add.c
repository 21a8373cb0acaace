/* tsr-remote-add.c
 *
 * One implementation of "add a remote node" for the CLI and the app: the host key check,
 * tesserad installed or uploaded, this client trusted, the daemon started, its id read back
 * and pinned, the node added to the cluster and the host recorded in DATA_DIR/remotes.json.
 * SSH state (the key Tessera makes, known_hosts) lives in DATA_DIR/ssh/, apart from the
 * user's own ~/.ssh.
 *
 * An unknown host fails with %TSR_ERROR_HOST_KEY_UNKNOWN and its fingerprint
 * (tsr_remote_add_get_host_fingerprint()): the caller shows it, and if the user accepts it,
 * sets it with tsr_remote_add_set_accepted_host_key() and runs again. Nothing has been
 * started on the host at that point. An encrypted key without its passphrase, or with a wrong
 * one, fails with %TSR_ERROR_KEY_LOCKED before anything is connected to: the caller asks for
 * it, sets it with tsr_remote_add_set_key_passphrase() and runs again.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-remote-add.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-identity.h"
#include "tsr-node-client.h"
#include "tsr-segment-store.h"
#include "tsr-ssh-provision.h"
#include "tsr-ssh-session.h"

#include <string.h>

#define START_DEADLINE_US (20 * G_USEC_PER_SEC)

struct _TsrRemoteAdd
{
  GObject parent_instance;

  TsrCluster *cluster;
  GMainContext *context; /* the creator's: "step" is notified there */

  /* the options, copied */
  char *user;
  char *host;
  guint16 port;
  char *key_path;
  char *key_passphrase; /* wiped */
  char *accepted_host_key;
  char *local_tesserad;
  gboolean no_provision;
  char *name;
  char *listen;
  char *address;
  char *remote_dir;
  guint64 capacity;

  /* what the last run found; read them once it has finished */
  TsrRemoteAddStep step; /* only touched on @context's thread */
  char *host_fingerprint;
  gboolean host_key_added;
  char *made_key_line;
  char *public_key_line; /* of the key the last run used */
  char *used_key_path;
  char *known_hosts_path;
  TsrRemote *remote;
  char *node_host;
  guint16 node_port;
};

G_DEFINE_FINAL_TYPE (TsrRemoteAdd, tsr_remote_add, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STEP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
wipe_string (char *s)
{
  if (s != NULL)
    {
      explicit_bzero (s, strlen (s));
      g_free (s);
    }
}

/* ---- helpers shared with the CLI ---- */

/* Whether @host can name a host: a name or an address, nothing a person typed by mistake
 * ("not a host" reached libssh, which said only "Hostname required"). */
static gboolean
is_host_name (const char *host)
{
  if (*host == '\0' || *host == '-')
    return FALSE;
  for (const char *c = host; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && strchr (".-_:%", *c) == NULL)
      return FALSE;
  return TRUE;
}

/**
 * tsr_parse_host_port:
 * @port_optional: whether HOST alone (port 0) is accepted
 *
 * Parses HOST:PORT, or [V6]:PORT.
 */
gboolean
tsr_parse_host_port (const char *text, char **host, guint16 *port, gboolean port_optional)
{
  const char *colon;
  guint64 v;

  if (text == NULL || *text == '\0')
    return FALSE;
  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');
      if (end == NULL || end == text + 1)
        return FALSE;
      colon = end[1] == ':' ? end + 1 : NULL;
      if (colon == NULL && (end[1] != '\0' || !port_optional))
        return FALSE;
      *host = g_strndup (text + 1, end - text - 1);
    }
  else
    {
      colon = strrchr (text, ':');
      if (colon != NULL && strchr (text, ':') != colon)
        return FALSE; /* a bare IPv6 address needs brackets */
      if (colon == NULL && !port_optional)
        return FALSE;
      if (colon == text)
        return FALSE;
      *host = colon ? g_strndup (text, colon - text) : g_strdup (text);
    }
  if (!is_host_name (*host))
    {
      g_clear_pointer (host, g_free);
      return FALSE;
    }
  if (colon == NULL)
    {
      *port = 0;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &v, NULL))
    {
      g_clear_pointer (host, g_free);
      return FALSE;
    }
  *port = v;
  return TRUE;
}

/**
 * tsr_parse_ssh_target:
 * @user: (out): the part before '@', or this user's name
 * @port: (out): the SSH port, 22 when not given
 *
 * Parses USER@HOST[:PORT]. Nothing may start with '-', so no value can pass for an option.
 */
gboolean
tsr_parse_ssh_target (const char *text, char **user, char **host, guint16 *port)
{
  g_autofree char *u = NULL;
  g_autofree char *h = NULL;
  const char *at;

  if (text == NULL)
    return FALSE;
  at = strchr (text, '@');
  u = at ? g_strndup (text, at - text) : g_strdup (g_get_user_name ());
  if (!tsr_parse_host_port (at ? at + 1 : text, &h, port, TRUE))
    return FALSE;
  if (u[0] == '\0' || u[0] == '-' || h[0] == '\0' || h[0] == '-')
    return FALSE;
  for (const char *c = u; *c != '\0'; c++)
    if (g_ascii_isspace (*c) || g_ascii_iscntrl (*c))
      return FALSE;
  if (*port == 0)
    *port = 22;
  *user = g_steal_pointer (&u);
  *host = g_steal_pointer (&h);
  return TRUE;
}

/* The first Node_NN not taken, numbered after the nodes there are. */
char *
tsr_remote_next_node_name (const TsrClusterConfig *config)
{
  for (guint i = config->nodes->len + 1;; i++)
    {
      g_autofree char *name = g_strdup_printf ("Node_%02u", i);
      if (tsr_cluster_config_find (config, name) == NULL)
        return g_steal_pointer (&name);
    }
}

/* @path, or Tessera's own key DATA_DIR/ssh/id_ed25519. */
char *
tsr_remote_key_path (const char *data_dir, const char *path)
{
  return path != NULL ? g_strdup (path) : g_build_filename (data_dir, "ssh", "id_ed25519", NULL);
}

char *
tsr_remote_known_hosts_path (const char *data_dir)
{
  return g_build_filename (data_dir, "ssh", "known_hosts", NULL);
}

/**
 * tsr_remote_load_key:
 * @path: (nullable): a private key; %NULL: Tessera's own, made on first use
 * @passphrase: (nullable): for an encrypted key
 * @made_line: (out) (optional): when the key was made now, its public line for the hosts'
 *   authorized_keys; else %NULL
 *
 * An encrypted key without @passphrase, or with a wrong one, fails with %TSR_ERROR_KEY_LOCKED.
 */
TsrSshKey *
tsr_remote_load_key (const char *data_dir, const char *path, const char *passphrase,
                     char **made_line, GError **error)
{
  g_autofree char *full = tsr_remote_key_path (data_dir, path);

  if (made_line != NULL)
    *made_line = NULL;
  if (path == NULL && !g_file_test (full, G_FILE_TEST_EXISTS))
    {
      g_autoptr (TsrSshKey) key = tsr_ssh_key_generate (error);

      if (key == NULL || !tsr_ssh_key_save (key, full, NULL, "tessera", error))
        return NULL;
      if (made_line != NULL)
        *made_line = tsr_ssh_key_dup_public_line (key, "tessera");
      return g_steal_pointer (&key);
    }
  return tsr_ssh_key_load (full, passphrase, error);
}

/* ---- steps ---- */

typedef struct
{
  TsrRemoteAdd *self;
  TsrRemoteAddStep step;
} StepUpdate;

static gboolean
apply_step (gpointer data)
{
  StepUpdate *u = data;

  if (u->self->step != u->step)
    {
      u->self->step = u->step;
      g_object_notify_by_pspec (G_OBJECT (u->self), properties[PROP_STEP]);
    }
  return G_SOURCE_REMOVE;
}

static void
step_update_free (gpointer data)
{
  StepUpdate *u = data;

  g_object_unref (u->self);
  g_free (u);
}

/* Runs at once when called on the creator's thread (or nobody runs its context), else is
 * queued there. */
static void
set_step (TsrRemoteAdd *self, TsrRemoteAddStep step)
{
  StepUpdate *u = g_new0 (StepUpdate, 1);

  u->self = g_object_ref (self);
  u->step = step;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, apply_step, u, step_update_free);
}

/* Waits until the node answers a health check with the pinned identity; the deadline covers
 * a slow start on a small machine. */
static gboolean
wait_for_node (TsrRemoteAdd *self, TsrIdentity *me, GCancellable *cancellable, GError **error)
{
  g_autofree char *address = g_strdup_printf ("%s:%u", self->node_host, self->node_port);
  g_autoptr (TsrNodeClient) client =
      tsr_node_client_new (self->remote->name, address, self->remote->node_id, me);
  gint64 deadline = g_get_monotonic_time () + START_DEADLINE_US;

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (TsrNodeHealth) h =
          tsr_node_client_health_check_full (client, 2000, 0, cancellable, &local_error);

      if (h != NULL)
        return TRUE;
      if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_IDENTITY) ||
          g_error_matches (local_error, TSR_ERROR, TSR_ERROR_CANCELLED) ||
          g_get_monotonic_time () > deadline)
        {
          g_set_error (error, TSR_ERROR, local_error->code,
                       _ ("tesserad on %s does not answer at %s: %s"), self->remote->host, address,
                       local_error->message);
          return FALSE;
        }
      g_usleep (G_USEC_PER_SEC / 5);
    }
}

/* What tesserad said is the most useful thing to show when it does not answer (a port in
 * use, say): the end of its log joins @error's message. */
static void
add_log_tail (TsrRemoteAdd *self, TsrSshSession *session, GCancellable *cancellable, GError **error)
{
  g_autofree char *tail_cmd = tsr_tesserad_logs_command (self->remote->service, self->remote->name,
                                                         self->remote->remote_dir, 5);
  g_autoptr (TsrSshExecResult) tail = tsr_ssh_session_exec (session, tail_cmd, cancellable, NULL);

  if (tail != NULL && tail->exit_status == 0 && *g_strstrip (tail->out) != '\0')
    {
      GError *more = g_error_new ((*error)->domain, (*error)->code,
                                  _ ("%s\nIts log ends with:\n%s"), (*error)->message, tail->out);
      g_clear_error (error);
      *error = more;
    }
}

static gboolean
check_options (TsrRemoteAdd *self, GError **error)
{
  if (self->user == NULL || self->user[0] == '\0' || self->user[0] == '-' || self->host == NULL ||
      self->host[0] == '\0' || self->host[0] == '-')
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("A remote host needs a user and a host name, as in USER@HOST[:PORT]"));
      return FALSE;
    }
  if (self->accepted_host_key != NULL && !g_str_has_prefix (self->accepted_host_key, "SHA256:"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("A host key fingerprint looks like SHA256:abc…, not “%s”"),
                   self->accepted_host_key);
      return FALSE;
    }
  if (self->listen != NULL)
    {
      g_autofree char *h = NULL;
      guint16 p;
      if (!tsr_parse_host_port (self->listen, &h, &p, FALSE))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                       _ ("The node's listening address must be HOST:PORT, not “%s”"),
                       self->listen);
          return FALSE;
        }
    }
  if (self->address != NULL)
    {
      g_autofree char *h = NULL;
      guint16 p;
      if (!tsr_parse_host_port (self->address, &h, &p, FALSE))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                       _ ("The node's address must be HOST:PORT, not “%s”"), self->address);
          return FALSE;
        }
    }
  return TRUE;
}

static void
reset_results (TsrRemoteAdd *self)
{
  g_clear_pointer (&self->host_fingerprint, g_free);
  g_clear_pointer (&self->made_key_line, g_free);
  g_clear_pointer (&self->public_key_line, g_free);
  g_clear_pointer (&self->used_key_path, g_free);
  g_clear_pointer (&self->remote, tsr_remote_free);
  g_clear_pointer (&self->node_host, g_free);
  self->host_key_added = FALSE;
  self->node_port = 0;
}

static gboolean
connect_checked (TsrRemoteAdd *self, TsrSshSession *session, GCancellable *cancellable,
                 GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean ok;

  tsr_ssh_session_set_accepted_host_key (session, self->accepted_host_key);
  ok = tsr_ssh_session_connect (session, cancellable, &local_error);
  self->host_fingerprint = tsr_ssh_session_dup_host_fingerprint (session);
  if (ok)
    {
      self->host_key_added =
          tsr_ssh_session_get_host_key_status (session) == TSR_SSH_HOST_KEY_ACCEPTED;
      return TRUE;
    }
  /* The one refusal a person can resolve here and now: ask, then run again. */
  if (tsr_ssh_session_get_host_key_status (session) == TSR_SSH_HOST_KEY_UNKNOWN &&
      self->accepted_host_key == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_HOST_KEY_UNKNOWN, local_error->message);
      return FALSE;
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/**
 * tsr_remote_add_run:
 *
 * Adds the host: see the file's comment. The cluster may be started or not (then the node is
 * only written to its config). Nothing is started on a host for a cluster that cannot take
 * the node (a name already taken fails first). Fails with %TSR_ERROR_HOST_KEY_UNKNOWN for a
 * host not in known_hosts whose fingerprint was not accepted, with %TSR_ERROR_IDENTITY for a
 * changed host key (always refused).
 */
gboolean
tsr_remote_add_run (TsrRemoteAdd *self, GCancellable *cancellable, GError **error)
{
  const char *data_dir;
  g_autofree char *remotes_path = NULL;
  g_autoptr (GPtrArray) remotes = NULL;
  g_autoptr (TsrSshKey) key = NULL;
  g_autoptr (TsrSshSession) session = NULL;
  g_autoptr (TsrRemote) r = NULL;
  const TsrClusterConfig *config;

  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), FALSE);

  reset_results (self);
  if (!check_options (self, error))
    return FALSE;
  data_dir = tsr_cluster_get_data_dir (self->cluster);
  config = tsr_cluster_get_config (self->cluster);
  remotes_path = g_build_filename (data_dir, "remotes.json", NULL);
  remotes = tsr_remotes_load (remotes_path, error);
  if (remotes == NULL)
    return FALSE;

  r = g_new0 (TsrRemote, 1);
  r->user = g_strdup (self->user);
  r->host = g_strdup (self->host);
  r->port = self->port;
  r->key = self->key_path ? g_canonicalize_filename (self->key_path, NULL) : NULL;
  r->service = g_strdup (self->no_provision ? "none" : "process");
  if (self->name != NULL)
    r->name = g_strdup (self->name);
  else
    r->name = self->no_provision ? g_strdup (self->host) : tsr_remote_next_node_name (config);
  if (!tsr_cluster_node_id_is_valid (r->name))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” cannot name a node: use letters, digits, '_', '-' or '.'"), r->name);
      return FALSE;
    }
  if (tsr_remotes_find (remotes, r->name) != NULL ||
      (!self->no_provision && tsr_cluster_config_find (config, r->name)))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS,
                   _ ("There is already a remote or node named %s: choose another name"), r->name);
      return FALSE;
    }

  set_step (self, TSR_REMOTE_ADD_STEP_KEY);
  self->used_key_path = tsr_remote_key_path (data_dir, r->key);
  key = tsr_remote_load_key (data_dir, r->key, self->key_passphrase, &self->made_key_line, error);
  if (key == NULL)
    return FALSE;
  self->public_key_line = tsr_ssh_key_dup_public_line (key, "tessera");

  set_step (self, TSR_REMOTE_ADD_STEP_CONNECT);
  session = tsr_ssh_session_new (r->user, r->host, r->port, key, self->known_hosts_path);
  if (!connect_checked (self, session, cancellable, error))
    return FALSE;

  if (!self->no_provision)
    {
      g_autoptr (TsrProvisionResult) done = NULL;
      g_autoptr (TsrIdentity) me = NULL;
      g_autofree char *client_dir = g_build_filename (data_dir, "client", NULL);
      g_autofree char *listen_host = NULL;
      g_autofree char *listen_arg = NULL;
      guint16 listen_port = TSR_TESSERAD_DEFAULT_PORT;
      TsrProvisionOptions options = { 0 };

      set_step (self, TSR_REMOTE_ADD_STEP_PROVISION);
      if (self->listen != NULL)
        tsr_parse_host_port (self->listen, &listen_host, &listen_port, FALSE);
      listen_arg = g_strdup_printf ("%s:%u", listen_host ? listen_host : "0.0.0.0", listen_port);
      me = tsr_identity_load_or_create (client_dir, "tessera-client", error);
      if (me == NULL)
        return FALSE;
      options.name = r->name;
      options.client_id = tsr_identity_get_id (me);
      options.remote_dir = self->remote_dir;
      options.local_tesserad = self->local_tesserad;
      options.listen = listen_arg;
      done = tsr_ssh_provision_tesserad (session, &options, cancellable, error);
      if (done == NULL)
        return FALSE;
      r->node_id = g_strdup (done->node_id);
      r->remote_dir = g_strdup (done->remote_dir);
      r->tesserad = g_strdup (done->tesserad);
      g_free (r->service);
      r->service = g_strdup (done->service);
      self->remote = g_steal_pointer (&r);
      if (self->address != NULL)
        tsr_parse_host_port (self->address, &self->node_host, &self->node_port, FALSE);
      else
        {
          self->node_host = g_strdup (self->remote->host);
          self->node_port = listen_port;
        }

      set_step (self, TSR_REMOTE_ADD_STEP_WAIT);
      if (!wait_for_node (self, me, cancellable, error))
        {
          add_log_tail (self, session, cancellable, error);
          return FALSE;
        }
      set_step (self, TSR_REMOTE_ADD_STEP_ADD);
      if (!tsr_cluster_add_remote_node (
              self->cluster, self->remote->name, self->node_host, self->node_port,
              self->remote->node_id,
              self->capacity ? self->capacity : TSR_SEGMENT_STORE_DEFAULT_CAPACITY, error))
        return FALSE;
    }
  else
    {
      set_step (self, TSR_REMOTE_ADD_STEP_ADD);
      self->remote = g_steal_pointer (&r);
    }

  /* remotes.json owns a copy: self->remote stays for the caller to show. */
  {
    TsrRemote *copy = g_new0 (TsrRemote, 1);

    copy->name = g_strdup (self->remote->name);
    copy->user = g_strdup (self->remote->user);
    copy->host = g_strdup (self->remote->host);
    copy->port = self->remote->port;
    copy->key = g_strdup (self->remote->key);
    copy->node_id = g_strdup (self->remote->node_id);
    copy->remote_dir = g_strdup (self->remote->remote_dir);
    copy->tesserad = g_strdup (self->remote->tesserad);
    copy->service = g_strdup (self->remote->service);
    g_ptr_array_add (remotes, copy);
  }
  if (!tsr_remotes_save (remotes, remotes_path, error))
    return FALSE;
  set_step (self, TSR_REMOTE_ADD_STEP_DONE);
  return TRUE;
}

static void
run_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (tsr_remote_add_run (source, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * tsr_remote_add_run_async:
 *
 * tsr_remote_add_run() on a worker thread. #TsrRemoteAdd:step is notified on the main
 * context of the thread that made @self.
 */
void
tsr_remote_add_run_async (TsrRemoteAdd *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (TSR_IS_REMOTE_ADD (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tsr_remote_add_run_async);
  g_task_run_in_thread (task, run_thread);
}

gboolean
tsr_remote_add_run_finish (TsrRemoteAdd *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- the object ---- */

/**
 * tsr_remote_add_set_accepted_host_key:
 * @fingerprint: (nullable): "SHA256:…", as shown to and confirmed by the user
 *
 * For the next run: an unknown host presenting this key is accepted and added to known_hosts.
 */
void
tsr_remote_add_set_accepted_host_key (TsrRemoteAdd *self, const char *fingerprint)
{
  g_return_if_fail (TSR_IS_REMOTE_ADD (self));
  g_free (self->accepted_host_key);
  self->accepted_host_key = g_strdup (fingerprint);
}

/**
 * tsr_remote_add_set_key_passphrase:
 * @passphrase: (nullable): the key's passphrase, as the user gave it after a run failed with
 *   %TSR_ERROR_KEY_LOCKED
 *
 * For the next run. The copy held before is wiped, and this one is when @self goes.
 */
void
tsr_remote_add_set_key_passphrase (TsrRemoteAdd *self, const char *passphrase)
{
  g_return_if_fail (TSR_IS_REMOTE_ADD (self));
  wipe_string (self->key_passphrase);
  self->key_passphrase = g_strdup (passphrase);
}

TsrRemoteAddStep
tsr_remote_add_get_step (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), TSR_REMOTE_ADD_STEP_NONE);
  return self->step;
}

/* The SHA256 fingerprint the host presented at the last run, or %NULL if it was not reached. */
const char *
tsr_remote_add_get_host_fingerprint (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), NULL);
  return self->host_fingerprint;
}

/* Whether the last run added the host's key to known_hosts (it was unknown and accepted). */
gboolean
tsr_remote_add_get_host_key_added (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), FALSE);
  return self->host_key_added;
}

/* When the last run made Tessera's SSH key, its public line for authorized_keys; else %NULL. */
const char *
tsr_remote_add_get_made_key_line (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), NULL);
  return self->made_key_line;
}

/* The authorized_keys line of the key the last run used (for a host that refused it). */
const char *
tsr_remote_add_get_public_key_line (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), NULL);
  return self->public_key_line;
}

/* The private key the last run used. */
const char *
tsr_remote_add_get_key_path (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), NULL);
  return self->used_key_path;
}

const char *
tsr_remote_add_get_known_hosts_path (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), NULL);
  return self->known_hosts_path;
}

/* The host as recorded in remotes.json, once a run got past the host key; else %NULL. */
const TsrRemote *
tsr_remote_add_get_remote (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), NULL);
  return self->remote;
}

/* Where the cluster reaches the node (%NULL with no_provision). */
const char *
tsr_remote_add_get_node_host (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), NULL);
  return self->node_host;
}

guint16
tsr_remote_add_get_node_port (TsrRemoteAdd *self)
{
  g_return_val_if_fail (TSR_IS_REMOTE_ADD (self), 0);
  return self->node_port;
}

static void
tsr_remote_add_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TsrRemoteAdd *self = TSR_REMOTE_ADD (object);

  switch (prop_id)
    {
      case PROP_STEP:
        g_value_set_int (value, self->step);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_remote_add_finalize (GObject *object)
{
  TsrRemoteAdd *self = TSR_REMOTE_ADD (object);

  g_clear_object (&self->cluster);
  g_main_context_unref (self->context);
  g_free (self->user);
  g_free (self->host);
  g_free (self->key_path);
  wipe_string (self->key_passphrase);
  g_free (self->accepted_host_key);
  g_free (self->local_tesserad);
  g_free (self->name);
  g_free (self->listen);
  g_free (self->address);
  g_free (self->remote_dir);
  g_free (self->known_hosts_path);
  reset_results (self);
  G_OBJECT_CLASS (tsr_remote_add_parent_class)->finalize (object);
}

static void
tsr_remote_add_class_init (TsrRemoteAddClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = tsr_remote_add_get_property;
  object_class->finalize = tsr_remote_add_finalize;

  /**
   * TsrRemoteAdd:step:
   *
   * The #TsrRemoteAddStep under way, notified on the creator's main context.
   */
  properties[PROP_STEP] =
      g_param_spec_int ("step", NULL, NULL, TSR_REMOTE_ADD_STEP_NONE, TSR_REMOTE_ADD_STEP_DONE,
                        TSR_REMOTE_ADD_STEP_NONE,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tsr_remote_add_init (TsrRemoteAdd *self)
{
  self->context = g_main_context_ref_thread_default ();
}

/**
 * tsr_remote_add_new:
 * @cluster: the cluster the node joins; its data dir holds the SSH key, known_hosts and
 *   remotes.json
 * @options: copied
 */
TsrRemoteAdd *
tsr_remote_add_new (TsrCluster *cluster, const TsrRemoteAddOptions *options)
{
  TsrRemoteAdd *self;

  g_return_val_if_fail (TSR_IS_CLUSTER (cluster), NULL);
  g_return_val_if_fail (options != NULL, NULL);

  self = g_object_new (TSR_TYPE_REMOTE_ADD, NULL);
  self->cluster = g_object_ref (cluster);
  self->user = g_strdup (options->user ? options->user : g_get_user_name ());
  self->host = g_strdup (options->host);
  self->port = options->port ? options->port : 22;
  self->key_path = g_strdup (options->key_path);
  self->key_passphrase = g_strdup (options->key_passphrase);
  self->accepted_host_key = g_strdup (options->accepted_host_key);
  self->local_tesserad = g_strdup (options->local_tesserad);
  self->no_provision = options->no_provision;
  self->name = g_strdup (options->name);
  self->listen = g_strdup (options->listen);
  self->address = g_strdup (options->address);
  self->remote_dir = g_strdup (options->remote_dir);
  self->capacity = options->capacity;
  self->known_hosts_path = tsr_remote_known_hosts_path (tsr_cluster_get_data_dir (cluster));
  return self;
}
