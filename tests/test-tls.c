/* test-tls.c: mutual TLS with pinned identities over real loopback sockets
 *
 * The server side runs on its own thread (with its own main context) and accepts on
 * 127.0.0.1 with an ephemeral port; each connection it accepts is served on a thread of its
 * own, so handshakes overlap as they do in a node. A watchdog cancels everything a test does
 * after WATCHDOG_SECONDS, so a broken handshake fails the test instead of hanging it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <string.h>

#define WATCHDOG_SECONDS 30
#define SOCKET_TIMEOUT   20
#define N_CONCURRENT     8

typedef enum
{
  SERVE_TLS,    /* handshake, then echo one byte, inverted */
  SERVE_CLOSE,  /* close the TCP connection at once */
  SERVE_SILENT, /* never answer; wait for the client to hang up */
} ServeMode;

typedef struct
{
  GError *error;
  char *peer_id;
  GTlsProtocolVersion version;
  gboolean echoed;
} ServerResult;

static void
server_result_free (ServerResult *result)
{
  g_clear_error (&result->error);
  g_free (result->peer_id);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ServerResult, server_result_free)

typedef struct
{
  TsrIdentity *identity;
  TsrTrustStore *trusted;
  ServeMode mode;
  guint n_connections;
  GCancellable *cancellable;
  GSocketListener *listener;
  guint16 port;
  GAsyncQueue *results; /* ServerResult, one per connection */
  GThread *thread;
} Server;

typedef struct
{
  Server *server;
  GSocketConnection *connection;
} ServerJob;

typedef struct
{
  GMutex mutex;
  GCond cond;
  gboolean done;
  GCancellable *cancellable;
  GThread *thread;
} Watchdog;

typedef struct
{
  char *dir;
  TsrIdentity *node;
  TsrIdentity *client;
  TsrIdentity *stranger;
  TsrTrustStore *trusted; /* the node's: trusts the client, not the stranger */
  Watchdog watchdog;
} Fixture;

static gpointer
watchdog_thread (gpointer data)
{
  Watchdog *w = data;
  gint64 deadline = g_get_monotonic_time () + WATCHDOG_SECONDS * G_TIME_SPAN_SECOND;

  g_mutex_lock (&w->mutex);
  while (!w->done)
    if (!g_cond_wait_until (&w->cond, &w->mutex, deadline))
      {
        g_cancellable_cancel (w->cancellable);
        break;
      }
  g_mutex_unlock (&w->mutex);
  return NULL;
}

static TsrIdentity *
make_identity (const char *base, const char *name)
{
  g_autofree char *dir = g_build_filename (base, name, NULL);
  g_autoptr (GError) error = NULL;
  TsrIdentity *identity = tsr_identity_load_or_create (dir, name, &error);

  g_assert_no_error (error);
  return identity;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = tsr_test_make_tmpdir ();
  f->node = make_identity (f->dir, "node");
  f->client = make_identity (f->dir, "client");
  f->stranger = make_identity (f->dir, "stranger");
  f->trusted = tsr_trust_store_new ();
  g_assert_true (
      tsr_trust_store_add (f->trusted, tsr_identity_get_id (f->client), "client", &error));
  g_assert_no_error (error);

  g_mutex_init (&f->watchdog.mutex);
  g_cond_init (&f->watchdog.cond);
  f->watchdog.cancellable = g_cancellable_new ();
  f->watchdog.thread = g_thread_new ("watchdog", watchdog_thread, &f->watchdog);
}

/* Like g_assert_finalize_object(), but glib-networking drops its last reference to a finished
 * connection (and so to the trust store its policy holds) on a GTask worker thread, just
 * after the handshake returns. */
static void
assert_finalized_soon (gpointer object)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  GWeakRef ref;
  GObject *alive;

  g_weak_ref_init (&ref, object);
  g_object_unref (object);
  while ((alive = g_weak_ref_get (&ref)) != NULL)
    {
      g_object_unref (alive);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (G_TIME_SPAN_MILLISECOND);
    }
  g_weak_ref_clear (&ref);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_mutex_lock (&f->watchdog.mutex);
  f->watchdog.done = TRUE;
  g_cond_signal (&f->watchdog.cond);
  g_mutex_unlock (&f->watchdog.mutex);
  g_thread_join (f->watchdog.thread);
  g_assert_false (g_cancellable_is_cancelled (f->watchdog.cancellable));
  g_object_unref (f->watchdog.cancellable);
  g_mutex_clear (&f->watchdog.mutex);
  g_cond_clear (&f->watchdog.cond);

  assert_finalized_soon (f->trusted);
  assert_finalized_soon (f->node);
  assert_finalized_soon (f->client);
  assert_finalized_soon (f->stranger);
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
}

