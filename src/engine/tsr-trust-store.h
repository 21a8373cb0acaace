/* tsr-trust-store.h: the set of peer identities a node or client accepts
 *
 * In memory, or backed by a JSON file (DIR/trusted.json, mode 0600, written atomically):
 *   {"trusted": [{"id": "<64 hex>", "name": "laptop"}, ...]}
 * Thread-safe: TLS handshakes on many threads ask tsr_trust_store_contains() at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TSR_TYPE_TRUST_STORE (tsr_trust_store_get_type ())
G_DECLARE_FINAL_TYPE (TsrTrustStore, tsr_trust_store, TSR, TRUST_STORE, GObject)

TsrTrustStore *tsr_trust_store_new (void);
TsrTrustStore *tsr_trust_store_load (const char *path, GError **error);

gboolean tsr_trust_store_add (TsrTrustStore *self, const char *id, const char *name,
                              GError **error);
gboolean tsr_trust_store_remove (TsrTrustStore *self, const char *id, GError **error);
gboolean tsr_trust_store_contains (TsrTrustStore *self, const char *id);
GPtrArray *tsr_trust_store_list (TsrTrustStore *self);
gboolean tsr_trust_store_reload (TsrTrustStore *self, GError **error);

G_END_DECLS
