/* test-node.c: a real node over real loopback TLS sockets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-node-private.h"
#include "tsr-test-util.h"

#include <string.h>

typedef struct
{
  char *dir;
  GRand *rand;
  TsrIdentity *node_identity;
  TsrIdentity *client_identity;
  TsrTrustStore *trusted;
  TsrSegmentStore *store;
  TsrNode *node;
  char *address;
  TsrNodeClient *client;
} Fixture;

static TsrIdentity *
make_identity (Fixture *f, const char *name)
{
  g_autofree char *dir = g_build_filename (f->dir, name, NULL);
  g_autoptr (GError) error = NULL;
  TsrIdentity *id = tsr_identity_load_or_create (dir, name, &error);

  g_assert_no_error (error);
  return id;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *store_dir = NULL;
  g_autoptr (GError) error = NULL;

  f->dir = tsr_test_make_tmpdir ();
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
  f->node_identity = make_identity (f, "node");
  f->client_identity = make_identity (f, "client");
  f->trusted = tsr_trust_store_new ();
  g_assert_true (tsr_trust_store_add (f->trusted, tsr_identity_get_id (f->client_identity),
                                      "test client", &error));
  store_dir = g_build_filename (f->dir, "nodes", "Node_01", NULL);
  f->store = tsr_segment_store_open (store_dir, 64 * 1024 * 1024, &error);
  g_assert_no_error (error);
  f->node = tsr_node_new ("Node_01", f->store, f->node_identity, f->trusted);
  g_assert_cmpint (tsr_node_get_state (f->node), ==, TSR_NODE_STATE_STOPPED);
  g_assert_true (tsr_node_start (f->node, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->address = tsr_node_dup_address (f->node);
  g_assert_true (g_str_has_prefix (f->address, "127.0.0.1:"));
  f->client = tsr_node_client_new ("Node_01", f->address, tsr_identity_get_id (f->node_identity),
                                   f->client_identity);
  tsr_node_client_set_timeout (f->client, 20000);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->client);
  tsr_node_stop (f->node);
  g_assert_finalize_object (f->node);
  g_assert_true (tsr_segment_store_close (f->store, NULL));
  g_clear_object (&f->store);
  g_clear_object (&f->trusted);
  g_clear_object (&f->node_identity);
  g_clear_object (&f->client_identity);
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->address);
  g_rand_free (f->rand);
}

static char *
store_random (Fixture *f, TsrNodeClient *client, gsize len, GBytes **out)
{
  g_autoptr (GBytes) data = tsr_test_random_bytes (f->rand, len);
  g_autoptr (GError) error = NULL;
  char *id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data);

  g_assert_true (tsr_node_client_store_segment (client, id, data, FALSE, NULL, &error));
  g_assert_no_error (error);
  if (out != NULL)
    *out = g_bytes_ref (data);
  return id;
}

static void
test_store_retrieve (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) a = NULL;
  g_autoptr (GBytes) b = NULL;
  g_autofree char *id_a = store_random (f, f->client, 65536, &a);
  g_autofree char *id_b = store_random (f, f->client, 1, &b);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) back_a = tsr_node_client_retrieve_segment (f->client, id_a, NULL, &error);
  g_autoptr (GBytes) back_b = NULL;
  g_autoptr (GBytes) missing = NULL;
  g_autofree char *absent = NULL;

  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back_a, a));
  back_b = tsr_node_client_retrieve_segment (f->client, id_b, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back_b, b));

  /* It really is on the node's disk. */
  g_assert_true (tsr_segment_store_has (f->store, id_a));
  g_assert_cmpuint (tsr_segment_store_get_used (f->store), ==, 65537);

  absent = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "never stored", -1);
  missing = tsr_node_client_retrieve_segment (f->client, absent, NULL, &error);
  g_assert_null (missing);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Delete, and a second delete is NOT_FOUND. */
  g_assert_true (tsr_node_client_delete_segment (f->client, id_a, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (tsr_segment_store_has (f->store, id_a));
  g_assert_false (tsr_node_client_delete_segment (f->client, id_a, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (tsr_node_client_sync (f->client, NULL, &error));
  g_assert_no_error (error);
}

static void
test_wrong_hash_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 4096);
  g_autofree char *claimed = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "other", -1);
  g_autoptr (GError) error = NULL;

  g_assert_false (tsr_node_client_store_segment (f->client, claimed, blob, FALSE, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_assert_cmpuint (tsr_segment_store_get_used (f->store), ==, 0);
  g_assert_false (tsr_segment_store_has (f->store, claimed));
}

/* A copy that rots on the node's disk: a plain RetrieveSegment is refused as CORRUPT (the node
 * hashes what it read); one that says reader_authenticates gets the bytes as they are, unhashed,
 * and the caller's own check (a download's AEAD tag) is what catches them. */
static void
test_rotted_segment (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) blob = NULL;
  g_autofree char *id = store_random (f, f->client, 65536, &blob);
  g_autofree char *path = tsr_segment_store_segment_path (f->store, id);
  g_autoptr (GBytes) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_cmpuint (len, ==, 65536);
  contents[4242] ^= 0x10;
  g_assert_true (g_file_set_contents (path, contents, len, &error));

  back = tsr_node_client_retrieve_segment (f->client, id, NULL, &error);
  g_assert_null (back);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_clear_error (&error);

  back = tsr_node_client_retrieve_segment_unverified (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), contents, len);
  g_assert_false (g_bytes_equal (back, blob));
}

static void
test_no_space (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 65536);
  g_autofree char *id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, blob);
  g_autoptr (GError) error = NULL;

  tsr_segment_store_set_capacity (f->store, 1000);
  g_assert_false (tsr_node_client_store_segment (f->client, id, blob, FALSE, NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NO_SPACE);
  g_assert_cmpuint (tsr_segment_store_get_used (f->store), ==, 0);
}