/* Reads exactly one byte; returns -1 with @error, 0 at end of stream, or 1. */
static gssize
read_byte (GIOStream *stream, guint8 *byte, GCancellable *cancellable, GError **error)
{
  return g_input_stream_read (g_io_stream_get_input_stream (stream), byte, 1, cancellable, error);
}

static gboolean
write_byte (GIOStream *stream, guint8 byte, GCancellable *cancellable, GError **error)
{
  GOutputStream *out = g_io_stream_get_output_stream (stream);

  return g_output_stream_write_all (out, &byte, 1, NULL, cancellable, error) &&
         g_output_stream_flush (out, cancellable, error);
}

static void
serve_tls (Server *server, GIOStream *base, ServerResult *result)
{
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GError) error = NULL;
  guint8 byte;

  tls = tsr_tls_server_new (base, server->identity, server->trusted, &result->error);
  if (tls == NULL)
    return;
  if (tsr_tls_handshake (tls, server->cancellable, &result->error))
    {
      result->peer_id = tsr_tls_get_peer_id (tls);
      result->version = g_tls_connection_get_protocol_version (G_TLS_CONNECTION (tls));
      if (read_byte (tls, &byte, server->cancellable, &result->error) == 1 &&
          write_byte (tls, ~byte, server->cancellable, &result->error))
        result->echoed = TRUE;
    }
  g_io_stream_close (tls, server->cancellable, NULL);
}

static gpointer
serve_connection (gpointer data)
{
  g_autofree ServerJob *job = data;
  Server *server = job->server;
  g_autoptr (GSocketConnection) connection = job->connection;
  g_autoptr (GMainContext) context = g_main_context_new ();
  ServerResult *result = g_new0 (ServerResult, 1);
  guint8 byte;

  g_main_context_push_thread_default (context);
  g_socket_set_timeout (g_socket_connection_get_socket (connection), SOCKET_TIMEOUT);
  switch (server->mode)
    {
      case SERVE_TLS:
        serve_tls (server, G_IO_STREAM (connection), result);
        break;
      case SERVE_CLOSE:
        g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
        break;
      case SERVE_SILENT:
        /* Returns once the client hangs up (or on the watchdog). */
        while (read_byte (G_IO_STREAM (connection), &byte, server->cancellable, NULL) > 0)
          ;
        break;
    }
  g_main_context_pop_thread_default (context);
  g_async_queue_push (server->results, result);
  return NULL;
}

static gpointer
server_thread (gpointer data)
{
  Server *server = data;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GPtrArray) workers = g_ptr_array_new ();

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < server->n_connections; i++)
    {
      ServerJob *job = g_new0 (ServerJob, 1);
      ServerResult *result;

      job->server = server;
      job->connection =
          g_socket_listener_accept (server->listener, NULL, server->cancellable, NULL);
      if (job->connection != NULL)
        {
          g_ptr_array_add (workers, g_thread_new ("tls-server-conn", serve_connection, job));
          continue;
        }
      g_free (job);
      result = g_new0 (ServerResult, 1);
      g_set_error (&result->error, G_IO_ERROR, G_IO_ERROR_FAILED, "accept failed");
      g_async_queue_push (server->results, result);
    }
  for (guint i = 0; i < workers->len; i++)
    g_thread_join (workers->pdata[i]);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static Server *
server_start (Fixture *f, TsrIdentity *identity, TsrTrustStore *trusted, ServeMode mode,
              guint n_connections)
{
  Server *server = g_new0 (Server, 1);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  server->identity = g_object_ref (identity);
  server->trusted = g_object_ref (trusted);
  server->mode = mode;
  server->n_connections = n_connections;
  server->cancellable = g_object_ref (f->watchdog.cancellable);
  server->results = g_async_queue_new_full ((GDestroyNotify)server_result_free);

  /* Loopback only: the test must not listen on the machine's network. */
  server->listener = g_socket_listener_new ();
  g_assert_true (g_socket_listener_add_address (server->listener, address, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_assert_cmpuint (server->port, >, 0);

  server->thread = g_thread_new ("tls-server", server_thread, server);
  return server;
}

static ServerResult *
server_pop_result (Server *server)
{
  ServerResult *result = g_async_queue_timeout_pop (
      server->results, (WATCHDOG_SECONDS + 5) * (guint64)G_TIME_SPAN_SECOND);

  g_assert_nonnull (result);
  return result;
}

static void
server_finish (Server *server)
{
  g_thread_join (server->thread);
  g_assert_cmpint (g_async_queue_length (server->results), ==, 0);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_async_queue_unref (server->results);
  g_object_unref (server->cancellable);
  g_object_unref (server->trusted);
  g_object_unref (server->identity);
  g_free (server);
}

static GIOStream *
client_connect (Fixture *f, guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_timeout (client, SOCKET_TIMEOUT);
  /* Hermetic: no proxy lookup for a loopback connection. */
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address),
                                        f->watchdog.cancellable, &error);
  g_assert_no_error (error);
  return G_IO_STREAM (connection);
}

