/* tsr-node-client.c
 *
 * A small pool of TLS connections to one node. Any number of threads may call at once: each
 * call writes its request under the connection's write lock and waits for the response with
 * its request id, which the connection's reader thread hands over. So many requests are in
 * flight on one connection, and the pool opens up to max-connections when calls pile up.
 * Every call has a deadline and honours its GCancellable; calls that fail at the connection
 * level (refused, closed, timed out) are retried with backoff on a fresh connection, which
 * is safe because every request of the protocol is idempotent (segments are addressed by
 * their content). Errors the node reports (NO_SPACE, CORRUPT, ...) are never retried.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-node-client.h"
#include "tsr-buffered-stream.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-netem.h"
#include "tsr-tls.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#define CONNECT_TIMEOUT_S 10
#define BACKOFF_FIRST_MS  50
#define BACKOFF_MAX_MS    1000

typedef struct _CConn CConn;

typedef struct
{
  guint32 request_id;
  TsrMessageType type;
  GCond cond;
  TsrFrame *response;
  GError *error;
  gboolean done;
} Call;

struct _CConn
{
  gint ref;
  TsrNodeClient *client;
  GSocketConnection *base;
  GIOStream *tls;
  GThread *reader;
  GMutex write_mutex;
  GHashTable *pending; /* request id -> Call*, under client->mutex */
  gboolean dead;       /* under client->mutex */
};

struct _TsrNodeClient
{
  GObject parent_instance;

  char *node_id;
  char *address;
  char *pinned_id;
  TsrIdentity *identity;
  guint timeout_ms;
  guint max_connections;
  guint retries;
  TsrNetemLink *link; /* the emulated link to the node; NULL: none (tests, tools) */

  GMutex mutex;
  GCond conn_cond;  /* a connection being opened finished, one way or the other */
  GPtrArray *conns; /* CConn*, live or dead; dead ones are reaped */
  guint connecting;
  gint next_request_id;
  gint no_retrieve_batches; /* atomic: the node refused a RetrieveSegments (an earlier version) */
  gint no_store_batches;    /* atomic: the node refused a StoreSegments (an earlier version) */
};

G_DEFINE_FINAL_TYPE (TsrNodeClient, tsr_node_client, G_TYPE_OBJECT)

void
tsr_node_health_free (TsrNodeHealth *health)
{
  if (health == NULL)
    return;
  g_free (health->node_id);
  g_free (health->identity);
  g_free (health->address);
  g_free (health);
}

static void
cconn_unref (CConn *conn)
{
  if (!g_atomic_int_dec_and_test (&conn->ref))
    return;
  g_clear_object (&conn->tls);
  g_clear_object (&conn->base);
  g_hash_table_unref (conn->pending);
  g_mutex_clear (&conn->write_mutex);
  g_free (conn);
}

/* Called with client->mutex held: fails every call waiting on @conn with @error, except
 * that where @others_error is given, calls other than batches get it instead. */
static void
fail_pending_locked (CConn *conn, const GError *error, const GError *others_error)
{
  GHashTableIter iter;
  gpointer value;

  conn->dead = TRUE;
  g_hash_table_iter_init (&iter, conn->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Call *call = value;
      call->error = g_error_copy (
          others_error != NULL && !tsr_message_type_is_batch (call->type) ? others_error : error);
      call->done = TRUE;
      g_cond_signal (&call->cond);
      g_hash_table_iter_remove (&iter);
    }
}

static gpointer
reader_thread (gpointer data)
{
  CConn *conn = data;
  TsrNodeClient *self = conn->client;
  GInputStream *in = g_io_stream_get_input_stream (conn->tls);
  g_autoptr (GError) error = NULL;

  for (;;)
    {
      TsrFrame *frame = tsr_frame_read (in, NULL, &error);
      Call *call;

      if (frame == NULL)
        break;

      g_mutex_lock (&self->mutex);
      if (frame->header.type == TSR_MSG_ERROR)
        {
          /* The node could not parse something we sent and is closing the connection. An
           * ERROR frame does not say which request it refused. A node of an earlier version
           * refuses the batches it does not know: when one is in flight, that was it, and
           * the other requests were only caught in the close, which a retry mends. */
          Tessera__ErrorResponse *resp = (Tessera__ErrorResponse *)frame->body;
          g_autoptr (GError) caught = NULL;
          GHashTableIter iter;
          gpointer value;

          if (tsr_status_to_error (resp->status, &error))
            g_set_error (&error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                         _ ("an ERROR frame that reports success"));
          g_prefix_error (&error, _ ("%s refused a request: "), self->node_id);
          g_hash_table_iter_init (&iter, conn->pending);
          while (caught == NULL && g_hash_table_iter_next (&iter, NULL, &value))
            if (tsr_message_type_is_batch (((Call *)value)->type))
              caught = g_error_new (TSR_ERROR, TSR_ERROR_CLOSED,
                                    _ ("%s closed the connection after refusing another request"),
                                    self->node_id);
          fail_pending_locked (conn, error, caught);
          g_mutex_unlock (&self->mutex);
          tsr_frame_free (frame);
          break;
        }
      call = g_hash_table_lookup (conn->pending, GUINT_TO_POINTER (frame->header.request_id));
      if (call != NULL)
        {
          g_hash_table_remove (conn->pending, GUINT_TO_POINTER (frame->header.request_id));
          call->response = frame;
          call->done = TRUE;
          g_cond_signal (&call->cond);
        }
      else
        tsr_frame_free (frame); /* its caller gave up (timeout or cancel) */
      g_mutex_unlock (&self->mutex);
    }

  g_mutex_lock (&self->mutex);
  if (error == NULL || g_error_matches (error, TSR_ERROR, TSR_ERROR_CLOSED))
    {
      g_clear_error (&error);
      g_set_error (&error, TSR_ERROR, TSR_ERROR_CLOSED, _ ("%s at %s closed the connection"),
                   self->node_id, self->address);
    }
  fail_pending_locked (conn, error, NULL);
  g_mutex_unlock (&self->mutex);
  return NULL;
}

static void
shutdown_conn (CConn *conn)
{
  g_socket_shutdown (g_socket_connection_get_socket (conn->base), TRUE, TRUE, NULL);
}