static void
test_unknown_client_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrIdentity) stranger = make_identity (f, "stranger");
  g_autoptr (TsrNodeClient) client =
      tsr_node_client_new ("Node_01", f->address, tsr_identity_get_id (f->node_identity), stranger);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrNodeHealth) health = NULL;
  g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 100);
  g_autofree char *id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, blob);
  TsrInterfaceStats before, after;

  tsr_node_get_stats (f->node, &before);
  tsr_node_client_set_retries (client, 0);
  g_assert_false (tsr_node_client_store_segment (client, id, blob, FALSE, NULL, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (tsr_segment_store_get_used (f->store), ==, 0);
  tsr_node_get_stats (f->node, &after);
  g_assert_cmpuint (after.errors, >, before.errors);
  g_clear_error (&error);

  /* The node keeps serving the clients it trusts. */
  health = tsr_node_client_health_check (f->client, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (health->is_alive);
}

static void
test_wrong_node_identity_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrIdentity) other = make_identity (f, "other-node");
  const char *pinned = tsr_identity_get_id (other);
  g_autoptr (TsrNodeClient) client =
      tsr_node_client_new ("Node_01", f->address, pinned, f->client_identity);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrNodeHealth) health = NULL;

  health = tsr_node_client_health_check (client, NULL, &error);
  g_assert_null (health);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IDENTITY);
  /* The message names both identities, so a user can tell what happened. */
  g_assert_nonnull (strstr (error->message, pinned));
  g_assert_nonnull (strstr (error->message, tsr_identity_get_id (f->node_identity)));
}

/* A raw TLS connection from a trusted client, to send bytes no well-behaved client would. */
static GIOStream *
raw_connect (Fixture *f, GSocketConnection **base_out)
{
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *base = g_socket_client_connect_to_host (sc, f->address, 0, NULL, &error);
  GIOStream *tls;

  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (base), 20);
  tls = tsr_tls_client_new (G_IO_STREAM (base), f->client_identity,
                            tsr_identity_get_id (f->node_identity), &error);
  g_assert_no_error (error);
  g_assert_true (tsr_tls_handshake (tls, NULL, &error));
  g_assert_no_error (error);
  *base_out = base;
  return tls;
}

static void
expect_error_frame (GIOStream *tls, gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrFrame) frame = tsr_frame_read (g_io_stream_get_input_stream (tls), NULL, &error);
  g_autoptr (TsrFrame) after = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (frame->header.type, ==, TSR_MSG_ERROR);
  g_assert_cmpuint (frame->header.request_id, ==, 0);
  g_assert_false (tsr_status_to_error (((Tessera__ErrorResponse *)frame->body)->status, &error));
  g_assert_error (error, TSR_ERROR, code);
  g_clear_error (&error);
  /* Then the node closes the connection. */
  after = tsr_frame_read (g_io_stream_get_input_stream (tls), NULL, &error);
  g_assert_null (after);
  g_assert_nonnull (error);
}

static void
assert_still_serving (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = store_random (f, f->client, 1000, NULL);
  g_autoptr (GBytes) back = tsr_node_client_retrieve_segment (f->client, id, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (back), ==, 1000);
}

static void
test_oversized_length_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketConnection) base = NULL;
  g_autoptr (GIOStream) tls = raw_connect (f, &base);
  TsrFrameHeader h = { TSR_PROTOCOL_VERSION, TSR_MSG_STORE_SEGMENT_REQUEST, 0, 7, 10, G_MAXUINT32 };
  guint8 buf[TSR_FRAME_HEADER_SIZE];
  g_autoptr (GError) error = NULL;

  tsr_frame_header_encode (&h, buf);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (tls), buf, sizeof buf,
                                            NULL, NULL, &error));
  expect_error_frame (tls, TSR_ERROR_TOO_LARGE);
  assert_still_serving (f);
}

static void
test_random_bytes_answered (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketConnection) base = NULL;
  g_autoptr (GIOStream) tls = raw_connect (f, &base);
  g_autoptr (GBytes) junk = tsr_test_random_bytes (f->rand, 4096);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (tls),
                                            g_bytes_get_data (junk, NULL), 4096, NULL, NULL,
                                            &error));
  expect_error_frame (tls, TSR_ERROR_PROTOCOL);
  assert_still_serving (f);
}

static void
test_truncated_frame_answered (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketConnection) base = NULL;
  g_autoptr (GIOStream) tls = raw_connect (f, &base);
  TsrFrameHeader h = { TSR_PROTOCOL_VERSION, TSR_MSG_STORE_SEGMENT_REQUEST, 0, 9, 80, 1000 };
  guint8 buf[TSR_FRAME_HEADER_SIZE + 10] = { 0 };
  g_autoptr (GError) error = NULL;
  TsrInterfaceStats before, after;

  tsr_node_get_stats (f->node, &before);
  tsr_frame_header_encode (&h, buf);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (tls), buf, sizeof buf,
                                            NULL, NULL, &error));
  /* Half-close: the frame can never be completed; the node must say so and not wait. */
  g_assert_true (g_output_stream_close (g_io_stream_get_output_stream (tls), NULL, &error));
  g_assert_no_error (error);
  expect_error_frame (tls, TSR_ERROR_PROTOCOL);
  tsr_node_get_stats (f->node, &after);
  g_assert_cmpuint (after.errors, >, before.errors);
  assert_still_serving (f);
}

typedef struct
{
  Fixture *f;
  guint index;
  guint stored;
  char *error;
} Worker;

