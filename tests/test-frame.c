/* test-frame.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gunixinputstream.h>

#define SEGMENT_A "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SEGMENT_B "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define IDENTITY  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define FILE_ID   "0123456789abcdef"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* One instance of every body, filled in place so nothing needs freeing. */
typedef struct
{
  Tessera__Status status;
  Tessera__SegmentRef refs[2];
  Tessera__SegmentRef *ref_ptrs[2];
  Tessera__Peer peers[2];
  Tessera__Peer *peer_ptrs[2];
  Tessera__InterfaceStats stats;
  Tessera__ErrorResponse error;
  Tessera__StoreSegmentRequest store_req;
  Tessera__StoreSegmentResponse store_resp;
  Tessera__RetrieveSegmentRequest retrieve_req;
  Tessera__RetrieveSegmentResponse retrieve_resp;
  Tessera__DeleteSegmentRequest delete_req;
  Tessera__DeleteSegmentResponse delete_resp;
  Tessera__SyncRequest sync_req;
  Tessera__SyncResponse sync_resp;
  Tessera__HealthCheckRequest health_req;
  Tessera__HealthCheckResponse health_resp;
  Tessera__NetworkTopologyRequest topology_req;
  Tessera__NetworkTopologyResponse topology_resp;
  Tessera__UploadFileRequest upload_req;
  Tessera__UploadFileResponse upload_resp;
  Tessera__DownloadFileRequest download_req;
  Tessera__DownloadFileResponse download_resp;
  Tessera__SegmentInfo infos[2];
  Tessera__SegmentInfo *info_ptrs[2];
  char *corrupt_ids[2];
  Tessera__ListSegmentsRequest list_req;
  Tessera__ListSegmentsResponse list_resp;
  Tessera__ScrubRequest scrub_req;
  Tessera__ScrubResponse scrub_resp;
  char *batch_ids[2];
  Tessera__RetrieveSegmentsRequest batch_req;
  Tessera__Status ok;
  Tessera__SegmentResult results[3];
  Tessera__SegmentResult *result_ptrs[3];
  Tessera__RetrieveSegmentsResponse batch_resp;
  Tessera__StoreSegmentsRequest store_batch_req;
  Tessera__StoreSegmentsResponse store_batch_resp;
  guint8 manifest[40];
} Sample;

/* A body of @type that is valid for a payload of @payload_len bytes: the file messages list
 * segments that add up to it. */