static CConn *
connect_new (TsrNodeClient *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketConnection) base = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *thread_name = NULL;
  CConn *conn;

  g_socket_client_set_timeout (sc, CONNECT_TIMEOUT_S);
  /* Nodes are reached directly. The proxy lookup would also run on GIO's shared GTask thread
   * pool, which callers of the _async API fill with blocked transfers: with eight uploads and
   * eight downloads at once, connecting deadlocked waiting for a pool thread (seen under
   * valgrind, where a stopped node made every transfer reconnect). */
  g_socket_client_set_enable_proxy (sc, FALSE);
  base = g_socket_client_connect_to_host (sc, self->address, 0, cancellable, &local_error);
  if (base == NULL)
    {
      g_set_error (
          error, TSR_ERROR,
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? TSR_ERROR_CANCELLED
                                                                          : TSR_ERROR_UNREACHABLE,
          _ ("Cannot reach %s at %s: %s"), self->node_id, self->address, local_error->message);
      return NULL;
    }
  g_socket_set_timeout (g_socket_connection_get_socket (base), CONNECT_TIMEOUT_S);
  /* Many small requests in flight: do not let Nagle hold them for delayed ACKs. */
  g_socket_set_option (g_socket_connection_get_socket (base), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  {
    g_autoptr (GIOStream) buffered = tsr_buffered_io_stream_new (G_IO_STREAM (base));
    tls = tsr_tls_client_new (buffered, self->identity, self->pinned_id, error);
  }
  if (tls == NULL || !tsr_tls_handshake (tls, cancellable, error))
    return NULL;
  /* Deadlines are per call, but a write to a peer that stopped reading would block without
   * one: the socket's timeout bounds every read and write. An idle connection that times out
   * is simply reopened by the next call. */
  g_socket_set_timeout (g_socket_connection_get_socket (base), (self->timeout_ms + 999) / 1000);

  conn = g_new0 (CConn, 1);
  conn->ref = 2; /* the pool's and the reader's */
  conn->client = self;
  conn->base = g_steal_pointer (&base);
  conn->tls = g_steal_pointer (&tls);
  conn->pending = g_hash_table_new (NULL, NULL);
  g_mutex_init (&conn->write_mutex);
  thread_name = g_strdup_printf ("tsr-client-%s", self->node_id);
  conn->reader = g_thread_new (thread_name, reader_thread, conn);
  return conn;
}

/* Drops dead connections from the pool; called with the mutex held. The reader of a dead
 * connection has finished or is finishing, so joining it does not wait for the network. */
static void
reap_dead_locked (TsrNodeClient *self, GPtrArray *to_join)
{
  for (guint i = 0; i < self->conns->len;)
    {
      CConn *conn = self->conns->pdata[i];
      if (conn->dead)
        {
          g_ptr_array_add (to_join, conn);
          g_ptr_array_remove_index_fast (self->conns, i);
        }
      else
        i++;
    }
}

static void
join_conns (GPtrArray *conns)
{
  for (guint i = 0; i < conns->len; i++)
    {
      CConn *conn = conns->pdata[i];
      shutdown_conn (conn);
      g_thread_join (conn->reader);
      cconn_unref (conn); /* the reader's */
      cconn_unref (conn); /* the pool's */
    }
}

/* Picks the least busy live connection, or opens one more while under the limit and every
 * open connection is busy; when the limit is taken up by connections still being opened,
 * waits for one of them. Returns a new reference. */
static CConn *
acquire_conn (TsrNodeClient *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) dead = g_ptr_array_new ();
  CConn *conn;

  g_mutex_lock (&self->mutex);
  for (;;)
    {
      CConn *best = NULL;
      guint open;

      reap_dead_locked (self, dead);
      for (guint i = 0; i < self->conns->len; i++)
        {
          CConn *c = self->conns->pdata[i];
          if (best == NULL || g_hash_table_size (c->pending) < g_hash_table_size (best->pending))
            best = c;
        }
      open = self->conns->len + self->connecting;
      if (best != NULL && (g_hash_table_size (best->pending) == 0 || open >= self->max_connections))
        {
          g_atomic_int_inc (&best->ref);
          g_mutex_unlock (&self->mutex);
          join_conns (dead);
          return best;
        }
      if (open < self->max_connections)
        break;
      g_cond_wait (&self->conn_cond, &self->mutex);
    }
  self->connecting++;
  g_mutex_unlock (&self->mutex);
  join_conns (dead);

  conn = connect_new (self, cancellable, error);

  g_mutex_lock (&self->mutex);
  self->connecting--;
  if (conn != NULL)
    {
      g_ptr_array_add (self->conns, conn);
      g_atomic_int_inc (&conn->ref);
    }
  g_cond_broadcast (&self->conn_cond);
  g_mutex_unlock (&self->mutex);
  return conn;
}

static void
on_cancelled (GCancellable *cancellable, gpointer data)
{
  gpointer *pair = data; /* { client, call } */
  TsrNodeClient *self = pair[0];
  Call *call = pair[1];

  g_mutex_lock (&self->mutex);
  g_cond_signal (&call->cond);
  g_mutex_unlock (&self->mutex);
}

/* Returns the status field every response message has first. */
static const Tessera__Status *
response_status (const ProtobufCMessage *msg)
{
  const ProtobufCFieldDescriptor *field =
      protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, "status");

  if (field == NULL)
    return NULL;
  return *(const Tessera__Status *const *)((const char *)msg + field->offset);
}

/* A response whose status is an error becomes that error. */
static gboolean
response_ok (TsrFrame *response, GError **error)
{
  const Tessera__Status *status = response_status (response->body);

  return status == NULL || tsr_status_to_error (status, error);
}

static TsrMessageType
response_type_for (TsrMessageType request)
{
  /* Every request type is followed by its response type (tsr-frame.h). */
  return request + 1;
}

/* Carries a frame over the emulated link: requests before they are written, responses after
 * they were read, so a call's deadline covers only the real network. With the link off, only
 * the statistics are counted. */
static gboolean
emulate (TsrNodeClient *self, TsrNetemDirection direction, TsrMessageType type, GBytes *payload,
         gsize frame_len, guint timeout_ms, GCancellable *cancellable, GError **error)
{
  gint64 deadline = 0;

  TsrNetemPacketType packet_type =
      type == TSR_MSG_HEALTH_CHECK_REQUEST || type == TSR_MSG_HEALTH_CHECK_RESPONSE
          ? TSR_NETEM_PACKET_HEALTH_CHECK
          : TSR_NETEM_PACKET_DATA;

  if (!tsr_netem_link_is_active (self->link))
    {
      tsr_netem_link_count (self->link, direction, frame_len);
      return TRUE;
    }
  /* Health checks skip the data queue and keep their short deadline over the emulated link
   * too, so a dead link does not hold the periodic check for the link's whole give-up time.
   * Data frames may queue behind each other for longer than a call's deadline. */
  if (packet_type == TSR_NETEM_PACKET_HEALTH_CHECK)
    deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  return tsr_netem_link_transmit (self->link, direction, packet_type, payload, frame_len, deadline,
                                  cancellable, error);
}

