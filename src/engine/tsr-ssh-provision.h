/* tsr-ssh-provision.h: setting up tesserad on a host over SSH (what `remote add` and the app's
 * "Add node" dialog do)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tsr-ssh-session.h"

G_BEGIN_DECLS

#define TSR_TESSERAD_DEFAULT_PORT 7420
#define TSR_TESSERAD_DEFAULT_DIR  ".local/share/tessera" /* under the host's home */

typedef struct
{
  const char *name;           /* the node's name (tesserad --name, unit tesserad-NAME.service) */
  const char *client_id;      /* this client's identity, which the node will trust */
  const char *remote_dir;     /* (nullable) tesserad's --data-dir; relative: under home */
  const char *local_tesserad; /* (nullable) upload this program; NULL: use the host's */
  const char *listen;         /* (nullable) HOST:PORT it listens on; NULL: 0.0.0.0:7420 */
} TsrProvisionOptions;

typedef struct
{
  char *node_id;    /* what `tesserad --print-id` printed there: pin it */
  char *remote_dir; /* absolute */
  char *tesserad;   /* the program there */
  char *service;    /* "systemd" (a user unit) or "process" (detached, PID file) */
} TsrProvisionResult;

void tsr_provision_result_free (TsrProvisionResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrProvisionResult, tsr_provision_result_free)

TsrProvisionResult *tsr_ssh_provision_tesserad (TsrSshSession *session,
                                                const TsrProvisionOptions *options,
                                                GCancellable *cancellable, GError **error);
void tsr_ssh_provision_tesserad_async (TsrSshSession *session, const TsrProvisionOptions *options,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
TsrProvisionResult *tsr_ssh_provision_tesserad_finish (TsrSshSession *session, GAsyncResult *result,
                                                       GError **error);

char *tsr_tesserad_logs_command (const char *service, const char *name, const char *remote_dir,
                                 guint lines);
char *tsr_tesserad_status_command (const char *service, const char *name, const char *remote_dir);

G_END_DECLS