static ProtobufCMessage *
sample_body (Sample *s, TsrMessageType type, gsize payload_len)
{
  gsize n_refs = payload_len > 0 ? 2 : 0;

  tessera__status__init (&s->status);
  s->status.code = TSR_ERROR_NOT_FOUND + 1;
  s->status.message = "Segment is not stored on Node_02";
  for (guint i = 0; i < 2; i++)
    {
      tessera__segment_ref__init (&s->refs[i]);
      s->refs[i].segment_id = i == 0 ? SEGMENT_A : SEGMENT_B;
      s->ref_ptrs[i] = &s->refs[i];
      tessera__peer__init (&s->peers[i]);
      s->peers[i].node_id = i == 0 ? "Node_02" : "Node_03";
      s->peers[i].address = i == 0 ? "127.0.0.1:40002" : "[::1]:40003";
      s->peers[i].identity = i == 0 ? IDENTITY : NULL;
      s->peer_ptrs[i] = &s->peers[i];
    }
  s->refs[0].length = payload_len / 3;
  s->refs[1].length = payload_len - payload_len / 3;
  for (guint i = 0; i < sizeof s->manifest; i++)
    s->manifest[i] = i * 7;

  switch (type)
    {
      case TSR_MSG_ERROR:
        tessera__error_response__init (&s->error);
        s->error.status = &s->status;
        return &s->error.base;
      case TSR_MSG_STORE_SEGMENT_REQUEST:
        tessera__store_segment_request__init (&s->store_req);
        s->store_req.segment_id = SEGMENT_A;
        return &s->store_req.base;
      case TSR_MSG_STORE_SEGMENT_RESPONSE:
        tessera__store_segment_response__init (&s->store_resp);
        s->store_resp.status = &s->status;
        s->store_resp.has_used_bytes = TRUE;
        s->store_resp.used_bytes = G_GUINT64_CONSTANT (5) << 40;
        s->store_resp.has_capacity_bytes = TRUE;
        s->store_resp.capacity_bytes = G_MAXUINT64;
        return &s->store_resp.base;
      case TSR_MSG_RETRIEVE_SEGMENT_REQUEST:
        tessera__retrieve_segment_request__init (&s->retrieve_req);
        s->retrieve_req.segment_id = SEGMENT_B;
        return &s->retrieve_req.base;
      case TSR_MSG_RETRIEVE_SEGMENT_RESPONSE:
        tessera__retrieve_segment_response__init (&s->retrieve_resp);
        s->retrieve_resp.status = &s->status;
        return &s->retrieve_resp.base;
      case TSR_MSG_DELETE_SEGMENT_REQUEST:
        tessera__delete_segment_request__init (&s->delete_req);
        s->delete_req.segment_id = SEGMENT_A;
        return &s->delete_req.base;
      case TSR_MSG_DELETE_SEGMENT_RESPONSE:
        tessera__delete_segment_response__init (&s->delete_resp);
        s->delete_resp.status = &s->status;
        s->delete_resp.has_used_bytes = TRUE;
        s->delete_resp.used_bytes = 65536;
        return &s->delete_resp.base;
      case TSR_MSG_SYNC_REQUEST:
        tessera__sync_request__init (&s->sync_req);
        return &s->sync_req.base;
      case TSR_MSG_SYNC_RESPONSE:
        tessera__sync_response__init (&s->sync_resp);
        s->sync_resp.status = &s->status;
        return &s->sync_resp.base;
      case TSR_MSG_HEALTH_CHECK_REQUEST:
        tessera__health_check_request__init (&s->health_req);
        return &s->health_req.base;
      case TSR_MSG_HEALTH_CHECK_RESPONSE:
        tessera__interface_stats__init (&s->stats);
        s->stats.packets_sent = 12;
        s->stats.bytes_received = 1 << 30;
        s->stats.send_throughput_bps = 1.5e9;
        tessera__health_check_response__init (&s->health_resp);
        s->health_resp.status = &s->status;
        s->health_resp.node_id = "Node_01";
        s->health_resp.identity = IDENTITY;
        s->health_resp.state = "READY";
        s->health_resp.is_alive = TRUE;
        s->health_resp.uptime_seconds = 3600.25;
        s->health_resp.used_bytes = 100;
        s->health_resp.capacity_bytes = 1000;
        s->health_resp.segment_count = 3;
        s->health_resp.stats = &s->stats;
        s->health_resp.address = "127.0.0.1:40001";
        return &s->health_resp.base;
      case TSR_MSG_NETWORK_TOPOLOGY_REQUEST:
        tessera__network_topology_request__init (&s->topology_req);
        return &s->topology_req.base;
      case TSR_MSG_NETWORK_TOPOLOGY_RESPONSE:
        tessera__network_topology_response__init (&s->topology_resp);
        s->topology_resp.status = &s->status;
        s->topology_resp.node_id = "Node_01";
        s->topology_resp.n_peers = 2;
        s->topology_resp.peers = s->peer_ptrs;
        return &s->topology_resp.base;
      case TSR_MSG_UPLOAD_FILE_REQUEST:
        tessera__upload_file_request__init (&s->upload_req);
        s->upload_req.file_id = FILE_ID;
        s->upload_req.manifest.len = sizeof s->manifest;
        s->upload_req.manifest.data = s->manifest;
        s->upload_req.n_segments = n_refs;
        s->upload_req.segments = s->ref_ptrs;
        return &s->upload_req.base;
      case TSR_MSG_UPLOAD_FILE_RESPONSE:
        tessera__upload_file_response__init (&s->upload_resp);
        s->upload_resp.status = &s->status;
        s->upload_resp.has_segments_stored = TRUE;
        s->upload_resp.segments_stored = 2;
        return &s->upload_resp.base;
      case TSR_MSG_DOWNLOAD_FILE_REQUEST:
        tessera__download_file_request__init (&s->download_req);
        s->download_req.file_id = FILE_ID;
        return &s->download_req.base;
      case TSR_MSG_DOWNLOAD_FILE_RESPONSE:
        tessera__download_file_response__init (&s->download_resp);
        s->download_resp.status = &s->status;
        s->download_resp.has_manifest = TRUE;
        s->download_resp.manifest.len = sizeof s->manifest;
        s->download_resp.manifest.data = s->manifest;
        s->download_resp.n_segments = n_refs;
        s->download_resp.segments = s->ref_ptrs;
        return &s->download_resp.base;
      case TSR_MSG_LIST_SEGMENTS_REQUEST:
        tessera__list_segments_request__init (&s->list_req);
        s->list_req.after = SEGMENT_A;
        s->list_req.has_limit = TRUE;
        s->list_req.limit = 100;
        return &s->list_req.base;
      case TSR_MSG_LIST_SEGMENTS_RESPONSE:
        for (guint i = 0; i < 2; i++)
          {
            tessera__segment_info__init (&s->infos[i]);
            s->infos[i].segment_id = i == 0 ? SEGMENT_A : SEGMENT_B;
            s->infos[i].size = 65552;
            s->infos[i].age_seconds = i * 3600;
            s->info_ptrs[i] = &s->infos[i];
          }
        tessera__list_segments_response__init (&s->list_resp);
        s->list_resp.status = &s->status;
        s->list_resp.n_segments = 2;
        s->list_resp.segments = s->info_ptrs;
        s->list_resp.has_more = TRUE;
        s->list_resp.more = TRUE;
        return &s->list_resp.base;
      case TSR_MSG_SCRUB_REQUEST:
        tessera__scrub_request__init (&s->scrub_req);
        s->scrub_req.after = SEGMENT_B;
        s->scrub_req.has_max_bytes = TRUE;
        s->scrub_req.max_bytes = 64 << 20;
        return &s->scrub_req.base;
      case TSR_MSG_SCRUB_RESPONSE:
        tessera__scrub_response__init (&s->scrub_resp);
        s->corrupt_ids[0] = SEGMENT_A;
        s->corrupt_ids[1] = SEGMENT_B;
        s->scrub_resp.status = &s->status;
        s->scrub_resp.checked = 2;
        s->scrub_resp.bytes = 131104;
        s->scrub_resp.n_corrupt = 2;
        s->scrub_resp.corrupt = s->corrupt_ids;
        s->scrub_resp.next = SEGMENT_B;
        return &s->scrub_resp.base;
      case TSR_MSG_RETRIEVE_SEGMENTS_REQUEST:
        tessera__retrieve_segments_request__init (&s->batch_req);
        s->batch_ids[0] = SEGMENT_A;
        s->batch_ids[1] = SEGMENT_B;
        s->batch_req.n_segment_ids = 2;
        s->batch_req.segment_ids = s->batch_ids;
        s->batch_req.has_reader_authenticates = s->batch_req.reader_authenticates = TRUE;
        return &s->batch_req.base;
      case TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE:
        /* Two found, in the payload, and one missing, not in it. */
        tessera__status__init (&s->ok);
        for (guint i = 0; i < 3; i++)
          {
            tessera__segment_result__init (&s->results[i]);
            s->results[i].status = i == 1 ? &s->status : &s->ok;
            s->results[i].has_length = i != 1;
            s->result_ptrs[i] = &s->results[i];
          }
        s->results[0].length = payload_len / 3;
        s->results[2].length = payload_len - payload_len / 3;
        tessera__retrieve_segments_response__init (&s->batch_resp);
        s->batch_resp.status = &s->ok;
        s->batch_resp.n_results = 3;
        s->batch_resp.results = s->result_ptrs;
        return &s->batch_resp.base;
      case TSR_MSG_STORE_SEGMENTS_REQUEST:
        tessera__store_segments_request__init (&s->store_batch_req);
        s->store_batch_req.n_segments = n_refs;
        s->store_batch_req.segments = s->ref_ptrs;
        return &s->store_batch_req.base;
      case TSR_MSG_STORE_SEGMENTS_RESPONSE:
        /* Two stored, one refused. */
        tessera__status__init (&s->ok);
        for (guint i = 0; i < 3; i++)
          {
            tessera__segment_result__init (&s->results[i]);
            s->results[i].status = i == 1 ? &s->status : &s->ok;
            s->result_ptrs[i] = &s->results[i];
          }
        s->status.code = TSR_ERROR_NO_SPACE + 1;
        s->status.message = "Node store is full";
        tessera__store_segments_response__init (&s->store_batch_resp);
        s->store_batch_resp.status = &s->ok;
        s->store_batch_resp.n_results = 3;
        s->store_batch_resp.results = s->result_ptrs;
        s->store_batch_resp.has_used_bytes = s->store_batch_resp.has_capacity_bytes = TRUE;
        s->store_batch_resp.used_bytes = 131104;
        s->store_batch_resp.capacity_bytes = 1 << 30;
        return &s->store_batch_resp.base;
      default:
        g_assert_not_reached ();
    }
}

