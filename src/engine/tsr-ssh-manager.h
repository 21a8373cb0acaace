/* tsr-ssh-manager.h: the hosts a user manages over SSH (the seed's SSHNodeManager)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tsr-ssh-key.h"
#include "tsr-ssh-session.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;
  TsrSshExecResult *result; /* NULL when @error is set */
  GError *error;            /* could not connect or run the command */
} TsrSshReply;

void tsr_ssh_reply_free (TsrSshReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrSshReply, tsr_ssh_reply_free)

#define TSR_TYPE_SSH_MANAGER (tsr_ssh_manager_get_type ())
G_DECLARE_FINAL_TYPE (TsrSshManager, tsr_ssh_manager, TSR, SSH_MANAGER, GObject)

TsrSshManager *tsr_ssh_manager_new (TsrSshKey *key, const char *known_hosts_path);

TsrSshSession *tsr_ssh_manager_add_host (TsrSshManager *self, const char *name, const char *user,
                                         const char *host, guint16 port, TsrSshKey *key,
                                         GError **error);
TsrSshSession *tsr_ssh_manager_get_session (TsrSshManager *self, const char *name);
GPtrArray *tsr_ssh_manager_list_hosts (TsrSshManager *self);

gboolean tsr_ssh_manager_connect (TsrSshManager *self, const char *name, GCancellable *cancellable,
                                  GError **error);
TsrSshExecResult *tsr_ssh_manager_exec (TsrSshManager *self, const char *name, const char *command,
                                        GCancellable *cancellable, GError **error);

GPtrArray *tsr_ssh_manager_broadcast (TsrSshManager *self, const char *command,
                                      GCancellable *cancellable);
void tsr_ssh_manager_broadcast_async (TsrSshManager *self, const char *command,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
GPtrArray *tsr_ssh_manager_broadcast_finish (TsrSshManager *self, GAsyncResult *result,
                                             GError **error);

void tsr_ssh_manager_disconnect_all (TsrSshManager *self);

G_END_DECLS
