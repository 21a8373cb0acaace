/* make-frame-corpus.c: writes the seed corpus of fuzz-frame (tests/fuzz/corpus/frame/)
 *
 *   make-frame-corpus DIR
 *
 * One valid frame of every message type, with payloads where the type has one, and frames that
 * are wrong in one way each, so the fuzzer starts from every branch of the decoder. Valid
 * frames go through tsr_frame_write(), the broken ones are assembled by hand. The output is
 * deterministic; inputs the fuzzer found sit beside these files (crash-*, named by libFuzzer)
 * and are not touched.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"

#include <stdio.h>
#include <string.h>

#define IDENTITY "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define FILE_ID  "2cf24dba5fb0a30e"

static const char *out_dir;

static void
save (const char *name, GBytes *data)
{
  g_autofree char *path = g_build_filename (out_dir, name, NULL);
  g_autoptr (GError) error = NULL;
  gsize len;
  const char *bytes = g_bytes_get_data (data, &len);

  if (!g_file_set_contents (path, bytes != NULL ? bytes : "", len, &error))
    g_error ("%s", error->message);
}

static GBytes *
frame (TsrMessageType type, guint32 request_id, const ProtobufCMessage *body, GBytes *payload)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GError) error = NULL;

  if (!tsr_frame_write (out, type, request_id, body, payload, NULL, &error))
    g_error ("%s: %s", tsr_message_type_to_string (type), error->message);
  g_output_stream_close (out, NULL, NULL);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* Header fields as given, body bytes as given: for frames tsr_frame_write() refuses. */
static GBytes *
raw (guint8 version, guint8 type, guint16 flags, guint32 request_id, const void *body,
     guint32 body_len, guint32 claimed_body_len, guint32 payload_len)
{
  TsrFrameHeader h = { version, type, flags, request_id, claimed_body_len, payload_len };
  GByteArray *out = g_byte_array_new ();
  guint8 header[TSR_FRAME_HEADER_SIZE];

  tsr_frame_header_encode (&h, header);
  g_byte_array_append (out, header, sizeof header);
  g_byte_array_append (out, body, body_len);
  return g_byte_array_free_to_bytes (out);
}

static GBytes *
pack (const ProtobufCMessage *body)
{
  gsize len = protobuf_c_message_get_packed_size (body);
  guint8 *buf = g_malloc (MAX (len, 1));

  protobuf_c_message_pack (body, buf);
  return g_bytes_new_take (buf, len);
}

static GBytes *
pattern (gsize len, guint8 seed)
{
  guint8 *buf = g_malloc (MAX (len, 1));

  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)(i * 31 + seed);
  return g_bytes_new_take (buf, len);
}

static char *
segment_id_of (GBytes *bytes)
{
  char hex[TSR_SHA256_HEX_LEN + 1];
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  tsr_sha256_hex (data, len, hex);
  return g_strdup (hex);
}

static GBytes *
concat (GBytes *a, GBytes *b)
{
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, g_bytes_get_data (a, NULL), g_bytes_get_size (a));
  g_byte_array_append (out, g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  return g_byte_array_free_to_bytes (out);
}

/* A frame of @body and @payload written as they are, without the checks frame() makes: for
 * bodies whose lengths disagree with the payload. */
static GBytes *
unchecked (TsrMessageType type, guint32 request_id, const ProtobufCMessage *body, GBytes *payload)
{
  g_autoptr (GBytes) packed = pack (body);
  g_autoptr (GBytes) head =
      raw (1, type, 0, request_id, g_bytes_get_data (packed, NULL), g_bytes_get_size (packed),
           g_bytes_get_size (packed), g_bytes_get_size (payload));

  return concat (head, payload);
}

