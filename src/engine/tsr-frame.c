/* tsr-frame.c
 *
 * Both ways in, tsr_frame_decode() (a buffer: the fuzz target) and tsr_frame_read() (a stream:
 * the network), run tsr_frame_header_decode() and then unpack_body() on the same bytes in the
 * same order, so they reach the same verdict and the fuzzer exercises every check the network
 * path relies on. The order matters: the body is checked before the payload is read, so a
 * frame with a bad body costs nothing for its payload.
 *
 * protobuf-c 1.4.1 has no size or depth limit of its own. Lengths are capped by the header
 * check, memory by a per-body allocation budget, and depth by the schema (no message type
 * contains itself; the tests check that).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-frame.h"
#include "tsr-error.h"
#include "tsr-hash.h"

#include <string.h>

/* What unpacking a body may allocate. Our largest message, a body full of segment refs, needs
 * about 2.6 times its encoded size (protobuf-c's scratch included); a body built to balloon,
 * such as thousands of empty sub-messages that each cost a struct for two bytes of input, is
 * refused. */
#define BODY_BUDGET_FACTOR 4
#define BODY_BUDGET_SLACK  (64 * 1024)
/* Counted per allocation on top of its size, so many tiny allocations cost what malloc
 * really spends on them. */
#define BODY_ALLOC_OVERHEAD 16

/* The payload buffer grows as bytes arrive, so a peer that announces 64 MiB and sends nothing
 * gets nothing allocated on its behalf. */
#define PAYLOAD_FIRST_CHUNK ((gsize)1024 * 1024)

/* Deeper than any message in tessera.proto; a bound for the descriptor walk in case the
 * schema ever grows a recursive type. */
#define MAX_MESSAGE_DEPTH 8

#define MAX_NODE_ID_LEN 255
#define FILE_ID_LEN     16