static gsize
frame_length (const ProtobufCMessage *body, GBytes *const *parts, guint n_parts)
{
  gsize len = TSR_FRAME_HEADER_SIZE + protobuf_c_message_get_packed_size (body);

  for (guint i = 0; i < n_parts; i++)
    len += g_bytes_get_size (parts[i]);
  return len;
}

/* A request written and waiting for its response: call_send(), then call_wait(). */
typedef struct
{
  CConn *conn;
  Call call;
  TsrMessageType type;
  guint timeout_ms;
  gint64 deadline;
} Sent;

/* Writes a request on the least busy connection and registers it for its response. */
static gboolean
call_send (TsrNodeClient *self, Sent *sent, TsrMessageType type, const ProtobufCMessage *body,
           GBytes *const *parts, guint n_parts, guint timeout_ms, GCancellable *cancellable,
           GError **error)
{
  CConn *conn = acquire_conn (self, cancellable, error);
  g_autoptr (GError) write_error = NULL;
  gboolean written;

  if (conn == NULL)
    return FALSE;

  memset (sent, 0, sizeof *sent);
  sent->call.type = type;
  sent->call.request_id = (guint32)g_atomic_int_add (&self->next_request_id, 1);
  if (sent->call.request_id == 0)
    sent->call.request_id = (guint32)g_atomic_int_add (&self->next_request_id, 1);
  g_cond_init (&sent->call.cond);

  g_mutex_lock (&self->mutex);
  if (conn->dead)
    {
      g_mutex_unlock (&self->mutex);
      g_set_error (error, TSR_ERROR, TSR_ERROR_CLOSED, _ ("%s at %s closed the connection"),
                   self->node_id, self->address);
      g_cond_clear (&sent->call.cond);
      cconn_unref (conn);
      return FALSE;
    }
  g_hash_table_insert (conn->pending, GUINT_TO_POINTER (sent->call.request_id), &sent->call);
  g_mutex_unlock (&self->mutex);

  g_mutex_lock (&conn->write_mutex);
  written =
      tsr_frame_write_parts (g_io_stream_get_output_stream (conn->tls), type, sent->call.request_id,
                             body, parts, n_parts, cancellable, &write_error) &&
      tsr_tls_flush (conn->tls, cancellable, &write_error);
  g_mutex_unlock (&conn->write_mutex);

  if (!written)
    {
      /* A failed write leaves the stream out of step: nobody may use it again. */
      g_mutex_lock (&self->mutex);
      g_hash_table_remove (conn->pending, GUINT_TO_POINTER (sent->call.request_id));
      conn->dead = TRUE;
      g_mutex_unlock (&self->mutex);
      g_clear_pointer (&sent->call.response, tsr_frame_free);
      g_clear_error (&sent->call.error);
      g_cond_clear (&sent->call.cond);
      cconn_unref (conn);
      g_propagate_error (error, g_steal_pointer (&write_error));
      return FALSE;
    }
  sent->conn = conn;
  sent->type = type;
  sent->timeout_ms = timeout_ms;
  sent->deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  return TRUE;
}

/* Waits for the response to what call_send() wrote, until its deadline. */
static TsrFrame *
call_wait (TsrNodeClient *self, Sent *sent, GCancellable *cancellable, GError **error)
{
  Call *call = &sent->call;
  gpointer pair[2] = { self, call };
  gulong handler = 0;
  TsrFrame *response = NULL;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), pair, NULL);

  g_mutex_lock (&self->mutex);
  while (!call->done && !g_cancellable_is_cancelled (cancellable))
    if (!g_cond_wait_until (&call->cond, &self->mutex, sent->deadline))
      break;
  if (!call->done)
    {
      g_hash_table_remove (sent->conn->pending, GUINT_TO_POINTER (call->request_id));
      if (g_cancellable_is_cancelled (cancellable))
        g_set_error (error, TSR_ERROR, TSR_ERROR_CANCELLED, _ ("Cancelled"));
      else
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_TIMEOUT,
                       _ ("%s at %s did not answer within %u ms"), self->node_id, self->address,
                       sent->timeout_ms);
          /* A silent peer may be half-open: the retry should use a fresh connection. */
          sent->conn->dead = TRUE;
          shutdown_conn (sent->conn);
        }
    }
  else if (call->error != NULL)
    g_propagate_error (error, g_steal_pointer (&call->error));
  else
    response = g_steal_pointer (&call->response);
  g_mutex_unlock (&self->mutex);

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  g_cond_clear (&call->cond);
  g_clear_pointer (&sent->conn, cconn_unref);

  if (response != NULL && response->header.type != response_type_for (sent->type))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL, _ ("%s answered %s with %s"),
                   self->node_id, tsr_message_type_to_string (sent->type),
                   tsr_message_type_to_string (response->header.type));
      g_clear_pointer (&response, tsr_frame_free);
    }
  return response;
}

/* Carries a response over the emulated link (or only counts it, with the link off). */
static gboolean
emulate_response (TsrNodeClient *self, TsrFrame *response, guint timeout_ms,
                  GCancellable *cancellable, GError **error)
{
  return self->link == NULL ||
         emulate (self, TSR_NETEM_RECEIVE, response->header.type, response->payload,
                  TSR_FRAME_HEADER_SIZE + (gsize)response->header.body_len +
                      response->header.payload_len,
                  timeout_ms, cancellable, error);
}

static TsrFrame *
call_once (TsrNodeClient *self, TsrMessageType type, const ProtobufCMessage *body, GBytes *payload,
           guint timeout_ms, GCancellable *cancellable, gboolean *emulated_failure, GError **error)
{
  Sent sent;
  TsrFrame *response;

  if (self->link != NULL &&
      !emulate (self, TSR_NETEM_SEND, type, payload, frame_length (body, &payload, payload != NULL),
                timeout_ms, cancellable, error))
    {
      *emulated_failure = TRUE;
      return NULL;
    }
  if (!call_send (self, &sent, type, body, &payload, payload != NULL, timeout_ms, cancellable,
                  error))
    return NULL;
  response = call_wait (self, &sent, cancellable, error);
  if (response != NULL && !emulate_response (self, response, timeout_ms, cancellable, error))
    {
      *emulated_failure = TRUE;
      g_clear_pointer (&response, tsr_frame_free);
    }
  return response;
}