static gpointer
concurrent_worker (gpointer data)
{
  Worker *w = data;
  Fixture *f = w->f;
  g_autoptr (TsrNodeClient) client = tsr_node_client_new (
      "Node_01", f->address, tsr_identity_get_id (f->node_identity), f->client_identity);
  g_autoptr (GRand) rand = g_rand_new_with_seed (w->index);

  for (int i = 0; i < 8; i++)
    {
      g_autoptr (GBytes) data_bytes = tsr_test_random_bytes (rand, 16 * 1024 + w->index);
      g_autofree char *id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data_bytes);
      g_autoptr (GError) error = NULL;

      if (!tsr_node_client_store_segment (client, id, data_bytes, FALSE, NULL, &error))
        {
          w->error = g_strdup (error->message);
          return NULL;
        }
      w->stored++;
    }
  return NULL;
}

static void
test_32_concurrent_clients (Fixture *f, gconstpointer data)
{
  Worker workers[32];
  GThread *threads[32];

  for (guint i = 0; i < 32; i++)
    {
      workers[i] = (Worker){ f, i, 0, NULL };
      threads[i] = g_thread_new ("client", concurrent_worker, &workers[i]);
    }
  for (guint i = 0; i < 32; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpstr (workers[i].error, ==, NULL);
      g_assert_cmpuint (workers[i].stored, ==, 8);
    }
  g_assert_cmpuint (tsr_segment_store_get_segment_count (f->store), ==, 32 * 8);
}

typedef struct
{
  TsrNodeClient *client;
  char *id;
  GBytes *data;
  gboolean ok;
} OneCall;

static gpointer
one_store (gpointer data)
{
  OneCall *c = data;
  c->ok = tsr_node_client_store_segment (c->client, c->id, c->data, FALSE, NULL, NULL);
  return NULL;
}

static void
test_many_in_flight_one_connection (Fixture *f, gconstpointer data)
{
  OneCall calls[24];
  GThread *threads[24];

  tsr_node_client_set_max_connections (f->client, 1);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      calls[i].client = f->client;
      calls[i].data = tsr_test_random_bytes (f->rand, 200 * 1024);
      calls[i].id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, calls[i].data);
      threads[i] = g_thread_new ("call", one_store, &calls[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_thread_join (threads[i]);
      g_assert_true (calls[i].ok);
      g_assert_true (tsr_segment_store_has (f->store, calls[i].id));
      g_free (calls[i].id);
      g_bytes_unref (calls[i].data);
    }
  g_assert_cmpuint (tsr_node_client_get_n_connections (f->client), ==, 1);
}

static void
test_health_and_topology (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrNodeHealth) h = NULL;
  g_autoptr (GPtrArray) peers = NULL;
  g_autofree char *id = store_random (f, f->client, 5000, NULL);
  g_autoptr (JsonNode) info = NULL;

  tsr_node_add_peer (f->node, "Node_02", "127.0.0.1:1", "ab");
  tsr_node_add_peer (f->node, "Node_03", "127.0.0.1:2", NULL);
  tsr_node_add_peer (f->node, "Node_02", "127.0.0.1:3", NULL);

  h = tsr_node_client_health_check (f->client, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (h->node_id, ==, "Node_01");
  g_assert_cmpstr (h->identity, ==, tsr_identity_get_id (f->node_identity));
  g_assert_cmpstr (h->address, ==, f->address);
  g_assert_cmpint (h->state, ==, TSR_NODE_STATE_READY);
  g_assert_true (h->is_alive);
  g_assert_cmpfloat (h->uptime_seconds, >, 0);
  g_assert_cmpuint (h->used_bytes, ==, 5000);
  g_assert_cmpuint (h->capacity_bytes, ==, 64 * 1024 * 1024);
  g_assert_cmpuint (h->segment_count, ==, 1);
  /* Two requests came before this one; their answers went out. */
  g_assert_cmpuint (h->stats.packets_received, >=, 2);
  g_assert_cmpuint (h->stats.packets_sent, >=, 1);
  g_assert_cmpuint (h->stats.bytes_received, >, 5000);
  g_assert_cmpfloat (h->latency_ms, >, 0);

  peers = tsr_node_client_get_topology (f->client, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peers->len, ==, 2);
  g_assert_cmpstr (((TsrPeerInfo *)peers->pdata[0])->node_id, ==, "Node_02");
  g_assert_cmpstr (((TsrPeerInfo *)peers->pdata[0])->address, ==, "127.0.0.1:3");
  g_assert_cmpstr (((TsrPeerInfo *)peers->pdata[1])->node_id, ==, "Node_03");

  info = tsr_node_get_info (f->node);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info), "state"), ==,
                   "READY");
}

