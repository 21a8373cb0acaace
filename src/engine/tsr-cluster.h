/* tsr-cluster.h: the orchestrator (the seed's P2PStorageOrchestrator)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "tsr-cluster-config.h"
#include "tsr-crypto.h"
#include "tsr-manifest.h"
#include "tsr-netem.h"
#include "tsr-node.h"

G_BEGIN_DECLS

#define TSR_CLUSTER_UPLOAD_WINDOW   64  /* chunks in flight per upload */
#define TSR_CLUSTER_DOWNLOAD_WINDOW 128 /* chunks fetched ahead per download */
#define TSR_CLUSTER_HEALTH_INTERVAL 5   /* seconds */

/**
 * TsrNodeStatus:
 *
 * What the cluster last learned about one node.
 */
typedef struct
{
  char *node_id;
  char *address;
  gboolean embedded;
  gboolean enabled;
  TsrNodeState state;
  gboolean alive;
  guint64 used_bytes;
  guint64 capacity_bytes;
  guint64 disk_free_bytes; /* free on its disk at the last health check; G_MAXUINT64: unknown */
  guint64 disk_id;         /* its disk (an embedded node's file system id); 0: unknown */
  guint64 segment_count;
  double latency_ms;
  double uptime_seconds;
  TsrInterfaceStats stats; /* what the node reported at the last health check */
  char *virtual_address;   /* the emulated network's 192.168.1.x; NULL before start */
  TsrNetemSettings netem;  /* its link's shaping */
  TsrNetemStats link;      /* its link's statistics, live, from this client's side */
  char *problem;           /* why an embedded node is not running (it could not start), or NULL */
} TsrNodeStatus;

void tsr_node_status_free (TsrNodeStatus *status);
gboolean tsr_node_status_is_up (const TsrNodeStatus *status);
guint64 tsr_node_status_get_quota_left (const TsrNodeStatus *status);
guint64 tsr_node_status_get_available (const TsrNodeStatus *status);
guint64 tsr_node_status_sum_available (GPtrArray *statuses);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrNodeStatus, tsr_node_status_free)

#define TSR_TYPE_CLUSTER (tsr_cluster_get_type ())
G_DECLARE_FINAL_TYPE (TsrCluster, tsr_cluster, TSR, CLUSTER, GObject)

char *tsr_default_data_dir (void);
gboolean tsr_cluster_init_data_dir (const char *data_dir, guint n_nodes, guint64 capacity,
                                    guint32 chunk_size, guint replicas, GError **error);

TsrCluster *tsr_cluster_open (const char *data_dir, GError **error);
gboolean tsr_cluster_start (TsrCluster *self, GError **error);
void tsr_cluster_stop (TsrCluster *self);

gboolean tsr_cluster_set_user (TsrCluster *self, const char *username, const TsrKey *data_key,
                               GError **error);
const char *tsr_cluster_get_data_dir (TsrCluster *self);
const TsrClusterConfig *tsr_cluster_get_config (TsrCluster *self);
GPtrArray *tsr_cluster_dup_node_status (TsrCluster *self);
gboolean tsr_cluster_check_health (TsrCluster *self, GCancellable *cancellable, GError **error);
void tsr_cluster_set_health_interval (TsrCluster *self, guint seconds);
gboolean tsr_cluster_set_node_enabled (TsrCluster *self, const char *node_id, gboolean enabled,
                                       GError **error);
TsrNode *tsr_cluster_get_embedded_node (TsrCluster *self, const char *node_id);
gboolean tsr_cluster_add_remote_node (TsrCluster *self, const char *node_id, const char *host,
                                      guint16 port, const char *identity, guint64 capacity,
                                      GError **error);

GPtrArray *tsr_cluster_list_files (TsrCluster *self, GError **error);
GPtrArray *tsr_cluster_list_file_summaries (TsrCluster *self, GError **error);
TsrManifest *tsr_cluster_get_file (TsrCluster *self, const char *file_id, GError **error);

TsrManifest *tsr_cluster_upload (TsrCluster *self, GFile *file, GCancellable *cancellable,
                                 GError **error);
void tsr_cluster_upload_async (TsrCluster *self, GFile *file, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
TsrManifest *tsr_cluster_upload_finish (TsrCluster *self, GAsyncResult *result, GError **error);

gboolean tsr_cluster_download (TsrCluster *self, const char *file_id, GFile *destination,
                               gboolean overwrite, GCancellable *cancellable, GError **error);
void tsr_cluster_download_async (TsrCluster *self, const char *file_id, GFile *destination,
                                 gboolean overwrite, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_cluster_download_finish (TsrCluster *self, GAsyncResult *result, GError **error);

gboolean tsr_cluster_delete (TsrCluster *self, const char *file_id, GCancellable *cancellable,
                             GError **error);

TsrNetem *tsr_cluster_get_netem (TsrCluster *self);
gboolean tsr_cluster_set_netem (TsrCluster *self, const char *node_id,
                                const TsrNetemSettings *settings, GError **error);
gboolean tsr_cluster_set_netem_profile (TsrCluster *self, const char *profile, GError **error);
JsonNode *tsr_cluster_get_network_info (TsrCluster *self);
JsonNode *tsr_cluster_get_system_info (TsrCluster *self);
JsonNode *tsr_cluster_get_detailed_report (TsrCluster *self);

G_END_DECLS
