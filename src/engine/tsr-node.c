/* tsr-node.c
 *
 * Threads: the node's own thread runs a GMainContext that accepts connections (a socket
 * service accepts through the context it was started in). Each connection is served by a
 * thread of the GThreadedSocketService, which does the TLS handshake, then reads a request,
 * answers it and reads the next. A client keeps many requests in flight on one connection
 * (they wait in the socket buffers, and TCP pushes back when those fill) and opens a few
 * connections to get parallel work; so work in flight is bounded by
 * TSR_NODE_MAX_CONNECTIONS. Answering on the reading thread was measured faster than handing
 * each request to a worker pool: on two cores the thread hand-offs cost more than they gain.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-node.h"
#include "tsr-node-private.h"
#include "tsr-buffered-stream.h"
#include "tsr-chunker.h"
#include "tsr-error.h"
#include "tsr-frame.h"
#include "tsr-hash.h"
#include "tsr-priority.h"
#include "tsr-tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <glib/gstdio.h>

#define HANDSHAKE_TIMEOUT_S     30
#define IDLE_TIMEOUT_S          600
#define THROUGHPUT_MIN_WINDOW_S 0.5

typedef struct
{
  GSocketConnection *base;
  GIOStream *tls;
} Conn;

struct _TsrNode
{
  GObject parent_instance;

  char *node_id;
  TsrSegmentStore *store;
  TsrIdentity *identity;
  TsrTrustStore *trusted;
  char *files_dir;

  GMutex lock; /* protects the fields below */
  GCond conns_cond;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GSocketService *service;
  GPtrArray *conns;
  GPtrArray *peers;
  char *host;
  guint16 port;
  gboolean thread_ready;
  guint pending_jobs; /* accepted connections not yet finished by on_run */
  gint64 started_at;

  gint serving;         /* atomic */
  gint refuses_batches; /* atomic: answers Retrieve/StoreSegments as an earlier version would */
  gint n_running;
  gint n_waiting;

  guint64 packets_sent, packets_received, bytes_sent, bytes_received, errors; /* atomic */

  /* Background scrub, on the node's own context: a slice every TSR_NODE_SCRUB_INTERVAL. */
  guint64 scrub_rate; /* bytes per second; 0: off */
  char *scrub_cursor; /* where the next slice starts; NULL: from the first segment */
  GSource *scrub_source;
  guint64 scrub_checked, scrub_corrupt; /* atomic-ish: under lock */
  GMutex sample_lock;
  gint64 sample_time;
  guint64 sample_sent, sample_received;
  double throughput_send, throughput_received;
};

G_DEFINE_FINAL_TYPE (TsrNode, tsr_node, G_TYPE_OBJECT)
G_DEFINE_ENUM_TYPE (TsrNodeState, tsr_node_state,
                    G_DEFINE_ENUM_VALUE (TSR_NODE_STATE_READY, "ready"),
                    G_DEFINE_ENUM_VALUE (TSR_NODE_STATE_WAITING, "waiting"),
                    G_DEFINE_ENUM_VALUE (TSR_NODE_STATE_RUNNING, "running"),
                    G_DEFINE_ENUM_VALUE (TSR_NODE_STATE_STOPPED, "stopped"))

static const char *const state_names[] = { "READY", "WAITING", "RUNNING", "STOPPED" };

const char *
tsr_node_state_to_string (TsrNodeState state)
{
  return state < G_N_ELEMENTS (state_names) ? state_names[state] : "STOPPED";
}

gboolean
tsr_node_state_from_string (const char *str, TsrNodeState *state)
{
  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_strcmp0 (str, state_names[i]) == 0)
      {
        *state = i;
        return TRUE;
      }
  return FALSE;
}

void
tsr_peer_info_free (TsrPeerInfo *peer)
{
  if (peer == NULL)
    return;
  g_free (peer->node_id);
  g_free (peer->address);
  g_free (peer->identity);
  g_free (peer);
}

#define STAT_ADD(field, n) __atomic_fetch_add (&self->field, (guint64)(n), __ATOMIC_RELAXED)
#define STAT_GET(field)    __atomic_load_n (&self->field, __ATOMIC_RELAXED)

static void
conn_free (Conn *conn)
{
  g_clear_object (&conn->tls);
  g_clear_object (&conn->base);
  g_free (conn);
}

static gsize
frame_wire_size (const TsrFrameHeader *h)
{
  return TSR_FRAME_HEADER_SIZE + (gsize)h->body_len + h->payload_len;
}

