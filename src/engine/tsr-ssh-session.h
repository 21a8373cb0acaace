/* tsr-ssh-session.h: one SSH connection to a host (the seed's SSHRemoteNode)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tsr-ssh-key.h"

G_BEGIN_DECLS

/**
 * TsrSshHostKeyStatus:
 * @TSR_SSH_HOST_KEY_UNCHECKED: not connected yet
 * @TSR_SSH_HOST_KEY_KNOWN: the key is the one in known_hosts
 * @TSR_SSH_HOST_KEY_ACCEPTED: the key was unknown, matched the accepted fingerprint and was
 *   added to known_hosts
 * @TSR_SSH_HOST_KEY_UNKNOWN: the host is not in known_hosts: the connection was refused; show
 *   the fingerprint to the user and, if they accept it, set it and connect again
 * @TSR_SSH_HOST_KEY_CHANGED: known_hosts has another key for this host: refused
 */
typedef enum
{
  TSR_SSH_HOST_KEY_UNCHECKED,
  TSR_SSH_HOST_KEY_KNOWN,
  TSR_SSH_HOST_KEY_ACCEPTED,
  TSR_SSH_HOST_KEY_UNKNOWN,
  TSR_SSH_HOST_KEY_CHANGED,
} TsrSshHostKeyStatus;

/* Each of stdout and stderr is kept up to this size; more fails with TOO_LARGE. */
#define TSR_SSH_EXEC_MAX_OUTPUT (16 * 1024 * 1024)
/* SFTP writes and reads at most this much per request. */
#define TSR_SSH_SFTP_CHUNK (32 * 1024)

typedef struct
{
  int exit_status; /* the command's exit status; -1 when it was killed by a signal */
  char *out;       /* what it wrote to stdout, NUL-terminated */
  gsize out_len;
  char *err; /* what it wrote to stderr, NUL-terminated */
  gsize err_len;
} TsrSshExecResult;

void tsr_ssh_exec_result_free (TsrSshExecResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrSshExecResult, tsr_ssh_exec_result_free)

#define TSR_TYPE_SSH_SESSION (tsr_ssh_session_get_type ())
G_DECLARE_FINAL_TYPE (TsrSshSession, tsr_ssh_session, TSR, SSH_SESSION, GObject)

TsrSshSession *tsr_ssh_session_new (const char *user, const char *host, guint16 port,
                                    TsrSshKey *key, const char *known_hosts_path);

const char *tsr_ssh_session_get_user (TsrSshSession *self);
const char *tsr_ssh_session_get_host (TsrSshSession *self);
guint16 tsr_ssh_session_get_port (TsrSshSession *self);
void tsr_ssh_session_set_accepted_host_key (TsrSshSession *self, const char *fingerprint);
TsrSshHostKeyStatus tsr_ssh_session_get_host_key_status (TsrSshSession *self);
char *tsr_ssh_session_dup_host_fingerprint (TsrSshSession *self);
gboolean tsr_ssh_session_is_connected (TsrSshSession *self);

gboolean tsr_ssh_session_connect (TsrSshSession *self, GCancellable *cancellable, GError **error);
void tsr_ssh_session_connect_async (TsrSshSession *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_ssh_session_connect_finish (TsrSshSession *self, GAsyncResult *result, GError **error);

TsrSshExecResult *tsr_ssh_session_exec (TsrSshSession *self, const char *command,
                                        GCancellable *cancellable, GError **error);
void tsr_ssh_session_exec_async (TsrSshSession *self, const char *command,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
TsrSshExecResult *tsr_ssh_session_exec_finish (TsrSshSession *self, GAsyncResult *result,
                                               GError **error);

gboolean tsr_ssh_session_upload (TsrSshSession *self, const char *local_path,
                                 const char *remote_path, int mode, GCancellable *cancellable,
                                 GError **error);
void tsr_ssh_session_upload_async (TsrSshSession *self, const char *local_path,
                                   const char *remote_path, int mode, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_ssh_session_upload_finish (TsrSshSession *self, GAsyncResult *result, GError **error);

gboolean tsr_ssh_session_download (TsrSshSession *self, const char *remote_path,
                                   const char *local_path, GCancellable *cancellable,
                                   GError **error);
void tsr_ssh_session_download_async (TsrSshSession *self, const char *remote_path,
                                     const char *local_path, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_ssh_session_download_finish (TsrSshSession *self, GAsyncResult *result,
                                          GError **error);

void tsr_ssh_session_disconnect (TsrSshSession *self);

G_END_DECLS
