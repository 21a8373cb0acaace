/* tsr-netem.h: the emulated network between this client and its nodes (the seed's
 * VirtualNetwork, NetworkInterface and NetworkPacket)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define TSR_NETEM_HEADER_SIZE     28
#define TSR_NETEM_MTU_DEFAULT     1500
#define TSR_NETEM_MTU_MIN         576
#define TSR_NETEM_MTU_MAX         65535
#define TSR_NETEM_LOSS_PPM_MAX    1000000
#define TSR_NETEM_LATENCY_MAX_US  (10 * G_USEC_PER_SEC)
#define TSR_NETEM_RTO_MS_DEFAULT  200
#define TSR_NETEM_RTO_MS_MAX      60000
#define TSR_NETEM_RETRANSMITS_MAX 16
#define TSR_NETEM_BANDWIDTH_MAX   (G_GUINT64_CONSTANT (100) * 1000 * 1000 * 1000)
#define TSR_NETEM_SEED_BANDWIDTH  (64 * 1024) /* the seed's table: 64 KB in 1 s, 1 MB in 16 s */
#define TSR_NETEM_CLIENT_ADDRESS  "192.168.1.1"

/**
 * TsrNetemPacketType:
 *
 * The seed's NetworkPacket types. Frames travel as DATA packets, health checks as
 * HEALTH_CHECK packets; the others name the connection's lifecycle.
 */
typedef enum
{
  TSR_NETEM_PACKET_SYN = 1,
  TSR_NETEM_PACKET_SYN_ACK,
  TSR_NETEM_PACKET_ACK,
  TSR_NETEM_PACKET_DATA,
  TSR_NETEM_PACKET_FIN,
  TSR_NETEM_PACKET_HEALTH_CHECK,
} TsrNetemPacketType;

/**
 * TsrNetemPacketHeader:
 *
 * The header every emulated packet carries, encoded in TSR_NETEM_HEADER_SIZE bytes
 * (docs/protocol.md). Addresses are IPv4 in host order.
 */
typedef struct
{
  guint8 type; /* TsrNetemPacketType */
  guint32 source;
  guint32 destination;
  guint32 seq;
  guint32 ack;
  guint32 packet_id;
  guint16 payload_len;
  guint16 checksum;
} TsrNetemPacketHeader;

void tsr_netem_header_encode (const TsrNetemPacketHeader *header,
                              guint8 out[TSR_NETEM_HEADER_SIZE]);
gboolean tsr_netem_header_decode (const guint8 *data, gsize len, TsrNetemPacketHeader *header,
                                  GError **error);
guint16 tsr_netem_checksum (const guint8 header[TSR_NETEM_HEADER_SIZE], const guint8 *payload,
                            gsize len);

typedef enum
{
  TSR_NETEM_SEND,    /* this client to the node */
  TSR_NETEM_RECEIVE, /* the node to this client */
} TsrNetemDirection;

/**
 * TsrNetemSettings:
 *
 * One link's shaping. With @enabled FALSE the link is not emulated at all (the `off`
 * profile); @bandwidth 0 means unlimited.
 */
typedef struct
{
  gboolean enabled;
  guint64 bandwidth;    /* bytes per second, each direction */
  guint latency_min_us; /* propagation delay, drawn uniformly per packet */
  guint latency_max_us;
  guint loss_ppm; /* packet loss probability, parts per million */
  guint processing_us;
  guint mtu;
  guint rto_ms;          /* retransmission timeout, doubled on each retry */
  guint max_retransmits; /* then the link gives up with TSR_ERROR_TIMEOUT */
} TsrNetemSettings;

void tsr_netem_settings_init_off (TsrNetemSettings *settings);
void tsr_netem_settings_init_seed (TsrNetemSettings *settings);
gboolean tsr_netem_settings_validate (const TsrNetemSettings *settings, GError **error);
gboolean tsr_netem_settings_equal (const TsrNetemSettings *a, const TsrNetemSettings *b);
const char *tsr_netem_settings_get_profile (const TsrNetemSettings *settings);
gint64 tsr_netem_settings_give_up_us (const TsrNetemSettings *settings);
void tsr_netem_settings_to_json (const TsrNetemSettings *settings, JsonBuilder *builder);
gboolean tsr_netem_settings_from_json (JsonObject *object, TsrNetemSettings *settings);
char *tsr_netem_settings_describe (const TsrNetemSettings *settings);

gboolean tsr_netem_parse_rate (const char *text, guint64 *bytes_per_second, GError **error);
gboolean tsr_netem_parse_latency (const char *text, guint *min_us, guint *max_us, GError **error);
gboolean tsr_netem_parse_loss (const char *text, guint *loss_ppm, GError **error);

/**
 * TsrNetemStats:
 *
 * A link's statistics, seen from this client: sent is towards the node. Every transmission
 * counts as sent, retransmissions included; received counts packets delivered to this client.
 */
typedef struct
{
  guint64 packets_sent;
  guint64 packets_received;
  guint64 bytes_sent;
  guint64 bytes_received;
  guint64 packets_lost;
  guint64 packets_retransmitted;
  double delivery_ms_mean;
  double delivery_ms_p95;
  double send_throughput_bps;
  double receive_throughput_bps;
  gint64 emulated_us; /* how long packets were in flight since the last reset (idle excluded) */
  gint64 backlog_us;  /* how long a new packet would wait for the link to be free */
} TsrNetemStats;

typedef struct _TsrNetemLink TsrNetemLink;

TsrNetemLink *tsr_netem_link_ref (TsrNetemLink *link);
void tsr_netem_link_unref (TsrNetemLink *link);
const char *tsr_netem_link_get_node_id (TsrNetemLink *link);
const char *tsr_netem_link_get_virtual_address (TsrNetemLink *link);
gboolean tsr_netem_link_is_active (TsrNetemLink *link);
void tsr_netem_link_count (TsrNetemLink *link, TsrNetemDirection direction, gsize frame_len);
gboolean tsr_netem_link_transmit (TsrNetemLink *link, TsrNetemDirection direction,
                                  TsrNetemPacketType type, GBytes *payload, gsize frame_len,
                                  gint64 deadline, GCancellable *cancellable, GError **error);
void tsr_netem_link_get_settings (TsrNetemLink *link, TsrNetemSettings *settings);
void tsr_netem_link_get_stats (TsrNetemLink *link, TsrNetemStats *stats);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrNetemLink, tsr_netem_link_unref)

#define TSR_TYPE_NETEM (tsr_netem_get_type ())
G_DECLARE_FINAL_TYPE (TsrNetem, tsr_netem, TSR, NETEM, GObject)

TsrNetem *tsr_netem_new (void);
TsrNetemLink *tsr_netem_add_link (TsrNetem *self, const char *node_id,
                                  const TsrNetemSettings *settings);
TsrNetemLink *tsr_netem_get_link (TsrNetem *self, const char *node_id);
void tsr_netem_remove_link (TsrNetem *self, const char *node_id);
GPtrArray *tsr_netem_dup_links (TsrNetem *self);
gboolean tsr_netem_set_settings (TsrNetem *self, const char *node_id,
                                 const TsrNetemSettings *settings, GError **error);
void tsr_netem_get_total_stats (TsrNetem *self, TsrNetemStats *stats);
void tsr_netem_reset_stats (TsrNetem *self);

G_END_DECLS