static GBytes *
pack_body (const ProtobufCMessage *body)
{
  gsize len = protobuf_c_message_get_packed_size (body);
  guint8 *buf = g_malloc (MAX (len, 1));

  g_assert_cmpuint (protobuf_c_message_pack (body, buf), ==, len);
  return g_bytes_new_take (buf, len);
}

/* A frame built by hand, so it can say what tsr_frame_write() would refuse to. */
static GBytes *
raw_frame (guint8 type, guint32 request_id, GBytes *body, gsize payload_len)
{
  TsrFrameHeader header = { TSR_PROTOCOL_VERSION, type, 0, request_id, 0, payload_len };
  GByteArray *out = g_byte_array_new ();
  guint8 raw[TSR_FRAME_HEADER_SIZE];

  header.body_len = body != NULL ? g_bytes_get_size (body) : 0;
  tsr_frame_header_encode (&header, raw);
  g_byte_array_append (out, raw, sizeof raw);
  if (body != NULL)
    g_byte_array_append (out, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_byte_array_set_size (out, out->len + payload_len);
  for (gsize i = 0; i < payload_len; i++)
    out->data[out->len - payload_len + i] = i & 0xff;
  return g_byte_array_free_to_bytes (out);
}

/* A copy of @frame with the header field at @offset set to @value. */
static GBytes *
patch_be32 (GBytes *frame, guint offset, guint32 value)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);
  guint8 *copy = g_memdup2 (data, len);

  copy[offset] = value >> 24;
  copy[offset + 1] = value >> 16;
  copy[offset + 2] = value >> 8;
  copy[offset + 3] = value;
  return g_bytes_new_take (copy, len);
}

static GBytes *
raw_frame_for (guint8 type, guint32 request_id, const ProtobufCMessage *body, gsize payload_len)
{
  g_autoptr (GBytes) packed = pack_body (body);

  return raw_frame (type, request_id, packed, payload_len);
}

typedef struct
{
  TsrMessageType type;
  guint32 request_id;
  GBytes *body;
  GBytes *payload;
} Expected;

static void
expected_clear (gpointer data)
{
  Expected *e = data;

  g_bytes_unref (e->body);
  g_bytes_unref (e->payload);
}

static void
assert_frame (const TsrFrame *frame, const Expected *e)
{
  g_autoptr (GBytes) body = NULL;

  g_assert_nonnull (frame);
  g_assert_cmpuint (frame->header.version, ==, TSR_PROTOCOL_VERSION);
  g_assert_cmpuint (frame->header.type, ==, e->type);
  g_assert_cmpuint (frame->header.flags, ==, 0);
  g_assert_cmpuint (frame->header.request_id, ==, e->request_id);
  g_assert_cmpuint (frame->header.body_len, ==, g_bytes_get_size (e->body));
  g_assert_cmpuint (frame->header.payload_len, ==, g_bytes_get_size (e->payload));
  g_assert_true (frame->body->descriptor == tsr_message_type_descriptor (e->type));
  /* protobuf-c packs deterministically, so equal bytes mean an equal message. */
  body = pack_body (frame->body);
  g_assert_true (g_bytes_equal (body, e->body));
  g_assert_nonnull (frame->payload);
  g_assert_true (g_bytes_equal (frame->payload, e->payload));
}

/* Every message type, with and without a payload, written with tsr_frame_write(). */
static GBytes *
write_every_type (GRand *rand, GArray *expected, gsize big_payload)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  guint32 request_id = 1;

  for (guint type = TSR_MSG_ERROR; type <= TSR_MSG_LAST; type++)
    {
      const gsize sizes[] = { 0, 1000, big_payload };

      for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
        {
          g_autoptr (GError) error = NULL;
          Sample sample;
          ProtobufCMessage *body;
          Expected e;

          if (sizes[i] == 0 && i > 0)
            continue;
          body = sample_body (&sample, type, sizes[i]);
          e.type = type;
          /* Connection-level errors carry request id 0; exercise both. */
          e.request_id = type == TSR_MSG_ERROR && i == 0 ? 0 : request_id++ * 0x01010101u;
          e.body = pack_body (body);
          e.payload = tsr_test_random_bytes (rand, sizes[i]);
          g_assert_true (tsr_frame_write (out, type, e.request_id, body,
                                          (sizes[i] > 0 || type % 2) ? e.payload : NULL, NULL,
                                          &error));
          g_assert_no_error (error);
          g_array_append_val (expected, e);
        }
    }
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static void
test_round_trip (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr (GArray) expected = g_array_new (FALSE, FALSE, sizeof (Expected));
  g_autoptr (GBytes) stream = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  const guint8 *data;
  gsize len, offset = 0;

  g_array_set_clear_func (expected, expected_clear);
  stream = write_every_type (rand, expected, 0);
  g_assert_cmpuint (expected->len, ==, 2 * TSR_MSG_LAST);
  data = g_bytes_get_data (stream, &len);

  /* Back through a stream, frame after frame, then a clean end. */
  in = g_memory_input_stream_new_from_bytes (stream);
  for (guint i = 0; i < expected->len; i++)
    {
      g_autoptr (TsrFrame) frame = tsr_frame_read (in, NULL, &error);
      g_assert_no_error (error);
      assert_frame (frame, &g_array_index (expected, Expected, i));
    }
  g_assert_null (tsr_frame_read (in, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CLOSED);
  g_clear_error (&error);

  /* And the same bytes through the buffer decoder. */
  for (guint i = 0; i < expected->len; i++)
    {
      gsize consumed = 0;
      g_autoptr (TsrFrame) frame =
          tsr_frame_decode (data + offset, len - offset, &consumed, &error);
      g_assert_no_error (error);
      assert_frame (frame, &g_array_index (expected, Expected, i));
      g_assert_cmpuint (consumed, ==,
                        TSR_FRAME_HEADER_SIZE + frame->header.body_len + frame->header.payload_len);
      offset += consumed;
    }
  g_assert_cmpuint (offset, ==, len);
  g_assert_null (tsr_frame_decode (data + offset, 0, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CLOSED);
}

typedef struct
{
  int fd;
  GBytes *data;
} PipeWriter;

/* Writes in uneven pieces, so the reader sees every kind of short read. */
static gpointer
pipe_writer (gpointer user_data)
{
  PipeWriter *w = user_data;
  const gsize pieces[] = { 1, 7, 20, 4093, 65536, 3 };
  gsize len, offset = 0;
  const guint8 *data = g_bytes_get_data (w->data, &len);

  for (guint i = 0; offset < len; i++)
    {
      gsize n = MIN (pieces[i % G_N_ELEMENTS (pieces)], len - offset);
      ssize_t r = write (w->fd, data + offset, n);
      g_assert_cmpint (r, >, 0);
      offset += r;
    }
  close (w->fd);
  return NULL;
}

static void
test_pipe (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr (GArray) expected = g_array_new (FALSE, FALSE, sizeof (Expected));
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GThread) thread = NULL;
  PipeWriter writer;
  int fds[2];

  g_array_set_clear_func (expected, expected_clear);
  /* 3 MiB payloads cross the reader's first 1 MiB buffer and make it grow. */
  writer.data = write_every_type (rand, expected, 3 * 1024 * 1024 + 17);
  g_assert_cmpint (pipe (fds), ==, 0);
  writer.fd = fds[1];
  in = g_unix_input_stream_new (fds[0], TRUE);
  thread = g_thread_new ("pipe-writer", pipe_writer, &writer);

  for (guint i = 0; i < expected->len; i++)
    {
      g_autoptr (TsrFrame) frame = tsr_frame_read (in, NULL, &error);
      g_assert_no_error (error);
      assert_frame (frame, &g_array_index (expected, Expected, i));
    }
  g_assert_null (tsr_frame_read (in, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CLOSED);
  g_assert_cmpstr (error->message, ==, "Peer closed the connection");

  g_thread_join (g_steal_pointer (&thread));
  g_bytes_unref (writer.data);
}

/* Runs @frame through both ways in and checks they agree on @code. */
static void
assert_refused (GBytes *frame, gint code)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (frame);
  g_autoptr (GError) decode_error = NULL;
  g_autoptr (GError) read_error = NULL;
  g_autoptr (TsrFrame) decoded = NULL;
  g_autoptr (TsrFrame) read = NULL;
  gsize len, consumed = 1;
  const guint8 *data = g_bytes_get_data (frame, &len);

  decoded = tsr_frame_decode (data, len, &consumed, &decode_error);
  g_assert_error (decode_error, TSR_ERROR, code);
  g_assert_null (decoded);
  g_assert_cmpuint (consumed, ==, 0);
  g_assert_true (g_utf8_validate (decode_error->message, -1, NULL));

  read = tsr_frame_read (in, NULL, &read_error);
  g_assert_error (read_error, TSR_ERROR, code);
  g_assert_null (read);
}

static void
assert_accepted (GBytes *frame)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrFrame) decoded = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  decoded = tsr_frame_decode (data, len, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (decoded);
}