/* Answers on @conn, from the thread serving it. */
static void
send_frame (TsrNode *self, Conn *conn, TsrMessageType type, guint32 request_id,
            const ProtobufCMessage *body, GBytes *payload)
{
  g_autoptr (GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (conn->tls);
  gsize size = TSR_FRAME_HEADER_SIZE + protobuf_c_message_get_packed_size (body) +
               (payload ? g_bytes_get_size (payload) : 0);
  gboolean ok;

  ok = tsr_frame_write (out, type, request_id, body, payload, NULL, &error) &&
       tsr_tls_flush (conn->tls, NULL, &error);
  if (ok)
    {
      STAT_ADD (packets_sent, 1);
      STAT_ADD (bytes_sent, size);
    }
  else
    {
      STAT_ADD (errors, 1);
      g_debug ("%s: could not answer request %u: %s", self->node_id, request_id, error->message);
    }
}

static void
send_error_frame (TsrNode *self, Conn *conn, const GError *error)
{
  Tessera__Status status = TESSERA__STATUS__INIT;
  Tessera__ErrorResponse resp = TESSERA__ERROR_RESPONSE__INIT;

  tsr_status_set_error (&status, error);
  resp.status = &status;
  send_frame (self, conn, TSR_MSG_ERROR, 0, &resp.base, NULL);
}

/* The seed's state machine, derived from what the workers are doing right now. */
TsrNodeState
tsr_node_get_state (TsrNode *self)
{
  g_return_val_if_fail (TSR_IS_NODE (self), TSR_NODE_STATE_STOPPED);

  if (!g_atomic_int_get (&self->serving))
    return TSR_NODE_STATE_STOPPED;
  if (g_atomic_int_get (&self->n_running) > 0)
    return TSR_NODE_STATE_RUNNING;
  if (g_atomic_int_get (&self->n_waiting) > 0)
    return TSR_NODE_STATE_WAITING;
  return TSR_NODE_STATE_READY;
}

/* Around a blocking disk call inside a request: RUNNING becomes WAITING for its duration. */
static void
begin_wait (TsrNode *self)
{
  g_atomic_int_inc (&self->n_waiting);
  g_atomic_int_add (&self->n_running, -1);
}

static void
end_wait (TsrNode *self)
{
  g_atomic_int_inc (&self->n_running);
  g_atomic_int_add (&self->n_waiting, -1);
}

void
tsr_node_get_stats (TsrNode *self, TsrInterfaceStats *stats)
{
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (TSR_IS_NODE (self));

  stats->packets_sent = STAT_GET (packets_sent);
  stats->packets_received = STAT_GET (packets_received);
  stats->bytes_sent = STAT_GET (bytes_sent);
  stats->bytes_received = STAT_GET (bytes_received);
  stats->errors = STAT_GET (errors);

  /* Throughput over the time since the previous sample, once that is long enough to mean
   * something; callers poll (health checks), so this follows their rhythm. */
  g_mutex_lock (&self->sample_lock);
  if (self->sample_time == 0)
    {
      self->sample_time = now;
      self->sample_sent = stats->bytes_sent;
      self->sample_received = stats->bytes_received;
    }
  else if ((now - self->sample_time) / 1e6 >= THROUGHPUT_MIN_WINDOW_S)
    {
      double secs = (now - self->sample_time) / 1e6;
      self->throughput_send = (stats->bytes_sent - self->sample_sent) / secs;
      self->throughput_received = (stats->bytes_received - self->sample_received) / secs;
      self->sample_time = now;
      self->sample_sent = stats->bytes_sent;
      self->sample_received = stats->bytes_received;
    }
  stats->send_throughput_bps = self->throughput_send;
  stats->receive_throughput_bps = self->throughput_received;
  g_mutex_unlock (&self->sample_lock);
}

static gboolean
file_id_is_valid (const char *id)
{
  if (id == NULL || strlen (id) != 16)
    return FALSE;
  for (int i = 0; i < 16; i++)
    if (!g_ascii_isxdigit (id[i]) || g_ascii_isupper (id[i]))
      return FALSE;
  return TRUE;
}

static char *
file_record_path (TsrNode *self, const char *file_id)
{
  g_autofree char *name = g_strconcat (file_id, ".json", NULL);
  return g_build_filename (self->files_dir, name, NULL);
}

/* UploadFile: every segment verified and stored, made durable, then the record written. */
static gboolean
handle_upload_file (TsrNode *self, Tessera__UploadFileRequest *req, GBytes *payload,
                    guint32 *stored, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *b64 = NULL;
  g_autofree char *data = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) local_error = NULL;
  guint64 total = 0;
  gsize offset = 0, len;

  if (!file_id_is_valid (req->file_id))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "Invalid file id: expected 16 lowercase hex characters");
      return FALSE;
    }
  for (gsize i = 0; i < req->n_segments; i++)
    if (!g_uint64_checked_add (&total, total, req->segments[i]->length))
      break;
  if (total != g_bytes_get_size (payload))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "The segment lengths add up to %" G_GUINT64_FORMAT " bytes but %" G_GSIZE_FORMAT
                   " bytes came",
                   total, g_bytes_get_size (payload));
      return FALSE;
    }

  begin_wait (self);
  for (gsize i = 0; i < req->n_segments; i++)
    {
      g_autoptr (GBytes) seg = g_bytes_new_from_bytes (payload, offset, req->segments[i]->length);
      if (!tsr_segment_store_put (self->store, seg, req->segments[i]->segment_id, NULL, error))
        {
          end_wait (self);
          return FALSE;
        }
      offset += req->segments[i]->length;
    }
  if (!tsr_segment_store_sync (self->store, error))
    {
      end_wait (self);
      return FALSE;
    }
  end_wait (self);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file_id");
  json_builder_add_string_value (b, req->file_id);
  json_builder_set_member_name (b, "manifest");
  b64 = g_base64_encode (req->manifest.data, req->manifest.len);
  json_builder_add_string_value (b, b64);
  json_builder_set_member_name (b, "segments");
  json_builder_begin_array (b);
  for (gsize i = 0; i < req->n_segments; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "segment_id");
      json_builder_add_string_value (b, req->segments[i]->segment_id);
      json_builder_set_member_name (b, "length");
      json_builder_add_int_value (b, req->segments[i]->length);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, &len);

  path = file_record_path (self, req->file_id);
  begin_wait (self);
  if (g_mkdir_with_parents (self->files_dir, 0700) != 0 ||
      !g_file_set_contents_full (path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      end_wait (self);
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, "Cannot save the file record: %s",
                   local_error ? local_error->message : g_strerror (errno));
      return FALSE;
    }
  end_wait (self);
  *stored = req->n_segments;
  return TRUE;
}

/* DownloadFile: the record written by UploadFile, and its segments, each verified. */
static gboolean
handle_download_file (TsrNode *self, const char *file_id, GBytes **manifest_out, GPtrArray *refs,
                      GBytes **payload_out, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *path = NULL;
  g_autoptr (GByteArray) payload = g_byte_array_new ();
  JsonObject *obj;
  JsonArray *segs;
  JsonNode *root, *node;
  const char *b64;
  guchar *manifest;
  gsize manifest_len;

  if (!file_id_is_valid (file_id))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "Invalid file id: expected 16 lowercase hex characters");
      return FALSE;
    }
  path = file_record_path (self, file_id);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, "File %s is not stored on %s", file_id,
                   self->node_id);
      return FALSE;
    }
  if (!json_parser_load_from_file (parser, path, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (node = json_object_get_member (obj = json_node_get_object (root), "manifest")) == NULL ||
      json_node_get_value_type (node) != G_TYPE_STRING ||
      (node = json_object_get_member (obj, "segments")) == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    goto corrupt;

  b64 = json_object_get_string_member (obj, "manifest");
  segs = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (segs); i++)
    {
      JsonNode *el = json_array_get_element (segs, i);
      JsonNode *idn;
      g_autoptr (GBytes) seg = NULL;
      Tessera__SegmentRef *ref;

      if (!JSON_NODE_HOLDS_OBJECT (el) ||
          (idn = json_object_get_member (json_node_get_object (el), "segment_id")) == NULL ||
          json_node_get_value_type (idn) != G_TYPE_STRING)
        goto corrupt;
      begin_wait (self);
      seg = tsr_segment_store_get (self->store, json_node_get_string (idn), error);
      end_wait (self);
      if (seg == NULL)
        return FALSE;
      if (payload->len + g_bytes_get_size (seg) > TSR_FRAME_MAX_PAYLOAD)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE,
                       "File %s is too large for one DownloadFile call; fetch its segments",
                       file_id);
          return FALSE;
        }
      g_byte_array_append (payload, g_bytes_get_data (seg, NULL), g_bytes_get_size (seg));
      ref = g_new0 (Tessera__SegmentRef, 1);
      tessera__segment_ref__init (ref);
      ref->segment_id = g_strdup (json_node_get_string (idn));
      ref->length = g_bytes_get_size (seg);
      g_ptr_array_add (refs, ref);
    }

  manifest = g_base64_decode (b64, &manifest_len);
  *manifest_out = g_bytes_new_take (manifest, manifest_len);
  *payload_out = g_byte_array_free_to_bytes (g_steal_pointer (&payload));
  return TRUE;

