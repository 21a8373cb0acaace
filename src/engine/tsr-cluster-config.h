/* tsr-cluster-config.h: DATA_DIR/cluster.json, the node set and the placement settings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "tsr-netem.h"

G_BEGIN_DECLS

#define TSR_CLUSTER_DEFAULT_NODES    5
#define TSR_CLUSTER_DEFAULT_REPLICAS 2
#define TSR_CLUSTER_MAX_NODES        64

typedef struct
{
  char *node_id;     /* "Node_01" */
  gboolean embedded; /* a thread of this process, storing under DATA_DIR/nodes/<node_id> */
  char *host;
  guint16 port;   /* 0 until an embedded node first listened */
  char *identity; /* pinned: hex SHA-256 of its certificate; NULL until first start */
  guint64 capacity;
  gboolean enabled;
  TsrNetemSettings netem; /* its emulated link; off unless the config says otherwise */
} TsrNodeConfig;

typedef struct
{
  guint32 chunk_size;
  guint replicas;
  GPtrArray *nodes; /* (element-type TsrNodeConfig) */
} TsrClusterConfig;

TsrClusterConfig *tsr_cluster_config_new_default (guint n_nodes, guint64 capacity,
                                                  guint32 chunk_size, guint replicas);
void tsr_cluster_config_free (TsrClusterConfig *config);
TsrClusterConfig *tsr_cluster_config_parse (const char *data, gssize len, GError **error);
TsrClusterConfig *tsr_cluster_config_load (const char *path, GError **error);
gboolean tsr_cluster_config_save (const TsrClusterConfig *config, const char *path, GError **error);
TsrNodeConfig *tsr_cluster_config_find (const TsrClusterConfig *config, const char *node_id);

gboolean tsr_parse_size (const char *text, guint64 *out);
gboolean tsr_cluster_node_id_is_valid (const char *id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrClusterConfig, tsr_cluster_config_free)

G_END_DECLS