static const struct
{
  const ProtobufCMessageDescriptor *descriptor;
  const char *name;
} message_types[] = {
  [TSR_MSG_ERROR] = { &tessera__error_response__descriptor, "ERROR" },
  [TSR_MSG_STORE_SEGMENT_REQUEST] = { &tessera__store_segment_request__descriptor,
                                      "STORE_SEGMENT_REQUEST" },
  [TSR_MSG_STORE_SEGMENT_RESPONSE] = { &tessera__store_segment_response__descriptor,
                                       "STORE_SEGMENT_RESPONSE" },
  [TSR_MSG_RETRIEVE_SEGMENT_REQUEST] = { &tessera__retrieve_segment_request__descriptor,
                                         "RETRIEVE_SEGMENT_REQUEST" },
  [TSR_MSG_RETRIEVE_SEGMENT_RESPONSE] = { &tessera__retrieve_segment_response__descriptor,
                                          "RETRIEVE_SEGMENT_RESPONSE" },
  [TSR_MSG_DELETE_SEGMENT_REQUEST] = { &tessera__delete_segment_request__descriptor,
                                       "DELETE_SEGMENT_REQUEST" },
  [TSR_MSG_DELETE_SEGMENT_RESPONSE] = { &tessera__delete_segment_response__descriptor,
                                        "DELETE_SEGMENT_RESPONSE" },
  [TSR_MSG_SYNC_REQUEST] = { &tessera__sync_request__descriptor, "SYNC_REQUEST" },
  [TSR_MSG_SYNC_RESPONSE] = { &tessera__sync_response__descriptor, "SYNC_RESPONSE" },
  [TSR_MSG_HEALTH_CHECK_REQUEST] = { &tessera__health_check_request__descriptor,
                                     "HEALTH_CHECK_REQUEST" },
  [TSR_MSG_HEALTH_CHECK_RESPONSE] = { &tessera__health_check_response__descriptor,
                                      "HEALTH_CHECK_RESPONSE" },
  [TSR_MSG_NETWORK_TOPOLOGY_REQUEST] = { &tessera__network_topology_request__descriptor,
                                         "NETWORK_TOPOLOGY_REQUEST" },
  [TSR_MSG_NETWORK_TOPOLOGY_RESPONSE] = { &tessera__network_topology_response__descriptor,
                                          "NETWORK_TOPOLOGY_RESPONSE" },
  [TSR_MSG_UPLOAD_FILE_REQUEST] = { &tessera__upload_file_request__descriptor,
                                    "UPLOAD_FILE_REQUEST" },
  [TSR_MSG_UPLOAD_FILE_RESPONSE] = { &tessera__upload_file_response__descriptor,
                                     "UPLOAD_FILE_RESPONSE" },
  [TSR_MSG_DOWNLOAD_FILE_REQUEST] = { &tessera__download_file_request__descriptor,
                                      "DOWNLOAD_FILE_REQUEST" },
  [TSR_MSG_DOWNLOAD_FILE_RESPONSE] = { &tessera__download_file_response__descriptor,
                                       "DOWNLOAD_FILE_RESPONSE" },
  [TSR_MSG_LIST_SEGMENTS_REQUEST] = { &tessera__list_segments_request__descriptor,
                                      "LIST_SEGMENTS_REQUEST" },
  [TSR_MSG_LIST_SEGMENTS_RESPONSE] = { &tessera__list_segments_response__descriptor,
                                       "LIST_SEGMENTS_RESPONSE" },
  [TSR_MSG_SCRUB_REQUEST] = { &tessera__scrub_request__descriptor, "SCRUB_REQUEST" },
  [TSR_MSG_SCRUB_RESPONSE] = { &tessera__scrub_response__descriptor, "SCRUB_RESPONSE" },
  [TSR_MSG_RETRIEVE_SEGMENTS_REQUEST] = { &tessera__retrieve_segments_request__descriptor,
                                          "RETRIEVE_SEGMENTS_REQUEST" },
  [TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE] = { &tessera__retrieve_segments_response__descriptor,
                                           "RETRIEVE_SEGMENTS_RESPONSE" },
  [TSR_MSG_STORE_SEGMENTS_REQUEST] = { &tessera__store_segments_request__descriptor,
                                       "STORE_SEGMENTS_REQUEST" },
  [TSR_MSG_STORE_SEGMENTS_RESPONSE] = { &tessera__store_segments_response__descriptor,
                                        "STORE_SEGMENTS_RESPONSE" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (message_types) == TSR_MSG_LAST + 1);

static gboolean
type_is_known (guint type)
{
  return type >= TSR_MSG_ERROR && type <= TSR_MSG_LAST;
}

/**
 * tsr_message_type_descriptor:
 *
 * Returns: (nullable): the protobuf message that is the body of frames of @type, or %NULL
 * when @type is not a message type of this protocol version
 */
const ProtobufCMessageDescriptor *
tsr_message_type_descriptor (TsrMessageType type)
{
  return type_is_known (type) ? message_types[type].descriptor : NULL;
}

/**
 * tsr_message_type_to_string:
 *
 * Returns: the stable name of @type as docs/protocol.md spells it, "UNKNOWN" for anything else
 */
const char *
tsr_message_type_to_string (TsrMessageType type)
{
  return type_is_known (type) ? message_types[type].name : "UNKNOWN";
}

/**
 * tsr_message_type_is_batch:
 *
 * Whether @type is a request for several segments at once (RetrieveSegments, StoreSegments),
 * which nodes of earlier versions refuse.
 */
gboolean
tsr_message_type_is_batch (TsrMessageType type)
{
  return type == TSR_MSG_RETRIEVE_SEGMENTS_REQUEST || type == TSR_MSG_STORE_SEGMENTS_REQUEST;
}

static guint32
get_be32 (const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | (guint32)p[3];
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/**
 * tsr_frame_header_encode:
 *
 * Writes @header in wire order (big-endian). The magic is always written; the other fields are
 * written as they are, unchecked, so tests can build broken headers.
 */
void
tsr_frame_header_encode (const TsrFrameHeader *header, guint8 out[TSR_FRAME_HEADER_SIZE])
{
  g_return_if_fail (header != NULL);
  g_return_if_fail (out != NULL);

  put_be32 (out, TSR_FRAME_MAGIC);
  out[4] = header->version;
  out[5] = header->type;
  out[6] = header->flags >> 8;
  out[7] = header->flags & 0xff;
  put_be32 (out + 8, header->request_id);
  put_be32 (out + 12, header->body_len);
  put_be32 (out + 16, header->payload_len);
}

/**
 * tsr_frame_header_decode:
 *
 * Parses and checks a header: magic, version, type, flags, request id and both lengths. Nothing
 * is allocated, so a caller can refuse a hostile length before it costs anything.
 *
 * Returns: %TRUE with @header filled in; %FALSE with %TSR_ERROR_PROTOCOL, or
 * %TSR_ERROR_TOO_LARGE for a length over its limit
 */
gboolean
tsr_frame_header_decode (const guint8 in[TSR_FRAME_HEADER_SIZE], TsrFrameHeader *header,
                         GError **error)
{
  TsrFrameHeader h;
  guint32 magic;

  g_return_val_if_fail (in != NULL, FALSE);
  g_return_val_if_fail (header != NULL, FALSE);

  magic = get_be32 (in);
  h.version = in[4];
  h.type = in[5];
  h.flags = (guint16)(in[6] << 8 | in[7]);
  h.request_id = get_be32 (in + 8);
  h.body_len = get_be32 (in + 12);
  h.payload_len = get_be32 (in + 16);

  if (magic != TSR_FRAME_MAGIC)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                   "Not a Tessera frame (magic 0x%08x, expected 0x%08x): the peer does not "
                   "speak the Tessera protocol",
                   magic, TSR_FRAME_MAGIC);
      return FALSE;
    }
  if (h.version != TSR_PROTOCOL_VERSION)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                   "Unsupported protocol version %u (this build speaks version %u)", h.version,
                   TSR_PROTOCOL_VERSION);
      return FALSE;
    }
  if (!type_is_known (h.type))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL, "Unknown message type %u", h.type);
      return FALSE;
    }
  if (h.flags != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                   "Unsupported frame flags 0x%04x (version %u defines none)", h.flags,
                   TSR_PROTOCOL_VERSION);
      return FALSE;
    }
  /* 0 is what a connection-level ERROR frame carries; a request or response with it could
   * not be told apart from one. */
  if (h.request_id == 0 && h.type != TSR_MSG_ERROR)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL, "%s frame with request id 0",
                   message_types[h.type].name);
      return FALSE;
    }
  if (h.body_len > TSR_FRAME_MAX_BODY)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE,
                   "Frame body of %u bytes exceeds the limit of %u", h.body_len,
                   TSR_FRAME_MAX_BODY);
      return FALSE;
    }
  if (h.payload_len > TSR_FRAME_MAX_PAYLOAD)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE,
                   "Frame payload of %u bytes exceeds the limit of %u", h.payload_len,
                   TSR_FRAME_MAX_PAYLOAD);
      return FALSE;
    }

  *header = h;
  return TRUE;
}