static GIOStream *
client_new (GIOStream *base, TsrIdentity *identity, const char *pinned_id)
{
  g_autoptr (GError) error = NULL;
  GIOStream *tls = tsr_tls_client_new (base, identity, pinned_id, &error);

  g_assert_no_error (error);
  g_assert_true (G_IS_TLS_CLIENT_CONNECTION (tls));
  return tls;
}

/* Connects, handshakes and echoes a byte; returns the first error, if any. */
static GError *
client_round_trip (Fixture *f, guint16 port, TsrIdentity *identity, const char *pinned_id,
                   char **out_peer_id)
{
  g_autoptr (GIOStream) base = client_connect (f, port);
  g_autoptr (GIOStream) tls = client_new (base, identity, pinned_id);
  GCancellable *cancellable = f->watchdog.cancellable;
  GError *error = NULL;
  guint8 byte = 0;

  if (tsr_tls_handshake (tls, cancellable, &error))
    {
      if (out_peer_id != NULL)
        *out_peer_id = tsr_tls_get_peer_id (tls);
      if (write_byte (tls, 0x5a, cancellable, &error) &&
          read_byte (tls, &byte, cancellable, &error) == 1)
        g_assert_cmphex (byte, ==, 0xa5);
      else if (error == NULL)
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the node hung up");
    }
  g_io_stream_close (tls, NULL, NULL);
  return error;
}