static void
test_upload_download_file (Fixture *f, gconstpointer data)
{
  Tessera__UploadFileRequest up = TESSERA__UPLOAD_FILE_REQUEST__INIT;
  Tessera__DownloadFileRequest down = TESSERA__DOWNLOAD_FILE_REQUEST__INIT;
  Tessera__SegmentRef refs[3], *ref_ptrs[3];
  g_autoptr (GByteArray) payload = g_byte_array_new ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GBytes) payload_bytes = NULL;
  g_autoptr (TsrFrame) resp = NULL;
  g_autoptr (GError) error = NULL;
  const char manifest[] = "sealed manifest bytes";
  Tessera__DownloadFileResponse *d;

  for (int i = 0; i < 3; i++)
    {
      g_autoptr (GBytes) seg = tsr_test_random_bytes (f->rand, 1000 + i);
      tessera__segment_ref__init (&refs[i]);
      g_ptr_array_add (ids, g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, seg));
      refs[i].segment_id = ids->pdata[i];
      refs[i].length = g_bytes_get_size (seg);
      ref_ptrs[i] = &refs[i];
      g_byte_array_append (payload, g_bytes_get_data (seg, NULL), g_bytes_get_size (seg));
    }
  payload_bytes = g_bytes_new (payload->data, payload->len);
  up.file_id = "0123456789abcdef";
  up.manifest.data = (guint8 *)manifest;
  up.manifest.len = sizeof manifest;
  up.n_segments = 3;
  up.segments = ref_ptrs;
  resp = tsr_node_client_call (f->client, TSR_MSG_UPLOAD_FILE_REQUEST, &up.base, payload_bytes,
                               NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (((Tessera__UploadFileResponse *)resp->body)->segments_stored, ==, 3);
  g_clear_pointer (&resp, tsr_frame_free);
  for (int i = 0; i < 3; i++)
    g_assert_true (tsr_segment_store_has (f->store, ids->pdata[i]));

  down.file_id = "0123456789abcdef";
  resp = tsr_node_client_call (f->client, TSR_MSG_DOWNLOAD_FILE_REQUEST, &down.base, NULL, NULL,
                               &error);
  g_assert_no_error (error);
  d = (Tessera__DownloadFileResponse *)resp->body;
  g_assert_cmpmem (d->manifest.data, d->manifest.len, manifest, sizeof manifest);
  g_assert_cmpuint (d->n_segments, ==, 3);
  g_assert_cmpmem (g_bytes_get_data (resp->payload, NULL), g_bytes_get_size (resp->payload),
                   payload->data, payload->len);
  g_clear_pointer (&resp, tsr_frame_free);

  /* Lengths that do not add up to the payload are refused, and so is an unknown file. */
  refs[2].length = 5;
  resp = tsr_node_client_call (f->client, TSR_MSG_UPLOAD_FILE_REQUEST, &up.base, payload_bytes,
                               NULL, &error);
  g_assert_null (resp);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  down.file_id = "fedcba9876543210";
  resp = tsr_node_client_call (f->client, TSR_MSG_DOWNLOAD_FILE_REQUEST, &down.base, NULL, NULL,
                               &error);
  g_assert_null (resp);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
}

static void
test_stopped_node (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrNodeHealth) h = NULL;
  g_autofree char *id = store_random (f, f->client, 3000, NULL);
  g_autoptr (GBytes) back = NULL;
  g_autofree char *address_after = NULL;
  gint64 t0;

  g_assert_true (tsr_node_is_alive (f->node));
  tsr_node_stop (f->node);
  g_assert_cmpint (tsr_node_get_state (f->node), ==, TSR_NODE_STATE_STOPPED);
  g_assert_false (tsr_node_is_alive (f->node));

  /* The client's pooled connection was closed; it gets a clean error, quickly, not a hang. */
  tsr_node_client_set_retries (f->client, 1);
  t0 = g_get_monotonic_time ();
  h = tsr_node_client_health_check (f->client, NULL, &error);
  g_assert_null (h);
  g_assert_true (g_error_matches (error, TSR_ERROR, TSR_ERROR_UNREACHABLE) ||
                 g_error_matches (error, TSR_ERROR, TSR_ERROR_CLOSED));
  g_assert_nonnull (strstr (error->message, "Node_01"));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 10 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* Started again, on the same address, it serves what it stored. */
  g_assert_true (tsr_node_start (f->node, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  address_after = tsr_node_dup_address (f->node);
  g_assert_cmpstr (address_after, ==, f->address);
  back = tsr_node_client_retrieve_segment (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (back), ==, 3000);
}

/* Begins a RetrieveSegments for one segment. */
static TsrNodeCall *
retrieve_one_begin (TsrNodeClient *client, const char *id, GCancellable *cancellable)
{
  return tsr_node_client_retrieve_many_begin (client, &id, 1, cancellable);
}

/* Ends it: the segment's bytes, or NULL with its error. */
static GBytes *
retrieve_one_end (TsrNodeCall *call, GError **error)
{
  GBytes *got;
  GError *local_error;

  tsr_node_client_retrieve_many_end (call, &got, &local_error);
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return got;
}

/* One thread with several retrievals in flight on one client: begun together, ended in any
 * order, each gets its own answer; a missing segment is NOT_FOUND. */
static void
test_pipelined_retrieve (Fixture *f, gconstpointer data)
{
  GBytes *blobs[6];
  char *ids[6];
  TsrNodeCall *calls[7];
  g_autofree char *absent = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "never", -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) back = NULL;

  for (guint i = 0; i < 6; i++)
    ids[i] = store_random (f, f->client, 1000 + 20000 * i, &blobs[i]);
  for (guint i = 0; i < 6; i++)
    calls[i] = retrieve_one_begin (f->client, ids[i], NULL);
  calls[6] = retrieve_one_begin (f->client, absent, NULL);
  for (gint i = 5; i >= 0; i--)
    {
      g_autoptr (GBytes) got = retrieve_one_end (calls[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (got, blobs[i]));
    }
  back = retrieve_one_end (calls[6], &error);
  g_assert_null (back);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);

  for (guint i = 0; i < 6; i++)
    {
      g_bytes_unref (blobs[i]);
      g_free (ids[i]);
    }
}

/* One RetrieveSegments for several segments: each gets its bytes or its own error, in the
 * order asked; a rotted copy is sent as stored to a reader that authenticates, refused as
 * CORRUPT otherwise; more than TSR_NODE_RETRIEVE_BATCH_MAX ids are refused whole; a stopped
 * node fails every segment, and a restarted one answers again. */