/* Bodies are freed with this, whichever allocator unpacked them: both use g_malloc(). */
static void *
heap_alloc (void *data, size_t size)
{
  /* protobuf-c takes NULL for out of memory; g_malloc (0) returns NULL. */
  return g_malloc (MAX (size, 1));
}

static void
heap_free (void *data, void *pointer)
{
  g_free (pointer);
}

static ProtobufCAllocator heap_allocator = { heap_alloc, heap_free, NULL };

typedef struct
{
  ProtobufCAllocator base;
  gsize used;
  gsize budget;
  gboolean exhausted;
} BudgetAllocator;

/* Counts what unpack allocates and never gives it back: frees during unpack are scratch or
 * error unwinding, and a monotonic count is the simpler bound. */
static void *
budget_alloc (void *data, size_t size)
{
  BudgetAllocator *b = data;

  if (size > b->budget - b->used || BODY_ALLOC_OVERHEAD > b->budget - b->used - size)
    {
      b->exhausted = TRUE;
      return NULL;
    }
  b->used += size + BODY_ALLOC_OVERHEAD;
  return heap_alloc (NULL, size);
}

/* GLib, GError messages and JSON output all assume UTF-8, and protobuf-c does not check it:
 * every string field, at any depth, is checked here once for all consumers. */
static gboolean
text_is_valid (const ProtobufCMessage *msg, guint depth)
{
  const ProtobufCMessageDescriptor *desc = msg->descriptor;

  if (depth > MAX_MESSAGE_DEPTH)
    return FALSE;

  for (guint i = 0; i < desc->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *field = &desc->fields[i];
      const char *member = (const char *)msg + field->offset;
      const void *const *values;
      gsize n = 1;

      if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
        continue;
      if (field->label == PROTOBUF_C_LABEL_REPEATED)
        {
          n = *(const size_t *)((const char *)msg + field->quantifier_offset);
          values = *(const void *const *const *)member;
        }
      else
        values = (const void *const *)member;

      for (gsize j = 0; j < n; j++)
        {
          if (values[j] == NULL)
            continue;
          if (field->type == PROTOBUF_C_TYPE_STRING ? !g_utf8_validate (values[j], -1, NULL)
                                                    : !text_is_valid (values[j], depth + 1))
            return FALSE;
        }
    }
  return TRUE;
}

/* Node ids are names people chose ("Node_01") and get printed: any text without control
 * characters, so a terminal shows what the peer sent and nothing else. */
