/* tsr-remotes.h: DATA_DIR/remotes.json, the SSH hosts this client manages
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *name; /* the node's name when provisioned; letters, digits, '_', '-', '.' */
  char *user;
  char *host;
  guint16 port;     /* SSH */
  char *key;        /* (nullable) the private key's path; NULL: DATA_DIR/ssh/id_ed25519 */
  char *node_id;    /* (nullable) the node's pinned id; NULL when not provisioned */
  char *remote_dir; /* (nullable) tesserad's --data-dir there, absolute */
  char *tesserad;   /* (nullable) the program there */
  char *service;    /* "systemd", "process" or "none" (--no-provision) */
} TsrRemote;

void tsr_remote_free (TsrRemote *remote);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrRemote, tsr_remote_free)

GPtrArray *tsr_remotes_parse (const char *data, gsize len, GError **error);
GPtrArray *tsr_remotes_load (const char *path, GError **error);
gboolean tsr_remotes_save (GPtrArray *remotes, const char *path, GError **error);
TsrRemote *tsr_remotes_find (GPtrArray *remotes, const char *name);
void tsr_remote_to_json (JsonBuilder *builder, const TsrRemote *remote);

G_END_DECLS