static void
test_retrieve_many (Fixture *f, gconstpointer data)
{
  GBytes *blobs[5];
  char *ids[5];
  g_autofree char *absent = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "never", -1);
  g_autofree char *rotted_path = NULL;
  g_autofree char *rotted = NULL;
  const char *asked[7];
  GBytes *got[7];
  GError *errors[7];
  gsize rotted_len;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < 5; i++)
    ids[i] = store_random (f, f->client, 100 + 30000 * i, &blobs[i]);
  /* The fourth one rots on disk. */
  rotted_path = tsr_segment_store_segment_path (f->store, ids[3]);
  g_assert_true (g_file_get_contents (rotted_path, &rotted, &rotted_len, &error));
  rotted[17] ^= 0x01;
  g_assert_true (g_file_set_contents (rotted_path, rotted, rotted_len, &error));

  asked[0] = ids[2];
  asked[1] = absent;
  asked[2] = ids[0];
  asked[3] = ids[3];
  asked[4] = ids[4];
  asked[5] = ids[1];
  asked[6] = ids[2]; /* the same one twice */
  tsr_node_client_retrieve_many_end (
      tsr_node_client_retrieve_many_begin (f->client, asked, 7, NULL), got, errors);
  g_assert_true (g_bytes_equal (got[0], blobs[2]));
  g_assert_null (got[1]);
  g_assert_error (errors[1], TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_assert_true (g_bytes_equal (got[2], blobs[0]));
  g_assert_cmpmem (g_bytes_get_data (got[3], NULL), g_bytes_get_size (got[3]), rotted, rotted_len);
  g_assert_true (g_bytes_equal (got[4], blobs[4]));
  g_assert_true (g_bytes_equal (got[5], blobs[1]));
  g_assert_true (g_bytes_equal (got[6], blobs[2]));
  for (guint i = 0; i < 7; i++)
    {
      if (i != 1)
        g_assert_no_error (errors[i]);
      g_clear_pointer (&got[i], g_bytes_unref);
      g_clear_error (&errors[i]);
    }

  /* Without reader_authenticates the node hashes each one: only the rotted one fails. */
  {
    Tessera__RetrieveSegmentsRequest req = TESSERA__RETRIEVE_SEGMENTS_REQUEST__INIT;
    g_autoptr (TsrFrame) resp = NULL;
    Tessera__RetrieveSegmentsResponse *m;

    req.n_segment_ids = 2;
    req.segment_ids = (char **)&ids[3];
    resp = tsr_node_client_call (f->client, TSR_MSG_RETRIEVE_SEGMENTS_REQUEST, &req.base, NULL,
                                 NULL, &error);
    g_assert_no_error (error);
    m = (Tessera__RetrieveSegmentsResponse *)resp->body;
    g_assert_cmpuint (m->n_results, ==, 2);
    g_assert_cmpuint (m->results[0]->status->code, ==, TSR_ERROR_CORRUPT + 1);
    g_assert_cmpuint (m->results[1]->status->code, ==, 0);
    g_assert_cmpuint (g_bytes_get_size (resp->payload), ==, g_bytes_get_size (blobs[4]));
    g_assert_true (g_bytes_equal (resp->payload, blobs[4]));
  }
  /* Too many ids: refused whole, before reading anything. */
  {
    Tessera__RetrieveSegmentsRequest req = TESSERA__RETRIEVE_SEGMENTS_REQUEST__INIT;
    char *many[TSR_NODE_RETRIEVE_BATCH_MAX + 1];
    g_autoptr (TsrFrame) resp = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (many); i++)
      many[i] = ids[0];
    req.n_segment_ids = G_N_ELEMENTS (many);
    req.segment_ids = many;
    resp = tsr_node_client_call (f->client, TSR_MSG_RETRIEVE_SEGMENTS_REQUEST, &req.base, NULL,
                                 NULL, &error);
    g_assert_null (resp);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* A stopped node: every segment fails, after the client's retries for the first only. */
  tsr_node_stop (f->node);
  tsr_node_client_set_retries (f->client, 1);
  tsr_node_client_retrieve_many_end (
      tsr_node_client_retrieve_many_begin (f->client, (const char *const *)ids, 3, NULL), got,
      errors);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_null (got[i]);
      g_assert_true (g_error_matches (errors[i], TSR_ERROR, TSR_ERROR_UNREACHABLE) ||
                     g_error_matches (errors[i], TSR_ERROR, TSR_ERROR_CLOSED));
      g_clear_error (&errors[i]);
    }
  g_assert_true (tsr_node_start (f->node, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  tsr_node_client_retrieve_many_end (
      tsr_node_client_retrieve_many_begin (f->client, (const char *const *)ids, 2, NULL), got,
      errors);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_no_error (errors[i]);
      g_assert_true (g_bytes_equal (got[i], blobs[i]));
      g_bytes_unref (got[i]);
    }

  for (guint i = 0; i < 5; i++)
    {
      g_bytes_unref (blobs[i]);
      g_free (ids[i]);
    }
}

/* An answer never passes the frame's payload limit: five segments of 16 MiB are 80 MiB, so
 * the node answers the fifth TOO_LARGE, and the client asks for that one on its own. */