corrupt:
  g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT, "The record of file %s on %s is damaged",
               file_id, self->node_id);
  return FALSE;
}

static void
segment_ref_free (gpointer p)
{
  Tessera__SegmentRef *ref = p;
  g_free (ref->segment_id);
  g_free (ref);
}

static void
fill_health (TsrNode *self, Tessera__HealthCheckResponse *resp, Tessera__InterfaceStats *ps,
             char **address)
{
  TsrStorageInfo info;
  TsrInterfaceStats stats;

  tsr_segment_store_get_info (self->store, &info);
  tsr_node_get_stats (self, &stats);
  resp->node_id = self->node_id;
  resp->identity = (char *)tsr_identity_get_id (self->identity);
  resp->state = (char *)tsr_node_state_to_string (tsr_node_get_state (self));
  resp->is_alive = tsr_node_is_alive (self);
  resp->uptime_seconds = tsr_node_get_uptime (self);
  resp->used_bytes = info.used_bytes;
  resp->capacity_bytes = info.capacity_bytes;
  resp->segment_count = info.segment_count;
  resp->has_disk_free_bytes = info.disk_free_bytes != G_MAXUINT64;
  resp->disk_free_bytes = info.disk_free_bytes;
  ps->packets_sent = stats.packets_sent;
  ps->packets_received = stats.packets_received;
  ps->bytes_sent = stats.bytes_sent;
  ps->bytes_received = stats.bytes_received;
  ps->errors = stats.errors;
  ps->send_throughput_bps = stats.send_throughput_bps;
  ps->receive_throughput_bps = stats.receive_throughput_bps;
  resp->stats = ps;
  *address = tsr_node_dup_address (self);
  resp->address = *address;
}

static void
count_scrub (TsrNode *self, const TsrScrubResult *result)
{
  g_mutex_lock (&self->lock);
  self->scrub_checked += result->checked;
  self->scrub_corrupt += result->corrupt != NULL ? result->corrupt->len : 0;
  g_mutex_unlock (&self->lock);
}

/* Every TSR_NODE_SCRUB_INTERVAL seconds: saves the store's index once nothing has changed for
 * an interval (a sync saves it only now and then: see tsr_segment_store_sync()), then runs one
 * slice of the background scrub. A slice re-hashes at most rate x interval bytes, continuing
 * where the last slice stopped and wrapping around at the end, so the whole store is read
 * once every (size / rate) seconds and never faster. */
static gboolean
on_scrub_timer (gpointer data)
{
  TsrNode *self = data;
  g_autoptr (GError) error = NULL;
  TsrScrubResult result = { 0 };
  guint64 budget;

  /* Background work, not a request: the node's state (what requests are doing) stays. */
  if (!tsr_segment_store_checkpoint (self->store, TSR_NODE_SCRUB_INTERVAL, &error))
    {
      g_message ("%s: saving its index: %s", self->node_id, error->message);
      g_clear_error (&error);
    }

  g_mutex_lock (&self->lock);
  budget = self->scrub_rate * TSR_NODE_SCRUB_INTERVAL;
  g_mutex_unlock (&self->lock);
  if (budget == 0)
    return G_SOURCE_CONTINUE;
  if (tsr_segment_store_scrub (self->store, self->scrub_cursor, budget, &result, &error) &&
      result.corrupt->len > 0)
    tsr_segment_store_sync (self->store, &error);
  if (error != NULL)
    g_message ("%s: background scrub: %s", self->node_id, error->message);
  else
    {
      count_scrub (self, &result);
      g_free (self->scrub_cursor);
      self->scrub_cursor = g_steal_pointer (&result.next);
    }
  tsr_scrub_result_clear (&result);
  return G_SOURCE_CONTINUE;
}

/* Tests: the node answers RetrieveSegments and StoreSegments as a node of an earlier version
 * does, with an ERROR frame (PROTOCOL) and a closed connection. */
void
_tsr_node_set_refuses_batches (TsrNode *self, gboolean refuses)
{
  g_return_if_fail (TSR_IS_NODE (self));
  g_atomic_int_set (&self->refuses_batches, refuses);
}

/**
 * tsr_node_set_scrub_rate:
 * @bytes_per_second: the background scrub's I/O budget; 0 turns it off
 *
 * Every TSR_NODE_SCRUB_INTERVAL seconds while serving, the node re-hashes the next
 * @bytes_per_second x interval bytes of segments and quarantines copies that are corrupt.
 */
void
tsr_node_set_scrub_rate (TsrNode *self, guint64 bytes_per_second)
{
  g_return_if_fail (TSR_IS_NODE (self));
  g_mutex_lock (&self->lock);
  self->scrub_rate = bytes_per_second;
  g_mutex_unlock (&self->lock);
}

/**
 * tsr_node_get_scrub_counts:
 *
 * Segments re-hashed and corrupt copies quarantined since the node was made, by the
 * background scrub and by Scrub requests.
 */
void
tsr_node_get_scrub_counts (TsrNode *self, guint64 *checked, guint64 *corrupt)
{
  g_return_if_fail (TSR_IS_NODE (self));
  g_mutex_lock (&self->lock);
  if (checked != NULL)
    *checked = self->scrub_checked;
  if (corrupt != NULL)
    *corrupt = self->scrub_corrupt;
  g_mutex_unlock (&self->lock);
}

/* The per-segment results of a batch's answer (RetrieveSegments, StoreSegments), each OK
 * until it fails, and the errors whose messages their statuses borrow. */
typedef struct
{
  gsize n;
  Tessera__SegmentResult *results;
  Tessera__SegmentResult **ptrs;
  Tessera__Status *statuses;
  GPtrArray *errors;
} BatchResults;

/* FALSE, with @status saying why, when a batch of @n is more than a request may hold. */
static gboolean
batch_results_init (BatchResults *b, gsize n, guint max, const char *what, Tessera__Status *status,
                    GError **error)
{
  memset (b, 0, sizeof *b);
  if (n > max)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "A %s request holds at most %u segments, not %zu", what, max, n);
      tsr_status_set_error (status, *error);
      return FALSE;
    }
  b->n = n;
  b->results = g_new0 (Tessera__SegmentResult, MAX (n, 1));
  b->ptrs = g_new0 (Tessera__SegmentResult *, MAX (n, 1));
  b->statuses = g_new0 (Tessera__Status, MAX (n, 1));
  b->errors = g_ptr_array_new_with_free_func ((GDestroyNotify)g_error_free);
  for (gsize i = 0; i < n; i++)
    {
      tessera__segment_result__init (&b->results[i]);
      tessera__status__init (&b->statuses[i]);
      tsr_status_set_ok (&b->statuses[i]);
      b->results[i].status = &b->statuses[i];
      b->ptrs[i] = &b->results[i];
    }
  return TRUE;
}

