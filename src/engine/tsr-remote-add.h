/* tsr-remote-add.h: from a bare SSH account to a node in the cluster (what `tessera-cli remote
 * add` and the app's "Add Node" dialog do)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tsr-cluster.h"
#include "tsr-remotes.h"
#include "tsr-ssh-key.h"

G_BEGIN_DECLS

/**
 * TsrRemoteAddStep:
 * @TSR_REMOTE_ADD_STEP_NONE: not started
 * @TSR_REMOTE_ADD_STEP_KEY: loading this client's SSH key (or making it on first use)
 * @TSR_REMOTE_ADD_STEP_CONNECT: connecting over SSH and checking the host key
 * @TSR_REMOTE_ADD_STEP_PROVISION: installing, trusting and starting tesserad on the host
 * @TSR_REMOTE_ADD_STEP_WAIT: waiting for the node to answer with its pinned identity
 * @TSR_REMOTE_ADD_STEP_ADD: adding the node to the cluster and recording the host
 * @TSR_REMOTE_ADD_STEP_DONE: finished
 */
typedef enum
{
  TSR_REMOTE_ADD_STEP_NONE,
  TSR_REMOTE_ADD_STEP_KEY,
  TSR_REMOTE_ADD_STEP_CONNECT,
  TSR_REMOTE_ADD_STEP_PROVISION,
  TSR_REMOTE_ADD_STEP_WAIT,
  TSR_REMOTE_ADD_STEP_ADD,
  TSR_REMOTE_ADD_STEP_DONE,
} TsrRemoteAddStep;

typedef struct
{
  const char *user; /* (nullable) the SSH user; NULL: this user's name */
  const char *host;
  guint16 port;                  /* SSH; 0 for 22 */
  const char *key_path;          /* (nullable) NULL: DATA_DIR/ssh/id_ed25519, made on first use */
  const char *key_passphrase;    /* (nullable) for an encrypted key */
  const char *accepted_host_key; /* (nullable) "SHA256:…" the user accepted for an unknown host */
  const char *local_tesserad;    /* (nullable) upload this program; NULL: the host's own */
  gboolean no_provision;         /* only record the host for SSH commands */
  const char *name;              /* (nullable) NULL: the next free Node_NN (or the host) */
  const char *listen;            /* (nullable) HOST:PORT tesserad listens on; 0.0.0.0:7420 */
  const char *address;           /* (nullable) HOST:PORT the cluster reaches it at */
  const char *remote_dir;        /* (nullable) tesserad's data dir there; relative: home */
  guint64 capacity;              /* 0: the default */
} TsrRemoteAddOptions;

#define TSR_TYPE_REMOTE_ADD (tsr_remote_add_get_type ())
G_DECLARE_FINAL_TYPE (TsrRemoteAdd, tsr_remote_add, TSR, REMOTE_ADD, GObject)

TsrRemoteAdd *tsr_remote_add_new (TsrCluster *cluster, const TsrRemoteAddOptions *options);

void tsr_remote_add_set_accepted_host_key (TsrRemoteAdd *self, const char *fingerprint);
void tsr_remote_add_set_key_passphrase (TsrRemoteAdd *self, const char *passphrase);
TsrRemoteAddStep tsr_remote_add_get_step (TsrRemoteAdd *self);
const char *tsr_remote_add_get_host_fingerprint (TsrRemoteAdd *self);
gboolean tsr_remote_add_get_host_key_added (TsrRemoteAdd *self);
const char *tsr_remote_add_get_made_key_line (TsrRemoteAdd *self);
const char *tsr_remote_add_get_public_key_line (TsrRemoteAdd *self);
const char *tsr_remote_add_get_key_path (TsrRemoteAdd *self);
const char *tsr_remote_add_get_known_hosts_path (TsrRemoteAdd *self);
const TsrRemote *tsr_remote_add_get_remote (TsrRemoteAdd *self);
const char *tsr_remote_add_get_node_host (TsrRemoteAdd *self);
guint16 tsr_remote_add_get_node_port (TsrRemoteAdd *self);

gboolean tsr_remote_add_run (TsrRemoteAdd *self, GCancellable *cancellable, GError **error);
void tsr_remote_add_run_async (TsrRemoteAdd *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_remote_add_run_finish (TsrRemoteAdd *self, GAsyncResult *result, GError **error);

/* Shared with the other SSH commands. */
char *tsr_remote_next_node_name (const TsrClusterConfig *config);
gboolean tsr_parse_host_port (const char *text, char **host, guint16 *port, gboolean port_optional);
gboolean tsr_parse_ssh_target (const char *text, char **user, char **host, guint16 *port);
TsrSshKey *tsr_remote_load_key (const char *data_dir, const char *path, const char *passphrase,
                                char **made_line, GError **error);
char *tsr_remote_key_path (const char *data_dir, const char *path);
char *tsr_remote_known_hosts_path (const char *data_dir);

G_END_DECLS