static void
test_header_layout (void)
{
  const TsrFrameHeader header = { 1,         TSR_MSG_RETRIEVE_SEGMENT_RESPONSE, 0, 0x01020304, 0x40,
                                  0x00100000 };
  /* The layout docs/protocol.md gives, byte for byte: big-endian throughout. */
  const guint8 expected[TSR_FRAME_HEADER_SIZE] = { 'T', 'S',  'R',  'W',  1,    5, 0,
                                                   0,   0x01, 0x02, 0x03, 0x04, 0, 0,
                                                   0,   0x40, 0,    0x10, 0,    0 };
  guint8 raw[TSR_FRAME_HEADER_SIZE];
  TsrFrameHeader back;
  g_autoptr (GError) error = NULL;

  tsr_frame_header_encode (&header, raw);
  g_assert_cmpmem (raw, sizeof raw, expected, sizeof expected);
  g_assert_true (tsr_frame_header_decode (raw, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (&back, sizeof back, &header, sizeof header);
}

static void
test_bad_header (void)
{
  Sample sample;
  g_autoptr (GBytes) body = pack_body (sample_body (&sample, TSR_MSG_HEALTH_CHECK_REQUEST, 0));
  const struct
  {
    guint offset;
    guint8 value;
  } breaks[] = {
    { 0, 'X' },              /* magic */
    { 3, 'X' },              /* magic */
    { 4, 0 },                /* version */
    { 4, 2 },                /* version */
    { 4, 0xff },             /* version */
    { 5, 0 },                /* type */
    { 5, TSR_MSG_LAST + 1 }, /* type */
    { 5, 0xff },             /* type */
    { 6, 0x80 },             /* flags */
    { 7, 0x01 },             /* flags */
  };

  for (guint i = 0; i < G_N_ELEMENTS (breaks); i++)
    {
      g_autoptr (GBytes) good = raw_frame (TSR_MSG_HEALTH_CHECK_REQUEST, 7, body, 0);
      g_autoptr (GByteArray) bad = g_byte_array_new ();
      g_autoptr (GBytes) bad_bytes = NULL;

      g_byte_array_append (bad, g_bytes_get_data (good, NULL), g_bytes_get_size (good));
      bad->data[breaks[i].offset] = breaks[i].value;
      bad_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&bad));
      assert_refused (bad_bytes, TSR_ERROR_PROTOCOL);
    }

  /* Request id 0 belongs to connection-level ERROR frames alone. */
  {
    g_autoptr (GBytes) zero = raw_frame (TSR_MSG_HEALTH_CHECK_REQUEST, 0, body, 0);
    g_autoptr (GBytes) error_frame =
        raw_frame_for (TSR_MSG_ERROR, 0, sample_body (&sample, TSR_MSG_ERROR, 0), 0);
    assert_refused (zero, TSR_ERROR_PROTOCOL);
    assert_accepted (error_frame);
  }
}

