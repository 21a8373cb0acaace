/* tsr-tls.c
 *
 * GIO decides about a peer certificate in the accept-certificate signal. On a server with
 * G_TLS_AUTHENTICATION_REQUIRED it fires for every client certificate; on a client it fires
 * only when validation fails, so clients get a NULL database, which makes every certificate
 * fail validation (unknown CA) and leaves the decision to the pin alone. The handler records
 * what the peer presented so that a refusal can be reported with both ids instead of GIO's
 * "Unacceptable TLS certificate".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-tls.h"
#include "tsr-corked-stream.h"
#include "tsr-error.h"
#include "tsr-hash.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#define POLICY_KEY "tsr-tls-policy"

/* Who this connection accepts, and what the peer presented. Attached to the connection. */
typedef struct
{
  TsrTrustStore *trusted; /* server side */
  char *pinned_id;        /* client side */

  GMutex mutex;       /* the handler and tsr_tls_handshake() may run on different threads */
  char *presented_id; /* what the peer's certificate hashed to, once seen */
  gboolean refused;   /* whether the handler refused it */
  char *peer_id;      /* set once tsr_tls_handshake() accepted the peer */

  TsrCorkedStream *corked; /* the base's output when it is one, corked after the handshake */
} TlsPolicy;

static void
tls_policy_free (TlsPolicy *policy)
{
  g_clear_object (&policy->trusted);
  g_free (policy->pinned_id);
  g_free (policy->presented_id);
  g_free (policy->peer_id);
  g_mutex_clear (&policy->mutex);
  g_free (policy);
}

static gboolean
policy_accepts (TlsPolicy *policy, const char *id)
{
  if (policy->trusted != NULL)
    return tsr_trust_store_contains (policy->trusted, id);
  return g_strcmp0 (id, policy->pinned_id) == 0;
}

/* The CA-related @errors are expected for self-signed certificates, and the others do not
 * matter: the pin covers the certificate's exact bytes. */
static gboolean
on_accept_certificate (GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors,
                       gpointer user_data)
{
  TlsPolicy *policy = user_data;
  g_autofree char *id = tsr_certificate_fingerprint (peer);
  gboolean accepted = id != NULL && policy_accepts (policy, id);

  g_mutex_lock (&policy->mutex);
  g_free (policy->presented_id);
  policy->presented_id = g_steal_pointer (&id);
  policy->refused = !accepted;
  g_mutex_unlock (&policy->mutex);
  return accepted;
}

static void
attach_policy (GIOStream *conn, TlsPolicy *policy)
{
  g_mutex_init (&policy->mutex);
  g_object_set_data_full (G_OBJECT (conn), POLICY_KEY, policy, (GDestroyNotify)tls_policy_free);
  /* The policy lives as long as the connection, so the handler needs no reference. */
  g_signal_connect (conn, "accept-certificate", G_CALLBACK (on_accept_certificate), policy);
}

/* Makes a TLS connection of @type (properties as for g_object_new()) with no certificate
 * database. g_tls_{client,server}_connection_new() start with the default database, and
 * glib-networking parses every system CA into a fresh trust list for each connection (about
 * 1 MB, mostly libtasn1 nodes) before a later set_database (NULL) can drop it: with some forty
 * connections opened at once when a transfer starts, that was over 30 MB of peak heap. Set
 * before the connection is initialised, the NULL database means the CAs are never loaded. */
static GIOStream *
new_connection (GType type, GError **error, const char *first_property, ...)
{
  g_autoptr (GObject) conn = NULL;
  va_list args;

  va_start (args, first_property);
  conn = g_object_new_valist (type, first_property, args);
  va_end (args);
  g_tls_connection_set_database (G_TLS_CONNECTION (conn), NULL);
  if (!g_initable_init (G_INITABLE (conn), NULL, error))
    return NULL;
  return G_IO_STREAM (g_steal_pointer (&conn));
}