static void
test_retrieve_many_over_limit (Fixture *f, gconstpointer data)
{
  const gsize size = TSR_FRAME_MAX_PAYLOAD / 4;
  GBytes *blobs[5];
  char *ids[6] = { NULL };
  GBytes *got[5];
  GError *errors[5];
  g_autoptr (GError) error = NULL;

  G_STATIC_ASSERT (TSR_FRAME_MAX_PAYLOAD / 4 <= TSR_SEGMENT_MAX_SIZE);
  tsr_segment_store_set_capacity (f->store, 6 * size);
  for (guint i = 0; i < 5; i++)
    ids[i] = store_random (f, f->client, size, &blobs[i]);

  {
    Tessera__RetrieveSegmentsRequest req = TESSERA__RETRIEVE_SEGMENTS_REQUEST__INIT;
    g_autoptr (TsrFrame) resp = NULL;
    Tessera__RetrieveSegmentsResponse *m;

    req.n_segment_ids = 5;
    req.segment_ids = ids;
    req.has_reader_authenticates = req.reader_authenticates = TRUE;
    resp = tsr_node_client_call (f->client, TSR_MSG_RETRIEVE_SEGMENTS_REQUEST, &req.base, NULL,
                                 NULL, &error);
    g_assert_no_error (error);
    m = (Tessera__RetrieveSegmentsResponse *)resp->body;
    g_assert_cmpuint (m->n_results, ==, 5);
    for (guint i = 0; i < 4; i++)
      g_assert_cmpuint (m->results[i]->status->code, ==, 0);
    g_assert_cmpuint (m->results[4]->status->code, ==, TSR_ERROR_TOO_LARGE + 1);
    g_assert_cmpuint (g_bytes_get_size (resp->payload), ==, 4 * size);
  }

  tsr_node_client_retrieve_many_end (
      tsr_node_client_retrieve_many_begin (f->client, (const char *const *)ids, 5, NULL), got,
      errors);
  for (guint i = 0; i < 5; i++)
    {
      g_assert_no_error (errors[i]);
      g_assert_true (g_bytes_equal (got[i], blobs[i]));
      g_bytes_unref (got[i]);
      g_bytes_unref (blobs[i]);
      g_free (ids[i]);
    }
}

/* A node of an earlier version does not know RetrieveSegments: it answers ERROR and closes.
 * The client gets every segment one by one, and does not send it another. */
static void
test_retrieve_many_from_earlier_version (Fixture *f, gconstpointer data)
{
  GBytes *blobs[3];
  char *ids[3];
  GBytes *got[3];
  GError *errors[3];
  TsrInterfaceStats first, second;

  for (guint i = 0; i < 3; i++)
    ids[i] = store_random (f, f->client, 5000 + i, &blobs[i]);
  _tsr_node_set_refuses_batches (f->node, TRUE);
  for (guint round = 0; round < 2; round++)
    {
      tsr_node_client_retrieve_many_end (
          tsr_node_client_retrieve_many_begin (f->client, (const char *const *)ids, 3, NULL), got,
          errors);
      for (guint i = 0; i < 3; i++)
        {
          g_assert_no_error (errors[i]);
          g_assert_true (g_bytes_equal (got[i], blobs[i]));
          g_bytes_unref (got[i]);
        }
      tsr_node_get_stats (f->node, round == 0 ? &first : &second);
    }
  /* The refusal counted once, in the first round only. */
  g_assert_cmpuint (first.errors, ==, 1);
  g_assert_cmpuint (second.errors, ==, 1);

  for (guint i = 0; i < 3; i++)
    {
      g_bytes_unref (blobs[i]);
      g_free (ids[i]);
    }
}

static void
store_many (TsrNodeClient *client, const char *const *ids, GBytes *const *data, guint n,
            GError **errors)
{
  tsr_node_client_store_many_end (
      tsr_node_client_store_many_begin (client, ids, data, NULL, n, NULL), errors);
}

static gboolean
stored_as (Fixture *f, const char *id, GBytes *expected)
{
  g_autoptr (GBytes) got = tsr_segment_store_get (f->store, id, NULL);

  return got != NULL && g_bytes_equal (got, expected);
}

/* Several segments in one request: each checked and stored on its own, one that fails
 * failing only its own result. */