static TsrFrame *call_full (TsrNodeClient *self, TsrMessageType type, const ProtobufCMessage *body,
                            GBytes *payload, guint timeout_ms, guint retries,
                            GCancellable *cancellable, GError **error);

static gboolean
is_retryable (const GError *error)
{
  return g_error_matches (error, TSR_ERROR, TSR_ERROR_UNREACHABLE) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_CLOSED) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_IO) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_TIMEOUT);
}

/**
 * tsr_node_client_call:
 * @type: a request type
 * @body: its body message
 * @payload: (nullable): raw bytes after the body
 *
 * Sends one request and waits for its response, retrying connection failures with backoff.
 * A response whose status is an error becomes that error.
 *
 * Returns: (transfer full): the response frame, or %NULL with an error
 */
TsrFrame *
tsr_node_client_call (TsrNodeClient *self, TsrMessageType type, const ProtobufCMessage *body,
                      GBytes *payload, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);
  return call_full (self, type, body, payload, self->timeout_ms, self->retries, cancellable, error);
}

/* One call with its own deadline and retry count, leaving the client's defaults alone. */
static TsrFrame *
call_full (TsrNodeClient *self, TsrMessageType type, const ProtobufCMessage *body, GBytes *payload,
           guint timeout_ms, guint retries, GCancellable *cancellable, GError **error)
{
  guint backoff = BACKOFF_FIRST_MS;

  g_return_val_if_fail (body != NULL, NULL);

  for (guint attempt = 0;; attempt++)
    {
      g_autoptr (GError) local_error = NULL;
      gboolean emulated_failure = FALSE;
      TsrFrame *response = call_once (self, type, body, payload, timeout_ms, cancellable,
                                      &emulated_failure, &local_error);

      if (response != NULL)
        {
          if (!response_ok (response, error))
            {
              tsr_frame_free (response);
              return NULL;
            }
          return response;
        }
      /* The emulated link has retransmitted already, up to its own limit. */
      if (attempt >= retries || emulated_failure || !is_retryable (local_error) ||
          g_cancellable_is_cancelled (cancellable))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      g_debug ("%s: retrying after: %s", self->node_id, local_error->message);
      /* Sleep in small steps so a cancel is honoured promptly. */
      for (guint slept = 0; slept < backoff && !g_cancellable_is_cancelled (cancellable);
           slept += 10)
        g_usleep (10 * 1000);
      backoff = MIN (backoff * 2, BACKOFF_MAX_MS);
    }
}

gboolean
tsr_node_client_store_segment (TsrNodeClient *self, const char *segment_id, GBytes *data,
                               gboolean cold, GCancellable *cancellable, GError **error)
{
  Tessera__StoreSegmentRequest req = TESSERA__STORE_SEGMENT_REQUEST__INIT;
  g_autoptr (TsrFrame) resp = NULL;

  req.segment_id = (char *)segment_id;
  req.has_cold = req.cold = cold;
  resp = tsr_node_client_call (self, TSR_MSG_STORE_SEGMENT_REQUEST, &req.base, data, cancellable,
                               error);
  return resp != NULL;
}

static TsrFrame *
retrieve (TsrNodeClient *self, const char *segment_id, gboolean reader_authenticates,
          GCancellable *cancellable, GError **error)
{
  Tessera__RetrieveSegmentRequest req = TESSERA__RETRIEVE_SEGMENT_REQUEST__INIT;

  req.segment_id = (char *)segment_id;
  req.has_reader_authenticates = reader_authenticates;
  req.reader_authenticates = reader_authenticates;
  return tsr_node_client_call (self, TSR_MSG_RETRIEVE_SEGMENT_REQUEST, &req.base, NULL, cancellable,
                               error);
}

/* The node verified the bytes before sending; they are verified again here, since the
 * client trusts no node with the integrity of its data. */
GBytes *
tsr_node_client_retrieve_segment (TsrNodeClient *self, const char *segment_id,
                                  GCancellable *cancellable, GError **error)
{
  g_autoptr (TsrFrame) resp = retrieve (self, segment_id, FALSE, cancellable, error);
  char actual[TSR_SHA256_HEX_LEN + 1];
  gsize len;
  const guint8 *data;

  if (resp == NULL)
    return NULL;
  data = g_bytes_get_data (resp->payload, &len);
  tsr_sha256_hex (data, len, actual);
  if (g_strcmp0 (actual, segment_id) != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                   _ ("%s sent bytes for segment %s that do not match its id"), self->node_id,
                   segment_id);
      return NULL;
    }
  return g_bytes_ref (resp->payload);
}

/**
 * tsr_node_client_retrieve_segment_unverified:
 *
 * Like tsr_node_client_retrieve_segment() without hashing the bytes, here or on the node (the
 * request says reader_authenticates), for a caller that authenticates them itself: a download
 * decrypts every chunk with an AEAD whose tag no altered or misplaced segment passes, so either
 * SHA-256 would only repeat that check. A copy that rotted on the node fails the tag; the
 * caller then tries another copy, as it would after a CORRUPT answer.
 */
GBytes *
tsr_node_client_retrieve_segment_unverified (TsrNodeClient *self, const char *segment_id,
                                             GCancellable *cancellable, GError **error)
{
  g_autoptr (TsrFrame) resp = retrieve (self, segment_id, TRUE, cancellable, error);

  return resp != NULL ? g_bytes_ref (resp->payload) : NULL;
}

struct _TsrNodeCall
{
  TsrNodeClient *client;
  GStrv segment_ids; /* the segments asked for or stored */
  GBytes **parts;    /* a StoreSegments': each segment's bytes; NULL otherwise */
  gboolean *cold;    /* a StoreSegments': each segment's cold flag; NULL otherwise */
  GCancellable *cancellable;
  gboolean sent_ok;
  Sent sent;
};

/* Sends a request for @segment_ids (with their bytes in @parts for a store) without waiting
 * for its answer. Never fails: node_call_end() reports. */