/* Transfers allocate and free a 64-256 KiB buffer per segment on every thread. glibc gives
 * the top of a heap back to the system as soon as 128 KiB of it are free, so with little else
 * on the heap each free could return pages (madvise, a TLB flush on every core) that the next
 * allocation faulted in again: retrieval over one node ran at 300-340 MB/s instead of
 * 530-600 MB/s, with 1.7x the CPU, once connections stopped loading the system CAs (which had
 * kept the heaps high). Heaps now keep up to 16 MiB free, and buffers up to 32 MiB (glibc's
 * largest threshold; chunks go up to 16 MiB) come from them. With a 1 MiB threshold, the
 * buffers of 1 MiB chunks (1 MiB and a tag) were each mapped and unmapped: a 1 GiB download
 * took 12.7 s instead of 2.1 s. Peak memory does not change (what is kept was in use before);
 * once set, for the whole process, the first time a TLS connection is made. */
static void
tune_malloc_once (void)
{
#ifdef __GLIBC__
  static gsize done;

  if (g_once_init_enter (&done))
    {
      mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
      mallopt (M_TRIM_THRESHOLD, 16 * 1024 * 1024);
      g_once_init_leave (&done, 1);
    }
#endif
}

static void
set_new_error (GError **error, GError *local_error)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, "Cannot set up TLS: %s", local_error->message);
}

/**
 * tsr_tls_server_new:
 * @base: the accepted connection
 * @identity: this node's identity, presented to clients
 * @trusted: the client identities to accept; consulted at each handshake, so later changes
 *   apply to later connections
 *
 * Returns: (transfer full): a #GTlsServerConnection to pass to tsr_tls_handshake(), or %NULL
 */
GIOStream *
tsr_tls_server_new (GIOStream *base, TsrIdentity *identity, TsrTrustStore *trusted, GError **error)
{
  g_autoptr (GIOStream) conn = NULL;
  g_autoptr (GError) local_error = NULL;
  TlsPolicy *policy;

  tune_malloc_once ();
  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);
  g_return_val_if_fail (TSR_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (TSR_IS_TRUST_STORE (trusted), NULL);

  /* Only the trust store decides, so the system CAs need not be consulted; see new_connection()
   * for why the database is set at construction. */
  conn = new_connection (g_tls_backend_get_server_connection_type (g_tls_backend_get_default ()),
                         &local_error, "base-io-stream", base, "certificate",
                         tsr_identity_get_certificate (identity), "authentication-mode",
                         G_TLS_AUTHENTICATION_REQUIRED, NULL);
  if (conn == NULL)
    {
      set_new_error (error, local_error);
      return NULL;
    }

  policy = g_new0 (TlsPolicy, 1);
  policy->trusted = g_object_ref (trusted);
  attach_policy (conn, policy);
  return g_steal_pointer (&conn);
}

/**
 * tsr_tls_client_new:
 * @base: the connection to the node
 * @identity: this client's identity, presented to the node
 * @pinned_id: the id the node's certificate must have
 *
 * Returns: (transfer full): a #GTlsClientConnection to pass to tsr_tls_handshake(), or %NULL
 * with %TSR_ERROR_INVALID_ARGUMENT when @pinned_id is not a valid id
 */
GIOStream *
tsr_tls_client_new (GIOStream *base, TsrIdentity *identity, const char *pinned_id, GError **error)
{
  g_autoptr (GIOStream) conn = NULL;
  g_autoptr (GError) local_error = NULL;
  TlsPolicy *policy;

  tune_malloc_once ();
  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);
  g_return_val_if_fail (TSR_IS_IDENTITY (identity), NULL);

  if (!tsr_segment_id_is_valid (pinned_id))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "Invalid pinned identity: expected 64 lowercase hex characters");
      return NULL;
    }

  conn = new_connection (g_tls_backend_get_client_connection_type (g_tls_backend_get_default ()),
                         &local_error, "base-io-stream", base, "certificate",
                         tsr_identity_get_certificate (identity), NULL);
  if (conn == NULL)
    {
      set_new_error (error, local_error);
      return NULL;
    }

  policy = g_new0 (TlsPolicy, 1);
  policy->pinned_id = g_strdup (pinned_id);
  attach_policy (conn, policy);
  return g_steal_pointer (&conn);
}