/* Takes @error. */
static void
batch_results_fail (BatchResults *b, gsize i, GError *error)
{
  tsr_status_set_error (&b->statuses[i], error);
  g_ptr_array_add (b->errors, error);
}

static void
batch_results_clear (BatchResults *b)
{
  g_free (b->results);
  g_free (b->ptrs);
  g_free (b->statuses);
  g_clear_pointer (&b->errors, g_ptr_array_unref);
}

/* Several segments, one answer: each one's result, and the payload the found ones back to
 * back. A segment that is missing or corrupt fails only its own result. */
static void
handle_retrieve_segments (TsrNode *self, Conn *conn, guint32 rid,
                          const Tessera__RetrieveSegmentsRequest *req)
{
  Tessera__RetrieveSegmentsResponse resp = TESSERA__RETRIEVE_SEGMENTS_RESPONSE__INIT;
  Tessera__Status status = TESSERA__STATUS__INIT;
  gboolean trusted = req->has_reader_authenticates && req->reader_authenticates;
  BatchResults b;
  g_autoptr (GByteArray) data = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;

  tsr_status_set_ok (&status);
  resp.status = &status;
  if (!batch_results_init (&b, req->n_segment_ids, TSR_NODE_RETRIEVE_BATCH_MAX, "RetrieveSegments",
                           &status, &error))
    {
      send_frame (self, conn, TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, rid, &resp.base, NULL);
      return;
    }

  /* Read straight into the answer, sized for chunks of 64 KiB and their tags, and the room the
   * last read needs. */
  data = g_byte_array_sized_new (b.n * (TSR_CHUNK_SIZE_DEFAULT + 16) + TSR_SEGMENT_READ_SLACK);
  begin_wait (self);
  for (gsize i = 0; i < b.n; i++)
    {
      guint before = data->len;
      GError *seg_error = NULL;

      /* One that would not fit is not even read: ask for it on its own. */
      if (!tsr_segment_store_read_into (self->store, req->segment_ids[i], !trusted, data,
                                        TSR_FRAME_MAX_PAYLOAD, &seg_error))
        {
          if (g_error_matches (seg_error, TSR_ERROR, TSR_ERROR_TOO_LARGE))
            g_prefix_error (&seg_error, "Ask for it on its own: ");
          batch_results_fail (&b, i, seg_error);
          continue;
        }
      b.results[i].has_length = TRUE;
      b.results[i].length = data->len - before;
    }
  end_wait (self);
  resp.n_results = b.n;
  resp.results = b.ptrs;
  payload = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  send_frame (self, conn, TSR_MSG_RETRIEVE_SEGMENTS_RESPONSE, rid, &resp.base, payload);
  batch_results_clear (&b);
}

/* Several segments, one answer: each is checked and stored as a StoreSegment would be, and
 * one that fails (corrupt, no space) fails only its own result. */
static void
handle_store_segments (TsrNode *self, Conn *conn, guint32 rid,
                       const Tessera__StoreSegmentsRequest *req, GBytes *payload)
{
  Tessera__StoreSegmentsResponse resp = TESSERA__STORE_SEGMENTS_RESPONSE__INIT;
  Tessera__Status status = TESSERA__STATUS__INIT;
  BatchResults b;
  gsize offset = 0;
  g_autoptr (GError) error = NULL;

  tsr_status_set_ok (&status);
  resp.status = &status;
  if (!batch_results_init (&b, req->n_segments, TSR_NODE_STORE_BATCH_MAX, "StoreSegments", &status,
                           &error))
    {
      send_frame (self, conn, TSR_MSG_STORE_SEGMENTS_RESPONSE, rid, &resp.base, NULL);
      return;
    }

  begin_wait (self);
  for (gsize i = 0; i < b.n; i++)
    {
      /* The frame checks made sure the lengths add up to the payload. */
      g_autoptr (GBytes) data = g_bytes_new_from_bytes (payload, offset, req->segments[i]->length);
      GError *seg_error = NULL;

      offset += req->segments[i]->length;
      if (!tsr_segment_store_put_full (self->store, data, req->segments[i]->segment_id,
                                       req->segments[i]->has_cold && req->segments[i]->cold
                                           ? TSR_SEGMENT_PUT_COLD
                                           : TSR_SEGMENT_PUT_NONE,
                                       NULL, &seg_error))
        batch_results_fail (&b, i, seg_error);
    }
  end_wait (self);
  resp.n_results = b.n;
  resp.results = b.ptrs;
  resp.has_used_bytes = resp.has_capacity_bytes = TRUE;
  resp.used_bytes = tsr_segment_store_get_used (self->store);
  resp.capacity_bytes = tsr_segment_store_get_capacity (self->store);
  send_frame (self, conn, TSR_MSG_STORE_SEGMENTS_RESPONSE, rid, &resp.base, NULL);
  batch_results_clear (&b);
}