static void
test_store_many (Fixture *f, gconstpointer data)
{
  GBytes *blobs[4];
  char *ids[4];
  const char *sent[5];
  GBytes *sent_data[5];
  GError *errors[5];
  g_autoptr (GError) error = NULL;
  guint64 used;

  for (guint i = 0; i < 4; i++)
    {
      blobs[i] = tsr_test_random_bytes (f->rand, 1 + 40000 * i);
      ids[i] = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, blobs[i]);
    }
  /* The second claims the third's id: refused as corrupt. The first comes twice. */
  sent[0] = ids[0], sent_data[0] = blobs[0];
  sent[1] = ids[2], sent_data[1] = blobs[1];
  sent[2] = ids[2], sent_data[2] = blobs[2];
  sent[3] = ids[3], sent_data[3] = blobs[3];
  sent[4] = ids[0], sent_data[4] = blobs[0];
  store_many (f->client, sent, sent_data, 5, errors);
  g_assert_no_error (errors[0]);
  g_assert_error (errors[1], TSR_ERROR, TSR_ERROR_CORRUPT);
  g_assert_no_error (errors[2]);
  g_assert_no_error (errors[3]);
  g_assert_no_error (errors[4]);
  g_clear_error (&errors[1]);
  g_assert_true (stored_as (f, ids[0], blobs[0]));
  g_assert_false (tsr_segment_store_has (f->store, ids[1]));
  g_assert_true (stored_as (f, ids[2], blobs[2]));
  g_assert_true (stored_as (f, ids[3], blobs[3]));
  used = tsr_segment_store_get_used (f->store);
  g_assert_cmpuint (used, ==, 1 + 80001 + 120001);

  /* Room for the small one only: the big one before it is refused, the small one stored. */
  {
    g_autoptr (GBytes) big = tsr_test_random_bytes (f->rand, 60000);
    g_autoptr (GBytes) small = tsr_test_random_bytes (f->rand, 5000);
    g_autofree char *big_id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, big);
    g_autofree char *small_id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, small);
    const char *two[2] = { big_id, small_id };
    GBytes *two_data[2] = { big, small };

    tsr_segment_store_set_capacity (f->store, used + 10000);
    store_many (f->client, two, two_data, 2, errors);
    g_assert_error (errors[0], TSR_ERROR, TSR_ERROR_NO_SPACE);
    g_assert_no_error (errors[1]);
    g_clear_error (&errors[0]);
    g_assert_false (tsr_segment_store_has (f->store, big_id));
    g_assert_true (stored_as (f, small_id, small));
    tsr_segment_store_set_capacity (f->store, 64 * 1024 * 1024);
  }

  /* Too many: refused whole, nothing stored. */
  {
    Tessera__StoreSegmentsRequest req = TESSERA__STORE_SEGMENTS_REQUEST__INIT;
    Tessera__SegmentRef refs[TSR_NODE_STORE_BATCH_MAX + 1];
    Tessera__SegmentRef *ptrs[TSR_NODE_STORE_BATCH_MAX + 1];
    g_autoptr (GByteArray) payload = g_byte_array_new ();
    g_autoptr (GBytes) payload_bytes = NULL;
    g_autoptr (TsrFrame) resp = NULL;
    guint before = tsr_segment_store_get_segment_count (f->store);

    for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
      {
        g_autoptr (GBytes) blob = tsr_test_random_bytes (f->rand, 10);
        tessera__segment_ref__init (&refs[i]);
        refs[i].segment_id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, blob);
        refs[i].length = 10;
        ptrs[i] = &refs[i];
        g_byte_array_append (payload, g_bytes_get_data (blob, NULL), 10);
      }
    req.n_segments = G_N_ELEMENTS (refs);
    req.segments = ptrs;
    payload_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&payload));
    resp = tsr_node_client_call (f->client, TSR_MSG_STORE_SEGMENTS_REQUEST, &req.base,
                                 payload_bytes, NULL, &error);
    g_assert_null (resp);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_cmpuint (tsr_segment_store_get_segment_count (f->store), ==, before);
    for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
      g_free (refs[i].segment_id);
  }

  /* A stopped node: every segment fails, after the client's retries for the first only; a
   * restarted one takes them. */
  tsr_node_stop (f->node);
  tsr_node_client_set_retries (f->client, 1);
  for (guint i = 0; i < 4; i++)
    g_assert_true (tsr_segment_store_delete (f->store, ids[i], NULL) || i == 1);
  store_many (f->client, (const char *const *)ids, blobs, 4, errors);
  for (guint i = 0; i < 4; i++)
    {
      g_assert_true (g_error_matches (errors[i], TSR_ERROR, TSR_ERROR_UNREACHABLE) ||
                     g_error_matches (errors[i], TSR_ERROR, TSR_ERROR_CLOSED));
      g_clear_error (&errors[i]);
      g_assert_false (tsr_segment_store_has (f->store, ids[i]));
    }
  g_assert_true (tsr_node_start (f->node, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  store_many (f->client, (const char *const *)ids, blobs, 4, errors);
  for (guint i = 0; i < 4; i++)
    {
      g_assert_no_error (errors[i]);
      g_assert_true (stored_as (f, ids[i], blobs[i]));
    }

  for (guint i = 0; i < 4; i++)
    {
      g_bytes_unref (blobs[i]);
      g_free (ids[i]);
    }
}

/* A node of an earlier version does not know StoreSegments either: the client stores every
 * segment one by one, and does not send it another. */
static void
test_store_many_from_earlier_version (Fixture *f, gconstpointer data)
{
  TsrInterfaceStats first, second;

  _tsr_node_set_refuses_batches (f->node, TRUE);
  for (guint round = 0; round < 2; round++)
    {
      GBytes *blobs[3];
      char *ids[3];
      GError *errors[3];

      for (guint i = 0; i < 3; i++)
        {
          blobs[i] = tsr_test_random_bytes (f->rand, 5000 + i);
          ids[i] = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, blobs[i]);
        }
      store_many (f->client, (const char *const *)ids, blobs, 3, errors);
      for (guint i = 0; i < 3; i++)
        {
          g_assert_no_error (errors[i]);
          g_assert_true (stored_as (f, ids[i], blobs[i]));
          g_bytes_unref (blobs[i]);
          g_free (ids[i]);
        }
      tsr_node_get_stats (f->node, round == 0 ? &first : &second);
    }
  /* The refusal counted once, in the first round only. */
  g_assert_cmpuint (first.errors, ==, 1);
  g_assert_cmpuint (second.errors, ==, 1);
}

/* A server that completes the TLS handshake and then never answers. */
typedef struct
{
  GSocketListener *listener;
  TsrIdentity *identity;
  TsrTrustStore *trusted;
  GCancellable *cancel;
} Silent;

static gpointer
silent_server (gpointer data)
{
  Silent *s = data;

  /* One connection after another: a client drops a connection whose call timed out. */
  while (!g_cancellable_is_cancelled (s->cancel))
    {
      g_autoptr (GSocketConnection) conn =
          g_socket_listener_accept (s->listener, NULL, s->cancel, NULL);
      g_autoptr (GIOStream) tls = NULL;
      guint8 buf[4096];

      if (conn == NULL)
        break;
      tls = tsr_tls_server_new (G_IO_STREAM (conn), s->identity, s->trusted, NULL);
      if (tls == NULL || !tsr_tls_handshake (tls, s->cancel, NULL))
        continue;
      while (g_input_stream_read (g_io_stream_get_input_stream (tls), buf, sizeof buf, s->cancel,
                                  NULL) > 0)
        ;
    }
  return NULL;
}

/* A retrieval begun without waiting fails with @code within seconds. */
static void
pipelined_retrieve_fails (TsrNodeClient *client, GCancellable *cancellable, gint code)
{
  g_autofree char *segment = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "any", -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  TsrNodeCall *call = retrieve_one_begin (client, segment, cancellable);
  gint64 t0 = g_get_monotonic_time ();

  got = retrieve_one_end (call, &error);
  g_assert_null (got);
  g_assert_error (error, TSR_ERROR, code);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
}

