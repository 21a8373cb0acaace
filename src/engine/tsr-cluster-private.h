/* tsr-cluster-private.h: what the cluster's maintenance (tsr-maintenance.c) needs from inside
 * the orchestrator; not part of the engine's API.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tsr-cluster.h"
#include "tsr-crypto.h"
#include "tsr-node-client.h"

G_BEGIN_DECLS

TsrNodeClient *_tsr_cluster_dup_client (TsrCluster *self, const char *node_id);
gboolean _tsr_cluster_is_started (TsrCluster *self);
GMainContext *_tsr_cluster_get_owner_context (TsrCluster *self);
void _tsr_cluster_begin_op (TsrCluster *self);
void _tsr_cluster_end_op (TsrCluster *self);
/* Uploads and repairs hold it shared; garbage collection exclusively, so it never sees the
 * segments of an upload or repair whose manifest is not written yet. */
void _tsr_cluster_lock_segments (TsrCluster *self, gboolean exclusive);
void _tsr_cluster_unlock_segments (TsrCluster *self, gboolean exclusive);
/* Held around deleting a manifest and around rewriting one, so that a repair never brings
 * back the manifest of a file deleted meanwhile. */
void _tsr_cluster_lock_catalog (TsrCluster *self);
void _tsr_cluster_unlock_catalog (TsrCluster *self);
/* tsr-maintenance.c: a repair's or rebalance's rewrite of a manifest it loaded. */
gboolean _tsr_cluster_rewrite_manifest (TsrCluster *self, const TsrManifest *m, const char *path,
                                        gboolean *written, GError **error);
void _tsr_cluster_emit_progress (TsrCluster *self, const char *name, guint64 done, guint64 total);
void _tsr_cluster_emit_files_changed (TsrCluster *self);
void _tsr_cluster_top_up (TsrCluster *self, TsrManifest *manifest, guint replicas,
                          GCancellable *cancellable);
void _tsr_task_run_in_own_thread (GTask *task, GTaskThreadFunc func);
void _tsr_cluster_set_chunk_cipher (TsrCluster *self, TsrChunkCipher cipher);
void _tsr_cluster_set_cache_budget (TsrCluster *self, guint64 bytes);

/* How a download's file is made: tests force the fallbacks of file systems without unnamed
 * files (NAMED) and of sandboxes refusing to link them (COPIED). */
typedef enum
{
  TSR_DOWNLOAD_FILE_UNNAMED,
  TSR_DOWNLOAD_FILE_NAMED,
  TSR_DOWNLOAD_FILE_COPIED,
} TsrDownloadFile;

void _tsr_cluster_force_download_file (TsrCluster *self, TsrDownloadFile how);
void _tsr_cluster_get_upload_peak (TsrCluster *self, guint *uploads, guint64 *bytes);
gboolean _tsr_cluster_remove_member (TsrCluster *self, const char *node_id, GError **error);
void _tsr_cluster_set_draining (TsrCluster *self, const char *node_id, gboolean draining);
gboolean _tsr_cluster_is_draining (TsrCluster *self, const char *node_id);

G_END_DECLS
