/* tsr-identity.h: a node's or client's long-lived TLS identity (the Syncthing device-ID model)
 *
 * An identity is a self-signed ECDSA P-256 certificate and its key, generated once with GnuTLS
 * and kept in DIR/identity.pem (mode 0600). Its id is the hex SHA-256 of the certificate's DER
 * bytes: 64 lowercase hex characters, what peers pin.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_TYPE_IDENTITY (tsr_identity_get_type ())
G_DECLARE_FINAL_TYPE (TsrIdentity, tsr_identity, TSR, IDENTITY, GObject)

TsrIdentity *tsr_identity_load_or_create (const char *dir, const char *common_name, GError **error);
GTlsCertificate *tsr_identity_get_certificate (TsrIdentity *self);
const char *tsr_identity_get_id (TsrIdentity *self);

char *tsr_certificate_fingerprint (GTlsCertificate *certificate);

G_END_DECLS