static gboolean
node_id_is_valid (const char *id)
{
  gsize len = id != NULL ? strlen (id) : 0;

  if (len == 0 || len > MAX_NODE_ID_LEN)
    return FALSE;
  for (const char *p = id; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* A file id is the first 16 hex digits of the file's SHA-256 and names the node's record of the
 * file, so nothing else may reach a path. The same rule as tsr_file_id_is_valid(), kept here so
 * the framing does not depend on the manifest code. */
static gboolean
file_id_is_valid (const char *id)
{
  if (id == NULL)
    return FALSE;
  for (guint i = 0; i < FILE_ID_LEN; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return FALSE;
  return id[FILE_ID_LEN] == '\0';
}

/* An identity is the hex SHA-256 of a certificate: the same form as a segment id. */
static gboolean
identity_is_valid (const char *id)
{
  return tsr_segment_id_is_valid (id);
}

/* The payload is the segments back to back, so their lengths must add up to it exactly;
 * checked here so no consumer slices past the payload. */
static gboolean
segments_are_valid (TsrMessageType type, Tessera__SegmentRef *const *segments, gsize n,
                    guint32 payload_len, GError **error)
{
  guint64 sum = 0;

  for (gsize i = 0; i < n; i++)
    {
      if (!tsr_segment_id_is_valid (segments[i]->segment_id))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                       "%s: segment %" G_GSIZE_FORMAT " has an invalid segment_id (not 64 "
                       "lowercase hex characters)",
                       message_types[type].name, i);
          return FALSE;
        }
      /* At most ~15,000 refs fit in a body, so this cannot overflow 64 bits. */
      sum += segments[i]->length;
    }
  if (sum != payload_len)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "%s: the segments add up to %" G_GUINT64_FORMAT " bytes but the payload has %u",
                   message_types[type].name, sum, payload_len);
      return FALSE;
    }
  return TRUE;
}

/* The results of a batch's answer: in one that carries the segments (@with_bytes), every OK
 * result has a length and the lengths add up to the payload exactly, so no consumer slices
 * past it; in any, a result that carries no bytes has no non-zero length. */
static gboolean
results_are_valid (TsrMessageType type, Tessera__SegmentResult *const *results, gsize n,
                   gboolean with_bytes, guint32 payload_len, GError **error)
{
  guint64 sum = 0;

  for (gsize i = 0; i < n; i++)
    {
      const Tessera__SegmentResult *r = results[i];
      gboolean has_bytes = with_bytes && r->status->code == 0;

      if (has_bytes ? !r->has_length : r->has_length && r->length != 0)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                       "%s has an invalid results.length (see docs/protocol.md for its form)",
                       message_types[type].name);
          return FALSE;
        }
      sum += r->length; /* at most ~100,000 results fit in a body: no overflow */
    }
  if (with_bytes && sum != payload_len)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "%s: the results add up to %" G_GUINT64_FORMAT " bytes but the payload has %u",
                   message_types[type].name, sum, payload_len);
      return FALSE;
    }
  return TRUE;
}

/* The checks protobuf-c cannot make: that ids are well formed, that text is UTF-8 and that
 * lengths agree with the payload. Run on every body received and every body sent, so a peer
 * never sees a frame we would refuse. */