static TsrNodeCall *
node_call_begin (TsrNodeClient *self, TsrMessageType type, const ProtobufCMessage *body,
                 const char *const *segment_ids, GBytes *const *parts, guint n,
                 GCancellable *cancellable)
{
  TsrNodeCall *call = g_new0 (TsrNodeCall, 1);
  gint *refused =
      type == TSR_MSG_STORE_SEGMENTS_REQUEST ? &self->no_store_batches : &self->no_retrieve_batches;

  call->client = g_object_ref (self);
  call->segment_ids = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    call->segment_ids[i] = g_strdup (segment_ids[i]);
  if (parts != NULL)
    {
      call->parts = g_new0 (GBytes *, n);
      for (guint i = 0; i < n; i++)
        call->parts[i] = g_bytes_ref (parts[i]);
    }
  call->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  /* An active emulated link queues and delays every frame: _end() makes the whole call, one
   * segment at a time. So it does for a node that refused a batch of this kind before. */
  if ((self->link != NULL && tsr_netem_link_is_active (self->link)) || g_atomic_int_get (refused))
    return call;
  /* With the link off, emulate() only counts the frame. */
  call->sent_ok = (self->link == NULL || emulate (self, TSR_NETEM_SEND, type, NULL,
                                                  frame_length (body, parts, parts != NULL ? n : 0),
                                                  self->timeout_ms, cancellable, NULL)) &&
                  call_send (self, &call->sent, type, body, parts, parts != NULL ? n : 0,
                             self->timeout_ms, cancellable, NULL);
  return call;
}

/* Waits for the answer. Returns it, or NULL with an error, or NULL with *again set where
 * sending or the answer failed in a way a retry may mend (a closed connection, a timeout):
 * the caller then makes the request again the ordinary way, with retries and backoff. */
static TsrFrame *
node_call_end (TsrNodeCall *call, gboolean *again, GError **error)
{
  TsrNodeClient *self = call->client;
  g_autoptr (TsrFrame) resp = NULL;
  g_autoptr (GError) local_error = NULL;

  *again = FALSE;
  if (!call->sent_ok)
    {
      *again = TRUE;
      return NULL;
    }
  resp = call_wait (self, &call->sent, call->cancellable, &local_error);
  if (resp == NULL)
    {
      if (is_retryable (local_error) && self->retries > 0 &&
          !g_cancellable_is_cancelled (call->cancellable))
        *again = TRUE;
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (!emulate_response (self, resp, self->timeout_ms, call->cancellable, error) ||
      !response_ok (resp, error))
    return NULL;
  return g_steal_pointer (&resp);
}

static void
node_call_free (TsrNodeCall *call)
{
  if (call->parts != NULL)
    for (guint i = 0; call->segment_ids[i] != NULL; i++)
      g_bytes_unref (call->parts[i]);
  g_free (call->parts);
  g_free (call->cold);
  g_object_unref (call->client);
  g_strfreev (call->segment_ids);
  g_clear_object (&call->cancellable);
  g_free (call);
}

/**
 * tsr_node_client_retrieve_many_begin:
 * @segment_ids: (array length=n): at most %TSR_NODE_RETRIEVE_BATCH_MAX ids
 *
 * Sends one RetrieveSegments for @n segments (with reader_authenticates, as
 * tsr_node_client_retrieve_segment_unverified()) without waiting for the answer: one request
 * and one answer for all of them instead of one each, and one thread can have several such
 * calls in flight, to one node or to several. Never fails here: what goes wrong is reported
 * by tsr_node_client_retrieve_many_end(), which must be called once for every call begun.
 */
TsrNodeCall *
tsr_node_client_retrieve_many_begin (TsrNodeClient *self, const char *const *segment_ids, guint n,
                                     GCancellable *cancellable)
{
  Tessera__RetrieveSegmentsRequest req = TESSERA__RETRIEVE_SEGMENTS_REQUEST__INIT;

  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);
  g_return_val_if_fail (n > 0 && n <= TSR_NODE_RETRIEVE_BATCH_MAX, NULL);
  req.n_segment_ids = n;
  req.segment_ids = (char **)segment_ids;
  req.has_reader_authenticates = req.reader_authenticates = TRUE;
  return node_call_begin (self, TSR_MSG_RETRIEVE_SEGMENTS_REQUEST, &req.base, segment_ids, NULL, n,
                          cancellable);
}

/* Takes the answer apart: each OK result's bytes are a slice of the payload (the frame
 * checks made sure the lengths add up to it). FALSE when the answer is not for @n ids. */
static gboolean
split_segments (TsrFrame *resp, guint n, GBytes **segments, GError **errors, GError **error)
{
  const Tessera__RetrieveSegmentsResponse *m =
      (const Tessera__RetrieveSegmentsResponse *)resp->body;
  gsize offset = 0;

  if (m->n_results != n)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                   _ ("Asked for %u segments, the answer has %zu results"), n, m->n_results);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      if (tsr_status_to_error (m->results[i]->status, &errors[i]))
        {
          segments[i] = g_bytes_new_from_bytes (resp->payload, offset, m->results[i]->length);
          offset += m->results[i]->length;
        }
    }
  return TRUE;
}

/* Waits for a batch's answer. A node of an earlier version answers the unknown request with
 * ERROR and closes the connection: that refusal (PROTOCOL, no answer) is remembered in
 * @refused, so the node is sent no more batches of that kind. */
static TsrFrame *
batch_call_end (TsrNodeCall *call, gint *refused, const char *what, GError **whole)
{
  gboolean again;
  TsrFrame *resp = node_call_end (call, &again, whole);

  if (resp == NULL && !again && !g_error_matches (*whole, TSR_ERROR, TSR_ERROR_CANCELLED))
    g_debug ("%s: %s failed (%s); one segment at a time instead", call->client->node_id, what,
             (*whole)->message);
  if (resp == NULL && g_error_matches (*whole, TSR_ERROR, TSR_ERROR_PROTOCOL))
    g_atomic_int_set (refused, 1);
  return resp;
}

/* Makes the request for segment @i of @call on its own; sets @errors[i] when it fails. */
typedef gboolean (*SegmentFunc) (TsrNodeCall *call, guint i, gpointer user_data, GError **error);

/* After a batch failed as a whole (@whole, or NULL where it was not sent or a retry may mend
 * it), asks for each segment on its own, the ordinary way with retries, until one fails in a
 * way that says the node is gone or the caller cancels: the rest then get that error. */