/* One request, one answer. */
static void
handle_request (TsrNode *self, Conn *conn, TsrFrame *frame)
{
  guint32 rid = frame->header.request_id;
  Tessera__Status status = TESSERA__STATUS__INIT;
  g_autoptr (GError) error = NULL;
  gboolean counted = TRUE;

  tsr_status_set_ok (&status);
  g_atomic_int_inc (&self->n_running);

  switch (frame->header.type)
    {
      case TSR_MSG_STORE_SEGMENT_REQUEST:
        {
          Tessera__StoreSegmentRequest *req = (Tessera__StoreSegmentRequest *)frame->body;
          Tessera__StoreSegmentResponse resp = TESSERA__STORE_SEGMENT_RESPONSE__INIT;
          gboolean ok;

          begin_wait (self);
          ok = tsr_segment_store_put_full (self->store, frame->payload, req->segment_id,
                                           req->has_cold && req->cold ? TSR_SEGMENT_PUT_COLD
                                                                      : TSR_SEGMENT_PUT_NONE,
                                           NULL, &error);
          end_wait (self);
          if (!ok)
            tsr_status_set_error (&status, error);
          resp.status = &status;
          resp.has_used_bytes = resp.has_capacity_bytes = TRUE;
          resp.used_bytes = tsr_segment_store_get_used (self->store);
          resp.capacity_bytes = tsr_segment_store_get_capacity (self->store);
          send_frame (self, conn, TSR_MSG_STORE_SEGMENT_RESPONSE, rid, &resp.base, NULL);
          break;
        }
      case TSR_MSG_RETRIEVE_SEGMENT_REQUEST:
        {
          Tessera__RetrieveSegmentRequest *req = (Tessera__RetrieveSegmentRequest *)frame->body;
          Tessera__RetrieveSegmentResponse resp = TESSERA__RETRIEVE_SEGMENT_RESPONSE__INIT;
          g_autoptr (GBytes) segment = NULL;

          begin_wait (self);
          if (req->has_reader_authenticates && req->reader_authenticates)
            segment = tsr_segment_store_get_unverified (self->store, req->segment_id, &error);
          else
            segment = tsr_segment_store_get (self->store, req->segment_id, &error);
          end_wait (self);
          if (segment == NULL)
            tsr_status_set_error (&status, error);
          resp.status = &status;
          send_frame (self, conn, TSR_MSG_RETRIEVE_SEGMENT_RESPONSE, rid, &resp.base, segment);
          break;
        }
      case TSR_MSG_RETRIEVE_SEGMENTS_REQUEST:
        handle_retrieve_segments (self, conn, rid, (Tessera__RetrieveSegmentsRequest *)frame->body);
        break;
      case TSR_MSG_STORE_SEGMENTS_REQUEST:
        handle_store_segments (self, conn, rid, (Tessera__StoreSegmentsRequest *)frame->body,
                               frame->payload);
        break;
      case TSR_MSG_DELETE_SEGMENT_REQUEST:
        {
          Tessera__DeleteSegmentRequest *req = (Tessera__DeleteSegmentRequest *)frame->body;
          Tessera__DeleteSegmentResponse resp = TESSERA__DELETE_SEGMENT_RESPONSE__INIT;
          gboolean ok;

          begin_wait (self);
          ok = tsr_segment_store_delete (self->store, req->segment_id, &error);
          end_wait (self);
          if (!ok)
            tsr_status_set_error (&status, error);
          resp.status = &status;
          resp.has_used_bytes = TRUE;
          resp.used_bytes = tsr_segment_store_get_used (self->store);
          send_frame (self, conn, TSR_MSG_DELETE_SEGMENT_RESPONSE, rid, &resp.base, NULL);
          break;
        }
      case TSR_MSG_SYNC_REQUEST:
        {
          Tessera__SyncResponse resp = TESSERA__SYNC_RESPONSE__INIT;
          gboolean ok;

          begin_wait (self);
          ok = tsr_segment_store_sync (self->store, &error);
          end_wait (self);
          if (!ok)
            tsr_status_set_error (&status, error);
          resp.status = &status;
          send_frame (self, conn, TSR_MSG_SYNC_RESPONSE, rid, &resp.base, NULL);
          break;
        }
      case TSR_MSG_HEALTH_CHECK_REQUEST:
        {
          Tessera__HealthCheckResponse resp = TESSERA__HEALTH_CHECK_RESPONSE__INIT;
          Tessera__InterfaceStats ps = TESSERA__INTERFACE_STATS__INIT;
          g_autofree char *address = NULL;

          /* A health check is not work: it must not report RUNNING because of itself. */
          g_atomic_int_add (&self->n_running, -1);
          counted = FALSE;
          resp.status = &status;
          fill_health (self, &resp, &ps, &address);
          send_frame (self, conn, TSR_MSG_HEALTH_CHECK_RESPONSE, rid, &resp.base, NULL);
          break;
        }
      case TSR_MSG_NETWORK_TOPOLOGY_REQUEST:
        {
          Tessera__NetworkTopologyResponse resp = TESSERA__NETWORK_TOPOLOGY_RESPONSE__INIT;
          g_autoptr (GPtrArray) peers = tsr_node_dup_peers (self);
          g_autofree Tessera__Peer *msgs = g_new0 (Tessera__Peer, MAX (peers->len, 1));
          g_autofree Tessera__Peer **ptrs = g_new0 (Tessera__Peer *, MAX (peers->len, 1));
          g_autofree char *address = tsr_node_dup_address (self);

          g_atomic_int_add (&self->n_running, -1);
          counted = FALSE;
          for (guint i = 0; i < peers->len; i++)
            {
              TsrPeerInfo *p = peers->pdata[i];
              tessera__peer__init (&msgs[i]);
              msgs[i].node_id = p->node_id;
              msgs[i].address = p->address;
              msgs[i].identity = p->identity;
              ptrs[i] = &msgs[i];
            }
          resp.status = &status;
          resp.node_id = self->node_id;
          resp.address = address;
          resp.n_peers = peers->len;
          resp.peers = ptrs;
          send_frame (self, conn, TSR_MSG_NETWORK_TOPOLOGY_RESPONSE, rid, &resp.base, NULL);
          break;
        }
      case TSR_MSG_UPLOAD_FILE_REQUEST:
        {
          Tessera__UploadFileResponse resp = TESSERA__UPLOAD_FILE_RESPONSE__INIT;
          guint32 stored = 0;

          if (!handle_upload_file (self, (Tessera__UploadFileRequest *)frame->body, frame->payload,
                                   &stored, &error))
            tsr_status_set_error (&status, error);
          resp.status = &status;
          resp.has_segments_stored = TRUE;
          resp.segments_stored = stored;
          send_frame (self, conn, TSR_MSG_UPLOAD_FILE_RESPONSE, rid, &resp.base, NULL);
          break;
        }
      case TSR_MSG_DOWNLOAD_FILE_REQUEST:
        {
          Tessera__DownloadFileRequest *req = (Tessera__DownloadFileRequest *)frame->body;
          Tessera__DownloadFileResponse resp = TESSERA__DOWNLOAD_FILE_RESPONSE__INIT;
          g_autoptr (GPtrArray) refs = g_ptr_array_new_with_free_func (segment_ref_free);
          g_autoptr (GBytes) manifest = NULL;
          g_autoptr (GBytes) payload = NULL;

          if (!handle_download_file (self, req->file_id, &manifest, refs, &payload, &error))
            {
              tsr_status_set_error (&status, error);
              g_ptr_array_set_size (refs, 0);
            }
          resp.status = &status;
          if (manifest != NULL)
            {
              resp.has_manifest = TRUE;
              resp.manifest.data = (guint8 *)g_bytes_get_data (manifest, &resp.manifest.len);
            }
          resp.n_segments = refs->len;
          resp.segments = (Tessera__SegmentRef **)refs->pdata;
          send_frame (self, conn, TSR_MSG_DOWNLOAD_FILE_RESPONSE, rid, &resp.base, payload);
          break;
        }
      case TSR_MSG_LIST_SEGMENTS_REQUEST:
        {
          Tessera__ListSegmentsRequest *req = (Tessera__ListSegmentsRequest *)frame->body;
          Tessera__ListSegmentsResponse resp = TESSERA__LIST_SEGMENTS_RESPONSE__INIT;
          guint limit = req->has_limit && req->limit > 0 ? req->limit : TSR_NODE_LIST_PAGE_MAX;
          g_autoptr (GPtrArray) page = NULL;
          g_autofree Tessera__SegmentInfo *msgs = NULL;
          g_autofree Tessera__SegmentInfo **ptrs = NULL;
          gboolean more = FALSE;

          begin_wait (self);
          page = tsr_segment_store_list_page (self->store, req->after,
                                              MIN (limit, TSR_NODE_LIST_PAGE_MAX), &more);
          end_wait (self);
          msgs = g_new0 (Tessera__SegmentInfo, MAX (page->len, 1));
          ptrs = g_new0 (Tessera__SegmentInfo *, MAX (page->len, 1));
          for (guint i = 0; i < page->len; i++)
            {
              TsrSegmentInfo *info = page->pdata[i];
              tessera__segment_info__init (&msgs[i]);
              msgs[i].segment_id = info->id;
              msgs[i].size = info->size;
              msgs[i].age_seconds = info->age_seconds;
              ptrs[i] = &msgs[i];
            }
          resp.status = &status;
          resp.n_segments = page->len;
          resp.segments = ptrs;
          resp.has_more = TRUE;
          resp.more = more;
          send_frame (self, conn, TSR_MSG_LIST_SEGMENTS_RESPONSE, rid, &resp.base, NULL);
          break;
        }
      case TSR_MSG_SCRUB_REQUEST:
        {
          Tessera__ScrubRequest *req = (Tessera__ScrubRequest *)frame->body;
          Tessera__ScrubResponse resp = TESSERA__SCRUB_RESPONSE__INIT;
          guint64 max_bytes =
              req->has_max_bytes && req->max_bytes > 0 ? req->max_bytes : TSR_NODE_SCRUB_PAGE_BYTES;
          TsrScrubResult result = { 0 };

          begin_wait (self);
          /* Bounded per request, so one answer never waits on reading a whole disk. */
          if (!tsr_segment_store_scrub (self->store, req->after,
                                        MIN (max_bytes, TSR_NODE_SCRUB_PAGE_BYTES), &result,
                                        &error) ||
              (result.corrupt->len > 0 && !tsr_segment_store_sync (self->store, &error)))
            tsr_status_set_error (&status, error);
          end_wait (self);
          count_scrub (self, &result);
          resp.status = &status;
          resp.checked = result.checked;
          resp.bytes = result.bytes;
          if (result.corrupt != NULL && error == NULL)
            {
              resp.n_corrupt = result.corrupt->len;
              resp.corrupt = (char **)result.corrupt->pdata;
            }
          if (error == NULL)
            resp.next = result.next;
          send_frame (self, conn, TSR_MSG_SCRUB_RESPONSE, rid, &resp.base, NULL);
          tsr_scrub_result_clear (&result);
          break;
        }
      default:
        g_assert_not_reached (); /* the reader passes only request types */
    }

  if (counted)
    g_atomic_int_add (&self->n_running, -1);
}

