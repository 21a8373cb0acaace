/* tsr-tls.h: TLS 1.3 with mutual authentication by pinned identities
 *
 * Certificates are self-signed, so no CA is consulted: a server accepts a client only when the
 * client's certificate id is in its trust store, and a client accepts a server only when the
 * server's certificate id equals the one it pinned. Refusals are TSR_ERROR_IDENTITY with a
 * message that names both ids.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include "tsr-identity.h"
#include "tsr-trust-store.h"

G_BEGIN_DECLS

GIOStream *tsr_tls_server_new (GIOStream *base, TsrIdentity *identity, TsrTrustStore *trusted,
                               GError **error);
GIOStream *tsr_tls_client_new (GIOStream *base, TsrIdentity *identity, const char *pinned_id,
                               GError **error);
gboolean tsr_tls_handshake (GIOStream *tls, GCancellable *cancellable, GError **error);
gboolean tsr_tls_flush (GIOStream *tls, GCancellable *cancellable, GError **error);
char *tsr_tls_get_peer_id (GIOStream *tls);

G_END_DECLS