int
main (int argc, char **argv)
{
  Tessera__Status ok = TESSERA__STATUS__INIT;
  Tessera__Status not_found = TESSERA__STATUS__INIT;
  g_autoptr (GBytes) seg1 = pattern (100, 1);
  g_autoptr (GBytes) seg2 = pattern (37, 2);
  g_autoptr (GBytes) seg3 = pattern (1, 3);
  g_autofree char *id1 = segment_id_of (seg1);
  g_autofree char *id2 = segment_id_of (seg2);
  g_autofree char *id3 = segment_id_of (seg3);
  g_autoptr (GBytes) seg12 = concat (seg1, seg2);
  g_autoptr (GBytes) all_segments = concat (seg12, seg3);
  Tessera__SegmentRef refs[3] = { TESSERA__SEGMENT_REF__INIT, TESSERA__SEGMENT_REF__INIT,
                                  TESSERA__SEGMENT_REF__INIT };
  Tessera__SegmentRef *ref_ptrs[3] = { &refs[0], &refs[1], &refs[2] };
  guint8 manifest[48];

  if (argc != 2)
    {
      fprintf (stderr, "Usage: %s DIR\n", argv[0]);
      return 2;
    }
  out_dir = argv[1];
  if (g_mkdir_with_parents (out_dir, 0755) != 0)
    g_error ("Cannot create %s", out_dir);

  tsr_status_set_ok (&ok);
  not_found.code = TSR_ERROR_NOT_FOUND + 1;
  not_found.message = "Segment is not stored on Node_02";
  refs[0].segment_id = id1;
  refs[0].length = 100;
  refs[1].segment_id = id2;
  refs[1].length = 37;
  refs[2].segment_id = id3;
  refs[2].length = 1;
  for (guint i = 0; i < sizeof manifest; i++)
    manifest[i] = (guint8)(i * 13);

  /* One valid frame of each type. */
  {
    Tessera__Status protocol = TESSERA__STATUS__INIT;
    Tessera__ErrorResponse m = TESSERA__ERROR_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    protocol.code = TSR_ERROR_PROTOCOL + 1;
    protocol.message = "Not a Tessera frame";
    m.status = &protocol;
    f = frame (TSR_MSG_ERROR, 0, &m.base, NULL);
    save ("valid-01-error", f);
  }
  {
    Tessera__StoreSegmentRequest m = TESSERA__STORE_SEGMENT_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.segment_id = id1;
    f = frame (TSR_MSG_STORE_SEGMENT_REQUEST, 1, &m.base, seg1);
    save ("valid-02-store-segment-request", f);
  }
  {
    Tessera__StoreSegmentResponse m = TESSERA__STORE_SEGMENT_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    m.status = &ok;
    m.has_used_bytes = m.has_capacity_bytes = TRUE;
    m.used_bytes = 100;
    m.capacity_bytes = G_GUINT64_CONSTANT (1) << 40;
    f = frame (TSR_MSG_STORE_SEGMENT_RESPONSE, 1, &m.base, NULL);
    save ("valid-03-store-segment-response", f);
  }
  {
    Tessera__RetrieveSegmentRequest m = TESSERA__RETRIEVE_SEGMENT_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.segment_id = id2;
    f = frame (TSR_MSG_RETRIEVE_SEGMENT_REQUEST, 2, &m.base, NULL);
    save ("valid-04-retrieve-segment-request", f);
  }
  {
    Tessera__RetrieveSegmentResponse m = TESSERA__RETRIEVE_SEGMENT_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    m.status = &ok;
    f = frame (TSR_MSG_RETRIEVE_SEGMENT_RESPONSE, 2, &m.base, seg2);
    save ("valid-05-retrieve-segment-response", f);
  }
  {
    Tessera__DeleteSegmentRequest m = TESSERA__DELETE_SEGMENT_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.segment_id = id3;
    f = frame (TSR_MSG_DELETE_SEGMENT_REQUEST, 3, &m.base, NULL);
    save ("valid-06-delete-segment-request", f);
  }
  {
    Tessera__DeleteSegmentResponse m = TESSERA__DELETE_SEGMENT_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    m.status = &not_found;
    f = frame (TSR_MSG_DELETE_SEGMENT_RESPONSE, 3, &m.base, NULL);
    save ("valid-07-delete-segment-response", f);
  }
  {
    Tessera__SyncRequest m = TESSERA__SYNC_REQUEST__INIT;
    g_autoptr (GBytes) f = frame (TSR_MSG_SYNC_REQUEST, 4, &m.base, NULL);
    save ("valid-08-sync-request", f);
  }
  {
    Tessera__SyncResponse m = TESSERA__SYNC_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    m.status = &ok;
    f = frame (TSR_MSG_SYNC_RESPONSE, 4, &m.base, NULL);
    save ("valid-09-sync-response", f);
  }
  {
    Tessera__HealthCheckRequest m = TESSERA__HEALTH_CHECK_REQUEST__INIT;
    g_autoptr (GBytes) f = frame (TSR_MSG_HEALTH_CHECK_REQUEST, 5, &m.base, NULL);
    save ("valid-10-health-check-request", f);
  }
  {
    Tessera__InterfaceStats stats = TESSERA__INTERFACE_STATS__INIT;
    Tessera__HealthCheckResponse m = TESSERA__HEALTH_CHECK_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    stats.packets_sent = 10;
    stats.packets_received = 11;
    stats.bytes_sent = 1000;
    stats.bytes_received = 1100;
    stats.send_throughput_bps = 1.25e6;
    stats.receive_throughput_bps = 2.5e6;
    m.status = &ok;
    m.node_id = "Node_01";
    m.identity = IDENTITY;
    m.state = "READY";
    m.is_alive = TRUE;
    m.uptime_seconds = 12.5;
    m.used_bytes = 138;
    m.capacity_bytes = G_GUINT64_CONSTANT (1) << 30;
    m.segment_count = 3;
    m.stats = &stats;
    m.address = "127.0.0.1:40001";
    f = frame (TSR_MSG_HEALTH_CHECK_RESPONSE, 5, &m.base, NULL);
    save ("valid-11-health-check-response", f);
  }
  {
    Tessera__NetworkTopologyRequest m = TESSERA__NETWORK_TOPOLOGY_REQUEST__INIT;
    g_autoptr (GBytes) f = frame (TSR_MSG_NETWORK_TOPOLOGY_REQUEST, 6, &m.base, NULL);
    save ("valid-12-network-topology-request", f);
  }
  {
    Tessera__Peer peers[2] = { TESSERA__PEER__INIT, TESSERA__PEER__INIT };
    Tessera__Peer *peer_ptrs[2] = { &peers[0], &peers[1] };
    Tessera__NetworkTopologyResponse m = TESSERA__NETWORK_TOPOLOGY_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    peers[0].node_id = "Node_02";
    peers[0].address = "127.0.0.1:40002";
    peers[0].identity = IDENTITY;
    peers[1].node_id = "Nœud 3";
    peers[1].address = "[::1]:40003";
    m.status = &ok;
    m.node_id = "Node_01";
    m.address = "127.0.0.1:40001";
    m.n_peers = 2;
    m.peers = peer_ptrs;
    f = frame (TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, 6, &m.base, NULL);
    save ("valid-13-network-topology-response", f);
  }
  {
    Tessera__UploadFileRequest m = TESSERA__UPLOAD_FILE_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.file_id = FILE_ID;
    m.manifest.data = manifest;
    m.manifest.len = sizeof manifest;
    m.n_segments = 3;
    m.segments = ref_ptrs;
    f = frame (TSR_MSG_UPLOAD_FILE_REQUEST, 7, &m.base, all_segments);
    save ("valid-14-upload-file-request", f);
  }
  {
    Tessera__UploadFileResponse m = TESSERA__UPLOAD_FILE_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    m.status = &ok;
    m.has_segments_stored = TRUE;
    m.segments_stored = 3;
    f = frame (TSR_MSG_UPLOAD_FILE_RESPONSE, 7, &m.base, NULL);
    save ("valid-15-upload-file-response", f);
  }
  {
    Tessera__DownloadFileRequest m = TESSERA__DOWNLOAD_FILE_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.file_id = FILE_ID;
    f = frame (TSR_MSG_DOWNLOAD_FILE_REQUEST, 8, &m.base, NULL);
    save ("valid-16-download-file-request", f);
  }
  {
    Tessera__DownloadFileResponse m = TESSERA__DOWNLOAD_FILE_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    m.status = &ok;
    m.has_manifest = TRUE;
    m.manifest.data = manifest;
    m.manifest.len = sizeof manifest;
    m.n_segments = 2;
    m.segments = ref_ptrs;
    f = frame (TSR_MSG_DOWNLOAD_FILE_RESPONSE, 8, &m.base, seg12);
    save ("valid-17-download-file-response", f);
  }

  {
    Tessera__RetrieveSegmentsRequest m = TESSERA__RETRIEVE_SEGMENTS_REQUEST__INIT;
    char *ids[] = { id1, id3, id2 };
    g_autoptr (GBytes) f = NULL;

    m.n_segment_ids = G_N_ELEMENTS (ids);
    m.segment_ids = ids;
    m.has_reader_authenticates = m.reader_authenticates = TRUE;
    f = frame (TSR_MSG_RETRIEVE_SEGMENTS_REQUEST, 10, &m.base, NULL);
    save ("valid-20-retrieve-segments-request", f);
  }
  {
    Tessera__RetrieveSegmentsResponse m = TESSERA__RETRIEVE_SEGMENTS_RESPONSE__INIT;
    Tessera__SegmentResult results[3] = { TESSERA__SEGMENT_RESULT__INIT,
                                          TESSERA__SEGMENT_RESULT__INIT,
                                          TESSERA__SEGMENT_RESULT__INIT };
    Tessera__SegmentResult *result_ptrs[3] = { &results[0], &results[1], &results[2] };
    g_autoptr (GBytes) f = NULL;

    /* id1 and id2 found, id3 not: the payload is seg1 then seg2. */
    results[0].status = &ok;
    results[0].has_length = TRUE;
    results[0].length = 100;
    results[1].status = &not_found;
    results[2].status = &ok;
    results[2].has_length = TRUE;
    results[2].length = 37;
    m.status = &ok;
    m.n_results = 3;
    m.results = result_ptrs;
    f = frame (TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, 10, &m.base, seg12);
    save ("valid-21-retrieve-segments-response", f);

    /* The same with a result claiming more bytes than the payload has. */
    {
      g_autoptr (GBytes) bad = NULL;

      results[2].length = 38;
      bad = unchecked (TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, 10, &m.base, seg12);
      save ("bad-results-lengths", bad);
    }
  }

  {
    Tessera__ListSegmentsRequest m = TESSERA__LIST_SEGMENTS_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.after = id1;
    m.has_limit = TRUE;
    m.limit = 2;
    f = frame (TSR_MSG_LIST_SEGMENTS_REQUEST, 11, &m.base, NULL);
    save ("valid-22-list-segments-request", f);
  }
  {
    Tessera__ListSegmentsResponse m = TESSERA__LIST_SEGMENTS_RESPONSE__INIT;
    Tessera__SegmentInfo infos[2] = { TESSERA__SEGMENT_INFO__INIT, TESSERA__SEGMENT_INFO__INIT };
    Tessera__SegmentInfo *info_ptrs[2] = { &infos[0], &infos[1] };
    g_autoptr (GBytes) f = NULL;

    infos[0].segment_id = id2;
    infos[0].size = 37;
    infos[0].age_seconds = 60;
    infos[1].segment_id = id3;
    infos[1].size = 1;
    infos[1].age_seconds = 86400;
    m.status = &ok;
    m.n_segments = 2;
    m.segments = info_ptrs;
    m.has_more = m.more = TRUE;
    f = frame (TSR_MSG_LIST_SEGMENTS_RESPONSE, 11, &m.base, NULL);
    save ("valid-23-list-segments-response", f);
  }
  {
    Tessera__ScrubRequest m = TESSERA__SCRUB_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.after = id1;
    m.has_max_bytes = TRUE;
    m.max_bytes = 64 << 20;
    f = frame (TSR_MSG_SCRUB_REQUEST, 12, &m.base, NULL);
    save ("valid-24-scrub-request", f);
  }
  {
    Tessera__ScrubResponse m = TESSERA__SCRUB_RESPONSE__INIT;
    char *corrupt[] = { id2 };
    g_autoptr (GBytes) f = NULL;

    m.status = &ok;
    m.checked = 3;
    m.bytes = 138;
    m.n_corrupt = 1;
    m.corrupt = corrupt;
    m.next = id3;
    f = frame (TSR_MSG_SCRUB_RESPONSE, 12, &m.base, NULL);
    save ("valid-25-scrub-response", f);
  }
  {
    Tessera__StoreSegmentsRequest m = TESSERA__STORE_SEGMENTS_REQUEST__INIT;
    g_autoptr (GBytes) f = NULL;

    m.n_segments = 3;
    m.segments = ref_ptrs;
    f = frame (TSR_MSG_STORE_SEGMENTS_REQUEST, 13, &m.base, all_segments);
    save ("valid-26-store-segments-request", f);

    /* The same with a payload one byte short of the segments' lengths. */
    {
      g_autoptr (GBytes) short_payload =
          g_bytes_new_from_bytes (all_segments, 0, g_bytes_get_size (all_segments) - 1);
      g_autoptr (GBytes) bad =
          unchecked (TSR_MSG_STORE_SEGMENTS_REQUEST, 13, &m.base, short_payload);
      save ("bad-store-segments-lengths", bad);
    }
  }
  {
    Tessera__StoreSegmentsResponse m = TESSERA__STORE_SEGMENTS_RESPONSE__INIT;
    Tessera__SegmentResult results[3] = { TESSERA__SEGMENT_RESULT__INIT,
                                          TESSERA__SEGMENT_RESULT__INIT,
                                          TESSERA__SEGMENT_RESULT__INIT };
    Tessera__SegmentResult *result_ptrs[3] = { &results[0], &results[1], &results[2] };
    Tessera__Status no_space = TESSERA__STATUS__INIT;
    g_autoptr (GBytes) f = NULL;

    no_space.code = TSR_ERROR_NO_SPACE + 1;
    no_space.message = "Node store is full";
    results[0].status = &ok;
    results[1].status = &ok;
    results[2].status = &no_space;
    m.status = &ok;
    m.n_results = 3;
    m.results = result_ptrs;
    m.has_used_bytes = m.has_capacity_bytes = TRUE;
    m.used_bytes = 137;
    m.capacity_bytes = 138;
    f = frame (TSR_MSG_STORE_SEGMENTS_RESPONSE, 13, &m.base, NULL);
    save ("valid-27-store-segments-response", f);
  }

  /* A connection's worth: requests and responses back to back, out of order. */
  {
    Tessera__SyncRequest sync = TESSERA__SYNC_REQUEST__INIT;
    Tessera__HealthCheckRequest health = TESSERA__HEALTH_CHECK_REQUEST__INIT;
    Tessera__RetrieveSegmentResponse retrieve = TESSERA__RETRIEVE_SEGMENT_RESPONSE__INIT;
    Tessera__SyncResponse sync_resp = TESSERA__SYNC_RESPONSE__INIT;
    g_autoptr (GBytes) a = frame (TSR_MSG_SYNC_REQUEST, 100, &sync.base, NULL);
    g_autoptr (GBytes) b = frame (TSR_MSG_HEALTH_CHECK_REQUEST, 101, &health.base, NULL);
    g_autoptr (GBytes) c = NULL;
    g_autoptr (GBytes) d = NULL;
    g_autoptr (GBytes) ab = NULL;
    g_autoptr (GBytes) abc = NULL;
    g_autoptr (GBytes) abcd = NULL;

    retrieve.status = &not_found;
    sync_resp.status = &ok;
    c = frame (TSR_MSG_RETRIEVE_SEGMENT_RESPONSE, 102, &retrieve.base, NULL);
    d = frame (TSR_MSG_SYNC_RESPONSE, 100, &sync_resp.base, NULL);
    ab = concat (a, b);
    abc = concat (ab, c);
    abcd = concat (abc, d);
    save ("valid-18-stream-of-frames", abcd);
  }
  /* Unknown fields (a newer peer's additions) are kept, not refused. */
  {
    const guint8 body[] = { 0x78, 0x01, 0x82, 0x01, 0x03, 'n', 'e', 'w', 0x8d, 0x01, 1, 2, 3, 4 };
    g_autoptr (GBytes) f =
        raw (1, TSR_MSG_HEALTH_CHECK_REQUEST, 0, 9, body, sizeof body, sizeof body, 0);
    save ("valid-19-unknown-fields", f);
  }

  /* Wrong in one way each. */
  {
    g_autoptr (GBytes) upload = NULL;
    g_autoptr (GBytes) cut = NULL;
    Tessera__UploadFileRequest m = TESSERA__UPLOAD_FILE_REQUEST__INIT;

    m.file_id = FILE_ID;
    m.manifest.data = manifest;
    m.manifest.len = sizeof manifest;
    m.n_segments = 3;
    m.segments = ref_ptrs;
    upload = frame (TSR_MSG_UPLOAD_FILE_REQUEST, 7, &m.base, all_segments);
    cut = g_bytes_new_from_bytes (upload, 0, g_bytes_get_size (upload) - 50);
    save ("bad-truncated", cut);
  }
  {
    g_autoptr (GBytes) f = raw (1, TSR_MSG_SYNC_REQUEST, 0, 1, "", 0, G_MAXUINT32, 0);
    save ("bad-body-4GiB", f);
  }
  {
    g_autoptr (GBytes) f = raw (1, TSR_MSG_SYNC_REQUEST, 0, 1, "", 0, 0, G_MAXUINT32);
    save ("bad-payload-4GiB", f);
  }
  {
    g_autoptr (GBytes) f = raw (2, TSR_MSG_SYNC_REQUEST, 0, 1, "", 0, 0, 0);
    save ("bad-version", f);
  }
  {
    g_autoptr (GBytes) f = raw (1, TSR_MSG_SYNC_REQUEST, 0x0100, 1, "", 0, 0, 0);
    save ("bad-flags", f);
  }
  {
    g_autoptr (GBytes) f = raw (1, TSR_MSG_LAST + 1, 0, 1, "", 0, 0, 0);
    save ("bad-type", f);
  }
  {
    g_autoptr (GBytes) f = raw (1, TSR_MSG_SYNC_REQUEST, 0, 0, "", 0, 0, 0);
    save ("bad-request-id-0", f);
  }
  {
    const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    g_autoptr (GBytes) f = g_bytes_new_static (http, sizeof http - 1);
    save ("bad-magic-http", f);
  }
  {
    Tessera__StoreSegmentRequest m = TESSERA__STORE_SEGMENT_REQUEST__INIT;
    g_autoptr (GBytes) body = NULL;
    g_autoptr (GBytes) f = NULL;

    m.segment_id = "../../../../../../../../../../../../../../../../../../../etc/passwd";
    body = pack (&m.base);
    f = raw (1, TSR_MSG_STORE_SEGMENT_REQUEST, 0, 1, g_bytes_get_data (body, NULL),
             g_bytes_get_size (body), g_bytes_get_size (body), 0);
    save ("bad-segment-id", f);
  }
  {
    Tessera__DownloadFileResponse m = TESSERA__DOWNLOAD_FILE_RESPONSE__INIT;
    g_autoptr (GBytes) f = NULL;

    m.status = &ok;
    m.n_segments = 2;
    m.segments = ref_ptrs;
    refs[1].length = G_MAXUINT32; /* the lengths no longer add up to the payload */
    f = unchecked (TSR_MSG_DOWNLOAD_FILE_RESPONSE, 8, &m.base, seg12);
    refs[1].length = 37;
    save ("bad-segment-lengths", f);
  }
  {
    Tessera__Status bad = TESSERA__STATUS__INIT;
    Tessera__SyncResponse m = TESSERA__SYNC_RESPONSE__INIT;
    g_autoptr (GBytes) body = NULL;
    g_autoptr (GBytes) f = NULL;

    bad.code = 5;
    bad.message = "\xc3\x28 not UTF-8";
    m.status = &bad;
    body = pack (&m.base);
    f = raw (1, TSR_MSG_SYNC_RESPONSE, 0, 4, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
             g_bytes_get_size (body), 0);
    save ("bad-not-utf8", f);
  }
  {
    const guint8 junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00 };
    g_autoptr (GBytes) f = raw (1, TSR_MSG_ERROR, 0, 0, junk, sizeof junk, sizeof junk, 0);
    save ("bad-body-length-overflow", f);
  }
  /* Thousands of empty peers: cheap to send, dear to unpack; the memory budget refuses it. */
  {
    const guint8 status_node[] = { 0x0a, 0x02, 0x08, 0x00, 0x12, 0x02, 'N', '1' };
    const guint8 empty_peer[] = { 0x22, 0x04, 0x0a, 0x00, 0x12, 0x00 };
    g_autoptr (GByteArray) body = g_byte_array_new ();
    g_autoptr (GBytes) f = NULL;

    g_byte_array_append (body, status_node, sizeof status_node);
    for (guint i = 0; i < 2000; i++)
      g_byte_array_append (body, empty_peer, sizeof empty_peer);
    f = raw (1, TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, 0, 6, body->data, body->len, body->len, 0);
    save ("bad-memory-bomb", f);
  }

  return 0;
}