static void
check_too_large (void)
{
  Sample sample;
  g_autoptr (GBytes) body = pack_body (sample_body (&sample, TSR_MSG_STORE_SEGMENT_REQUEST, 0));
  const guint32 body_lens[] = { G_MAXUINT32, TSR_FRAME_MAX_BODY + 1 };
  const guint32 payload_lens[] = { G_MAXUINT32, TSR_FRAME_MAX_PAYLOAD + 1 };

  /* The header alone says 4 GiB: refused from the 20 bytes, whatever follows. */
  for (guint i = 0; i < G_N_ELEMENTS (body_lens); i++)
    {
      TsrFrameHeader h = { 1, TSR_MSG_STORE_SEGMENT_REQUEST, 0, 1, body_lens[i], 0 };
      guint8 raw[TSR_FRAME_HEADER_SIZE];
      g_autoptr (GBytes) frame = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *expected = g_strdup_printf ("Frame body of %u bytes exceeds the limit of %u",
                                                   body_lens[i], TSR_FRAME_MAX_BODY);

      tsr_frame_header_encode (&h, raw);
      frame = g_bytes_new (raw, sizeof raw);
      assert_refused (frame, TSR_ERROR_TOO_LARGE);
      g_assert_false (tsr_frame_header_decode (raw, &h, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE);
      g_assert_cmpstr (error->message, ==, expected);
    }
  for (guint i = 0; i < G_N_ELEMENTS (payload_lens); i++)
    {
      g_autoptr (GBytes) store = raw_frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, body, 0);
      g_autoptr (GBytes) frame = patch_be32 (store, 16, payload_lens[i]);
      assert_refused (frame, TSR_ERROR_TOO_LARGE);
    }

  /* At the limits exactly, the lengths are fine and the missing bytes are the problem; a peer
   * announcing a 64 MiB payload and sending none costs no 64 MiB. */
  {
    g_autoptr (GBytes) empty = raw_frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, NULL, 0);
    g_autoptr (GBytes) max_body = patch_be32 (empty, 12, TSR_FRAME_MAX_BODY);
    g_autoptr (GBytes) store = raw_frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, body, 0);
    g_autoptr (GBytes) max_payload = patch_be32 (store, 16, TSR_FRAME_MAX_PAYLOAD);
    const guint8 junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    g_autoptr (GBytes) garbage = g_bytes_new_static (junk, sizeof junk);
    g_autoptr (GBytes) garbage_frame = raw_frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, garbage, 0);
    g_autoptr (GBytes) garbage_max = patch_be32 (garbage_frame, 16, TSR_FRAME_MAX_PAYLOAD);

    assert_refused (max_body, TSR_ERROR_PROTOCOL);
    assert_refused (max_payload, TSR_ERROR_PROTOCOL);
    /* A bad body in front of a 64 MiB payload is refused before the payload is waited for. */
    assert_refused (garbage_max, TSR_ERROR_PROTOCOL);
  }
}

#ifndef UNDER_ASAN
static gsize
address_space_in_use (void)
{
  g_autofree char *statm = NULL;
  guint64 pages = 0;

  g_assert_true (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL));
  pages = g_ascii_strtoull (statm, NULL, 10);
  return pages * sysconf (_SC_PAGESIZE);
}
#endif

static void
test_too_large (void)
{
#ifndef UNDER_ASAN
  if (g_test_subprocess ())
    {
      /* 16 MiB more address space than now: an allocation the size a length field claims (up
       * to 4 GiB), or a 64 MiB payload buffer, would abort the subprocess. */
      struct rlimit limit;

      limit.rlim_cur = limit.rlim_max = address_space_in_use () + 16 * 1024 * 1024;
      g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
      check_too_large ();
      return;
    }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
#else
  /* ASan reserves terabytes of shadow address space; only the verdicts are checked. */
  check_too_large ();
#endif
}

static void
test_truncated (void)
{
  Sample sample;
  g_autoptr (GBytes) frame =
      raw_frame_for (TSR_MSG_UPLOAD_FILE_REQUEST, 42,
                     sample_body (&sample, TSR_MSG_UPLOAD_FILE_REQUEST, 300), 300);
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  assert_accepted (frame);
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr (GBytes) prefix = g_bytes_new (data, cut);
      /* Nothing at all is a clean close; anything more is a broken frame. */
      assert_refused (prefix, cut == 0 ? TSR_ERROR_CLOSED : TSR_ERROR_PROTOCOL);
    }

  /* A stream that ends in the middle of the second of two frames. */
  {
    g_autoptr (GByteArray) two = g_byte_array_new ();
    g_autoptr (GBytes) two_bytes = NULL;
    g_autoptr (GInputStream) in = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (TsrFrame) first = NULL;

    g_byte_array_append (two, data, len);
    g_byte_array_append (two, data, len / 2);
    two_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&two));
    in = g_memory_input_stream_new_from_bytes (two_bytes);
    first = tsr_frame_read (in, NULL, &error);
    g_assert_no_error (error);
    g_assert_null (tsr_frame_read (in, NULL, &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL);
    g_assert_nonnull (strstr (error->message, "Truncated frame"));
  }
}

static void
test_garbage_body (void)
{
  const guint8 junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  const guint8 wrong_wire_type[] = { 0x0d, 0x01, 0x02, 0x03, 0x04 }; /* field 1 as fixed32 */
  const guint8 overlong[] = { 0x0a, 0x40, 'a', 'b' };                /* 64-byte string, 2 sent */
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);

  for (guint type = TSR_MSG_ERROR; type <= TSR_MSG_LAST; type++)
    {
      g_autoptr (GBytes) body = g_bytes_new_static (junk, sizeof junk);
      g_autoptr (GBytes) frame = raw_frame (type, 1, body, 0);
      assert_refused (frame, TSR_ERROR_PROTOCOL);
    }
  {
    g_autoptr (GBytes) body = g_bytes_new_static (wrong_wire_type, sizeof wrong_wire_type);
    g_autoptr (GBytes) frame = raw_frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, body, 0);
    assert_refused (frame, TSR_ERROR_PROTOCOL);
  }
  {
    g_autoptr (GBytes) body = g_bytes_new_static (overlong, sizeof overlong);
    g_autoptr (GBytes) frame = raw_frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, body, 0);
    assert_refused (frame, TSR_ERROR_PROTOCOL);
  }
  /* A required field missing: an empty body is only right for messages without any. */
  {
    g_autoptr (GBytes) missing = raw_frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, empty, 0);
    g_autoptr (GBytes) fine = raw_frame (TSR_MSG_SYNC_REQUEST, 1, empty, 0);
    assert_refused (missing, TSR_ERROR_PROTOCOL);
    assert_accepted (fine);
  }
}

/* A body of many empty sub-messages is cheap to send and costly to unpack: the budget refuses
 * it, while a large body of real data still passes. */