static gboolean
set_refused_error (TlsPolicy *policy, const char *presented, GError **error)
{
  if (policy->trusted != NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_IDENTITY,
                 "Client identity %s is not trusted by this node", presented);
  else
    g_set_error (error, TSR_ERROR, TSR_ERROR_IDENTITY,
                 "Node presented identity %s but %s was pinned; refusing it", presented,
                 policy->pinned_id);
  return FALSE;
}

static gboolean
set_handshake_error (GError *local_error, GError **error)
{
  TsrError code = TSR_ERROR_IO;

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    code = TSR_ERROR_CANCELLED;
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    code = TSR_ERROR_TIMEOUT;
  /* glib-networking reports a peer that hangs up or resets during the first handshake as
   * NOT_TLS, the same as one that answers with something other than TLS; hanging up is by
   * far the more common (a node stopping, or refusing us under TLS 1.2). */
  else if (g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_EOF) ||
           g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS) ||
           g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
           g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    code = TSR_ERROR_CLOSED;
  else if (g_error_matches (local_error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED))
    code = TSR_ERROR_AUTH;

  g_set_error (error, TSR_ERROR, code, "TLS handshake failed: %s", local_error->message);
  return FALSE;
}

static const char *
protocol_version_name (GTlsProtocolVersion version)
{
  switch (version)
    {
      case G_TLS_PROTOCOL_VERSION_SSL_3_0:
        return "SSL 3.0";
      case G_TLS_PROTOCOL_VERSION_TLS_1_0:
        return "TLS 1.0";
      case G_TLS_PROTOCOL_VERSION_TLS_1_1:
        return "TLS 1.1";
      case G_TLS_PROTOCOL_VERSION_TLS_1_2:
        return "TLS 1.2";
      case G_TLS_PROTOCOL_VERSION_TLS_1_3:
        return "TLS 1.3";
      case G_TLS_PROTOCOL_VERSION_DTLS_1_0:
        return "DTLS 1.0";
      case G_TLS_PROTOCOL_VERSION_DTLS_1_2:
        return "DTLS 1.2";
      case G_TLS_PROTOCOL_VERSION_UNKNOWN:
      default:
        return "an unknown protocol version";
    }
}

/**
 * tsr_tls_handshake:
 * @tls: a stream from tsr_tls_server_new() or tsr_tls_client_new()
 *
 * Runs the handshake, blocking. A peer whose identity is not pinned (client) or not trusted
 * (server) is refused with %TSR_ERROR_IDENTITY, a handshake below TLS 1.3 with
 * %TSR_ERROR_PROTOCOL; a connection that fails otherwise gives %TSR_ERROR_CLOSED,
 * %TSR_ERROR_TIMEOUT, %TSR_ERROR_CANCELLED or %TSR_ERROR_IO. On failure, close the stream.
 *
 * In TLS 1.3 a client finishes its handshake before the node has checked the client's
 * certificate, so a client the node refuses learns of it at its first read.
 */