static gboolean
body_is_valid (TsrMessageType type, const ProtobufCMessage *body, guint32 payload_len,
               GError **error)
{
  const char *name = message_types[type].name;
  const char *bad_field = NULL;

  if (!text_is_valid (body, 0))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT, "%s: a text field is not UTF-8",
                   name);
      return FALSE;
    }

  switch (type)
    {
      case TSR_MSG_STORE_SEGMENT_REQUEST:
        if (!tsr_segment_id_is_valid (((const Tessera__StoreSegmentRequest *)body)->segment_id))
          bad_field = "segment_id";
        break;
      case TSR_MSG_RETRIEVE_SEGMENT_REQUEST:
        if (!tsr_segment_id_is_valid (((const Tessera__RetrieveSegmentRequest *)body)->segment_id))
          bad_field = "segment_id";
        break;
      case TSR_MSG_DELETE_SEGMENT_REQUEST:
        if (!tsr_segment_id_is_valid (((const Tessera__DeleteSegmentRequest *)body)->segment_id))
          bad_field = "segment_id";
        break;
      case TSR_MSG_HEALTH_CHECK_RESPONSE:
        {
          const Tessera__HealthCheckResponse *m = (const Tessera__HealthCheckResponse *)body;
          if (!node_id_is_valid (m->node_id))
            bad_field = "node_id";
          else if (!identity_is_valid (m->identity))
            bad_field = "identity";
          break;
        }
      case TSR_MSG_NETWORK_TOPOLOGY_RESPONSE:
        {
          const Tessera__NetworkTopologyResponse *m =
              (const Tessera__NetworkTopologyResponse *)body;
          if (!node_id_is_valid (m->node_id))
            bad_field = "node_id";
          for (gsize i = 0; bad_field == NULL && i < m->n_peers; i++)
            {
              if (!node_id_is_valid (m->peers[i]->node_id))
                bad_field = "peers.node_id";
              else if (m->peers[i]->identity != NULL && !identity_is_valid (m->peers[i]->identity))
                bad_field = "peers.identity";
            }
          break;
        }
      case TSR_MSG_UPLOAD_FILE_REQUEST:
        {
          const Tessera__UploadFileRequest *m = (const Tessera__UploadFileRequest *)body;
          if (!file_id_is_valid (m->file_id))
            bad_field = "file_id";
          else if (!segments_are_valid (type, m->segments, m->n_segments, payload_len, error))
            return FALSE;
          break;
        }
      case TSR_MSG_DOWNLOAD_FILE_REQUEST:
        if (!file_id_is_valid (((const Tessera__DownloadFileRequest *)body)->file_id))
          bad_field = "file_id";
        break;
      case TSR_MSG_DOWNLOAD_FILE_RESPONSE:
        {
          const Tessera__DownloadFileResponse *m = (const Tessera__DownloadFileResponse *)body;
          if (!segments_are_valid (type, m->segments, m->n_segments, payload_len, error))
            return FALSE;
          break;
        }
      case TSR_MSG_LIST_SEGMENTS_REQUEST:
        {
          const Tessera__ListSegmentsRequest *m = (const Tessera__ListSegmentsRequest *)body;
          if (m->after != NULL && !tsr_segment_id_is_valid (m->after))
            bad_field = "after";
          break;
        }
      case TSR_MSG_LIST_SEGMENTS_RESPONSE:
        {
          const Tessera__ListSegmentsResponse *m = (const Tessera__ListSegmentsResponse *)body;
          for (gsize i = 0; bad_field == NULL && i < m->n_segments; i++)
            if (!tsr_segment_id_is_valid (m->segments[i]->segment_id))
              bad_field = "segments.segment_id";
          break;
        }
      case TSR_MSG_SCRUB_REQUEST:
        {
          const Tessera__ScrubRequest *m = (const Tessera__ScrubRequest *)body;
          if (m->after != NULL && !tsr_segment_id_is_valid (m->after))
            bad_field = "after";
          break;
        }
      case TSR_MSG_SCRUB_RESPONSE:
        {
          const Tessera__ScrubResponse *m = (const Tessera__ScrubResponse *)body;
          if (m->next != NULL && !tsr_segment_id_is_valid (m->next))
            bad_field = "next";
          for (gsize i = 0; bad_field == NULL && i < m->n_corrupt; i++)
            if (!tsr_segment_id_is_valid (m->corrupt[i]))
              bad_field = "corrupt";
          break;
        }
      case TSR_MSG_RETRIEVE_SEGMENTS_REQUEST:
        {
          const Tessera__RetrieveSegmentsRequest *m =
              (const Tessera__RetrieveSegmentsRequest *)body;
          for (gsize i = 0; bad_field == NULL && i < m->n_segment_ids; i++)
            if (!tsr_segment_id_is_valid (m->segment_ids[i]))
              bad_field = "segment_ids";
          break;
        }
      case TSR_MSG_STORE_SEGMENTS_REQUEST:
        {
          const Tessera__StoreSegmentsRequest *m = (const Tessera__StoreSegmentsRequest *)body;
          if (!segments_are_valid (type, m->segments, m->n_segments, payload_len, error))
            return FALSE;
          break;
        }
      case TSR_MSG_STORE_SEGMENTS_RESPONSE:
        {
          const Tessera__StoreSegmentsResponse *m = (const Tessera__StoreSegmentsResponse *)body;
          if (!results_are_valid (type, m->results, m->n_results, FALSE, payload_len, error))
            return FALSE;
          break;
        }
      case TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE:
        {
          const Tessera__RetrieveSegmentsResponse *m =
              (const Tessera__RetrieveSegmentsResponse *)body;
          if (!results_are_valid (type, m->results, m->n_results, TRUE, payload_len, error))
            return FALSE;
          break;
        }
      case TSR_MSG_ERROR:
      case TSR_MSG_STORE_SEGMENT_RESPONSE:
      case TSR_MSG_RETRIEVE_SEGMENT_RESPONSE:
      case TSR_MSG_DELETE_SEGMENT_RESPONSE:
      case TSR_MSG_SYNC_REQUEST:
      case TSR_MSG_SYNC_RESPONSE:
      case TSR_MSG_HEALTH_CHECK_REQUEST:
      case TSR_MSG_NETWORK_TOPOLOGY_REQUEST:
      case TSR_MSG_UPLOAD_FILE_RESPONSE:
      default:
        break;
    }

  if (bad_field != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "%s has an invalid %s (see docs/protocol.md for its form)", name, bad_field);
      return FALSE;
    }
  return TRUE;
}