static void
test_memory_budget (void)
{
  g_autoptr (GByteArray) bomb = g_byte_array_new ();
  g_autoptr (GBytes) bomb_bytes = NULL;
  g_autoptr (GBytes) frame = NULL;
  const guint8 status[] = { 0x0a, 0x02, 0x08, 0x00 };                 /* status { code: 0 } */
  const guint8 node_id[] = { 0x12, 0x02, 'N', '1' };                  /* node_id: "N1" */
  const guint8 empty_peer[] = { 0x22, 0x04, 0x0a, 0x00, 0x12, 0x00 }; /* peers { "" "" } */
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GError) error = NULL;

  g_byte_array_append (bomb, status, sizeof status);
  g_byte_array_append (bomb, node_id, sizeof node_id);
  while (bomb->len + sizeof empty_peer <= TSR_FRAME_MAX_BODY)
    g_byte_array_append (bomb, empty_peer, sizeof empty_peer);
  bomb_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&bomb));
  frame = raw_frame (TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, 1, bomb_bytes, 0);
  /* Without the budget this would unpack and then fail the node_id check as INVALID_ARGUMENT. */
  assert_refused (frame, TSR_ERROR_PROTOCOL);
  in = g_memory_input_stream_new_from_bytes (frame);
  g_assert_null (tsr_frame_read (in, NULL, &error));
  g_assert_nonnull (strstr (error->message, "bytes of memory to decode"));

  /* A full body of realistic segment refs, the largest message in use, fits the budget. */
  {
    Tessera__UploadFileRequest req = TESSERA__UPLOAD_FILE_REQUEST__INIT;
    Tessera__SegmentRef ref = TESSERA__SEGMENT_REF__INIT;
    g_autofree Tessera__SegmentRef **refs = NULL;
    g_autoptr (GBytes) big = NULL;
    gsize n = TSR_FRAME_MAX_BODY / 72;

    ref.segment_id = SEGMENT_A;
    ref.length = 1;
    refs = g_new (Tessera__SegmentRef *, n);
    for (gsize i = 0; i < n; i++)
      refs[i] = &ref;
    req.file_id = FILE_ID;
    req.n_segments = n;
    req.segments = refs;
    big = raw_frame_for (TSR_MSG_UPLOAD_FILE_REQUEST, 1, &req.base, n);
    g_assert_cmpuint (g_bytes_get_size (big) - n - TSR_FRAME_HEADER_SIZE, <=, TSR_FRAME_MAX_BODY);
    g_assert_cmpuint (g_bytes_get_size (big) - n - TSR_FRAME_HEADER_SIZE, >,
                      TSR_FRAME_MAX_BODY * 9 / 10);
    assert_accepted (big);
  }
}

/* Refused by both readers, and by the writer before it writes anything. */
static void
refuse_body (TsrMessageType type, const ProtobufCMessage *body, gsize payload_len)
{
  g_autoptr (GBytes) frame = raw_frame_for (type, 1, body, payload_len);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GBytes) payload = g_bytes_new_take (g_malloc0 (payload_len), payload_len);
  g_autoptr (GError) error = NULL;

  assert_refused (frame, TSR_ERROR_INVALID_ARGUMENT);
  g_assert_false (tsr_frame_write (out, type, 1, body, payload, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)), ==, 0);
}

static void
test_invalid_ids (void)
{
  const char *bad_segment_ids[] = {
    "",
    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
    "../../../../../../../../../../../../../../../../../../etc/passwd",
    "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  };
  Sample sample;

  for (guint i = 0; i < G_N_ELEMENTS (bad_segment_ids); i++)
    for (guint type = TSR_MSG_STORE_SEGMENT_REQUEST; type <= TSR_MSG_DELETE_SEGMENT_REQUEST;
         type += 2)
      {
        ProtobufCMessage *body = sample_body (&sample, type, 0);

        /* segment_id is the first field of all three requests. */
        G_STATIC_ASSERT (G_STRUCT_OFFSET (Tessera__StoreSegmentRequest, segment_id) ==
                         G_STRUCT_OFFSET (Tessera__RetrieveSegmentRequest, segment_id));
        G_STATIC_ASSERT (G_STRUCT_OFFSET (Tessera__StoreSegmentRequest, segment_id) ==
                         G_STRUCT_OFFSET (Tessera__DeleteSegmentRequest, segment_id));
        ((Tessera__StoreSegmentRequest *)body)->segment_id = (char *)bad_segment_ids[i];
        refuse_body (type, body, 0);
      }

  /* The other ids, text, and the lengths that must agree with the payload. */
  sample_body (&sample, TSR_MSG_UPLOAD_FILE_REQUEST, 100);
  sample.upload_req.file_id = "../metadata";
  refuse_body (TSR_MSG_UPLOAD_FILE_REQUEST, &sample.upload_req.base, 100);

  sample_body (&sample, TSR_MSG_UPLOAD_FILE_REQUEST, 100);
  sample.refs[1].segment_id = "not-a-segment";
  refuse_body (TSR_MSG_UPLOAD_FILE_REQUEST, &sample.upload_req.base, 100);

  sample_body (&sample, TSR_MSG_UPLOAD_FILE_REQUEST, 100);
  refuse_body (TSR_MSG_UPLOAD_FILE_REQUEST, &sample.upload_req.base, 101);

  sample_body (&sample, TSR_MSG_DOWNLOAD_FILE_RESPONSE, 100);
  sample.refs[0].length = G_MAXUINT32;
  refuse_body (TSR_MSG_DOWNLOAD_FILE_RESPONSE, &sample.download_resp.base, 100);

  sample_body (&sample, TSR_MSG_RETRIEVE_SEGMENTS_REQUEST, 0);
  sample.batch_ids[1] = "../../etc/passwd";
  refuse_body (TSR_MSG_RETRIEVE_SEGMENTS_REQUEST, &sample.batch_req.base, 0);

  sample_body (&sample, TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, 100);
  refuse_body (TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, &sample.batch_resp.base, 99);

  sample_body (&sample, TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, 100);
  sample.results[2].has_length = FALSE; /* found, but how long? */
  refuse_body (TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, &sample.batch_resp.base, 100);

  sample_body (&sample, TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, 100);
  sample.results[1].has_length = TRUE; /* missing, yet with bytes */
  sample.results[1].length = 1;
  refuse_body (TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, &sample.batch_resp.base, 100);

  sample_body (&sample, TSR_MSG_STORE_SEGMENTS_REQUEST, 100);
  sample.refs[0].segment_id = "../../etc/passwd";
  refuse_body (TSR_MSG_STORE_SEGMENTS_REQUEST, &sample.store_batch_req.base, 100);

  sample_body (&sample, TSR_MSG_STORE_SEGMENTS_REQUEST, 100);
  refuse_body (TSR_MSG_STORE_SEGMENTS_REQUEST, &sample.store_batch_req.base, 101);

  sample_body (&sample, TSR_MSG_STORE_SEGMENTS_RESPONSE, 0);
  sample.results[0].has_length = TRUE; /* a store sends nothing back */
  sample.results[0].length = 100;
  refuse_body (TSR_MSG_STORE_SEGMENTS_RESPONSE, &sample.store_batch_resp.base, 0);

  sample_body (&sample, TSR_MSG_DOWNLOAD_FILE_REQUEST, 0);
  sample.download_req.file_id = "0123456789ABCDEF";
  refuse_body (TSR_MSG_DOWNLOAD_FILE_REQUEST, &sample.download_req.base, 0);

  sample_body (&sample, TSR_MSG_HEALTH_CHECK_RESPONSE, 0);
  sample.health_resp.identity = "Node_01";
  refuse_body (TSR_MSG_HEALTH_CHECK_RESPONSE, &sample.health_resp.base, 0);

  sample_body (&sample, TSR_MSG_HEALTH_CHECK_RESPONSE, 0);
  sample.health_resp.node_id = "";
  refuse_body (TSR_MSG_HEALTH_CHECK_RESPONSE, &sample.health_resp.base, 0);

  sample_body (&sample, TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, 0);
  sample.peers[1].identity = SEGMENT_A "0";
  refuse_body (TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, &sample.topology_resp.base, 0);

  /* A terminal escape in a name that gets printed. */
  sample_body (&sample, TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, 0);
  sample.peers[0].node_id = "Node\033[2J";
  refuse_body (TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, &sample.topology_resp.base, 0);

  sample_body (&sample, TSR_MSG_STORE_SEGMENT_RESPONSE, 0);
  sample.status.message = "not UTF-8: \xff\xfe";
  refuse_body (TSR_MSG_STORE_SEGMENT_RESPONSE, &sample.store_resp.base, 0);
}

/* Every frame in a corpus file, as a node's reader takes them one after another. Refusals
 * come back as CORRUPT, the verdict tsr_test_check_corpus_verdicts() expects. */
static gboolean
parse_frames (const char *data, gsize len, GError **error)
{
  do
    {
      g_autoptr (GError) local_error = NULL;
      gsize consumed = 0;
      g_autoptr (TsrFrame) frame =
          tsr_frame_decode ((const guint8 *)data, len, &consumed, &local_error);

      if (frame == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, "%s", local_error->message);
          return FALSE;
        }
      data += consumed;
      len -= consumed;
    }
  while (len > 0);
  return TRUE;
}

