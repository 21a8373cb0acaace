/* tsr-ssh-provision.c
 *
 * Everything is done with commands any POSIX shell runs, plus SFTP for the program itself, so
 * the host needs nothing but an SSH account. Values reach the shell only through
 * g_shell_quote().
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-ssh-provision.h"
#include "tsr-error.h"
#include "tsr-hash.h"

#include <string.h>

void
tsr_provision_result_free (TsrProvisionResult *result)
{
  if (result == NULL)
    return;
  g_free (result->node_id);
  g_free (result->remote_dir);
  g_free (result->tesserad);
  g_free (result->service);
  g_free (result);
}

/* Runs @command and fails unless it exits with 0; returns its output, trimmed. */
static char *
run_checked (TsrSshSession *session, const char *what, const char *command,
             GCancellable *cancellable, GError **error)
{
  g_autoptr (TsrSshExecResult) r = tsr_ssh_session_exec (session, command, cancellable, error);

  if (r == NULL)
    return NULL;
  if (r->exit_status != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("%s on %s failed (exit status %d): %s"),
                   what, tsr_ssh_session_get_host (session), r->exit_status,
                   g_strstrip (r->err[0] ? r->err : r->out));
      return NULL;
    }
  return g_strdup (g_strstrip (r->out));
}

/* A systemd user unit where systemd --user runs (it restarts the node, and with lingering
 * brings it back at boot); else a process detached from the SSH session (setsid, nohup) with
 * its PID in a file, replacing one started before. Prints which. */
static char *
start_script (const char *name, const char *remote_dir, const char *tesserad, const char *listen)
{
  g_autofree char *dir = g_shell_quote (remote_dir);
  g_autofree char *prog = g_shell_quote (tesserad);
  g_autofree char *lis = g_shell_quote (listen);
  g_autofree char *nm = g_shell_quote (name);
  g_autofree char *unit = g_strdup_printf ("tesserad-%s.service", name);

  return g_strdup_printf (
      "set -e\n"
      "if command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment "
      ">/dev/null 2>&1; then\n"
      "  mkdir -p \"$HOME/.config/systemd/user\"\n"
      "  cat > \"$HOME/.config/systemd/user/%s\" <<'TESSERA_UNIT'\n"
      "[Unit]\nDescription=Tessera storage node %s\nAfter=network-online.target\n"
      "[Service]\nExecStart=%s --data-dir %s --listen %s --name %s\nRestart=on-failure\n"
      "[Install]\nWantedBy=default.target\n"
      "TESSERA_UNIT\n"
      "  systemctl --user daemon-reload\n"
      "  systemctl --user enable %s >/dev/null 2>&1\n"
      "  systemctl --user restart %s\n"
      "  echo systemd\n"
      "else\n"
      "  if [ -f %s/tesserad.pid ]; then\n"
      "    old=$(cat %s/tesserad.pid)\n"
      "    if kill -0 \"$old\" 2>/dev/null; then kill \"$old\"; while kill -0 \"$old\" "
      "2>/dev/null; do sleep 0.1; done; fi\n"
      "  fi\n"
      "  setsid nohup %s --data-dir %s --listen %s --name %s >>%s/tesserad.log 2>&1 "
      "</dev/null &\n"
      "  echo $! > %s/tesserad.pid\n"
      "  echo process\n"
      "fi\n",
      unit, name, prog, dir, lis, nm, unit, unit, dir, dir, prog, dir, lis, nm, dir, dir);
}