/* The body check shared by both ways in. @header has passed tsr_frame_header_decode(). */
static ProtobufCMessage *
unpack_body (const TsrFrameHeader *header, const guint8 *data, GError **error)
{
  const ProtobufCMessageDescriptor *desc = message_types[header->type].descriptor;
  BudgetAllocator budget = {
    .base = { budget_alloc, heap_free, NULL },
    .budget = (gsize)header->body_len * BODY_BUDGET_FACTOR + BODY_BUDGET_SLACK,
  };
  ProtobufCMessage *body;

  budget.base.allocator_data = &budget;
  body = protobuf_c_message_unpack (desc, &budget.base, header->body_len, data);
  if (body == NULL)
    {
      if (budget.exhausted)
        g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                     "%s body of %u bytes needs more than %" G_GSIZE_FORMAT
                     " bytes of memory to decode",
                     message_types[header->type].name, header->body_len, budget.budget);
      else
        g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                     "%s body of %u bytes is not a valid %s message",
                     message_types[header->type].name, header->body_len, desc->name);
      return NULL;
    }
  if (!body_is_valid (header->type, body, header->payload_len, error))
    {
      protobuf_c_message_free_unpacked (body, &heap_allocator);
      return NULL;
    }
  return body;
}

static TsrFrame *
frame_new (const TsrFrameHeader *header, ProtobufCMessage *body)
{
  TsrFrame *frame = g_new0 (TsrFrame, 1);

  frame->header = *header;
  frame->body = body;
  return frame;
}

/**
 * tsr_frame_free:
 *
 * Frees the frame, its body and its reference to the payload.
 */
void
tsr_frame_free (TsrFrame *frame)
{
  if (frame == NULL)
    return;
  if (frame->body != NULL)
    protobuf_c_message_free_unpacked (frame->body, &heap_allocator);
  g_clear_pointer (&frame->payload, g_bytes_unref);
  g_free (frame);
}

static void
set_truncated_error (GError **error, gsize have, gsize need)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
               "Truncated frame: the input ends after %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
               " bytes",
               have, need);
}

/**
 * tsr_frame_decode:
 * @data: (array length=len): bytes received, starting at a frame boundary
 * @consumed: (out) (optional): the size of the decoded frame, 0 on error
 *
 * Decodes the first frame in @data with exactly the checks tsr_frame_read() makes, and gives
 * the same error for the same bytes: %TSR_ERROR_CLOSED when @data is empty, %TSR_ERROR_PROTOCOL
 * when it ends inside a frame or the frame is malformed, %TSR_ERROR_TOO_LARGE for a length over
 * its limit, %TSR_ERROR_INVALID_ARGUMENT for a malformed id. The payload is copied.
 *
 * Returns: (transfer full) (nullable): the frame
 */
TsrFrame *
tsr_frame_decode (const guint8 *data, gsize len, gsize *consumed, GError **error)
{
  g_autoptr (TsrFrame) frame = NULL;
  TsrFrameHeader header;
  ProtobufCMessage *body;
  gsize body_end, frame_end;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (consumed != NULL)
    *consumed = 0;
  if (len == 0)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_CLOSED, "Peer closed the connection");
      return NULL;
    }
  if (len < TSR_FRAME_HEADER_SIZE)
    {
      set_truncated_error (error, len, TSR_FRAME_HEADER_SIZE);
      return NULL;
    }
  if (!tsr_frame_header_decode (data, &header, error))
    return NULL;

  /* Both lengths are capped, so these sums stay far below G_MAXSIZE. */
  body_end = TSR_FRAME_HEADER_SIZE + (gsize)header.body_len;
  frame_end = body_end + header.payload_len;
  if (len < body_end)
    {
      set_truncated_error (error, len, frame_end);
      return NULL;
    }
  body = unpack_body (&header, data + TSR_FRAME_HEADER_SIZE, error);
  if (body == NULL)
    return NULL;
  frame = frame_new (&header, body);
  if (len < frame_end)
    {
      set_truncated_error (error, len, frame_end);
      return NULL;
    }
  frame->payload = g_bytes_new (data + body_end, header.payload_len);

  if (consumed != NULL)
    *consumed = frame_end;
  return g_steal_pointer (&frame);
}

/* Reads exactly @len bytes; @frame_start says whether an end of stream right here is a clean
 * close (between frames) or a truncated frame. */
static gboolean
read_exactly (GInputStream *in, guint8 *buf, gsize len, gboolean frame_start,
              GCancellable *cancellable, GError **error)
{
  GError *local_error = NULL;
  gsize got = 0;

  if (len == 0)
    return TRUE;
  /* Not every stream looks at the cancellable (memory streams do not). */
  if (g_cancellable_set_error_if_cancelled (cancellable, &local_error) ||
      !g_input_stream_read_all (in, buf, len, &got, cancellable, &local_error))
    {
      tsr_propagate_stream_error (error, local_error);
      return FALSE;
    }
  if (got < len)
    {
      if (frame_start && got == 0)
        g_set_error_literal (error, TSR_ERROR, TSR_ERROR_CLOSED, "Peer closed the connection");
      else
        g_set_error_literal (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                             "Truncated frame: the peer closed the connection in the middle "
                             "of a frame");
      return FALSE;
    }
  return TRUE;
}

