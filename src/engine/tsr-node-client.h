/* tsr-node-client.h: talks to one node over pinned TLS
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tsr-frame.h"
#include "tsr-identity.h"
#include "tsr-netem.h"
#include "tsr-node.h"

G_BEGIN_DECLS

#define TSR_NODE_CLIENT_DEFAULT_TIMEOUT_MS      30000
#define TSR_NODE_CLIENT_DEFAULT_MAX_CONNECTIONS 2
#define TSR_NODE_CLIENT_DEFAULT_RETRIES         3

/**
 * TsrNodeHealth:
 *
 * A node's answer to HealthCheck, with the round-trip time the client measured.
 */
typedef struct
{
  char *node_id;
  char *identity;
  char *address;
  TsrNodeState state;
  gboolean is_alive;
  double uptime_seconds;
  guint64 used_bytes;
  guint64 capacity_bytes;
  guint64 segment_count;
  guint64 disk_free_bytes; /* free on its disk; G_MAXUINT64 when it did not say */
  TsrInterfaceStats stats;
  double latency_ms;
} TsrNodeHealth;

void tsr_node_health_free (TsrNodeHealth *health);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrNodeHealth, tsr_node_health_free)

#define TSR_TYPE_NODE_CLIENT (tsr_node_client_get_type ())
G_DECLARE_FINAL_TYPE (TsrNodeClient, tsr_node_client, TSR, NODE_CLIENT, GObject)

TsrNodeClient *tsr_node_client_new (const char *node_id, const char *address, const char *pinned_id,
                                    TsrIdentity *identity);

const char *tsr_node_client_get_node_id (TsrNodeClient *self);
const char *tsr_node_client_get_address (TsrNodeClient *self);
void tsr_node_client_set_timeout (TsrNodeClient *self, guint timeout_ms);
void tsr_node_client_set_max_connections (TsrNodeClient *self, guint max_connections);
void tsr_node_client_set_retries (TsrNodeClient *self, guint retries);
void tsr_node_client_set_netem_link (TsrNodeClient *self, TsrNetemLink *link);
guint tsr_node_client_get_n_connections (TsrNodeClient *self);
void tsr_node_client_close (TsrNodeClient *self);

TsrFrame *tsr_node_client_call (TsrNodeClient *self, TsrMessageType type,
                                const ProtobufCMessage *body, GBytes *payload,
                                GCancellable *cancellable, GError **error);

gboolean tsr_node_client_store_segment (TsrNodeClient *self, const char *segment_id, GBytes *data,
                                        gboolean cold, GCancellable *cancellable, GError **error);
GBytes *tsr_node_client_retrieve_segment (TsrNodeClient *self, const char *segment_id,
                                          GCancellable *cancellable, GError **error);
GBytes *tsr_node_client_retrieve_segment_unverified (TsrNodeClient *self, const char *segment_id,
                                                     GCancellable *cancellable, GError **error);
typedef struct _TsrNodeCall TsrNodeCall;
TsrNodeCall *tsr_node_client_retrieve_many_begin (TsrNodeClient *self,
                                                  const char *const *segment_ids, guint n,
                                                  GCancellable *cancellable);
void tsr_node_client_retrieve_many_end (TsrNodeCall *call, GBytes **segments, GError **errors);
TsrNodeCall *tsr_node_client_store_many_begin (TsrNodeClient *self, const char *const *segment_ids,
                                               GBytes *const *data, const gboolean *cold, guint n,
                                               GCancellable *cancellable);
void tsr_node_client_store_many_end (TsrNodeCall *call, GError **errors);
gboolean tsr_node_client_delete_segment (TsrNodeClient *self, const char *segment_id,
                                         GCancellable *cancellable, GError **error);
gboolean tsr_node_client_sync (TsrNodeClient *self, GCancellable *cancellable, GError **error);
GPtrArray *tsr_node_client_list_segments (TsrNodeClient *self, GCancellable *cancellable,
                                          GError **error);
gboolean tsr_node_client_scrub (TsrNodeClient *self, const char *after, guint64 max_bytes,
                                TsrScrubResult *result, GCancellable *cancellable, GError **error);
TsrNodeHealth *tsr_node_client_health_check (TsrNodeClient *self, GCancellable *cancellable,
                                             GError **error);
TsrNodeHealth *tsr_node_client_health_check_full (TsrNodeClient *self, guint timeout_ms,
                                                  guint retries, GCancellable *cancellable,
                                                  GError **error);
GPtrArray *tsr_node_client_get_topology (TsrNodeClient *self, GCancellable *cancellable,
                                         GError **error);

void tsr_node_client_health_check_async (TsrNodeClient *self, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
TsrNodeHealth *tsr_node_client_health_check_finish (TsrNodeClient *self, GAsyncResult *result,
                                                    GError **error);

G_END_DECLS