static gboolean
is_request_type (guint type)
{
  switch (type)
    {
      case TSR_MSG_STORE_SEGMENT_REQUEST:
      case TSR_MSG_RETRIEVE_SEGMENT_REQUEST:
      case TSR_MSG_RETRIEVE_SEGMENTS_REQUEST:
      case TSR_MSG_STORE_SEGMENTS_REQUEST:
      case TSR_MSG_DELETE_SEGMENT_REQUEST:
      case TSR_MSG_SYNC_REQUEST:
      case TSR_MSG_HEALTH_CHECK_REQUEST:
      case TSR_MSG_NETWORK_TOPOLOGY_REQUEST:
      case TSR_MSG_UPLOAD_FILE_REQUEST:
      case TSR_MSG_DOWNLOAD_FILE_REQUEST:
      case TSR_MSG_LIST_SEGMENTS_REQUEST:
      case TSR_MSG_SCRUB_REQUEST:
        return TRUE;
      default:
        return FALSE;
    }
}

static void
serve_connection (TsrNode *self, Conn *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn->base);

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      TsrFrame *frame = tsr_frame_read (g_io_stream_get_input_stream (conn->tls), NULL, &error);

      if (frame == NULL)
        {
          /* A clean close or an idle timeout ends the connection quietly; anything else was
           * the peer's mistake: say what it was, then close, since the stream cannot be
           * trusted to be in step any more. */
          if (!g_error_matches (error, TSR_ERROR, TSR_ERROR_CLOSED) &&
              !g_error_matches (error, TSR_ERROR, TSR_ERROR_TIMEOUT) &&
              !g_error_matches (error, TSR_ERROR, TSR_ERROR_IO) &&
              g_atomic_int_get (&self->serving))
            {
              STAT_ADD (errors, 1);
              g_message ("%s: dropping a client that sent a bad frame: %s", self->node_id,
                         error->message);
              send_error_frame (self, conn, error);
            }
          break;
        }
      STAT_ADD (packets_received, 1);
      STAT_ADD (bytes_received, frame_wire_size (&frame->header));

      if (!is_request_type (frame->header.type) ||
          (tsr_message_type_is_batch (frame->header.type) &&
           g_atomic_int_get (&self->refuses_batches)))
        {
          g_autoptr (GError) bad =
              g_error_new (TSR_ERROR, TSR_ERROR_PROTOCOL, "A %s frame is not a request",
                           tsr_message_type_to_string (frame->header.type));
          STAT_ADD (errors, 1);
          send_error_frame (self, conn, bad);
          tsr_frame_free (frame);
          break;
        }

      handle_request (self, conn, frame);
      tsr_frame_free (frame);
    }

  g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

/* Runs on the node's thread before the service queues the connection for a worker. The
 * queued job holds the service, not the node, so it is counted here and on_run uncounts it as
 * its very last touch of the node; stopping and disposing wait for the count to reach zero. */
static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer user_data)
{
  TsrNode *self = user_data;

  g_mutex_lock (&self->lock);
  self->pending_jobs++;
  g_mutex_unlock (&self->lock);
  return FALSE; /* let the threaded service queue it */
}

static void
job_done (TsrNode *self)
{
  g_mutex_lock (&self->lock);
  self->pending_jobs--;
  g_cond_broadcast (&self->conns_cond);
  g_mutex_unlock (&self->lock);
}

