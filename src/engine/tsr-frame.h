/* tsr-frame.h: framing of Tessera's wire protocol (docs/protocol.md)
 *
 * A frame is a fixed 20-byte header, a protobuf body (proto/tessera.proto) and a raw payload
 * (segment bytes). Every length is checked against its maximum before anything is allocated.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include "tessera.pb-c.h"

G_BEGIN_DECLS

#define TSR_FRAME_HEADER_SIZE 20
#define TSR_FRAME_MAGIC       0x54535257u /* "TSRW" */
#define TSR_PROTOCOL_VERSION  1
#define TSR_FRAME_MAX_BODY    ((guint32)1024 * 1024)
#define TSR_FRAME_MAX_PAYLOAD ((guint32)64 * 1024 * 1024)

typedef enum
{
  TSR_MSG_ERROR = 1,
  TSR_MSG_STORE_SEGMENT_REQUEST,
  TSR_MSG_STORE_SEGMENT_RESPONSE,
  TSR_MSG_RETRIEVE_SEGMENT_REQUEST,
  TSR_MSG_RETRIEVE_SEGMENT_RESPONSE,
  TSR_MSG_DELETE_SEGMENT_REQUEST,
  TSR_MSG_DELETE_SEGMENT_RESPONSE,
  TSR_MSG_SYNC_REQUEST,
  TSR_MSG_SYNC_RESPONSE,
  TSR_MSG_HEALTH_CHECK_REQUEST,
  TSR_MSG_HEALTH_CHECK_RESPONSE,
  TSR_MSG_NETWORK_TOPOLOGY_REQUEST,
  TSR_MSG_NETWORK_TOPOLOGY_RESPONSE,
  TSR_MSG_UPLOAD_FILE_REQUEST,
  TSR_MSG_UPLOAD_FILE_RESPONSE,
  TSR_MSG_DOWNLOAD_FILE_REQUEST,
  TSR_MSG_DOWNLOAD_FILE_RESPONSE,
  TSR_MSG_LIST_SEGMENTS_REQUEST,
  TSR_MSG_LIST_SEGMENTS_RESPONSE,
  TSR_MSG_SCRUB_REQUEST,
  TSR_MSG_SCRUB_RESPONSE,
  TSR_MSG_RETRIEVE_SEGMENTS_REQUEST,
  TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE,
  TSR_MSG_STORE_SEGMENTS_REQUEST,
  TSR_MSG_STORE_SEGMENTS_RESPONSE,
  TSR_MSG_LAST = TSR_MSG_STORE_SEGMENTS_RESPONSE,
} TsrMessageType;

typedef struct
{
  guint8 version;
  guint8 type;   /* TsrMessageType */
  guint16 flags; /* must be 0 in version 1 */
  guint32 request_id;
  guint32 body_len;
  guint32 payload_len;
} TsrFrameHeader;

typedef struct
{
  TsrFrameHeader header;
  ProtobufCMessage *body; /* of the descriptor tsr_message_type_descriptor (header.type) */
  GBytes *payload;        /* never NULL; empty when payload_len is 0 */
} TsrFrame;

const ProtobufCMessageDescriptor *tsr_message_type_descriptor (TsrMessageType type);
const char *tsr_message_type_to_string (TsrMessageType type);
gboolean tsr_message_type_is_batch (TsrMessageType type);

void tsr_frame_header_encode (const TsrFrameHeader *header, guint8 out[TSR_FRAME_HEADER_SIZE]);
gboolean tsr_frame_header_decode (const guint8 in[TSR_FRAME_HEADER_SIZE], TsrFrameHeader *header,
                                  GError **error);

TsrFrame *tsr_frame_decode (const guint8 *data, gsize len, gsize *consumed, GError **error);
TsrFrame *tsr_frame_read (GInputStream *in, GCancellable *cancellable, GError **error);
gboolean tsr_frame_write (GOutputStream *out, TsrMessageType type, guint32 request_id,
                          const ProtobufCMessage *body, GBytes *payload, GCancellable *cancellable,
                          GError **error);
gboolean tsr_frame_write_parts (GOutputStream *out, TsrMessageType type, guint32 request_id,
                                const ProtobufCMessage *body, GBytes *const *parts, guint n_parts,
                                GCancellable *cancellable, GError **error);
void tsr_frame_free (TsrFrame *frame);

/* Status in responses: code 0 is success, otherwise TsrError + 1. */
void tsr_status_set_ok (Tessera__Status *status);
void tsr_status_set_error (Tessera__Status *status, const GError *error);
gboolean tsr_status_to_error (const Tessera__Status *status, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrFrame, tsr_frame_free)

G_END_DECLS