static void
one_by_one (TsrNodeCall *call, const GError *whole, SegmentFunc func, gpointer user_data,
            GError **errors)
{
  gboolean cancelled = g_cancellable_is_cancelled (call->cancellable);
  g_autoptr (GError) gone = NULL;

  /* node_call_end() leaves a retryable failure to the retries here where the client has
   * any; one it reports has had them. */
  if (whole != NULL && (is_retryable (whole) || cancelled))
    gone = g_error_copy (whole);
  else if (cancelled)
    gone = g_error_new (TSR_ERROR, TSR_ERROR_CANCELLED, _ ("Transfer with %s was cancelled"),
                        call->client->node_id);
  for (guint i = 0; call->segment_ids[i] != NULL; i++)
    {
      g_clear_error (&errors[i]);
      if (gone != NULL)
        errors[i] = g_error_copy (gone);
      else if (!func (call, i, user_data, &errors[i]) &&
               (is_retryable (errors[i]) || g_cancellable_is_cancelled (call->cancellable)))
        gone = g_error_copy (errors[i]);
    }
}

static gboolean
retrieve_one (TsrNodeCall *call, guint i, gpointer user_data, GError **error)
{
  GBytes **segments = user_data;

  g_clear_pointer (&segments[i], g_bytes_unref);
  segments[i] = tsr_node_client_retrieve_segment_unverified (call->client, call->segment_ids[i],
                                                             call->cancellable, error);
  return segments[i] != NULL;
}

/**
 * tsr_node_client_retrieve_many_end:
 * @segments: (out caller-allocates) (array): receives each segment's bytes, unverified, or %NULL
 * @errors: (out caller-allocates) (array): receives why each %NULL segment is missing
 *
 * Waits for what tsr_node_client_retrieve_many_begin() asked and frees @call. Each of the
 * @n ids gets its bytes or an error. Where the request as a whole failed (a closed
 * connection, a timeout, a node that does not know RetrieveSegments), the segments are asked
 * for one by one the ordinary way, with retries, until one fails in a way a retry may mend:
 * the node is then taken for gone and the rest get that error.
 */
void
tsr_node_client_retrieve_many_end (TsrNodeCall *call, GBytes **segments, GError **errors)
{
  guint n = g_strv_length (call->segment_ids);
  g_autoptr (GError) whole = NULL;
  g_autoptr (TsrFrame) resp = NULL;

  memset (segments, 0, n * sizeof *segments);
  memset (errors, 0, n * sizeof *errors);
  resp = batch_call_end (call, &call->client->no_retrieve_batches, "RetrieveSegments", &whole);
  if (resp != NULL && split_segments (resp, n, segments, errors, &whole))
    {
      /* Those that did not fit in the answer's payload, on their own. */
      for (guint i = 0; i < n; i++)
        if (g_error_matches (errors[i], TSR_ERROR, TSR_ERROR_TOO_LARGE))
          {
            g_clear_error (&errors[i]);
            retrieve_one (call, i, segments, &errors[i]);
          }
    }
  else
    one_by_one (call, whole, retrieve_one, segments, errors);
  node_call_free (call);
}

/**
 * tsr_node_client_store_many_begin:
 * @segment_ids: (array length=n): at most %TSR_NODE_STORE_BATCH_MAX ids
 * @data: (array length=n): each segment's bytes
 * @cold: (array length=n) (nullable): for each segment, whether it is a copy that is read only
 *   when another is missing (the node then keeps it out of its page cache)
 *
 * Sends one StoreSegments for @n segments without waiting for the answer (see
 * tsr_node_client_retrieve_many_begin()): an upload sends each node the copies of a group of
 * chunks that go to it at once. tsr_node_client_store_many_end() must be called once for
 * every call begun.
 */
TsrNodeCall *
tsr_node_client_store_many_begin (TsrNodeClient *self, const char *const *segment_ids,
                                  GBytes *const *data, const gboolean *cold, guint n,
                                  GCancellable *cancellable)
{
  Tessera__StoreSegmentsRequest req = TESSERA__STORE_SEGMENTS_REQUEST__INIT;
  g_autofree Tessera__SegmentRef *refs = NULL;
  g_autofree Tessera__SegmentRef **ptrs = NULL;
  TsrNodeCall *call;

  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);
  g_return_val_if_fail (n > 0 && n <= TSR_NODE_STORE_BATCH_MAX, NULL);
  refs = g_new0 (Tessera__SegmentRef, n);
  ptrs = g_new0 (Tessera__SegmentRef *, n);
  for (guint i = 0; i < n; i++)
    {
      tessera__segment_ref__init (&refs[i]);
      refs[i].segment_id = (char *)segment_ids[i];
      /* A segment's size is bounded by the frame's payload limit, checked when writing. */
      refs[i].length = (guint32)MIN (g_bytes_get_size (data[i]), G_MAXUINT32);
      refs[i].has_cold = refs[i].cold = cold != NULL && cold[i];
      ptrs[i] = &refs[i];
    }
  req.n_segments = n;
  req.segments = ptrs;
  call = node_call_begin (self, TSR_MSG_STORE_SEGMENTS_REQUEST, &req.base, segment_ids, data, n,
                          cancellable);
  /* For the one-by-one way, should the batch as a whole fail. */
  if (cold != NULL)
    call->cold = g_memdup2 (cold, sizeof *cold * n);
  return call;
}

static gboolean
store_one (TsrNodeCall *call, guint i, gpointer user_data, GError **error)
{
  return tsr_node_client_store_segment (call->client, call->segment_ids[i], call->parts[i],
                                        call->cold != NULL && call->cold[i], call->cancellable,
                                        error);
}

/**
 * tsr_node_client_store_many_end:
 * @errors: (out caller-allocates) (array): receives, for each segment, %NULL once it is
 *   stored, or why it is not
 *
 * Waits for what tsr_node_client_store_many_begin() sent and frees @call. Where the request
 * as a whole failed (a closed connection, a timeout, a node that does not know StoreSegments),
 * the segments are stored one by one the ordinary way, with retries, until one fails in a way
 * a retry may mend: the node is then taken for gone and the rest get that error.
 */
void
tsr_node_client_store_many_end (TsrNodeCall *call, GError **errors)
{
  guint n = g_strv_length (call->segment_ids);
  g_autoptr (GError) whole = NULL;
  g_autoptr (TsrFrame) resp = NULL;

  memset (errors, 0, n * sizeof *errors);
  resp = batch_call_end (call, &call->client->no_store_batches, "StoreSegments", &whole);
  if (resp != NULL)
    {
      const Tessera__StoreSegmentsResponse *m = (const Tessera__StoreSegmentsResponse *)resp->body;

      if (m->n_results == n)
        {
          for (guint i = 0; i < n; i++)
            tsr_status_to_error (m->results[i]->status, &errors[i]);
          node_call_free (call);
          return;
        }
      /* A fault of this one answer: batches stay on. */
      whole = g_error_new (TSR_ERROR, TSR_ERROR_PROTOCOL,
                           _ ("%s answered %u segments to store with %zu results"),
                           call->client->node_id, n, m->n_results);
    }
  one_by_one (call, whole, store_one, NULL, errors);
  node_call_free (call);
}