gboolean
tsr_tls_handshake (GIOStream *tls, GCancellable *cancellable, GError **error)
{
  GTlsConnection *conn;
  TlsPolicy *policy;
  GTlsCertificate *peer;
  GTlsProtocolVersion version;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *presented = NULL;
  g_autofree char *id = NULL;
  gboolean refused;

  g_return_val_if_fail (G_IS_TLS_CONNECTION (tls), FALSE);
  policy = g_object_get_data (G_OBJECT (tls), POLICY_KEY);
  g_return_val_if_fail (policy != NULL, FALSE);
  conn = G_TLS_CONNECTION (tls);

  g_mutex_lock (&policy->mutex);
  g_clear_pointer (&policy->presented_id, g_free);
  policy->refused = FALSE;
  g_mutex_unlock (&policy->mutex);

  if (!g_tls_connection_handshake (conn, cancellable, &local_error))
    {
      g_mutex_lock (&policy->mutex);
      presented = g_strdup (policy->presented_id);
      refused = policy->refused;
      g_mutex_unlock (&policy->mutex);
      if (refused)
        return set_refused_error (policy, presented, error);
      return set_handshake_error (local_error, error);
    }

  /* Again, independently of the handler: a handshake must never end accepted by default. */
  peer = g_tls_connection_get_peer_certificate (conn);
  if (peer == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   "The peer presented no certificate; refusing it");
      return FALSE;
    }
  id = tsr_certificate_fingerprint (peer);
  if (!policy_accepts (policy, id))
    return set_refused_error (policy, id, error);

  version = g_tls_connection_get_protocol_version (conn);
  if (version != G_TLS_PROTOCOL_VERSION_TLS_1_3)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                   "The peer negotiated %s; Tessera requires TLS 1.3",
                   protocol_version_name (version));
      return FALSE;
    }

  g_mutex_lock (&policy->mutex);
  g_free (policy->peer_id);
  policy->peer_id = g_steal_pointer (&id);
  g_mutex_unlock (&policy->mutex);

  /* From here on every write belongs to a frame whose writer calls tsr_tls_flush(). */
  {
    g_autoptr (GIOStream) base = NULL;
    GOutputStream *out;

    g_object_get (conn, "base-io-stream", &base, NULL);
    out = base != NULL ? g_io_stream_get_output_stream (base) : NULL;
    if (out != NULL && TSR_IS_CORKED_STREAM (out))
      {
        policy->corked = TSR_CORKED_STREAM (out);
        tsr_corked_stream_set_corked (policy->corked, TRUE);
      }
  }
  return TRUE;
}

/**
 * tsr_tls_flush:
 * @tls: a stream from tsr_tls_server_new() or tsr_tls_client_new(), after its handshake
 *
 * Sends the TLS records written since the last flush. Call it after writing each frame (from
 * the thread that wrote it): over a tsr_buffered_io_stream_new() stream, records wait in
 * memory until then so that a frame's records leave together.
 */
gboolean
tsr_tls_flush (GIOStream *tls, GCancellable *cancellable, GError **error)
{
  GError *local_error = NULL;
  TlsPolicy *policy;

  g_return_val_if_fail (G_IS_TLS_CONNECTION (tls), FALSE);
  policy = g_object_get_data (G_OBJECT (tls), POLICY_KEY);
  g_return_val_if_fail (policy != NULL, FALSE);

  if (policy->corked != NULL && !tsr_corked_stream_send (policy->corked, cancellable, &local_error))
    {
      /* As the frame writes before it: a node that stopped meanwhile is a broken pipe. */
      tsr_propagate_stream_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_tls_get_peer_id:
 * @tls: a stream from tsr_tls_server_new() or tsr_tls_client_new()
 *
 * Returns: (transfer full) (nullable): the peer's identity id once tsr_tls_handshake() has
 * accepted it, otherwise %NULL
 */
char *
tsr_tls_get_peer_id (GIOStream *tls)
{
  TlsPolicy *policy;
  char *id;

  g_return_val_if_fail (G_IS_TLS_CONNECTION (tls), NULL);

  policy = g_object_get_data (G_OBJECT (tls), POLICY_KEY);
  if (policy == NULL)
    return NULL;
  g_mutex_lock (&policy->mutex);
  id = g_strdup (policy->peer_id);
  g_mutex_unlock (&policy->mutex);
  return id;
}