/* The seed corpus doubles as a table of verdicts: one valid frame of every type, and frames
 * that are wrong in one way each. */
static void
test_corpus (void)
{
  tsr_test_check_corpus_verdicts ("frame", parse_frames, TSR_MSG_LAST, 15);
}

static void
test_write_limits (void)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GError) error = NULL;
  Sample sample;
  ProtobufCMessage *body = sample_body (&sample, TSR_MSG_STORE_SEGMENT_REQUEST, 0);
  /* calloc'd pages stay untouched: this costs address space, not memory. */
  g_autoptr (GBytes) huge =
      g_bytes_new_take (g_malloc0 (TSR_FRAME_MAX_PAYLOAD + 1), TSR_FRAME_MAX_PAYLOAD + 1);
  g_autofree guint8 *manifest = g_malloc0 (TSR_FRAME_MAX_BODY);

  g_assert_false (
      tsr_frame_write (out, TSR_MSG_STORE_SEGMENT_REQUEST, 1, body, huge, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE);
  g_clear_error (&error);

  body = sample_body (&sample, TSR_MSG_UPLOAD_FILE_REQUEST, 0);
  sample.upload_req.manifest.data = manifest;
  sample.upload_req.manifest.len = TSR_FRAME_MAX_BODY;
  g_assert_false (tsr_frame_write (out, TSR_MSG_UPLOAD_FILE_REQUEST, 1, body, NULL, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* A body of another type, or one missing a required field, is the caller's bug: refused
   * loudly, before anything is written. */
  body = sample_body (&sample, TSR_MSG_SYNC_RESPONSE, 0);
  g_test_expect_message ("tessera", G_LOG_LEVEL_CRITICAL, "*descriptor*");
  g_assert_false (tsr_frame_write (out, TSR_MSG_SYNC_REQUEST, 1, body, NULL, NULL, &error));
  g_test_assert_expected_messages ();
  sample.sync_resp.status = NULL;
  g_test_expect_message ("tessera", G_LOG_LEVEL_CRITICAL, "*protobuf_c_message_check*");
  g_assert_false (tsr_frame_write (out, TSR_MSG_SYNC_RESPONSE, 1, body, NULL, NULL, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  g_assert_cmpuint (g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)), ==, 0);
}

static void
test_stream_errors (void)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  Sample sample;
  g_autoptr (GBytes) frame =
      raw_frame_for (TSR_MSG_SYNC_REQUEST, 3, sample_body (&sample, TSR_MSG_SYNC_REQUEST, 0), 0);

  /* Cancelled. */
  {
    g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (frame);
    g_cancellable_cancel (cancellable);
    g_assert_null (tsr_frame_read (in, cancellable, &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_CANCELLED);
    g_clear_error (&error);
  }

  /* Any other stream error is I/O, with the stream's own message. */
  {
    g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (frame);
    g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
    g_autoptr (GError) stream_error = NULL;
    char byte;

    g_assert_true (g_input_stream_close (in, NULL, NULL));
    g_input_stream_read (in, &byte, 1, NULL, &stream_error);
    g_assert_nonnull (stream_error);
    g_assert_null (tsr_frame_read (in, NULL, &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_IO);
    g_assert_cmpstr (error->message, ==, stream_error->message);
    g_clear_error (&error);

    g_assert_true (g_output_stream_close (out, NULL, NULL));
    g_assert_false (tsr_frame_write (out, TSR_MSG_SYNC_REQUEST, 1,
                                     sample_body (&sample, TSR_MSG_SYNC_REQUEST, 0), NULL, NULL,
                                     &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_IO);
    g_clear_error (&error);
  }

  /* A socket read timeout. */
  {
    g_autoptr (GSocket) sock = NULL;
    g_autoptr (GSocketConnection) connection = NULL;
    int fds[2];
    gint64 start;

    g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
    sock = g_socket_new_from_fd (fds[0], &error);
    g_assert_no_error (error);
    g_socket_set_timeout (sock, 1);
    connection = g_socket_connection_factory_create_connection (sock);
    /* Half a header, then silence. */
    g_assert_cmpint (write (fds[1], g_bytes_get_data (frame, NULL), 10), ==, 10);
    start = g_get_monotonic_time ();
    g_assert_null (
        tsr_frame_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), NULL, &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_TIMEOUT);
    g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
    close (fds[1]);
  }
}

static void
test_status (void)
{
  Tessera__Status status = TESSERA__STATUS__INIT;
  g_autoptr (GError) error = NULL;
  guint n_codes = 0;

  tsr_status_set_ok (&status);
  g_assert_cmpuint (status.code, ==, 0);
  g_assert_true (tsr_status_to_error (&status, &error));
  g_assert_no_error (error);

  /* Every code and its message survive the trip, through a real frame. */
  for (gint code = TSR_ERROR_FAILED;
       strcmp (tsr_error_code_to_string ((TsrError)code), "UNKNOWN") != 0; code++)
    {
      g_autoptr (GError) sent = g_error_new (TSR_ERROR, code, "Failure number %d", code);
      g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
      g_autoptr (GInputStream) in = NULL;
      g_autoptr (GBytes) written = NULL;
      g_autoptr (TsrFrame) frame = NULL;
      Tessera__SyncResponse resp = TESSERA__SYNC_RESPONSE__INIT;

      tsr_status_set_error (&status, sent);
      g_assert_cmpuint (status.code, ==, code + 1);
      g_assert_true (status.message == sent->message);
      resp.status = &status;
      g_assert_true (
          tsr_frame_write (out, TSR_MSG_SYNC_RESPONSE, 9, &resp.base, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_output_stream_close (out, NULL, NULL));
      written = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
      in = g_memory_input_stream_new_from_bytes (written);
      frame = tsr_frame_read (in, NULL, &error);
      g_assert_no_error (error);

      g_assert_false (tsr_status_to_error (((Tessera__SyncResponse *)frame->body)->status, &error));
      g_assert_error (error, TSR_ERROR, code);
      g_assert_cmpstr (error->message, ==, sent->message);
      g_clear_error (&error);
      n_codes++;
    }
  g_assert_cmpuint (n_codes, >=, TSR_ERROR_CLOSED + 1);

  /* Errors of other domains are FAILED on the wire, with their message. */
  {
    g_autoptr (GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE, "Disk full");
    tsr_status_set_error (&status, io);
    g_assert_cmpuint (status.code, ==, TSR_ERROR_FAILED + 1);
    g_assert_false (tsr_status_to_error (&status, &error));
    g_assert_error (error, TSR_ERROR, TSR_ERROR_FAILED);
    g_assert_cmpstr (error->message, ==, "Disk full");
    g_clear_error (&error);
  }

  /* A code from a newer peer still fails, as FAILED; a missing message gets a default. */
  status.code = 999;
  status.message = "Quantum flux";
  g_assert_false (tsr_status_to_error (&status, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "Quantum flux");
  g_clear_error (&error);

  status.code = TSR_ERROR_NO_SPACE + 1;
  status.message = NULL;
  g_assert_false (tsr_status_to_error (&status, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "NO_SPACE"));
}

static void
test_type_tables (void)
{
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) descriptors = g_hash_table_new (NULL, NULL);

  for (guint type = TSR_MSG_ERROR; type <= TSR_MSG_LAST; type++)
    {
      const ProtobufCMessageDescriptor *desc = tsr_message_type_descriptor (type);
      const char *name = tsr_message_type_to_string (type);

      g_assert_nonnull (desc);
      g_assert_cmpstr (name, !=, "UNKNOWN");
      g_assert_true (g_hash_table_add (names, (gpointer)name));
      g_assert_true (g_hash_table_add (descriptors, (gpointer)desc));
    }
  g_assert_null (tsr_message_type_descriptor (0));
  g_assert_null (tsr_message_type_descriptor (TSR_MSG_LAST + 1));
  g_assert_cmpstr (tsr_message_type_to_string (0), ==, "UNKNOWN");
  g_assert_cmpstr (tsr_message_type_to_string (TSR_MSG_LAST + 1), ==, "UNKNOWN");
  g_assert_cmpstr (tsr_message_type_to_string (TSR_MSG_STORE_SEGMENT_REQUEST), ==,
                   "STORE_SEGMENT_REQUEST");
  g_assert_true (tsr_message_type_descriptor (TSR_MSG_HEALTH_CHECK_RESPONSE) ==
                 &tessera__health_check_response__descriptor);
}

/* protobuf-c unpacks nested messages recursively with no depth limit: the schema must never
 * let a message contain itself, or a hostile body could nest deep enough to blow the stack. */
static guint
message_depth (const ProtobufCMessageDescriptor *desc, GPtrArray *path)
{
  guint deepest = 0;

  g_assert_false (g_ptr_array_find (path, desc, NULL));
  g_ptr_array_add (path, (gpointer)desc);
  for (guint i = 0; i < desc->n_fields; i++)
    if (desc->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
      deepest = MAX (deepest, message_depth (desc->fields[i].descriptor, path));
  g_ptr_array_remove_index (path, path->len - 1);
  return deepest + 1;
}

static void
test_schema_not_recursive (void)
{
  g_autoptr (GPtrArray) path = g_ptr_array_new ();

  for (guint type = TSR_MSG_ERROR; type <= TSR_MSG_LAST; type++)
    g_assert_cmpuint (message_depth (tsr_message_type_descriptor (type), path), <=, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tessera/frame/header-layout", test_header_layout);
  g_test_add_func ("/tessera/frame/round-trip", test_round_trip);
  g_test_add_func ("/tessera/frame/pipe", test_pipe);
  g_test_add_func ("/tessera/frame/bad-header", test_bad_header);
  g_test_add_func ("/tessera/frame/too-large", test_too_large);
  g_test_add_func ("/tessera/frame/truncated", test_truncated);
  g_test_add_func ("/tessera/frame/garbage-body", test_garbage_body);
  g_test_add_func ("/tessera/frame/memory-budget", test_memory_budget);
  g_test_add_func ("/tessera/frame/invalid-ids", test_invalid_ids);
  g_test_add_func ("/tessera/frame/write-limits", test_write_limits);
  g_test_add_func ("/tessera/frame/corpus", test_corpus);
  g_test_add_func ("/tessera/frame/stream-errors", test_stream_errors);
  g_test_add_func ("/tessera/frame/status", test_status);
  g_test_add_func ("/tessera/frame/type-tables", test_type_tables);
  g_test_add_func ("/tessera/frame/schema-not-recursive", test_schema_not_recursive);

  return g_test_run ();
}