static void
wait_for_jobs (TsrNode *self)
{
  g_mutex_lock (&self->lock);
  while (self->pending_jobs > 0 || self->conns->len > 0)
    g_cond_wait (&self->conns_cond, &self->lock);
  g_mutex_unlock (&self->lock);
}

static gboolean
on_run (GThreadedSocketService *service, GSocketConnection *connection, GObject *source,
        gpointer user_data)
{
  TsrNode *self = user_data;
  g_autoptr (GError) error = NULL;
  GSocket *socket = g_socket_connection_get_socket (connection);
  Conn *conn;

  tsr_priority_enter_worker ();
  conn = g_new0 (Conn, 1);
  conn->base = g_object_ref (connection);

  g_mutex_lock (&self->lock);
  if (!g_atomic_int_get (&self->serving))
    {
      g_mutex_unlock (&self->lock);
      conn_free (conn);
      job_done (self);
      return TRUE;
    }
  g_ptr_array_add (self->conns, conn);
  g_mutex_unlock (&self->lock);

  g_socket_set_timeout (socket, HANDSHAKE_TIMEOUT_S);
  /* Requests and answers are small writes in both directions: Nagle's algorithm would hold
   * each answer back for the peer's delayed ACK. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  {
    g_autoptr (GIOStream) buffered = tsr_buffered_io_stream_new (G_IO_STREAM (connection));
    conn->tls = tsr_tls_server_new (buffered, self->identity, self->trusted, &error);
  }
  if (conn->tls == NULL || !tsr_tls_handshake (conn->tls, NULL, &error))
    {
      STAT_ADD (errors, 1);
      if (g_atomic_int_get (&self->serving))
        g_message ("%s: refused a connection: %s", self->node_id, error->message);
    }
  else
    {
      g_socket_set_timeout (socket, IDLE_TIMEOUT_S);
      serve_connection (self, conn);
    }
  g_socket_shutdown (socket, TRUE, TRUE, NULL);

  g_mutex_lock (&self->lock);
  g_ptr_array_remove_fast (self->conns, conn);
  self->pending_jobs--;
  g_cond_broadcast (&self->conns_cond);
  g_mutex_unlock (&self->lock);
  /* From here on the node may be gone: only the connection is touched. */
  conn_free (conn);
  return TRUE;
}

static gpointer
node_thread (gpointer data)
{
  TsrNode *self = data;

  g_main_context_push_thread_default (self->context);
  /* Started here, so the service accepts through this thread's context. */
  g_socket_service_start (self->service);
  g_mutex_lock (&self->lock);
  self->thread_ready = TRUE;
  g_cond_broadcast (&self->conns_cond);
  g_mutex_unlock (&self->lock);

  g_main_loop_run (self->loop);

  g_socket_service_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/**
 * tsr_node_new:
 * @node_id: the node's name, "Node_01"
 * @store: its segment store (the node does not close it)
 * @identity: its TLS identity
 * @trusted: the client identities it serves
 */
TsrNode *
tsr_node_new (const char *node_id, TsrSegmentStore *store, TsrIdentity *identity,
              TsrTrustStore *trusted)
{
  TsrNode *self;

  g_return_val_if_fail (node_id != NULL, NULL);
  g_return_val_if_fail (TSR_IS_SEGMENT_STORE (store), NULL);
  g_return_val_if_fail (TSR_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (TSR_IS_TRUST_STORE (trusted), NULL);

  self = g_object_new (TSR_TYPE_NODE, NULL);
  self->node_id = g_strdup (node_id);
  self->store = g_object_ref (store);
  self->identity = g_object_ref (identity);
  self->trusted = g_object_ref (trusted);
  self->files_dir = g_build_filename (tsr_segment_store_get_root (store), "files", NULL);
  return self;
}

/**
 * tsr_node_start:
 * @host: an IP address to listen on, such as "127.0.0.1"
 * @port: the port, or 0 for an ephemeral one (on a restart, 0 keeps the previous port)
 *
 * Starts serving on a thread of its own. Returns once the node accepts connections.
 */
gboolean
tsr_node_start (TsrNode *self, const char *host, guint16 port, GError **error)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *thread_name = NULL;

  g_return_val_if_fail (TSR_IS_NODE (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  if (g_atomic_int_get (&self->serving))
    return TRUE;

  inet = g_inet_address_new_from_string (host);
  if (inet == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "Cannot listen on “%s”: not an IP address", host);
      return FALSE;
    }
  if (port == 0 && self->port != 0)
    port = self->port;
  address = g_inet_socket_address_new (inet, port);

  self->service = g_threaded_socket_service_new (TSR_NODE_MAX_CONNECTIONS);
  /* Inactive until the node thread starts it: a service accepts through the thread-default
   * context current when it starts, and that must be the node's, not the caller's. */
  g_socket_service_stop (self->service);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &effective,
                                      &local_error))
    {
      g_clear_object (&self->service);
      g_set_error (
          error, TSR_ERROR,
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) ? TSR_ERROR_BUSY
                                                                               : TSR_ERROR_IO,
          "%s cannot listen on %s:%u: %s", self->node_id, host, port, local_error->message);
      return FALSE;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_signal_connect (self->service, "run", G_CALLBACK (on_run), self);

  g_free (self->host);
  self->host = g_strdup (host);
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->started_at = g_get_monotonic_time ();
  self->thread_ready = FALSE;
  g_atomic_int_set (&self->serving, TRUE);

  self->scrub_source = g_timeout_source_new_seconds (TSR_NODE_SCRUB_INTERVAL);
  g_source_set_callback (self->scrub_source, on_scrub_timer, self, NULL);
  g_source_attach (self->scrub_source, self->context);

  thread_name = g_strdup_printf ("tsr-%s", self->node_id);
  self->thread = g_thread_new (thread_name, node_thread, self);
  g_mutex_lock (&self->lock);
  while (!self->thread_ready)
    g_cond_wait (&self->conns_cond, &self->lock);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/**
 * tsr_node_stop:
 *
 * Stops accepting, closes every connection (requests being worked on finish first; their
 * clients get a clean connection error), and returns when the node is STOPPED.
 */
void
tsr_node_stop (TsrNode *self)
{
  g_return_if_fail (TSR_IS_NODE (self));

  g_mutex_lock (&self->lock);
  if (!g_atomic_int_get (&self->serving))
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  g_atomic_int_set (&self->serving, FALSE);
  g_mutex_unlock (&self->lock);

  g_main_loop_quit (self->loop);
  g_thread_join (g_steal_pointer (&self->thread));
  g_source_destroy (self->scrub_source);
  g_clear_pointer (&self->scrub_source, g_source_unref);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->conns->len; i++)
    {
      Conn *conn = self->conns->pdata[i];
      g_socket_shutdown (g_socket_connection_get_socket (conn->base), TRUE, TRUE, NULL);
    }
  g_mutex_unlock (&self->lock);
  wait_for_jobs (self);

  g_clear_object (&self->service);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
}