static void
test_timeout_and_cancel (Fixture *f, gconstpointer data)
{
  Silent s = { g_socket_listener_new (), f->node_identity, f->trusted, g_cancellable_new () };
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *address = NULL;
  g_autoptr (TsrNodeClient) client = NULL;
  g_autoptr (TsrNodeHealth) h = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  GThread *thread;
  gint64 t0;

  g_assert_true (g_socket_listener_add_address (s.listener, any, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  address = g_strdup_printf ("127.0.0.1:%u",
                             g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  thread = g_thread_new ("silent", silent_server, &s);

  client = tsr_node_client_new ("Node_09", address, tsr_identity_get_id (f->node_identity),
                                f->client_identity);
  tsr_node_client_set_timeout (client, 300);
  tsr_node_client_set_retries (client, 0);
  t0 = g_get_monotonic_time ();
  h = tsr_node_client_health_check (client, NULL, &error);
  g_assert_null (h);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* The same for a retrieval begun without waiting: its deadline runs from its request. */
  pipelined_retrieve_fails (client, NULL, TSR_ERROR_TIMEOUT);

  /* A cancelled call returns CANCELLED without waiting for its deadline. */
  tsr_node_client_set_timeout (client, 60000);
  g_cancellable_cancel (cancel);
  h = tsr_node_client_health_check (client, cancel, &error);
  g_assert_null (h);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CANCELLED);
  pipelined_retrieve_fails (client, cancel, TSR_ERROR_CANCELLED);

  tsr_node_client_close (client);
  g_cancellable_cancel (s.cancel);
  g_thread_join (thread);
  g_socket_listener_close (s.listener);
  g_object_unref (s.listener);
  g_object_unref (s.cancel);
}

/* A sync leaves the index behind until enough has changed; a node that then has nothing to do
 * for an interval saves it, so that a crash later costs no recount. */
static void
test_saves_its_index_when_quiet (Fixture *f, gconstpointer data)
{
  g_autofree char *marker =
      g_build_filename (tsr_segment_store_get_root (f->store), "metadata.dirty", NULL);
  g_autoptr (GError) error = NULL;
  gint64 deadline;

  for (guint i = 0; i < 8; i++)
    g_free (store_random (f, f->client, 1000, NULL));
  g_assert_true (tsr_node_client_sync (f->client, NULL, &error));
  g_assert_no_error (error);
  /* Eight of eight changed: due, and saved by that sync. */
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_free (store_random (f, f->client, 1000, NULL));
  g_assert_true (tsr_node_client_sync (f->client, NULL, &error));
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));

  /* Two to three intervals of its timer, and a loaded machine's slack. */
  deadline = g_get_monotonic_time () + (3 * TSR_NODE_SCRUB_INTERVAL + 20) * G_USEC_PER_SEC;
  while (g_file_test (marker, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
    g_usleep (100000);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (tsr_segment_store_get_segment_count (f->store), ==, 9);
}

/* The background scrub is no request: the node stays READY while it runs. Its disk reads
 * once turned the node WAITING every ten seconds with nothing asked of it, which the app
 * shows in amber. */
static void
test_scrub_keeps_ready (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint64 checked = 0, corrupt = 0;
  guint waiting = 0;
  const guint n = 400;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GBytes) seg = tsr_test_random_bytes (f->rand, 65536);
      g_assert_true (tsr_segment_store_put (f->store, seg, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (tsr_segment_store_sync (f->store, &error));
  tsr_node_set_scrub_rate (f->node, G_GUINT64_CONSTANT (1) << 30);
  /* The first slice comes within one interval; watch the state all through it. */
  for (gint64 end = g_get_monotonic_time () + (TSR_NODE_SCRUB_INTERVAL + 20) * G_USEC_PER_SEC;
       checked < n && g_get_monotonic_time () < end;)
    {
      waiting += tsr_node_get_state (f->node) != TSR_NODE_STATE_READY;
      tsr_node_get_scrub_counts (f->node, &checked, &corrupt);
      g_usleep (50);
    }
  g_assert_cmpuint (checked, ==, n);
  g_assert_cmpuint (corrupt, ==, 0);
  g_assert_cmpuint (waiting, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/node/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("store-retrieve", test_store_retrieve);
  ADD ("scrub-keeps-ready", test_scrub_keeps_ready);
  ADD ("wrong-hash-refused", test_wrong_hash_refused);
  ADD ("rotted-segment", test_rotted_segment);
  ADD ("no-space", test_no_space);
  ADD ("unknown-client-refused", test_unknown_client_refused);
  ADD ("wrong-node-identity-refused", test_wrong_node_identity_refused);
  ADD ("oversized-length-refused", test_oversized_length_refused);
  ADD ("random-bytes-answered", test_random_bytes_answered);
  ADD ("truncated-frame-answered", test_truncated_frame_answered);
  ADD ("32-concurrent-clients", test_32_concurrent_clients);
  ADD ("many-in-flight-one-connection", test_many_in_flight_one_connection);
  ADD ("health-and-topology", test_health_and_topology);
  ADD ("upload-download-file", test_upload_download_file);
  ADD ("stopped-node", test_stopped_node);
  ADD ("pipelined-retrieve", test_pipelined_retrieve);
  ADD ("retrieve-many", test_retrieve_many);
  ADD ("retrieve-many-over-limit", test_retrieve_many_over_limit);
  ADD ("retrieve-many-from-earlier-version", test_retrieve_many_from_earlier_version);
  ADD ("store-many", test_store_many);
  ADD ("store-many-from-earlier-version", test_store_many_from_earlier_version);
  ADD ("timeout-and-cancel", test_timeout_and_cancel);
  ADD ("saves-its-index-when-quiet", test_saves_its_index_when_quiet);
#undef ADD

  return g_test_run ();
}
