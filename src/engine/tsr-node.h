/* tsr-node.h: a storage node serving the wire protocol over TLS (the seed's VirtualNode)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tsr-identity.h"
#include "tsr-segment-store.h"
#include "tsr-trust-store.h"

G_BEGIN_DECLS

/**
 * TsrNodeState:
 * @TSR_NODE_STATE_READY: serving and idle
 * @TSR_NODE_STATE_WAITING: waiting for disk or network I/O on behalf of a request
 * @TSR_NODE_STATE_RUNNING: processing a request (decoding, verifying)
 * @TSR_NODE_STATE_STOPPED: not serving: never started, shut down, or failed
 *
 * The seed's process states.
 */
typedef enum
{
  TSR_NODE_STATE_READY,
  TSR_NODE_STATE_WAITING,
  TSR_NODE_STATE_RUNNING,
  TSR_NODE_STATE_STOPPED,
} TsrNodeState;

GType tsr_node_state_get_type (void);
#define TSR_TYPE_NODE_STATE (tsr_node_state_get_type ())
const char *tsr_node_state_to_string (TsrNodeState state);
gboolean tsr_node_state_from_string (const char *str, TsrNodeState *state);

/**
 * TsrInterfaceStats:
 *
 * The seed's NetworkInterface statistics; a packet is one protocol frame.
 */
typedef struct
{
  guint64 packets_sent;
  guint64 packets_received;
  guint64 bytes_sent;
  guint64 bytes_received;
  guint64 errors;
  double send_throughput_bps;
  double receive_throughput_bps;
} TsrInterfaceStats;

typedef struct
{
  char *node_id;
  char *address;
  char *identity;
} TsrPeerInfo;

void tsr_peer_info_free (TsrPeerInfo *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrPeerInfo, tsr_peer_info_free)

#define TSR_NODE_MAX_CONNECTIONS    64
#define TSR_NODE_LIST_PAGE_MAX      4096                /* segments per ListSegments answer */
#define TSR_NODE_RETRIEVE_BATCH_MAX 64                  /* ids per RetrieveSegments request */
#define TSR_NODE_STORE_BATCH_MAX    64                  /* segments per StoreSegments request */
#define TSR_NODE_SCRUB_PAGE_BYTES   ((guint64)64 << 20) /* bytes re-hashed per Scrub request */
#define TSR_NODE_SCRUB_INTERVAL     10                  /* seconds between background slices */
#define TSR_NODE_SCRUB_DEFAULT_RATE ((guint64)1 << 20)  /* background budget, bytes per second */

#define TSR_TYPE_NODE (tsr_node_get_type ())
G_DECLARE_FINAL_TYPE (TsrNode, tsr_node, TSR, NODE, GObject)

TsrNode *tsr_node_new (const char *node_id, TsrSegmentStore *store, TsrIdentity *identity,
                       TsrTrustStore *trusted);

gboolean tsr_node_start (TsrNode *self, const char *host, guint16 port, GError **error);
void tsr_node_stop (TsrNode *self);

const char *tsr_node_get_node_id (TsrNode *self);
const char *tsr_node_get_identity_id (TsrNode *self);
char *tsr_node_dup_address (TsrNode *self);
guint16 tsr_node_get_port (TsrNode *self);
TsrNodeState tsr_node_get_state (TsrNode *self);
gboolean tsr_node_is_alive (TsrNode *self);
double tsr_node_get_uptime (TsrNode *self);
TsrSegmentStore *tsr_node_get_store (TsrNode *self);
void tsr_node_get_stats (TsrNode *self, TsrInterfaceStats *stats);
void tsr_node_set_scrub_rate (TsrNode *self, guint64 bytes_per_second);
void tsr_node_get_scrub_counts (TsrNode *self, guint64 *checked, guint64 *corrupt);

void tsr_node_add_peer (TsrNode *self, const char *node_id, const char *address,
                        const char *identity);
GPtrArray *tsr_node_dup_peers (TsrNode *self);
JsonNode *tsr_node_get_info (TsrNode *self);

G_END_DECLS