const char *
tsr_node_get_node_id (TsrNode *self)
{
  g_return_val_if_fail (TSR_IS_NODE (self), NULL);
  return self->node_id;
}

const char *
tsr_node_get_identity_id (TsrNode *self)
{
  g_return_val_if_fail (TSR_IS_NODE (self), NULL);
  return tsr_identity_get_id (self->identity);
}

/* "host:port" once started; NULL before. */
char *
tsr_node_dup_address (TsrNode *self)
{
  char *ret = NULL;

  g_return_val_if_fail (TSR_IS_NODE (self), NULL);
  g_mutex_lock (&self->lock);
  if (self->host != NULL)
    ret = g_strdup_printf ("%s:%u", self->host, self->port);
  g_mutex_unlock (&self->lock);
  return ret;
}

guint16
tsr_node_get_port (TsrNode *self)
{
  g_return_val_if_fail (TSR_IS_NODE (self), 0);
  return self->port;
}

gboolean
tsr_node_is_alive (TsrNode *self)
{
  return tsr_node_get_state (self) != TSR_NODE_STATE_STOPPED;
}

double
tsr_node_get_uptime (TsrNode *self)
{
  g_return_val_if_fail (TSR_IS_NODE (self), 0);
  if (!g_atomic_int_get (&self->serving))
    return 0;
  return (g_get_monotonic_time () - self->started_at) / 1e6;
}

TsrSegmentStore *
tsr_node_get_store (TsrNode *self)
{
  g_return_val_if_fail (TSR_IS_NODE (self), NULL);
  return self->store;
}

/* The seed's add_peer: what GetNetworkTopology reports. Adding a known node id updates it. */
void
tsr_node_add_peer (TsrNode *self, const char *node_id, const char *address, const char *identity)
{
  TsrPeerInfo *peer = NULL;

  g_return_if_fail (TSR_IS_NODE (self));
  g_return_if_fail (node_id != NULL && address != NULL);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->peers->len && peer == NULL; i++)
    if (g_strcmp0 (((TsrPeerInfo *)self->peers->pdata[i])->node_id, node_id) == 0)
      peer = self->peers->pdata[i];
  if (peer == NULL)
    {
      peer = g_new0 (TsrPeerInfo, 1);
      peer->node_id = g_strdup (node_id);
      g_ptr_array_add (self->peers, peer);
    }
  g_free (peer->address);
  g_free (peer->identity);
  peer->address = g_strdup (address);
  peer->identity = g_strdup (identity);
  g_mutex_unlock (&self->lock);
}

/* Returns: (transfer full) (element-type TsrPeerInfo): a copy of the peer list */
GPtrArray *
tsr_node_dup_peers (TsrNode *self)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_peer_info_free);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->peers->len; i++)
    {
      TsrPeerInfo *src = self->peers->pdata[i];
      TsrPeerInfo *dst = g_new0 (TsrPeerInfo, 1);
      dst->node_id = g_strdup (src->node_id);
      dst->address = g_strdup (src->address);
      dst->identity = g_strdup (src->identity);
      g_ptr_array_add (ret, dst);
    }
  g_mutex_unlock (&self->lock);
  return ret;
}

/* The seed's get_node_info. */
JsonNode *
tsr_node_get_info (TsrNode *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *address = tsr_node_dup_address (self);
  g_autoptr (GPtrArray) peers = tsr_node_dup_peers (self);
  TsrStorageInfo info;
  TsrInterfaceStats stats;

  tsr_segment_store_get_info (self->store, &info);
  tsr_node_get_stats (self, &stats);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "node_id");
  json_builder_add_string_value (b, self->node_id);
  json_builder_set_member_name (b, "address");
  json_builder_add_string_value (b, address);
  json_builder_set_member_name (b, "identity");
  json_builder_add_string_value (b, tsr_identity_get_id (self->identity));
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, tsr_node_state_to_string (tsr_node_get_state (self)));
  json_builder_set_member_name (b, "is_alive");
  json_builder_add_boolean_value (b, tsr_node_is_alive (self));
  json_builder_set_member_name (b, "uptime_seconds");
  json_builder_add_double_value (b, tsr_node_get_uptime (self));
  json_builder_set_member_name (b, "peers");
  json_builder_begin_array (b);
  for (guint i = 0; i < peers->len; i++)
    json_builder_add_string_value (b, ((TsrPeerInfo *)peers->pdata[i])->node_id);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "storage");
  json_builder_add_value (b, tsr_storage_info_to_json (&info));
  json_builder_set_member_name (b, "packets_sent");
  json_builder_add_int_value (b, stats.packets_sent);
  json_builder_set_member_name (b, "packets_received");
  json_builder_add_int_value (b, stats.packets_received);
  json_builder_set_member_name (b, "bytes_sent");
  json_builder_add_int_value (b, stats.bytes_sent);
  json_builder_set_member_name (b, "bytes_received");
  json_builder_add_int_value (b, stats.bytes_received);
  json_builder_set_member_name (b, "errors");
  json_builder_add_int_value (b, stats.errors);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
tsr_node_dispose (GObject *object)
{
  tsr_node_stop (TSR_NODE (object));
  /* Connections accepted just before a stop may still be queued for a worker. */
  wait_for_jobs (TSR_NODE (object));
  G_OBJECT_CLASS (tsr_node_parent_class)->dispose (object);
}

static void
tsr_node_finalize (GObject *object)
{
  TsrNode *self = TSR_NODE (object);

  g_clear_object (&self->store);
  g_clear_object (&self->identity);
  g_clear_object (&self->trusted);
  g_ptr_array_unref (self->conns);
  g_ptr_array_unref (self->peers);
  g_free (self->node_id);
  g_free (self->files_dir);
  g_free (self->host);
  g_free (self->scrub_cursor);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->sample_lock);
  g_cond_clear (&self->conns_cond);

  G_OBJECT_CLASS (tsr_node_parent_class)->finalize (object);
}

static void
tsr_node_class_init (TsrNodeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tsr_node_dispose;
  object_class->finalize = tsr_node_finalize;
}

static void
tsr_node_init (TsrNode *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->sample_lock);
  g_cond_init (&self->conns_cond);
  self->scrub_rate = TSR_NODE_SCRUB_DEFAULT_RATE;
  self->conns = g_ptr_array_new ();
  self->peers = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_peer_info_free);
}