gboolean
tsr_node_client_delete_segment (TsrNodeClient *self, const char *segment_id,
                                GCancellable *cancellable, GError **error)
{
  Tessera__DeleteSegmentRequest req = TESSERA__DELETE_SEGMENT_REQUEST__INIT;
  g_autoptr (TsrFrame) resp = NULL;

  req.segment_id = (char *)segment_id;
  resp = tsr_node_client_call (self, TSR_MSG_DELETE_SEGMENT_REQUEST, &req.base, NULL, cancellable,
                               error);
  return resp != NULL;
}

gboolean
tsr_node_client_sync (TsrNodeClient *self, GCancellable *cancellable, GError **error)
{
  Tessera__SyncRequest req = TESSERA__SYNC_REQUEST__INIT;
  g_autoptr (TsrFrame) resp = NULL;

  resp = tsr_node_client_call (self, TSR_MSG_SYNC_REQUEST, &req.base, NULL, cancellable, error);
  return resp != NULL;
}

/**
 * tsr_node_client_list_segments:
 *
 * Every segment the node holds, in id order, fetched a page at a time.
 *
 * Returns: (transfer full) (element-type TsrSegmentInfo):
 */
GPtrArray *
tsr_node_client_list_segments (TsrNodeClient *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) all =
      g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_segment_info_free);
  g_autofree char *after = NULL;

  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);

  for (;;)
    {
      Tessera__ListSegmentsRequest req = TESSERA__LIST_SEGMENTS_REQUEST__INIT;
      g_autoptr (TsrFrame) resp = NULL;
      Tessera__ListSegmentsResponse *r;

      req.after = after;
      resp = tsr_node_client_call (self, TSR_MSG_LIST_SEGMENTS_REQUEST, &req.base, NULL,
                                   cancellable, error);
      if (resp == NULL)
        return NULL;
      r = (Tessera__ListSegmentsResponse *)resp->body;
      for (gsize i = 0; i < r->n_segments; i++)
        {
          TsrSegmentInfo *info = g_new0 (TsrSegmentInfo, 1);
          info->id = g_strdup (r->segments[i]->segment_id);
          info->size = r->segments[i]->size;
          info->age_seconds = r->segments[i]->age_seconds;
          /* Pages must move forward, or a confused node could keep us here forever. */
          if (after != NULL && strcmp (info->id, after) <= 0)
            {
              tsr_segment_info_free (info);
              g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                           _ ("%s listed its segments out of order"), self->node_id);
              return NULL;
            }
          g_free (after);
          after = g_strdup (info->id);
          g_ptr_array_add (all, info);
        }
      if (!r->has_more || !r->more || r->n_segments == 0)
        break;
    }
  return g_steal_pointer (&all);
}

/**
 * tsr_node_client_scrub:
 * @after: (nullable): continue after this id
 * @max_bytes: how much to re-hash in this call (the node caps it)
 * @result: (out caller-allocates): checked, bytes, the quarantined ids and where to go on
 *
 * One page of an on-demand scrub of the node's store.
 */
gboolean
tsr_node_client_scrub (TsrNodeClient *self, const char *after, guint64 max_bytes,
                       TsrScrubResult *result, GCancellable *cancellable, GError **error)
{
  Tessera__ScrubRequest req = TESSERA__SCRUB_REQUEST__INIT;
  g_autoptr (TsrFrame) resp = NULL;
  Tessera__ScrubResponse *r;

  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), FALSE);

  memset (result, 0, sizeof *result);
  req.after = (char *)after;
  req.has_max_bytes = max_bytes > 0;
  req.max_bytes = max_bytes;
  resp = tsr_node_client_call (self, TSR_MSG_SCRUB_REQUEST, &req.base, NULL, cancellable, error);
  if (resp == NULL)
    return FALSE;
  r = (Tessera__ScrubResponse *)resp->body;
  if (r->next != NULL && after != NULL && strcmp (r->next, after) <= 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL, _ ("%s scrubbed out of order"),
                   self->node_id);
      return FALSE;
    }
  result->checked = r->checked;
  result->bytes = r->bytes;
  result->corrupt = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < r->n_corrupt; i++)
    g_ptr_array_add (result->corrupt, g_strdup (r->corrupt[i]));
  result->next = g_strdup (r->next);
  return TRUE;
}

TsrNodeHealth *
tsr_node_client_health_check (TsrNodeClient *self, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);
  return tsr_node_client_health_check_full (self, self->timeout_ms, self->retries, cancellable,
                                            error);
}

/**
 * tsr_node_client_health_check_full:
 * @timeout_ms: the deadline for this check
 * @retries: how many times a connection failure is retried
 *
 * A health check with its own deadline, for periodic checks that must neither wait long for a
 * dead node nor change the settings transfers use.
 */
TsrNodeHealth *
tsr_node_client_health_check_full (TsrNodeClient *self, guint timeout_ms, guint retries,
                                   GCancellable *cancellable, GError **error)
{
  Tessera__HealthCheckRequest req = TESSERA__HEALTH_CHECK_REQUEST__INIT;
  g_autoptr (TsrFrame) resp = NULL;
  Tessera__HealthCheckResponse *h;
  TsrNodeHealth *health;
  gint64 t0 = g_get_monotonic_time ();

  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);

  resp = call_full (self, TSR_MSG_HEALTH_CHECK_REQUEST, &req.base, NULL, MAX (timeout_ms, 1),
                    retries, cancellable, error);
  if (resp == NULL)
    return NULL;
  h = (Tessera__HealthCheckResponse *)resp->body;

  health = g_new0 (TsrNodeHealth, 1);
  health->latency_ms = (g_get_monotonic_time () - t0) / 1000.0;
  health->node_id = g_strdup (h->node_id);
  health->identity = g_strdup (h->identity);
  health->address = g_strdup (h->address);
  if (!tsr_node_state_from_string (h->state, &health->state))
    health->state = TSR_NODE_STATE_STOPPED;
  health->is_alive = h->is_alive;
  health->uptime_seconds = h->uptime_seconds;
  health->used_bytes = h->used_bytes;
  health->capacity_bytes = h->capacity_bytes;
  health->segment_count = h->segment_count;
  /* Nodes before it did not say. */
  health->disk_free_bytes = h->has_disk_free_bytes ? h->disk_free_bytes : G_MAXUINT64;
  health->stats.packets_sent = h->stats->packets_sent;
  health->stats.packets_received = h->stats->packets_received;
  health->stats.bytes_sent = h->stats->bytes_sent;
  health->stats.bytes_received = h->stats->bytes_received;
  health->stats.errors = h->stats->errors;
  health->stats.send_throughput_bps = h->stats->send_throughput_bps;
  health->stats.receive_throughput_bps = h->stats->receive_throughput_bps;
  return health;
}