static void
test_mutual_handshake (Fixture *f, gconstpointer data)
{
  Server *server = server_start (f, f->node, f->trusted, SERVE_TLS, 1);
  g_autoptr (GIOStream) base = client_connect (f, server->port);
  g_autoptr (GIOStream) tls = client_new (base, f->client, tsr_identity_get_id (f->node));
  g_autoptr (ServerResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *peer_id = NULL;
  guint8 byte = 0;

  /* Nothing is known about the peer before the handshake. */
  g_assert_null (tsr_tls_get_peer_id (tls));

  g_assert_true (tsr_tls_handshake (tls, f->watchdog.cancellable, &error));
  g_assert_no_error (error);
  peer_id = tsr_tls_get_peer_id (tls);
  g_assert_cmpstr (peer_id, ==, tsr_identity_get_id (f->node));
  g_assert_cmpint (g_tls_connection_get_protocol_version (G_TLS_CONNECTION (tls)), ==,
                   G_TLS_PROTOCOL_VERSION_TLS_1_3);

  /* Application data flows both ways. */
  g_assert_true (write_byte (tls, 0x5a, f->watchdog.cancellable, &error));
  g_assert_no_error (error);
  g_assert_cmpint (read_byte (tls, &byte, f->watchdog.cancellable, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmphex (byte, ==, 0xa5);
  g_assert_true (g_io_stream_close (tls, f->watchdog.cancellable, &error));
  g_assert_no_error (error);

  /* The node saw the client's identity, over TLS 1.3. */
  result = server_pop_result (server);
  g_assert_no_error (result->error);
  g_assert_cmpstr (result->peer_id, ==, tsr_identity_get_id (f->client));
  g_assert_cmpint (result->version, ==, G_TLS_PROTOCOL_VERSION_TLS_1_3);
  g_assert_true (result->echoed);
  server_finish (server);
}

static void
test_unknown_client_refused (Fixture *f, gconstpointer data)
{
  Server *server = server_start (f, f->node, f->trusted, SERVE_TLS, 1);
  const char *stranger_id = tsr_identity_get_id (f->stranger);
  g_autoptr (GError) error = NULL;
  g_autoptr (ServerResult) result = NULL;
  g_autofree char *expected = NULL;

  /* The client itself pins the right node; the node does not trust the client. In TLS 1.3
   * the client may finish its handshake first, so the refusal can arrive at its first read:
   * either way it gets an error, and does not hang. */
  error = client_round_trip (f, server->port, f->stranger, tsr_identity_get_id (f->node), NULL);
  g_assert_nonnull (error);
  g_test_message ("the refused client saw: %s", error->message);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_assert_false (g_error_matches (error, TSR_ERROR, TSR_ERROR_CANCELLED));

  result = server_pop_result (server);
  g_assert_error (result->error, TSR_ERROR, TSR_ERROR_IDENTITY);
  expected = g_strdup_printf ("Client identity %s is not trusted by this node", stranger_id);
  g_assert_cmpstr (result->error->message, ==, expected);
  g_assert_null (result->peer_id);
  g_assert_false (result->echoed);
  server_finish (server);
}

static void
test_wrong_server_refused (Fixture *f, gconstpointer data)
{
  /* Something answers at the node's address with another identity. */
  Server *server = server_start (f, f->stranger, f->trusted, SERVE_TLS, 1);
  g_autoptr (GIOStream) base = client_connect (f, server->port);
  g_autoptr (GIOStream) tls = client_new (base, f->client, tsr_identity_get_id (f->node));
  g_autoptr (GError) error = NULL;
  g_autoptr (ServerResult) result = NULL;
  g_autofree char *expected = NULL;

  g_assert_false (tsr_tls_handshake (tls, f->watchdog.cancellable, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IDENTITY);
  expected = g_strdup_printf ("Node presented identity %s but %s was pinned; refusing it",
                              tsr_identity_get_id (f->stranger), tsr_identity_get_id (f->node));
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_null (tsr_tls_get_peer_id (tls));
  g_io_stream_close (tls, NULL, NULL);

  /* The impostor gets nothing: its handshake fails too. */
  result = server_pop_result (server);
  g_assert_nonnull (result->error);
  g_test_message ("the impostor saw: %s", result->error->message);
  g_assert_null (result->peer_id);
  g_assert_false (result->echoed);
  server_finish (server);
}

typedef struct
{
  Fixture *f;
  guint16 port;
  GError *error;
  char *peer_id;
} ClientJob;

static gpointer
client_thread (gpointer data)
{
  ClientJob *job = data;
  g_autoptr (GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  job->error = client_round_trip (job->f, job->port, job->f->client,
                                  tsr_identity_get_id (job->f->node), &job->peer_id);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
test_concurrent_handshakes (Fixture *f, gconstpointer data)
{
  Server *server = server_start (f, f->node, f->trusted, SERVE_TLS, N_CONCURRENT);
  ClientJob jobs[N_CONCURRENT];
  GThread *threads[N_CONCURRENT];

  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      jobs[i] = (ClientJob){ f, server->port, NULL, NULL };
      threads[i] = g_thread_new ("tls-client", client_thread, &jobs[i]);
    }
  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      g_thread_join (threads[i]);
      g_assert_no_error (jobs[i].error);
      g_assert_cmpstr (jobs[i].peer_id, ==, tsr_identity_get_id (f->node));
      g_free (jobs[i].peer_id);
    }
  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      g_autoptr (ServerResult) result = server_pop_result (server);
      g_assert_no_error (result->error);
      g_assert_cmpstr (result->peer_id, ==, tsr_identity_get_id (f->client));
      g_assert_true (result->echoed);
    }
  server_finish (server);
}

/* The trust store is consulted at each handshake: trusting a device takes effect for its
 * next connection, without restarting the node. */
static void
test_trust_applies_to_next_connection (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrTrustStore) trusted = tsr_trust_store_new ();
  Server *server = server_start (f, f->node, trusted, SERVE_TLS, 2);
  const char *node_id = tsr_identity_get_id (f->node);
  g_autoptr (GError) error = NULL;

  error = client_round_trip (f, server->port, f->client, node_id, NULL);
  g_assert_nonnull (error);
  g_clear_error (&error);
  {
    g_autoptr (ServerResult) result = server_pop_result (server);
    g_assert_error (result->error, TSR_ERROR, TSR_ERROR_IDENTITY);
  }

  g_assert_true (tsr_trust_store_add (trusted, tsr_identity_get_id (f->client), "client", &error));
  g_assert_no_error (error);
  error = client_round_trip (f, server->port, f->client, node_id, NULL);
  g_assert_no_error (error);
  {
    g_autoptr (ServerResult) result = server_pop_result (server);
    g_assert_no_error (result->error);
    g_assert_true (result->echoed);
  }
  server_finish (server);
}

static void
test_peer_hangs_up (Fixture *f, gconstpointer data)
{
  Server *server = server_start (f, f->node, f->trusted, SERVE_CLOSE, 1);
  g_autoptr (GIOStream) base = client_connect (f, server->port);
  g_autoptr (GIOStream) tls = client_new (base, f->client, tsr_identity_get_id (f->node));
  g_autoptr (GError) error = NULL;

  g_assert_false (tsr_tls_handshake (tls, f->watchdog.cancellable, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CLOSED);
  g_assert_null (tsr_tls_get_peer_id (tls));
  g_io_stream_close (tls, NULL, NULL);
  server_result_free (server_pop_result (server));
  server_finish (server);
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
  Server *server = server_start (f, f->node, f->trusted, SERVE_SILENT, 1);
  g_autoptr (GIOStream) base = client_connect (f, server->port);
  g_autoptr (GIOStream) tls = client_new (base, f->client, tsr_identity_get_id (f->node));
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (ServerResult) result = NULL;
  gint64 start = g_get_monotonic_time ();
  GThread *canceller = g_thread_new ("cancel", cancel_later, cancellable);

  /* The node never answers: only the cancellation ends the handshake. */
  g_assert_false (tsr_tls_handshake (tls, cancellable, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_TIME_SPAN_SECOND);
  g_thread_join (canceller);
  g_io_stream_close (tls, NULL, NULL);

  result = server_pop_result (server);
  server_finish (server);
}

/* A socket timeout bounds the handshake: a node that accepts but never answers is reported
 * as a timeout, not waited for forever. */
static void
test_silent_peer_times_out (Fixture *f, gconstpointer data)
{
  Server *server = server_start (f, f->node, f->trusted, SERVE_SILENT, 1);
  g_autoptr (GIOStream) base = client_connect (f, server->port);
  g_autoptr (GIOStream) tls = client_new (base, f->client, tsr_identity_get_id (f->node));
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_socket_set_timeout (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)), 1);
  g_assert_false (tsr_tls_handshake (tls, f->watchdog.cancellable, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_TIME_SPAN_SECOND);
  g_io_stream_close (tls, NULL, NULL);

  server_result_free (server_pop_result (server));
  server_finish (server);
}

static void
test_invalid_pin (Fixture *f, gconstpointer data)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new ();
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GIOStream) base = g_simple_io_stream_new (in, out);
  g_autofree char *upper = g_ascii_strup (tsr_identity_get_id (f->node), -1);
  const char *bad[] = { "", "nope", upper, tsr_identity_get_id (f->node) + 1 };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GIOStream) tls = tsr_tls_client_new (base, f->client, bad[i], &error);

      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
      g_assert_null (tls);
    }
}