static gboolean
name_is_safe (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 64 || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

/**
 * tsr_ssh_provision_tesserad:
 * @session: connected to the host, as the user the node will run as
 *
 * From a bare SSH account to a running node: uses the tesserad on the host's PATH (or in
 * ~/.local/bin) or uploads @options->local_tesserad to REMOTE_DIR/bin/, trusts
 * @options->client_id, reads the node id, and starts tesserad. Run again, it replaces the
 * node it started before (same files, same id). The caller then waits for the node to answer
 * with that id and adds it to the cluster.
 */
TsrProvisionResult *
tsr_ssh_provision_tesserad (TsrSshSession *session, const TsrProvisionOptions *options,
                            GCancellable *cancellable, GError **error)
{
  g_autoptr (TsrProvisionResult) r = g_new0 (TsrProvisionResult, 1);
  g_autofree char *home = NULL;
  g_autofree char *dir_q = NULL;
  g_autofree char *prog_q = NULL;
  g_autofree char *cmd = NULL;
  g_autofree char *trusted = NULL;
  g_autofree char *how = NULL;
  const char *host;

  g_return_val_if_fail (TSR_IS_SSH_SESSION (session), NULL);
  g_return_val_if_fail (options != NULL, NULL);

  host = tsr_ssh_session_get_host (session);
  if (!name_is_safe (options->name) || !tsr_segment_id_is_valid (options->client_id))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("A node needs a name of letters, digits, '_', '-' or '.' and a client id"));
      return NULL;
    }
  home = run_checked (session, "Finding the home directory", "printf %s \"$HOME\"", cancellable,
                      error);
  if (home == NULL)
    return NULL;
  if (options->remote_dir == NULL)
    r->remote_dir = g_build_filename (home, TSR_TESSERAD_DEFAULT_DIR, NULL);
  else if (g_path_is_absolute (options->remote_dir))
    r->remote_dir = g_strdup (options->remote_dir);
  else
    r->remote_dir = g_build_filename (home, options->remote_dir, NULL);
  dir_q = g_shell_quote (r->remote_dir);

  if (options->local_tesserad != NULL)
    {
      g_autofree char *bin_dir = g_build_filename (r->remote_dir, "bin", NULL);
      g_autofree char *bin_q = g_shell_quote (bin_dir);
      g_autofree char *mk = g_strdup_printf ("mkdir -p %s", bin_q);
      g_autofree char *ok =
          run_checked (session, "Creating the node's directory", mk, cancellable, error);

      r->tesserad = g_build_filename (bin_dir, "tesserad", NULL);
      if (ok == NULL || !tsr_ssh_session_upload (session, options->local_tesserad, r->tesserad,
                                                 0755, cancellable, error))
        return NULL;
    }
  else
    {
      r->tesserad = run_checked (session, "Looking for tesserad",
                                 "command -v tesserad || { test -x \"$HOME/.local/bin/"
                                 "tesserad\" && echo \"$HOME/.local/bin/tesserad\"; }",
                                 cancellable, NULL);
      if (r->tesserad == NULL || r->tesserad[0] == '\0')
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _ ("tesserad is not installed on %s: install it there, or give this "
                          "machine's build to upload it"),
                       host);
          return NULL;
        }
    }
  prog_q = g_shell_quote (r->tesserad);

  /* Trusted before it starts, so the first start already serves this client. */
  cmd = g_strdup_printf ("mkdir -p %s && %s --data-dir %s trust %s tessera-client >/dev/null",
                         dir_q, prog_q, dir_q, options->client_id);
  trusted = run_checked (session, "Trusting this client", cmd, cancellable, error);
  if (trusted == NULL)
    return NULL;
  g_free (cmd);
  cmd = g_strdup_printf ("%s --data-dir %s --print-id", prog_q, dir_q);
  r->node_id = run_checked (session, "Reading the node id", cmd, cancellable, error);
  if (r->node_id == NULL)
    return NULL;
  if (!tsr_segment_id_is_valid (r->node_id))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                   _ ("tesserad on %s printed “%s”, not a node id"), host, r->node_id);
      return NULL;
    }

  g_free (cmd);
  {
    g_autofree char *default_listen =
        g_strdup_printf ("0.0.0.0:%u", (guint)TSR_TESSERAD_DEFAULT_PORT);
    cmd = start_script (options->name, r->remote_dir, r->tesserad,
                        options->listen ? options->listen : default_listen);
  }
  how = run_checked (session, "Starting tesserad", cmd, cancellable, error);
  if (how == NULL)
    return NULL;
  r->service = g_strdup (strcmp (how, "systemd") == 0 ? "systemd" : "process");
  return g_steal_pointer (&r);
}

typedef struct
{
  char *name;
  char *client_id;
  char *remote_dir;
  char *local_tesserad;
  char *listen;
} OptionsCopy;

static void
options_copy_free (OptionsCopy *o)
{
  g_free (o->name);
  g_free (o->client_id);
  g_free (o->remote_dir);
  g_free (o->local_tesserad);
  g_free (o->listen);
  g_free (o);
}

static void
provision_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  OptionsCopy *o = data;
  TsrProvisionOptions options = { o->name, o->client_id, o->remote_dir, o->local_tesserad,
                                  o->listen };
  GError *error = NULL;
  TsrProvisionResult *r = tsr_ssh_provision_tesserad (source, &options, cancellable, &error);

  if (r != NULL)
    g_task_return_pointer (task, r, (GDestroyNotify)tsr_provision_result_free);
  else
    g_task_return_error (task, error);
}

void
tsr_ssh_provision_tesserad_async (TsrSshSession *session, const TsrProvisionOptions *options,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (session, cancellable, callback, user_data);
  OptionsCopy *o = g_new0 (OptionsCopy, 1);

  o->name = g_strdup (options->name);
  o->client_id = g_strdup (options->client_id);
  o->remote_dir = g_strdup (options->remote_dir);
  o->local_tesserad = g_strdup (options->local_tesserad);
  o->listen = g_strdup (options->listen);
  g_task_set_source_tag (task, tsr_ssh_provision_tesserad_async);
  g_task_set_task_data (task, o, (GDestroyNotify)options_copy_free);
  g_task_run_in_thread (task, provision_thread);
}

TsrProvisionResult *
tsr_ssh_provision_tesserad_finish (TsrSshSession *session, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, session), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The command that shows the last @lines lines of the node's log. */
char *
tsr_tesserad_logs_command (const char *service, const char *name, const char *remote_dir,
                           guint lines)
{
  g_autofree char *log = NULL;
  g_autofree char *log_q = NULL;

  if (g_strcmp0 (service, "systemd") == 0)
    return g_strdup_printf ("journalctl --user -u tesserad-%s.service -n %u --no-pager", name,
                            lines);
  log = g_build_filename (remote_dir, "tesserad.log", NULL);
  log_q = g_shell_quote (log);
  return g_strdup_printf ("tail -n %u %s", lines, log_q);
}

/* The command that prints "active" when the node's daemon runs (anything else when not). */
char *
tsr_tesserad_status_command (const char *service, const char *name, const char *remote_dir)
{
  g_autofree char *pid = NULL;
  g_autofree char *pid_q = NULL;

  if (g_strcmp0 (service, "systemd") == 0)
    return g_strdup_printf ("systemctl --user is-active tesserad-%s.service", name);
  pid = g_build_filename (remote_dir, "tesserad.pid", NULL);
  pid_q = g_shell_quote (pid);
  return g_strdup_printf ("if [ -f %s ] && kill -0 \"$(cat %s)\" 2>/dev/null; then echo active; "
                          "else echo inactive; fi",
                          pid_q, pid_q);
}