/* Returns: (transfer full) (element-type TsrPeerInfo): the node's view of its peers */
GPtrArray *
tsr_node_client_get_topology (TsrNodeClient *self, GCancellable *cancellable, GError **error)
{
  Tessera__NetworkTopologyRequest req = TESSERA__NETWORK_TOPOLOGY_REQUEST__INIT;
  g_autoptr (TsrFrame) resp = NULL;
  Tessera__NetworkTopologyResponse *t;
  GPtrArray *peers;

  resp = tsr_node_client_call (self, TSR_MSG_NETWORK_TOPOLOGY_REQUEST, &req.base, NULL, cancellable,
                               error);
  if (resp == NULL)
    return NULL;
  t = (Tessera__NetworkTopologyResponse *)resp->body;
  peers = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_peer_info_free);
  for (gsize i = 0; i < t->n_peers; i++)
    {
      TsrPeerInfo *p = g_new0 (TsrPeerInfo, 1);
      p->node_id = g_strdup (t->peers[i]->node_id);
      p->address = g_strdup (t->peers[i]->address);
      p->identity = g_strdup (t->peers[i]->identity);
      g_ptr_array_add (peers, p);
    }
  return peers;
}

static void
health_check_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  TsrNodeHealth *health = tsr_node_client_health_check (source, cancellable, &error);

  if (health == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, health, (GDestroyNotify)tsr_node_health_free);
}

/* Runs the health check on a worker thread; the callback comes on the caller's context. */
void
tsr_node_client_health_check_async (TsrNodeClient *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tsr_node_client_health_check_async);
  /* Our own TSR_ERROR_CANCELLED, not GTask's G_IO_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, health_check_thread);
}

TsrNodeHealth *
tsr_node_client_health_check_finish (TsrNodeClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tsr_node_client_new:
 * @node_id: the node's name, for messages
 * @address: "host:port"
 * @pinned_id: the node's identity (64 hex); any other certificate is refused
 * @identity: this client's identity, which the node must trust
 */
TsrNodeClient *
tsr_node_client_new (const char *node_id, const char *address, const char *pinned_id,
                     TsrIdentity *identity)
{
  TsrNodeClient *self;

  g_return_val_if_fail (node_id != NULL && address != NULL && pinned_id != NULL, NULL);
  g_return_val_if_fail (TSR_IS_IDENTITY (identity), NULL);

  self = g_object_new (TSR_TYPE_NODE_CLIENT, NULL);
  self->node_id = g_strdup (node_id);
  self->address = g_strdup (address);
  self->pinned_id = g_strdup (pinned_id);
  self->identity = g_object_ref (identity);
  return self;
}

const char *
tsr_node_client_get_node_id (TsrNodeClient *self)
{
  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);
  return self->node_id;
}

const char *
tsr_node_client_get_address (TsrNodeClient *self)
{
  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), NULL);
  return self->address;
}

void
tsr_node_client_set_timeout (TsrNodeClient *self, guint timeout_ms)
{
  g_return_if_fail (TSR_IS_NODE_CLIENT (self));
  self->timeout_ms = MAX (timeout_ms, 1);
}

void
tsr_node_client_set_max_connections (TsrNodeClient *self, guint max_connections)
{
  g_return_if_fail (TSR_IS_NODE_CLIENT (self));
  self->max_connections = MAX (max_connections, 1);
}

/**
 * tsr_node_client_set_netem_link:
 * @link: (nullable): the emulated link frames to this node travel over
 *
 * Set before the first call.
 */
void
tsr_node_client_set_netem_link (TsrNodeClient *self, TsrNetemLink *link)
{
  g_return_if_fail (TSR_IS_NODE_CLIENT (self));
  g_clear_pointer (&self->link, tsr_netem_link_unref);
  if (link != NULL)
    self->link = tsr_netem_link_ref (link);
}

void
tsr_node_client_set_retries (TsrNodeClient *self, guint retries)
{
  g_return_if_fail (TSR_IS_NODE_CLIENT (self));
  self->retries = retries;
}

/* Live connections in the pool. */
guint
tsr_node_client_get_n_connections (TsrNodeClient *self)
{
  guint n = 0;

  g_return_val_if_fail (TSR_IS_NODE_CLIENT (self), 0);
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->conns->len; i++)
    n += !((CConn *)self->conns->pdata[i])->dead;
  g_mutex_unlock (&self->mutex);
  return n;
}

/* Closes every connection; calls waiting on them fail with TSR_ERROR_CLOSED. The client can
 * be used again afterwards: it reconnects. */
void
tsr_node_client_close (TsrNodeClient *self)
{
  g_autoptr (GPtrArray) conns = NULL;

  g_return_if_fail (TSR_IS_NODE_CLIENT (self));
  g_mutex_lock (&self->mutex);
  conns = g_steal_pointer (&self->conns);
  self->conns = g_ptr_array_new ();
  g_mutex_unlock (&self->mutex);
  join_conns (conns);
}

static void
tsr_node_client_finalize (GObject *object)
{
  TsrNodeClient *self = TSR_NODE_CLIENT (object);

  tsr_node_client_close (self);
  g_ptr_array_unref (self->conns);
  g_clear_object (&self->identity);
  g_clear_pointer (&self->link, tsr_netem_link_unref);
  g_free (self->node_id);
  g_free (self->address);
  g_free (self->pinned_id);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->conn_cond);
  G_OBJECT_CLASS (tsr_node_client_parent_class)->finalize (object);
}

static void
tsr_node_client_class_init (TsrNodeClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_node_client_finalize;
}

static void
tsr_node_client_init (TsrNodeClient *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->conn_cond);
  self->conns = g_ptr_array_new ();
  self->timeout_ms = TSR_NODE_CLIENT_DEFAULT_TIMEOUT_MS;
  self->max_connections = TSR_NODE_CLIENT_DEFAULT_MAX_CONNECTIONS;
  self->retries = TSR_NODE_CLIENT_DEFAULT_RETRIES;
  self->next_request_id = 1;
}