/* A peer limited to TLS 1.2 completes a handshake with correct pins, but is refused after
 * it. The protocol priority is process-wide and read once, hence the subprocess. */
static void
test_tls12_refused (Fixture *f, gconstpointer data)
{
  Server *server;
  g_autoptr (GIOStream) base = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (ServerResult) result = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_setenv ("G_TLS_GNUTLS_PRIORITY", "NORMAL:-VERS-TLS1.3", TRUE);
  server = server_start (f, f->node, f->trusted, SERVE_TLS, 1);
  base = client_connect (f, server->port);
  tls = client_new (base, f->client, tsr_identity_get_id (f->node));
  g_assert_false (tsr_tls_handshake (tls, f->watchdog.cancellable, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "TLS 1.2"));
  g_assert_null (tsr_tls_get_peer_id (tls));
  g_io_stream_close (tls, NULL, NULL);

  result = server_pop_result (server);
  g_assert_error (result->error, TSR_ERROR, TSR_ERROR_PROTOCOL);
  server_finish (server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/tls/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("mutual-handshake", test_mutual_handshake);
  ADD ("unknown-client-refused", test_unknown_client_refused);
  ADD ("wrong-server-refused", test_wrong_server_refused);
  ADD ("concurrent-handshakes", test_concurrent_handshakes);
  ADD ("trust-applies-to-next-connection", test_trust_applies_to_next_connection);
  ADD ("peer-hangs-up", test_peer_hangs_up);
  ADD ("cancelled", test_cancelled);
  ADD ("silent-peer-times-out", test_silent_peer_times_out);
  ADD ("invalid-pin", test_invalid_pin);
  ADD ("tls12-refused", test_tls12_refused);
#undef ADD

  return g_test_run ();
}
