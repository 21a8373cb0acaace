/* tsr-maintenance.h: keeping every committed file whole: file health, repair, scrub, garbage
 * collection and draining a node
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tsr-cluster.h"
#include "tsr-manifest.h"

G_BEGIN_DECLS

#define TSR_GC_GRACE_SECONDS             3600 /* automatic collection leaves younger segments */
#define TSR_CLUSTER_MAINTENANCE_INTERVAL 300  /* seconds between background repair + gc */

typedef enum
{
  TSR_FILE_HEALTHY,  /* every chunk has all its copies on nodes that are up */
  TSR_FILE_DEGRADED, /* some chunk is short of copies, but every chunk has one */
  TSR_FILE_LOST,     /* some chunk has no copy on a node that is up */
} TsrFileHealthState;

/**
 * TsrFileHealthInfo:
 *
 * What a file's manifest and the nodes' last known states say about its durability.
 */
typedef struct
{
  TsrFileHealthState state;
  guint replicas;          /* copies each chunk should have */
  guint min_copies;        /* fewest copies of any chunk on nodes that are up */
  guint survives;          /* it survives the loss of any this many nodes */
  guint64 degraded_chunks; /* chunks short of copies */
  guint64 lost_chunks;     /* chunks with no copy on a node that is up */
} TsrFileHealthInfo;

const char *tsr_file_health_state_to_string (TsrFileHealthState state);
void tsr_cluster_get_file_health (TsrCluster *self, const TsrManifest *manifest,
                                  TsrFileHealthInfo *health);

/* Progress of a long maintenance step: @done of @total units (files, or nodes for a scrub). */
typedef void (*TsrProgressFunc) (const char *what, guint64 done, guint64 total, gpointer user_data);

typedef struct
{
  guint64 files;           /* manifests looked at */
  guint64 chunks;          /* chunks looked at */
  guint64 copies_missing;  /* copies short at the start (dead, disabled, missing, corrupt) */
  guint64 copies_made;     /* copies stored on other nodes (or found there and adopted) */
  guint64 bytes_copied;    /* bytes sent to make them */
  guint64 files_updated;   /* manifests rewritten */
  guint64 chunks_degraded; /* chunks still short of copies afterwards */
  guint64 chunks_lost;     /* chunks with no healthy copy anywhere */
} TsrRepairReport;

gboolean tsr_cluster_repair (TsrCluster *self, TsrProgressFunc progress, gpointer user_data,
                             GCancellable *cancellable, TsrRepairReport *report, GError **error);
void tsr_cluster_repair_async (TsrCluster *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_cluster_repair_finish (TsrCluster *self, GAsyncResult *result, TsrRepairReport *report,
                                    GError **error);

typedef struct
{
  guint64 nodes;    /* nodes scrubbed */
  guint64 checked;  /* copies re-hashed */
  guint64 bytes;    /* bytes read */
  guint64 corrupt;  /* copies found corrupt or missing, now quarantined */
  guint64 repaired; /* copies made again from healthy replicas */
  guint64 lost;     /* chunks with no healthy copy left */
} TsrScrubReport;

gboolean tsr_cluster_scrub (TsrCluster *self, TsrProgressFunc progress, gpointer user_data,
                            GCancellable *cancellable, TsrScrubReport *report, GError **error);
void tsr_cluster_scrub_async (TsrCluster *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_cluster_scrub_finish (TsrCluster *self, GAsyncResult *result, TsrScrubReport *report,
                                   GError **error);

typedef struct
{
  guint64 nodes;      /* nodes looked at (the ones up) */
  guint64 segments;   /* copies looked at */
  guint64 orphans;    /* copies no manifest lists on their node, deleted */
  guint64 bytes;      /* bytes they held */
  guint64 young;      /* unlisted copies left alone because they are younger than the grace */
  guint64 temp_files; /* half-written manifests removed from the catalogs */
} TsrGcReport;

gboolean tsr_cluster_gc (TsrCluster *self, guint grace_seconds, GCancellable *cancellable,
                         TsrGcReport *report, GError **error);
void tsr_cluster_gc_async (TsrCluster *self, guint grace_seconds, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_cluster_gc_finish (TsrCluster *self, GAsyncResult *result, TsrGcReport *report,
                                GError **error);

gboolean tsr_cluster_remove_node (TsrCluster *self, const char *node_id, TsrProgressFunc progress,
                                  gpointer user_data, GCancellable *cancellable,
                                  TsrRepairReport *report, GError **error);

typedef struct
{
  guint64 files;         /* manifests looked at */
  guint64 files_updated; /* manifests rewritten */
  guint64 copies_moved;  /* copies moved to a node under its share */
  guint64 bytes_moved;
  guint64 copies_failed; /* moves a receiving node refused (full or failing) */
} TsrRebalanceReport;

gboolean tsr_cluster_rebalance (TsrCluster *self, TsrProgressFunc progress, gpointer user_data,
                                GCancellable *cancellable, TsrRebalanceReport *report,
                                GError **error);
void tsr_cluster_rebalance_async (TsrCluster *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean tsr_cluster_rebalance_finish (TsrCluster *self, GAsyncResult *result,
                                       TsrRebalanceReport *report, GError **error);

void tsr_cluster_set_maintenance_interval (TsrCluster *self, guint seconds);

G_END_DECLS