static GBytes *
read_payload (GInputStream *in, gsize len, GCancellable *cancellable, GError **error)
{
  g_autofree guint8 *buf = NULL;
  gsize have = 0;

  while (have < len)
    {
      gsize want = MIN (len, MAX (have * 2, PAYLOAD_FIRST_CHUNK));

      buf = g_realloc (buf, want);
      if (!read_exactly (in, buf + have, want - have, FALSE, cancellable, error))
        return NULL;
      have = want;
    }
  return g_bytes_new_take (g_steal_pointer (&buf), len);
}

/**
 * tsr_frame_read:
 *
 * Reads one frame, blocking. Checks as tsr_frame_decode() does; also %TSR_ERROR_CLOSED when the
 * stream ends before the frame's first byte, %TSR_ERROR_CANCELLED, %TSR_ERROR_TIMEOUT, and
 * %TSR_ERROR_IO for other stream errors, with the stream's message. After an error the stream
 * is no longer at a frame boundary: answer with an ERROR frame if need be, then close it.
 *
 * Returns: (transfer full) (nullable): the frame
 */
TsrFrame *
tsr_frame_read (GInputStream *in, GCancellable *cancellable, GError **error)
{
  g_autoptr (TsrFrame) frame = NULL;
  g_autofree guint8 *body_data = NULL;
  guint8 raw[TSR_FRAME_HEADER_SIZE];
  TsrFrameHeader header;
  ProtobufCMessage *body;

  g_return_val_if_fail (G_IS_INPUT_STREAM (in), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  if (!read_exactly (in, raw, sizeof raw, TRUE, cancellable, error))
    return NULL;
  if (!tsr_frame_header_decode (raw, &header, error))
    return NULL;

  body_data = g_malloc (header.body_len);
  if (!read_exactly (in, body_data, header.body_len, FALSE, cancellable, error))
    return NULL;
  body = unpack_body (&header, body_data, error);
  if (body == NULL)
    return NULL;
  frame = frame_new (&header, body);

  frame->payload = read_payload (in, header.payload_len, cancellable, error);
  if (frame->payload == NULL)
    return NULL;
  return g_steal_pointer (&frame);
}

/* Payloads up to this size are copied behind the header to go out in one write. */
#define TSR_FRAME_INLINE_PAYLOAD ((gsize)256 * 1024)

/**
 * tsr_frame_write:
 * @body: a message of tsr_message_type_descriptor (@type)
 * @payload: (nullable): raw bytes after the body
 *
 * Writes one frame, blocking, without copying the payload. The body gets the checks a receiver
 * makes, and both lengths are checked, before anything is written: an error other than a
 * stream error leaves the stream untouched. Frames on one connection must not interleave, so
 * callers sharing a stream serialise their writes.
 *
 * Returns: %TRUE once the whole frame is written; %FALSE with %TSR_ERROR_TOO_LARGE,
 * %TSR_ERROR_INVALID_ARGUMENT, or a stream error mapped as tsr_frame_read() maps it
 */
gboolean
tsr_frame_write (GOutputStream *out, TsrMessageType type, guint32 request_id,
                 const ProtobufCMessage *body, GBytes *payload, GCancellable *cancellable,
                 GError **error)
{
  return tsr_frame_write_parts (out, type, request_id, body, payload != NULL ? &payload : NULL,
                                payload != NULL ? 1 : 0, cancellable, error);
}

/**
 * tsr_frame_write_parts:
 * @parts: (array length=n_parts): the payload in pieces, which follow each other on the wire
 *
 * tsr_frame_write() for a payload in several pieces (a StoreSegments sends its segments back
 * to back), without gathering them into one buffer first.
 */
gboolean
tsr_frame_write_parts (GOutputStream *out, TsrMessageType type, guint32 request_id,
                       const ProtobufCMessage *body, GBytes *const *parts, guint n_parts,
                       GCancellable *cancellable, GError **error)
{
  g_autofree guint8 *buf = NULL;
  g_autofree GOutputVector *vectors = NULL;
  TsrFrameHeader header = { TSR_PROTOCOL_VERSION, type, 0, request_id, 0, 0 };
  gsize n_vectors = 0, head_len;
  gboolean inline_payload;
  GError *local_error = NULL;
  gsize body_len, payload_len = 0;

  g_return_val_if_fail (G_IS_OUTPUT_STREAM (out), FALSE);
  g_return_val_if_fail (type_is_known (type), FALSE);
  g_return_val_if_fail (body != NULL && body->descriptor == message_types[type].descriptor, FALSE);
  /* A required field left NULL would reach the peer as a body it must refuse. */
  g_return_val_if_fail (protobuf_c_message_check (body), FALSE);
  g_return_val_if_fail (request_id != 0 || type == TSR_MSG_ERROR, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (n_parts == 0 || parts != NULL, FALSE);

  for (guint i = 0; i < n_parts; i++)
    {
      gsize len = g_bytes_get_size (parts[i]);
      /* Checked one at a time, so the sum cannot overflow. */
      if (len > TSR_FRAME_MAX_PAYLOAD - payload_len)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE,
                       "Frame payload exceeds the limit of %u bytes", TSR_FRAME_MAX_PAYLOAD);
          return FALSE;
        }
      payload_len += len;
    }
  body_len = protobuf_c_message_get_packed_size (body);
  if (body_len > TSR_FRAME_MAX_BODY)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE,
                   "Frame body of %" G_GSIZE_FORMAT " bytes exceeds the limit of %u", body_len,
                   TSR_FRAME_MAX_BODY);
      return FALSE;
    }
  if (!body_is_valid (type, body, payload_len, error))
    return FALSE;

  /* One buffer, so the frame leaves as few TLS records (each its own send) as its size
   * allows: GIO's TLS stream writes every vector of a writev as separate records. A large
   * payload goes piece by piece rather than being copied. */
  head_len = TSR_FRAME_HEADER_SIZE + body_len;
  inline_payload = payload_len <= TSR_FRAME_INLINE_PAYLOAD;
  buf = g_malloc (head_len + (inline_payload ? payload_len : 0));
  header.body_len = body_len;
  header.payload_len = payload_len;
  tsr_frame_header_encode (&header, buf);
  if (protobuf_c_message_pack (body, buf + TSR_FRAME_HEADER_SIZE) != body_len)
    g_return_val_if_reached (FALSE);

  vectors = g_new (GOutputVector, n_parts + 1);
  vectors[n_vectors++] = (GOutputVector){ buf, head_len + (inline_payload ? payload_len : 0) };
  for (guint i = 0, at = head_len; i < n_parts; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (parts[i], &len);

      if (len == 0)
        continue;
      if (inline_payload)
        {
          memcpy (buf + at, data, len);
          at += len;
        }
      else
        vectors[n_vectors++] = (GOutputVector){ data, len };
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, &local_error) ||
      !g_output_stream_writev_all (out, vectors, n_vectors, NULL, cancellable, &local_error))
    {
      tsr_propagate_stream_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_status_set_ok:
 *
 * Makes @status say success.
 */
void
tsr_status_set_ok (Tessera__Status *status)
{
  g_return_if_fail (status != NULL);

  status->code = 0;
  status->message = NULL;
}

/* tsr_error_code_to_string() knows every code, so a code added to TsrError is accepted on the
 * wire without touching this file. */
static gboolean
tsr_error_code_is_known (guint code)
{
  return code <= G_MAXINT && strcmp (tsr_error_code_to_string ((TsrError)code), "UNKNOWN") != 0;
}

/**
 * tsr_status_set_error:
 * @error: the failure to report; its message is borrowed, so it must outlive @status's use
 *
 * Makes @status say @error: its TsrError code plus one, or %TSR_ERROR_FAILED plus one for
 * errors of other domains, and its message.
 */
void
tsr_status_set_error (Tessera__Status *status, const GError *error)
{
  TsrError code = TSR_ERROR_FAILED;

  g_return_if_fail (status != NULL);
  g_return_if_fail (error != NULL);

  if (error->domain == TSR_ERROR && error->code >= 0 && tsr_error_code_is_known (error->code))
    code = error->code;
  status->code = (guint32)code + 1;
  status->message = error->message;
}

/**
 * tsr_status_to_error:
 *
 * Turns a status a peer sent into a #GError in the %TSR_ERROR domain. A code this build does not
 * know reads as %TSR_ERROR_FAILED, so a newer peer's errors still fail the operation.
 *
 * Returns: %TRUE when @status is success; %FALSE with @error set otherwise
 */
gboolean
tsr_status_to_error (const Tessera__Status *status, GError **error)
{
  TsrError code;

  g_return_val_if_fail (status != NULL, FALSE);

  if (status->code == 0)
    return TRUE;
  code =
      tsr_error_code_is_known (status->code - 1) ? (TsrError)(status->code - 1) : TSR_ERROR_FAILED;
  if (status->message != NULL && status->message[0] != '\0')
    g_set_error_literal (error, TSR_ERROR, code, status->message);
  else
    g_set_error (error, TSR_ERROR, code, "The peer reported an error (%s) without a message",
                 tsr_error_code_to_string (code));
  return FALSE;
}
